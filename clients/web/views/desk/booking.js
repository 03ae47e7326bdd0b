// Booking at the desk: find the client in the local copy as you type (or make a card on
// the spot), pick services, the specialist and a time in the branch's zone, or let the
// next free slot be found; the booking rules are judged here first with the functions the
// finder uses (slots.js, the server's rules), and a booking that breaks one is sent only
// with an override and its reason. Saving goes through the write queue: it works offline.
// /desk/book?start=<ms>&specialist=<id>&client=<id>&loc=<id> prefills; ?move=<id> edits
// an appointment and sends only the fields that changed.
import { html, ErrorBox } from '../ui.js';
import { useState, useMemo, useEffect, useRef } from '../../vendor/preact/hooks.mjs';
import { t, addTexts, when, locale, dateOnly } from '../../i18n.js';
import { parts, toMs, hhmm } from '../../tz.js';
import { buildIndex, search } from '../../search.js';
import { context, judge, nextFree, offeredAt, doneBy } from '../../slots.js';

addTexts({
  en: { bk_when_title: 'Specialist and time', bk_title: 'Book', bk_move_title: 'Move or change the appointment', bk_client: 'Client', bk_search: 'Name or phone',
    bk_no_hits: 'No client found', bk_new: 'New client', bk_new_name: 'Name', bk_new_phone: 'Phone (optional)',
    bk_new_email: 'E-mail (optional)', bk_new_save: 'Create the card', bk_cancel: 'Cancel', bk_change: 'Change',
    bk_allergy: 'Allergies', bk_err_name: 'Name: please enter the client\'s name.',
    bk_err_phone: 'Phone: use digits, spaces and an optional leading + (at least 6 digits).',
    bk_err_email: 'E-mail: this does not look like an e-mail address (name@example.com).',
    bk_services: 'Services', bk_no_services: 'No services are offered here.', bk_total: 'Total {min} min', bk_min: '{min} min',
    bk_duration: 'Minutes', bk_price: 'Price {price}', bk_specialist: 'Specialist', bk_any: 'Any specialist',
    bk_date: 'Date', bk_time: 'Time', bk_next_free: 'Next free slot', bk_no_slot: 'No free time in the next 60 days.',
    bk_slot_found: 'Free: {when} with {name}', bk_submit: 'Book', bk_submit_move: 'Save the changes', bk_anyway: 'Book anyway',
    bk_reason: 'Reason for booking anyway', bk_refuse: 'The salon\'s rules do not allow this booking; someone at the desk or a manager can book it anyway.',
    bk_need_client: 'Pick a client first.', bk_need_specialist: 'Pick a specialist.', bk_need_time: 'Pick a date and time.',
    bk_need_duration: 'The length must be 1 to 1440 minutes.', bk_need_reason: 'Say why it is booked anyway.',
    bk_booked: 'Booked: {when}, {name}.', bk_moved: 'Saved: {when}, {name}.', bk_unchanged: 'Nothing was changed.',
    bk_queued: 'It is sent when the tablet is online again.', bk_open_day: 'Open the day', bk_branch: 'Branch', bk_no_branch: 'There is no branch to book at.',
    bk_not_found: 'This appointment is not in this tablet\'s copy.',
    bk_w_location_service: '{loc} does not offer {service}', bk_w_specialist_service: '{name} does not do {service}',
    bk_w_closed_day: '{loc} is closed on {day}', bk_w_opening_hours: 'Outside opening hours ({hours})',
    bk_w_opening_closed: 'Outside opening hours (closed that day)', bk_w_working_hours: 'Outside {name}\'s working hours ({hours})',
    bk_w_working_none: '{name} does not work that day', bk_w_time_off: '{name} is off from {from} to {to}',
    bk_w_overlap: '{name} already has an appointment {from}-{to}',
    bk_w_buffer_this: '{service} needs {min} minutes after it; {name} has an appointment at {at}',
    bk_w_buffer_other: '{name}\'s appointment before it ends at {at} and needs {min} minutes after it' },
  sl: { bk_when_title: 'Izvajalec in termin', bk_title: 'Naročanje', bk_move_title: 'Premik ali sprememba termina', bk_client: 'Stranka', bk_search: 'Ime ali telefon',
    bk_no_hits: 'Ni najdene stranke', bk_new: 'Nova stranka', bk_new_name: 'Ime', bk_new_phone: 'Telefon (neobvezno)',
    bk_new_email: 'E-pošta (neobvezno)', bk_new_save: 'Ustvari kartoteko', bk_cancel: 'Prekliči', bk_change: 'Zamenjaj',
    bk_allergy: 'Alergije', bk_err_name: 'Ime: vpišite ime stranke.',
    bk_err_phone: 'Telefon: uporabite števke, presledke in po želji + na začetku (vsaj 6 števk).',
    bk_err_email: 'E-pošta: to ni videti kot e-poštni naslov (ime@primer.si).',
    bk_services: 'Storitve', bk_no_services: 'Tu ni ponujenih storitev.', bk_total: 'Skupaj {min} min', bk_min: '{min} min',
    bk_duration: 'Minute', bk_price: 'Cena {price}', bk_specialist: 'Izvajalec', bk_any: 'Kdorkoli',
    bk_date: 'Datum', bk_time: 'Ura', bk_next_free: 'Prvi prosti termin', bk_no_slot: 'V naslednjih 60 dneh ni prostega termina.',
    bk_slot_found: 'Prosto: {when}, {name}', bk_submit: 'Naroči', bk_submit_move: 'Shrani spremembe', bk_anyway: 'Vseeno naroči',
    bk_reason: 'Razlog, zakaj vseeno', bk_refuse: 'Pravila salona tega termina ne dovolijo; na recepciji ali vodja ga lahko vseeno naroči.',
    bk_need_client: 'Najprej izberite stranko.', bk_need_specialist: 'Izberite izvajalca.', bk_need_time: 'Izberite datum in uro.',
    bk_need_duration: 'Trajanje mora biti od 1 do 1440 minut.', bk_need_reason: 'Napišite, zakaj vseeno.',
    bk_booked: 'Naročeno: {when}, {name}.', bk_moved: 'Shranjeno: {when}, {name}.', bk_unchanged: 'Nič ni bilo spremenjeno.',
    bk_queued: 'Poslano bo, ko bo tablica spet povezana.', bk_open_day: 'Odpri dan', bk_branch: 'Poslovalnica', bk_no_branch: 'Ni poslovalnice za naročanje.',
    bk_not_found: 'Tega termina ni v kopiji na tej tablici.',
    bk_w_location_service: '{loc} ne ponuja storitve {service}', bk_w_specialist_service: '{name} ne izvaja storitve {service}',
    bk_w_closed_day: '{loc} je {day} zaprt', bk_w_opening_hours: 'Izven delovnega časa ({hours})',
    bk_w_opening_closed: 'Izven delovnega časa (ta dan zaprto)', bk_w_working_hours: 'Izven delovnega časa: {name} ({hours})',
    bk_w_working_none: '{name} ta dan ne dela', bk_w_time_off: '{name} je odsoten/odsotna od {from} do {to}',
    bk_w_overlap: '{name} že ima termin {from}-{to}',
    bk_w_buffer_this: '{service} potrebuje {min} minut po koncu; {name} ima termin ob {at}',
    bk_w_buffer_other: 'Prejšnji termin ({name}) se konča ob {at} in potrebuje {min} minut po koncu' },
  de: { bk_when_title: 'Fachkraft und Zeit', bk_title: 'Buchen', bk_move_title: 'Termin verschieben oder ändern', bk_client: 'Kundin/Kunde', bk_search: 'Name oder Telefon',
    bk_no_hits: 'Niemand gefunden', bk_new: 'Neue Kundschaft', bk_new_name: 'Name', bk_new_phone: 'Telefon (optional)',
    bk_new_email: 'E-Mail (optional)', bk_new_save: 'Karteikarte anlegen', bk_cancel: 'Abbrechen', bk_change: 'Ändern',
    bk_allergy: 'Allergien', bk_err_name: 'Name: bitte den Namen eingeben.',
    bk_err_phone: 'Telefon: Ziffern, Leerzeichen und optional ein + am Anfang (mindestens 6 Ziffern).',
    bk_err_email: 'E-Mail: das sieht nicht wie eine E-Mail-Adresse aus (name@beispiel.de).',
    bk_services: 'Leistungen', bk_no_services: 'Hier werden keine Leistungen angeboten.', bk_total: 'Gesamt {min} Min.', bk_min: '{min} Min.',
    bk_duration: 'Minuten', bk_price: 'Preis {price}', bk_specialist: 'Fachkraft', bk_any: 'Beliebige Fachkraft',
    bk_date: 'Datum', bk_time: 'Uhrzeit', bk_next_free: 'Nächster freier Termin', bk_no_slot: 'In den nächsten 60 Tagen ist nichts frei.',
    bk_slot_found: 'Frei: {when} bei {name}', bk_submit: 'Buchen', bk_submit_move: 'Änderungen speichern', bk_anyway: 'Trotzdem buchen',
    bk_reason: 'Grund für die Ausnahme', bk_refuse: 'Die Regeln des Salons erlauben diese Buchung nicht; Empfang oder Leitung können sie trotzdem buchen.',
    bk_need_client: 'Bitte zuerst die Kundschaft wählen.', bk_need_specialist: 'Bitte eine Fachkraft wählen.', bk_need_time: 'Bitte Datum und Uhrzeit wählen.',
    bk_need_duration: 'Die Dauer muss 1 bis 1440 Minuten betragen.', bk_need_reason: 'Bitte den Grund angeben.',
    bk_booked: 'Gebucht: {when}, {name}.', bk_moved: 'Gespeichert: {when}, {name}.', bk_unchanged: 'Nichts wurde geändert.',
    bk_queued: 'Wird gesendet, sobald das Tablet wieder online ist.', bk_open_day: 'Tag öffnen', bk_branch: 'Filiale', bk_no_branch: 'Keine Filiale zum Buchen.',
    bk_not_found: 'Dieser Termin ist nicht in der Kopie dieses Tablets.',
    bk_w_location_service: '{loc} bietet {service} nicht an', bk_w_specialist_service: '{name} macht {service} nicht',
    bk_w_closed_day: '{loc} ist am {day} geschlossen', bk_w_opening_hours: 'Außerhalb der Öffnungszeiten ({hours})',
    bk_w_opening_closed: 'Außerhalb der Öffnungszeiten (an dem Tag geschlossen)', bk_w_working_hours: 'Außerhalb der Arbeitszeit von {name} ({hours})',
    bk_w_working_none: '{name} arbeitet an dem Tag nicht', bk_w_time_off: '{name} ist von {from} bis {to} abwesend',
    bk_w_overlap: '{name} hat bereits einen Termin {from}-{to}',
    bk_w_buffer_this: '{service} braucht danach {min} Minuten; {name} hat um {at} einen Termin',
    bk_w_buffer_other: 'Der Termin davor ({name}) endet um {at} und braucht danach {min} Minuten' },
  pl: { bk_when_title: 'Specjalista i termin', bk_title: 'Rezerwacja', bk_move_title: 'Przenieś lub zmień wizytę', bk_client: 'Klient', bk_search: 'Imię i nazwisko lub telefon',
    bk_no_hits: 'Nie znaleziono klienta', bk_new: 'Nowy klient', bk_new_name: 'Imię i nazwisko', bk_new_phone: 'Telefon (opcjonalnie)',
    bk_new_email: 'E-mail (opcjonalnie)', bk_new_save: 'Utwórz kartę', bk_cancel: 'Anuluj', bk_change: 'Zmień',
    bk_allergy: 'Alergie', bk_err_name: 'Imię i nazwisko: wpisz imię i nazwisko klienta.',
    bk_err_phone: 'Telefon: cyfry, spacje i opcjonalnie + na początku (co najmniej 6 cyfr).',
    bk_err_email: 'E-mail: to nie wygląda na adres e-mail (imie@przyklad.pl).',
    bk_services: 'Usługi', bk_no_services: 'Tutaj nie ma usług.', bk_total: 'Razem {min} min', bk_min: '{min} min',
    bk_duration: 'Minuty', bk_price: 'Cena {price}', bk_specialist: 'Specjalista', bk_any: 'Dowolny specjalista',
    bk_date: 'Data', bk_time: 'Godzina', bk_next_free: 'Najbliższy wolny termin', bk_no_slot: 'Brak wolnych terminów w ciągu 60 dni.',
    bk_slot_found: 'Wolne: {when}, {name}', bk_submit: 'Rezerwuj', bk_submit_move: 'Zapisz zmiany', bk_anyway: 'Rezerwuj mimo to',
    bk_reason: 'Powód wyjątku', bk_refuse: 'Zasady salonu nie pozwalają na tę rezerwację; recepcja lub kierownik mogą ją zrobić mimo to.',
    bk_need_client: 'Najpierw wybierz klienta.', bk_need_specialist: 'Wybierz specjalistę.', bk_need_time: 'Wybierz datę i godzinę.',
    bk_need_duration: 'Czas musi wynosić od 1 do 1440 minut.', bk_need_reason: 'Podaj powód.',
    bk_booked: 'Zarezerwowano: {when}, {name}.', bk_moved: 'Zapisano: {when}, {name}.', bk_unchanged: 'Nic nie zmieniono.',
    bk_queued: 'Zostanie wysłane, gdy tablet znów będzie online.', bk_open_day: 'Otwórz dzień', bk_branch: 'Oddział', bk_no_branch: 'Brak oddziału do rezerwacji.',
    bk_not_found: 'Tej wizyty nie ma w kopii na tym tablecie.',
    bk_w_location_service: '{loc} nie oferuje usługi {service}', bk_w_specialist_service: '{name} nie wykonuje usługi {service}',
    bk_w_closed_day: '{loc} jest zamknięty {day}', bk_w_opening_hours: 'Poza godzinami otwarcia ({hours})',
    bk_w_opening_closed: 'Poza godzinami otwarcia (tego dnia zamknięte)', bk_w_working_hours: 'Poza godzinami pracy: {name} ({hours})',
    bk_w_working_none: '{name} nie pracuje tego dnia', bk_w_time_off: '{name} jest nieobecny/a od {from} do {to}',
    bk_w_overlap: '{name} ma już wizytę {from}-{to}',
    bk_w_buffer_this: '{service} wymaga {min} minut przerwy po; {name} ma wizytę o {at}',
    bk_w_buffer_other: 'Poprzednia wizyta ({name}) kończy się o {at} i wymaga {min} minut przerwy' },
  fi: { bk_when_title: 'Tekijä ja aika', bk_title: 'Varaus', bk_move_title: 'Siirrä tai muuta aikaa', bk_client: 'Asiakas', bk_search: 'Nimi tai puhelin',
    bk_no_hits: 'Asiakasta ei löytynyt', bk_new: 'Uusi asiakas', bk_new_name: 'Nimi', bk_new_phone: 'Puhelin (valinnainen)',
    bk_new_email: 'Sähköposti (valinnainen)', bk_new_save: 'Luo asiakaskortti', bk_cancel: 'Peruuta', bk_change: 'Vaihda',
    bk_allergy: 'Allergioita', bk_err_name: 'Nimi: kirjoita asiakkaan nimi.',
    bk_err_phone: 'Puhelin: numeroita, välilyöntejä ja alussa valinnainen + (vähintään 6 numeroa).',
    bk_err_email: 'Sähköposti: tämä ei näytä sähköpostiosoitteelta (nimi@esimerkki.fi).',
    bk_services: 'Palvelut', bk_no_services: 'Täällä ei ole tarjolla palveluja.', bk_total: 'Yhteensä {min} min', bk_min: '{min} min',
    bk_duration: 'Minuutit', bk_price: 'Hinta {price}', bk_specialist: 'Tekijä', bk_any: 'Kuka tahansa',
    bk_date: 'Päivä', bk_time: 'Kellonaika', bk_next_free: 'Seuraava vapaa aika', bk_no_slot: 'Ei vapaita aikoja seuraavan 60 päivän aikana.',
    bk_slot_found: 'Vapaana: {when}, {name}', bk_submit: 'Varaa', bk_submit_move: 'Tallenna muutokset', bk_anyway: 'Varaa silti',
    bk_reason: 'Syy poikkeukseen', bk_refuse: 'Salongin säännöt eivät salli tätä varausta; vastaanotto tai esimies voi varata sen silti.',
    bk_need_client: 'Valitse ensin asiakas.', bk_need_specialist: 'Valitse tekijä.', bk_need_time: 'Valitse päivä ja kellonaika.',
    bk_need_duration: 'Keston on oltava 1–1440 minuuttia.', bk_need_reason: 'Kerro syy.',
    bk_booked: 'Varattu: {when}, {name}.', bk_moved: 'Tallennettu: {when}, {name}.', bk_unchanged: 'Mitään ei muutettu.',
    bk_queued: 'Lähetetään, kun tabletilla on taas yhteys.', bk_open_day: 'Avaa päivä', bk_branch: 'Toimipiste', bk_no_branch: 'Ei toimipistettä varattavaksi.',
    bk_not_found: 'Tätä varausta ei ole tämän tabletin kopiossa.',
    bk_w_location_service: '{loc} ei tarjoa palvelua {service}', bk_w_specialist_service: '{name} ei tee palvelua {service}',
    bk_w_closed_day: '{loc} on suljettu {day}', bk_w_opening_hours: 'Aukioloajan ulkopuolella ({hours})',
    bk_w_opening_closed: 'Aukioloajan ulkopuolella (suljettu sinä päivänä)', bk_w_working_hours: 'Työajan ulkopuolella: {name} ({hours})',
    bk_w_working_none: '{name} ei ole töissä sinä päivänä', bk_w_time_off: '{name} on poissa {from} – {to}',
    bk_w_overlap: '{name}: jo varattu {from}-{to}',
    bk_w_buffer_this: '{service} vaatii {min} minuuttia jälkeensä; {name}: seuraava varaus klo {at}',
    bk_w_buffer_other: 'Edellinen varaus ({name}) päättyy klo {at} ja vaatii {min} minuuttia jälkeensä' },
});

