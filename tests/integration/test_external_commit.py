"""A commit by another process (the admin command, or any SQLite connection)
reaches a connected device within milliseconds of its COMMIT, also when
that process held the write lock long with pages already in the WAL (the
WAL watcher, server/net/walwatch.c, waits for the lock to be released, then
wakes the loop). Were the watcher to miss them, only the loop's 250 ms poll
would find such commits. The bound, 100 ms, leaves room for a busy test
machine; the bench (kt-bench-propagation) measures the milliseconds."""
import os
import sqlite3
import time

import kt_harness as h

BOUND = 0.100  # seconds from COMMIT returning to the device's line


class ExternalCommitTest(h.DemoServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = os.path.join(cls.tmp, "owner")
        h.login(d, cls.server, h.account(cls.accounts, "owner"))
        h.client(d, "sync")
        cls.w = h.Watcher(d, seconds=120)
        assert cls.w.wait_synced(30), "watcher did not sync: " + cls.w.state()
        con = sqlite3.connect(cls.db)
        cls.client_id, = con.execute("SELECT id FROM client ORDER BY id LIMIT 1").fetchone()
        cls.appt_id, = con.execute("SELECT row_id FROM changelog WHERE tbl = 'appointment' "
                                   "ORDER BY seq DESC LIMIT 1").fetchone()
        con.close()

    @classmethod
    def tearDownClass(cls):
        cls.w.stop()
        super().tearDownClass()

    def late_by(self, done, line):
        """Seconds the device's line came after `done` (0 when before it)."""
        got = self.w.wait_for(lambda l: l.startswith(line), 5)
        self.assertIsNotNone(got, "the device did not receive %r: %s" % (line, self.w.state()))
        return max(0.0, got[0] - done)

    def test_admin_commits_reach_the_device_at_once(self):
        late = []
        for i in range(10):
            self.w.drain()
            self.server.admin("client", "set", self.client_id, "preferences", "external %d" % i)
            done = time.monotonic()
            late.append(self.late_by(done, "put client %s" % self.client_id))
        self.assertLess(max(late), BOUND, "late by %s s" % ["%.3f" % x for x in late])

    def test_a_long_transaction_is_streamed_when_it_commits(self):
        """Pages in the WAL 0.4 s before the commit: the watcher sees WAL
        writes, finds the write lock held, and wakes the loop when it is
        released, not at the next of its fallback looks."""
        self.w.drain()
        wal = self.db + "-wal"
        con = sqlite3.connect(self.db, isolation_level=None)
        try:
            con.execute("PRAGMA cache_size = 10")  # pages: the update below spills to the WAL before the commit
            con.execute("BEGIN IMMEDIATE")
            before = os.stat(wal).st_mtime_ns
            con.execute("UPDATE changelog SET at = at + 1")  # (a change: an update to the same value writes nothing)
            spilled = os.stat(wal).st_mtime_ns != before
            time.sleep(0.4)  # the lock stays held, the pages written
            con.execute("INSERT INTO changelog(org_id, tbl, row_id, op, loc_old, loc_new, client_old, client_new, at)"
                        " SELECT org_id, tbl, row_id, 'put', loc_new, loc_new, client_new, client_new, ?"
                        " FROM changelog WHERE tbl = 'appointment' AND row_id = ? ORDER BY seq DESC LIMIT 1",
                        (int(time.time() * 1000), self.appt_id))
            con.execute("COMMIT")
            done = time.monotonic()
        finally:
            if con.in_transaction:
                con.execute("ROLLBACK")
            con.close()
        self.assertTrue(spilled, "no page reached the WAL before the commit: the test proves nothing")
        self.assertLess(self.late_by(done, "put appointment %s" % self.appt_id), BOUND)


if __name__ == "__main__":
    h.main()
