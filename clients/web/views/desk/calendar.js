// The desk calendar (/desk: a day, /desk/week: a week) of a branch on the staff's
// tablets: a column per specialist, appointments by start and length, opening hours,
// closed days and time off, free slots to book, an appointment's detail with its status
// actions, and moving one by dragging it. What to show comes from calendar_model.js (an
// index of the rows built once per change); this file only draws it and edits rows
// through desk.edit. It never shows an id to a person.
import { html } from '../ui.js';
import { useState, useEffect, useRef } from '../../vendor/preact/hooks.mjs';
import { t, addTexts, when, locale } from '../../i18n.js';
import { parts, addDays, mondayOf, hhmm } from '../../tz.js';
import * as cm from '../../calendar_model.js';

addTexts({
  en: {
    cal_prev_day: 'Previous day', cal_next_day: 'Next day', cal_prev_week: 'Previous week', cal_next_week: 'Next week',
    cal_today: 'Today', cal_day: 'Day', cal_week: 'Week', cal_show_cancelled: 'Show cancelled',
    cal_specialist: 'Specialist', cal_all_specialists: 'All specialists', cal_closed: 'Closed', cal_closed_reason: 'Closed: {reason}',
    cal_time_off: 'Time off', cal_no_specialists: 'No specialist works at this branch yet.',
    cal_status_booked: 'Booked', cal_status_confirmed: 'Confirmed', cal_status_done: 'Done', cal_status_no_show: 'No-show', cal_status_cancelled: 'Cancelled',
    cal_allergy: 'Allergy', cal_book_at: 'Book {time} with {name}', cal_book_at_any: 'Book {time}',
    cal_client: 'Client', cal_services: 'Services', cal_time: 'Time', cal_status: 'Status', cal_branch: 'Branch',
    cal_client_note: "Client's note", cal_internal_note: 'Internal note', cal_status_reason: 'Reason',
    cal_move: 'Move', cal_mark_confirmed: 'Confirm', cal_mark_done: 'Done', cal_cancel: 'Cancel', cal_noshow: 'No-show',
    cal_restore: 'Back to booked', cal_reason: 'Reason', cal_reason_cancel: 'Why is it cancelled?', cal_reason_noshow: 'What happened?',
    cal_do_cancel: 'Cancel the appointment', cal_do_noshow: 'Mark as no-show', cal_back: 'Back', cal_close: 'Close',
    cal_reason_needed: 'Please give a reason.', cal_move_q: 'Move {client} to {time} with {name}?', cal_move_do: 'Move', cal_move_keep: 'Keep it',
    cal_saved: 'Saved on this tablet. It is sent to the salon as soon as there is a connection.',
    cal_someone: 'Client', cal_minutes: '{n} min', cal_count: '{n} appointments', cal_drag: 'Drag to move it',
    cal_open_card: 'Open the card', cal_now: 'Now', cal_calendar: 'Calendar', cal_days_week: 'Week of {date}',
    cal_not_by: '{name} does not do {services}: the salon will refuse this move.',
    cal_pick_day: 'Open this day', cal_error: 'Not saved: {msg}',
  },
  sl: {
    cal_prev_day: 'Prejšnji dan', cal_next_day: 'Naslednji dan', cal_prev_week: 'Prejšnji teden', cal_next_week: 'Naslednji teden',
    cal_today: 'Danes', cal_day: 'Dan', cal_week: 'Teden', cal_show_cancelled: 'Pokaži odpovedane',
    cal_specialist: 'Izvajalka', cal_all_specialists: 'Vse izvajalke', cal_closed: 'Zaprto', cal_closed_reason: 'Zaprto: {reason}',
    cal_time_off: 'Odsotnost', cal_no_specialists: 'V tej poslovalnici še ne dela nobena izvajalka.',
    cal_status_booked: 'Naročeno', cal_status_confirmed: 'Potrjeno', cal_status_done: 'Opravljeno', cal_status_no_show: 'Ni prišla', cal_status_cancelled: 'Odpovedano',
    cal_allergy: 'Alergija', cal_book_at: 'Naroči ob {time} pri {name}', cal_book_at_any: 'Naroči ob {time}',
    cal_client: 'Stranka', cal_services: 'Storitve', cal_time: 'Čas', cal_status: 'Stanje', cal_branch: 'Poslovalnica',
    cal_client_note: 'Opomba stranke', cal_internal_note: 'Interna opomba', cal_status_reason: 'Razlog',
    cal_move: 'Prestavi', cal_mark_confirmed: 'Potrdi', cal_mark_done: 'Opravljeno', cal_cancel: 'Odpovej', cal_noshow: 'Ni prišla',
    cal_restore: 'Nazaj na naročeno', cal_reason: 'Razlog', cal_reason_cancel: 'Zakaj je odpovedano?', cal_reason_noshow: 'Kaj se je zgodilo?',
    cal_do_cancel: 'Odpovej termin', cal_do_noshow: 'Označi, da ni prišla', cal_back: 'Nazaj', cal_close: 'Zapri',
    cal_reason_needed: 'Vpišite razlog.', cal_move_q: 'Prestavim termin ({client}) na {time} pri {name}?', cal_move_do: 'Prestavi', cal_move_keep: 'Pusti',
    cal_saved: 'Shranjeno na tej tablici. V salon bo poslano, takoj ko bo povezava.',
    cal_someone: 'Stranka', cal_minutes: '{n} min', cal_count: 'Terminov: {n}', cal_drag: 'Povlecite, da ga prestavite',
    cal_open_card: 'Odpri kartoteko', cal_now: 'Zdaj', cal_calendar: 'Koledar', cal_days_week: 'Teden od {date}',
    cal_not_by: '{name} ne izvaja storitve {services}: salon bo to prestavitev zavrnil.',
    cal_pick_day: 'Odpri ta dan', cal_error: 'Ni shranjeno: {msg}',
  },
  de: {
    cal_prev_day: 'Vorheriger Tag', cal_next_day: 'Nächster Tag', cal_prev_week: 'Vorherige Woche', cal_next_week: 'Nächste Woche',
    cal_today: 'Heute', cal_day: 'Tag', cal_week: 'Woche', cal_show_cancelled: 'Abgesagte zeigen',
    cal_specialist: 'Fachkraft', cal_all_specialists: 'Alle Fachkräfte', cal_closed: 'Geschlossen', cal_closed_reason: 'Geschlossen: {reason}',
    cal_time_off: 'Abwesend', cal_no_specialists: 'In dieser Filiale arbeitet noch keine Fachkraft.',
    cal_status_booked: 'Gebucht', cal_status_confirmed: 'Bestätigt', cal_status_done: 'Erledigt', cal_status_no_show: 'Nicht erschienen', cal_status_cancelled: 'Abgesagt',
    cal_allergy: 'Allergie', cal_book_at: 'Um {time} bei {name} buchen', cal_book_at_any: 'Um {time} buchen',
    cal_client: 'Kundin/Kunde', cal_services: 'Leistungen', cal_time: 'Zeit', cal_status: 'Status', cal_branch: 'Filiale',
    cal_client_note: 'Notiz der Kundin/des Kunden', cal_internal_note: 'Interne Notiz', cal_status_reason: 'Grund',
    cal_move: 'Verschieben', cal_mark_confirmed: 'Bestätigen', cal_mark_done: 'Erledigt', cal_cancel: 'Absagen', cal_noshow: 'Nicht erschienen',
    cal_restore: 'Wieder gebucht', cal_reason: 'Grund', cal_reason_cancel: 'Warum wird abgesagt?', cal_reason_noshow: 'Was ist passiert?',
    cal_do_cancel: 'Termin absagen', cal_do_noshow: 'Als nicht erschienen markieren', cal_back: 'Zurück', cal_close: 'Schließen',
    cal_reason_needed: 'Bitte einen Grund angeben.', cal_move_q: 'Termin von {client} auf {time} bei {name} verschieben?', cal_move_do: 'Verschieben', cal_move_keep: 'Nicht verschieben',
    cal_saved: 'Auf diesem Tablet gespeichert. Es wird gesendet, sobald eine Verbindung besteht.',
    cal_someone: 'Kundin/Kunde', cal_minutes: '{n} Min.', cal_count: '{n} Termine', cal_drag: 'Zum Verschieben ziehen',
    cal_open_card: 'Karteikarte öffnen', cal_now: 'Jetzt', cal_calendar: 'Kalender', cal_days_week: 'Woche ab {date}',
    cal_not_by: '{name} bietet {services} nicht an: Der Salon wird diese Verschiebung ablehnen.',
    cal_pick_day: 'Diesen Tag öffnen', cal_error: 'Nicht gespeichert: {msg}',
  },
  pl: {
    cal_prev_day: 'Poprzedni dzień', cal_next_day: 'Następny dzień', cal_prev_week: 'Poprzedni tydzień', cal_next_week: 'Następny tydzień',
    cal_today: 'Dziś', cal_day: 'Dzień', cal_week: 'Tydzień', cal_show_cancelled: 'Pokaż odwołane',
    cal_specialist: 'Specjalista', cal_all_specialists: 'Wszyscy specjaliści', cal_closed: 'Zamknięte', cal_closed_reason: 'Zamknięte: {reason}',
    cal_time_off: 'Nieobecność', cal_no_specialists: 'W tym oddziale nie pracuje jeszcze żaden specjalista.',
    cal_status_booked: 'Zarezerwowana', cal_status_confirmed: 'Potwierdzona', cal_status_done: 'Wykonana', cal_status_no_show: 'Nieobecność klienta', cal_status_cancelled: 'Odwołana',
    cal_allergy: 'Alergia', cal_book_at: 'Rezerwuj na {time} u: {name}', cal_book_at_any: 'Rezerwuj na {time}',
    cal_client: 'Klient', cal_services: 'Usługi', cal_time: 'Godzina', cal_status: 'Status', cal_branch: 'Oddział',
    cal_client_note: 'Uwaga klienta', cal_internal_note: 'Notatka wewnętrzna', cal_status_reason: 'Powód',
    cal_move: 'Przenieś', cal_mark_confirmed: 'Potwierdź', cal_mark_done: 'Wykonana', cal_cancel: 'Odwołaj', cal_noshow: 'Nie przyszedł',
    cal_restore: 'Przywróć rezerwację', cal_reason: 'Powód', cal_reason_cancel: 'Dlaczego wizyta jest odwołana?', cal_reason_noshow: 'Co się stało?',
    cal_do_cancel: 'Odwołaj wizytę', cal_do_noshow: 'Oznacz nieobecność', cal_back: 'Wróć', cal_close: 'Zamknij',
    cal_reason_needed: 'Podaj powód.', cal_move_q: 'Przenieść wizytę ({client}) na {time} u: {name}?', cal_move_do: 'Przenieś', cal_move_keep: 'Zostaw',
    cal_saved: 'Zapisano na tym tablecie. Zostanie wysłane, gdy tylko będzie połączenie.',
    cal_someone: 'Klient', cal_minutes: '{n} min', cal_count: 'Wizyty: {n}', cal_drag: 'Przeciągnij, aby przenieść',
    cal_open_card: 'Otwórz kartę', cal_now: 'Teraz', cal_calendar: 'Kalendarz', cal_days_week: 'Tydzień od {date}',
    cal_not_by: '{name} nie wykonuje usługi {services}: salon odrzuci to przeniesienie.',
    cal_pick_day: 'Otwórz ten dzień', cal_error: 'Nie zapisano: {msg}',
  },
  fi: {
    cal_prev_day: 'Edellinen päivä', cal_next_day: 'Seuraava päivä', cal_prev_week: 'Edellinen viikko', cal_next_week: 'Seuraava viikko',
    cal_today: 'Tänään', cal_day: 'Päivä', cal_week: 'Viikko', cal_show_cancelled: 'Näytä perutut',
    cal_specialist: 'Tekijä', cal_all_specialists: 'Kaikki tekijät', cal_closed: 'Suljettu', cal_closed_reason: 'Suljettu: {reason}',
    cal_time_off: 'Poissa', cal_no_specialists: 'Tässä toimipisteessä ei vielä työskentele tekijöitä.',
    cal_status_booked: 'Varattu', cal_status_confirmed: 'Vahvistettu', cal_status_done: 'Tehty', cal_status_no_show: 'Ei saapunut', cal_status_cancelled: 'Peruttu',
    cal_allergy: 'Allergia', cal_book_at: 'Varaa {time}, tekijä {name}', cal_book_at_any: 'Varaa {time}',
    cal_client: 'Asiakas', cal_services: 'Palvelut', cal_time: 'Aika', cal_status: 'Tila', cal_branch: 'Toimipiste',
    cal_client_note: 'Asiakkaan huomautus', cal_internal_note: 'Sisäinen huomautus', cal_status_reason: 'Syy',
    cal_move: 'Siirrä', cal_mark_confirmed: 'Vahvista', cal_mark_done: 'Tehty', cal_cancel: 'Peru', cal_noshow: 'Ei saapunut',
    cal_restore: 'Takaisin varatuksi', cal_reason: 'Syy', cal_reason_cancel: 'Miksi aika perutaan?', cal_reason_noshow: 'Mitä tapahtui?',
    cal_do_cancel: 'Peru aika', cal_do_noshow: 'Merkitse, ettei saapunut', cal_back: 'Takaisin', cal_close: 'Sulje',
    cal_reason_needed: 'Kirjoita syy.', cal_move_q: 'Siirretäänkö asiakkaan {client} aika: {time}, tekijä {name}?', cal_move_do: 'Siirrä', cal_move_keep: 'Älä siirrä',
    cal_saved: 'Tallennettu tälle tabletille. Se lähetetään, kun yhteys on taas päällä.',
    cal_someone: 'Asiakas', cal_minutes: '{n} min', cal_count: 'Varauksia: {n}', cal_drag: 'Siirrä vetämällä',
    cal_open_card: 'Avaa asiakaskortti', cal_now: 'Nyt', cal_calendar: 'Kalenteri', cal_days_week: 'Viikko alkaen {date}',
    cal_not_by: '{name} ei tee palvelua {services}: salonki hylkää tämän siirron.',
    cal_pick_day: 'Avaa tämä päivä', cal_error: 'Ei tallennettu: {msg}',
  },
});

