// The card's "Messages" section (owners, managers, reception): what the salon sent or
// will send this client — the manage op `messages` (newest first, up to 200): kind,
// channel, state in words (a dropped one says why), times on the branch's clock with
// its zone. Kept on the server (bodies are sealed with the client's key): online only.
import { useState, useEffect } from '../../vendor/preact/hooks.mjs';
import { html } from '../ui.js';
import { t } from '../../i18n.js';
import { dateTimeZone } from './card_model.js';
import * as fm from './feedback_model.js';
import { manage, errCode, zoneOf } from './feedback_ui.js';

const SHOWN = 20; // the newest; "show all" for the rest

export function CardMessages({ desk, id }) {
  const [st, setSt] = useState({ id: null, list: null, err: null });
  const [all, setAll] = useState(false);
  const may = fm.maySeeMessages(desk.role);
  async function load() {
    if (!desk.online) return setSt({ id, list: null, err: 'offline' });
    try {
      const r = await manage(desk, 'messages', { client: id });
      setSt({ id, list: r.messages || [], err: null });
    } catch (e) {
      const code = errCode(e);
      setSt({ id, list: null, err: code === 'network' ? 'offline' : code });
    }
  }
  useEffect(() => { if (may && id) load(); }, [id, desk.online, may]);
  if (!may) return null;
  const tz = zoneOf(desk);
  const list = st.id === id ? st.list : null;
  const shown = list && !all ? list.slice(0, SHOWN) : list;
  const when = (m) => {
    if (m.sent_at) return t('fb_msg_sent', { time: dateTimeZone(m.sent_at, tz) });
    if (m.due_at && (m.state === 'queued' || m.state === 'sending')) return t('fb_msg_due', { time: dateTimeZone(m.due_at, tz) });
    return t('fb_msg_made', { time: dateTimeZone(m.created_at || m.due_at, tz) });
  };
  const word = (k, fallback) => (t(k) === k ? fallback : t(k));
  return html`<section class="card-box fb-msgs" data-testid="card-messages" data-state=${st.err || (list ? 'ready' : 'loading')}>
    <h2>${t('fb_msgs_title')}</h2>
    ${st.err === 'offline' ? html`<p class="card-muted" data-testid="card-messages-offline">${t('fb_msgs_offline')}</p>`
      : st.err ? html`<p class="error">${t('fb_load_error', { code: st.err })}</p>`
      : !list ? html`<p class="card-muted">${t('fb_loading')}</p>`
      : !list.length ? html`<p class="card-muted" data-testid="card-messages-none">${t('fb_msgs_none')}</p>`
      : html`<ul class="fb-msg-list">${shown.map((m) => html`<li key=${m.id} class=${'fb-msg st-' + m.state} data-testid="card-message"
          data-kind=${m.kind} data-channel=${m.channel} data-state=${m.state} data-reason=${m.drop_reason || ''} data-created=${m.created_at}>
        <span class="fb-msg-kind">${word(fm.kindKey(m.kind), m.kind)}</span>
        <span class="fb-muted">${m.channel ? word('fb_ch_' + m.channel, m.channel) : ''}</span>
        <span class=${'fb-msg-state st-' + m.state} data-testid="card-message-state">${word(fm.stateKey(m), word('fb_st_' + m.state, m.state))}</span>
        <span class="fb-muted fb-msg-time">${when(m)}</span>
      </li>`)}</ul>
      ${list.length > SHOWN && !all && html`<button type="button" class="secondary" data-testid="card-messages-all"
        onClick=${() => setAll(true)}>${t('fb_msgs_more', { n: list.length - SHOWN })}</button>`}`}
  </section>`;
}
