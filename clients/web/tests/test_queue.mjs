// The write queue (queue.js) against a fake transport and an in-memory store:
// order and batches, answers (applied, duplicate, rejected), backoff, set-aside,
// the lock, and the local copy after each. Run: node --test clients/web/tests/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Queue, memoryStore, MAX_TRIES, BACKOFF } from '../queue.js';

const CARD = '01900000-0000-7000-8000-000000000001';
const APPT = '01900000-0000-7000-8000-000000000002';

// A server in a box: answers pushes with `answer(mut)` (default: applied at base+1),
// remembers every mid it applied, fails whole pushes while `failWith` is set.
class FakeTransport {
  constructor() {
    this.connected = true;
    this.pushes = [];
    this.applied = [];
    this.seen = new Map();
    this.failWith = null;
    this.answer = (m) => ({ mid: m.mid, status: 'applied', v: m.base + 1 });
  }

  async push(muts) {
    this.pushes.push(muts.map((m) => m.mid));
    if (this.failWith) {
      const f = typeof this.failWith === 'function' ? this.failWith(muts) : this.failWith;
      if (f) throw Object.assign(new Error(f.msg || f.code), f);
    }
    return muts.map((m) => {
      if (this.seen.has(m.mid)) return { mid: m.mid, status: 'duplicate', first: this.seen.get(m.mid) };
      const r = this.answer(m);
      this.seen.set(m.mid, r);
      if (r.status === 'applied') this.applied.push(m.mid);
      return r;
    });
  }
}

// Timers that run only when the test says so.
function fakeClock() {
  const c = { t: 1_900_000_000_000, timers: [] };
  c.now = () => c.t;
  c.setTimeout = (f, ms) => { const x = { f, ms, at: c.t + ms }; c.timers.push(x); return x; };
  c.clearTimeout = (x) => { c.timers = c.timers.filter((y) => y !== x); };
  c.fire = async () => {
    const x = c.timers.sort((a, b) => a.at - b.at).shift();
    if (!x) throw new Error('no timer set');
    c.t = Math.max(c.t, x.at);
    x.f();
  };
  return c;
}

function setup(opts = {}) {
  const store = memoryStore([
    { tbl: 'client', id: CARD, v: 3, f: { name: 'Eva', phone: '041 222 333', notes: 'old' } },
  ]);
  const transport = opts.transport || new FakeTransport();
  const clock = fakeClock();
  let mid = 1000;
  const q = new Queue({ store, transport, nextMid: () => ++mid, locks: opts.locks ?? null, storage: opts.storage ?? null,
    random: () => 0.5, now: clock.now, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout,
    batch: opts.batch, listen: false, channel: false });
  const states = [];
  q.subscribe((s) => states.push({ ...s }));
  return { q, store, transport, clock, states };
}

// edit() kicks a push; settle it before looking
async function idle(q) { while (q.running) await q.running; }

test('an edit is in the local copy and in the queue at once, with the base it saw', async () => {
  const { q, store, transport } = setup();
  transport.connected = false;
  await q.edit('client', CARD, 'update', { phone: '040 111 000' });
  await idle(q);
  assert.equal(store.row('client', CARD).f.phone, '040 111 000');
  const [e] = await store.queueEntries();
  assert.deepEqual([e.op, e.base, e.state, e.before], ['update', 3, 'queued', { phone: '041 222 333' }]);
  assert.equal(q.state.queued, 1);
  assert.equal(q.state.online, false);
  assert.deepEqual(transport.pushes, [], 'nothing pushed while not connected');
});

test('edits made offline are pushed in order, in batches, once', async () => {
  const { q, store, transport } = setup({ batch: 3 });
  transport.connected = false;
  for (let i = 0; i < 7; i++) await q.edit('client', CARD, 'update', { notes: `n${i}` });
  await idle(q);
  transport.connected = true;
  q.connected();
  await idle(q);
  assert.deepEqual(transport.pushes, [[1001, 1002, 1003], [1004, 1005, 1006], [1007]]);
  assert.deepEqual(transport.applied, [1001, 1002, 1003, 1004, 1005, 1006, 1007]);
  assert.equal((await store.queueEntries()).length, 0);
  assert.equal(store.row('client', CARD).f.notes, 'n6');
  assert.equal(q.state.queued, 0);
  assert.ok(q.state.lastSync, 'last sync time set');
});

