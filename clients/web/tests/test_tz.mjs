// tz.js and search.js: local wall-clock times at a branch and finding a client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as z from '../tz.js';
import { buildIndex, search } from '../search.js';

const LJ = 'Europe/Ljubljana';
const iso = (ms) => new Date(ms).toISOString();

test('a local time is the instant the branch clock shows it, DST days included', () => {
  assert.equal(iso(z.toMs('2030-07-01', 600, LJ)), '2030-07-01T08:00:00.000Z');
  assert.equal(iso(z.toMs('2030-01-07', 600, LJ)), '2030-01-07T09:00:00.000Z');
  // 02:30 does not exist on 31 March: forward by the hour skipped
  assert.equal(iso(z.toMs('2030-03-31', 150, LJ)), '2030-03-31T01:30:00.000Z');
  // 02:30 is there twice on 27 October: the first
  assert.equal(iso(z.toMs('2030-10-27', 150, LJ)), '2030-10-27T00:30:00.000Z');
  assert.deepEqual(z.dayRange('2030-03-31', LJ).map(iso), ['2030-03-30T23:00:00.000Z', '2030-03-31T22:00:00.000Z']);
});

test('every quarter hour of a year goes there and back', () => {
  for (const tz of [LJ, 'America/New_York', 'Asia/Kolkata']) {
    for (let t = Date.UTC(2030, 0, 1); t < Date.UTC(2031, 0, 1); t += 3 * 3600000 + 15 * 60000) {
      const p = z.parts(t, tz);
      const back = z.toMs(p.ymd, p.min, tz);
      assert.ok(back === t || (back < t && z.parts(back, tz).min === p.min), `${tz} ${iso(t)}`);
    }
  }
});

test('days, weekdays and opening intervals', () => {
  assert.equal(z.addDays('2030-02-28', 1), '2030-03-01');
  assert.equal(z.weekdayOf('2030-07-01'), 1);
  assert.equal(z.weekdayOf('2030-07-07'), 7);
  assert.equal(z.mondayOf('2030-07-07'), '2030-07-01');
  assert.deepEqual(z.intervals('09:00-12:00,13:00-24:00'), [[540, 720], [780, 1440]]);
  assert.deepEqual(z.intervals(''), []);
  assert.equal(z.hhmm(545), '09:05');
});

test('a client is found by a word of the name without accents, or by phone digits', () => {
  const rows = [
    { id: '1', f: { name: 'Helena Božič', phone: '+386 41 123 456' } },
    { id: '2', f: { name: 'Blaž Turk', phone: '041 555 666' } },
    { id: '3', f: { name: 'Ana Bozic-Novak' } },
  ];
  const idx = buildIndex(rows);
  const names = (q) => search(idx, q).map((r) => r.f.name);
  assert.deepEqual(names('boz'), ['Ana Bozic-Novak', 'Helena Božič']);
  assert.deepEqual(names('he bo'), ['Helena Božič']);
  assert.deepEqual(names('BLAŽ'), ['Blaž Turk']);
  assert.deepEqual(names('041 123'), ['Helena Božič']);
  assert.deepEqual(names('555 66'), ['Blaž Turk']);
  assert.deepEqual(names('novak'), ['Ana Bozic-Novak']);
  assert.deepEqual(names('x'), []);
  assert.deepEqual(names('  '), []);
});
