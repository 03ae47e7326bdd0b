// The client card (/desk/client?id=): the sections the role's rows carry (the server
// sends each role only its fields; this screen never asks for more), editing of the
// fields the role may write through the write queue (desk.edit, offline too), the
// client's appointments and consents, the visit record (&visit=new|<id>), and a
// `viewed` event for the audit log each time a card is opened.
import { useState, useEffect } from '../../vendor/preact/hooks.mjs';
import { html, ErrorBox, Note } from '../ui.js';
import { t, dateOnly, locale } from '../../i18n.js';
import {
  CONTACT, HEALTH, NOTES, sees, writes, writesVisits, readsHistory, cardChanges, isDate,
  whenAt, serviceNames, specialistName, branchName, appointmentsOf, visitsOf, todaysAppointments,
  localYmd, consentsOf, label,
} from './card_model.js';
import './card_texts.js';
import { CardMessages } from './card_messages.js';

// The local copy of a row as the queue left it in IndexedDB: app.js rereads rows when
// the server sends some, so until then the page lays the edit over its own Maps (a new
// Map, so whatever is memoized on the Map's identity, the search index, is rebuilt).
function patchLocal(desk, tbl, id, fields) {
  const old = desk.by[tbl];
  const m = new Map(old || []);
  const r = m.get(id);
  m.set(id, { tbl, id, v: r ? r.v : 0, f: { ...(r?.f || {}), ...fields } });
  desk.by[tbl] = m;
  desk.draw();
}

// "Who opened which card" for the audit log (PROTOCOL "push", events). Kept per person in
// localStorage until a push_result acknowledges them, so a card opened offline is
// reported once the tablet is back; someone else signing in on the tablet never sends
// another person's list. At most 500 kept (the protocol's limit for one push).
const viewsKey = (desk) => `kt.card.views.${desk.principal?.id || ''}`;
const readViews = (k) => { try { return JSON.parse(localStorage.getItem(k) || '[]'); } catch { return []; } };
let flushing = false;
export async function flushViews(desk) {
  if (flushing || !desk.online || !desk.principal) return;
  const k = viewsKey(desk);
  const list = readViews(k);
  if (!list.length) return;
  flushing = true;
  try {
    await desk.proto.request({ t: 'push', muts: [], events: list }, 'push_result');
    localStorage.setItem(k, JSON.stringify(readViews(k).slice(list.length)));
  } catch (e) {
    console.warn('card views not sent yet', e?.code || e);
  } finally {
    flushing = false;
  }
}
function recordView(desk, id) {
  if (!desk.principal) return;
  const k = viewsKey(desk);
  const list = readViews(k);
  list.push({ kind: 'viewed', tbl: 'client', id, at: Date.now() });
  localStorage.setItem(k, JSON.stringify(list.slice(-500)));
  flushViews(desk);
}

const link = (desk, path) => (e) => { if (!e.ctrlKey && !e.metaKey) { e.preventDefault(); desk.go(path); } };

function Rows({ f, fields }) {
  return html`<dl class="card-dl">${fields.map((k) => html`<div key=${k} data-field=${k}>
    <dt>${label(k)}</dt>
    <dd class=${f[k] ? '' : 'card-muted'}>${f[k] ? (k === 'birthday' ? dateOnly(f[k]) : String(f[k])) : t('card_empty')}</dd></div>`)}</dl>`;
}

function AllergyAlert({ f }) {
  if (f.allergies) return html`<p class="card-alert" role="alert" data-testid="allergy-alert">⚠ ${t('card_alert_list', { list: f.allergies })}</p>`;
  if (f.allergy_alert === true) return html`<p class="card-alert" role="alert" data-testid="allergy-alert">⚠ ${t('card_alert')}</p>`;
  return null;
}

const MULTILINE = new Set(['address', ...HEALTH, ...NOTES]);

