// What the desk's browser tests share: devices as browser contexts of one Chromium,
// staff sign-in at /desk, edits and reads of a tablet's local copy, and the server's
// SQLite read with the sqlite3 command line (the truth the screens are held against).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';
import * as h from './harness.mjs';

export const TABLET = { width: 1024, height: 768 };
export const WIDE_TABLET = { width: 1280, height: 800 };

// n devices, one context each (cookies, storage, IndexedDB), sizes[i] or a tablet's;
// fails the test on a CSP violation or an uncaught page error of any of them.
export async function devices(n, fn, sizes = []) {
  const browser = await chromium.launch({ executablePath: h.CHROMIUM, headless: true, args: h.LAUNCH_ARGS });
  const problems = [];
  const list = [];
  try {
    for (let i = 0; i < n; i++) {
      const context = await browser.newContext({ viewport: sizes[i] || TABLET, locale: 'en-GB', timezoneId: 'UTC' });
      context.setDefaultTimeout(15000);
      context.on('page', (p) => {
        p.on('console', (m) => {
          if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(`device ${i + 1}: ${m.type()}: ${m.text()}`);
        });
        p.on('pageerror', (e) => problems.push(`device ${i + 1}: page error: ${e.message}`));
      });
      list.push({ context, page: await context.newPage() });
    }
    await fn(list);
  } catch (e) {
    if (problems.length) console.log(`# browser console:\n#   ${problems.join('\n#   ')}`);
    throw e;
  } finally {
    await browser.close();
  }
  assert.deepEqual(problems.filter((p) => /Content Security Policy|page error/i.test(p)), [], 'no CSP violation or page error');
}

export async function signInDesk(page, origin, acct) {
  await page.goto(`${origin}/desk/signin`);
  await page.locator('input#email').fill(acct.email);
  await page.locator('input#password').fill(acct.password);
  await page.locator('[data-testid=signin-submit]').click();
  await h.state(page, 'synced');
  await page.waitForSelector('[data-testid=syncbar] [data-testid=online]');
  await page.waitForFunction(() => window.kt?.desk && window.kt.q.state.queued === 0);
}

// An update through the queue, as the screens make it; its mid.
export const setField = (page, tbl, id, fields) =>
  page.evaluate(([tbl, id, fields]) => window.kt.desk.edit(tbl, id, 'update', fields).then((e) => e.mid), [tbl, id, fields]);
export const deviceOf = (page) => page.evaluate(() => localStorage.getItem('kt.device'));
export const local = (page, tbl, id) => page.evaluate(([tbl, id]) => window.kt.desk.by[tbl]?.get(id)?.f || null, [tbl, id]);

// IndexedDB as it is on disk, read directly (not through the app): the rows as the app
// reads them (snapshot pages + rows changed since), meta and the queue; null when gone.
export async function idbAll(page) {
  const copy = await h.idb(page);
  if (!copy) return null;
  const queue = await page.evaluate(async () => {
    const db = await new Promise((ok, fail) => { const r = indexedDB.open('kartoteka'); r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
    if (!db.objectStoreNames.contains('queue')) { db.close(); return []; }
    const q = await new Promise((ok) => { const r = db.transaction('queue').objectStore('queue').getAll(); r.onsuccess = () => ok(r.result); });
    db.close();
    return JSON.parse(JSON.stringify(q));
  });
  return { ...copy, queue };
}

// The server's database file: read-only unless write, waiting out the server's locks.
export function database(file) {
  const sql = (q, write = false) =>
    execFileSync('sqlite3', [...(write ? [] : ['-readonly']), '-json', '-cmd', '.timeout 5000', file, q], { encoding: 'utf8' }).trim();
  const rowsOf = (q) => { const s = sql(q); return s ? JSON.parse(s) : []; };
  const quote = (s) => `'${String(s).replace(/'/g, "''")}'`;
  // how often each audit action was recorded for a row
  const audited = (entity, id) => Object.fromEntries(
    rowsOf(`select action, count(*) n from audit where entity=${quote(entity)} and entity_id=${quote(id)} group by action`)
      .map((r) => [r.action, r.n]));
  return { sql, rowsOf, quote, audited };
}
