// Service worker: precaches every file of /asset-manifest.json under its version, serves
// the app shell when offline (navigations fall back to the cached /index.html), and
// takes a new version when the manifest's version changes. WebSocket traffic and the
// manifest itself never go into the cache.
const PREFIX = 'kt-app-';
const POINTER = 'kt-current';

let known = null; // the current cache's name, once read (a worker may be restarted)

async function current() {
  if (known) return known;
  const c = await caches.open(POINTER);
  const r = await c.match('/__current');
  known = r ? await r.text() : null;
  return known;
}

// Fetch the manifest; when its version is not the cached one, cache every file of it,
// then make it current and drop the older versions.
async function refresh() {
  const res = await fetch('/asset-manifest.json', { cache: 'no-store' });
  if (!res.ok) throw new Error('asset-manifest.json: ' + res.status);
  const m = await res.json();
  const name = PREFIX + m.version;
  if ((await current()) === name) return;
  const c = await caches.open(name);
  await c.addAll(Object.keys(m.files).map((p) => new Request(p, { cache: 'no-cache' })));
  await (await caches.open(POINTER)).put('/__current', new Response(name));
  known = name;
  for (const k of await caches.keys()) if (k.startsWith(PREFIX) && k !== name) await caches.delete(k);
}

self.addEventListener('install', (e) => {
  e.waitUntil(refresh().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(self.clients.claim());
});

async function fromCache(req) {
  const name = await current();
  if (!name) return undefined;
  return (await caches.open(name)).match(req, { ignoreSearch: true });
}

self.addEventListener('fetch', (e) => {
  const req = e.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== location.origin) return;
  if (url.pathname === '/asset-manifest.json') return;
  if (req.mode === 'navigate') {
    // Fresh shell when online (and a look for a new version), the cached one offline.
    e.respondWith(fetch(req).then((r) => {
      e.waitUntil(refresh().catch(() => {}));
      return r;
    }).catch(async () => (await fromCache('/index.html')) || Response.error()));
    return;
  }
  e.respondWith(fromCache(req).then((hit) => hit || fetch(req)));
});
