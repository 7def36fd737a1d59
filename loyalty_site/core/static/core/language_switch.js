// The language switch in the admin header submits itself on change. A file, not an inline
// handler: the admin's Content-Security-Policy allows scripts from this site only.
document.addEventListener("change", function (event) {
  if (event.target && event.target.id === "language-switch") {
    event.target.form.submit();
  }
});
