// Sign-in with e-mail and password, and "forgot password".
import { useState } from '../vendor/preact/hooks.mjs';
import { html, Field, ErrorBox, Note, errorText } from './ui.js';
import { t } from '../i18n.js';

export function Forgot({ proto, email: email0 = '', intro = t('forgot_intro'), testid = 'forgot-submit', label = t('send_link') }) {
  const [email, setEmail] = useState(email0);
  const [err, setErr] = useState(null);
  const [sent, setSent] = useState(false);
  const [busy, setBusy] = useState(false);
  async function submit(e) {
    e.preventDefault();
    setErr(null);
    setBusy(true);
    try {
      await proto.forgot(email.trim());
      setSent(true);
    } catch (x) {
      setErr(errorText(x));
    }
    setBusy(false);
  }
  if (sent) return html`<${Note} text=${t('forgot_sent')} testid="link-sent" />`;
  return html`<form onSubmit=${submit} novalidate>
    <p>${intro}</p>
    <${Field} id="forgot-email" label=${t('email')} type="email" value=${email} onInput=${setEmail} autocomplete="email" />
    <${ErrorBox} text=${err} />
    <button type="submit" data-testid=${testid} disabled=${busy}>${label}</button>
  </form>`;
}

// confirm(email) -> {text, button} | null: asked once before signing in with that e-mail
// (the desk: another person's unsent edits would be deleted).
export function SignIn({ proto, app, note, email: email0 = '', confirm = null }) {
  const [email, setEmail] = useState(email0 || app.lastEmail || '');
  const [password, setPassword] = useState('');
  const [err, setErr] = useState(null);
  const [busy, setBusy] = useState(false);
  const [forgot, setForgot] = useState(() => location.hash === '#forgot');
  const [asked, setAsked] = useState(null); // the e-mail the warning was shown for
  const warn = confirm && confirm(email.trim());

  async function submit(e) {
    e.preventDefault();
    setErr(null);
    if (warn && asked !== email.trim()) { setAsked(email.trim()); return; }
    setBusy(true);
    try {
      await proto.login(email.trim(), password);
      app.signedIn(email.trim());
    } catch (x) {
      setErr(errorText(x));
      setBusy(false);
    }
  }

  if (forgot) {
    return html`<section aria-labelledby="h-forgot">
      <h1 id="h-forgot">${t('forgot_title')}</h1>
      <${Forgot} proto=${proto} email=${email} />
      <p><a href="/signin" onClick=${(e) => { e.preventDefault(); setForgot(false); }}>${t('back_signin')}</a></p>
    </section>`;
  }
  return html`<section aria-labelledby="h-signin">
    <h1 id="h-signin">${t('signin_title')}</h1>
    <${Note} text=${note} testid="signin-note" />
    <form onSubmit=${submit} novalidate>
      <${Field} id="email" label=${t('email')} type="email" value=${email} onInput=${setEmail} autocomplete="username" />
      <${Field} id="password" label=${t('password')} type="password" value=${password} onInput=${setPassword} autocomplete="current-password" />
      <${ErrorBox} text=${err} />
      ${warn && asked === email.trim() && html`<p class="warn" role="alert" data-testid="signin-confirm">${warn.text}</p>`}
      <button type="submit" data-testid="signin-submit" disabled=${busy}>
        ${warn && asked === email.trim() ? warn.button : t('signin_submit')}</button>
    </form>
    <p><a href="/signin#forgot" data-testid="forgot" onClick=${(e) => { e.preventDefault(); setForgot(true); }}>${t('forgot')}</a></p>
  </section>`;
}
