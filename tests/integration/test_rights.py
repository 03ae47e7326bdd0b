"""Rights that change while devices are connected: a stylist moved to
another branch, a manager made receptionist. The device of that person
ends up holding exactly what they may see now (compared with the
independent SQL oracle), without reconnecting: nothing left behind from
the old rights, nothing missing from the new ones."""
import os
import sqlite3
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

    def test_manager_made_receptionist_loses_fields(self):
        acc = h.account(self.accounts, "manager", B)
        sid = self.staff_id(acc)
        d, w = self.watching("demoted", acc)
        try:
            self.server.admin("staff", "role", sid, "reception")
            self.assertIsNone(self.converges(d, acc))
            self.assertIsNone(w.proc.poll())
        finally:
            w.stop()
            self.server.admin("staff", "role", sid, "manager")


if __name__ == "__main__":
    h.main()
