// Messages and feedback on the salon's tablets (clients/web/views/desk/reviews.js,
// stats.js, unconfirmed.js, card_messages.js) in Chromium against the real server:
// a client's review reaches the owner's tablet, the owner replies offline and then
// online (the reply lands on the server, named, and the client's portal gets it),
// hides it (gone from the public feed); the statistics shown are the CLI's; reception's
// call list for tomorrow has the booked appointment and not the confirmed one, and a
// confirmation from it lands; the card lists the booking confirmation the salon sent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import * as h from './harness.mjs';
import { toMs } from '../../clients/web/tz.js';
import { devices, signInDesk, database, TABLET } from './desk.mjs';

const REVIEW_TEXT = 'Nina did a wonderful blow-dry, thank you!';
const REPLY = 'Thank you, Eva: see you in spring!';
const PHONE = { width: 390, height: 844 };

let salon, srv, db, centerId, tomorrow, booked, bookedAt, confirmed, autumnVisit;
// The first whole hour from 09:00 on day when Nina has nothing at the branch ("HH:00"),
// other than those in skip.
function freeHour(day, skip = []) {
  const busy = db.rowsOf(`select a.start_at s, a.duration_min d from appointment a join staff p on p.id = a.specialist_id
    where p.display_name like 'Nina%' and a.status != 'cancelled'`);
  for (let hr = 9; hr < 19; hr++) {
    const s = toMs(day, hr * 60, h.ZONE), e = s + 3600000;
    const hhmm = `${String(hr).padStart(2, '0')}:00`;
    if (!skip.includes(hhmm) && !busy.some((b) => b.s < e && b.s + b.d * 60000 > s)) return hhmm;
  }
  throw new Error(`Nina has no free hour on ${day}`);
}
const ymdIn = (ms) => new Intl.DateTimeFormat('en-CA', { timeZone: h.ZONE, year: 'numeric', month: '2-digit', day: '2-digit' }).format(ms);

before(async () => {
  salon = new h.Salon().populate();
  db = database(salon.db);
  centerId = db.rowsOf(`select id from location where name = ${db.quote(h.CENTER)}`)[0].id;
  // tomorrow on the branch's clock: one booked appointment (Marko's) and one confirmed (Eva's)
  tomorrow = ymdIn(Date.now() + 24 * 3600000);
  const any = ['--override', 'overlap,opening_hours,closed_day,working_hours,time_off', '--reason', 'test'];
  // Marko's at a time Nina is free (confirming re-checks double bookings), Eva's after it
  const free = bookedAt = freeHour(tomorrow);
  booked = h.createdId(salon.admin('appointment', 'create', '--location', h.CENTER, '--client', h.MARKO.name,
    '--specialist', 'Nina', '--start', `${tomorrow} ${free}`, '--services', 'Blow-dry', ...any));
  confirmed = h.createdId(salon.admin('appointment', 'create', '--location', h.CENTER, '--client', h.EVA.name,
    '--specialist', 'Nina', '--start', `${tomorrow} 07:00`, '--services', 'Blow-dry', '--status', 'confirmed', ...any));
  const autumn = h.createdId(salon.admin('appointment', 'create', '--location', h.CENTER, '--client', h.EVA.name,
    '--specialist', 'Nina', '--start', '2025-11-20 15:00', '--services', 'Root colour', '--status', 'done', ...any));
  srv = await h.Server.start(salon);
  salon.addVisit(srv); // Eva's visit of 2025-03-04, the one she rates and the owner answers
  // and one more visit of hers (2025-11-20), rated lower and left unanswered
  const nina = (args) => execFileSync(h.CLIENT, ['--dir', join(salon.tmp, 'nina-tablet'), '--quiet', ...args], { encoding: 'utf8' });
  nina(['sync']);
  autumnVisit = h.createdId(nina(['visit', 'add', '--appointment', autumn, '--notes', 'Root colour 6/0']));
  nina(['sync']);
  // Eva's portal password, from her invitation (the planner's confirmations share the spool)
  salon.admin('portal', 'invite', salon.ids.eva);
  const invite = await h.until(() => salon.mails().find((m) => m.file.includes('portal_setup') && m.to.includes(h.EVA.email)), 'the invitation');
  assert.equal(h.setPassword(srv, h.linkOf(invite).token, h.GOOD).op, 'set_password');
});
after(async () => { await srv?.stop(); salon?.cleanup(); });

