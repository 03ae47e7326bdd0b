// The offline write queue (clients/web/queue.js) in Chromium against the real
// server: a reception tablet's edits made offline land once and in order; a server
// killed mid-push and restarted loses nothing and applies nothing twice; an edit
// another device beat rolls back and lists the server's value; a v1 local copy keeps
// its rows when the queue's store is added. The portal's screens refuse staff, so
// the page imports /queue.js and /store.js itself and talks to the server through a
// small staff link defined here (hello, login, sync into IndexedDB, push).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import * as h from './harness.mjs';
import { decode } from '../../clients/web/vendor/msgpack/decode.mjs';

let salon, srv, reception, manager;
before(async () => {
  salon = new h.Salon().populate();
  srv = await h.Server.start(salon);
  reception = salon.account('reception', h.CENTER);
  manager = salon.account('manager', h.CENTER);
});
after(async () => { await srv?.stop(); salon?.cleanup(); });

// Runs in the page: window.kt = {q, link, store}. The link reconnects every 300 ms
// while down (to window.ktUrl, which a test changes after a server restart).
async function boot(page, url, email, password) {
  await page.goto(url.replace(/^ws/, 'http').replace(/\/$/, '/signin'));
  await page.evaluate(async ([wsUrl, email, password]) => {
    const { Queue } = await import('/queue.js');
    const store = await import('/store.js');
    const { encode } = await import('/vendor/msgpack/encode.mjs');
    const { decode } = await import('/vendor/msgpack/decode.mjs');
    window.ktUrl = wsUrl;
    const link = {
      connected: false, ws: null, waiting: null, snap: null, synced: false,
      open() {
        if (this.ws) return;
        const ws = new WebSocket(window.ktUrl, ['kartoteka.v1']);
        ws.binaryType = 'arraybuffer';
        this.ws = ws;
        const send = (m) => ws.send(encode(m, { ignoreUndefined: true }));
        ws.onopen = () => send({ t: 'hello', v: [1], device: localStorage.getItem('kt.device') || (localStorage.setItem('kt.device', crypto.randomUUID()), localStorage.getItem('kt.device')), app: 'kartoteka-web-queue-test/1' });
        ws.onmessage = async (ev) => {
          const m = decode(new Uint8Array(ev.data));
          if (m.t === 'welcome') send({ t: 'login', email, password });
          else if (m.t === 'auth_ok') {
            send({ t: 'sync', cursor: (await store.getMeta('cursor')) || null });
            this.connected = true;
            window.kt.q.connected();
          } else if (m.t === 'snapshot_begin') this.snap = [];
          else if (m.t === 'page') this.snap.push(...m.rows);
          else if (m.t === 'snapshot_end') { await store.replaceAll(this.snap, m.cursor, Date.now()); this.snap = null; }
          else if (m.t === 'changes') await store.applyChanges(m.ops || [], m.cursor);
          else if (m.t === 'synced') { await store.setMeta({ cursor: m.cursor }); this.synced = true; }
          else if (m.t === 'push_result') { const w = this.waiting; this.waiting = null; w?.ok(m.results); }
          else if (m.t === 'error' && m.re === 'push') {
            const w = this.waiting; this.waiting = null;
            w?.fail(Object.assign(new Error(m.msg), { code: m.code }));
          }
        };
        ws.onclose = () => {
          this.ws = null;
          this.connected = false;
          this.synced = false;
          const w = this.waiting; this.waiting = null;
          w?.fail(Object.assign(new Error('connection closed'), { code: 'network' }));
          window.kt.q.disconnected();
          setTimeout(() => { if (navigator.onLine) this.open(); }, 300);
        };
      },
      // window.ktPushDelay: a slow link, so that two tabs' pushes would overlap
      async push(muts) {
        if (window.ktPushDelay) await new Promise((r) => setTimeout(r, window.ktPushDelay));
        if (!this.ws) throw Object.assign(new Error('connection closed'), { code: 'network' });
        return new Promise((ok, fail) => {
          this.waiting = { ok, fail };
          this.ws.send(encode({ t: 'push', muts }));
        });
      },
    };
    window.addEventListener('online', () => link.open());
    window.addEventListener('offline', () => link.ws?.close());
    const q = new Queue({ transport: link });
    window.kt = { q, link, store, states: [] };
    q.subscribe((s) => window.kt.states.push({ queued: s.queued, aside: s.aside.length, online: s.online, lastSync: s.lastSync }));
    link.open();
  }, [url, email, password]);
  await page.waitForFunction(() => window.kt.link.synced);
}

