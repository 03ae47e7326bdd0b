// The salon's tablet app (/desk) in Chromium with a big local copy: 5,000 clients,
// 10,000 appointments and their visits (kt-bench-desk-data: the demo grown through the
// store API; cached in BUILD/bench-desk/, made again on another day or after a rebuild).
// Per run, a fresh browser profile (a new device):
//  - first sign-in: the snapshot into IndexedDB (rows/s from snapshot_begin to the
//    transaction done) and the whole sign-in to "synced" and to today's calendar;
//  - cold open, online: a reload with the data in IndexedDB, to today's calendar
//    (`[data-testid=calendar] [data-testid=appt]`; until the calendar screen exists, to
//    the desk rendered with the rows loaded, `kt.app.rows`); where the time goes
//    (IndexedDB getAll, model.index) measured in the page after it;
//  - client search: search.js over the local clients, per keystroke of names typed
//    letter by letter; and, when the screens have them, keystroke to results on the
//    page (`clients-search` on /desk/clients, `client-search` on /desk/book).
// Usage: node tests/bench/bench_desk.mjs [SERVER] [RUNS]
//   KT_DESK_ROLE=reception: the reception of Lepota Center (default: the owner, all of it)
//   KT_PROFILE=1: CPU profile (self time by function) of the last run's sign-in and open
//   KT_WEB_ROOT=clients/web: the app from disk, not the one built into the server
// Figures and the command: docs/benchmarks.md, "The desk with 10,000 appointments".
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, copyFileSync, chmodSync, readFileSync, writeFileSync, statSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, dirname } from 'node:path';

const [serverArg, runsArg] = process.argv.slice(2);
if (serverArg) process.env.KT_SERVER = serverArg;
const RUNS = Number(runsArg || 5);
const ROLE = process.env.KT_DESK_ROLE || 'owner';
const h = await import('../browser/harness.mjs');

// ---- the data: made once a day (dates follow today), cached next to the build ----
const BUILD = dirname(dirname(h.SERVER));
const GEN = join(BUILD, 'tests/bench/kt-bench-desk-data');
const CACHE = join(BUILD, 'bench-desk');
const DB = join(CACHE, 'desk.db');
const today = new Intl.DateTimeFormat('en-CA', { timeZone: h.ZONE }).format(new Date());
const stampWant = `${today} ${statSync(GEN).mtimeMs} ${statSync(h.SERVER).mtimeMs}`;
const stampFile = `${DB}.stamp`;
if (!existsSync(DB) || !existsSync(stampFile) || readFileSync(stampFile, 'utf8') !== stampWant) {
  mkdirSync(CACHE, { recursive: true });
  const t0 = Date.now();
  process.stdout.write(execFileSync(GEN, [h.SERVER, DB, '5000', '10000'], { encoding: 'utf8' }));
  console.log(`# data made in ${((Date.now() - t0) / 1000).toFixed(1)} s, cached in ${CACHE}`);
  writeFileSync(stampFile, stampWant);
}
const tsv = readFileSync(`${DB}.accounts`, 'utf8').trim().split('\n');
const head = tsv[0].split('\t');
const accounts = tsv.slice(1).map((l) => Object.fromEntries(l.split('\t').map((v, i) => [head[i], v])));
const who = accounts.find((a) => a.role === ROLE && (ROLE === 'owner' || a.location === h.CENTER));
if (!who) throw new Error(`no ${ROLE} in ${DB}.accounts`);

// a copy per bench run: the server writes sessions and devices into it
const tmp = mkdtempSync(join(tmpdir(), 'kt-bench-desk-'));
const salon = { db: join(tmp, 'k.db'), conf: join(tmp, 'serve.conf') };
for (const ext of ['', '.key', '.keys']) {
  copyFileSync(DB + ext, salon.db + ext);
  chmodSync(salon.db + ext, 0o600);
}
writeFileSync(salon.conf, `spool_dir = ${join(tmp, 'spool')}\n`);
const srv = await h.Server.start(salon);

// ---- helpers ----
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))];
  return { median: q(0.5), min: s[0], max: s[s.length - 1], p95: q(0.95), n: s.length };
};

// the page shows today's calendar: its appointments when the screen has them, else
// (the placeholder) the desk drawn with the local rows loaded
const shown = (page, mode, n) => page.waitForFunction(([mode, n]) => {
  if (mode === 'calendar') return document.querySelector('[data-testid=calendar] [data-testid=appt]') ? performance.now() : false;
  return (window.kt?.app?.rows?.length || 0) >= n && document.querySelector('[data-testid=syncbar]') ? performance.now() : false;
}, [mode, n], { polling: 'raf', timeout: 60000 }).then((v) => v.jsonValue());

