// The client list: search as you type in the local copy (search.js), one row per client
// with the phone (for the roles that see it) and the next appointment; a tap opens
// the card. Works offline: it reads only desk.by.
import { useState, useEffect } from '../../vendor/preact/hooks.mjs';
import { html } from '../ui.js';
import { t } from '../../i18n.js';
import { buildIndex, search } from '../../search.js';
import { nextByClient, whenAt } from './card_model.js';
import { flushViews } from './card.js';
import './card_texts.js';

const SHOW = 50; // rows shown with no query (a salon may have thousands of cards)

// The index is built once per set of client rows: app.js replaces desk.by (and so
// desk.by.client) whenever rows change, so the Map's identity says when to rebuild.
let memo = { src: null, index: [] };
function indexOf(clients) {
  if (memo.src !== clients) memo = { src: clients, index: buildIndex(clients ? [...clients.values()] : []) };
  return memo.index;
}

export function Clients({ desk }) {
  const [q, setQ] = useState(() => desk.params.get('q') || '');
  useEffect(() => { flushViews(desk); }, [desk.online]); // cards opened while offline
  const index = indexOf(desk.by.client);
  const next = nextByClient(desk.by);
  const hits = q.trim() ? search(index, q, SHOW) : index.slice(0, SHOW).map((e) => e.r);
  const open = (id) => desk.go(`/desk/client?id=${encodeURIComponent(id)}`);
  return html`<section class="desk-page card-clients" data-testid="clients" aria-labelledby="h-clients">
    <h1 id="h-clients">${t('card_clients')}</h1>
    <div class="field card-search">
      <label for="clients-search">${t('card_search')}</label>
      <input id="clients-search" type="search" data-testid="clients-search" value=${q} autocomplete="off"
        placeholder=${t('card_search_ph')} onInput=${(e) => setQ(e.currentTarget.value)} />
    </div>
    ${q.trim() && !hits.length && html`<p class="card-muted">${t('card_no_match', { q: q.trim() })}</p>`}
    <ul class="card-list">
      ${hits.map((r) => {
        const n = next.get(r.id);
        return html`<li key=${r.id}>
          <a href=${`/desk/client?id=${encodeURIComponent(r.id)}`} class="card-row" data-testid="client-row" data-id=${r.id}
            onClick=${(e) => { if (!e.ctrlKey && !e.metaKey) { e.preventDefault(); open(r.id); } }}>
            <span class="card-row-name">${r.f.name || '…'}${r.f.allergy_alert || r.f.allergies ? html` <span class="card-flag" title=${t('card_f_allergies')} aria-label=${t('card_f_allergies')} role="img">⚠</span>` : ''}</span>
            ${r.f.phone ? html`<span class="card-row-phone">${r.f.phone}</span>` : html`<span></span>`}
            <span class="card-row-next">${n ? t('card_next', { when: whenAt(desk.by, n) }) : t('card_no_next')}</span>
          </a></li>`;
      })}
    </ul>
    ${!q.trim() && index.length > SHOW && html`<p class="card-muted">${t('card_more', { n: SHOW, total: index.length })}</p>`}
  </section>`;
}
