// Reviews (/desk/reviews): the branch's reviews from the synced `review` table, newest
// first, with filters (stars, unanswered, shown/hidden). Owners and managers reply,
// highlight and hide through desk.edit (the write queue: offline too); the server
// names the reply with the person's name. Other roles read. No ids on screen.
import { useState } from '../../vendor/preact/hooks.mjs';
import { html, ErrorBox } from '../ui.js';
import { t, locale, dateOnly } from '../../i18n.js';
import { dateTimeZone, tzOf } from './card_model.js';
import * as fm from './feedback_model.js';
import { Stars, dec, tn } from './feedback_ui.js';

const MAX_REPLY = 2000;

function Filters({ f, set }) {
  return html`<div class="fb-filters" role="group" aria-label=${t('fb_reviews_title')}>
    <label class="fb-filter"><span>${t('fb_filter_stars')}</span>
      <select data-testid="fb-filter-stars" onChange=${(e) => set({ ...f, stars: Number(e.currentTarget.value) })}>
        <option value="0" selected=${!f.stars}>${t('fb_any_stars')}</option>
        ${[5, 4, 3, 2, 1].map((n) => html`<option value=${n} selected=${f.stars === n}>${'★'.repeat(n)} (${n})</option>`)}
      </select></label>
    <label class="fb-filter"><span>${t('fb_show')}</span>
      <select data-testid="fb-filter-show" onChange=${(e) => set({ ...f, show: e.currentTarget.value })}>
        ${['all', 'shown', 'hidden'].map((k) => html`<option value=${k} selected=${f.show === k}>${t('fb_show_' + k)}</option>`)}
      </select></label>
    <label class="fb-check"><input type="checkbox" data-testid="fb-filter-unanswered" checked=${f.unanswered}
      onChange=${(e) => set({ ...f, unanswered: e.currentTarget.checked })} /><span>${t('fb_unanswered')}</span></label>
  </div>`;
}

function ReplyForm({ row, onSave, onCancel }) {
  const [text, setText] = useState(row.f.reply || '');
  const [err, setErr] = useState(null);
  const [busy, setBusy] = useState(false);
  const id = 'fb-reply-' + row.id;
  async function submit(e) {
    e.preventDefault();
    const v = text.trim();
    if (!v) return setErr(t('fb_reply_empty'));
    if (new TextEncoder().encode(v).length > MAX_REPLY) return setErr(t('fb_reply_long'));
    setBusy(true);
    try {
      await onSave({ reply: v });
    } catch (x) {
      setErr(t('fb_error', { msg: x?.message || String(x) }));
      setBusy(false);
    }
  }
  return html`<form class="fb-reply-form" onSubmit=${submit} novalidate data-testid="fb-reply-form">
    <label for=${id}>${t('fb_reply_label')}</label>
    <textarea id=${id} data-testid="fb-reply-text" rows="3" maxlength=${MAX_REPLY} value=${text}
      onInput=${(e) => { setText(e.currentTarget.value); setErr(null); }}></textarea>
    <${ErrorBox} text=${err} />
    <div class="fb-actions">
      <button type="submit" data-testid="fb-reply-save" disabled=${busy}>${t('fb_reply_save')}</button>
      <button type="button" class="secondary" onClick=${onCancel}>${t('fb_cancel')}</button>
    </div>
  </form>`;
}

