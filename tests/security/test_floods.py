"""A portal client must not be able to write unbounded permanent rows.

Reported: every `viewed` event became a hash-chained audit entry (50,000 in
3.2 s), consents are append-only and streamed to every staff device of the
branch (2,000 in 0.2 s), and the client's own export then failed as
too_large. Now a portal client's pushes are rate-limited per person
(KT_CLIENT_PUSH_ITEMS mutations and events per minute, over all of its
connections: rate_limited with retry_after_ms, the connection stays up),
`viewed` is recorded once per person, row and 15 minutes, a consent equal
to the current state writes nothing, a client records at most
KT_CLIENT_CONSENTS consent entries per hour, and an export of any size
comes in as many parts as it takes."""
import json
import shutil
import sqlite3
import tempfile
import time
import unittest
import uuid

import kt_harness as h
from ktcrypt import Keyring

CENTER = "Lepota Center"
PUSH_ITEMS = 120       # proto/kt_limits.h KT_CLIENT_PUSH_ITEMS (per minute)
CONSENTS = 20          # KT_CLIENT_CONSENTS (per hour)
MAX_PUSH = 500         # KT_PUSH_MAX


def uuid7():
    ms = int(time.time() * 1000)
    r = uuid.uuid4().int & ((1 << 74) - 1)
    v = (ms << 80) | (0x7 << 76) | ((r >> 62) << 64) | (0b10 << 62) | (r & ((1 << 62) - 1))
    return str(uuid.UUID(int=v))


def now_ms():
    return int(time.time() * 1000)


class FloodTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kt-floods-")
        cls.db, cls.accounts = h.demo_db(cls.tmp)
        cls.server = h.Server(cls.db)
        cls.kr = Keyring(cls.db)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def q(self, sql, *args):
        con = sqlite3.connect(self.db)
        out = con.execute(sql, args).fetchall()
        con.close()
        return out

    def client_id(self, acc):
        return self.q("SELECT id FROM client WHERE email_hash = ?", self.kr.email_hash(acc["email"]))[0][0]

    async def signed_in(self, acc):
        p = await h.Peer(self.server).connect()
        await p.hello()
        ok = await p.login(acc)
        self.assertEqual(ok["t"], "auth_ok", ok)
        return p

    async def answers(self, p, n, timeout=60):
        """The next n answers to pushes (push_result or an error about a push)."""
        out = []
        end = time.monotonic() + timeout
        while len(out) < n:
            m = await p.recv(max(0.01, end - time.monotonic()))
            if m["t"] == "push_result" or (m["t"] == "error" and m.get("re") == "push"):
                out.append(m)
        return out

    # ---- viewed ----

    def test_viewed_flood_is_deduplicated_and_rate_limited(self):
        me = h.account(self.accounts, "client", CENTER, 0)
        other = h.account(self.accounts, "client", CENTER, 1)
        cid = self.client_id(me)
        appts = [r[0] for r in self.q("SELECT id FROM appointment WHERE client_id = ? ORDER BY id", cid)]
        rows = [("client", cid)] + [("appointment", a) for a in appts]
        count = "SELECT count(*) FROM audit WHERE action = 'viewed' AND actor_id = ?"
        before = self.q(count, cid)[0][0]
        total_before = self.q("SELECT count(*) FROM audit")[0][0]

        async def go():
            p = await self.signed_in(me)
            pushes = 20
            for k in range(pushes):
                events = [{"kind": "viewed", "tbl": rows[i % len(rows)][0], "id": rows[i % len(rows)][1],
                           "at": now_ms()} for i in range(MAX_PUSH)]
                await p.send({"t": "push", "muts": [], "events": events})
            got = await self.answers(p, pushes)
            # the same connection still works
            await p.send({"t": "push", "muts": [], "events": []})
            again = (await self.answers(p, 1))[0]
            # another client is not affected
            o = await self.signed_in(other)
            await o.send({"t": "push", "muts": [], "events": [{"kind": "viewed", "tbl": "client",
                                                               "id": self.client_id(other), "at": now_ms()}]})
            theirs = (await self.answers(o, 1))[0]
            await o.close()
            await p.close()
            return got, again, theirs

        got, again, theirs = h.run(go())
        accepted = [m for m in got if m["t"] == "push_result"]
        limited = [m for m in got if m["t"] == "error"]
        self.assertEqual(len(accepted), 1, "one push of %d events fills the minute's budget of %d" %
                         (MAX_PUSH, PUSH_ITEMS))
        self.assertEqual(len(limited), 19)
        for m in limited:
            self.assertEqual(m["code"], "rate_limited", m)
            self.assertFalse(m["fatal"])
            self.assertGreater(m["retry_after_ms"], 0)
            self.assertLessEqual(m["retry_after_ms"], 60000)
            self.assertIn("per minute", m["msg"])
        self.assertEqual((again["t"], again.get("code")), ("error", "rate_limited"), again)
        self.assertEqual(theirs["t"], "push_result", theirs)
        # 500 events over len(rows) rows: one audit entry per row
        self.assertEqual(self.q(count, cid)[0][0] - before, len(rows))
        self.assertLessEqual(self.q("SELECT count(*) FROM audit")[0][0] - total_before, len(rows) + 1)

    # ---- consents ----

    def consent(self, mid, cid, granted, purpose="marketing_email"):
        return {"mid": mid, "tbl": "consent", "id": uuid7(), "op": "create", "base": 0,
                "f": {"client_id": cid, "purpose": purpose, "granted": granted, "text_version": "v1"},
                "at": now_ms()}

    def state(self, cid, purpose):
        row = self.q("SELECT granted FROM consent WHERE client_id = ? AND purpose = ? "
                     "ORDER BY at DESC, granted ASC, id DESC LIMIT 1", cid, purpose)
        return bool(row[0][0]) if row else None

    def test_consent_flood_writes_a_bounded_number_of_rows(self):
        me = h.account(self.accounts, "client", CENTER, 2)
        cid = self.client_id(me)
        count = "SELECT count(*) FROM consent WHERE client_id = ?"
        before = self.q(count, cid)[0][0]
        # what the demo data recorded for this client from the portal within the hour counts too
        used = self.q("SELECT count(*) FROM consent WHERE client_id = ? AND recorded_kind = 'client' "
                      "AND updated_at > ?", cid, now_ms() - 3600000)[0][0]
        budget = CONSENTS - used
        self.assertGreaterEqual(budget, 5)
        first = not self.state(cid, "birthday_greetings")
        toggle = not self.state(cid, "marketing_email")

        async def go():
            p = await self.signed_in(me)
            # one change, then the same state fifty times over: one row
            await p.send({"t": "push", "muts": [self.consent(i + 1, cid, first, "birthday_greetings")
                                                for i in range(51)]})
            same = (await self.answers(p, 1))[0]
            self.same_rows = self.q(count, cid)[0][0] - before
            # toggling as fast as it goes: only the hour's budget is written
            await p.send({"t": "push", "muts": [self.consent(100 + i, cid, toggle if i % 2 == 0 else not toggle)
                                                for i in range(60)]})
            toggles = (await self.answers(p, 1))[0]
            await p.close()
            return same, toggles

        same, toggles = h.run(go())
        self.assertEqual(same["t"], "push_result", same)
        self.assertEqual({r["status"] for r in same["results"]}, {"applied"})
        self.assertEqual(self.same_rows, 1, "fifty repeats of the current state write nothing")
        statuses = [(r["status"], r.get("code")) for r in toggles["results"]]
        # (toggles within one millisecond tie, and a tie is a withdrawal:
        # some of them are the state already and are answered without a row)
        self.assertEqual(set(statuses), {("applied", None), ("rejected", "rate_limited")}, statuses)
        limited = [r for r in toggles["results"] if r.get("code") == "rate_limited"]
        self.assertIn("per hour; retry in", limited[0]["msg"])
        self.assertEqual(self.q(count, cid)[0][0] - before, budget)

    # ---- exports ----

    def test_export_of_a_large_history_succeeds(self):
        me = h.account(self.accounts, "client", CENTER, 3)
        cid = self.client_id(me)
        owner = h.account(self.accounts, "owner")
        base = self.q("SELECT version FROM client WHERE id = ?", cid)[0][0]
        n = 1200  # each update logs 4 KB before and 4 KB after: about 10 MiB of document

        async def go():
            o = await self.signed_in(owner)
            for start in range(0, n, 200):  # 200 x 4 KB stays under the 1 MiB frame
                muts = [{"mid": i + 1, "tbl": "client", "id": cid, "op": "update", "base": base,
                         "f": {"preferences": "ab"[i % 2] * 4000}, "at": now_ms()}
                        for i in range(start, min(n, start + 200))]
                await o.send({"t": "push", "muts": muts})
                res = (await self.answers(o, 1, 120))[0]
                assert all(r["status"] == "applied" for r in res["results"]), res["results"][:2]
            await o.close()
            p = await self.signed_in(me)
            await p.send({"t": "privacy", "op": "export"})
            first = await p.recv(120)
            self.assertEqual(first["t"], "privacy_result", first)
            parts = [first] + [await p.recv(60) for _ in range(first["parts"] - 1)]
            await p.send({"t": "privacy", "op": "erasure_status"})
            after = await p.recv(30)
            await p.close()
            return parts, after

        parts, after = h.run(go())
        self.assertGreater(len(parts), 8)
        self.assertEqual([(x["t"], x["op"], x["part"]) for x in parts],
                         [("privacy_result", "export", i + 1) for i in range(len(parts))])
        doc = json.loads("".join(x["doc"] for x in parts))
        self.assertEqual(len([e for e in doc["access_log"] if e["action"] == "update"]), n)
        self.assertNotEqual(after.get("op"), "export")  # nothing came between the parts


if __name__ == "__main__":
    h.main()
