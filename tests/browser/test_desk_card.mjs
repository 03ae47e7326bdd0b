// The client card on the salon's tablets (clients/web/views/desk/clients.js, card.js,
// history.js) in Chromium against the real server: each role's IndexedDB holds only the
// client fields its role may read and the card shows the sections of that role; a
// receptionist's phone edit and a specialist's visit with formulas reach the database
// (the server's own export: client fields are sealed at rest); the owner reads the
// card history as sentences: who, which device, "old → new", no JSON.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import * as h from './harness.mjs';

const CONTACT = ['email', 'phone', 'address', 'birthday'];
const HEALTH = ['allergies', 'conditions', 'medications', 'skin_hair_type', 'patch_tests'];
const ALLERGY = 'latex gloves';
const NEW_PHONE = '041 555 666';
const FORMULA = 'FORMULA Igora 7-1 + 6% 30 min';
const NOTES = 'Roots covered well; client happy';
const TABLET = { width: 1024, height: 768 };

let salon, srv, todayAppt, receptionDevice;
before(async () => {
  salon = new h.Salon().populate();
  salon.admin('client', 'set', salon.ids.eva, 'allergies', ALLERGY);
  salon.admin('client', 'edit', salon.ids.eva, '--birthday', '1990-05-17', '--address', 'Trubarjeva 1, Ljubljana');
  // an appointment of Eva's today (the branch's clock): the visit form offers it
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: h.ZONE, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
  todayAppt = h.createdId(salon.admin('appointment', 'create', '--location', h.CENTER, '--client', h.EVA.name,
    '--specialist', 'Nina', '--start', `${today} 00:05`, '--services', 'Root colour', '--allow-overlap', '--reason', 'test'));
  srv = await h.Server.start(salon);
  salon.addVisit(srv);
});
after(async () => { await srv?.stop(); salon?.cleanup(); });

async function deskSignIn(page, account) {
  await page.setViewportSize(TABLET);
  await page.goto(`${srv.origin}/desk/signin`);
  await page.locator('input#email').fill(account.email);
  await page.locator('input#password').fill(account.password);
  await page.locator('button[data-testid=signin-submit]').click();
  await h.state(page, 'synced');
}

// From the client list, by searching as a receptionist would.
async function openEva(page) {
  await page.locator('[data-testid=nav-clients]').click();
  await page.locator('[data-testid=clients-search]').fill('brskal');
  await page.locator(`[data-testid=client-row][data-id="${salon.ids.eva}"]`).click();
  await page.locator(`[data-testid=card][data-id="${salon.ids.eva}"]`).waitFor();
}

const clientRows = async (page) => (await h.idb(page)).rows.filter((r) => r.tbl === 'client');
const shown = (page, id) => page.locator(`[data-testid=${id}]`).count();