const review = () => db.rowsOf(`select id, stars, hidden, highlighted, reply_by, reply_name, replied_at from review where visit_id = ${db.quote(salon.ids.evaVisit)}`)[0];
const readme = (png, name) => {
  if (!process.env.KT_README_SHOT) return; // docs/screenshots/ refreshed on request only
  mkdirSync(join(h.ROOT, 'docs', 'screenshots'), { recursive: true });
  copyFileSync(png, join(h.ROOT, 'docs', 'screenshots', name));
};

test('a review reaches the tablet; the owner replies offline, then online; the client reads it; hidden from the feed', async () => {
  const owner = salon.account('owner');
  await devices(2, async ([tablet, phone]) => {
    // Eva rates her visit in the portal (a push `create` of tbl review, as the portal does)
    await h.signIn(phone.page, srv.origin);
    const res = await phone.page.evaluate(async ([visit, text, autumn]) => {
      const { uuidv7, nextMid } = await import('/proto.js');
      const mk = (visit_id, stars, text) => ({ mid: nextMid(), tbl: 'review', id: uuidv7(), op: 'create', base: 0,
        f: { visit_id, stars, text, public_ok: true } });
      return window.kt.proto.push([mk(visit, 5, text), mk(autumn, 3, 'The colour is lovely, but I waited twenty minutes past my time.')]);
    }, [salon.ids.evaVisit, REVIEW_TEXT, autumnVisit]);
    assert.deepEqual(res.map((r) => r.status), ['applied', 'applied'], JSON.stringify(res));
    const id = review().id;
    const other = db.rowsOf(`select id from review where visit_id = ${db.quote(autumnVisit)}`)[0].id;

    await signInDesk(tablet.page, srv.origin, owner);
    await tablet.page.locator('[data-testid=nav-reviews]').click();
    const card = tablet.page.locator(`[data-testid=fb-review][data-id="${id}"]`);
    await card.waitFor();
    const text = await card.innerText();
    assert.ok(text.includes(REVIEW_TEXT), text);
    assert.ok(text.includes(h.EVA.name), `the client's name: ${text}`);
    assert.ok(text.includes('Nina'), `the specialist: ${text}`);
    assert.ok(text.includes('4 March 2025'), `the visit's date: ${text}`);
    assert.equal(await card.getAttribute('data-stars'), '5');
    assert.ok(!/[0-9a-f]{8}-[0-9a-f]{4}-/.test(await tablet.page.locator('[data-testid=fb-reviews]').innerText()), 'no ids on screen');

    // offline: the reply waits on the tablet, the server has none
    await tablet.context.setOffline(true);
    await tablet.page.locator('[data-testid=syncbar] [data-testid=offline]').waitFor();
    await card.locator('[data-testid=fb-reply-open]').click();
    await card.locator('[data-testid=fb-reply-text]').fill(REPLY);
    await card.locator('[data-testid=fb-reply-save]').click();
    await card.locator('[data-testid=fb-reply-waiting]').waitFor();
    assert.equal(await card.locator('[data-testid=fb-reply-shown]').innerText(), REPLY);
    await tablet.page.waitForFunction(() => document.querySelector('[data-testid=queued]')?.dataset.n === '1');
    assert.equal(review().replied_at, null, 'nothing on the server while offline');

    // online: it lands, named after the owner; Eva's portal gets it
    await tablet.context.setOffline(false);
    await tablet.page.waitForFunction(() => document.querySelector('[data-testid=queued]')?.dataset.n === '0');
    const landed = await h.until(() => { const r = review(); return r.replied_at ? r : null; }, 'the reply on the server');
    assert.equal(landed.reply_name, owner.name);
    await card.locator('[data-testid=fb-reply][data-pending=false]', { hasText: owner.name }).waitFor();
    const seen = await phone.page.waitForFunction((id) => {
      const r = window.kt.app.by.review?.get(id);
      return r?.f.reply ? r.f : null;
    }, id);
    const f = await seen.jsonValue();
    assert.equal(f.reply, REPLY, 'the client reads the reply');
    assert.equal(f.reply_name, owner.name);

    await tablet.page.evaluate(() => window.scrollTo(0, 0));
    const png = await h.shot(tablet.page, 'desk-reviews');
    readme(png, 'desk-reviews.png');

    // hide it: the server has it hidden, the public feed leaves it out
    await card.locator('[data-testid=fb-hide]').click();
    await tablet.page.locator(`[data-testid=fb-review][data-id="${id}"][data-hidden=true]`).waitFor();
    await h.until(() => review().hidden === 1, 'hidden on the server');
    // highlight the other one: the server has it
    await tablet.page.locator(`[data-testid=fb-review][data-id="${other}"] [data-testid=fb-highlight]`).click();
    await tablet.page.locator(`[data-testid=fb-review][data-id="${other}"][data-highlighted=true]`).waitFor();
    await h.until(() => db.rowsOf(`select highlighted from review where id = ${db.quote(other)}`)[0].highlighted === 1, 'highlighted on the server');
    // the filters: shown / hidden, unanswered, stars
    const shownIds = () => tablet.page.locator('[data-testid=fb-review]').evaluateAll((els) => els.map((e) => e.dataset.id));
    const show = async (sel, value, want) => {
      await tablet.page.locator(`[data-testid=${sel}]`)[typeof value === 'boolean' ? 'setChecked' : 'selectOption'](value);
      await tablet.page.waitForFunction((n) => document.querySelectorAll('[data-testid=fb-review]').length === n, want.length);
      assert.deepEqual((await shownIds()).sort(), [...want].sort(), `${sel} ${value}`);
    };
    await show('fb-filter-show', 'shown', [other]);
    await show('fb-filter-show', 'hidden', [id]);
    await show('fb-filter-show', 'all', [other, id]);
    await show('fb-filter-unanswered', true, [other]);
    await show('fb-filter-unanswered', false, [other, id]);
    await show('fb-filter-stars', '5', [id]);
    // the public feed of the branch has the shown one only
    const feed = await (await fetch(`${srv.origin}/api/reviews/${centerId}`)).json();
    assert.deepEqual(feed.reviews.map((r) => r.stars), [3], JSON.stringify(feed));
  }, [TABLET, PHONE]);
});

