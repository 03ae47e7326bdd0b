// /desk/queue: what the write queue (queue.js) could not send as it was. Rejections
// with the server's reason in words, what the person tried and what the server holds
// now (names and the branch's local times, never ids), answered with one tap; edits set
// aside after repeated failures; how many wait and since when. Reads desk.q.state and
// the local copy only; never the socket or IndexedDB.
import { useState } from '../../vendor/preact/hooks.mjs';
import { html } from '../ui.js';
import { t, addTexts, when } from '../../i18n.js';
import { deskZone, syncTime } from './shell.js';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

addTexts({
  en: {
    q_book_anyway: 'Book anyway', q_move_it: 'Move it', q_override_reason: 'Why book it anyway (kept in the history)',
    q_override_send: 'Book anyway with this reason', q_override_need: 'Say why (1 to 500 characters).',
    q_code_double: 'The specialist is already booked at that time',
    q_title: 'Sync', q_waiting: '{n} edits waiting to be sent, the oldest from {time}', q_waiting_none: 'No edits waiting.',
    q_rejections: 'Refused by the server', q_rejections_none: 'Nothing refused.', q_aside: 'Set aside after repeated errors',
    q_tried: 'You entered', q_server: 'Now on the server', q_reason: 'Why', q_collides: 'Collides with',
    q_reapply: 'Send mine again', q_keep: "Keep the server's", q_retry: 'Try again', q_drop: 'Discard my edit',
    q_unsent: '{n} edits have not been sent yet; signing out deletes them.', q_unsent_one: '1 edit has not been sent yet; signing out deletes it.',
    q_signout_anyway: 'Sign out and delete them', q_cancel: 'Cancel', q_new: 'New', q_change: 'Change', q_hidden: 'a record you cannot see',
    q_empty: '(empty)', q_yes: 'yes', q_no: 'no', q_offline_note: 'Offline: edits are kept on this device and sent when the connection is back.',
    q_code_conflict: 'Someone else changed it first', q_code_invalid: 'The server cannot accept this value',
    q_code_forbidden: 'You may not make this change', q_code_not_found: 'The record does not exist or is not yours to see',
    q_code_append_only: 'History entries cannot be changed', q_code_mutation_expired: 'Sent too long ago to be applied now; the record is shown as the server has it', q_code_rate_limited: 'Too many changes at once',
    q_code_outside_opening_hours: 'Outside the opening hours', q_code_location_closed: 'The branch is closed that day',
    q_code_outside_working_hours: "Outside the specialist's working hours", q_code_staff_time_off: 'The specialist is off then',
    q_code_service_not_by_specialist: 'The specialist does not do this service', q_code_service_not_at_location: 'The branch does not offer this service',
    q_code_buffer_overlap: "Runs into the preparation time of another booking", q_code_other: 'The server could not take it',
    q_t_appointment: 'Appointment', q_t_client: 'Client card', q_t_visit: 'Visit record', q_t_consent: 'Consent', q_t_staff: 'Staff member',
    q_t_service: 'Service', q_t_location: 'Branch', q_t_review: 'Review', q_t_other: 'Record',
    q_f_name: 'Name', q_f_phone: 'Phone', q_f_email: 'E-mail', q_f_start_at: 'Time', q_f_duration_min: 'Minutes', q_f_specialist_id: 'Specialist',
    q_f_client_id: 'Client', q_f_location_id: 'Branch', q_f_services: 'Services', q_f_status: 'Status', q_f_note: 'Note', q_f_address: 'Address',
    q_f_birthday: 'Birthday', q_f_preferences: 'Preferences', q_f_internal_note: 'Internal note', q_f_display_name: 'Name',
  },
  sl: {
    q_book_anyway: 'Vseeno naroči', q_move_it: 'Prestavi', q_override_reason: 'Zakaj vseeno naročiti (ostane v zgodovini)',
    q_override_send: 'Vseeno naroči s tem razlogom', q_override_need: 'Napišite razlog (od 1 do 500 znakov).',
    q_code_double: 'Strokovnjak je takrat že zaseden',
    q_title: 'Sinhronizacija', q_waiting: 'Čaka na pošiljanje: {n}, najstarejša od {time}', q_waiting_none: 'Nobena sprememba ne čaka.',
    q_rejections: 'Strežnik je zavrnil', q_rejections_none: 'Nič ni zavrnjeno.', q_aside: 'Odloženo po ponavljajočih se napakah',
    q_tried: 'Vnesli ste', q_server: 'Zdaj na strežniku', q_reason: 'Zakaj', q_collides: 'Prekriva se z',
    q_reapply: 'Pošlji mojo znova', q_keep: 'Obdrži strežnikovo', q_retry: 'Poskusi znova', q_drop: 'Zavrzi mojo spremembo',
    q_unsent: 'Sprememb, ki še niso poslane: {n}; odjava jih izbriše.', q_unsent_one: 'Ena sprememba še ni poslana; odjava jo izbriše.',
    q_signout_anyway: 'Odjavi in izbriši', q_cancel: 'Prekliči', q_new: 'Novo', q_change: 'Sprememba', q_hidden: 'zapis, ki ga ne vidite',
    q_empty: '(prazno)', q_yes: 'da', q_no: 'ne', q_offline_note: 'Brez povezave: spremembe ostanejo na tej napravi in se pošljejo, ko je povezava spet vzpostavljena.',
    q_code_conflict: 'Nekdo drug je to spremenil prej', q_code_invalid: 'Strežnik te vrednosti ne more sprejeti',
    q_code_forbidden: 'Te spremembe ne smete narediti', q_code_not_found: 'Zapis ne obstaja ali ga ne smete videti',
    q_code_append_only: 'Vnosov zgodovine ni mogoče spreminjati', q_code_mutation_expired: 'Poslano pred predolgim časom, da bi se še uveljavilo; zapis je prikazan, kot ga ima strežnik', q_code_rate_limited: 'Preveč sprememb hkrati',
    q_code_outside_opening_hours: 'Izven delovnega časa poslovalnice', q_code_location_closed: 'Poslovalnica je ta dan zaprta',
    q_code_outside_working_hours: 'Izven delovnega časa strokovnjaka', q_code_staff_time_off: 'Strokovnjak je takrat odsoten',
    q_code_service_not_by_specialist: 'Strokovnjak ne opravlja te storitve', q_code_service_not_at_location: 'Poslovalnica ne ponuja te storitve',
    q_code_buffer_overlap: 'Sega v čas priprave drugega termina', q_code_other: 'Strežnik tega ni mogel sprejeti',
    q_t_appointment: 'Termin', q_t_client: 'Kartica stranke', q_t_visit: 'Zapis obiska', q_t_consent: 'Soglasje', q_t_staff: 'Zaposleni',
    q_t_service: 'Storitev', q_t_location: 'Poslovalnica', q_t_review: 'Ocena', q_t_other: 'Zapis',
    q_f_name: 'Ime', q_f_phone: 'Telefon', q_f_email: 'E-pošta', q_f_start_at: 'Čas', q_f_duration_min: 'Minute', q_f_specialist_id: 'Strokovnjak',
    q_f_client_id: 'Stranka', q_f_location_id: 'Poslovalnica', q_f_services: 'Storitve', q_f_status: 'Stanje', q_f_note: 'Opomba', q_f_address: 'Naslov',
    q_f_birthday: 'Rojstni dan', q_f_preferences: 'Želje', q_f_internal_note: 'Interna opomba', q_f_display_name: 'Ime',
  },
  de: {
    q_book_anyway: 'Trotzdem buchen', q_move_it: 'Verschieben', q_override_reason: 'Warum trotzdem buchen (bleibt im Verlauf)',
    q_override_send: 'Mit dieser Begründung trotzdem buchen', q_override_need: 'Bitte einen Grund angeben (1 bis 500 Zeichen).',
    q_code_double: 'Die Fachkraft ist zu dieser Zeit schon gebucht',
    q_title: 'Abgleich', q_waiting: '{n} Änderungen warten auf das Senden, die älteste von {time}', q_waiting_none: 'Keine Änderungen warten.',
    q_rejections: 'Vom Server abgelehnt', q_rejections_none: 'Nichts abgelehnt.', q_aside: 'Nach wiederholten Fehlern zurückgestellt',
    q_tried: 'Ihre Eingabe', q_server: 'Jetzt auf dem Server', q_reason: 'Warum', q_collides: 'Überschneidet sich mit',
    q_reapply: 'Meine erneut senden', q_keep: 'Die des Servers behalten', q_retry: 'Erneut versuchen', q_drop: 'Meine Änderung verwerfen',
    q_unsent: '{n} Änderungen wurden noch nicht gesendet; das Abmelden löscht sie.', q_unsent_one: '1 Änderung wurde noch nicht gesendet; das Abmelden löscht sie.',
    q_signout_anyway: 'Abmelden und löschen', q_cancel: 'Abbrechen', q_new: 'Neu', q_change: 'Änderung', q_hidden: 'ein Eintrag, den Sie nicht sehen',
    q_empty: '(leer)', q_yes: 'ja', q_no: 'nein', q_offline_note: 'Offline: Änderungen bleiben auf diesem Gerät und werden gesendet, sobald die Verbindung zurück ist.',
    q_code_conflict: 'Jemand anderes hat es vorher geändert', q_code_invalid: 'Der Server kann diesen Wert nicht annehmen',
    q_code_forbidden: 'Diese Änderung dürfen Sie nicht vornehmen', q_code_not_found: 'Der Eintrag existiert nicht oder ist für Sie nicht sichtbar',
    q_code_append_only: 'Verlaufseinträge können nicht geändert werden', q_code_mutation_expired: 'Zu lange her, um noch übernommen zu werden; der Eintrag wird so gezeigt, wie der Server ihn hat', q_code_rate_limited: 'Zu viele Änderungen auf einmal',
    q_code_outside_opening_hours: 'Außerhalb der Öffnungszeiten', q_code_location_closed: 'Die Filiale ist an dem Tag geschlossen',
    q_code_outside_working_hours: 'Außerhalb der Arbeitszeit der Fachkraft', q_code_staff_time_off: 'Die Fachkraft ist dann nicht da',
    q_code_service_not_by_specialist: 'Die Fachkraft bietet diese Leistung nicht an', q_code_service_not_at_location: 'Die Filiale bietet diese Leistung nicht an',
    q_code_buffer_overlap: 'Reicht in die Vorbereitungszeit einer anderen Buchung', q_code_other: 'Der Server konnte es nicht annehmen',
    q_t_appointment: 'Termin', q_t_client: 'Kundenkarte', q_t_visit: 'Besuchseintrag', q_t_consent: 'Einwilligung', q_t_staff: 'Mitarbeiter/in',
    q_t_service: 'Leistung', q_t_location: 'Filiale', q_t_review: 'Bewertung', q_t_other: 'Eintrag',
    q_f_name: 'Name', q_f_phone: 'Telefon', q_f_email: 'E-Mail', q_f_start_at: 'Zeit', q_f_duration_min: 'Minuten', q_f_specialist_id: 'Fachkraft',
    q_f_client_id: 'Kundin/Kunde', q_f_location_id: 'Filiale', q_f_services: 'Leistungen', q_f_status: 'Status', q_f_note: 'Notiz', q_f_address: 'Adresse',
    q_f_birthday: 'Geburtstag', q_f_preferences: 'Wünsche', q_f_internal_note: 'Interne Notiz', q_f_display_name: 'Name',
  },
  pl: {
    q_book_anyway: 'Zarezerwuj mimo to', q_move_it: 'Przenieś', q_override_reason: 'Dlaczego rezerwujesz mimo to (zostaje w historii)',
    q_override_send: 'Zarezerwuj mimo to z tym powodem', q_override_need: 'Podaj powód (od 1 do 500 znaków).',
    q_code_double: 'Specjalista jest już wtedy zajęty',
    q_title: 'Synchronizacja', q_waiting: 'Zmiany czekające na wysłanie: {n}, najstarsza z {time}', q_waiting_none: 'Żadne zmiany nie czekają.',
    q_rejections: 'Odrzucone przez serwer', q_rejections_none: 'Nic nie odrzucono.', q_aside: 'Odłożone po powtarzających się błędach',
    q_tried: 'Wpisano', q_server: 'Teraz na serwerze', q_reason: 'Dlaczego', q_collides: 'Koliduje z',
    q_reapply: 'Wyślij moją ponownie', q_keep: 'Zachowaj wersję serwera', q_retry: 'Spróbuj ponownie', q_drop: 'Odrzuć moją zmianę',
    q_unsent: 'Niewysłane zmiany: {n}; wylogowanie je usunie.', q_unsent_one: '1 zmiana nie została jeszcze wysłana; wylogowanie ją usunie.',
    q_signout_anyway: 'Wyloguj i usuń', q_cancel: 'Anuluj', q_new: 'Nowy', q_change: 'Zmiana', q_hidden: 'wpis, którego nie widzisz',
    q_empty: '(puste)', q_yes: 'tak', q_no: 'nie', q_offline_note: 'Offline: zmiany zostają na tym urządzeniu i zostaną wysłane po odzyskaniu połączenia.',
    q_code_conflict: 'Ktoś inny zmienił to wcześniej', q_code_invalid: 'Serwer nie może przyjąć tej wartości',
    q_code_forbidden: 'Nie możesz wprowadzić tej zmiany', q_code_not_found: 'Wpis nie istnieje lub nie masz do niego dostępu',
    q_code_append_only: 'Wpisów historii nie można zmieniać', q_code_mutation_expired: 'Wysłano zbyt dawno, by można to jeszcze zastosować; wpis jest pokazany tak, jak ma go serwer', q_code_rate_limited: 'Za dużo zmian naraz',
    q_code_outside_opening_hours: 'Poza godzinami otwarcia', q_code_location_closed: 'Oddział jest tego dnia zamknięty',
    q_code_outside_working_hours: 'Poza godzinami pracy specjalisty', q_code_staff_time_off: 'Specjalista ma wtedy wolne',
    q_code_service_not_by_specialist: 'Specjalista nie wykonuje tej usługi', q_code_service_not_at_location: 'Oddział nie oferuje tej usługi',
    q_code_buffer_overlap: 'Nachodzi na czas przygotowania innej rezerwacji', q_code_other: 'Serwer nie mógł tego przyjąć',
    q_t_appointment: 'Wizyta', q_t_client: 'Karta klienta', q_t_visit: 'Zapis wizyty', q_t_consent: 'Zgoda', q_t_staff: 'Pracownik',
    q_t_service: 'Usługa', q_t_location: 'Oddział', q_t_review: 'Opinia', q_t_other: 'Wpis',
    q_f_name: 'Imię i nazwisko', q_f_phone: 'Telefon', q_f_email: 'E-mail', q_f_start_at: 'Godzina', q_f_duration_min: 'Minuty', q_f_specialist_id: 'Specjalista',
    q_f_client_id: 'Klient', q_f_location_id: 'Oddział', q_f_services: 'Usługi', q_f_status: 'Status', q_f_note: 'Notatka', q_f_address: 'Adres',
    q_f_birthday: 'Urodziny', q_f_preferences: 'Preferencje', q_f_internal_note: 'Notatka wewnętrzna', q_f_display_name: 'Imię i nazwisko',
  },
  fi: {
    q_book_anyway: 'Varaa silti', q_move_it: 'Siirrä', q_override_reason: 'Miksi varaat silti (jää historiaan)',
    q_override_send: 'Varaa silti tällä perusteella', q_override_need: 'Kerro syy (1–500 merkkiä).',
    q_code_double: 'Asiantuntijalla on jo varaus siihen aikaan',
    q_title: 'Synkronointi', q_waiting: '{n} muutosta odottaa lähetystä, vanhin ajalta {time}', q_waiting_none: 'Muutoksia ei odota.',
    q_rejections: 'Palvelin hylkäsi', q_rejections_none: 'Mitään ei hylätty.', q_aside: 'Siirretty sivuun toistuvien virheiden jälkeen',
    q_tried: 'Syötit', q_server: 'Nyt palvelimella', q_reason: 'Miksi', q_collides: 'Päällekkäin varauksen kanssa',
    q_reapply: 'Lähetä omani uudelleen', q_keep: 'Pidä palvelimen tieto', q_retry: 'Yritä uudelleen', q_drop: 'Hylkää muutokseni',
    q_unsent: '{n} muutosta on vielä lähettämättä; uloskirjautuminen poistaa ne.', q_unsent_one: '1 muutos on vielä lähettämättä; uloskirjautuminen poistaa sen.',
    q_signout_anyway: 'Kirjaudu ulos ja poista', q_cancel: 'Peruuta', q_new: 'Uusi', q_change: 'Muutos', q_hidden: 'tietue, jota et näe',
    q_empty: '(tyhjä)', q_yes: 'kyllä', q_no: 'ei', q_offline_note: 'Ei yhteyttä: muutokset säilyvät tällä laitteella ja lähetetään, kun yhteys palaa.',
    q_code_conflict: 'Joku muu muutti sen ensin', q_code_invalid: 'Palvelin ei voi hyväksyä tätä arvoa',
    q_code_forbidden: 'Et saa tehdä tätä muutosta', q_code_not_found: 'Tietuetta ei ole tai et näe sitä',
    q_code_append_only: 'Historiamerkintöjä ei voi muuttaa', q_code_mutation_expired: 'Lähetetty liian kauan sitten, jotta se voitaisiin vielä ottaa käyttöön; tietue näytetään palvelimen mukaisena', q_code_rate_limited: 'Liian monta muutosta kerralla',
    q_code_outside_opening_hours: 'Aukioloaikojen ulkopuolella', q_code_location_closed: 'Toimipiste on sinä päivänä suljettu',
    q_code_outside_working_hours: 'Asiantuntijan työajan ulkopuolella', q_code_staff_time_off: 'Asiantuntija on silloin vapaalla',
    q_code_service_not_by_specialist: 'Asiantuntija ei tee tätä palvelua', q_code_service_not_at_location: 'Toimipiste ei tarjoa tätä palvelua',
    q_code_buffer_overlap: 'Osuu toisen varauksen valmisteluaikaan', q_code_other: 'Palvelin ei voinut ottaa sitä vastaan',
    q_t_appointment: 'Varaus', q_t_client: 'Asiakaskortti', q_t_visit: 'Käyntimerkintä', q_t_consent: 'Suostumus', q_t_staff: 'Työntekijä',
    q_t_service: 'Palvelu', q_t_location: 'Toimipiste', q_t_review: 'Arvio', q_t_other: 'Tietue',
    q_f_name: 'Nimi', q_f_phone: 'Puhelin', q_f_email: 'Sähköposti', q_f_start_at: 'Aika', q_f_duration_min: 'Minuutit', q_f_specialist_id: 'Asiantuntija',
    q_f_client_id: 'Asiakas', q_f_location_id: 'Toimipiste', q_f_services: 'Palvelut', q_f_status: 'Tila', q_f_note: 'Huomautus', q_f_address: 'Osoite',
    q_f_birthday: 'Syntymäpäivä', q_f_preferences: 'Toiveet', q_f_internal_note: 'Sisäinen huomautus', q_f_display_name: 'Nimi',
  },
});

