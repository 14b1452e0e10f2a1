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
