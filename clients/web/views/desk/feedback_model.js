// What the desk's message and feedback screens derive, without the DOM: the branch's
// reviews from the local copy (filters, summary), the statistics answer made into rows
// to draw (bars, trend against the previous period), message states and counts in
// words' keys, tomorrow's calls. Pure functions: node-tested in
// clients/web/tests/test_feedback.mjs. Texts are looked up by the views (prefix fb_).
import { parts, addDays, mondayOf, toMs } from '../../tz.js';

export const REPLIERS = ['owner', 'manager'];
export const mayReply = (role) => REPLIERS.includes(role);
export const maySeeStats = (role) => REPLIERS.includes(role);
export const mayCall = (role) => ['owner', 'manager', 'reception'].includes(role);
export const maySeeMessages = (role) => ['owner', 'manager', 'reception'].includes(role);

const yes = (v) => v === true || v === 1;
export const isHidden = (f) => yes(f.hidden);
export const isHighlighted = (f) => yes(f.highlighted);
export const isAnswered = (f) => typeof f.reply === 'string' && f.reply.trim() !== '';

// The reviews of a branch (null: every branch this device holds), newest first.
// filter: {stars: 0 (any) | 1..5, unanswered: bool, show: 'all' | 'shown' | 'hidden'}.
export function reviewsOf(by, location, filter = {}) {
  const { stars = 0, unanswered = false, show = 'all' } = filter;
  const out = [];
  for (const r of by.review?.values() || []) {
    const f = r.f;
    if (location && f.location_id !== location) continue;
    if (stars && Number(f.stars) !== Number(stars)) continue;
    if (unanswered && isAnswered(f)) continue;
    if (show === 'shown' && isHidden(f)) continue;
    if (show === 'hidden' && !isHidden(f)) continue;
    out.push(r);
  }
  return out.sort((a, b) => (b.f.created_at || 0) - (a.f.created_at || 0) || (a.id < b.id ? 1 : -1));
}

// Count, average (one decimal) and how many of each star, of the rows given.
export function summary(rows) {
  const dist = [0, 0, 0, 0, 0];
  let sum = 0;
  for (const r of rows) {
    const s = Number((r.f || r).stars);
    if (s >= 1 && s <= 5) { dist[s - 1]++; sum += s; }
  }
  const n = dist.reduce((a, b) => a + b, 0);
  return { n, average: n ? Math.round((sum / n) * 10) / 10 : null, dist };
}

// Who wrote it, as staff may see it: the card's name when this device holds the card,
// else null (the view says "a client"). Never an id.
export const clientName = (by, f) => by.client?.get(f.client_id)?.f.name || null;
export const staffName = (by, id) => (id && by.staff?.get(id)?.f.display_name) || null;

// The visit's date "YYYY-MM-DD": the visit row's when the device holds it, else the
// review's own `visit_date`, else the day it was written (branch clock).
export function visitDate(by, f) {
  const v = f.visit_id && by.visit?.get(f.visit_id);
  if (v?.f.visit_date) return v.f.visit_date;
  if (f.visit_date) return f.visit_date;
  if (f.created_at) return parts(f.created_at, by.location?.get(f.location_id)?.f.time_zone).ymd;
  return null;
}

// Rounded percent of part in whole; null when whole is 0.
export const pct = (part, whole) => (whole ? Math.round((100 * part) / whole) : null);

// The bars of a star distribution, 5 stars first: {stars, n, pct}.
export function bars(dist) {
  const d = Array.isArray(dist) ? dist.map(Number) : [1, 2, 3, 4, 5].map((s) => Number(dist?.[s] ?? dist?.[String(s)] ?? 0));
  const n = d.reduce((a, b) => a + (b || 0), 0);
  return [5, 4, 3, 2, 1].map((s) => ({ stars: s, n: d[s - 1] || 0, pct: n ? Math.round((100 * (d[s - 1] || 0)) / n) : 0 }));
}

