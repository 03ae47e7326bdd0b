// Account: change password (the language switch and sign-out are in the header).
import { useState } from '../vendor/preact/hooks.mjs';
import { html, Field, ErrorBox, NewPassword, errorText } from './ui.js';
import { t } from '../i18n.js';

export function Account({ app, proto }) {
  const [old, setOld] = useState('');
  const [nw, setNw] = useState('');
  const [err, setErr] = useState(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  async function submit(e) {
    e.preventDefault();
    setErr(null);
    setDone(false);
    setBusy(true);
    try {
      await proto.changePassword(old, nw);
      setDone(true);
      setOld('');
      setNw('');
    } catch (x) {
      setErr(x.code === 'auth_failed' ? t('wrong_old') : x.code === 'invalid' ? t('new_equals_old') : errorText(x));
    }
    setBusy(false);
  }
  return html`<div>
    <h1>${t('nav_account')}</h1>
    ${app.email && html`<p>${t('signed_in_as', { email: app.email })}</p>`}
    <section aria-labelledby="h-pw">
      <h2 id="h-pw">${t('change_password')}</h2>
      <form onSubmit=${submit} novalidate>
        <${Field} id="old-password" label=${t('old_password')} type="password" value=${old} onInput=${setOld} autocomplete="current-password" />
        <${NewPassword} value=${nw} onInput=${setNw} />
        <${ErrorBox} text=${err} />
        ${done && html`<p class="note" role="status" data-testid="password-changed">${t('password_changed')}</p>`}
        <button type="submit" data-testid="change-password-submit" disabled=${busy}>${t('change_submit')}</button>
      </form>
    </section>
  </div>`;
}
