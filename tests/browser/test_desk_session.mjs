// The desk's session edges in Chromium against the real server:
// - a session that expires while a tablet is offline keeps the tablet's copy and queue;
//   the same person signing in again gets the edits sent, once; another person is
//   warned, and signing in deletes them (never pushed under another name); a session
//   the salon ended (device sign-out: `revoked`) still wipes;
// - a booking refused by a booking rule is booked anyway from the Sync view, with a
//   reason, and the audit log has the `override:overlap` entry with it.
// Expiry: the server refuses a `resume` whose auth_session.expires_at is past
// (server/db/store_auth.c, store_session_find); sessions last 30 days
// (KT_SESSION_TTL_S), so the test moves this device's expiry into the past with sqlite3.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.mjs';
import * as d from './desk.mjs';
import { devices, setField, deviceOf, local, idbAll } from './desk.mjs';
import { toMs } from '../../clients/web/tz.js';

const DAY = '2032-06-15'; // nothing else of Nina's then
const at = (hm) => { const [hh, mm] = hm.split(':').map(Number); return toMs(DAY, hh * 60 + mm, h.ZONE); };

let salon, srv, ids;
before(async () => {
  salon = new h.Salon().populate();
  srv = await h.Server.start(salon);
  const list = (what) => salon.admin('list', what).trim().split('\n').slice(1).map((l) => l.split('\t'));
  const byName = (rows, name) => rows.find((r) => r.some((c) => c.startsWith(name)))[0];
  ids = { center: byName(list('locations'), 'Lepota Center'), nina: byName(list('staff'), 'Nina') };
});
after(async () => { await srv?.stop(); salon?.cleanup(); });

const signInDesk = (page, acct) => d.signInDesk(page, srv.origin, acct);

function book(page, f) {
  return page.evaluate(async (f) => {
    const { desk } = window.kt;
    const id = desk.newId();
    await desk.edit('appointment', id, 'create', { status: 'booked', ...f });
    return id;
  }, f);
}
const metaOf = (copy, k) => copy.meta.find((m) => m.k === k)?.v;

// ---- the server's database ----
const sql = (q, write = false) => d.database(salon.db).sql(q, write);
const rowsOf = (q) => d.database(salon.db).rowsOf(q);
const quote = (s) => d.database(salon.db).quote(s);
const audited = (entity, id) => d.database(salon.db).audited(entity, id);
// The device's sessions run out now (what 30 days without a sign-in do).
function expireSessions(device) {
  sql(`update auth_session set expires_at = ${Date.now() - 1000} where device_id = ${quote(device)}`, true);
  assert.equal(rowsOf(`select count(*) n from auth_session where device_id=${quote(device)} and expires_at > ${Date.now()}`)[0].n, 0);
}

// Offline: edits queued; the session expires; back online the resume is refused.
async function expireOffline(t, edits) {
  const dev = await deviceOf(t.page);
  await t.context.setOffline(true);
  await t.page.waitForSelector('[data-testid=syncbar] [data-testid=offline]');
  const made = await edits();
  expireSessions(dev);
  await t.context.setOffline(false);
  await h.state(t.page, 'signed-out');
  await t.page.waitForURL(`${srv.origin}/desk/signin`);
  return { dev, made };
}

// ---------------------------------------------------------------------------------

