// What the card screens derive from the local copy: which fields a role sees and
// writes (README "Access policy" and "Writes": the server enforces them; here they only
// decide what to show), field checks as PROTOCOL "Field values" states them, the
// client's appointments and visits, and values in words for the card history.
import { t, when, dateOnly, locale, zoneLabel } from '../../i18n.js';
import { parts } from '../../tz.js';

export const CONTACT = ['phone', 'email', 'address', 'birthday'];
export const HEALTH = ['allergies', 'conditions', 'medications', 'skin_hair_type', 'patch_tests'];
export const NOTES = ['preferences', 'internal_notes'];

const SEES = {
  owner: { contact: true, health: true, visitNotes: true },
  manager: { contact: true, health: true, visitNotes: true },
  reception: { contact: true, health: false, visitNotes: false },
  specialist: { contact: false, health: true, visitNotes: true },
};
export const sees = (role) => SEES[role] || { contact: false, health: false, visitNotes: false };

const WRITES = {
  owner: ['name', ...CONTACT, ...HEALTH, ...NOTES],
  manager: ['name', ...CONTACT, ...HEALTH, ...NOTES],
  reception: ['name', 'email', 'phone', 'birthday', 'address', 'preferences'],
  specialist: [...HEALTH, 'internal_notes'],
};
export const writes = (role) => WRITES[role] || [];
export const writesVisits = (role) => ['owner', 'manager', 'specialist'].includes(role);
export const readsHistory = (role) => role === 'owner' || role === 'manager';

// A real calendar date "YYYY-MM-DD" from..to (inclusive, as strings).
export function isDate(s, from, to) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(s));
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  if (d.getUTCFullYear() !== +m[1] || d.getUTCMonth() !== +m[2] - 1 || d.getUTCDate() !== +m[3]) return false;
  return s >= from && s <= to;
}