const STEP = 15;
const OVERRIDERS = ['owner', 'manager', 'reception'];
const list = (v) => (Array.isArray(v) ? v : v ? String(v).split(',').filter(Boolean) : []);

// The client index, built once per `desk.by.client` Map (a new Map only when the local
// copy changes), so a keystroke only searches.
let indexOf = null, indexed = [];
export function clientIndex(map) {
  if (map !== indexOf) {
    indexOf = map;
    indexed = buildIndex(map ? [...map.values()].filter((r) => r.f && r.f.name) : []);
  }
  return indexed;
}

// Who books at a location: active specialists whose `location_ids` list it; until the
// server sends `location_ids`, staff named by appointments or working hours there, else
// every specialist, else every staff row.
export function specialistsAt(by, loc) {
  const staff = [...(by.staff?.values() || [])].filter((r) => r.f && r.f.active !== false && r.f.active !== 0 && r.f.active !== '0');
  let out;
  if (staff.some((r) => Array.isArray(r.f.location_ids))) {
    out = staff.filter((r) => (!r.f.role || r.f.role === 'specialist') && list(r.f.location_ids).includes(loc));
  } else {
    const named = new Set();
    for (const a of by.appointment?.values() || []) if (a.f.location_id === loc && a.f.specialist_id) named.add(a.f.specialist_id);
    for (const w of by.working_hours?.values() || []) if (w.f.location_id === loc) named.add(w.f.staff_id);
    out = staff.filter((r) => named.has(r.id));
    if (!out.length) out = staff.filter((r) => r.f.role === 'specialist');
    if (!out.length) out = staff;
  }
  return out.sort((a, b) => String(a.f.display_name).localeCompare(String(b.f.display_name)));
}