const CODES = ['conflict', 'invalid', 'forbidden', 'not_found', 'append_only', 'mutation_expired', 'rate_limited', 'outside_opening_hours',
  'location_closed', 'outside_working_hours', 'staff_time_off', 'service_not_by_specialist', 'service_not_at_location', 'buffer_overlap'];
const TABLES = ['appointment', 'client', 'visit', 'consent', 'staff', 'service', 'location', 'review'];
const FIELDS = ['name', 'phone', 'email', 'start_at', 'duration_min', 'specialist_id', 'client_id', 'location_id', 'services',
  'status', 'note', 'address', 'birthday', 'preferences', 'internal_note', 'display_name'];

export const codeText = (code) => (CODES.includes(code) ? t('q_code_' + code) : t('q_code_other'));

// A conflict is either someone's newer change or, for a booking, a double booking.
function reasonText(desk, e) {
  if (e.code === 'conflict' && e.tbl === 'appointment' && (collision(desk, e) || /booked/.test(e.msg || ''))) return t('q_code_double');
  return codeText(e.code);
}
const tableText = (tbl) => t(TABLES.includes(tbl) ? 'q_t_' + tbl : 'q_t_other');
const fieldText = (k) => (FIELDS.includes(k) ? t('q_f_' + k) : k.replace(/_/g, ' '));

