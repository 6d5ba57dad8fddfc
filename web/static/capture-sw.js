/* peerlog capture's service worker: the capture pages and their script and styles open
   without a network. Pages come from the network when there is one (and are kept);
   without one, from what was kept. Entries are not sent from here: the page's script
   keeps them in IndexedDB and sends them. */
"use strict";
const CACHE = "peerlog-capture-v1";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

function kept(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request).then(function (hit) {
      return hit || cache.match(request, { ignoreSearch: true });
    });
  });
}

self.addEventListener("fetch", function (event) {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) { return; }
  if (!url.pathname.startsWith("/capture/") && !url.pathname.startsWith("/static/capture")) { return; }
  event.respondWith(
    fetch(request).then(function (response) {
      if (response.ok && !response.redirected) {
        const copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(url.pathname, copy); });
      }
      return response;
    }).catch(function () {
      return kept(url.pathname).then(function (hit) {
        return hit || new Response("You are offline and this page was not kept on this device.", {
          status: 503, headers: { "content-type": "text/plain; charset=utf-8" }
        });
      });
    })
  );
});
