// What test_links.mjs and test_portal_review.mjs share: a one-purpose link of a kind
// for Eva, the phone's size, and the check that a link page left nothing behind.
import assert from 'node:assert/strict';
import * as h from './harness.mjs';

export const PHONE = { width: 390, height: 844 };

/** A link made by the server (`admin link issue`, as the messages' planner makes
 * them): its URL's token. target: an appointment or visit id, or a consent purpose;
 * expires: the command's --expires (a local time or +N(s|m|h|d)), else the kind's. */
export function issueLink(salon, kind, target, expires, client = salon.ids.eva) {
  const out = salon.admin('link', 'issue', '--kind', kind, '--client', client, '--target', target,
    ...(expires ? ['--expires', expires] : []), '--config', salon.conf);
  const m = /\/l\/([A-Za-z0-9_-]{22})\s*$/.exec(out);
  if (!m) throw new Error(`no link in: ${out}`);
  return m[1];
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
