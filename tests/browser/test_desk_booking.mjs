// The desk's booking screen (/desk/book) on a reception tablet (1024x768) in Chromium
// against the real server: finding a client among 5,000 by part of the name and by
// phone digits (each keystroke searched and drawn in < 50 ms), booking two services (the
// row in the database, the start in UTC for a local time at the branch), booking offline
// (it lands when the tablet is back online), a new client's card made on the spot and
// booked, the next free slot skipping the specialist's appointment (and the server
// taking the slot it proposed), a conflicting time warned about and booked with an
// override and its reason, and an appointment moved (only the changed fields sent).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import * as h from './harness.mjs';

const N_IMPORTED = 5000;
let salon, srv, b, page, reception, nina;

// the truth: the server's own database (appointment rows are not sealed)
function sql(query) {
  const out = execFileSync('sqlite3', ['-json', salon.db, query], { encoding: 'utf8' }).trim();
  return out ? JSON.parse(out) : [];
}
const apptsOf = (clientId) => sql(`SELECT id, client_id, specialist_id, start_at, duration_min, services, status FROM appointment WHERE client_id = '${clientId}' ORDER BY start_at`);

before(async () => {
  salon = new h.Salon().populate();
  // 5,000 more cards at the branch, some with allergies (the import command)
  const csv = ['name,phone,email,allergies'];
  const first = ['Ana', 'Maja', 'Sara', 'Petra', 'Katja', 'Tina', 'Urška', 'Luka', 'Jan', 'Matej', 'Žiga', 'Nejc', 'Rok'];
  const last = ['Novak', 'Horvat', 'Kovačič', 'Krajnc', 'Zupančič', 'Potočnik', 'Kovač', 'Mlakar', 'Kos', 'Vidmar', 'Golob', 'Turk'];
  for (let i = 0; i < N_IMPORTED; i++) {
    csv.push(`${first[i % first.length]} ${last[(i * 7) % last.length]}-${i},+386 31 ${String(100000 + i).slice(0, 3)} ${String(100000 + i).slice(3)},imp${i}@mail.example,${i % 17 === 0 ? 'latex' : ''}`);
  }
  const file = join(salon.tmp, 'clients.csv');
  writeFileSync(file, csv.join('\n') + '\n');
  h.server('import', 'clients', '--db', salon.db, '--location', h.CENTER, file);
  srv = await h.Server.start(salon);
  reception = salon.account('reception', h.CENTER);
  nina = salon.accounts.find((a) => a.name.startsWith('Nina'));
  b = await h.browser();
  page = b.page;
  await page.setViewportSize({ width: 1024, height: 768 });
  await page.goto(`${srv.origin}/desk/signin`);
  await page.locator('input#email').fill(reception.email);
  await page.locator('input#password').fill(reception.password);
  await page.locator('button[data-testid=signin-submit]').click();
  await h.state(page, 'synced');
});

after(async () => {
  if (b && b.problems.length) console.log(b.problems.join('\n'));
  await b?.close();
  await srv?.stop();
  salon?.cleanup();
});

async function openBooking(query = '') {
  // within the app (a tap on the calendar does the same): no reload
  if (query) {
    await page.evaluate((url) => { history.pushState(null, '', url); dispatchEvent(new PopStateEvent('popstate')); }, `/desk/book${query}`);
  } else {
    // from the calendar: a fresh form
    await page.locator('[data-testid=nav-calendar]').click();
    await page.waitForFunction(() => location.pathname === '/desk');
    await page.locator('[data-testid=nav-book]').click();
  }
  await page.locator('[data-testid=booking]').waitFor();
}

async function pickClient(text, id) {
  await page.locator('[data-testid=client-search]').fill(text);
  await page.locator(`[data-testid=client-result][data-id="${id}"]`).click();
  await page.locator(`[data-testid=client-chosen][data-id="${id}"]`).waitFor();
}