export function servicesAt(by, loc) {
  return [...(by.service?.values() || [])]
    .filter((r) => r.f && r.f.name && !r.f.archived_at && r.f.active !== false && offeredAt(r.f, loc))
    .sort((a, b) => String(a.f.name).localeCompare(String(b.f.name)));
}

const PHONE_RE = /^\+?[\d\s\-/().]+$/;
const EMAIL_RE = /^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$/;
export function newClientErrors({ name, phone, email }) {
  const e = {};
  if (!String(name || '').trim()) e.name = t('bk_err_name');
  const p = String(phone || '').trim();
  if (p && (!PHONE_RE.test(p) || p.replace(/\D/g, '').length < 6)) e.phone = t('bk_err_phone');
  const m = String(email || '').trim();
  if (m && !EMAIL_RE.test(m)) e.email = t('bk_err_email');
  return e;
}

function money(cents, currency) {
  try {
    return new Intl.NumberFormat(locale(), { style: 'currency', currency: currency || 'EUR' }).format(cents / 100);
  } catch {
    return `${(cents / 100).toFixed(2)} ${currency || ''}`;
  }
}

const nameOf = (by, id) => by.staff?.get(id)?.f.display_name || '';
const timeAt = (ms, tz) => { const p = parts(ms, tz); return hhmm(p.min); };

