// The client's privacy page: a consent withdrawn in the page is in the
// consent ledger with source portal; "download my data" is the server's
// export as JSON; "delete my data" is in the owner's queue with its due date.
// The account page: a changed password ends the other sessions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as h from './harness.mjs';

let salon, srv;
before(async () => {
  ({ salon, srv } = await h.salonUp());
  await h.givePassword(salon, srv);
});
after(async () => { await srv?.stop(); salon?.cleanup(); });

const latest = (purpose) => salon.consents().history.filter((e) => e.purpose === purpose).pop();

test('consent granted then withdrawn in the page is in the consent ledger', async () => {
  await h.withBrowser({}, async (b) => {
    const { page } = b;
    await h.signIn(page, srv.origin);
    await page.locator('a[data-testid=nav-privacy]').click();
    const box = page.locator('input[type=checkbox][data-purpose=marketing_email]');
    await box.waitFor();
    assert.equal(await box.isChecked(), false, 'no marketing consent to start with');
    await box.check();
    await h.until(() => latest('marketing_email')?.granted === 'granted', 'the grant in the ledger');
    await page.locator('[data-testid=consent-saved]').waitFor();
    await box.uncheck();
    const e = await h.until(() => { const l = latest('marketing_email'); return l && l.granted !== 'granted' && l; },
      'the withdrawal in the ledger');
    assert.equal(e.source, 'portal');
    assert.equal(e.recorded_kind, 'client');
    // the page shows what the server recorded, also after a reload
    await page.reload();
    await h.state(page, 'synced');
    await box.waitFor();
    assert.equal(await box.isChecked(), false);
    await h.shot(page, 'privacy');
  });
});

test('download my data: a JSON export of her own data', async () => {
  await h.withBrowser({}, async (b) => {
    const { page } = b;
    await h.signIn(page, srv.origin);
    await page.locator('a[data-testid=nav-privacy]').click();
    const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 15000 }),
      page.locator('button[data-testid=export]').click()]);
    assert.match(dl.suggestedFilename(), /^kartoteka-export-\d{4}-\d{2}-\d{2}\.json$/);
    const text = readFileSync(await dl.path(), 'utf8');
    const data = JSON.parse(text);
    assert.equal(data.client.id, salon.ids.eva);
    assert.equal(data.client.name, h.EVA.name);
    const ids = new Set(data.appointments.map((a) => a.id));
    for (const id of [salon.ids.evaPast, ...salon.ids.evaUpcoming]) assert.ok(ids.has(id), `export has ${id}`);
    assert.deepEqual(data.visits.map((v) => v.id), [salon.ids.evaVisit]);
    for (const f of [h.MARKO.name, h.MARKO_NOTE, salon.ids.marko]) assert.ok(!text.includes(f), `export holds ${f}`);
  });
});

test('delete my data: the request is in the owner\'s queue, and the page says when it is due', async () => {
  await h.withBrowser({}, async (b) => {
    const { page } = b;
    await h.signIn(page, srv.origin);
    await page.locator('a[data-testid=nav-privacy]').click();
    await page.locator('button[data-testid=erase-request]').click();
    await page.locator('button[data-testid=erase-confirm]').click();
    const st = page.locator('[data-testid=erasure-state]');
    await page.waitForFunction(() => /\d/.test(document.querySelector('[data-testid=erasure-state]')?.textContent || ''));
    const pending = await h.until(() => {
      const out = h.server('privacy', 'pending', '--db', salon.db);
      return out.includes(h.EVA.name) || out.includes(salon.ids.eva) ? out : null;
    }, 'the request in privacy pending');
    assert.ok(!pending.includes(h.MARKO.name));
    const status = h.server('privacy', 'erasure-status', '--db', salon.db, '--client', salon.ids.eva);
    assert.match(status, /pending/i);
    // "requested <date>, due <date>": due one month after the request
    const text = await st.innerText();
    assert.match(text, /\d/);
    await h.shot(page, 'erasure');
    // a new visit of the page asks the server (erasure_status) and says the same
    await page.reload();
    await h.state(page, 'synced');
    await page.waitForFunction(() => /\d/.test(document.querySelector('[data-testid=erasure-state]')?.textContent || ''));
    assert.equal(await st.innerText(), text);
  });
});

test('the salon\'s privacy notice shows, and a new one reaches the open page', async () => {
  const file = join(salon.tmp, 'notice.txt');
  writeFileSync(file, 'Studio Lepota d.o.o. processes your data to book your visits.\n\n'
    + 'We keep it for three years after your last visit (first notice).\n');
  salon.admin('org', 'privacy-notice', '--file', file);
  await h.withBrowser({}, async ({ page }) => {
    await h.signIn(page, srv.origin);
    await page.locator('a[data-testid=nav-privacy]').click();
    const notice = page.locator('[data-testid=privacy-notice]');
    await page.waitForFunction(() => document.querySelector('[data-testid=privacy-notice]')?.textContent.includes('(first notice)'));
    assert.match(await notice.innerText(), /to book your visits/);
    await page.evaluate(() => { window.ktNotReloaded = true; });
    writeFileSync(file, 'Studio Lepota d.o.o. processes your data to book your visits.\n\n'
      + 'We keep it for two years after your last visit (second notice).\n');
    salon.admin('org', 'privacy-notice', '--file', file);
    await page.waitForFunction(() => document.querySelector('[data-testid=privacy-notice]')?.textContent.includes('(second notice)'));
    assert.equal(await page.evaluate(() => window.ktNotReloaded), true, 'no reload');
    assert.doesNotMatch(await notice.innerText(), /first notice/);
  });
});

test('change password: the other browser is signed out, the new password signs in', async () => {
  // a salon of its own: the other tests sign in with the first password
  const own = new h.Salon().populate();
  const osrv = await h.Server.start(own);
  const NEW = 'Poletna-Lipa-77';
  try {
    await h.givePassword(own, osrv);
    await h.withBrowser({}, async (other) => {
      await h.signIn(other.page, osrv.origin);
      await h.withBrowser({}, async ({ page }) => {
        await h.signIn(page, osrv.origin);
        await page.locator('a[data-testid=nav-account]').click();
        await page.locator('input#old-password').fill(h.GOOD);
        await page.locator('input#new-password').fill(NEW);
        await page.locator('button[data-testid=change-password-submit]').click();
        await page.locator('[data-testid=password-changed]').waitFor();
        await h.shot(page, 'account');
      });
      // the phone that did not change it is signed out, and its rows are gone
      await h.state(other.page, 'signed-out');
      await other.page.waitForFunction(async () => !(await indexedDB.databases()).some((d) => d.name === 'kartoteka'));
    });
    await h.withBrowser({}, async ({ page }) => {
      await page.goto(`${osrv.origin}/signin`);
      await page.locator('input#email').fill(h.EVA.email);
      await page.locator('input#password').fill(h.GOOD);
      await page.locator('button[data-testid=signin-submit]').click();
      await page.locator('[data-testid=error]').waitFor();
      assert.equal(await page.evaluate(() => document.documentElement.dataset.state), 'signed-out');
      await h.signIn(page, osrv.origin, h.EVA.email, NEW);
    });
  } finally {
    await osrv.stop();
    own.cleanup();
  }
});