test('a create, then an edit of the row before it came back, has base 1', async () => {
  const { q, store, transport } = setup();
  transport.connected = false;
  await q.edit('appointment', APPT, 'create', { client_id: CARD, duration_min: 30 });
  await q.edit('appointment', APPT, 'update', { duration_min: 45 });
  const [c, u] = await store.queueEntries();
  assert.deepEqual([c.op, c.base, u.op, u.base], ['create', 0, 'update', 1]);
  assert.deepEqual(store.row('appointment', APPT).f, { client_id: CARD, duration_min: 45 });
});

test('duplicate answers count as applied (a push whose answer was lost)', async () => {
  const { q, store, transport } = setup();
  await q.edit('client', CARD, 'update', { notes: 'a' });
  await idle(q);
  // the server applied it, but this tab never heard: put it back as if unanswered
  const mid = transport.applied[0];
  await store.queueTx((t) => t.putEntry({ mid, tbl: 'client', id: CARD, op: 'update', base: 3, f: { notes: 'a' },
    before: { notes: 'old' }, at: 1, state: 'queued', tries: 0 }));
  await q.flush();
  assert.deepEqual(transport.pushes, [[mid], [mid]]);
  assert.deepEqual(transport.applied, [mid], 'applied once');
  assert.equal((await store.queueEntries()).length, 0, 'a duplicate leaves the queue');
  assert.equal(store.row('client', CARD).f.notes, 'a', 'and is not rolled back');
});

test('a rejection rolls the row back to the server\'s values and lists them; re-apply and keep', async () => {
  const { q, store, transport } = setup();
  transport.answer = (m) => (m.f.phone === '040 111 000'
    ? { mid: m.mid, status: 'rejected', code: 'conflict', msg: 'phone was changed by Ana', current: { phone: '051 555 555' } }
    : { mid: m.mid, status: 'applied', v: 4 });
  transport.connected = false;
  await q.edit('client', CARD, 'update', { phone: '040 111 000' });
  await q.edit('client', CARD, 'update', { notes: 'behind it' });
  transport.connected = true;
  q.connected();
  await idle(q);
  assert.deepEqual(transport.applied, [1002], 'the edit behind the rejection is applied');
  const row = store.row('client', CARD);
  assert.equal(row.f.phone, '051 555 555', 'rolled back to the server\'s value');
  assert.equal(row.f.notes, 'behind it');
  assert.equal(q.state.rejected.length, 1);
  const r = q.state.rejected[0];
  assert.deepEqual([r.code, r.msg, r.current, r.f], ['conflict', 'phone was changed by Ana', { phone: '051 555 555' }, { phone: '040 111 000' }]);
  assert.equal(q.state.queued, 0);

  // re-apply: a new mutation (new mid) on the version the device holds now
  await store.queueTx((t) => t.putRow({ ...row, v: 5 })); // the sync stream brought v5
  transport.answer = (m) => ({ mid: m.mid, status: 'applied', v: m.base + 1 });
  await q.reapply(r.mid);
  await idle(q);
  assert.deepEqual(transport.pushes.at(-1), [1003]);
  assert.equal(transport.seen.get(1003).v, 6, 'based on v5');
  assert.equal(store.row('client', CARD).f.phone, '040 111 000');
  assert.equal(q.state.rejected.length, 0);
  await assert.rejects(q.keepServer(r.mid), /no rejected edit/);
});

test('keep the server\'s value drops the rejection; a refused create leaves the copy', async () => {
  const { q, store, transport } = setup();
  transport.answer = (m) => ({ mid: m.mid, status: 'rejected', code: 'conflict', msg: 'Nina is booked 10:00-11:00' });
  await q.edit('appointment', APPT, 'create', { client_id: CARD, duration_min: 30 });
  await idle(q);
  assert.equal(store.row('appointment', APPT), undefined, 'a refused create is gone from the local copy');
  assert.equal(q.state.rejected[0].msg, 'Nina is booked 10:00-11:00');
  await q.keepServer(q.state.rejected[0].mid);
  assert.equal(q.state.rejected.length, 0);
  assert.equal((await store.queueEntries()).length, 0);
});