const PX_PER_MIN = 24 / 15; // a quarter hour is 24 px: 3 rows of 8 px (desk-calendar.css)
const MAX_LANES = 6;

// A calendar date in the language: "Monday, 4 March 2030" (a date, no zone).
const dateFmts = new Map();
function dateFmt(opts) {
  const key = locale() + JSON.stringify(opts);
  let f = dateFmts.get(key);
  if (!f) dateFmts.set(key, (f = new Intl.DateTimeFormat(locale(), { ...opts, timeZone: 'UTC' })));
  return f;
}
const utc = (ymd) => { const [y, m, d] = ymd.split('-').map(Number); return Date.UTC(y, m - 1, d); };
function dayTitle(ymd, opts = { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }) {
  return dateFmt(opts).format(utc(ymd));
}
// "4–10 March 2030" in the language
function weekTitle(monday) {
  const f = dateFmt({ day: 'numeric', month: 'long', year: 'numeric' });
  return f.formatRange ? f.formatRange(utc(monday), utc(addDays(monday, 6))) : t('cal_days_week', { date: f.format(utc(monday)) });
}

const rowCls = (a, b, from) => {
  const [s, h] = cm.rowsOf(a, b, from);
  return `gs-${s} gh-${h}`;
};
const laneCls = (x) => (x.lanes > 1 ? ` ln-${Math.min(x.lanes, MAX_LANES)}-${Math.min(x.lane, MAX_LANES - 1)}` : '');

