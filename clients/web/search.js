// Finding a client in the local copy as the receptionist types: by any word of the
// name (from its start, without regard to case or accents: "boz" finds "Božič") or by
// digits of the phone (spaces, "+" and a leading 0 or country code do not matter).
const fold = (s) => String(s || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
  .replace(/đ/g, 'd').replace(/ł/g, 'l').replace(/ß/g, 'ss');
const digits = (s) => String(s || '').replace(/\D/g, '');

// Built once per set of rows (the caller keeps it while `by.client` is the same Map).
export function buildIndex(clients) {
  const out = [];
  for (const r of clients) {
    out.push({ r, words: fold(r.f.name).split(/[\s\-.,']+/).filter(Boolean), name: fold(r.f.name), tel: digits(r.f.phone) });
  }
  out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}

// At most `limit` rows, names starting with the query first.
export function search(index, query, limit = 20) {
  const q = fold(query).trim();
  if (!q) return [];
  const qd = digits(query);
  const terms = q.split(/\s+/);
  const phone = qd.length >= 3 && qd.length >= q.replace(/\s/g, '').length - 1;
  const first = [], rest = [];
  for (const e of index) {
    let hit;
    if (phone) hit = e.tel.includes(qd.replace(/^0+/, ''));
    else hit = terms.every((t) => e.words.some((w) => w.startsWith(t)));
    if (!hit) continue;
    (e.name.startsWith(terms[0]) ? first : rest).push(e.r);
    if (first.length >= limit) break;
  }
  return first.concat(rest).slice(0, limit);
}
