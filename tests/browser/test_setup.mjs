// The invitation in the spool -> its link -> choosing a password (each rule
// refused by name) -> signed in -> exactly Eva's own appointments and visits,
// on the page and in IndexedDB; a used or replaced link says so and sends a
// new one; an expired one says so; sign out wipes IndexedDB.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import * as h from './harness.mjs';

let salon, srv;
before(async () => ({ salon, srv } = await h.salonUp()));
after(async () => { await srv?.stop(); salon?.cleanup(); });

// weakest first: each password breaks exactly one rule (proto/PROTOCOL.md s. 10)
const WEAK = [['Ab1-cd', 'min_length'], ['ABCDEFG-1', 'lower'], ['abcdefg-1', 'upper'], ['Abcdefg-h', 'digit'],
  ['Password1', 'not_common']];

async function invite() {
  const n = salon.mails().length;
  salon.admin('portal', 'invite', salon.ids.eva);
  return h.linkOf(await salon.mailTo(h.EVA.email, n, h.HAS_LINK));
}

test('invitation link -> each password rule refused by name -> signed in -> only her own data', async () => {
  const { token, link } = await invite();
  // the link the salon mails is the portal's own page (portal_url defaults to the
  // server's address), the token in the fragment: never sent to a server
  assert.equal(link, `${srv.origin}/setup#token=${token}`);
  await h.withBrowser({}, async (b) => {
    const { page } = b;
    await page.goto(link);
    const pw = page.locator('input#new-password');
    const submit = page.locator('button[data-testid=setup-submit]');
    await pw.waitFor();
    for (const [weak, rule] of WEAK) {
      await pw.fill(weak);
      await page.waitForSelector(`li[data-rule=${rule}][data-ok=false]`);
      for (const [, other] of WEAK.filter(([, r]) => r !== rule && r !== 'not_common')) {
        assert.equal(await page.getAttribute(`li[data-rule=${other}]`, 'data-ok'), 'true', `${weak}: ${other} is met`);
      }
      if (await submit.isEnabled()) {
        // the page lets it through: the server's refusal is shown, by rule name
        await submit.click();
        const err = page.locator('[data-testid=error]');
        await page.waitForFunction((r) => document.querySelector('[data-testid=error]')?.textContent.includes(r), rule);
        assert.match(await err.textContent(), /[a-z]{3,} [a-z]{3,}/i, 'and a sentence');
        // and it is the server's refusal, not only the page's hint
        assert.ok(b.received(`rule ${rule}:`), `the server refused ${weak} naming ${rule}`);
      } else {
        // the page blocks it: the server must refuse it too, naming the rule
        const r = h.setPassword(srv, token, weak);
        assert.equal(r.t, 'error', weak);
        assert.ok(r.msg.startsWith(`rule ${rule}:`), `${weak}: ${r.msg}`);
      }
    }
    await h.shot(page, 'setup-rules');
    await pw.fill(h.GOOD);
    for (const [, rule] of WEAK) await page.waitForSelector(`li[data-rule=${rule}][data-ok=true]`);
    await submit.click();
    // then the sign-in form: e-mail and the new password
    await page.locator('input#email').waitFor();
    await page.locator('input#email').fill(h.EVA.email);
    await page.locator('input#password').fill(h.GOOD);
    await page.locator('button[data-testid=signin-submit]').click();
    await h.state(page, 'synced');
    await h.assertOwnData(assert, page, salon);
    await page.locator('[data-testid=last-updated]').waitFor();
    const shotPath = await h.shot(page, 'home');
    // KT_README_SHOT=1: refresh the README's picture (docs/screenshots/)
    if (process.env.KT_README_SHOT) {
      mkdirSync(join(h.ROOT, 'docs/screenshots'), { recursive: true });
      copyFileSync(shotPath, join(h.ROOT, 'docs/screenshots/portal-home.png'));
    }
    // each appointment: its time, a calendar file, the branch's phone and map
    const next = page.locator(`[data-id="${salon.ids.evaUpcoming[0]}"]`).first();
    assert.match(await next.locator('[data-testid=when]').first().textContent(), /10:30/);
    assert.match(await page.locator('a[data-testid=call]').first().getAttribute('href'), /^tel:\+?[0-9]/);
    assert.ok(await page.locator('a[data-testid=map]').first().getAttribute('href'));
    assert.ok(await page.locator('a[data-testid=ics]').first().getAttribute('href') !== null);
  });
});