function clientOf(desk, f) {
  return desk.by.client?.get(f.client_id) || null;
}
function servicesOf(desk, f) {
  const kept = Array.isArray(f.service_names) ? f.service_names : [];
  return (f.services || []).map((id, i) => kept[i] || desk.by.service?.get(id)?.f.name).filter(Boolean);
}
function staffName(desk, id, f) {
  return desk.by.staff?.get(id)?.f.display_name || (f && f.specialist_id === id && f.specialist_name) || '';
}

// Edits this tablet made that the rows in memory do not show yet (the app reloads rows
// when the server answers): laid over until the rows have them, or nothing waits.
function usePending(desk) {
  const ref = useRef({ base: null, rows: new Map() });
  const p = ref.current;
  const map = desk.by.appointment;
  // refused or set aside: the queue put the row back; the screen does too
  const failed = new Set([...(desk.q?.state?.rejected || []), ...(desk.q?.state?.aside || [])].map((e) => e.mid));
  for (const [id, r] of p.rows) if (failed.has(r.mid)) p.rows.delete(id);
  if (p.base !== map) {
    for (const [id, r] of p.rows) {
      const have = map?.get(id);
      const shown = have && Object.keys(r.changed).every((k) => JSON.stringify(have.f[k]) === JSON.stringify(r.changed[k]));
      if (shown || !desk.q?.state?.queued) p.rows.delete(id);
    }
    p.base = map;
  }
  return p;
}