test('network errors retry with growing backoff, counting no tries; a kick cuts the wait', async () => {
  const { q, store, transport, clock } = setup();
  transport.failWith = { code: 'network', msg: 'connection closed' };
  await q.edit('client', CARD, 'update', { notes: 'x' });
  await idle(q);
  const waits = [];
  for (let i = 0; i < 8; i++) {
    waits.push(clock.timers[0].ms);
    await clock.fire();
    await idle(q);
  }
  assert.deepEqual(waits, [...BACKOFF, BACKOFF.at(-1)], 'the waits grow to the cap (jitter 0 here)');
  assert.equal((await store.queueEntries())[0].tries, 0);
  assert.equal((await store.queueEntries())[0].state, 'queued');
  assert.ok(q.state.retryAt > clock.t);
  transport.failWith = null;
  q.kick(true); // 'online', a reconnect
  await idle(q);
  assert.deepEqual(transport.applied, [1001]);
  assert.equal(clock.timers.length, 0, 'no timer left once the queue is empty');
});

test('io_error and busy: pushed again whole by the timer, nothing twice', async () => {
  const { q, transport, clock } = setup();
  transport.connected = false;
  for (const n of ['a', 'b', 'c']) await q.edit('client', CARD, 'update', { notes: n });
  await idle(q);
  transport.connected = true;
  let n = 0;
  transport.failWith = () => (++n <= 2 ? { code: n === 1 ? 'io_error' : 'busy' } : null);
  q.kick(true);
  await idle(q);
  await clock.fire(); await idle(q);
  await clock.fire(); await idle(q);
  assert.deepEqual(transport.pushes, [[1001, 1002, 1003], [1001, 1002, 1003], [1001, 1002, 1003]]);
  assert.deepEqual(transport.applied, [1001, 1002, 1003]);
});

test('an edit the server cannot take is set aside after MAX_TRIES; the ones behind it go on', async () => {
  const { q, store, transport, clock } = setup();
  transport.connected = false;
  await q.edit('client', CARD, 'update', { notes: 'fine 1' });
  await q.edit('client', CARD, 'update', { phone: 'POISON' });
  await q.edit('client', CARD, 'update', { notes: 'fine 2' });
  await idle(q);
  transport.connected = true;
  transport.failWith = (muts) => (muts.some((m) => m.f.phone === 'POISON') ? { code: 'internal', msg: 'server failure' } : null);
  q.kick(true);
  await idle(q);
  for (let i = 0; i < 3 * MAX_TRIES && clock.timers.length; i++) { await clock.fire(); await idle(q); }
  assert.deepEqual(transport.applied, [1001, 1003], 'the edits around it are applied, in order');
  const aside = q.state.aside;
  assert.equal(aside.length, 1);
  assert.deepEqual([aside[0].mid, aside[0].code, aside[0].msg, aside[0].tries], [1002, 'internal', 'server failure', MAX_TRIES]);
  assert.equal(transport.pushes.filter((p) => p.length === 1 && p[0] === 1002).length, MAX_TRIES, 'tried alone MAX_TRIES times');
  assert.equal(q.state.queued, 0);
  assert.equal(store.row('client', CARD).f.phone, 'POISON', 'set aside, not rolled back: the person decides');
  // drop it: the local copy goes back to before
  await q.dropAside(1002);
  assert.equal(store.row('client', CARD).f.phone, '041 222 333');
  assert.equal(q.state.aside.length, 0);
});

test('a set-aside edit tried again goes through once the server takes it', async () => {
  const { q, transport, clock } = setup();
  transport.failWith = { code: 'malformed', msg: 'bad field' };
  await q.edit('client', CARD, 'update', { notes: 'x' });
  await idle(q);
  for (let i = 0; i < MAX_TRIES && q.state.aside.length === 0; i++) { await clock.fire(); await idle(q); }
  assert.equal(q.state.aside.length, 1);
  assert.equal(q.state.aside[0].code, 'malformed');
  transport.failWith = null;
  await q.retryAside(1001);
  await idle(q);
  assert.deepEqual(transport.applied, [1001]);
  assert.equal(q.state.aside.length, 0);
});