test('a used link says so and sends a new one; a replaced link says so too', async () => {
  const first = await invite();
  const second = await invite(); // replaces the first
  assert.equal(h.setPassword(srv, second.token, h.GOOD).op, 'set_password'); // uses the second
  await h.withBrowser({}, async (b) => {
    const { page } = b;
    // the page learns a link is dead from the server's answer to the new password
    const said = [];
    for (const [{ token }, code] of [[second, 'token_used'], [first, 'token_replaced']]) {
      await page.goto('about:blank'); // a new document: a changed #fragment alone is no navigation
      await page.goto(`${srv.origin}/setup#token=${token}`);
      await page.locator('input#new-password').fill(h.GOOD);
      await page.locator('button[data-testid=setup-submit]').click();
      await page.locator('[data-testid=link-dead]').waitFor();
      assert.ok(b.received(code), `the server answered ${code}`);
      said.push((await page.locator('[data-testid=link-dead]').innerText()).trim());
    }
    assert.ok(said[0].length > 10 && said[1].length > 10, 'the reason is said');
    assert.notEqual(said[0], said[1], 'used and replaced are told apart');
    await h.shot(page, 'link-dead');
    const n = salon.mails().length;
    await page.locator('input#forgot-email').fill(h.EVA.email);
    await page.locator('button[data-testid=send-new-link]').click();
    const mail = await salon.mailTo(h.EVA.email, n, h.HAS_LINK);
    const fresh = h.linkOf(mail);
    assert.notEqual(fresh.token, second.token);
  });
});

test('an expired link says so', async () => {
  // a salon of its own whose links live about a second (setup_token_hours)
  const own = new h.Salon({ extraConf: { setup_token_hours: '0.0003' } }).populate();
  const tsrv = await h.Server.start(own);
  try {
    const n = own.mails().length;
    own.admin('portal', 'invite', own.ids.eva, '--config', own.conf);
    const { token } = h.linkOf(await own.mailTo(h.EVA.email, n, h.HAS_LINK));
    // the link's end as the server stored it; then wait until the clock is past it
    const expires = Number(execFileSync('/usr/bin/python3', ['-c', 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1])'
      + '.execute("SELECT max(expires_at) FROM setup_token WHERE client_id = ?", (sys.argv[2],)).fetchone()[0])',
    own.db, own.ids.eva], { encoding: 'utf8' }));
    assert.ok(expires > Date.now() - 60000 && expires < Date.now() + 10000, `expires_at ${expires}`);
    await h.until(() => Date.now() > expires + 50, 'the link\'s end');
    await h.withBrowser({}, async (b) => {
      const { page } = b;
      await page.goto(`${tsrv.origin}/setup#token=${token}`);
      await page.locator('input#new-password').fill(h.GOOD);
      await page.locator('button[data-testid=setup-submit]').click();
      await page.locator('[data-testid=link-dead]').waitFor();
      assert.ok(b.received('token_expired'), 'the server answered token_expired');
      await page.locator('input#forgot-email').waitFor();
      await page.locator('button[data-testid=send-new-link]').waitFor();
    });
  } finally {
    await tsrv.stop();
    own.cleanup();
  }
});

test('sign out wipes IndexedDB', async () => {
  await h.givePassword(salon, srv);
  await h.withBrowser({}, async (b) => {
    const { page } = b;
    await h.signIn(page, srv.origin);
    const store = await h.idb(page);
    assert.ok(store && store.rows.length > 0, 'rows were stored');
    await page.locator('button[data-testid=signout]').click();
    await h.state(page, 'signed-out');
    await page.waitForFunction(async () => !(await indexedDB.databases()).some((d) => d.name === 'kartoteka'));
    const left = await h.idb(page);
    assert.equal(left, null, 'the database is deleted');
  });
});