export function Calendar({ desk }) {
  const week = desk.route === '/desk/week';
  const params = desk.params;
  const locs = desk.locations();
  const [detail, setDetail] = useState(null); // appointment id
  const [ask, setAsk] = useState(null); // {id, kind: 'cancelled'|'no_show'}
  const [moveAsk, setMoveAsk] = useState(null); // {id, staff, ms, min}
  const [drag, setDrag] = useState(null); // {id, staff, min, dur}
  const [note, setNote] = useState(null); // {ok|err text}
  const [showCancelled, setShowCancelled] = useState(() => localStorage.getItem('kt.cal.cancelled') === '1');
  const [, setTick] = useState(0);
  const pending = usePending(desk);
  const scroller = useRef(null);
  const refocusRef = useRef(null);

  // ?loc= names the branch (links from other screens): it becomes this tablet's choice
  const wantLoc = params.get('loc');
  useEffect(() => {
    if (wantLoc && wantLoc !== desk.location && locs.some((l) => l.id === wantLoc)) desk.setLocation(wantLoc);
  }, [wantLoc]);
  const chosen = wantLoc && locs.some((l) => l.id === wantLoc) ? wantLoc : desk.location;
  const sections = chosen ? locs.filter((l) => l.id === chosen) : locs;
  const tz0 = sections[0]?.f.time_zone;
  const ymd = cm.dayParam(params.get('day'), tz0);
  const today = parts(Date.now(), tz0).ymd;
  const staffFilter = params.get('staff') || null;

  // the "now" line moves every minute
  useEffect(() => {
    const id = setInterval(() => setTick((n) => n + 1), 60000);
    return () => clearInterval(id);
  }, []);
  // a new day opens at its start (at the current hour today)
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const nowLine = el.querySelector('.cal-now');
    el.scrollTop = nowLine ? Math.max(0, nowLine.offsetTop - 120) : 0;
  }, [ymd, chosen, week]);
  useEffect(() => {
    const esc = (e) => {
      if (e.key !== 'Escape') return;
      setDetail((id) => { if (id) refocusRef.current(id); return null; });
      setAsk(null);
      setMoveAsk(null);
    };
    window.addEventListener('keydown', esc);
    return () => window.removeEventListener('keydown', esc);
  }, []);

  if (!sections.length) return html`<section class="cal" data-testid="calendar" data-day=${ymd} data-loc=""><p>${t('cal_no_specialists')}</p></section>`;

  const ix = cm.apptIndex(desk.by.appointment);
  const me = desk.principal?.id || null;
  const canBook = desk.role !== 'specialist';
  const link = (path, q) => {
    const s = new URLSearchParams(q);
    for (const [k, v] of [...s]) if (v == null || v === '') s.delete(k);
    const qs = s.toString();
    return qs ? `${path}?${qs}` : path;
  };
  const go = (path, q) => desk.go(link(path, q));
  const base = week ? '/desk/week' : '/desk';
  const step = week ? 7 : 1;
  const keep = { staff: week ? staffFilter : null };

  const edit = async (row, fields) => {
    setNote(null);
    try {
      const e = await desk.edit('appointment', row.id, 'update', fields);
      pending.rows.set(row.id, { tbl: 'appointment', id: row.id, v: row.v, f: { ...row.f, ...fields }, changed: fields, mid: e?.mid });
      // online it is on its way at once; offline the person should know it waits
      if (!desk.online) setNote({ ok: t('cal_saved') });
    } catch (e) {
      setNote({ err: t('cal_error', { msg: e.message || String(e) }) });
    }
    desk.draw();
  };

  const findRow = (id) => pending.rows.get(id) || desk.by.appointment?.get(id) || null;
  const sectionProps = { desk, ix, me, ymd, today, pending: pending.rows.size ? pending.rows : null, showCancelled, canBook,
    onOpen: (id) => { setDetail(id); setAsk(null); setMoveAsk(null); setNote(null); }, drag, setDrag, setMoveAsk, go, staffFilter };

  const toolbar = html`<div class="cal-bar">
    <div class="cal-nav">
      <button type="button" class="secondary" data-testid="cal-prev" aria-label=${t(week ? 'cal_prev_week' : 'cal_prev_day')}
        onClick=${() => go(base, { day: addDays(ymd, -step), ...keep })}>‹</button>
      <button type="button" class="secondary" data-testid="cal-today" aria-pressed=${ymd === today ? 'true' : 'false'}
        onClick=${() => go(base, { ...keep })}>${t('cal_today')}</button>
      <button type="button" class="secondary" data-testid="cal-next" aria-label=${t(week ? 'cal_next_week' : 'cal_next_day')}
        onClick=${() => go(base, { day: addDays(ymd, step), ...keep })}>›</button>
    </div>
    <h1 class="cal-title">${week ? weekTitle(mondayOf(ymd)) : dayTitle(ymd)}</h1>
    <div class="cal-switch" role="group" aria-label=${t('cal_calendar')}>
      <button type="button" data-testid="cal-day" class=${week ? 'secondary' : ''} aria-pressed=${week ? 'false' : 'true'}
        onClick=${() => go('/desk', { day: ymd })}>${t('cal_day')}</button>
      <button type="button" data-testid="cal-week" class=${week ? '' : 'secondary'} aria-pressed=${week ? 'true' : 'false'}
        onClick=${() => go('/desk/week', { day: ymd })}>${t('cal_week')}</button>
    </div>
    ${week && chosen && html`<label class="cal-filter"><span>${t('cal_specialist')}</span>
      <select data-testid="cal-specialist" onChange=${(e) => go('/desk/week', { day: ymd, staff: e.currentTarget.value })}>
        <option value="" selected=${!staffFilter}>${t('cal_all_specialists')}</option>
        ${cm.specialists(desk.by, ix, chosen, { me }).map((c) => html`<option value=${c.id} selected=${staffFilter === c.id}>${c.name}</option>`)}
      </select></label>`}
    <label class="cal-toggle"><input type="checkbox" data-testid="cal-show-cancelled" checked=${showCancelled}
      onChange=${(e) => { const v = e.currentTarget.checked; localStorage.setItem('kt.cal.cancelled', v ? '1' : '0'); setShowCancelled(v); }} />
      <span>${t('cal_show_cancelled')}</span></label>
  </div>`;

  const open = detail && findRow(detail);
  // keyboard users go back to the block they opened
  const refocus = (id) => setTimeout(() => document.querySelector(`[data-testid=appt][data-id="${CSS.escape(id)}"]`)?.focus(), 0);
  refocusRef.current = refocus;
  return html`<section class=${`cal${chosen ? '' : ' all'}${week ? ' wk' : ''}`} data-testid="calendar" data-day=${ymd} data-loc=${chosen || ''}
      data-view=${week ? 'week' : 'day'}>
    ${toolbar}
    ${note && html`<p class=${note.err ? 'error' : 'note cal-note'} role="status" data-testid=${note.err ? 'cal-error' : 'cal-saved'}>${note.err || note.ok}</p>`}
    ${sections.map((loc) => html`<div class="cal-section" key=${loc.id} data-testid="cal-section" data-loc=${loc.id}>
      ${!chosen && html`<h2 class="cal-branch">${loc.f.name}</h2>`}
      <div class="cal-scroll" ref=${sections.length === 1 ? scroller : undefined}>
        ${week ? html`<${Week} ...${sectionProps} loc=${loc} />` : html`<${Day} ...${sectionProps} loc=${loc} />`}
      </div>
    </div>`)}
    ${open && html`<${Detail} desk=${desk} row=${open} ask=${ask} setAsk=${setAsk} knowsReason=${ix.reason || 'status_reason' in open.f}
      onClose=${() => { const id = detail; setDetail(null); setAsk(null); refocus(id); }} edit=${edit} />`}
    ${moveAsk && html`<${MoveAsk} desk=${desk} m=${moveAsk} row=${findRow(moveAsk.id)} onNo=${() => setMoveAsk(null)}
      onYes=${async () => { const m = moveAsk; setMoveAsk(null); const r = findRow(m.id); if (r) await edit(r, { start_at: m.ms, specialist_id: m.staff }); }} />`}
  </section>`;
}

