// The card page: a fresh QR of the card token every minute (the page reloads itself instead
// when JavaScript is off). No inline script: the site's CSP allows scripts from this site only.
(function () {
  "use strict";
  var box = document.getElementById("card-qr");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-token-url");
  var every = (parseInt(box.getAttribute("data-refresh"), 10) || 60) * 1000;
  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 200) { return response.json(); }
        if (response.redirected || response.status === 302 || response.status === 401) { window.location.reload(); }
        throw new Error("card token: " + response.status);
      })
      .then(function (data) {
        box.innerHTML = data.svg;
        box.setAttribute("data-token", data.token);
      })
      .catch(function () { /* keep the current code; it stays valid for two minutes */ });
  }
  setInterval(refresh, every);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { refresh(); }
  });
})();