// A broken rule as the sentence the desk reads (the location's wall clock).
export function warningText(w, { by, ctx, spec }) {
  const name = nameOf(by, spec);
  const loc = ctx.loc.name || '';
  const tz = ctx.tz;
  const pretty = (iv) => String(iv).replace(/,/g, ', ');
  switch (w.rule) {
    case 'location_service': return t('bk_w_location_service', { loc, service: w.service });
    case 'specialist_service': return t('bk_w_specialist_service', { name, service: w.service });
    case 'closed_day': return t('bk_w_closed_day', { loc, day: dateOnly(w.day) }) + (w.reason ? ` (${w.reason})` : '');
    case 'opening_hours': return w.hours ? t('bk_w_opening_hours', { hours: pretty(w.hours) }) : t('bk_w_opening_closed');
    case 'working_hours': return w.hours ? t('bk_w_working_hours', { name, hours: pretty(w.hours) }) : t('bk_w_working_none', { name });
    case 'time_off': return t('bk_w_time_off', { name, from: when(w.from, tz), to: when(w.to, tz) });
    case 'overlap': return t('bk_w_overlap', { name, from: timeAt(w.other.start, tz), to: timeAt(w.other.end, tz) });
    case 'buffer': return w.after === 'this'
      ? t('bk_w_buffer_this', { service: w.service, min: w.min, name, at: timeAt(w.other.start, tz) })
      : t('bk_w_buffer_other', { name, min: w.min, at: timeAt(w.other.end, tz) });
    default: return w.rule;
  }
}

