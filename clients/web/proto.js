// The protocol client (proto/PROTOCOL.md): hello/welcome, login or resume, sync from the
// stored cursor, snapshot pages, changes, synced + ack, push, privacy and the portal_*
// messages, errors, and reconnecting with backoff while signed in.
import { encode } from './vendor/msgpack/encode.mjs';
import { decode } from './vendor/msgpack/decode.mjs';
import * as store from './store.js';

const APP = 'kartoteka-web/1';
const BACKOFF = [1000, 2000, 4000, 8000, 15000, 30000];

export class ProtoError extends Error {
  constructor(code, msg, extra = {}) {
    super(msg || code);
    this.code = code;
    Object.assign(this, extra);
  }
}

export function deviceId(fresh = false) {
  let d = localStorage.getItem('kt.device');
  if (!d || fresh) {
    d = crypto.randomUUID();
    localStorage.setItem('kt.device', d);
  }
  return d;
}

// Mutation ids only grow, across sign-outs too: the server answers (person, device, mid)
// once, and a person signing in again on this device must not get old answers back.
export function nextMid() {
  const last = Number(localStorage.getItem('kt.mid') || 0);
  const mid = Math.max(Date.now(), last + 1);
  localStorage.setItem('kt.mid', String(mid));
  return mid;
}

// UUIDv7: devices name the rows they create.
export function uuidv7() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let t = Date.now();
  for (let i = 5; i >= 0; i--) { b[i] = t % 256; t = Math.floor(t / 256); }
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function wsUrl() {
  return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/';
}

// hooks: status(s) with s one of 'connecting' | 'synced' | 'offline' | 'streaming';
// data(d) after rows changed locally (d.rows: a snapshot's whole local copy; d.changed:
// [{tbl, id, row}] of a `changes` message; d.syncedAt: synced, no row changed; no d:
// read the local copy again); signedOut(reason, {kept}) when the session ended (kept:
// it expired and the desk's copy and queue stay, see expired()); wiped() when a sign-in
// deleted another person's kept copy.
export class Proto {
  constructor(hooks) {
    this.hooks = hooks;
    this.kind = 'client'; // the principal kind this page signs in: 'client' or 'staff' (/desk)
    this.ws = null;
    this.welcomed = null; // Promise resolved on welcome for the current socket
    this.token = null;
    this.signedIn = false; // this socket has had auth_ok
    this.keepOnline = false; // reconnect after a drop (we hold a session)
    this.waiters = [];
    this.inbox = Promise.resolve(); // messages are applied one after the other
    this.snap = null;
    this.tries = 0;
    this.timer = null;
    this.loggingOut = false;
    window.addEventListener('online', () => { if (this.keepOnline) this.reconnectNow(); });
    window.addEventListener('offline', () => { if (this.ws) this.ws.close(); });
  }

