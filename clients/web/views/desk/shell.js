// The staff screens under /desk: the bar that is always visible (branch, offline badge,
// queued edits, last sync), the navigation, and the page of the route. Pages get one
// object, `desk` (see README "The desk"), and never reach into app.js.
import { useState, useEffect, useRef } from '../../vendor/preact/hooks.mjs';
import { html } from '../ui.js';
import { t, addTexts, when } from '../../i18n.js';
import { parts, hhmm } from '../../tz.js';
import { Calendar } from './calendar.js';
import { Booking } from './booking.js';
import { Clients } from './clients.js';
import { Card } from './card.js';
import { History } from './history.js';
import { QueueView } from './queue.js';
import { Reviews } from './reviews.js';
import { Stats } from './stats.js';
import { Unconfirmed } from './unconfirmed.js';
import { maySeeStats, mayCall } from './feedback_model.js';

addTexts({
  en: { client_account: "This is the salon staff's app. Clients sign in on the salon's portal page.", d_calendar: 'Calendar', d_book: 'Book', d_clients: 'Clients', d_queue: 'Sync', d_all_branches: 'All branches',
    d_branch: 'Branch', d_offline: 'Offline', d_online: 'Online', d_queued: '{n} edits waiting', d_queued_none: 'All edits sent',
    d_synced_at: 'Synced {time}', d_never_synced: 'Not synced yet', d_problems: '{n} to check' },
  sl: { client_account: 'To je aplikacija za zaposlene v salonu. Stranke se prijavijo na portalu salona.', d_calendar: 'Koledar', d_book: 'Naroči', d_clients: 'Stranke', d_queue: 'Sinhronizacija', d_all_branches: 'Vse poslovalnice',
    d_branch: 'Poslovalnica', d_offline: 'Brez povezave', d_online: 'Povezano', d_queued: 'Čaka sprememb: {n}', d_queued_none: 'Vse spremembe poslane',
    d_synced_at: 'Sinhronizirano {time}', d_never_synced: 'Še ni sinhronizirano', d_problems: 'Za pregled: {n}' },
  de: { client_account: 'Dies ist die App für das Salonteam. Kundinnen und Kunden melden sich im Portal des Salons an.', d_calendar: 'Kalender', d_book: 'Buchen', d_clients: 'Kundschaft', d_queue: 'Abgleich', d_all_branches: 'Alle Filialen',
    d_branch: 'Filiale', d_offline: 'Offline', d_online: 'Online', d_queued: '{n} Änderungen warten', d_queued_none: 'Alle Änderungen gesendet',
    d_synced_at: 'Abgeglichen {time}', d_never_synced: 'Noch nicht abgeglichen', d_problems: '{n} zu prüfen' },
  pl: { client_account: 'To aplikacja dla pracowników salonu. Klienci logują się w portalu salonu.', d_calendar: 'Kalendarz', d_book: 'Rezerwuj', d_clients: 'Klienci', d_queue: 'Synchronizacja', d_all_branches: 'Wszystkie oddziały',
    d_branch: 'Oddział', d_offline: 'Offline', d_online: 'Online', d_queued: 'Oczekujące zmiany: {n}', d_queued_none: 'Wszystkie zmiany wysłane',
    d_synced_at: 'Zsynchronizowano {time}', d_never_synced: 'Jeszcze nie zsynchronizowano', d_problems: 'Do sprawdzenia: {n}' },
  fi: { client_account: 'Tämä on salongin henkilökunnan sovellus. Asiakkaat kirjautuvat salongin portaaliin.', d_calendar: 'Kalenteri', d_book: 'Varaa', d_clients: 'Asiakkaat', d_queue: 'Synkronointi', d_all_branches: 'Kaikki toimipisteet',
    d_branch: 'Toimipiste', d_offline: 'Ei yhteyttä', d_online: 'Yhteys', d_queued: 'Odottavia muutoksia: {n}', d_queued_none: 'Kaikki muutokset lähetetty',
    d_synced_at: 'Synkronoitu {time}', d_never_synced: 'Ei vielä synkronoitu', d_problems: 'Tarkistettavaa: {n}' },
});

export const DESK_PAGES = {
  '/desk': Calendar,
  '/desk/week': Calendar,
  '/desk/book': Booking,
  '/desk/clients': Clients,
  '/desk/client': Card,
  '/desk/history': History,
  '/desk/queue': QueueView,
  '/desk/reviews': Reviews,
  '/desk/stats': Stats,
  '/desk/unconfirmed': Unconfirmed,
};

function Link({ desk, path, id, label }) {
  return html`<a href=${path} data-testid=${id} aria-current=${desk.route === path ? 'page' : undefined}
    onClick=${(e) => { if (!e.ctrlKey && !e.metaKey) { e.preventDefault(); desk.go(path); } }}>${label}</a>`;
}

