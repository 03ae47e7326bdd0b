// The offline write queue (proto/PROTOCOL.md "push", "push_result"). An edit changes the
// local copy and enters the queue in one IndexedDB transaction; the queue is pushed in
// mid order, in batches, whenever a transport is connected, with backoff after errors.
// Entries (store `queue`, key mid): {mid, tbl, id, op, base, f, before, at, state,
// tries, code?, msg?, current?} with state 'queued' | 'rejected' | 'aside'.
//
// Answers: applied and duplicate remove the entry; rejected rolls the local row back to
// the server's values (`current`, else what it was before the edit) and keeps the entry
// as a rejection until the person re-applies or drops it. A push that fails for a reason
// the protocol says to just send again (network, io_error, busy, rate_limited,
// unauthenticated) is retried whole with backoff and counts no try; any other failure
// (internal, malformed, too_large, ...) is narrowed to the first entry alone, and after
// MAX_TRIES such failures that entry is set aside so the ones behind it go on.
//
// One pusher per device: the Web Lock `kt.queue.push` (navigator.locks); without the
// Locks API (Safari before 15.4, old Firefox) a lease in localStorage `kt.queue.lease`
// renewed while pushing. The lease is not atomic between tabs; if two tabs ever raced,
// the server answers the second push of a mid `duplicate`, so nothing applies twice.
import * as realStore from './store.js';
import { nextMid as realNextMid } from './proto.js';

export const MAX_TRIES = 5;
export const BATCH = 100; // the protocol takes at most 500 a push
export const BACKOFF = [1000, 2000, 4000, 8000, 15000, 30000, 60000];
const AGAIN = new Set(['network', 'io_error', 'busy', 'rate_limited', 'unauthenticated', 'offline']);
const LOCK = 'kt.queue.push';
const LEASE = 'kt.queue.lease';
const LEASE_MS = 15000;

// Values of `fields` as the row has them (undefined: the row had no such field).
function pick(f, fields) {
  const o = {};
  for (const k of Object.keys(fields)) o[k] = f ? f[k] : undefined;
  return o;
}

export class Queue {
  // opts: transport {push(muts) -> results, connected: bool} (a push error carries
  // `code`), store (store.js or a fake with queueTx/queueEntries), nextMid, locks,
  // random, now, setTimeout/clearTimeout, batch, maxTries.
  constructor(opts = {}) {
    this.transport = opts.transport || null;
    this.store = opts.store || realStore;
    this.nextMid = opts.nextMid || realNextMid;
    this.locks = opts.locks !== undefined ? opts.locks : (globalThis.navigator?.locks || null);
    this.random = opts.random || Math.random;
    this.now = opts.now || Date.now;
    this.setTimeout = opts.setTimeout || ((f, ms) => setTimeout(f, ms));
    this.clearTimeout = opts.clearTimeout || ((t) => clearTimeout(t));
    this.batch = Math.min(opts.batch || BATCH, 500);
    this.maxTries = opts.maxTries || MAX_TRIES;
    this.storage = opts.storage !== undefined ? opts.storage : (globalThis.localStorage || null);
    this.me = Math.random().toString(36).slice(2);
    this.fails = 0; // consecutive failed pushes: the backoff step
    this.timer = null;
    this.running = null;
    this.narrow = false; // after a failure not of the "send again" kind: the head alone
    this.listeners = new Set();
    this.state = { queued: 0, oldest: null, rejected: [], aside: [], lastSync: null, online: false, pushing: false, lastError: null, retryAt: null };
    this.chan = opts.channel !== false && globalThis.window && globalThis.BroadcastChannel ? new BroadcastChannel('kt.queue') : null;
    if (this.chan) this.chan.onmessage = () => this.refresh().then(() => this.kick());
    if (opts.listen !== false && globalThis.addEventListener) {
      globalThis.addEventListener('online', () => this.kick(true));
      globalThis.addEventListener('offline', () => this.refresh());
    }
  }

  // The badge: fn(state) now and after every change.
  subscribe(fn) {
    this.listeners.add(fn);
    fn(this.state);
    return () => this.listeners.delete(fn);
  }

