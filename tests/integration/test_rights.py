"""Rights that change while devices are connected: a stylist moved to
another branch, a manager made receptionist. The device of that person
ends up holding exactly what they may see now (compared with the
independent SQL oracle), without reconnecting: nothing left behind from
the old rights, nothing missing from the new ones.

A change of locations with the same role is sent as the difference
(PROTOCOL.md, rights): evictions for what only the old locations showed,
the rows only the new ones show, nothing else re-sent and no snapshot; a
change of role is a new snapshot."""
import os
import sqlite3
import subprocess
import time

import kt_harness as h
import oracle

A, B = "Lepota Center", "Lepota Maribor"


class RightsTest(h.DemoServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        con = sqlite3.connect(cls.db)
        cls.loc = dict(con.execute("SELECT name, id FROM location"))
        con.close()

    def staff_id(self, acc):
        con = sqlite3.connect(self.db)
        sid = con.execute("SELECT id FROM staff WHERE email = ?", (acc["email"],)).fetchone()[0]
        con.close()
        return sid

    def watching(self, name, acc):
        d = os.path.join(self.tmp, name)
        h.login(d, self.server, acc)
        w = h.Watcher(d)
        self.assertIsNotNone(w.wait_synced())
        return d, w

    def converges(self, d, acc, timeout=30):
        """The cache equals the oracle for acc within timeout; the last diff otherwise."""
        end = time.monotonic() + timeout
        while True:
            diff = oracle.diff(oracle.expected(self.db, acc["email"]), h.cache_rows(d))
            if diff is None or time.monotonic() > end:
                return diff
            time.sleep(0.1)

    def test_stylist_moved_to_another_branch(self):
        acc = h.account(self.accounts, "specialist", A, 1)
        sid = self.staff_id(acc)
        d, w = self.watching("moved-stylist", acc)
        try:
            before = h.cache_rows(d)
            self.server.admin("staff", "location", sid, "add", self.loc[B])
            self.assertIsNone(self.converges(d, acc))          # gains B, keeps A
            self.server.admin("staff", "location", sid, "remove", self.loc[A])
            self.assertIsNone(self.converges(d, acc))          # A is gone from the tablet
            after = h.cache_rows(d)
            self.assertTrue(set(before) - set(after))          # rows really left
            self.assertTrue(set(after) - set(before))          # rows really came
            self.assertIsNone(w.proc.poll())                   # no reconnect was needed
        finally:
            w.stop()

    # ---- the difference, seen on the wire ----

    def q(self, sql, *args):
        con = sqlite3.connect(self.db)
        rows = con.execute(sql, args).fetchall()
        con.close()
        return rows

    def admin_ok(self, *args):
        r = subprocess.run([h.SERVER, "admin", "--db", self.db] + [str(a) for a in args],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)

    @staticmethod
    def apply(state, msgs):
        """Apply pages and changes to state {(tbl, id): (v, f)}; the ops of the changes."""
        ops = []
        for m in msgs:
            if m.get("t") == "page":
                for r in m["rows"]:
                    state[(r["tbl"], r["id"])] = (r["v"], r["f"])
            elif m.get("t") == "changes":
                for op in m["ops"]:
                    ops.append(op)
                    if op["op"] == "put":
                        state[(op["tbl"], op["id"])] = (op["v"], op["f"])
                    else:
                        state.pop((op["tbl"], op["id"]), None)
        return ops

    async def until_changed(self, peer, timeout=20):
        """Messages up to the synced that follows the first changes message."""
        seen = []
        end = time.monotonic() + timeout
        while True:
            m = await peer.recv(max(0.01, end - time.monotonic()))
            seen.append(m)
            if m.get("t") == "synced" and any(x.get("t") in ("changes", "snapshot_end") for x in seen):
                return seen

    def test_stylist_move_is_sent_as_the_difference(self):
        acc = h.account(self.accounts, "specialist", A, 0)
        sid, a, b = self.staff_id(acc), self.loc[A], self.loc[B]
        self.assertEqual({r[0] for r in self.q("SELECT location_id FROM staff_location WHERE staff_id = ?", sid)},
                         {a})
        # a client of A who also comes to B (a booking there links them), with a consent that follows them
        both = self.q("SELECT client_id FROM client_location WHERE location_id = ? AND client_id NOT IN "
                      "(SELECT client_id FROM client_location WHERE location_id = ?) ORDER BY client_id", a, b)[0][0]
        spec_b = self.q("SELECT staff_id FROM staff_location sl JOIN staff s ON s.id = sl.staff_id WHERE "
                        "sl.location_id = ? AND s.role = 'specialist' AND s.active = 1 ORDER BY s.id", b)[0][0]
        self.admin_ok("appointment", "create", "--location", b, "--client", both, "--specialist", spec_b,
                      "--start", 1893456000000, "--duration", 45)
        self.admin_ok("consent", both, "photo_use", "grant", "--text-version", "v1")
        self.assertEqual({r[0] for r in self.q("SELECT location_id FROM client_location WHERE client_id = ?", both)},
                         {a, b})
        kept = {("client", both)} | {("consent", r[0]) for r in self.q(
            "SELECT id FROM consent WHERE client_id = ? AND purpose IN ('photo_use', 'health_data')", both)}
        self.assertGreater(len(kept), 1)

        async def go():
            peer = await h.Peer(self.server).connect()
            try:
                await peer.hello()
                self.assertEqual((await peer.login(acc))["t"], "auth_ok")
                await peer.send({"t": "sync", "cursor": None})
                end, seen = await peer.recv_until("synced")
                state = {}
                self.apply(state, seen)
                first_cursor = end["cursor"]
                self.assertIsNone(oracle.diff(oracle.expected(self.db, acc["email"]), state))
                self.assertTrue(kept <= set(state))

                # 1. a second branch: only B's rows arrive, nothing goes, nothing else again
                before = dict(state)
                self.admin_ok("staff", "location", sid, "add", b)
                seen = await self.until_changed(peer)
                self.assertFalse([m["t"] for m in seen if m["t"] in ("snapshot_begin", "page", "snapshot_end")])
                ops = self.apply(state, seen)
                self.assertIsNone(oracle.diff(oracle.expected(self.db, acc["email"]), state))
                gained = set(state) - set(before)
                self.assertTrue(gained)
                self.assertFalse([o for o in ops if o["op"] != "put"])
                puts = {(o["tbl"], o["id"]) for o in ops}
                # the person's own row, and their time off, which goes where their staff row goes
                # (its routing moved with them), come again; rows that stay were not re-sent
                own = {("staff", sid)} | {("time_off", r[0]) for r in self.q(
                    "SELECT id FROM time_off WHERE staff_id = ?", sid)}
                self.assertEqual(puts - own, gained)
                self.assertLessEqual(len(ops), len(gained) + 2 * len(own))  # (own rows: diff and log entry)

                # 2. no longer at A: A's rows go, B's stay; the client of both and its consent stay untouched
                before = dict(state)
                self.admin_ok("staff", "location", sid, "remove", a)
                seen = await self.until_changed(peer)
                self.assertFalse([m["t"] for m in seen if m["t"] in ("snapshot_begin", "page", "snapshot_end")])
                ops = self.apply(state, seen)
                self.assertIsNone(oracle.diff(oracle.expected(self.db, acc["email"]), state))
                lost = set(before) - set(state)
                self.assertTrue(lost)
                evicted = {(o["tbl"], o["id"]) for o in ops if o["op"] == "evict"}
                self.assertEqual(evicted, lost)
                self.assertTrue(kept <= set(state))
                touched = {(o["tbl"], o["id"]) for o in ops}
                self.assertFalse(kept & touched)                            # not evicted, not re-sent
                self.assertEqual({(o["tbl"], o["id"]) for o in ops if o["op"] == "put"} - own, set())
                last_cursor = [m for m in seen if m["t"] == "synced"][-1]["cursor"]
            finally:
                await peer.close()

            # the cursor after the difference carries the new rights: it resumes;
            # one from before the change does not (a snapshot, never skipped evictions)
            for cursor, resumes in ((last_cursor, True), (first_cursor, False)):
                again = h.Peer(self.server, device=peer.device)
                await again.connect()
                try:
                    await again.hello()
                    self.assertEqual((await again.login(acc))["t"], "auth_ok")
                    await again.send({"t": "sync", "cursor": cursor})
                    _, seen = await again.recv_until("synced")
                    kinds = [m["t"] for m in seen]
                    if resumes:
                        self.assertNotIn("snapshot_begin", kinds)
                        self.assertNotIn("error", kinds)
                    else:
                        self.assertEqual(seen[0].get("code"), "bad_cursor")
                        self.assertIn("snapshot_begin", kinds)
                finally:
                    await again.close()

        h.run(go())
        self.assertIn("locations changed; sending the difference", "".join(self.server.errlog))

    def test_manager_made_receptionist_loses_fields(self):
        acc = h.account(self.accounts, "manager", B)
        sid = self.staff_id(acc)
        d, w = self.watching("demoted", acc)
        try:
            self.server.admin("staff", "role", sid, "reception")
            self.assertIsNone(self.converges(d, acc))
            self.assertIsNone(w.proc.poll())
            self.assertIn("rights changed; sending a new snapshot", "".join(self.server.errlog))  # the fallback
        finally:
            w.stop()
            self.server.admin("staff", "role", sid, "manager")


if __name__ == "__main__":
    h.main()
