// Reviews: the form (stars as big touch targets, an optional text, "show my first
// name"), a review as shown with the salon's reply, and the portal's review of a
// past visit (hooked into the visit list of views/home.js). The link page
// (views/link.js) uses the same form.
import { useState } from '../vendor/preact/hooks.mjs';
import { html, ErrorBox, errorText } from './ui.js';
import { t, locale } from '../i18n.js';
import { uuidv7, nextMid } from '../proto.js';
import { reviewOf, reviewProblem, reviewMutation, editable, editableUntil, dayOf, bytes, TEXT_MAX } from './feedback_model.js';
import './feedback_texts.js';

export function Stars({ n }) {
  const k = Math.max(0, Math.min(5, n | 0));
  return html`<span class="rv-stars" role="img" aria-label=${t('rv_star_n', { n: k })} data-testid="review-stars" data-stars=${k}>
    ${'★'.repeat(k)}<span class="rv-off">${'★'.repeat(5 - k)}</span></span>`;
}

// The form; onSubmit({stars, text, publicOk}) may throw (its error is shown).
export function ReviewForm({ id = 'rv', initial = {}, submitLabel, onSubmit, onCancel }) {
  const [stars, setStars] = useState(initial.stars || 0);
  const [text, setText] = useState(initial.text || '');
  const [publicOk, setPublicOk] = useState(!!initial.public_ok);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState(null);
  async function submit(e) {
    e.preventDefault();
    const p = reviewProblem({ stars, text });
    if (p) { setErr(t(p.key, p.vars)); return; }
    setErr(null);
    setBusy(true);
    try {
      await onSubmit({ stars, text: text.trim(), publicOk });
    } catch (x) {
      setErr(errorText(x));
    }
    setBusy(false);
  }
  const n = bytes(text);
  return html`<form class="rv-form" data-testid="review-form" onSubmit=${submit} novalidate>
    <fieldset class="rv-pick">
      <legend>${t('rv_stars_label')}</legend>
      <div class="rv-row">
        ${[1, 2, 3, 4, 5].map((k) => html`<span key=${k} class="rv-star">
          <input type="radio" class="sr-only" name=${id + '-stars'} id=${`${id}-star-${k}`} value=${k}
            checked=${stars === k} onChange=${() => setStars(k)} />
          <label for=${`${id}-star-${k}`} class=${k <= stars ? 'on' : ''} data-testid=${'star-' + k}>
            <span aria-hidden="true">★</span><span class="sr-only">${t('rv_star_n', { n: k })}</span></label>
        </span>`)}
      </div>
    </fieldset>
    <div class="field">
      <label for=${id + '-text'}>${t('rv_text_label')}</label>
      <textarea id=${id + '-text'} rows="4" data-testid="review-text" value=${text}
        onInput=${(e) => setText(e.currentTarget.value)} aria-describedby=${id + '-count'}></textarea>
      <p class=${n > TEXT_MAX ? 'rv-count over' : 'rv-count'} id=${id + '-count'}>${n > TEXT_MAX * 0.8 ? `${n} / ${TEXT_MAX}` : ''}</p>
    </div>
    <div class="switch">
      <input type="checkbox" id=${id + '-public'} data-testid="review-public" checked=${publicOk}
        onChange=${(e) => setPublicOk(e.currentTarget.checked)} />
      <label for=${id + '-public'}>${t('rv_public')}</label>
    </div>
    <${ErrorBox} text=${err} />
    <div class="rv-buttons">
      <button type="submit" data-testid="review-send" disabled=${busy} aria-busy=${busy}>${submitLabel || t('rv_send')}</button>
      ${onCancel && html`<button type="button" class="secondary" onClick=${onCancel}>${t('rv_cancel')}</button>`}
    </div>
  </form>`;
}

// A review as written, and the salon's reply naming who wrote it.
export function ReviewShow({ rv }) {
  return html`<div class="rv-show" data-testid="review-shown">
    <${Stars} n=${rv.stars} />
    ${rv.text && html`<p class="rv-text" data-testid="review-shown-text">${rv.text}</p>`}
    ${rv.reply && html`<div class="rv-reply" data-testid="review-reply">
      <p class="rv-reply-by">${rv.reply_name ? t('rv_reply', { name: rv.reply_name }) : t('rv_reply_salon')}</p>
      <p class="rv-text">${rv.reply}</p>
    </div>`}
  </div>`;
}

// The portal: a past visit's review. No review yet: "Rate this visit" opens the form,
// whose send is a push `create` of table `review`; for a week after, "Change my review"
// pushes an `update`; then it stays as it is. The salon's reply shows under it.
export function VisitReview({ app, proto, visit }) {
  const clientId = app.principal?.id;
  const rv = reviewOf(app.by, visit.id, clientId);
  const [open, setOpen] = useState(false);
  const [saved, setSaved] = useState(false);
  const online = app.state !== 'offline';
  async function send({ stars, text, publicOk }) {
    const at = Date.now();
    const m = reviewMutation({ existing: rv, id: uuidv7(), visitId: visit.id, stars, text, publicOk, mid: nextMid(), at });
    const [r] = await proto.push([m]);
    if (!r || (r.status !== 'applied' && r.status !== 'duplicate')) {
      throw Object.assign(new Error(r?.msg || ''), { code: r?.code || 'internal' });
    }
    setOpen(false);
    setSaved(true);
  }
  const canEdit = rv && editable(rv);
  return html`<div class="rv-visit" data-testid="visit-review" data-state=${rv ? (canEdit ? 'editable' : 'closed') : 'none'}>
    ${saved && !open && html`<p class="note" role="status" data-testid="review-saved">${t('rv_saved')}</p>`}
    ${rv && !open && html`<p class="rv-head">${t('rv_yours')}</p><${ReviewShow} rv=${rv} />`}
    ${rv && !open && canEdit && html`<p class="rv-until">${t('rv_editable_until', { date: dayOf(editableUntil(rv), locale(), visit.place?.tz) })}</p>`}
    ${open ? html`<${ReviewForm} id=${'rv-' + visit.id.slice(-8)} initial=${rv || {}} submitLabel=${rv ? t('rv_save') : t('rv_send')}
        onSubmit=${send} onCancel=${() => setOpen(false)} />`
    : (!rv || canEdit) && (online
      ? html`<button type="button" class="secondary rv-open" data-testid=${rv ? 'review-edit' : 'review-rate'}
          onClick=${() => { setSaved(false); setOpen(true); }}>${rv ? t('rv_edit') : t('rv_rate')}</button>`
      : html`<p class="rv-until">${t('rv_offline')}</p>`)}
  </div>`;
}
