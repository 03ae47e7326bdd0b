// Accessibility a screen reader and a keyboard rely on: every control on
// every page has a name (Chromium's own accessibility tree), the page's
// language follows the switch, and signing in works from the keyboard alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.mjs';

let salon, srv;
before(async () => {
  ({ salon, srv } = await h.salonUp());
  await h.givePassword(salon, srv);
});
after(async () => { await srv?.stop(); salon?.cleanup(); });

const CONTROLS = new Set(['button', 'link', 'textbox', 'checkbox', 'combobox', 'switch', 'radio']);

/** Controls in Chromium's accessibility tree that have no accessible name. */
async function unnamed(page) {
  const cdp = await page.context().newCDPSession(page);
  const { nodes } = await cdp.send('Accessibility.getFullAXTree');
  await cdp.detach();
  const controls = nodes.filter((n) => !n.ignored && CONTROLS.has(n.role?.value));
  assert.ok(controls.length > 0, 'the tree has controls');
  return controls.filter((n) => !String(n.name?.value || '').trim()).map((n) => n.role.value);
}

test('every control has an accessible name, on every page, in two languages', async () => {
  await h.withBrowser({}, async ({ page }) => {
    await page.goto(`${srv.origin}/signin`);
    await h.state(page, 'signed-out');
    assert.deepEqual(await unnamed(page), [], 'sign-in page');
    // the check sees a nameless control when there is one
    await page.evaluate(() => document.body.append(Object.assign(document.createElement('button'), { id: 'kt-nameless' })));
    assert.deepEqual(await unnamed(page), ['button'], 'an injected empty button is found');
    await page.evaluate(() => document.getElementById('kt-nameless').remove());
    await page.goto(`${srv.origin}/setup#token=${'0'.repeat(64)}`);
    await page.locator('input#new-password').waitFor();
    assert.deepEqual(await unnamed(page), [], 'setup page');
    await h.signIn(page, srv.origin);
    for (const lang of ['en', 'sl']) {
      if (lang !== 'en') await page.selectOption('select#lang', lang);
      await page.waitForFunction((l) => document.documentElement.lang === l, lang);
      for (const nav of ['nav-home', 'nav-privacy', 'nav-account']) {
        await page.locator(`a[data-testid=${nav}]`).click();
        await h.state(page, 'synced');
        assert.deepEqual(await unnamed(page), [], `${nav} (${lang})`);
      }
    }
  });
});

test('signing in from the keyboard alone: Tab from e-mail to password, Enter submits', async () => {
  await h.withBrowser({}, async ({ page }) => {
    await page.goto(`${srv.origin}/signin`);
    await h.state(page, 'signed-out');
    // the labels say what the fields are
    assert.equal(await page.getByLabel(/e-?mail/i).first().getAttribute('id'), 'email');
    assert.equal(await page.getByLabel(/password/i).first().getAttribute('id'), 'password');
    await page.locator('input#email').focus();
    await page.keyboard.type(h.EVA.email);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'password');
    await page.keyboard.type(h.GOOD);
    await page.keyboard.press('Enter');
    await h.state(page, 'synced');
  });
});