// Finds a row of any table by id in the local copy.
function rowById(desk, id) {
  for (const m of Object.values(desk.by || {})) {
    const r = m?.get?.(id);
    if (r) return r;
  }
  return null;
}

function zoneOf(desk, f) {
  return desk.by.location?.get(f?.location_id)?.f.time_zone || deskZone(desk);
}

// A row as people know it: an appointment is its client and time (and specialist), a
// person or a place its name. Never the id: one we cannot resolve is "a record you
// cannot see" (another branch's, or not synced).
export function rowLabel(desk, tbl, id, f0) {
  const r = (tbl ? desk.by[tbl]?.get(id) : rowById(desk, id)) || null;
  const f = f0 || r?.f;
  const tb = tbl || r?.tbl;
  if (!f) return t('q_hidden');
  if (tb === 'appointment') {
    const client = desk.by.client?.get(f.client_id)?.f.name;
    const spec = desk.by.staff?.get(f.specialist_id)?.f.display_name;
    const at = typeof f.start_at === 'number' ? when(f.start_at, zoneOf(desk, f)) : '';
    return [client, at, spec].filter(Boolean).join(', ') || tableText(tb);
  }
  if (tb === 'staff') return f.display_name || tableText(tb);
  if (tb === 'visit') return [desk.by.client?.get(f.client_id)?.f.name, f.visit_date].filter(Boolean).join(', ') || tableText(tb);
  if (tb === 'review') return [desk.by.client?.get(f.client_id)?.f.name, f.stars && '★'.repeat(f.stars)].filter(Boolean).join(', ') || tableText(tb);
  return f.name || f.display_name || tableText(tb);
}

