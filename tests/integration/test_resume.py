"""A client killed mid-snapshot or mid-stream converges after a restart:
no duplicates, no gaps (judged by the oracle)."""
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import unittest

import kt_harness as h
import oracle


class ResumeTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kt-resume-")
        self.db, self.accounts = h.demo_db(self.tmp)
        self.server = h.Server(self.db)
        self.owner = h.account(self.accounts, "owner")
        self.dir = os.path.join(self.tmp, "owner")
        h.login(self.dir, self.server, self.owner)

    def tearDown(self):
        self.server.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def converged(self):
        problem = oracle.diff(oracle.expected(self.db, self.owner["email"]), h.cache_rows(self.dir))
        self.assertIsNone(problem)

    def rows_in_cache(self):
        try:
            con = sqlite3.connect(os.path.join(self.dir, "cache.db"), timeout=0.1)
            n = con.execute("SELECT count(*) FROM rows").fetchone()[0]
            con.close()
            return n
        except sqlite3.OperationalError:
            return 0

    def test_killed_mid_snapshot_converges(self):
        killed_at = None
        for attempt in range(20):
            p = subprocess.Popen([h.CLIENT, "--dir", self.dir, "--quiet", "sync"], stdout=subprocess.DEVNULL)
            # kill once some, but not all, pages are stored
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and p.poll() is None:
                n = self.rows_in_cache()
                if 0 < n < 9000:
                    p.send_signal(signal.SIGKILL)
                    killed_at = n
                    break
            p.wait()
            if killed_at:
                break
            shutil.rmtree(self.dir)
            h.login(self.dir, self.server, self.owner)
        self.assertIsNotNone(killed_at, "never caught the client mid-snapshot")
        # edits while the client is dead must arrive too
        con = sqlite3.connect(self.db)
        cid = con.execute("SELECT id FROM client LIMIT 1").fetchone()[0]
        con.close()
        self.server.admin("client", "set", cid, "preferences", "after the crash")
        h.client(self.dir, "sync")
        self.converged()

    def test_killed_mid_stream_converges(self):
        h.client(self.dir, "sync")
        con = sqlite3.connect(self.db)
        ids = [r[0] for r in con.execute("SELECT id FROM client ORDER BY id LIMIT 60")]
        con.close()
        w = h.Watcher(self.dir)
        self.assertTrue(w.wait_synced())
        for i, cid in enumerate(ids[:30]):
            self.server.admin("client", "set", cid, "preferences", "edit %d" % i)
        self.assertIsNotNone(w.wait_for(lambda l: "put client" in l, 5))
        w.stop()  # SIGKILL while changes stream
        for i, cid in enumerate(ids[30:]):
            self.server.admin("client", "set", cid, "preferences", "later %d" % i)
        h.client(self.dir, "sync")
        self.converged()
        con = sqlite3.connect(os.path.join(self.dir, "cache.db"))
        prefs = {r[0] for r in con.execute(
            "SELECT json_extract(data, '$.preferences') FROM rows WHERE tbl = 'client'")}
        con.close()
        self.assertIn("edit 29", prefs)
        self.assertIn("later 29", prefs)


if __name__ == "__main__":
    h.main()
