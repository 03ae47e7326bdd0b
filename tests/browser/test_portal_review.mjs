// A client rates a past visit: in the portal (a push `create` of table review, then
// an `update` within the week), the salon's owner replies from the desk and the
// portal shows the reply with the owner's name; the review link of the same visit
// opens that review and its change is the same review (one row for the visit).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import * as h from './harness.mjs';
import { database, devices, signInDesk, setField } from './desk.mjs';
import { issueLink, PHONE } from './links.mjs';

let salon, srv, db;
before(async () => {
  ({ salon, srv } = await h.salonUp());
  await h.givePassword(salon, srv);
  db = database(salon.db);
});
after(async () => { await srv?.stop(); salon?.cleanup(); });

const reviewsOfVisit = () => db.rowsOf(
  `select id, stars, public_ok, reply_by, reply_name, client_id from review where visit_id=${db.quote(salon.ids.evaVisit)}`);
const TEXT = 'Lovely blow-dry, thank you Nina!';
const REPLY = 'Thank you, Eva! See you in spring.';

test('the portal: rate a past visit, change it within the week, read the owner\'s reply', async () => {
  await devices(2, async ([phone, desk]) => {
    const { page } = phone;
    await h.signIn(page, srv.origin);
    const visit = page.locator(`[data-testid=visit][data-id="${salon.ids.evaVisit}"]`);
    const box = visit.locator('[data-testid=visit-review]');
    await box.locator('[data-testid=review-rate]').click();
    await box.locator('[data-testid=star-5]').click();
    await box.locator('[data-testid=review-text]').fill(TEXT);
    await box.locator('[data-testid=review-public]').check();
    await box.locator('[data-testid=review-send]').scrollIntoViewIfNeeded();
    await h.shot(page, 'review-form'); // 360x740
    await box.locator('[data-testid=review-send]').click();
    await box.locator('[data-testid=review-saved]').waitFor();
    const [row] = await h.until(() => { const r = reviewsOfVisit(); return r.length && r; }, 'the review in the database');
    assert.equal(row.stars, 5);
    assert.equal(row.public_ok, 1);
    assert.equal(row.client_id, salon.ids.eva);
    // the row came back through sync: shown, and editable for a week
    await page.waitForSelector(`[data-testid=visit][data-id="${salon.ids.evaVisit}"] [data-testid=visit-review][data-state=editable] [data-stars="5"]`);
    assert.match(await box.innerText(), /Lovely blow-dry/);

    // changed within the week: the same row, 4 stars
    await box.locator('[data-testid=review-edit]').click();
    assert.equal(await box.locator('[data-testid=review-text]').inputValue(), TEXT, 'the form starts from the review');
    await box.locator('[data-testid=star-4]').click();
    await box.locator('[data-testid=review-send]').click();
    await h.until(() => reviewsOfVisit()[0]?.stars === 4, 'the change in the database');
    assert.equal(reviewsOfVisit().length, 1, 'one review of the visit');
    await page.waitForSelector(`[data-testid=visit][data-id="${salon.ids.evaVisit}"] [data-stars="4"]`);

    // the owner replies from the desk; the reply names the owner in the portal
    await signInDesk(desk.page, srv.origin, salon.account('owner'));
    await desk.page.waitForFunction((id) => window.kt.desk.by.review?.has(id), row.id);
    await setField(desk.page, 'review', row.id, { reply: REPLY });
    const replied = await h.until(() => { const r = reviewsOfVisit()[0]; return r.reply_name && r; }, 'the reply signed by the server');
    const reply = box.locator('[data-testid=review-reply]');
    await reply.waitFor();
    assert.equal(await reply.locator('.rv-reply-by').innerText(), `Reply from ${replied.reply_name}`);
    assert.equal(await reply.locator('.rv-text').innerText(), REPLY);
    assert.ok(replied.reply_name.trim(), 'the owner is named');

    await page.setViewportSize(PHONE);
    await visit.scrollIntoViewIfNeeded();
    await page.evaluate((id) => document.querySelector(`[data-testid=visit][data-id="${id}"]`).scrollIntoView({ block: 'center' }), salon.ids.evaVisit);
    const path = await h.shot(page, 'review');
    if (process.env.KT_README_SHOT) {
      mkdirSync(join(h.ROOT, 'docs/screenshots'), { recursive: true });
      copyFileSync(path, join(h.ROOT, 'docs/screenshots/review.png'));
    }
  }, [PHONE]);
});

test('the review link of the same visit: the review with its reply, changed as the same review', async (t) => {
  let token;
  try {
    token = issueLink(salon, 'review', salon.ids.evaVisit);
  } catch (e) { // domain/feedback.c registers the kind in the links' registry
    if (/when served/.test(e.message)) { t.skip('this server has no review links yet'); return; }
    throw e;
  }
  await devices(1, async ([{ context, page: portal }]) => {
    // Eva is signed in to the portal on this phone; the link page still signs nothing in
    await h.signIn(portal, srv.origin);
    const page = await context.newPage();
    const sent = [];
    page.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(Buffer.from(f.payload))));
    await page.goto(`${srv.origin}/l/${token}`);
    const opened = page.locator('[data-testid=link-page]:not([data-stage=loading])');
    await opened.waitFor();
    await page.locator('select#lang').selectOption('en');
    await page.locator('[data-testid=link-page][data-kind=review][data-stage=edit]').waitFor();
    assert.equal(await page.locator('[data-testid=review-stars]').getAttribute('data-stars'), '4');
    assert.match(await page.locator('[data-testid=review-reply]').innerText(), new RegExp(REPLY.replace(/[!.]/g, '.')));
    assert.equal(await page.locator('[data-testid=nav-home]').count(), 0, 'no portal navigation on the link page');
    assert.ok(!sent.some((d) => d.includes('resume') || d.includes('login')), 'the link page did not sign in');

    await page.locator('[data-testid=review-edit]').click();
    await page.locator('[data-testid=star-3]').click();
    await page.locator('[data-testid=review-send]').click();
    await page.locator('[data-testid=link-page][data-kind=review][data-stage=acted]').waitFor();
    await h.until(() => reviewsOfVisit()[0]?.stars === 3, 'the link\'s change in the database');
    assert.equal(reviewsOfVisit().length, 1, 'still one review of the visit');
    // the portal open on the same phone follows
    await portal.waitForSelector(`[data-testid=visit][data-id="${salon.ids.evaVisit}"] [data-stars="3"]`);
    assert.ok(!sent.some((d) => d.includes('resume') || d.includes('login')), 'the link page did not sign in');
    const kept = await page.evaluate(() => JSON.stringify({ ...localStorage }));
    assert.ok(!kept.includes(token), 'the token is not in localStorage');
  }, [PHONE]);
});