function EditCard({ desk, row, onDone }) {
  const fields = writes(desk.role);
  const [draft, setDraft] = useState(() => Object.fromEntries(fields.map((k) => [k, row.f[k] ?? ''])));
  const [err, setErr] = useState(null);
  const [busy, setBusy] = useState(false);
  async function save(e) {
    e.preventDefault();
    const r = cardChanges(row.f, draft, fields);
    if (r.error) return setErr(r.error);
    if (!Object.keys(r.changes).length) return onDone(t('card_nothing'));
    setBusy(true);
    try {
      await desk.edit('client', row.id, 'update', r.changes);
      patchLocal(desk, 'client', row.id, r.changes);
      onDone(t('card_saved'));
    } catch (x) {
      setErr(String(x?.message || x));
      setBusy(false);
    }
  }
  const input = (k) => html`<div class="field" key=${k}>
    <label for=${'card-f-' + k}>${label(k)}${k === 'birthday' ? ' (YYYY-MM-DD)' : ''}</label>
    ${MULTILINE.has(k)
      ? html`<textarea id=${'card-f-' + k} rows="2" value=${draft[k]} onInput=${(e) => setDraft({ ...draft, [k]: e.currentTarget.value })}></textarea>`
      : html`<input id=${'card-f-' + k} type=${k === 'email' ? 'email' : k === 'phone' ? 'tel' : 'text'} value=${draft[k]}
          inputmode=${k === 'birthday' ? 'numeric' : undefined} autocomplete="off"
          onInput=${(e) => setDraft({ ...draft, [k]: e.currentTarget.value })} />`}
  </div>`;
  const group = (title, keys) => {
    const ks = keys.filter((k) => fields.includes(k));
    return ks.length ? html`<fieldset class="card-box"><legend>${title}</legend>${ks.map(input)}</fieldset>` : null;
  };
  return html`<form class="card-edit" onSubmit=${save} novalidate data-testid="card-form">
    ${group(t('card_f_name'), ['name'])}
    ${group(t('card_contact'), CONTACT)}
    ${group(t('card_health'), HEALTH)}
    ${group(t('card_notes'), NOTES)}
    <${ErrorBox} text=${err} />
    <div class="card-actions">
      <button type="submit" data-testid="card-save" disabled=${busy}>${t('card_save')}</button>
      <button type="button" class="secondary" onClick=${() => onDone(null)}>${t('card_cancel')}</button>
    </div>
  </form>`;
}

function Appointments({ desk, list, title, testid }) {
  const many = desk.locations().length > 1;
  return html`<section class="card-box" data-testid=${testid}>
    <h2>${title}</h2>
    ${list.length ? html`<ul class="card-appts">${list.map((r) => html`<li key=${r.id} data-id=${r.id} data-status=${r.f.status}>
      <span class="card-when">${whenAt(desk.by, r.f)}</span>
      <span>${serviceNames(desk.by, r.f).join(', ')}</span>
      <span class="card-muted">${specialistName(desk.by, r.f)}${many ? ` · ${branchName(desk.by, r.f.location_id)}` : ''}</span>
      ${r.f.status && r.f.status !== 'booked' && html`<span class=${'card-status st-' + r.f.status}>${t('card_st_' + r.f.status)}</span>`}
    </li>`)}</ul>` : html`<p class="card-muted">${t('card_none')}</p>`}
  </section>`;
}

function Consents({ desk, id }) {
  const list = consentsOf(desk.by, id);
  return html`<section class="card-box" data-testid="card-consents">
    <h2>${t('card_consents')}</h2>
    ${list.length ? html`<ul class="card-consents">${list.map((f) => html`<li key=${f.purpose} data-purpose=${f.purpose} data-granted=${f.granted ? 'true' : 'false'}>
      <span>${t('card_p_' + f.purpose)}</span>
      <span class=${f.granted ? 'card-yes' : 'card-no'}>${t('card_consent_line', {
        state: f.granted ? t('card_given') : t('card_withdrawn'),
        date: f.at ? new Intl.DateTimeFormat(locale(), { dateStyle: 'medium' }).format(f.at) : '',
        source: t('card_s_' + f.source) })}</span></li>`)}</ul>`
      : html`<p class="card-muted">${t('card_no_consents')}</p>`}
  </section>`;
}

function Visits({ desk, id }) {
  const list = visitsOf(desk.by, id);
  const may = writesVisits(desk.role);
  return html`<section class="card-box card-visits" data-testid="visit-list">
    <div class="card-head"><h2>${t('card_visits')}</h2>
      ${may && html`<button type="button" data-testid="visit-new" onClick=${link(desk, `/desk/client?id=${encodeURIComponent(id)}&visit=new`)}>${t('card_visit_new')}</button>`}</div>
    ${list.length ? html`<ul>${list.map((r) => html`<li key=${r.id} class="card-visit" data-testid="visit" data-id=${r.id}>
      <div class="card-visit-head"><strong>${dateOnly(r.f.visit_date)}</strong>
        <span>${serviceNames(desk.by, r.f).join(', ')}</span>
        <span class="card-muted">${t('card_by', { name: specialistName(desk.by, r.f) })}</span>
        ${may && html`<button type="button" class="secondary" data-testid="visit-edit"
          onClick=${link(desk, `/desk/client?id=${encodeURIComponent(id)}&visit=${encodeURIComponent(r.id)}`)}>${t('card_visit_edit')}</button>`}</div>
      ${r.f.products_formulas && html`<p><span class="card-k">${label('products_formulas')}:</span> <span data-field="products_formulas">${r.f.products_formulas}</span></p>`}
      ${r.f.treatment_notes && html`<p><span class="card-k">${label('treatment_notes')}:</span> <span data-field="treatment_notes">${r.f.treatment_notes}</span></p>`}
    </li>`)}</ul>` : html`<p class="card-muted">${t('card_no_visits')}</p>`}
  </section>`;
}

