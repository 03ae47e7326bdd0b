"""What the staff tablets' screens (/desk) read from staff rows: where each
person works (staff.location_ids, derived from staff_location, read-only for
devices) and their role, which specialists see too (the calendar's columns
are the branch's specialists); clients see neither. A change of someone's
locations reaches every device that sees the person, with a new version.
Raw protocol peers against the real server."""
import asyncio
import sqlite3

import kt_harness as h

A, B = "Lepota Center", "Lepota Maribor"


class DeskStaffFieldsTest(h.DemoServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        con = sqlite3.connect(cls.db)
        cls.loc = dict(con.execute("SELECT name, id FROM location"))
        con.close()

    def q(self, sql, *args):
        con = sqlite3.connect(self.db)
        rows = con.execute(sql, args).fetchall()
        con.close()
        return rows

    def staff_locations(self, sid):
        return [r[0] for r in self.q("SELECT location_id FROM staff_location WHERE staff_id = ? "
                                     "ORDER BY location_id", sid)]

    def acc(self, role):
        """The first account of role at the Center (the owner's is of no branch)."""
        return h.account(self.accounts, role, None if role == "owner" else A)

    def synced_rows(self, acc):
        async def go():
            p = await self.signed_in(acc)
            rows = await p.snapshot()
            await p.close()
            return rows
        return h.run(go())

    def test_staff_roles_see_where_each_person_works(self):
        for role in ("owner", "manager", "reception", "specialist"):
            with self.subTest(role=role):
                staff = {rid: f for (tbl, rid), f in self.synced_rows(self.acc(role)).items()
                         if tbl == "staff"}
                self.assertGreater(len(staff), 1)
                for sid, f in staff.items():
                    self.assertEqual(f.get("location_ids"), self.staff_locations(sid), sid)

    def test_specialists_see_roles_clients_see_neither_role_nor_locations(self):
        spec = self.synced_rows(h.account(self.accounts, "specialist", A))
        roles = dict(self.q("SELECT id, role FROM staff"))
        seen = {rid: f["role"] for (tbl, rid), f in spec.items() if tbl == "staff"}
        self.assertEqual(seen, {rid: roles[rid] for rid in seen})
        self.assertIn("specialist", seen.values())
        self.assertIn("reception", seen.values())
        client = self.synced_rows(h.account(self.accounts, "client", A))
        staff = [f for (tbl, _), f in client.items() if tbl == "staff"]
        self.assertTrue(staff)
        for f in staff:
            self.assertNotIn("role", f)
            self.assertNotIn("location_ids", f)

    def test_a_device_may_not_write_location_ids(self):
        sid = self.q("SELECT s.id FROM staff s JOIN staff_location sl ON sl.staff_id = s.id WHERE s.role = "
                     "'specialist' AND sl.location_id = ? ORDER BY s.id", self.loc[A])[0][0]
        version = self.q("SELECT version FROM staff WHERE id = ?", sid)[0][0]

        async def go():
            p = await self.signed_in(h.account(self.accounts, "owner"))
            await p.send({"t": "push", "muts": [{"mid": 1, "tbl": "staff", "id": sid, "op": "update",
                                                 "base": version, "f": {"location_ids": [self.loc[B]]}, "at": 1}]})
            m, _ = await p.recv_until("push_result")
            await p.close()
            return m["results"][0]
        r = h.run(go())
        self.assertEqual((r["status"], r["code"]), ("rejected", "invalid"), r)
        self.assertEqual(r["msg"], "location_ids is not a field of staff that a device may write")
        self.assertEqual(self.staff_locations(sid), [self.loc[A]])
        self.assertEqual(self.q("SELECT version FROM staff WHERE id = ?", sid)[0][0], version)

    def test_a_change_of_locations_reaches_every_device_that_sees_the_person(self):
        # a specialist of the Center only, who stays there and starts at Maribor too: the
        # owner's tablet and the Center reception's both see her before and after
        sid = self.q("SELECT s.id FROM staff s JOIN staff_location sl ON sl.staff_id = s.id WHERE s.role = "
                     "'specialist' AND s.active = 1 AND sl.location_id = ? AND (SELECT count(*) FROM "
                     "staff_location x WHERE x.staff_id = s.id) = 1 ORDER BY s.id DESC", self.loc[A])[0][0]
        version = self.q("SELECT version FROM staff WHERE id = ?", sid)[0][0]
        want = sorted([self.loc[A], self.loc[B]])

        async def put_of(p, v):
            """The staff row's put that the stream brings, past version v."""
            while True:
                m = await p.recv(20)
                for op in m.get("ops", []) if m.get("t") == "changes" else []:
                    if op["tbl"] == "staff" and op["id"] == sid and op["op"] == "put" and op["v"] > v:
                        return op

        async def go():
            devices = [await self.signed_in(self.acc(role)) for role in ("owner", "reception")]
            for p in devices:
                rows = await p.snapshot()
                self.assertEqual(rows[("staff", sid)]["location_ids"], [self.loc[A]])
            await asyncio.to_thread(self.server.admin, "staff", "location", sid, "add", self.loc[B])
            ops = [await put_of(p, version) for p in devices]
            for p in devices:
                await p.close()
            return ops
        for op in h.run(go()):
            self.assertEqual(op["f"]["location_ids"], want)
            self.assertEqual(op["v"], self.q("SELECT version FROM staff WHERE id = ?", sid)[0][0])
        self.assertEqual(self.staff_locations(sid), want)
        self.assertEqual(self.q("SELECT location_ids FROM staff WHERE id = ?", sid)[0][0], ",".join(want))


if __name__ == "__main__":
    h.main()
