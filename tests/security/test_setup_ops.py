"""The setup ops of manage (locations, staff invitations and password links,
client merges and searches) by every role: reception cannot invite staff or
create locations, a manager acts only within their locations (and never on
owners or managers), a client nothing, nobody across organisations; each
refusal has its code (forbidden, not_found, invalid) and changes nothing."""
import os
import sqlite3
import uuid

import kt_harness as h


class SetupOpsTest(h.DemoServerTest):
    @classmethod
    def setUpClass(cls):
        cls.tmp = __import__("tempfile").mkdtemp(prefix="kt-setupops-")
        cls.db, cls.accounts = h.demo_db(cls.tmp, organisations=2)
        cls.server = h.Server(cls.db)
        cls.org1 = [a for a in cls.accounts if a["organisation"] == cls.accounts[0]["organisation"]]
        cls.other_org = [a for a in cls.accounts if a["organisation"] != cls.accounts[0]["organisation"]]

    def acc(self, role, loc=None, i=0):
        return h.account(self.org1, role, loc, i)

    def q(self, sql, args=()):
        con = sqlite3.connect(self.db)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def loc(self, name):
        return self.q("SELECT id FROM location WHERE name = ?", (name,))[0][0]

    def staff(self, email):
        return self.q("SELECT id FROM staff WHERE email = ?", (email,))[0][0]

    def cards_only_at(self, name, n=2):
        return [r[0] for r in self.q(
            "SELECT c.id FROM client c JOIN client_location cl ON cl.client_id = c.id JOIN location l ON "
            "l.id = cl.location_id WHERE l.name = ? AND c.portal_enabled = 0 AND NOT EXISTS (SELECT 1 FROM "
            "client_location o WHERE o.client_id = c.id AND o.location_id <> l.id) ORDER BY c.id LIMIT ?",
            (name, n))]

    def manage(self, acc, **msg):
        async def go():
            p = await self.signed_in(acc)
            await p.send(dict({"t": "manage"}, **msg))
            m = await p.recv()
            await p.close()
            return m
        return h.run(go())

    def refused(self, acc, code, **msg):
        before = self.q("SELECT max(seq) FROM changelog")
        m = self.manage(acc, **msg)
        self.assertEqual(m.get("t"), "error", (acc["role"], msg, m))
        self.assertEqual(m.get("code"), code, (acc["role"], msg, m))
        self.assertEqual(self.q("SELECT max(seq) FROM changelog"), before, "a refused op wrote something")
        return m

    def test_reception_cannot_invite_or_create_locations(self):
        rec = self.acc("reception", "Lepota Center")
        self.refused(rec, "forbidden", op="create_location", name="Koper", time_zone="Europe/Ljubljana")
        self.refused(rec, "forbidden", op="close_location", id=self.loc("Lepota Center"))
        self.refused(rec, "forbidden", op="invite_staff", name="X", email="x1@lepota.example", role="specialist",
                     locations=[self.loc("Lepota Center")])
        self.refused(rec, "forbidden", op="reset_staff_password",
                     id=self.staff(self.acc("specialist", "Lepota Center")["email"]))
        a, b = self.cards_only_at("Lepota Center")
        self.refused(rec, "forbidden", op="merge_clients", id=b, into=a)
        self.refused(rec, "forbidden", op="merge_clients", id=b)  # the role first, whatever the message lacks
        # reception may search, and finds the cards of its own location only
        theirs, = self.cards_only_at("Lepota Maribor", 1)
        name = self.server_row("client", theirs)["name"]
        self.assertNotIn(theirs, [c["id"] for c in self.manage(rec, op="find_clients", text=name)["clients"]])
        mine = self.server_row("client", a)["name"]
        self.assertIn(a, [c["id"] for c in self.manage(rec, op="find_clients", text=mine)["clients"]])

    def test_specialist_and_client_may_do_none_of_it(self):
        center = self.loc("Lepota Center")
        a, b = self.cards_only_at("Lepota Center")
        ops = [dict(op="create_location", name="Koper", time_zone="Europe/Ljubljana"),
               dict(op="edit_location", id=center, name="Mine"), dict(op="close_location", id=center),
               dict(op="invite_staff", name="X", email="x2@lepota.example", role="reception", locations=[center]),
               dict(op="reset_staff_password", id=self.staff(self.acc("reception", "Lepota Center")["email"])),
               dict(op="merge_clients", id=b, into=a), dict(op="find_clients", text="Novak")]
        for acc in (self.acc("specialist", "Lepota Center"), self.acc("client", "Lepota Center")):
            for msg in ops:
                with self.subTest(role=acc["role"], op=msg["op"]):
                    self.refused(acc, "forbidden", **msg)

    def test_manager_only_within_their_locations(self):
        mgr = self.acc("manager", "Lepota Center")
        center, maribor = self.loc("Lepota Center"), self.loc("Lepota Maribor")
        self.refused(mgr, "forbidden", op="create_location", name="Koper", time_zone="Europe/Ljubljana")
        self.refused(mgr, "forbidden", op="edit_location", id=center, name="Renamed")
        self.refused(mgr, "forbidden", op="invite_staff", name="Y", email="y1@lepota.example", role="reception",
                     locations=[maribor])
        self.refused(mgr, "forbidden", op="invite_staff", name="Y", email="y2@lepota.example", role="reception",
                     locations=[center, maribor])
        self.refused(mgr, "forbidden", op="invite_staff", name="Y", email="y3@lepota.example", role="manager",
                     locations=[center])
        self.refused(mgr, "forbidden", op="reset_staff_password",
                     id=self.staff(self.acc("specialist", "Lepota Maribor")["email"]))
        self.refused(mgr, "forbidden", op="reset_staff_password", id=self.staff(self.acc("owner")["email"]))
        mine, = self.cards_only_at("Lepota Center", 1)
        theirs, = self.cards_only_at("Lepota Maribor", 1)
        self.refused(mgr, "forbidden", op="merge_clients", id=theirs, into=mine)
        # within: allowed, and it happened
        r = self.manage(mgr, op="invite_staff", name="Zala Nova", email="zala.nova@lepota.example",
                        role="reception", locations=[center])
        self.assertEqual(r["t"], "manage_result", r)
        self.assertEqual(self.q("SELECT role, password_hash FROM staff WHERE id = ?", (r["id"],)),
                         [("reception", None)])
        r = self.manage(mgr, op="reset_staff_password",
                        id=self.staff(self.acc("specialist", "Lepota Center")["email"]))
        self.assertEqual(r["t"], "manage_result", r)
        # a search shows only the cards of their locations
        name = self.server_row("client", theirs)["name"]
        r = self.manage(mgr, op="find_clients", text=name)
        self.assertNotIn(theirs, [c["id"] for c in r["clients"]])
        r = self.manage(self.acc("owner"), op="find_clients", text=name)
        self.assertIn(theirs, [c["id"] for c in r["clients"]])

    def test_nothing_across_organisations(self):
        owner = self.acc("owner")
        other_staff = self.staff(h.account(self.other_org, "specialist")["email"])
        self.refused(owner, "not_found", op="reset_staff_password", id=other_staff)
        con = sqlite3.connect(self.db)
        org2 = con.execute("SELECT org_id FROM staff WHERE id = ?", (other_staff,)).fetchone()[0]
        c2 = con.execute("SELECT id FROM client WHERE org_id = ? LIMIT 1", (org2,)).fetchone()[0]
        l2 = con.execute("SELECT id FROM location WHERE org_id = ? LIMIT 1", (org2,)).fetchone()[0]
        con.close()
        mine, = self.cards_only_at("Lepota Center", 1)
        self.refused(owner, "not_found", op="merge_clients", id=c2, into=mine)
        self.refused(owner, "not_found", op="close_location", id=l2)
        self.refused(owner, "not_found", op="invite_staff", name="Q", email="q@lepota.example", role="reception",
                     locations=[l2])

    def test_find_goes_on_where_it_stopped(self):
        owner = self.acc("owner")
        first = self.manage(owner, op="find_clients", text=".example", limit=5)
        self.assertEqual(len(first["clients"]), 5, first)
        second = self.manage(owner, op="find_clients", text=".example", limit=5, after=first["id"])
        ids = [c["id"] for c in first["clients"] + second["clients"]]
        self.assertEqual(ids, sorted(set(ids)))  # in id order, nothing twice
        self.assertEqual(first["id"], first["clients"][-1]["id"])

    def test_bad_input_names_the_field(self):
        owner = self.acc("owner")
        center = self.loc("Lepota Center")
        for msg, words in ((dict(op="invite_staff", name="R", email="r@lepota.example", role="overlord",
                                 locations=[center]), "role"),
                           (dict(op="invite_staff", name="R", email="not-mail", role="reception",
                                 locations=[center]), "e-mail"),
                           (dict(op="invite_staff", name="R", email="r@lepota.example", role="reception",
                                 locations=["not-a-uuid"]), "locations"),
                           (dict(op="create_location", name="Koper", time_zone="Europe/Koper-Town"), "time zone"),
                           (dict(op="create_location", name="Lepota Center", time_zone="Europe/Ljubljana"), "name"),
                           (dict(op="find_clients", text="x"), "text"),
                           (dict(op="find_clients", text="Novak", limit=1000), "limit"),
                           (dict(op="find_clients", text="Novak", after="x"), "after"),
                           (dict(op="merge_clients", id=str(uuid.uuid4())), "into")):
            with self.subTest(msg=msg):
                m = self.manage(owner, **msg)
                self.assertEqual(m["t"], "error", m)
                self.assertIn(m["code"], ("invalid", "conflict"), m)
                self.assertIn(words, m["msg"], m)
        m = self.manage(owner, op="invite_staff", name="T", email="t@lepota.example", role="reception",
                        locations=[center] * 65)
        self.assertEqual(m.get("code"), "too_large", m)
        m = self.manage(owner, op="invite_staff", name="T", email="t@lepota.example", role="reception",
                        locations="not-an-array")
        self.assertEqual(m.get("code"), "malformed", m)
        # an e-mail that signs in already
        m = self.manage(owner, op="invite_staff", name="S", email=self.acc("reception", "Lepota Center")["email"],
                        role="reception", locations=[center])
        self.assertEqual(m["code"], "conflict", m)


    # ---- set_staff_role, set_staff_locations ----

    def invited(self, who, email, role, locs):
        """A new staff member of org1 (invited by who) to change without touching the demo's people."""
        r = self.manage(who, op="invite_staff", name="Staff " + email.split("@")[0], email=email, role=role,
                        locations=locs)
        self.assertEqual(r["t"], "manage_result", r)
        return r["id"]

    def staff_state(self, sid):
        role = self.q("SELECT role FROM staff WHERE id = ?", (sid,))[0][0]
        return role, sorted(r[0] for r in self.q("SELECT location_id FROM staff_location WHERE staff_id = ?", (sid,)))

    def test_staff_changes_by_every_role(self):
        owner = self.acc("owner")
        center, maribor = self.loc("Lepota Center"), self.loc("Lepota Maribor")
        sid = self.invited(owner, "roles1@lepota.example", "specialist", [center])
        for acc in (self.acc("reception", "Lepota Center"), self.acc("specialist", "Lepota Center"),
                    self.acc("client", "Lepota Center")):
            with self.subTest(role=acc["role"]):
                self.refused(acc, "forbidden", op="set_staff_role", id=sid, role="reception")
                self.refused(acc, "forbidden", op="set_staff_locations", id=sid, locations=[center])
        # the owner: anyone, any role, any locations of the organisation; audited
        r = self.manage(owner, op="set_staff_role", id=sid, role="manager")
        self.assertEqual((r["t"], r.get("id")), ("manage_result", sid), r)
        r = self.manage(owner, op="set_staff_locations", id=sid, locations=[maribor, center])
        self.assertEqual((r["t"], r.get("id")), ("manage_result", sid), r)
        self.assertEqual(self.staff_state(sid), ("manager", sorted([center, maribor])))
        r = self.manage(owner, op="set_staff_locations", id=sid, locations=[maribor])
        self.assertEqual(self.staff_state(sid), ("manager", [maribor]))
        owner_id = self.staff(owner["email"])
        audited = self.q("SELECT action, actor_id FROM audit WHERE entity_id = ? AND action IN "
                         "('update', 'link', 'unlink') ORDER BY seq", (sid,))
        self.assertEqual([a for a, _ in audited], ["link", "update", "link", "unlink"], audited)  # invite first
        self.assertEqual({who for _, who in audited}, {owner_id})
        # never one's own role (the organisation would lose its owner)
        m = self.refused(owner, "invalid", op="set_staff_role", id=owner_id, role="reception")
        self.assertIn("own role", m["msg"])

    def test_staff_changes_by_a_manager_stay_in_their_team(self):
        owner, mgr = self.acc("owner"), self.acc("manager", "Lepota Center")
        center, maribor = self.loc("Lepota Center"), self.loc("Lepota Maribor")
        mine = self.invited(owner, "team1@lepota.example", "specialist", [center])
        both = self.invited(owner, "team2@lepota.example", "reception", [center, maribor])
        boss = self.invited(owner, "team3@lepota.example", "manager", [center])
        # within the team: reception <-> specialist, locations of their own
        r = self.manage(mgr, op="set_staff_role", id=mine, role="reception")
        self.assertEqual(r["t"], "manage_result", r)
        r = self.manage(mgr, op="set_staff_locations", id=mine, locations=[center])
        self.assertEqual(r["t"], "manage_result", r)
        self.assertEqual(self.staff_state(mine), ("reception", [center]))
        # never a promotion, never someone outside the team, never a location not theirs
        for role in ("manager", "owner"):
            m = self.refused(mgr, "forbidden", op="set_staff_role", id=mine, role=role)
            self.assertIn("role", m["msg"])
        for sid in (both, boss, self.staff(owner["email"]), self.staff(mgr["email"])):
            self.refused(mgr, "forbidden", op="set_staff_role", id=sid, role="specialist")
            self.refused(mgr, "forbidden", op="set_staff_locations", id=sid, locations=[center])
        m = self.refused(mgr, "forbidden", op="set_staff_locations", id=mine, locations=[center, maribor])
        self.assertIn("locations", m["msg"])
        self.refused(mgr, "forbidden", op="set_staff_locations", id=mine, locations=[])
        self.assertEqual(self.staff_state(mine), ("reception", [center]))

    def test_staff_changes_not_across_organisations(self):
        owner = self.acc("owner")
        other = self.staff(h.account(self.other_org, "specialist")["email"])
        l2 = self.q("SELECT id FROM location WHERE org_id = (SELECT org_id FROM staff WHERE id = ?) LIMIT 1",
                    (other,))[0][0]
        self.refused(owner, "not_found", op="set_staff_role", id=other, role="reception")
        self.refused(owner, "not_found", op="set_staff_locations", id=other, locations=[l2])
        sid = self.invited(owner, "cross1@lepota.example", "specialist", [self.loc("Lepota Center")])
        m = self.refused(owner, "not_found", op="set_staff_locations", id=sid, locations=[l2])
        self.assertIn("locations", m["msg"])

    def test_staff_changes_bad_input_names_the_field(self):
        owner = self.acc("owner")
        center = self.loc("Lepota Center")
        sid = self.invited(owner, "bad1@lepota.example", "specialist", [center])
        for msg, code, words in ((dict(op="set_staff_role", id=sid, role="overlord"), "invalid", "role"),
                                 (dict(op="set_staff_role", id=sid), "invalid", "role"),
                                 (dict(op="set_staff_role", role="reception"), "invalid", "id"),
                                 (dict(op="set_staff_role", id="nobody", role="reception"), "invalid", "id"),
                                 (dict(op="set_staff_role", id=str(uuid.uuid4()), role="reception"), "not_found",
                                  "staff"),
                                 (dict(op="set_staff_locations", id=sid), "invalid", "locations"),
                                 (dict(op="set_staff_locations", id=sid, locations=["x"]), "invalid", "locations"),
                                 (dict(op="set_staff_locations", id=sid, locations=[str(uuid.uuid4())]),
                                  "not_found", "locations")):
            with self.subTest(msg=msg):
                m = self.refused(owner, code, **msg)
                self.assertIn(words, m["msg"], m)
        self.assertEqual(self.staff_state(sid), ("specialist", [center]))

    def test_a_signed_in_specialist_sees_the_owners_change(self):
        owner = self.acc("owner")
        spec = self.acc("specialist", "Lepota Maribor", -1)
        sid = self.staff(spec["email"])
        center, maribor = self.loc("Lepota Center"), self.loc("Lepota Maribor")
        self.assertEqual(self.staff_state(sid), ("specialist", [maribor]))

        async def changes(peer):
            """The rows the device is sent next: puts of a changes message or, after a change of
            role (what it may read changed), a new snapshot's pages."""
            seen = []
            while True:
                m = await peer.recv(20)
                seen.append(m)
                if m.get("t") == "synced" and any(x.get("t") in ("changes", "snapshot_end") for x in seen):
                    return ([op for x in seen if x.get("t") == "changes" for op in x["ops"] if op["op"] == "put"] +
                            [r for x in seen if x.get("t") == "page" for r in x["rows"]])

        async def manage(**msg):
            o = await self.signed_in(owner)
            try:
                await o.send(dict({"t": "manage"}, **msg))
                return await o.recv()
            finally:
                await o.close()

        async def go():
            dev = await self.signed_in(spec)
            try:
                await dev.send({"t": "sync", "cursor": None})
                await dev.recv_until("synced")
                r = await manage(op="set_staff_locations", id=sid, locations=[maribor, center])
                self.assertEqual(r["t"], "manage_result", r)
                ops = await changes(dev)
                # the device now gets Center's rows (a location it did not see before), no sign-in again
                self.assertIn(("location", center), {(o["tbl"], o["id"]) for o in ops})
                r = await manage(op="set_staff_role", id=sid, role="reception")
                self.assertEqual(r["t"], "manage_result", r)
                ops = await changes(dev)
                own = [o for o in ops if o["tbl"] == "staff" and o["id"] == sid]
                self.assertTrue(own, ops)
                self.assertEqual(own[-1]["f"]["role"], "reception")
            finally:
                await dev.close()
        try:
            h.run(go())
        finally:
            # back as it was, for the other tests
            self.manage(owner, op="set_staff_role", id=sid, role="specialist")
            self.manage(owner, op="set_staff_locations", id=sid, locations=[maribor])
        self.assertEqual(self.staff_state(sid), ("specialist", [maribor]))

if __name__ == "__main__":
    h.main()