// NPS from its three counts: % promoters − % detractors, a whole number (−100..100).
export function nps(promoters, passives, detractors) {
  const n = promoters + passives + detractors;
  return n ? Math.round((100 * (promoters - detractors)) / n) : null;
}

// Up, down or flat against the previous period; null when either is missing. Every
// figure shown is better when higher (CES here asks "how easy", 1–5).
export function trend(cur, prev, eps = 0) {
  if (cur === null || cur === undefined || prev === null || prev === undefined) return null;
  const d = Math.round((Number(cur) - Number(prev)) * 10) / 10;
  if (Math.abs(d) <= eps) return { dir: 'flat', delta: 0 };
  return { dir: d > 0 ? 'up' : 'down', delta: d };
}

// The periods a statistics view asks for: group 'week' | 'month', the period holding
// `ymd` moved by `step` periods; {from, to} local dates inclusive, and the previous one.
export function period(group, ymd, step = 0) {
  if (group === 'month') {
    let [y, m] = ymd.split('-').map(Number);
    m += step;
    while (m < 1) { m += 12; y--; }
    while (m > 12) { m -= 12; y++; }
    const first = `${y}-${String(m).padStart(2, '0')}-01`;
    const next = m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
    const pm = m === 1 ? 12 : m - 1, py = m === 1 ? y - 1 : y;
    const pfirst = `${py}-${String(pm).padStart(2, '0')}-01`;
    return { from: first, to: addDays(next, -1), prevFrom: pfirst, prevTo: addDays(first, -1) };
  }
  const mon = addDays(mondayOf(ymd), 7 * step);
  return { from: mon, to: addDays(mon, 6), prevFrom: addDays(mon, -7), prevTo: addDays(mon, -1) };
}

// Instants of a local period (for message_counts, which takes ms): [from 00:00, the day
// after `to` 00:00) on the branch's clock.
export const periodMs = (p, tz) => ({ from: toMs(p.from, 0, tz), to: toMs(addDays(p.to, 1), 0, tz) });

const num = (v) => (v === null || v === undefined || v === '' || Number.isNaN(Number(v)) ? null : Number(v));
const first = (...v) => { for (const x of v) if (x !== undefined && x !== null) return x; return null; };

// One line of the `stats` answer (a branch, specialist or service in one period; the
// feedback helper's shape, PROTOCOL "stats": `figures` and `previous` with stars[1..5],
// reviews, rating_avg, csat_answers, csat_pct, nps (the score), nps_answers, promoters,
// passives, detractors, ces_answers, ces_avg, review_requests, review_rate, surveys_sent,
// survey_answers, survey_rate) in the shape the view draws: {key, name, period,
// reviews, csat, nps, ces, rates, prev}.
export function figures(g) {
  if (!g) return null;
  const b = Array.isArray(g.stars) ? bars(g.stars) : null;
  // flat (nps = the score, nps_answers, promoters …); an object `nps` is read too
  const np = g.nps && typeof g.nps === 'object' ? g.nps
    : { score: g.nps, answers: g.nps_answers, promoters: g.promoters, passives: g.passives, detractors: g.detractors };
  const pro = num(np.promoters) || 0, pas = num(np.passives) || 0, det = num(np.detractors) || 0;
  const rates = {};
  if (num(g.review_requests)) rates.review = { asked: num(g.review_requests), answered: num(g.reviews) || 0, pct: num(g.review_rate) };
  if (num(g.surveys_sent)) rates.survey = { asked: num(g.surveys_sent), answered: num(g.survey_answers) || 0, pct: num(g.survey_rate) };
  return {
    reviews: { n: num(g.reviews) ?? (b ? b.reduce((a, x) => a + x.n, 0) : 0), average: num(g.rating_avg), bars: b },
    csat: { n: num(g.csat_answers) || 0, pct: num(g.csat_pct) },
    nps: { n: num(np.answers) ?? (pro + pas + det), promoters: pro, passives: pas, detractors: det, score: num(np.score) ?? nps(pro, pas, det) },
    ces: { n: num(g.ces_answers) || 0, average: num(g.ces_avg) },
    rates,
  };
}

