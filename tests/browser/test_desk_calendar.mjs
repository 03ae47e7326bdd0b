// The desk calendar (clients/web/views/desk/calendar.js) in Chromium against the real
// server: a reception tablet of Lepota Center sees a column per specialist and the
// day's appointments (2030, so today plays no part), opening hours, a closed day and
// time off; cancels one with a reason and drags another to a colleague, and the
// server's database has both; a finger holds a block to move it, a swipe scrolls; marked
// done while offline it shows at once and reaches the server once back online; a free
// slot opens the booking screen with its time,
// specialist and branch; the week shows seven days; the owner's branch switch offers
// every branch and "all" shows each; a day with 10,000 more rows in the copy still
// draws within 100 ms. Screenshots at 1024x768 and 1280x800.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import * as h from './harness.mjs';

let salon, srv, ids;
const DAY = '2030-03-04'; // a Monday
// 2030-03-04 is CET (UTC+1): local HH:MM -> instant
const at = (hh, mm = 0) => Date.UTC(2030, 2, 4, hh - 1, mm);
const REASON = 'Client has the flu';

before(async () => {
  salon = new h.Salon().populate();
  const staff = salon.admin('list', 'staff').trim().split('\n').slice(1).map((l) => l.split('\t'));
  const idOf = (name) => staff.find((s) => s[3].startsWith(name))[0];
  const locs = salon.admin('list', 'locations').trim().split('\n').slice(1).map((l) => l.split('\t'));
  ids = {
    nina: idOf('Nina'), mojca: idOf('Mojca'), barbara: idOf('Barbara'), lara: idOf('Lara'),
    center: locs.find((l) => l[1] === h.CENTER)[0], maribor: locs.find((l) => l[1] === 'Lepota Maribor')[0],
  };
  // Mojca's afternoon, Eva's allergy, the branch's hours, Nina's, a holiday, time off
  ids.mojcaAppt = h.createdId(salon.admin('appointment', 'create', '--location', h.CENTER, '--client', h.MARKO.name,
    '--specialist', 'Mojca', '--start', `${DAY} 13:00`, '--services', 'Classic facial', '--status', 'confirmed'));
  // Mojca's own on Tuesday, for her tablet
  ids.mojcaTue = h.createdId(salon.admin('appointment', 'create', '--location', h.CENTER, '--client', h.EVA.name,
    '--specialist', 'Mojca', '--start', '2030-03-05 11:00', '--services', 'Manicure'));
  // a service anyone does, so that an appointment may go to a colleague
  salon.admin('service', 'create', '--name', 'Consultation', '--duration', '15', '--price', '0.00');
  ids.consult = h.createdId(salon.admin('appointment', 'create', '--location', h.CENTER, '--client', h.MARKO.name,
    '--specialist', 'Nina', '--start', `${DAY} 16:00`, '--services', 'Consultation'));
  salon.admin('client', 'set', salon.ids.eva, 'allergies', 'Latex');
  salon.admin('hours', 'set', h.CENTER, 'mon-fri', '09:00-19:00');
  salon.admin('hours', 'set', h.CENTER, 'sat', '09:00-14:00');
  salon.admin('hours', 'set', h.CENTER, 'sun', 'closed');
  salon.admin('staff', 'hours', 'set', 'Nina', h.CENTER, 'mon-fri', '09:00-17:00');
  salon.admin('closed', 'add', h.CENTER, '2030-03-08', '--reason', "Women's day");
  salon.admin('staff', 'time-off', 'add', 'Mojca', '--from', `${DAY} 15:00`, '--to', `${DAY} 17:00`, '--reason', 'Dentist');
  srv = await h.Server.start(salon);
});
after(async () => { await srv?.stop(); salon?.cleanup(); });