const edit = (page, id, fields) => page.evaluate(([id, fields]) => window.kt.q.edit('client', id, 'update', fields).then((e) => e.mid), [id, fields]);
const localRow = (page, id) => page.evaluate((id) => window.kt.store.allRows().then((rs) => rs.find((r) => r.tbl === 'client' && r.id === id)), id);
const qstate = (page) => page.evaluate(() => ({ ...window.kt.q.state }));

// The card's updates in the server's audit log (the client's export), oldest first:
// [[field, value], ...] for the given field.
function updates(field) {
  const log = salon.truth(salon.ids.eva).access_log
    .filter((e) => e.action === 'update' && e.entity === 'client' && e.after && field in e.after)
    .sort((a, b) => a.seq - b.seq);
  return log.map((e) => e.after[field]);
}

test('edits made offline land once, in order, when the tablet is back online', async () => {
  await h.withBrowser({}, async (b) => {
    const { page, context } = b;
    await boot(page, srv.wsUrl, reception.email, reception.password);
    const before = await localRow(page, salon.ids.eva);
    assert.ok(before, "Eva's card is in the reception tablet's copy");
    await context.setOffline(true);
    await page.waitForFunction(() => !window.kt.link.connected);
    const mids = [];
    for (const p of ['offline 1', 'offline 2', 'offline 3', 'offline 4']) mids.push(await edit(page, salon.ids.eva, { preferences: p }));
    assert.deepEqual([...mids].sort((a, c) => a - c), mids, 'mids increase');
    assert.equal((await localRow(page, salon.ids.eva)).f.preferences, 'offline 4', 'the local copy has the edit at once');
    let s = await qstate(page);
    assert.equal(s.queued, 4);
    assert.equal(s.online, false);
    // the tab is closed and another opened once online: the queue is in IndexedDB
    await page.close();
    await context.setOffline(false);
    const again = await context.newPage();
    await boot(again, srv.wsUrl, reception.email, reception.password);
    await again.waitForFunction(() => window.kt.q.state.queued === 0 && !window.kt.q.state.pushing);
    assert.deepEqual(updates('preferences'), ['offline 1', 'offline 2', 'offline 3', 'offline 4'], 'each once, in order');
    s = await qstate(again);
    assert.ok(s.lastSync > 0, 'last sync time');
    assert.equal(s.online, true);
    assert.equal(s.aside.length, 0);
    assert.equal((await localRow(again, salon.ids.eva)).f.preferences, 'offline 4');
  });
});

test('a server killed mid-push and restarted: nothing lost, nothing twice', async () => {
  await h.withBrowser({}, async (b) => {
    const { page, context } = b;
    await boot(page, srv.wsUrl, reception.email, reception.password);
    await context.setOffline(true);
    await page.waitForFunction(() => !window.kt.link.connected);
    for (const p of ['kill 1', 'kill 2', 'kill 3']) await edit(page, salon.ids.eva, { preferences: p });
    // SIGKILL the moment the push leaves the browser
    const old = srv;
    let killed = false;
    page.on('websocket', (ws) => ws.on('framesent', (f) => {
      if (!killed && Buffer.from(f.payload).includes('muts')) { killed = true; old.proc.kill('SIGKILL'); }
    }));
    await context.setOffline(false);
    await h.until(() => killed, 'a push sent');
    const ex = await old.exited;
    assert.equal(ex.sig, 'SIGKILL');
    // on the same port: the page's Content-Security-Policy allows its own origin only
    srv = await h.Server.start(salon, { port: old.port });
    assert.equal(srv.port, old.port);
    await page.waitForFunction(() => window.kt.q.state.queued === 0 && window.kt.link.connected, null, { timeout: 30000 });
    const got = updates('preferences').filter((v) => v.startsWith('kill'));
    assert.deepEqual(got, ['kill 1', 'kill 2', 'kill 3'], 'each once, in order');
    assert.equal((await qstate(page)).aside.length, 0);
  });
});