// every WebSocket frame's arrival in the page (before the app decodes it)
const FRAMES = `(() => {
  const W = window.WebSocket;
  window.__frames = [];
  window.WebSocket = class extends W {
    constructor(...a) {
      super(...a);
      this.addEventListener('message', (e) => window.__frames.push([performance.now(), e.data.byteLength || 0]));
    }
  };
})();`;

// marks in the page: proto's onMessage wrapped (it is called as this.onMessage)
const instrument = (page) => page.evaluate(() => {
  const p = window.kt.proto;
  const orig = p.onMessage.bind(p);
  const m = window.__bench = { rows: 0, pages: 0, total: 0 };
  p.onMessage = async (msg) => {
    const t = msg && msg.t;
    if (t === 'auth_ok') m.auth = performance.now();
    if (t === 'snapshot_begin') { m.begin = performance.now(); m.total = msg.total; }
    if (t === 'page') { m.rows += (msg.rows || []).length; m.pages++; m.lastPage = performance.now(); }
    if (t === 'snapshot_end') m.end = performance.now();
    const r = await orig(msg);
    if (t === 'snapshot_end') m.stored = performance.now();
    if (t === 'synced' && !m.synced) m.synced = performance.now();
    return r;
  };
});

async function startProfile(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  return cdp;
}

function printProfile(what, profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  profile.samples.forEach((id, i) => {
    const f = byId.get(id).callFrame;
    const k = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/\/[^/]+/, '')}:${f.lineNumber + 1}`;
    self.set(k, (self.get(k) || 0) + (profile.timeDeltas[i] || 0) / 1000);
  });
  console.log(`# CPU self time, ${what} (ms):`);
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`#   ${v.toFixed(1).padStart(7)} ${k}`);
}

// names typed letter by letter (folded: "skerj" finds "Škerjanc"), and a phone
const QUERIES = ['Ana Kovačič', 'skerjanc', 'Maja Novak', 'Tadeja', 'zupan', '041 22'];

// search.js in the page over the local clients: buildIndex once, search per keystroke
const searchInPage = (page) => page.evaluate(async (queries) => {
  const s = await import('/search.js');
  const clients = [...(window.kt.app.by.client?.values() || [])];
  let t = performance.now();
  const index = s.buildIndex(clients);
  const build = performance.now() - t;
  const keys = [];
  for (let rep = 0; rep < 3; rep++) {
    for (const q of queries) {
      for (let i = 1; i <= q.length; i++) {
        t = performance.now();
        s.search(index, q.slice(0, i), 20);
        keys.push(performance.now() - t);
      }
    }
  }
  return { clients: clients.length, build, keys };
}, QUERIES);

// keystroke to results on the page: the input's value set and an input event, then
// the time of the first change under the screen's root and of the frame after it
const typeInPage = (page, sel, text) => page.evaluate(async ([sel, text]) => {
  const inp = document.querySelector(sel);
  const root = inp.closest('[data-testid=clients],[data-testid=booking]') || document.querySelector('main');
  const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
  const out = [];
  for (let i = 1; i <= text.length; i++) {
    let changed = 0;
    const mo = new MutationObserver(() => { if (!changed) changed = performance.now(); });
    mo.observe(root, { subtree: true, childList: true, characterData: true });
    const t0 = performance.now();
    setter.call(inp, text.slice(0, i));
    inp.dispatchEvent(new Event('input', { bubbles: true }));
    await new Promise((res) => {
      const poll = () => (changed || performance.now() - t0 > 1000 ? requestAnimationFrame(() => res()) : setTimeout(poll, 0));
      poll();
    });
    const frame = performance.now();
    mo.disconnect();
    out.push({ dom: changed ? changed - t0 : null, frame: frame - t0 });
    await new Promise((r) => setTimeout(r, 30));
  }
  setter.call(inp, '');
  inp.dispatchEvent(new Event('input', { bubbles: true }));
  return out;
}, [sel, text]);

const fig = { compact: [], refTotal: [], arrive: [], mbytes: [], snapRate: [], snapMs: [], wireMs: [], storeTail: [], signInRate: [], signInSynced: [], signInShown: [],
  authMs: [], openShown: [], openDcl: [], getAll: [], index: [], replaceAll: [], replaceRate: [], build: [], keys: [],
  ui: {} };
let rows = 0;
let mode = null;
let clients = 0;
const loads = [];
const PROFILE = !!process.env.KT_PROFILE;
// the same snapshot into the reference client (C, SQLite cache) on the same server
// and load: the server's and the network's pace without the browser
function refClient() {
  const dir = mkdtempSync(join(tmpdir(), 'kt-bench-desk-client-'));
  const run = (args, input) => execFileSync(h.CLIENT, ['--dir', dir, '--quiet', ...args], { input, encoding: 'utf8' });
  const t0 = performance.now();
  run(['--server', srv.wsUrl, 'login', who.email], `${who.password}\n`);
  const t1 = performance.now();
  run(['sync']);
  const t2 = performance.now();
  rmSync(dir, { recursive: true, force: true });
  return { login: t1 - t0, sync: t2 - t1, total: t2 - t0 };
}

