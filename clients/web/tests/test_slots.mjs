// slots.js: the booking rules on the local copy (as server/domain/booking.c judges them)
// and the next free slot they allow. Europe/Ljubljana: DST starts 2030-03-31 02:00,
// ends 2030-10-27 03:00.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { context, judge, nextFree, grid, localSpan } from '../slots.js';
import { toMs, parts, addDays } from '../tz.js';

const LJ = 'Europe/Ljubljana';
const MIN = 60000;
const iso = (ms) => new Date(ms).toISOString();
const at = (ymd, hm, tz = LJ) => { const [h, m] = hm.split(':').map(Number); return toMs(ymd, h * 60 + m, tz); };
const local = (ms, tz = LJ) => { const p = parts(ms, tz); return `${p.ymd} ${String(p.hh).padStart(2, '0')}:${String(p.mm).padStart(2, '0')}`; };

// A small salon: one location, two specialists, services with and without buffers.
function salon(extra = {}) {
  const rows = [
    { tbl: 'location', id: 'L1', f: { name: 'Center', time_zone: extra.tz || LJ } },
    { tbl: 'location', id: 'L2', f: { name: 'Maribor', time_zone: LJ } },
    { tbl: 'staff', id: 'nina', f: { display_name: 'Nina', role: 'specialist' } },
    { tbl: 'staff', id: 'mojca', f: { display_name: 'Mojca', role: 'specialist' } },
    { tbl: 'service', id: 'cut', f: { name: 'Cut', duration_min: 60, price_cents: 4500, location_ids: [], specialist_ids: [] } },
    { tbl: 'service', id: 'colour', f: { name: 'Colour', duration_min: 90, price_cents: 6900, buffer_min: 30, location_ids: ['L1'], specialist_ids: [] } },
    { tbl: 'service', id: 'peel', f: { name: 'Peel', duration_min: 45, price_cents: 6500, buffer_min: 15, location_ids: ['L1'], specialist_ids: ['mojca'] } },
    { tbl: 'service', id: 'pedi', f: { name: 'Pedicure', duration_min: 60, price_cents: 3500, location_ids: ['L2'] } },
    { tbl: 'service', id: 'old', f: { name: 'Old', duration_min: 30, price_cents: 100, location_id: 'L2' } },
    ...(extra.rows || []),
  ];
  const by = {};
  for (const r of rows) (by[r.tbl] ||= new Map()).set(r.id, r);
  return context(by, 'L1');
}
let n = 0;
const appt = (spec, start, dur, services = [], more = {}) => ({ tbl: 'appointment', id: more.id || `a${++n}`,
  f: { location_id: 'L1', client_id: 'c1', specialist_id: spec, start_at: start, duration_min: dur, services, status: 'booked', ...more } });
const hours = (tbl, weekday, iv, staff) => ({ tbl, id: `${tbl}${staff || ''}${weekday}`,
  f: { location_id: 'L1', weekday, intervals: iv, ...(staff ? { staff_id: staff } : {}) } });
const rules = (ctx, b) => judge(ctx, { specialist_id: 'nina', services: [], ...b }).map((x) => x.rule);

test('nothing set, nothing refused: any time of any day', () => {
  const ctx = salon();
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-04', '03:00'), duration_min: 60 }), []);
  const s = nextFree(ctx, { specialists: ['nina'], duration_min: 60, from: at('2030-03-04', '03:07') });
  assert.equal(local(s.start_at), '2030-03-04 03:15', 'the next quarter hour');
  assert.equal(nextFree(ctx, { specialists: ['nina'], duration_min: 60, from: at('2030-03-04', '03:15') }).start_at, at('2030-03-04', '03:15'));
});

