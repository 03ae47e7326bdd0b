// The client portal in Chromium with 200 appointments: how long until the
// list shows (first sign-in, opening signed in online, opening offline from
// the service worker and IndexedDB) and how many bytes the first load takes.
// Usage: node tests/bench/bench_portal.mjs [SERVER] [RUNS]
//   KT_PROFILE=1: also a CPU profile of the last offline open, by function (self time)
//   (playwright-core from tests/browser/node_modules: `make deps` installs it)
// Figures and the command: docs/benchmarks.md, "The client portal in a browser".

const [serverArg, runsArg] = process.argv.slice(2);
if (serverArg) process.env.KT_SERVER = serverArg;
const RUNS = Number(runsArg || 5);
const N = 200;
const h = await import('../browser/harness.mjs');

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
};

// A salon whose client Eva has N appointments ahead (one a day from 2 Jan 2030).
const salon = new h.Salon().populate();
const t0 = Date.now();
const already = salon.ids.evaUpcoming.length;
for (let i = 0; i < N - already; i++) {
  const d = new Date(Date.UTC(2030, 0, 2 + i));
  const day = d.toISOString().slice(0, 10);
  salon.admin('appointment', 'create', '--location', h.CENTER, '--client', h.EVA.name, '--specialist', 'Nina',
    '--start', `${day} 08:00`, '--services', 'Blow-dry', '--allow-overlap', '--reason', 'benchmark');
}
console.log(`# ${N} appointments booked for ${h.EVA.name} in ${Date.now() - t0} ms (admin commands)`);
const srv = await h.Server.start(salon);
salon.addVisit(srv);
await h.givePassword(salon, srv);

// ms since the document's navigation started, once N appointments are on the page
const listShown = (page) => page.waitForFunction((n) => {
  const ids = new Set([...document.querySelectorAll('[data-testid=next-appointment],[data-testid=appointment]')]
    .map((e) => e.dataset.id));
  return ids.size >= n ? performance.now() : false;
}, N, { polling: 'raf', timeout: 30000 }).then((v) => v.jsonValue());

function printProfile(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  profile.samples.forEach((id, i) => {
    const f = byId.get(id).callFrame;
    const k = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/\/[^/]+/, '')}:${f.lineNumber + 1}`;
    self.set(k, (self.get(k) || 0) + (profile.timeDeltas[i] || 0) / 1000);
  });
  console.log('# CPU self time while opening offline (ms):');
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`#   ${v.toFixed(1).padStart(7)} ${k}`);
}

const fig = { firstLoadBytes: [], firstLoadFiles: [], swBytes: [], signInToList: [], syncBytes: [], openOnline: [],
  openOffline: [], onlineDcl: [], offlineDcl: [] };
// where the time goes: the document parsed and its module scripts run (DOMContentLoaded)
const domReady = (page) => page.evaluate(() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd);
for (let run = 0; run < RUNS; run++) {
  await h.withBrowser({}, async (b) => {
    const { page, context } = b;
    // every HTTP response of the first load, the service worker's precache included
    const responses = [];
    context.on('requestfinished', (r) => responses.push(r));
    await page.goto(`${srv.origin}/signin`);
    await h.state(page, 'signed-out');
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    let bytes = 0;
    let sw = 0;
    fig.firstLoadFiles.push(new Set(responses.map((r) => r.url())).size);
    for (const r of responses.splice(0)) {
      const s = await r.sizes();
      const n = s.responseBodySize + s.responseHeadersSize;
      bytes += n;
      if (r.serviceWorker()) sw += n;
    }
    fig.firstLoadBytes.push(bytes);
    fig.swBytes.push(sw);

    // first sign-in: the click to the whole list (sign-in, snapshot, IndexedDB, render)
    await page.locator('input#email').fill(h.EVA.email);
    await page.locator('input#password').fill(h.GOOD);
    const frames0 = b.frames.length;
    const clicked = await page.evaluate(() => performance.now());
    await page.locator('button[data-testid=signin-submit]').click();
    fig.signInToList.push((await listShown(page)) - clicked);
    await h.state(page, 'synced');
    fig.syncBytes.push(b.frames.slice(frames0).filter((f) => f.dir === 'recv').reduce((a, f) => a + f.data.length, 0));

    // opening the portal again, signed in, online
    await page.goto('about:blank');
    await page.goto(`${srv.origin}/`);
    fig.openOnline.push(await listShown(page));
    fig.onlineDcl.push(await domReady(page));
    await h.state(page, 'synced');

    // and offline: the service worker's copy of the app, the rows from IndexedDB
    await context.setOffline(true);
    await page.goto('about:blank');
    const cdp = process.env.KT_PROFILE && run === RUNS - 1 ? await context.newCDPSession(page) : null;
    if (cdp) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
      await cdp.send('Profiler.start');
    }
    await page.goto(`${srv.origin}/`);
    fig.openOffline.push(await listShown(page));
    if (cdp) printProfile((await cdp.send('Profiler.stop')).profile);
    fig.offlineDcl.push(await domReady(page));
    await h.state(page, 'offline');
    await context.setOffline(false);
  });
}
await srv.stop();
salon.cleanup();

const row = (what, xs, unit, target) => {
  const s = stats(xs);
  const f = (v) => (unit === 'KB' ? (v / 1024).toFixed(1) : v.toFixed(0));
  console.log(`| ${what} | ${f(s.median)} ${unit} | ${f(s.min)}–${f(s.max)} ${unit} | ${target} |`);
};
console.log(`\n${RUNS} runs, Chromium ${(await import('node:child_process')).execFileSync(h.CHROMIUM, ['--version'],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()}\n`);
console.log('| what | median | min–max | target |\n|---|---|---|---|');
row('first load over the wire (all files + service worker precache)', fig.firstLoadBytes, 'KB', '≤ 200 KB');
row('… of it fetched by the service worker', fig.swBytes, 'KB', '');
row(`first sign-in: click to ${N} appointments shown`, fig.signInToList, 'ms', '');
row('… WebSocket bytes received for it', fig.syncBytes, 'KB', '');
row(`open signed in, online: navigation to ${N} shown`, fig.openOnline, 'ms', '≤ 1000 ms');
row('… of it until DOMContentLoaded (the app\'s modules loaded and run)', fig.onlineDcl, 'ms', '');
row(`open offline (service worker + IndexedDB): navigation to ${N} shown`, fig.openOffline, 'ms', '≤ 500 ms');
row('… of it until DOMContentLoaded', fig.offlineDcl, 'ms', '');
console.log(`\nfiles in the first load: ${stats(fig.firstLoadFiles).median}`);
