// The page of a message's one-purpose link (/l/TOKEN, clients/web/views/link.js) on a
// phone, against the real server: "I'll be there" confirms the appointment in the
// server's database and a second visit says so; unsubscribe records a withdrawal with
// source link in the consent ledger; an unknown, an expired link and no network
// each get their own page. Nothing signs in: no token, no local copy on the device.
// The links are the server's (`admin link issue`, the planner's links_issue).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import * as h from './harness.mjs';
import { database } from './desk.mjs';
import { issueLink, noTraceOf, PHONE } from './links.mjs';

let salon, srv, db;
before(async () => {
  ({ salon, srv } = await h.salonUp());
  db = database(salon.db);
});
after(async () => { await srv?.stop(); salon?.cleanup(); });

const statusOf = (id) => db.rowsOf(`select status from appointment where id=${db.quote(id)}`)[0]?.status;
const stage = (page, kind, st) => page.locator(`[data-testid=link-page][data-kind=${kind}][data-stage=${st}]`).waitFor();

test('confirm attendance: one tap, the appointment is confirmed, and the link says so again', async () => {
  const appt = salon.ids.evaUpcoming[1]; // 2030-05-07 14:00 at Lepota Center (Europe/Ljubljana)
  const token = issueLink(salon, 'confirm', appt); // expires when the appointment starts
  await h.withBrowser({}, async (b) => {
    const { page } = b;
    await page.setViewportSize(PHONE);
    await page.goto(`${srv.origin}/l/${token}`);
    await stage(page, 'confirm', 'ask');
    // the client's language as the server says (the salon's, Eva has none of her own);
    // then she picks English on this phone
    const lang = await page.evaluate(() => document.documentElement.lang);
    assert.ok(['sl', 'de', 'pl', 'fi', 'en'].includes(lang), lang);
    await page.locator('select#lang').selectOption('en');
    // the branch's wall clock and zone (the phone is in UTC: the zone is named)
    assert.match(await page.locator('[data-testid=link-when]').innerText(), /Tuesday,? 7 May 2030, 14:00/);
    assert.match(await page.locator('[data-testid=link-appointment]').innerText(), /CEST|GMT\+2/);
    assert.match(await page.locator('[data-testid=link-appointment]').innerText(), /Women's cut & blow-dry/);
    const text = await page.evaluate(() => document.body.innerText);
    for (const f of [h.SECRET_INTERNAL, h.MARKO.name, h.EVA.email, h.EVA.phone]) assert.ok(!text.includes(f), `the page shows ${f}`);
    assert.equal(await page.locator('[data-testid=nav-home]').count(), 0, 'no portal navigation');
    assert.equal(statusOf(appt), 'booked');

    await page.locator('[data-testid=link-confirm]').click();
    await stage(page, 'confirm', 'acted');
    assert.match(await page.locator('[data-testid=link-done]').innerText(), /^Thank you, see you on Tuesday,? 7 May 2030 at 14:00/);
    await h.until(() => statusOf(appt) === 'confirmed', 'the appointment confirmed in the database');
    const audit = db.rowsOf(`select actor_kind, actor_id, device_id from audit where entity='appointment' and entity_id=${db.quote(appt)} order by seq desc limit 1`)[0];
    assert.deepEqual([audit.actor_kind, audit.actor_id, audit.device_id], ['client', salon.ids.eva, null], 'written as the client, no device');
    const path = await h.shot(page, 'link-confirm');
    if (process.env.KT_README_SHOT) {
      mkdirSync(join(h.ROOT, 'docs/screenshots'), { recursive: true });
      copyFileSync(path, join(h.ROOT, 'docs/screenshots/link-confirm.png'));
    }
    // the same link again: already confirmed, no button
    await page.reload();
    await stage(page, 'confirm', 'done');
    assert.match(await page.locator('[data-testid=link-done]').innerText(), /You have confirmed this appointment/);
    assert.equal(await page.locator('[data-testid=link-confirm]').count(), 0);
    await noTraceOf(page, token);
    assert.ok(!b.frames.some((f) => f.dir === 'sent' && (f.data.includes('resume') || f.data.includes('login'))), 'nothing signs in');
  });
});

test('confirm: a cancelled appointment cannot be confirmed', async () => {
  const appt = salon.ids.evaUpcoming[2]; // 2031-01-15 09:00
  const token = issueLink(salon, 'confirm', appt);
  salon.admin('appointment', 'cancel', appt, '--reason', 'test');
  await h.withBrowser({}, async ({ page }) => {
    await page.goto(`${srv.origin}/l/${token}`);
    await stage(page, 'confirm', 'cancelled');
    assert.equal(await page.locator('[data-testid=link-confirm]').count(), 0);
    assert.equal(statusOf(appt), 'cancelled');
  });
});

test('unsubscribe: one tap withdraws the consent, with source link', async () => {
  salon.admin('consent', salon.ids.eva, 'marketing_email', 'grant', '--text-version', 'salon-1', '--source', 'in_salon');
  const token = issueLink(salon, 'unsubscribe', 'marketing_email');
  await h.withBrowser({}, async (b) => {
    const { page } = b;
    await page.setViewportSize(PHONE);
    await page.goto(`${srv.origin}/l/${token}`);
    await stage(page, 'unsubscribe', 'ask');
    await page.locator('select#lang').selectOption('en');
    await page.locator('[data-testid=link-unsubscribe]').click();
    await stage(page, 'unsubscribe', 'acted');
    assert.equal(await page.locator('[data-testid=link-done]').innerText(), 'You will no longer receive news and offers by e-mail.');
    const last = await h.until(() => {
      const e = salon.consents().history.filter((x) => x.purpose === 'marketing_email').pop();
      return e && e.granted !== 'granted' && e;
    }, 'the withdrawal in the ledger');
    assert.equal(last.source, 'link');
    assert.equal(last.recorded_kind, 'client');
    await page.reload();
    await stage(page, 'unsubscribe', 'done');
    assert.match(await page.locator('[data-testid=link-done]').innerText(), /You are unsubscribed/);
    await noTraceOf(page, token);
  });
});

test('an unknown link, an expired link, and no network each say so', async () => {
  const appt = salon.ids.evaUpcoming[0];
  const fresh = issueLink(salon, 'confirm', appt);
  const old = issueLink(salon, 'confirm', appt, '2020-01-01 00:00');
  await h.withBrowser({}, async (b) => {
    const { page, context } = b;
    await page.goto(`${srv.origin}/l/${'A'.repeat(22)}`);
    await page.locator('[data-testid=link-problem][data-problem=invalid]').waitFor();
    await page.goto(`${srv.origin}/l/${old}`);
    await page.locator('[data-testid=link-problem][data-problem=expired]').waitFor();
    // offline: the service worker brings the page, which says it needs the network,
    // and opens the link by itself once the phone is back online
    await page.goto(`${srv.origin}/l/${fresh}`);
    await stage(page, 'confirm', 'ask');
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    await context.setOffline(true);
    await page.reload();
    await page.locator('[data-testid=link-problem][data-problem=offline]').waitFor();
    await page.locator('[data-testid=link-retry]').waitFor();
    await context.setOffline(false);
    await stage(page, 'confirm', 'ask');
    assert.equal(statusOf(appt), 'booked', 'opening does not confirm');
  });
});

test('a survey: NPS as 0-10, one tap is the answer, and the link then says thank you', async () => {
  const token = issueLink(salon, 'survey', `${salon.ids.evaVisit}:nps`);
  const answers = () => db.rowsOf(`select score, client_id from survey_answer where visit_id=${db.quote(salon.ids.evaVisit)} and kind='nps'`);
  await h.withBrowser({}, async ({ page }) => {
    await page.goto(`${srv.origin}/l/${token}`);
    await stage(page, 'survey', 'ask');
    await page.locator('select#lang').selectOption('en');
    assert.match(await page.locator('h1').innerText(), /How likely are you to recommend .+ to a friend\?/);
    assert.equal(await page.locator('[data-testid^=score-]').count(), 11, '0 to 10');
    const box = await page.locator('[data-testid=score-0]').boundingBox();
    assert.ok(box.width >= 44 && box.height >= 44, `touch target ${box.width}x${box.height}`);
    await h.shot(page, 'link-survey'); // 360x740
    await page.locator('[data-testid=score-9]').click();
    await stage(page, 'survey', 'acted');
    assert.equal(await page.locator('[data-testid=link-score]').innerText(), 'Your answer: 9');
    const rows = await h.until(() => { const r = answers(); return r.length && r; }, 'the answer in the database');
    assert.deepEqual(rows, [{ score: 9, client_id: salon.ids.eva }]);
    await page.reload();
    await stage(page, 'survey', 'done');
  });
});
