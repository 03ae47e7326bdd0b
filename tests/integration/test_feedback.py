"""Reviews and satisfaction (issue 21): a client rates their own visit once
from the portal (a push create of a `review` row) and may change it for a
week; the branch's staff get it on their devices, other branches do not;
owners and managers reply (signed with their name), highlight and hide; the
public feed of a branch shows shown reviews with a first name and initial
only when the client agreed; statistics by the CLI and the protocol; export
and erasure. The real server with demo data, raw protocol peers, the admin
command line and plain reads of the database."""
import asyncio
import json
import sqlite3
import time
import urllib.request
import uuid

import kt_harness as h
import oracle

A, B = "Lepota Center", "Lepota Maribor"
DAY = 86400000


class FeedbackTest(h.DemoServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        con = sqlite3.connect(cls.db)
        cls.loc = dict(con.execute("SELECT name, id FROM location"))
        con.close()
        cls.client_acc = h.account(cls.accounts, "client", A)
        cls.cid = oracle.principal(cls.db, cls.client_acc["email"])[1]
        cls.mid = 0

    def q(self, sql, *args):
        con = sqlite3.connect(self.db, timeout=10)
        rows = con.execute(sql, args).fetchall()
        con.commit()
        con.close()
        return rows

    def visits(self, cid, loc=A):
        return [r[0] for r in self.q("SELECT id FROM visit WHERE client_id = ? AND location_id = ? ORDER BY id",
                                     cid, self.loc[loc])]

    def free_visit(self, cid, loc=A, day=None):
        """A new visit of cid at loc (recorded by the owner's tablet), so no review yet."""
        spec = self.q("SELECT s.id FROM staff s JOIN staff_location sl ON sl.staff_id = s.id WHERE s.role = "
                      "'specialist' AND s.active = 1 AND sl.location_id = ? ORDER BY s.id", self.loc[loc])[0][0]
        vid = str(uuid.uuid4())
        r = self.pushed(h.account(self.accounts, "owner"), {
            "op": "create", "tbl": "visit", "id": vid, "base": 0,
            "f": {"location_id": self.loc[loc], "client_id": cid, "specialist_id": spec,
                  "visit_date": day or time.strftime("%Y-%m-%d"), "services": []}})[0]
        assert r["status"] == "applied", r
        return vid

    async def push(self, p, *muts):
        out = []
        for m in muts:
            FeedbackTest.mid += 1
            out.append(dict({"mid": FeedbackTest.mid, "at": 1}, **m))
        await p.send({"t": "push", "muts": out})
        m, _ = await p.recv_until("push_result")
        return m["results"]

    def pushed(self, acc, *muts):
        async def go():
            p = await self.signed_in(acc)
            res = await self.push(p, *muts)
            await p.close()
            return res
        return h.run(go())

    def create(self, visit, stars=5, text="Lovely cut", public_ok=True, acc=None):
        rid = str(uuid.uuid4())
        f = {"visit_id": visit, "stars": stars, "public_ok": public_ok}
        if text is not None:
            f["text"] = text
        r = self.pushed(acc or self.client_acc, {"op": "create", "tbl": "review", "id": rid, "base": 0, "f": f})[0]
        return rid, r

    def snapshot(self, acc):
        async def go():
            p = await self.signed_in(acc)
            rows = await p.snapshot()
            await p.close()
            return rows
        return h.run(go())

    # ---- the client's review ----

    def test_client_reviews_own_visit_once(self):
        visit = self.free_visit(self.cid)
        rid, r = self.create(visit, 4, "Lovely cut, a bit late")
        self.assertEqual(r["status"], "applied", r)
        row = self.server_row("review", rid)
        vrow = self.server_row("visit", visit)
        self.assertEqual((row["client_id"], row["location_id"], row["specialist_id"], row["stars"]),
                         (self.cid, vrow["location_id"], vrow["specialist_id"], 4))
        self.assertEqual(row["text"], "Lovely cut, a bit late")
        self.assertLess(abs(row["created_at"] - time.time() * 1000), 60000)
        # sealed at rest with the client's key
        raw = self.q("SELECT text FROM review WHERE id = ?", rid)[0][0]
        self.assertNotIn(b"Lovely", raw if isinstance(raw, bytes) else raw.encode())
        # a second review of the same visit: a conflict naming the first
        rid2, r = self.create(visit, 1, "again")
        self.assertEqual((r["status"], r["code"]), ("rejected", "conflict"), r)
        self.assertIn(rid, r["msg"])
        self.assertIsNone(self.server_row("review", rid2))
        # the client changes the stars within the week
        r = self.pushed(self.client_acc, {"op": "update", "tbl": "review", "id": rid, "base": 1, "f": {"stars": 5}})[0]
        self.assertEqual(r["status"], "applied", r)
        self.assertEqual(self.server_row("review", rid)["stars"], 5)

    def test_not_another_clients_visit(self):
        other = next(a for a in self.accounts if a["role"] == "client" and a["email"] != self.client_acc["email"])
        ocid = oracle.principal(self.db, other["email"])[1]
        visit = self.free_visit(ocid, other["location"])
        _, r = self.create(visit)
        self.assertEqual((r["status"], r["code"]), ("rejected", "not_found"), r)
        self.assertIn("visit_id", r["msg"])
        _, r = self.create(str(uuid.uuid4()))
        self.assertEqual((r["status"], r["code"]), ("rejected", "not_found"), r)

    def test_bad_values_name_the_field_and_rule(self):
        visit = self.free_visit(self.cid)
        for stars in (0, 6):
            _, r = self.create(visit, stars)
            self.assertEqual((r["status"], r["code"]), ("rejected", "invalid"), r)
            self.assertEqual(r["msg"], "stars must be a whole number from 1 to 5")
        _, r = self.create(visit, 3, "x" * 2001)
        self.assertEqual((r["status"], r["code"]), ("rejected", "invalid"), r)
        self.assertEqual(r["msg"], "text must be text of at most 2000 bytes")
        # what the server fills in is nobody's to send
        rid = str(uuid.uuid4())
        r = self.pushed(self.client_acc, {"op": "create", "tbl": "review", "id": rid, "base": 0,
                                          "f": {"visit_id": visit, "stars": 3, "location_id": self.loc[B]}})[0]
        self.assertEqual((r["status"], r["code"]), ("rejected", "forbidden"), r)
        self.assertIn("review.location_id", r["msg"])

    def test_staff_may_not_write_a_review_nor_a_client_the_reply(self):
        visit = self.free_visit(self.cid)
        _, r = self.create(visit, 3, acc=h.account(self.accounts, "reception", A))
        self.assertEqual((r["status"], r["code"]), ("rejected", "forbidden"), r)
        rid, r = self.create(visit, 3, "ok")
        self.assertEqual(r["status"], "applied", r)
        r = self.pushed(self.client_acc, {"op": "update", "tbl": "review", "id": rid, "base": 1,
                                          "f": {"reply": "I reply to myself"}})[0]
        self.assertEqual((r["status"], r["code"]), ("rejected", "forbidden"), r)
        r = self.pushed(h.account(self.accounts, "reception", A),
                        {"op": "update", "tbl": "review", "id": rid, "base": 1, "f": {"hidden": True}})[0]
        self.assertEqual((r["status"], r["code"]), ("rejected", "forbidden"), r)

    def test_edit_after_a_week_is_refused(self):
        visit = self.free_visit(self.cid)
        rid, r = self.create(visit, 2, "slow")
        self.assertEqual(r["status"], "applied", r)
        # written eight days ago (the server reads created_at from the row)
        self.q("UPDATE review SET created_at = created_at - 8 * 86400000 WHERE id = ?", rid)
        r = self.pushed(self.client_acc, {"op": "update", "tbl": "review", "id": rid, "base": 1, "f": {"stars": 5}})[0]
        self.assertEqual((r["status"], r["code"]), ("rejected", "forbidden"), r)
        self.assertIn("7 days", r["msg"])
        self.assertEqual(self.server_row("review", rid)["stars"], 2)

    # ---- who gets it ----

    def test_branch_staff_get_it_live_other_branches_do_not(self):
        visit = self.free_visit(self.cid)
        spec_id = self.server_row("visit", visit)["specialist_id"]
        spec = next(a for a in self.accounts if a["role"] == "specialist" and
                    oracle.principal(self.db, a["email"])[1] == spec_id)
        rid = str(uuid.uuid4())

        async def put_of(p, timeout):
            end = time.monotonic() + timeout
            try:
                while True:
                    m = await p.recv(max(0.01, end - time.monotonic()))
                    for op in m.get("ops", []) if m.get("t") == "changes" else []:
                        if op["tbl"] == "review" and op["id"] == rid:
                            return op
            except asyncio.TimeoutError:
                return None

        async def go():
            here = [await self.signed_in(a) for a in (h.account(self.accounts, "reception", A), spec,
                                                      h.account(self.accounts, "owner"))]
            away = await self.signed_in(h.account(self.accounts, "reception", B))
            for p in here + [away]:
                await p.snapshot()
            me = await self.signed_in(self.client_acc)
            res = await self.push(me, {"op": "create", "tbl": "review", "id": rid, "base": 0,
                                       "f": {"visit_id": visit, "stars": 5, "text": "Best colour ever"}})
            self.assertEqual(res[0]["status"], "applied", res)
            got = [await put_of(p, 10) for p in here]
            miss = await put_of(away, 1.5)
            for p in here + [away, me]:
                await p.close()
            return got, miss
        got, miss = h.run(go())
        for op in got:
            self.assertIsNotNone(op)
            self.assertEqual((op["f"]["stars"], op["f"]["text"]), (5, "Best colour ever"))
        self.assertIsNone(miss)
        self.assertNotIn(("review", rid), self.snapshot(h.account(self.accounts, "reception", B)))

    def test_owner_replies_and_the_client_reads_it_by_name(self):
        visit = self.free_visit(self.cid)
        rid, r = self.create(visit, 3, "Fine")
        self.assertEqual(r["status"], "applied", r)
        owner = h.account(self.accounts, "owner")
        r = self.pushed(owner, {"op": "update", "tbl": "review", "id": rid, "base": 1,
                                "f": {"reply": "Thank you, see you soon!", "highlighted": True}})[0]
        self.assertEqual(r["status"], "applied", r)
        name = self.q("SELECT display_name FROM staff WHERE email = ?", owner["email"])[0][0]
        mine = self.snapshot(self.client_acc)[("review", rid)]
        self.assertEqual((mine["reply"], mine["reply_name"]), ("Thank you, see you soon!", name))
        self.assertNotIn("reply_by", mine)
        self.assertNotIn("hidden", mine)
        row = self.server_row("review", rid)
        self.assertEqual(row["reply_by"], oracle.principal(self.db, owner["email"])[1])
        self.assertEqual(row["highlighted"], 1)


if __name__ == "__main__":
    h.main()
