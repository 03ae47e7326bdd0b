// Shared pieces of the views: the html tag, fields, the error box, the password rules.
import { h } from '../vendor/preact/preact.mjs';
import { useEffect, useState } from '../vendor/preact/hooks.mjs';
import htm from '../vendor/htm/htm.mjs';
import { t } from '../i18n.js';
import { RULES, check, loadCommon, RULE_OF_CODE } from '../rules.js';

export const html = htm.bind(h);

export function Field({ id, label, type = 'text', value, onInput, autocomplete, required = true, describedby }) {
  return html`<div class="field">
    <label for=${id}>${label}</label>
    <input id=${id} name=${id} type=${type} value=${value} required=${required}
      autocomplete=${autocomplete} aria-describedby=${describedby}
      onInput=${(e) => onInput(e.currentTarget.value)} />
  </div>`;
}

export function ErrorBox({ text }) {
  return text ? html`<p class="error" role="alert" data-testid="error">${text}</p>` : null;
}

export function Note({ text, testid }) {
  return text ? html`<p class="note" role="status" data-testid=${testid}>${text}</p>` : null;
}

// The password field with its rules ticked as the person types.
export function NewPassword({ value, onInput }) {
  const [, setLoaded] = useState(0);
  useEffect(() => { loadCommon().then(() => setLoaded(1)); }, []);
  const r = check(value);
  return html`<div>
    <${Field} id="new-password" label=${t('new_password')} type="password" value=${value}
      onInput=${onInput} autocomplete="new-password" describedby="rules" />
    <p class="rules-title" id="rules-title">${t('rules_title')}</p>
    <ul class="rules" id="rules" aria-labelledby="rules-title">
      ${RULES.map((k) => html`<li key=${k} data-rule=${k} data-ok=${r[k] === true ? 'true' : 'false'}>
        <span class="tick" aria-hidden="true">${r[k] === true ? '✓' : '•'}</span>
        ${t('rule_' + k)}<span class="sr-only">${r[k] === true ? ' ✓' : ''}</span>
      </li>`)}
    </ul>
  </div>`;
}

// A server error as a sentence; password rule refusals name the rule.
export function errorText(e) {
  const code = e?.code || 'network';
  const rule = RULE_OF_CODE[code];
  if (rule) return `${t('refuse_' + rule)} (${rule})`;
  const known = ['auth_failed', 'throttled', 'busy', 'network', 'account_suspended', 'rate_limited',
    'token_used', 'token_expired', 'token_replaced', 'token_invalid', 'device_taken', 'staff_account', 'client_account'];
  if (known.includes(code)) return t(code);
  return t('error_generic', { code, msg: e?.message || '' });
}
