/* The member pages' service worker (scope /m/): shows the web push messages the programme
   sends ({"title", "body", "url", "tag"}) and opens the member pages when one is tapped. */
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { body: event.data ? event.data.text() : "" }; }
  event.waitUntil(self.registration.showNotification(data.title || "", {
    body: data.body || "",
    tag: data.tag || undefined,
    data: { url: data.url || "/m/" }
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = (event.notification.data && event.notification.data.url) || "/m/";
  event.waitUntil(clients.matchAll({ type: "window" }).then(function (open) {
    for (var i = 0; i < open.length; i++) {
      if (open[i].url.indexOf("/m/") !== -1 && "focus" in open[i]) { return open[i].focus(); }
    }
    return clients.openWindow(url);
  }));
});