// Hour labels on the left.
function Times({ from, to, title }) {
  const hours = [];
  for (let h = from; h < to; h += 60) hours.push(h);
  return html`<div class="cal-timecol" aria-hidden="true">
    <div class="cal-colhead cal-corner">${title || ''}</div>
    <div class="cal-grid">
      <div class=${`cal-fill ${rowCls(from, to, from)}`}></div>
      ${hours.map((h) => html`<div class=${`cal-hour${h === from ? ' first' : ''} ${rowCls(h, Math.min(h + 60, to), from)}`} key=${h}>${hhmm(h)}</div>`)}
    </div>
  </div>`;
}

function Block({ desk, x, from, tz, compact, drag, onOpen, onDown }) {
  const f = x.row.f;
  const client = clientOf(desk, f);
  const name = client?.f.name || t('cal_someone');
  const svc = servicesOf(desk, f);
  const alert = cm.allergyOf(client);
  const time = `${hhmm(x.a)}–${hhmm(Math.min(x.b, 1440))}`;
  const status = t(`cal_status_${f.status}`);
  const label = [time, name, svc.join(', '), status, alert ? t('cal_allergy') : '', compact ? staffName(desk, f.specialist_id, f) : ''].filter(Boolean).join(', ');
  const dragging = drag && drag.id === x.row.id;
  return html`<button type="button" key=${x.row.id} data-testid="appt" data-id=${x.row.id} data-status=${f.status}
    class=${`cal-appt st-${f.status} ${rowCls(x.a, x.b, from)}${laneCls(x)}${x.b - x.a <= 20 ? ' short' : ''}${dragging ? ' lifted' : ''}`}
    aria-label=${label} title=${onDown ? t('cal_drag') : undefined}
    onPointerDown=${onDown ? (e) => onDown(e, x) : undefined} onContextMenu=${onDown ? (e) => e.preventDefault() : undefined}
    onClick=${(e) => { if (e.currentTarget.dataset.dragged) { delete e.currentTarget.dataset.dragged; return; } onOpen(x.row.id); }}>
    <span class="cal-appt-top"><span class="cal-t">${compact ? hhmm(x.a) : time}</span>
      ${compact && alert && html`<span class="cal-alg" data-testid="cal-allergy" aria-hidden="true">⚠</span>`}
      <span class="cal-c">${name}</span>${!compact && alert && html`<span class="cal-alg" data-testid="cal-allergy" aria-hidden="true">⚠</span>`}</span>
    ${!compact && svc.length > 0 && html`<span class="cal-s">${svc.join(', ')}</span>`}
    ${compact && html`<span class="cal-s"><abbr title=${staffName(desk, f.specialist_id, f)}>${initials(staffName(desk, f.specialist_id, f))}</abbr>${svc.length ? ` · ${svc.join(', ')}` : ''}</span>`}
  </button>`;
}