for (let run = 0; run < RUNS; run++) {
  loads.push(loadavg()[0]);
  const rc = refClient();
  fig.refTotal.push(rc.total);
  await h.withBrowser({}, async (b) => {
    const { page, context } = b;
    await page.setViewportSize({ width: 1280, height: 800 });
    await context.addInitScript(FRAMES);
    await page.goto(`${srv.origin}/desk/signin`);
    await h.state(page, 'signed-out');
    await instrument(page);
    await page.locator('input#email').fill(who.email);
    await page.locator('input#password').fill(who.password);
    const prof = PROFILE && run === RUNS - 1 ? await startProfile(context, page) : null;
    const clicked = await page.evaluate(() => performance.now());
    await page.locator('button[data-testid=signin-submit]').click();
    await h.state(page, 'synced');
    const m = await page.evaluate(() => window.__bench);
    const fr = await page.evaluate(([a, b]) => window.__frames.filter(([t]) => t >= a && t <= b), [m.begin - 1000, m.lastPage]);
    fig.arrive.push(fr.length ? fr[fr.length - 1][0] - m.begin : NaN);
    fig.mbytes.push(fr.reduce((a, [, n]) => a + n, 0) / 1e6);
    if (!m.begin || !m.stored) throw new Error(`no snapshot seen: ${JSON.stringify(m)}`);
    if (!mode) mode = await page.locator('[data-testid=calendar]').count() ? 'calendar' : 'rows';
    const shownAt = await shown(page, mode, m.rows);
    if (prof) printProfile('first sign-in, click to calendar', (await prof.send('Profiler.stop')).profile);
    rows = m.rows;
    const local = await page.evaluate(() => window.kt.app.rows.length);
    if (local < m.rows) throw new Error(`${local} rows in the app, ${m.rows} in the snapshot`);
    fig.snapMs.push(m.stored - m.begin);
    fig.snapRate.push(m.rows / ((m.stored - m.begin) / 1000));
    fig.wireMs.push(m.lastPage - m.begin);
    fig.storeTail.push(m.stored - m.end);
    fig.authMs.push(m.begin - clicked);
    fig.signInSynced.push(m.synced - clicked);
    fig.signInRate.push(m.rows / ((m.synced - clicked) / 1000));
    fig.signInShown.push(shownAt - clicked);

    // a cold open: the page loaded again, the rows in IndexedDB, the network on
    await page.goto('about:blank');
    const prof2 = PROFILE && run === RUNS - 1 ? await startProfile(context, page) : null;
    await page.goto(`${srv.origin}/desk`);
    fig.openShown.push(await shown(page, mode, m.rows));
    if (prof2) printProfile('cold open to calendar', (await prof2.send('Profiler.stop')).profile);
    fig.openDcl.push(await page.evaluate(() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd));
    await h.state(page, 'synced');

    // where a cold open's time goes, in the same page: the whole local copy read
    // (IndexedDB getAll) and indexed (model.index); and the snapshot's write alone
    const parts = await page.evaluate(async () => {
      const store = await import('/store.js');
      const model = await import('/model.js');
      let t = performance.now();
      const all = await store.allRows();
      const getAll = performance.now() - t;
      t = performance.now();
      model.index(all);
      const index = performance.now() - t;
      const cursor = await store.getMeta('cursor');
      t = performance.now();
      await store.replaceAll(all, cursor, Date.now());
      const replaceAll = performance.now() - t;
      // folding changed rows into fresh pages (store.compact, when the version has it)
      t = performance.now();
      const compacted = store.compact ? await store.compact(0) : false;
      return { getAll, index, replaceAll, compact: compacted ? performance.now() - t : NaN, n: all.length };
    });
    fig.getAll.push(parts.getAll);
    fig.index.push(parts.index);
    fig.replaceAll.push(parts.replaceAll);
    fig.replaceRate.push(parts.n / (parts.replaceAll / 1000));
    fig.compact.push(parts.compact);

    const sr = await searchInPage(page);
    clients = sr.clients;
    fig.build.push(sr.build);
    fig.keys.push(...sr.keys);

    // the screens' own search fields, when they exist
    for (const [route, sel] of [['/desk/clients', '[data-testid=clients-search]'], ['/desk/book', '[data-testid=client-search]']]) {
      await page.goto(`${srv.origin}${route}`);
      await page.waitForSelector('[data-testid=syncbar]');
      const has = await page.locator(sel).count();
      if (!has) continue;
      const f = (fig.ui[route] ||= { dom: [], frame: [], none: 0 });
      for (const q of QUERIES.slice(0, 4)) {
        for (const k of await typeInPage(page, sel, q)) {
          // a keystroke that changes nothing on the page (the same hits) has no frame
          // to wait for: the poll gives up after 1 s, which is not the screen's time
          if (k.dom === null) f.none++;
          else { f.dom.push(k.dom); f.frame.push(k.frame); }
        }
      }
    }
  });
}
loads.push(loadavg()[0]);
await srv.stop();
rmSync(tmp, { recursive: true, force: true });