test('services: offered at the location, done by the specialist (and the old one-location field)', () => {
  const ctx = salon();
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-04', '10:00'), duration_min: 60, services: ['pedi'] }), ['location_service']);
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-04', '10:00'), duration_min: 30, services: ['old'] }), ['location_service']);
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-04', '10:00'), duration_min: 45, services: ['peel'] }), ['specialist_service']);
  assert.deepEqual(rules(ctx, { specialist_id: 'mojca', start_at: at('2030-03-04', '10:00'), duration_min: 45, services: ['peel'] }), []);
  // the finder: a service nobody here does is no slot; "anyone" picks who does it
  assert.equal(nextFree(ctx, { specialists: ['nina'], duration_min: 45, services: ['peel'], from: at('2030-03-04', '10:00') }), null);
  assert.equal(nextFree(ctx, { specialists: ['nina', 'mojca'], duration_min: 45, services: ['peel'], from: at('2030-03-04', '10:00') }).specialist_id, 'mojca');
  assert.equal(nextFree(ctx, { specialists: ['nina', 'mojca'], duration_min: 60, services: ['pedi'], from: at('2030-03-04', '10:00') }), null);
});

test('opening hours: inside one interval of the weekday; no row that weekday is closed', () => {
  // Monday 09:00-12:00 and 13:00-19:00, Tuesday closed (""), Wednesday no row at all
  const ctx = salon({ rows: [hours('opening_hours', 1, '09:00-12:00,13:00-19:00'), hours('opening_hours', 2, '')] });
  const mon = '2030-03-04';
  assert.equal(parts(at(mon, '10:00'), LJ).weekday, 1);
  assert.deepEqual(rules(ctx, { start_at: at(mon, '09:00'), duration_min: 180 }), []);
  assert.deepEqual(rules(ctx, { start_at: at(mon, '11:30'), duration_min: 60 }), ['opening_hours'], 'across the lunch break');
  assert.deepEqual(rules(ctx, { start_at: at(mon, '08:45'), duration_min: 30 }), ['opening_hours']);
  assert.deepEqual(rules(ctx, { start_at: at(mon, '18:00'), duration_min: 60 }), [], 'ends exactly at closing');
  assert.deepEqual(rules(ctx, { start_at: at(mon, '18:15'), duration_min: 60 }), ['opening_hours']);
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-05', '10:00'), duration_min: 30 }), ['opening_hours'], 'Tuesday ""');
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-06', '10:00'), duration_min: 30 }), ['opening_hours'], 'Wednesday: no row');
  // the finder: from Monday 11:30 for 90 minutes -> 13:00; from Monday 18:00 -> next Monday 09:00
  assert.equal(local(nextFree(ctx, { specialists: ['nina'], duration_min: 90, from: at(mon, '11:30') }).start_at), '2030-03-04 13:00');
  assert.equal(local(nextFree(ctx, { specialists: ['nina'], duration_min: 90, from: at(mon, '18:00') }).start_at), '2030-03-11 09:00');
  assert.equal(nextFree(ctx, { specialists: ['nina'], duration_min: 200, from: at(mon, '08:00') }) !== null, true);
  assert.equal(nextFree(ctx, { specialists: ['nina'], duration_min: 601, from: at(mon, '08:00') }), null, 'longer than any interval');
});

test('closed days: the start\'s local day, and the end\'s when it runs past midnight', () => {
  const ctx = salon({ rows: [{ tbl: 'closed_day', id: 'x', f: { location_id: 'L1', day: '2030-03-05', reason: 'Inventory' } }] });
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-05', '10:00'), duration_min: 30 }), ['closed_day']);
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-04', '23:00'), duration_min: 60 }), [], 'ends at midnight: not the next day');
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-04', '23:30'), duration_min: 60 }), ['closed_day']);
  assert.equal(local(nextFree(ctx, { specialists: ['nina'], duration_min: 60, from: at('2030-03-04', '23:15') }).start_at), '2030-03-06 00:00');
  // closed days are local days: 23:30 UTC on the 4th is already the 5th in Ljubljana
  assert.deepEqual(rules(ctx, { start_at: Date.UTC(2030, 2, 4, 23, 30), duration_min: 15 }), ['closed_day']);
});

