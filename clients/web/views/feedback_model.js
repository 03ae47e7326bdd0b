// What the link page (/l/TOKEN, views/link.js) and the portal's review of a visit
// (views/review.js) decide, without a DOM: pure functions, unit-tested under node
// (clients/web/tests/test_portal_feedback.mjs).

export const WEEK = 7 * 24 * 3600 * 1000;
export const TEXT_MAX = 2000; // bytes of UTF-8, as the server counts (PROTOCOL "link")

// The consent purposes a link may name; others are shown as "these messages".
export const PURPOSES = ['marketing_email', 'marketing_sms', 'birthday_greetings', 'review_requests'];

// Which screen an `open` answer shows: {kind, stage}. stage:
//   confirm     ask | done | cancelled | past
//   unsubscribe ask | done
//   reconsent   ask | done
//   review      ask | edit (a review exists and may change) | closed (exists, no more changes)
//   survey      ask | done
//   other kinds unknown
export function linkScreen(r, now = Date.now()) {
  const kind = r?.kind || '';
  switch (kind) {
    case 'confirm': {
      const a = r.appointment || {};
      if (a.status === 'cancelled' || r.cancelled) return { kind, stage: 'cancelled' };
      if (r.done || a.status === 'confirmed') return { kind, stage: 'done' };
      if ((a.start_at && a.start_at <= now) || ['done', 'no_show', 'in_progress'].includes(a.status)) return { kind, stage: 'past' };
      return { kind, stage: 'ask' };
    }
    case 'unsubscribe':
    case 'reconsent':
      return { kind, stage: r.done ? 'done' : 'ask' };
    case 'review': {
      const rv = r.review;
      if (!rv || !rv.stars) return { kind, stage: 'ask' };
      return { kind, stage: editable(rv, now) ? 'edit' : 'closed' };
    }
    case 'survey':
      return { kind, stage: r.done || answered(r.answer) ? 'done' : 'ask' };
    default:
      return { kind, stage: 'unknown' };
  }
}

// A survey's answer given before: a score (0 is an NPS answer); nil or -1 is none.
export function answered(score) {
  return typeof score === 'number' && score >= 0;
}

// Which page an error shows: the token's own problems, the network, or the rest.
export function errorScreen(code) {
  if (code === 'token_invalid' || code === 'not_found') return 'invalid';
  if (code === 'token_expired') return 'expired';
  if (code === 'network' || code === 'timeout') return 'offline';
  if (code === 'rate_limited' || code === 'busy') return 'busy';
  return 'error';
}

// The token of /l/TOKEN (22 characters of base64url, links.h); null for anything else.
export function tokenOf(pathname) {
  const m = /^\/l\/([A-Za-z0-9_-]{16,128})\/?$/.exec(String(pathname || ''));
  return m ? m[1] : null;
}

// The answers a survey question takes: CSAT and CES 1-5, NPS 0-10.
export function scale(question) {
  if (question === 'nps') return [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  return [1, 2, 3, 4, 5];
}

// NPS groups (9-10 promoters, 0-6 detractors), to colour the row.
export function npsGroup(score) {
  if (score >= 9) return 'promoter';
  if (score <= 6) return 'detractor';
  return 'passive';
}

export function bytes(s) {
  return new TextEncoder().encode(String(s || '')).length;
}

// Why a review cannot be sent, as a text key (with vars), or null.
export function reviewProblem({ stars, text }) {
  if (!Number.isInteger(stars) || stars < 1 || stars > 5) return { key: 'rv_need_stars' };
  const n = bytes(text);
  if (n > TEXT_MAX) return { key: 'rv_too_long', vars: { n } };
  return null;
}

// Until when a review may change: the server's word (editable_until) when it gives one,
// else a week after it was written.
export function editableUntil(rv) {
  if (!rv) return 0;
  if (rv.editable_until) return rv.editable_until;
  return rv.created_at ? rv.created_at + WEEK : 0;
}

export function editable(rv, now = Date.now()) {
  return editableUntil(rv) > now;
}

// The client's review of a visit in the synced rows (table `review`), or null;
// a row of another client is never theirs (the server sends only their own).
export function reviewOf(by, visitId, clientId) {
  let best = null;
  for (const r of by?.review?.values() || []) {
    const f = r.f || {};
    if (f.visit_id !== visitId) continue;
    if (clientId && f.client_id && f.client_id !== clientId) continue;
    if (!best || (f.created_at || 0) < (best.f.created_at || 0)) best = r;
  }
  return best ? { id: best.id, v: best.v, ...best.f } : null;
}

// The push of a new review or of a changed one (the portal's write path: a `push`
// with one mutation, as the consents are pushed). A client writes only visit_id,
// stars, text and public_ok; the server fills in the branch, the client, the
// specialist and created_at from the visit (domain/feedback.c).
export function reviewMutation({ existing, id, visitId, stars, text, publicOk, mid, at }) {
  const body = { stars, text: text || '', public_ok: !!publicOk };
  if (existing) {
    return { mid, tbl: 'review', id: existing.id, op: 'update', base: existing.v || 1, at, f: body };
  }
  return { mid, tbl: 'review', id, op: 'create', base: 0, at, f: { visit_id: visitId, ...body } };
}

// "Tuesday 4 March 2030" and "10:30" in the branch's zone, in the chosen locale, and
// the zone's short name when it is not the device's own (as the portal's home shows).
export function dayTime(ms, tz, loc, deviceZone) {
  const opts = (o) => (tz ? { ...o, timeZone: tz } : o);
  let day, time, zone = '';
  try {
    day = new Intl.DateTimeFormat(loc, opts({ weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' })).format(ms);
    time = new Intl.DateTimeFormat(loc, opts({ hour: '2-digit', minute: '2-digit' })).format(ms);
    if (tz && tz !== deviceZone) {
      const p = new Intl.DateTimeFormat(loc, opts({ hour: 'numeric', timeZoneName: 'short' })).formatToParts(ms)
        .find((x) => x.type === 'timeZoneName');
      zone = p ? p.value : '';
    }
  } catch { // a zone this browser does not know: the device's own
    day = new Intl.DateTimeFormat(loc, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }).format(ms);
    time = new Intl.DateTimeFormat(loc, { hour: '2-digit', minute: '2-digit' }).format(ms);
  }
  return { day, time, zone };
}

// A date "2030-03-04" or an instant in ms as a day in the locale (no zone for dates).
export function dayOf(v, loc, tz) {
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) {
    const [y, m, d] = v.split('-').map(Number);
    return new Intl.DateTimeFormat(loc, { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(Date.UTC(y, m - 1, d));
  }
  if (typeof v === 'number') {
    try {
      return new Intl.DateTimeFormat(loc, { day: 'numeric', month: 'long', year: 'numeric', ...(tz ? { timeZone: tz } : {}) }).format(v);
    } catch {
      return new Intl.DateTimeFormat(loc, { day: 'numeric', month: 'long', year: 'numeric' }).format(v);
    }
  }
  return '';
}
