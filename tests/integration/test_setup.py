"""A salon from zero, with no demo data at all: init, setup by flags, the
owner chooses a password through the link mailed to a real SMTP server
(Debian's python3-aiosmtpd) and signs in with the reference client; a second
location in another time zone; a receptionist and a specialist invited and
signed in through their links; client cards created, found and merged
(history kept); a closed location takes no bookings; setup on a set-up
database changes nothing; setup driven interactively through a pty."""
import hashlib
import os
import pty
import re
import select
import shutil
import sqlite3
import subprocess
import tempfile
import time
import unittest

import kt_harness as h
from test_portal import ConfServer, Inbox, free_port, smtp_start, token_of, write_conf

OWNER = "ana@lepota.example"
GOOD = "Zimska-Roza-42"
SETUP = ["--business", "Studio Lepota", "--country", "SI", "--currency", "EUR", "--language", "sl",
         "--location", "Maribor", "--address", "Glavni trg 1, 2000 Maribor", "--phone", "+386 2 123 45 67",
         "--time-zone", "Europe/Ljubljana", "--owner-name", "Ana Novak", "--owner-email", OWNER]


def server_cmd(*args, stdin=None):
    return subprocess.run([h.SERVER] + list(args), capture_output=True, text=True, input=stdin, timeout=60)


class SetupTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kt-setup-")
        cls.db = os.path.join(cls.tmp, "salon.db")
        cls.inbox = Inbox()
        cls.smtp = smtp_start(cls.inbox, free_port())
        cls.conf = write_conf(os.path.join(cls.tmp, "serve.conf"), portal_url="https://salon.lepota.example/setup",
                              smtp_url="smtp://127.0.0.1:%d" % cls.smtp.port,
                              smtp_from="Studio Lepota <salon@lepota.example>", mail_retry_seconds="0.2")
        out = server_cmd("init", "--db", cls.db)
        assert out.returncode == 0, out.stderr
        cls.setup_out = server_cmd("setup", "--db", cls.db, "--config", cls.conf, *SETUP, stdin="")
        assert cls.setup_out.returncode == 0, cls.setup_out.stderr
        cls.server = ConfServer(cls.db, cls.conf)
        # the owner's link: the server's mail worker sends what setup queued
        mail = cls.inbox.wait(lambda m: OWNER in m[1])
        assert mail, "no setup mail for the owner"
        cls.owner_mail = mail
        r = cls.rpc({"t": "portal_set_password", "token": token_of(mail[2]), "password": GOOD})
        assert r.get("op") == "set_password", r
        cls.owner = {"email": OWNER, "password": GOOD}

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            cls.smtp.stop()
            shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def rpc(cls, msg, acc=None):
        async def go():
            p = await h.Peer(cls.server).connect()
            await p.hello()
            if acc:
                ok = await p.login(acc)
                assert ok["t"] == "auth_ok", ok
            await p.send(msg)
            m = await p.recv()
            await p.close()
            return m
        return h.run(go())

    def admin(self, *args):
        return server_cmd("admin", "--db", self.db, "--config", self.conf, *args)

    def query(self, sql, args=()):
        con = sqlite3.connect(self.db)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def signed_in_tablet(self, name, acc):
        d = os.path.join(self.tmp, name)
        h.login(d, self.server, acc)
        h.client(d, "sync")
        return d

    def invited(self, email, timeout=15):
        """The password link mailed to email: set a password with it."""
        mail = self.inbox.wait(lambda m: email in m[1], timeout)
        self.assertIsNotNone(mail, "no mail to %s" % email)
        self.assertIn("https://salon.lepota.example/setup#token=", mail[2].get_content())
        r = self.rpc({"t": "portal_set_password", "token": token_of(mail[2]), "password": GOOD})
        self.assertEqual(r.get("op"), "set_password", r)
        return {"email": email, "password": GOOD}

    # ---- setup ----

    def test_setup_said_what_it_created(self):
        out = self.setup_out.stdout
        self.assertIn("created organisation Studio Lepota (SI, EUR, sl)", out)
        self.assertIn("created location Maribor (Europe/Ljubljana)", out)
        self.assertIn("created owner Ana Novak <%s>" % OWNER, out)
        self.assertIn("queued a setup link for %s" % OWNER, out)
        self.assertEqual(self.query("SELECT name, country, currency, language FROM organisation"),
                         [("Studio Lepota", "SI", "EUR", "sl")])

    def test_owner_signed_in_with_the_reference_client(self):
        d = self.signed_in_tablet("owner", self.owner)
        rows = h.cache_rows(d)
        locs = [data["name"] for (t, _), (_, data) in rows.items() if t == "location"]
        self.assertIn("Maribor", locs)
        orgs = [data for (t, _), (_, data) in rows.items() if t == "organisation"]
        self.assertEqual(orgs[0]["currency"], "EUR")
        # the link works once
        r = self.rpc({"t": "portal_set_password", "token": token_of(self.owner_mail[2]), "password": "Other-Pass-77"})
        self.assertEqual(r.get("code"), "token_used", r)

    def test_setup_twice_changes_nothing(self):
        def state():
            return (self.query("SELECT id, name, version FROM organisation ORDER BY id"),
                    self.query("SELECT id, version FROM location ORDER BY id"),
                    self.query("SELECT count(*) FROM staff"), self.query("SELECT max(seq) FROM audit"))
        before = state()
        out = server_cmd("setup", "--db", self.db, "--config", self.conf, *(SETUP[:-2] + ["--owner-email",
                                                                                      "other@x.example"]), stdin="")
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("set up already; nothing was changed", out.stderr)
        self.assertEqual(state(), before)

    def test_bad_values_name_the_field(self):
        fresh = os.path.join(self.tmp, "bad.db")
        self.assertEqual(server_cmd("init", "--db", fresh).returncode, 0)
        for flag, value, words in (("--time-zone", "Mars/Olympus", "time zone"), ("--country", "XX", "country"),
                                   ("--currency", "EURO", "currency"), ("--language", "klingon", "language"),
                                   ("--owner-email", "not-an-address", "e-mail")):
            args = list(SETUP)
            args[args.index(flag) + 1] = value
            out = server_cmd("setup", "--db", fresh, *args, stdin="")
            self.assertEqual(out.returncode, 2, (flag, out.stdout, out.stderr))
            self.assertIn(words, out.stderr)
        con = sqlite3.connect(fresh)
        self.assertEqual(con.execute("SELECT count(*) FROM organisation").fetchone(), (0,))
        con.close()

    def test_password_from_stdin_for_scripts(self):
        db = os.path.join(self.tmp, "stdin.db")
        self.assertEqual(server_cmd("init", "--db", db).returncode, 0)
        args = ["setup", "--db", db, "--password-stdin"] + SETUP[:-1] + ["boss@stdin.example"]
        out = server_cmd(*args, stdin="password\n")
        self.assertEqual(out.returncode, 1)
        self.assertIn("rule", out.stderr)  # the rule it broke, by name
        self.assertIn("nothing was changed", out.stderr)
        out = server_cmd(*args, stdin="Stdin-Geslo-2030\n")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("set the owner's password", out.stdout)
        self.assertNotIn("Stdin-Geslo-2030", out.stdout + out.stderr)
        srv = h.Server(db)
        try:
            async def go():
                p = await h.Peer(srv).connect()
                await p.hello()
                m = await p.login({"email": "boss@stdin.example", "password": "Stdin-Geslo-2030"})
                await p.close()
                return m
            self.assertEqual(h.run(go())["t"], "auth_ok")
        finally:
            srv.stop()

    # ---- locations and staff ----

    def test_a_deactivated_persons_link_does_not_bring_them_back(self):
        out = self.admin("staff", "invite", "--name", "Rok Odsel", "--email", "rok@lepota.example", "--role",
                         "reception", "--location", "Maribor")
        self.assertEqual(out.returncode, 0, out.stderr)
        rok = out.stdout.split()[-1]
        mail = self.inbox.wait(lambda m: "rok@lepota.example" in m[1])
        self.assertIsNotNone(mail)
        self.assertEqual(self.admin("staff", "deactivate", rok).returncode, 0)
        r = self.rpc({"t": "portal_set_password", "token": token_of(mail[2]), "password": GOOD})
        self.assertEqual(r.get("code"), "revoked", r)
        self.assertIn("deactivated", r.get("msg"))
        self.assertEqual(self.query("SELECT active, password_hash FROM staff WHERE id = ?", (rok,)), [(0, None)])
        out = self.admin("staff", "reset-password", rok)
        self.assertEqual(out.returncode, 1)
        self.assertIn("deactivated", out.stderr)

    def test_second_location_staff_invited_and_signed_in(self):
        r = self.rpc({"t": "manage", "op": "create_location", "name": "Graz", "time_zone": "Europe/Vienna",
                      "address": "Herrengasse 1, 8010 Graz"}, self.owner)
        self.assertEqual(r["t"], "manage_result", r)
        graz = r["id"]
        r = self.rpc({"t": "manage", "op": "edit_location", "id": graz, "phone": "+43 316 123456"}, self.owner)
        self.assertEqual(r, {"t": "manage_result", "op": "edit_location", "id": graz})
        out = self.admin("location", "edit", "Graz", "--address", "Sackstrasse 2, 8010 Graz")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("changed location Graz: address Sackstrasse 2, 8010 Graz", out.stdout)
        self.assertEqual(self.query("SELECT address, phone, time_zone FROM location WHERE id = ?", (graz,)),
                         [("Sackstrasse 2, 8010 Graz", "+43 316 123456", "Europe/Vienna")])
        self.assertIn("time zone", self.admin("location", "edit", "Graz", "--time-zone", "Graz").stderr)
        lst = self.admin("location", "list")
        self.assertEqual(lst.returncode, 0, lst.stderr)
        self.assertTrue(lst.stdout.startswith("name\ttime_zone\t"))
        self.assertRegex(lst.stdout, r"Graz\tEurope/Vienna\t")
        # reception by the operator (names, not ids), a specialist by the owner's device
        out = self.admin("staff", "invite", "--name", "Maja Kos", "--email", "maja@lepota.example", "--role",
                         "reception", "--location", "Maribor")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("invited Maja Kos <maja@lepota.example> as reception at Maribor", out.stdout)
        r = self.rpc({"t": "manage", "op": "invite_staff", "name": "Nina Zupan", "email": "nina@lepota.example",
                      "role": "specialist", "locations": [graz]}, self.owner)
        self.assertEqual(r["t"], "manage_result", r)
        self.assertGreater(r["expires_at"], 0)
        nina_id = r["id"]
        # invited, not yet able to sign in
        self.assertEqual(self.rpc({"t": "login", "email": "nina@lepota.example", "password": GOOD})["t"], "error")
        maja = self.invited("maja@lepota.example")
        nina = self.invited("nina@lepota.example")
        d = self.signed_in_tablet("maja", maja)
        self.assertIn("Maribor", [x["name"] for (t, _), (_, x) in h.cache_rows(d).items() if t == "location"])
        d = self.signed_in_tablet("nina", nina)
        seen = [x["name"] for (t, _), (_, x) in h.cache_rows(d).items() if t == "location"]
        self.assertEqual(seen, ["Graz"])
        # a reset link: the old password works until the new one is chosen, then sessions end
        r = self.rpc({"t": "manage", "op": "reset_staff_password", "id": nina_id}, self.owner)
        self.assertEqual(r["t"], "manage_result", r)
        mail = self.inbox.wait(lambda m: "nina@lepota.example" in m[1] and "reset" in m[2]["Subject"])
        self.assertIsNotNone(mail)
        self.assertEqual(self.rpc({"t": "login", "email": "nina@lepota.example", "password": GOOD})["t"], "auth_ok")
        r = self.rpc({"t": "portal_set_password", "token": token_of(mail[2]), "password": "Nova-Geslo-2030"})
        self.assertEqual(r.get("op"), "set_password", r)
        self.assertEqual(self.rpc({"t": "login", "email": "nina@lepota.example", "password": GOOD})["t"], "error")
        self.assertEqual(self.rpc({"t": "login", "email": "nina@lepota.example",
                                   "password": "Nova-Geslo-2030"})["t"], "auth_ok")
        audit = self.query("SELECT action FROM audit WHERE entity = 'staff' AND entity_id = ?", (nina_id,))
        for a in ("staff_invite", "staff_password_set", "staff_reset_link"):
            self.assertIn((a,), audit)

    def test_closed_location_takes_no_bookings(self):
        out = self.admin("location", "create", "--name", "Celje", "--time-zone", "Europe/Ljubljana")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("created location Celje (Europe/Ljubljana)", out.stdout)
        out = self.admin("staff", "invite", "--name", "Tina Celje", "--email", "tina@lepota.example", "--role",
                         "specialist", "--location", "Celje")
        tina = out.stdout.split()[-1]
        out = self.admin("client", "create", "--name", "Mojca Celje", "--location", "Celje")
        client = out.stdout.split()[-1]
        loc = self.query("SELECT id FROM location WHERE name = 'Celje'")[0][0]
        book = ["appointment", "create", "--location", loc, "--client", client, "--specialist", tina,
                "--start", "2030-03-04T09:00:00Z", "--duration", "30"]
        self.assertEqual(self.admin(*book).returncode, 0)
        out = self.admin("location", "close", "Celje")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("closed location Celje", out.stdout)
        self.assertRegex(self.admin("location", "list").stdout, r"Celje\t.*\tclosed \d{4}-\d\d-\d\d\t")
        book[book.index("--start") + 1] = "2030-03-05T09:00:00Z"
        out = self.admin(*book)
        self.assertEqual(out.returncode, 1)
        self.assertIn("closed: it takes no new bookings", out.stderr)
        # the same rule on a device's push
        d = self.signed_in_tablet("closed-owner", self.owner)
        h.client(d, "appointment", "create", "--location", loc, "--client", client, "--specialist", tina,
                 "--start", "2030-03-06T09:00:00Z", "--duration", "30")
        h.client(d, "sync", check=False)
        self.assertIn("closed: it takes no new bookings", h.client(d, "rejections").stdout)
        self.assertEqual(self.query("SELECT count(*) FROM appointment WHERE location_id = ?", (loc,)), [(1,)])
        # closing twice says so
        self.assertIn("closed already", self.admin("location", "close", "Celje").stderr)

    # ---- client cards ----

    def test_client_created_found_and_merged(self):
        out = self.admin("client", "create", "--name", "Eva Horvat", "--phone", "041 555 123", "--location",
                         "Maribor")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("created client Eva Horvat at Maribor", out.stdout)
        keep = out.stdout.split()[-1]
        out = self.admin("client", "create", "--name", "Eva Horvat", "--email", "eva.h@mail.example",
                         "--location", "Maribor")
        dup = out.stdout.split()[-1]
        # two cards, one name: the name alone is ambiguous and says which cards
        amb = self.admin("client", "edit", "Eva Horvat", "--birthday", "1990-02-03")
        self.assertEqual(amb.returncode, 2)  # like every ambiguous name: nothing changed
        self.assertIn(keep, amb.stderr)
        # found by phone in its international form, and by part of the e-mail
        out = self.admin("client", "find", "+386 41 555 123")
        self.assertEqual(out.stdout.splitlines(), ["name\tid", "Eva Horvat\t" + keep])
        r = self.rpc({"t": "manage", "op": "find_clients", "text": "eva.h@"}, self.owner)
        self.assertEqual(r["clients"], [{"id": dup, "name": "Eva Horvat"}])
        # the duplicate has history: an appointment and a consent
        spec = self.query("SELECT s.id FROM staff s WHERE s.email = 'spec.merge@lepota.example'")
        if not spec:
            self.admin("staff", "invite", "--name", "Vesna Merge", "--email", "spec.merge@lepota.example",
                       "--role", "specialist", "--location", "Maribor")
            spec = self.query("SELECT s.id FROM staff s WHERE s.email = 'spec.merge@lepota.example'")
        loc = self.query("SELECT id FROM location WHERE name = 'Maribor'")[0][0]
        out = self.admin("appointment", "create", "--location", loc, "--client", dup, "--specialist", spec[0][0],
                         "--start", "2031-01-15T08:30:00Z", "--duration", "45", "--note", "bring the photo")
        self.assertEqual(out.returncode, 0, out.stderr)
        appt = h.created_id(out.stdout)
        out = self.admin("consent", dup, "marketing_email", "grant", "--text-version", "v1")
        self.assertEqual(out.returncode, 0, out.stderr)
        r = self.rpc({"t": "manage", "op": "merge_clients", "id": dup, "into": keep}, self.owner)
        self.assertEqual(r, {"t": "manage_result", "op": "merge_clients", "id": keep})
        self.assertEqual(self.query("SELECT client_id FROM appointment WHERE id = ?", (appt,)), [(keep,)])
        self.assertEqual(self.query("SELECT count(*) FROM client WHERE id = ?", (dup,)), [(0,)])
        self.assertEqual(self.query("SELECT purpose, granted FROM consent WHERE client_id = ?", (keep,)),
                         [("marketing_email", 1)])
        # the kept card took the e-mail it lacked; the note is readable under its key
        from ktcrypt import Keyring
        con = sqlite3.connect(self.db)
        kr = Keyring(self.db)
        card = kr.rows(con, "SELECT * FROM client WHERE id = ?", (keep,), "client")[0]
        note = kr.rows(con, "SELECT * FROM appointment WHERE id = ?", (appt,), "appointment")[0]
        con.close()
        self.assertEqual(card["email"], "eva.h@mail.example")
        self.assertEqual(note["client_note"], "bring the photo")
        raw = self.query("SELECT client_note FROM appointment WHERE id = ?", (appt,))[0][0]
        self.assertEqual(raw[3:3 + raw[2]].decode(), keep)  # sealed again, with the kept card's key
        # history kept and audited
        hist = server_cmd("audit", "show", "--db", self.db, "--client", keep)
        self.assertIn("client_merged", hist.stdout)
        self.assertEqual(server_cmd("audit", "verify", "--db", self.db).returncode, 0)
        r = self.rpc({"t": "manage", "op": "find_clients", "text": "Eva Horvat"}, self.owner)
        self.assertEqual(r["clients"], [{"id": keep, "name": "Eva Horvat"}])
        # a device sees the merge through the change log: the duplicate is gone
        d = self.signed_in_tablet("merge-owner", self.owner)
        rows = h.cache_rows(d)
        self.assertIn(("client", keep), rows)
        self.assertNotIn(("client", dup), rows)
        self.assertEqual(rows[("appointment", appt)][1]["client_id"], keep)

    # ---- interactive ----

    def test_interactive_setup_through_a_pty(self):
        db = os.path.join(self.tmp, "pty.db")
        self.assertEqual(server_cmd("init", "--db", db).returncode, 0)
        master, slave = pty.openpty()
        proc = subprocess.Popen([h.SERVER, "setup", "--db", db], stdin=slave, stdout=slave, stderr=slave,
                                close_fds=True)
        os.close(slave)
        answers = [("Business name", "Salon Svila"), ("Country", "at"), ("Country", "AT"), ("Currency", "EUR"),
                   ("language", "de"), ("location's name", "Wien"), ("address", ""), ("phone", ""),
                   ("time zone", "Europe/Vienna"), ("Owner's name", "Eva Berger"),
                   ("Owner's e-mail", "eva@svila.example"), ("password", "Svila-Wien-2030"), ("Again", "Svila-Wien-2030")]
        seen = b""
        transcript = []

        def read_until(word, timeout=20):
            nonlocal seen
            end = time.monotonic() + timeout
            while word.encode() not in seen:
                left = end - time.monotonic()
                self.assertGreater(left, 0, "no prompt %r in %r" % (word, seen[-400:]))
                r, _, _ = select.select([master], [], [], left)
                if r:
                    try:
                        chunk = os.read(master, 4096)
                    except OSError:
                        chunk = b""
                    self.assertTrue(chunk, "setup ended before %r: %r" % (word, seen[-400:]))
                    seen += chunk
                    transcript.append(chunk)
            i = seen.index(word.encode())
            seen = seen[i + len(word):]
        for prompt, answer in answers:
            read_until(prompt)
            os.write(master, answer.encode() + b"\n")
            if prompt == "Country" and answer == "at":
                read_until("alpha-2")  # the check's sentence, then the same question again
        read_until("set the owner's password")
        proc.wait(30)
        os.close(master)
        self.assertEqual(proc.returncode, 0)
        # the password typed at the prompt never reached the terminal as text
        self.assertNotIn(b"Svila-Wien-2030", b"".join(transcript))
        con = sqlite3.connect(db)
        self.assertEqual(con.execute("SELECT name, country, language FROM organisation").fetchall(),
                         [("Salon Svila", "AT", "de")])
        con.close()
        srv = h.Server(db)
        try:
            d = os.path.join(self.tmp, "svila")
            h.login(d, srv, {"email": "eva@svila.example", "password": "Svila-Wien-2030"})
            h.client(d, "sync")
            self.assertIn("Wien", [x["name"] for (t, _), (_, x) in h.cache_rows(d).items() if t == "location"])
        finally:
            srv.stop()


if __name__ == "__main__":
    h.main()