test('working hours of the specialist at the location; none set = always', () => {
  const ctx = salon({ rows: [hours('working_hours', 1, '12:00-20:00', 'nina'), { tbl: 'working_hours', id: 'elsewhere', f: { staff_id: 'mojca', location_id: 'L2', weekday: 1, intervals: '09:00-10:00' } }] });
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-04', '10:00'), duration_min: 60 }), ['working_hours']);
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-04', '12:00'), duration_min: 60 }), []);
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-05', '12:00'), duration_min: 60 }), ['working_hours'], 'no row on Tuesday');
  assert.deepEqual(rules(ctx, { specialist_id: 'mojca', start_at: at('2030-03-04', '07:00'), duration_min: 60 }), [], 'hours at another branch do not count here');
  const s = nextFree(ctx, { specialists: ['nina', 'mojca'], duration_min: 60, from: at('2030-03-04', '10:00') });
  assert.equal(s.specialist_id, 'mojca');
  assert.equal(local(nextFree(ctx, { specialists: ['nina'], duration_min: 60, from: at('2030-03-04', '10:00') }).start_at), '2030-03-04 12:00');
  assert.equal(local(nextFree(ctx, { specialists: ['nina'], duration_min: 60, from: at('2030-03-04', '19:30') }).start_at), '2030-03-11 12:00');
});

test('time off overlaps [from, to)', () => {
  const off = { tbl: 'time_off', id: 'o', f: { staff_id: 'nina', from_at: at('2030-03-04', '10:00'), to_at: at('2030-03-04', '14:00') } };
  const ctx = salon({ rows: [off] });
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-04', '09:00'), duration_min: 60 }), [], 'ends as it starts');
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-04', '09:15'), duration_min: 60 }), ['time_off']);
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-04', '14:00'), duration_min: 60 }), []);
  assert.equal(local(nextFree(ctx, { specialists: ['nina'], duration_min: 60, from: at('2030-03-04', '09:15') }).start_at), '2030-03-04 14:00');
});

test('overlap with another appointment of the specialist, anywhere; cancelled ones and itself do not count', () => {
  const a = appt('nina', at('2030-03-04', '10:00'), 60, ['cut'], { id: 'A' });
  const elsewhere = appt('nina', at('2030-03-04', '12:00'), 60, [], { id: 'B', location_id: 'L2' });
  const gone = appt('nina', at('2030-03-04', '14:00'), 60, [], { id: 'C', status: 'cancelled' });
  const ctx = salon({ rows: [a, elsewhere, gone] });
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-04', '09:30'), duration_min: 30 }), []);
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-04', '09:30'), duration_min: 45 }), ['overlap']);
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-04', '10:45'), duration_min: 15 }), ['overlap']);
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-04', '11:00'), duration_min: 60 }), []);
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-04', '12:30'), duration_min: 15 }), ['overlap'], 'at another branch');
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-04', '14:00'), duration_min: 60 }), [], 'cancelled');
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-04', '10:15'), duration_min: 60, self: 'A' }), [], 'moving itself');
  assert.deepEqual(rules(ctx, { specialist_id: 'mojca', start_at: at('2030-03-04', '10:00'), duration_min: 60 }), []);
  const o = judge(ctx, { specialist_id: 'nina', start_at: at('2030-03-04', '10:30'), duration_min: 60, services: [] });
  assert.equal(o[0].other.id, 'A');
  // the finder skips both appointments
  assert.equal(local(nextFree(ctx, { specialists: ['nina'], duration_min: 90, from: at('2030-03-04', '09:30') }).start_at), '2030-03-04 13:00');
  assert.equal(local(nextFree(ctx, { specialists: ['nina'], duration_min: 60, from: at('2030-03-04', '10:00') }).start_at), '2030-03-04 11:00');
  assert.equal(nextFree(ctx, { specialists: ['nina', 'mojca'], duration_min: 60, from: at('2030-03-04', '10:00') }).specialist_id, 'mojca');
});

