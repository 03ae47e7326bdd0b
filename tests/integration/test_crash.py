"""Durability under crash: the server is killed with SIGKILL at random
moments while 20 tablets (the reference client, each its own device and
cache) push edits, and restarted. Afterwards every edit a tablet queued is
in the database exactly once with its audit entry, in the tablet's order;
nothing is half-applied; the audit chain verifies; PRAGMA integrity_check
is ok; every tablet's cache equals what its principal may see.

The same again as a power cut: the server records an undo log of every
write not yet fsynced (server/powerloss.c, KT_POWERLOSS_DIR), and after
each kill the test undoes them all, which is what a power cut at that
moment could leave at worst. Every edit the server answered must survive
that too (a tablet forgets an edit once it is answered).

The seed is printed; --seed S repeats a run, --iterations N sets the number
of kills (a handful here, 100 in tests/soak)."""
import os
import random
import sqlite3
import struct
import subprocess
import threading
import time
import unittest

import kt_harness as h
from ktcrypt import Keyring
import oracle

A = "Lepota Center"
DEVICES = 20
BATCH = 15  # edits a tablet queues between two syncs


SEED = h.option("--seed", random.randrange(1 << 30))
ITERATIONS = h.option("--iterations", 4)


def kill9(server):
    server.proc.kill()
    server.proc.wait()
    server.proc.stdout.close()
    server.proc.stderr.close()


def undo_unsynced(undo_dir, db_dir):
    """Undo every write the killed server had not fsynced, newest first
    (the record format is in server/powerloss.c). Returns how many writes
    were undone."""
    undone = 0
    for name in sorted(os.listdir(undo_dir)):
        log = os.path.join(undo_dir, name)
        with open(log, "rb") as f:
            data = f.read()
        os.remove(log)
        recs, i = [], 0
        while i + 20 <= len(data):
            off, size, n = struct.unpack_from("<qqi", data, i)
            if i + 20 + n > len(data):
                break  # cut short by the kill: its write was never made
            recs.append((off, size, data[i + 20:i + 20 + n]))
            i += 20 + n
        path = os.path.join(db_dir, name[:-len(".undo")])
        if not recs or not os.path.exists(path):
            continue
        fd = os.open(path, os.O_RDWR)
        for off, _, old in reversed(recs):
            os.pwrite(fd, old, off)
        os.ftruncate(fd, recs[0][1])  # the size it had at its last fsync
        os.close(fd)
        undone += len(recs)
    return undone


def start_server(db, undo_dir):
    if not undo_dir:
        return h.Server(db)
    # a slow disk (20 ms per fsync) widens the moments a kill can find
    # commits written and not yet synced
    return h.Server(db, env={"KT_POWERLOSS_DIR": undo_dir, "KT_POWERLOSS_SYNC_MS": "20"})


class Tablet(threading.Thread):
    """Queues edits of one client card offline, syncs, again, until told to
    stop and everything it queued has been answered."""

    def __init__(self, test, k, d, cid, url):
        super().__init__(daemon=True)
        self.test, self.k, self.d, self.cid, self.url = test, k, d, cid, url
        self.queued = 0
        self.stop = threading.Event()
        self.done = threading.Event()
        self.error = None

    def run(self):
        try:
            while True:
                if not self.stop.is_set():
                    lines = "".join("client\tset\t%s\tpreferences\tk%d-e%d\n" % (self.cid, self.k, self.queued + i)
                                    for i in range(BATCH))
                    h.client(self.d, "--quiet", "batch", stdin=lines)
                    self.queued += BATCH
                # the server may be down or die under us: then this fails and we go again
                h.client(self.d, "--server", self.url[0], "--quiet", "sync", "--timeout", "20", check=False,
                         timeout=60)
                if self.stop.is_set() and "queued edits: 0" in h.client(self.d, "status").stdout:
                    break
                time.sleep(0.2)  # a person at a tablet, not a loop: keeps the catch-up streams small
        except Exception as e:  # reported by the test
            self.error = e
        self.done.set()