test('rate_limited waits the time the server says', async () => {
  const { q, transport, clock } = setup();
  transport.failWith = { code: 'rate_limited', retry_after_ms: 12345 };
  await q.edit('client', CARD, 'update', { notes: 'x' });
  await idle(q);
  assert.equal(clock.timers[0].ms, 12345);
});

test('the lock: a tab that cannot take it does not push, and looks again later', async () => {
  let held = true;
  const locks = { request: async (name, o, cb) => { assert.equal(name, 'kt.queue.push'); assert.equal(o.ifAvailable, true); return cb(held ? null : { name }); } };
  const { q, transport, clock } = setup({ locks });
  await q.edit('client', CARD, 'update', { notes: 'x' });
  await idle(q);
  assert.deepEqual(transport.pushes, [], 'another tab holds the lock');
  assert.equal(clock.timers.length, 1, 'a retry is set');
  held = false;
  await clock.fire();
  await idle(q);
  assert.deepEqual(transport.applied, [1001]);
});

test('without Web Locks: a lease in localStorage another tab holds keeps this one out', async () => {
  const mem = new Map();
  const storage = { getItem: (k) => mem.get(k) ?? null, setItem: (k, v) => mem.set(k, v), removeItem: (k) => mem.delete(k) };
  const { q, transport, clock } = setup({ storage });
  mem.set('kt.queue.lease', JSON.stringify({ owner: 'other-tab', until: clock.t + 10000 }));
  await q.edit('client', CARD, 'update', { notes: 'x' });
  await idle(q);
  assert.deepEqual(transport.pushes, []);
  clock.t += 20000; // the other tab's lease ran out (it closed)
  await clock.fire();
  await idle(q);
  assert.deepEqual(transport.applied, [1001]);
  assert.equal(mem.has('kt.queue.lease'), false, 'released after the push');
});

test('fields an applied answer lists as conflicts show the server\'s value', async () => {
  const { q, store, transport } = setup();
  transport.answer = (m) => ({ mid: m.mid, status: 'applied', v: 4, conflicts: { phone: '051 000 000' } });
  await q.edit('client', CARD, 'update', { phone: '040 111 000', notes: 'mine' });
  await idle(q);
  assert.deepEqual(store.row('client', CARD).f, { name: 'Eva', phone: '051 000 000', notes: 'mine' });
  assert.equal(q.state.queued, 0);
});

test('a push_result that answers none of the edits counts as a failure, not a tight loop', async () => {
  const { q, transport, clock } = setup();
  transport.push = async (muts) => { transport.pushes.push(muts.map((m) => m.mid)); return []; };
  await q.edit('client', CARD, 'update', { notes: 'x' });
  await idle(q);
  assert.equal(transport.pushes.length, 1);
  for (let i = 0; i < MAX_TRIES + 2 && clock.timers.length; i++) { await clock.fire(); await idle(q); }
  assert.equal(q.state.aside.length, 1);
  assert.equal(q.state.aside[0].code, 'no_answer');
});

test('"book anyway": a refused create re-queued with an override carries it in the push', async () => {
  const { q, store, transport } = setup();
  const muts = [];
  transport.answer = (m) => {
    muts.push(m);
    return m.override ? { mid: m.mid, status: 'applied', v: 1 }
      : { mid: m.mid, status: 'rejected', code: 'conflict', msg: 'the specialist is already booked then' };
  };
  await q.edit('appointment', APPT, 'create', { client_id: CARD, duration_min: 30 });
  await idle(q);
  const r = q.state.rejected[0];
  assert.equal(r.override, undefined);
  const e = await q.reapply(r.mid, { override: { rule: 'overlap', reason: 'the client asked' } });
  assert.deepEqual([e.op, e.override], ['create', { rule: 'overlap', reason: 'the client asked' }]);
  await idle(q);
  assert.equal(muts.length, 2);
  assert.deepEqual(muts[1].override, { rule: 'overlap', reason: 'the client asked' }, 'the override is pushed');
  assert.equal(muts[1].id, APPT);
  assert.equal(store.row('appointment', APPT).f.duration_min, 30, 'the booking is back in the copy');
  assert.equal(q.state.rejected.length, 0);
  assert.equal(q.state.queued, 0);
});
