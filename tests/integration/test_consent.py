"""Consent: a client withdraws a consent from their own portal
connection and the reception tablet of their branch sees the new entry
arrive live; the history is kept and the latest entry is the state; who may
record what (a client only for themselves on the portal, staff in the salon
at their locations, specialists photo and health-data consents only); bad
values get specific codes; updates are refused because history is
append-only. Raw protocol peers against the real server."""
import asyncio
import sqlite3
import subprocess
import time
import uuid

import kt_harness as h
from ktcrypt import Keyring

A, B = "Lepota Center", "Lepota Maribor"


def uuid7():
    ms = int(time.time() * 1000)
    r = uuid.uuid4().int & ((1 << 74) - 1)
    v = (ms << 80) | (0x7 << 76) | ((r >> 62) << 64) | (0b10 << 62) | (r & ((1 << 62) - 1))
    return str(uuid.UUID(int=v))


class ConsentTest(h.DemoServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        con = sqlite3.connect(cls.db)
        cls.loc = dict(con.execute("SELECT name, id FROM location"))
        # the first portal client of A never visits B (init_demo.c: pinned)
        cls.me = h.account(cls.accounts, "client", A)
        cls.me_id = con.execute("SELECT id FROM client WHERE email_hash = ?",
                                (Keyring(cls.db).email_hash(cls.me["email"]),)).fetchone()[0]
        assert con.execute("SELECT group_concat(location_id) FROM client_location WHERE client_id = ?",
                           (cls.me_id,)).fetchone()[0] == cls.loc[A]
        cls.other_id = con.execute("SELECT client_id FROM client_location WHERE location_id = ? AND client_id != ? "
                                   "ORDER BY client_id", (cls.loc[A], cls.me_id)).fetchone()[0]
        # a client known only at A, to be moved to B
        cls.mover = con.execute("SELECT cl.client_id FROM client_location cl JOIN consent c ON "
                                "c.client_id = cl.client_id GROUP BY cl.client_id HAVING count(DISTINCT "
                                "cl.location_id) = 1 AND min(cl.location_id) = ? AND cl.client_id != ? "
                                "ORDER BY cl.client_id LIMIT 1", (cls.loc[A], cls.me_id)).fetchone()[0]
        cls.spec_b = con.execute("SELECT s.id FROM staff s JOIN staff_location sl ON sl.staff_id = s.id WHERE "
                                 "s.role = 'specialist' AND sl.location_id = ? ORDER BY s.id",
                                 (cls.loc[B],)).fetchone()[0]
        con.close()

    # ---- helpers ----

    def rows(self, sql, *args):
        con = sqlite3.connect(self.db)
        con.row_factory = sqlite3.Row
        out = con.execute(sql, args).fetchall()
        con.close()
        return out

    def consent(self, mid, f, cid=None, op="create", tbl="consent"):
        return {"mid": mid, "tbl": tbl, "id": cid or uuid7(), "op": op, "base": 0 if op == "create" else 1,
                "f": f, "at": int(time.time() * 1000)}

    async def synced_peer(self, acc):
        """A signed-in peer that has its snapshot: (peer, {(tbl, id): f})."""
        p = await h.Peer(self.server).connect()
        await p.hello()
        ok = await p.login(acc)
        assert ok["t"] == "auth_ok", ok
        return p, await p.snapshot()

    async def push(self, p, muts):
        await p.send({"t": "push", "muts": muts})
        m, _ = await p.recv_until("push_result", 15)
        return m["results"]

    async def wait_put(self, p, tbl, rid, timeout=10):
        """The f of the first put of (tbl, rid) on p's stream, or None."""
        end = time.monotonic() + timeout
        try:
            while True:
                m = await p.recv(max(0.01, end - time.monotonic()))
                for op in m.get("ops", []) if m["t"] == "changes" else []:
                    if op["op"] == "put" and op["tbl"] == tbl and op["id"] == rid:
                        return op["f"]
        except asyncio.TimeoutError:
            return None

    def pushed(self, acc, muts):
        async def go():
            p = await h.Peer(self.server).connect()
            await p.hello()
            ok = await p.login(acc)
            assert ok["t"] == "auth_ok", ok
            res = await self.push(p, muts)
            await p.close()
            return res
        return h.run(go())

    def rejected(self, acc, f, code, needle, **kw):
        res = self.pushed(acc, [self.consent(1, f, **kw)])[0]
        self.assertEqual((res["status"], res.get("code")), ("rejected", code), res)
        self.assertIn(needle, res["msg"])

    def cli(self, *args):
        return subprocess.run([h.SERVER, "admin", "--db", self.db] + list(args), capture_output=True, text=True)

    # ---- the main scenario ----

    def test_client_withdraws_and_reception_sees_it_live(self):
        rec_a = h.account(self.accounts, "reception", A)
        rec_b = h.account(self.accounts, "reception", B)
        before = self.rows("SELECT count(*) FROM consent WHERE client_id = ? AND purpose = 'marketing_email'",
                           self.me_id)[0][0]

        async def go():
            ra, snap_a = await self.synced_peer(rec_a)
            rb, snap_b = await self.synced_peer(rec_b)
            me, mine = await self.synced_peer(self.me)
            # what each had at the start: reception A the client's consents, B none
            own = {k for k in snap_a if k[0] == "consent" and snap_a[k]["client_id"] == self.me_id}
            self.assertTrue(own)
            self.assertFalse([k for k in snap_b if k[0] == "consent" and snap_b[k]["client_id"] == self.me_id])
            self.assertEqual(own, {k for k in mine if k[0] == "consent"})
            self.assertTrue(all("recorded_by" not in mine[k] for k in own))
            grant, withdraw = uuid7(), uuid7()
            t0 = int(time.time() * 1000)
            res = await self.push(me, [
                self.consent(1, {"client_id": self.me_id, "purpose": "marketing_email", "granted": True,
                                 "text_version": "mkt-2025-02", "at": t0 - 60000}, grant),
                self.consent(2, {"client_id": self.me_id, "purpose": "marketing_email", "granted": False,
                                 "source": "portal", "text_version": "mkt-2025-02"}, withdraw)])
            self.assertEqual([r["status"] for r in res], ["applied", "applied"], res)
            f = await self.wait_put(ra, "consent", withdraw)
            self.assertIsNotNone(f, "reception A did not see the withdrawal live")
            self.assertEqual((f["client_id"], f["purpose"], f["granted"], f["source"], f["text_version"],
                              f["recorded_kind"], f["recorded_by"]),
                             (self.me_id, "marketing_email", False, "portal", "mkt-2025-02", "client", self.me_id))
            self.assertGreaterEqual(f["at"], t0)
            # the other branch never hears of it
            self.assertIsNone(await self.wait_put(rb, "consent", withdraw, timeout=1))
            for p in (ra, rb, me):
                await p.close()
            return grant, withdraw

        grant, withdraw = h.run(go())
        hist = self.rows("SELECT id, granted, source, recorded_kind FROM consent WHERE client_id = ? AND "
                         "purpose = 'marketing_email' ORDER BY at", self.me_id)
        self.assertEqual(len(hist), before + 2)                       # history kept
        self.assertEqual([tuple(r) for r in hist[-2:]],
                         [(grant, 1, "portal", "client"), (withdraw, 0, "portal", "client")])
        out = self.cli("consent", "show", self.me_id)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("state\tmarketing_email\twithdrawn", out.stdout)  # state = latest
        audit = self.rows("SELECT actor_kind, actor_id FROM audit WHERE entity = 'consent' AND entity_id = ?",
                          withdraw)
        self.assertEqual([tuple(r) for r in audit], [("client", self.me_id)])

    def test_withdrawal_drops_queued_marketing_mail(self):
        # messages a consent governs are queued under its purpose; due far in the future so the
        # mail worker leaves them alone while we look
        con = sqlite3.connect(self.db, timeout=10)
        org = con.execute("SELECT org_id FROM client WHERE id = ?", (self.me_id,)).fetchone()[0]
        ids = {}
        for purpose in ("marketing_email", "review_requests", "portal_setup"):
            cur = con.execute("INSERT INTO outbox(org_id, client_id, purpose, to_addr, subject, body, state, "
                              "attempts, next_at, created_at) VALUES(?, ?, ?, 'me@example.org', 's', 'b', 'queued', "
                              "0, 4102444800000, 0)", (org, self.me_id, purpose))
            ids[purpose] = cur.lastrowid
        con.commit()
        con.close()

        async def go():
            me, _ = await self.synced_peer(self.me)
            res = await self.push(me, [self.consent(1, {"client_id": self.me_id, "purpose": "marketing_email",
                                                        "granted": False, "text_version": "mkt-2025-02"}, uuid7())])
            await me.close()
            return res
        res = h.run(go())
        self.assertEqual(res[0]["status"], "applied", res)
        state = {p: self.rows("SELECT state, to_addr FROM outbox WHERE id = ?", i)[0] for p, i in ids.items()}
        self.assertEqual(tuple(state["marketing_email"]), ("dropped", ""), "withdrawal takes effect at once")
        self.assertEqual(state["review_requests"][0], "queued", "other purposes stay")
        self.assertEqual(state["portal_setup"][0], "queued", "mail no consent governs stays")

    def test_late_offline_entry_is_history_not_state(self):
        rec = h.account(self.accounts, "reception", A)
        now = int(time.time() * 1000)
        res = self.pushed(rec, [
            self.consent(1, {"client_id": self.other_id, "purpose": "marketing_sms", "granted": False,
                             "text_version": "v1", "at": now}),
            # made offline an hour earlier, arrives later
            self.consent(2, {"client_id": self.other_id, "purpose": "marketing_sms", "granted": True,
                             "text_version": "v1", "at": now - 3600000})])
        self.assertEqual([r["status"] for r in res], ["applied", "applied"], res)
        out = self.cli("consent", "show", self.other_id)
        self.assertIn("state\tmarketing_sms\twithdrawn", out.stdout)

    # ---- who may record what ----

    def test_client_records_only_their_own_on_the_portal(self):
        self.rejected(self.me, {"client_id": self.other_id, "purpose": "marketing_email", "granted": False,
                                "text_version": "v1"}, "forbidden", "only for themselves")
        self.rejected(self.me, {"client_id": self.me_id, "purpose": "marketing_email", "granted": False,
                                "source": "in_salon", "text_version": "v1"}, "forbidden", "source portal")
        self.rejected(self.me, {"client_id": self.me_id, "purpose": "photo_use", "granted": True,
                                "text_version": "v1", "recorded_by": self.other_id}, "forbidden",
                      "consent.recorded_by")
        # a client still writes nothing else
        res = self.pushed(self.me, [{"mid": 1, "tbl": "client", "id": self.me_id, "op": "update", "base": 1,
                                     "f": {"phone": "+386 40 111 222"}, "at": 1}])[0]
        self.assertEqual((res["status"], res["code"]), ("rejected", "forbidden"))

    def test_staff_rules(self):
        rec_a = h.account(self.accounts, "reception", A)
        rec_b = h.account(self.accounts, "reception", B)
        spec_a = h.account(self.accounts, "specialist", A)
        ok = {"client_id": self.me_id, "purpose": "photo_use", "granted": True, "text_version": "photo-v2"}
        self.rejected(rec_a, dict(ok, source="portal"), "forbidden", "in_salon")
        # another branch: the same answer as for an id that does not exist (tests/security/test_writes.py)
        self.rejected(rec_b, ok, "not_found", "no such client")
        self.rejected(spec_a, dict(ok, purpose="marketing_email"), "forbidden", "photo_use and health_data")
        res = self.pushed(spec_a, [self.consent(1, ok)])[0]
        self.assertEqual(res["status"], "applied", res)
        row = self.rows("SELECT recorded_kind, source FROM consent ORDER BY rowid DESC LIMIT 1")[0]
        self.assertEqual(tuple(row), ("staff", "in_salon"))

    def test_bad_values_have_specific_codes(self):
        rec = h.account(self.accounts, "reception", A)
        base = {"client_id": self.me_id, "purpose": "photo_use", "granted": True, "text_version": "v1"}
        self.rejected(rec, dict(base, purpose="newsletter"), "invalid", "purpose is one of")
        self.rejected(rec, dict(base, source="fax"), "invalid", "source is one of")
        self.rejected(rec, dict(base, granted="yes"), "invalid", "true or false")
        self.rejected(rec, {k: v for k, v in base.items() if k != "granted"}, "invalid", "needs granted")
        self.rejected(rec, {k: v for k, v in base.items() if k != "text_version"}, "invalid", "text_version")
        self.rejected(rec, dict(base, text_version="x" * 65), "invalid", "64 bytes")
        self.rejected(rec, dict(base, at=int(time.time() * 1000) + 3600000), "invalid", "future")
        self.rejected(rec, dict(base, at=1700000000), "invalid", "milliseconds")
        self.rejected(rec, dict(base, client_id=str(uuid.uuid4())), "not_found", "no such client")

    def test_history_is_append_only(self):
        rec = h.account(self.accounts, "reception", A)
        cid = self.rows("SELECT id FROM consent WHERE client_id = ? LIMIT 1", self.me_id)[0][0]
        self.rejected(rec, {"granted": False}, "append_only", "append-only", cid=cid, op="update")
        # and the database refuses it too, whoever asks
        con = sqlite3.connect(self.db)
        with self.assertRaises(sqlite3.DatabaseError):
            con.execute("UPDATE consent SET granted = 1 - granted WHERE id = ?", (cid,))
        con.close()

    def test_replay_is_applied_once(self):
        rec = h.account(self.accounts, "reception", A)
        dev = str(uuid.uuid4())
        mut = self.consent(7, {"client_id": self.other_id, "purpose": "review_requests", "granted": True,
                               "text_version": "rev-1"})

        async def go():
            out = []
            for _ in range(2):
                p = await h.Peer(self.server, dev).connect()
                await p.hello()
                await p.login(rec)
                out.append((await self.push(p, [mut]))[0])
                await p.close()
            return out
        first, again = h.run(go())
        self.assertEqual(first["status"], "applied")
        self.assertEqual(again["status"], "duplicate")
        self.assertEqual(self.rows("SELECT count(*) FROM consent WHERE id = ?", mut["id"])[0][0], 1)

    # ---- who sees what ----

    def test_specialist_sees_photo_and_health_consents_only(self):
        async def go():
            p, snap = await self.synced_peer(h.account(self.accounts, "specialist", A))
            await p.close()
            return snap
        snap = h.run(go())
        purposes = {f["purpose"] for (t, _), f in snap.items() if t == "consent"}
        self.assertEqual(purposes, {"photo_use", "health_data"})

    def test_specialist_stream_never_names_marketing_entries(self):
        spec = h.account(self.accounts, "specialist", A)
        rec = h.account(self.accounts, "reception", A)
        mkt, photo = uuid7(), uuid7()

        async def go():
            p, _ = await self.synced_peer(spec)
            res = self.pushed  # pushed() runs its own loop: use a thread
            out = await asyncio.get_running_loop().run_in_executor(None, lambda: res(rec, [
                self.consent(1, {"client_id": self.me_id, "purpose": "marketing_email", "granted": True,
                                 "text_version": "v1"}, mkt),
                self.consent(2, {"client_id": self.me_id, "purpose": "photo_use", "granted": False,
                                 "text_version": "v1"}, photo)]))
            self.assertEqual([r["status"] for r in out], ["applied", "applied"], out)
            ids = []
            end = time.monotonic() + 10
            while photo not in ids and time.monotonic() < end:
                m = await p.recv(10)
                ids += [op["id"] for op in m.get("ops", [])]
            await p.close()
            return ids
        ids = h.run(go())
        self.assertIn(photo, ids)
        self.assertNotIn(mkt, ids)  # neither put nor evict: its id stays unsaid

    def test_consents_follow_their_client_to_another_branch(self):
        rec_b = h.account(self.accounts, "reception", B)
        theirs = {r[0] for r in self.rows("SELECT id FROM consent WHERE client_id = ?", self.mover)}

        async def go():
            p, snap = await self.synced_peer(rec_b)
            self.assertFalse(theirs & {i for t, i in snap if t == "consent"})
            # 02:00 UTC, 40 days ahead: outside opening hours, so no booking is in the way
            start = "%d" % ((int(time.time() * 1000) // 86400000 + 40) * 86400000 + 2 * 3600000)
            await asyncio.get_running_loop().run_in_executor(None, lambda: self.server.admin(
                "appointment", "create", "--location", self.loc[B], "--client", self.mover, "--specialist",
                self.spec_b, "--start", start, "--duration", "30"))
            seen = set()
            end = time.monotonic() + 10
            while seen != theirs and time.monotonic() < end:
                m = await p.recv(10)
                seen |= {op["id"] for op in m.get("ops", []) if op["tbl"] == "consent" and op["op"] == "put"}
            await p.close()
            return seen
        self.assertEqual(h.run(go()), theirs)

    def test_admin_command(self):
        out = self.cli("consent", self.other_id, "birthday_greetings", "withdraw", "--source", "email_link",
                       "--text-version", "bd-3")
        self.assertEqual(out.returncode, 0, out.stderr)
        row = self.rows("SELECT source, recorded_kind, recorded_by FROM consent WHERE id = ?", h.created_id(out.stdout))
        self.assertEqual(tuple(row[0]), ("email_link", "operator", None))
        show = self.cli("consent", "show", self.other_id).stdout
        self.assertIn("state\tbirthday_greetings\twithdrawn", show)
        bad = self.cli("consent", self.other_id, "birthday_greetings", "withdraw", "--source", "portal",
                       "--text-version", "bd-3")
        self.assertEqual(bad.returncode, 1)
        self.assertIn("portal", bad.stderr)
        bad = self.cli("consent", self.other_id, "newsletter", "grant", "--text-version", "x")
        self.assertEqual(bad.returncode, 1)
        self.assertIn("purpose is one of", bad.stderr)
        self.assertEqual(self.cli("consent", self.other_id, "photo_use", "maybe").returncode, 2)


if __name__ == "__main__":
    h.main()
