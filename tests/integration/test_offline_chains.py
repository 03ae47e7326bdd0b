"""Chains of offline edits on rows the device created itself, all queued
before one sync: each edit applies in order, nothing is refused as a
conflict with the device's own create, and the server ends with the last
values. Through the CLI and through the library (kc_chains, a C program on
libkartoteka-client)."""
import os
import sqlite3
import subprocess
import sys

import kt_harness as h
import oracle

A = "Lepota Center"
CHAINS = None


class OfflineChainsTest(h.DemoServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        con = sqlite3.connect(cls.db)
        cls.loc = con.execute("SELECT id FROM location WHERE name = ?", (A,)).fetchone()[0]
        cls.spec = con.execute("SELECT s.id FROM staff s JOIN staff_location sl ON sl.staff_id = s.id WHERE "
                               "s.role = 'specialist' AND sl.location_id = ? ORDER BY s.id", (cls.loc,)).fetchone()[0]
        cls.clients = [r[0] for r in con.execute(
            "SELECT client_id FROM client_location WHERE location_id = ? ORDER BY client_id LIMIT 10", (cls.loc,))]
        con.close()

    def tablet(self, name, role):
        return super().tablet(name, role, A)

    def synced_cleanly(self, d, acc):
        h.client(d, "sync")
        self.assertEqual(h.client(d, "rejections").stdout.strip(), "")
        self.assertIn("queued edits: 0", h.client(d, "status").stdout)
        h.client(d, "sync")  # the puts of what was pushed
        self.assertIsNone(oracle.diff(oracle.expected(self.db, acc["email"]), h.cache_rows(d)))

    def create(self, d, client, start):
        return h.client(d, "appointment", "create", "--location", self.loc, "--client", client, "--specialist",
                        self.spec, "--start", start, "--duration", "45").stdout.strip()

    def test_create_move_cancel_applies_in_order(self):
        d, acc = self.tablet("mc", "reception")
        aid = self.create(d, self.clients[0], "2031-03-03T09:30:00Z")
        h.client(d, "appointment", "move", aid, "--start", "2031-03-03T11:00:00Z")
        h.client(d, "appointment", "cancel", aid)
        self.assertIn("queued edits: 3", h.client(d, "status").stdout)
        self.synced_cleanly(d, acc)
        row = self.server_row("appointment", aid)
        self.assertEqual(row["status"], "cancelled")
        self.assertEqual(row["start_at"], 1930302000000)        # 2031-03-03T11:00:00Z: the move too
        self.assertEqual(row["version"], 3)

    def test_create_edit_edit_of_the_same_field_keeps_the_last(self):
        d, acc = self.tablet("ee", "reception")
        aid = self.create(d, self.clients[1], "2031-03-04T09:30:00Z")
        h.client(d, "appointment", "move", aid, "--start", "2031-03-04T10:00:00Z")
        h.client(d, "appointment", "move", aid, "--start", "2031-03-04T12:00:00Z")
        self.synced_cleanly(d, acc)
        self.assertEqual(self.server_row("appointment", aid)["start_at"], 1930392000000)  # 12:00Z

    def test_create_then_cancel_before_any_sync(self):
        # the protocol has no delete: cancelling is how a booking goes away
        d, acc = self.tablet("cc", "reception")
        aid = self.create(d, self.clients[2], "2031-03-05T09:30:00Z")
        h.client(d, "appointment", "cancel", aid)
        self.synced_cleanly(d, acc)
        self.assertEqual(self.server_row("appointment", aid)["status"], "cancelled")

    def test_create_then_visit_add_on_it(self):
        d, acc = self.tablet("cv", "manager")                  # books and records treatments
        aid = self.create(d, self.clients[3], "2031-03-06T09:30:00Z")
        h.client(d, "appointment", "move", aid, "--start", "2031-03-06T10:30:00Z")
        vid = h.client(d, "visit", "add", "--appointment", aid, "--notes", "patch test negative").stdout.strip()
        self.synced_cleanly(d, acc)
        visit = self.server_row("visit", vid)
        self.assertEqual(visit["appointment_id"], aid)
        self.assertEqual(visit["treatment_notes"], "patch test negative")

    def test_someone_elses_change_after_the_create_still_conflicts(self):
        # the device's own create is what it saw, not anything after it
        d, acc = self.tablet("oc", "reception")
        other, _ = self.tablet("oc2", "manager")
        aid = self.create(d, self.clients[4], "2031-03-07T09:30:00Z")
        h.client(d, "sync")                                     # pushed; its put arrives
        h.client(other, "sync")
        h.client(other, "appointment", "move", aid, "--start", "2031-03-07T13:00:00Z")
        h.client(other, "sync")                                 # version 2, by someone else
        h.client(d, "appointment", "move", aid, "--start", "2031-03-07T14:00:00Z")
        h.client(d, "sync")
        self.assertIn("conflict", h.client(d, "rejections").stdout)
        self.assertEqual(self.server_row("appointment", aid)["start_at"], 1930654800000)  # 13:00Z stays

    def test_double_booking_on_purpose_from_the_device(self):
        """--allow-overlap --reason: the same specialist twice at once is
        refused without it, applied with it for reception and audited with the
        reason; the flags go together."""
        d, acc = self.tablet("ov", "reception")
        first = self.create(d, self.clients[6], "2031-03-08T09:30:00Z")
        second = self.create(d, self.clients[7], "2031-03-08T09:45:00Z")
        h.client(d, "sync")
        self.assertIsNotNone(self.server_row("appointment", first))
        self.assertIsNone(self.server_row("appointment", second))
        self.assertIn("already booked", h.client(d, "rejections").stdout)
        third = h.client(d, "appointment", "create", "--location", self.loc, "--client", self.clients[7],
                         "--specialist", self.spec, "--start", "2031-03-08T09:45:00Z", "--duration", "45",
                         "--allow-overlap", "--reason", "colour processing: she has time").stdout.strip()
        h.client(d, "sync")
        self.assertEqual(self.server_row("appointment", third)["start_at"], 1930729500000)  # 09:45Z
        con = sqlite3.connect(self.db)
        n = con.execute("SELECT count(*) FROM audit WHERE entity_id = ? AND action = 'override:overlap'",
                        (third,)).fetchone()[0]
        con.close()
        self.assertEqual(n, 1, "the override is audited")
        # the flags go together, and say so
        out = h.client(d, "appointment", "move", third, "--start", "2031-03-08T10:00:00Z", "--allow-overlap",
                       check=False)
        self.assertEqual(out.returncode, 2)
        self.assertIn("--allow-overlap and --reason", out.stderr)

    def test_library_chains(self):
        d = os.path.join(self.tmp, "lib")
        acc = h.account(self.accounts, "manager", A)
        out = subprocess.run([CHAINS, d, self.server.url, acc["email"], self.loc, self.clients[5], self.spec],
                             input=acc["password"] + "\n", capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        ids = dict(l.split(" ", 1) for l in out.stdout.strip().split("\n")[:-1])
        self.assertEqual(out.stdout.strip().split("\n")[-1], "ok")
        c = self.server_row("client", ids["client"])
        self.assertEqual((c["phone"], c["preferences"]), ("+386 1 000 003", "chain tea"))
        a = self.server_row("appointment", ids["appointment"])
        self.assertEqual((a["status"], a["start_at"], a["client_note"]),
                         ("cancelled", 1932797700000, "bring the patch test form"))  # 2031-04-01T08:15Z
        self.assertEqual(self.server_row("visit", ids["visit"])["treatment_notes"], "patch test negative, 48 h")

    def test_update_with_base_zero_is_refused_naming_base(self):
        # base 0 claims the device saw no version of a row that exists
        acc = h.account(self.accounts, "reception", A)

        async def go():
            p = await h.Peer(self.server).connect()
            await p.hello()
            ok = await p.login(acc)
            assert ok["t"] == "auth_ok", ok
            await p.send({"t": "push", "muts": [{"mid": 1, "tbl": "client", "id": self.clients[6], "op": "update",
                                                 "base": 0, "f": {"preferences": "x"}, "at": 1}]})
            m = await p.recv(15)
            await p.close()
            return m
        res = h.run(go())
        r = res["results"][0]
        self.assertEqual((r["status"], r["code"]), ("rejected", "invalid"))
        self.assertIn("base", r["msg"])


if __name__ == "__main__":
    if "--chains" in sys.argv:
        i = sys.argv.index("--chains")
        CHAINS = os.path.abspath(sys.argv[i + 1])
        del sys.argv[i:i + 2]
    h.main()
