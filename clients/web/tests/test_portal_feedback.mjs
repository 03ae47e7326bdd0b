// The link page's and the portal review's decisions (views/feedback_model.js), and
// their texts in every language. Run: node --test clients/web/tests/test_portal_feedback.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  linkScreen, errorScreen, tokenOf, scale, npsGroup, reviewProblem, editable, editableUntil,
  reviewOf, reviewMutation, dayTime, dayOf, bytes, WEEK,
} from '../views/feedback_model.js';

const NOW = Date.UTC(2030, 2, 1, 12, 0);

test('a confirm link: ask, already confirmed, cancelled, past', () => {
  const a = (f) => ({ kind: 'confirm', appointment: { start_at: NOW + 3600e3, time_zone: 'Europe/Ljubljana', ...f } });
  assert.equal(linkScreen(a({}), NOW).stage, 'ask');
  assert.equal(linkScreen({ ...a({}), done: true }, NOW).stage, 'done');
  assert.equal(linkScreen(a({ status: 'confirmed' }), NOW).stage, 'done');
  assert.equal(linkScreen(a({ status: 'cancelled' }), NOW).stage, 'cancelled');
  assert.equal(linkScreen({ ...a({ status: 'cancelled' }), done: true }, NOW).stage, 'cancelled', 'cancelled wins over confirmed');
  assert.equal(linkScreen(a({ start_at: NOW - 1 }), NOW).stage, 'past');
});

test('unsubscribe, reconsent, survey: done or not', () => {
  assert.equal(linkScreen({ kind: 'unsubscribe', purpose: 'marketing_email' }).stage, 'ask');
  assert.equal(linkScreen({ kind: 'unsubscribe', purpose: 'marketing_email', done: true }).stage, 'done');
  assert.equal(linkScreen({ kind: 'reconsent', done: false }).stage, 'ask');
  assert.equal(linkScreen({ kind: 'survey', question: 'nps', answer: null }).stage, 'ask');
  assert.equal(linkScreen({ kind: 'survey', question: 'nps', answer: 0 }).stage, 'done', 'a 0 is an answer');
  assert.equal(linkScreen({ kind: 'survey', question: 'nps', answer: -1 }).stage, 'ask', '-1 is none');
  assert.equal(linkScreen({ kind: 'other' }).stage, 'unknown');
});

test('a review link: new, editable for a week, then closed', () => {
  assert.equal(linkScreen({ kind: 'review', review: null }, NOW).stage, 'ask');
  assert.equal(linkScreen({ kind: 'review', review: { stars: 4, editable_until: NOW + 1 } }, NOW).stage, 'edit');
  assert.equal(linkScreen({ kind: 'review', review: { stars: 4, editable_until: NOW } }, NOW).stage, 'closed');
  // without the server's editable_until: a week after it was written
  assert.equal(editableUntil({ created_at: NOW }), NOW + WEEK);
  assert.equal(editable({ created_at: NOW - WEEK + 1 }, NOW), true);
  assert.equal(editable({ created_at: NOW - WEEK }, NOW), false);
  assert.equal(editable(null, NOW), false);
});

test('errors: the token\'s own, the network, the rest', () => {
  assert.equal(errorScreen('token_invalid'), 'invalid');
  assert.equal(errorScreen('token_expired'), 'expired');
  assert.equal(errorScreen('network'), 'offline');
  assert.equal(errorScreen('timeout'), 'offline');
  assert.equal(errorScreen('rate_limited'), 'busy');
  assert.equal(errorScreen('internal'), 'error');
});

test('the token of /l/TOKEN', () => {
  assert.equal(tokenOf('/l/AbCdEfGhIjKlMnOpQrSt_-'), 'AbCdEfGhIjKlMnOpQrSt_-');
  assert.equal(tokenOf('/l/AbCdEfGhIjKlMnOpQrSt_-/'), 'AbCdEfGhIjKlMnOpQrSt_-');
  assert.equal(tokenOf('/l/'), null);
  assert.equal(tokenOf('/l/short'), null);
  assert.equal(tokenOf('/l/AbCdEfGhIjKlMnOp/x'), null);
  assert.equal(tokenOf('/l/AbCdEfGhIjKlMn%20pQrSt'), null);
});

