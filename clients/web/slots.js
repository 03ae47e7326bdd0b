// The booking rules as the server judges them (PROTOCOL.md "Booking rules",
// server/domain/booking.c), on the local copy, and the next free slot they allow.
// Pure: rows in, answers out; no DOM, no clock (callers pass `from`). The booking screen
// warns with `judge` before it saves and proposes starts with `nextFree`, so every start
// the finder proposes is one `judge` (and so the server) accepts.
import { parts, toMs, addDays, intervals } from './tz.js';

export const RULES = ['location_service', 'specialist_service', 'closed_day', 'opening_hours',
  'working_hours', 'time_off', 'overlap', 'buffer'];
const MIN = 60000;
const DAY = 86400000;

const list = (v) => (Array.isArray(v) ? v : v ? String(v).split(',').filter(Boolean) : []);

// Everything the rules read about one location, from `by` (Map per table of {id, f}).
// Appointments, time off and working hours are kept per specialist; a specialist's
// appointments at every location count for overlap and buffer (as on the server).
export function context(by, locationId) {
  const loc = by.location?.get(locationId);
  const ctx = {
    locationId,
    loc: loc ? loc.f : {},
    tz: loc?.f.time_zone || 'UTC',
    services: by.service || new Map(),
    staff: by.staff || new Map(),
    openingSet: false,
    opening: new Map(), // weekday -> "09:00-17:00"
    closed: new Map(), // ymd -> reason
    working: new Map(), // staff id -> Map weekday -> intervals (the map exists: hours set)
    timeOff: new Map(), // staff id -> [{from, to}]
    appts: new Map(), // staff id -> [{id, start, end, buffer, services}] by start
  };
  for (const r of by.opening_hours?.values() || []) {
    if (r.f.location_id !== locationId) continue;
    ctx.openingSet = true;
    ctx.opening.set(Number(r.f.weekday), r.f.intervals || '');
  }
  for (const r of by.closed_day?.values() || []) {
    if (r.f.location_id === locationId) ctx.closed.set(r.f.day, r.f.reason || '');
  }
  for (const r of by.working_hours?.values() || []) {
    if (r.f.location_id !== locationId) continue;
    if (!ctx.working.has(r.f.staff_id)) ctx.working.set(r.f.staff_id, new Map());
    ctx.working.get(r.f.staff_id).set(Number(r.f.weekday), r.f.intervals || '');
  }
  for (const r of by.time_off?.values() || []) {
    if (!ctx.timeOff.has(r.f.staff_id)) ctx.timeOff.set(r.f.staff_id, []);
    ctx.timeOff.get(r.f.staff_id).push({ from: Number(r.f.from_at), to: Number(r.f.to_at) });
  }
  for (const r of by.appointment?.values() || []) {
    const f = r.f;
    if (!f.specialist_id || f.status === 'cancelled' || f.start_at == null || !f.duration_min) continue;
    if (!ctx.appts.has(f.specialist_id)) ctx.appts.set(f.specialist_id, []);
    const start = Number(f.start_at);
    ctx.appts.get(f.specialist_id).push({ id: r.id, start, end: start + Number(f.duration_min) * MIN,
      buffer: bufferOf(ctx, list(f.services)).min, client_id: f.client_id });
  }
  for (const a of ctx.appts.values()) a.sort((x, y) => x.start - y.start);
  return ctx;
}

// The longest buffer of the services, and the service that has it.
export function bufferOf(ctx, services) {
  let min = 0, name = '';
  for (const id of services) {
    const s = ctx.services.get(id);
    const b = Number(s?.f.buffer_min) || 0;
    if (b > min) { min = b; name = s.f.name || ''; }
  }
  return { min, name };
}

// A service's locations: `location_ids`, else (a row written before the list) its one
// `location_id`; empty = every location.
export function serviceLocations(f) {
  const l = list(f.location_ids);
  return l.length ? l : f.location_id ? [f.location_id] : [];
}
export const offeredAt = (f, locationId) => { const l = serviceLocations(f); return !l.length || l.includes(locationId); };
export const doneBy = (f, staffId) => { const l = list(f.specialist_ids); return !l.length || !staffId || l.includes(staffId); };

// The local wall clock of [start, start + dur) as booking.c's load_place has it: the
// start's day and minute, the end's minute (+1440 when it ends the next day; an end
// past midnight is beyond every interval: 2880).
export function localSpan(tz, start, dur) {
  const ls = parts(start, tz), le = parts(start + dur * MIN, tz);
  let emin = le.min;
  if (le.ymd !== ls.ymd) emin += 1440;
  if (emin > 1440 && (emin > 2880 || le.min)) emin = 2880;
  return { sday: ls.ymd, eday: le.ymd, wd: ls.weekday, smin: ls.min, emin };
}

const inside = (iv, smin, emin) => intervals(iv).some(([a, b]) => a <= smin && emin <= b);

// First index of a sorted appointment list starting at or after t.
function lowerBound(a, t) {
  let lo = 0, hi = a.length;
  while (lo < hi) { const m = (lo + hi) >> 1; if (a[m].start < t) lo = m + 1; else hi = m; }
  return lo;
}

