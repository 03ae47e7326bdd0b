"""Writes outside the writer's sight or branches: every push here used to
land and is refused now, and each refusal is checked three ways: the answer
(code and a message naming the field), the server database (nothing
changed: read directly from the file), and the devices of both branches
(nothing was streamed to them: a marker row that every staff device gets is
written after the refusal, and the stream is in order, so anything the
refused push had streamed would arrive before it).

- A visit or appointment may name only a client the writer may see: a
  Center stylist cannot pull a Maribor-only card to every Center tablet by
  writing a visit for it. A client id that does not exist, one known only at
  another branch and one of another organisation get the same answer.
- Every other row a push names (specialist_id, appointment_id, services,
  location_id, a consent's client_id) is one the writer may see, in their
  organisation, with the same answer for rows out of sight and missing ones.
- Managers write within their branches: services of their own locations
  only (not of every location, not moved out or in), staff who work at
  their locations alone (never the owner), no new locations.

The database holds a second organisation, so that ids of another
organisation are tried too."""
import asyncio
import shutil
import sqlite3
import tempfile
import time
import uuid

import kt_harness as h

A, B = "Lepota Center", "Lepota Maribor"
NOW = int(time.time() * 1000)


def new_id():
    return str(uuid.uuid4())


class WritesTest(h.DemoServerTest):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kt-writestest-")
        cls.db, cls.accounts = h.demo_db(cls.tmp)
        con = sqlite3.connect(cls.db)
        q = lambda sql, *a: con.execute(sql, a).fetchall()
        cls.loc = dict(q("SELECT name, id FROM location"))
        la, lb = cls.loc[A], cls.loc[B]
        cls.org = q("SELECT id FROM organisation")[0][0]
        cls.owner_id = q("SELECT id FROM staff WHERE role = 'owner'")[0][0]
        spec = ("SELECT s.id FROM staff s JOIN staff_location sl ON sl.staff_id = s.id WHERE s.role = 'specialist' "
                "AND sl.location_id = ? ORDER BY s.id")
        cls.spec_a = q(spec, la)[0][0]
        cls.spec_b, cls.spec_b2 = q(spec, lb)[0][0], q(spec, lb)[1][0]
        cls.rec_a = q("SELECT s.id FROM staff s JOIN staff_location sl ON sl.staff_id = s.id "
                      "WHERE s.role = 'reception' AND sl.location_id = ?", la)[0][0]
        only = ("SELECT client_id FROM client_location WHERE location_id = ? AND client_id NOT IN "
                "(SELECT client_id FROM client_location WHERE location_id = ?) ORDER BY client_id")
        cls.client_a, cls.client_a2 = q(only, la, lb)[0][0], q(only, la, lb)[1][0]
        cls.client_b = q(only, lb, la)[0][0]
        svc = "SELECT id FROM service WHERE location_id IS ? ORDER BY id"
        cls.svc_all, cls.svc_a, cls.svc_b = q(svc, None)[0][0], q(svc, la)[0][0], q(svc, lb)[0][0]
        cls.appt_a = q("SELECT id FROM appointment WHERE location_id = ? AND client_id = ? ORDER BY id",
                       la, cls.client_a)[0][0]
        cls.appt_a2 = q("SELECT id FROM appointment WHERE location_id = ? AND client_id = ? ORDER BY id",
                        la, cls.client_a2)[0][0]
        cls.appt_b = q("SELECT id FROM appointment WHERE location_id = ? ORDER BY id", lb)[0][0]
        cls.visit_a = q("SELECT id FROM visit WHERE location_id = ? AND client_id = ? ORDER BY id",
                        la, cls.client_a)[0][0]
        # a stylist who works at both branches (the second of Maribor)
        con.execute("INSERT INTO staff_location(staff_id, location_id) VALUES(?, ?)", (cls.spec_b2, la))
        # a second organisation: a branch, a stylist, a client, a service and a booking
        o = cls.o2 = {k: new_id() for k in ("org", "loc", "spec", "client", "svc", "appt")}
        con.execute("INSERT INTO organisation(id, name, updated_at) VALUES(?, 'Drugi salon', ?)", (o["org"], NOW))
        con.execute("INSERT INTO location(id, org_id, name, time_zone, updated_at) VALUES(?, ?, 'Koper', "
                    "'Europe/Ljubljana', ?)", (o["loc"], o["org"], NOW))
        con.execute("INSERT INTO staff(id, org_id, display_name, email, role, updated_at) VALUES(?, ?, 'Tina', "
                    "'tina@drugi.example', 'specialist', ?)", (o["spec"], o["org"], NOW))
        con.execute("INSERT INTO staff_location VALUES(?, ?)", (o["spec"], o["loc"]))
        con.execute("INSERT INTO client(id, org_id, name, updated_at) VALUES(?, ?, 'x', ?)",
                    (o["client"], o["org"], NOW))
        con.execute("INSERT INTO client_location VALUES(?, ?)", (o["client"], o["loc"]))
        con.execute("INSERT INTO service(id, org_id, location_id, name, duration_min, price_cents, updated_at) "
                    "VALUES(?, ?, NULL, 'Striženje', 30, 2000, ?)", (o["svc"], o["org"], NOW))
        con.execute("INSERT INTO appointment(id, org_id, location_id, client_id, specialist_id, start_at, "
                    "duration_min, services, status, updated_at) VALUES(?, ?, ?, ?, ?, ?, 30, '', 'booked', ?)",
                    (o["appt"], o["org"], o["loc"], o["client"], o["spec"], NOW + 86400000, NOW))
        con.commit()
        con.close()
        cls.server = h.Server(cls.db)
        acc = lambda role, loc=None: h.account(cls.accounts, role, loc)
        cls.owner, cls.mgr_a = acc("owner"), acc("manager", A)
        cls.reception_a, cls.reception_b, cls.stylist_a = acc("reception", A), acc("reception", B), \
            acc("specialist", A)

    # ---- helpers ----

    def q(self, sql, *args):
        con = sqlite3.connect(self.db)
        rows = con.execute(sql, args).fetchall()
        con.close()
        return rows

    def links(self, client_id):
        return {r[0] for r in self.q("SELECT location_id FROM client_location WHERE client_id = ?", client_id)}

    def version(self, tbl, rid):
        return self.server_row(tbl, rid)["version"]

    async def push(self, acc, muts):
        p = await self.signed_in(acc)
        try:
            await p.send({"t": "push", "muts": muts})
            m, _ = await p.recv_until("push_result", 20)
            return m["results"]
        finally:
            await p.close()

    async def observers(self):
        """Synced devices of reception at both branches."""
        peers = []
        for acc in (self.reception_a, self.reception_b):
            p = await self.signed_in(acc)
            await p.send({"t": "sync", "cursor": None})
            await p.recv_until("synced", 60)
            peers.append(p)
        return peers

    async def nothing_streamed(self, peers):
        """The owner adds a service of every location, which every staff
        device is sent; until it arrives, nothing else may."""
        marker = new_id()
        res = await self.push(self.owner, [{"mid": 1, "tbl": "service", "id": marker, "op": "create", "base": 0,
                                            "at": 1, "f": {"name": "Marker", "duration_min": 5,
                                                           "price_cents": 0}}])
        self.assertEqual(res[0]["status"], "applied", res)
        for p in peers:
            ops = []
            while not any(o["id"] == marker for o in ops):
                m = await p.recv(20)
                if m.get("t") == "changes":
                    ops += m["ops"]
            self.assertEqual([(o["op"], o["tbl"], o["id"]) for o in ops], [("put", "service", marker)])

    def refused(self, acc, mut, code, field):
        """Push mut as acc with both branches watching: rejected with code and
        a message naming field, nothing streamed. The result."""
        async def go():
            peers = await self.observers()
            try:
                res = (await self.push(acc, [dict(mut, mid=1, at=1)]))[0]
                self.assertEqual((res["status"], res.get("code")), ("rejected", code), res)
                self.assertIn(field, res["msg"])
                if mut["op"] == "create":
                    self.assertNotIn("current", res)
                await self.nothing_streamed(peers)
                return res
            finally:
                for p in peers:
                    await p.close()
        return h.run(go())

    def applied(self, acc, mut):
        res = h.run(self.push(acc, [dict(mut, mid=1, at=1)]))[0]
        self.assertEqual(res["status"], "applied", res)
        return res

    def visit(self, **f):
        base = {"location_id": self.loc[A], "client_id": self.client_a, "specialist_id": self.spec_a,
                "visit_date": "2026-01-15", "services": [], "treatment_notes": "patch test negative"}
        base.update(f)
        return {"tbl": "visit", "id": new_id(), "op": "create", "base": 0, "f": base}

    def appointment(self, start, **f):
        base = {"location_id": self.loc[A], "client_id": self.client_a, "specialist_id": self.spec_a,
                "start_at": start, "duration_min": 30, "services": []}
        base.update(f)
        return {"tbl": "appointment", "id": new_id(), "op": "create", "base": 0, "f": base}

    def update(self, tbl, rid, **f):
        return {"tbl": tbl, "id": rid, "op": "update", "base": self.version(tbl, rid), "f": f}

    # ---- a visit or appointment names only a client the writer may see ----

    def test_stylist_cannot_pull_another_branch_client_with_a_visit(self):
        m = self.visit(client_id=self.client_b)
        self.refused(self.stylist_a, m, "not_found", "client_id")
        self.assertIsNone(self.server_row("visit", m["id"]))
        self.assertEqual(self.links(self.client_b), {self.loc[B]})      # not linked to Center

    def test_reception_cannot_book_another_branch_client(self):
        m = self.appointment(1893456000000, client_id=self.client_b)
        self.refused(self.reception_a, m, "not_found", "client_id")
        self.assertIsNone(self.server_row("appointment", m["id"]))
        self.assertEqual(self.links(self.client_b), {self.loc[B]})

    def test_reception_cannot_move_a_booking_to_another_branch_client(self):
        before = self.server_row("appointment", self.appt_a)
        self.refused(self.reception_a, self.update("appointment", self.appt_a, client_id=self.client_b),
                     "not_found", "client_id")
        self.assertEqual(self.server_row("appointment", self.appt_a), before)
        self.assertEqual(self.links(self.client_b), {self.loc[B]})

    def test_stylist_cannot_move_a_visit_to_another_branch_client(self):
        before = self.server_row("visit", self.visit_a)
        self.refused(self.stylist_a, self.update("visit", self.visit_a, client_id=self.client_b),
                     "not_found", "client_id")
        self.assertEqual(self.server_row("visit", self.visit_a), before)
        self.assertEqual(self.links(self.client_b), {self.loc[B]})

    def test_a_client_elsewhere_unknown_or_of_another_organisation_answers_alike(self):
        """The answer does not tell whether the id exists somewhere else."""
        answers = set()
        for i, cid in enumerate((self.client_b, new_id(), self.o2["client"])):
            m = self.appointment(1893459600000 + i * 3600000, client_id=cid)
            res = self.refused(self.reception_a, m, "not_found", "client_id")
            answers.add((res["code"], res["msg"]))
            self.assertIsNone(self.server_row("appointment", m["id"]))
        self.assertEqual(len(answers), 1, answers)
        self.assertEqual(self.links(self.o2["client"]), {self.o2["loc"]})

    def test_consent_for_a_client_out_of_sight_answers_alike(self):
        """Recording a consent used to tell a client of another branch
        (forbidden) from one that does not exist (not_found)."""
        answers = set()
        for cid in (self.client_b, new_id(), self.o2["client"]):
            before = self.q("SELECT count(*) FROM consent WHERE client_id = ?", cid)
            res = self.refused(self.reception_a, {"tbl": "consent", "id": new_id(), "op": "create", "base": 0,
                                                  "f": {"client_id": cid, "purpose": "marketing_sms",
                                                        "granted": True, "text_version": "v1"}},
                               "not_found", "client_id")
            answers.add((res["code"], res["msg"]))
            self.assertEqual(self.q("SELECT count(*) FROM consent WHERE client_id = ?", cid), before)
        self.assertEqual(len(answers), 1, answers)

    def test_visit_names_only_rows_the_writer_may_see(self):
        """specialist_id, appointment_id and services of a visit: another
        branch's or another organisation's rows are refused, naming the field."""
        for field, value in (("specialist_id", self.spec_b), ("specialist_id", self.o2["spec"]),
                             ("appointment_id", self.appt_b), ("appointment_id", self.o2["appt"]),
                             ("services", [self.svc_a, self.o2["svc"]])):
            with self.subTest(field=field, value=value):
                m = self.visit(**{field: value})
                self.refused(self.stylist_a, m, "not_found", field)
                self.assertIsNone(self.server_row("visit", m["id"]))

    def test_visit_appointment_is_of_the_same_client(self):
        m = self.visit(appointment_id=self.appt_a2)                   # Center's, but of another client
        self.refused(self.stylist_a, m, "invalid", "appointment_id")
        self.assertIsNone(self.server_row("visit", m["id"]))
        self.applied(self.stylist_a, self.visit(appointment_id=self.appt_a))

    def test_owner_cannot_move_a_service_to_another_organisation(self):
        before = self.server_row("service", self.svc_a)
        self.refused(self.owner, self.update("service", self.svc_a, location_id=self.o2["loc"]),
                     "not_found", "location_id")
        self.assertEqual(self.server_row("service", self.svc_a), before)

    def test_a_client_new_to_the_branch_gets_a_card_made_there(self):
        """The legitimate way: reception makes the card at its branch and
        books it; the owner, who sees every branch, may book a client of
        another branch there (the client is then known at both)."""
        cid = new_id()
        self.applied(self.reception_a, {"tbl": "client", "id": cid, "op": "create", "base": 0,
                                        "f": {"name": "Nova Stranka", "phone": "+386 40 123 456"}})
        self.assertEqual(self.links(cid), {self.loc[A]})
        self.applied(self.reception_a, self.appointment(1893470400000, client_id=cid))
        b2 = self.q("SELECT client_id FROM client_location WHERE location_id = ? AND "
                    "client_id NOT IN (SELECT client_id FROM client_location WHERE location_id = ?) ORDER BY "
                    "client_id DESC", self.loc[B], self.loc[A])[0][0]
        self.applied(self.owner, self.appointment(1893474000000, client_id=b2))
        self.assertEqual(self.links(b2), {self.loc[A], self.loc[B]})

    # ---- managers write within their branches ----

    def test_manager_cannot_change_a_service_of_every_location(self):
        before = self.server_row("service", self.svc_all)
        self.refused(self.mgr_a, self.update("service", self.svc_all, price_cents=1), "forbidden", "location_id")
        self.assertEqual(self.server_row("service", self.svc_all), before)

    def test_manager_cannot_change_another_branch_service(self):
        before = self.server_row("service", self.svc_b)
        self.refused(self.mgr_a, self.update("service", self.svc_b, name="Ours now"), "forbidden", "location_id")
        self.assertEqual(self.server_row("service", self.svc_b), before)

    def test_manager_cannot_move_a_service_out_of_their_branches(self):
        before = self.server_row("service", self.svc_a)
        for where in (self.loc[B], None):                           # to Maribor, to every location
            with self.subTest(location_id=where):
                self.refused(self.mgr_a, self.update("service", self.svc_a, location_id=where), "forbidden",
                             "location_id")
                self.assertEqual(self.server_row("service", self.svc_a), before)
        # their own services stay theirs to change
        self.applied(self.mgr_a, self.update("service", self.svc_a, price_cents=before["price_cents"] + 100))

    def test_manager_cannot_create_a_location(self):
        lid = new_id()
        self.refused(self.mgr_a, {"tbl": "location", "id": lid, "op": "create", "base": 0,
                                  "f": {"name": "Lepota Ptuj", "time_zone": "Europe/Ljubljana"}},
                     "forbidden", "location")
        self.assertIsNone(self.server_row("location", lid))

    def test_manager_cannot_edit_the_owner(self):
        before = self.server_row("staff", self.owner_id)
        for f in ({"display_name": "Not the owner"}, {"phone": "+386 1 000 000"}):
            with self.subTest(field=f):
                # the owner's row is the owners' alone to see, so to a manager it is
                # a row out of reach, refused before the write scope is asked
                res = self.refused(self.mgr_a, self.update("staff", self.owner_id, **f), "forbidden", "locations")
                self.assertNotIn("current", res)
                self.assertEqual(self.server_row("staff", self.owner_id), before)

    def test_manager_cannot_edit_staff_who_also_work_at_another_branch(self):
        before = self.server_row("staff", self.spec_b2)
        self.refused(self.mgr_a, self.update("staff", self.spec_b2, phone="+386 1 000 001"), "forbidden",
                     "staff")
        self.assertEqual(self.server_row("staff", self.spec_b2), before)
        # staff of their branch alone stay theirs to edit
        self.applied(self.mgr_a, self.update("staff", self.rec_a, phone="+386 1 000 002"))


if __name__ == "__main__":
    h.main()
