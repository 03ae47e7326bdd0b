// calendar_model.js: what the desk calendar shows from the local copy (columns, hours,
// appointments on a local day, free slots), and that a day of 10,000 rows is fast.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as m from '../calendar_model.js';
import { toMs } from '../tz.js';

const LJ = 'Europe/Ljubljana';
const CENTER = 'loc-center', MB = 'loc-maribor';
const NINA = 'st-nina', MOJCA = 'st-mojca', LUKA = 'st-luka', BARBARA = 'st-barbara';

function byOf(tables) {
  const by = {};
  for (const [tbl, rows] of Object.entries(tables)) by[tbl] = new Map(rows.map((f, i) => [f.id || `${tbl}-${i}`, { tbl, id: f.id || `${tbl}-${i}`, v: 1, f }]));
  return by;
}
let n = 0;
const appt = (ymd, hm, dur, staff, extra = {}) => {
  const [h, mi] = hm.split(':').map(Number);
  return { id: `ap-${++n}`, location_id: CENTER, specialist_id: staff, client_id: 'cl-1', start_at: toMs(ymd, h * 60 + mi, LJ), duration_min: dur, status: 'booked', services: [], ...extra };
};
const staff = (withLocs) => [
  { id: NINA, display_name: 'Nina Korošec', role: 'specialist', ...(withLocs ? { location_ids: [CENTER] } : {}) },
  { id: MOJCA, display_name: 'Mojca Medved', role: 'specialist', ...(withLocs ? { location_ids: [CENTER] } : {}) },
  { id: LUKA, display_name: 'Luka Žagar', role: 'reception', ...(withLocs ? { location_ids: [CENTER] } : {}) },
  { id: BARBARA, display_name: 'Barbara Kotnik', role: 'specialist', ...(withLocs ? { location_ids: [MB] } : {}) },
];

test('the index is built once per Map and finds a local day by binary search', () => {
  const by = byOf({ appointment: [
    appt('2030-03-04', '10:30', 30, NINA), appt('2030-03-04', '23:30', 60, NINA), // runs into the 5th
    appt('2030-03-05', '09:00', 45, MOJCA), appt('2030-03-03', '12:00', 30, NINA),
    { ...appt('2030-03-04', '11:00', 30, BARBARA), location_id: MB },
  ] });
  const ix = m.apptIndex(by.appointment);
  assert.equal(m.apptIndex(by.appointment), ix, 'same Map, same index');
  assert.notEqual(m.apptIndex(new Map(by.appointment)), ix, 'a new Map (rows changed) is indexed again');
  const ck = m.clock('2030-03-05', LJ);
  const ids = m.inRange(ix, CENTER, ck.start, ck.end).map((r) => r.f.start_at);
  assert.deepEqual(ids, [toMs('2030-03-04', 23 * 60 + 30, LJ), toMs('2030-03-05', 540, LJ)], 'the one from the evening before is on the 5th too');
  assert.equal(m.inRange(ix, MB, ck.start, ck.end).length, 0);
  assert.equal(m.inRange(ix, 'nowhere', ck.start, ck.end).length, 0);
});

test('edits made here and not in the rows yet are laid over', () => {
  const a = appt('2030-03-04', '10:30', 30, NINA);
  const by = byOf({ appointment: [a] });
  const ix = m.apptIndex(by.appointment);
  const pending = new Map([[a.id, { id: a.id, f: { ...a, start_at: toMs('2030-03-05', 600, LJ) } }]]);
  const d4 = m.clock('2030-03-04', LJ), d5 = m.clock('2030-03-05', LJ);
  assert.equal(m.inRange(ix, CENTER, d4.start, d4.end, pending).length, 0, 'moved away from the 4th');
  assert.equal(m.inRange(ix, CENTER, d5.start, d5.end, pending).length, 1, 'to the 5th');
});