test('survey scales and NPS groups', () => {
  assert.deepEqual(scale('csat'), [1, 2, 3, 4, 5]);
  assert.deepEqual(scale('ces'), [1, 2, 3, 4, 5]);
  assert.deepEqual(scale('nps'), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual([0, 6, 7, 8, 9, 10].map(npsGroup), ['detractor', 'detractor', 'passive', 'passive', 'promoter', 'promoter']);
});

test('a review needs 1-5 stars and at most 2000 bytes of text', () => {
  assert.equal(reviewProblem({ stars: 0, text: '' }).key, 'rv_need_stars');
  assert.equal(reviewProblem({ stars: 6, text: '' }).key, 'rv_need_stars');
  assert.equal(reviewProblem({ stars: 2.5, text: '' }).key, 'rv_need_stars');
  assert.equal(reviewProblem({ stars: 5, text: '' }), null);
  assert.equal(reviewProblem({ stars: 5, text: 'a'.repeat(2000) }), null);
  const p = reviewProblem({ stars: 5, text: 'č'.repeat(1001) }); // 2002 bytes, 1001 characters
  assert.equal(p.key, 'rv_too_long');
  assert.equal(p.vars.n, 2002);
  assert.equal(bytes('čž'), 4);
});

test('the client\'s review of a visit, and its push', () => {
  const row = (id, f, v = 1) => ({ tbl: 'review', id, v, f });
  const by = { review: new Map([
    ['r1', row('r1', { visit_id: 'V1', client_id: 'C', stars: 4, created_at: 5 }, 3)],
    ['r2', row('r2', { visit_id: 'V2', client_id: 'C', stars: 2, created_at: 5 })],
    ['rx', row('rx', { visit_id: 'V1', client_id: 'OTHER', stars: 1, created_at: 1 })],
  ]) };
  const r = reviewOf(by, 'V1', 'C');
  assert.equal(r.id, 'r1');
  assert.equal(r.v, 3);
  assert.equal(reviewOf(by, 'V3', 'C'), null);
  assert.equal(reviewOf({}, 'V1', 'C'), null);

  // only what a client may write (policy: visit_id, stars, text, public_ok); the server fills the rest
  const create = reviewMutation({ existing: null, id: 'N', visitId: 'V3', stars: 5, text: 'Lovely', publicOk: true, mid: 7, at: 9 });
  assert.deepEqual(create, { mid: 7, tbl: 'review', id: 'N', op: 'create', base: 0, at: 9,
    f: { visit_id: 'V3', stars: 5, text: 'Lovely', public_ok: true } });
  const upd = reviewMutation({ existing: r, id: 'ignored', visitId: 'V1', stars: 3, text: '', publicOk: false, mid: 8, at: 10 });
  assert.deepEqual(upd, { mid: 8, tbl: 'review', id: 'r1', op: 'update', base: 3, at: 10, f: { stars: 3, text: '', public_ok: false } });
});

test('the appointment\'s day and time are the branch\'s, with its zone when the device has another', () => {
  const ms = Date.UTC(2030, 2, 4, 9, 30); // 10:30 in Ljubljana (CET)
  const w = dayTime(ms, 'Europe/Ljubljana', 'en-GB', 'UTC');
  assert.equal(w.time, '10:30');
  assert.match(w.day, /Monday/);
  assert.match(w.day, /4 March 2030/);
  assert.ok(w.zone, 'the zone is named');
  assert.equal(dayTime(ms, 'Europe/Ljubljana', 'en-GB', 'Europe/Ljubljana').zone, '');
  assert.equal(dayTime(ms, 'Europe/Helsinki', 'fi-FI', 'UTC').time, '11.30');
  assert.equal(dayTime(ms, 'Not/AZone', 'en-GB', 'UTC').time.length, 5, 'an unknown zone falls back');
  assert.equal(dayOf('2030-03-04', 'sl-SI'), '4. marec 2030');
});

test('every link and review text is in every language, with the same placeholders', async () => {
  globalThis.localStorage ??= { getItem: () => null, setItem() {} };
  globalThis.navigator ??= { languages: ['en-GB'] };
  globalThis.document ??= { documentElement: {} };
  const { FEEDBACK_TEXTS } = await import('../views/feedback_texts.js');
  const { TEXTS } = await import('../i18n.js');
  const keys = Object.keys(FEEDBACK_TEXTS.en).sort();
  assert.ok(keys.every((k) => /^(lk|rv)_/.test(k)), 'prefixes lk_ and rv_');
  assert.deepEqual(Object.keys(FEEDBACK_TEXTS).sort(), ['de', 'en', 'fi', 'pl', 'sl']);
  const vars = (s) => JSON.stringify(String(s).match(/\{\w+\}/g)?.sort() || []);
  for (const [lang, d] of Object.entries(FEEDBACK_TEXTS)) {
    assert.deepEqual(Object.keys(d).sort(), keys, lang);
    for (const k of keys) {
      assert.equal(vars(d[k]), vars(FEEDBACK_TEXTS.en[k]), `${lang}.${k} placeholders`);
      assert.ok(d[k].trim(), `${lang}.${k} empty`);
      assert.equal(TEXTS[lang][k], d[k], `${lang}.${k} added`);
    }
  }
});