const chromium = execFileSync(h.CHROMIUM, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
console.log(`\n${RUNS} runs, ${ROLE} (${who.email}), ${rows} rows in the snapshot, ${clients} clients; ${chromium}; ` +
  `${cpus().length} cores (${cpus()[0].model}), load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}; ` +
  `shown = ${mode === 'calendar' ? 'today\'s calendar with its appointments' : 'the desk drawn with the rows loaded (no calendar screen yet)'}\n`);
console.log('| what | median | min–max | per row | target |\n|---|---|---|---|---|');
const row = (what, xs, unit, target = '', perRow = null) => {
  const s = stats(xs);
  const f = (v) => (unit === 'rows/s' ? Math.round(v).toLocaleString('en') : v < 10 ? v.toFixed(2) : v.toFixed(0));
  let pr = '';
  if (perRow === 'rate') pr = `${(1e6 / s.median).toFixed(1)} µs`;
  else if (perRow) pr = `${((s.median * 1000) / perRow).toFixed(1)} µs`;
  console.log(`| ${what} | ${f(s.median)} ${unit} | ${f(s.min)}–${f(s.max)} ${unit} | ${pr} | ${target} |`);
};
row('first snapshot into IndexedDB (snapshot_begin → transaction done)', fig.snapRate, 'rows/s', '≥ 50,000 rows/s', 'rate');
row('… the same in ms', fig.snapMs, 'ms', '', rows);
row('… of it until the last page arrived (network + decode + what runs meanwhile)', fig.wireMs, 'ms', '', rows);
row('… of it until the last page\'s frame arrived in the page (the server\'s and the network\'s pace)', fig.arrive, 'ms', '', rows);
row('… WebSocket bytes of the snapshot', fig.mbytes, 'MB');
row('… of it after snapshot_end (the write finishing)', fig.storeTail, 'ms', '', rows);
row('first sign-in, click → "synced" (rows / s)', fig.signInRate, 'rows/s', '', 'rate');
row('… the reference client (C, SQLite) on the same server: login + sync (rows / s)', fig.refTotal.map((ms) => rows / (ms / 1000)), 'rows/s', '', 'rate');
row('… click → "synced"', fig.signInSynced, 'ms', '', rows);
row('… of it click → snapshot_begin (password check, sign-in)', fig.authMs, 'ms');
row('… click → today\'s calendar shown', fig.signInShown, 'ms');
row('cold open, online: navigation → today\'s calendar shown', fig.openShown, 'ms', '≤ 1000 ms', rows);
row('… of it until DOMContentLoaded', fig.openDcl, 'ms');
row('IndexedDB getAll of every row (store.allRows)', fig.getAll, 'ms', '', rows);
row('model.index of them', fig.index, 'ms', '', rows);
row('store.replaceAll of them alone (no network)', fig.replaceRate, 'rows/s', '', 'rate');
if (fig.compact.every((x) => !Number.isNaN(x))) row('store.compact of them (read and written again as pages)', fig.compact, 'ms', '', rows);
row(`search.js buildIndex over ${clients} clients`, fig.build, 'ms', '', clients);
const ks = stats(fig.keys);
console.log(`| search.js search per keystroke (${fig.keys.length} keystrokes; p95 ${ks.p95.toFixed(2)} ms) | ${ks.median.toFixed(2)} ms | ${ks.min.toFixed(2)}–${ks.max.toFixed(2)} ms | ${((ks.median * 1000) / clients).toFixed(3)} µs a client | ≤ 50 ms |`);
for (const [route, f] of Object.entries(fig.ui)) {
  const d = stats(f.dom.length ? f.dom : [NaN]), fr = stats(f.frame);
  console.log(`| ${route}: keystroke → results changed on the page (${f.dom.length} keystrokes, ${f.none} without a change; p95 ${d.p95?.toFixed(1)} ms) | ${d.median?.toFixed(1)} ms | ${d.min?.toFixed(1)}–${d.max?.toFixed(1)} ms | | ≤ 50 ms |`);
  console.log(`| … to the next frame after it (p95 ${fr.p95.toFixed(1)} ms) | ${fr.median.toFixed(1)} ms | ${fr.min.toFixed(1)}–${fr.max.toFixed(1)} ms | | |`);
}
if (!Object.keys(fig.ui).length) console.log('\n(no `clients-search` or `client-search` field on /desk/clients or /desk/book yet: search timed in search.js only)');
