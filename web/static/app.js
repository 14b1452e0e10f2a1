// Small progressive helpers; every page works without them.
(function () {
  "use strict";

  // Copy a citation: the button carries it; the status line announces it for screen readers.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.copy");
    if (!button) return;
    var text = button.getAttribute("data-citation");
    var status = document.querySelector(".copied-status");
    var done = function () {
      var old = button.textContent;
      button.textContent = status ? status.getAttribute("data-copied") : "✓";
      if (status) status.textContent = status.getAttribute("data-copied") + ": " + text;
      setTimeout(function () { button.textContent = old; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(text); done(); });
    } else { fallback(text); done(); }
  });

  function fallback(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed"; area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (e) { /* nothing more to try */ }
    document.body.removeChild(area);
  }

  // In the reader, the passage named by the address (#p-…) is marked and takes the keyboard focus.
  function markTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var old = document.querySelector(".passage.current");
    if (old) old.classList.remove("current");
    if (!id) return;
    var target = document.getElementById(id);
    if (!target || !target.classList.contains("passage")) return;
    target.classList.add("current");
    target.setAttribute("tabindex", "-1");
    target.focus({ preventScroll: true });
    target.scrollIntoView({ block: "start" });
  }
  window.addEventListener("hashchange", markTarget);
  // On a phone the table of contents starts folded, so the text comes first.
  document.addEventListener("DOMContentLoaded", function () {
    if (window.matchMedia("(max-width: 760px)").matches) {
      var toc = document.querySelector(".toc details");
      if (toc) toc.removeAttribute("open");
    }
  });
  document.addEventListener("DOMContentLoaded", markTarget);
})();

// Notes: select words inside one passage, write a note, save it through the JSON API (with the CSRF token).
(function () {
  "use strict";
  var form = document.getElementById("note-form");
  var csrf = document.querySelector('meta[name="csrf-token"]');
  var selection = null;

  function offsetIn(line, node, offset) {
    // Characters of `line`'s text before (node, offset): marks are wrappers, the text is the passage's own.
    var walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
    var count = 0, text;
    while ((text = walker.nextNode())) {
      if (text === node) return count + offset;
      count += text.data.length;
    }
    return node === line ? count : null;
  }

  function pointIn(node, offset) {
    var element = node.nodeType === 1 ? node : node.parentElement;
    var line = element && element.closest("[data-offset]");
    var passage = line && line.closest("section.passage");
    if (!passage) return null;
    var within = offsetIn(line, node, offset);
    if (within === null) return null;
    return { passage: passage.getAttribute("data-passage"), at: Number(line.getAttribute("data-offset")) + within };
  }

  function onSelect() {
    if (!form) return;
    var chosen = window.getSelection();
    if (!chosen || chosen.isCollapsed || !chosen.rangeCount) return;
    var range = chosen.getRangeAt(0);
    var start = pointIn(range.startContainer, range.startOffset);
    var end = pointIn(range.endContainer, range.endOffset);
    if (!start || !end || start.passage !== end.passage || end.at <= start.at) return;
    selection = { passage_id: start.passage, start: start.at, end: end.at };
    form.querySelector(".note-quote").textContent = chosen.toString();
    form.querySelector(".error").hidden = true;
    form.hidden = false;
    form.querySelector("textarea").focus();
  }
  document.addEventListener("mouseup", function () { setTimeout(onSelect, 0); });
  document.addEventListener("keyup", function (event) { if (event.shiftKey) onSelect(); });

  if (form) {
    form.querySelector(".cancel").addEventListener("click", function () { form.hidden = true; });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!selection) return;
      var visibility = form.elements.visibility.value;
      var body = {
        passage_id: selection.passage_id, start: selection.start, end: selection.end,
        body: form.elements.body.value,
        tags: form.elements.tags.value.split(/[\s,，]+/).filter(Boolean),
        visibility: visibility,
        unit_id: visibility === "private" || !form.elements.unit_id ? null : Number(form.elements.unit_id.value)
      };
      fetch("/api/notes", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf ? csrf.content : "" },
        body: JSON.stringify(body)
      }).then(function (response) {
        return response.json().then(function (data) {
          if (!response.ok) throw new Error(data.message || response.statusText);
          location.hash = "#p-" + selection.passage_id;
          location.reload();
        });
      }).catch(function (error) {
        var box = form.querySelector(".error");
        box.textContent = error.message;
        box.hidden = false;
      });
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.delete-note");
    if (!button || !csrf) return;
    fetch("/api/notes/" + button.getAttribute("data-note"), {
      method: "DELETE", credentials: "same-origin", headers: { "X-CSRF-Token": csrf.content }
    }).then(function (response) {
      // On a note's own discussion page the note is gone: back to the list, not a reload into "not found".
      if (response.ok && /^\/notes\/\d+$/.test(location.pathname)) location.href = "/notes";
      else if (response.ok) location.reload();
    });
  });
})();

// The organiser's check-in screen: a fresh single-use token (QR and short code) every few seconds, how many of
// the expected members have checked in, and how long the code on the screen still works.
(function () {
  "use strict";
  var screen = document.querySelector(".screen[data-session]");
  var csrf = document.querySelector('meta[name="csrf-token"]');
  if (!screen || !csrf) return;
  var id = screen.getAttribute("data-session");
  var deadline = 0;  // when the code on the screen stops working, by this browser's clock
  function tick() {
    var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    screen.querySelector(".seconds-left").textContent = deadline ? String(left) : "–";
  }
  function refresh() {
    fetch("/api/sessions/" + id + "/checkin-code", {
      method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf.content }
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) throw new Error(data.message || response.statusText);
        screen.querySelector(".qr").innerHTML = data.qr_svg;
        screen.querySelector(".short-code").textContent = data.code;
        screen.querySelector(".checked-in").textContent = String(data.checked_in);
        screen.querySelector(".expected").textContent = String(data.expected);
        deadline = Date.now() + data.seconds_left * 1000;  // the server's count: no clock skew
        tick();
        screen.querySelector(".error").hidden = true;
      });
    }).catch(function (error) {
      var box = screen.querySelector(".error");
      box.textContent = error.message;
      box.hidden = false;
    });
  }
  refresh();
  setInterval(refresh, 3000);  // a code works for seconds: a photo of the screen sent out of the room is soon useless
  setInterval(tick, 1000);
})();
