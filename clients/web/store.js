// The local copy: IndexedDB "kartoteka" v3, stores `pages` ([gen, tbl, last id] ->
// {tbl, first, last, rows}: a snapshot's rows, up to PAGE of one table sorted by id;
// meta `pages` names the generation in use, so a snapshot's pages can be written as
// they arrive and count only once its last transaction switches to them),
// `rows` ([tbl,id] -> {tbl,id,v,f}, or {tbl,id,gone:true}: a row changed, created or
// deleted since the snapshot; it wins over the page's copy), `meta` (k -> {k,v}) and
// `queue` (mid -> a local edit not yet answered, see queue.js). Rows and the cursor
// that covers them go in one transaction; so do an edit and its queue entry.
// Why pages: IndexedDB costs about 60-80 µs a record in Chromium whatever its size,
// so 20,000 rows one record each take 1.5 s to write and 0.3 s to read; in pages of
// 1,000 a snapshot is a few dozen records (docs/benchmarks.md, "The desk").
import { openDB, deleteDB } from './vendor/idb/index.js';

const NAME = 'kartoteka';
export const PAGE = 1000;
let dbp = null;

function db() {
  if (!dbp) {
    dbp = openDB(NAME, 3, {
      // v1 -> v2 added the queue, v2 -> v3 the pages: the rows and the cursor of an
      // older copy stay (in `rows`, where they still win over any page)
      upgrade(d, old) {
        if (old < 1) {
          d.createObjectStore('rows', { keyPath: ['tbl', 'id'] });
          d.createObjectStore('meta', { keyPath: 'k' });
        }
        if (old < 2) d.createObjectStore('queue', { keyPath: 'mid' });
        if (old < 3) d.createObjectStore('pages');
      },
      blocking() { // another tab wants to delete or upgrade: let it
        dbp?.then((d) => d.close());
        dbp = null;
      },
    });
  }
  return dbp;
}