const initials = (n) => String(n || '').split(/\s+/).filter(Boolean).map((w) => w[0]).join('').slice(0, 3);

// Dragging a block in the day view: a mouse moves it at once, a finger after holding it
// (so that a swipe still scrolls). The drop asks before it moves anything.
function useDrag({ view, setDrag, setMoveAsk, gridOf }) {
  const st = useRef(null);
  const stop = () => {
    const s = st.current;
    if (!s) return;
    clearTimeout(s.timer);
    window.removeEventListener('pointermove', s.move);
    window.removeEventListener('pointerup', s.up);
    window.removeEventListener('pointercancel', s.cancel);
    window.removeEventListener('touchmove', s.noScroll, { passive: false });
    st.current = null;
  };
  useEffect(() => stop, []);
  return (e, x) => {
    if (e.button !== 0 || x.row.f.status === 'cancelled') return;
    stop();
    const el = e.currentTarget;
    const r = el.getBoundingClientRect();
    const s = { x0: e.clientX, y0: e.clientY, grab: e.clientY - r.top, started: false, target: null, el, x,
      dur: x.b - x.a, finger: e.pointerType !== 'mouse' };
    const place = (cx, cy) => {
      const hit = gridOf(cx);
      if (!hit) return;
      const min = cm.snapMinute(cy - hit.rect.top - s.grab, PX_PER_MIN, view.from, view.to, s.dur);
      s.target = { staff: hit.staff, min };
      setDrag({ id: x.row.id, staff: hit.staff, min, dur: s.dur });
    };
    s.move = (ev) => {
      const dist = Math.hypot(ev.clientX - s.x0, ev.clientY - s.y0);
      if (!s.started) {
        if (s.finger) { if (dist > 8) stop(); return; } // a swipe: the page scrolls
        if (dist < 6) return;
        s.started = true;
      }
      place(ev.clientX, ev.clientY);
    };
    s.noScroll = (ev) => { if (s.started) ev.preventDefault(); };
    s.up = (ev) => {
      const was = s.started && s.target;
      stop();
      if (!was) { setDrag(null); return; }
      el.dataset.dragged = '1'; // the click that follows the drop is not a tap
      setTimeout(() => { delete el.dataset.dragged; }, 0);
      const f = x.row.f;
      const moved = s.target.min !== x.a || s.target.staff !== f.specialist_id;
      setDrag(null);
      if (moved) setMoveAsk({ id: x.row.id, staff: s.target.staff, min: s.target.min, ms: view.ms(s.target.min) });
    };
    s.cancel = () => { stop(); setDrag(null); };
    if (s.finger) s.timer = setTimeout(() => { s.started = true; place(s.x0, s.y0); navigator.vibrate?.(20); }, 400);
    st.current = s;
    window.addEventListener('pointermove', s.move);
    window.addEventListener('pointerup', s.up);
    window.addEventListener('pointercancel', s.cancel);
    window.addEventListener('touchmove', s.noScroll, { passive: false });
  };
}

function Day({ desk, ix, me, loc, ymd, pending, showCancelled, canBook, onOpen, drag, setDrag, setMoveAsk, go }) {
  const tz = loc.f.time_zone;
  const v = cm.dayView({ by: desk.by, ix, loc: loc.id, tz, ymd, pending, me, showCancelled });
  const ck = cm.clock(ymd, tz);
  const root = useRef(null);
  const gridOf = (cx) => {
    for (const col of root.current?.querySelectorAll('[data-testid=cal-column]') || []) {
      const rect = col.querySelector('.cal-grid').getBoundingClientRect();
      if (cx >= rect.left && cx < rect.right) return { staff: col.dataset.staff, rect };
    }
    return null;
  };
  const onDown = useDrag({ view: { from: v.from, to: v.to, ms: ck.ms }, setDrag, setMoveAsk, gridOf });
  const all = `${v.from}-${v.to}`;
  return html`<div class="cal-cols" ref=${root} data-range=${all}>
    <${Times} from=${v.from} to=${v.to} title=${v.closed ? t('cal_closed') : ''} />
    ${v.columns.length === 0 && html`<p class="cal-empty">${t('cal_no_specialists')}</p>`}
    ${v.columns.map((c) => html`<div class=${`cal-col${c.me ? ' mine' : ''}`} key=${c.id} data-testid="cal-column" data-staff=${c.id}>
      <div class="cal-colhead">${c.name}</div>
      <div class="cal-grid">
        <div class=${`cal-fill ${rowCls(v.from, v.to, v.from)}`}></div>
        ${c.off.map(([a, b]) => html`<div class=${`cal-off ${rowCls(a, b, v.from)}`} key=${'o' + a}></div>`)}
        ${v.closed && html`<div class=${`cal-closed ${rowCls(v.from, Math.min(v.to, v.from + 120), v.from)}`}>${v.closed.reason ? t('cal_closed_reason', { reason: v.closed.reason }) : t('cal_closed')}</div>`}
        ${c.timeOff.map((x) => html`<div class=${`cal-timeoff ${rowCls(x.a, x.b, v.from)}`} key=${'t' + x.a} data-testid="cal-timeoff">
          ${t('cal_time_off')}${x.reason ? ` · ${x.reason}` : ''}</div>`)}
        ${canBook && c.free.map((s) => html`<button type="button" key=${'s' + s.a} class=${`cal-slot ${rowCls(s.a, s.b, v.from)}`}
          data-testid="slot" data-staff=${c.id} data-start=${s.ms} aria-label=${t('cal_book_at', { time: hhmm(s.a), name: c.name })}
          onClick=${() => go('/desk/book', { start: s.ms, specialist: c.id, loc: loc.id })}><span aria-hidden="true">+ ${hhmm(s.a)}</span></button>`)}
        ${c.appts.map((x) => html`<${Block} key=${x.row.id} desk=${desk} x=${x} from=${v.from} tz=${tz} drag=${drag} onOpen=${onOpen}
          onDown=${canBook ? onDown : undefined} />`)}
        ${drag && drag.staff === c.id && html`<div class=${`cal-ghost ${rowCls(drag.min, drag.min + drag.dur, v.from)}`} data-testid="cal-ghost">${hhmm(drag.min)}</div>`}
        ${v.nowMin !== null && html`<div class=${`cal-now ${rowCls(v.nowMin, v.nowMin + 1, v.from)}`} aria-label=${t('cal_now')}></div>`}
      </div>
    </div>`)}
  </div>`;
}

