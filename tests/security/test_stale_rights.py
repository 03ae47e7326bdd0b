"""Stale rights. A change of someone's role, active flag or locations counts
for the very next request of every session of theirs, whoever made it (here
the admin command line, or another program writing the database, in another
process), even on a connection that never syncs and so never meets the
change in its stream. (Role, active flag and locations are not writable by
push; an owner's device deactivates with manage, which also ends sessions.)"""
import json
import sqlite3
import subprocess
import time

import kt_harness as h
import oracle

A, B = "Lepota Center", "Lepota Maribor"


def query(db, sql, *args):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


class StaleRightsTest(h.DemoServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.loc = dict(query(cls.db, "SELECT name, id FROM location"))

    def staff_id(self, acc):
        return query(self.db, "SELECT id FROM staff WHERE email = ?", acc["email"])[0][0]

    def client_at(self, name, offset=0):
        # known at that branch alone: the demo links some clients to both branches,
        # and which ones changes with every run (ids are UUIDv7)
        return query(self.db, "SELECT client_id FROM client_location cl WHERE location_id = ? AND NOT EXISTS "
                              "(SELECT 1 FROM client_location o WHERE o.client_id = cl.client_id "
                              "AND o.location_id != cl.location_id) ORDER BY client_id LIMIT 1 OFFSET ?",
                     self.loc[name], offset)[0][0]

    def version(self, tbl, rid):
        return query(self.db, "SELECT version FROM %s WHERE id = ?" % tbl, rid)[0][0]

    def admin_ok(self, *args):
        r = subprocess.run([h.SERVER, "admin", "--db", self.db] + [str(a) for a in args],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)

    async def phone(self, p, cid, mid, phone):
        """Push a new phone for client cid; the result (or the error) that comes back."""
        await p.send({"t": "push", "muts": [{"mid": mid, "tbl": "client", "id": cid, "op": "update",
                                             "base": self.version("client", cid), "f": {"phone": phone},
                                             "at": mid}]})
        m = await p.recv(15)
        return m["results"][0] if m["t"] == "push_result" else m

    async def export(self, p, cid):
        """The first answer to an export of cid."""
        await p.send({"t": "privacy", "op": "export", "client": cid})
        m = await p.recv(30)
        if m["t"] == "privacy_result":
            for _ in range(m["parts"] - 1):
                await p.recv(30)
        return m

    async def demoted(self, acc, cid, demote):
        """acc's connection (never synced) writes and exports cid before and after demote()."""
        m = await self.signed_in(acc)
        try:
            before = await self.phone(m, cid, 1, "+386 40 222 001")
            self.assertEqual(before["status"], "applied", before)
            self.assertEqual((await self.export(m, cid))["t"], "privacy_result")
            await demote()
            after = await self.phone(m, cid, 2, "+386 40 222 002")
            exported = await self.export(m, cid)
            await m.send({"t": "manage", "op": "list_devices"})
            managed = await m.recv()
            await m.send({"t": "audit_query", "client": cid, "limit": 5})
            audited = await m.recv()
        finally:
            await m.close()
        self.assertEqual((after.get("status"), after.get("code")), ("rejected", "forbidden"), after)
        self.assertIn("phone", after["msg"])
        for ans in (exported, managed, audited):
            self.assertEqual((ans["t"], ans.get("code")), ("error", "forbidden"), ans)
        self.assertEqual(self.server_row("client", cid)["phone"], "+386 40 222 001")

    def test_manager_demoted_by_the_admin_command_line_is_refused_at_once(self):
        mgr = h.account(self.accounts, "manager", A)
        sid, cid = self.staff_id(mgr), self.client_at(A)

        async def demote():
            # another process: the server learns of it from the database only
            self.admin_ok("staff", "role", sid, "specialist")
            self.admin_ok("staff", "location", sid, "remove", self.loc[A])
        h.run(self.demoted(mgr, cid, demote))

    def test_manager_demoted_by_another_process_in_two_steps_is_refused_at_once(self):
        # only the role first (locations kept): contact data is a specialist's no more
        mgr = h.account(self.accounts, "manager", B)
        sid, cid = self.staff_id(mgr), self.client_at(B, 1)

        async def demote():
            self.admin_ok("staff", "role", sid, "specialist")
        h.run(self.demoted(mgr, cid, demote))

    def test_a_replayed_answer_carries_no_values_the_rights_no_longer_show(self):
        # the first answer showed the row's current values; after a move to
        # another branch, the same mid again must not show them any more
        spec = h.account(self.accounts, "specialist", A, 0)
        sid, cid = self.staff_id(spec), self.client_at(A, 4)
        mut = {"mid": 7, "tbl": "client", "id": cid, "op": "create", "base": 0,
               "f": {"allergies": None, "conditions": None}, "at": 7}

        async def go():
            r = await self.signed_in(spec)
            try:
                await r.send({"t": "push", "muts": [mut]})
                first = (await r.recv(15))["results"][0]
                await r.send({"t": "push", "muts": [mut]})
                same = (await r.recv(15))["results"][0]
                self.admin_ok("staff", "location", sid, "add", self.loc[B])
                self.admin_ok("staff", "location", sid, "remove", self.loc[A])
                await r.send({"t": "push", "muts": [mut]})
                again = (await r.recv(15))["results"][0]
            finally:
                await r.close()
                self.admin_ok("staff", "location", sid, "add", self.loc[A])
                self.admin_ok("staff", "location", sid, "remove", self.loc[B])
            return first, same, again
        first, same, again = h.run(go())
        self.assertEqual(first["status"], "rejected", first)  # specialists create no client cards
        self.assertEqual(first["current"]["allergies"], self.server_row("client", cid)["allergies"],
                         "the control: seen then")
        self.assertEqual(same, {"mid": 7, "status": "duplicate", "first": first}, "a replay under the same rights")
        self.assertEqual(again["status"], "duplicate", again)
        self.assertEqual(again["first"]["code"], first["code"], again)
        self.assertNotIn("current", again["first"], "a client of a branch no longer the specialist's")

    def test_deactivated_staff_members_open_connection_is_refused_and_closed(self):
        rec = h.account(self.accounts, "reception", B)
        sid, cid = self.staff_id(rec), self.client_at(B, 2)

        async def go():
            r = await self.signed_in(rec)
            before = await self.phone(r, cid, 1, "+386 40 333 001")
            self.assertEqual(before["status"], "applied", before)
            # a writer that leaves no revocation entry behind (any tool that
            # writes the database): only the rights counter tells the server
            con = sqlite3.connect(self.db)
            con.execute("UPDATE staff SET active = 0 WHERE id = ?", (sid,))
            con.commit()
            con.close()
            after = await self.phone(r, cid, 2, "+386 40 333 002")
            closed = await r.closed()
            return after, closed
        after, closed = h.run(go())
        self.assertEqual((after.get("t"), after.get("code")), ("error", "revoked"), after)
        self.assertIn("deactivated", after["msg"])
        self.assertTrue(closed)
        self.assertEqual(self.server_row("client", cid)["phone"], "+386 40 333 001")


    def test_a_request_that_sees_a_move_first_does_not_cost_the_device_its_evictions(self):
        # the request reads the new rights at once; the stream, when it meets
        # the change, still compares with what the device holds (whichever of
        # the two comes first, the device ends up with exactly the new view)
        acc = h.account(self.accounts, "specialist", A, 1)
        sid = self.staff_id(acc)

        def apply(state, m):
            if m.get("t") == "page":
                for r in m["rows"]:
                    state[(r["tbl"], r["id"])] = (r["v"], r["f"])
            elif m.get("t") == "snapshot_begin":
                state.clear()
            elif m.get("t") == "changes":
                for op in m["ops"]:
                    if op["op"] == "put":
                        state[(op["tbl"], op["id"])] = (op["v"], op["f"])
                    else:
                        state.pop((op["tbl"], op["id"]), None)

        async def go():
            p = await self.signed_in(acc)
            state = {}
            try:
                await p.send({"t": "sync", "cursor": None})
                _, seen = await p.recv_until("synced", 30)
                for m in seen:
                    apply(state, m)
                self.assertIsNone(oracle.diff(oracle.expected(self.db, acc["email"]), state))
                self.admin_ok("staff", "location", sid, "add", self.loc[B])
                self.admin_ok("staff", "location", sid, "remove", self.loc[A])
                await p.send({"t": "audit_query", "limit": 1})      # any request
                end = time.monotonic() + 30
                while True:
                    m = await p.recv(max(0.01, end - time.monotonic()))
                    apply(state, m)
                    if m.get("t") == "error":
                        self.assertEqual(m.get("code"), "forbidden", m)
                    if m.get("t") == "synced" and oracle.diff(oracle.expected(self.db, acc["email"]), state) is None:
                        break
            finally:
                await p.close()
            return state
        state = h.run(go())
        self.assertFalse([k for k in state if k[0] == "location" and k[1] == self.loc[A]])


    def test_a_streaming_device_of_a_deactivated_person_is_sent_nothing_more(self):
        rec = h.account(self.accounts, "reception", A)
        sid, cid = self.staff_id(rec), self.client_at(A, 3)

        async def go():
            r = await self.signed_in(rec)
            await r.send({"t": "sync", "cursor": None})
            await r.recv_until("synced", 30)
            con = sqlite3.connect(self.db)      # another program, no revocation entry
            con.execute("UPDATE staff SET active = 0 WHERE id = ?", (sid,))
            con.commit()
            con.close()
            o = await self.signed_in(h.account(self.accounts, "owner"))
            res = await self.phone(o, cid, 1, "+386 40 444 001")   # a change this device would be sent
            self.assertEqual(res["status"], "applied", res)
            await o.close()
            seen = []
            try:
                while True:
                    seen.append(await r.recv(10))
            except Exception:
                pass
            return seen
        seen = h.run(go())
        self.assertNotIn("+386 40 444 001", json.dumps(seen, default=str))
        errors = [m for m in seen if m.get("t") == "error"]
        self.assertEqual([(m["code"], m["fatal"]) for m in errors], [("revoked", True)], seen)


if __name__ == "__main__":
    h.main()
