// Candidate portal: the countdown (the server's remaining seconds, resynchronised every
// 30 s; at zero the page reloads and the server auto-submits) and the theory autosave
// (every click posts the question's chosen options with the page's CSRF token).
(function () {
  "use strict";
  function fmt(s) {
    s = Math.max(0, Math.floor(s));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    var mm = (h ? String(m).padStart(2, "0") : String(m));
    return (h ? h + ":" : "") + mm + ":" + String(r).padStart(2, "0");
  }
  function clock() {
    var el = document.getElementById("exam-clock");
    if (!el) return;
    var left = el.querySelector(".left");
    var end = Date.now() + Number(el.dataset.remaining) * 1000;
    var reloaded = false;
    function tick() {
      var s = (end - Date.now()) / 1000;
      left.textContent = fmt(s);
      el.classList.toggle("warn", s <= 300);
      if (s <= 0 && !reloaded) { reloaded = true; setTimeout(function () { location.reload(); }, 1500); }
    }
    function sync() {
      fetch(el.dataset.status, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (d) {
          if (!d) return;
          end = Date.now() + d.remaining * 1000;
          if (!d.open && !reloaded) { reloaded = true; location.reload(); }
        }).catch(function () {});
    }
    tick();
    setInterval(tick, 1000);
    setInterval(sync, 30000);
  }
  function autosave() {
    var form = document.getElementById("theory-form");
    if (!form || !form.dataset.autosave) return;
    var token = form.querySelector("input[name=csrf_token]").value;
    var counter = document.getElementById("answered-count");
    // answers the server has not confirmed yet (question id -> fieldset): a failed save (no
    // network, the server's storage full: 507/503) is kept here and sent again every
    // RETRY_MS (the form's data-retry-ms, 10 s) with the options then chosen, until the
    // server says "saved"
    var pending = {};
    var RETRY_MS = Number(form.dataset.retryMs) || 10000;
    var timer = null;
    function chosenOf(fs) {
      return Array.prototype.map.call(fs.querySelectorAll("input:checked"), function (i) { return Number(i.value); });
    }
    function show(fs, text, cls) {
      var status = fs.querySelector(".save-status");
      status.textContent = text;
      status.className = "save-status small " + cls;
    }
    function retryLater() {
      if (timer === null) {
        timer = setTimeout(function () {
          timer = null;
          Object.keys(pending).forEach(function (q) { save(pending[q]); });
        }, RETRY_MS);
      }
    }
    function save(fs) {
      var qid = fs.dataset.question;
      var chosen = chosenOf(fs);
      pending[qid] = fs;
      show(fs, "Đang lưu…", "muted");
      fetch(form.dataset.autosave, {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": token, "Accept": "application/json"},
        body: JSON.stringify({question: Number(qid), chosen: chosen})
      }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (d) { return {ok: r.ok, status: r.status, d: d}; });
      }).then(function (res) {
        var now = chosenOf(fs);
        if (res.ok) {
          if (now.join(",") !== chosen.join(",")) return;   // changed meanwhile: that save follows
          delete pending[qid];
          show(fs, "Đã lưu", "saved");
          fs.classList.toggle("answered", chosen.length > 0);
          if (counter) counter.textContent = res.d.answered;
        } else if (res.status >= 500) {
          show(fs, (res.d.error || "Máy chủ chưa lưu được câu trả lời.") +
               " Câu trả lời vẫn được giữ trên trang và sẽ tự động lưu lại.", "error");
          retryLater();
        } else {
          delete pending[qid];
          show(fs, res.d.error || "Không lưu được câu trả lời.", "error");
        }
      }).catch(function () {
        show(fs, "Mất kết nối: câu trả lời chưa được lưu; trang sẽ tự động lưu lại khi có mạng " +
             "(hoặc bấm «Lưu câu trả lời»).", "error");
        retryLater();
      });
    }
    form.addEventListener("change", function (ev) {
      var fs = ev.target.closest("fieldset.question");
      if (fs) save(fs);
    });
    window.addEventListener("online", function () {
      Object.keys(pending).forEach(function (q) { save(pending[q]); });
    });
    window.addEventListener("beforeunload", function (ev) {
      if (Object.keys(pending).length) { ev.preventDefault(); ev.returnValue = ""; }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { clock(); autosave(); });
})();
