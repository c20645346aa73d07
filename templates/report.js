// Optional: hide passing rows. Without JavaScript every result is shown.
(function () {
  var box = document.getElementById("hide-pass");
  if (!box) return;
  box.addEventListener("change", function () {
    document.body.classList.toggle("hide-pass", box.checked);
  });
})();
