// The local copy: IndexedDB "kartoteka" v2, stores `rows` ([tbl,id] -> {tbl,id,v,f}),
// `meta` (k -> {k,v}) and `queue` (mid -> a local edit not yet answered, see queue.js).
// Rows and the cursor that covers them go in one transaction; so do an edit and its
// queue entry.
import { openDB, deleteDB } from './vendor/idb/index.js';

const NAME = 'kartoteka';
let dbp = null;

function db() {
  if (!dbp) {
    dbp = openDB(NAME, 2, {
      // v1 -> v2 only adds the queue: the rows and the cursor of a v1 copy stay
      upgrade(d, old) {
        if (old < 1) {
          d.createObjectStore('rows', { keyPath: ['tbl', 'id'] });
          d.createObjectStore('meta', { keyPath: 'k' });
        }
        if (old < 2) d.createObjectStore('queue', { keyPath: 'mid' });
      },
      blocking() { // another tab wants to delete or upgrade: let it
        dbp?.then((d) => d.close());
        dbp = null;
      },
    });
  }
  return dbp;
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
  const qs = pending.get(`${row.tbl}\u0000${row.id}`);
  if (!qs) return row;
  const f = { ...row.f };
  for (const q of qs) Object.assign(f, q.f);
  return { ...row, f };
}

async function pendingByRow(tx) {
  const m = new Map();
  for (const q of await tx.objectStore('queue').getAll()) {
    if (q.state !== 'queued') continue;
    const k = `${q.tbl}\u0000${q.id}`;
    if (!m.has(k)) m.set(k, []);
    m.get(k).push(q);
  }
  return m;
}

// A transaction over rows, queue and meta for the write queue: fn(t) gets
// getRow/putRow/deleteRow, queueAll/putEntry/deleteEntry, setMeta, all awaited inside it.
export async function queueTx(fn) {
  const tx = (await db()).transaction(['rows', 'queue', 'meta'], 'readwrite');
  const rs = tx.objectStore('rows');
  const qs = tx.objectStore('queue');
  const t = {
    getRow: (tbl, id) => rs.get([tbl, id]),
    putRow: (r) => rs.put({ tbl: r.tbl, id: r.id, v: r.v, f: r.f }),
    deleteRow: (tbl, id) => rs.delete([tbl, id]),
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

export async function allRows() {
  return (await db()).getAll('rows');
}

// A whole snapshot: every row not in it is gone; rows and cursor in one transaction.
export async function replaceAll(rows, cursor, syncedAt) {
  const tx = (await db()).transaction(['rows', 'meta', 'queue'], 'readwrite');
  const pending = await pendingByRow(tx);
  const rs = tx.objectStore('rows');
  rs.clear();
  for (const r of rows) {
    rs.put(overlay(pending, { tbl: r.tbl, id: r.id, v: r.v, f: r.f }));
    pending.delete(`${r.tbl}\u0000${r.id}`);
  }
  // rows created here and not pushed yet are not in any snapshot: keep them
  for (const qs of pending.values()) {
    if (qs[0].op === 'create') rs.put(overlay(pending, { tbl: qs[0].tbl, id: qs[0].id, v: 0, f: {} }));
  }
  tx.objectStore('meta').put({ k: 'cursor', v: cursor });
  if (syncedAt) tx.objectStore('meta').put({ k: 'synced_at', v: syncedAt });
  await tx.done;
}

// One `changes` message: put / delete / evict ops and its cursor, in one transaction.
export async function applyChanges(ops, cursor) {
  const tx = (await db()).transaction(['rows', 'meta', 'queue'], 'readwrite');
  const pending = await pendingByRow(tx);
  const rs = tx.objectStore('rows');
  for (const op of ops) {
    if (op.op === 'put') rs.put(overlay(pending, { tbl: op.tbl, id: op.id, v: op.v, f: op.f }));
    else if (op.op === 'delete' || op.op === 'evict') rs.delete([op.tbl, op.id]);
  }
  tx.objectStore('meta').put({ k: 'cursor', v: cursor });
  await tx.done;
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
