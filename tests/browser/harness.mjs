// The browser tests' harness: the real kartoteka-server (serve on 127.0.0.1
// port 0) over a demo salon made by `init --demo --seed 1` plus a client of
// our own built with the admin commands, mail in the serve config's spool
// folder, the truth from the server's own commands (privacy export, consent
// show, privacy pending: client fields are sealed at rest, so not raw SQL),
// and Debian's chromium driven by playwright-core with a fresh profile per test.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, readdirSync, existsSync, rmSync, copyFileSync, statSync, renameSync, chmodSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import assert from 'node:assert/strict';

// playwright-core from tests/browser/node_modules (`make deps-test` runs npm ci there)
const { chromium } = await import('playwright-core').catch((e) => {
  throw new Error(`playwright-core is not installed: run \`make deps-test\` (npm ci in tests/browser/): ${e.message}`);
});

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function argOf(name, env, fallback) {
  const i = process.argv.indexOf(name);
  if (i > 0 && process.argv[i + 1]) return resolve(process.argv[i + 1]);
  return process.env[env] ? resolve(process.env[env]) : fallback;
}
export const SERVER = argOf('--server', 'KT_SERVER', join(ROOT, 'build/server/kartoteka-server'));
export const CLIENT = argOf('--client', 'KT_CLIENT', join(ROOT, 'build/clients/reference-c/kartoteka-client'));
// screenshots land next to the build the server came from (build/browser-screenshots)
export const SHOTS = process.env.KT_SHOTS || join(dirname(dirname(SERVER)), 'browser-screenshots');
export const CHROMIUM = process.env.KT_CHROMIUM || '/usr/bin/chromium';

export const GOOD = 'Zimska-Roza-42';
export const ZONE = 'Europe/Ljubljana';
export const CENTER = 'Lepota Center';
// Our client and her neighbour at the same branch: fixed dates, so nothing
// depends on today (2025 is past, 2030/2031 ahead).
export const EVA = { name: 'Eva Brskalnik', email: 'eva.brskalnik@mail.example', phone: '041 222 333' };
export const MARKO = { name: 'Marko Drugi', email: 'marko.drugi@mail.example', phone: '041 999 888' };
export const SECRET_INTERNAL = 'INTERNAL-only remark for staff';
export const SECRET_TREATMENT = 'TREATMENT-formula 6/0 + 9%';
export const MARKO_NOTE = 'Marko brings his own towel';

/** The server's command line, synchronously; throws with its stderr on failure. */
export function server(...args) {
  try {
    return execFileSync(SERVER, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 });
  } catch (e) {
    throw new Error(`kartoteka-server ${args.join(' ')} failed (${e.status}): ${e.stderr || e.message}`);
  }
}

/** The last word of what a creating admin command printed: the new id. */
export const createdId = (out) => out.trim().split(/\s+/).pop();

/** Polls fn until it returns a truthy value (for things outside the browser:
 * files in the spool, the server's answers); fails with what at the timeout. */
export async function until(fn, what, timeout = 15000) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try { last = await fn(); } catch (e) { last = undefined; if (Date.now() > end) throw e; }
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(50);
  }
}