const today = () => { const d = new Date(); return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`; };

// The changed fields of a card edit, or {error}: text naming the field. An emptied
// field is sent as null (PROTOCOL: nil clears a field and is not checked).
export function cardChanges(before, draft, fields) {
  const out = {};
  for (const k of fields) {
    if (!(k in draft)) continue;
    const v = String(draft[k] ?? '').trim();
    const old = before[k] == null ? '' : String(before[k]);
    if (v === old.trim()) continue;
    out[k] = v === '' ? null : v;
  }
  if ('name' in out && !out.name) return { error: t('card_bad_name') };
  if (out.birthday && !isDate(out.birthday, '1900-01-01', today())) return { error: t('card_bad_birthday') };
  return { changes: out };
}

export const tzOf = (by, locId) => by.location?.get(locId)?.f.time_zone || undefined;

// "Monday 4 March 2030, 10:30" at the branch's clock, with its zone when not ours.
export function whenAt(by, appt) {
  const tz = tzOf(by, appt.location_id);
  const z = zoneLabel(appt.start_at, tz);
  return when(appt.start_at, tz) + (z ? ` (${z})` : '');
}

export const serviceNames = (by, f) => (f.services || [])
  .map((id, i) => (Array.isArray(f.service_names) && f.service_names[i]) || by.service?.get(id)?.f.name || '')
  .filter(Boolean);
export const specialistName = (by, f) => f.specialist_name || by.staff?.get(f.specialist_id)?.f.display_name || '';
export const branchName = (by, id) => by.location?.get(id)?.f.name || '';

// The next appointment of each client (not cancelled, not over): client id -> f.
// Kept while desk.by.appointment is the same Map.
let nextMemo = { src: null, map: new Map() };
export function nextByClient(by, now = Date.now()) {
  if (nextMemo.src === by.appointment) return nextMemo.map;
  const map = new Map();
  for (const r of by.appointment?.values() || []) {
    const f = r.f;
    if (!f.client_id || f.status === 'cancelled' || f.status === 'no_show') continue;
    if (f.start_at + (f.duration_min || 0) * 60000 <= now) continue;
    const o = map.get(f.client_id);
    if (!o || f.start_at < o.start_at) map.set(f.client_id, f);
  }
  nextMemo = { src: by.appointment, map };
  return map;
}

// The client's appointments at the branches this device sees: [upcoming soonest
// first, past newest first].
export function appointmentsOf(by, clientId, now = Date.now()) {
  const up = [], past = [];
  for (const r of by.appointment?.values() || []) {
    if (r.f.client_id !== clientId) continue;
    const end = r.f.start_at + (r.f.duration_min || 0) * 60000;
    (end > now && r.f.status !== 'done' ? up : past).push(r);
  }
  up.sort((a, b) => a.f.start_at - b.f.start_at);
  past.sort((a, b) => b.f.start_at - a.f.start_at);
  return [up, past];
}

export function visitsOf(by, clientId) {
  return [...(by.visit?.values() || [])].filter((r) => r.f.client_id === clientId)
    .sort((a, b) => (a.f.visit_date < b.f.visit_date ? 1 : a.f.visit_date > b.f.visit_date ? -1 : a.id < b.id ? 1 : -1));
}

// Today's appointments of the client (branch clock), for "fill in from today's".
export function todaysAppointments(by, clientId, now = Date.now()) {
  return [...(by.appointment?.values() || [])].filter((r) => {
    if (r.f.client_id !== clientId || r.f.status === 'cancelled' || r.f.status === 'no_show') return false;
    const tz = tzOf(by, r.f.location_id);
    return parts(r.f.start_at, tz).ymd === parts(now, tz).ymd;
  }).sort((a, b) => a.f.start_at - b.f.start_at);
}

export const localYmd = (by, locId, now = Date.now()) => parts(now, tzOf(by, locId)).ymd;

// The latest entry of each consent purpose (a withdrawal wins a tie), by purpose.
export function consentsOf(by, clientId) {
  const best = new Map();
  for (const r of by.consent?.values() || []) {
    const f = r.f;
    if (f.client_id !== clientId) continue;
    const b = best.get(f.purpose);
    if (!b || f.at > b.at || (f.at === b.at && !f.granted)) best.set(f.purpose, f);
  }
  return [...best.values()].sort((a, b) => String(a.purpose).localeCompare(String(b.purpose)));
}

export function dateTimeZone(ms, tz) {
  const o = { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' };
  try {
    return new Intl.DateTimeFormat(locale(), tz ? { ...o, timeZone: tz } : o).format(ms);
  } catch {
    return new Intl.DateTimeFormat(locale(), o).format(ms);
  }
}

export function label(field) {
  const k = 'card_f_' + field;
  const s = t(k);
  return s === k ? field.replace(/_/g, ' ') : s;
}

const BOOL = new Set(['portal_enabled', 'granted', 'active']);

// A value of the audit log's before/after, in words: dates, money, service names,
// status words, names for ids; never a UUID or JSON.
export function valueText(by, org, entity, field, v, other) {
  if (v === null || v === undefined || v === '') return t('card_blank');
  if (typeof v === 'boolean' || (BOOL.has(field) && (v === 0 || v === 1))) return v ? t('card_yes') : t('card_no');
  if (field === 'locations') return String(v).split(',').filter(Boolean).map((id) => branchName(by, id) || '?').join(', ') || t('card_blank');
  if (field === 'start_at' || field === 'at' || field === 'from_at' || field === 'to_at') {
    const tz = tzOf(by, other?.location_id);
    return typeof v === 'number' ? dateTimeZone(v, tz) : String(v);
  }
  if (field === 'birthday' || field === 'visit_date' || field === 'day') return dateOnly(v);
  if (field === 'price_cents' && typeof v === 'number') {
    try {
      return new Intl.NumberFormat(locale(), { style: 'currency', currency: org?.currency || 'EUR' }).format(v / 100);
    } catch { return (v / 100).toFixed(2); }
  }
  if (field === 'duration_min') return t('card_min', { n: v });
  if (field === 'status') return t('card_st_' + v) === 'card_st_' + v ? String(v) : t('card_st_' + v);
  if (field === 'purpose') return t('card_p_' + v) === 'card_p_' + v ? String(v) : t('card_p_' + v);
  if (field === 'source') return t('card_s_' + v) === 'card_s_' + v ? String(v) : t('card_s_' + v);
  if (field === 'services') { // an array on the wire, a comma list in the audit log
    const ids = Array.isArray(v) ? v : String(v).split(',').filter(Boolean);
    const names = Array.isArray(other?.service_names) ? other.service_names : [];
    return ids.map((id, i) => names[i] || by.service?.get(id)?.f.name || '?').join(', ') || t('card_blank');
  }
  if (field === 'photos') return String(Array.isArray(v) ? v.length : String(v).split(',').filter(Boolean).length);
  if (field === 'location_id') return branchName(by, v) || '?';
  if (field === 'specialist_id' || field === 'recorded_by') return by.staff?.get(v)?.f.display_name || other?.specialist_name || '?';
  if (field === 'client_id') return by.client?.get(v)?.f.name || '?';
  if (field === 'appointment_id') {
    const a = by.appointment?.get(v);
    return a ? whenAt(by, a.f) : '?';
  }
  if (field === 'overlaps' && Array.isArray(v)) {
    return v.map((id) => { const a = by.appointment?.get(id); return a ? whenAt(by, a.f) : '…'; }).join(', ');
  }
  if (Array.isArray(v)) return v.map(String).join(', ');
  if (typeof v === 'object') return Object.entries(v).map(([k, x]) => `${label(k)}: ${valueText(by, org, entity, k, x, v)}`).join('; ');
  return String(v);
}
