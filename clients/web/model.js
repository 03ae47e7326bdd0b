// What the views need, derived from the synced rows: the client's appointments with
// their branch, specialist and services, past visits, consent state.
export function index(rows) {
  const by = {};
  for (const r of rows) (by[r.tbl] ||= new Map()).set(r.id, r);
  return by;
}

// The index after a `changes` message (store.applyChanges: [{tbl, id, row}], row null
// when gone), without reading every row again: a new Map for each table it touches (a
// screen may keep what it derived from a table while its Map is the same), the others
// as they were.
export function patch(by, changed) {
  const out = { ...by };
  const fresh = new Set();
  for (const { tbl, id, row } of changed) {
    if (!fresh.has(tbl)) {
      out[tbl] = new Map(by[tbl] || []);
      fresh.add(tbl);
    }
    if (row) out[tbl].set(id, row);
    else out[tbl].delete(id);
  }
  return out;
}

// Every row of an index.
export function rowsOf(by) {
  const out = [];
  for (const m of Object.values(by)) for (const r of m.values()) out.push(r);
  return out;
}

const get = (by, tbl, id) => (id && by[tbl] ? by[tbl].get(id) : undefined);

// The names the row was written with (`service_names`, `specialist_name`: a receipt
// keeps them after a service or specialist is gone from the client's sight), else the
// rows the client can see.
function serviceNames(by, f) {
  const ids = f.services || [];
  const kept = Array.isArray(f.service_names) ? f.service_names : [];
  return ids.map((id, i) => kept[i] || get(by, 'service', id)?.f.name).filter(Boolean);
}

function specialistName(by, f) {
  return f.specialist_name || get(by, 'staff', f.specialist_id)?.f.display_name || '';
}

function place(by, locationId) {
  const l = get(by, 'location', locationId);
  return {
    name: l?.f.name || '',
    address: l?.f.address || '',
    phone: l?.f.phone || '',
    tz: l?.f.time_zone || undefined,
  };
}

// Upcoming: not cancelled and not over yet; soonest first.
export function appointments(by, clientId, now = Date.now()) {
  const out = [];
  for (const r of by.appointment?.values() || []) {
    const f = r.f;
    if (clientId && f.client_id && f.client_id !== clientId) continue;
    if (f.status === 'cancelled') continue;
    const end = f.start_at + (f.duration_min || 0) * 60000;
    if (end <= now) continue;
    out.push({
      id: r.id, v: r.v, start_at: f.start_at, duration_min: f.duration_min, status: f.status,
      note: f.client_note || '',
      services: serviceNames(by, f),
      specialist: specialistName(by, f),
      place: place(by, f.location_id),
    });
  }
  return out.sort((a, b) => a.start_at - b.start_at || (a.id < b.id ? -1 : 1));
}

// Past visits, newest first.
export function visits(by, clientId) {
  const out = [];
  for (const r of by.visit?.values() || []) {
    const f = r.f;
    if (clientId && f.client_id && f.client_id !== clientId) continue;
    out.push({
      id: r.id, date: f.visit_date, services: serviceNames(by, f),
      specialist: specialistName(by, f),
      place: place(by, f.location_id),
    });
  }
  return out.sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : a.id < b.id ? 1 : -1));
}

// The state of a purpose: its latest entry by `at`; on a tie a withdrawal wins.
export function consent(by, clientId, purpose) {
  let best = null;
  for (const r of by.consent?.values() || []) {
    const f = r.f;
    if (f.purpose !== purpose || (clientId && f.client_id !== clientId)) continue;
    if (!best || f.at > best.at || (f.at === best.at && !f.granted)) best = f;
  }
  return best ? !!best.granted : false;
}

export function organisation(by) {
  const o = by.organisation ? [...by.organisation.values()][0] : null;
  return o ? o.f : {};
}