  // Open a socket and say hello; resolves on welcome.
  connect() {
    if (this.welcomed) return this.welcomed;
    this.hooks.status('connecting');
    let ok, fail;
    this.welcomed = new Promise((res, rej) => { ok = res; fail = rej; });
    this.welcomed.catch(() => {});
    let ws;
    try {
      ws = new WebSocket(wsUrl(), ['kartoteka.v1']);
    } catch (e) {
      this.welcomed = null;
      this.dropped();
      return Promise.reject(new ProtoError('network', String(e)));
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.signedIn = false;
    // A network that swallows packets never fails the socket: give up after 10 s.
    const stall = setTimeout(() => ws.close(), 10000);
    ws.onopen = () => this.send({ t: 'hello', v: [1], device: deviceId(), app: APP });
    ws.onmessage = (ev) => {
      let m;
      try { m = decode(new Uint8Array(ev.data)); } catch (e) { console.warn('undecodable frame', e); return; }
      if (m && m.t === 'welcome') { clearTimeout(stall); ok(m); }
      this.inbox = this.inbox.then(() => this.onMessage(m)).catch((e) => console.error(e));
    };
    ws.onclose = (ev) => {
      clearTimeout(stall);
      if (this.ws !== ws) return;
      this.ws = null;
      this.welcomed = null;
      this.signedIn = false;
      this.snap = null;
      fail(new ProtoError('network', ev.reason || 'connection closed'));
      for (const w of this.waiters.splice(0)) w.reject(new ProtoError('network', 'connection closed'));
      this.dropped();
    };
    return this.welcomed;
  }

  send(m) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) throw new ProtoError('network', 'not connected');
    this.ws.send(encode(m, { ignoreUndefined: true }));
  }

  // Wait for the answer of type `type` (and `op`), or an error about `re`.
  wait(type, re, op = null) {
    return new Promise((resolve, reject) => {
      this.waiters.push({ type, re, op, resolve, reject });
    });
  }

  // A signed-in request waits for the session to be back (a reconnect in its backoff
  // starts at once); a connection that has not signed in would answer unauthenticated.
  async authed(ms = 8000) {
    if (this.signedIn && this.ws) return;
    if (!this.token || !navigator.onLine) throw new ProtoError('network', 'offline');
    this.reconnectNow();
    const t0 = Date.now();
    while (!(this.signedIn && this.ws)) {
      if (Date.now() - t0 > ms || !this.token) throw new ProtoError('network', 'offline');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async request(m, type, op = null) {
    if (['push', 'privacy', 'change_password'].includes(m.t)) await this.authed();
    await this.connect();
    const p = this.wait(type, m.t, op);
    this.send(m);
    return p;
  }

  dropped() {
    this.hooks.status('offline');
    if (!this.keepOnline) return;
    clearTimeout(this.timer);
    const delay = BACKOFF[Math.min(this.tries, BACKOFF.length - 1)] * (0.75 + Math.random() / 2);
    this.tries++;
    this.timer = setTimeout(() => this.resume(), delay);
  }

  reconnectNow() {
    clearTimeout(this.timer);
    if (!this.ws) this.resume();
  }

  // Signed in before (token stored): resume it and sync from the stored cursor.
  async resume() {
    if (!this.token || this.resuming) return;
    this.keepOnline = true;
    this.resuming = true; // the 'online' event and the backoff timer may both call
    try {
      await this.connect();
      if (this.signedIn) return;
      const p = this.wait('auth_ok', 'resume');
      this.send({ t: 'resume', token: this.token });
      await p;
    } catch (e) {
      if (e.code === 'auth_failed') this.expired();
      else if (e.code === 'device_taken') { deviceId(true); this.endLocal('device_taken'); }
      else if (e.code === 'busy' && this.ws) setTimeout(() => this.resume(), 1000);
    } finally {
      this.resuming = false;
    }
  }

  async login(email, password) {
    await this.connect();
    if (this.signedIn) throw new ProtoError('bad_state', 'already signed in');
    let r;
    try {
      r = await this.request({ t: 'login', email, password }, 'auth_ok');
    } catch (e) {
      if (e.code !== 'device_taken') throw e;
      // This device id belongs to someone else here: take a new one and try once more.
      deviceId(true);
      this.ws?.close();
      await this.waitClosed();
      r = await this.request({ t: 'login', email, password }, 'auth_ok');
    }
    await store.setMeta({ email });
    return r;
  }

  waitClosed() {
    return new Promise((res) => {
      const t = setInterval(() => { if (!this.ws) { clearInterval(t); res(); } }, 20);
    });
  }

  async onMessage(m) {
    if (!m || typeof m !== 'object') return;
    switch (m.t) {
      case 'welcome':
        return;
      case 'auth_ok':
        if (m.principal?.kind !== this.kind) {
          // The portal takes clients and the desk (/desk) takes staff: a salon's whole
          // card index has no place in a client's phone, and a client has no desk.
          // Sign out again at once, before any row is synced.
          this.loggingOut = true;
          try { this.send({ t: 'logout' }); } catch { /* closed already */ }
          const i = this.waiters.findIndex((w) => w.type === 'auth_ok');
          const code = this.kind === 'client' ? 'staff_account' : 'client_account';
          if (i >= 0) this.waiters.splice(i, 1)[0].reject(new ProtoError(code, code));
          return;
        }
        // A copy an expired session left (see expired()) is someone else's: it goes,
        // queue and all, before this person's token or rows are written; if it cannot
        // go, this sign-in does not go on.
        try {
          const prev = await store.getMeta('principal').catch(() => undefined);
          if (prev && (prev.id !== m.principal?.id || prev.kind !== m.principal?.kind)) {
            await store.wipe();
            this.hooks.wiped?.();
          }
        } catch (e) {
          console.error('cannot delete the last person\'s copy', e);
          this.loggingOut = true;
          try { this.send({ t: 'logout' }); } catch { /* closed already */ }
          const i = this.waiters.findIndex((w) => w.type === 'auth_ok');
          if (i >= 0) this.waiters.splice(i, 1)[0].reject(new ProtoError('internal', 'the local copy could not be deleted'));
          return;
        }
        this.loggingOut = false;
        this.signedIn = true;
        this.keepOnline = true;
        this.tries = 0;
        this.token = m.token;
        try {
          await store.setMeta({ token: m.token, principal: m.principal, device: deviceId() });
        } catch (e) { // no IndexedDB (a private window): signed in for this visit only
          console.warn('cannot keep the session', e);
        }
        this.resolve(m);
        this.hooks.signedIn?.(m.principal);
        this.send({ t: 'sync', cursor: (await store.getMeta('cursor')) || null });
        return;
      // the snapshot's pages go to IndexedDB as they come (store.SnapshotWriter)
      case 'snapshot_begin':
        this.snap = new store.SnapshotWriter();
        return;
      case 'page':
        if (this.snap) this.snap.add(m.rows || []);
        return;
      // hooks.data gets what was written (the whole copy, or the rows a change
      // touched), so the app need not read every row back from IndexedDB
      case 'snapshot_end': {
        const now = Date.now();
        const rows = await (this.snap ? this.snap.end(m.cursor, now) : store.replaceAll([], m.cursor, now));
        this.snap = null;
        this.hooks.data({ rows });
        return;
      }
      case 'changes': {
        const changed = await store.applyChanges(m.ops || [], m.cursor);
        this.hooks.data({ changed });
        return;
      }
      case 'synced': {
        const syncedAt = Date.now();
        await store.setMeta({ cursor: m.cursor, synced_at: syncedAt });
        try { this.send({ t: 'ack', cursor: m.cursor }); } catch { /* gone; the next sync acks */ }
        // the copy (and its sync time) read first: a screen that says "synced" shows this sync's time
        await this.hooks.data({ syncedAt });
        this.hooks.status('synced');
        return;
      }
      case 'error':
        return this.onError(m);
      case 'privacy_result':
        if (m.op === 'export') return this.exportPart(m);
        return this.resolve(m);
      default:
        return this.resolve(m);
    }
  }

  resolve(m) {
    const i = this.waiters.findIndex((w) => w.type === m.t && (!w.op || w.op === m.op));
    if (i >= 0) this.waiters.splice(i, 1)[0].resolve(m);
  }

  exportPart(m) {
    const w = this.waiters.find((x) => x.type === 'privacy_result' && x.op === 'export');
    if (!w) return;
    w.parts ||= [];
    w.parts[m.part - 1] = m.doc;
    if (m.part === m.parts) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve(w.parts.join(''));
    }
  }

  async onError(m) {
    const err = new ProtoError(m.code, m.msg, { re: m.re, fatal: m.fatal, retry_after_ms: m.retry_after_ms });
    if (m.code === 'bad_cursor') return; // a snapshot follows
    if (m.code === 'revoked' && m.re === 'logout' && this.loggingOut) return this.resolve({ t: 'logged_out' });
    if (m.code === 'device_revoked') {
      deviceId(true); // this id is refused for good
      return this.endLocal('device_revoked');
    }
    if (m.code === 'revoked' && (this.signedIn || this.token)) return this.endLocal('revoked');
    const i = this.waiters.findIndex((w) => w.re && w.re === m.re);
    if (i >= 0) return this.waiters.splice(i, 1)[0].reject(err);
    if (m.re === 'resume' || m.re === 'login') return;
    console.warn('server error', m.code, m.msg);
  }

  // The session expired (`resume` answered auth_failed): the desk forgets the token but
  // keeps its copy and its queue, so a tablet offline over a long weekend loses no edit;
  // the same person signing in again gets them sent (the server answers per person,
  // device and mid), anyone else's sign-in deletes them first (auth_ok above). The
  // portal, and revocation, device_revoked and logout everywhere, still wipe.
  async expired() {
    if (this.kind !== 'staff') return this.endLocal('expired');
    this.keepOnline = false;
    this.token = null;
    this.snap = null;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
    try {
      await store.setMeta({ token: null });
    } catch (e) {
      console.warn('cannot forget the token', e);
    }
    this.hooks.signedOut('expired', { kept: true });
  }

  // The session is over on the server's word: wipe and show sign-in.
  async endLocal(reason) {
    this.keepOnline = false;
    this.token = null;
    this.snap = null; // a snapshot's pages still queued must not reopen the database
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
    await store.wipe();
    this.hooks.signedOut(reason);
  }

  async logout() {
    this.keepOnline = false;
    this.loggingOut = true;
    try {
      if (this.ws && this.signedIn) {
        const p = this.wait('logged_out', null);
        this.send({ t: 'logout' });
        await Promise.race([p, new Promise((r) => setTimeout(r, 3000))]);
      }
    } catch { /* offline: the local copy goes anyway */ }
    this.loggingOut = false;
    await this.endLocal('signed_out');
  }

  async push(muts) {
    const r = await this.request({ t: 'push', muts }, 'push_result');
    return r.results || [];
  }

  privacy(op) {
    return this.request({ t: 'privacy', op }, 'privacy_result', op);
  }

  changePassword(old, nw) {
    return this.request({ t: 'change_password', old, new: nw }, 'portal_result', 'change_password');
  }

  setPassword(token, password) {
    return this.request({ t: 'portal_set_password', token, password }, 'portal_result', 'set_password');
  }

  confirmEmail(token, password) {
    return this.request({ t: 'portal_confirm_email', token, password }, 'portal_result', 'confirm_email');
  }

  // A message's one-purpose link (/l/TOKEN): op 'open' or 'act', before and without
  // any sign-in; answered by link_result (its op) or an error about 'link'.
  link(op, token, extra = {}) {
    return this.request({ t: 'link', op, token, ...extra }, 'link_result', op);
  }

  forgot(email) {
    return this.request({ t: 'portal_forgot', email }, 'portal_result', 'forgot');
  }
}