// A new visit (visit=new) or an existing one's formulas and notes (visit=<id>).
function VisitForm({ desk, client, visitId, onDone }) {
  const old = visitId !== 'new' ? desk.by.visit?.get(visitId) : null;
  const todays = old ? [] : todaysAppointments(desk.by, client.id);
  const me = desk.principal?.id;
  const loc0 = desk.location || desk.locations()[0]?.id || null;
  const [v, setV] = useState(() => old ? { ...old.f } : {
    location_id: loc0, visit_date: localYmd(desk.by, loc0), services: [], products_formulas: '', treatment_notes: '',
    appointment_id: null, specialist_id: me,
  });
  const [err, setErr] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (k, x) => setV({ ...v, [k]: x });
  const fromAppt = (a) => setV({
    ...v, appointment_id: a.id, location_id: a.f.location_id, services: [...(a.f.services || [])],
    visit_date: localYmd(desk.by, a.f.location_id, a.f.start_at),
    specialist_id: desk.role === 'specialist' ? me : (a.f.specialist_id || me),
  });
  const menu = [...(desk.by.service?.values() || [])].filter((s) => {
    const ls = s.f.location_ids || (s.f.location_id ? [s.f.location_id] : []);
    return !ls.length || ls.includes(v.location_id);
  }).sort((a, b) => String(a.f.name).localeCompare(String(b.f.name)));
  async function save(e) {
    e.preventDefault();
    setErr(null);
    let fields;
    if (old) {
      fields = {};
      for (const k of ['products_formulas', 'treatment_notes']) {
        const x = String(v[k] ?? '').trim() || null;
        if (x !== (old.f[k] ?? null)) fields[k] = x;
      }
      if (!Object.keys(fields).length) return onDone(t('card_nothing'));
    } else {
      if (!isDate(v.visit_date, '1900-01-01', '2099-12-31')) return setErr(t('card_bad_visit_date'));
      if (!v.services.length && !String(v.treatment_notes).trim()) return setErr(t('card_bad_services'));
      fields = {
        location_id: v.location_id, client_id: client.id, specialist_id: v.specialist_id || me,
        visit_date: v.visit_date, services: v.services,
        products_formulas: String(v.products_formulas).trim() || null, treatment_notes: String(v.treatment_notes).trim() || null,
      };
      if (v.appointment_id) fields.appointment_id = v.appointment_id;
    }
    setBusy(true);
    try {
      const id = old ? old.id : desk.newId();
      await desk.edit('visit', id, old ? 'update' : 'create', fields);
      patchLocal(desk, 'visit', id, fields);
      onDone(t('card_visit_saved'));
    } catch (x) {
      setErr(String(x?.message || x));
      setBusy(false);
    }
  }
  return html`<form class="card-box card-visit-form" onSubmit=${save} novalidate data-testid="visit-form">
    <h2>${old ? t('card_edit_visit_title', { date: dateOnly(old.f.visit_date) }) : t('card_new_visit_title')}</h2>
    ${todays.map((a) => html`<button type="button" class="secondary card-from" data-testid="visit-from-appt" data-id=${a.id}
      aria-pressed=${v.appointment_id === a.id ? 'true' : 'false'} onClick=${() => fromAppt(a)}>
      ${t('card_from_appt', { time: whenAt(desk.by, a.f), services: serviceNames(desk.by, a.f).join(', ') })}</button>`)}
    ${!old && html`<div class="field">
      <label for="visit-date">${label('visit_date')} (YYYY-MM-DD)</label>
      <input id="visit-date" data-testid="visit-date" value=${v.visit_date} inputmode="numeric" onInput=${(e) => set('visit_date', e.currentTarget.value)} />
    </div>
    ${desk.locations().length > 1 && html`<div class="field"><label for="visit-loc">${label('location_id')}</label>
      <select id="visit-loc" onChange=${(e) => set('location_id', e.currentTarget.value)}>
        ${desk.locations().map((l) => html`<option value=${l.id} selected=${l.id === v.location_id}>${l.f.name}</option>`)}</select></div>`}
    <fieldset class="card-services"><legend>${label('services')}</legend>
      ${menu.map((s) => html`<label key=${s.id} class="card-chip"><input type="checkbox" data-testid="visit-service" data-id=${s.id}
        checked=${v.services.includes(s.id)}
        onChange=${(e) => set('services', e.currentTarget.checked ? [...v.services, s.id] : v.services.filter((x) => x !== s.id))} />
        <span>${s.f.name}</span></label>`)}
    </fieldset>`}
    <div class="field"><label for="visit-formulas">${label('products_formulas')}</label>
      <textarea id="visit-formulas" data-testid="visit-formulas" rows="3" value=${v.products_formulas || ''}
        onInput=${(e) => set('products_formulas', e.currentTarget.value)}></textarea></div>
    <div class="field"><label for="visit-notes">${label('treatment_notes')}</label>
      <textarea id="visit-notes" data-testid="visit-notes" rows="3" value=${v.treatment_notes || ''}
        onInput=${(e) => set('treatment_notes', e.currentTarget.value)}></textarea></div>
    <${ErrorBox} text=${err} />
    <div class="card-actions">
      <button type="submit" data-testid="visit-save" disabled=${busy}>${t('card_visit_save')}</button>
      <button type="button" class="secondary" onClick=${() => onDone(null)}>${t('card_cancel')}</button>
    </div>
  </form>`;
}