test('another device changed the same field: the edit rolls back and lists the server\'s value', async () => {
  await h.withBrowser({}, async (b) => {
    const { page, context } = b;
    await boot(page, srv.wsUrl, reception.email, reception.password);
    const v0 = (await localRow(page, salon.ids.eva)).v;
    await context.setOffline(true);
    await page.waitForFunction(() => !window.kt.link.connected);
    await edit(page, salon.ids.eva, { phone: '040 111 000' });
    await edit(page, salon.ids.eva, { preferences: 'behind the rejection' });
    // the manager's laptop (the reference client) changes the phone meanwhile
    const dir = join(salon.tmp, 'irena-laptop');
    const run = (args, input) => execFileSync(h.CLIENT, ['--dir', dir, '--quiet', ...args], { input, encoding: 'utf8' });
    run(['--server', srv.wsUrl, 'login', manager.email], manager.password + '\n');
    run(['sync']);
    run(['client', 'set', salon.ids.eva, 'phone', '051 555 555']);
    run(['sync']);
    await context.setOffline(false);
    await page.waitForFunction(() => window.kt.q.state.queued === 0 && window.kt.q.state.rejected.length === 1);
    const s = await qstate(page);
    const r = s.rejected[0];
    assert.equal(r.code, 'conflict');
    assert.match(r.msg, /changed by someone else/);
    assert.equal(r.current.phone, '051 555 555', "the server's value is listed");
    assert.deepEqual(r.f, { phone: '040 111 000' }, 'with mine');
    await page.waitForFunction((id) => window.kt.store.allRows().then((rs) => rs.find((x) => x.id === id).f.phone === '051 555 555'), salon.ids.eva);
    assert.equal((await localRow(page, salon.ids.eva)).f.preferences, 'behind the rejection', 'the edit behind it applied');
    assert.equal(updates('preferences').at(-1), 'behind the rejection');
    // re-apply mine: a new mutation on the version the tablet holds now
    // (the manager's change and the applied edit are streamed: v0 + 2)
    await page.waitForFunction(([id, v]) => window.kt.store.allRows().then((rs) => rs.find((x) => x.id === id).v >= v), [salon.ids.eva, v0 + 2]);
    await page.evaluate((mid) => window.kt.q.reapply(mid), r.mid);
    await page.waitForFunction(() => window.kt.q.state.queued === 0 && window.kt.q.state.rejected.length === 0);
    assert.equal(updates('phone').at(-1), '040 111 000', 're-applied on the server');
  });
});

test('a v1 local copy keeps its rows and cursor when the queue store is added', async () => {
  await h.withBrowser({}, async (b) => {
    const { page } = b;
    await page.goto(`${srv.origin}/signin`);
    const out = await page.evaluate(async () => {
      const req = (r) => new Promise((ok, fail) => { r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); r.onblocked = () => {}; });
      const store = await import('/store.js');
      await store.wipe(); // whatever the page opened: start from nothing
      const open = indexedDB.open('kartoteka', 1);
      open.onupgradeneeded = () => {
        open.result.createObjectStore('rows', { keyPath: ['tbl', 'id'] });
        open.result.createObjectStore('meta', { keyPath: 'k' });
      };
      const d = await req(open);
      const tx = d.transaction(['rows', 'meta'], 'readwrite');
      tx.objectStore('rows').put({ tbl: 'client', id: 'c1', v: 2, f: { name: 'Old' } });
      tx.objectStore('meta').put({ k: 'cursor', v: 'abc' });
      await new Promise((ok) => { tx.oncomplete = ok; });
      d.close();
      const rows = await store.allRows();
      const cursor = await store.getMeta('cursor');
      const queue = await store.queueEntries();
      const v = await new Promise((ok) => { const r = indexedDB.open('kartoteka'); r.onsuccess = () => { ok(r.result.version); r.result.close(); }; });
      return { rows, cursor, queue, v };
    });
    assert.deepEqual(out.rows, [{ tbl: 'client', id: 'c1', v: 2, f: { name: 'Old' } }]);
    assert.equal(out.cursor, 'abc');
    assert.deepEqual(out.queue, []);
    assert.equal(out.v, 3); // v3 added the snapshot's pages (store.js)
  });
});

