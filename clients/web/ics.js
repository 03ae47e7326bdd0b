// One appointment as an RFC 5545 calendar file: UTC times, escaped text, CRLF lines
// folded at 75 octets, a UID that stays the same when the salon moves it.
function utc(ms) {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

export function escapeText(s) {
  return String(s ?? '').replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,')
    .replace(/\r\n|\r|\n/g, '\\n');
}

// Fold a content line at 75 octets, never inside a UTF-8 sequence (RFC 5545 3.1).
function octets(c) {
  return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
}

export function fold(line) {
  const out = [];
  let cur = '', len = 0, limit = 75;
  for (const ch of line) {
    const n = octets(ch.codePointAt(0));
    if (len + n > limit) {
      out.push(cur);
      cur = ' ';
      len = 1;
      limit = 75;
    }
    cur += ch;
    len += n;
  }
  out.push(cur);
  return out.join('\r\n');
}

// appt: {id, start_at, duration_min, summary, location, description}
export function icsFor(appt, host, now = Date.now()) {
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Kartoteka//Client portal//EN',
    'CALSCALE:GREGORIAN',
    'METHOD:PUBLISH',
    'BEGIN:VEVENT',
    `UID:${appt.id}@${host || 'kartoteka'}`,
    `DTSTAMP:${utc(now)}`,
    `DTSTART:${utc(appt.start_at)}`,
    `DTEND:${utc(appt.start_at + (appt.duration_min || 0) * 60000)}`,
    `SUMMARY:${escapeText(appt.summary)}`,
  ];
  if (appt.location) lines.push(`LOCATION:${escapeText(appt.location)}`);
  if (appt.description) lines.push(`DESCRIPTION:${escapeText(appt.description)}`);
  lines.push('END:VEVENT', 'END:VCALENDAR');
  return lines.map(fold).join('\r\n') + '\r\n';
}

export function icsHref(text) {
  return 'data:text/calendar;charset=utf-8,' + encodeURIComponent(text);
}
