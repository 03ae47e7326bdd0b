// The card history (/desk/history?id=), owners and managers only: the server's audit
// log of one client (PROTOCOL "audit_query"), read page by page, shown as sentences:
// who, when (with the zone), on which device, what, and "field: before → after" with
// values in words. It lives on the server only, so it needs a connection.
import { useState, useEffect } from '../../vendor/preact/hooks.mjs';
import { html } from '../ui.js';
import { t } from '../../i18n.js';
import { readsHistory, tzOf, dateTimeZone, label, valueText } from './card_model.js';
import './card_texts.js';

const PAGE = 100;

function who(desk, e) {
  if (e.actor_kind === 'staff') return desk.by.staff?.get(e.actor_id)?.f.display_name || t('card_who_staff');
  if (e.actor_kind === 'client') return t('card_who_client');
  if (e.actor_kind === 'operator') return t('card_who_operator');
  return t('card_who_system');
}

// A device id is a long random id: its last six characters tell devices apart on screen.
function device(e) {
  if (!e.device_id) return e.actor_kind === 'staff' || e.actor_kind === 'client' ? t('card_device_hidden') : '';
  if (e.device_id === localStorage.getItem('kt.device')) return t('card_this_device');
  return t('card_device', { id: String(e.device_id).replace(/-/g, '').slice(-6) });
}

function what(e) {
  const a = String(e.action || '');
  const [head, rest] = a.split(':');
  let act;
  if (head === 'rejected') act = t('card_a_rejected', { code: rest || '' });
  else if (head === 'override') act = t('card_a_override', { rule: rest || '' });
  else act = t('card_a_' + a) === 'card_a_' + a ? a.replace(/_/g, ' ') : t('card_a_' + a);
  const tbl = t('card_t_' + e.entity) === 'card_t_' + e.entity ? String(e.entity || '') : t('card_t_' + e.entity);
  return `${act}: ${tbl}`;
}

const parse = (s) => {
  if (s == null) return null;
  try { const v = JSON.parse(s); return v && typeof v === 'object' ? v : null; } catch { return null; }
};

// The names the server writes next to ids (service_names, specialist_name) are shown
// as the ids' values, not again as fields of their own.
const SHADOW = { service_names: 'services', specialist_name: 'specialist_id' };

function changes(desk, e) {
  if (e.action === 'viewed') return [];
  const b = parse(e.before), a = parse(e.after);
  const keys = String(e.fields || '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const k of Object.keys({ ...(b || {}), ...(a || {}) })) if (!keys.includes(k)) keys.push(k);
  if (keys.length && !a && !b && e.entity === 'client') return [{ k: '', text: t('card_hidden_values') }];
  const ctxB = { location_id: e.location_id, ...(b || {}) }, ctxA = { location_id: e.location_id, ...(a || {}) };
  const out = [];
  for (const k of keys) {
    if (SHADOW[k] && keys.includes(SHADOW[k])) continue;
    if (k === 'client_id' && (a?.[k] ?? b?.[k]) === e.client_id && !(a && b)) continue; // whose history this is
    const hasB = b && k in b, hasA = a && k in a;
    if (!hasB && !hasA) continue;
    if (!hasB && (a[k] === null || a[k] === '')) continue; // a new row's empty fields say nothing
    const vb = hasB ? valueText(desk.by, desk.org, e.entity, k, b[k], ctxB) : null;
    const va = hasA ? valueText(desk.by, desk.org, e.entity, k, a[k], ctxA) : null;
    out.push({ k, label: label(k), before: vb, after: va });
  }
  return out;
}

function Entry({ desk, e }) {
  const tz = tzOf(desk.by, e.location_id);
  return html`<li class="card-hist" data-testid="history-entry" data-seq=${e.seq} data-action=${e.action}>
    <div class="card-hist-head">
      <strong class="card-hist-what">${what(e)}</strong>
      <span class="card-hist-who">${who(desk, e)}</span>
      <span class="card-muted">${dateTimeZone(e.server_time, tz)}</span>
      <span class="card-muted card-hist-device">${device(e)}</span>
    </div>
    <ul class="card-hist-changes">${changes(desk, e).map((c) => html`<li key=${c.k} data-field=${c.k}>
      ${c.text ? c.text : html`<span class="card-k">${c.label}:</span> ${c.before !== null ? html`<span class="card-old">${c.before}</span> → ` : ''}<span class="card-new">${c.after !== null ? c.after : t('card_blank')}</span>`}
    </li>`)}</ul>
  </li>`;
}

export function History({ desk }) {
  const id = desk.params.get('id') || '';
  const [st, setSt] = useState({ id: null, entries: [], more: false, busy: false, err: null });
  const may = readsHistory(desk.role);

  async function load(before) {
    if (!desk.online) return setSt((s) => ({ ...s, busy: false, err: 'offline' }));
    setSt((s) => ({ ...s, busy: true, err: null }));
    try {
      await desk.proto.authed();
      const r = await desk.proto.request({ t: 'audit_query', client: id, before, limit: PAGE }, 'audit_result');
      const got = r.entries || [];
      setSt((s) => ({ id, entries: before ? [...s.entries, ...got] : got, more: got.length >= PAGE, busy: false, err: null }));
    } catch (x) {
      const code = x?.code || 'network';
      setSt((s) => ({ ...s, busy: false, err: code === 'network' ? 'offline' : code }));
    }
  }
  useEffect(() => { if (may && id && (st.id !== id || st.err === 'offline')) load(0); }, [id, desk.online]);

  const row = desk.by.client?.get(id);
  const toCard = '/desk/client?id=' + encodeURIComponent(id);
  const oldest = st.entries.length ? Math.min(...st.entries.map((e) => e.seq)) : 0;
  return html`<section class="desk-page card-history" data-testid="history" data-id=${id} aria-labelledby="h-history">
    <a href=${toCard} class="card-back" onClick=${(e) => { e.preventDefault(); desk.go(toCard); }}>← ${t('card_back_card')}</a>
    <h1 id="h-history">${row ? t('card_history_of', { name: row.f.name }) : t('card_history_title')}</h1>
    ${!may ? html`<p class="error">${t('card_history_forbidden')}</p>`
      : st.err === 'offline' ? html`<p class="card-alert card-offline" data-testid="history-offline">${t('card_history_offline')}</p>`
      : st.err === 'forbidden' ? html`<p class="error">${t('card_history_forbidden')}</p>`
      : st.err ? html`<p class="error">${t('card_history_error', { code: st.err })}</p>` : null}
    ${may && st.busy && !st.entries.length && html`<p class="card-muted">${t('card_loading')}</p>`}
    ${may && st.id === id && !st.busy && !st.err && !st.entries.length && html`<p class="card-muted">${t('card_no_history')}</p>`}
    <ol class="card-hist-list">${st.entries.map((e) => html`<${Entry} key=${e.seq} desk=${desk} e=${e} />`)}</ol>
    ${st.more && html`<button type="button" class="secondary" data-testid="history-older" disabled=${st.busy}
      onClick=${() => load(oldest)}>${t('card_load_older')}</button>`}
  </section>`;
}