function decodeBody(raw) {
  const sep = raw.indexOf('\r\n\r\n') >= 0 ? '\r\n\r\n' : '\n\n';
  const head = raw.slice(0, raw.indexOf(sep));
  let body = raw.slice(raw.indexOf(sep) + sep.length);
  if (/Content-Transfer-Encoding:\s*quoted-printable/i.test(head)) {
    body = Buffer.from(body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
  } else if (/Content-Transfer-Encoding:\s*base64/i.test(head)) {
    body = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  }
  const to = /^To:\s*(.*)$/mi.exec(head);
  const subject = /^Subject:\s*(.*)$/mi.exec(head);
  return { head, body, to: to ? to[1].trim() : '', subject: subject ? subject[1].trim() : '' };
}

/** A copy of the demo salon (`init --demo --seed 1`) at db; returns the
 * sign-ins it printed (TSV). The template is made once per server binary and
 * day and shared with the Python tests (kt_harness.demo_template): each
 * `init --demo` hashes some thirty passwords with Argon2id. */
function demoCopy(db) {
  const st = statSync(SERVER, { bigint: true });
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '');
  const cache = join(dirname(dirname(SERVER)), 'test-cache');
  const final = join(cache, `demo-1-1-${day}-${st.mtimeNs}-${st.size}`);
  if (!existsSync(join(final, 'accounts.tsv'))) {
    mkdirSync(cache, { recursive: true });
    const tdir = mkdtempSync(join(cache, 'making-'));
    const path = join(tdir, 'demo.db');
    const tsv = server('init', '--db', path, '--demo', '--seed', '1');
    // quiet: everything in the main files, nothing in a WAL to copy
    for (const f of [path, path + '.keys'])
      execFileSync('sqlite3', [f, 'PRAGMA wal_checkpoint(TRUNCATE);'], { stdio: 'ignore' });
    writeFileSync(join(tdir, 'accounts.tsv'), tsv);
    try { renameSync(tdir, final); } catch { rmSync(tdir, { recursive: true, force: true }); }
  }
  for (const ext of ['', '.keys', '.key']) {
    copyFileSync(join(final, 'demo.db') + ext, db + ext);
    chmodSync(db + ext, 0o600);
  }
  return readFileSync(join(final, 'accounts.tsv'), 'utf8');
}

/** A salon in a temporary folder: the demo database, Eva and Marko with
 * their appointments, a serve config with a mail spool. */
export class Salon {
  constructor({ extraConf = {} } = {}) {
    this.tmp = mkdtempSync(join(tmpdir(), 'kt-browser-'));
    this.db = join(this.tmp, 'kartoteka.db');
    this.spool = join(this.tmp, 'spool');
    this.conf = join(this.tmp, 'serve.conf');
    const conf = { spool_dir: this.spool, ...extraConf };
    writeFileSync(this.conf, Object.entries(conf).map(([k, v]) => `${k} = ${v}\n`).join(''));
    const tsv = demoCopy(this.db).trim().split('\n');
    const head = tsv[0].split('\t');
    this.accounts = tsv.slice(1).map((l) => Object.fromEntries(l.split('\t').map((v, i) => [head[i], v])));
    this.ids = {};
  }

  admin(...args) { return server('admin', '--db', this.db, ...args); }

  account(role, location) {
    return this.accounts.find((a) => a.role === role && (!location || a.location === location));
  }

  /** Eva's and Marko's cards and bookings (admin commands: no server needed). */
  populate() {
    this.ids.eva = createdId(this.admin('client', 'create', '--name', EVA.name, '--email', EVA.email,
      '--phone', EVA.phone, '--location', CENTER));
    this.ids.marko = createdId(this.admin('client', 'create', '--name', MARKO.name, '--email', MARKO.email,
      '--phone', MARKO.phone, '--location', CENTER));
    const book = (client, start, service, ...extra) => createdId(this.admin('appointment', 'create',
      '--location', CENTER, '--client', client, '--specialist', 'Nina', '--start', start, '--services', service, ...extra));
    this.ids.evaPast = book(EVA.name, '2025-03-04 10:30', 'Blow-dry', '--status', 'done');
    this.ids.evaUpcoming = [
      book(EVA.name, '2030-03-04 10:30', 'Blow-dry', '--internal-note', SECRET_INTERNAL),
      book(EVA.name, '2030-05-07 14:00', "Women's cut & blow-dry"),
      book(EVA.name, '2031-01-15 09:00', 'Root colour'),
    ];
    this.ids.marko1 = book(MARKO.name, '2030-03-04 12:00', 'Blow-dry', '--note', MARKO_NOTE);
    return this;
  }