test('buffers: after this booking, and after the one before it', () => {
  // A: Colour (buffer 30) 10:00-11:30 ; D: Cut (no buffer) 14:00-15:00
  const a = appt('nina', at('2030-03-04', '10:00'), 90, ['colour'], { id: 'A' });
  const d = appt('nina', at('2030-03-04', '14:00'), 60, ['cut'], { id: 'D' });
  const ctx = salon({ rows: [a, d] });
  // a cut right after the colour falls in its buffer; 12:00 is fine
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-04', '11:30'), duration_min: 60, services: ['cut'] }), ['buffer']);
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-04', '11:45'), duration_min: 60, services: ['cut'] }), ['buffer']);
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-04', '12:00'), duration_min: 60, services: ['cut'] }), []);
  // a colour before the cut at 14:00 needs 30 minutes after it
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-04', '12:15'), duration_min: 90, services: ['colour'] }), ['buffer']);
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-04', '12:00'), duration_min: 90, services: ['colour'] }), []);
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-04', '12:00'), duration_min: 90, services: ['colour', 'cut'] }), [], 'the longest buffer');
  // the buffer of an appointment with no buffer service is none
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-04', '15:00'), duration_min: 30, services: ['colour'] }), []);
  // finder: 90 min colour from 10:00 -> 12:00 (12:00-13:30, +30 = 14:00 ok); from 12:15 -> 15:00
  assert.equal(local(nextFree(ctx, { specialists: ['nina'], duration_min: 90, services: ['colour'], from: at('2030-03-04', '10:00') }).start_at), '2030-03-04 12:00');
  assert.equal(local(nextFree(ctx, { specialists: ['nina'], duration_min: 90, services: ['colour'], from: at('2030-03-04', '12:15') }).start_at), '2030-03-04 15:00');
  assert.equal(local(nextFree(ctx, { specialists: ['nina'], duration_min: 30, services: ['cut'], from: at('2030-03-04', '11:30') }).start_at), '2030-03-04 12:00');
  // a moved appointment is not in its own buffer
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-04', '10:15'), duration_min: 90, services: ['colour'], self: 'A' }), []);
});

test('DST: the hours are the wall clock on the days the clocks change', () => {
  const ctx = salon({ rows: [hours('opening_hours', 7, '01:00-04:00'), hours('opening_hours', 1, '09:00-17:00')] });
  // Sunday 31 March 2030: 02:00-03:00 does not exist
  const spring = grid('2030-03-31', LJ);
  assert.equal(spring.length, 92);
  assert.ok(!spring.some(([, m]) => m >= 120 && m < 180));
  assert.equal(new Set(spring.map(([t]) => t)).size, spring.length);
  // 01:30 + 60 min of time ends 03:30 on the clock: outside 01:00-03:00? no: inside 01:00-04:00
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-31', '01:30'), duration_min: 60 }), []);
  assert.equal(localSpan(LJ, at('2030-03-31', '01:30'), 60).emin, 210);
  // 01:30 + 90 minutes of time is 04:00 on the clock
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-31', '01:30'), duration_min: 90 }), []);
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-31', '01:45'), duration_min: 90 }), ['opening_hours']);
  const s = nextFree(ctx, { specialists: ['nina'], duration_min: 60, from: at('2030-03-31', '01:45') });
  assert.equal(local(s.start_at), '2030-03-31 01:45');
  const s2 = nextFree(ctx, { specialists: ['nina'], duration_min: 45, from: Date.UTC(2030, 2, 31, 0, 55) }); // 01:55 local
  assert.equal(local(s2.start_at), '2030-03-31 03:00', 'the first quarter hour after the gap');
  assert.equal(iso(s2.start_at), '2030-03-31T01:00:00.000Z');
  // Sunday 27 October 2030: 02:00-03:00 twice; 01:30 + 120 min of time is 02:30 on the clock
  assert.equal(grid('2030-10-27', LJ).length, 96);
  assert.deepEqual(rules(ctx, { start_at: at('2030-10-27', '01:30'), duration_min: 120 }), []);
  assert.equal(localSpan(LJ, at('2030-10-27', '01:30'), 120).emin, 150);
  assert.deepEqual(rules(ctx, { start_at: at('2030-10-27', '01:00'), duration_min: 240 }), [], '4 h of time from 01:00 end at 04:00 on the clock (the hour repeated)');
  assert.deepEqual(rules(ctx, { start_at: at('2030-10-27', '01:00'), duration_min: 255 }), ['opening_hours']);
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-31', '01:00'), duration_min: 120 }), [], '2 h of time from 01:00 end at 04:00 on the clock (the hour skipped)');
  assert.deepEqual(rules(ctx, { start_at: at('2030-03-31', '01:00'), duration_min: 135 }), ['opening_hours']);
  // on a normal Monday after, 09:00 is 08:00 UTC (winter) and 07:00 UTC in summer
  assert.equal(iso(nextFree(ctx, { specialists: ['nina'], duration_min: 60, from: at('2030-10-27', '04:00') }).start_at), '2030-10-28T08:00:00.000Z');
  assert.equal(iso(nextFree(ctx, { specialists: ['nina'], duration_min: 60, from: at('2030-03-31', '04:00') }).start_at), '2030-04-01T07:00:00.000Z');
});

