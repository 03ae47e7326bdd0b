// Statistics (/desk/stats), owners and managers: the manage op `stats` for a week or a
// month per branch, specialist or service — rating distribution and average, CSAT %,
// NPS with promoters / passives / detractors, CES, response rates, each with a trend
// arrow against the previous period (each line's `previous` in the answer) — and the
// organisation's delivery counts (`message_counts`). On the server only: online only.
import { useState, useEffect } from '../../vendor/preact/hooks.mjs';
import { html } from '../ui.js';
import { t, locale } from '../../i18n.js';
import { parts } from '../../tz.js';
import * as fm from './feedback_model.js';
import { manage, errCode, dec, zoneOf, tn } from './feedback_ui.js';
import { Dist } from './reviews.js';

const utc = (ymd) => { const [y, m, d] = ymd.split('-').map(Number); return Date.UTC(y, m - 1, d); };
function periodTitle(group, p) {
  if (group === 'month') return new Intl.DateTimeFormat(locale(), { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(utc(p.from));
  const f = new Intl.DateTimeFormat(locale(), { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
  return f.formatRange ? f.formatRange(utc(p.from), utc(p.to)) : `${f.format(utc(p.from))} – ${f.format(utc(p.to))}`;
}

// ▲ / ▼ / = against the previous period, with the sentence for screen readers and a title.
function Trend({ cur, prev, unit = '', digits = 1, testid }) {
  const tr = fm.trend(cur, prev);
  if (!tr) return html`<span class="fb-trend none" data-testid=${testid} data-dir="none" title=${t('fb_trend_none')}>
    <span aria-hidden="true">·</span><span class="sr-only">${t('fb_trend_none')}</span></span>`;
  const d = `${dec(Math.abs(tr.delta), locale(), digits)}${unit}`;
  const say = tr.dir === 'flat' ? t('fb_trend_flat') : t(tr.dir === 'up' ? 'fb_trend_up' : 'fb_trend_down', { d });
  return html`<span class=${`fb-trend ${tr.dir}`} data-testid=${testid} data-dir=${tr.dir} title=${say}>
    <span aria-hidden="true">${tr.dir === 'up' ? '▲' : tr.dir === 'down' ? '▼' : '='}${tr.dir !== 'flat' ? ` ${d}` : ''}</span>
    <span class="sr-only">${say}</span></span>`;
}

function NpsBar({ nps }) {
  const n = nps.promoters + nps.passives + nps.detractors;
  if (!n) return null;
  const seg = (k, v) => html`<span class=${'fb-nps-' + k} style=${{ flexGrow: String(v) }} aria-hidden="true"></span>`;
  return html`<div class="fb-nps-bar">${seg('pro', nps.promoters)}${seg('pas', nps.passives)}${seg('det', nps.detractors)}</div>
    <ul class="fb-nps-legend">
      <li class="pro" data-testid="fb-promoters" data-n=${nps.promoters}>${t('fb_promoters')}: ${nps.promoters} (${fm.pct(nps.promoters, n)} %)</li>
      <li class="pas" data-testid="fb-passives" data-n=${nps.passives}>${t('fb_passives')}: ${nps.passives} (${fm.pct(nps.passives, n)} %)</li>
      <li class="det" data-testid="fb-detractors" data-n=${nps.detractors}>${t('fb_detractors')}: ${nps.detractors} (${fm.pct(nps.detractors, n)} %)</li>
    </ul>`;
}

function Rates({ rates }) {
  const ks = Object.keys(rates);
  if (!ks.length) return null;
  return html`<div class="fb-fig fb-rates" data-testid="fb-rates"><h3>${t('fb_rates')}</h3>
    <dl>${ks.map((k) => html`<div key=${k} data-kind=${k} data-pct=${rates[k].pct ?? ''}>
      <dt>${t('fb_rate_' + k)}</dt>
      <dd><strong>${rates[k].pct === null || rates[k].pct === undefined ? '—' : `${rates[k].pct} %`}</strong>
        ${rates[k].asked !== undefined && rates[k].asked !== null && html` <span class="fb-muted">(${t('fb_rate_line', { answered: rates[k].answered ?? 0, asked: rates[k].asked })})</span>`}</dd>
    </div>`)}</dl></div>`;
}

function Group({ r }) {
  const p = r.prev;
  const none = !r.reviews.n && !r.csat.n && !r.nps.n && !r.ces.n;
  return html`<article class="fb-group" data-testid="fb-stat" data-key=${r.key} aria-label=${r.name}>
    <h2>${r.name}</h2>
    ${none ? html`<p class="fb-muted">${t('fb_no_data')}</p>` : html`<div class="fb-figs">
      <div class="fb-fig fb-rating" data-testid="fb-rating" data-average=${r.reviews.average ?? ''} data-n=${r.reviews.n}>
        <h3>${t('fb_rating')}</h3>
        <p class="fb-big"><strong>${dec(r.reviews.average, locale())}</strong> ★
          <${Trend} cur=${r.reviews.average} prev=${p?.reviews.average} testid="fb-trend-rating" /></p>
        <p class="fb-muted">${tn('fb_n_reviews', r.reviews.n)}</p>
        ${r.reviews.bars && html`<${Dist} bars=${r.reviews.bars} testid="fb-stat-dist" />`}
      </div>
      <div class="fb-fig" data-testid="fb-csat" data-pct=${r.csat.pct ?? ''} data-n=${r.csat.n}>
        <h3>${t('fb_csat')}</h3>
        <p class="fb-big"><strong>${r.csat.pct === null ? '—' : `${r.csat.pct} %`}</strong>
          <${Trend} cur=${r.csat.pct} prev=${p?.csat.pct} unit=" %" digits=${0} testid="fb-trend-csat" /></p>
        <p class="fb-muted">${t('fb_csat_help')} · ${tn('fb_n_answers', r.csat.n)}</p>
      </div>
      <div class="fb-fig fb-npsfig" data-testid="fb-nps" data-score=${r.nps.score ?? ''} data-n=${r.nps.n}>
        <h3>${t('fb_nps')}</h3>
        <p class="fb-big"><strong>${r.nps.score === null ? '—' : (r.nps.score > 0 ? '+' : '') + r.nps.score}</strong>
          <${Trend} cur=${r.nps.score} prev=${p?.nps.score} digits=${0} testid="fb-trend-nps" /></p>
        <p class="fb-muted">${t('fb_nps_help')} · ${tn('fb_n_answers', r.nps.n)}</p>
        <${NpsBar} nps=${r.nps} />
      </div>
      <div class="fb-fig" data-testid="fb-ces" data-average=${r.ces.average ?? ''} data-n=${r.ces.n}>
        <h3>${t('fb_ces')}</h3>
        <p class="fb-big"><strong>${dec(r.ces.average, locale())}</strong>
          <${Trend} cur=${r.ces.average} prev=${p?.ces.average} testid="fb-trend-ces" /></p>
        <p class="fb-muted">${t('fb_ces_help')} · ${tn('fb_n_answers', r.ces.n)}</p>
      </div>
      <${Rates} rates=${r.rates} />
    </div>`}
  </article>`;
}

function Counts({ lines }) {
  return html`<section class="fb-counts" data-testid="fb-counts" aria-labelledby="h-fb-counts">
    <h2 id="h-fb-counts">${t('fb_msgs_counts')}</h2>
    ${lines.length ? html`<div class="fb-table-wrap"><table class="fb-table">
      <thead><tr><th scope="col">${t('fb_kind')}</th><th scope="col">${t('fb_channel')}</th>
        ${fm.STATES.map((s) => html`<th scope="col" key=${s}>${t('fb_st_' + s)}</th>`)}<th scope="col">${t('fb_total')}</th></tr></thead>
      <tbody>${lines.map((l) => html`<tr key=${l.kind + l.channel} data-testid="fb-count" data-kind=${l.kind} data-channel=${l.channel} data-total=${l.total}>
        <th scope="row">${t(fm.kindKey(l.kind)) === fm.kindKey(l.kind) ? l.kind : t(fm.kindKey(l.kind))}</th>
        <td>${l.channel ? t('fb_ch_' + l.channel) : '—'}</td>
        ${fm.STATES.map((s) => html`<td key=${s} data-state=${s}>${l.states[s] || 0}</td>`)}
        <td><strong>${l.total}</strong></td></tr>`)}</tbody></table></div>`
      : html`<p class="fb-muted">${t('fb_no_messages')}</p>`}
  </section>`;
}

export function Stats({ desk }) {
  const [group, setGroup] = useState('month');
  const [by, setBy] = useState('location');
  const [step, setStep] = useState(0);
  const [st, setSt] = useState({ key: '', busy: false, err: null, rows: null, counts: null });
  const may = fm.maySeeStats(desk.role);
  const loc = desk.location;
  const tz = zoneOf(desk);
  const today = parts(Date.now(), tz).ymd;
  const p = fm.period(group, today, step);
  const key = [group, by, p.from, loc || ''].join('|');

  async function load() {
    if (!desk.online) return setSt({ key, busy: false, err: 'offline', rows: null, counts: null });
    setSt((s) => ({ ...s, key, busy: true, err: null }));
    const where = loc ? { location: loc } : {};
    try {
      const ms = fm.periodMs(p, tz);
      const [cur, counts] = await Promise.all([
        manage(desk, 'stats', { from: p.from, to: p.to, group, by, ...where }),
        manage(desk, 'message_counts', { from: ms.from, to: ms.to, ...where }).catch((e) => ({ error: errCode(e) })),
      ]);
      const rows = fm.statsTable(cur, p.from);
      setSt({ key, busy: false, err: null, rows, counts: counts.error ? null : fm.countsTable(counts.counts) });
    } catch (e) {
      const code = errCode(e);
      setSt({ key, busy: false, err: code === 'network' ? 'offline' : code, rows: null, counts: null });
    }
  }
  useEffect(() => { if (may && (st.key !== key || (st.err === 'offline' && desk.online))) load(); }, [key, desk.online, may]);

  if (!may) return html`<section class="desk-page fb-page" data-testid="fb-stats"><h1>${t('fb_stats_title')}</h1>
    <p class="error">${t('fb_stats_forbidden')}</p></section>`;
  const seg = (v, cur, set, label, id) => html`<button type="button" data-testid=${id} class=${v === cur ? '' : 'secondary'}
    aria-pressed=${v === cur ? 'true' : 'false'} onClick=${() => { set(v); setStep(0); }}>${label}</button>`;
  return html`<section class="desk-page fb-page fb-stats" data-testid="fb-stats" data-from=${p.from} data-to=${p.to}
      data-group=${group} data-by=${by} data-state=${st.busy ? 'loading' : st.err ? 'error' : st.rows ? 'ready' : 'idle'} aria-labelledby="h-fb-stats">
    <div class="fb-head">
      <h1 id="h-fb-stats">${t('fb_stats_title')}</h1>
      <div class="fb-seg" role="group" aria-label=${t('fb_group')}>
        ${seg('week', group, setGroup, t('fb_week'), 'fb-week')}${seg('month', group, setGroup, t('fb_month'), 'fb-month')}
      </div>
      <label class="fb-filter"><span>${t('fb_by')}</span>
        <select data-testid="fb-by" onChange=${(e) => setBy(e.currentTarget.value)}>
          ${['location', 'specialist', 'service'].map((k) => html`<option value=${k} selected=${by === k}>${t('fb_by_' + k)}</option>`)}
        </select></label>
    </div>
    <div class="fb-period">
      <button type="button" class="secondary" data-testid="fb-prev" aria-label=${t('fb_prev_period')} onClick=${() => setStep(step - 1)}>‹</button>
      <strong class="fb-period-title" data-testid="fb-period">${periodTitle(group, p)}</strong>
      <button type="button" class="secondary" data-testid="fb-next" aria-label=${t('fb_next_period')} disabled=${step >= 0}
        onClick=${() => setStep(step + 1)}>›</button>
      ${step !== 0 && html`<button type="button" class="secondary" onClick=${() => setStep(0)}>${t('fb_this_period')}</button>`}
    </div>
    ${st.err === 'offline' ? html`<p class="card-alert card-offline" data-testid="fb-stats-offline">${t('fb_stats_offline')}</p>`
      : st.err === 'forbidden' ? html`<p class="error">${t('fb_stats_forbidden')}</p>`
      : st.err ? html`<p class="error" data-testid="fb-stats-error">${t('fb_load_error', { code: st.err })}</p>` : null}
    ${st.busy && !st.rows && html`<p class="fb-muted">${t('fb_loading')}</p>`}
    ${st.rows && (st.rows.length ? html`<div class="fb-groups">${st.rows.map((r) => html`<${Group} key=${r.key} r=${r} />`)}</div>`
      : html`<p class="fb-muted" data-testid="fb-no-data">${t('fb_no_data')}</p>`)}
    ${st.counts && html`<${Counts} lines=${st.counts} />`}
  </section>`;
}
