// views/desk/feedback_model.js: the desk's reviews, statistics, message states and
// call list, without a browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as m from '../views/desk/feedback_model.js';
import { toMs } from '../tz.js';

const LJ = 'Europe/Ljubljana';
function byOf(tables) {
  const by = {};
  for (const [tbl, rows] of Object.entries(tables)) by[tbl] = new Map(rows.map((f) => [f.id, { tbl, id: f.id, v: 1, f }]));
  return by;
}

const reviews = [
  { id: 'r1', location_id: 'A', client_id: 'c1', visit_id: 'v1', stars: 5, text: 'Lovely', created_at: 1000, hidden: false, reply: null },
  { id: 'r2', location_id: 'A', client_id: 'c2', stars: 2, text: 'Late', created_at: 3000, hidden: true, reply: 'Sorry', reply_name: 'Ana' },
  { id: 'r3', location_id: 'B', client_id: 'c9', stars: 4, created_at: 2000, hidden: 0, highlighted: 1, reply: '  ' },
  { id: 'r4', location_id: 'A', client_id: 'c1', stars: 5, created_at: 4000, hidden: 0, reply: '' },
];
const by = byOf({
  review: reviews,
  client: [{ id: 'c1', name: 'Eva Brskalnik' }, { id: 'c2', name: 'Marko Drugi' }],
  visit: [{ id: 'v1', visit_date: '2030-03-04' }],
  location: [{ id: 'A', name: 'Center', time_zone: LJ }, { id: 'B', name: 'Maribor', time_zone: LJ }],
  staff: [{ id: 's1', display_name: 'Nina Korošec' }],
});

test('reviews of a branch, newest first, by stars, unanswered and shown/hidden', () => {
  assert.deepEqual(m.reviewsOf(by, 'A').map((r) => r.id), ['r4', 'r2', 'r1']);
  assert.deepEqual(m.reviewsOf(by, null).map((r) => r.id), ['r4', 'r2', 'r3', 'r1']);
  assert.deepEqual(m.reviewsOf(by, 'A', { stars: 5 }).map((r) => r.id), ['r4', 'r1']);
  assert.deepEqual(m.reviewsOf(by, null, { unanswered: true }).map((r) => r.id), ['r4', 'r3', 'r1'], 'a blank reply is no answer');
  assert.deepEqual(m.reviewsOf(by, null, { show: 'hidden' }).map((r) => r.id), ['r2']);
  assert.deepEqual(m.reviewsOf(by, null, { show: 'shown' }).map((r) => r.id), ['r4', 'r3', 'r1'], '0 and false are shown');
  assert.deepEqual(m.reviewsOf({}, 'A'), [], 'no review table yet');
});

test('summary, bars and who wrote it', () => {
  const s = m.summary(m.reviewsOf(by, 'A'));
  assert.deepEqual(s, { n: 3, average: 4, dist: [0, 1, 0, 0, 2] });
  assert.deepEqual(m.summary([]), { n: 0, average: null, dist: [0, 0, 0, 0, 0] });
  assert.deepEqual(m.bars([0, 1, 0, 0, 2]).map((b) => [b.stars, b.n, b.pct]), [[5, 2, 67], [4, 0, 0], [3, 0, 0], [2, 1, 33], [1, 0, 0]]);
  assert.deepEqual(m.bars({ 5: 3, 1: 1 }).map((b) => b.n), [3, 0, 0, 0, 1], 'a map of stars → n too');
  assert.equal(m.clientName(by, reviews[0]), 'Eva Brskalnik');
  assert.equal(m.clientName(by, reviews[2]), null, 'a card this device does not hold: no name, never the id');
  assert.equal(m.visitDate(by, reviews[0]), '2030-03-04');
  const late = { location_id: 'A', created_at: Date.UTC(2030, 5, 12, 22, 30) }; // 00:30 on the 13th in Ljubljana
  assert.equal(m.visitDate(by, late), '2030-06-13', 'the day written, on the branch clock');
  assert.ok(m.mayReply('owner') && m.mayReply('manager') && !m.mayReply('reception') && !m.mayReply('specialist'));
});