  emit(patch) {
    Object.assign(this.state, patch);
    for (const fn of this.listeners) fn(this.state);
  }

  async refresh(tell = false) {
    const all = await this.store.queueEntries();
    const lastSync = await this.store.queueTx((t) => t.getMeta('queue_synced_at'));
    const queued = all.filter((e) => e.state === 'queued');
    this.emit({
      queued: queued.length,
      oldest: queued.length ? Math.min(...queued.map((e) => e.at || Infinity)) : null, // ms of the oldest waiting edit
      rejected: all.filter((e) => e.state === 'rejected'),
      aside: all.filter((e) => e.state === 'aside'),
      lastSync: lastSync ?? this.state.lastSync,
      online: !!this.transport?.connected && (globalThis.navigator?.onLine ?? true),
    });
    if (tell) this.chan?.postMessage('changed');
    return this.state;
  }

  // An edit of the local copy, queued in the same transaction. op 'create' (id: the
  // new row's UUIDv7) or 'update'; fields: the changed fields in wire types.
  async edit(tbl, id, op, fields, extra = {}) {
    const mid = this.nextMid();
    const at = this.now();
    const e = await this.store.queueTx(async (t) => {
      const row = await t.getRow(tbl, id);
      let base = 0;
      if (op === 'update') {
        if (!row) throw new Error(`no ${tbl} ${id} in the local copy`);
        // the version the device saw, not counting its own queued edits; a row it
        // created and has not had back (v 0) was saved by the server as version 1
        base = row.v || 1;
      }
      const entry = { mid, tbl, id, op, base, f: fields, before: op === 'update' ? pick(row.f, fields) : null,
        at, state: 'queued', tries: 0, ...extra };
      await t.putEntry(entry);
      await t.putRow({ tbl, id, v: row ? row.v : 0, f: { ...(row?.f || {}), ...fields } });
      return entry;
    });
    await this.refresh(true);
    this.kick(true);
    return e;
  }

  // A rejection, answered: re-apply my value on the row as it is now, or keep the
  // server's (the local copy already has it). `extra` goes with the new entry, e.g.
  // `{override: {rule, reason}}` to book although a booking rule refused it.
  async reapply(mid, extra = {}) {
    const old = await this.entry(mid, 'rejected');
    await this.store.queueTx((t) => t.deleteEntry(mid));
    return this.edit(old.tbl, old.id, old.op === 'create' ? 'create' : 'update', old.f, extra);
  }

  async keepServer(mid) {
    await this.entry(mid, 'rejected');
    await this.store.queueTx((t) => t.deleteEntry(mid));
    await this.refresh(true);
  }

  // A set-aside edit: try it again (at its place in mid order), or drop it and put the
  // local copy back as it was before it.
  async retryAside(mid) {
    const e = await this.entry(mid, 'aside');
    await this.store.queueTx((t) => t.putEntry({ ...e, state: 'queued', tries: 0 }));
    await this.refresh(true);
    this.kick(true);
  }

  async dropAside(mid) {
    const e = await this.entry(mid, 'aside');
    await this.store.queueTx(async (t) => {
      await this.rollback(t, e, null, await t.queueAll());
      await t.deleteEntry(mid);
    });
    await this.refresh(true);
  }

  async entry(mid, state) {
    const e = (await this.store.queueEntries()).find((x) => x.mid === mid);
    if (!e || e.state !== state) throw new Error(`no ${state} edit ${mid}`);
    return e;
  }

  // Push soon: now (an edit, a reconnect) unless a backoff is running, which `force` cuts.
  kick(force = false) {
    if (this.timer && !force) return;
    this.clearTimeout(this.timer);
    this.timer = null;
    if (force) this.fails = 0;
    this.emit({ retryAt: null });
    this.flush().catch((e) => console.error('queue', e));
  }

  // Signed out or revoked: the database with the queue is gone (store.wipe). Forget what
  // the badge showed and stop the backoff timer, so nothing of the last person's queue
  // (its count, its last sync) shows to the next one.
  reset() {
    this.clearTimeout(this.timer);
    this.timer = null;
    this.fails = 0;
    this.narrow = false;
    this.emit({ queued: 0, oldest: null, rejected: [], aside: [], lastSync: null, online: false, pushing: false, lastError: null, retryAt: null });
  }

