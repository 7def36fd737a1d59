/* "Turn on notifications" on the member pages (portal/templates/portal/_push_button.html).
   Stays hidden when the browser has no Push API or no VAPID key is configured. No inline
   script: the page's CSP allows scripts from this site only. */
(function () {
  "use strict";
  var box = document.querySelector("[data-push]");
  if (!box) { return; }
  var key = box.getAttribute("data-vapid-key");
  if (!key || !("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) { return; }
  var onButton = box.querySelector("[data-push-on]");
  var offButton = box.querySelector("[data-push-off]");
  var status = box.querySelector("[data-push-status]");

  function bytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(padded);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": box.getAttribute("data-csrf") },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    });
  }

  function show(subscribed, message) {
    box.hidden = false;
    onButton.hidden = subscribed;
    offButton.hidden = !subscribed;
    box.setAttribute("data-push-state", subscribed ? "on" : "off");
    status.textContent = message || "";
  }

  function registration() {
    return navigator.serviceWorker.register(box.getAttribute("data-sw-url"), { scope: box.getAttribute("data-scope") })
      .then(function () { return navigator.serviceWorker.ready; });
  }

  onButton.addEventListener("click", function () {
    onButton.disabled = true;
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") { throw new Error("denied"); }
      return registration();
    }).then(function (reg) {
      return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: bytes(key) });
    }).then(function (subscription) {
      return post(box.getAttribute("data-subscribe-url"), subscription.toJSON());
    }).then(function () {
      show(true, box.getAttribute("data-text-on"));
    }).catch(function () {
      show(false, box.getAttribute("data-text-failed"));
    }).then(function () { onButton.disabled = false; });
  });

  offButton.addEventListener("click", function () {
    offButton.disabled = true;
    registration().then(function (reg) { return reg.pushManager.getSubscription(); }).then(function (subscription) {
      if (!subscription) { return null; }
      var endpoint = subscription.endpoint;
      return subscription.unsubscribe().then(function () {
        return post(box.getAttribute("data-unsubscribe-url"), { endpoint: endpoint });
      });
    }).then(function () {
      show(false, box.getAttribute("data-text-off"));
    }).catch(function () {
      show(true, box.getAttribute("data-text-failed"));
    }).then(function () { offButton.disabled = false; });
  });

  navigator.serviceWorker.getRegistration(box.getAttribute("data-scope")).then(function (reg) {
    return reg ? reg.pushManager.getSubscription() : null;
  }).then(function (subscription) {
    show(Boolean(subscription) && Notification.permission === "granted");
  }).catch(function () { show(false); });
})();
