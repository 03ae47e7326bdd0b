"""The server's command line: clear errors for missing or unreadable
databases, --help, the config file, idempotent init, the policy matrix."""
import os
import shutil
import subprocess
import tempfile
import unittest

import kt_harness as h


class ServerCliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kt-cli-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_server(self, *args, timeout=180):  # init --demo hashes 29 passwords: slow under ASan
        return subprocess.run([h.SERVER] + list(args), capture_output=True, text=True, timeout=timeout)

    def test_missing_database_is_named(self):
        path = os.path.join(self.tmp, "nope.db")
        out = self.run_server("serve", "--db", path, "--listen", "127.0.0.1:0")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn(path, out.stderr)
        self.assertIn("no such database", out.stderr)
        self.assertFalse(os.path.exists(path), "serve must not create a database")

    def test_non_sqlite_file_is_refused(self):
        path = os.path.join(self.tmp, "junk.db")
        with open(path, "wb") as f:
            f.write(b"this is not a database" * 100)
        out = self.run_server("serve", "--db", path, "--listen", "127.0.0.1:0")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn(path, out.stderr)

    def test_directory_instead_of_file_is_refused(self):
        out = self.run_server("serve", "--db", self.tmp, "--listen", "127.0.0.1:0")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn(self.tmp, out.stderr)

    def test_help_and_unknown_command(self):
        out = self.run_server("--help")
        self.assertEqual(out.returncode, 0)
        self.assertIn("serve", out.stdout)
        self.assertEqual(self.run_server("frobnicate").returncode, 2)

    def test_init_twice_is_an_upgrade_not_an_error(self):
        path = os.path.join(self.tmp, "k.db")
        self.assertEqual(self.run_server("init", "--db", path).returncode, 0)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600, "the database holds personal data")
        self.assertEqual(self.run_server("init", "--db", path).returncode, 0)
        out = self.run_server("init", "--db", path, "--demo")
        self.assertEqual(out.returncode, 0)  # still empty of data: demo allowed
        out = self.run_server("init", "--db", path, "--demo")
        self.assertNotEqual(out.returncode, 0)  # now it holds data

    def test_config_file_supplies_db_and_listen(self):
        db, _ = h.demo_db(self.tmp)
        conf = os.path.join(self.tmp, "k.conf")
        with open(conf, "w") as f:
            f.write("# kartoteka\ndb = %s\nlisten = 127.0.0.1:0\nlog_level = warn\n" % db)
        p = subprocess.Popen([h.SERVER, "serve", "--config", conf], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            self.assertTrue(p.stdout.readline().startswith("listening on 127.0.0.1:"))
        finally:
            p.terminate()
            p.wait(10)
        with open(conf, "w") as f:
            f.write("nonsense = 1\n")
        out = self.run_server("serve", "--config", conf)
        self.assertEqual(out.returncode, 2)
        self.assertIn("unknown key", out.stderr)

    def test_admin_edits_are_audited_and_tampering_is_named(self):
        import sqlite3
        db, _ = h.demo_db(self.tmp)
        con = sqlite3.connect(db)
        cid = con.execute("SELECT id FROM client ORDER BY id LIMIT 1").fetchone()[0]
        con.close()
        out = self.run_server("admin", "--db", db, "client", "set", cid, "phone", "+386 40 111 222")
        self.assertEqual(out.returncode, 0, out.stderr)
        shown = self.run_server("audit", "show", "--db", db, "--client", cid).stdout
        self.assertIn("operator", shown)
        self.assertIn('"phone":"+386 40 111 222"', shown)
        ok = self.run_server("audit", "verify", "--db", db)
        self.assertEqual(ok.returncode, 0, ok.stdout)
        self.assertIn("audit log ok", ok.stdout)
        con = sqlite3.connect(db)
        with self.assertRaises(sqlite3.DatabaseError):  # append-only for anyone using SQL
            con.execute("UPDATE audit SET after = '{}' WHERE seq = 7")
        # someone with the file drops the guard and edits one entry
        con.execute("DROP TRIGGER audit_no_update")
        con.execute("UPDATE audit SET after = '{\"phone\":\"+386 1 000\"}' WHERE seq = 7")
        con.commit()
        con.close()
        bad = self.run_server("audit", "verify", "--db", db)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("BROKEN at entry 7 ", bad.stdout)

    def test_admin_client_set_sees_through_the_sealed_columns(self):
        """Sealed values are compared as they read, not as stored: the same
        value again writes nothing, and a portal e-mail another account
        signs in with is refused by name."""
        import sqlite3
        from ktcrypt import Keyring
        db, accounts = h.demo_db(self.tmp)
        con = sqlite3.connect(db)
        portal = [r[0] for r in con.execute("SELECT id FROM client WHERE portal_enabled = 1 AND phone IS NOT NULL "
                                            "AND email IS NOT NULL ORDER BY id LIMIT 2")]
        con.close()

        def row(cid):
            con = sqlite3.connect(db)
            r = Keyring(db).rows(con, "SELECT * FROM client WHERE id = ?", (cid,), "client")[0]
            con.close()
            return r
        first, second = row(portal[0]), row(portal[1])
        out = self.run_server("admin", "--db", db, "client", "set", portal[0], "phone", first["phone"])
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(row(portal[0])["version"], first["version"], "the same phone again is no change")
        out = self.run_server("admin", "--db", db, "client", "set", portal[0], "email", second["email"].upper())
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("another sign-in already uses this e-mail", out.stderr)
        self.assertEqual(row(portal[0])["email"], first["email"])

    def test_policy_prints_the_matrix(self):
        out = self.run_server("policy")
        self.assertEqual(out.returncode, 0)
        self.assertIn("| client | allergies |", out.stdout)


if __name__ == "__main__":
    h.main()
