// Privacy: marketing consents, download my data, delete my data, the salon's notice.
import { useEffect, useState } from '../vendor/preact/hooks.mjs';
import { html, ErrorBox, Note, errorText } from './ui.js';
import { t, localDate } from '../i18n.js';
import { consent } from '../model.js';
import { uuidv7, nextMid } from '../proto.js';

const PURPOSES = ['marketing_email', 'marketing_sms'];
export const TEXT_VERSION = 'portal-1';

function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

function ymd(d = new Date()) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

// One calendar month after `ms`, for a server that does not send due_at yet.
function monthLater(ms) {
  const d = new Date(ms);
  d.setMonth(d.getMonth() + 1);
  return d.getTime();
}

function Consents({ app, proto }) {
  const clientId = app.principal?.id;
  const [want, setWant] = useState({}); // purpose -> granted, as pushed and applied
  const [saved, setSaved] = useState(false);
  const [err, setErr] = useState(null);
  async function toggle(purpose, granted) {
    setSaved(false);
    setErr(null);
    setWant((w) => ({ ...w, [purpose]: granted }));
    const at = Date.now();
    try {
      const [r] = await proto.push([{
        mid: nextMid(), tbl: 'consent', id: uuidv7(), op: 'create', base: 0, at,
        f: { client_id: clientId, purpose, granted, text_version: TEXT_VERSION, source: 'portal', at },
      }]);
      if (r && (r.status === 'applied' || r.status === 'duplicate')) setSaved(true);
      else throw Object.assign(new Error(r?.msg || ''), { code: r?.code || 'internal' });
    } catch (x) {
      setWant((w) => { const n = { ...w }; delete n[purpose]; return n; });
      setErr(errorText(x));
    }
  }
  return html`<section aria-labelledby="h-consents">
    <h2 id="h-consents">${t('consents')}</h2>
    ${PURPOSES.map((p) => {
      const on = p in want ? want[p] : consent(app.by, clientId, p);
      return html`<div class="switch" key=${p}>
        <input type="checkbox" role="switch" id=${'c-' + p} data-purpose=${p} checked=${on}
          onChange=${(e) => toggle(p, e.currentTarget.checked)} />
        <label for=${'c-' + p}>${t(p)}</label>
      </div>`;
    })}
    ${saved && html`<p class="note" role="status" data-testid="consent-saved">${t('consent_saved')}</p>`}
    <${ErrorBox} text=${err} />
  </section>`;
}

function Export({ proto }) {
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState(null);
  const [done, setDone] = useState(false);
  async function run() {
    setBusy(true);
    setErr(null);
    setDone(false);
    try {
      const doc = await proto.privacy('export');
      download(`kartoteka-export-${ymd()}.json`, doc, 'application/json');
      setDone(true);
    } catch (x) {
      setErr(errorText(x));
    }
    setBusy(false);
  }
  return html`<section aria-labelledby="h-export">
    <h2 id="h-export">${t('export_title')}</h2>
    <p>${t('export_intro')}</p>
    <button type="button" data-testid="export" onClick=${run} disabled=${busy} aria-busy=${busy}>${t('export')}</button>
    <${Note} text=${done ? t('export_done') : null} testid="export-done" />
    <${ErrorBox} text=${err} />
  </section>`;
}

function Erasure({ proto, online }) {
  const [state, setState] = useState(null);
  const [asking, setAsking] = useState(false);
  const [err, setErr] = useState(null);
  useEffect(() => {
    if (!online) return;
    proto.privacy('erasure_status').then((r) => r.status === 'pending' && setState(r)).catch(() => {});
  }, [online]);
  async function confirm() {
    setErr(null);
    try {
      setState(await proto.privacy('erasure_request'));
      setAsking(false);
    } catch (x) {
      setErr(errorText(x));
    }
  }
  return html`<section aria-labelledby="h-erase">
    <h2 id="h-erase">${t('erase_title')}</h2>
    ${state ? html`<p class="note" role="status" data-testid="erasure-state">${t('erasure_state', {
      requested: localDate(state.requested_at), due: localDate(state.due_at || monthLater(state.requested_at)) })}</p>`
    : html`<p>${t('erase_intro')}</p>
      ${asking ? html`<div class="confirm" role="group" aria-labelledby="erase-q">
          <p id="erase-q">${t('erase_q')}</p>
          <button type="button" class="danger" data-testid="erase-confirm" onClick=${confirm}>${t('erase_confirm')}</button>
          <button type="button" class="secondary" onClick=${() => setAsking(false)}>${t('cancel')}</button>
        </div>`
      : html`<button type="button" class="danger" data-testid="erase-request" onClick=${() => setAsking(true)}>${t('erase_request')}</button>`}`}
    <${ErrorBox} text=${err} />
  </section>`;
}

// The salon's text, plain, paragraphs at blank lines; rendered as text nodes only.
function Notice({ org }) {
  const text = typeof org.privacy_notice === 'string' && org.privacy_notice.trim() ? org.privacy_notice : null;
  const paras = text ? text.split(/\r?\n\s*\r?\n/).map((s) => s.trim()).filter(Boolean) : t('default_notice');
  return html`<section aria-labelledby="h-notice" data-testid="privacy-notice" data-default=${text ? 'false' : 'true'}>
    <h2 id="h-notice">${t('notice_title')}</h2>
    ${paras.map((p, i) => {
      // A short first line over more text reads as the paragraph's heading.
      const [first, ...rest] = p.split(/\r?\n/);
      if (rest.length && first.length <= 80 && !/[.:;,]$/.test(first)) {
        return html`<div key=${i}><h3 class="notice-h">${first}</h3><p class="notice">${rest.join('\n')}</p></div>`;
      }
      return html`<p key=${i} class="notice">${p}</p>`;
    })}
  </section>`;
}

export function Privacy({ app, proto }) {
  return html`<div>
    <h1>${t('nav_privacy')}</h1>
    <${Consents} app=${app} proto=${proto} />
    <${Export} proto=${proto} />
    <${Erasure} proto=${proto} online=${app.state === 'synced'} />
    <${Notice} org=${app.org} />
  </div>`;
}
