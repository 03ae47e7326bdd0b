"""Storage: the WAL stays under its bound while a stream of pushes lasts
(the writer waits while the checkpointer copies it, then starts it
again), and the WAL file does not keep the size a long stream gave it.
While a reader holds an old snapshot (as a long read or a backup would)
no checkpoint can catch up, and four devices pushing 100-edit batches grow
the WAL past its bound, to 88 MB. Once the reader lets go, the
checkpointer copies the WAL within a second; the next commit starts the
WAL again from its beginning and cuts the file back to 72 MB
(journal_size_limit), instead of keeping the largest size on disk while
the server runs. Every edit the devices were answered is on record."""
import os
import sqlite3
import time
import unittest
import uuid

import kt_harness as h

A = "Lepota Center"
GROW_TO = 88 << 20  # bytes of WAL the stream must reach (past the bound: the reader keeps it)
LIMIT = 72 << 20    # what the server cuts it back to
BOUND = 80 << 20    # the WAL's bound during a stream (15,000-17,000 frames and one transaction)
STREAM = 30000      # edits in the stream: about 125 MB of WAL if nothing bounded it


def client_cards(db):
    con = sqlite3.connect(db)
    cards = con.execute("SELECT c.id, c.version FROM client c JOIN client_location cl ON cl.client_id = c.id "
                        "WHERE cl.location_id = (SELECT id FROM location WHERE name = ?) ORDER BY c.id",
                        (A,)).fetchall()
    con.close()
    return cards


class StorageTest(unittest.TestCase):
    def test_wal_stays_under_its_bound_during_a_stream(self):
        tmp = h.tempfile.mkdtemp(prefix="kt-storage-")
        db, accounts = h.demo_db(tmp)
        acc = h.account(accounts, "manager", A)
        server = h.Server(db)
        wal = db + "-wal"
        try:
            hammer = h.Hammer(acc, client_cards(db), [server.url])
            hammer.start()
            biggest, samples, end = 0, 0, time.monotonic() + 600
            while sum(map(len, hammer.answered().values())) < STREAM and time.monotonic() < end:
                biggest = max(biggest, os.path.getsize(wal) if os.path.exists(wal) else 0)
                samples += 1
                time.sleep(0.005)  # a sample every few ms: the WAL grows ~0.5 MB in that time
            hammer.stop.set()
            hammer.join(60)
            answered = hammer.answered()
            print("WAL at most %.1f MB in %d samples during a stream of %d answered edits"
                  % (biggest / 1048576, samples, sum(map(len, answered.values()))), flush=True)
            self.assertGreaterEqual(sum(map(len, answered.values())), STREAM, "the stream ran")
            self.assertLessEqual(biggest, BOUND, "the WAL stayed under its bound")
            con = sqlite3.connect(db)
            self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            for d, mids in answered.items():  # every answer on record
                have = {r[0] for r in con.execute("SELECT mid FROM mutation WHERE device_id = ?", (d,))}
                self.assertEqual(sorted(mids - have), [])
            con.close()
        finally:
            server.stop()
            h.shutil.rmtree(tmp, ignore_errors=True)

    def test_wal_is_cut_back_after_a_long_stream(self):
        tmp = h.tempfile.mkdtemp(prefix="kt-storage-")
        db, accounts = h.demo_db(tmp)
        acc = h.account(accounts, "manager", A)
        con = sqlite3.connect(db)
        cards = con.execute("SELECT c.id, c.version FROM client c JOIN client_location cl ON cl.client_id = c.id "
                            "WHERE cl.location_id = (SELECT id FROM location WHERE name = ?) ORDER BY c.id",
                            (A,)).fetchall()
        con.close()
        server = h.Server(db)
        wal = db + "-wal"
        try:
            # a reader on an old snapshot: the WAL cannot start again under it
            reader = sqlite3.connect(db, isolation_level=None)
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM client").fetchone()

            hammer = h.Hammer(acc, cards, [server.url])
            hammer.start()
            end = time.monotonic() + 120
            while os.path.getsize(wal) < GROW_TO and time.monotonic() < end:
                time.sleep(0.05)
            hammer.stop.set()
            hammer.join(60)
            grown = os.path.getsize(wal)
            self.assertGreaterEqual(grown, GROW_TO, "the stream grew the WAL")
            reader.execute("COMMIT")
            reader.close()
            self.assertTrue(h.wait_checkpointed(db), "the checkpointer copies it all once the reader is gone")

            async def one_more(n):
                p = await h.Peer(server, str(uuid.uuid4())).connect()
                await p.hello()
                await p.login(acc)
                con = sqlite3.connect(db)
                cid, version = con.execute("SELECT id, version FROM client WHERE id = ?", (cards[0][0],)).fetchone()
                con.close()
                await p.send({"t": "push", "muts": [{"mid": 1, "tbl": "client", "id": cid, "op": "update",
                                                     "base": version, "f": {"preferences": "after %d" % n},
                                                     "at": 1}]})
                m, _ = await p.recv_until("push_result", 30)
                await p.close()
                return m["results"][0]["status"]
            # the commit that starts the WAL again cuts the file; a read by
            # the server at that moment can put the start off to the next one
            for n in range(10):
                self.assertEqual(h.run(one_more(n)), "applied")
                if os.path.getsize(wal) <= LIMIT:
                    break
                self.assertTrue(h.wait_checkpointed(db), "checkpointed again")
            after = os.path.getsize(wal)
            answered = hammer.answered()
            print("WAL %.1f MB after %d answered edits, %.1f MB after the stream paused and %d more commits"
                  % (grown / 1048576, sum(map(len, answered.values())), after / 1048576, n + 1), flush=True)
            self.assertLessEqual(after, LIMIT, "the WAL file was cut back")
            con = sqlite3.connect(db)
            self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            for d, mids in answered.items():  # every answer on record
                have = {r[0] for r in con.execute("SELECT mid FROM mutation WHERE device_id = ?", (d,))}
                self.assertEqual(sorted(have ^ mids), [])  # each device edits its own cards: none rejected
            con.close()
        finally:
            server.stop()
            h.shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    h.main()