function ClientPicker({ desk, clientId, setClient }) {
  const [q, setQ] = useState('');
  const [adding, setAdding] = useState(false);
  const [nc, setNc] = useState({ name: '', phone: '', email: '' });
  const [errs, setErrs] = useState({});
  const [busy, setBusy] = useState(false);
  const chosen = clientId && desk.by.client?.get(clientId);
  if (chosen) {
    const f = chosen.f;
    return html`<div class="bk-chosen" data-testid="client-chosen" data-id=${chosen.id}>
      <span class="bk-name">${f.name}</span>
      ${f.phone && html`<span class="bk-phone">${f.phone}</span>`}
      ${(f.allergy_alert || (f.allergies && String(f.allergies).trim())) && html`<span class="bk-allergy" data-testid="allergy-marker">⚠ ${t('bk_allergy')}</span>`}
      <button type="button" class="secondary" data-testid="client-change" onClick=${() => setClient(null)}>${t('bk_change')}</button>
    </div>`;
  }
  const hits = q.trim() ? search(clientIndex(desk.by.client), q, 12) : [];
  const create = async (e) => {
    e.preventDefault();
    const er = newClientErrors(nc);
    setErrs(er);
    if (Object.keys(er).length) return;
    const f = { name: nc.name.trim() };
    if (nc.phone.trim()) f.phone = nc.phone.trim();
    if (nc.email.trim()) f.email = nc.email.trim();
    const id = desk.newId();
    setBusy(true);
    try {
      await desk.edit('client', id, 'create', f);
      setClient(id);
    } catch (x) {
      setErrs({ save: x?.message || String(x) });
    } finally {
      setBusy(false);
    }
  };
  if (adding) {
    const fld = (k, label, type, testid) => html`<div class="field">
      <label for=${'bk-new-' + k}>${label}</label>
      <input id=${'bk-new-' + k} type=${type} data-testid=${testid} value=${nc[k]} aria-invalid=${errs[k] ? 'true' : undefined}
        aria-describedby=${errs[k] ? 'bk-new-err-' + k : undefined}
        onInput=${(e) => setNc({ ...nc, [k]: e.currentTarget.value })} />
      ${errs[k] && html`<p class="error" id=${'bk-new-err-' + k} data-testid=${'new-client-error-' + k}>${errs[k]}</p>`}
    </div>`;
    return html`<div class="bk-new" data-testid="new-client-form">
      ${fld('name', t('bk_new_name'), 'text', 'new-client-name')}
      <div class="bk-row">
        ${fld('phone', t('bk_new_phone'), 'tel', 'new-client-phone')}
        ${fld('email', t('bk_new_email'), 'email', 'new-client-email')}
      </div>
      <${ErrorBox} text=${errs.save} />
      <div class="bk-actions">
        <button type="button" data-testid="new-client-save" disabled=${busy} onClick=${create}>${t('bk_new_save')}</button>
        <button type="button" class="secondary" onClick=${() => { setAdding(false); setErrs({}); }}>${t('bk_cancel')}</button>
      </div>
    </div>`;
  }
  return html`<div class="bk-find">
    <div class="bk-row">
      <label class="sr-only" for="bk-search">${t('bk_search')}</label>
      <input id="bk-search" type="search" data-testid="client-search" placeholder=${t('bk_search')} value=${q} autocomplete="off"
        onInput=${(e) => setQ(e.currentTarget.value)} />
      <button type="button" class="secondary" data-testid="new-client"
        onClick=${() => { setAdding(true); setNc({ name: /\d/.test(q) ? '' : q.trim(), phone: /\d/.test(q) ? q.trim() : '', email: '' }); }}>${t('bk_new')}</button>
    </div>
    ${q.trim() && html`<ul class="bk-hits" data-testid="client-results" data-n=${hits.length} data-q=${q}>
      ${hits.map((r) => html`<li key=${r.id}><button type="button" class="bk-hit" data-testid="client-result" data-id=${r.id} onClick=${() => setClient(r.id)}>
        <span class="bk-name">${r.f.name}</span>
        ${r.f.phone && html`<span class="bk-phone">${r.f.phone}</span>`}
        ${(r.f.allergy_alert || (r.f.allergies && String(r.f.allergies).trim())) && html`<span class="bk-allergy" title=${t('bk_allergy')}>⚠ ${t('bk_allergy')}</span>`}
      </button></li>`)}
      ${!hits.length && html`<li class="empty">${t('bk_no_hits')}</li>`}
    </ul>`}
  </div>`;
}

