"""Importing a client list from other salon software, and exporting the
salon's data: a Windows-1250 file with ';', Slovenian headers, a quoted note
over two lines and two duplicates (one in the file, one already a client);
the dry run's report; the real run creates exactly the good rows (E.164
phones, ISO birthdays, consents with source import, audit entries naming the
file); bad files each get their error and create nothing; an export imported
into a fresh database gives the same clients back. The real server binary on
real SQLite files (demo databases from kt_harness)."""
import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import unittest
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import kt_harness as h
from ktcrypt import Keyring

A, B = "Lepota Center", "Lepota Maribor"
HEAD = "Ime;Priimek;E-pošta;Telefon;Rojstni dan;Naslov;Opombe;Soglasje SMS;Soglasje e-pošta"


def cp1250(lines):
    return ("\r\n".join(lines) + "\r\n").encode("cp1250")


class ImportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kt-import-")
        self.db, self.accounts = h.demo_db(self.tmp)
        # a client the salon already has at A: the import must not make her twice
        self.existing = [[c["id"], c["name"], c["email"]] for c in self.listed_clients()
                         if c["email"] and A in c["locations"].split(",")][0]

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- helpers ----

    def server(self, *args, db=None):
        return subprocess.run([h.SERVER] + [a if a != "DB" else (db or self.db) for a in args],
                              capture_output=True, timeout=120)

    def admin(self, *args, db=None):
        out = subprocess.run([h.SERVER, "admin", "--db", db or self.db] + list(args), capture_output=True,
                             text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def state(self, db=None):
        """Counts that any created card, link, consent or audit entry would change."""
        con = sqlite3.connect(db or self.db)
        out = tuple(con.execute(q).fetchone()[0] for q in (
            "SELECT count(*) FROM client", "SELECT count(*) FROM client_location",
            "SELECT count(*) FROM consent", "SELECT max(seq) FROM audit", "SELECT max(seq) FROM changelog"))
        con.close()
        return out

    def clients(self, db=None):
        """id -> (name, email) as the admin command lists them."""
        return {c["id"]: (c["name"], c["email"] or "") for c in self.listed_clients(db)}

    def listed_clients(self, db=None):
        return json.loads(self.admin("list", "clients", "--limit", "1000000", "--json", db=db).stdout)

    def salon_file(self):
        e = self.existing
        return self.write("stranke.csv", cp1250([
            HEAD,
            'Ana;Čebašek;ana.cebasek@example.si;041 123 456;15.3.1985;Trubarjeva 1, Ljubljana;"Rada ima\nkavo";da;ne',
            "Žiga;Šuštar;ziga@example.si;+386 31 555 666;15. 3. 1990;;;ne;",
            "Ana;Čebašek;ANA.Cebasek@example.si;;;;;;",                       # line 5: the same e-mail as line 2
            "Maja;Kranjc;maja.kranjc@example.si;0038641999888;1985-03-15;;;;da",
            "%s;;%s;;;;;;" % (e[1], e[2].upper()),                              # line 7: already a client
        ]))

    def import_(self, *args, db=None, location=A):
        return self.server("import", "clients", "--db", "DB", "--location", location, *args, db=db)

    # ---- the tests ----

    def test_dry_run_reports_mapping_duplicates_and_changes_nothing(self):
        before = self.state()
        out = self.import_(self.salon_file(), "--dry-run")
        text = out.stdout.decode()
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        self.assertIn("Windows-1250, delimiter ';', 5 row(s); location %s (Europe/Ljubljana)" % A, text)
        self.assertIn("column\theader\tfield\n", text)
        for col, field in (("Ime", "first_name"), ("Priimek", "last_name"), ("E-pošta", "email"),
                           ("Telefon", "phone"), ("Rojstni dan", "birthday"), ("Naslov", "address"),
                           ("Opombe", "notes"), ("Soglasje SMS", "consent:marketing_sms"),
                           ("Soglasje e-pošta", "consent:marketing_email")):
            self.assertIn("\t%s\t%s\n" % (col, field), text)
        self.assertIn("would create 3 client(s):", text)
        self.assertIn("2\tAna Čebašek\tana.cebasek@example.si\t+38641123456\t1985-03-15\t"
                      "marketing_email=no,marketing_sms=yes\n", text)
        self.assertIn("4\tŽiga Šuštar\tziga@example.si\t+38631555666\t1990-03-15\tmarketing_sms=no\n", text)
        self.assertIn("duplicates, skipped: 2\nline\tsame\tas\n", text)
        self.assertIn("5\te-mail\tline 2 (Ana Čebašek)\n", text)
        self.assertIn("7\te-mail\texisting client %s (%s)\n" % (self.existing[1], self.existing[0]), text)
        self.assertIn("rejected: 0\n", text)
        self.assertIn("dry run: nothing was changed", text)
        self.assertEqual(self.state(), before)

    def test_real_run_creates_exactly_the_good_rows(self):
        before, old = self.state(), self.clients()
        out = self.import_(self.salon_file())
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        self.assertIn("imported 3 client(s) into %s from stranke.csv; 2 duplicate(s) skipped" % A,
                      out.stdout.decode())
        new = {k: v for k, v in self.clients().items() if k not in old}
        self.assertEqual(sorted(new.values()), [("Ana Čebašek", "ana.cebasek@example.si"),
                                                ("Maja Kranjc", "maja.kranjc@example.si"),
                                                ("Žiga Šuštar", "ziga@example.si")])
        con, kr = sqlite3.connect(self.db), Keyring(self.db)
        cards = {r["email"]: r for r in kr.rows(con, "SELECT * FROM client WHERE id IN (%s)" %
                                                ",".join("?" * len(new)), tuple(new), "client")}
        ana, ziga, maja = cards["ana.cebasek@example.si"], cards["ziga@example.si"], cards["maja.kranjc@example.si"]
        self.assertEqual((ana["phone"], ana["birthday"], ana["address"], ana["internal_notes"]),
                         ("+38641123456", "1985-03-15", "Trubarjeva 1, Ljubljana", "Rada ima\nkavo"))
        self.assertEqual((ziga["phone"], ziga["birthday"], ziga["address"]), ("+38631555666", "1990-03-15", None))
        self.assertEqual((maja["phone"], maja["birthday"]), ("+38641999888", "1985-03-15"))
        loc = con.execute("SELECT id FROM location WHERE name = ?", (A,)).fetchone()[0]
        for cid in new:
            self.assertEqual(con.execute("SELECT location_id FROM client_location WHERE client_id = ?",
                                         (cid,)).fetchall(), [(loc,)])
        # consents: only where a column said so, source import, by the operator
        got = sorted((cards_by_id, p, g, s, tv, k) for cards_by_id, p, g, s, tv, k in con.execute(
            "SELECT client_id, purpose, granted, source, text_version, recorded_kind FROM consent WHERE "
            "client_id IN (%s)" % ",".join("?" * len(new)), tuple(new)))
        self.assertEqual(sorted(got), sorted([
            (ana["id"], "marketing_sms", 1, "import", "import:stranke.csv", "operator"),
            (ana["id"], "marketing_email", 0, "import", "import:stranke.csv", "operator"),
            (ziga["id"], "marketing_sms", 0, "import", "import:stranke.csv", "operator"),
            (maja["id"], "marketing_email", 1, "import", "import:stranke.csv", "operator")]))
        # every card audited as imported, with the file and its line
        for card, line in ((ana, 2), (ziga, 4), (maja, 6)):
            seq, after = con.execute("SELECT seq, after FROM audit WHERE action = 'imported' AND entity_id = ?",
                                     (card["id"],)).fetchone()
            self.assertEqual(json.loads(kr.open("audit", "after", seq, after)), {"file": "stranke.csv", "line": line})
        con.close()
        self.assertEqual(self.state()[0], before[0] + 3)
        self.assertEqual(subprocess.run([h.SERVER, "audit", "verify", "--db", self.db],
                                        capture_output=True).returncode, 0)
        # the same list again: every row is now a client already, nothing is made twice
        again = self.import_(self.salon_file())
        self.assertEqual(again.returncode, 0, again.stderr.decode())
        self.assertIn("imported 0 client(s)", again.stdout.decode())
        self.assertEqual(self.state()[0], before[0] + 3)

    def test_imported_cards_reach_the_tablets_of_that_location_live(self):
        server = h.Server(self.db)
        try:
            tablets = {}
            for loc in (A, B):
                d = os.path.join(self.tmp, "tablet-" + loc.split()[-1])
                h.login(d, server, h.account(self.accounts, "reception", loc))
                tablets[loc] = (d, h.Watcher(d))
                self.assertIsNotNone(tablets[loc][1].wait_synced(), tablets[loc][1].state())
            old = self.clients()
            out = self.import_(self.salon_file())
            self.assertEqual(out.returncode, 0, out.stderr.decode())
            new = [k for k in self.clients() if k not in old]
            self.assertEqual(len(new), 3)
            # the running server streams what another process committed, in any order
            seen, want = set(), {"put client %s" % c for c in new}
            while seen != want:
                got = tablets[A][1].wait_for(lambda l: any(x in l for x in want - seen), 30)
                self.assertIsNotNone(got, "%s; seen %s" % (tablets[A][1].state(), seen))
                seen |= {x for x in want if x in got[1]}
            d, w = tablets[B]
            w.stop()
            h.client(d, "--server", server.url, "--quiet", "sync", "--timeout", "30")
            self.assertFalse({("client", c) for c in new} & set(h.cache_rows(d)), "a card reached the other branch")
            tablets[A][1].stop()
        finally:
            server.stop()

    def test_a_rejected_row_imports_nothing_unless_skip_invalid(self):
        path = self.write("bad-rows.csv", cp1250([
            HEAD,
            "Nina;Oblak;nina@example.si;041 222 333;1.2.1980;;;;",
            "Bad;Birthday;bd@example.si;;31.2.1980;;;;",
            "Bad;Phone;bp@example.si;12;;;;;",
            "Bad;Consent;bc@example.si;;;;;morda;",
            ";;nobody@example.si;;;;;;",
        ]))
        before = self.state()
        out = self.import_(path)
        self.assertEqual(out.returncode, 1)
        self.assertIn("4 row(s) rejected: nothing imported", out.stderr.decode())
        text = out.stdout.decode()
        self.assertIn("rejected: 4\nline\treason\n", text)
        self.assertIn("3\tbirthday '31.2.1980' is not a real day", text)
        self.assertIn("4\tphone '12' is not a phone number (local numbers are read as SI)", text)
        self.assertIn("5\tconsent:marketing_sms 'morda' is neither yes nor no", text)
        self.assertIn("6\tno name", text)
        self.assertEqual(self.state(), before)
        dry = self.import_(path, "--dry-run")
        self.assertEqual(dry.returncode, 1, "a dry run says the real run would refuse")
        self.assertEqual(self.state(), before)
        out = self.import_(path, "--skip-invalid")
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        self.assertIn("imported 1 client(s)", out.stdout.decode())
        self.assertEqual(self.state()[0], before[0] + 1)

    def test_birthdays_month_first_only_when_asked(self):
        path = self.write("us.csv", b"First name,Last name,Email,Birthday\nJane,Doe,jane@example.com,03/15/1985\n")
        out = self.import_(path, "--dry-run")
        self.assertEqual(out.returncode, 1)
        self.assertIn("could be day/month or month/day: give --date-format DMY or MDY", out.stdout.decode())
        out = self.import_(path, "--dry-run", "--date-format", "MDY")
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        self.assertIn("2\tJane Doe\tjane@example.com\t-\t1985-03-15\t", out.stdout.decode())

    def test_headers_in_other_languages_tabs_and_utf8_bom(self):
        for name, data, country in (
                ("de.csv", "\ufeffVorname\tNachname\tTelefon\tGeburtstag\nJürgen\tMüller\t0151 23456789\t1.4.1970\n"
                 .encode(), "DE"),
                ("pl.csv", "imię,nazwisko,telefon,data urodzenia\nŁucja,Wąs,512 345 678,1.4.1970\n".encode(), "PL"),
                ("fi.csv", "etunimi;sukunimi;puhelin;syntymäpäivä\nÄäni;Söderström;040 1234567;1.4.1970\n"
                 .encode("cp1252"), "FI")):
            out = self.import_(self.write(name, data), "--dry-run", "--country", country)
            self.assertEqual(out.returncode, 0, out.stderr.decode())
            text = out.stdout.decode()
            self.assertIn("would create 1 client(s)", text, name)
            self.assertIn("1970-04-01", text, name)
            self.assertIn("\tphone\n", text, name)
        self.assertIn("Jürgen Müller\t-\t+4915123456789", self.import_(
            self.write("de2.csv", "\ufeffVorname\tNachname\tTelefon\nJürgen\tMüller\t0151 23456789\n".encode()),
            "--dry-run", "--country", "DE").stdout.decode())

    def test_bad_files_get_their_error_and_create_nothing(self):
        before = self.state()
        big = self.write("long.csv", b"name,email\n" + b"A" * (10 << 20) + b",a@example.si\n")
        cases = [
            (self.write("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))), (), 1,
             "the file is binary (a zero byte at offset 8), not a CSV text file"),
            (self.write("empty.csv", b""), (), 1, "the file is empty"),
            (self.write("bom.csv", b"\xef\xbb\xbf\r\n  \r\n"), (), 1, "the file is empty"),
            (self.write("header.csv", b"name;email\r\n"), (), 1, "the file has a header but no client rows"),
            (big, (), 1, "line 2 is longer than 65536 bytes"),
            (self.salon_file(), ("--map", "Ime=name", "--map", "Ime=email"), 1, "--map names column 'Ime' twice"),
            (self.write("twice.csv", b"Name,E-mail,Email\nAna,a@example.si,b@example.si\n"), (), 1,
             "columns 2 ('E-mail') and 3 ('Email') both map to email"),
            (self.salon_file(), ("--map", "Ime=nickname"), 2, "FIELD is one of name, first_name"),
            (self.salon_file(), ("--map", "Vzdevek=name"), 1, "the file has no column 'Vzdevek'"),
            (self.write("noname.csv", b"Email,Phone\na@example.si,041123456\n"), (), 1, "no column holds the name"),
            (self.write("wide.csv", b"Name,Email\nAna,a@example.si,extra\n"), (), 1, "1 row(s) rejected"),
        ]
        for path, extra, rc, msg in cases:
            out = self.import_(path, *extra)
            self.assertEqual(out.returncode, rc, (path, extra, out.stderr.decode()))
            self.assertIn(msg, out.stderr.decode(), (path, extra))
            self.assertEqual(self.state(), before, (path, extra))
        self.assertIn("3 fields, but the header has 2 columns", self.import_(self.write(
            "wide2.csv", b"Name,Email\nAna,a@example.si,extra\n")).stdout.decode())
        for args, msg in ((("--country", "XX"), "--country wants a two-letter country code"),
                          (("--encoding", "latin9"), "--encoding is utf-8, windows-1250 or windows-1252"),
                          (("--frobnicate",), "unknown option --frobnicate")):
            out = self.import_(self.salon_file(), *args)
            self.assertEqual(out.returncode, 2, args)
            self.assertIn(msg, out.stderr.decode())
        out = self.import_(self.salon_file(), location="Lepota")
        self.assertEqual(out.returncode, 1)
        self.assertIn("--location 'Lepota': 2 locations have a name that starts so; give more of the name or "
                      "the id:\n  %s  " % A, out.stderr.decode())
        self.assertEqual(self.state(), before)
        self.assertEqual(self.server("import", "--help").returncode, 0)

    def test_export_imported_into_a_fresh_database_gives_the_same_clients(self):
        exp = self.server("export", "clients", "--db", "DB", "--format", "csv", "--location", B)
        self.assertEqual(exp.returncode, 0, exp.stderr.decode())
        self.assertIn("written to stdout (csv); recorded in the audit log", exp.stderr.decode())
        rows = list(csv.DictReader(io.StringIO(exp.stdout.decode(), newline="")))
        self.assertGreater(len(rows), 50)
        con = sqlite3.connect(self.db)
        self.assertEqual(len(rows), con.execute(
            "SELECT count(*) FROM client_location cl JOIN location l ON l.id = cl.location_id WHERE l.name = ?",
            (B,)).fetchone()[0])
        self.assertEqual(con.execute("SELECT count(*) FROM audit WHERE action = 'exported' AND entity = "
                                     "'organisation'").fetchone()[0], 1)
        con.close()
        # a fresh database: one business, one location, no clients
        fresh = os.path.join(self.tmp, "fresh.db")
        self.assertEqual(self.server("init", "--db", fresh).returncode, 0)
        con = sqlite3.connect(fresh)
        con.execute("INSERT INTO organisation(id, name, updated_at) VALUES "
                    "('01940000-0000-7000-8000-000000000001', 'Novi salon', 0)")
        con.execute("INSERT INTO location(id, org_id, name, time_zone, updated_at) VALUES "
                    "('01940000-0000-7000-8000-000000000002', '01940000-0000-7000-8000-000000000001', "
                    "'Novi salon Celje', 'Europe/Ljubljana', 0)")
        con.commit()
        con.close()
        path = self.write("export.csv", exp.stdout)
        out = self.import_(path, db=fresh, location="Novi")
        self.assertEqual(out.returncode, 0, out.stdout.decode() + out.stderr.decode())
        again = self.server("export", "clients", "--db", "DB", "--format", "csv", db=fresh)
        self.assertEqual(again.returncode, 0, again.stderr.decode())
        back = list(csv.DictReader(io.StringIO(again.stdout.decode(), newline="")))
        same = ("name", "email", "phone", "birthday", "address", "allergies", "conditions", "medications",
                "skin_hair_type", "patch_tests", "preferences", "notes", "consent:marketing_email",
                "consent:marketing_sms", "consent:birthday_greetings", "consent:review_requests")
        key = lambda r: (r["name"], r["email"])
        dup = int(out.stdout.decode().split("duplicates, skipped: ")[1].split("\n")[0])
        self.assertEqual(len(back), len(rows) - dup)
        kept = {key(r) for r in back}
        want = sorted(tuple(r[c].replace(" ", "") if c == "phone" else r[c] for c in same)
                      for r in rows if key(r) in kept)
        self.assertEqual(sorted(tuple(r[c] for c in same) for r in back), want)
        self.assertTrue(all(r["locations"] == "Novi salon Celje" for r in back))

    def test_appointments_export_local_times_with_zone(self):
        out = self.server("export", "appointments", "--db", "DB", "--format", "json", "--location", A)
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        doc = json.loads(out.stdout)
        appts = doc["appointments"]
        con = sqlite3.connect(self.db)
        starts = dict(con.execute("SELECT a.id, a.start_at FROM appointment a JOIN location l ON l.id = "
                                  "a.location_id WHERE l.name = ?", (A,)))
        con.close()
        self.assertEqual(len(appts), len(starts))
        summer = winter = 0
        for a in appts:
            local = datetime.fromtimestamp(starts[a["id"]] / 1000, timezone.utc).astimezone(ZoneInfo(a["zone"]))
            self.assertEqual(a["start"], local.strftime("%Y-%m-%d %H:%M"))
            self.assertEqual(a["location"], A)
            summer += local.utcoffset().total_seconds() == 7200
            winter += local.utcoffset().total_seconds() == 3600
        self.assertGreater(summer, 0)
        self.assertGreater(winter, 0)
        self.assertTrue(all(a["client"] for a in appts), "client names come decrypted")
        # specialist and services by the names the appointment was written with: a
        # specialist renamed since still reads as the client's phone shows it
        con = sqlite3.connect(self.db)
        kept = {i: (n, ", ".join(json.loads(sv))) for i, n, sv in con.execute(
            "SELECT id, specialist_name, service_names FROM appointment")}
        con.execute("UPDATE staff SET display_name = 'Renamed Since'")
        con.commit()
        con.close()
        again = json.loads(self.server("export", "appointments", "--db", "DB", "--format", "json", "--location",
                                       A).stdout)["appointments"]
        self.assertEqual({a["id"]: (a["specialist"], a["services"]) for a in again},
                         {a["id"]: kept[a["id"]] for a in appts})
        self.assertTrue(all(a["specialist"] and a["services"] for a in again))
        target = os.path.join(self.tmp, "appts.csv")
        out = self.server("export", "appointments", "--db", "DB", "--format", "csv", "--out", target)
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        self.assertEqual(os.stat(target).st_mode & 0o077, 0, "personal data: not readable by others")
        with open(target, newline="", encoding="utf-8") as f:
            self.assertEqual(next(csv.reader(f))[:6], ["id", "location", "start", "zone", "duration_min", "status"])
        out = self.server("export", "appointments", "--db", "DB", "--format", "csv", "--out", target)
        self.assertEqual(out.returncode, 1)
        self.assertIn("never overwrites", out.stderr.decode())
        self.assertEqual(self.server("export", "clients", "--db", "DB", "--format", "xml").returncode, 2)


if __name__ == "__main__":
    h.main()