test('columns: specialists of the branch by location_ids, own column first', () => {
  const by = byOf({ staff: staff(true), appointment: [] });
  const ix = m.apptIndex(by.appointment);
  assert.deepEqual(m.specialists(by, ix, CENTER).map((c) => c.id), [MOJCA, NINA], 'by name, reception left out');
  assert.deepEqual(m.specialists(by, ix, CENTER, { me: NINA }).map((c) => c.id), [NINA, MOJCA], 'a specialist sees their own first');
  assert.deepEqual(m.specialists(by, ix, MB).map((c) => c.id), [BARBARA]);
  const gone = byOf({ staff: [...staff(true), { id: 'st-old', display_name: 'Old', role: 'specialist', active: false, location_ids: [CENTER] }] });
  assert.ok(!m.specialists(gone, ix, CENTER).some((c) => c.id === 'st-old'), 'inactive staff have no column');
  const row = { id: 'x', f: { specialist_id: 'st-old', specialist_name: 'Old Name' } };
  assert.deepEqual(m.specialists(gone, ix, CENTER, { dayRows: [row] }).find((c) => c.id === 'st-old')?.name, 'Old',
    '...unless they have an appointment that day');
});

test('columns without location_ids: specialists of the branch\'s appointments and working hours', () => {
  const by = byOf({ staff: staff(false), appointment: [appt('2030-03-04', '10:00', 30, NINA)],
    working_hours: [{ staff_id: MOJCA, location_id: CENTER, weekday: 1, intervals: '09:00-17:00' }, { staff_id: BARBARA, location_id: MB, weekday: 1, intervals: '09:00-17:00' }] });
  const ix = m.apptIndex(by.appointment);
  assert.deepEqual(m.specialists(by, ix, CENTER).map((c) => c.name), ['Mojca Medved', 'Nina Korošec']);
  // a specialist's tablet does not see roles: the rows still name the columns
  const noRole = byOf({ staff: staff(false).map(({ role, ...s }) => s), appointment: [appt('2030-03-04', '10:00', 30, NINA)] });
  assert.deepEqual(m.specialists(noRole, m.apptIndex(noRole.appointment), CENTER, { me: NINA }).map((c) => c.id), [NINA]);
});

test('hours: 08-20 without any set, else opening and working hours, widened to appointments', () => {
  const none = byOf({ staff: staff(true), appointment: [appt('2030-03-04', '10:00', 30, NINA)] });
  let v = m.dayView({ by: none, ix: m.apptIndex(none.appointment), loc: CENTER, tz: LJ, ymd: '2030-03-04' });
  assert.deepEqual([v.from, v.to], [480, 1200]);
  assert.deepEqual(v.columns.map((c) => c.off), [[], []], 'nothing set: nothing greyed');
  const late = byOf({ staff: staff(true), appointment: [appt('2030-03-04', '20:30', 45, NINA), appt('2030-03-04', '07:10', 30, MOJCA)] });
  v = m.dayView({ by: late, ix: m.apptIndex(late.appointment), loc: CENTER, tz: LJ, ymd: '2030-03-04' });
  assert.deepEqual([v.from, v.to], [420, 22 * 60], 'whole hours around 07:10 and 21:15');
  const set = byOf({ staff: staff(true), appointment: [],
    opening_hours: [{ location_id: CENTER, weekday: 1, intervals: '09:00-12:00,13:00-19:00' }, { location_id: CENTER, weekday: 7, intervals: '' }],
    working_hours: [{ staff_id: NINA, location_id: CENTER, weekday: 1, intervals: '10:00-21:00' }],
    closed_day: [{ location_id: CENTER, day: '2030-03-08', reason: "Women's day" }],
    time_off: [{ staff_id: MOJCA, from_at: toMs('2030-03-04', 900, LJ), to_at: toMs('2030-03-04', 1020, LJ), reason: 'Dentist' }] });
  v = m.dayView({ by: set, ix: m.apptIndex(set.appointment), loc: CENTER, tz: LJ, ymd: '2030-03-04' });
  assert.deepEqual([v.from, v.to], [540, 1260]);
  const nina = v.columns.find((c) => c.id === NINA), mojca = v.columns.find((c) => c.id === MOJCA);
  assert.deepEqual(nina.off, [[540, 600], [720, 780], [1140, 1260]], 'Nina: opening hours and hers');
  assert.deepEqual(mojca.off, [[720, 780], [1140, 1260]], 'Mojca has no hours set: the branch\'s');
  assert.deepEqual(mojca.timeOff.map((x) => [x.a, x.b, x.reason]), [[900, 1020, 'Dentist']]);
  assert.ok(!mojca.free.some((s) => s.a >= 900 && s.a < 1020), 'no free slot in time off');
  v = m.dayView({ by: set, ix: m.apptIndex(set.appointment), loc: CENTER, tz: LJ, ymd: '2030-03-08' });
  assert.deepEqual(v.closed, { reason: "Women's day" });
  assert.ok(v.columns.every((c) => c.off.length === 1 && c.off[0][0] === v.from && c.off[0][1] === v.to), 'a closed day is greyed whole');
  v = m.dayView({ by: set, ix: m.apptIndex(set.appointment), loc: CENTER, tz: LJ, ymd: '2030-03-10' });
  assert.deepEqual(v.columns.find((c) => c.id === MOJCA).off, [[v.from, v.to]], 'closed on Sundays');
});

