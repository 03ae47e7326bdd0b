// Home: the next appointment large, the upcoming ones, past visits. Read-only.
import { html } from './ui.js';
import { t, when, zoneLabel, dateOnly, localDateTime } from '../i18n.js';
import { icsFor, icsHref } from '../ics.js';
import { appointments, visits } from '../model.js';
import { VisitReview } from './review.js';

function summary(a) {
  return a.services.length ? a.services.join(' + ') : '';
}

function who(a) {
  return [a.specialist, a.place.name].filter(Boolean).join(', ');
}

function mapHref(p) {
  return 'https://www.openstreetmap.org/search?query=' + encodeURIComponent([p.address, p.name].filter(Boolean)[0] || '');
}

function telHref(phone) {
  return 'tel:' + phone.replace(/[^+\d]/g, '');
}

function Appt({ a, big, org }) {
  const ics = icsFor({
    id: a.id, start_at: a.start_at, duration_min: a.duration_min,
    summary: [summary(a) || org.name || 'Appointment', a.specialist].filter(Boolean).join(' — '),
    location: [a.place.name, a.place.address].filter(Boolean).join(', '),
    description: a.place.phone ? a.place.phone : '',
  }, location.hostname);
  const testid = big ? 'next-appointment' : 'appointment';
  const zone = zoneLabel(a.start_at, a.place.tz);
  return html`<article class=${big ? 'appt next' : 'appt'} data-testid=${testid} data-id=${a.id}>
    <p class="when"><span data-testid="when">${when(a.start_at, a.place.tz)}</span>${zone && html` <span class="zone">(${zone})</span>`}</p>
    <p class="what">${[summary(a), who(a)].filter(Boolean).join(' — ')}</p>
    ${a.note && html`<p class="note-text">${a.note}</p>`}
    ${a.place.address && html`<p class="addr">${a.place.address}</p>`}
    <p class="actions">
      <a class="btn" data-testid="ics" href=${icsHref(ics)} download=${`appointment-${a.id.slice(0, 8)}.ics`}>${t('add_calendar')}</a>
      ${a.place.phone && html`<a class="btn" data-testid="call" href=${telHref(a.place.phone)}>${t('call', { phone: a.place.phone })}</a>`}
      ${(a.place.address || a.place.name) && html`<a class="btn" data-testid="map" href=${mapHref(a.place)} target="_blank" rel="noopener noreferrer">${t('map')}</a>`}
    </p>
  </article>`;
}

export function Home({ app, proto }) {
  const { by, principal, syncedAt, org } = app;
  const clientId = principal?.id;
  const up = appointments(by, clientId);
  const past = visits(by, clientId);
  const [next, ...later] = up;
  return html`<div>
    <p class="updated" data-testid="last-updated">${syncedAt ? t('last_updated', { time: localDateTime(syncedAt) }) : t('never_updated')}</p>
    <section aria-labelledby="h-next">
      <h1 id="h-next">${t('next_appt')}</h1>
      ${next ? html`<${Appt} a=${next} big=${true} org=${org} />` : html`<p class="empty" data-testid="no-upcoming">${t('no_upcoming')}</p>`}
    </section>
    ${later.length > 0 && html`<section aria-labelledby="h-up">
      <h2 id="h-up">${t('upcoming')}</h2>
      <ul class="list">${later.map((a) => html`<li key=${a.id}><${Appt} a=${a} org=${org} /></li>`)}</ul>
    </section>`}
    <section aria-labelledby="h-past">
      <h2 id="h-past">${t('past')}</h2>
      ${past.length ? html`<ul class="list">${past.map((v) => html`<li key=${v.id} class="visit" data-testid="visit" data-id=${v.id}>
          <p class="when">${dateOnly(v.date)}</p>
          <p class="what">${[v.services.join(' + '), [v.specialist, v.place.name].filter(Boolean).join(', ')].filter(Boolean).join(' — ')}</p>
          ${proto && html`<${VisitReview} app=${app} proto=${proto} visit=${v} />`}
        </li>`)}</ul>`
      : html`<p class="empty" data-testid="no-visits">${t('no_visits')}</p>`}
    </section>
  </div>`;
}