  /** A past visit of Eva's, recorded by her specialist from a tablet
   * (the reference client): visits have no admin command. */
  addVisit(srv, ca) {
    const dir = join(this.tmp, 'nina-tablet');
    const nina = this.accounts.find((a) => a.name.startsWith('Nina'));
    const run = (args, input) => execFileSync(CLIENT, ['--dir', dir, '--quiet', ...args],
      { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    run([...(ca ? ['--ca', ca] : []), '--server', srv.wsUrl, 'login', nina.email], nina.password + '\n');
    run(['sync']);
    this.ids.evaVisit = createdId(run(['visit', 'add', '--appointment', this.ids.evaPast, '--notes', SECRET_TREATMENT]));
    run(['sync']);
  }

  /** The server's own view of a client (Art. 15 export): appointments, visits,
   * consents, the card, opened with the keyring. */
  truth(client = this.ids.eva) {
    return JSON.parse(server('privacy', 'export', '--db', this.db, '--client', client));
  }

  consents(client = this.ids.eva) {
    return JSON.parse(this.admin('consent', 'show', client, '--json'));
  }

  /** .eml files in the spool, oldest first, decoded. */
  mails() {
    if (!existsSync(this.spool)) return [];
    // ID-purpose.eml: by the outbox id as a number ("10-" comes after "9-")
    return readdirSync(this.spool).filter((f) => f.endsWith('.eml')).sort((a, b) => parseInt(a, 10) - parseInt(b, 10))
      .map((f) => ({ file: f, ...decodeBody(readFileSync(join(this.spool, f), 'utf8')) }));
  }

  /** The first mail to addr after the first `after` mails (that match, when
   * given: a booking's confirmation may come first), waited for. */
  async mailTo(addr, after = 0, match = () => true) {
    return until(() => this.mails().slice(after).find((m) => m.to.includes(addr) && match(m)),
      `a mail to ${addr} in ${this.spool}`);
  }

  cleanup() { rmSync(this.tmp, { recursive: true, force: true }); }
}

/** A mail with a setup link (a booking's confirmation to the same person may come first). */
export const HAS_LINK = (m) => /token=[0-9a-f]{64}/.test(m.body);

/** The setup link in a mail: the token, and the link as written. */
export function linkOf(mail) {
  const m = /(\S*?)[?#&]token=([0-9a-f]{64})\b/.exec(mail.body);
  if (!m) throw new Error(`no setup link in the mail: ${mail.body}`);
  return { token: m[2], link: m[0] };
}

/** kartoteka-server serve with the salon's config; the app's files from the
 * binary, or from KT_WEB_ROOT (development). */
export class Server {
  static logs = 0;
  static async start(salon, { extra = [], port = 0 } = {}) {
    const s = new Server();
    s.salon = salon;
    const args = ['serve', '--db', salon.db, '--listen', `127.0.0.1:${port}`, '--config', salon.conf, ...extra];
    if (process.env.KT_WEB_ROOT) args.push('--web-root', resolve(process.env.KT_WEB_ROOT));
    s.proc = spawn(SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    s.errlog = [];
    createInterface({ input: s.proc.stderr }).on('line', (l) => s.errlog.push(l));
    // the suite's log capture (ctest sets KT_TEST_LOG_DIR): tests/check_logs.py
    // greps every server's stderr for personal data after the run
    if (process.env.KT_TEST_LOG_DIR) {
      mkdirSync(process.env.KT_TEST_LOG_DIR, { recursive: true });
      const name = `${basename(process.argv[1] || 'browser', '.mjs')}-${process.pid}-${++Server.logs}.log`;
      s.proc.stderr.pipe(createWriteStream(join(process.env.KT_TEST_LOG_DIR, name)));
    }
    const exited = new Promise((r) => s.proc.once('exit', (code, sig) => r({ code, sig })));
    s.exited = exited;
    const first = await Promise.race([
      new Promise((r) => createInterface({ input: s.proc.stdout }).once('line', r)),
      exited.then((e) => { throw new Error(`server exited (${e.code}) before listening: ${s.errlog.join('\n')}`); }),
    ]);
    const m = /^listening on (127\.0\.0\.1):(\d+)/.exec(first);
    if (!m) { s.proc.kill('SIGKILL'); throw new Error(`server did not start: ${first} ${s.errlog.join('\n')}`); }
    s.port = Number(m[2]);
    const tls = extra.includes('--tls-cert');
    s.origin = `${tls ? 'https' : 'http'}://127.0.0.1:${s.port}`;
    s.wsUrl = `${tls ? 'wss' : 'ws'}://127.0.0.1:${s.port}/`;
    return s;
  }

  /** SIGTERM; a crash, hang or sanitizer report fails the caller. */
  async stop() {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGTERM');
    const r = await Promise.race([this.exited, delay(20000, null, { ref: false })]);
    if (!r) { this.proc.kill('SIGKILL'); throw new Error('server did not stop on SIGTERM'); }
    const bad = this.errlog.filter((l) => /Sanitizer|runtime error/.test(l));
    if (r.code !== 0 || bad.length) throw new Error(`server exited with ${r.code}: ${this.errlog.slice(-30).join('\n')}`);
  }
}

export const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/** Chromium with a fresh profile (a phone-size window, en-GB), one page,
 * and every console error / CSP violation / page error collected. */
export async function browser({ args = [], ignoreHTTPSErrors = false } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'kt-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: [...LAUNCH_ARGS, ...args],
    viewport: { width: 360, height: 740 }, deviceScaleFactor: 1, locale: 'en-GB', timezoneId: 'UTC',
    acceptDownloads: true, ignoreHTTPSErrors,
  });
  const problems = [];
  // every WebSocket frame, both ways (msgpack strings are plain UTF-8 in
  // them: a test can tell what the server answered without decoding)
  const frames = [];
  const watch = (page) => {
    page.on('websocket', (ws) => {
      ws.on('framesent', (f) => frames.push({ dir: 'sent', url: ws.url(), data: Buffer.from(f.payload) }));
      ws.on('framereceived', (f) => frames.push({ dir: 'recv', url: ws.url(), data: Buffer.from(f.payload) }));
    });
    page.on('console', (m) => {
      if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  };
  context.setDefaultTimeout(15000);
  context.on('page', watch);
  const page = context.pages()[0] || await context.newPage();
  watch(page);
  return {
    context, page, problems, profile, frames,
    received: (text) => frames.some((f) => f.dir === 'recv' && f.data.includes(text)),
    cspViolations: () => problems.filter((p) => /Content Security Policy/i.test(p)),
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

/** Waits until the page says it is in one of the states (html data-state). */
export async function state(page, ...states) {
  await page.waitForFunction((s) => s.includes(document.documentElement.dataset.state), states, { timeout: 15000 });
  return page.evaluate(() => document.documentElement.dataset.state);
}

/** The IndexedDB contents the app keeps (contract: database kartoteka,
 * stores pages, rows and meta: see store.js); null when the database does not exist. */
export async function idb(page) {
  return page.evaluate(async () => {
    const names = (await indexedDB.databases()).map((d) => d.name);
    if (!names.includes('kartoteka')) return null;
    const db = await new Promise((res, rej) => { const r = indexedDB.open('kartoteka'); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
    const all = (store) => new Promise((res, rej) => {
      if (!db.objectStoreNames.contains(store)) return res([]);
      const r = db.transaction(store).objectStore(store).getAll(); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error);
    });
    // rows as the app reads them (store.js allRows): the pages of the snapshot in use
    // (meta `pages`), the rows changed since laid over them, the gone ones left out
    const meta = await all('meta');
    const gen = meta.find((m) => m.k === 'pages')?.v;
    const loose = await all('rows');
    const over = new Set(loose.map((r) => `${r.tbl}\u0000${r.id}`));
    const pages = gen === undefined ? [] : await new Promise((res, rej) => {
      const r = db.transaction('pages').objectStore('pages').getAll(IDBKeyRange.bound([gen], [gen, []]));
      r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error);
    });
    const rows = pages.flatMap((p) => p.rows).filter((r) => !over.has(`${r.tbl}\u0000${r.id}`));
    const out = { rows: rows.concat(loose.filter((r) => !r.gone)), meta };
    db.close();
    // Uint8Arrays and Dates do not cross evaluate() as themselves
    return JSON.parse(JSON.stringify(out, (k, v) => (v instanceof Uint8Array ? Array.from(v) : v)));
  });
}

/** What `kartoteka-server policy` lets a client read: {table: Set(columns)}. */
export function clientReadPolicy() {
  const out = {};
  for (const line of server('policy').split('\n')) {
    const c = line.split('|').map((s) => s.trim());
    if (c.length < 8 || c[1] === 'table' || c[1].startsWith('-')) continue;
    const [tbl, col, cell] = [c[1], c[2], c[7]];
    if (!/^[a-z_]+$/.test(tbl) || !/^[a-z_]+$/.test(col)) continue;
    out[tbl] ??= new Set();
    if (cell === 'yes') out[tbl].add(col);
  }
  return out;
}

/** Signs in on the sign-in page and waits until the page is synced. */
export async function signIn(page, origin, email = EVA.email, password = GOOD) {
  await page.goto(`${origin}/signin`);
  await page.locator('input#email').fill(email);
  await page.locator('input#password').fill(password);
  await page.locator('button[data-testid=signin-submit]').click();
  await state(page, 'synced');
}

/** Eva gets a portal password through her invitation (protocol, no browser):
 * for the tests that start signed in. */
export async function givePassword(salon, srv) {
  const before = salon.mails().length;
  salon.admin('portal', 'invite', salon.ids.eva);
  const { token } = linkOf(await salon.mailTo(EVA.email, before, HAS_LINK));
  const r = setPassword(srv, token, GOOD);
  if (r.op !== 'set_password') throw new Error(`portal_set_password: ${JSON.stringify(r)}`);
}

/** The server's answer to portal_set_password (a raw protocol peer in
 * python3-websockets + python3-msgpack, the integration tests' kit). */
export function setPassword(srv, token, password) {
  const args = [join(ROOT, 'tests/browser/set_password.py'), srv.wsUrl, token, password];
  if (srv.ca) args.push(srv.ca);
  return JSON.parse(execFileSync('/usr/bin/python3', args, { encoding: 'utf8' }));
}

/** One salon, running, with Eva's visit recorded. */
export async function salonUp(opts = {}) {
  const salon = new Salon(opts).populate();
  const srv = await Server.start(salon, opts);
  salon.addVisit(srv);
  return { salon, srv };
}

export { copyFileSync, delay };

/** Ids shown on the home page: upcoming (the next one and the list) and visits. */
export async function shownIds(page) {
  return page.evaluate(() => {
    const ids = (sel) => [...document.querySelectorAll(sel)].map((e) => e.dataset.id);
    return {
      upcoming: [...new Set([...ids('[data-testid=next-appointment]'), ...ids('[data-testid=appointment]')])].sort(),
      visits: [...new Set(ids('[data-testid=visit]'))].sort(),
    };
  });
}

/** What the server says the page must show Eva: her appointments still ahead
 * (not cancelled) and her visits, from the export. */
export function expected(salon, now = Date.now()) {
  const t = salon.truth();
  return {
    upcoming: t.appointments.filter((a) => a.start_at > now && a.status !== 'cancelled').map((a) => a.id).sort(),
    visits: t.visits.map((v) => v.id).sort(),
    truth: t,
  };
}

/** Strings of other people's data and of staff-only fields that must not be
 * anywhere in the page or in IndexedDB. */
export function forbidden(salon) {
  const staffMail = salon.accounts.map((a) => a.email);
  return [MARKO.name, MARKO.email, MARKO_NOTE, salon.ids.marko, salon.ids.marko1, SECRET_INTERNAL, SECRET_TREATMENT,
    ...staffMail];
}

/** IndexedDB holds Eva's rows only, each field one the read policy gives a
 * client; returns a list of problems (empty: fine). */
export function idbProblems(store, salon, exp) {
  const problems = [];
  if (!store) return ['no IndexedDB database "kartoteka"'];
  const policy = clientReadPolicy();
  const text = JSON.stringify(store);
  for (const f of forbidden(salon)) if (text.includes(f)) problems.push(`IndexedDB holds ${f}`);
  const appts = new Set(exp.truth.appointments.map((a) => a.id));
  const byTbl = {};
  for (const r of store.rows) {
    (byTbl[r.tbl] ??= []).push(r.id);
    if (!policy[r.tbl]) { problems.push(`row of table ${r.tbl} the policy does not list`); continue; }
    for (const k of Object.keys(r.f || {})) {
      if (!policy[r.tbl].has(k) && k !== 'id' && k !== 'version') problems.push(`${r.tbl}.${k} is not readable by a client`);
    }
    if (r.tbl === 'client' && r.id !== salon.ids.eva) problems.push(`client row ${r.id} is not Eva's`);
    if (['appointment', 'visit', 'consent'].includes(r.tbl) && r.f && r.f.client_id && r.f.client_id !== salon.ids.eva) {
      problems.push(`${r.tbl} ${r.id} belongs to ${r.f.client_id}`);
    }
    if (r.tbl === 'appointment' && !appts.has(r.id)) problems.push(`appointment ${r.id} is not one of Eva's`);
  }
  const want = (tbl, ids) => {
    const have = new Set(byTbl[tbl] || []);
    for (const id of ids) if (!have.has(id)) problems.push(`IndexedDB lacks ${tbl} ${id}`);
  };
  want('client', [salon.ids.eva]);
  want('appointment', exp.upcoming);
  want('visit', exp.visits);
  const meta = Object.fromEntries(store.meta.map((m) => [m.k, m.v]));
  for (const k of ['device', 'token', 'cursor']) if (meta[k] === undefined) problems.push(`meta.${k} missing`);
  return problems;
}

/** Asserts the home page and IndexedDB show exactly Eva's data. */
export async function assertOwnData(assert, page, salon) {
  const exp = expected(salon);
  const shown = await shownIds(page);
  assert.deepEqual(shown.upcoming, exp.upcoming, 'upcoming appointments on the page = the server\'s');
  assert.deepEqual(shown.visits, exp.visits, 'visits on the page = the server\'s');
  const text = await page.evaluate(() => document.body.innerText + document.documentElement.outerHTML);
  for (const f of forbidden(salon)) assert.ok(!text.includes(f), `the page shows ${f}`);
  assert.deepEqual(idbProblems(await idb(page), salon, exp), []);
  return exp;
}

/** Runs fn(b) with a fresh browser, closes it; then fails when the browser
 * logged a CSP violation (other console errors are printed: going offline
 * logs failed WebSocket connections, which is right). */
export async function withBrowser(opts, fn) {
  const b = await browser(opts);
  try {
    await fn(b);
  } catch (e) {
    if (b.problems.length) console.log(`# browser console:\n#   ${b.problems.join('\n#   ')}`);
    throw e;
  } finally {
    await b.close();
  }
  assert.deepEqual(b.cspViolations(), [], 'no Content-Security-Policy violations in the console');
}

/** Whether this server binary has a feature (its serve --help names the flag). */
export function serveHas(flag) {
  let help = '';
  try { help = execFileSync(SERVER, ['serve', '--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }); } catch (e) { help = String(e.stdout || ''); }
  try { help += execFileSync(SERVER, ['--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }); } catch (e) { help += String(e.stdout || ''); }
  return help.includes(flag);
}