test('free slots: half-hour cells from the quarter hour, around appointments; cancelled ones free their time', () => {
  assert.deepEqual(m.freeSlots([[615, 660]], 600, 720), [[600, 615], [660, 690], [690, 720]]);
  assert.deepEqual(m.freeSlots([[600, 610]], 600, 660), [[615, 630], [630, 660]], '10:10 rounds to 10:15');
  const a = appt('2030-03-04', '10:00', 60, NINA), c = appt('2030-03-04', '12:00', 60, NINA, { status: 'cancelled' });
  const by = byOf({ staff: staff(true), appointment: [a, c] });
  const ix = m.apptIndex(by.appointment);
  let nina = m.dayView({ by, ix, loc: CENTER, tz: LJ, ymd: '2030-03-04' }).columns.find((x) => x.id === NINA);
  assert.deepEqual(nina.appts.map((x) => x.row.id), [a.id], 'cancelled hidden');
  assert.ok(!nina.free.some((s) => s.a >= 600 && s.a < 660));
  assert.ok(nina.free.some((s) => s.a === 720));
  assert.equal(nina.free.find((s) => s.a === 720).ms, toMs('2030-03-04', 720, LJ));
  nina = m.dayView({ by, ix, loc: CENTER, tz: LJ, ymd: '2030-03-04', showCancelled: true }).columns.find((x) => x.id === NINA);
  assert.deepEqual(nina.appts.map((x) => x.row.id), [a.id, c.id], 'shown on request');
  assert.ok(nina.free.some((s) => s.a === 720), 'and still free');
});

test('overlapping appointments sit side by side', () => {
  const items = m.lanes([{ a: 600, b: 660 }, { a: 630, b: 690 }, { a: 600, b: 620 }, { a: 700, b: 720 }]);
  assert.deepEqual(items.map((x) => [x.lane, x.lanes]), [[0, 2], [1, 2], [1, 2], [0, 1]]);
});

test('days the clocks change: slots are the wall-clock times', () => {
  const ck = m.clock('2030-03-31', LJ);
  assert.equal(ck.end - ck.start, 23 * 3600000);
  assert.equal(new Date(ck.ms(600)).toISOString(), '2030-03-31T08:00:00.000Z');
  assert.equal(ck.min(Date.parse('2030-03-31T08:00:00Z')), 600);
  const ok = m.clock('2030-03-04', LJ);
  assert.equal(new Date(ok.ms(630)).toISOString(), '2030-03-04T09:30:00.000Z');
});