// The form's starting values from the query (or the appointment that is moved).
function initial(desk) {
  const p = desk.params;
  const move = p.get('move');
  const row = move ? desk.by.appointment?.get(move) : null;
  const locs = desk.locations();
  let loc = row?.f.location_id || p.get('loc') || desk.location || locs[0]?.id || null;
  const tz = desk.by.location?.get(loc)?.f.time_zone || 'UTC';
  const start = row ? Number(row.f.start_at) : Number(p.get('start')) || null;
  const at = start ? parts(start, tz) : null;
  return {
    move, row, loc,
    client: row?.f.client_id || p.get('client') || null,
    spec: row?.f.specialist_id || p.get('specialist') || '',
    services: row ? list(row.f.services) : [],
    dur: row ? Number(row.f.duration_min) : null,
    date: at ? at.ymd : parts(Date.now(), tz).ymd,
    time: at ? hhmm(at.min) : '',
  };
}

export function Booking({ desk }) {
  // a new query (a tap on another free slot) is a new form
  return html`<${BookingForm} key=${desk.params.toString()} desk=${desk} />`;
}

function BookingForm({ desk }) {
  const [init] = useState(() => initial(desk));
  const [loc, setLoc] = useState(init.loc);
  const [client, setClient] = useState(init.client);
  const [spec, setSpec] = useState(init.spec);
  const [services, setServices] = useState(init.services);
  const [durEdit, setDurEdit] = useState(init.row && init.dur !== null ? init.dur : null);
  const [date, setDate] = useState(init.date);
  const [time, setTime] = useState(init.time);
  const [reason, setReason] = useState('');
  const [msg, setMsg] = useState(null); // {kind: 'error'|'info', text, testid}
  const [saved, setSaved] = useState(null);
  const [busy, setBusy] = useState(false);
  const lastFound = useRef(null);
  const goTimer = useRef(null);
  useEffect(() => () => clearTimeout(goTimer.current), []);

  const by = desk.by;
  const ctx = useMemo(() => context(by, loc), [by, loc]);
  const tz = ctx.tz;
  const specs = useMemo(() => specialistsAt(by, loc), [by, loc]);
  const offered = useMemo(() => servicesAt(by, loc), [by, loc]);
  if (!loc) return html`<section class="desk-page booking" data-testid="booking"><h1>${t('bk_title')}</h1><p class="empty">${t('bk_no_branch')}</p></section>`;
  if (init.move && !init.row) return html`<section class="desk-page booking" data-testid="booking"><h1>${t('bk_move_title')}</h1><${ErrorBox} text=${t('bk_not_found')} /></section>`;

  const shown = offered.filter((s) => doneBy(s.f, spec) || services.includes(s.id));
  const chosen = services.map((id) => by.service?.get(id)).filter(Boolean);
  const sum = chosen.reduce((n, s) => n + (Number(s.f.duration_min) || 0), 0);
  const price = chosen.reduce((n, s) => n + (Number(s.f.price_cents) || 0), 0);
  const dur = durEdit ?? (sum || 30);
  const currency = desk.org?.currency || [...(by.organisation?.values() || [])][0]?.f.currency || 'EUR';
  const [hh, mm] = (time || '').split(':').map(Number);
  const start = date && time && Number.isFinite(hh) && Number.isFinite(mm) ? toMs(date, hh * 60 + mm, tz) : null;
  const self = init.move || undefined;
  const booking = spec && start !== null && dur > 0 ? { specialist_id: spec, start_at: start, duration_min: dur, services, self } : null;
  const warnings = booking ? judge(ctx, booking) : [];
  const canOverride = OVERRIDERS.includes(desk.role);

  const toggle = (id) => {
    setServices(services.includes(id) ? services.filter((x) => x !== id) : [...services, id]);
    setDurEdit(null); // the length follows the services again
    setSaved(null);
  };

  const findNext = () => {
    setMsg(null);
    const now = Date.now();
    let from = date ? toMs(date, time && Number.isFinite(hh) ? hh * 60 + (mm || 0) : 0, tz) : now;
    // asked again on the slot it proposed: the one after it
    if (lastFound.current && start === lastFound.current.start_at) from = start + STEP * 60000;
    from = Math.max(from, now);
    const who = spec ? [spec] : specs.map((s) => s.id);
    const hit = nextFree(ctx, { specialists: who, duration_min: dur, services, from, days: 60, self });
    if (!hit) { setMsg({ kind: 'error', text: t('bk_no_slot'), testid: 'no-slot' }); return; }
    lastFound.current = hit;
    const p = parts(hit.start_at, tz);
    setDate(p.ymd);
    setTime(hhmm(p.min));
    setSpec(hit.specialist_id);
    setMsg({ kind: 'info', text: t('bk_slot_found', { when: when(hit.start_at, tz), name: nameOf(by, hit.specialist_id) }), testid: 'slot-found' });
  };

  const submit = async (e) => {
    e.preventDefault();
    setMsg(null);
    const need = !client ? 'bk_need_client' : !spec ? 'bk_need_specialist' : start === null ? 'bk_need_time'
      : !(dur >= 1 && dur <= 1440) ? 'bk_need_duration' : warnings.length && canOverride && !reason.trim() ? 'bk_need_reason' : null;
    if (need) { setMsg({ kind: 'error', text: t(need), testid: 'book-error' }); return; }
    if (warnings.length && !canOverride) { setMsg({ kind: 'error', text: t('bk_refuse'), testid: 'book-error' }); return; }
    const extra = warnings.length ? { override: { rule: [...new Set(warnings.map((w) => w.rule))].join(','), reason: reason.trim().slice(0, 500) } } : undefined;
    setBusy(true);
    try {
      if (init.move) {
        const f = init.row.f, changed = {};
        if (Number(f.start_at) !== start) changed.start_at = start;
        if (f.specialist_id !== spec) changed.specialist_id = spec;
        if (Number(f.duration_min) !== dur) changed.duration_min = dur;
        if (list(f.services).join(',') !== services.join(',')) changed.services = services;
        if (!Object.keys(changed).length) { setMsg({ kind: 'info', text: t('bk_unchanged'), testid: 'book-unchanged' }); return; }
        await desk.edit('appointment', init.move, 'update', changed, extra);
      } else {
        await desk.edit('appointment', desk.newId(), 'create',
          { location_id: loc, client_id: client, specialist_id: spec, start_at: start, duration_min: dur, services }, extra);
      }
      const day = parts(start, tz).ymd;
      setSaved({ start, day, spec, moved: !!init.move });
      clearTimeout(goTimer.current);
      goTimer.current = setTimeout(() => { if (desk.route === '/desk/book') desk.go(`/desk?day=${day}&loc=${loc}`); }, 1500);
    } catch (x) {
      setMsg({ kind: 'error', text: x?.message || String(x), testid: 'book-error' });
    } finally {
      setBusy(false);
    }
  };

  const locs = desk.locations();
  return html`<section class="desk-page booking" data-testid="booking" data-loc=${loc}>
    <h1>${init.move ? t('bk_move_title') : t('bk_title')}</h1>
    <form class="bk-grid" onSubmit=${submit} novalidate>
      <div class="bk-col">
        <fieldset class="bk-box">
          <legend>${t('bk_client')}</legend>
          ${init.move ? html`<p class="bk-chosen" data-testid="client-chosen" data-id=${client}><span class="bk-name">${by.client?.get(client)?.f.name || ''}</span></p>`
            : html`<${ClientPicker} desk=${desk} clientId=${client} setClient=${(id) => { setClient(id); setSaved(null); }} />`}
        </fieldset>
        <fieldset class="bk-box">
          <legend>${t('bk_services')}</legend>
          ${!shown.length && html`<p class="empty">${t('bk_no_services')}</p>`}
          <ul class="bk-services">
            ${shown.map((s) => html`<li key=${s.id}><label class="bk-service">
              <input type="checkbox" data-testid="service" data-id=${s.id} checked=${services.includes(s.id)} onChange=${() => toggle(s.id)} />
              <span class="bk-sname">${s.f.name}</span>
              <span class="bk-smeta">${t('bk_min', { min: s.f.duration_min })} · ${money(Number(s.f.price_cents) || 0, currency)}</span>
            </label></li>`)}
          </ul>
        </fieldset>
      </div>
      <div class="bk-col">
        <fieldset class="bk-box">
          <legend>${t('bk_when_title')}</legend>
          ${locs.length > 1 && !init.move ? html`<div class="field"><label for="bk-loc">${t('bk_branch')}</label>
            <select id="bk-loc" data-testid="book-location" onChange=${(e) => { setLoc(e.currentTarget.value); setSpec(''); }}>
              ${locs.map((l) => html`<option value=${l.id} selected=${l.id === loc}>${l.f.name}</option>`)}
            </select></div>` : html`<p class="bk-loc">${t('bk_branch')}: <strong>${ctx.loc.name}</strong></p>`}
          <div class="field"><label for="bk-spec">${t('bk_specialist')}</label>
            <select id="bk-spec" data-testid="specialist" onChange=${(e) => { setSpec(e.currentTarget.value); setSaved(null); }}>
              <option value="" selected=${!spec}>${t('bk_any')}</option>
              ${specs.map((s) => html`<option value=${s.id} selected=${s.id === spec}>${s.f.display_name}</option>`)}
              ${spec && !specs.some((s) => s.id === spec) && html`<option value=${spec} selected>${nameOf(by, spec) || '—'}</option>`}
            </select></div>
          <div class="bk-row">
            <div class="field"><label for="bk-date">${t('bk_date')}</label>
              <input id="bk-date" type="date" data-testid="date" value=${date} onInput=${(e) => { setDate(e.currentTarget.value); setSaved(null); }} /></div>
            <div class="field"><label for="bk-time">${t('bk_time')}</label>
              <input id="bk-time" type="time" step="900" data-testid="time" value=${time} onInput=${(e) => { setTime(e.currentTarget.value); setSaved(null); }} /></div>
            <div class="field bk-dur"><label for="bk-dur">${t('bk_duration')}</label>
              <input id="bk-dur" type="number" min="1" max="1440" step="5" data-testid="duration" value=${dur}
                onInput=${(e) => setDurEdit(Number(e.currentTarget.value) || null)} /></div>
          </div>
          <button type="button" class="secondary bk-next" data-testid="next-free" onClick=${findNext}>${t('bk_next_free')}</button>
          ${start !== null && html`<p class="bk-when" data-testid="book-when">${when(start, tz)} (${tz})</p>`}
        </fieldset>
        <p class="bk-total"><strong data-testid="total-min" data-min=${sum}>${t('bk_total', { min: sum })}</strong>
          <span data-testid="price" class="bk-price">${t('bk_price', { price: money(price, currency) })}</span></p>
        ${warnings.length > 0 && html`<div class="bk-warn" role="alert" data-testid="book-warning" data-rules=${warnings.map((w) => w.rule).join(',')}>
          <ul>${warnings.map((w) => html`<li data-rule=${w.rule}>${warningText(w, { by, ctx, spec })} (${w.rule})</li>`)}</ul>
          ${canOverride ? html`<div class="field"><label for="bk-reason">${t('bk_reason')}</label>
            <input id="bk-reason" type="text" maxlength="500" data-testid="book-override" value=${reason} onInput=${(e) => { setReason(e.currentTarget.value); if (msg?.testid === 'book-error') setMsg(null); }} /></div>`
            : html`<p>${t('bk_refuse')}</p>`}
        </div>`}
        ${msg && html`<p class=${msg.kind === 'error' ? 'error' : 'note'} role=${msg.kind === 'error' ? 'alert' : 'status'} data-testid=${msg.testid}>${msg.text}</p>`}
        ${saved ? html`<div class="note bk-booked" role="status" data-testid="booked" data-day=${saved.day} data-start=${saved.start}>
            <p>${t(saved.moved ? 'bk_moved' : 'bk_booked', { when: when(saved.start, tz), name: nameOf(by, saved.spec) })}</p>
            ${!desk.online && html`<p>${t('bk_queued')}</p>`}
            <button type="button" class="secondary" data-testid="booked-day" onClick=${() => desk.go(`/desk?day=${saved.day}&loc=${loc}`)}>${t('bk_open_day')}</button>
          </div>`
          : html`<button type="submit" class="bk-submit" data-testid="book-submit" disabled=${busy || (warnings.length > 0 && !canOverride)}>
            ${warnings.length ? t('bk_anyway') : init.move ? t('bk_submit_move') : t('bk_submit')}</button>`}
      </div>
    </form>
  </section>`;
}