export function statRow(l) {
  return { key: l.key || '', name: l.name || '', period: l.period || null, ...figures(l.figures || {}), prev: figures(l.previous) };
}

// The lines of one period, one per key: the line of the period that starts at `from`
// (its `previous` is the period before), else the key's total.
export function statsTable(answer, from) {
  const best = new Map();
  for (const l of answer?.lines || []) {
    const have = best.get(l.key);
    if (l.period === from || !have || (have.period !== from && l.period === 'total')) best.set(l.key, l);
  }
  return [...best.values()].map(statRow).sort((a, b) => String(a.name).localeCompare(String(b.name)));
}

// message_counts' [{kind, channel, state, n}] → one line per kind and channel with the
// states as columns and a total, kinds in the order of the contract.
export const KINDS = ['confirmation', 'change', 'cancellation', 'reminder', 'reminder2', 'review_request', 'survey',
  'birthday', 'campaign', 'reconsent'];
export const STATES = ['queued', 'sending', 'sent', 'failed', 'dropped', 'unknown'];
export function countsTable(counts) {
  const lines = new Map();
  for (const c of counts || []) {
    const k = `${c.kind}\u0000${c.channel || ''}`;
    let l = lines.get(k);
    if (!l) lines.set(k, (l = { kind: c.kind, channel: c.channel || '', states: {}, total: 0 }));
    l.states[c.state] = (l.states[c.state] || 0) + Number(c.n || 0);
    l.total += Number(c.n || 0);
  }
  const rank = (k) => { const i = KINDS.indexOf(k); return i < 0 ? KINDS.length : i; };
  return [...lines.values()].sort((a, b) => rank(a.kind) - rank(b.kind) || String(a.kind).localeCompare(String(b.kind))
    || a.channel.localeCompare(b.channel));
}

// The text key of a message's state: a dropped one says why.
export function stateKey(m) {
  if (m.state === 'dropped' && m.drop_reason) return 'fb_drop_' + m.drop_reason;
  return 'fb_st_' + (m.state || 'unknown');
}
export const kindKey = (kind) => 'fb_kind_' + kind;

// The moment a message line shows: sent, else due, else made.
export const messageTime = (m) => first(m.sent_at, m.due_at, m.created_at);

// Tomorrow on the branch's clock.
export const tomorrow = (tz, now = Date.now()) => addDays(parts(now, tz).ymd, 1);

// The unconfirmed list from the local copy, for a tablet offline: the branch's booked
// appointments of that local day, soonest first, in the op's shape (reminder unknown).
export function localUnconfirmed(by, location, day, tz) {
  const out = [];
  for (const r of by.appointment?.values() || []) {
    const f = r.f;
    if (f.location_id !== location || f.status !== 'booked') continue;
    if (parts(f.start_at, tz).ymd !== day) continue;
    const c = by.client?.get(f.client_id)?.f;
    out.push({ id: r.id, start_at: f.start_at, client_id: f.client_id, client_name: c?.name || null, phone: c?.phone || null,
      specialist_name: f.specialist_name || staffName(by, f.specialist_id), reminder_state: undefined });
  }
  return out.sort((a, b) => a.start_at - b.start_at);
}

// A phone number as a tel: link (digits and a leading +; the rest is how people write it).
export function telHref(phone) {
  const s = String(phone || '').trim();
  const digits = s.replace(/[^\d+]/g, '').replace(/(?!^)\+/g, '');
  return digits.replace(/\D/g, '').length >= 3 ? `tel:${digits}` : null;
}

// Marks "called" kept on this tablet per branch and day: {id: ms}.
export const calledKey = (location, day) => `kt.fb.called.${location}.${day}`;