test('each role keeps only its client fields on the tablet and sees only its sections', async () => {
  const nina = salon.accounts.find((a) => a.name.startsWith('Nina'));
  await h.withBrowser({}, async ({ page }) => {
    await deskSignIn(page, nina);
    const rows = await clientRows(page);
    assert.ok(rows.some((r) => r.id === salon.ids.eva), "Eva's card is on the specialist's tablet");
    for (const r of rows) for (const k of CONTACT) assert.ok(!(k in r.f), `specialist's copy of ${r.f.name} holds ${k}`);
    assert.equal(rows.find((r) => r.id === salon.ids.eva).f.allergies, ALLERGY);
    await openEva(page);
    assert.equal(await shown(page, 'card-contact'), 0, 'no contact section for a specialist');
    assert.equal(await shown(page, 'card-health'), 1);
    await assert.doesNotReject(page.locator('[data-testid=allergy-alert]', { hasText: ALLERGY }).waitFor());
    assert.equal(await shown(page, 'visit-list'), 1);
    assert.equal(await shown(page, 'history-link'), 0, 'the card history is for owners and managers');
    const text = await page.locator('[data-testid=card]').innerText();
    assert.ok(!text.includes(h.EVA.phone) && !text.includes(h.EVA.email), 'no contact data on the page');
    assert.ok(text.includes(h.SECRET_TREATMENT), "the visit's treatment note shows");
    await h.shot(page, 'card-specialist');
  });
  const reception = salon.account('reception', h.CENTER);
  await h.withBrowser({}, async ({ page }) => {
    await deskSignIn(page, reception);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.locator('[data-testid=nav-clients]').click();
    await page.locator('[data-testid=client-row]').first().waitFor();
    await h.shot(page, 'card-clients-1280');
    const rows = await clientRows(page);
    for (const r of rows) for (const k of HEALTH) assert.ok(!(k in r.f), `reception's copy of ${r.f.name} holds ${k}`);
    const eva = rows.find((r) => r.id === salon.ids.eva);
    assert.equal(eva.f.allergy_alert, true, 'reception gets the allergy alert');
    await openEva(page);
    assert.equal(await shown(page, 'card-contact'), 1);
    assert.equal(await shown(page, 'card-health'), 0, 'no health section for reception');
    await page.locator('[data-testid=allergy-alert]').waitFor();
    assert.equal(await shown(page, 'visit-list'), 0);
    assert.equal(await shown(page, 'history-link'), 0);
    assert.ok((await page.locator('[data-testid=card-contact]').innerText()).includes(h.EVA.phone));
    assert.ok(!(await page.locator('[data-testid=card]').innerText()).includes(ALLERGY), 'reception does not read the allergies');
    await h.shot(page, 'card-reception');
  });
  await h.withBrowser({}, async ({ page }) => {
    await deskSignIn(page, salon.account('owner'));
    await openEva(page);
    for (const id of ['card-contact', 'card-health', 'visit-list', 'history-link', 'allergy-alert']) assert.equal(await shown(page, id), 1, id);
  });
});

test('reception changes the phone on the card: the database has it', async () => {
  const reception = salon.account('reception', h.CENTER);
  await h.withBrowser({}, async ({ page }) => {
    await deskSignIn(page, reception);
    receptionDevice = await page.evaluate(() => localStorage.getItem('kt.device'));
    await openEva(page);
    await page.locator('[data-testid=card-edit]').click();
    // a wrong birthday is refused on the tablet, naming the field
    await page.locator('#card-f-birthday').fill('1990-02-30');
    await page.locator('[data-testid=card-save]').click();
    await assert.doesNotReject(page.locator('[data-testid=error]', { hasText: /Birthday/ }).waitFor());
    await page.locator('#card-f-birthday').fill('1990-05-17');
    await page.locator('#card-f-phone').fill(NEW_PHONE);
    await page.locator('[data-testid=card-save]').click();
    await page.locator('[data-testid=card-contact]', { hasText: NEW_PHONE }).waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid=queued]')?.dataset.n === '0');
    await h.until(() => salon.truth().client.phone === NEW_PHONE, 'the new phone in the database');
    assert.equal(salon.truth().client.birthday, '1990-05-17', 'the birthday did not change');
    // a card opened offline is reported to the audit log once the tablet is back
    await page.context().setOffline(true);
    await page.locator('[data-testid=offline]').waitFor();
    await page.locator('[data-testid=nav-clients]').click();
    await page.locator('[data-testid=clients-search]').fill('marko');
    await page.locator(`[data-testid=client-row][data-id="${salon.ids.marko}"]`).click();
    await page.locator(`[data-testid=card][data-id="${salon.ids.marko}"]`).waitFor();
    const viewed = () => salon.truth(salon.ids.marko).access_log.filter((e) => e.action === 'viewed' && e.actor.name === reception.name);
    assert.equal(viewed().length, 0, 'nothing reaches the server while offline');
    await page.context().setOffline(false);
    await h.until(() => viewed().length === 1, "the receptionist's look at Marko's card in the audit log");
    await page.waitForFunction(() => Object.keys(localStorage).filter((k) => k.startsWith('kt.card.views.'))
      .every((k) => localStorage.getItem(k) === '[]'));
  });
});