// The CLI's figures (kartoteka-server stats --json): lines per branch and month, then totals.
function cliStats(from, to) {
  return JSON.parse(h.server('stats', '--db', salon.db, '--from', from, '--to', to, '--group', 'month', '--by', 'location', '--json'));
}

// Answers the statistics count besides the two reviews: survey answers this month and an
// erased client's anonymous ratings and answers last month (rows the server keeps for
// statistics only; written here as the survey links and erasure would leave them).
function seedAnswers() {
  const { org_id: org } = db.rowsOf(`select org_id from location where id = ${db.quote(centerId)}`)[0];
  const today = ymdIn(Date.now());
  const month = `${today.slice(0, 8)}01`;
  const [y, m] = today.split('-').map(Number);
  const before = m === 1 ? `${y - 1}-12-01` : `${y}-${String(m - 1).padStart(2, '0')}-01`;
  const at = { now: toMs(month, 0, h.ZONE) + 60000, before: toMs(before, 12 * 60, h.ZONE) };
  let n = 0;
  const answer = (when, kind, score) => `('test-${++n}', ${db.quote(org)}, ${db.quote(centerId)}, NULL, NULL, NULL, '', '${kind}', ${score}, ${at[when]})`;
  const rows = [
    ...[5, 4, 3, 5, 2].map((x) => answer('now', 'csat', x)), ...[10, 9, 9, 7, 3, 10, 8, 0].map((x) => answer('now', 'nps', x)),
    ...[4, 5, 3].map((x) => answer('now', 'ces', x)),
    ...[5, 5, 2].map((x) => answer('before', 'csat', x)), ...[9, 6, 10].map((x) => answer('before', 'nps', x)),
    ...[3, 3].map((x) => answer('before', 'ces', x))];
  db.sql(`insert into survey_answer(id, org_id, location_id, client_id, visit_id, specialist_id, services, kind, score, created_at)
    values ${rows.join(', ')}`, true);
  db.sql(`insert into review_anon(org_id, location_id, specialist_id, services, stars, created_at) values
    ${[4, 3, 5, 2].map((x) => `(${db.quote(org)}, ${db.quote(centerId)}, NULL, '', ${x}, ${at.before})`).join(', ')}`, true);
}

