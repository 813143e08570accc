// Heitje's service worker: keeps the app's own files (the shell) so the app opens without a
// network; never keeps an answer of the API (money is only ever shown as the API says it, and
// the last balance the app saw is shown marked as such, with its time). Built into
// web/dist/sw.js by web/build.mjs, which fills in the version and the shell's files.
const VERSION = "%VERSION%";
const SHELL = %SHELL%;
const CACHE = `heitje-shell-${VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("heitje-shell-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  const scope = new URL(self.registration.scope);
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return; // the API: never kept
  if (request.mode === "navigate") {
    // The page itself: the network first (a new version), the kept shell when offline.
    event.respondWith(fetch(request).catch(() => caches.match(new URL("index.html", scope).href)));
    return;
  }
  event.respondWith(caches.match(request).then((kept) => kept || fetch(request)));
});
