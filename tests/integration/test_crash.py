"""Durability under crash: the server is killed with SIGKILL at random
moments while 20 tablets (the reference client, each its own device and
cache) push edits, and restarted. Afterwards every edit a tablet queued is
in the database exactly once with its audit entry, in the tablet's order;
nothing is half-applied; the audit chain verifies; PRAGMA integrity_check
is ok; every tablet's cache equals what its principal may see.

The same again as a power cut: the server records an undo log of every
write not yet fsynced (server/testing/powerloss.c, KT_POWERLOSS_DIR), and after
each kill the test undoes them all, which is what a power cut at that
moment could leave at worst. Every edit the server answered must survive
that too (a tablet forgets an edit once it is answered), and so must every
row version a device was sent: a client's phone takes snapshot after
snapshot and follows the stream while the hammer edits the client's card,
so a snapshot page or a row re-read for a change that came from a commit
whose fsync had not finished is found at the next cut.

The seed is printed; --seed S repeats a run, --iterations N sets the number
of kills (a handful here, 100 in tests/soak)."""
import asyncio
import os
import random
import sqlite3
import struct
import subprocess
import threading
import time
import types
import unittest
import uuid

import kt_harness as h
from ktcrypt import Keyring
import oracle

A = "Lepota Center"
DEVICES = 20
BATCH = 15  # edits a tablet queues between two syncs
SNAPSHOTTERS = 3  # connections of the phone that take snapshot after snapshot


SEED = h.option("--seed", random.randrange(1 << 30))
ITERATIONS = h.option("--iterations", 6)


def kill9(server):
    server.proc.kill()
    server.proc.wait()
    server.proc.stdout.close()
    server.proc.stderr.close()