// The server's own record of an appointment (the database; appointments are not sealed).
function dbRow(id) {
  const out = execFileSync('sqlite3', ['-json', salon.db, `SELECT * FROM appointment WHERE id = '${id}'`], { encoding: 'utf8' });
  return JSON.parse(out || '[]')[0];
}
// Whether this server has appointment.status_reason (the server engineer's part).
const hasReason = () => /\|\s*appointment\s*\|\s*status_reason\s*\|/.test(h.server('policy'));

async function deskSignIn(page, who) {
  await page.goto(`${srv.origin}/desk/signin`);
  await page.locator('input#email').fill(who.email);
  await page.locator('input#password').fill(who.password);
  await page.locator('button[data-testid=signin-submit]').click();
  await h.state(page, 'synced');
  await page.locator('[data-testid=calendar]').waitFor();
}

async function openDay(page, day, view = '/desk') {
  await page.goto(`${srv.origin}${view}?day=${day}`);
  await page.locator(`[data-testid=calendar][data-day="${day}"]`).waitFor();
}

// The local day (Ljubljana) of an instant.
const ymdOf = (ms) => new Intl.DateTimeFormat('en-CA', { timeZone: h.ZONE, year: 'numeric', month: '2-digit', day: '2-digit' }).format(ms);

// The demo's busiest day at the centre in the next four days, and the server's
// appointments of it (not cancelled): real data for the pictures and a cross-check.
function busiestDemoDay() {
  const day = 86400000;
  const list = JSON.parse(salon.admin('list', 'appointments', '--location', h.CENTER, '--limit', '100000',
    '--from', ymdOf(Date.now()), '--to', ymdOf(Date.now() + 4 * day), '--json'));
  const byDay = new Map();
  for (const a of list) {
    if (a.status === 'cancelled') continue;
    const d = ymdOf(Date.parse(a.start));
    byDay.set(d, [...(byDay.get(d) || []), a.id]);
  }
  const [d, ids] = [...byDay].sort((x, y) => y[1].length - x[1].length)[0];
  return { day: d, ids: ids.sort() };
}

// Saved under build/browser-screenshots; KT_README_SHOT=1 also refreshes docs/screenshots.
async function shots(page, name, readme = false) {
  for (const [w, hgt] of [[1024, 768], [1280, 800]]) {
    await page.setViewportSize({ width: w, height: hgt });
    await page.locator('[data-testid=calendar]').waitFor();
    const path = await h.shot(page, `${name}-${w}x${hgt}`);
    if (readme && process.env.KT_README_SHOT && w === 1280) {
      mkdirSync(join(h.ROOT, 'docs/screenshots'), { recursive: true });
      copyFileSync(path, join(h.ROOT, `docs/screenshots/${name}.png`));
    }
  }
  await page.setViewportSize({ width: 1024, height: 768 });
}

const columns = (page) => page.$$eval('[data-testid=cal-column]', (els) => els.map((e) => e.dataset.staff));
const apptIds = (page) => page.$$eval('[data-testid=appt]', (els) => els.map((e) => e.dataset.id).sort());

