"""Offline edits end to end with the reference client: edits made without a
server apply to the cache at once, are pushed in order when the device
syncs, merge or are rejected and rolled back, and converge everywhere."""
import re
import signal
import sqlite3
import subprocess
import time

import kt_harness as h
import oracle

A = "Lepota Center"


class OfflineTest(h.DemoServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        con = sqlite3.connect(cls.db)
        cls.loc = con.execute("SELECT id FROM location WHERE name = ?", (A,)).fetchone()[0]
        cls.spec = con.execute("SELECT s.id FROM staff s JOIN staff_location sl ON sl.staff_id = s.id WHERE "
                               "s.role = 'specialist' AND sl.location_id = ? ORDER BY s.id", (cls.loc,)).fetchone()[0]
        cls.clients = [r[0] for r in con.execute(
            "SELECT client_id FROM client_location WHERE location_id = ? ORDER BY client_id LIMIT 40", (cls.loc,))]
        con.close()

    def tablet(self, name, role="reception"):
        return super().tablet(name, role, A)

    def converged(self, d, acc):
        self.assertIsNone(oracle.diff(oracle.expected(self.db, acc["email"]), h.cache_rows(d)))

    def test_two_offline_tablets_merge_fields_and_see_conflicts(self):
        t1, a1 = self.tablet("t1", "reception")
        t2, a2 = self.tablet("t2", "manager")
        cid = self.clients[0]
        # both offline: no sync between the edits
        h.client(t1, "client", "set", cid, "phone", "+386 41 111 111")
        h.client(t2, "client", "set", cid, "preferences", "oat milk")
        h.client(t2, "client", "set", cid, "phone", "+386 41 222 222")
        h.client(t1, "sync")
        h.client(t2, "sync")
        row = self.server_row("client", cid)
        self.assertEqual(row["phone"], "+386 41 111 111")      # first to arrive
        self.assertEqual(row["preferences"], "oat milk")        # different field merged
        rej = h.client(t2, "rejections").stdout
        self.assertIn("conflict", rej)
        self.assertIn("+386 41 111 111", rej)                   # shown the current value
        h.client(t1, "sync")
        self.converged(t1, a1)
        self.converged(t2, a2)

    def test_double_booking_offline_one_wins_other_rolls_back(self):
        t1, _ = self.tablet("b1", "reception")
        t2, a2 = self.tablet("b2", "manager")
        args = ["appointment", "create", "--location", self.loc, "--client", self.clients[1], "--specialist",
                self.spec, "--duration", "60"]
        first = h.client(t1, *args, "--start", "2032-02-02T09:00:00Z").stdout.strip()
        second = h.client(t2, *args, "--start", "2032-02-02T09:30:00Z").stdout.strip()
        self.assertIn(second, h.client(t2, "ls", "appointments").stdout)  # optimistic
        h.client(t1, "sync")
        h.client(t2, "sync")
        self.assertIsNotNone(self.server_row("appointment", first))
        self.assertIsNone(self.server_row("appointment", second))
        rej = h.client(t2, "rejections").stdout
        self.assertIn(first, rej)                                  # names the other appointment
        self.assertIn('"start_at":"2032-02-02 10:30 CET"', rej)   # the edit's time, local at the branch
        self.assertIsNone(re.search(r"(?<![0-9])[0-9]{13}(?![0-9])", rej), rej)
        self.assertNotIn(second, h.client(t2, "ls", "appointments").stdout)  # rolled back
        self.converged(t2, a2)

    def test_thousand_queued_edits_resolve_in_order(self):
        d, acc = self.tablet("bulk", "reception")
        cid = self.clients[2]
        lines = []
        for i in range(1000):
            if i % 100 == 99:  # a few that the server must refuse (the client refuses unknown fields itself)
                lines.append("client\tset\t%s\tmedications\tnone" % cid)
            else:
                lines.append("client\tset\t%s\tpreferences\tedit %d" % (cid, i))
        h.client(d, "--quiet", "batch", stdin="\n".join(lines) + "\n")
        status = h.client(d, "status").stdout
        self.assertIn("queued edits: 1000", status)
        h.client(d, "sync")
        self.assertIn("queued edits: 0", h.client(d, "status").stdout)
        row = self.server_row("client", cid)
        self.assertEqual(row["preferences"], "edit 998")         # the last edit wins: order kept
        rejections = h.client(d, "rejections").stdout.count("forbidden")
        self.assertEqual(rejections, 10)
        con = sqlite3.connect(self.db)
        applied = con.execute("SELECT count(*) FROM audit WHERE entity_id = ? AND action = 'update' AND "
                              "fields = 'preferences'", (cid,)).fetchone()[0]
        con.close()
        self.assertEqual(applied, 990)                             # each exactly once
        self.converged(d, acc)

    def test_opened_cards_reach_the_audit_log(self):
        d, acc = self.tablet("viewer", "specialist")
        cid = self.clients[4]
        h.client(d, "show", "client", cid)
        h.client(d, "sync")
        con = sqlite3.connect(self.db)
        rows = con.execute("SELECT a.actor_id, a.device_id FROM audit a JOIN staff s ON s.id = a.actor_id "
                           "WHERE a.action = 'viewed' AND a.entity = 'client' AND a.entity_id = ? AND s.email = ?",
                           (cid, acc["email"])).fetchall()
        con.close()
        self.assertEqual(len(rows), 1)
        self.assertIsNotNone(rows[0][1])                            # which device
        self.assertIn("viewed", self.run_audit_show(cid))

    def run_audit_show(self, cid):
        import subprocess
        return subprocess.run([h.SERVER, "audit", "show", "--db", self.db, "--client", cid], capture_output=True,
                              text=True).stdout

    def nonexistent(self):
        return "01a20b5b-0000-7000-8000-000000000000"

    def test_killed_after_commit_before_answer_replays_as_duplicate(self):
        d, acc = self.tablet("crash", "manager")
        cid = self.clients[3]
        for attempt in range(5):
            h.client(d, "--quiet", "batch", stdin="".join(
                "client\tset\t%s\tinternal_notes\tnote %d-%d\n" % (cid, attempt, i) for i in range(300)))
            con = sqlite3.connect(self.db)
            before = con.execute("SELECT count(*) FROM mutation").fetchone()[0]
            p = subprocess.Popen([h.CLIENT, "--dir", d, "--quiet", "sync"], stdout=subprocess.DEVNULL)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:  # the push has committed...
                if con.execute("SELECT count(*) FROM mutation").fetchone()[0] > before:
                    p.send_signal(signal.SIGKILL)  # ...kill before the answer is handled
                    break
                time.sleep(0.001)
            p.wait()
            # a big push may be committed in pieces (group commit): let the
            # server finish it, with nobody left to answer
            while time.monotonic() < deadline:
                if con.execute("SELECT count(*) FROM mutation").fetchone()[0] >= before + 300:
                    break
                time.sleep(0.01)
            con.close()
            if "queued edits: 300" in h.client(d, "status").stdout:
                break  # caught it: the device still thinks nothing was answered
        else:
            self.skipTest("could not kill the client between commit and answer")
        dup_before = self.server_row("client", cid)["version"]
        h.client(d, "sync")
        self.assertIn("queued edits: 0", h.client(d, "status").stdout)
        self.assertEqual(self.server_row("client", cid)["version"], dup_before)  # nothing applied twice
        self.assertEqual(h.client(d, "rejections").stdout.strip(), "")
        self.converged(d, acc)


if __name__ == "__main__":
    h.main()