test('an expired session keeps the queue; the same person signs in and the edits land once', async () => {
  const reception = salon.account('reception', h.CENTER);
  await devices(1, async ([t]) => {
    await signInDesk(t.page, reception);
    const { dev, made } = await expireOffline(t, async () => {
      const appt = await book(t.page, { location_id: ids.center, client_id: salon.ids.eva, specialist_id: ids.nina,
        start_at: at('09:00'), duration_min: 45, services: [] });
      const mid = await setField(t.page, 'client', salon.ids.marko, { preferences: 'kept over the weekend' });
      return { appt, mid };
    });
    // the sign-in page: the session ended, 2 edits wait and are sent after signing in
    const note = t.page.locator('[data-testid=ses-expired]');
    await note.waitFor();
    assert.match(await note.innerText(), /session has ended\. 2 edits are waiting on this tablet and will be sent after you sign in again/);
    assert.match(await t.page.locator('[data-testid=ses-other]').innerText(),
      new RegExp(`2 edits of ${reception.name} have not been sent; signing in as someone else deletes them`));
    assert.equal(await t.page.locator('input#email').inputValue(), reception.email, "the person's e-mail is filled in");
    const kept = await idbAll(t.page);
    assert.equal(kept.queue.length, 2, 'the queue is still in IndexedDB');
    assert.ok(kept.rows.length > 100, 'and the copy');
    assert.ok(!metaOf(kept, 'token'), 'the token is forgotten');
    assert.equal(metaOf(kept, 'principal').name, reception.name, 'whose they are');
    assert.equal(rowsOf(`select count(*) n from mutation where device_id=${quote(dev)}`)[0].n, 0, 'nothing sent yet');
    assert.equal(await t.page.locator('[data-testid=syncbar]').count(), 0, 'no desk while signed out');
    await h.shot(t.page, 'desk-session-expired');

    // a reload keeps saying so (the page reads what is kept)
    await t.page.reload();
    await t.page.locator('[data-testid=ses-expired]').waitFor();
    assert.equal(await t.page.locator('[data-testid=ses-kept]').getAttribute('data-n'), '2');

    // the same person signs in: no warning to confirm, the queue goes out
    await t.page.locator('input#password').fill(reception.password);
    await t.page.locator('[data-testid=signin-submit]').click();
    await h.state(t.page, 'synced');
    assert.equal(await t.page.locator('[data-testid=signin-confirm]').count(), 0);
    await t.page.waitForFunction(() => window.kt.q.state.queued === 0 && !window.kt.q.state.pushing && window.kt.q.state.rejected.length === 0);
    assert.equal(await deviceOf(t.page), dev, 'the same device id');
    assert.deepEqual(audited('appointment', made.appt), { create: 1 }, 'the booking once');
    const upd = rowsOf(`select count(*) n from audit where entity='client' and entity_id=${quote(salon.ids.marko)} and action='update' and device_id=${quote(dev)}`);
    assert.equal(upd[0].n, 1, 'the card change once');
    const muts = rowsOf(`select mid, count(*) n from mutation where device_id=${quote(dev)} group by mid`);
    assert.equal(muts.length, 2);
    assert.ok(muts.some((m) => Number(m.mid) === made.mid));
    assert.match(JSON.stringify(salon.truth(salon.ids.marko)), /kept over the weekend/);
    assert.equal((await local(t.page, 'appointment', made.appt)).start_at, at('09:00'));
    assert.equal(await t.page.locator('[data-testid=who]').innerText(), reception.name);
  });
});

