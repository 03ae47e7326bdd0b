// /l/TOKEN: a link from a message (PROTOCOL "link"). Nothing is signed in: the page
// sends {t:"link", op:"open", token} over a WebSocket that never logs in, shows what
// the link is for, and does that one thing with op "act". The token stays in the
// address (a reload opens the same page) and in memory; never in localStorage or
// IndexedDB. Kinds: confirm, unsubscribe, reconsent, review, survey.
import { useEffect, useState } from '../vendor/preact/hooks.mjs';
import { html, ErrorBox, errorText } from './ui.js';
import { t, locale } from '../i18n.js';
import { linkScreen, errorScreen, answered, scale, npsGroup, dayTime, dayOf, editableUntil, editable, PURPOSES, WEEK } from './feedback_model.js';
import { ReviewForm, ReviewShow } from './review.js';
import './feedback_texts.js';

const TIMEOUT = 15000;

function withTimeout(p) {
  let timer;
  const late = new Promise((_, rej) => {
    timer = setTimeout(() => rej(Object.assign(new Error('no answer'), { code: 'timeout' })), TIMEOUT);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

function ask(proto, op, token, extra = {}) {
  if (!navigator.onLine) return Promise.reject(Object.assign(new Error('offline'), { code: 'network' }));
  return withTimeout(proto.link(op, token, extra));
}

const what = (purpose) => t(PURPOSES.includes(purpose) ? 'lk_p_' + purpose : 'lk_p_other');

let deviceZone;
function when(ms, tz) {
  deviceZone ??= Intl.DateTimeFormat().resolvedOptions().timeZone;
  return dayTime(ms, tz, locale(), deviceZone);
}

function Problem({ screen, code, onRetry }) {
  const title = { invalid: 'lk_invalid_title', expired: 'lk_expired_title', offline: 'lk_offline_title' }[screen];
  const text = { invalid: 'lk_invalid', expired: 'lk_expired', offline: 'lk_offline', busy: 'lk_busy' }[screen];
  return html`<section class="lk lk-problem" data-testid="link-problem" data-problem=${screen} aria-labelledby="lk-h">
    <h1 id="lk-h">${t(title || 'lk_invalid_title')}</h1>
    <p>${text ? t(text) : t('lk_error', { code })}</p>
    ${(screen === 'offline' || screen === 'busy' || screen === 'error') && html`<button type="button" class="lk-big"
      data-testid="link-retry" onClick=${onRetry}>${t('lk_retry')}</button>`}
  </section>`;
}

function Where({ r }) {
  const a = r.appointment || {};
  const w = when(a.start_at, a.time_zone);
  const services = (a.services || []).join(' + ');
  return html`<div class="lk-card" data-testid="link-appointment">
    <p class="lk-when"><span data-testid="link-when">${w.day}, ${w.time}</span>${w.zone && html` <span class="zone">(${w.zone})</span>`}</p>
    ${(services || a.specialist) && html`<p>${[services, a.specialist && t('lk_with', { name: a.specialist })].filter(Boolean).join(' ')}</p>`}
    ${r.location?.name && html`<p class="lk-place">${r.location.name}</p>`}
    ${r.location?.address && html`<p class="addr">${r.location.address}</p>`}
  </div>`;
}

function Confirm({ r, stage, act }) {
  const a = r.appointment || {};
  const w = when(a.start_at, a.time_zone);
  const at = { day: w.day, time: w.zone ? `${w.time} (${w.zone})` : w.time };
  return html`<section class="lk" aria-labelledby="lk-h">
    <h1 id="lk-h">${t('lk_confirm_title')}</h1>
    <${Where} r=${r} />
    ${stage === 'ask' && html`<p>${t('lk_confirm_q')}</p>
      <button type="button" class="lk-big" data-testid="link-confirm" onClick=${() => act({})}>${t('lk_confirm_btn')}</button>`}
    ${stage === 'acted' && html`<p class="note lk-done" role="status" data-testid="link-done">${t('lk_confirm_done', at)}</p>`}
    ${stage === 'done' && html`<p class="note lk-done" role="status" data-testid="link-done">${t('lk_confirm_already', at)}</p>`}
    ${stage === 'cancelled' && html`<p class="lk-off" data-testid="link-cancelled">${t('lk_confirm_cancelled')}</p>`}
    ${stage === 'past' && html`<p class="lk-off" data-testid="link-past">${t('lk_confirm_past')}</p>`}
    ${(stage === 'ask' || stage === 'acted' || stage === 'done') && html`<p class="lk-hint">${t('lk_change_hint')}</p>`}
  </section>`;
}

function Unsubscribe({ r, stage, act }) {
  const w = what(r.purpose);
  return html`<section class="lk" aria-labelledby="lk-h">
    <h1 id="lk-h">${t('lk_unsub_title')}</h1>
    ${stage === 'ask' && html`<p>${t('lk_unsub_q', { what: w, salon: r.salon || '' })}</p>
      <button type="button" class="lk-big" data-testid="link-unsubscribe" onClick=${() => act({})}>${t('lk_unsub_btn')}</button>`}
    ${stage !== 'ask' && html`<p class="note lk-done" role="status" data-testid="link-done">${t(stage === 'acted' ? 'lk_unsub_done' : 'lk_unsub_already', { what: w })}</p>
      <p class="lk-hint">${t('lk_unsub_hint')}</p>`}
  </section>`;
}

function Reconsent({ r, stage, act, acted }) {
  const w = what(r.purpose);
  const granted = acted ? acted.granted : r.state === 'granted' ? true : r.state === 'withdrawn' ? false : undefined;
  return html`<section class="lk" aria-labelledby="lk-h">
    <h1 id="lk-h">${t('lk_recon_title')}</h1>
    ${stage === 'ask' ? html`<p>${t('lk_recon_q', { what: w, salon: r.salon || '' })}</p>
      <div class="lk-two">
        <button type="button" class="lk-big" data-testid="link-reconsent-yes" onClick=${() => act({ granted: true })}>${t('lk_recon_yes')}</button>
        <button type="button" class="lk-big secondary" data-testid="link-reconsent-no" onClick=${() => act({ granted: false })}>${t('lk_recon_no')}</button>
      </div>`
    : html`<p class="note lk-done" role="status" data-testid="link-done">${typeof granted === 'boolean'
      ? t(granted ? 'lk_recon_done_yes' : 'lk_recon_done_no', { what: w }) : t('lk_recon_already')}</p>`}
  </section>`;
}

function VisitLine({ r }) {
  const v = r.visit || {};
  const what = [(v.services || []).join(' + '), v.specialist && t('lk_with', { name: v.specialist })].filter(Boolean).join(' ');
  return html`<div class="lk-card" data-testid="link-visit">
    ${v.date && html`<p class="lk-when">${dayOf(v.date, locale())}</p>`}
    ${what && html`<p>${what}</p>`}
    ${r.location?.name && html`<p class="lk-place">${r.location.name}</p>`}
  </div>`;
}

function Review({ r, stage, act }) {
  const [editing, setEditing] = useState(false);
  const rv = r.review;
  const tz = r.location?.time_zone || r.appointment?.time_zone;
  async function send({ stars, text, publicOk }) {
    await act({ stars, text, public_ok: publicOk });
    setEditing(false);
  }
  return html`<section class="lk" aria-labelledby="lk-h">
    <h1 id="lk-h">${t('lk_review_title')}</h1>
    <${VisitLine} r=${r} />
    ${stage === 'ask' || editing
      ? html`<${ReviewForm} id="lk-rv" initial=${rv || {}} submitLabel=${rv?.stars ? t('rv_save') : t('rv_send')}
          onSubmit=${send} onCancel=${editing ? () => setEditing(false) : null} />`
      : html`${stage === 'acted' && html`<p class="note lk-done" role="status" data-testid="link-done">${t('rv_thanks')}</p>`}
        <${ReviewShow} rv=${rv} />
        ${editable(rv) ? html`<p class="rv-until">${t('rv_editable_until', { date: dayOf(editableUntil(rv), locale(), tz) })}</p>
            <button type="button" class="secondary" data-testid="review-edit" onClick=${() => setEditing(true)}>${t('rv_edit')}</button>`
          : html`<p class="rv-until" data-testid="review-closed">${t('rv_closed')}</p>`}`}
  </section>`;
}

const FACES = { csat: ['lk_csat_1', 'lk_csat_2', 'lk_csat_3', 'lk_csat_4', 'lk_csat_5'], ces: ['lk_ces_1', 'lk_ces_2', 'lk_ces_3', 'lk_ces_4', 'lk_ces_5'] };

function Survey({ r, stage, act, acted }) {
  const q = ['csat', 'nps', 'ces'].includes(r.question) ? r.question : 'csat';
  const score = acted ? acted.score : r.answer;
  const [err, setErr] = useState(null);
  async function pick(n) {
    setErr(null);
    try { await act({ score: n }); } catch (x) { setErr(errorText(x)); }
  }
  return html`<section class="lk" aria-labelledby="lk-h" data-question=${q}>
    <p class="lk-kicker">${t('lk_survey_title')}</p>
    <h1 id="lk-h">${t('lk_' + q + '_q', { salon: r.salon || '' })}</h1>
    ${r.visit && html`<${VisitLine} r=${r} />`}
    ${stage === 'ask' ? (q === 'nps'
      ? html`<div class="lk-nps" role="group" aria-labelledby="lk-h">
          ${scale('nps').map((n) => html`<button type="button" key=${n} class=${'lk-score ' + npsGroup(n)} data-testid=${'score-' + n}
            aria-label=${n === 0 ? `0 — ${t('lk_nps_low')}` : n === 10 ? `10 — ${t('lk_nps_high')}` : String(n)} onClick=${() => pick(n)}>${n}</button>`)}
        </div>
        <p class="lk-ends"><span>0 = ${t('lk_nps_low')}</span><span>10 = ${t('lk_nps_high')}</span></p>`
      : html`<div class="lk-five" role="group" aria-labelledby="lk-h">
          ${scale(q).map((n) => html`<button type="button" key=${n} class="lk-score secondary" data-testid=${'score-' + n}
            onClick=${() => pick(n)}><span class="lk-num" aria-hidden="true">${n}</span> ${t(FACES[q][n - 1])}</button>`)}
        </div>`)
    : html`<p class="note lk-done" role="status" data-testid="link-done">${t('lk_survey_thanks')}</p>
      ${answered(score) && html`<p data-testid="link-score">${t('lk_survey_yours', { score: q === 'nps' ? String(score) : `${score} — ${t(FACES[q][score - 1] || 'lk_p_other')}` })}</p>`}`}
    <${ErrorBox} text=${err} />
  </section>`;
}

const KINDS = { confirm: Confirm, unsubscribe: Unsubscribe, reconsent: Reconsent, review: Review, survey: Survey };

// onInfo({salon, lang}) once the link is open: the header's name and the client's language.
export function LinkPage({ proto, token, onInfo }) {
  const [st, setSt] = useState({ phase: 'loading' });
  const [actErr, setActErr] = useState(null);
  const [busy, setBusy] = useState(false);

  async function open() {
    setSt({ phase: 'loading' });
    if (!token) { setSt({ phase: 'problem', screen: 'invalid', code: 'token_invalid' }); return; }
    try {
      const r = await ask(proto, 'open', token);
      onInfo?.({ salon: r.salon, lang: r.lang });
      setSt({ phase: 'ready', r, acted: null });
    } catch (e) {
      setSt({ phase: 'problem', screen: errorScreen(e.code), code: e.code || 'error' });
    }
  }
  useEffect(() => {
    open();
    const again = () => setSt((s) => { if (s.phase === 'problem' && s.screen === 'offline') open(); return s; });
    window.addEventListener('online', again);
    return () => window.removeEventListener('online', again);
  }, [token]);

  // The one action; the answer may carry the updated state (review, answer), merged in.
  async function act(extra) {
    setActErr(null);
    setBusy(true);
    try {
      const a = await ask(proto, 'act', token, extra);
      setSt((s) => {
        const r = { ...s.r, done: true };
        if (s.r.kind === 'review') {
          const now = Date.now();
          const old = s.r.review || {};
          r.review = { ...old, stars: extra.stars, text: extra.text, public_ok: extra.public_ok,
            editable_until: old.editable_until || now + WEEK, ...(a.review || {}) };
        }
        if (s.r.kind === 'survey') r.answer = extra.score;
        return { ...s, r, acted: { ...extra, answer: a } };
      });
    } catch (e) {
      const screen = errorScreen(e.code);
      if (screen === 'invalid' || screen === 'expired') setSt({ phase: 'problem', screen, code: e.code });
      else if (e.code === 'appointment_cancelled' || e.code === 'appointment_past') { // changed since it opened
        setSt((s) => ({ ...s, r: { ...s.r, appointment: { ...s.r.appointment, status: e.code === 'appointment_cancelled' ? 'cancelled' : 'done' } } }));
      }
      else if (st.r?.kind === 'review' || st.r?.kind === 'survey') { setBusy(false); throw e; } // the form shows it
      else setActErr(errorText(e.code === 'timeout' ? { code: 'network' } : e));
    }
    setBusy(false);
  }

  if (st.phase === 'loading') {
    return html`<section class="lk" data-testid="link-page" data-kind="" data-stage="loading" aria-busy="true">
      <p class="lk-loading">${t('lk_loading')}</p></section>`;
  }
  if (st.phase === 'problem') {
    return html`<div data-testid="link-page" data-kind="" data-stage="problem">
      <${Problem} screen=${st.screen} code=${st.code} onRetry=${open} /></div>`;
  }
  const { r, acted } = st;
  const scr = linkScreen(r);
  const stage = acted ? 'acted' : scr.stage;
  const View = KINDS[r.kind];
  return html`<div data-testid="link-page" data-kind=${r.kind} data-stage=${stage} aria-busy=${busy}>
    ${View ? html`<${View} r=${r} stage=${stage} act=${act} acted=${acted} />`
      : html`<section class="lk"><h1 id="lk-h">${t('lk_invalid_title')}</h1><p>${t('lk_unknown')}</p></section>`}
    <${ErrorBox} text=${actErr} />
  </div>`;
}