// The server's message with every id in it put as a name.
export function msgText(desk, msg) {
  return String(msg || '').replace(UUID, (id) => rowLabel(desk, null, id.toLowerCase()));
}

// One value as people read it: ids as names, instants on the branch's clock.
export function valueText(desk, tbl, k, v, f) {
  if (v === null || v === undefined || v === '' || (Array.isArray(v) && !v.length)) return t('q_empty');
  if (typeof v === 'boolean') return t(v ? 'q_yes' : 'q_no');
  if (k === 'start_at' || (k.endsWith('_at') && typeof v === 'number')) return when(v, zoneOf(desk, f));
  if (k === 'services' && Array.isArray(v)) return v.map((id) => desk.by.service?.get(id)?.f.name || t('q_hidden')).join(', ');
  if (k.endsWith('_id') && typeof v === 'string') return rowLabel(desk, k === 'specialist_id' ? 'staff' : k.slice(0, -3), v);
  if (Array.isArray(v)) return v.map((x) => valueText(desk, tbl, k, x, f)).join(', ');
  if (typeof v === 'object') return JSON.stringify(v).replace(UUID, '…');
  return String(v);
}

function Fields({ desk, e, vals, testid }) {
  const ctx = { ...(e.f || {}), ...(vals || {}) };
  return html`<dl class="q-fields" data-testid=${testid}>
    ${Object.keys(vals).map((k) => html`<div class="q-field" data-field=${k}>
      <dt>${fieldText(k)}</dt><dd>${valueText(desk, e.tbl, k, vals[k], ctx)}</dd></div>`)}
  </dl>`;
}