test('NPS, trend and periods', () => {
  assert.equal(m.nps(6, 2, 2), 40);
  assert.equal(m.nps(0, 0, 3), -100);
  assert.equal(m.nps(0, 0, 0), null);
  assert.deepEqual(m.trend(4.5, 4.2), { dir: 'up', delta: 0.3 });
  assert.deepEqual(m.trend(70, 75), { dir: 'down', delta: -5 });
  assert.deepEqual(m.trend(4, 4), { dir: 'flat', delta: 0 });
  assert.equal(m.trend(4, null), null);
  assert.deepEqual(m.period('month', '2030-03-17'), { from: '2030-03-01', to: '2030-03-31', prevFrom: '2030-02-01', prevTo: '2030-02-28' });
  assert.deepEqual(m.period('month', '2030-01-05'), { from: '2030-01-01', to: '2030-01-31', prevFrom: '2029-12-01', prevTo: '2029-12-31' });
  assert.deepEqual(m.period('month', '2030-01-05', -1).from, '2029-12-01');
  assert.deepEqual(m.period('month', '2030-11-05', 2), { from: '2031-01-01', to: '2031-01-31', prevFrom: '2030-12-01', prevTo: '2030-12-31' });
  assert.deepEqual(m.period('week', '2030-03-06'), { from: '2030-03-04', to: '2030-03-10', prevFrom: '2030-02-25', prevTo: '2030-03-03' });
  assert.deepEqual(m.period('week', '2030-03-06', -1).from, '2030-02-25');
  // the last Sunday of March: 23 hours
  const ms = m.periodMs({ from: '2030-03-31', to: '2030-03-31' }, LJ);
  assert.equal(ms.to - ms.from, 23 * 3600000);
});

test('a stats answer becomes the figures drawn, with the previous period beside it', () => {
  const figs = (o) => ({ stars: [0, 0, 0, 0, 0], reviews: 0, rating_avg: null, csat_answers: 0, csat_pct: null,
    nps: { answers: 0, promoters: 0, passives: 0, detractors: 0, score: null }, ces_answers: 0, ces_avg: null,
    review_requests: 0, surveys_sent: 0, review_rate: null, survey_answers: 0, survey_rate: null, ...o });
  const center = figs({ stars: [0, 0, 0, 2, 2], reviews: 4, rating_avg: 4.5, csat_answers: 5, csat_pct: 80,
    nps: { answers: 10, promoters: 6, passives: 2, detractors: 2, score: 40 }, ces_answers: 3, ces_avg: 4.3,
    review_requests: 10, review_rate: 40, surveys_sent: 8, survey_answers: 6, survey_rate: 75 });
  const answer = { from: '2030-03-01', to: '2030-03-31', lines: [
    { key: 'B', name: 'Maribor', period: '2030-03-01', figures: figs({}), previous: figs({}) },
    { key: 'B', name: 'Maribor', period: 'total', figures: figs({}), previous: figs({}) },
    { key: 'A', name: 'Center', period: 'total', figures: figs({ reviews: 99 }), previous: figs({}) },
    { key: 'A', name: 'Center', period: '2030-03-01', figures: center, previous: figs({ stars: [0, 0, 0, 2, 0], reviews: 2, rating_avg: 4 }) },
    { key: 'C', name: 'Aaa only a total', period: 'total', figures: figs({ reviews: 1 }), previous: null },
  ] };
  const rows = m.statsTable(answer, '2030-03-01');
  assert.deepEqual(rows.map((r) => r.name), ['Aaa only a total', 'Center', 'Maribor']);
  const a = rows[1];
  assert.equal(a.key, 'A');
  assert.equal(a.reviews.n, 4, "the period's line, not the total");
  assert.equal(a.reviews.average, 4.5);
  assert.deepEqual(a.reviews.bars.map((b) => b.n), [2, 2, 0, 0, 0]);
  assert.deepEqual(a.nps, { n: 10, promoters: 6, passives: 2, detractors: 2, score: 40 });
  assert.deepEqual(a.csat, { n: 5, pct: 80 });
  assert.deepEqual(a.ces, { n: 3, average: 4.3 });
  assert.deepEqual(a.rates, { review: { asked: 10, answered: 4, pct: 40 }, survey: { asked: 8, answered: 6, pct: 75 } });
  assert.equal(a.prev.reviews.average, 4);
  assert.equal(a.prev.nps.score, null, 'nothing to compare');
  assert.deepEqual(rows[2].rates, {}, 'no requests sent: no rate');
  assert.equal(rows[0].prev, null);
  assert.equal(m.figures({ nps: { promoters: 1, passives: 0, detractors: 1 } }).nps.score, 0, 'computed when the server gives none');
  // the wire's flat keys (the CLI's JSON nests them)
  assert.deepEqual(m.figures({ nps: 25, nps_answers: 8, promoters: 4, passives: 2, detractors: 2 }).nps,
    { n: 8, promoters: 4, passives: 2, detractors: 2, score: 25 });
  assert.deepEqual(m.figures({ nps: null, nps_answers: 0, promoters: 0, passives: 0, detractors: 0 }).nps,
    { n: 0, promoters: 0, passives: 0, detractors: 0, score: null });
});

