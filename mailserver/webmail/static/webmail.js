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
}());
