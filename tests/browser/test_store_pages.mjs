// The local copy's pages (clients/web/store.js) in Chromium's IndexedDB: a snapshot
// written page by page as it arrives and switched to at its end, rows in another order
// written whole, queued edits laid over, changes and deletions winning over the pages,
// a snapshot never ended leaving nothing behind once the next one ends.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.mjs';

let salon, srv;
before(async () => {
  salon = new h.Salon();
  srv = await h.Server.start(salon);
});
after(async () => {
  await srv?.stop();
  salon?.cleanup();
});

test('snapshots in pages: in order, out of order, with queued edits, changes and an abandoned one', async () => {
  await h.withBrowser({}, async (b) => {
    const { page } = b;
    await page.goto(`${srv.origin}/signin`);
    const out = await page.evaluate(async () => {
      const store = await import('/store.js');
      await store.wipe();
      const id = (n) => `0190${String(n).padStart(8, '0')}`;
      // 2,500 clients and 700 appointments in the server's order: table by table, by id
      const snap = [];
      for (let i = 0; i < 2500; i++) snap.push({ tbl: 'client', id: id(i), v: 1, f: { name: `C${i}` } });
      for (let i = 0; i < 700; i++) snap.push({ tbl: 'appointment', id: id(i), v: 1, f: { status: 'booked' } });
      const pageRecords = async () => {
        const d = await new Promise((ok) => { const r = indexedDB.open('kartoteka'); r.onsuccess = () => ok(r.result); });
        const n = await new Promise((ok) => { const r = d.transaction('pages').objectStore('pages').count(); r.onsuccess = () => ok(r.result); });
        d.close();
        return n;
      };
      const get = (tbl, i) => store.queueTx((t) => t.getRow(tbl, id(i)));
      const res = {};

      // an abandoned snapshot first (a dropped connection): its pages are written...
      const dropped = new store.SnapshotWriter();
      dropped.add(snap.slice(0, 1500));
      dropped.flush();
      await Promise.all(dropped.writes);
      res.abandonedPages = await pageRecords();

      // ...and gone once a whole one ends; a queued edit of client 1234 is laid over
      await store.queueTx(async (t) => {
        await t.putEntry({ mid: 1, tbl: 'client', id: id(1234), op: 'update', base: 1, f: { name: 'Mine' }, state: 'queued' });
      });
      const w = new store.SnapshotWriter();
      for (let i = 0; i < snap.length; i += 1000) w.add(snap.slice(i, i + 1000));
      res.staged = w.staged;
      const kept = await w.end('cur1', 1);
      res.keptLen = kept.length;
      res.keptMine = kept.find((r) => r.id === id(1234) && r.tbl === 'client').f.name;
      res.pages = await pageRecords(); // 3 client pages + 1 appointment page
      let all = await store.allRows();
      res.allLen = all.length;
      res.mine = all.find((r) => r.tbl === 'client' && r.id === id(1234)).f.name;
      res.get1999 = (await get('client', 1999)).f.name;
      res.getAppt = (await get('appointment', 699)).f.status;
      res.getNone = (await get('client', 2500)) === undefined;

      // a change puts one row and deletes another; both win over the pages
      const changed = await store.applyChanges([
        { op: 'put', tbl: 'client', id: id(5), v: 2, f: { name: 'Renamed' } },
        { op: 'delete', tbl: 'client', id: id(6) },
        { op: 'put', tbl: 'client', id: id(1234), v: 2, f: { name: 'Server' } },
      ], 'cur2');
      res.changed = changed.map((c) => [c.id.slice(-4), c.row && c.row.f.name]);
      all = await store.allRows();
      res.afterChange = [all.length, all.find((r) => r.id === id(5) && r.tbl === 'client').f.name,
        all.some((r) => r.id === id(6) && r.tbl === 'client'), (await get('client', 6)) === undefined,
        all.find((r) => r.id === id(1234) && r.tbl === 'client').f.name];

      // the rows changed since folded into fresh pages: the same copy, no loose rows
      const before = JSON.stringify((await store.allRows()).map((r) => [r.tbl, r.id, r.v, r.f]).sort());
      res.compactSmall = await store.compact(100); // 3 loose rows: not yet
      res.compacted = await store.compact(1);
      const looseLeft = await store.queueTx(async () => 0).then(async () => {
        const d = await new Promise((ok) => { const r = indexedDB.open('kartoteka'); r.onsuccess = () => ok(r.result); });
        const n = await new Promise((ok) => { const r = d.transaction('rows').objectStore('rows').count(); r.onsuccess = () => ok(r.result); });
        d.close();
        return n;
      });
      const afterCompact = JSON.stringify((await store.allRows()).map((r) => [r.tbl, r.id, r.v, r.f]).sort());
      res.compact = [looseLeft, afterCompact === before, await pageRecords(), (await get('client', 6)) === undefined,
        (await get('client', 5)).f.name];

      // out of order (newest first) and a row sent twice: written whole at the end, sorted,
      // the later copy kept; the change's rows are gone with the old snapshot
      const w2 = new store.SnapshotWriter();
      const rev = snap.slice(0, 1200).reverse();
      rev.push({ tbl: 'client', id: id(7), v: 3, f: { name: 'Later' } });
      w2.add(rev);
      res.staged2 = w2.staged;
      await w2.end('cur3', 2);
      all = await store.allRows();
      res.afterOutOfOrder = [all.length, all.find((r) => r.id === id(7)).f.name, (await get('client', 1100)).f.name,
        all.find((r) => r.id === id(5)).f.name, await store.getMeta('cursor'), await pageRecords()];
      return res;
    });
    assert.equal(out.abandonedPages, 2, 'the abandoned snapshot wrote its pages');
    assert.equal(out.staged, true, 'rows in the server\'s order are written as they come');
    assert.equal(out.keptLen, 3200);
    assert.equal(out.keptMine, 'Mine', 'the queued edit is laid over the copy handed to the app');
    assert.equal(out.pages, 4, 'the abandoned snapshot\'s pages are gone; 3 client pages and 1 appointment page');
    assert.equal(out.allLen, 3200);
    assert.equal(out.mine, 'Mine', 'the queued edit is laid over the stored row');
    assert.equal(out.get1999, 'C1999', 'a row in the middle of a page is found');
    assert.equal(out.getAppt, 'booked');
    assert.equal(out.getNone, true);
    assert.deepEqual(out.changed, [['0005', 'Renamed'], ['0006', null], ['1234', 'Mine']],
      'applyChanges says what changed, the queued edit laid over');
    assert.deepEqual(out.afterChange, [3199, 'Renamed', false, true, 'Mine']);
    assert.equal(out.compactSmall, false, 'fewer loose rows than asked: nothing done');
    assert.equal(out.compacted, true);
    assert.deepEqual(out.compact, [0, true, 4, true, 'Renamed'], 'compacted: no loose rows, the same copy, in pages');
    assert.equal(out.staged2, false, 'rows out of order are written at the end');
    assert.deepEqual(out.afterOutOfOrder, [1200, 'Later', 'C1100', 'C5', 'cur3', 2]);
  });
});
