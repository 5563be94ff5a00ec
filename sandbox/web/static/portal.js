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
    form.addEventListener("change", function (ev) {
      var input = ev.target;
      var fs = input.closest("fieldset.question");
      if (!fs) return;
      var chosen = Array.prototype.map.call(fs.querySelectorAll("input:checked"), function (i) { return Number(i.value); });
      var status = fs.querySelector(".save-status");
      status.textContent = "Đang lưu…";
      status.className = "save-status small muted";
      fetch(form.dataset.autosave, {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": token, "Accept": "application/json"},
        body: JSON.stringify({question: Number(fs.dataset.question), chosen: chosen})
      }).then(function (r) {
        return r.json().then(function (d) { return {ok: r.ok, d: d}; });
      }).then(function (res) {
        if (res.ok) {
          status.textContent = "Đã lưu";
          status.className = "save-status small saved";
          fs.classList.toggle("answered", chosen.length > 0);
          if (counter) counter.textContent = res.d.answered;
        } else {
          status.textContent = res.d.error || "Không lưu được câu trả lời.";
          status.className = "save-status small error";
        }
      }).catch(function () {
        status.textContent = "Mất kết nối: câu trả lời chưa được lưu. Bấm «Lưu câu trả lời» khi có mạng lại.";
        status.className = "save-status small error";
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { clock(); autosave(); });
})();
