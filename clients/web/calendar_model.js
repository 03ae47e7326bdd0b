// What the desk calendar shows, from the local copy: appointments of a branch on a local
// day (an index built once per set of rows, not a scan per render), the specialists'
// columns, the hours the grid covers, what is open, blocked and free. Pure: no DOM, no
// clock of its own (`now` is passed in), so node tests cover it.
import { parts, toMs, addDays, weekdayOf, dayRange, intervals } from './tz.js';

export const STEP = 5; // minutes a grid row stands for
export const SNAP = 15; // a drag and a free slot start on the quarter hour
export const CELL = 30; // a free slot is at most half an hour: 48 px, a finger's target
export const DEFAULT_HOURS = [8 * 60, 20 * 60]; // a branch without hours set
export const STATUSES = ['booked', 'confirmed', 'done', 'no_show', 'cancelled'];

const MIN = 60000;
const EMPTY_IX = { byLoc: new Map(), reason: false };

// Appointments by location, sorted by start, kept per `by.appointment` Map: the app builds
// a new Map whenever rows change, so its identity is the version. 10,000 rows take a few
// ms once; a day is then two binary searches.
const memo = new WeakMap();
export function apptIndex(map) {
  if (!map) return EMPTY_IX;
  let ix = memo.get(map);
  if (ix) return ix;
  const byLoc = new Map();
  let reason = false;
  for (const r of map.values()) {
    const f = r.f;
    if (!f || typeof f.start_at !== 'number') continue;
    // the server sends every column it lets us read, nil ones too: a row with the key
    // means the server knows status_reason (older servers refuse it as "not a field")
    if (!reason && 'status_reason' in f) reason = true;
    let e = byLoc.get(f.location_id);
    if (!e) byLoc.set(f.location_id, (e = { rows: [], maxMs: 0, specialists: new Set() }));
    e.rows.push(r);
    const d = (f.duration_min || 0) * MIN;
    if (d > e.maxMs) e.maxMs = d;
    if (f.specialist_id) e.specialists.add(f.specialist_id);
  }
  for (const e of byLoc.values()) {
    e.rows.sort((a, b) => a.f.start_at - b.f.start_at);
    e.starts = Float64Array.from(e.rows, (r) => r.f.start_at);
  }
  ix = { byLoc, reason };
  memo.set(map, ix);
  return ix;
}

const overlaps = (f, from, to) => f.start_at < to && (f.start_at + (f.duration_min || 0) * MIN > from || f.start_at >= from);

// Rows of a location that overlap [from, to) (instants), soonest first. `pending`: edits
// made here that the rows do not show yet (id -> row), laid over.
export function inRange(ix, loc, from, to, pending) {
  const out = [];
  const e = ix.byLoc.get(loc);
  if (e) {
    const min = from - e.maxMs;
    let lo = 0, hi = e.starts.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (e.starts[m] < min) lo = m + 1; else hi = m;
    }
    for (let i = lo; i < e.rows.length && e.starts[i] < to; i++) {
      const r = e.rows[i];
      if (pending && pending.has(r.id)) continue;
      if (overlaps(r.f, from, to)) out.push(r);
    }
  }
  if (pending) {
    for (const r of pending.values()) if (r.f.location_id === loc && overlaps(r.f, from, to)) out.push(r);
    out.sort((a, b) => a.f.start_at - b.f.start_at);
  }
  return out;
}

const active = (s) => s && s.f && s.f.active !== false && !s.f.deactivated_at;
const nameOf = (s) => (s && s.f && (s.f.display_name || s.f.name)) || '';

