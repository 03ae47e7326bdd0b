// Unit tests of the app's pure modules (no browser): the password rules against
// PROTOCOL section 10, the calendar file against RFC 5545, the model's choices.
// Run: node --test clients/web/tests/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, firstBroken, letterCase, RULES, RULE_OF_CODE } from '../rules.js';
import { icsFor, escapeText, fold } from '../ics.js';
import { index, appointments, visits, consent } from '../model.js';

test('rules are the server\'s, in its order', () => {
  assert.deepEqual(RULES, ['min_length', 'lower', 'upper', 'digit', 'not_common']);
  assert.deepEqual(Object.values(RULE_OF_CODE), RULES);
  assert.equal(firstBroken('Ab1'), 'min_length');
  assert.equal(firstBroken('ABCDEFG1'), 'lower');
  assert.equal(firstBroken('abcdefg1'), 'upper');
  assert.equal(firstBroken('Abcdefgh'), 'digit');
  assert.equal(firstBroken('Abcdefg1'), null); // the common list is not loaded here
});

test('length counts characters, not bytes', () => {
  assert.equal(check('Čžšćđ1aB').min_length, true); // 8 characters, 13 bytes
  assert.equal(check('Čžšć1aB').min_length, false);
  assert.equal(check('😀😀😀😀😀😀😀').min_length, false); // 7 characters
});

test('letters of Latin-1 and Latin Extended-A count, as the server decides', () => {
  assert.equal(check('čžšćđ123').upper, false);
  assert.equal(check('ČŽŠĆĐ123').lower, false);
  assert.equal(check('ČŽŠĆĐ12ž').lower, true);
  assert.equal(letterCase(0xd7), 0); // multiplication sign
  assert.equal(letterCase(0xf7), 0); // division sign
  assert.equal(letterCase(0xdf), -1); // sharp s
  assert.equal(letterCase(0x138), -1); // kra
  assert.equal(letterCase(0x149), -1);
  assert.equal(letterCase(0x17f), -1); // long s
  assert.equal(letterCase(0x178), 1); // Y with diaeresis
  assert.equal(letterCase(0x139), 1); // L acute: the parity shift
  assert.equal(letterCase(0x13a), -1);
  assert.equal(letterCase(0x17d), 1); // Ž
  assert.equal(letterCase(0x17e), -1); // ž
  assert.equal(letterCase(0x10c), 1); // Č
  assert.equal(letterCase(0x10d), -1); // č
  assert.equal(letterCase(0xb5), 0); // micro sign: outside the server's ranges
  assert.equal(letterCase(0x3b1), 0); // Greek: outside too
});

test('text is escaped and lines are folded at 75 octets on character boundaries', () => {
  assert.equal(escapeText('a,b;c\\d\ne'), 'a\\,b\\;c\\\\d\\ne');
  const long = 'SUMMARY:' + 'č'.repeat(60);
  const folded = fold(long);
  for (const line of folded.split('\r\n')) assert.ok(new TextEncoder().encode(line).length <= 75, line);
  assert.equal(folded.split('\r\n').map((l, i) => (i ? l.slice(1) : l)).join(''), long);
});

test('an appointment becomes one VEVENT with UTC times and a stable UID', () => {
  const ics = icsFor({ id: '0190-x', start_at: Date.UTC(2030, 10, 4, 9, 30), duration_min: 90,
    summary: 'Colouring + blow-dry — Mojca', location: 'Center, Čopova 14' }, 'salon.example', Date.UTC(2030, 0, 1));
  assert.ok(ics.endsWith('\r\n'));
  assert.ok(!/[^\r]\n/.test(ics), 'CRLF line ends');
  const lines = ics.trim().split('\r\n');
  assert.equal(lines[0], 'BEGIN:VCALENDAR');
  assert.ok(lines.includes('VERSION:2.0'));
  assert.ok(lines.includes('UID:0190-x@salon.example'));
  assert.ok(lines.includes('DTSTART:20301104T093000Z'));
  assert.ok(lines.includes('DTEND:20301104T110000Z'));
  assert.ok(lines.includes('DTSTAMP:20300101T000000Z'));
  assert.ok(lines.includes('LOCATION:Center\\, Čopova 14'));
  assert.equal(lines.filter((l) => l === 'BEGIN:VEVENT').length, 1);
});