test('reception: the day of the branch, an appointment cancelled with a reason, one dragged to a colleague, a free slot booked', async () => {
  await h.withBrowser({}, async (b) => {
    const { page } = b;
    await page.setViewportSize({ width: 1024, height: 768 });
    await deskSignIn(page, salon.account('reception', h.CENTER));
    // a day of the demo salon: exactly the server's appointments; the README's pictures
    const demo = busiestDemoDay();
    await openDay(page, demo.day);
    assert.deepEqual(await apptIds(page), demo.ids, `the appointments of ${demo.day} as the server lists them`);
    await shots(page, 'calendar-day', true);
    await page.locator('[data-testid=cal-week]').click();
    await page.locator('[data-testid=calendar][data-view=week]').waitFor();
    await shots(page, 'calendar-week', true);

    await openDay(page, DAY);
    const cal = page.locator('[data-testid=calendar]');
    assert.equal(await cal.getAttribute('data-loc'), ids.center);
    assert.deepEqual((await columns(page)).sort(), [ids.nina, ids.mojca].sort(), 'a column per specialist of the branch');
    const [evaAppt] = salon.ids.evaUpcoming;
    assert.deepEqual(await apptIds(page), [evaAppt, salon.ids.marko1, ids.mojcaAppt, ids.consult].sort(), "the day's appointments, no others");
    const eva = page.locator(`[data-testid=appt][data-id="${evaAppt}"]`);
    assert.equal(await eva.getAttribute('data-status'), 'booked');
    await assert.doesNotReject(eva.locator('[data-testid=cal-allergy]').waitFor(), 'the allergy marker');
    assert.match(await eva.innerText(), /10:30.*11:00[\s\S]*Eva Brskalnik[\s\S]*Blow-dry/);
    assert.equal(await page.locator(`[data-testid=cal-column][data-staff="${ids.nina}"] [data-id="${evaAppt}"]`).count(), 1, "in Nina's column");
    assert.match(await page.locator(`[data-testid=cal-column][data-staff="${ids.mojca}"] [data-testid=cal-timeoff]`).innerText(), /Time off/);
    assert.equal(await page.locator('[data-testid=cal-column] .cal-off').count() > 0, true, 'outside hours is greyed');
    // the grid runs from the earliest hour (09:00) to the latest (19:00)
    assert.equal(await page.locator('.cal-cols').getAttribute('data-range'), '540-1140');
    // no slot where an appointment or time off is
    const starts = await page.$$eval(`[data-testid=slot][data-staff="${ids.mojca}"]`, (els) => els.map((e) => Number(e.dataset.start)));
    assert.ok(!starts.some((s) => s >= at(15) && s < at(17)), 'time off is not free');
    assert.ok(!starts.some((s) => s >= at(13) && s < at(14)), 'an appointment is not free');
    assert.ok(starts.includes(at(9)) && starts.includes(at(14)), 'free before and after');
    await shots(page, 'calendar-day-2030');

    // the detail; cancel with a reason
    await eva.click();
    const detail = page.locator('[data-testid=appt-detail]');
    await detail.waitFor();
    const text = await detail.innerText();
    for (const s of ['Eva Brskalnik', 'Blow-dry', 'Nina Korošec', 'Allergy', 'Booked', h.CENTER]) assert.ok(text.includes(s), `the detail shows ${s}`);
    assert.ok(!text.includes(evaAppt) && !text.includes(salon.ids.eva), 'no ids shown');
    assert.equal(await detail.locator('[data-testid=appt-client]').getAttribute('href'), `/desk/client?id=${salon.ids.eva}`);
    await h.shot(page, 'calendar-detail-1024x768');
    await detail.locator('[data-testid=appt-cancel]').click();
    await detail.locator('[data-testid=confirm]').click();
    await detail.locator('[role=alert]').waitFor(); // a reason is needed
    await detail.locator('[data-testid=reason]').fill(REASON);
    await detail.locator('[data-testid=confirm]').click();
    await page.locator('[data-testid=appt-detail][data-status=cancelled]').waitFor();
    await h.until(() => dbRow(evaAppt)?.status === 'cancelled', 'the cancellation in the database');
    if (hasReason()) {
      // stored sealed like the notes: the database has it, another tablet reads it
      await h.until(() => dbRow(evaAppt)?.status_reason, 'the reason in the database');
      const other = await h.browser();
      try {
        await other.page.setViewportSize({ width: 1024, height: 768 });
        await deskSignIn(other.page, salon.account('manager', h.CENTER));
        await openDay(other.page, DAY);
        await other.page.locator('[data-testid=cal-show-cancelled]').check();
        await other.page.locator(`[data-testid=appt][data-id="${evaAppt}"][data-status=cancelled]`).click();
        assert.match(await other.page.locator('[data-testid=appt-detail]').innerText(), new RegExp(`Reason\\s+${REASON}`));
      } finally {
        await other.close();
      }
    } else console.log('# this server has no appointment.status_reason yet: only the status is checked');
    await page.locator('[data-testid=appt-close]').click();
    await page.locator('[data-testid=appt-detail]').waitFor({ state: 'detached' });
    await eva.waitFor({ state: 'detached' }); // cancelled ones are behind the toggle
    await page.locator('[data-testid=cal-show-cancelled]').check();
    assert.equal(await eva.getAttribute('data-status'), 'cancelled');
    await page.locator('[data-testid=cal-show-cancelled]').uncheck();

    // drag a block to a colleague: Marko's blow-dry is Nina's craft only (the tablet says
    // so and it is kept); his consultation at 16:00 goes to Mojca at 14:30
    const pxPerMin = 24 / 15;
    const mojcaCol = `[data-testid=cal-column][data-staff="${ids.mojca}"]`;
    const dragTo = async (block, min) => {
      await block.scrollIntoViewIfNeeded();
      const box = await block.boundingBox();
      const grid = await page.locator(`${mojcaCol} .cal-grid`).boundingBox();
      await page.mouse.move(box.x + 20, box.y + 4);
      await page.mouse.down();
      await page.mouse.move(box.x + 30, box.y + 16, { steps: 3 });
      await page.mouse.move(grid.x + grid.width / 2, grid.y + (min - 540) * pxPerMin + 4, { steps: 8 });
      assert.match(await page.locator(`${mojcaCol} [data-testid=cal-ghost]`).innerText(), new RegExp(`^${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`));
      await page.mouse.up();
      return page.locator('[data-testid=cal-move]');
    };
    const marko = page.locator(`[data-testid=appt][data-id="${salon.ids.marko1}"]`);
    // a finger: a swipe over a block scrolls; holding it picks it up (touch events via CDP)
    {
      await marko.scrollIntoViewIfNeeded();
      const box = await marko.boundingBox();
      const cdp = await b.context.newCDPSession(page);
      const touch = (type, x, y) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: type === 'touchEnd' ? [] : [{ x, y, id: 1 }] });
      await touch('touchStart', box.x + 20, box.y + 5);
      for (let i = 1; i <= 4; i++) await touch('touchMove', box.x + 20, box.y + 5 - i * 12);
      await touch('touchEnd');
      assert.equal(await page.locator('[data-testid=cal-ghost]').count() + await page.locator('[data-testid=cal-move]').count(), 0, 'a swipe moves nothing');
      await marko.scrollIntoViewIfNeeded();
      const held = await marko.boundingBox();
      await touch('touchStart', held.x + 20, held.y + 5);
      await page.locator('[data-testid=cal-ghost]').waitFor(); // held long enough
      for (let i = 1; i <= 6; i++) await touch('touchMove', held.x + 20, held.y + 5 - i * 12);
      assert.match(await page.locator('[data-testid=cal-ghost]').innerText(), /^11:15/);
      await touch('touchEnd');
      const asked = page.locator('[data-testid=cal-move]');
      assert.match(await asked.innerText(), /11:15[\s\S]*Nina Korošec/);
      await asked.locator('[data-testid=cal-move-cancel]').click();
      await asked.waitFor({ state: 'detached' });
      await cdp.detach();
    }
    let ask = await dragTo(marko, 13 * 60 + 15);
    assert.match(await ask.locator('[data-testid=cal-move-warn]').innerText(), /Mojca Medved does not do Blow-dry/);
    await ask.locator('[data-testid=cal-move-cancel]').click();
    await ask.waitFor({ state: 'detached' });
    assert.equal(dbRow(salon.ids.marko1).specialist_id, ids.nina);
    const consult = page.locator(`[data-testid=appt][data-id="${ids.consult}"]`);
    ask = await dragTo(consult, 14 * 60 + 30);
    assert.match(await ask.innerText(), /Marko Drugi[\s\S]*14:30[\s\S]*Mojca Medved/);
    assert.equal(await ask.locator('[data-testid=cal-move-warn]').count(), 0);
    await ask.locator('[data-testid=confirm]').click();
    await h.until(() => dbRow(ids.consult)?.start_at === at(14, 30) && dbRow(ids.consult)?.specialist_id === ids.mojca,
      'the move in the database').catch(async (e) => {
      const q = await page.evaluate(() => JSON.stringify(window.kt.q.state));
      throw new Error(`${e.message}: row ${JSON.stringify(dbRow(ids.consult))}, queue ${q}`);
    });
    assert.equal(dbRow(ids.consult).location_id, ids.center, 'the branch unchanged');
    await page.locator(`${mojcaCol} [data-id="${ids.consult}"]`).waitFor();
    assert.match(await consult.innerText(), /14:30.14:45/);

    // confirmed; a no-show with its reason (the keyboard: Enter opens, Escape closes)
    await marko.click();
    await page.locator('[data-testid=appt-confirm]').click();
    await page.locator('[data-testid=appt-detail][data-status=confirmed]').waitFor();
    await h.until(() => dbRow(salon.ids.marko1)?.status === 'confirmed', 'confirmed in the database');
    await page.keyboard.press('Escape');
    await page.locator('[data-testid=appt-detail]').waitFor({ state: 'detached' });
    await page.waitForFunction((id) => document.activeElement?.dataset.id === id, salon.ids.marko1); // focus back on the block
    const facial = page.locator(`[data-testid=appt][data-id="${ids.mojcaAppt}"]`);
    await facial.focus();
    await page.keyboard.press('Enter');
    await page.locator('[data-testid=appt-noshow]').click();
    await page.locator('[data-testid=reason]').fill('Did not come, no call');
    await page.locator('[data-testid=confirm]').click();
    await page.locator('[data-testid=appt-detail][data-status=no_show]').waitFor();
    await h.until(() => dbRow(ids.mojcaAppt)?.status === 'no_show', 'the no-show in the database');
    assert.equal(await facial.getAttribute('data-status'), 'no_show');
    await page.locator('[data-testid=appt-close]').click();

    // offline: marked done on the tablet at once, in the database once back online
    await b.context.setOffline(true);
    await h.state(page, 'offline');
    await marko.click();
    await page.locator('[data-testid=appt-done]').click();
    await page.locator('[data-testid=cal-saved]').waitFor();
    await page.locator(`[data-testid=appt][data-id="${salon.ids.marko1}"][data-status=done]`).waitFor();
    assert.equal(dbRow(salon.ids.marko1).status, 'confirmed', 'not sent yet');
    await b.context.setOffline(false);
    await h.until(() => dbRow(salon.ids.marko1)?.status === 'done', 'done in the database after the tablet is back online');
    await page.locator('[data-testid=appt-close]').click();

    // a free slot: Nina at 14:00 opens the booking screen with its time, specialist and branch
    const slot = page.locator(`[data-testid=slot][data-staff="${ids.nina}"][data-start="${at(14)}"]`);
    await slot.click();
    await page.waitForURL((u) => u.pathname === '/desk/book');
    const q = new URL(page.url()).searchParams;
    assert.deepEqual([q.get('start'), q.get('specialist'), q.get('loc')], [String(at(14)), ids.nina, ids.center]);
    await page.goBack();
    await page.locator(`[data-testid=calendar][data-day="${DAY}"]`).waitFor();

    // "Move" in the detail opens the booking screen on the appointment
    await consult.click();
    await page.locator('[data-testid=appt-move]').click();
    await page.waitForURL((u) => u.pathname === '/desk/book' && u.searchParams.get('move') === ids.consult);
    await page.goBack();

    // prev / next / today and the week with seven days; the holiday marked
    await page.locator(`[data-testid=calendar][data-day="${DAY}"]`).waitFor();
    await page.locator('[data-testid=cal-next]').click();
    await page.locator('[data-testid=calendar][data-day="2030-03-05"]').waitFor();
    await page.locator('[data-testid=cal-prev]').click();
    await page.locator(`[data-testid=calendar][data-day="${DAY}"]`).waitFor();
    await page.locator('[data-testid=cal-week]').click();
    await page.locator('[data-testid=calendar][data-view=week]').waitFor();
    assert.equal(new URL(page.url()).pathname, '/desk/week');
    assert.deepEqual(await page.$$eval('[data-testid=cal-weekday]', (els) => els.map((e) => e.dataset.day)),
      ['2030-03-04', '2030-03-05', '2030-03-06', '2030-03-07', '2030-03-08', '2030-03-09', '2030-03-10']);
    assert.match(await page.locator('[data-testid=cal-weekday][data-day="2030-03-08"] .cal-dayhead').innerText(), /Women's day/);
    assert.equal(await page.locator('[data-testid=cal-weekday][data-day="2030-03-04"] [data-testid=appt]').count(), 3, "Monday's three left");
    await shots(page, 'calendar-week-2030');
    await page.locator('[data-testid=cal-today]').click();
    const today = await page.locator('[data-testid=calendar]').getAttribute('data-day');
    assert.notEqual(today, DAY);
    await page.locator('[data-testid=cal-day]').click();
    await page.locator('[data-testid=calendar][data-view=day]').waitFor();
    // today: the line of the current time, when now is within the grid's hours
    const [lo, hi] = (await page.locator('.cal-cols').getAttribute('data-range')).split('-').map(Number);
    const p = Object.fromEntries(new Intl.DateTimeFormat('en-GB', { timeZone: h.ZONE, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(Date.now()).map((x) => [x.type, x.value]));
    const nowMin = Number(p.hour) * 60 + Number(p.minute);
    if (nowMin >= lo + 1 && nowMin < hi - 1) await page.locator('.cal-now').first().waitFor();
    else assert.equal(await page.locator('.cal-now').count(), 0, 'no line outside the hours shown');
  });
});

test('owner: the branch switch offers all branches; "all" shows each branch with its specialists', async () => {
  await h.withBrowser({}, async (b) => {
    const { page } = b;
    await page.setViewportSize({ width: 1280, height: 800 });
    await deskSignIn(page, salon.account('owner'));
    const options = await page.$$eval('[data-testid=branch] option', (os) => os.map((o) => o.textContent));
    assert.deepEqual(options, ['All branches', h.CENTER, 'Lepota Maribor']);
    await page.locator('[data-testid=branch]').selectOption('');
    await openDay(page, DAY);
    assert.equal(await page.locator('[data-testid=calendar]').getAttribute('data-loc'), '');
    assert.deepEqual(await page.$$eval('[data-testid=cal-section]', (els) => els.map((e) => e.dataset.loc)), [ids.center, ids.maribor]);
    const mb = await page.$$eval(`[data-testid=cal-section][data-loc="${ids.maribor}"] [data-testid=cal-column]`, (els) => els.map((e) => e.dataset.staff));
    assert.deepEqual(mb.sort(), [ids.barbara, ids.lara].sort());
    await h.shot(page, 'calendar-all-1280x800');
    await page.locator('[data-testid=branch]').selectOption(ids.maribor);
    await page.locator(`[data-testid=calendar][data-loc="${ids.maribor}"]`).waitFor();
    assert.equal(await page.locator('[data-testid=cal-section]').count(), 1);
  });
});

test('a specialist sees every column of the branch, their own first, and cannot book or drag', async () => {
  await h.withBrowser({}, async (b) => {
    const { page } = b;
    await page.setViewportSize({ width: 1024, height: 768 });
    await deskSignIn(page, salon.accounts.find((a) => a.role === 'specialist' && a.name.startsWith('Mojca')));
    await openDay(page, '2030-03-05');
    const cols = await columns(page);
    assert.equal(cols[0], ids.mojca, 'her own column first');
    assert.ok(cols.includes(ids.nina), "Nina's column too");
    assert.equal(await page.locator('[data-testid=slot]').count(), 0, 'no booking from a specialist\'s tablet');
    const own = page.locator(`[data-testid=appt][data-id="${ids.mojcaTue}"]`);
    await own.scrollIntoViewIfNeeded();
    const box = await own.boundingBox();
    await page.mouse.move(box.x + 20, box.y + 4);
    await page.mouse.down();
    await page.mouse.move(box.x + 20, box.y + 120, { steps: 6 });
    assert.equal(await page.locator('[data-testid=cal-ghost]').count(), 0, 'nothing to drag');
    await page.mouse.up();
    assert.equal(await page.locator('[data-testid=cal-move]').count(), 0);
    await own.click();
    const detail = page.locator('[data-testid=appt-detail]');
    await detail.locator('[data-testid=appt-client]').waitFor();
    // the status is reception's, managers' and owners' to write (README "Writes"):
    // a specialist records what was done as a visit on the card
    assert.equal(await detail.locator('[data-testid=appt-done]').count(), 0);
    assert.equal(await detail.locator('[data-testid=appt-cancel]').count(), 0);
    await detail.locator('[data-testid=appt-close]').click();
    // in Slovenian: the words, the date and the day of the closed branch
    await page.locator('select#lang').selectOption('sl');
    await page.locator('[data-testid=cal-today]', { hasText: 'Danes' }).waitFor();
    assert.match(await page.locator('.cal-title').innerText(), /torek, 5\. marec 2030/);
    await openDay(page, '2030-03-08');
    assert.match(await page.locator('.cal-closed').first().innerText(), /Zaprto: Women's day/);
    await h.shot(page, 'calendar-closed-sl-1024x768');
  });
});

test('a day draws within 100 ms with 10,000 more appointments in the copy', async () => {
  await h.withBrowser({}, async (b) => {
    const { page } = b;
    await page.setViewportSize({ width: 1280, height: 800 });
    await deskSignIn(page, salon.account('reception', h.CENTER));
    await openDay(page, DAY);
    const r = await page.evaluate(([loc, staff]) => {
      const { app, q } = window.kt;
      const big = new Map(app.by.appointment);
      const base = Date.UTC(2030, 0, 1, 8);
      for (let i = 0; i < 10000; i++) {
        const id = `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`;
        big.set(id, { tbl: 'appointment', id, v: 1, f: { location_id: loc, client_id: null, specialist_id: staff[i % 2],
          start_at: base + Math.floor(i / 60) * 86400000 + (i % 30) * 1800000, duration_min: 30, status: 'booked', services: [] } });
      }
      app.by = { ...app.by, appointment: big };
      const times = [];
      let t0 = performance.now();
      q.emit({}); // the app draws on every queue change
      const first = performance.now() - t0;
      for (let i = 0; i < 6; i++) {
        t0 = performance.now();
        document.querySelector(`[data-testid=cal-${i % 2 ? 'prev' : 'next'}]`).click(); // desk.go draws at once
        times.push(performance.now() - t0);
      }
      times.sort((a, c) => a - c);
      return { first, median: times[3], shown: document.querySelectorAll('[data-testid=appt]').length };
    }, [ids.center, [ids.nina, ids.mojca]]);
    console.log(`# 10,000 more rows: first draw (index built) ${r.first.toFixed(1)} ms, a day ${r.median.toFixed(1)} ms (median), ${r.shown} blocks`);
    assert.ok(r.shown > 20, 'the synthetic day is shown');
    assert.ok(r.median < 100, `a day takes ${r.median} ms`);
    assert.ok(r.first < 400, `the first draw with the index takes ${r.first} ms`);
  });
});