// The columns of a branch: active specialists whose `location_ids` name it. Servers
// before location_ids: the specialists of the branch's appointments or working hours.
// A specialist of one of the day's appointments always gets a column (a deactivated
// one's bookings must not vanish). The person's own column first, then by name.
export function specialists(by, ix, loc, { me = null, dayRows = [] } = {}) {
  const staff = by.staff || new Map();
  let withLocs = false;
  for (const s of staff.values()) if (Array.isArray(s.f && s.f.location_ids)) { withLocs = true; break; }
  const ids = new Set();
  if (withLocs) {
    for (const s of staff.values()) {
      if (s.f.role === 'specialist' && active(s) && Array.isArray(s.f.location_ids) && s.f.location_ids.includes(loc)) ids.add(s.id);
    }
  } else {
    const e = ix.byLoc.get(loc);
    if (e) for (const id of e.specialists) ids.add(id);
    for (const w of (by.working_hours || new Map()).values()) if (w.f.location_id === loc && w.f.staff_id) ids.add(w.f.staff_id);
    for (const id of [...ids]) {
      const s = staff.get(id);
      // roles other than specialist may be booked in old data; a row we cannot see stays
      if (s && ((s.f.role && s.f.role !== 'specialist') || !active(s))) ids.delete(id);
    }
  }
  const names = new Map();
  for (const r of dayRows) {
    if (!r.f.specialist_id) continue;
    ids.add(r.f.specialist_id);
    if (r.f.specialist_name) names.set(r.f.specialist_id, r.f.specialist_name);
  }
  if (me && withLocs && staff.get(me)?.f.role === 'specialist' && staff.get(me)?.f.location_ids?.includes(loc)) ids.add(me);
  const cols = [...ids].map((id) => ({ id, name: nameOf(staff.get(id)) || names.get(id) || '?', me: id === me }));
  cols.sort((a, b) => (b.me - a.me) || a.name.localeCompare(b.name) || (a.id < b.id ? -1 : 1));
  return cols;
}

// Opening hours of a branch and working hours there: weekday -> intervals, and whether
// any are set ("nothing set, nothing refused": a branch without rows is open all day).
export function hoursOf(by, loc) {
  const open = new Map();
  for (const r of (by.opening_hours || new Map()).values()) if (r.f.location_id === loc) open.set(r.f.weekday, intervals(r.f.intervals));
  const work = new Map(); // staff id -> Map weekday -> intervals
  for (const r of (by.working_hours || new Map()).values()) {
    if (r.f.location_id !== loc) continue;
    if (!work.has(r.f.staff_id)) work.set(r.f.staff_id, new Map());
    work.get(r.f.staff_id).set(r.f.weekday, intervals(r.f.intervals));
  }
  const closed = new Map();
  for (const r of (by.closed_day || new Map()).values()) if (r.f.location_id === loc) closed.set(r.f.day, r.f.reason || '');
  return { open, hasOpen: open.size > 0, work, closed };
}

// [[a, b], ...] sorted and merged.
export function merge(ivs) {
  const s = ivs.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  const out = [];
  for (const [a, b] of s) {
    const l = out[out.length - 1];
    if (l && a <= l[1]) l[1] = Math.max(l[1], b); else out.push([a, b]);
  }
  return out;
}

export function intersect(x, y) {
  const out = [];
  for (const [a, b] of x) for (const [c, d] of y) if (Math.min(b, d) > Math.max(a, c)) out.push([Math.max(a, c), Math.min(b, d)]);
  return merge(out);
}

// What of [from, to) the intervals leave free.
export function complement(ivs, from, to) {
  const out = [];
  let at = from;
  for (const [a, b] of merge(ivs)) {
    if (b <= at) continue;
    if (a >= to) break;
    if (a > at) out.push([at, a]);
    at = Math.max(at, b);
  }
  if (at < to) out.push([at, to]);
  return out;
}

// Overlapping blocks side by side: each item gets `lane` (0-based) and `lanes` (how many
// its group of overlapping items needs).
export function lanes(items) {
  const sorted = [...items].sort((x, y) => x.a - y.a || y.b - x.b);
  let group = [], ends = [], groupEnd = -Infinity;
  const close = () => { for (const it of group) it.lanes = ends.length; group = []; ends = []; };
  for (const it of sorted) {
    if (it.a >= groupEnd) close();
    let lane = ends.findIndex((e) => e <= it.a);
    if (lane < 0) { lane = ends.length; ends.push(it.b); } else ends[lane] = it.b;
    it.lane = lane;
    group.push(it);
    groupEnd = Math.max(groupEnd, it.b);
  }
  close();
  return items;
}

// Free slots of [from, to) minus busy: pieces within half-hour cells, from the quarter
// hour on, so a tap books a time the grid shows.
export function freeSlots(busy, from, to) {
  const out = [];
  const rounded = busy.map(([a, b]) => [Math.floor(a / SNAP) * SNAP, Math.ceil(b / SNAP) * SNAP]);
  for (const [fa, fb] of complement(rounded, from, to)) {
    for (let c = Math.floor(fa / CELL) * CELL; c < fb; c += CELL) {
      const a = Math.ceil(Math.max(c, fa) / SNAP) * SNAP, b = Math.floor(Math.min(c + CELL, fb) / SNAP) * SNAP;
      if (b > a) out.push([a, b]);
    }
  }
  return out;
}