test('dragging snaps to the quarter hour inside the grid; dates are checked', () => {
  const ppm = 24 / 15;
  assert.equal(m.snapMinute(0, ppm, 480, 1200, 30), 480);
  assert.equal(m.snapMinute(24 * 4 + 10, ppm, 480, 1200, 30), 540);
  assert.equal(m.snapMinute(-100, ppm, 480, 1200, 30), 480);
  assert.equal(m.snapMinute(99999, ppm, 480, 1200, 60), 1140, 'the end stays in the grid');
  assert.deepEqual(m.rowsOf(600, 630, 480), [25, 6]);
  assert.equal(m.dayParam('2030-03-04', LJ), '2030-03-04');
  assert.equal(m.dayParam('2030-02-30', LJ, Date.UTC(2030, 0, 1, 23, 30)), '2030-01-02', 'not a date: today at the branch');
  assert.equal(m.dayParam(null, LJ, Date.UTC(2030, 0, 1, 23, 30)), '2030-01-02');
  assert.equal(m.allergyOf({ f: { allergy_alert: true } }), true);
  assert.equal(m.allergyOf({ f: { allergies: ' ' } }), false);
  assert.equal(m.allergyOf({ f: { allergies: 'Latex' } }), true);
});

test('the week: seven days, one specialist or all, hours of the whole week', () => {
  const by = byOf({ staff: staff(true), appointment: [appt('2030-03-04', '10:00', 30, NINA), appt('2030-03-10', '18:30', 60, MOJCA), appt('2030-03-11', '10:00', 30, NINA)] });
  const ix = m.apptIndex(by.appointment);
  const w = m.weekView({ by, ix, loc: CENTER, tz: LJ, ymd: '2030-03-06' });
  assert.equal(w.monday, '2030-03-04');
  assert.deepEqual(w.days.map((d) => d.appts.length), [1, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual([w.from, w.to], [480, 1200]);
  const one = m.weekView({ by, ix, loc: CENTER, tz: LJ, ymd: '2030-03-06', staffId: NINA });
  assert.deepEqual(one.days.map((d) => d.appts.length), [1, 0, 0, 0, 0, 0, 0]);
});

test('a day of a branch with 10,000 appointments in the copy is quick', () => {
  const rows = [];
  const base = toMs('2030-01-01', 480, LJ);
  for (let i = 0; i < 10000; i++) {
    rows.push({ id: `p-${i}`, location_id: i % 3 ? CENTER : MB, specialist_id: i % 2 ? NINA : MOJCA, client_id: 'cl-1',
      start_at: base + Math.floor(i / 40) * 86400000 + (i % 40) * 15 * 60000, duration_min: 30, status: 'booked', services: [] });
  }
  const by = byOf({ staff: staff(true), appointment: rows });
  let t = performance.now();
  const ix = m.apptIndex(by.appointment);
  const build = performance.now() - t;
  t = performance.now();
  let v;
  for (let i = 0; i < 10; i++) v = m.dayView({ by, ix: m.apptIndex(by.appointment), loc: CENTER, tz: LJ, ymd: '2030-03-04' });
  const day = (performance.now() - t) / 10;
  console.log(`# index of 10,000 rows ${build.toFixed(1)} ms; a day's view ${day.toFixed(2)} ms`);
  assert.ok(v.count > 20);
  assert.ok(build < 200, `index ${build} ms`);
  assert.ok(day < 20, `day ${day} ms`);
});

test('the calendar says everything in five languages, with the same placeholders', async () => {
  globalThis.localStorage ??= { getItem: () => null, setItem() {} };
  globalThis.navigator ??= { languages: ['en-GB'] };
  globalThis.document ??= { documentElement: {} };
  const { TEXTS } = await import('../i18n.js');
  await import('../views/desk/calendar.js');
  const keys = Object.keys(TEXTS.en).filter((k) => k.startsWith('cal_')).sort();
  assert.ok(keys.length > 40);
  const vars = (s) => JSON.stringify(String(s).match(/\{\w+\}/g)?.sort() || []);
  for (const lang of ['sl', 'de', 'pl', 'fi']) {
    assert.deepEqual(Object.keys(TEXTS[lang]).filter((k) => k.startsWith('cal_')).sort(), keys, lang);
    for (const k of keys) assert.equal(vars(TEXTS[lang][k]), vars(TEXTS.en[k]), `${lang}.${k}`);
  }
});