// The other appointment a double booking names, when this tablet has it.
function collision(desk, e) {
  if (e.tbl !== 'appointment' || !['conflict', 'buffer_overlap'].includes(e.code)) return null;
  for (const id of String(e.msg || '').match(UUID) || []) {
    const r = desk.by.appointment?.get(id.toLowerCase());
    if (r && id.toLowerCase() !== e.id) return r;
  }
  return null;
}

function title(desk, e) {
  const what = `${e.op === 'create' ? t('q_new') : t('q_change')}: ${tableText(e.tbl)}`;
  const row = desk.by[e.tbl]?.get(e.id);
  const label = rowLabel(desk, e.tbl, e.id, row ? row.f : { ...(e.current || {}), ...e.f });
  return `${what} · ${label}`;
}

function act(p) {
  p.catch((x) => console.error('queue', x));
}

// The booking rule (PROTOCOL "Booking rules", `override.rule`) a refusal of an
// appointment stands for, or null: a `conflict` is the overlap rule only when it is a
// double booking, not someone's newer change of the row.
const RULE_OF = { outside_opening_hours: 'opening_hours', location_closed: 'closed_day', outside_working_hours: 'working_hours',
  staff_time_off: 'time_off', service_not_by_specialist: 'specialist_service', service_not_at_location: 'location_service',
  buffer_overlap: 'buffer' };