test('a zone with a 30-minute offset and one far west: the grid is local', () => {
  const ctx = salon({ tz: 'Asia/Kolkata', rows: [hours('opening_hours', 1, '09:00-17:00')] });
  const s = nextFree(ctx, { specialists: ['nina'], duration_min: 60, from: Date.UTC(2030, 2, 4, 0, 0) });
  assert.equal(iso(s.start_at), '2030-03-04T03:30:00.000Z');
  const ny = salon({ tz: 'America/New_York', rows: [hours('opening_hours', 7, '00:00-24:00')] });
  // New York: DST starts 2030-03-10 at 02:00 (a Sunday)
  const g = grid('2030-03-10', 'America/New_York');
  assert.equal(g.length, 92);
  assert.equal(iso(nextFree(ny, { specialists: ['nina'], duration_min: 15, from: Date.UTC(2030, 2, 10, 7, 5) }).start_at), '2030-03-10T07:15:00.000Z');
});

test('searches 60 days, not more', () => {
  const ctx = salon({ rows: [hours('opening_hours', 1, '09:00-10:00'), { tbl: 'time_off', id: 'long', f: { staff_id: 'nina', from_at: at('2030-03-01', '00:00'), to_at: at('2030-05-06', '00:00') } }] });
  assert.equal(nextFree(ctx, { specialists: ['nina'], duration_min: 30, from: at('2030-03-04', '00:00') }), null);
  assert.equal(local(nextFree(ctx, { specialists: ['nina'], duration_min: 30, from: at('2030-03-04', '00:00'), days: 70 }).start_at), '2030-05-06 09:00');
});

// An independent reading of PROTOCOL.md "Booking rules", minute by minute, with no
// shortcuts: whatever the finder proposes it accepts, and nothing earlier on the grid.
function reference(rows, tz, b) {
  const by = (tbl) => rows.filter((r) => r.tbl === tbl).map((r) => r.f);
  const start = b.start_at, end = start + b.duration_min * MIN;
  const ls = parts(start, tz), le = parts(end, tz);
  let emin = le.ymd === ls.ymd ? le.min : 1440 + le.min;
  if (emin > 1440 && (emin > 2880 || le.min)) emin = 2880;
  const within = (iv) => (iv || '').split(',').filter(Boolean).some((x) => {
    const [a, c] = x.split('-').map((hm) => hm.split(':').map(Number)).map(([h, m]) => h * 60 + m);
    return a <= ls.min && emin <= c;
  });
  const bad = [];
  const closed = by('closed_day').filter((c) => c.location_id === 'L1').map((c) => c.day);
  if (closed.includes(ls.ymd) || (emin > 1440 && closed.includes(le.ymd))) bad.push('closed_day');
  const oh = by('opening_hours').filter((o) => o.location_id === 'L1');
  if (oh.length && !within(oh.find((o) => o.weekday === ls.weekday)?.intervals)) bad.push('opening_hours');
  const wh = by('working_hours').filter((o) => o.location_id === 'L1' && o.staff_id === b.specialist_id);
  if (wh.length && !within(wh.find((o) => o.weekday === ls.weekday)?.intervals)) bad.push('working_hours');
  if (by('time_off').some((o) => o.staff_id === b.specialist_id && o.from_at < end && o.to_at > start)) bad.push('time_off');
  const svc = Object.fromEntries(rows.filter((r) => r.tbl === 'service').map((r) => [r.id, r.f]));
  const buf = (ids) => Math.max(0, ...ids.map((id) => svc[id]?.buffer_min || 0));
  const others = by('appointment').filter((a) => a.specialist_id === b.specialist_id && a.status !== 'cancelled');
  if (others.some((a) => a.start_at < end && a.start_at + a.duration_min * MIN > start)) bad.push('overlap');
  const mine = buf(b.services);
  if ((mine && others.some((a) => a.start_at >= end && a.start_at < end + mine * MIN)) ||
      others.some((a) => a.start_at < start && a.start_at + a.duration_min * MIN <= start && a.start_at + (a.duration_min + buf(a.services)) * MIN > start)) bad.push('buffer');
  return bad;
}