test('message states in words, counts by kind and channel', () => {
  assert.equal(m.stateKey({ state: 'sent' }), 'fb_st_sent');
  assert.equal(m.stateKey({ state: 'dropped', drop_reason: 'consent_withdrawn' }), 'fb_drop_consent_withdrawn');
  assert.equal(m.stateKey({ state: 'dropped' }), 'fb_st_dropped');
  assert.equal(m.messageTime({ created_at: 1, due_at: 2 }), 2);
  assert.equal(m.messageTime({ created_at: 1, due_at: 2, sent_at: 3 }), 3);
  const c = m.countsTable([
    { kind: 'reminder', channel: 'email', state: 'sent', n: 5 },
    { kind: 'confirmation', channel: 'sms', state: 'sent', n: 1 },
    { kind: 'confirmation', channel: 'email', state: 'sent', n: 7 },
    { kind: 'confirmation', channel: 'email', state: 'failed', n: 1 },
    { kind: 'reminder', channel: 'email', state: 'dropped', n: 2 },
  ]);
  assert.deepEqual(c.map((l) => [l.kind, l.channel, l.total]), [['confirmation', 'email', 8], ['confirmation', 'sms', 1], ['reminder', 'email', 7]]);
  assert.deepEqual(c[0].states, { sent: 7, failed: 1 });
  // every kind and state has its words (the view looks them up)
  globalThis.localStorage ??= { getItem: () => null, setItem() {} };
  globalThis.navigator ??= { languages: ['en-GB'] };
  globalThis.document ??= { documentElement: {} };
  return import('../i18n.js').then(async ({ TEXTS }) => {
    await import('../views/desk/feedback_ui.js');
    for (const k of m.KINDS) assert.ok(TEXTS.en[m.kindKey(k)], k);
    for (const s of m.STATES) assert.ok(TEXTS.en['fb_st_' + s], s);
    for (const r of ['consent_withdrawn', 'cancelled', 'moved', 'no_channel', 'daily_cap', 'erased', 'past']) assert.ok(TEXTS.en['fb_drop_' + r], r);
    for (const s of ['queued', 'sending', 'sent', 'failed', 'dropped', 'unknown', 'none']) assert.ok(TEXTS.en['fb_rem_' + s], s);
  });
});

test('the call list offline: booked ones of the local day at the branch, soonest first', () => {
  const day = '2030-06-13';
  const b = byOf({
    location: [{ id: 'A', time_zone: LJ }],
    client: [{ id: 'c1', name: 'Eva', phone: '041 222 333' }],
    staff: [{ id: 's1', display_name: 'Nina' }],
    appointment: [
      { id: 'a1', location_id: 'A', client_id: 'c1', specialist_id: 's1', status: 'booked', start_at: toMs(day, 14 * 60, LJ) },
      { id: 'a2', location_id: 'A', client_id: 'c1', specialist_id: 's1', status: 'confirmed', start_at: toMs(day, 9 * 60, LJ) },
      { id: 'a3', location_id: 'A', client_id: 'c1', specialist_id: 's1', status: 'booked', start_at: toMs(day, 9 * 60, LJ) },
      { id: 'a4', location_id: 'A', client_id: 'c1', specialist_id: 's1', status: 'booked', start_at: toMs(day, 23 * 60 + 30, LJ) + 3600000 },
      { id: 'a5', location_id: 'B', client_id: 'c1', specialist_id: 's1', status: 'booked', start_at: toMs(day, 10 * 60, LJ) },
    ],
  });
  const l = m.localUnconfirmed(b, 'A', day, LJ);
  assert.deepEqual(l.map((a) => a.id), ['a3', 'a1']);
  assert.equal(l[0].client_name, 'Eva');
  assert.equal(l[0].phone, '041 222 333');
  assert.equal(l[0].specialist_name, 'Nina');
  assert.equal(l[0].reminder_state, undefined, 'unknown offline');
  assert.equal(m.tomorrow(LJ, Date.UTC(2030, 5, 12, 22, 30)), '2030-06-14', 'after midnight in Ljubljana it is the 13th already');
  assert.equal(m.telHref('041 222 333'), 'tel:041222333');
  assert.equal(m.telHref('+386 (41) 222-333'), 'tel:+38641222333');
  assert.equal(m.telHref(''), null);
  assert.equal(m.telHref(null), null);
});
