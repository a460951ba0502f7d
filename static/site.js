// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-fill]");
    if (!button) return;
    var input = document.getElementById(button.getAttribute("data-fill"));
    if (input) {
      input.value = button.getAttribute("data-value");
      input.focus();
    }
  });

  // --- The discussion -------------------------------------------------------------------
  // The server sends the exact time; the reader sees "5 minutes ago" (exact time on hover).
  var units = [
    ["year", 31536000], ["month", 2592000], ["week", 604800],
    ["day", 86400], ["hour", 3600], ["minute", 60]
  ];
  var relative = window.Intl && Intl.RelativeTimeFormat
    ? new Intl.RelativeTimeFormat("en", { numeric: "auto" }) : null;

  function ago(date) {
    var seconds = (Date.now() - date.getTime()) / 1000;
    if (seconds < 45) return "just now";
    for (var i = 0; i < units.length; i++) {
      if (seconds >= units[i][1] || units[i][0] === "minute") {
        var count = Math.max(1, Math.round(seconds / units[i][1]));
        return relative ? relative.format(-count, units[i][0])
          : count + " " + units[i][0] + (count === 1 ? "" : "s") + " ago";
      }
    }
    return "";
  }

  function relativeTimes(root) {
    var times = (root || document).querySelectorAll("time[data-relative]");
    for (var i = 0; i < times.length; i++) {
      var date = new Date(times[i].getAttribute("datetime"));
      if (!isNaN(date.getTime())) times[i].textContent = ago(date);
    }
  }

  // Character counter under each comment box (the limit itself is the textarea's maxlength).
  function counters(root) {
    var boxes = (root || document).querySelectorAll(".comment-form textarea[maxlength]");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      if (box.hasAttribute("data-counted")) continue;
      box.setAttribute("data-counted", "");
      var counter = document.createElement("p");
      counter.className = "char-counter";
      counter.id = box.id + "-count";
      box.insertAdjacentElement("afterend", counter);
      var described = box.getAttribute("aria-describedby");
      box.setAttribute("aria-describedby", (described ? described + " " : "") + counter.id);
      update(box, counter);
      box.addEventListener("input", update.bind(null, box, counter));
    }
  }

  function update(box, counter) {
    var limit = parseInt(box.getAttribute("maxlength"), 10);
    var left = limit - box.value.length;
    counter.textContent = left.toLocaleString("en") + " of " + limit.toLocaleString("en") + " characters left";
    counter.classList.toggle("is-low", left < 200);
  }

  function enhance(root) {
    relativeTimes(root);
    counters(root);
  }

  function announce(message) {
    var status = document.getElementById("discussion-status");
    if (!status || !message) return;
    status.textContent = "";
    // A fresh text node after a tick, so a repeated message is read again.
    window.setTimeout(function () { status.textContent = message; }, 50);
  }

  // "Show more comments" replaces itself with the next threads: focus goes to the first of them.
  var beforeMore = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    beforeMore = target && target.classList && target.classList.contains("load-more")
      ? target.previousElementSibling : null;
  });

  function focusOn(id) {
    if (id === "more-comments") {
      var first = beforeMore && beforeMore.nextElementSibling;
      var comment = first && first.querySelector(".comment");
      beforeMore = null;
      if (comment) focusOn(comment.id);
      return;
    }
    var target = id && document.getElementById(id);
    if (!target) return;
    // A comment that was just posted, edited or loaded is highlighted like a permalinked one.
    if (target.classList.contains("comment")) {
      var marked = document.querySelectorAll(".comment.is-target");
      for (var i = 0; i < marked.length; i++) marked[i].classList.remove("is-target");
      target.classList.add("is-target");
    }
    if (!target.matches("a, button, input, textarea, select, [tabindex]")) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus();
  }

  // A permalinked reply hidden under "Show N more replies" opens.
  function openTarget() {
    var id = window.location.hash.slice(1);
    var target = id && document.getElementById(id);
    var details = target && target.closest("details");
    if (details) details.open = true;
  }

  document.addEventListener("DOMContentLoaded", function () {
    enhance(document);
    openTarget();
  });
  window.addEventListener("hashchange", openTarget);

  document.addEventListener("htmx:afterSettle", function (event) { enhance(event.target); });
  document.addEventListener("discussion", function (event) {
    announce(event.detail.message);
    focusOn(event.detail.focus);
  });
  document.addEventListener("htmx:responseError", function () {
    announce("That did not work. Reload the page and try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    announce("The site cannot be reached. Check your connection and try again.");
  });

  // Cancel on an in-place reply or report form: close it, back to the comment's Reply link.
  document.addEventListener("click", function (event) {
    var cancel = event.target.closest("[data-cancel-reply]");
    if (!cancel || !window.htmx) return;
    var slot = document.getElementById("r" + cancel.getAttribute("data-cancel-reply"));
    if (!slot) return;
    event.preventDefault();
    slot.innerHTML = "";
    var comment = slot.closest(".comment");
    focusOn(comment && comment.id);
  });
})();