function Week({ desk, ix, loc, ymd, today, pending, showCancelled, canBook, onOpen, go, staffFilter }) {
  const tz = loc.f.time_zone;
  const w = cm.weekView({ by: desk.by, ix, loc: loc.id, tz, ymd, pending, staffId: staffFilter, showCancelled });
  return html`<div class="cal-cols">
    <${Times} from=${w.from} to=${w.to} />
    ${w.days.map((d) => html`<div class=${`cal-col cal-wday${d.ymd === today ? ' today' : ''}`} key=${d.ymd} data-testid="cal-weekday" data-day=${d.ymd}>
      <button type="button" class="cal-colhead cal-dayhead" aria-label=${`${t('cal_pick_day')}: ${dayTitle(d.ymd)}`}
        onClick=${() => go('/desk', { day: d.ymd })}>
        <span>${dayTitle(d.ymd, { weekday: 'short', day: 'numeric', month: 'numeric' })}</span>
        ${d.closed && html`<span class="cal-closedmark">${d.closed.reason || t('cal_closed')}</span>`}
      </button>
      <div class="cal-grid">
        <div class=${`cal-fill ${rowCls(w.from, w.to, w.from)}`}></div>
        ${d.off.map(([a, b]) => html`<div class=${`cal-off ${rowCls(a, b, w.from)}`} key=${'o' + a}></div>`)}
        ${d.timeOff.map((x) => html`<div class=${`cal-timeoff ${rowCls(x.a, x.b, w.from)}`} key=${'t' + x.a}>${t('cal_time_off')}</div>`)}
        ${canBook && d.free.map((s) => html`<button type="button" key=${'s' + s.a} class=${`cal-slot ${rowCls(s.a, s.b, w.from)}`}
          data-testid="slot" data-staff=${staffFilter || ''} data-start=${s.ms} aria-label=${t('cal_book_at_any', { time: `${dayTitle(d.ymd, { weekday: 'short', day: 'numeric', month: 'numeric' })} ${hhmm(s.a)}` })}
          onClick=${() => go('/desk/book', { start: s.ms, specialist: staffFilter, loc: loc.id })}><span aria-hidden="true">+</span></button>`)}
        ${d.appts.map((x) => html`<${Block} key=${x.row.id} desk=${desk} x=${x} from=${w.from} tz=${tz} compact=${true} onOpen=${onOpen} />`)}
        ${d.nowMin !== null && html`<div class=${`cal-now ${rowCls(d.nowMin, d.nowMin + 1, w.from)}`}></div>`}
      </div>
    </div>`)}
  </div>`;
}

function Row({ label, children, testid }) {
  return html`<div class="cal-drow" data-testid=${testid}><dt>${label}</dt><dd>${children}</dd></div>`;
}

