// Optional: hide passing results, hide suppressed failures. Without JavaScript every
// result is shown. A box the browser restores as checked (back, reload) applies too.
(function () {
  ["hide-pass", "hide-suppressed"].forEach(function (name) {
    var box = document.getElementById(name);
    if (!box) return;
    var apply = function () {
      document.body.classList.toggle(name, box.checked);
    };
    box.addEventListener("change", apply);
    apply();
  });
})();
