// Small progressive enhancements; every page works without this file.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-fill]");
  if (!button) return;
  var input = document.getElementById(button.getAttribute("data-fill"));
  if (input) {
    input.value = button.getAttribute("data-value");
    input.focus();
  }
});