// One appointment: who, what, when, its status, and what can be done with it.
function Detail({ desk, row, ask, setAsk, knowsReason, onClose, edit }) {
  const f = row.f;
  const panel = useRef(null);
  useEffect(() => { panel.current?.querySelector('h2')?.focus(); }, [row.id]);
  const loc = desk.by.location?.get(f.location_id);
  const tz = loc?.f.time_zone;
  const client = clientOf(desk, f);
  const svc = servicesOf(desk, f);
  const end = f.start_at + (f.duration_min || 0) * 60000;
  const specialist = staffName(desk, f.specialist_id, f);
  const role = desk.role;
  const staffRole = role !== 'specialist';
  const st = f.status;
  const open = st === 'booked' || st === 'confirmed';
  const setStatus = (status, why) => edit(row, knowsReason ? { status, status_reason: why ?? null } : { status });
  return html`<aside class="cal-detail" data-testid="appt-detail" data-id=${row.id} data-status=${st} ref=${panel} aria-labelledby="cal-detail-h">
    <div class="cal-dhead">
      <h2 id="cal-detail-h" tabindex="-1">${client?.f.name || t('cal_someone')}
        ${cm.allergyOf(client) && html` <span class="cal-alg-pill" data-testid="allergy-alert">⚠ ${t('cal_allergy')}</span>`}</h2>
      <button type="button" class="secondary cal-x" data-testid="appt-close" aria-label=${t('cal_close')} onClick=${onClose}>×</button>
    </div>
    <dl class="cal-dl">
      <${Row} label=${t('cal_time')}>${when(f.start_at, tz)}–${hhmm(parts(end, tz).min)} (${t('cal_minutes', { n: f.duration_min || 0 })})<//>
      <${Row} label=${t('cal_status')} testid="appt-status"><span class=${`cal-pill st-${st}`}>${t(`cal_status_${st}`)}</span><//>
      ${f.status_reason && html`<${Row} label=${t('cal_status_reason')}>${f.status_reason}<//>`}
      <${Row} label=${t('cal_services')}>${svc.join(', ') || '—'}<//>
      <${Row} label=${t('cal_specialist')}>${specialist || '—'}<//>
      <${Row} label=${t('cal_branch')}>${loc?.f.name || ''}<//>
      ${f.client_note && html`<${Row} label=${t('cal_client_note')}>${f.client_note}<//>`}
      ${f.internal_note && html`<${Row} label=${t('cal_internal_note')}>${f.internal_note}<//>`}
    </dl>
    ${client && html`<p><a href=${`/desk/client?id=${encodeURIComponent(f.client_id)}`} data-testid="appt-client" class="btn"
      onClick=${(e) => { if (!e.ctrlKey && !e.metaKey) { e.preventDefault(); desk.go(`/desk/client?id=${encodeURIComponent(f.client_id)}`); } }}>${t('cal_open_card')}</a></p>`}
    ${ask ? html`<${AskReason} key=${row.id + ask.kind} kind=${ask.kind} onBack=${() => setAsk(null)}
        onDone=${(why) => { setStatus(ask.kind, why); setAsk(null); }} />`
    : html`<div class="cal-actions">
        ${staffRole && open && html`<button type="button" class="secondary" data-testid="appt-move"
          onClick=${() => desk.go(`/desk/book?move=${encodeURIComponent(row.id)}`)}>${t('cal_move')}</button>`}
        ${staffRole && st === 'booked' && html`<button type="button" class="secondary" data-testid="appt-confirm"
          onClick=${() => setStatus('confirmed')}>✓ ${t('cal_mark_confirmed')}</button>`}
        ${staffRole && open && html`<button type="button" data-testid="appt-done" onClick=${() => setStatus('done')}>✓ ${t('cal_mark_done')}</button>`}
        ${staffRole && open && html`<button type="button" class="secondary" data-testid="appt-noshow"
          onClick=${() => setAsk({ id: row.id, kind: 'no_show' })}>${t('cal_noshow')}</button>`}
        ${staffRole && open && html`<button type="button" class="danger" data-testid="appt-cancel"
          onClick=${() => setAsk({ id: row.id, kind: 'cancelled' })}>${t('cal_cancel')}</button>`}
        ${staffRole && !open && html`<button type="button" class="secondary" data-testid="appt-restore"
          onClick=${() => setStatus('booked')}>${t('cal_restore')}</button>`}
      </div>`}
  </aside>`;
}

// Why it is cancelled or missed: asked before the status changes (a fresh form each time).
function AskReason({ kind, onDone, onBack }) {
  const [reason, setReason] = useState('');
  const [err, setErr] = useState('');
  const submit = (e) => {
    e.preventDefault();
    const why = reason.trim();
    if (!why) { setErr(t('cal_reason_needed')); return; }
    onDone(why.slice(0, 500));
  };
  return html`<form class="cal-ask" onSubmit=${submit}>
    <label for="cal-reason">${t(kind === 'cancelled' ? 'cal_reason_cancel' : 'cal_reason_noshow')}</label>
    <input id="cal-reason" type="text" data-testid="reason" maxlength="500" value=${reason} aria-required="true"
      onInput=${(e) => { setReason(e.currentTarget.value); setErr(''); }} />
    ${err && html`<p class="error" role="alert">${err}</p>`}
    <div class="cal-actions">
      <button type="submit" class="danger" data-testid="confirm">${t(kind === 'cancelled' ? 'cal_do_cancel' : 'cal_do_noshow')}</button>
      <button type="button" class="secondary" onClick=${onBack}>${t('cal_back')}</button>
    </div>
  </form>`;
}

function MoveAsk({ desk, m, row, onYes, onNo }) {
  if (!row) return null;
  const loc = desk.by.location?.get(row.f.location_id);
  const client = clientOf(desk, row.f);
  const name = staffName(desk, m.staff, row.f);
  // services that name their specialists and not this one: the server will refuse it
  const notBy = (row.f.services || []).map((id) => desk.by.service?.get(id)).filter((s) =>
    s && Array.isArray(s.f.specialist_ids) && s.f.specialist_ids.length && !s.f.specialist_ids.includes(m.staff)).map((s) => s.f.name);
  return html`<div class="cal-moveask" role="alertdialog" aria-labelledby="cal-move-q" data-testid="cal-move">
    <p id="cal-move-q">${t('cal_move_q', { client: client?.f.name || t('cal_someone'), time: when(m.ms, loc?.f.time_zone), name })}</p>
    ${notBy.length > 0 && html`<p class="cal-warn" data-testid="cal-move-warn">${t('cal_not_by', { name, services: notBy.join(', ') })}</p>`}
    <div class="cal-actions">
      <button type="button" data-testid="confirm" onClick=${onYes}>${t('cal_move_do')}</button>
      <button type="button" class="secondary" data-testid="cal-move-cancel" onClick=${onNo}>${t('cal_move_keep')}</button>
    </div>
  </div>`;
}
