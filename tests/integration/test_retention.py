"""Retention (a cost that does not grow with age): the change log
and the stored push answers are kept for changelog_days; older entries are
deleted by serve's hourly pass and by `admin retention run`. A device whose
cursor is older than the log gets bad_cursor and a snapshot that ends where
the server is; a replay of a mid whose answer was deleted gets
mutation_expired and changes nothing. Real server, raw protocol peers; the
history is made old by moving its timestamps back in the database file (the
server has no clock override)."""
import json
import sqlite3
import uuid

import kt_harness as h
from ktcrypt import Keyring

A = "Lepota Center"
DAY = 86400000


class RetentionTest(h.DemoServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.loc, cls.spec, cls.client_a = h.demo_ids(cls.db, A)

    def sql(self, sql, *args):
        con = sqlite3.connect(self.db, timeout=30)
        try:
            cur = con.execute(sql, args)
            rows = cur.fetchall()
            con.commit()
            return rows
        finally:
            con.close()

    def version(self, tbl, rid):
        con = sqlite3.connect(self.db)
        rows = Keyring(self.db).rows(con, "SELECT * FROM %s WHERE id = ?" % tbl, (rid,), tbl)
        con.close()
        return rows[0]["version"]

    def age_everything(self, days):
        """Move all history written so far `days` into the past."""
        self.sql("UPDATE changelog SET at = at - ?", days * DAY)
        self.sql("UPDATE mutation SET at = at - ?", days * DAY)

    async def peer(self, acc, device):
        p = await h.Peer(self.server, device).connect()
        await p.hello()
        ok = await p.login(acc)
        self.assertEqual(ok["t"], "auth_ok", ok)
        return p

    async def sync_from(self, p, cursor):
        """sync; (first error code or None, snapshot?, {(tbl,id): (v, f)}, ops, final cursor)."""
        await p.send({"t": "sync", "cursor": cursor})
        err, snap, rows, ops = None, False, {}, []
        while True:
            m = await p.recv(30)
            if m["t"] == "error" and err is None:
                err = m["code"]
            elif m["t"] == "snapshot_begin":
                snap = True
            elif m["t"] == "page":
                for r in m["rows"]:
                    rows[(r["tbl"], r["id"])] = (r["v"], r["f"])
            elif m["t"] == "changes":
                ops.extend(m["ops"])
            elif m["t"] == "synced":
                return err, snap, rows, ops, m["cursor"]

    async def push(self, p, muts):
        await p.send({"t": "push", "muts": muts})
        while True:
            m = await p.recv(15)
            if m["t"] == "push_result":
                return m["results"]

    def edit(self, mid, base, text):
        return {"mid": mid, "tbl": "client", "id": self.client_a, "op": "update", "base": base,
                "f": {"preferences": text}, "at": 1}

    def test_1_old_cursor_gets_bad_cursor_then_a_snapshot_equal_to_the_servers_view(self):
        owner = h.account(self.accounts, "owner")
        dev_old, dev_mid, dev_w = (str(uuid.uuid4()) for _ in range(3))

        async def go():
            old = await self.peer(owner, dev_old)
            _, _, _, _, c_old = await self.sync_from(old, None)   # a device that then goes offline
            await old.close()
            w = await self.peer(owner, dev_w)
            for i in range(5):
                res = await self.push(w, [self.edit(100 + i, self.version("client", self.client_a), "old %d" % i)])
                self.assertEqual(res[0]["status"], "applied", res)
            mid = await self.peer(owner, dev_mid)
            _, _, _, _, c_mid = await self.sync_from(mid, None)   # at the head of the soon-old history
            await mid.close()
            self.age_everything(200)
            res = await self.push(w, [self.edit(200, self.version("client", self.client_a), "new")])
            self.assertEqual(res[0]["status"], "applied", res)
            await w.close()
            before = self.sql("SELECT count(*), max(seq) FROM changelog")[0]
            young = self.sql("SELECT count(*), min(seq) FROM changelog WHERE at >= "
                             "CAST(strftime('%s','now') AS INTEGER) * 1000 - 90 * ?", DAY)[0]
            self.assertGreaterEqual(young[0], 1)
            out = self.server.admin("retention", "run")
            after = self.sql("SELECT count(*), min(seq), max(seq) FROM changelog")[0]
            self.assertIn("removed %d change log entries" % (before[0] - young[0]), out)
            self.assertEqual(after[0], young[0])             # only the young entries
            self.assertEqual(after[1], young[1])             # a prefix went
            self.assertEqual(after[2], before[1])            # the newest is kept: seq never reused
            show = json.loads(self.server.admin("retention", "show", "--json"))
            self.assertEqual(show["changelog"]["rows"], young[0])
            self.assertEqual(show["changelog"]["older"], 0)
            self.assertEqual(show["days"], 90)

            # the device that slept through the pruned history: bad_cursor, then a snapshot
            old = await self.peer(owner, dev_old)
            err, snap, rows, ops, _ = await self.sync_from(old, c_old)
            await old.close()
            self.assertEqual(err, "bad_cursor")
            self.assertTrue(snap)
            fresh = await self.peer(owner, str(uuid.uuid4()))
            _, _, truth, _, _ = await self.sync_from(fresh, None)
            await fresh.close()
            self.assertEqual(rows, truth)                    # identical to the server's view now
            self.assertEqual(rows[("client", self.client_a)][1]["preferences"], "new")

            # a cursor the kept log still covers resumes with the changes only
            mid = await self.peer(owner, dev_mid)
            err, snap, rows, ops, _ = await self.sync_from(mid, c_mid)
            await mid.close()
            self.assertIsNone(err)
            self.assertFalse(snap)
            self.assertEqual([(o["op"], o["id"], o["f"]["preferences"]) for o in ops
                              if o["tbl"] == "client" and o["id"] == self.client_a],
                             [("put", self.client_a, "new")])
        h.run(go())

    def test_2_a_replay_older_than_the_window_gets_mutation_expired_and_changes_nothing(self):
        rec = h.account(self.accounts, "reception", A)
        dev = str(uuid.uuid4())

        async def go():
            p = await self.peer(rec, dev)
            first = [self.edit(1, self.version("client", self.client_a), "expired one"),
                     self.edit(2, self.version("client", self.client_a) + 1, "expired two")]
            res = await self.push(p, first)
            self.assertEqual([r["status"] for r in res], ["applied", "applied"], res)
            # mid 3 was lost (io_error) and comes late, after the others expired
            self.sql("UPDATE mutation SET at = at - ? WHERE device_id = ?", 200 * DAY, dev)
            out = self.server.admin("retention", "run")
            self.assertIn("2 stored push answers (of 1 devices)", out)
            self.assertEqual(self.sql("SELECT count(*) FROM mutation WHERE device_id = ?", dev)[0][0], 0)
            self.assertEqual(self.sql("SELECT max_mid FROM mutation_pruned WHERE device_id = ?", dev)[0][0], 2)
            v = self.version("client", self.client_a)
            audit = self.sql("SELECT count(*) FROM audit")[0][0]
            res = await self.push(p, [first[0], first[1]])
            self.assertEqual([(r["status"], r["code"]) for r in res],
                             [("rejected", "mutation_expired")] * 2, res)
            self.assertIn("mid", res[0]["msg"])
            self.assertIn("changelog_days", res[0]["msg"])
            self.assertEqual(self.version("client", self.client_a), v)     # applied no second time
            # the answer is stored like any other: a second replay is a duplicate of it
            res = await self.push(p, [first[0]])
            self.assertEqual(res[0]["status"], "duplicate", res)
            self.assertEqual(self.version("client", self.client_a), v)
            self.assertGreaterEqual(self.sql("SELECT count(*) FROM audit")[0][0], audit)  # audit untouched
            # new edits go on as before, and their replay is a duplicate
            res = await self.push(p, [self.edit(3, v, "fresh")])
            self.assertEqual(res[0]["status"], "applied", res)
            res = await self.push(p, [self.edit(3, v, "fresh")])
            self.assertEqual(res[0]["status"], "duplicate", res)
            await p.close()
        h.run(go())

    def test_3_the_audit_log_stays_whole_and_bad_days_are_refused(self):
        n = self.sql("SELECT count(*) FROM audit")[0][0]
        self.sql("UPDATE changelog SET at = at - ?", 400 * DAY)
        self.server.admin("retention", "run", "--days", "30")
        self.assertEqual(self.sql("SELECT count(*) FROM audit")[0][0], n)
        import subprocess
        out = subprocess.run([h.SERVER, "admin", "--db", self.db, "retention", "run", "--days", "0"],
                             capture_output=True, text=True)
        self.assertEqual(out.returncode, 2)
        self.assertIn("--days: a whole number of days, 1 to 3650", out.stderr)

    def test_4_serve_runs_the_pass_at_start_with_changelog_days_from_the_config(self):
        import os
        d = os.path.join(self.tmp, "serve-pass")
        os.makedirs(d)
        db, _ = h.demo_db(d)  # a whole demo history (the class's server pruned its own)
        con = sqlite3.connect(db)
        con.execute("UPDATE changelog SET at = at - ?", (40 * DAY,))  # 40 days old: kept by 90, not by 30
        con.execute("UPDATE mutation SET at = at - ?", (40 * DAY,))
        con.commit()
        con.close()
        conf = os.path.join(self.tmp, "retention.conf")
        with open(conf, "w") as f:
            f.write("changelog_days = 30\n")

        def count():
            con = sqlite3.connect(db, timeout=30)
            n = con.execute("SELECT (SELECT count(*) FROM changelog), (SELECT count(*) FROM mutation)").fetchone()
            con.close()
            return n
        self.assertGreater(count()[0], 1)
        srv = h.Server(db, ["--config", conf])
        try:
            # all but the newest entry, and every old answer
            h.until(count, lambda n: n == (1, 0), 30, "the first retention pass")
        finally:
            srv.stop()
        with open(conf, "w") as f:
            f.write("changelog_days = 0\n")
        import subprocess
        out = subprocess.run([h.SERVER, "serve", "--db", db, "--listen", "127.0.0.1:0", "--config", conf],
                             capture_output=True, text=True, timeout=30)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("changelog_days: a whole number of days, 1 to 3650", out.stderr)

    def test_5_sent_messages_go_or_lose_their_text_after_outbox_days_and_message_counts_keep_them(self):
        import time
        now = int(time.time() * 1000)
        org = self.sql("SELECT id FROM organisation")[0][0]
        old, young = now - 200 * DAY, now - DAY
        rows = [  # (purpose, state, created_at, purged?, text cleared?)
            ("reminder", "sent", old, True, None), ("confirmation", "sent", old, True, None),
            ("reminder", "dropped", old, True, None), ("cancellation", "failed", old, True, None),
            # the planner reads these back (and statistics count them): kept, without address and text
            ("review_request", "sent", old, False, True), ("birthday", "sent", old, False, True),
            ("campaign", "failed", old, False, True),
            ("reminder", "sent", young, False, False),       # inside the window
            ("birthday", "sent", young, False, False),
            ("reminder", "queued", old, False, False),       # not sent yet
        ]
        ids = []
        for i, (purpose, state, at, _, _) in enumerate(rows):
            self.sql("INSERT INTO outbox(org_id, client_id, purpose, channel, to_addr, subject, body, state, next_at,"
                     " created_at, sent_at, idem_key, location_id) VALUES(?, ?, ?, 'email', 'x', 'x', 'x', ?, ?, ?,"
                     " ?, ?, ?)", org, self.client_a, purpose, state,
                     # the queued one is due in a month: the running server's
                     # outbox worker must not send (and change) it meanwhile
                     now + 30 * DAY if state == "queued" else at, at,
                     at if state == "sent" else None, "retention-test:%d" % i, self.loc[A])
            ids.append(self.sql("SELECT max(id) FROM outbox")[0][0])

        def counts():
            out = self.server.admin("message", "counts", "--json")
            return sorted(json.dumps(x, sort_keys=True) for x in json.loads(out))
        before = counts()
        out = self.server.admin("retention", "run", "--outbox-days", "90")
        self.assertIn("removed 4 sent appointment messages older than 90 days", out)
        self.assertIn("cleared the address and text of 3 other sent messages older than 90 days", out)
        left = {r[0]: r[1:] for r in self.sql("SELECT id, to_addr, subject, body, extra_headers FROM outbox"
                                              " WHERE id >= ?", ids[0])}
        self.assertEqual(set(left), {i for i, r in zip(ids, rows) if not r[3]})
        for i, r in zip(ids, rows):
            if not r[3]:
                self.assertEqual(left[i], ("", "", "", None) if r[4] else ("x", "x", "x", None), r)
        self.assertEqual(counts(), before)                 # the counts did not change
        self.assertEqual(self.sql("SELECT sum(n) FROM outbox_tally")[0][0], 4)
        # a second run finds nothing more and counts nothing twice
        out = self.server.admin("retention", "run", "--outbox-days", "90")
        self.assertIn("removed 0 sent appointment messages", out)
        self.assertIn("cleared the address and text of 0 other", out)
        self.assertEqual(counts(), before)

    def test_6_a_stream_that_stood_still_past_the_kept_log_gets_a_snapshot(self):
        """A device that is connected but was woken by nothing while more
        entries than the server keeps in memory went by, all of them then
        deleted by retention: reading on from its position would skip
        whatever it had not been sent yet, so it gets a snapshot."""
        owner = h.account(self.accounts, "owner")
        m_loc = self.loc["Lepota Maribor"]
        spec = h.account(self.accounts, "specialist", "Lepota Maribor")
        far = self.sql("SELECT id FROM appointment WHERE location_id = ? ORDER BY id LIMIT 1", self.loc[A])[0][0]
        near = self.sql("SELECT id FROM appointment WHERE location_id = ? ORDER BY id LIMIT 1", m_loc)[0][0]

        async def go():
            dev = await self.peer(spec, str(uuid.uuid4()))
            _, _, before, _, _ = await self.sync_from(dev, None)
            w = await self.peer(owner, str(uuid.uuid4()))
            v, mid = self.version("appointment", far), 1000
            for _ in range(17):   # 8,500 entries the Maribor specialist is never woken for (the ring holds 8,192)
                muts = []
                for _ in range(500):
                    muts.append({"mid": mid, "tbl": "appointment", "id": far, "op": "update", "base": v, "at": 1,
                                 "f": {"internal_note": "n%d" % mid}})
                    mid, v = mid + 1, v + 1
                res = await self.push(w, muts)
                self.assertEqual({r["status"] for r in res}, {"applied"}, res[:2])
            self.age_everything(200)
            out = self.server.admin("retention", "run")
            self.assertNotIn("removed 0 change log entries", out)
            res = await self.push(w, [{"mid": mid, "tbl": "appointment", "id": near, "op": "update",
                                       "base": self.version("appointment", near), "at": 1,
                                       "f": {"internal_note": "seen"}}])
            self.assertEqual(res[0]["status"], "applied", res)
            await w.close()
            first = None
            while first not in ("snapshot_begin", "changes"):
                first = (await dev.recv(30))["t"]
            self.assertEqual(first, "snapshot_begin")
            rows = {}
            while True:
                m = await dev.recv(30)
                if m["t"] == "page":
                    for r in m["rows"]:
                        rows[(r["tbl"], r["id"])] = (r["v"], r["f"])
                elif m["t"] == "snapshot_end":
                    break
            await dev.close()
            fresh = await self.peer(spec, str(uuid.uuid4()))
            _, _, truth, _, _ = await self.sync_from(fresh, None)
            await fresh.close()
            self.assertEqual(rows, truth)
            self.assertNotEqual(before.get(("appointment", near)), truth.get(("appointment", near)))
        h.run(go())


if __name__ == "__main__":
    h.main()