function Review({ desk, row, may, many }) {
  const [replying, setReplying] = useState(false);
  const [err, setErr] = useState(null);
  const f = row.f;
  const tz = tzOf(desk.by, f.location_id);
  const who = fm.clientName(desk.by, f) || t('fb_a_client');
  const vd = fm.visitDate(desk.by, f);
  const spec = fm.staffName(desk.by, f.specialist_id) || f.specialist_name || null;
  const hidden = fm.isHidden(f), hl = fm.isHighlighted(f);
  // the reply as it is on this device; until the server has named it, it is ours and waits
  const pending = fm.isAnswered(f) && !f.reply_name && !f.replied_at;
  const edit = async (fields) => {
    setErr(null);
    try {
      await desk.edit('review', row.id, 'update', fields);
    } catch (x) {
      setErr(t('fb_error', { msg: x?.message || String(x) }));
    }
  };
  return html`<li class=${`fb-review${hidden ? ' hidden' : ''}${hl ? ' hl' : ''}`} data-testid="fb-review" data-id=${row.id}
      data-stars=${f.stars} data-hidden=${hidden ? 'true' : 'false'} data-highlighted=${hl ? 'true' : 'false'}>
    <div class="fb-review-head">
      <${Stars} n=${f.stars} />
      <strong class="fb-who" data-testid="fb-review-client">${who}</strong>
      ${vd && html`<span class="fb-muted">${t('fb_visit_on', { date: dateOnly(vd) })}</span>`}
      ${spec && html`<span class="fb-muted">${t('fb_with', { name: spec })}</span>`}
      ${many && html`<span class="fb-muted">${desk.by.location?.get(f.location_id)?.f.name || ''}</span>`}
      ${hl && html`<span class="fb-badge hl" data-testid="fb-badge-highlighted">${t('fb_highlighted_badge')}</span>`}
      ${hidden && html`<span class="fb-badge off" data-testid="fb-badge-hidden">${t('fb_hidden_badge')}</span>`}
    </div>
    ${f.text && html`<p class="fb-text" data-testid="fb-review-text">${f.text}</p>`}
    ${f.created_at && html`<p class="fb-muted fb-small">${t('fb_written', { time: dateTimeZone(f.created_at, tz) })}</p>`}
    ${fm.isAnswered(f) && !replying && html`<div class="fb-reply" data-testid="fb-reply" data-pending=${pending ? 'true' : 'false'}>
      <p class="fb-reply-by">${pending ? t('fb_reply_mine')
        : t('fb_reply_by', { name: f.reply_name || fm.staffName(desk.by, f.reply_by) || '', time: f.replied_at ? dateTimeZone(f.replied_at, tz) : '' })}</p>
      <p class="fb-text" data-testid="fb-reply-shown">${f.reply}</p>
      ${pending && !desk.online && html`<p class="fb-waiting" data-testid="fb-reply-waiting">${t('fb_reply_waiting')}</p>`}
    </div>`}
    ${replying && html`<${ReplyForm} row=${row} onCancel=${() => setReplying(false)}
      onSave=${async (fields) => { await desk.edit('review', row.id, 'update', fields); setReplying(false); }} />`}
    <${ErrorBox} text=${err} />
    ${may && !replying && html`<div class="fb-actions">
      <button type="button" data-testid="fb-reply-open" onClick=${() => setReplying(true)}>
        ${fm.isAnswered(f) ? t('fb_reply_edit') : t('fb_reply')}</button>
      <button type="button" class="secondary" data-testid="fb-highlight" aria-pressed=${hl ? 'true' : 'false'}
        onClick=${() => edit({ highlighted: !hl })}>${hl ? t('fb_unhighlight') : t('fb_highlight')}</button>
      <button type="button" class="secondary" data-testid="fb-hide" aria-pressed=${hidden ? 'true' : 'false'}
        onClick=${() => edit({ hidden: !hidden })}>${hidden ? t('fb_unhide') : t('fb_hide')}</button>
    </div>`}
  </li>`;
}

// The star distribution of the branch's reviews, as bars.
export function Dist({ bars, testid = 'fb-dist' }) {
  return html`<ul class="fb-dist" data-testid=${testid}>${bars.map((b) => html`<li key=${b.stars} data-stars=${b.stars} data-n=${b.n}>
    <span class="fb-dist-label" aria-hidden="true">${b.stars} ★</span>
    <span class="fb-bar" aria-hidden="true"><span class="fb-bar-fill" style=${{ width: `${b.pct}%` }}></span></span>
    <span class="fb-dist-n">${b.n} <span class="fb-muted">(${b.pct} %)</span></span>
    <span class="sr-only">${t('fb_n_stars', { n: b.stars })}: ${b.n}</span>
  </li>`)}</ul>`;
}

export function Reviews({ desk }) {
  const [filter, setFilter] = useState({ stars: 0, unanswered: false, show: 'all' });
  const loc = desk.location;
  const all = fm.reviewsOf(desk.by, loc);
  const list = fm.reviewsOf(desk.by, loc, filter);
  const sum = fm.summary(all);
  const may = fm.mayReply(desk.role);
  const many = !loc && desk.locations().length > 1;
  return html`<section class="desk-page fb-page" data-testid="fb-reviews" aria-labelledby="h-fb-reviews">
    <div class="fb-top">
      <div class="fb-head">
        <h1 id="h-fb-reviews">${t('fb_reviews_title')}</h1>
        ${sum.n > 0 && html`<p class="fb-summary" data-testid="fb-summary" data-n=${sum.n} data-average=${sum.average}>
          <strong>${dec(sum.average, locale())} ★</strong> · ${tn('fb_n_reviews', sum.n)}</p>`}
      </div>
      ${sum.n > 0 && html`<${Dist} bars=${fm.bars(sum.dist)} />`}
    </div>
    <${Filters} f=${filter} set=${setFilter} />
    ${!may && html`<p class="fb-muted" data-testid="fb-read-only">${t('fb_read_only')}</p>`}
    ${list.length ? html`<ul class="fb-list">${list.map((r) => html`<${Review} key=${r.id} desk=${desk} row=${r} may=${may} many=${many} />`)}</ul>`
      : html`<p class="fb-muted" data-testid="fb-empty">${all.length ? t('fb_none_filter') : t('fb_none')}</p>`}
  </section>`;
}