def undo_unsynced(undo_dir, db_dir):
    """Undo every write the killed server had not fsynced, newest first
    (the record format is in server/testing/powerloss.c). Returns how many writes
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


class Observer(threading.Thread):
    """A client's phone while the hammer edits the client's card, on
    several connections: SNAPSHOTTERS take snapshot after snapshot (each on
    a new connection resumed with its session token: a connection syncs
    once), the last follows the stream of changes. Remembers the highest version of
    each row it was sent, across restarts (a device keeps what it got)."""

    def __init__(self, acc, url):
        super().__init__(daemon=True)
        self.acc, self.url = acc, url
        self.seen = {}  # (tbl, id) -> highest version sent
        self.rows = 0
        self.drops = [0] * (SNAPSHOTTERS + 1)  # connections lost, per connection
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.got = threading.Event()  # set at each row received

    def run(self):
        async def all_connections():
            await asyncio.gather(*(self.go(k) for k in range(SNAPSHOTTERS + 1)))
        asyncio.run(all_connections())

    def note(self, rows):
        with self.lock:
            for r in rows:
                k = (r["tbl"], r["id"])
                self.seen[k] = max(self.seen.get(k, 0), r["v"])
                self.rows += 1
        if rows:
            self.got.set()

    def sent(self):
        with self.lock:
            return dict(self.seen)

    def received(self):
        with self.lock:
            return self.rows

    def dropped(self):
        with self.lock:
            return list(self.drops)

    async def connect(self, device, token):
        p = await h.Peer(types.SimpleNamespace(url=self.url[0]), device).connect()
        await p.hello()
        if token:
            await p.send({"t": "resume", "token": token})
            m = await p.recv()
        else:
            m = await p.login(self.acc)
        if m.get("t") != "auth_ok":
            raise RuntimeError("sign-in refused: %r" % m)
        await p.send({"t": "sync", "cursor": None})
        return p, m["token"]

    async def go(self, k):
        device, token = str(uuid.uuid4()), None
        while not self.stop.is_set():
            try:
                p, token = await self.connect(device, token)
                while not self.stop.is_set():
                    m = await p.recv(30)
                    if m.get("t") == "page":
                        self.note(m["rows"])
                    elif m.get("t") == "changes":
                        self.note([o for o in m["ops"] if o.get("op") == "put"])
                    elif m.get("t") == "snapshot_end" and k < SNAPSHOTTERS:
                        await p.close()
                        p, token = await self.connect(device, token)  # the next snapshot at once
                await p.close()
            except Exception:  # the server was killed: the next one
                with self.lock:
                    self.drops[k] += 1
                await asyncio.sleep(0.1)


def wait_all_dropped(before, now, timeout=20):
    """Until every connection counted in before() has dropped since (each
    has read all the server sent it before it died)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if all(n > b for n, b in zip(now(), before)):
            return True
        time.sleep(0.02)
    return False


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
        server = start_server(db, undo_dir)
        url = [server.url]
        phone = h.account(accounts, "client", A)
        own = self.client_id(server, phone) if power_cut else None  # the phone's card, edited by the hammer
        con = sqlite3.connect(db)
        loc = con.execute("SELECT id FROM location WHERE name = ?", (A,)).fetchone()[0]
        cards = [r[0] for r in con.execute("SELECT client_id FROM client_location WHERE location_id = ? "
                                          "AND client_id IS NOT ? ORDER BY client_id LIMIT ?", (loc, own, DEVICES))]
        others = con.execute("SELECT c.id, c.version FROM client c JOIN client_location cl ON cl.client_id = c.id "
                             "WHERE cl.location_id = ? AND c.id NOT IN (%s) ORDER BY c.id = ? DESC, c.id DESC "
                             "LIMIT 80" % ",".join("?" * len(cards)), (loc, *cards, own)).fetchall()
        con.close()
        hammer = h.Hammer(acc, others, url) if power_cut else None
        # the phone's card in (nearly) every commit: a device of its own,
        # on another field (hammer devices wait for each answer)
        own_hammers = [h.Hammer(acc, others[:1], url, devices=1, field=f)
                       for f in ("internal_notes", "allergies", "medications")] if power_cut else []
        observer = Observer(phone, url) if power_cut else None
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
            def hammer_drops():
                return [n for x in [hammer] + own_hammers for n in x.dropped().values()]
            if hammer:  # signed in and answered before the first cut (slow under sanitizers)
                hammer.start()
                for o in own_hammers:
                    o.start()
                observer.start()
                end = time.monotonic() + 120
                while not (all(hammer.answered().values()) and ("client", own) in observer.sent()) \
                        and time.monotonic() < end:
                    time.sleep(0.1)
                self.assertTrue(all(hammer.answered().values()), "every hammer device was answered")
                self.assertIn(("client", own), observer.sent(), "the phone was sent its card")
            for it in range(ITERATIONS):
                if hammer:  # a cut finds commits in flight only once pushes and reads go again
                    pushed, read = sum(map(len, hammer.answered().values())), observer.received()
                    end = time.monotonic() + 120
                    while (sum(map(len, hammer.answered().values())) == pushed or observer.received() == read) \
                            and time.monotonic() < end:
                        time.sleep(0.05)
                time.sleep(rnd.uniform(0.3, 1.5))
                if hammer:  # the cut comes right after the phone was sent a row: most of the
                    # time a commit is published and its fsync still runs (a slow disk)
                    observer.got.clear()
                    self.assertTrue(observer.got.wait(60), "the phone is sent rows")
                    dropped = (hammer_drops(), observer.dropped())
                kill9(server)  # no clean-up of any kind
                if hammer:  # what reached the devices before the cut is all taken in
                    self.assertTrue(wait_all_dropped(dropped[0], hammer_drops) and
                                    wait_all_dropped(dropped[1], observer.dropped), "devices saw the cut")
                if undo_dir:
                    undone.append(undo_unsynced(undo_dir, tmp))
                self.check_database(db, "after kill %d (seed %d)" % (it + 1, SEED))
                if hammer:  # every answer its devices got is still in the database
                    con = sqlite3.connect(db)
                    for device, acked in [a for x in [hammer] + own_hammers for a in x.answered().items()]:
                        have = {r[0] for r in con.execute("SELECT mid FROM mutation WHERE device_id = ?",
                                                          (device,))}
                        lost = sorted(acked - have)
                        self.assertEqual(lost, [], "answered, then lost to cut %d (seed %d)" % (it + 1, SEED))
                    # and every row version the phone was sent
                    for (tbl, rid), v in observer.sent().items():
                        self.assertTrue(tbl.isidentifier(), tbl)
                        have = con.execute("SELECT version FROM %s WHERE id = ?" % tbl, (rid,)).fetchone()
                        self.assertGreaterEqual(have[0] if have else 0, v, "%s %s: sent version %d, then lost to "
                                                "cut %d (seed %d)" % (tbl, rid, v, it + 1, SEED))
                    con.close()
                server = start_server(db, undo_dir)
                url[0] = server.url
            if hammer:
                hammer.stop.set()
                for o in own_hammers:
                    o.stop.set()
                observer.stop.set()
                hammer.join(60)
                for o in own_hammers:
                    o.join(60)
                observer.join(60)
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
                   "; writes undone at each cut: %s; %d pushed edits answered; %d rows sent to the phone" %
                   (undone, sum(len(a) for a in hammer.answered().values()), observer.rows)
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

    def test_a_second_server_process_sees_only_synced_commits(self):
        """A second serve process on the database reads the first one's
        commits through SQLite's shared index: while it is there, the first
        publishes no commit before its fsync (its shutdown line counts the
        syncs it left to its sync thread: none). Alone, it does."""
        tmp = h.tempfile.mkdtemp(prefix="kt-crash-")
        try:
            db, accounts = h.demo_db(tmp)
            acc = h.account(accounts, "manager", A)
            con = sqlite3.connect(db)
            cards = con.execute("SELECT c.id, c.version FROM client c JOIN client_location cl ON "
                                "cl.client_id = c.id JOIN location l ON l.id = cl.location_id WHERE l.name = ?",
                                (A,)).fetchall()
            con.close()
            deferred = []
            for second in (True, False):
                first = h.Server(db)
                other = h.Server(db) if second else None
                hammer = h.Hammer(acc, cards, [first.url])
                hammer.start()
                end = time.monotonic() + 120
                while sum(map(len, hammer.answered().values())) < 2000 and time.monotonic() < end:
                    time.sleep(0.05)
                hammer.stop.set()
                hammer.join(60)
                if other:
                    other.stop()
                first.stop()
                line = [l for l in first.errlog if "syncs on the sync thread" in l]
                self.assertEqual(len(line), 1, "".join(first.errlog[-5:]))
                deferred.append(int(line[0].split(" syncs on the sync thread")[0].rsplit(" ", 1)[1]))
            print("commits synced on the sync thread: %d with a second server process, %d alone" % tuple(deferred),
                  flush=True)
            self.assertEqual(deferred[0], 0, "nothing published before its fsync with a second process there")
            self.assertGreater(deferred[1], 0, "alone, the sync thread syncs the commits")
        finally:
            h.shutil.rmtree(tmp, ignore_errors=True)

    def client_id(self, server, acc):
        async def sign_in():
            p = await h.Peer(server).connect()
            await p.hello()
            m = await p.login(acc)
            await p.close()
            return m["principal"]["id"]
        return h.run(sign_in())

    def check_database(self, db, when):
        con = sqlite3.connect(db)
        ok, = con.execute("PRAGMA integrity_check").fetchone()
        con.close()
        self.assertEqual(ok, "ok", "integrity_check %s" % when)
        out = subprocess.run([h.SERVER, "audit", "verify", "--db", db], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, "audit verify %s: %s%s" % (when, out.stdout, out.stderr))


if __name__ == "__main__":
    h.main()