test('queued edits survive the rows the server sends again (a snapshot, a change)', async () => {
  await h.withBrowser({}, async (b) => {
    const { page } = b;
    await page.goto(`${srv.origin}/signin`);
    const out = await page.evaluate(async () => {
      const store = await import('/store.js');
      const { Queue } = await import('/queue.js');
      await store.wipe();
      await store.replaceAll([{ tbl: 'client', id: 'c1', v: 2, f: { name: 'Old', phone: '1' } }], 'cur1', 1);
      const q = new Queue({ transport: { connected: false } });
      await q.edit('client', 'c1', 'update', { phone: '2' });
      await q.edit('client', 'c2', 'create', { name: 'New here' });
      // a snapshot without c2 and with c1's name changed elsewhere
      await store.replaceAll([{ tbl: 'client', id: 'c1', v: 3, f: { name: 'Renamed', phone: '1' } }], 'cur2', 2);
      const afterSnap = await store.allRows();
      await store.applyChanges([{ op: 'put', tbl: 'client', id: 'c1', v: 4, f: { name: 'Again', phone: '9' } }], 'cur3');
      const afterChange = await store.allRows();
      const queued = (await store.queueEntries()).map((e) => [e.op, e.id, e.base]);
      return { afterSnap, afterChange, queued };
    });
    assert.deepEqual(out.afterSnap, [
      { tbl: 'client', id: 'c1', v: 3, f: { name: 'Renamed', phone: '2' } },
      { tbl: 'client', id: 'c2', v: 0, f: { name: 'New here' } },
    ]);
    assert.deepEqual(out.afterChange[0], { tbl: 'client', id: 'c1', v: 4, f: { name: 'Again', phone: '2' } });
    assert.deepEqual(out.queued, [['update', 'c1', 2], ['create', 'c2', 0]]);
  });
});

test('two tabs of one device: each queued edit is pushed by one of them, once', async () => {
  await h.withBrowser({}, async (b) => {
    const { page, context, frames } = b;
    await boot(page, srv.wsUrl, reception.email, reception.password);
    const other = await context.newPage();
    await boot(other, srv.wsUrl, reception.email, reception.password);
    await context.setOffline(true);
    await page.waitForFunction(() => !window.kt.link.connected);
    await other.waitForFunction(() => !window.kt.link.connected);
    const mids = [];
    for (const p of ['tab A 1', 'tab A 2', 'tab A 3']) mids.push(await edit(page, salon.ids.eva, { preferences: p }));
    for (const p of ['tab B 1', 'tab B 2']) mids.push(await edit(other, salon.ids.eva, { preferences: p }));
    for (const p of [page, other]) await p.evaluate(() => { window.ktPushDelay = 500; });
    const sentBefore = frames.length;
    await context.setOffline(false);
    for (const p of [page, other]) await p.waitForFunction(() => window.kt.q.state.queued === 0 && window.kt.link.connected);
    const pushed = frames.slice(sentBefore).filter((f) => f.dir === 'sent').map((f) => decode(f.data))
      .filter((m) => m.t === 'push').flatMap((m) => m.muts.map((x) => Number(x.mid)));
    assert.deepEqual([...pushed].sort((x, y) => x - y), [...mids].sort((x, y) => x - y), 'every mid pushed once, by one tab');
    assert.deepEqual(updates('preferences').filter((v) => v.startsWith('tab ')), ['tab A 1', 'tab A 2', 'tab A 3', 'tab B 1', 'tab B 2']);
  });
});
