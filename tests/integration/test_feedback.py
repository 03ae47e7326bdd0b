"""Reviews and satisfaction: a client rates their own visit once
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
import subprocess
import time
import urllib.request
import uuid

import kt_harness as h
import oracle

A, B = "Lepota Center", "Lepota Maribor"
DAY = 86400000


class FeedbackBase(h.DemoServerTest):
    """The demo server and helpers; no tests of its own."""
    mid = 0  # mutation ids, increasing across the peers (each a new device)
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        con = sqlite3.connect(cls.db)
        cls.loc = dict(con.execute("SELECT name, id FROM location"))
        con.close()
        cls.client_acc = h.account(cls.accounts, "client", A)
        cls.cid = oracle.principal(cls.db, cls.client_acc["email"])[1]

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
            FeedbackBase.mid += 1
            out.append(dict({"mid": FeedbackBase.mid, "at": 1}, **m))
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

    def manage(self, acc, msg):
        async def go():
            p = await self.signed_in(acc)
            await p.send(dict({"t": "manage"}, **msg))
            while True:
                m = await p.recv()
                if m["t"] in ("manage_result", "error"):
                    await p.close()
                    return m
        return h.run(go())



class FeedbackTest(FeedbackBase):
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

    # ---- the public feed ----

    def feed(self, loc_id):
        with urllib.request.urlopen("http://127.0.0.1:%d/api/reviews/%s" % (self.server.port, loc_id),
                                    timeout=10) as r:
            return r.status, r.headers, json.loads(r.read())

    def test_public_feed_shows_first_name_and_initial_and_hides_hidden(self):
        shown, r = self.create(self.free_visit(self.cid), 5, "Perfect balayage", True)
        self.assertEqual(r["status"], "applied", r)
        anon, r = self.create(self.free_visit(self.cid), 4, "Nice, no name please", False)
        self.assertEqual(r["status"], "applied", r)
        gone, r = self.create(self.free_visit(self.cid), 1, "Rude staff", True)
        self.assertEqual(r["status"], "applied", r)
        self.server.admin("review", "hide", gone)
        self.server.admin("review", "reply", shown, "Thank you!", "--by", h.account(self.accounts, "manager", A)["email"])
        status, headers, doc = self.feed(self.loc[A])
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("Access-Control-Allow-Origin"), "*")
        self.assertEqual(headers.get("Cache-Control"), "max-age=60")
        self.assertEqual(doc["location"], {"name": A})
        texts = {x["text"]: x for x in doc["reviews"]}
        self.assertIn("Perfect balayage", texts)
        self.assertNotIn("Rude staff", texts)
        full = self.server_row("client", self.cid)["name"].split()
        self.assertEqual(texts["Perfect balayage"]["name"], "%s %s." % (full[0], full[-1][0]))
        self.assertEqual(texts["Perfect balayage"]["reply"], "Thank you!")
        self.assertIsNone(texts["Nice, no name please"]["name"])
        raw = json.dumps(doc)
        self.assertNotIn(full[-1], raw)  # no surname
        self.assertNotIn(self.cid, raw)  # no ids
        self.assertNotIn(shown, raw)
        self.assertEqual(doc["count"], len(self.q("SELECT 1 FROM review WHERE location_id = ? AND hidden = 0",
                                                  self.loc[A])))
        # shown again: back in the feed; an unknown location: 404
        self.server.admin("review", "show", gone)
        self.assertIn("Rude staff", {x["text"] for x in self.feed(self.loc[A])[2]["reviews"]})
        with self.assertRaises(urllib.error.HTTPError) as e:
            self.feed(str(uuid.uuid4()))
        self.assertEqual(e.exception.code, 404)

    # ---- manage ops ----

    def test_manage_review_reply_and_set(self):
        rid, r = self.create(self.free_visit(self.cid), 2, "Waited long")
        self.assertEqual(r["status"], "applied", r)
        mgr_b = h.account(self.accounts, "manager", B)
        m = self.manage(mgr_b, {"op": "review_reply", "id": rid, "reply": "Sorry"})
        self.assertEqual((m["t"], m["code"]), ("error", "forbidden"), m)
        spec = h.account(self.accounts, "specialist", A)
        m = self.manage(spec, {"op": "review_set", "id": rid, "hidden": True})
        self.assertEqual((m["t"], m["code"]), ("error", "forbidden"), m)
        mgr = h.account(self.accounts, "manager", A)
        m = self.manage(mgr, {"op": "review_reply", "id": rid, "reply": "Sorry for the wait"})
        self.assertEqual((m["t"], m["op"], m["id"]), ("manage_result", "review_reply", rid), m)
        m = self.manage(mgr, {"op": "review_set", "id": rid, "hidden": True, "highlighted": False})
        self.assertEqual(m["t"], "manage_result", m)
        row = self.server_row("review", rid)
        name = self.q("SELECT display_name FROM staff WHERE email = ?", mgr["email"])[0][0]
        self.assertEqual((row["reply"], row["reply_name"], row["hidden"]), ("Sorry for the wait", name, 1))
        m = self.manage(mgr, {"op": "reviews", "location": self.loc[A]})
        mine = [x for x in m["reviews"] if x["id"] == rid]
        self.assertEqual((mine[0]["stars"], mine[0]["reply"], mine[0]["hidden"]), (2, "Sorry for the wait", True))
        m = self.manage(mgr, {"op": "review_reply", "id": rid, "reply": None})
        self.assertEqual(m["t"], "manage_result", m)
        row = self.server_row("review", rid)
        self.assertEqual((row["reply"], row["reply_name"], row["replied_at"]), (None, None, None))

    # ---- review and survey links ----

    def issue(self, kind, client, target):
        url = self.server.admin("link", "issue", "--kind", kind, "--client", client, "--target", target)
        return url.split("\n")[-1].rsplit("/", 1)[1]

    def link(self, op, token, **more):
        async def go():
            p = await h.Peer(self.server).connect()
            await p.hello()
            await p.send(dict({"t": "link", "op": op, "token": token}, **more))
            m = await p.recv()
            await p.close()
            return m
        return h.run(go())

    def test_review_by_link_is_the_same_review_as_by_portal(self):
        visit = self.free_visit(self.cid)
        tok = self.issue("review", self.cid, visit)
        m = self.link("open", tok)
        self.assertEqual((m["t"], m["kind"], m["done"], m["review"]), ("link_result", "review", False, None), m)
        self.assertEqual(m["visit"]["date"], self.server_row("visit", visit)["visit_date"])
        m = self.link("act", tok, stars=6)
        self.assertEqual((m["t"], m["code"]), ("error", "invalid"), m)
        self.assertIn("stars", m["msg"])
        m = self.link("act", tok, stars=4, text="Good, by link", public_ok=True)
        self.assertEqual((m["t"], m["review"]["stars"], m["review"]["text"], m["done"]),
                         ("link_result", 4, "Good, by link", True), m)
        rid = self.q("SELECT id FROM review WHERE visit_id = ?", visit)[0][0]
        # the portal cannot add a second one for the visit; the link changes the same row
        _, r = self.create(visit, 1, "again")
        self.assertEqual((r["status"], r["code"]), ("rejected", "conflict"), r)
        self.assertIn(rid, r["msg"])
        m = self.link("act", tok, stars=5, text="Even better")
        self.assertEqual(m["review"]["stars"], 5, m)
        self.assertEqual(self.q("SELECT count(*) FROM review WHERE visit_id = ?", visit)[0][0], 1)
        self.assertEqual(self.server_row("review", rid)["text"], "Even better")

    def test_survey_link_checks_the_range_and_records_the_answer(self):
        visit = self.free_visit(self.cid)
        tok = self.issue("survey", self.cid, visit + ":nps")
        m = self.link("open", tok)
        self.assertEqual((m["question"], m["min"], m["max"], m["answer"], m["done"]), ("nps", 0, 10, None, False), m)
        m = self.link("act", tok, score=11)
        self.assertEqual((m["t"], m["code"]), ("error", "invalid"), m)
        self.assertIn("score", m["msg"])
        m = self.link("act", tok, score=9)
        self.assertEqual((m["answer"], m["done"]), (9, True), m)
        self.assertEqual(self.q("SELECT kind, score, client_id FROM survey_answer WHERE visit_id = ?", visit),
                         [("nps", 9, self.cid)])
        tok = self.issue("survey", self.cid, visit + ":csat")
        m = self.link("act", tok, score=0)
        self.assertEqual((m["t"], m["code"]), ("error", "invalid"), m)
        self.assertIn("from 1 to 5", m["msg"])


def today(days=0):
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() + days * 86400))


class StatsTest(FeedbackBase):
    """The figures from the CLI and the protocol, on answers at Maribor only:
    three reviews (5 4 2: 3.7), ten NPS answers (10 10 10 9 8 7 7 6 2 0: NPS 10
    with 4 promoters, 3 passives, 3 detractors), four review requests sent
    (3 of 4 answered: 75 %)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.client_b = h.account(cls.accounts, "client", B)
        cls.cid_b = oracle.principal(cls.db, cls.client_b["email"])[1]

    def setUp(self):
        if getattr(StatsTest, "ready", False):
            return
        StatsTest.ready = True
        for stars in (5, 4, 2):
            _, r = self.create(self.free_visit(self.cid_b, B), stars, None, acc=self.client_b)
            assert r["status"] == "applied", r
        now = int(time.time() * 1000)
        org = self.q("SELECT org_id FROM location WHERE id = ?", self.loc[B])[0][0]
        for i, score in enumerate((10, 10, 10, 9, 8, 7, 7, 6, 2, 0)):
            self.q("INSERT INTO survey_answer(id, org_id, location_id, kind, score, created_at) VALUES(?, ?, ?, "
                   "'nps', ?, ?)", str(uuid.uuid4()), org, self.loc[B], score, now - i * 1000)
        for i in range(4):
            self.q("INSERT INTO outbox(org_id, purpose, to_addr, subject, body, state, next_at, created_at, "
                   "sent_at, location_id) VALUES(?, 'review_request', '', '', '', 'sent', ?, ?, ?, ?)",
                   org, now, now, now - i * 1000, self.loc[B])

    def stats_cli(self, *args):
        out = subprocess.run([h.SERVER, "stats", "--db", self.db] + list(args), capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout

    def test_cli_json_numbers(self):
        doc = json.loads(self.stats_cli("--from", today(-1), "--to", today(1), "--location", B, "--json"))
        total = [l for l in doc["lines"] if l["period"] == "total"]
        self.assertEqual(len(total), 1)
        f = total[0]["figures"]
        self.assertEqual(total[0]["name"], B)
        self.assertEqual((f["reviews"], f["stars"], f["rating_avg"]), (3, [0, 1, 0, 1, 1], 3.7))
        self.assertEqual((f["nps_answers"], f["promoters"], f["passives"], f["detractors"], f["nps"]),
                         (10, 4, 3, 3, 10.0))
        self.assertEqual((f["review_requests"], f["review_rate"]), (4, 75.0))
        self.assertIsNone(f["csat_pct"])

    def test_cli_table_has_names_not_ids(self):
        out = self.stats_cli("--from", today(-1), "--to", today(1), "--by", "location", "--group", "month")
        head = out.splitlines()[0].split()
        self.assertEqual(head[:3], ["location", "period", "reviews"])
        self.assertIn(B, out)
        self.assertNotRegex(out, r"[0-9a-f]{8}-[0-9a-f]{4}-")
        bad = subprocess.run([h.SERVER, "stats", "--db", self.db, "--from", "2026-02-30", "--to", today()],
                             capture_output=True, text=True)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("from must be a date", bad.stderr)

    def test_manage_stats_for_owner_and_manager(self):
        m = self.manage(h.account(self.accounts, "owner"), {"op": "stats", "from": today(-1), "to": today(1),
                                                             "by": "location", "group": "week"})
        self.assertEqual(m["t"], "manage_result", m)
        b = [l for l in m["lines"] if l["name"] == B and l["period"] == "total"][0]
        self.assertEqual((b["figures"]["nps"], b["figures"]["promoters"], b["figures"]["reviews"]), (10.0, 4, 3))
        # a manager of the Center: not Maribor's figures
        mgr = h.account(self.accounts, "manager", A)
        m = self.manage(mgr, {"op": "stats", "from": today(-1), "to": today(1), "location": self.loc[B]})
        self.assertEqual((m["t"], m["code"]), ("error", "forbidden"), m)
        m = self.manage(mgr, {"op": "stats", "from": today(-1), "to": today(1)})
        self.assertEqual({l["name"] for l in m["lines"]} - {A}, set(), m)
        m = self.manage(h.account(self.accounts, "reception", B), {"op": "stats", "from": today(), "to": today()})
        self.assertEqual((m["t"], m["code"]), ("error", "forbidden"), m)
        m = self.manage(mgr, {"op": "stats", "from": "today", "to": today()})
        self.assertEqual((m["t"], m["code"]), ("error", "invalid"), m)


class ExportErasureTest(FeedbackBase):
    def test_export_then_erasure_keeps_only_anonymous_counts(self):
        acc = h.account(self.accounts, "client", A, 1)
        cid = oracle.principal(self.db, acc["email"])[1]
        visit = self.free_visit(cid)
        rid, r = self.create(visit, 4, "Good", acc=acc)
        self.assertEqual(r["status"], "applied", r)
        org = self.q("SELECT org_id FROM location WHERE id = ?", self.loc[A])[0][0]
        self.q("INSERT INTO survey_answer(id, org_id, location_id, client_id, visit_id, kind, score, created_at) "
               "VALUES(?, ?, ?, ?, ?, 'csat', 5, ?)", str(uuid.uuid4()), org, self.loc[A], cid, visit,
               int(time.time() * 1000))
        out = subprocess.run([h.SERVER, "privacy", "export", "--db", self.db, "--client", cid],
                             capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        doc = json.loads(out.stdout)
        self.assertEqual([(x["id"], x["stars"], x["text"]) for x in doc["reviews"]], [(rid, 4, "Good")])
        self.assertEqual([(x["kind"], x["score"]) for x in doc["survey_answers"]], [("csat", 5)])
        before = json.loads(subprocess.run([h.SERVER, "stats", "--db", self.db, "--from", today(-1), "--to",
                                            today(1), "--location", A, "--json"], capture_output=True,
                                           text=True).stdout)

        async def go():
            rec = await self.signed_in(h.account(self.accounts, "reception", A))
            await rec.snapshot()
            res = await asyncio.to_thread(subprocess.run, [h.SERVER, "privacy", "erase", "--db", self.db,
                                                           "--client", cid, "--confirm"],
                                          capture_output=True, text=True)
            self.assertEqual(res.returncode, 0, res.stderr)
            end = time.monotonic() + 10
            while time.monotonic() < end:
                m = await rec.recv(max(0.01, end - time.monotonic()))
                for op in m.get("ops", []) if m.get("t") == "changes" else []:
                    if op["tbl"] == "review" and op["id"] == rid and op["op"] in ("delete", "evict"):
                        await rec.close()
                        return True
            await rec.close()
            return False
        self.assertTrue(h.run(go()), "the review's delete reached the branch's device")
        self.assertEqual(self.q("SELECT count(*) FROM review WHERE client_id = ?", cid)[0][0], 0)
        self.assertEqual(self.q("SELECT count(*) FROM survey_answer WHERE client_id = ?", cid)[0][0], 0)
        self.assertEqual(self.q("SELECT stars FROM review_anon WHERE location_id = ?", self.loc[A]), [(4,)])
        self.assertEqual(self.q("SELECT client_id, visit_id, score FROM survey_answer WHERE kind = 'csat'"),
                         [(None, None, 5)])
        after = json.loads(subprocess.run([h.SERVER, "stats", "--db", self.db, "--from", today(-1), "--to",
                                           today(1), "--location", A, "--json"], capture_output=True,
                                          text=True).stdout)
        tot = lambda d: [l for l in d["lines"] if l["period"] == "total"][0]["figures"]
        self.assertEqual((tot(after)["reviews"], tot(after)["stars"], tot(after)["csat_answers"]),
                         (tot(before)["reviews"], tot(before)["stars"], tot(before)["csat_answers"]))

    def test_merged_cards_keep_the_duplicates_review(self):
        keep = self.cid
        dup = h.created_id(self.server.admin("client", "create", "--name", "Ana Dvojnik", "--location", A))
        visit = self.free_visit(dup)
        url = self.server.admin("link", "issue", "--kind", "review", "--client", dup, "--target", visit)

        async def act():
            p = await h.Peer(self.server).connect()
            await p.hello()
            await p.send({"t": "link", "op": "act", "token": url.rsplit("/", 1)[1], "stars": 3, "text": "Twice"})
            m = await p.recv()
            await p.close()
            return m
        self.assertEqual(h.run(act())["t"], "link_result")
        rid = self.q("SELECT id FROM review WHERE visit_id = ?", visit)[0][0]
        self.server.admin("client", "merge", keep, dup)
        row = self.server_row("review", rid)
        self.assertEqual((row["client_id"], row["text"]), (keep, "Twice"))


if __name__ == "__main__":
    h.main()