export function Card({ desk }) {
  const id = desk.params.get('id') || '';
  const visit = desk.params.get('visit');
  const [editing, setEditing] = useState(false);
  const [note, setNote] = useState(null);
  useEffect(() => { if (id) recordView(desk, id); setEditing(false); setNote(null); }, [id]);
  useEffect(() => { flushViews(desk); }, [desk.online]);
  const row = desk.by.client?.get(id);
  const back = html`<a href="/desk/clients" class="card-back" onClick=${link(desk, '/desk/clients')}>← ${t('card_back')}</a>`;
  if (!row) return html`<section class="desk-page card-page" data-testid="card" data-id=${id}>${back}<p>${t('card_not_found')}</p></section>`;
  const f = row.f;
  const role = desk.role;
  const s = sees(role);
  const [up, past] = appointmentsOf(desk.by, id);
  const toCard = `/desk/client?id=${encodeURIComponent(id)}`;
  const done = (msg) => { setEditing(false); setNote(msg); };
  const visitDone = (msg) => { setNote(msg); desk.go(toCard); };
  return html`<section class="desk-page card-page" data-testid="card" data-id=${id} aria-labelledby="h-card">
    ${back}
    <div class="card-head">
      <h1 id="h-card">${f.name}</h1>
      <div class="card-actions">
        ${readsHistory(role) && html`<a href=${'/desk/history?id=' + encodeURIComponent(id)} class="btn" data-testid="history-link"
          onClick=${link(desk, '/desk/history?id=' + encodeURIComponent(id))}>${t('card_history_link')}</a>`}
        ${writes(role).length > 0 && !editing && !visit && html`<button type="button" data-testid="card-edit"
          onClick=${() => { setNote(null); setEditing(true); }}>${t('card_edit')}</button>`}
      </div>
    </div>
    <${AllergyAlert} f=${f} />
    <${Note} text=${note} testid="card-note" />
    ${visit ? html`<${VisitForm} key=${visit} desk=${desk} client=${row} visitId=${visit} onDone=${visitDone} />`
      : editing ? html`<${EditCard} desk=${desk} row=${row} onDone=${done} />`
      : html`<div class="card-grid">
        ${s.contact && html`<section class="card-box" data-testid="card-contact"><h2>${t('card_contact')}</h2><${Rows} f=${f} fields=${CONTACT} /></section>`}
        ${s.health && html`<section class="card-box" data-testid="card-health"><h2>${t('card_health')}</h2><${Rows} f=${f} fields=${HEALTH} /></section>`}
        <section class="card-box" data-testid="card-notes"><h2>${t('card_notes')}</h2><${Rows} f=${f} fields=${NOTES} /></section>
      </div>`}
    ${!visit && s.visitNotes && html`<${Visits} desk=${desk} id=${id} />`}
    ${!visit && html`<div class="card-grid">
      <${Appointments} desk=${desk} list=${up} title=${t('card_upcoming')} testid="card-upcoming" />
      <${Appointments} desk=${desk} list=${past} title=${t('card_past')} testid="card-past" />
    </div>
    <${Consents} desk=${desk} id=${id} />
    <${CardMessages} desk=${desk} id=${id} />`}
  </section>`;
}
