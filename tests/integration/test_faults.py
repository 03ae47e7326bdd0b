"""Fault injection: the server runs with its SQLite VFS shim armed
(server/testing/faultvfs.c, KT_FAULT) and a device pushes a batch of edits while
the disk fills up, a write fails or an fsync fails. The device gets
io_error and nothing of the batch that was not committed is acknowledged;
the server stays up and serves other connections (after a failed WAL sync
it sends them no rows until the sync is redone); once the fault clears
the device pushes the same batch again and every edit is applied exactly
once (what was committed before the fault answers "duplicate"); the audit
chain verifies and both database files pass PRAGMA integrity_check. The
checkpointer (main database file) and the keyring (FILE.keys) take faults
without crashing either. A commit whose sync failed is never streamed to
other devices until a later sync succeeds."""
import asyncio
import os
import sqlite3
import subprocess
import tempfile
import time
import unittest
import uuid

import kt_harness as h
from ktcrypt import Keyring

A = "Lepota Center"
BATCH = 300
# What the batch writes to the WAL must not depend on how the writer groups it:
# the writer cuts transactions by time (8 ms), and a page changed twice in one
# transaction is written once, so on a fast machine the 300 edits of 50 cards
# were one transaction of 4 WAL writes (the push writer's WAL buffer, walbuf.c,
# hands down at most 128 KB a write) and a fault at write 5 came after the
# batch. Each edit's own audit entry (before and after) is never rewritten: with
# 1.5 KB values that is over 900 KB, at least 7 writes in any grouping, and each
# edit costs enough that 300 of them take more than one transaction.
PAD = "x" * 1500


def pref(i):
    return "fault-%d %s" % (i, PAD)


class Faulty:
    """A demo database and a server whose VFS fails as spec says, armed
    when arm() is called and healthy again after clear()."""

    def __init__(self, spec):
        self.tmp = tempfile.mkdtemp(prefix="kt-faults-")
        self.db, self.accounts = h.demo_db(self.tmp)
        self.arm_file = os.path.join(self.tmp, "arm")
        self.clear_file = os.path.join(self.tmp, "clear")
        env = {"KT_FAULT": spec, "KT_FAULT_ARM_FILE": self.arm_file, "KT_FAULT_CLEAR_FILE": self.clear_file}
        self.server = h.Server(self.db, env=env)

    def arm(self):
        open(self.arm_file, "w").close()

    def clear(self):
        open(self.clear_file, "w").close()

    def close(self):
        try:
            if self.server.alive():
                self.server.stop()
        finally:
            h.shutil.rmtree(self.tmp, ignore_errors=True)

    def count(self, sql, *args):
        con = sqlite3.connect(self.db)
        n, = con.execute(sql, args).fetchone()
        con.close()
        return n


async def signed_in(server, acc, device=None):
    p = await h.Peer(server, device).connect()
    await p.hello()
    ok = await p.login(acc)
    assert ok["t"] == "auth_ok", ok
    return p


async def push(p, muts, timeout=30):
    """The answer to one push: push_result or error (other messages skipped)."""
    await p.send({"t": "push", "muts": muts})
    end = time.monotonic() + timeout
    while True:
        m = await p.recv(max(0.01, end - time.monotonic()))
        if m.get("t") in ("push_result", "error"):
            return m


async def snapshot_rows(p, asked=False):
    """A full snapshot over an open connection (asked: the sync was sent
    already): the number of rows it had."""
    if not asked:
        await p.send({"t": "sync"})
    n = 0
    while True:
        m = await p.recv(20)
        if m.get("t") == "page":
            n += len(m.get("rows", []))
        if m.get("t") == "snapshot_end":
            return n