export function ruleOf(desk, e) {
  if (e.tbl !== 'appointment') return null;
  if (e.code === 'conflict') return collision(desk, e) || /booked/.test(e.msg || '') ? 'overlap' : null;
  return RULE_OF[e.code] || null;
}
// The rules to name when sending it again: this one and any an earlier "book anyway" named
// (rules are checked one after the other, so a second may refuse once the first is passed).
export function overrideRules(desk, e) {
  const rule = ruleOf(desk, e);
  if (!rule) return null;
  const before = String(e.override?.rule || '').split(',').filter(Boolean);
  return [...new Set([...before, rule])].join(',');
}
const MAY_OVERRIDE = ['owner', 'manager', 'reception'];
const bytes = (s) => new TextEncoder().encode(s).length;

// Where "move it" leads: the appointment's own move page when the server has it, else a
// new booking with what was tried filled in.
function moveHref(desk, e) {
  if (e.op === 'update' || e.current || desk.by.appointment?.has(e.id)) return `/desk/book?move=${encodeURIComponent(e.id)}`;
  const f = { ...(e.current || {}), ...(e.f || {}) };
  const p = new URLSearchParams();
  if (f.start_at) p.set('start', String(f.start_at));
  if (f.specialist_id) p.set('specialist', f.specialist_id);
  if (f.client_id) p.set('client', f.client_id);
  if (f.location_id) p.set('loc', f.location_id);
  return `/desk/book?${p}`;
}