// Owners pick a branch or all of them; anyone else sees the branches their rows show
// (a manager of two branches picks one; a specialist has theirs).
function BranchSwitch({ desk }) {
  const locs = desk.locations();
  if (!locs.length) return null;
  return html`<label class="branch"><span>${t('d_branch')}</span>
    <select data-testid="branch" onChange=${(e) => desk.setLocation(e.currentTarget.value || null)}>
      ${desk.role === 'owner' && html`<option value="" selected=${!desk.location}>${t('d_all_branches')}</option>`}
      ${locs.map((l) => html`<option value=${l.id} selected=${desk.location === l.id}>${l.f.name}</option>`)}
    </select></label>`;
}

// The zone the desk's times are in: the chosen branch's, else (all branches) the first's.
export function deskZone(desk) {
  const id = desk.location || desk.locations()[0]?.id;
  return desk.by.location?.get(id)?.f.time_zone || undefined;
}

// A sync time on the branch's wall clock, like the calendar beside it: "14:05" today,
// the day as well before today (a tablet left offline over the weekend says so).
export function syncTime(ms, tz, now = Date.now()) {
  const p = parts(ms, tz);
  return p.ymd === parts(now, tz).ymd ? hhmm(p.min) : when(ms, tz);
}

export function SyncBadge({ desk }) {
  const s = desk.q.state;
  const problems = s.rejected.length + s.aside.length;
  return html`<div class="syncbar" data-testid="syncbar">
    <span class=${desk.online ? 'pill ok' : 'pill off'} data-testid=${desk.online ? 'online' : 'offline'}>
      ${desk.online ? t('d_online') : t('d_offline')}</span>
    <span data-testid="queued" data-n=${s.queued}>${s.queued ? t('d_queued', { n: s.queued }) : t('d_queued_none')}</span>
    ${problems > 0 && html`<a href="/desk/queue" class="pill warn" data-testid="problems"
      onClick=${(e) => { e.preventDefault(); desk.go('/desk/queue'); }}>${t('d_problems', { n: problems })}</a>`}
    <span data-testid="last-sync" data-ms=${desk.syncedAt || 0}>${desk.syncedAt ? t('d_synced_at', { time: syncTime(desk.syncedAt, deskZone(desk)) }) : t('d_never_synced')}</span>
  </div>`;
}

// Signing out deletes the local copy, the queue with it (store.wipe): with edits the
// server has not taken, the person is told how many and confirms first.
function SignOutButton({ desk, onSignOut }) {
  const [asking, setAsking] = useState(false);
  const keep = useRef(null);
  useEffect(() => { if (asking) keep.current?.focus(); }, [asking]); // the safe choice has the focus
  const n = desk.unsent;
  const click = () => (n > 0 ? setAsking(true) : onSignOut());
  return html`<button type="button" class="link" data-testid="signout" onClick=${click}>${t('signout')}</button>
    ${asking && html`<div class="q-confirm" role="alertdialog" aria-labelledby="q-unsent" data-testid="signout-warning">
      <p id="q-unsent">${t(n === 1 ? 'q_unsent_one' : 'q_unsent', { n })}</p>
      <button type="button" class="danger" data-testid="signout-confirm" onClick=${() => { setAsking(false); onSignOut(); }}>${t('q_signout_anyway')}</button>
      <button type="button" ref=${keep} data-testid="signout-cancel" onClick=${() => setAsking(false)}>${t('q_cancel')}</button>
    </div>`}`;
}

export function DeskHeader({ desk, org, onSignOut }) {
  return html`<header class="top desk-top">
    <div class="bar">
      <span class="brand"><img src="/icon.svg" alt="" width="28" height="28" /><span>${org.name || 'Kartoteka'}</span></span>
      <${BranchSwitch} desk=${desk} />
      <span class="who" data-testid="who">${desk.principal?.name || ''}</span>
      <${SignOutButton} desk=${desk} onSignOut=${onSignOut} />
    </div>
    <nav aria-label="Desk">
      <${Link} desk=${desk} path="/desk" id="nav-calendar" label=${t('d_calendar')} />
      ${desk.role !== 'specialist' && html`<${Link} desk=${desk} path="/desk/book" id="nav-book" label=${t('d_book')} />`}
      <${Link} desk=${desk} path="/desk/clients" id="nav-clients" label=${t('d_clients')} />
      ${mayCall(desk.role) && html`<${Link} desk=${desk} path="/desk/unconfirmed" id="nav-calls" label=${t('fb_nav_calls')} />`}
      <${Link} desk=${desk} path="/desk/reviews" id="nav-reviews" label=${t('fb_nav_reviews')} />
      ${maySeeStats(desk.role) && html`<${Link} desk=${desk} path="/desk/stats" id="nav-stats" label=${t('fb_nav_stats')} />`}
      <${Link} desk=${desk} path="/desk/queue" id="nav-queue" label=${t('d_queue')} />
    </nav>
    <${SyncBadge} desk=${desk} />
  </header>`;
}

export function DeskPage({ desk }) {
  const P = DESK_PAGES[desk.route] || Calendar;
  return html`<${P} desk=${desk} />`;
}