test('upcoming: not cancelled, not over, soonest first; visits newest first', () => {
  const now = Date.UTC(2030, 0, 1, 12);
  const rows = [
    { tbl: 'location', id: 'L', v: 1, f: { name: 'Center', time_zone: 'Europe/Ljubljana', address: 'Čopova 14', phone: '+386 1 426 11 20' } },
    { tbl: 'staff', id: 'S', v: 1, f: { display_name: 'Mojca' } },
    { tbl: 'service', id: 'X', v: 1, f: { name: 'Colouring' } },
    { tbl: 'appointment', id: 'a2', v: 1, f: { client_id: 'C', location_id: 'L', specialist_id: 'S', start_at: now + 7200e3, duration_min: 30, services: ['X'], status: 'booked' } },
    { tbl: 'appointment', id: 'a1', v: 1, f: { client_id: 'C', location_id: 'L', specialist_id: 'S', start_at: now + 3600e3, duration_min: 30, services: [], status: 'confirmed' } },
    { tbl: 'appointment', id: 'ac', v: 1, f: { client_id: 'C', location_id: 'L', specialist_id: 'S', start_at: now + 3600e3, duration_min: 30, services: [], status: 'cancelled' } },
    { tbl: 'appointment', id: 'ap', v: 1, f: { client_id: 'C', location_id: 'L', specialist_id: 'S', start_at: now - 7200e3, duration_min: 30, services: [], status: 'done' } },
    { tbl: 'appointment', id: 'ao', v: 1, f: { client_id: 'C', location_id: 'L', specialist_id: 'S', start_at: now - 600e3, duration_min: 30, services: [], status: 'booked' } },
    { tbl: 'visit', id: 'v1', v: 1, f: { client_id: 'C', location_id: 'L', specialist_id: 'S', visit_date: '2029-05-01', services: ['X'] } },
    { tbl: 'visit', id: 'v2', v: 1, f: { client_id: 'C', location_id: 'L', specialist_id: 'S', visit_date: '2029-12-01', services: [] } },
    // written by someone who has left, with a service no longer offered: the names kept on the row
    { tbl: 'visit', id: 'v0', v: 1, f: { client_id: 'C', location_id: 'L', specialist_id: 'GONE', visit_date: '2028-01-01',
      services: ['OLD', 'X'], service_names: ['Perm', ''], specialist_name: 'Vesna' } },
  ];
  const by = index(rows);
  const up = appointments(by, 'C', now);
  assert.deepEqual(up.map((a) => a.id), ['ao', 'a1', 'a2']); // one in progress, then the future
  assert.deepEqual(up[2].services, ['Colouring']);
  assert.equal(up[2].specialist, 'Mojca');
  assert.equal(up[2].place.tz, 'Europe/Ljubljana');
  assert.deepEqual(visits(by, 'C').map((v) => v.id), ['v2', 'v1', 'v0']);
  const old = visits(by, 'C')[2];
  assert.deepEqual(old.services, ['Perm', 'Colouring']);
  assert.equal(old.specialist, 'Vesna');
});

test('a consent\'s state is its latest entry; a withdrawal wins a tie', () => {
  const e = (id, at, granted) => ({ tbl: 'consent', id, v: 1, f: { client_id: 'C', purpose: 'marketing_email', at, granted } });
  assert.equal(consent(index([]), 'C', 'marketing_email'), false);
  assert.equal(consent(index([e('1', 1, true)]), 'C', 'marketing_email'), true);
  assert.equal(consent(index([e('1', 1, true), e('2', 2, false)]), 'C', 'marketing_email'), false);
  assert.equal(consent(index([e('1', 2, true), e('2', 2, false)]), 'C', 'marketing_email'), false);
  assert.equal(consent(index([e('2', 2, false), e('1', 2, true)]), 'C', 'marketing_email'), false);
});

test('every language has every text', async () => {
  globalThis.localStorage ??= { getItem: () => null, setItem() {} };
  globalThis.navigator ??= { languages: ['en-GB'] };
  globalThis.document ??= { documentElement: {} };
  const { TEXTS, LANGS } = await import('../i18n.js');
  // the desk's pages add their texts (addTexts) when they load: the shell imports them all
  const before = Object.keys(TEXTS.en).length;
  const shell = await import('../views/desk/shell.js');
  await import('../views/desk/session.js'); // the desk's sign-in page (app.js imports it)
  assert.ok(Object.keys(shell.DESK_PAGES).length >= 7, 'the shell names every desk page');
  assert.ok(Object.keys(TEXTS.en).length > before, 'the desk modules added texts');
  for (const k of ['d_queued', 'q_unsent', 'q_reapply', 'q_book_anyway', 'ses_expired']) assert.ok(k in TEXTS.en, k);
  const keys = Object.keys(TEXTS.en).sort();
  assert.deepEqual(Object.keys(LANGS).sort(), Object.keys(TEXTS).sort());
  for (const [lang, t] of Object.entries(TEXTS)) {
    assert.deepEqual(Object.keys(t).sort(), keys, lang);
    for (const k of keys) {
      assert.equal(typeof t[k], typeof TEXTS.en[k], `${lang}.${k}`);
      const vars = (s) => JSON.stringify(String(s).match(/\{\w+\}/g)?.sort() || []);
      assert.equal(vars(t[k]), vars(TEXTS.en[k]), `${lang}.${k} placeholders`);
    }
  }
});

test('index.html preloads every module app.js imports, and nothing else', async () => {
  const { readFileSync } = await import('node:fs');
  const { dirname, join, normalize } = await import('node:path');
  const root = new URL('..', import.meta.url).pathname;
  const seen = new Set();
  const walk = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(join(root, file), 'utf8');
    for (const m of src.matchAll(/(?:^|[;\s}])(?:import|export)\s*(?:[^'"]*?from\s*)?['"](\.[^'"]+)['"]/g)) {
      walk(normalize(join(dirname(file), m[1])));
    }
  };
  walk('app.js');
  seen.delete('app.js');
  const html = readFileSync(join(root, 'index.html'), 'utf8');
  const pre = [...html.matchAll(/rel="modulepreload" href="\/([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual([...pre].sort(), [...seen].sort());
});
