// What test_links.mjs and test_portal_review.mjs share: a one-purpose link of a kind
// for Eva, the phone's size, and the check that a link page left nothing behind.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import * as h from './harness.mjs';

export const PHONE = { width: 390, height: 844 };

/** A link's token as links_issue makes one (link_token.py: the same keyed hash in
 * link_token); target: an appointment or visit id, or a consent purpose. */
export function issueLink(salon, db, kind, target, expiresAt, client = salon.ids.eva) {
  const org = db.rowsOf(`select org_id from client where id=${db.quote(client)}`)[0].org_id;
  return execFileSync('/usr/bin/python3', [join(h.ROOT, 'tests/browser/link_token.py'), salon.db, kind, org, client,
    target, String(Math.round(expiresAt))], { encoding: 'utf8' }).trim();
}

/** The token is in no storage of the page: not in localStorage or sessionStorage,
 * and no IndexedDB copy was made (a link signs nothing in). */
export async function noTraceOf(page, token) {
  const kept = await page.evaluate(async () => ({
    local: JSON.stringify({ ...localStorage }),
    session: JSON.stringify({ ...sessionStorage }),
    dbs: (await indexedDB.databases()).map((d) => d.name),
  }));
  assert.ok(!kept.local.includes(token), 'the token is not in localStorage');
  assert.ok(!kept.session.includes(token), 'the token is not in sessionStorage');
  assert.ok(!kept.dbs.includes('kartoteka'), 'no local copy (IndexedDB kartoteka) was made');
}