const keyOf = (tbl, id) => `${tbl}\u0000${id}`;
// IndexedDB's order of [tbl, id] keys: strings by UTF-16 code units, as JS compares them
const cmp = (a, b) => (a.tbl < b.tbl ? -1 : a.tbl > b.tbl ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

// Keys of one generation's pages (arrays sort after strings: [gen, []] after them all)
const genRange = (gen) => IDBKeyRange.bound([gen], [gen, []]);
const genOf = async (meta) => (await meta.get('pages'))?.v;

// The snapshot's copy of one row: the first page of its table whose last id is at or
// after it.
async function pageRow(pages, gen, tbl, id) {
  if (gen === undefined) return undefined;
  const p = await pages.get(IDBKeyRange.bound([gen, tbl, id], [gen, tbl, []]));
  if (!p || p.first > id) return undefined;
  let lo = 0, hi = p.rows.length - 1;
  while (lo <= hi) {
    const m = (lo + hi) >> 1, x = p.rows[m].id;
    if (x === id) return p.rows[m];
    if (x < id) lo = m + 1; else hi = m - 1;
  }
  return undefined;
}

// One row as the screens see it: its own record (changed since the snapshot, or gone),
// else the snapshot's copy.
async function readRow(rs, pages, meta, tbl, id) {
  const r = await rs.get([tbl, id]);
  if (r) return r.gone ? undefined : r;
  return pageRow(pages, await genOf(meta), tbl, id);
}

export async function getMeta(k) {
  const r = await (await db()).get('meta', k);
  return r ? r.v : undefined;
}

export async function setMeta(values) {
  const tx = (await db()).transaction('meta', 'readwrite');
  for (const [k, v] of Object.entries(values)) tx.store.put({ k, v });
  await tx.done;
}

// Queued edits of rows the server sends again are laid over them, so an edit not
// yet pushed stays on screen (the reference client's rebase). Entries of other states
// (rejected, set aside) are already rolled back or still shown: only 'queued' ones.
function overlay(pending, row) {
  const qs = pending.get(keyOf(row.tbl, row.id));
  if (!qs) return row;
  const f = { ...row.f };
  for (const q of qs) Object.assign(f, q.f);
  return { ...row, f };
}

async function pendingByRow(tx) {
  const m = new Map();
  for (const q of await tx.objectStore('queue').getAll()) {
    if (q.state !== 'queued') continue;
    const k = keyOf(q.tbl, q.id);
    if (!m.has(k)) m.set(k, []);
    m.get(k).push(q);
  }
  return m;
}

// A transaction over rows, queue and meta for the write queue: fn(t) gets
// getRow/putRow/deleteRow, queueAll/putEntry/deleteEntry, setMeta, all awaited inside it.
export async function queueTx(fn) {
  const tx = (await db()).transaction(['rows', 'pages', 'queue', 'meta'], 'readwrite');
  const rs = tx.objectStore('rows');
  const ps = tx.objectStore('pages');
  const qs = tx.objectStore('queue');
  const t = {
    getRow: (tbl, id) => readRow(rs, ps, tx.objectStore('meta'), tbl, id),
    putRow: (r) => rs.put({ tbl: r.tbl, id: r.id, v: r.v, f: r.f }),
    deleteRow: (tbl, id) => rs.put({ tbl, id, gone: true }), // the page may hold it
    queueAll: () => qs.getAll(), // in mid order: the key
    putEntry: (e) => qs.put(e),
    deleteEntry: (mid) => qs.delete(mid),
    setMeta: (k, v) => tx.objectStore('meta').put({ k, v }),
    getMeta: async (k) => (await tx.objectStore('meta').get(k))?.v,
  };
  let out;
  try {
    out = await fn(t);
  } catch (e) {
    try { tx.abort(); } catch { /* finished already */ }
    throw e;
  }
  await tx.done;
  return out;
}

export async function queueEntries() {
  return (await db()).getAll('queue');
}

// Every row: the pages' rows, those changed since laid over, the gone ones left out.
export async function allRows() {
  const tx = (await db()).transaction(['rows', 'pages', 'meta']);
  const gen = await genOf(tx.objectStore('meta'));
  const [pages, loose] = await Promise.all([gen === undefined ? [] : tx.objectStore('pages').getAll(genRange(gen)),
    tx.objectStore('rows').getAll()]);
  const out = [];
  if (!loose.length) {
    for (const p of pages) for (const r of p.rows) out.push(r);
    return out;
  }
  const over = new Set(loose.map((r) => keyOf(r.tbl, r.id)));
  for (const p of pages) for (const r of p.rows) if (!over.has(keyOf(r.tbl, r.id))) out.push(r);
  for (const r of loose) if (!r.gone) out.push(r);
  return out;
}

// Writes rows sorted by table and id (a row sent twice counted once, the later copy)
// as generation gen's pages into ps; returns the rows kept.
function putPages(ps, gen, rows) {
  const list = rows.slice().sort(cmp); // stable: of two copies of a row the later stays last
  const kept = [];
  let page = [];
  const flush = () => {
    if (!page.length) return;
    const a = page[0], z = page[page.length - 1];
    ps.put({ tbl: a.tbl, first: a.id, last: z.id, rows: page }, [gen, z.tbl, z.id]);
    page = [];
  };
  for (let i = 0; i < list.length; i++) {
    const r = list[i], next = list[i + 1];
    if (next && next.tbl === r.tbl && next.id === r.id) continue; // the later copy follows
    if (page.length && (page.length >= PAGE || page[0].tbl !== r.tbl)) flush();
    page.push(r);
    kept.push(r);
  }
  flush();
  return kept;
}

// A new generation: above every one this copy has seen (the clock may step back).
let lastGen = 0;
const newGen = () => (lastGen = Math.max(Date.now(), lastGen + 1));

// The snapshot's last transaction: generation gen becomes the copy (its pages written
// already when `staged`, else here from rows), every other generation and every row
// changed since the last snapshot go, queued edits are laid over the rows they touch
// (as rows of their own, which win over the page), rows created here and not pushed
// yet stay, and the cursor is stored. Resolves to the local copy now (what allRows
// would read), so the app need not read it back.
async function commitSnapshot(gen, staged, rows, cursor, syncedAt) {
  const tx = (await db()).transaction(['rows', 'pages', 'meta', 'queue'], 'readwrite');
  const pending = await pendingByRow(tx);
  const rs = tx.objectStore('rows');
  const ps = tx.objectStore('pages');
  rs.clear();
  ps.delete(IDBKeyRange.upperBound([gen], true));
  ps.delete(IDBKeyRange.lowerBound([gen, []], true));
  let kept = rows;
  if (!staged) {
    ps.delete(genRange(gen));
    kept = putPages(ps, gen, rows);
  }
  if (pending.size) {
    kept = kept.map((r) => {
      if (!pending.has(keyOf(r.tbl, r.id))) return r;
      const o = overlay(pending, r);
      rs.put(o);
      return o;
    });
    for (const r of rows) pending.delete(keyOf(r.tbl, r.id));
    // rows created here and not pushed yet are not in any snapshot: keep them
    for (const qs of pending.values()) {
      if (qs[0].op !== 'create') continue;
      const r = overlay(pending, { tbl: qs[0].tbl, id: qs[0].id, v: 0, f: {} });
      rs.put(r);
      kept.push(r);
    }
  }
  const meta = tx.objectStore('meta');
  meta.put({ k: 'pages', v: gen });
  meta.put({ k: 'cursor', v: cursor });
  if (syncedAt) meta.put({ k: 'synced_at', v: syncedAt });
  await tx.done;
  return kept;
}

// A whole snapshot at once: every row not in it is gone; rows and cursor in one
// transaction. Resolves to the local copy now.
export async function replaceAll(rows, cursor, syncedAt) {
  const list = rows.map((r) => ({ tbl: r.tbl, id: r.id, v: r.v, f: r.f }));
  return commitSnapshot(newGen(), false, list, cursor, syncedAt);
}

// A snapshot as it arrives (proto.js): add(rows) for each page, end(cursor) at
// snapshot_end, which resolves like replaceAll. Rows that come in the server's order
// (table by table, each by id: PROTOCOL "snapshot") are written page by page in
// transactions of their own while the next ones arrive, under a new generation nobody
// reads until end() switches to it; rows in any other order are written by end().
// A snapshot never ended (the connection dropped) leaves pages the next one deletes.
export class SnapshotWriter {
  constructor() {
    this.gen = newGen();
    this.rows = [];
    this.staged = true; // so far in order and written as they come
    this.done = new Set(); // tables the snapshot has passed
    this.tbl = null;
    this.lastId = null;
    this.page = [];
    this.writes = [];
  }

  add(rows) {
    for (const r of rows) {
      const row = { tbl: r.tbl, id: r.id, v: r.v, f: r.f };
      this.rows.push(row);
      if (!this.staged) continue;
      if (row.tbl !== this.tbl) {
        if (this.done.has(row.tbl)) { this.staged = false; continue; }
        this.flush();
        if (this.tbl !== null) this.done.add(this.tbl);
        this.tbl = row.tbl;
      } else if (!(row.id > this.lastId)) {
        this.staged = false;
        continue;
      }
      this.lastId = row.id;
      this.page.push(row);
      if (this.page.length >= PAGE) this.flush();
    }
  }

  flush() {
    if (!this.page.length) return;
    const page = this.page;
    this.page = [];
    const a = page[0], z = page[page.length - 1];
    const w = db().then((d) => d.put('pages', { tbl: a.tbl, first: a.id, last: z.id, rows: page }, [this.gen, z.tbl, z.id]));
    w.catch(() => {}); // end() reports it; a snapshot never ended has nobody to tell
    this.writes.push(w);
  }

  async end(cursor, syncedAt) {
    this.flush();
    let staged = this.staged;
    try {
      await Promise.all(this.writes);
    } catch (e) {
      console.warn('snapshot page not written, writing it whole', e);
      staged = false;
    }
    return commitSnapshot(this.gen, staged, this.rows, cursor, syncedAt);
  }
}

// One `changes` message: put / delete / evict ops and its cursor, in one transaction.
// A row deleted or evicted is marked gone (its page may hold it). Resolves to what
// changed in the local copy, in order: [{tbl, id, row}], row null when it is gone.
export async function applyChanges(ops, cursor) {
  const tx = (await db()).transaction(['rows', 'meta', 'queue'], 'readwrite');
  const pending = await pendingByRow(tx);
  const rs = tx.objectStore('rows');
  const changed = [];
  for (const op of ops) {
    if (op.op === 'put') {
      const row = overlay(pending, { tbl: op.tbl, id: op.id, v: op.v, f: op.f });
      rs.put(row);
      changed.push({ tbl: op.tbl, id: op.id, row });
    } else if (op.op === 'delete' || op.op === 'evict') {
      rs.put({ tbl: op.tbl, id: op.id, gone: true });
      changed.push({ tbl: op.tbl, id: op.id, row: null });
    }
  }
  tx.objectStore('meta').put({ k: 'cursor', v: cursor });
  const loose = rs.count();
  await tx.done;
  if ((await loose) >= COMPACT) await compact(COMPACT).catch((e) => console.warn('local copy not compacted', e));
  return changed;
}

// Rows changed since the snapshot are records of their own (60-80 µs each to read at
// every open); once there are `min` of them, a tablet that never gets a new snapshot
// folds them into fresh pages: the copy as allRows reads it, written as a new generation
// in one transaction (about as long as writing a snapshot).
export const COMPACT = 2000;
export async function compact(min = COMPACT) {
  const tx = (await db()).transaction(['rows', 'pages', 'meta'], 'readwrite');
  const rs = tx.objectStore('rows');
  const ps = tx.objectStore('pages');
  const meta = tx.objectStore('meta');
  const [n, gen] = await Promise.all([rs.count(), genOf(meta)]);
  if (n < min) return false;
  const [pages, loose] = await Promise.all([gen === undefined ? [] : ps.getAll(genRange(gen)), rs.getAll()]);
  const over = new Set(loose.map((r) => keyOf(r.tbl, r.id)));
  const rows = [];
  for (const p of pages) for (const r of p.rows) if (!over.has(keyOf(r.tbl, r.id))) rows.push(r);
  for (const r of loose) if (!r.gone) rows.push(r);
  const g = newGen();
  ps.delete(IDBKeyRange.upperBound([g], true));
  ps.delete(IDBKeyRange.lowerBound([g, []], true));
  putPages(ps, g, rows);
  rs.clear();
  meta.put({ k: 'pages', v: g });
  await tx.done;
  return true;
}

// Sign-out, revocation: the database goes, all of it.
export async function wipe() {
  if (dbp) {
    const d = await dbp;
    d.close();
    dbp = null;
  }
  await deleteDB(NAME);
}