  // Transport hooks: call connected() after sign-in, disconnected() on a drop.
  connected() { this.emit({ online: true }); this.kick(true); }
  disconnected() { this.emit({ online: false }); }

  // Pushes until the queue is empty or a push fails; one run at a time per tab, one
  // pusher per device (the lock). Resolves when this run is over.
  flush() {
    if (this.running) { this.again = true; return this.running; }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.withLock(() => this.drain());
        } while (this.again);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  async withLock(fn) {
    if (this.locks) {
      let got = false;
      await this.locks.request(LOCK, { ifAvailable: true }, async (lock) => {
        if (!lock) return;
        got = true;
        await fn();
      });
      if (!got) this.later(); // another tab pushes; look again later
      return;
    }
    if (!this.storage) return fn();
    const now = this.now();
    const l = JSON.parse(this.storage.getItem(LEASE) || 'null');
    if (l && l.owner !== this.me && l.until > now) { this.later(); return; }
    this.storage.setItem(LEASE, JSON.stringify({ owner: this.me, until: now + LEASE_MS }));
    try {
      await fn();
    } finally {
      const m = JSON.parse(this.storage.getItem(LEASE) || 'null');
      if (m && m.owner === this.me) this.storage.removeItem(LEASE);
    }
  }

  renewLease() {
    if (this.locks || !this.storage) return;
    this.storage.setItem(LEASE, JSON.stringify({ owner: this.me, until: this.now() + LEASE_MS }));
  }

  async drain() {
    for (;;) {
      await this.refresh();
      const all = await this.store.queueEntries();
      const queued = all.filter((e) => e.state === 'queued').sort((a, b) => a.mid - b.mid);
      if (!queued.length) { this.fails = 0; this.narrow = false; return; }
      if (!this.transport || !this.transport.connected) { this.emit({ online: false }); return; }
      const batch = queued.slice(0, this.narrow ? 1 : this.batch);
      const muts = batch.map((e) => {
        const m = { mid: e.mid, tbl: e.tbl, id: e.id, op: e.op, base: e.base, f: e.f, at: e.at };
        if (e.override) m.override = e.override;
        return m;
      });
      this.renewLease();
      this.emit({ pushing: true });
      let results;
      try {
        results = await this.transport.push(muts);
      } catch (err) {
        this.emit({ pushing: false, lastError: `${err.code || 'error'}: ${err.message}` });
        await this.failed(batch, err);
        return;
      } finally {
        this.emit({ pushing: false });
      }
      if (!(await this.settle(batch, results || []))) {
        // answered, but about none of them: not worth a tight loop
        await this.failed(batch, Object.assign(new Error('no answer for these edits'), { code: 'no_answer' }));
        return;
      }
      this.fails = 0;
      this.narrow = false;
      this.emit({ lastError: null });
    }
  }

  async failed(batch, err) {
    const head = batch[0];
    const code = err.code || 'network';
    if (!AGAIN.has(code)) {
      // not "send it again": find the edit it is about by pushing the head alone
      if (batch.length > 1) this.narrow = true;
      else {
        const tries = (head.tries || 0) + 1;
        const aside = tries >= this.maxTries;
        await this.store.queueTx((t) => t.putEntry({ ...head, tries, state: aside ? 'aside' : 'queued',
          code: aside ? code : head.code, msg: aside ? (err.message || code) : head.msg }));
        if (aside) { this.narrow = false; await this.refresh(true); this.fails = 0; this.later(0); return; }
      }
    }
    this.later(code === 'rate_limited' ? err.retry_after_ms : undefined);
  }

  // The next try after a backoff with jitter; cut short by kick() (an edit, 'online').
  later(ms) {
    if (ms === undefined) {
      const step = BACKOFF[Math.min(this.fails, BACKOFF.length - 1)];
      ms = Math.round(step * (0.75 + this.random() / 2));
      this.fails++;
    }
    this.clearTimeout(this.timer);
    this.emit({ retryAt: this.now() + ms });
    this.timer = this.setTimeout(() => { this.timer = null; this.emit({ retryAt: null }); this.flush(); }, ms);
  }

