// Wall-clock time at a location (its IANA `time_zone`) and instants (ms UTC), through
// Intl only: the browser's own time zone database, as ICU is the server's. Calendar and
// booking both speak in local dates ("2030-03-04") and minutes of the day (600 = 10:00).

const partsFmt = new Map();
function fmt(tz) {
  let f = partsFmt.get(tz || '');
  if (!f) {
    const opts = { hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', weekday: 'short' };
    try {
      f = new Intl.DateTimeFormat('en-US', tz ? { ...opts, timeZone: tz } : opts);
    } catch { // a zone this browser does not know: UTC, not the device's, so every device agrees
      f = new Intl.DateTimeFormat('en-US', { ...opts, timeZone: 'UTC' });
    }
    partsFmt.set(tz || '', f);
  }
  return f;
}

const WD = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };
const pad = (n) => String(n).padStart(2, '0');

// {y, m, d, hh, mm, ss, weekday (ISO 1 Monday .. 7 Sunday), ymd, min (minute of the day)}
export function parts(ms, tz) {
  const o = {};
  for (const p of fmt(tz).formatToParts(ms)) o[p.type] = p.value;
  const y = Number(o.year), m = Number(o.month), d = Number(o.day);
  const hh = Number(o.hour) % 24, mm = Number(o.minute);
  return { y, m, d, hh, mm, ss: Number(o.second), weekday: WD[o.weekday], ymd: `${y}-${pad(m)}-${pad(d)}`, min: hh * 60 + mm };
}

export const ymdOf = (ms, tz) => parts(ms, tz).ymd;

// The instant of a local wall-clock time. A time that does not exist (the hour skipped
// in spring) moves forward by the gap; one that exists twice (autumn) is the first.
export function toMs(ymd, min, tz) {
  const [y, m, d] = ymd.split('-').map(Number);
  const guess = Date.UTC(y, m - 1, d, Math.floor(min / 60), min % 60);
  const offset = (t) => {
    const p = parts(t, tz);
    return Date.UTC(p.y, p.m - 1, p.d, p.hh, p.mm, p.ss) - Math.floor(t / 1000) * 1000;
  };
  // the zone's offsets half a day either side (no zone changes twice within a day)
  const oa = offset(guess - 43200000), ob = offset(guess + 43200000);
  const hits = [guess - oa, guess - ob].filter((t) => {
    const p = parts(t, tz);
    return p.ymd === ymd && p.min === min;
  });
  if (hits.length) return Math.min(...hits);
  return guess - Math.min(oa, ob);
}

// Calendar days, no zone.
export function addDays(ymd, n) {
  const [y, m, d] = ymd.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d + n));
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}

export function weekdayOf(ymd) {
  const [y, m, d] = ymd.split('-').map(Number);
  return ((new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7) + 1;
}

// The Monday of the week of ymd.
export const mondayOf = (ymd) => addDays(ymd, 1 - weekdayOf(ymd));

// [start, end) of a local day as instants (23 or 25 hours on DST days).
export function dayRange(ymd, tz) {
  return [toMs(ymd, 0, tz), toMs(addDays(ymd, 1), 0, tz)];
}

// "09:00-12:00,13:00-19:00" -> [[540, 720], [780, 1140]]; "" or nil -> [] (closed).
export function intervals(s) {
  if (!s) return [];
  return String(s).split(',').map((iv) => iv.trim().split('-').map((hm) => {
    const [h, mi] = hm.split(':').map(Number);
    return h * 60 + mi;
  })).filter((iv) => iv.length === 2 && iv.every(Number.isFinite));
}

export const hhmm = (min) => `${pad(Math.floor(min / 60))}:${pad(min % 60)}`;
