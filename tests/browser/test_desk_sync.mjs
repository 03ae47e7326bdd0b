// The desk's sync in Chromium against the real server: two reception
// tablets of one branch and the owner's laptop, each a browser context at /desk.
// Tablet 1, offline, books three appointments on the booking screen (and from free
// slots of the calendar) and changes a phone on the client's card, while tablet 2 books
// one of its slots; back online, what can apply applies once, the collision is a
// rejection in the Sync view naming the other appointment, and the owner's calendar and
// card show the end state. Also: a tab closed with edits queued, a revoked tablet,
// signing out with unsent edits, a specialist moved to the other branch, who signs in
// where, and the sync bar's time (those edit through `window.kt.desk`, `setField`:
// they test the queue, not the screens).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.mjs';
import * as d from './desk.mjs';
import { devices, setField, deviceOf, local, idbAll, TABLET, WIDE_TABLET } from './desk.mjs';
import { toMs, parts, hhmm } from '../../clients/web/tz.js';

const DAY = '2030-06-12'; // a Wednesday, summer time; nothing else of Nina's or Mojca's then
const at = (hm) => { const [hh, mm] = hm.split(':').map(Number); return toMs(DAY, hh * 60 + mm, h.ZONE); };

let salon, srv, ids;
before(async () => {
  salon = new h.Salon().populate();
  srv = await h.Server.start(salon);
  const list = (what) => salon.admin('list', what).trim().split('\n').slice(1).map((l) => l.split('\t'));
  const byName = (rows, name) => rows.find((r) => r.some((c) => c.startsWith(name)))[0];
  const locs = list('locations');
  const staff = list('staff');
  ids = {
    center: byName(locs, 'Lepota Center'), maribor: byName(locs, 'Lepota Maribor'),
    nina: byName(staff, 'Nina'), mojca: byName(staff, 'Mojca'),
  };
});
after(async () => { await srv?.stop(); salon?.cleanup(); });

// ---- devices: one Chromium, one context (cookies, storage, IndexedDB) per device ----

const state = (page) => page.evaluate(() => document.documentElement.dataset.state);

const signInDesk = (page, acct) => d.signInDesk(page, srv.origin, acct);

// ---- the screens, as a person at the desk uses them ----

const exact = (text) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

// The booking form (/desk/book): the client found by part of the name or phone, the
// specialist, the services ticked, the date and time typed; whatever is not given stays
// as the form has it (prefilled from a tapped slot).
async function fillBooking(page, { search, client, specialist, services, date, time }) {
  await page.locator('[data-testid=booking]').waitFor();
  await page.locator('[data-testid=client-search]').fill(search);
  await page.locator(`[data-testid=client-result][data-id="${client}"]`).click();
  await page.locator(`[data-testid=client-chosen][data-id="${client}"]`).waitFor();
  if (specialist) await page.locator('[data-testid=specialist]').selectOption({ label: specialist });
  for (const name of services) {
    await page.locator('label.bk-service').filter({ has: page.locator('.bk-sname').filter({ hasText: exact(name) }) })
      .locator('[data-testid=service]').check();
  }
  if (date) await page.locator('[data-testid=date]').fill(date);
  if (time) await page.locator('[data-testid=time]').fill(time);
}

// "Book", then the note that it is booked; the new appointment's id from the tablet's
// local copy (the screen does not show ids).
async function submitBooking(page, { client, specialist, start }) {
  await page.locator('[data-testid=book-submit]').click();
  await page.locator(`[data-testid=booked][data-start="${start}"]`).waitFor();
  const found = await page.waitForFunction(([client, specialist, start]) => {
    const hit = [...(window.kt.desk.by.appointment?.values() || [])]
      .find((r) => r.f.client_id === client && r.f.specialist_id === specialist && Number(r.f.start_at) === start);
    return hit?.id;
  }, [client, specialist, start]);
  return found.jsonValue();
}

