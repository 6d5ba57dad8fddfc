// Live pages: ask twice a second how far the record has got; when it moved, fetch the
// page again and swap in its <main>. No build step, no framework.
(function () {
  "use strict";
  var main = document.getElementById("main");
  if (!main || !main.dataset.live) {
    return;
  }
  var busy = false;

  function refresh() {
    return fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("main");
        if (fresh && fresh.dataset.position) {
          main.innerHTML = fresh.innerHTML;
          main.dataset.position = fresh.dataset.position;
        }
      });
  }

  function tick() {
    if (busy || document.hidden) {
      return;
    }
    busy = true;
    fetch("/dashboard/live", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status === 401) {
          window.location.href = "/login";
          return null;
        }
        return response.json();
      })
      .then(function (where) {
        if (where && String(where[main.dataset.live]) !== main.dataset.position) {
          return refresh();
        }
        return null;
      })
      .catch(function () { /* the next tick tries again */ })
      .then(function () { busy = false; });
  }

  window.setInterval(tick, 500);
})();