test('a specialist records a visit with formulas from today\'s appointment', async () => {
  const nina = salon.accounts.find((a) => a.name.startsWith('Nina'));
  await h.withBrowser({}, async ({ page }) => {
    await deskSignIn(page, nina);
    await openEva(page);
    await page.locator('[data-testid=visit-new]').click();
    await page.locator(`[data-testid=visit-from-appt][data-id="${todayAppt}"]`).click();
    assert.equal(await page.locator('[data-testid=visit-service]:checked').count(), 1, "the appointment's service is ticked");
    await page.locator('[data-testid=visit-formulas]').fill(FORMULA);
    await page.locator('[data-testid=visit-notes]').fill(NOTES);
    await h.shot(page, 'card-visit-form');
    await page.locator('[data-testid=visit-save]').click();
    await page.locator('[data-testid=visit]', { hasText: FORMULA }).waitFor();
    const v = await h.until(() => salon.truth().visits.find((x) => x.products_formulas === FORMULA), 'the visit in the database');
    assert.equal(v.treatment_notes, NOTES);
    assert.equal(v.appointment_id, todayAppt);
    assert.equal(v.specialist_name, nina.name);
    assert.deepEqual(v.service_names, ['Root colour']);
    // a bad date is refused on the tablet, naming the field
    await page.locator('[data-testid=visit-new]').click();
    await page.locator('[data-testid=visit-date]').fill('2031-13-01');
    await page.locator('[data-testid=visit-save]').click();
    await assert.doesNotReject(page.locator('[data-testid=error]', { hasText: /Visit date/ }).waitFor());
  });
});

test('the owner reads the card history: who, which device, old → new, no JSON', async () => {
  assert.ok(receptionDevice, 'the reception test ran first');
  const reception = salon.account('reception', h.CENTER);
  await h.withBrowser({}, async ({ page, context }) => {
    await deskSignIn(page, salon.account('owner'));
    await openEva(page);
    const png = await h.shot(page, 'card');
    if (process.env.KT_README_SHOT) { // refresh docs/screenshots/card.png (1024x768) on request only
      mkdirSync(join(h.ROOT, 'docs', 'screenshots'), { recursive: true });
      copyFileSync(png, join(h.ROOT, 'docs', 'screenshots', 'card.png'));
    }
    await page.locator('[data-testid=history-link]').click();
    await page.locator('[data-testid=history]').waitFor();
    const entry = page.locator('[data-testid=history-entry][data-action=update]', { hasText: NEW_PHONE });
    await entry.waitFor();
    const text = await entry.innerText();
    assert.ok(text.includes(reception.name), `the receptionist's name in: ${text}`);
    assert.ok(text.includes(receptionDevice.replace(/-/g, '').slice(-6)), `the device in: ${text}`);
    assert.ok(text.includes(`Phone: ${h.EVA.phone} → ${NEW_PHONE}`), `old → new in: ${text}`);
    const all = await page.locator('[data-testid=history]').innerText();
    assert.ok(!/[{}]/.test(all), 'no JSON braces in the history');
    assert.ok(!/[0-9a-f]{8}-[0-9a-f]{4}-/.test(all), `no UUIDs in the history: ${(all.match(/.{0,80}[0-9a-f]{8}-[0-9a-f]{4}-.{0,40}/g) || []).join(' / ')}`);
    // the specialist's visit and the cards opened are there too
    await page.locator('[data-testid=history-entry][data-action=create]', { hasText: FORMULA }).waitFor();
    await page.locator('[data-testid=history-entry][data-action=viewed]').first().waitFor();
    await h.shot(page, 'card-history');
    // field labels and words follow the language
    await page.locator('select#lang').selectOption('de');
    await page.locator('[data-testid=history-entry][data-action=update]', { hasText: `Telefon: ${h.EVA.phone} → ${NEW_PHONE}` }).waitFor();
    await page.locator('select#lang').selectOption('en');
    // offline, the history says it needs a connection
    await page.locator('.card-back').click();
    await context.setOffline(true);
    await page.locator('[data-testid=offline]').waitFor();
    await page.locator('[data-testid=history-link]').click();
    await page.locator('[data-testid=history-offline]').waitFor();
  });
});
