// To call (/desk/unconfirmed): tomorrow's (or another day's) appointments not confirmed
// yet, for reception to call down — the manage op `unconfirmed` per branch (time,
// client, phone as a tel: link, specialist, the reminder's state). "Called" is a mark
// kept on this tablet; "Confirmed" sets the appointment's status through desk.edit (the
// write queue, as the calendar does). Offline: the same list from the tablet's copy.
import { useState, useEffect } from '../../vendor/preact/hooks.mjs';
import { html, ErrorBox } from '../ui.js';
import { t, locale } from '../../i18n.js';
import { parts, addDays, hhmm } from '../../tz.js';
import * as fm from './feedback_model.js';
import { manage, errCode } from './feedback_ui.js';

const utc = (ymd) => { const [y, m, d] = ymd.split('-').map(Number); return Date.UTC(y, m - 1, d); };
const dayTitle = (ymd) => new Intl.DateTimeFormat(locale(), { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(utc(ymd));

function readCalled(k) { try { return JSON.parse(localStorage.getItem(k) || '{}'); } catch { return {}; } }

function Line({ desk, a, tz, called, onCalled, onConfirm }) {
  const row = desk.by.appointment?.get(a.id);
  const status = row?.f.status || 'booked';
  const done = status !== 'booked';
  const href = fm.telHref(a.phone);
  const rem = a.reminder_state === undefined ? 'unknown' : (a.reminder_state || 'none');
  return html`<li class=${`fb-call${done ? ' done' : ''}${called ? ' called' : ''}`} data-testid="fb-call" data-id=${a.id}
      data-status=${status} data-called=${called ? 'true' : 'false'}>
    <span class="fb-call-time" data-testid="fb-call-time">${hhmm(parts(a.start_at, tz).min)}</span>
    <span class="fb-call-who">
      <a href=${`/desk/client?id=${encodeURIComponent(a.client_id || '')}`} class="fb-call-name" data-testid="fb-call-client"
        onClick=${(e) => { if (!e.ctrlKey && !e.metaKey) { e.preventDefault(); desk.go(`/desk/client?id=${encodeURIComponent(a.client_id || '')}`); } }}>
        ${a.client_name || t('fb_a_client')}</a>
      <span class="fb-muted">${a.specialist_name || ''}</span></span>
    ${href ? html`<a class="btn fb-tel" href=${href} data-testid="fb-call-phone" aria-label=${t('fb_call', { phone: a.phone })}>☎ ${a.phone}</a>`
      : html`<span class="fb-muted fb-tel">${t('fb_no_phone')}</span>`}
    <span class=${'fb-rem rem-' + rem} data-testid="fb-call-reminder" data-state=${rem}>${t('fb_rem_' + rem)}</span>
    <span class="fb-call-acts">
      ${done ? html`<span class="fb-done" data-testid="fb-call-confirmed">${t('fb_confirmed')}</span>` : html`
        <button type="button" class=${called ? '' : 'secondary'} data-testid="fb-mark-called" aria-pressed=${called ? 'true' : 'false'}
          title=${called ? t('fb_called_at', { time: hhmm(parts(called, tz).min) }) : undefined}
          onClick=${() => onCalled(a.id)}>${called ? `✓ ${t('fb_mark_called')} ${hhmm(parts(called, tz).min)}` : t('fb_mark_called')}</button>
        <button type="button" data-testid="fb-mark-confirmed" onClick=${() => onConfirm(a.id)}>✓ ${t('fb_mark_confirmed')}</button>`}
    </span>
  </li>`;
}

function Branch({ desk, loc, day, showName }) {
  const tz = loc.f.time_zone;
  const [st, setSt] = useState({ key: '', list: null, local: false, err: null });
  const [called, setCalled] = useState(() => readCalled(fm.calledKey(loc.id, day)));
  const [err, setErr] = useState(null);
  const key = `${loc.id}|${day}`;
  async function load() {
    const local = () => setSt({ key, list: fm.localUnconfirmed(desk.by, loc.id, day, tz), local: true, err: null });
    if (!desk.online) return local();
    try {
      const r = await manage(desk, 'unconfirmed', { location: loc.id, day });
      setSt({ key, list: r.appointments || [], local: false, err: null });
    } catch (e) {
      const code = errCode(e);
      if (code === 'network') return local();
      setSt({ key, list: null, local: false, err: code });
    }
  }
  useEffect(() => { setCalled(readCalled(fm.calledKey(loc.id, day))); load(); }, [key, desk.online]);
  const markCalled = (id) => {
    const k = fm.calledKey(loc.id, day);
    const m = readCalled(k);
    if (m[id]) delete m[id]; else m[id] = Date.now();
    localStorage.setItem(k, JSON.stringify(m));
    setCalled(m);
  };
  const confirm = async (id) => {
    setErr(null);
    const row = desk.by.appointment?.get(id);
    if (!row) return setErr(t('fb_error', { msg: '?' }));
    try {
      await desk.edit('appointment', id, 'update', 'status_reason' in row.f ? { status: 'confirmed', status_reason: null } : { status: 'confirmed' });
    } catch (x) {
      setErr(t('fb_error', { msg: x?.message || String(x) }));
    }
  };
  const list = st.key === key ? st.list : null;
  const open = (list || []).filter((a) => (desk.by.appointment?.get(a.id)?.f.status || 'booked') === 'booked').length;
  return html`<section class="fb-branch" data-testid="fb-calls" data-loc=${loc.id} data-day=${day}
      data-source=${st.key !== key ? 'loading' : st.local ? 'local' : st.err ? 'error' : 'server'} aria-label=${loc.f.name}>
    ${showName && html`<h2>${loc.f.name}</h2>`}
    ${st.key === key && st.local && html`<p class="card-alert card-offline" data-testid="fb-calls-offline">${t('fb_calls_offline')}</p>`}
    ${st.err && html`<p class="error">${st.err === 'forbidden' ? t('fb_calls_forbidden') : t('fb_load_error', { code: st.err })}</p>`}
    <${ErrorBox} text=${err} />
    ${list && (list.length ? html`<p class="fb-muted" data-testid="fb-calls-n" data-n=${open}>${t('fb_calls_n', { n: open })}</p>
      <ul class="fb-calls">${list.map((a) => html`<${Line} key=${a.id} desk=${desk} a=${a} tz=${tz} called=${called[a.id] || 0}
        onCalled=${markCalled} onConfirm=${confirm} />`)}</ul>`
      : html`<p class="fb-muted" data-testid="fb-calls-none">${t('fb_calls_none')}</p>`)}
    ${!list && !st.err && html`<p class="fb-muted">${t('fb_loading')}</p>`}
  </section>`;
}

export function Unconfirmed({ desk }) {
  const locs = desk.locations();
  const chosen = desk.location ? locs.filter((l) => l.id === desk.location) : locs;
  const tz = chosen[0]?.f.time_zone;
  const tomorrow = fm.tomorrow(tz);
  const asked = desk.params.get('day');
  const day = asked && /^\d{4}-\d{2}-\d{2}$/.test(asked) ? asked : tomorrow;
  const to = (d) => desk.go(d === tomorrow ? '/desk/unconfirmed' : `/desk/unconfirmed?day=${d}`);
  if (!fm.mayCall(desk.role)) return html`<section class="desk-page fb-page"><h1>${t('fb_calls_title')}</h1>
    <p class="error">${t('fb_calls_forbidden')}</p></section>`;
  return html`<section class="desk-page fb-page" data-testid="fb-unconfirmed" data-day=${day} aria-labelledby="h-fb-calls">
    <div class="fb-head">
      <h1 id="h-fb-calls">${t('fb_calls_title')}</h1>
      <div class="fb-period">
        <button type="button" class="secondary" data-testid="fb-day-prev" aria-label=${t('fb_prev_day')} onClick=${() => to(addDays(day, -1))}>‹</button>
        <strong class="fb-period-title" data-testid="fb-day">${dayTitle(day)}</strong>
        <button type="button" class="secondary" data-testid="fb-day-next" aria-label=${t('fb_next_day')} onClick=${() => to(addDays(day, 1))}>›</button>
        ${day !== tomorrow && html`<button type="button" class="secondary" onClick=${() => to(tomorrow)}>${t('fb_tomorrow')}</button>`}
      </div>
    </div>
    <p class="fb-muted">${t('fb_calls_intro')}</p>
    ${chosen.map((l) => html`<${Branch} key=${l.id + day} desk=${desk} loc=${l} day=${day} showName=${chosen.length > 1} />`)}
  </section>`;
}