class FaultTest(unittest.TestCase):
    def check_files(self, f):
        for path in (f.db, f.db + ".keys"):
            con = sqlite3.connect(path)
            ok, = con.execute("PRAGMA integrity_check").fetchone()
            con.close()
            self.assertEqual(ok, "ok", "integrity_check of %s" % os.path.basename(path))
        out = subprocess.run([h.SERVER, "audit", "verify", "--db", f.db], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, "audit verify: %s%s" % (out.stdout, out.stderr))

    def cards(self, f):
        con = sqlite3.connect(f.db)
        loc, = con.execute("SELECT id FROM location WHERE name = ?", (A,)).fetchone()
        rows = con.execute("SELECT c.id, c.version FROM client c JOIN client_location cl ON cl.client_id = c.id "
                           "WHERE cl.location_id = ? ORDER BY c.id LIMIT 50", (loc,)).fetchall()
        con.close()
        return rows

    def batch_under_fault(self, spec, create=False, n=BATCH):
        """The scenario of the module docstring for one kind of fault: n
        edits of existing cards, or n new cards (each needs a new key in
        the keyring)."""
        f = Faulty(spec)
        try:
            mgr = h.account(f.accounts, "manager", A)
            other = h.account(f.accounts, "reception", A)
            cards = [(str(uuid.uuid4()), 0) for _ in range(n)] if create else self.cards(f)
            dev = str(uuid.uuid4())
            muts = [{"mid": i + 1, "tbl": "client", "id": cards[i % len(cards)][0],
                     "op": "create" if create else "update", "base": cards[i % len(cards)][1],
                     "f": {"preferences": pref(i)}, "at": i + 1} for i in range(n)]
            if create:
                for i, m in enumerate(muts):
                    m["f"]["name"] = "Fault Card %d" % i

            async def go():
                tablet = await signed_in(f.server, mgr, dev)
                bystander = await signed_in(f.server, other)
                f.arm()
                first = await push(tablet, muts)
                # while the fault lasts: the same batch fails again, and another
                # connection asks for a snapshot; it gets it whole (after a
                # failed WAL sync, once the sync is redone: the commit it
                # failed for may be in the snapshot)
                again = await push(tablet, muts)
                await bystander.send({"t": "sync"})
                # a new sign-in writes (its session): it may fail, with an answer
                late = await h.Peer(f.server).connect()
                await late.hello()
                signin = await late.login(other)
                await late.close()
                committed = f.count("SELECT count(*) FROM mutation WHERE device_id = ?", dev)
                f.clear()
                seen = await snapshot_rows(bystander, asked=True)
                after = await push(tablet, muts)
                await tablet.close()
                await bystander.close()
                return first, again, seen, signin, committed, after

            first, again, seen, signin, committed, after = h.run(go())
            self.assertTrue(signin["t"] == "auth_ok" or (signin.get("code"), signin.get("fatal")) == ("io_error", False),
                            signin)
            for m in (first, again):
                self.assertEqual((m["t"], m.get("code"), m.get("re")), ("error", "io_error", "push"), m)
                self.assertFalse(m.get("fatal"), m)
            self.assertGreater(seen, 0, "the other connection got its snapshot")
            self.assertTrue(f.server.alive())
            self.assertLess(committed, n, "the fault hit inside the batch")
            self.assertEqual(after["t"], "push_result", after)
            status = [r["status"] for r in after["results"]]
            self.assertEqual(status.count("duplicate"), committed, "what was committed before answers duplicate")
            self.assertEqual(status.count("applied"), n - committed)
            f.server.stop()  # exit status 0, no sanitizer report
            self.assertEqual(f.count("SELECT count(*) FROM mutation WHERE device_id = ?", dev), n)
            self.assertEqual(f.count("SELECT count(*) FROM audit WHERE device_id = ? AND action = ? AND "
                                     "entity = 'client'", dev, "create" if create else "update"), n)
            con = sqlite3.connect(f.db)
            last = {}
            for i, m in enumerate(muts):
                last[m["id"]] = pref(i)
            kr = Keyring(f.db)
            for cid, value in last.items():
                row = kr.rows(con, "SELECT id, preferences FROM client WHERE id = ?", (cid,), "client")[0]
                self.assertEqual(row["preferences"], value, "last edit of %s wins" % cid)
            con.close()
            self.check_files(f)
            faults = [l for l in f.server.errlog if "faultvfs: failing" in l]
            self.assertTrue(faults, "the fault fired")
            print("%s: %d of %d edits committed before the fault; %s" % (spec, committed, n,
                                                                        faults[0].strip()), flush=True)
        finally:
            f.close()

    def test_disk_full_during_a_batch(self):
        self.batch_under_fault("write:5:full")

    def test_write_error_during_a_batch(self):
        self.batch_under_fault("write:5:io:-wal")

    def test_fsync_error_during_a_batch(self):
        # the first sync fails: a commit's sync runs on another thread while
        # the next transaction applies, so the commit it failed for is in the
        # database (pushed again, its edits answer "duplicate") and the next
        # one is not
        self.batch_under_fault("sync:1:io:-wal")

    def test_off_unless_asked_for_and_refuses_a_bad_spec(self):
        tmp = tempfile.mkdtemp(prefix="kt-faults-")
        try:
            db, _ = h.demo_db(tmp)
            env = {k: v for k, v in os.environ.items() if not k.startswith("KT_FAULT")}
            plain = subprocess.Popen([h.SERVER, "serve", "--db", db, "--listen", "127.0.0.1:0"], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.assertTrue(plain.stdout.readline().startswith("listening on"))
            plain.terminate()
            _, err = plain.communicate(timeout=20)
            self.assertEqual(plain.returncode, 0, err)
            self.assertNotIn("FAULT INJECTION", err)
            self.assertNotIn("faultvfs", err)
            env["KT_FAULT"] = "write:many:full"
            bad = subprocess.run([h.SERVER, "serve", "--db", db, "--listen", "127.0.0.1:0"], env=env,
                                 capture_output=True, text=True, timeout=20)
            self.assertEqual(bad.returncode, 2)
            self.assertIn("KT_FAULT=write:many:full", bad.stderr)
            armed = Faulty("write:1000000:io")
            try:
                end = time.monotonic() + 5  # stderr is read by another thread
                while not any("FAULT INJECTION IS ON" in l for l in armed.server.errlog) and time.monotonic() < end:
                    time.sleep(0.05)
                self.assertTrue(any("FAULT INJECTION IS ON" in l for l in armed.server.errlog), "the loud warning")
            finally:
                armed.close()
        finally:
            h.shutil.rmtree(tmp, ignore_errors=True)

    def test_keyring_write_error_while_cards_are_created(self):
        self.batch_under_fault("write:1:io:.keys-wal", create=True, n=20)

    def test_keyring_fsync_error_while_cards_are_created(self):
        self.batch_under_fault("sync:1:io:.keys-wal", create=True, n=20)

    def test_changes_stream_to_others_only_once_durable(self):
        """A commit is published before its WAL sync (the push writer syncs
        on another thread while it applies the next transaction). When that
        sync fails, no other device may be streamed the commit's changes:
        they are on this machine's disk cache only. A device streaming the
        location sees, while the fault lasts, fewer new cards than the
        database holds; once the fault clears and the batch is pushed
        again, it sees every one."""
        f = Faulty("sync:2:io:.db-wal")
        try:
            mgr = h.account(f.accounts, "manager", A)
            other = h.account(f.accounts, "reception", A)
            dev = str(uuid.uuid4())
            ids = [str(uuid.uuid4()) for _ in range(BATCH)]
            muts = [{"mid": i + 1, "tbl": "client", "id": ids[i], "op": "create", "base": 0,
                     "f": {"name": "Stream Card %d" % i, "preferences": "durable-%d" % i}, "at": i + 1}
                    for i in range(BATCH)]
            wanted = set(ids)

            async def go():
                tablet = await signed_in(f.server, mgr, dev)
                watcher = await signed_in(f.server, other)
                await watcher.send({"t": "sync"})
                await watcher.recv_until("synced", 30)
                seen = set()

                async def watch(seconds):
                    end = time.monotonic() + seconds
                    try:
                        while True:
                            m = await watcher.recv(max(0.01, end - time.monotonic()))
                            for op in m.get("ops", []) if m.get("t") == "changes" else []:
                                if op.get("tbl") == "client" and op.get("id") in wanted:
                                    seen.add(op["id"])
                    except asyncio.TimeoutError:
                        pass

                f.arm()
                first, _ = await asyncio.gather(push(tablet, muts), watch(3))
                during = set(seen)
                in_db = f.count("SELECT count(*) FROM mutation WHERE device_id = ?", dev)
                f.clear()
                after, _ = await asyncio.gather(push(tablet, muts), watch(5))
                await tablet.close()
                await watcher.close()
                return first, during, in_db, after, set(seen)

            first, during, in_db, after, seen = h.run(go())
            self.assertEqual((first["t"], first.get("code")), ("error", "io_error"), first)
            self.assertGreater(in_db, 0, "a commit was published before its sync failed")
            self.assertTrue(during <= wanted)
            deferred = [l for l in f.server.errlog if "writer: WAL sync failed" in l]
            if deferred:
                # the failed sync was a commit's: that commit stays held back
                self.assertLess(len(during), in_db, "a change streamed before it was durable")
            print("while the fault lasted: %d of %d committed cards streamed (%s)" %
                  (len(during), in_db, "a commit's sync failed" if deferred else "the fault hit another sync"),
                  flush=True)
            self.assertEqual(after["t"], "push_result", after)
            self.assertEqual(seen, wanted, "every card streamed once durable")
            self.assertTrue([l for l in f.server.errlog if "writer: the WAL is synced again" in l] or not deferred)
            f.server.stop()
            self.check_files(f)
        finally:
            f.close()

    def test_checkpointer_survives_faults_on_the_database_file(self):
        """In WAL mode only checkpoints write the main database file: with
        those writes failing, pushes are still applied (the WAL holds
        them), the checkpointer says so and tries again, and once the fault
        clears the last checkpoint copies everything."""
        for spec in ("write:1:io:kartoteka.db", "sync:1:io:kartoteka.db"):
            f = Faulty(spec)
            try:
                mgr = h.account(f.accounts, "manager", A)
                cards = self.cards(f)
                dev = str(uuid.uuid4())
                muts = [{"mid": i + 1, "tbl": "client", "id": cards[i % len(cards)][0], "op": "update",
                         "base": cards[i % len(cards)][1], "f": {"preferences": "ckpt-%d" % i}, "at": i + 1}
                        for i in range(BATCH)]

                def failed_ckpt():
                    return [l for l in f.server.errlog if "checkpointer: checkpoint failed" in l]

                async def go():
                    tablet = await signed_in(f.server, mgr, dev)
                    f.arm()
                    first = await push(tablet, muts[:BATCH // 2])
                    # the checkpointer (on its timer) meets the fault and says so
                    end = time.monotonic() + 30
                    while not failed_ckpt() and time.monotonic() < end:
                        await asyncio.sleep(0.02)
                    second = await push(tablet, muts[BATCH // 2:])
                    await tablet.close()
                    return first, second

                first, second = h.run(go())
                for m in (first, second):
                    self.assertEqual(m["t"], "push_result", m)
                    self.assertEqual({r["status"] for r in m["results"]}, {"applied"})
                self.assertTrue(f.server.alive())
                self.assertTrue([l for l in f.server.errlog if "faultvfs: failing" in l], "the fault fired")
                self.assertTrue(failed_ckpt(), "the checkpointer reported the failure")
                f.clear()
                f.server.stop()  # the last checkpoint; exit status 0, no sanitizer report
                self.assertEqual(f.count("SELECT count(*) FROM mutation WHERE device_id = ?", dev), BATCH)
                self.check_files(f)
            finally:
                f.close()


if __name__ == "__main__":
    h.main()
