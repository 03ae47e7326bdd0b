// The local copy: IndexedDB "kartoteka" v1, stores `rows` ([tbl,id] -> {tbl,id,v,f})
// and `meta` (k -> {k,v}). Rows and the cursor that covers them go in one transaction.
import { openDB, deleteDB } from './vendor/idb/index.js';

const NAME = 'kartoteka';
let dbp = null;

function db() {
  if (!dbp) {
    dbp = openDB(NAME, 1, {
      upgrade(d) {
        d.createObjectStore('rows', { keyPath: ['tbl', 'id'] });
        d.createObjectStore('meta', { keyPath: 'k' });
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

export async function allRows() {
  return (await db()).getAll('rows');
}

// A whole snapshot: every row not in it is gone; rows and cursor in one transaction.
export async function replaceAll(rows, cursor, syncedAt) {
  const tx = (await db()).transaction(['rows', 'meta'], 'readwrite');
  const rs = tx.objectStore('rows');
  rs.clear();
  for (const r of rows) rs.put({ tbl: r.tbl, id: r.id, v: r.v, f: r.f });
  tx.objectStore('meta').put({ k: 'cursor', v: cursor });
  if (syncedAt) tx.objectStore('meta').put({ k: 'synced_at', v: syncedAt });
  await tx.done;
}

// One `changes` message: put / delete / evict ops and its cursor, in one transaction.
export async function applyChanges(ops, cursor) {
  const tx = (await db()).transaction(['rows', 'meta'], 'readwrite');
  const rs = tx.objectStore('rows');
  for (const op of ops) {
    if (op.op === 'put') rs.put({ tbl: op.tbl, id: op.id, v: op.v, f: op.f });
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