// On the day's calendar: a tap on the specialist's free slot opens the booking form
// with the specialist, the date and the time filled in.
async function bookFromSlot(page, { staff, time, search, client, services }) {
  const start = at(time);
  const slot = page.locator(`[data-testid=calendar][data-day="${DAY}"] [data-testid=slot][data-staff="${staff}"][data-start="${start}"]`);
  await slot.click();
  await page.locator('[data-testid=booking]').waitFor();
  assert.equal(await page.locator('[data-testid=specialist]').inputValue(), staff, 'the slot chose the specialist');
  assert.equal(await page.locator('[data-testid=date]').inputValue(), DAY, 'and the day');
  assert.equal(await page.locator('[data-testid=time]').inputValue(), time, 'and the time');
  await fillBooking(page, { search, client, services });
  const id = await submitBooking(page, { client, specialist: staff, start });
  await page.locator('[data-testid=booked-day]').click(); // "Open the day"
  await page.locator(`[data-testid=calendar][data-day="${DAY}"] [data-testid=appt][data-id="${id}"]`).waitFor();
  return id;
}

// The client list, the card, "Edit", the phone, "Save".
async function changePhone(page, search, client, phone) {
  await page.locator('[data-testid=nav-clients]').click();
  await page.locator('[data-testid=clients-search]').fill(search);
  await page.locator(`[data-testid=client-row][data-id="${client}"]`).click();
  await page.locator(`[data-testid=card][data-id="${client}"]`).waitFor();
  await page.locator('[data-testid=card-edit]').click();
  await page.locator('#card-f-phone').fill(phone);
  await page.locator('[data-testid=card-save]').click();
  await page.locator('[data-testid=card-contact]', { hasText: phone }).waitFor();
}

// ---- the queue without the screens (the tests of the queue itself) ----

const waitQueue = (page, cond) => page.waitForFunction(cond, null, { timeout: 20000 });

// ---- the server's database ----

const sql = (q) => d.database(salon.db).sql(q);
const rowsOf = (q) => d.database(salon.db).rowsOf(q);
const quote = (s) => d.database(salon.db).quote(s);
const audited = (entity, id) => d.database(salon.db).audited(entity, id);

// ---------------------------------------------------------------------------------