  // The answers of one push, in one transaction.
  async settle(batch, results) {
    const byMid = new Map(results.map((r) => [r.mid, r]));
    const answered = batch.filter((e) => byMid.has(e.mid)).length;
    if (!answered) return 0;
    await this.store.queueTx(async (t) => {
      let all = await t.queueAll();
      for (const e of batch) {
        const r = byMid.get(e.mid);
        if (!r) continue; // not answered: stays queued, pushed again
        let ans = r;
        if (r.status === 'duplicate') ans = { ...(r.first || {}), status: r.first?.status || 'applied' };
        if (ans.status === 'rejected') {
          await this.rollback(t, e, ans.current, all);
          await t.putEntry({ ...e, state: 'rejected', code: ans.code, msg: ans.msg, current: ans.current ?? null });
        } else {
          // applied (or duplicate of an applied): gone from the queue; fields the
          // server did not take (`conflicts`) show its values
          if (ans.conflicts) await this.rollback(t, { ...e, f: ans.conflicts }, ans.conflicts, all);
          await t.deleteEntry(e.mid);
        }
        all = all.filter((x) => x.mid !== e.mid);
      }
      await t.setMeta('queue_synced_at', this.now());
    });
    await this.refresh(true);
    return answered;
  }

  // The local row back to the server's values (`current`), else to what it was before
  // the edit; fields a later queued edit of the row sets keep that edit's value.
  async rollback(t, e, current, all) {
    const row = await t.getRow(e.tbl, e.id);
    if (!row) return;
    if (e.op === 'create' && !current) { await t.deleteRow(e.tbl, e.id); return; }
    const later = new Set();
    for (const x of all) {
      if (x.mid > e.mid && x.state === 'queued' && x.tbl === e.tbl && x.id === e.id) for (const k of Object.keys(x.f)) later.add(k);
    }
    const f = { ...row.f };
    for (const k of Object.keys(e.f)) {
      if (later.has(k)) continue;
      const v = current && k in current ? current[k] : e.before ? e.before[k] : undefined;
      if (v === undefined) delete f[k];
      else f[k] = v;
    }
    await t.putRow({ ...row, f });
  }
}

// An in-memory store with the queue's interface, for tests and for a browser without
// IndexedDB (a private window: the queue lasts as long as the tab).
export function memoryStore(rows = []) {
  const r = new Map(rows.map((x) => [`${x.tbl}\u0000${x.id}`, structuredClone(x)]));
  const q = new Map();
  const meta = new Map();
  let chain = Promise.resolve();
  const copy = (x) => (x === undefined ? undefined : structuredClone(x));
  const s = {
    rows: r, queue: q, meta,
    queueEntries: async () => [...q.values()].sort((a, b) => a.mid - b.mid).map(copy),
    queueTx(fn) {
      // one at a time, all or nothing, like an IndexedDB transaction
      const run = chain.then(async () => {
        const R = new Map(r), Q = new Map(q), M = new Map(meta);
        const t = {
          getRow: async (tbl, id) => copy(R.get(`${tbl}\u0000${id}`)),
          putRow: async (x) => { R.set(`${x.tbl}\u0000${x.id}`, copy(x)); },
          deleteRow: async (tbl, id) => { R.delete(`${tbl}\u0000${id}`); },
          queueAll: async () => [...Q.values()].sort((a, b) => a.mid - b.mid).map(copy),
          putEntry: async (e) => { Q.set(e.mid, copy(e)); },
          deleteEntry: async (mid) => { Q.delete(mid); },
          setMeta: async (k, v) => { M.set(k, v); },
          getMeta: async (k) => M.get(k),
        };
        const out = await fn(t);
        r.clear(); for (const [k, v] of R) r.set(k, v);
        q.clear(); for (const [k, v] of Q) q.set(k, v);
        meta.clear(); for (const [k, v] of M) meta.set(k, v);
        return out;
      });
      chain = run.catch(() => {});
      return run;
    },
    row: (tbl, id) => copy(r.get(`${tbl}\u0000${id}`)),
  };
  return s;
}