// Instants of a local day's minutes: a plain sum on ordinary days, tz.js's rules on the
// days the clocks change.
export function clock(ymd, tz) {
  const [start, end] = dayRange(ymd, tz);
  const plain = end - start === 1440 * MIN;
  return {
    ymd, tz, start, end,
    ms: (min) => (plain ? start + min * MIN : toMs(ymd, Math.min(min, 1439), tz) + Math.max(0, min - 1439) * MIN),
    // the local minute of an instant on this day (0 before it, 1440 after it)
    min: (ms) => (ms <= start ? 0 : ms >= end ? 1440 : plain ? Math.floor((ms - start) / MIN) : parts(ms, tz).min),
  };
}

// An appointment's place on a day's grid, in local minutes.
function span(f, ck) {
  const a = ck.min(f.start_at);
  const b = Math.max(a + STEP, Math.min(1440, f.start_at >= ck.start ? a + (f.duration_min || 0) : ck.min(f.start_at + (f.duration_min || 0) * MIN)));
  return [a, b];
}

function timeOffOn(by, staffId, ck) {
  const out = [];
  for (const r of (by.time_off || new Map()).values()) {
    const f = r.f;
    if (f.staff_id !== staffId || !(f.from_at < ck.end && f.to_at > ck.start)) continue;
    out.push({ a: ck.min(f.from_at), b: ck.min(f.to_at), reason: f.reason || '' });
  }
  return out.filter((x) => x.b > x.a);
}

// The grid's hours: from the earliest opening or working hour to the latest of those
// days (else 08:00-20:00), widened to every appointment shown; whole hours.
export function gridHours(hours, weekdays, staffIds, spans) {
  const cands = [];
  for (const wd of weekdays) {
    if (hours.hasOpen) cands.push(...(hours.open.get(wd) || []));
    for (const id of staffIds) cands.push(...(hours.work.get(id)?.get(wd) || []));
  }
  let [from, to] = cands.length ? [Math.min(...cands.map((x) => x[0])), Math.max(...cands.map((x) => x[1]))] : DEFAULT_HOURS;
  for (const [a, b] of spans) { from = Math.min(from, a); to = Math.max(to, b); }
  from = Math.max(0, Math.floor(from / 60) * 60);
  to = Math.min(1440, Math.ceil(to / 60) * 60);
  if (to - from < 60) to = Math.min(1440, from + 60);
  return [from, to];
}

function openFor(hours, staffId, wd) {
  const loc = hours.hasOpen ? hours.open.get(wd) || [] : [[0, 1440]];
  const w = staffId && hours.work.get(staffId);
  return w ? intersect(loc, w.get(wd) || []) : merge(loc.map((x) => [...x]));
}

const live = (r, showCancelled) => showCancelled || r.f.status !== 'cancelled';

// The day view of one branch: columns with their appointments (lanes), shaded and blocked
// time and free slots, the grid's hours, the closed-day reason, the "now" line.
export function dayView({ by, ix, loc, tz, ymd, pending, me = null, showCancelled = false, now = Date.now() }) {
  const ck = clock(ymd, tz);
  const wd = weekdayOf(ymd);
  const rows = inRange(ix, loc, ck.start, ck.end, pending).filter((r) => live(r, showCancelled));
  const cols = specialists(by, ix, loc, { me, dayRows: rows });
  const hours = hoursOf(by, loc);
  const closed = hours.closed.has(ymd) ? { reason: hours.closed.get(ymd) } : null;
  const byCol = new Map(cols.map((c) => [c.id, []]));
  const spans = [];
  for (const r of rows) {
    const [a, b] = span(r.f, ck);
    spans.push([a, b]);
    byCol.get(r.f.specialist_id)?.push({ row: r, a, b });
  }
  const timeOff = new Map(cols.map((c) => [c.id, timeOffOn(by, c.id, ck)]));
  const [from, to] = gridHours(hours, [wd], cols.map((c) => c.id), spans);
  const columns = cols.map((c) => {
    const appts = lanes(byCol.get(c.id));
    const open = closed ? [] : openFor(hours, c.id, wd);
    const offs = timeOff.get(c.id);
    const busy = [...appts.filter((x) => x.row.f.status !== 'cancelled').map((x) => [x.a, x.b]), ...offs.map((x) => [x.a, x.b])];
    return {
      ...c, appts, timeOff: offs.map((x) => ({ ...x, a: Math.max(x.a, from), b: Math.min(x.b, to) })).filter((x) => x.b > x.a),
      off: complement(open, from, to),
      free: freeSlots(busy, from, to).map(([a, b]) => ({ a, b, ms: ck.ms(a) })),
    };
  });
  const nowMin = now >= ck.start && now < ck.end ? ck.min(now) : null;
  return { ymd, tz, loc, wd, from, to, closed, columns, nowMin: nowMin !== null && nowMin >= from && nowMin < to ? nowMin : null, count: rows.length };
}