test('an expired session, another person signs in: warned first, then the old copy and queue are deleted, nothing sent', async () => {
  const reception = salon.account('reception', h.CENTER);
  const manager = salon.account('manager', h.CENTER);
  await devices(1, async ([t]) => {
    await signInDesk(t.page, reception);
    const { dev } = await expireOffline(t, () => setField(t.page, 'client', salon.ids.eva, { preferences: 'never under another name' }));
    await t.page.locator('[data-testid=ses-expired]').waitFor();
    assert.match(await t.page.locator('[data-testid=ses-expired]').innerText(), /1 edit is waiting/);
    assert.match(await t.page.locator('[data-testid=ses-other]').innerText(), new RegExp(`1 edit of ${reception.name} has not been sent`));

    await t.page.locator('input#email').fill(manager.email);
    await t.page.locator('input#password').fill(manager.password);
    await t.page.locator('[data-testid=signin-submit]').click();
    const confirm = t.page.locator('[data-testid=signin-confirm]');
    await confirm.waitFor();
    assert.match(await confirm.innerText(), new RegExp(`deletes 1 unsent edit of ${reception.name}`));
    assert.equal(await t.page.locator('[data-testid=signin-submit]').innerText(), 'Sign in and delete them');
    assert.equal((await idbAll(t.page)).queue.length, 1, 'asking deleted nothing');
    await h.shot(t.page, 'desk-session-other-person');

    await t.page.locator('[data-testid=signin-submit]').click();
    await h.state(t.page, 'synced');
    await t.page.waitForSelector('[data-testid=syncbar] [data-testid=online]');
    assert.equal(await t.page.locator('[data-testid=who]').innerText(), manager.name);
    const now = await idbAll(t.page);
    assert.equal(now.queue.length, 0, 'the queue is gone');
    assert.equal(metaOf(now, 'principal').name, manager.name);
    assert.notEqual((await local(t.page, 'client', salon.ids.eva))?.preferences, 'never under another name');
    assert.equal(await t.page.evaluate(() => window.kt.q.state.queued), 0);
    // give a push the time to have gone, had there been one: nothing of it on the server
    await t.page.waitForFunction(() => !window.kt.q.state.pushing);
    assert.ok(!JSON.stringify(salon.truth(salon.ids.eva)).includes('never under another name'));
    const sent = rowsOf(`select count(*) n from audit where entity='client' and action='update' and entity_id=${quote(salon.ids.eva)}`);
    assert.equal(sent[0].n, 0, 'no card update by anyone');
    assert.equal(rowsOf(`select count(*) n from mutation where device_id=${quote(dev)}`)[0].n, 0);
  });
});

test('a session the salon ended (device sign-out) still wipes the copy and the queue', async () => {
  const reception = salon.account('reception', h.CENTER);
  await devices(1, async ([t]) => {
    await signInDesk(t.page, reception);
    const dev = await deviceOf(t.page);
    await t.context.setOffline(true);
    await t.page.waitForSelector('[data-testid=offline]');
    await setField(t.page, 'client', salon.ids.eva, { preferences: 'ended by the salon' });
    salon.admin('device', 'sign-out', dev);
    await t.context.setOffline(false);
    await h.state(t.page, 'signed-out');
    await t.page.locator('[data-testid=signin-note]').waitFor();
    assert.equal(await t.page.locator('[data-testid=ses-expired]').count(), 0);
    const left = await idbAll(t.page);
    assert.ok(!left || (!left.rows.length && !left.queue.length && !left.meta.length), 'nothing left');
  });
});