test('staff sign in at /desk/signin, the portal refuses them; the desk refuses clients', async () => {
  const reception = salon.account('reception', h.CENTER);
  const client = salon.account('client');
  await devices(3, async ([a, b, c]) => {
    await signInDesk(a.page, reception);
    assert.equal(new URL(a.page.url()).pathname, '/desk');
    assert.equal(await a.page.locator('[data-testid=who]').innerText(), reception.name);

    await b.page.goto(`${srv.origin}/signin`);
    await b.page.locator('input#email').fill(reception.email);
    await b.page.locator('input#password').fill(reception.password);
    await b.page.locator('[data-testid=signin-submit]').click();
    await assert.doesNotReject(b.page.locator('[data-testid=error]').waitFor());
    assert.match(await b.page.locator('[data-testid=error]').innerText(), /for the salon's clients/);
    assert.equal(await h.idb(b.page).then((s) => (s ? s.rows.length : 0)), 0, 'no row reached the portal');

    await c.page.goto(`${srv.origin}/desk`);
    await c.page.waitForURL(`${srv.origin}/desk/signin`);
    await c.page.locator('input#email').fill(client.email);
    await c.page.locator('input#password').fill(client.password);
    await c.page.locator('[data-testid=signin-submit]').click();
    await c.page.locator('[data-testid=error]').waitFor();
    assert.match(await c.page.locator('[data-testid=error]').innerText(), /salon staff's app/);
    assert.equal(await h.idb(c.page).then((s) => (s ? s.rows.length : 0)), 0, 'no row reached the desk');
    assert.equal(await state(c.page), 'signed-out');
  });
});

test('two tablets book offline and online through the screens; the collision is a rejection naming the other booking; the owner sees the end', async () => {
  const reception = salon.account('reception', h.CENTER);
  const owner = salon.account('owner');
  const nina = salon.accounts.find((a) => a.name.startsWith('Nina'));
  const mojca = salon.accounts.find((a) => a.name.startsWith('Mojca'));
  const dayUrl = `/desk?day=${DAY}&loc=${ids.center}`;
  await devices(3, async ([t1, t2, laptop]) => {
    await signInDesk(t1.page, reception);
    await signInDesk(t2.page, reception);
    await signInDesk(laptop.page, owner);
    const dev1 = await deviceOf(t1.page);
    // the owner, at the office, opens that day at the branch (typed in as a link)
    await laptop.page.goto(srv.origin + dayUrl);
    await h.state(laptop.page, 'synced');
    await laptop.page.locator(`[data-testid=calendar][data-day="${DAY}"][data-loc="${ids.center}"]`).waitFor();

    // tablet 1 goes offline; its phone change and three bookings wait in its queue
    await t1.context.setOffline(true);
    await t1.page.waitForSelector('[data-testid=syncbar] [data-testid=offline]');
    await changePhone(t1.page, 'Marko Drugi', salon.ids.marko, '031 444 555');

    // Eva with Nina at 10:00 for an hour, from the booking screen
    await t1.page.locator('[data-testid=nav-book]').click();
    await fillBooking(t1.page, { search: 'brskal', client: salon.ids.eva, specialist: nina.name, services: ["Women's cut & blow-dry"], date: DAY, time: '10:00' });
    assert.equal(await t1.page.locator('[data-testid=total-min]').getAttribute('data-min'), '60');
    const a1 = await submitBooking(t1.page, { client: salon.ids.eva, specialist: ids.nina, start: at('10:00') });
    assert.match(await t1.page.locator('[data-testid=booked]').innerText(), /sent when the tablet is online again/);
    // "Open the day": the calendar of that day has it at once
    await t1.page.locator('[data-testid=booked-day]').click();
    await t1.page.locator(`[data-testid=calendar][data-day="${DAY}"] [data-testid=cal-column][data-staff="${ids.nina}"] [data-testid=appt][data-id="${a1}"]`).waitFor();
    assert.equal((await local(t1.page, 'appointment', a1)).start_at, at('10:00'), 'the local copy has the booking at once');

    // Marko with Nina at 12:00 and Eva with Mojca at 10:00: a tap on the free slot prefills the form
    const a2 = await bookFromSlot(t1.page, { staff: ids.nina, time: '12:00', search: '444 555', client: salon.ids.marko, services: ["Men's cut"] });
    const a3 = await bookFromSlot(t1.page, { staff: ids.mojca, time: '10:00', search: 'brskalnik', client: salon.ids.eva, services: ['Manicure'] });
    const t1Day = t1.page.locator(`[data-testid=calendar][data-day="${DAY}"]`);
    for (const id of [a1, a2, a3]) await t1Day.locator(`[data-testid=appt][data-id="${id}"]`).waitFor();
    await t1.page.waitForSelector('[data-testid=syncbar] [data-testid=offline]');
    await t1.page.waitForSelector('[data-testid=queued][data-n="4"]');
    assert.match(await t1.page.locator('[data-testid=syncbar]').innerText(), /Offline[\s\S]*4 edits waiting/);
    await h.shot(t1.page, 'desk-sync-offline-queued');

    // tablet 2, online, books Marko with Nina at 10:30: it overlaps tablet 1's 10:00-11:00,
    // which tablet 2 has never seen, so its screen warns about nothing and books
    await t2.page.locator('[data-testid=nav-book]').click();
    await fillBooking(t2.page, { search: 'marko drugi', client: salon.ids.marko, specialist: nina.name, services: ['Blow-dry'], date: DAY, time: '10:30' });
    assert.equal(await t2.page.locator('[data-testid=book-warning]').count(), 0, 'tablet 2 knows of no collision');
    await h.shot(t2.page, 'desk-sync-tablet2-booking');
    const b1 = await submitBooking(t2.page, { client: salon.ids.marko, specialist: ids.nina, start: at('10:30') });
    await t2.page.waitForSelector('[data-testid=queued][data-n="0"]');
    await h.until(() => audited('appointment', b1).create === 1, "tablet 2's booking on the server");
    assert.deepEqual(audited('appointment', b1), { create: 1 }, "tablet 2's booking is in, once");

    // tablet 1 comes back: the queue empties, one problem to check
    await t1.context.setOffline(false);
    await t1.page.waitForSelector('[data-testid=syncbar] [data-testid=online]');
    await t1.page.waitForSelector('[data-testid=queued][data-n="0"]', { timeout: 20000 });
    await t1.page.locator('[data-testid=problems]').waitFor();
    assert.match(await t1.page.locator('[data-testid=problems]').innerText(), /1 to check/);
    const rej = await t1.page.evaluate(() => window.kt.q.state.rejected[0]);
    assert.equal(rej.id, a1);
    assert.equal(rej.code, 'conflict');
    assert.ok(rej.msg.includes(b1), `the server's message names the other appointment: ${rej.msg}`);

    // the rest applied once, on the server
    for (const id of [a2, a3]) assert.deepEqual(audited('appointment', id), { create: 1 }, `${id} created once`);
    assert.deepEqual(audited('appointment', a1), { 'rejected:conflict': 1 }, 'the collision refused once, nothing created');
    const phone = rowsOf(`select count(*) n from audit where entity='client' and entity_id=${quote(salon.ids.marko)} and action='update' and device_id=${quote(dev1)}`);
    assert.equal(phone[0].n, 1, 'the phone change once');
    const muts = rowsOf(`select mid, count(*) n from mutation where device_id=${quote(dev1)} group by mid`);
    assert.equal(muts.length, 4, 'four mutations answered for tablet 1');
    assert.ok(muts.every((m) => m.n === 1));
    assert.equal(rowsOf(`select count(*) n from appointment where id=${quote(a1)}`)[0].n, 0, 'the refused booking is not in the database');
    const end = rowsOf(`select id, client_id, specialist_id, start_at from appointment where id in (${[a2, a3, b1].map(quote).join(',')}) order by id`);
    assert.equal(end.length, 3, 'tablet 2\'s booking and tablet 1\'s two are in the database');
    assert.equal(salon.truth(salon.ids.marko).client.phone, '031 444 555', "Marko's new phone in the database");

    // the Sync view: in words, names not ids, the other appointment as client + time
    await t1.page.locator('[data-testid=problems]').click();
    await t1.page.waitForSelector('[data-testid=queue]');
    const card = t1.page.locator(`[data-testid=rejection][data-mid="${rej.mid}"]`);
    await card.locator(`[data-testid=other-appt][data-id="${b1}"]`).waitFor();
    const other = await card.locator('[data-testid=other-appt]').innerText();
    const wall = hhmm(parts(at('10:30'), h.ZONE).min);
    assert.equal(wall, '10:30');
    assert.match(other, new RegExp(`Marko Drugi.*${wall}`), `the other booking as its client and local time: ${other}`);
    const text = await card.innerText();
    assert.match(text, /already booked/i, 'the reason in words');
    assert.match(text, /Eva Brskalnik/, 'what the person tried, by name');
    assert.ok(text.includes('10:00'), 'the time tried, on the branch clock');
    assert.ok(!/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}/i.test(await t1.page.locator('[data-testid=queue]').innerText()), 'no ids shown');
    await h.shot(t1.page, 'desk-sync-rejection');

    // keep the server's: the problem goes, the copy keeps tablet 2's booking only
    await card.locator('[data-testid=keep-server]').click();
    await card.waitFor({ state: 'detached' });
    await t1.page.locator('[data-testid=problems]').waitFor({ state: 'detached' });
    assert.equal(await local(t1.page, 'appointment', a1), null);
    assert.equal((await local(t1.page, 'appointment', b1)).client_id, salon.ids.marko);

    // the owner's calendar, open all along, shows the end: tablet 2's booking and
    // tablet 1's two, not the refused one
    const ownerDay = laptop.page.locator(`[data-testid=calendar][data-day="${DAY}"][data-loc="${ids.center}"]`);
    for (const [id, staff, who] of [[b1, ids.nina, 'Marko Drugi'], [a2, ids.nina, 'Marko Drugi'], [a3, ids.mojca, 'Eva Brskalnik']]) {
      const block = ownerDay.locator(`[data-testid=cal-column][data-staff="${staff}"] [data-testid=appt][data-id="${id}"]`);
      await block.waitFor({ timeout: 20000 });
      assert.match(await block.innerText(), new RegExp(who), `the block names ${who}`);
    }
    assert.equal(await ownerDay.locator(`[data-testid=appt][data-id="${a1}"]`).count(), 0, 'the refused booking is not there');
    assert.equal(await ownerDay.locator('[data-testid=appt]').count(), 3, 'three bookings that day');
    const owned = await idbAll(laptop.page);
    assert.ok(owned.rows.some((r) => r.tbl === 'appointment' && r.id === a2), "the owner's IndexedDB has the booking");
    await h.shot(laptop.page, 'desk-sync-owner-calendar');
    // Marko's card, opened from his booking, has the new phone
    await ownerDay.locator(`[data-testid=appt][data-id="${a2}"]`).click();
    await laptop.page.locator(`[data-testid=appt-detail][data-id="${a2}"] [data-testid=appt-client]`).click();
    await laptop.page.locator(`[data-testid=card][data-id="${salon.ids.marko}"] [data-testid=card-contact]`, { hasText: '031 444 555' }).waitFor();
    await h.shot(laptop.page, 'desk-sync-owner-card');
  }, [TABLET, WIDE_TABLET, WIDE_TABLET]);
});

test('the sync bar tells the last sync on the branch clock; it moves after a push', async () => {
  const reception = salon.account('reception', h.CENTER);
  await devices(1, async ([t]) => {
    const t0 = Date.now();
    await signInDesk(t.page, reception);
    const ms = Number(await t.page.locator('[data-testid=last-sync]').getAttribute('data-ms'));
    assert.ok(ms >= t0 - 1000 && ms <= Date.now() + 1000, `the last sync is now (${ms})`);
    // the browser runs in UTC, the branch in Ljubljana: the bar shows the branch's clock
    const want = hhmm(parts(ms, h.ZONE).min);
    assert.equal(await t.page.locator('[data-testid=last-sync]').innerText(), `Synced ${want}`);
    await t.context.setOffline(true);
    await t.page.waitForSelector('[data-testid=offline]');
    await setField(t.page, 'client', salon.ids.eva, { preferences: 'bar test' });
    await t.page.waitForSelector('[data-testid=queued][data-n="1"]');
    assert.equal(Number(await t.page.locator('[data-testid=last-sync]').getAttribute('data-ms')), ms, 'offline: the time stays');
    await t.context.setOffline(false);
    await t.page.waitForSelector('[data-testid=queued][data-n="0"]');
    await t.page.waitForFunction((ms) => Number(document.querySelector('[data-testid=last-sync]').dataset.ms) > ms, ms);
  });
});

test('a desk tab closed with edits queued: the reopened tab pushes the rest, nothing twice', async () => {
  const reception = salon.account('reception', h.CENTER);
  await devices(1, async ([t]) => {
    await signInDesk(t.page, reception);
    const dev = await deviceOf(t.page);
    await t.context.setOffline(true);
    await t.page.waitForSelector('[data-testid=offline]');
    const mids = [];
    for (const p of ['closed 1', 'closed 2', 'closed 3']) mids.push(await setField(t.page, 'client', salon.ids.eva, { preferences: p }));
    // the push of the first leaves the moment the link is back; the tab closes then
    let sent = false;
    t.page.on('websocket', (ws) => ws.on('framesent', (f) => { if (Buffer.from(f.payload).includes('muts')) sent = true; }));
    await t.context.setOffline(false);
    await h.until(() => sent, 'a push sent');
    await t.page.close();
    const again = await t.context.newPage();
    await again.goto(`${srv.origin}/desk`);
    await h.state(again, 'synced');
    await waitQueue(again, () => window.kt.q.state.queued === 0 && !window.kt.q.state.pushing);
    const got = rowsOf(`select mid, count(*) n from mutation where device_id=${quote(dev)} group by mid`);
    assert.deepEqual(got.map((r) => Number(r.mid)).sort(), [...mids].sort(), 'each mid answered');
    assert.ok(got.every((r) => r.n === 1));
    const updates = rowsOf(`select count(*) n from audit where entity='client' and entity_id=${quote(salon.ids.eva)} and action='update' and device_id=${quote(dev)}`);
    assert.equal(updates[0].n, 3, 'three updates, each once');
    assert.equal((await local(again, 'client', salon.ids.eva)).preferences, 'closed 3');
  });
});

test('signing out with unsent edits warns and asks; cancelling keeps them', async () => {
  const reception = salon.account('reception', h.CENTER);
  await devices(1, async ([t]) => {
    await signInDesk(t.page, reception);
    await t.context.setOffline(true);
    await t.page.waitForSelector('[data-testid=offline]');
    for (const p of ['unsent 1', 'unsent 2', 'unsent 3']) await setField(t.page, 'client', salon.ids.eva, { preferences: p });
    await t.page.locator('[data-testid=signout]').click();
    const warn = t.page.locator('[data-testid=signout-warning]');
    assert.match(await warn.innerText(), /3 edits have not been sent yet; signing out deletes them/);
    await h.shot(t.page, 'desk-sync-signout-warning');
    await t.page.locator('[data-testid=signout-cancel]').click();
    await warn.waitFor({ state: 'detached' });
    assert.equal((await idbAll(t.page)).queue.length, 3, 'still queued');
    await t.page.locator('[data-testid=signout]').click();
    await t.page.locator('[data-testid=signout-confirm]').click();
    await h.state(t.page, 'signed-out');
    assert.equal(new URL(t.page.url()).pathname, '/desk/signin');
    const left = await idbAll(t.page);
    assert.ok(!left || (!left.rows.length && !left.queue.length && !left.meta.length), 'the local copy and the queue are gone');
    assert.equal(await t.page.evaluate(() => window.kt.q.state.queued), 0);
  });
});

test('a revoked tablet wipes its copy and its queue and says why', async () => {
  const reception = salon.account('reception', h.CENTER);
  await devices(1, async ([t]) => {
    await signInDesk(t.page, reception);
    const dev = await deviceOf(t.page);
    await t.context.setOffline(true);
    await t.page.waitForSelector('[data-testid=offline]');
    await setField(t.page, 'client', salon.ids.eva, { preferences: 'never sent' });
    assert.ok((await idbAll(t.page)).rows.length > 100, 'a copy to lose');
    salon.admin('device', 'revoke', dev); // the owner, from the admin command line
    await t.context.setOffline(false);
    await h.state(t.page, 'signed-out');
    await t.page.locator('[data-testid=signin-note]').waitFor();
    assert.match(await t.page.locator('[data-testid=signin-note]').innerText(), /removed this device's access/);
    assert.equal(new URL(t.page.url()).pathname, '/desk/signin');
    const left = await idbAll(t.page);
    assert.ok(!left || (!left.rows.length && !left.queue.length && !left.meta.length), `nothing left: ${JSON.stringify(left)?.slice(0, 200)}`);
    const upd = rowsOf(`select count(*) n from audit where entity='client' and action='update' and device_id=${quote(dev)}`);
    assert.equal(upd[0].n, 0, 'the queued edit never reached the server');
    await h.shot(t.page, 'desk-sync-revoked');
  });
});

test("a specialist moved to the other branch: the desk follows, the old branch's rows leave the tablet", async () => {
  const nina = salon.accounts.find((a) => a.name.startsWith('Nina'));
  await devices(1, async ([t]) => {
    await signInDesk(t.page, nina);
    assert.equal(await t.page.evaluate(() => window.kt.desk.location), ids.center);
    let rows = (await idbAll(t.page)).rows;
    assert.ok(rows.some((r) => r.tbl === 'client' && r.id === salon.ids.eva), 'Eva (known at Center only) is on the tablet');
    assert.ok(rows.some((r) => r.tbl === 'appointment' && r.f.location_id === ids.center));
    salon.admin('staff', 'location', nina.email, 'add', 'Lepota Maribor');
    salon.admin('staff', 'location', nina.email, 'remove', 'Lepota Center');
    await t.page.waitForFunction((m) => window.kt.desk.location === m, ids.maribor, { timeout: 20000 });
    await t.page.waitForFunction((c) => !window.kt.desk.by.location?.has(c), ids.center);
    assert.equal(await t.page.locator('[data-testid=branch]').inputValue(), ids.maribor);
    // services are the organisation's price list, every staff member reads them all
    const staleOf = (all) => all.filter((r) => (r.tbl !== 'service' && r.f?.location_id === ids.center) || (r.tbl === 'location' && r.id === ids.center));
    // the index follows at once; IndexedDB takes the new snapshot's pages and the
    // evictions in transactions of their own: wait until they are written
    const deadline = Date.now() + 20000;
    for (;;) {
      rows = (await idbAll(t.page)).rows;
      const settled = !staleOf(rows).length && rows.some((r) => r.tbl === 'appointment' && r.f.location_id === ids.maribor);
      if (settled || Date.now() > deadline) break;
      await t.page.waitForTimeout(100); // polling IndexedDB, the condition itself
    }
    const stale = staleOf(rows);
    assert.deepEqual(stale.map((r) => `${r.tbl} ${r.id}`), [], "no row of the old branch in IndexedDB");
    assert.ok(!rows.some((r) => r.tbl === 'client' && (r.id === salon.ids.eva || r.id === salon.ids.marko)), 'clients known only at Center are gone');
    assert.ok(rows.some((r) => r.tbl === 'appointment' && r.f.location_id === ids.maribor), "the new branch's bookings are there");
  });
});

test('the queue view: a refused change shows mine and the server\'s; "send mine again" lands it; a set-aside edit is dropped', async () => {
  const reception = salon.account('reception', h.CENTER);
  await devices(1, async ([t]) => {
    await signInDesk(t.page, reception);
    await t.context.setOffline(true);
    await t.page.waitForSelector('[data-testid=offline]');
    await setField(t.page, 'client', salon.ids.marko, { phone: '040 000 111' });
    salon.admin('client', 'set', salon.ids.marko, 'phone', '051 222 333'); // the manager's office, meanwhile
    await t.context.setOffline(false);
    await waitQueue(t.page, () => window.kt.q.state.queued === 0 && window.kt.q.state.rejected.length === 1);
    await t.page.locator('[data-testid=nav-queue]').click();
    const card = t.page.locator('[data-testid=rejection]');
    await card.waitFor();
    assert.match(await card.locator('[data-testid=reason-code]').innerText(), /Someone else changed it first/);
    assert.match(await card.locator('h3').innerText(), /Marko Drugi/);
    assert.equal(await card.locator('[data-testid=mine] [data-field=phone] dd').innerText(), '040 000 111');
    assert.equal(await card.locator('[data-testid=theirs] [data-field=phone] dd').innerText(), '051 222 333');
    await t.page.waitForFunction((id) => window.kt.desk.by.client.get(id).f.phone === '051 222 333', salon.ids.marko);
    await card.locator('[data-testid=reapply]').click();
    await card.waitFor({ state: 'detached' });
    await waitQueue(t.page, () => window.kt.q.state.queued === 0 && window.kt.q.state.rejected.length === 0);
    assert.match(JSON.stringify(salon.truth(salon.ids.marko)), /"phone":"040 000 111"/, "the server's card has mine");
    const phones = rowsOf(`select count(*) n from audit where entity='client' and entity_id=${quote(salon.ids.marko)} and action='update'`);
    assert.ok(phones[0].n >= 2, 'the admin change and the re-applied one');
    await t.page.waitForFunction((id) => window.kt.desk.by.client.get(id).f.phone === '040 000 111', salon.ids.marko);

    // a set-aside edit (what 5 failed pushes leave), put in the queue's store directly:
    // the view lists it with its error; "discard" puts the card back
    await t.page.evaluate(async (id) => {
      const { q } = window.kt;
      await q.store.queueTx(async (tx) => {
        const row = await tx.getRow('client', id);
        await tx.putEntry({ mid: 1, tbl: 'client', id, op: 'update', base: row.v, f: { preferences: 'stuck' },
          before: { preferences: row.f.preferences }, at: Date.now(), state: 'aside', tries: 5, code: 'internal', msg: 'server failure' });
        await tx.putRow({ ...row, f: { ...row.f, preferences: 'stuck' } });
      });
      await q.refresh();
    }, salon.ids.eva);
    const aside = t.page.locator('[data-testid=aside][data-mid="1"]');
    await aside.waitFor();
    assert.match(await aside.innerText(), /Eva Brskalnik[\s\S]*server failure[\s\S]*stuck/);
    // the same view in Slovenian
    await t.page.locator('#lang').selectOption('sl');
    await t.page.waitForSelector('h1#h-queue:text("Sinhronizacija")');
    assert.match(await aside.locator('[data-testid=drop-aside]').innerText(), /Zavrzi/);
    await h.shot(t.page, 'desk-sync-queue-sl');
    await aside.locator('[data-testid=drop-aside]').click();
    await aside.waitFor({ state: 'detached' });
    await t.page.waitForFunction((id) => window.kt.desk.by.client.get(id).f.preferences !== 'stuck', salon.ids.eva);
  });
});

test('two /desk tabs of one tablet: each edit is pushed by one of them, once', async () => {
  const reception = salon.account('reception', h.CENTER);
  const { decode } = await import('../../clients/web/vendor/msgpack/decode.mjs');
  await devices(1, async ([t]) => {
    const pushed = [];
    const watch = (p) => p.on('websocket', (ws) => ws.on('framesent', (f) => {
      const m = decode(Buffer.from(f.payload));
      if (m.t === 'push') pushed.push(...m.muts.map((x) => Number(x.mid)));
    }));
    watch(t.page);
    await signInDesk(t.page, reception);
    const other = await t.context.newPage();
    watch(other);
    await other.goto(`${srv.origin}/desk`); // the same device: it resumes the stored session
    await h.state(other, 'synced');
    const dev = await deviceOf(t.page);
    await t.context.setOffline(true);
    for (const p of [t.page, other]) await p.waitForSelector('[data-testid=offline]');
    const mids = [];
    for (const v of ['tab A 1', 'tab A 2']) mids.push(await setField(t.page, 'client', salon.ids.eva, { preferences: v }));
    for (const v of ['tab B 1', 'tab B 2']) mids.push(await setField(other, 'client', salon.ids.eva, { preferences: v }));
    await t.context.setOffline(false);
    for (const p of [t.page, other]) await waitQueue(p, () => window.kt.q.state.queued === 0 && window.kt.desk.online);
    assert.deepEqual([...pushed].sort(), [...mids].sort(), 'every mid pushed once, by one tab');
    const got = rowsOf(`select count(*) n from audit where entity='client' and action='update' and device_id=${quote(dev)}`);
    assert.equal(got[0].n, 4);
  });
});