test('the statistics shown are the CLI\'s; offline they say they need a connection', async () => {
  seedAnswers();
  await devices(1, async ([tablet]) => {
    await signInDesk(tablet.page, srv.origin, salon.account('owner'));
    await tablet.page.locator('[data-testid=nav-stats]').click();
    const view = tablet.page.locator('[data-testid=fb-stats][data-state=ready]');
    await view.waitFor();
    const from = await view.getAttribute('data-from'), to = await view.getAttribute('data-to');
    const cli = cliStats(from, to);
    const mine = cli.lines.find((l) => l.key === centerId && l.period === from)?.figures;
    assert.ok(mine, `the branch's month in the CLI's answer: ${JSON.stringify(cli)}`);
    assert.equal(mine.reviews, 2, 'the reviews of the first test');
    const stat = tablet.page.locator(`[data-testid=fb-stat][data-key="${centerId}"]`);
    await stat.waitFor();
    const rating = stat.locator('[data-testid=fb-rating]');
    assert.equal(Number(await rating.getAttribute('data-n')), mine.reviews);
    assert.equal(Number(await rating.getAttribute('data-average')), mine.rating_avg);
    assert.ok((await rating.innerText()).includes('4.0'), await rating.innerText());
    const dist = await stat.locator('[data-testid=fb-stat-dist] li').evaluateAll((els) => els.map((e) => Number(e.dataset.n)));
    assert.deepEqual(dist, [...mine.stars].reverse(), 'the bars, 5 stars first');
    const attr = (id, a) => stat.locator(`[data-testid=${id}]`).getAttribute(a);
    const same = (v) => (v === null ? '' : String(v));
    assert.equal(await attr('fb-csat', 'data-pct'), same(mine.csat_pct));
    assert.equal(await attr('fb-csat', 'data-n'), same(mine.csat_answers));
    assert.equal(await attr('fb-nps', 'data-score'), same(mine.nps));
    assert.equal(await attr('fb-nps', 'data-n'), same(mine.nps_answers));
    for (const k of ['promoters', 'passives', 'detractors']) assert.equal(await attr(`fb-${k}`, 'data-n'), same(mine[k]), k);
    assert.equal(await attr('fb-ces', 'data-average'), same(mine.ces_avg));
    assert.deepEqual([mine.csat_pct, mine.nps, mine.ces_avg], [60, 25, 4], 'the hand-made answers: 3 of 5 satisfied, 4 promoters and 2 detractors of 8');
    // the trend against last month (the CLI's `trend`): rating 4.0 after 3.5, CSAT 60 % after 66.7 %
    const trend = cli.lines.find((l) => l.key === centerId && l.period === from).trend;
    const dir = (d) => (d === null ? 'none' : d > 0 ? 'up' : d < 0 ? 'down' : 'flat');
    for (const [id, k] of [['fb-trend-rating', 'rating_avg'], ['fb-trend-csat', 'csat_pct'], ['fb-trend-nps', 'nps'], ['fb-trend-ces', 'ces_avg']]) {
      assert.equal(await attr(id, 'data-dir'), dir(trend[k]), `${id}: ${trend[k]}`);
    }
    assert.equal(await attr('fb-trend-rating', 'data-dir'), 'up');
    assert.equal(await attr('fb-trend-csat', 'data-dir'), 'down');
    await tablet.page.locator('[data-testid=fb-counts]').waitFor();
    const png = await h.shot(tablet.page, 'desk-stats');
    readme(png, 'desk-stats.png');
    // in German: the words follow, the figures stay
    await tablet.page.locator('select#lang').selectOption('de');
    await stat.locator('[data-testid=fb-promoters]', { hasText: 'Promotoren: 4' }).waitFor();
    await tablet.page.locator('[data-testid=fb-period]', { hasText: /\d{4}/ }).waitFor();
    await h.shot(tablet.page, 'desk-stats-de');
    await tablet.page.locator('select#lang').selectOption('en');
    await tablet.context.setOffline(true);
    await tablet.page.locator('[data-testid=syncbar] [data-testid=offline]').waitFor();
    await tablet.page.locator('[data-testid=fb-week]').click();
    await tablet.page.locator('[data-testid=fb-stats-offline]').waitFor();
  });
});

