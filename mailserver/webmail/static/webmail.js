// Webmail helpers; every page also works without this script.
(function () {
  "use strict";

  document.querySelectorAll("input[data-select-all]").forEach(function (all) {
    all.hidden = false;
    all.addEventListener("change", function () {
      all.form.querySelectorAll('input[name="item"]').forEach(function (box) { box.checked = all.checked; });
    });
  });

  document.querySelectorAll("button[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.dataset.confirm)) { event.preventDefault(); }
    });
  });

  function lastToken(value) {
    var cut = Math.max(value.lastIndexOf(","), value.lastIndexOf(";"));
    return { head: value.slice(0, cut + 1), token: value.slice(cut + 1).trim() };
  }

  function attachSuggestions(input) {
    var list = document.createElement("ul");
    var people = [];
    var active = -1;
    var pending = null;
    list.className = "suggest";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    input.removeAttribute("list");
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.parentNode.insertBefore(list, input.nextSibling);

    function close() { list.hidden = true; active = -1; }

    function choose(index) {
      var person = people[index];
      var parts = lastToken(input.value);
      var text = person.name ? person.name + " <" + person.address + ">" : person.address;
      input.value = (parts.head ? parts.head + " " : "") + text + ", ";
      close();
      input.focus();
    }

    function show(found) {
      people = found;
      list.textContent = "";
      found.forEach(function (person, index) {
        var item = document.createElement("li");
        item.setAttribute("role", "option");
        item.textContent = person.name ? person.name + " <" + person.address + ">" : person.address;
        item.addEventListener("mousedown", function (event) { event.preventDefault(); choose(index); });
        list.appendChild(item);
      });
      active = -1;
      list.hidden = found.length === 0;
    }

    function highlight(index) {
      var items = list.querySelectorAll("li");
      active = (index + items.length) % items.length;
      items.forEach(function (item, i) { item.setAttribute("aria-selected", i === active ? "true" : "false"); });
    }

    input.addEventListener("input", function () {
      var token = lastToken(input.value).token;
      if (!token) { close(); return; }
      if (pending) { pending.abort(); }
      pending = new AbortController();
      fetch(input.dataset.directory + "?q=" + encodeURIComponent(token), { signal: pending.signal, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : []; })
        .then(show)
        .catch(function () { /* superseded by a newer keystroke */ });
    });
    input.addEventListener("keydown", function (event) {
      if (list.hidden) { return; }
      if (event.key === "ArrowDown") { event.preventDefault(); highlight(active + 1); }
      else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active - 1); }
      else if (event.key === "Enter" && active >= 0) { event.preventDefault(); choose(active); }
      else if (event.key === "Escape") { close(); }
    });
    input.addEventListener("blur", close);
  }

  document.querySelectorAll("input[data-directory]").forEach(attachSuggestions);

  // Files over the size limit would be refused by the server before it reads the form, and
  // what the person typed would be lost: stop them here, with the reason, instead.
  document.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
    var warning = document.getElementById(input.id + "-too-big");
    function tooBig() {
      var total = 0;
      Array.prototype.forEach.call(input.files, function (file) { total += file.size; });
      var limit = Number(input.dataset.maxBytes);
      if (total <= limit) { warning.hidden = true; return false; }
      warning.textContent = "Tệp đính kèm quá lớn: tổng " + (total / 1048576).toFixed(1).replace(".", ",") +
        " MB, tối đa " + input.dataset.maxLabel + ". Hãy bỏ bớt tệp rồi gửi lại.";
      warning.hidden = false;
      return true;
    }
    input.addEventListener("change", tooBig);
    input.form.addEventListener("submit", function (event) {
      if (tooBig()) { event.preventDefault(); input.focus(); }
    });
  });
}());