test('a refused booking is booked anyway from the Sync view, with a reason in the audit log', async () => {
  const reception = salon.account('reception', h.CENTER);
  const manager = salon.account('manager', h.CENTER);
  await devices(2, async ([t1, t2]) => {
    await signInDesk(t1.page, reception);
    await signInDesk(t2.page, manager);
    await t1.context.setOffline(true);
    await t1.page.waitForSelector('[data-testid=syncbar] [data-testid=offline]');
    const base = { location_id: ids.center, duration_min: 60, services: [], specialist_id: ids.nina };
    const a1 = await book(t1.page, { ...base, client_id: salon.ids.eva, start_at: at('14:00') });
    const b1 = await book(t2.page, { ...base, client_id: salon.ids.marko, start_at: at('14:30') });
    await t2.page.waitForFunction(() => window.kt.q.state.queued === 0 && !window.kt.q.state.pushing);
    assert.deepEqual(audited('appointment', b1), { create: 1 });

    await t1.context.setOffline(false);
    await t1.page.waitForFunction(() => window.kt.q.state.queued === 0 && window.kt.q.state.rejected.length === 1, null, { timeout: 20000 });
    await t1.page.locator('[data-testid=nav-queue]').click();
    const card = t1.page.locator('[data-testid=rejection]');
    await card.waitFor();
    assert.equal(await card.locator('[data-testid=reapply]').count(), 0, '"send mine again" would be refused again: not offered');
    const move = card.locator('[data-testid=move-it]');
    const href = new URL(await move.getAttribute('href'), srv.origin);
    assert.equal(href.pathname, '/desk/book');
    assert.deepEqual([href.searchParams.get('start'), href.searchParams.get('specialist'), href.searchParams.get('client')],
      [String(at('14:00')), ids.nina, salon.ids.eva], 'a new booking with what was tried (it is not on the server)');

    await card.locator('[data-testid=book-anyway]').click();
    await card.locator('[data-testid=override-send]').click();
    await card.locator('[data-testid=override-error]').waitFor();
    assert.equal(await t1.page.evaluate(() => window.kt.q.state.rejected.length), 1, 'no reason, nothing sent');
    const reason = 'Eva can only come at 14:00; Nina takes both';
    await card.locator('[data-testid=override-reason]').fill(reason);
    await h.shot(t1.page, 'desk-session-book-anyway');
    await card.locator('[data-testid=override-send]').click();
    await card.waitFor({ state: 'detached' });
    await t1.page.waitForFunction(() => window.kt.q.state.queued === 0 && !window.kt.q.state.pushing && window.kt.q.state.rejected.length === 0);

    assert.deepEqual(audited('appointment', a1), { 'rejected:conflict': 1, create: 1, 'override:overlap': 1 });
    // the entry's fields are sealed in the database: read it as the manager's desk does
    const log = await t2.page.evaluate((c) => window.kt.desk.proto.request({ t: 'audit_query', client: c, before: 0, limit: 100 }, 'audit_result'),
      salon.ids.eva);
    const o = log.entries.filter((x) => x.entity_id === a1 && x.action === 'override:overlap');
    assert.equal(o.length, 1, 'one override entry in the log');
    assert.deepEqual(JSON.parse(o[0].after), { overlaps: b1, reason });
    assert.equal((await local(t1.page, 'appointment', a1)).start_at, at('14:00'), 'the booking is back on the tablet');
    await t2.page.waitForFunction((id) => window.kt.desk.by.appointment?.has(id), a1);
  });
});

test('a specialist is not offered "book anyway" nor "move it"; a refused move links to the appointment', async () => {
  const reception = salon.account('reception', h.CENTER);
  const nina = salon.accounts.find((a) => a.name.startsWith('Nina'));
  const appt = salon.ids.evaUpcoming[0]; // Nina's: both see it
  // a refusal of a move of an appointment the server has, put in the queue's store as a
  // push would leave it (the push itself is the test above)
  const refuse = (page) => page.evaluate(async (id) => {
    const { q } = window.kt;
    await q.store.queueTx(async (tx) => {
      const row = await tx.getRow('appointment', id);
      await tx.putEntry({ mid: 7, tbl: 'appointment', id, op: 'update', base: row.v, f: { start_at: row.f.start_at + 3600000 },
        before: { start_at: row.f.start_at }, at: Date.now(), state: 'rejected', tries: 0, code: 'outside_working_hours',
        msg: 'Nina works 09:00-17:00 on Mondays at Lepota Center (Europe/Ljubljana); 17:30-18:00 is outside (working_hours)', current: null });
    });
    await q.refresh();
  }, appt);
  await devices(2, async ([t, s]) => {
    await signInDesk(t.page, reception);
    await signInDesk(s.page, nina);
    for (const p of [t.page, s.page]) {
      await refuse(p);
      await p.locator('[data-testid=nav-queue]').click();
      await p.locator('[data-testid=rejection][data-mid="7"]').waitFor();
    }
    const card = t.page.locator('[data-testid=rejection][data-mid="7"]');
    assert.equal(await card.locator('[data-testid=book-anyway]').count(), 1);
    assert.equal(await card.locator('[data-testid=reapply]').count(), 0);
    assert.equal(await card.locator('[data-testid=move-it]').getAttribute('href'), `/desk/book?move=${appt}`);
    const spec = s.page.locator('[data-testid=rejection][data-mid="7"]');
    assert.equal(await spec.locator('[data-testid=book-anyway]').count(), 0, 'specialists may not override (forbidden)');
    assert.equal(await spec.locator('[data-testid=move-it]').count(), 0, 'nor book');
    assert.equal(await spec.locator('[data-testid=keep-server]').count(), 1);
  });
});