test('reception calls down tomorrow\'s unconfirmed appointments and confirms one', async () => {
  await devices(1, async ([tablet]) => {
    await signInDesk(tablet.page, srv.origin, salon.account('reception', h.CENTER));
    await tablet.page.locator('[data-testid=nav-calls]').click();
    const list = tablet.page.locator(`[data-testid=fb-calls][data-day="${tomorrow}"][data-source=server]`);
    await list.waitFor();
    const line = list.locator(`[data-testid=fb-call][data-id="${booked}"]`);
    await line.waitFor();
    assert.equal(await list.locator(`[data-testid=fb-call][data-id="${confirmed}"]`).count(), 0, 'a confirmed one is not listed');
    const text = await line.innerText();
    assert.ok(text.includes(h.MARKO.name) && text.includes(bookedAt) && text.includes('Nina'), text);
    assert.equal(await line.locator('[data-testid=fb-call-phone]').getAttribute('href'), `tel:${h.MARKO.phone.replace(/\D/g, '')}`);
    await line.locator('[data-testid=fb-mark-called]').click();
    await list.locator(`[data-testid=fb-call][data-id="${booked}"][data-called=true]`).waitFor();
    await line.locator('[data-testid=fb-mark-confirmed]').click();
    await list.locator(`[data-testid=fb-call][data-id="${booked}"][data-status=confirmed]`).waitFor();
    await tablet.page.waitForFunction(() => window.kt.q.state.queued === 0);
    assert.deepEqual(await tablet.page.evaluate(() => window.kt.q.state.rejected.map((e) => e.msg)), [], 'the server took it');
    await h.until(() => db.rowsOf(`select status from appointment where id = ${db.quote(booked)}`)[0]?.status === 'confirmed', 'confirmed on the server');
    await h.shot(tablet.page, 'desk-unconfirmed');
    // reception reads the reviews and answers none
    await tablet.page.locator('[data-testid=nav-reviews]').click();
    await tablet.page.locator('[data-testid=fb-review]').first().waitFor();
    await tablet.page.locator('[data-testid=fb-read-only]').waitFor();
    assert.equal(await tablet.page.locator('[data-testid=fb-reply-open], [data-testid=fb-hide], [data-testid=fb-highlight]').count(), 0);
    assert.equal(await tablet.page.locator('[data-testid=nav-stats]').count(), 0, 'no statistics for reception');
    await tablet.page.locator('[data-testid=nav-calls]').click();
    // asked again, the server leaves it out
    await tablet.page.locator('[data-testid=fb-day-next]').click();
    await tablet.page.locator('[data-testid=fb-day-prev]').click();
    await tablet.page.locator(`[data-testid=fb-calls][data-day="${tomorrow}"][data-source=server]`).waitFor();
    await tablet.page.locator('[data-testid=fb-calls-none]').waitFor();
  });
});

test('the card lists the booking confirmation the salon sent', async () => {
  await devices(1, async ([tablet]) => {
    await signInDesk(tablet.page, srv.origin, salon.account('owner'));
    // a booking from the tablet: its confirmation is planned when it lands
    // at an hour Nina is free (a push may name 32 bytes of rules: not every rule fits)
    const [hr] = freeHour(tomorrow, [bookedAt]).split(':').map(Number);
    const start = toMs(tomorrow, hr * 60, h.ZONE);
    await tablet.page.evaluate(async ([loc, client, start]) => {
      const d = window.kt.desk;
      const nina = [...d.by.staff.values()].find((s) => s.f.display_name.startsWith('Nina'));
      const svc = [...d.by.service.values()].find((s) => s.f.name === 'Blow-dry');
      await d.edit('appointment', d.newId(), 'create', { location_id: loc, client_id: client, specialist_id: nina.id,
        start_at: start, duration_min: 30, services: [svc.id] }, { override: { rule: 'working_hours,opening_hours', reason: 'test' } });
    }, [centerId, salon.ids.eva, start]);
    await tablet.page.waitForFunction(() => document.querySelector('[data-testid=queued]')?.dataset.n === '0');
    assert.deepEqual(await tablet.page.evaluate(() => window.kt.q.state.rejected.map((e) => e.msg)), [], 'the server took the booking');
    const booking = await tablet.page.waitForFunction((start) => [...(window.kt.desk.by.appointment?.values() || [])].find((r) => r.f.start_at === start)?.id, start);
    const id = await booking.jsonValue();
    await tablet.page.goto(`${srv.origin}/desk/client?id=${salon.ids.eva}`);
    const box = tablet.page.locator('[data-testid=card-messages]');
    // the confirmation of this booking: planned when it landed, newest first
    await h.until(() => db.rowsOf(`select 1 from outbox where idem_key = ${db.quote('confirmation:' + id)}`).length, 'its confirmation planned');
    const msg = box.locator('[data-testid=card-message][data-kind=confirmation]').first();
    await msg.waitFor();
    const made = db.rowsOf(`select created_at from outbox where idem_key = ${db.quote('confirmation:' + id)}`)[0].created_at;
    assert.equal(Number(await msg.getAttribute('data-created')), made, 'the newest line is this booking\'s confirmation');
    const text = await msg.innerText();
    assert.ok(/Booking confirmation/.test(text), text);
    assert.ok(!/[0-9a-f]{8}-[0-9a-f]{4}-/.test(await box.innerText()), 'no ids');
    await box.scrollIntoViewIfNeeded();
    await h.shot(tablet.page, 'desk-card-messages');
  });
});