// "Book anyway": a reason, then the edit is queued again with `override`.
function Override({ desk, e, rules }) {
  const [reason, setReason] = useState('');
  const [err, setErr] = useState(null);
  const id = `q-why-${e.mid}`;
  const send = (ev) => {
    ev.preventDefault();
    const r = reason.trim();
    if (!r || bytes(r) > 500) { setErr(t('q_override_need')); return; }
    act(desk.q.reapply(e.mid, { override: { rule: rules, reason: r } }));
  };
  return html`<form class="q-override" onSubmit=${send} novalidate>
    <label for=${id}>${t('q_override_reason')}</label>
    <input id=${id} type="text" data-testid="override-reason" value=${reason} maxlength="500" required
      onInput=${(x) => { setReason(x.currentTarget.value); setErr(null); }} />
    <button type="submit" data-testid="override-send">${t('q_override_send')}</button>
    ${err && html`<p class="error" role="alert" data-testid="override-error">${err}</p>`}
  </form>`;
}

function Rejection({ desk, e }) {
  // a double booking whose other appointment is on this tablet: "Collides with" names
  // it, so the server's own (English) sentence saying the same is left out
  const other = collision(desk, e);
  // a booking rule refused it: sending it as it was is refused again
  const rules = overrideRules(desk, e);
  const move = rules && moveHref(desk, e);
  const [overriding, setOverriding] = useState(false);
  const mayOverride = rules && MAY_OVERRIDE.includes(desk.role);
  return html`<li class="q-item q-rejected" data-testid="rejection" data-mid=${e.mid} data-code=${e.code}>
    <h3>${title(desk, e)}</h3>
    <p class="q-reason"><strong>${t('q_reason')}:</strong> <span data-testid="reason-code">${reasonText(desk, e)}</span>
      ${e.msg && !other && html` — <span data-testid="reason-msg">${msgText(desk, e.msg)}</span>`}</p>
    ${other && html`<p class="q-collides" data-testid="other-appt" data-id=${other.id}>
      <strong>${t('q_collides')}:</strong> ${rowLabel(desk, 'appointment', other.id)}</p>`}
    <div class="q-compare">
      <div><h4>${t('q_tried')}</h4><${Fields} desk=${desk} e=${e} vals=${e.f || {}} testid="mine" /></div>
      ${e.current && html`<div><h4>${t('q_server')}</h4><${Fields} desk=${desk} e=${e} vals=${e.current} testid="theirs" /></div>`}
    </div>
    <div class="q-actions">
      ${rules ? html`
        ${mayOverride && !overriding && html`<button type="button" data-testid="book-anyway" onClick=${() => setOverriding(true)}>${t('q_book_anyway')}</button>`}
        ${desk.role !== 'specialist' && html`<a class="button" href=${move} data-testid="move-it"
          onClick=${(x) => { if (!x.ctrlKey && !x.metaKey) { x.preventDefault(); desk.go(move); } }}>${t('q_move_it')}</a>`}`
        : html`<button type="button" data-testid="reapply" onClick=${() => act(desk.q.reapply(e.mid))}>${t('q_reapply')}</button>`}
      <button type="button" data-testid="keep-server" onClick=${() => act(desk.q.keepServer(e.mid))}>${t('q_keep')}</button>
    </div>
    ${mayOverride && overriding && html`<${Override} desk=${desk} e=${e} rules=${rules} />`}
  </li>`;
}