test('random salons: every proposed slot passes an independent reading of the rules, and none earlier does', () => {
  let seed = 7;
  const rnd = (k) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % k; };
  for (let round = 0; round < 40; round++) {
    const rows = [];
    const base = '2030-03-25'; // a week before the spring change, to run across it
    if (rnd(3)) for (let wd = 1; wd <= 7; wd++) if (rnd(4)) rows.push(hours('opening_hours', wd, ['08:00-20:00', '09:00-12:00,13:00-17:00', '00:00-03:30', '10:00-24:00'][rnd(4)]));
    if (rnd(2)) for (let wd = 1; wd <= 7; wd++) if (rnd(3)) rows.push(hours('working_hours', wd, ['09:00-15:00', '12:00-20:00', '01:00-04:00,10:00-11:00'][rnd(3)], 'nina'));
    for (let i = 0; i < rnd(3); i++) rows.push({ tbl: 'closed_day', id: `cd${i}`, f: { location_id: 'L1', day: addDays(base, rnd(10)) } });
    for (let i = 0; i < rnd(3); i++) { const f = at(addDays(base, rnd(10)), `${rnd(24)}:00`); rows.push({ tbl: 'time_off', id: `to${i}`, f: { staff_id: 'nina', from_at: f, to_at: f + (1 + rnd(30)) * 3600000 } }); }
    for (let i = 0; i < 30; i++) {
      rows.push(appt('nina', at(addDays(base, rnd(10)), `${rnd(24)}:${[0, 15, 30, 45, 10][rnd(5)]}`), [30, 45, 60, 90, 150][rnd(5)], [[], ['cut'], ['colour'], ['peel'], ['colour', 'peel']][rnd(5)]));
    }
    const ctx = salon({ rows });
    const all = [...rows, ...[...ctx.services.values()].map((s) => ({ tbl: 'service', id: s.id, f: s.f }))];
    const services = [[], ['cut'], ['colour']][rnd(3)];
    const dur = [30, 60, 90, 120][rnd(4)];
    const from = at(addDays(base, rnd(5)), `${rnd(24)}:${rnd(60)}`);
    const s = nextFree(ctx, { specialists: ['nina'], duration_min: dur, services, from, days: 14 });
    const until = s ? s.start_at : from + 14 * 86400000;
    if (s) assert.deepEqual(reference(all, LJ, { specialist_id: 'nina', start_at: s.start_at, duration_min: dur, services }), [], `round ${round}: ${local(s.start_at)}`);
    // no earlier quarter hour (of the wall clock) was free
    for (let d = parts(from, LJ).ymd; toMs(d, 0, LJ) < until; d = addDays(d, 1)) {
      for (const [t] of grid(d, LJ)) {
        if (t < from || t >= until) continue;
        const bad = reference(all, LJ, { specialist_id: 'nina', start_at: t, duration_min: dur, services });
        assert.notDeepEqual(bad, [], `round ${round}: ${local(t)} was free before ${s ? local(s.start_at) : 'none'}`);
        // and judge agrees with the reference on the set of broken rules
        const mine = judge(ctx, { specialist_id: 'nina', start_at: t, duration_min: dur, services }).map((x) => x.rule);
        assert.deepEqual(mine, bad, `round ${round} ${local(t)}`);
      }
    }
  }
});

test('fast enough for a button: 60 days of nothing free, four specialists', () => {
  const rows = [hours('opening_hours', 1, '09:00-10:00')];
  for (const sp of ['nina', 'mojca', 's3', 's4']) rows.push({ tbl: 'time_off', id: sp, f: { staff_id: sp, from_at: 0, to_at: at('2031-01-01', '00:00') } });
  const ctx = salon({ rows });
  const t0 = performance.now();
  assert.equal(nextFree(ctx, { specialists: ['nina', 'mojca', 's3', 's4'], duration_min: 60, from: at('2030-03-04', '00:00') }), null);
  const ms = performance.now() - t0;
  assert.ok(ms < 500, `${ms} ms`);
});
