"""Server side of offline edits: pushed mutations are
applied exactly once, merge field by field, obey the booking rules and the
write policy, and every rejection has a specific code. Raw protocol peers."""
import json
import sqlite3
import subprocess
import uuid

import kt_harness as h
from ktcrypt import Keyring

A, B = "Lepota Center", "Lepota Maribor"


class PushTest(h.DemoServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.loc, cls.spec_a, cls.client_a = h.demo_ids(cls.db, A)

    def session(self, acc, device=None):
        """A signed-in raw peer (a tablet) and a push helper."""
        async def go(muts):
            p = await h.Peer(self.server, device).connect()
            await p.hello()
            ok = await p.login(acc)
            assert ok["t"] == "auth_ok", ok
            await p.send({"t": "push", "muts": muts})
            m = await p.recv(15)
            await p.close()
            return m
        return lambda muts: h.run(go(muts))

    def row(self, tbl, rid):
        con = sqlite3.connect(self.db)
        rows = Keyring(self.db).rows(con, "SELECT * FROM %s WHERE id = ?" % tbl, (rid,), tbl)
        con.close()
        return rows[0] if rows else None

    def count(self, sql, *args):
        con = sqlite3.connect(self.db)
        n = con.execute(sql, args).fetchone()[0]
        con.close()
        return n

    def test_different_fields_merge_same_field_conflicts(self):
        rec = h.account(self.accounts, "reception", A)
        mgr = h.account(self.accounts, "manager", A)
        base = self.row("client", self.client_a)["version"]
        t1, t2 = str(uuid.uuid4()), str(uuid.uuid4())
        r1 = self.session(rec, t1)([{"mid": 1, "tbl": "client", "id": self.client_a, "op": "update", "base": base,
                                     "f": {"phone": "+386 40 000 001"}, "at": 1}])
        r2 = self.session(mgr, t2)([{"mid": 1, "tbl": "client", "id": self.client_a, "op": "update", "base": base,
                                     "f": {"preferences": "sparkling water", "phone": "+386 40 000 002"},
                                     "at": 2}])
        self.assertEqual(r1["results"][0]["status"], "applied")
        res = r2["results"][0]
        self.assertEqual(res["status"], "applied")          # preferences merged
        self.assertEqual(res["conflicts"], {"phone": "+386 40 000 001"})  # phone was taken
        row = self.row("client", self.client_a)
        self.assertEqual(row["phone"], "+386 40 000 001")
        self.assertEqual(row["preferences"], "sparkling water")
        # the same field alone: rejected with the current value
        r3 = self.session(mgr, t2)([{"mid": 2, "tbl": "client", "id": self.client_a, "op": "update", "base": base,
                                     "f": {"phone": "+386 40 000 003"}, "at": 3}])
        res = r3["results"][0]
        self.assertEqual((res["status"], res["code"]), ("rejected", "conflict"))
        self.assertEqual(res["current"], {"phone": "+386 40 000 001"})

    def appt(self, aid, start, spec=None):
        return {"mid": 1, "tbl": "appointment", "id": aid, "op": "create", "base": 0, "at": 5,
                "f": {"location_id": self.loc[A], "client_id": self.client_a, "specialist_id": spec or self.spec_a,
                      "start_at": start, "duration_min": 45, "services": [], "status": "booked"}}

    def test_double_booking_first_arrival_wins(self):
        rec = h.account(self.accounts, "reception", A)
        mgr = h.account(self.accounts, "manager", A)
        start = 1893456000000  # 2030-01-01 00:00 UTC, nobody is booked then
        a1, a2 = str(uuid.uuid4()), str(uuid.uuid4())
        r1 = self.session(rec)([self.appt(a1, start)])
        r2 = self.session(mgr)([self.appt(a2, start + 15 * 60000)])
        self.assertEqual(r1["results"][0]["status"], "applied")
        res = r2["results"][0]
        self.assertEqual((res["status"], res["code"]), ("rejected", "conflict"))
        self.assertIn(a1, res["msg"])
        self.assertIsNone(self.row("appointment", a2))

    def test_replay_is_a_duplicate_and_changes_nothing(self):
        rec = h.account(self.accounts, "reception", A)
        dev = str(uuid.uuid4())
        aid = str(uuid.uuid4())
        m = self.appt(aid, 1893542400000)
        first = self.session(rec, dev)([m])["results"][0]
        audits = self.count("SELECT count(*) FROM audit")
        again = self.session(rec, dev)([m])["results"][0]
        self.assertEqual(again["status"], "duplicate")
        self.assertEqual(again["first"], first)
        self.assertEqual(self.count("SELECT count(*) FROM audit"), audits)
        self.assertEqual(self.row("appointment", aid)["version"], 1)

    def test_replay_inside_one_push_and_lower_unused_mids(self):
        """A mid the device already used is a duplicate even in the same push,
        and a lower mid that was never used is applied: mids are unique per
        device and should increase, but a push refused with io_error may be
        sent again after a later one was applied, and must not be lost
        (PROTOCOL.md, push)."""
        rec = h.account(self.accounts, "reception", A)
        dev = str(uuid.uuid4())
        a1, a2 = str(uuid.uuid4()), str(uuid.uuid4())
        m1 = dict(self.appt(a1, 1893628800000), mid=5)
        m2 = dict(self.appt(a2, 1893715200000), mid=3)
        res = self.session(rec, dev)([m1, m2, m1])["results"]
        self.assertEqual([r["status"] for r in res], ["applied", "applied", "duplicate"])
        self.assertEqual(res[2]["first"], res[0])
        self.assertEqual(self.row("appointment", a2)["version"], 1)
        again = self.session(rec, dev)([m2])["results"][0]
        self.assertEqual(again["status"], "duplicate")
        self.assertEqual(again["first"], res[1])
        self.assertEqual(self.count("SELECT count(*) FROM audit WHERE entity_id IN (?, ?)", a1, a2), 2)

    def test_forbidden_writes_are_rejected_and_audited(self):
        spec = h.account(self.accounts, "specialist", A)
        rec = h.account(self.accounts, "reception", A)
        mgr_b = h.account(self.accounts, "manager", B)
        cl = h.account(self.accounts, "client")
        con = sqlite3.connect(self.db)
        visit = con.execute("SELECT id, version FROM visit WHERE location_id = ? LIMIT 1", (self.loc[A],)).fetchone()
        cl_id = con.execute("SELECT id, version FROM client WHERE email_hash = ?",
                            (Keyring(self.db).email_hash(cl["email"]),)).fetchone()
        con.close()
        base = self.row("client", self.client_a)["version"]
        cases = [
            (spec, {"tbl": "client", "id": self.client_a, "f": {"phone": "+1"}, "base": base}),
            (rec, {"tbl": "visit", "id": visit[0], "f": {"treatment_notes": "x"}, "base": visit[1]}),
            (mgr_b, {"tbl": "visit", "id": visit[0], "f": {"treatment_notes": "x"}, "base": visit[1]}),
            (cl, {"tbl": "client", "id": cl_id[0], "f": {"preferences": "x"}, "base": cl_id[1]}),
        ]
        before = self.count("SELECT count(*) FROM audit WHERE action = 'rejected:forbidden'")
        for acc, m in cases:
            m.update({"mid": 1, "op": "update", "at": 1})
            res = self.session(acc)([m])["results"][0]
            self.assertEqual((res["status"], res["code"]), ("rejected", "forbidden"), (acc["role"], m))
        self.assertEqual(self.count("SELECT count(*) FROM audit WHERE action = 'rejected:forbidden'"),
                         before + len(cases))
        # who tried, from which device: never "system"
        self.assertEqual(self.count("SELECT count(*) FROM audit WHERE action LIKE 'rejected:%' AND "
                                    "(actor_kind NOT IN ('staff', 'client') OR actor_id IS NULL OR device_id IS NULL)"), 0)

    def test_bad_mutations_get_specific_errors_and_do_not_block_the_rest(self):
        mgr = h.account(self.accounts, "manager", A)
        base = self.row("client", self.client_a)["version"]
        good = {"mid": 6, "tbl": "client", "id": self.client_a, "op": "update", "base": base,
                "f": {"internal_notes": "after the bad ones"}, "at": 1}
        muts = [
            {"mid": 1, "tbl": "nonsense", "id": self.client_a, "op": "update", "base": 1, "f": {}, "at": 1},
            {"mid": 2, "tbl": "client", "id": self.client_a, "op": "update", "base": 1, "f": {"shoe_size": 1}, "at": 1},
            {"mid": 3, "tbl": "client", "id": self.client_a, "op": "update", "base": 1, "f": {"name": 42}, "at": 1},
            {"mid": 4, "tbl": "client", "id": self.client_a, "op": "update", "base": 10 ** 9, "f": {"name": "X"}, "at": 1},
            {"mid": 5, "tbl": "client", "id": "not-a-uuid", "op": "update", "base": 1, "f": {"name": "X"}, "at": 1},
            good,
        ]
        res = self.session(mgr)(muts)["results"]
        self.assertEqual([r["status"] for r in res], ["rejected"] * 5 + ["applied"])
        self.assertEqual([r.get("code") for r in res[:5]], ["invalid"] * 5)
        self.assertEqual(self.row("client", self.client_a)["internal_notes"], "after the bad ones")
        self.assertNotEqual(self.row("client", self.client_a)["name"], "X")

    def audit_query(self, acc, **q):
        async def go():
            p = await h.Peer(self.server).connect()
            await p.hello()
            await p.login(acc)
            await p.send(dict({"t": "audit_query"}, **q))
            m = await p.recv(15)
            await p.close()
            return m
        return h.run(go())

    def test_audit_log_over_the_protocol_follows_locations(self):
        rec = h.account(self.accounts, "reception", A)
        base = self.row("client", self.client_a)["version"]
        self.session(rec)([{"mid": 1, "tbl": "client", "id": self.client_a, "op": "update", "base": base,
                            "f": {"preferences": "audited"}, "at": 1}])
        owner = self.audit_query(h.account(self.accounts, "owner"), client=self.client_a, limit=50)
        self.assertEqual(owner["t"], "audit_result")
        self.assertTrue(any(e["action"] == "update" and e["after"] == '{"preferences":"audited"}'
                            for e in owner["entries"]))
        mgr_a = self.audit_query(h.account(self.accounts, "manager", A), client=self.client_a, limit=50)
        self.assertEqual(len(mgr_a["entries"]), len(owner["entries"]))
        con = sqlite3.connect(self.db)
        known_b = con.execute("SELECT 1 FROM client_location cl JOIN location l ON l.id = cl.location_id "
                              "WHERE cl.client_id = ? AND l.name = ?", (self.client_a, B)).fetchone()
        con.close()
        mgr_b = self.audit_query(h.account(self.accounts, "manager", B), client=self.client_a, limit=50)
        if not known_b:  # a client unknown at B: B's manager sees none of their history
            self.assertEqual(mgr_b["entries"], [])
        refused = self.audit_query(rec, limit=5)
        self.assertEqual((refused["t"], refused["code"]), ("error", "forbidden"))

    def test_batch_over_the_limit_is_too_large(self):
        mgr = h.account(self.accounts, "manager", A)
        muts = [{"mid": i + 1, "tbl": "client", "id": self.client_a, "op": "update", "base": 1,
                 "f": {"preferences": "x"}, "at": 1} for i in range(501)]
        m = self.session(mgr)(muts)
        self.assertEqual((m["t"], m["code"]), ("error", "too_large"))

    # ---- one booking rule for every path; a double booking only on purpose ----

    def admin_run(self, *args):
        return subprocess.run([h.SERVER, "admin", "--db", self.db] + [str(a) for a in args],
                              capture_output=True, text=True)

    def overrides(self, aid):
        owner = h.account(self.accounts, "owner")
        entries = self.audit_query(owner, client=self.client_a, limit=100)["entries"]
        return [e for e in entries if e["entity_id"] == aid and e["action"] == "override:overlap"]

    def test_admin_refuses_a_double_booking_unless_overridden_with_a_reason(self):
        start = 1925000000000  # 2031, nobody is booked then
        where = ["--location", self.loc[A], "--client", self.client_a, "--specialist", self.spec_a]
        first = self.admin_run("appointment", "create", *where, "--start", start, "--duration", 60)
        self.assertEqual(first.returncode, 0, first.stderr)
        a1 = h.created_id(first.stdout)
        later = ["--start", start + 30 * 60000, "--duration", 30]
        twice = self.admin_run("appointment", "create", *where, *later)
        self.assertEqual(twice.returncode, 1, twice.stdout)
        self.assertIn("already booked then: appointment %s" % a1, twice.stderr)
        self.assertEqual(self.count("SELECT count(*) FROM appointment WHERE start_at = ?", start + 30 * 60000), 0)
        alone = self.admin_run("appointment", "create", *where, *later, "--allow-overlap")
        self.assertEqual(alone.returncode, 2)
        self.assertIn("--reason", alone.stderr)
        # a move into the specialist's busy time is refused the same way
        free = self.admin_run("appointment", "create", *where, "--start", start + 4 * 3600000, "--duration", 30)
        self.assertEqual(free.returncode, 0, free.stderr)
        moved = self.admin_run("appointment", "move", h.created_id(free.stdout), "--start", start)
        self.assertEqual(moved.returncode, 1)
        self.assertIn(a1, moved.stderr)
        ok = self.admin_run("appointment", "create", *where, *later, "--allow-overlap", "--reason",
                            "bride and bridesmaid, two chairs")
        self.assertEqual(ok.returncode, 0, ok.stderr)
        a2 = h.created_id(ok.stdout)
        over = self.overrides(a2)
        self.assertEqual(len(over), 1)
        self.assertEqual(json.loads(over[0]["after"]), {"overlaps": a1, "reason": "bride and bridesmaid, two chairs"})
        self.assertEqual((over[0]["actor_kind"], over[0]["client_id"], over[0]["location_id"]),
                         ("operator", self.client_a, self.loc[A]))

    def test_device_double_booking_needs_an_override_with_a_reason(self):
        rec = h.account(self.accounts, "reception", A)
        start = 1926000000000
        a1, a2 = str(uuid.uuid4()), str(uuid.uuid4())
        self.assertEqual(self.session(rec)([self.appt(a1, start)])["results"][0]["status"], "applied")
        m = self.appt(a2, start + 15 * 60000)
        dev = str(uuid.uuid4())
        res = self.session(rec, dev)([
            dict(m, mid=1),
            dict(m, mid=2, override={"rule": "overlap", "reason": ""}),
            dict(m, mid=3, override={"rule": "lunch", "reason": "late client"}),
            dict(m, mid=4, override="please"),
            dict(m, mid=5, override={"rule": "overlap", "reason": "colour processing: she has time"}),
        ])["results"]
        self.assertEqual([(r["status"], r.get("code")) for r in res],
                         [("rejected", "conflict"), ("rejected", "invalid"), ("rejected", "invalid"),
                          ("rejected", "invalid"), ("applied", None)])
        self.assertIn(a1, res[0]["msg"])
        self.assertIn("override.reason", res[1]["msg"])
        self.assertIn("override.rule", res[2]["msg"])
        self.assertIn("override must be", res[3]["msg"])
        self.assertEqual(self.row("appointment", a2)["start_at"], start + 15 * 60000)
        over = self.overrides(a2)
        self.assertEqual(len(over), 1)
        self.assertEqual(json.loads(over[0]["after"]), {"overlaps": a1, "reason": "colour processing: she has time"})
        self.assertEqual((over[0]["actor_kind"], over[0]["device_id"]), ("staff", dev))
        # a role that may not book may not override either
        spec = h.account(self.accounts, "specialist", A)
        res = self.session(spec)([{"mid": 1, "tbl": "appointment", "id": a1, "op": "update", "base": 1, "at": 1,
                                   "f": {"start_at": start + 15 * 60000},
                                   "override": {"rule": "overlap", "reason": "mine"}}])["results"][0]
        self.assertEqual((res["status"], res["code"]), ("rejected", "forbidden"))

    # ---- a no-op writes nothing ----

    def test_an_edit_that_changes_nothing_writes_nothing(self):
        mgr = h.account(self.accounts, "manager", A)
        row = self.row("client", self.client_a)
        seq, audits = self.count("SELECT max(seq) FROM changelog"), self.count("SELECT count(*) FROM audit")
        res = self.session(mgr)([{"mid": 1, "tbl": "client", "id": self.client_a, "op": "update",
                                  "base": row["version"], "at": 1,
                                  "f": {"preferences": row["preferences"], "phone": row["phone"]}}])["results"][0]
        self.assertEqual(res, {"mid": 1, "status": "applied", "v": row["version"]})
        self.assertEqual(self.row("client", self.client_a)["version"], row["version"])
        self.assertEqual(self.count("SELECT max(seq) FROM changelog"), seq)  # nothing for any device
        self.assertEqual(self.count("SELECT count(*) FROM audit"), audits)
        # with one real change, only that field is written
        res = self.session(mgr)([{"mid": 1, "tbl": "client", "id": self.client_a, "op": "update",
                                  "base": row["version"], "at": 1,
                                  "f": {"phone": row["phone"], "internal_notes": "no-op test"}}])["results"][0]
        self.assertEqual(res["v"], row["version"] + 1)
        con = sqlite3.connect(self.db)
        fields = con.execute("SELECT fields FROM audit WHERE entity_id = ? ORDER BY seq DESC LIMIT 1",
                             (self.client_a,)).fetchone()[0]
        con.close()
        self.assertEqual(fields, "internal_notes")

    # ---- refused attempts are about someone, somewhere ----

    def test_refused_attempts_are_audited_with_their_client_and_location(self):
        rec = h.account(self.accounts, "reception", A)
        base = self.row("client", self.client_a)["version"]
        start = 1927000000000
        a1, a2, v1 = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
        self.assertEqual(self.session(rec)([self.appt(a1, start)])["results"][0]["status"], "applied")
        res = self.session(rec)([
            {"mid": 1, "tbl": "client", "id": self.client_a, "op": "update", "base": base, "at": 1,
             "f": {"medications": "none"}},
            dict(self.appt(a2, start), mid=2),  # a double booking
            {"mid": 3, "tbl": "visit", "id": v1, "op": "create", "base": 0, "at": 1,
             "f": {"location_id": self.loc[A], "client_id": self.client_a, "specialist_id": self.spec_a,
                   "visit_date": "2031-01-01", "services": []}},
        ])["results"]
        self.assertEqual([(r["status"], r["code"]) for r in res],
                         [("rejected", "forbidden"), ("rejected", "conflict"), ("rejected", "forbidden")])
        con = sqlite3.connect(self.db)
        got = con.execute("SELECT entity_id, client_id, location_id FROM audit WHERE action LIKE 'rejected:%' "
                          "AND entity_id IN (?, ?, ?) ORDER BY seq DESC", (self.client_a, a2, v1)).fetchall()
        homes = {r[0] for r in con.execute("SELECT location_id FROM client_location WHERE client_id = ?",
                                          (self.client_a,))}
        con.close()
        scope = {e: (c, l) for e, c, l in reversed(got)}
        self.assertEqual(scope[a2], (self.client_a, self.loc[A]))
        self.assertEqual(scope[v1], (self.client_a, self.loc[A]))
        self.assertEqual(scope[self.client_a][0], self.client_a)
        self.assertIn(scope[self.client_a][1], homes)
        # so the client's history, the audit query and the export's access log have them
        owner = h.account(self.accounts, "owner")
        seen = {(e["entity_id"], e["action"]) for e in
                self.audit_query(owner, client=self.client_a, limit=100)["entries"]}
        want = {(self.client_a, "rejected:forbidden"), (a2, "rejected:conflict"), (v1, "rejected:forbidden")}
        self.assertLessEqual(want, seen)
        out = subprocess.run([h.SERVER, "privacy", "export", "--db", self.db, "--client", self.client_a],
                             capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        log = {(e["entity_id"], e["action"]) for e in json.loads(out.stdout)["access_log"]}
        self.assertLessEqual(want, log)

    # ---- push semantics as PROTOCOL.md states them ----

    def test_create_gets_defaults_or_is_refused_naming_the_missing_field(self):
        rec, spec = h.account(self.accounts, "reception", A), h.account(self.accounts, "specialist", A)
        aid, vid = str(uuid.uuid4()), str(uuid.uuid4())
        m = self.appt(aid, 1928000000000)
        del m["f"]["status"], m["f"]["services"]
        res = self.session(rec)([m])["results"][0]
        self.assertEqual(res["status"], "applied", res)
        row = self.row("appointment", aid)
        self.assertEqual((row["status"], row["services"]), ("booked", ""))
        res = self.session(spec)([{"mid": 1, "tbl": "visit", "id": vid, "op": "create", "base": 0, "at": 1,
                                   "f": {"location_id": self.loc[A], "client_id": self.client_a,
                                         "specialist_id": self.spec_a}}])["results"][0]
        self.assertEqual((res["status"], res["code"], res["msg"]), ("rejected", "invalid", "a new visit needs visit_date"))

    def test_one_person_on_two_tablets_does_not_conflict_with_herself(self):
        rec = h.account(self.accounts, "reception", A)
        mgr = h.account(self.accounts, "manager", A)
        base = self.row("client", self.client_a)["version"]
        edit = lambda mid, phone: [{"mid": mid, "tbl": "client", "id": self.client_a, "op": "update", "base": base,
                                    "at": 1, "f": {"phone": phone}}]
        first = self.session(rec, str(uuid.uuid4()))(edit(1, "+386 40 100 001"))["results"][0]
        second = self.session(rec, str(uuid.uuid4()))(edit(1, "+386 40 100 002"))["results"][0]
        self.assertEqual(first["status"], "applied")
        self.assertEqual(second, {"mid": 1, "status": "applied", "v": base + 2})
        other = self.session(mgr, str(uuid.uuid4()))(edit(1, "+386 40 100 003"))["results"][0]
        self.assertEqual((other["status"], other["code"]), ("rejected", "conflict"))
        self.assertEqual(self.row("client", self.client_a)["phone"], "+386 40 100 002")

    def test_current_values_only_of_rows_the_writer_may_see(self):
        con = sqlite3.connect(self.db)
        at_a = con.execute("SELECT id FROM appointment WHERE location_id = ? LIMIT 1", (self.loc[A],)).fetchone()[0]
        con.close()
        mgr_a, mgr_b = h.account(self.accounts, "manager", A), h.account(self.accounts, "manager", B)
        taken = dict(self.appt(at_a, 1929000000000), **{"f": {"location_id": self.loc[B], "client_id": self.client_a,
                                                             "specialist_id": self.spec_a, "start_at": 1929000000000,
                                                             "duration_min": 30}})
        res = self.session(mgr_b)([taken])["results"][0]
        self.assertEqual((res["status"], res["code"]), ("rejected", "conflict"))
        self.assertNotIn("current", res)  # another branch's row: not a single value of it
        res = self.session(mgr_a)([dict(taken, f={"duration_min": 30})])["results"][0]
        self.assertEqual((res["status"], res["code"]), ("rejected", "conflict"))
        self.assertEqual(res["current"], {"duration_min": self.row("appointment", at_a)["duration_min"]})
        # a field the role may read but not write: refused, with its value now
        spec = h.account(self.accounts, "specialist", A)
        row = self.row("client", self.client_a)
        res = self.session(spec)([{"mid": 1, "tbl": "client", "id": self.client_a, "op": "update",
                                   "base": row["version"], "at": 1, "f": {"name": "Someone Else"}}])["results"][0]
        self.assertEqual((res["status"], res["code"]), ("rejected", "forbidden"))
        self.assertEqual(res["current"], {"name": row["name"]})

    def test_push_before_sync_is_applied_and_in_the_snapshot(self):
        rec = h.account(self.accounts, "reception", A)
        aid = str(uuid.uuid4())
        async def go():
            p = await h.Peer(self.server).connect()
            await p.hello()
            await p.login(rec)
            await p.send({"t": "push", "muts": [self.appt(aid, 1930000000000)]})
            res = await p.recv(15)
            await p.send({"t": "sync", "cursor": None})
            _, seen = await p.recv_until("snapshot_end", 60)
            await p.close()
            return res, seen
        res, seen = h.run(go())
        self.assertEqual((res["t"], res["results"][0]["status"]), ("push_result", "applied"))
        rows = [r for m in seen if m.get("t") == "page" for r in m["rows"] if r["id"] == aid]
        self.assertEqual([(r["tbl"], r["v"]) for r in rows], [("appointment", 1)])


if __name__ == "__main__":
    h.main()