class CrashTest(unittest.TestCase):
    def test_sigkill_during_pushes_loses_nothing_and_applies_nothing_twice(self):
        self.kills(power_cut=False)

    def test_power_cut_during_pushes_loses_nothing_acknowledged(self):
        self.kills(power_cut=True)

    def kills(self, power_cut):
        what = "power cut" if power_cut else "crash"
        print("%s test: seed %d, %d kills" % (what, SEED, ITERATIONS), flush=True)
        rnd = random.Random(SEED)
        tmp = h.tempfile.mkdtemp(prefix="kt-crash-")
        undo_dir = os.path.join(tmp, "undo") if power_cut else None
        if undo_dir:
            os.mkdir(undo_dir)
        undone = []
        db, accounts = h.demo_db(tmp)
        acc = h.account(accounts, "manager", A)
        con = sqlite3.connect(db)
        loc = con.execute("SELECT id FROM location WHERE name = ?", (A,)).fetchone()[0]
        cards = [r[0] for r in con.execute("SELECT client_id FROM client_location WHERE location_id = ? "
                                          "ORDER BY client_id LIMIT ?", (loc, DEVICES))]
        others = con.execute("SELECT c.id, c.version FROM client c JOIN client_location cl ON cl.client_id = c.id "
                             "WHERE cl.location_id = ? ORDER BY c.id DESC LIMIT 80", (loc,)).fetchall()
        con.close()
        hammer = h.Hammer(acc, others, [None]) if power_cut else None
        server = start_server(db, undo_dir)
        url = [server.url]
        if hammer:
            hammer.url = url
        try:
            dirs = [os.path.join(tmp, "tablet%02d" % k) for k in range(DEVICES)]
            def join(d):
                h.login(d, server, acc)
                h.client(d, "--quiet", "sync")  # the cards must be in the cache to be edited
            logins = [threading.Thread(target=join, args=(d,)) for d in dirs]
            for t in logins:
                t.start()
            for t in logins:
                t.join()
            tablets = [Tablet(self, k, dirs[k], cards[k], url) for k in range(DEVICES)]
            for t in tablets:
                t.start()
            if hammer:  # signed in and answered before the first cut (slow under sanitizers)
                hammer.start()
                end = time.monotonic() + 120
                while not all(hammer.answered().values()) and time.monotonic() < end:
                    time.sleep(0.1)
                self.assertTrue(all(hammer.answered().values()), "every hammer device was answered")
            for it in range(ITERATIONS):
                time.sleep(rnd.uniform(0.3, 1.5))
                kill9(server)  # no clean-up of any kind
                if undo_dir:
                    undone.append(undo_unsynced(undo_dir, tmp))
                self.check_database(db, "after kill %d (seed %d)" % (it + 1, SEED))
                if hammer:  # every answer its devices got is still in the database
                    con = sqlite3.connect(db)
                    for device, acked in hammer.answered().items():
                        have = {r[0] for r in con.execute("SELECT mid FROM mutation WHERE device_id = ?",
                                                          (device,))}
                        lost = sorted(acked - have)
                        self.assertEqual(lost, [], "answered, then lost to cut %d (seed %d)" % (it + 1, SEED))
                    con.close()
                server = start_server(db, undo_dir)
                url[0] = server.url
            if hammer:
                hammer.stop.set()
                hammer.join(60)
            for t in tablets:
                t.stop.set()
            for t in tablets:
                self.assertTrue(t.done.wait(180), "tablet %d did not finish (seed %d)" % (t.k, SEED))
                self.assertIsNone(t.error, "tablet %d: %s" % (t.k, t.error))
            server.stop()
            self.check_database(db, "at the end (seed %d)" % SEED)
            con = sqlite3.connect(db)
            for t in tablets:
                # exactly once: one answer recorded and one audited change per queued edit, in order
                n_mut, = con.execute("SELECT count(*) FROM mutation m WHERE m.device_id = (SELECT device_id FROM "
                                     "audit WHERE entity_id = ? AND action = 'update' LIMIT 1)", (t.cid,)).fetchone()
                n_audit, = con.execute("SELECT count(*) FROM audit WHERE entity_id = ? AND action = 'update' AND "
                                       "fields = 'preferences'", (t.cid,)).fetchone()
                n_log, = con.execute("SELECT count(*) FROM changelog WHERE row_id = ? AND tbl = 'client'",
                                     (t.cid,)).fetchone()
                value = Keyring(db).rows(con, "SELECT id, preferences FROM client WHERE id = ?", (t.cid,),
                                         "client")[0]["preferences"]
                self.assertEqual(n_mut, t.queued, "tablet %d: answers recorded (seed %d)" % (t.k, SEED))
                self.assertEqual(n_audit, t.queued, "tablet %d: audit entries (seed %d)" % (t.k, SEED))
                self.assertGreaterEqual(n_log, t.queued, "tablet %d: change log (seed %d)" % (t.k, SEED))
                self.assertEqual(value, "k%d-e%d" % (t.k, t.queued - 1), "tablet %d: order (seed %d)" % (t.k, SEED))
                self.assertEqual(h.client(t.d, "rejections").stdout.strip(), "", "tablet %d" % t.k)
            applied, = con.execute("SELECT count(*) FROM mutation").fetchone()
            con.close()
            print("%s test: %d edits from %d tablets across %d kills%s" %
                  (what, applied, DEVICES, ITERATIONS,
                   "; writes undone at each cut: %s; %d pushed edits answered" %
                   (undone, sum(len(a) for a in hammer.answered().values()))
                   if undo_dir else ""), flush=True)
            server = h.Server(db)
            url[0] = server.url
            expected = oracle.expected(db, acc["email"])
            for t in tablets:
                h.client(t.d, "--server", url[0], "sync")
                self.assertIsNone(oracle.diff(expected, h.cache_rows(t.d)), "tablet %d converges" % t.k)
            server.stop()
        finally:
            if server.alive():
                kill9(server)
            h.shutil.rmtree(tmp, ignore_errors=True)

    def check_database(self, db, when):
        con = sqlite3.connect(db)
        ok, = con.execute("PRAGMA integrity_check").fetchone()
        con.close()
        self.assertEqual(ok, "ok", "integrity_check %s" % when)
        out = subprocess.run([h.SERVER, "audit", "verify", "--db", db], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, "audit verify %s: %s%s" % (when, out.stdout, out.stderr))


if __name__ == "__main__":
    h.main()