// The week view of one branch: Monday to Sunday as columns, every specialist's (or one
// specialist's) appointments side by side in lanes.
export function weekView({ by, ix, loc, tz, ymd, pending, staffId = null, showCancelled = false, now = Date.now() }) {
  const hours = hoursOf(by, loc);
  const monday = addDays(ymd, 1 - weekdayOf(ymd));
  const days = [];
  const spans = [];
  const staffIds = new Set();
  for (let i = 0; i < 7; i++) {
    const d = addDays(monday, i);
    const ck = clock(d, tz);
    const rows = inRange(ix, loc, ck.start, ck.end, pending)
      .filter((r) => live(r, showCancelled) && (!staffId || r.f.specialist_id === staffId));
    const appts = rows.map((r) => { const [a, b] = span(r.f, ck); spans.push([a, b]); return { row: r, a, b }; });
    for (const r of rows) staffIds.add(r.f.specialist_id);
    days.push({ ymd: d, wd: i + 1, ck, appts: lanes(appts), closed: hours.closed.has(d) ? { reason: hours.closed.get(d) } : null,
      timeOff: staffId ? timeOffOn(by, staffId, ck) : [] });
  }
  const ids = staffId ? [staffId] : [...hours.work.keys()];
  const [from, to] = gridHours(hours, [1, 2, 3, 4, 5, 6, 7], ids, spans);
  for (const d of days) {
    const open = d.closed ? [] : openFor(hours, staffId, d.wd);
    d.off = complement(open, from, to);
    const busy = [...d.appts.filter((x) => x.row.f.status !== 'cancelled').map((x) => [x.a, x.b]), ...d.timeOff.map((x) => [x.a, x.b])];
    d.free = freeSlots(busy, from, to).map(([a, b]) => ({ a, b, ms: d.ck.ms(a) }));
    d.timeOff = d.timeOff.map((x) => ({ ...x, a: Math.max(x.a, from), b: Math.min(x.b, to) })).filter((x) => x.b > x.a);
    const n = now >= d.ck.start && now < d.ck.end ? d.ck.min(now) : null;
    d.nowMin = n !== null && n >= from && n < to ? n : null;
  }
  return { monday, loc, tz, from, to, days, staff: [...staffIds] };
}

// Grid rows (1-based, STEP minutes each) of a span within a grid starting at `from`.
export function rowsOf(a, b, from) {
  const start = Math.floor((a - from) / STEP) + 1;
  return [start, Math.max(1, Math.ceil((b - from) / STEP) + 1 - start)];
}

// A drop: the pointer's offset in px within a column -> the quarter hour it means.
export function snapMinute(px, pxPerMin, from, to, duration) {
  const m = from + Math.round(px / pxPerMin / SNAP) * SNAP;
  return Math.max(from, Math.min(m, to - Math.max(SNAP, Math.min(duration, to - from))));
}

// The day a date parameter names, else today at the branch.
export function dayParam(s, tz, now = Date.now()) {
  if (typeof s === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(s)) {
    const [y, m, d] = s.split('-').map(Number);
    const t = new Date(Date.UTC(y, m - 1, d));
    if (t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d && y >= 2000 && y <= 2099) return s;
  }
  return parts(now, tz).ymd;
}

// What the client row says about allergies: a flag for reception (allergy_alert), the
// text itself for roles that see it.
export function allergyOf(client) {
  const f = client && client.f;
  if (!f) return false;
  return !!(f.allergy_alert || (typeof f.allergies === 'string' && f.allergies.trim()));
}
