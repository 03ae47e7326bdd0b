"""Encryption at rest with a key per client (server/db/keyring.h), seen from the
outside: the database file, its WAL and the keyring hold no client name,
e-mail or health word in plain text; the master key file is guarded; key
rotation re-wraps without losing anything; a backup restored after a client's
key was destroyed cannot show that client. Values are opened with ktcrypt,
written from the documented format, not from the server's code."""
import hashlib
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import tempfile
import time
import unittest

import msgpack

import kt_harness as h
from ktcrypt import Erased, Keyring, is_sealed

A = "Lepota Center"


def raw_bytes(path):
    data = b""
    for ext in ("", "-wal", ".keys", ".keys-wal"):
        if os.path.exists(path + ext):
            with open(path + ext, "rb") as f:
                data += f.read()
    return data


def run_server(*args, timeout=120):
    return subprocess.run([h.SERVER] + list(args), capture_output=True, text=True, timeout=timeout)


class CryptoTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kt-crypto-")
        self.db, self.accounts = h.demo_db(self.tmp)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def clients(self):
        con = sqlite3.connect(self.db)
        rows = Keyring(self.db).rows(con, "SELECT * FROM client", (), "client")
        staff = {r[0] for r in con.execute("SELECT display_name FROM staff")}
        con.close()
        return rows, staff

    def push(self, server, acc, muts):
        async def go():
            p = await h.Peer(server).connect()
            await p.hello()
            ok = await p.login(acc)
            self.assertEqual(ok["t"], "auth_ok", ok)
            await p.send({"t": "push", "muts": muts})
            m = await p.recv(15)
            await p.close()
            return m
        return h.run(go())

    def test_no_personal_plain_text_in_database_wal_or_keyring(self):
        rows, staff = self.clients()
        self.assertGreater(len(rows), 100)
        needles = set()
        for r in rows:
            if r["name"] not in staff:  # a client may share a name with a member of staff
                needles.add(r["name"])
            if r["email"]:
                needles.add(r["email"])
            for col in ("allergies", "conditions", "medications", "internal_notes"):
                for w in (r[col] or "").replace(",", " ").replace(";", " ").split():
                    if len(w) >= 6:
                        needles.add(w)
        # words the server may well hold in plain text for other reasons (schema, staff, services)
        con = sqlite3.connect(self.db)
        public = " ".join(str(v) for t in ("sqlite_master", "staff", "location", "service", "organisation")
                          for r in con.execute("SELECT * FROM %s" % t) for v in r)
        con.close()
        needles = {n for n in needles if n not in public}
        self.assertGreater(len(needles), 200, "the demo has names, e-mails and health words to look for")
        # a new health word written over the protocol, while the server runs (it sits in the WAL)
        server = h.Server(self.db)
        try:
            rec = h.account(self.accounts, "manager", A)
            con = sqlite3.connect(self.db)
            loc = con.execute("SELECT id FROM location WHERE name = ?", (A,)).fetchone()[0]
            cid, version = con.execute("SELECT c.id, c.version FROM client c JOIN client_location cl ON "
                                       "cl.client_id = c.id WHERE cl.location_id = ? LIMIT 1", (loc,)).fetchone()
            con.close()
            word = "Quixotilin%d" % os.getpid()
            res = self.push(server, rec, [{"mid": 1, "tbl": "client", "id": cid, "op": "update", "base": version,
                                           "f": {"allergies": word + " (severe)"}, "at": int(time.time() * 1000)}])
            self.assertEqual(res["t"], "push_result", res)
            self.assertEqual(res["results"][0]["status"], "applied", res)
            self.assertTrue(os.path.getsize(self.db + "-wal") > 0)
            data = raw_bytes(self.db)
            self.assertNotIn(word.encode(), data)
            found = [n for n in needles if n.encode() in data]
            self.assertEqual(found, [], "plain text in the files: %s" % found[:5])
            # the server itself reads it back: the audit history shows the change
            out = run_server("audit", "show", "--db", self.db, "--client", cid)
            self.assertIn(word, out.stdout)
        finally:
            server.stop()
        # and the raw tables hold sealed values where personal data is
        con = sqlite3.connect(self.db)
        kinds = dict(con.execute("SELECT typeof(allergies), count(*) FROM client WHERE allergies IS NOT NULL "
                                 "GROUP BY 1").fetchall())
        self.assertEqual(set(kinds), {"blob"})
        audit = con.execute("SELECT before, after FROM audit WHERE entity_id = ? AND action = 'update'",
                            (cid,)).fetchone()
        con.close()
        self.assertTrue(is_sealed(audit[0]) and is_sealed(audit[1]), "audit before/after about a client are sealed")
        self.assertEqual(run_server("audit", "verify", "--db", self.db).returncode, 0)

    def test_rejection_answers_are_sealed_and_shredded(self):
        """A rejected edit is answered with the row's current values, and the answer is kept
        for replays: it is sealed with the client's key, and after an erasure a replay gets
        not_found instead of the erased values."""
        server = h.Server(self.db)
        device = "0194a000-0000-7000-8000-00000000c0de"
        try:
            mgr = h.account(self.accounts, "manager", A)
            con = sqlite3.connect(self.db)
            loc = con.execute("SELECT id FROM location WHERE name = ?", (A,)).fetchone()[0]
            cid, version = con.execute("SELECT c.id, c.version FROM client c JOIN client_location cl ON "
                                       "cl.client_id = c.id WHERE cl.location_id = ? AND c.allergies IS NOT NULL "
                                       "LIMIT 1", (loc,)).fetchone()
            con.close()
            allergies = Keyring(self.db).rows(sqlite3.connect(self.db), "SELECT id, allergies FROM client WHERE "
                                              "id = ?", (cid,), "client")[0]["allergies"]
            mut = {"mid": 7, "tbl": "client", "id": cid, "op": "update", "base": version + 100,
                   "f": {"allergies": "x"}, "at": int(time.time() * 1000)}

            async def push():
                p = await h.Peer(server, device).connect()
                await p.hello()
                self.assertEqual((await p.login(mgr))["t"], "auth_ok")
                await p.send({"t": "push", "muts": [mut]})
                m = await p.recv(15)
                await p.close()
                return m["results"][0]
            first = h.run(push())
            self.assertEqual((first["status"], first["current"]["allergies"]), ("rejected", allergies), first)
            con = sqlite3.connect(self.db)
            stored = con.execute("SELECT result FROM mutation WHERE device_id = ? AND mid = 7", (device,)).fetchone()[0]
            con.close()
            self.assertTrue(is_sealed(stored))
            self.assertNotIn(allergies.encode(), raw_bytes(self.db))
            again = h.run(push())
            self.assertEqual((again["status"], again["first"]["current"]["allergies"]), ("duplicate", allergies))
            out = run_server("privacy", "erase", "--db", self.db, "--client", cid, "--confirm")
            self.assertEqual(out.returncode, 0, out.stderr)
            gone = h.run(push())
            self.assertEqual((gone["status"], gone["first"]["status"], gone["first"]["code"]),
                             ("duplicate", "rejected", "not_found"), gone)
        finally:
            server.stop()

    def test_master_key_file_is_guarded(self):
        key = self.db + ".key"
        os.chmod(key, 0o644)
        out = run_server("serve", "--db", self.db, "--listen", "127.0.0.1:0", timeout=30)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("chmod 600", out.stderr)
        os.chmod(key, 0o600)
        os.rename(key, key + ".away")
        out = run_server("serve", "--db", self.db, "--listen", "127.0.0.1:0", timeout=30)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("master key file is missing", out.stderr)
        with open(key, "wb") as f:  # another key: it does not open this keyring
            f.write(os.urandom(32))
        os.chmod(key, 0o600)
        out = run_server("serve", "--db", self.db, "--listen", "127.0.0.1:0", timeout=30)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("does not open", out.stderr)
        os.replace(key + ".away", key)
        # --key points elsewhere
        moved = os.path.join(self.tmp, "elsewhere.key")
        os.rename(key, moved)
        out = run_server("admin", "--db", self.db, "list", "clients", "--limit", "2", "--key", moved, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(len(out.stdout.strip().split("\n")), 1 + 2)  # the header and two clients

    def test_rotation_rewraps_every_key(self):
        before, _ = self.clients()
        with open(self.db + ".key", "rb") as f:
            old = f.read()
        out = run_server("keys", "rotate", "--db", self.db)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("re-wrapped", out.stdout)
        with open(self.db + ".key", "rb") as f:
            new = f.read()
        self.assertNotEqual(old, new)
        self.assertEqual(os.stat(self.db + ".key").st_mode & 0o777, 0o600)
        after, _ = self.clients()
        self.assertEqual(before, after, "every value opens with the new master key")
        stale = os.path.join(self.tmp, "old.key")
        with open(stale, "wb") as f:
            f.write(old)
        with self.assertRaises(Exception):
            Keyring(self.db, stale).rows(sqlite3.connect(self.db), "SELECT * FROM client LIMIT 1", (), "client")
        # and the server works on: a client signs in (keyed e-mail hash) and syncs
        server = h.Server(self.db)
        try:
            d = os.path.join(self.tmp, "dev")
            h.login(d, server, h.account(self.accounts, "client"))
            h.client(d, "sync")
            mine = [v for (t, _), (_, v) in h.cache_rows(d).items() if t == "client"]
            self.assertEqual(len(mine), 1)
            self.assertTrue(mine[0]["name"])
        finally:
            server.stop()

    def test_backup_restore_keeps_an_erased_client_unreadable(self):
        rows, _ = self.clients()
        gone, kept = rows[0], rows[1]
        server = h.Server(self.db)
        backup = os.path.join(self.tmp, "backup.db")
        try:
            out = run_server("backup", "--db", self.db, "--to", backup)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertFalse(os.path.exists(backup + ".keys"), "a backup holds no keys")
            self.assertEqual(run_server("backup", "--db", self.db, "--to", backup).returncode, 1,
                             "an existing file is never overwritten")
            # the client is erased after the backup: its key is destroyed
            hist = run_server("audit", "show", "--db", self.db, "--client", gone["id"]).stdout
            self.assertIn(gone["name"], hist, "before the erasure the history is readable")
            out = run_server("privacy", "erase", "--db", self.db, "--client", gone["id"], "--confirm")
            self.assertEqual(out.returncode, 0, out.stderr)
            hist = run_server("audit", "show", "--db", self.db, "--client", gone["id"]).stdout
            self.assertNotIn(gone["name"], hist)
            self.assertIn("unreadable", hist, "audit entries about the client are shredded, not deleted")
            self.assertEqual(run_server("audit", "verify", "--db", self.db).returncode, 0, "the chain still holds")
            out = run_server("restore", "--db", self.db, "--from", backup)
            self.assertNotEqual(out.returncode, 0)
            self.assertIn("stop the server", out.stderr)
        finally:
            server.stop()
        out = run_server("restore", "--db", self.db, "--from", backup)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("client %s was erased after this backup: its rows in the backup" % gone["id"], out.stdout)
        self.assertIn("cannot be read, as intended (its key is destroyed); erased again", out.stdout)
        self.assertNotIn("altered", out.stderr, "the erased client's rows are not reported as tampering")
        # what the backup held of the client cannot be opened: its key is gone
        bcon = sqlite3.connect(backup)
        raw = bcon.execute("SELECT name, email FROM client WHERE id = ?", (gone["id"],)).fetchone()
        bcon.close()
        kr = Keyring(self.db)
        for col, v in zip(("name", "email"), raw):
            if v is not None:
                self.assertTrue(is_sealed(v))
                with self.assertRaises(Erased):
                    kr.open("client", col, gone["id"], v)
        con = sqlite3.connect(self.db)
        self.assertIsNone(con.execute("SELECT 1 FROM client WHERE id = ?", (gone["id"],)).fetchone(),
                          "the restored copy of the card is erased again")
        again = kr.rows(con, "SELECT * FROM client WHERE id = ?", (kept["id"],), "client")[0]
        self.assertEqual(again["name"], kept["name"], "everyone else is back")
        con.close()
        data = raw_bytes(self.db)
        self.assertNotIn(gone["name"].encode(), data)


    def files(self):
        return sorted(os.listdir(self.tmp))

    def digest(self, path):
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()

    def test_reading_a_backup_leaves_it_alone_and_says_why_a_value_is_unreadable(self):
        """audit show and privacy export on a backup open it read-only, create nothing next
        to it, read it with the keyring copied with it (--keys), and tell a key that is
        not at hand from a key destroyed by an erasure."""
        rows, _ = self.clients()
        gone, kept = rows[0], rows[1]
        backup = os.path.join(self.tmp, "backup.db")
        keys = os.path.join(self.tmp, "backup.keys")
        out = run_server("backup", "--db", self.db, "--to", backup, "--keys-to", keys)
        self.assertEqual(out.returncode, 0, out.stderr)
        # a copy of a stopped server's WAL-mode file, as older backups were
        walcopy = os.path.join(self.tmp, "copy.db")
        shutil.copyfile(self.db, walcopy)
        out = run_server("privacy", "erase", "--db", self.db, "--client", gone["id"], "--confirm")
        self.assertEqual(out.returncode, 0, out.stderr)
        before, sums = self.files(), {p: self.digest(p) for p in (backup, keys, walcopy)}
        live_key = self.db + ".key"

        for db in (backup, walcopy):
            out = run_server("audit", "show", "--db", db, "--client", kept["id"])
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("not readable here: no keyring for this database", out.stdout)
            self.assertNotIn("destroyed", out.stdout, "a key not at hand is not a destroyed key")
            out = run_server("privacy", "export", "--db", db, "--client", kept["id"])
            self.assertEqual(out.returncode, 1)
            self.assertIn("not available here", out.stderr)
            self.assertNotIn("init", out.stderr)
        out = run_server("audit", "show", "--db", backup, "--key", live_key, "--keys", keys, "--client", kept["id"])
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(kept["name"], out.stdout, "the backup's own keyring opens it")
        out = run_server("audit", "show", "--db", backup, "--key", live_key, "--keys", keys, "--client", gone["id"])
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("unreadable: the client was erased, their key is destroyed", out.stdout)
        self.assertNotIn(gone["name"], out.stdout, "a keyring copy from before the erasure does not bring it back")
        out = run_server("privacy", "export", "--db", backup, "--key", live_key, "--keys", keys,
                         "--client", kept["id"])
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["client"]["name"], kept["name"])
        self.assertIn("not in its audit log", out.stderr)
        out = run_server("privacy", "export", "--db", backup, "--key", live_key, "--keys", keys,
                         "--client", gone["id"])
        self.assertEqual(out.returncode, 1)
        self.assertIn("client %s was erased" % gone["id"], out.stderr)
        out = run_server("privacy", "erasure-status", "--db", backup, "--client", gone["id"])
        self.assertEqual(out.returncode, 1, "the backup is from before the erasure")
        # a command that writes does not make the backup a new, empty keyring either
        out = run_server("privacy", "erase", "--db", backup, "--key", live_key, "--client", kept["id"], "--confirm")
        self.assertEqual(out.returncode, 1)
        self.assertIn("keyring (the database path + .keys) is missing", out.stderr)
        self.assertEqual(self.files(), before, "nothing was created next to the backups")
        self.assertEqual({p: self.digest(p) for p in sums}, sums, "the backups are unchanged")

    def test_an_erasure_survives_restoring_a_keyring_copy_from_before_it(self):
        """The erasure ledger next to the master key outlives the keyring: restoring the
        database and keyring copies made before an erasure (with --keys-from, or the keyring
        copied by hand) erases the client again and destroys the key the copy held."""
        rows, _ = self.clients()
        gone, kept = rows[2], rows[3]
        backup = os.path.join(self.tmp, "backup.db")
        keys = os.path.join(self.tmp, "backup.keys")
        out = run_server("backup", "--db", self.db, "--to", backup, "--keys-to", keys)
        self.assertEqual(out.returncode, 0, out.stderr)
        out = run_server("privacy", "erase", "--db", self.db, "--client", gone["id"], "--confirm")
        self.assertEqual(out.returncode, 0, out.stderr)
        with open(self.db + ".key.erased") as f:
            self.assertIn(gone["id"], f.read())
        # a keyring the master key does not open is refused before anything is replaced
        stranger = os.path.join(self.tmp, "stranger.key")
        with open(stranger, "wb") as f:
            f.write(os.urandom(32))
        os.chmod(stranger, 0o600)
        before = self.digest(self.db)
        out = run_server("restore", "--db", self.db, "--from", backup, "--keys-from", keys, "--key", stranger)
        self.assertEqual(out.returncode, 1)
        self.assertIn("the master key does not open this keyring copy", out.stderr)
        self.assertIn("nothing restored", out.stderr)
        self.assertEqual(self.digest(self.db), before)
        for by_hand in (False, True):
            if by_hand:
                shutil.copyfile(keys, self.db + ".keys")
                out = run_server("restore", "--db", self.db, "--from", backup)
            else:
                out = run_server("restore", "--db", self.db, "--from", backup, "--keys-from", keys)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("client %s was erased after this backup" % gone["id"], out.stdout)
            self.assertIn("as intended", out.stdout)
            self.assertNotIn("altered", out.stderr)
            kc = sqlite3.connect(self.db + ".keys")
            self.assertIsNone(kc.execute("SELECT 1 FROM data_key WHERE owner = ?", (gone["id"],)).fetchone(),
                              "the key the copy held is destroyed again")
            kc.close()
            con = sqlite3.connect(self.db)
            self.assertIsNone(con.execute("SELECT 1 FROM client WHERE id = ?", (gone["id"],)).fetchone())
            again = Keyring(self.db).rows(con, "SELECT * FROM client WHERE id = ?", (kept["id"],), "client")[0]
            self.assertEqual(again["name"], kept["name"], "everyone else is back")
            con.close()
            self.assertNotIn(gone["name"].encode(), raw_bytes(self.db))
            bcon = sqlite3.connect(backup)
            raw = bcon.execute("SELECT name FROM client WHERE id = ?", (gone["id"],)).fetchone()[0]
            bcon.close()
            with self.assertRaises(Erased):
                Keyring(self.db).open("client", "name", gone["id"], raw)
        self.assertEqual(run_server("audit", "verify", "--db", self.db).returncode, 0)


    def test_erasures_from_before_the_ledger_are_listed_at_upgrade(self):
        """A database erased by a version without the erasure ledger gets its erasures
        listed at the first start, so a keyring copy from before them cannot undo them."""
        rows, _ = self.clients()
        gone = rows[5]
        backup, keys = os.path.join(self.tmp, "b.db"), os.path.join(self.tmp, "b.keys")
        out = run_server("backup", "--db", self.db, "--to", backup, "--keys-to", keys)
        self.assertEqual(out.returncode, 0, out.stderr)
        out = run_server("privacy", "erase", "--db", self.db, "--client", gone["id"], "--confirm")
        self.assertEqual(out.returncode, 0, out.stderr)
        os.remove(self.db + ".key.erased")  # as an older version left it
        con = sqlite3.connect(self.db)
        con.execute("DELETE FROM meta WHERE key = 'ledger_v1'")
        con.commit()
        con.close()
        self.assertEqual(run_server("init", "--db", self.db).returncode, 0)
        with open(self.db + ".key.erased") as f:
            self.assertIn(gone["id"], f.read())
        out = run_server("restore", "--db", self.db, "--from", backup, "--keys-from", keys)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("client %s was erased after this backup" % gone["id"], out.stdout)
        kc = sqlite3.connect(self.db + ".keys")
        self.assertIsNone(kc.execute("SELECT 1 FROM data_key WHERE owner = ?", (gone["id"],)).fetchone())
        kc.close()

    def append_plain_audit(self, con, org, client, before, after):
        """An audit entry about a client with plain before/after, chained the way
        audit.c hashes (as versions before encryption at rest wrote them)."""
        def field(v):
            if v is None:
                return b"\xff\xff\xff\xff"
            b = v if isinstance(v, bytes) else str(v).encode()
            return struct.pack(">I", len(b)) + b

        def num(v):
            return field(None) if v is None else field(struct.pack(">q", v))
        prev = con.execute("SELECT hash FROM audit WHERE org_id = ? ORDER BY seq DESC LIMIT 1", (org,)).fetchone()
        prev = prev[0] if prev else bytes(32)
        seq = con.execute("SELECT coalesce(max(seq), 0) + 1 FROM audit").fetchone()[0]
        now = int(time.time() * 1000)
        vals = [org, "operator", None, None, "update", "client", client, client, None, "allergies", before, after]
        data = prev + num(seq) + b"".join(field(v) for v in vals) + num(None) + num(now)
        digest = hashlib.blake2b(data, digest_size=32).digest()
        con.execute("INSERT INTO audit(seq, org_id, actor_kind, actor_id, device_id, action, entity, entity_id, "
                    "client_id, location_id, fields, before, after, device_time, server_time, prev_hash, hash) "
                    "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)", [seq] + vals + [now, prev, digest])
        return seq

    def test_plain_text_of_an_older_version_is_sealed_or_dropped_at_upgrade(self):
        """A database from before encryption at rest kept audit before/after and push
        answers in plain text. The upgrade seals the audit values of clients that exist
        (their history stays readable), empties those of clients already gone, re-hashes
        the chain and records that it did, and drops the row values from kept answers."""
        rows, _ = self.clients()
        alive = rows[4]
        gone = "0194a000-0000-7000-8000-00000000dead"
        words = ["Oldplainword%d%d" % (os.getpid(), i) for i in range(4)]
        con = sqlite3.connect(self.db)
        org = con.execute("SELECT org_id FROM client WHERE id = ?", (alive["id"],)).fetchone()[0]
        s1 = self.append_plain_audit(con, org, alive["id"], '{"allergies":"%s"}' % words[0],
                                     '{"allergies":"%s"}' % words[1])
        s2 = self.append_plain_audit(con, org, gone, '{"allergies":"%s"}' % words[2], None)
        answer = msgpack.packb({"mid": 3, "status": "rejected", "code": "conflict", "msg": "changed meanwhile",
                                "current": {"allergies": words[3]}})
        # (principal_id '': what migration 13 gives answers of a device it does not know)
        con.execute("INSERT INTO mutation(principal_id, device_id, mid, result, at) "
                    "VALUES('', '0194a000-0000-7000-8000-0000000000aa', 3, ?, 1)", (answer,))
        con.execute("DELETE FROM meta WHERE key = 'sealed_v2'")  # as an older version left it
        con.commit()
        con.close()
        out = run_server("audit", "verify", "--db", self.db)
        self.assertEqual(out.returncode, 0, "the old-style entries chain correctly: " + out.stdout)
        self.assertTrue(all(w.encode() in raw_bytes(self.db) for w in words))

        out = run_server("init", "--db", self.db)  # the upgrade
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("1 entries written before encryption at rest sealed, 1 of erased clients emptied", out.stderr)
        data = raw_bytes(self.db)
        self.assertEqual([w for w in words if w.encode() in data], [], "no plain text left in the files")
        out = run_server("audit", "verify", "--db", self.db)
        self.assertEqual(out.returncode, 0, out.stdout)
        con = sqlite3.connect(self.db)
        b1, a1 = con.execute("SELECT before, after FROM audit WHERE seq = ?", (s1,)).fetchone()
        self.assertTrue(is_sealed(b1) and is_sealed(a1))
        self.assertEqual(con.execute("SELECT before, after FROM audit WHERE seq = ?", (s2,)).fetchone(), (None, None))
        note = con.execute("SELECT after FROM audit WHERE action = 'sealed_at_upgrade'").fetchall()
        self.assertEqual(len(note), 1)
        note = json.loads(note[0][0])
        self.assertEqual((note["entries_sealed"], note["entries_purged"], note["from_seq"]), (1, 1, s1))
        kept = msgpack.unpackb(con.execute("SELECT result FROM mutation WHERE mid = 3").fetchone()[0])
        con.close()
        self.assertEqual(kept, {"mid": 3, "status": "rejected", "code": "conflict", "msg": "changed meanwhile"})
        hist = run_server("audit", "show", "--db", self.db, "--client", alive["id"]).stdout
        self.assertIn(words[0], hist, "the sealed history still reads")
        self.assertIn(words[1], hist)
        # once only: a second start changes nothing
        out = run_server("init", "--db", self.db)
        self.assertNotIn("sealed", out.stderr)


if __name__ == "__main__":
    h.main()
