// /setup#token=...: choose a password with the link from the mail, then sign in.
// /confirm-email#token=...: confirm a changed address with the current password.
import { useState } from '../vendor/preact/hooks.mjs';
import { html, Field, ErrorBox, NewPassword, errorText } from './ui.js';
import { SignIn, Forgot } from './signin.js';
import { t } from '../i18n.js';

const DEAD = ['token_used', 'token_expired', 'token_replaced', 'token_invalid'];

function LinkDead({ proto, reason }) {
  return html`<div data-testid="link-dead" data-reason=${reason}>
    <p class="error" role="alert">${t(reason)}</p>
    <${Forgot} proto=${proto} intro=${t('new_link_intro')} testid="send-new-link" label=${t('send_new_link')} />
  </div>`;
}

// The state of a page that sends a link's token with a password: a dead link
// (used, expired, replaced, unknown) swaps the form for "send me a new link".
function useTokenForm(token, send, errorOf) {
  const [pw, setPw] = useState('');
  const [err, setErr] = useState(null);
  const [dead, setDead] = useState(token ? null : 'token_invalid');
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  async function submit(e) {
    e.preventDefault();
    setErr(null);
    setBusy(true);
    try {
      await send(token, pw);
      setDone(true);
    } catch (x) {
      if (DEAD.includes(x.code)) setDead(x.code);
      else setErr(errorOf(x));
    }
    setBusy(false);
  }
  return { pw, setPw, err, dead, done, busy, submit };
}

export function Setup({ proto, app, token }) {
  const { pw, setPw, err, dead, done, busy, submit } =
    useTokenForm(token, (tok, p) => proto.setPassword(tok, p), errorText);

  if (done) return html`<${SignIn} proto=${proto} app=${app} note=${t('setup_done')} />`;
  return html`<section aria-labelledby="h-setup">
    <h1 id="h-setup">${t('setup_title')}</h1>
    ${!token && html`<p>${t('link_missing')}</p>`}
    ${dead ? html`<${LinkDead} proto=${proto} reason=${dead} />` : html`
    <form onSubmit=${submit} novalidate>
      <${NewPassword} value=${pw} onInput=${setPw} />
      <${ErrorBox} text=${err} />
      <button type="submit" data-testid="setup-submit" disabled=${busy}>${t('setup_submit')}</button>
    </form>`}
  </section>`;
}

export function ConfirmEmail({ proto, app, token }) {
  const { pw, setPw, err, dead, done, busy, submit } = useTokenForm(
    token, (tok, p) => proto.confirmEmail(tok, p), (x) => (x.code === 'auth_failed' ? t('wrong_old') : errorText(x)));

  if (done) return html`<${SignIn} proto=${proto} app=${app} note=${t('confirm_done')} />`;
  return html`<section aria-labelledby="h-confirm">
    <h1 id="h-confirm">${t('confirm_title')}</h1>
    ${dead ? html`<${LinkDead} proto=${proto} reason=${dead} />` : html`
    <form onSubmit=${submit} novalidate>
      <p>${t('confirm_intro')}</p>
      <${Field} id="password" label=${t('password')} type="password" value=${pw} onInput=${setPw} autocomplete="current-password" />
      <${ErrorBox} text=${err} />
      <button type="submit" data-testid="confirm-submit" disabled=${busy}>${t('confirm_submit')}</button>
    </form>`}
  </section>`;
}
