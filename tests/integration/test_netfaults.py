"""Network faults: links between the reference client and the server are cut
at random byte offsets (tests/integration/ktproxy.py) in the middle of a
snapshot, of the live stream, and of a push. After each cut the device
reconnects and ends up with exactly what the oracle says it may see; a push
cut in the middle is applied exactly once (the mutation table and the audit
log of the server database say so, and the value is the last one queued).

The seed is printed; --seed S repeats a run, --cuts N sets the cuts per kind
(a handful here, many in tests/soak/netfaults.sh)."""
import os
import random
import sqlite3
import unittest

import kt_harness as h
from ktcrypt import Keyring
from ktproxy import Proxy
import oracle

SEED = h.option("--seed", random.randrange(1 << 30))
CUTS = h.option("--cuts", 3)
A = "Lepota Center"
BATCH = 20


class NetFaultTest(h.DemoServerTest):
    server_args = ("--verbose",)  # the errors it sends, in the log a failure message ends with

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        print("netfaults: seed %d, %d cuts per kind" % (SEED, CUTS), flush=True)
        cls.rnd = random.Random(SEED)
        cls.proxy = Proxy(cls.server.port)
        con = sqlite3.connect(cls.db)
        loc = con.execute("SELECT id FROM location WHERE name = ?", (A,)).fetchone()[0]
        cls.cards = [r[0] for r in con.execute("SELECT client_id FROM client_location WHERE location_id = ? "
                                              "ORDER BY client_id LIMIT 40", (loc,))]
        con.close()

    @classmethod
    def tearDownClass(cls):
        cls.proxy.close()
        super().tearDownClass()

    def setUp(self):
        self.proxy.disarm()

    def where(self, what):
        """A failure message: what, the seed to repeat the run with, and the end of the server log."""
        return "%s (seed %d)\nserver log, last lines:\n%s" % (what, SEED, "".join(self.server.errlog[-20:]))

    def sync(self, d, check=True):
        return h.client(d, "--server", self.proxy.url, "--quiet", "sync", "--timeout", "20", check=check)

    def converged(self, d, acc, what):
        self.assertIsNone(oracle.diff(oracle.expected(self.db, acc["email"]), h.cache_rows(d)), self.where(what))

    def test_snapshot_cut_at_random_points(self):
        acc = h.account(self.accounts, "owner")
        # one clean snapshot to learn how many bytes it takes
        d0 = os.path.join(self.tmp, "snap-ref")
        h.client(d0, "--server", self.proxy.url, "login", acc["email"], stdin=acc["password"] + "\n")
        before = self.proxy.bytes["down"]
        self.sync(d0)
        size = self.proxy.bytes["down"] - before
        for i in range(CUTS):
            d = os.path.join(self.tmp, "snap%d" % i)
            h.client(d, "--server", self.proxy.url, "login", acc["email"], stdin=acc["password"] + "\n")
            at = self.rnd.randrange(1, size)
            f = self.proxy.fault("down", at)
            out = self.sync(d, check=False)
            self.assertTrue(f.fired.is_set(), self.where("cut %d at byte %d of %d never struck" % (i, at, size)))
            # the device comes back (perhaps already did, within the same sync) and converges
            self.server.admin("client", "set", self.cards[i % 20], "preferences", "after snapshot cut %d" % i)
            self.sync(d)
            self.converged(d, acc, "snapshot cut %d at byte %d of %d (first sync exit %d: %s)"
                           % (i, at, size, out.returncode, out.stderr.strip()))

    def test_stream_cut_at_random_points(self):
        acc = h.account(self.accounts, "owner")
        d = os.path.join(self.tmp, "stream")
        h.client(d, "--server", self.proxy.url, "login", acc["email"], stdin=acc["password"] + "\n")
        self.sync(d)
        w = h.Watcher(d, seconds=120)
        try:
            self.assertIsNotNone(w.wait_synced(30))
            for i in range(CUTS):
                # changes flow; the link drops somewhere inside the next few KB of them. Ten
                # changes sent one by one take about 4.8 KB, but a busy server (CI, ASan) that
                # reads several at once sends them in one message: about 3.6 KB. So after ten,
                # more until the cut strikes.
                f = self.proxy.fault("down", self.rnd.randrange(1, 4000))
                k = 0
                while k < 10 or (k < 40 and not f.fired.wait(0.5)):
                    last = "stream %d.%d" % (i, k)
                    self.server.admin("client", "set", self.cards[k % 10], "preferences", last)
                    k += 1
                self.assertTrue(f.fired.wait(10), self.where("stream cut %d never struck (%d changes)" % (i, k)))
                mark = "mark %d" % i
                self.server.admin("client", "set", self.cards[39], "preferences", mark)
                # a resumed stream (the cursor stays valid across a cut) streams the change
                got = w.wait_for(lambda l: "put client %s" % self.cards[39] in l, 15)
                self.assertIsNotNone(got, self.where("no change after stream cut %d (watcher %s)"
                                                     % (i, w.state())))
            w.stop()
            self.converged(d, acc, "after %d stream cuts" % CUTS)
            con = sqlite3.connect(os.path.join(d, "cache.db"))
            prefs = {r[0] for r in con.execute("SELECT json_extract(data, '$.preferences') FROM rows "
                                               "WHERE tbl = 'client'")}
            con.close()
            self.assertIn("mark %d" % (CUTS - 1), prefs)
            self.assertIn(last, prefs)
        finally:
            w.stop()

    def test_push_cut_at_random_points_applied_once(self):
        acc = h.account(self.accounts, "manager", A)
        d = os.path.join(self.tmp, "push")
        h.client(d, "--server", self.proxy.url, "login", acc["email"], stdin=acc["password"] + "\n")
        self.sync(d)
        cid = self.cards[20]

        def queue(n):
            lines = "".join("client\tset\t%s\tpreferences\tpush-e%d\n" % (cid, queue.n + k) for k in range(BATCH))
            h.client(d, "--quiet", "batch", stdin=lines)
            queue.n += BATCH
        queue.n = 0
        # learn how many bytes a sync with a push of BATCH edits takes each way
        queue(BATCH)
        up0, down0 = self.proxy.bytes["up"], self.proxy.bytes["down"]
        self.sync(d)
        up, down = self.proxy.bytes["up"] - up0, self.proxy.bytes["down"] - down0
        for i in range(CUTS):
            queue(BATCH)
            direction = self.rnd.choice(("up", "down"))
            at = self.rnd.randrange(1, up if direction == "up" else down)
            f = self.proxy.fault(direction, at)
            self.sync(d, check=False)
            self.proxy.disarm()
            # nothing left queued after a clean sync: everything was answered once
            self.sync(d)
            self.assertIn("queued edits: 0", h.client(d, "status").stdout,
                          self.where("push cut %d (%s at %d, fired %s)" % (i, direction, at, f.fired.is_set())))
        self.assertEqual(h.client(d, "rejections").stdout.strip(), "")
        con = sqlite3.connect(self.db)
        dev, = con.execute("SELECT DISTINCT device_id FROM audit WHERE entity_id = ? AND action = 'update' "
                           "AND fields = 'preferences'", (cid,)).fetchone()
        n_mut, = con.execute("SELECT count(*) FROM mutation WHERE device_id = ?", (dev,)).fetchone()
        n_mid, = con.execute("SELECT count(DISTINCT mid) FROM mutation WHERE device_id = ?", (dev,)).fetchone()
        n_audit, = con.execute("SELECT count(*) FROM audit WHERE entity_id = ? AND action = 'update' AND "
                               "fields = 'preferences'", (cid,)).fetchone()
        value = Keyring(self.db).rows(con, "SELECT id, preferences FROM client WHERE id = ?", (cid,),
                                      "client")[0]["preferences"]
        con.close()
        self.assertEqual(n_mut, queue.n, self.where("one answer recorded per queued edit"))
        self.assertEqual(n_mid, queue.n, self.where("no mid answered twice"))
        self.assertEqual(n_audit, queue.n, self.where("one audited change per queued edit"))
        self.assertEqual(value, "push-e%d" % (queue.n - 1), self.where("the last edit wins"))
        self.converged(d, acc, "after %d push cuts" % CUTS)


if __name__ == "__main__":
    h.main()