async function tick(names) {
  for (const n of names) {
    const exact = new RegExp(`^${n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
    await page.locator('label.bk-service').filter({ has: page.locator('.bk-sname').filter({ hasText: exact }) }).locator('input').check();
  }
}

async function when(date, time, specialistName = nina.name) {
  await page.locator('[data-testid=specialist]').selectOption({ label: specialistName });
  await page.locator('[data-testid=date]').fill(date);
  await page.locator('[data-testid=time]').fill(time);
}

const local = (ymd, hm) => {
  // Europe/Ljubljana: summer +2 (the dates used here are in July 2030)
  const [y, m, d] = ymd.split('-').map(Number);
  const [hh, mm] = hm.split(':').map(Number);
  return Date.UTC(y, m - 1, d, hh - 2, mm);
};

test('finds a client among 5,000 by part of the name and by phone digits, fast', async () => {
  await openBooking();
  const n = (await h.idb(page)).rows.filter((x) => x.tbl === 'client').length;
  assert.ok(n >= N_IMPORTED, `the tablet holds ${n} clients`);
  // part of the surname, then phone digits as written on a note
  await page.locator('[data-testid=client-search]').fill('brskal');
  await page.locator(`[data-testid=client-result][data-id="${salon.ids.eva}"]`).waitFor();
  const hit = await page.locator(`[data-testid=client-result][data-id="${salon.ids.eva}"]`).innerText();
  assert.match(hit, /Eva Brskalnik/);
  assert.match(hit, /041 222 333/, 'reception sees the phone');
  await page.locator('[data-testid=client-search]').fill('222 333');
  await page.locator(`[data-testid=client-result][data-id="${salon.ids.eva}"]`).waitFor();
  assert.equal(await page.locator('[data-testid=client-result]').count(), 1);
  // an allergy marker on a card with allergies (reception: the alert, not the allergies)
  await page.locator('[data-testid=client-search]').fill('ana novak 0');
  await page.locator('[data-testid=client-result]', { hasText: 'Ana Novak-0' }).first().waitFor();
  assert.equal(await page.locator('[data-testid=client-result]').count(), 1);
  assert.match(await page.locator('[data-testid=client-result]').innerText(), /Allergies/);
  // each keystroke: the search and the list drawn, timed in the page
  const times = await page.evaluate(async () => {
    const input = document.querySelector('[data-testid=client-search]');
    const out = [];
    // three rounds, the best of each keystroke: the CPU is shared (a busy machine's
    // pause is not the page's time); a page that is slow is slow in every round
    for (let round = 0; round < 3; round++)
    for (const q of ['k', 'ko', 'kov', 'kova', 'kovač', 'kovači', 'kovačič', 'kovačič m', '031', '031 1', '031 10', '031 100', '031 100 0']) {
      // preact draws on a microtask after the input event; a MutationObserver (also a
      // microtask) notes when the list says it shows this query
      const done = new Promise((resolve) => {
        const mo = new MutationObserver(() => {
          if (document.querySelector('[data-testid=client-results]')?.dataset.q === q) { mo.disconnect(); resolve(performance.now()); }
        });
        mo.observe(document.querySelector('[data-testid=booking]'), { subtree: true, childList: true, attributes: true, characterData: true });
      });
      const t0 = performance.now();
      input.value = q;
      input.dispatchEvent(new Event('input', { bubbles: true }));
      const t1 = await Promise.race([done, new Promise((r) => setTimeout(() => r(null), 5000))]);
      if (t1 === null) throw new Error(`the list never showed "${q}"`);
      out.push([q, t1 - t0, document.querySelectorAll('[data-testid=client-result]').length]);
      input.value = '';
      input.dispatchEvent(new Event('input', { bubbles: true }));
      await new Promise((r) => setTimeout(r, 0));
    }
    const best = new Map();
    for (const [q, ms, hits] of out) if (!best.has(q) || best.get(q)[1] > ms) best.set(q, [q, ms, hits]);
    return [...best.values()];
  });
  for (const [q, ms, hits] of times) {
    assert.ok(hits > 0, `"${q}" finds someone`);
    assert.ok(ms < 50, `"${q}" took ${ms.toFixed(1)} ms`);
  }
  console.log('keystroke times (ms):', times.map(([q, ms]) => `${q}=${ms.toFixed(1)}`).join(' '));
  // after a sync the local copy is a new Map: the first keystroke then builds the index
  // again (memoized on the Map's identity: the same Map is not indexed twice)
  const copy = (await h.idb(page)).rows.filter((x) => x.tbl === 'client');
  const build = await page.evaluate(async (rows) => {
    const { clientIndex } = await import('/views/desk/booking.js');
    const map = new Map(rows.filter((x) => x.tbl === 'client').map((x) => [x.id, x]));
    let ms = Infinity, a;
    for (let round = 0; round < 3; round++) { // the best of three fresh Maps (a shared CPU)
      const fresh = new Map(map);
      const t0 = performance.now();
      a = clientIndex(fresh);
      ms = Math.min(ms, performance.now() - t0);
      if (clientIndex(fresh) !== a) return { again: false };
    }
    return { ms, n: a.length, again: true };
  }, copy);
  assert.ok(build.n >= N_IMPORTED);
  assert.ok(build.again, 'the same Map is indexed once');
  assert.ok(build.ms < 50, `indexing ${build.n} clients took ${build.ms.toFixed(1)} ms`);
  console.log(`index of ${build.n} clients built in ${build.ms.toFixed(1)} ms`);
});

test('books two services for a local time at the branch: the row, in UTC, in the database', async () => {
  await openBooking(`?loc=${encodeURIComponent(sql("SELECT id FROM location WHERE name = 'Lepota Center'")[0].id)}`);
  await pickClient('Eva Brsk', salon.ids.eva);
  await tick(["Women's cut & blow-dry", 'Blow-dry']);
  assert.match(await page.locator('[data-testid=total-min]').innerText(), /90 min/);
  assert.match(await page.locator('[data-testid=price]').innerText(), /70[.,]00/);
  await when('2030-07-15', '10:00');
  assert.equal(await page.locator('[data-testid=book-warning]').count(), 0);
  await page.evaluate(() => { document.activeElement?.blur(); scrollTo(0, 0); });
  const shot = await h.shot(page, 'booking');
  if (process.env.KT_README_SHOT) { // refresh the docs' picture only when asked (as test_setup does)
    mkdirSync(join(h.ROOT, 'docs/screenshots'), { recursive: true });
    copyFileSync(shot, join(h.ROOT, 'docs/screenshots/booking.png'));
  }
  await page.locator('[data-testid=book-submit]').click();
  await page.locator('[data-testid=booked]').waitFor();
  assert.match(await page.locator('[data-testid=booked]').innerText(), /10:00/);
  await page.waitForURL(/\/desk\?day=2030-07-15/);
  const row = await h.until(() => apptsOf(salon.ids.eva).find((a) => a.start_at > Date.UTC(2030, 5, 1)), 'the booking in the database');
  assert.equal(row.start_at, local('2030-07-15', '10:00'));
  assert.equal(new Date(row.start_at).toISOString(), '2030-07-15T08:00:00.000Z');
  assert.equal(row.duration_min, 90);
  assert.equal(row.services.split(',').length, 2);
  assert.equal(row.status, 'booked');
  assert.equal(sql(`SELECT display_name FROM staff WHERE id = '${row.specialist_id}'`)[0].display_name, nina.name);
});

test('books offline; the booking lands when the tablet is back online', async () => {
  await openBooking();
  await b.context.setOffline(true);
  await page.locator('[data-testid=offline]').waitFor();
  await pickClient('Marko Dru', salon.ids.marko);
  await tick(['Blow-dry']);
  await when('2030-07-15', '12:00');
  await page.locator('[data-testid=book-submit]').click();
  await page.locator('[data-testid=booked]').waitFor();
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=queued]')?.dataset.n) > 0);
  assert.equal(apptsOf(salon.ids.marko).filter((a) => a.start_at === local('2030-07-15', '12:00')).length, 0, 'not on the server yet');
  await b.context.setOffline(false);
  const row = await h.until(() => apptsOf(salon.ids.marko).find((a) => a.start_at === local('2030-07-15', '12:00')), 'the offline booking on the server', 30000);
  assert.equal(row.duration_min, 30);
  await page.waitForFunction(() => document.querySelector('[data-testid=queued]')?.dataset.n === '0');
});

test('a new client\'s card made on the spot, checked as typed, and booked', async () => {
  await openBooking();
  await page.locator('[data-testid=client-search]').fill('Zala Nova');
  await page.locator('[data-testid=new-client]').click();
  assert.equal(await page.locator('[data-testid=new-client-name]').inputValue(), 'Zala Nova', 'the name typed is carried over');
  await page.locator('[data-testid=new-client-name]').fill('');
  await page.locator('[data-testid=new-client-phone]').fill('12ab');
  await page.locator('[data-testid=new-client-email]').fill('zala@');
  await page.locator('[data-testid=new-client-save]').click();
  assert.match(await page.locator('[data-testid=new-client-error-name]').innerText(), /^Name/);
  assert.match(await page.locator('[data-testid=new-client-error-phone]').innerText(), /^Phone/);
  assert.match(await page.locator('[data-testid=new-client-error-email]').innerText(), /^E-mail/);
  await page.locator('[data-testid=new-client-name]').fill('Zala Novinka');
  await page.locator('[data-testid=new-client-phone]').fill('041 555 666');
  await page.locator('[data-testid=new-client-email]').fill('');
  await page.locator('[data-testid=new-client-save]').click();
  const chosen = page.locator('[data-testid=client-chosen]');
  await chosen.waitFor();
  const id = await chosen.getAttribute('data-id');
  assert.match(await chosen.innerText(), /Zala Novinka/);
  await tick(["Men's cut"]);
  await when('2030-07-16', '09:00');
  await page.locator('[data-testid=book-submit]').click();
  await page.locator('[data-testid=booked]').waitFor();
  const row = await h.until(() => apptsOf(id)[0], 'the new client\'s booking on the server');
  assert.equal(row.start_at, local('2030-07-16', '09:00'));
  assert.equal(sql(`SELECT count(*) AS n FROM client WHERE id = '${id}'`)[0].n, 1, 'the card is on the server');
});

test('the next free slot skips the specialist\'s appointment, and the server takes it', async () => {
  await openBooking();
  await pickClient('Marko Dru', salon.ids.marko);
  await tick(['Blow-dry']);
  // Nina: Eva 10:00-11:30, Marko 12:00-12:30 on 15 July
  await when('2030-07-15', '10:00');
  assert.equal(await page.locator('[data-testid=book-warning]').getAttribute('data-rules'), 'overlap');
  await page.locator('[data-testid=next-free]').click();
  await page.locator('[data-testid=slot-found]').waitFor();
  assert.equal(await page.locator('[data-testid=time]').inputValue(), '11:30');
  assert.equal(await page.locator('[data-testid=date]').inputValue(), '2030-07-15');
  assert.equal(await page.locator('[data-testid=book-warning]').count(), 0);
  // asked again: the next one after it (12:00-12:30 is Marko's): 12:30
  await page.locator('[data-testid=next-free]').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=time]').value === '12:30');
  await page.locator('[data-testid=time]').fill('11:30');
  await page.locator('[data-testid=book-submit]').click();
  await page.locator('[data-testid=booked]').waitFor();
  const row = await h.until(() => apptsOf(salon.ids.marko).find((a) => a.start_at === local('2030-07-15', '11:30')), 'the proposed slot booked on the server');
  assert.equal(row.status, 'booked');
  await page.waitForFunction(() => document.querySelector('[data-testid=queued]')?.dataset.n === '0');
  assert.equal(await page.locator('[data-testid=problems]').count(), 0, 'the server refused nothing');
});

test('a conflicting booking is warned about; reception books it anyway with a reason', async () => {
  await openBooking();
  await pickClient('Eva Brsk', salon.ids.eva);
  await tick(['Blow-dry']);
  await when('2030-07-15', '10:30');
  const warn = page.locator('[data-testid=book-warning]');
  await warn.waitFor();
  assert.match(await warn.innerText(), new RegExp(`${nina.name} already has an appointment 10:00-11:30`));
  assert.equal(await page.locator('[data-testid=book-submit]').innerText(), 'Book anyway');
  await page.locator('[data-testid=book-submit]').click();
  await page.locator('[data-testid=book-error]').waitFor(); // no reason yet
  await page.locator('[data-testid=book-override]').fill('Eva waits for the colour to set');
  await h.shot(page, 'booking-warning');
  await page.locator('[data-testid=book-submit]').click();
  await page.locator('[data-testid=booked]').waitFor();
  const row = await h.until(() => apptsOf(salon.ids.eva).find((a) => a.start_at === local('2030-07-15', '10:30')), 'the override booking on the server');
  const audit = sql(`SELECT action FROM audit WHERE entity_id = '${row.id}'`).map((r) => r.action);
  assert.ok(audit.includes('override:overlap'), `audit: ${audit}`);
});

test('moving an appointment sends only what changed', async () => {
  const eva = apptsOf(salon.ids.eva).find((a) => a.start_at === local('2030-07-15', '10:00'));
  await openBooking(`?move=${eva.id}`);
  assert.equal(await page.locator('[data-testid=time]').inputValue(), '10:00');
  assert.equal(await page.locator('[data-testid=date]').inputValue(), '2030-07-15');
  assert.match(await page.locator('[data-testid=total-min]').innerText(), /90 min/);
  await b.context.setOffline(true);
  await page.locator('[data-testid=offline]').waitFor();
  await page.locator('[data-testid=date]').fill('2030-07-17');
  await page.locator('[data-testid=time]').fill('14:15');
  await page.locator('[data-testid=book-submit]').click();
  await page.locator('[data-testid=booked]').waitFor();
  const queued = await page.evaluate(async () => {
    const db = await new Promise((res, rej) => { const r = indexedDB.open('kartoteka'); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
    const names = [...db.objectStoreNames];
    const out = [];
    for (const s of names.filter((n) => n !== 'rows' && n !== 'meta' && n !== 'pages')) {
      const all = await new Promise((res) => { const r = db.transaction(s).objectStore(s).getAll(); r.onsuccess = () => res(r.result); });
      out.push(...all);
    }
    db.close();
    return JSON.parse(JSON.stringify(out));
  });
  const mine = queued.find((e) => JSON.stringify(e).includes(eva.id) && JSON.stringify(e).includes('update'));
  assert.ok(mine, `the update is queued: ${JSON.stringify(queued).slice(0, 400)}`);
  const fields = mine.f;
  assert.deepEqual(Object.keys(fields).sort(), ['start_at'], JSON.stringify(mine));
  await b.context.setOffline(false);
  await h.until(() => sql(`SELECT start_at FROM appointment WHERE id = '${eva.id}'`)[0].start_at === local('2030-07-17', '14:15'), 'the move on the server', 30000);
  assert.equal(sql(`SELECT duration_min FROM appointment WHERE id = '${eva.id}'`)[0].duration_min, 90);
  assert.deepEqual(b.cspViolations(), []);
});