function Aside({ desk, e }) {
  return html`<li class="q-item q-aside" data-testid="aside" data-mid=${e.mid} data-code=${e.code}>
    <h3>${title(desk, e)}</h3>
    <p class="q-reason"><strong>${t('q_reason')}:</strong> ${codeText(e.code)}${e.msg ? ` — ${msgText(desk, e.msg)}` : ''}</p>
    <${Fields} desk=${desk} e=${e} vals=${e.f || {}} testid="mine" />
    <div class="q-actions">
      <button type="button" data-testid="retry-aside" onClick=${() => act(desk.q.retryAside(e.mid))}>${t('q_retry')}</button>
      <button type="button" data-testid="drop-aside" onClick=${() => act(desk.q.dropAside(e.mid))}>${t('q_drop')}</button>
    </div>
  </li>`;
}

export function QueueView({ desk }) {
  const s = desk.q.state;
  const tz = deskZone(desk);
  return html`<section class="desk-page q-page" data-testid="queue" aria-labelledby="h-queue">
    <h1 id="h-queue">${t('q_title')}</h1>
    <p class="q-waiting" data-testid="queue-waiting" data-n=${s.queued}>
      ${s.queued ? t('q_waiting', { n: s.queued, time: syncTime(s.oldest || Date.now(), tz) }) : t('q_waiting_none')}</p>
    ${!desk.online && html`<p class="note">${t('q_offline_note')}</p>`}
    <h2>${t('q_rejections')}</h2>
    ${s.rejected.length ? html`<ul class="q-list">${s.rejected.map((e) => html`<${Rejection} key=${e.mid} desk=${desk} e=${e} />`)}</ul>`
      : html`<p>${t('q_rejections_none')}</p>`}
    ${s.aside.length > 0 && html`<h2>${t('q_aside')}</h2>
      <ul class="q-list">${s.aside.map((e) => html`<${Aside} key=${e.mid} desk=${desk} e=${e} />`)}</ul>`}
  </section>`;
}
