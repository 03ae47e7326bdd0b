"""What the staff tablets' screens (/desk) need of the server. Staff rows: where each
person works (staff.location_ids, derived from staff_location, read-only for
devices) and their role, which specialists see too (the calendar's columns
are the branch's specialists); clients see neither. A change of someone's
locations reaches every device that sees the person, with a new version.
Appointments: why one was cancelled or was a no-show (status_reason), which
staff read and write and clients never see. Raw protocol peers, the admin
command line and the reference client against the real server."""
import asyncio
import sqlite3
import subprocess
import time

import kt_harness as h
import oracle

A, B = "Lepota Center", "Lepota Maribor"


class DemoDbTest(h.DemoServerTest):
    """The demo server, its locations by name, and plain reads of its database."""
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


class DeskStaffFieldsTest(DemoDbTest):

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

    def test_the_copy_follows_staff_location_whoever_writes_it(self):
        # another program (or a repair by hand) writing staff_location directly: the
        # row must never leave with locations that are not the person's
        sid = self.q("SELECT s.id FROM staff s WHERE s.role = 'specialist' AND (SELECT count(*) FROM "
                     "staff_location x WHERE x.staff_id = s.id) = 1 ORDER BY s.id", )[0][0]
        before = self.staff_locations(sid)
        other = [l for l in self.loc.values() if l not in before][0]
        con = sqlite3.connect(self.db)
        try:
            with con:
                con.execute("INSERT INTO staff_location(staff_id, location_id) VALUES(?, ?)", (sid, other))
            copy = con.execute("SELECT location_ids FROM staff WHERE id = ?", (sid,)).fetchone()[0]
            self.assertEqual(copy, ",".join(sorted(before + [other])))
            with con:
                con.execute("DELETE FROM staff_location WHERE staff_id = ? AND location_id = ?", (sid, other))
            copy = con.execute("SELECT location_ids FROM staff WHERE id = ?", (sid,)).fetchone()[0]
            self.assertEqual(copy, ",".join(before))
        finally:
            con.close()
        spec = self.synced_rows(self.acc("owner"))
        self.assertEqual(spec[("staff", sid)]["location_ids"], before)

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


class StatusReasonTest(DemoDbTest):

    def upcoming(self, offset):
        """An appointment still to come at the Center, booked: (id, version, specialist_id)."""
        return self.q("SELECT id, version, specialist_id FROM appointment WHERE location_id = ? AND status = "
                      "'booked' AND start_at > ? ORDER BY id LIMIT 1 OFFSET ?", self.loc[A],
                      int(time.time() * 1000), offset)[0]

    def push(self, acc, mut):
        async def go():
            p = await self.signed_in(acc)
            await p.send({"t": "push", "muts": [dict({"mid": 1, "op": "update", "tbl": "appointment", "at": 1},
                                                     **mut)]})
            m, _ = await p.recv_until("push_result")
            await p.close()
            return m["results"][0]
        return h.run(go())

    def snapshot(self, acc):
        async def go():
            p = await self.signed_in(acc)
            rows = await p.snapshot()
            await p.close()
            return rows
        return h.run(go())

    def test_reception_cancels_with_a_reason_that_staff_see_and_the_client_does_not(self):
        # the client of a portal account, and one of their appointments
        acc = h.account(self.accounts, "client", A)
        cid = oracle.principal(self.db, acc["email"])[1]
        aid, version = self.q("SELECT id, version FROM appointment WHERE client_id = ? AND location_id = ? "
                              "ORDER BY id", cid, self.loc[A])[0]
        rec = h.account(self.accounts, "reception", A)
        r = self.push(rec, {"id": aid, "base": version,
                            "f": {"status": "cancelled", "status_reason": "Ill, will call to rebook"}})
        self.assertEqual(r["status"], "applied", r)
        self.assertEqual(self.server_row("appointment", aid)["status_reason"], "Ill, will call to rebook")
        for role in ("owner", "manager", "reception", "specialist"):
            with self.subTest(role=role):
                rows = self.snapshot(h.account(self.accounts, role, None if role == "owner" else A))
                self.assertEqual(rows[("appointment", aid)]["status_reason"], "Ill, will call to rebook")
        mine = self.snapshot(acc)
        self.assertEqual(mine[("appointment", aid)]["status"], "cancelled")
        self.assertNotIn("status_reason", mine[("appointment", aid)])
        # audited like the other fields: who, which fields
        fields = self.q("SELECT fields FROM audit WHERE entity = 'appointment' AND entity_id = ? "
                        "ORDER BY seq DESC LIMIT 1", aid)[0][0]
        self.assertIn("status_reason", fields.split(","))

    def test_a_specialist_writes_the_reason_not_the_status(self):
        aid, version, sid = self.upcoming(0)
        spec = next(a for a in self.accounts if a["role"] == "specialist" and
                    self.q("SELECT id FROM staff WHERE email = ?", a["email"])[0][0] == sid)
        r = self.push(spec, {"id": aid, "base": version, "f": {"status_reason": "Did not come"}})
        self.assertEqual(r["status"], "applied", r)
        self.assertEqual(self.server_row("appointment", aid)["status_reason"], "Did not come")
        r = self.push(spec, {"id": aid, "base": r["v"], "f": {"status": "no_show"}})
        self.assertEqual((r["status"], r["code"]), ("rejected", "forbidden"), r)

    def test_a_reason_is_text_of_at_most_500_bytes(self):
        aid, version, _ = self.upcoming(1)
        rec = h.account(self.accounts, "reception", A)
        r = self.push(rec, {"id": aid, "base": version, "f": {"status_reason": "x" * 501}})
        self.assertEqual((r["status"], r["code"]), ("rejected", "invalid"), r)
        self.assertEqual(r["msg"], "status_reason must be text of at most 500 bytes")
        r = self.push(rec, {"id": aid, "base": version, "f": {"status_reason": 5}})
        self.assertEqual((r["status"], r["code"]), ("rejected", "invalid"), r)
        self.assertIn("status_reason", r["msg"])
        reason = "č" * 250  # 500 bytes
        r = self.push(rec, {"id": aid, "base": version, "f": {"status_reason": reason}})
        self.assertEqual(r["status"], "applied", r)
        self.assertEqual(self.server_row("appointment", aid)["status_reason"], reason)

    def test_admin_cancel_takes_a_reason(self):
        aid = self.upcoming(2)[0]
        self.server.admin("appointment", "cancel", aid, "--reason", "Salon closed: power cut")
        row = self.server_row("appointment", aid)
        self.assertEqual((row["status"], row["status_reason"]), ("cancelled", "Salon closed: power cut"))
        r = subprocess.run([h.SERVER, "admin", "--db", self.db, "appointment", "cancel", self.upcoming(3)[0],
                            "--reason", "y" * 501], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("status_reason must be text of at most 500 bytes", r.stderr)

    def test_the_reference_client_cancels_with_a_reason(self):
        aid = self.upcoming(4)[0]
        d, _ = self.tablet("rec-cancel", "reception", A)
        h.client(d, "appointment", "cancel", aid, "--reason", "Client asked by phone")
        h.client(d, "sync")
        row = self.server_row("appointment", aid)
        self.assertEqual((row["status"], row["status_reason"]), ("cancelled", "Client asked by phone"))


if __name__ == "__main__":
    h.main()
