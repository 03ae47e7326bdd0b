// Offline from the service worker and IndexedDB; an appointment the salon
// moves shows without a reload; the language switch changes the words and
// the dates.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as h from './harness.mjs';

let salon, srv;
before(async () => {
  ({ salon, srv } = await h.salonUp());
  await h.givePassword(salon, srv);
});
after(async () => { await srv?.stop(); salon?.cleanup(); });

test('offline: the page reloads from the service worker and shows the same appointments', async () => {
  await h.withBrowser({}, async (b) => {
    const { page, context } = b;
    await h.signIn(page, srv.origin);
    const online = await h.shownIds(page);
    assert.ok(online.upcoming.length >= 3, 'appointments shown online');
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    assert.ok(await page.locator('[data-testid=offline]').count() === 0
      || !(await page.locator('[data-testid=offline]').isVisible()), 'no offline badge online');
    await context.setOffline(true);
    await page.reload();
    assert.equal(await h.state(page, 'offline'), 'offline');
    await page.locator('[data-testid=offline]').waitFor({ state: 'visible' });
    assert.deepEqual(await h.shownIds(page), online, 'the same appointments and visits offline');
    assert.match(await page.locator('[data-testid=last-updated]').innerText(), /\d/);
    await h.shot(page, 'offline');
    // back online it catches up by itself
    await context.setOffline(false);
    await h.state(page, 'synced');
    await page.locator('[data-testid=offline]').waitFor({ state: 'hidden' });
  });
});

test('live: the salon moves an appointment and the open page changes without a reload', async () => {
  await h.withBrowser({}, async (b) => {
    const { page } = b;
    await h.signIn(page, srv.origin);
    const id = salon.ids.evaUpcoming[1]; // 2030-05-07 14:00
    const when = `[data-id="${id}"] [data-testid=when]`;
    assert.match(await page.locator(when).first().innerText(), /14:00/);
    await page.evaluate(() => { window.ktNotReloaded = true; });
    const out = salon.admin('appointment', 'move', id, '--start', '2030-05-07 16:45');
    assert.match(out, /16:45/);
    await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].some((e) => e.textContent.includes('16:45')), when);
    assert.equal(await page.evaluate(() => window.ktNotReloaded), true, 'no reload');
    assert.equal(await page.evaluate(() => document.documentElement.dataset.state), 'synced');
    // and "add to my calendar" carries the new time (16:45 CEST = 14:45 UTC), same UID
    const [dl] = await Promise.all([page.waitForEvent('download'),
      page.locator(`[data-id="${id}"] a[data-testid=ics]`).first().click()]);
    const ics = readFileSync(await dl.path(), 'utf8');
    assert.match(ics, /^BEGIN:VCALENDAR\r\n/);
    assert.match(ics, /\r\nDTSTART:20300507T144500Z\r\n/);
    assert.match(ics, new RegExp(`\r\nUID:${id}@`));
  });
});

test('language: Slovenian words and dates after the switch, English before', async () => {
  await h.withBrowser({}, async (b) => {
    const { page } = b;
    await h.signIn(page, srv.origin);
    const id = salon.ids.evaUpcoming[0]; // Monday 2030-03-04 10:30 in Ljubljana
    const day = new Date(Date.UTC(2030, 2, 4, 9, 30));
    const weekday = (lang, style) => new Intl.DateTimeFormat(lang, { weekday: style, timeZone: h.ZONE }).format(day);
    const when = page.locator(`[data-id="${id}"] [data-testid=when]`).first();
    const en = await when.innerText();
    assert.ok(en.includes(weekday('en-GB', 'long')) || en.includes(weekday('en-GB', 'short')), `English weekday in ${en}`);
    const nav = await page.locator('a[data-testid=nav-privacy]').innerText();
    await page.selectOption('select#lang', 'sl');
    await page.waitForFunction((old) => document.querySelector('a[data-testid=nav-privacy]').innerText !== old, nav);
    const sl = await when.innerText();
    assert.ok(sl.toLowerCase().includes(weekday('sl', 'long').toLowerCase())
      || sl.toLowerCase().includes(weekday('sl', 'short').toLowerCase()), `Slovenian weekday in ${sl}`);
    assert.ok(!sl.includes('Monday'), sl);
    assert.equal(await page.evaluate(() => localStorage.getItem('kt.lang')), 'sl');
    await h.shot(page, 'home-sl');
  });
});