// The rules a booking breaks, in the server's order: [{rule, ...details}] (empty: the
// server accepts it). b: {specialist_id, start_at, duration_min, services, self (the
// appointment's own id when it is moved)}. `opts.time` false leaves out the rules that
// do not depend on the time (the finder filters services and specialists first);
// `opts.first` stops at the first broken rule. `span` may be given (the finder knows it).
export function judge(ctx, b, opts = {}, span) {
  const out = [];
  const add = (x) => { out.push(x); return opts.first; };
  const services = list(b.services);
  const start = Number(b.start_at), dur = Number(b.duration_min), end = start + dur * MIN;
  const spec = b.specialist_id;
  if (opts.time !== false) {
    for (const id of services) {
      const s = ctx.services.get(id);
      if (s && !offeredAt(s.f, ctx.locationId) && add({ rule: 'location_service', service: s.f.name })) return out;
      if (s && !doneBy(s.f, spec) && add({ rule: 'specialist_service', service: s.f.name })) return out;
    }
  }
  const sp = span || localSpan(ctx.tz, start, dur);
  const closed = ctx.closed.has(sp.sday) ? sp.sday : sp.emin > 1440 && ctx.closed.has(sp.eday) ? sp.eday : null;
  if (closed && add({ rule: 'closed_day', day: closed, reason: ctx.closed.get(closed) })) return out;
  if (ctx.openingSet) {
    const iv = ctx.opening.get(sp.wd) || '';
    if (!inside(iv, sp.smin, sp.emin) && add({ rule: 'opening_hours', hours: iv, wd: sp.wd, day: sp.sday })) return out;
  }
  const wh = ctx.working.get(spec);
  if (wh) {
    const iv = wh.get(sp.wd) || '';
    if (!inside(iv, sp.smin, sp.emin) && add({ rule: 'working_hours', hours: iv, wd: sp.wd, day: sp.sday })) return out;
  }
  for (const o of ctx.timeOff.get(spec) || []) {
    if (o.from < end && o.to > start) { if (add({ rule: 'time_off', from: o.from, to: o.to })) return out; break; }
  }
  const appts = ctx.appts.get(spec) || [];
  // appointments are at most a day long (plus DST): those starting two days before on
  // hold every one that can overlap this one or whose buffer reaches it
  const i0 = lowerBound(appts, start - 2 * DAY);
  for (let i = i0; i < appts.length && appts[i].start < end; i++) {
    const a = appts[i];
    if (a.id !== b.self && a.end > start) { if (add({ rule: 'overlap', other: a })) return out; break; }
  }
  const buf = bufferOf(ctx, services);
  if (buf.min > 0) {
    for (let i = lowerBound(appts, end); i < appts.length && appts[i].start < end + buf.min * MIN; i++) {
      if (appts[i].id === b.self) continue;
      add({ rule: 'buffer', other: appts[i], after: 'this', min: buf.min, service: buf.name });
      return out; // the server says one buffer refusal
    }
  }
  // the one before it: the latest that ends by the start and whose buffer reaches it
  for (let i = lowerBound(appts, start) - 1; i >= i0; i--) {
    const a = appts[i];
    if (a.id === b.self || a.end > start) continue;
    if (a.end + a.buffer * MIN > start) { add({ rule: 'buffer', other: a, after: 'other', min: a.buffer }); break; }
  }
  return out;
}

// Instants of the quarter hours of a local day that exist on the wall clock there (the
// hour skipped in spring has none; the hour repeated in autumn counts once, the first),
// with their local minute.
export function grid(ymd, tz, step = 15) {
  const out = [];
  const d0 = toMs(ymd, 0, tz), d1 = toMs(addDays(ymd, 1), 0, tz);
  if (d1 - d0 === DAY && parts(d0 + DAY / 2, tz).min === 720) {
    for (let m = 0; m < 1440; m += step) out.push([d0 + m * MIN, m]);
    return out;
  }
  for (let m = 0; m < 1440; m += step) {
    const t = toMs(ymd, m, tz);
    const p = parts(t, tz);
    if (p.ymd === ymd && p.min === m) out.push([t, m]);
  }
  return out;
}

// The first start at or after `from` (on the quarter-hour grid of the location's wall
// clock), within `days` local days, that breaks none of the rules, for one of the
// `specialists` (the first of the list that is free at the earliest time).
// q: {specialists: [ids], duration_min, services, from, days = 60, self, step = 15}
// -> {start_at, specialist_id} or null.
export function nextFree(ctx, q) {
  const dur = Number(q.duration_min);
  if (!(dur > 0)) return null;
  const services = list(q.services);
  // services the location does not offer cannot be booked at any time: no slot
  for (const id of services) {
    const s = ctx.services.get(id);
    if (s && !offeredAt(s.f, ctx.locationId)) return null;
  }
  const specs = q.specialists.filter((sid) => services.every((id) => { const s = ctx.services.get(id); return !s || doneBy(s.f, sid); }));
  if (!specs.length) return null;
  const tz = ctx.tz;
  const from = Number(q.from);
  let ymd = parts(from, tz).ymd;
  for (let d = 0; d < (q.days || 60); d++, ymd = addDays(ymd, 1)) {
    if (ctx.closed.has(ymd)) continue;
    const wd = ((new Date(`${ymd}T00:00:00Z`).getUTCDay() + 6) % 7) + 1;
    if (ctx.openingSet && !intervals(ctx.opening.get(wd)).length) continue;
    const daySpecs = specs.filter((sid) => { const w = ctx.working.get(sid); return !w || intervals(w.get(wd)).length; });
    if (!daySpecs.length) continue;
    for (const [t, m] of grid(ymd, tz, q.step || 15)) {
      if (t < from) continue;
      const span = localSpan(tz, t, dur);
      for (const sid of daySpecs) {
        const b = { specialist_id: sid, start_at: t, duration_min: dur, services, self: q.self };
        if (!judge(ctx, b, { time: false, first: true }, span).length) return { start_at: t, specialist_id: sid };
      }
    }
  }
  return null;
}
