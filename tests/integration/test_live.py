"""Live changes reach exactly the devices that may see them, within
milliseconds; moving a row to another location evicts it from the old
location's devices and delivers it to the new one's."""
import os
import sqlite3

import kt_harness as h
from ktcrypt import Keyring

A, B = "Lepota Center", "Lepota Maribor"


class LiveTest(h.DemoServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        con = sqlite3.connect(cls.db)
        cls.loc = dict(con.execute("SELECT name, id FROM location"))
        q = ("SELECT s.id FROM staff s JOIN staff_location sl ON sl.staff_id = s.id "
             "WHERE s.role = 'specialist' AND sl.location_id = ? ORDER BY s.id")
        cls.spec = {n: con.execute(q, (cls.loc[n],)).fetchone()[0] for n in (A, B)}
        # portal clients: X known only at A, Y known only at B
        known = lambda c, l: con.execute("SELECT 1 FROM client_location WHERE client_id = ? AND location_id = ?",
                                         (c, l)).fetchone() is not None
        portal = [(r["id"], r["email"]) for r in
                  Keyring(cls.db).rows(con, "SELECT id, email FROM client WHERE portal_enabled = 1", (), "client")]
        cls.x = next(c for c in portal if known(c[0], cls.loc[A]) and not known(c[0], cls.loc[B]))
        cls.y = next(c for c in portal if known(c[0], cls.loc[B]) and not known(c[0], cls.loc[A]))
        con.close()
        devices = {
            "owner": h.account(cls.accounts, "owner"),
            "manager_a": h.account(cls.accounts, "manager", A),
            "reception_a": h.account(cls.accounts, "reception", A),
            "specialist_a": h.account(cls.accounts, "specialist", A),
            "manager_b": h.account(cls.accounts, "manager", B),
            "specialist_b": h.account(cls.accounts, "specialist", B),
            "client_x": next(a for a in cls.accounts if a["email"] == cls.x[1]),
            "client_y": next(a for a in cls.accounts if a["email"] == cls.y[1]),
        }
        cls.w = {}
        for name, acc in devices.items():
            d = os.path.join(cls.tmp, name)
            h.login(d, cls.server, acc)
            h.client(d, "sync")
            cls.w[name] = h.Watcher(d, seconds=120)
        for w in cls.w.values():
            assert w.wait_synced(30), "watcher did not sync"

    @classmethod
    def tearDownClass(cls):
        for w in cls.w.values():
            w.stop()
        super().tearDownClass()

    def expect(self, names, line, timeout=2.0):
        for n in names:
            got = self.w[n].wait_for(lambda l: l.startswith(line), timeout)
            self.assertIsNotNone(got, "%s did not receive %r" % (n, line))

    def expect_nothing(self, names, rid, timeout=1.0):
        for n in names:
            got = self.w[n].wait_for(lambda l: rid in l, timeout)
            self.assertIsNone(got, "%s received %r but may not see it" % (n, got and got[1]))

    def test_1_new_appointment_reaches_location_a_and_its_client_only(self):
        for w in self.w.values():
            w.drain()
        # 02:00 UTC in 2030: nobody is booked then, so no booking rule is in the way
        aid = h.created_id(self.server.admin(
            "appointment", "create", "--location", self.loc[A], "--client", self.x[0], "--specialist", self.spec[A],
            "--start", "2030-03-01T02:00:00Z", "--duration", "45"))
        self.__class__.aid = aid
        self.expect(["owner", "manager_a", "reception_a", "specialist_a", "client_x"], "put appointment %s" % aid)
        self.expect_nothing(["manager_b", "specialist_b", "client_y"], aid)

    def test_2_move_to_b_evicts_from_a_and_delivers_to_b(self):
        aid = self.aid
        for w in self.w.values():
            w.drain()
        self.server.admin("appointment", "move", aid, "--location", self.loc[B], "--specialist", self.spec[B])
        self.expect(["manager_a", "reception_a", "specialist_a"], "evict appointment %s" % aid)
        self.expect(["manager_b", "specialist_b", "owner", "client_x"], "put appointment %s" % aid)
        self.expect_nothing(["client_y"], aid)

    def test_3_client_edit_reaches_who_knows_the_client(self):
        for w in self.w.values():
            w.drain()
        self.server.admin("client", "set", self.y[0], "preferences", "green tea")
        self.expect(["owner", "manager_b", "specialist_b", "client_y"], "put client %s" % self.y[0])
        self.expect_nothing(["manager_a", "reception_a", "specialist_a", "client_x"], self.y[0])


if __name__ == "__main__":
    h.main()
