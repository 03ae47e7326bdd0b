"""Names and local times on the server's command line: what a receptionist
types (a name or the start of one, "2030-01-15 09:30" at that branch) is what
lands in the database, ambiguous or unknown names change nothing and say why,
and no command prints milliseconds since 1970.

Two branches in different zones: the demo's "Lepota Maribor" (Europe/Ljubljana)
and "Lepota New York" (America/New_York), added here as a row because creating
locations is another command's job; plus a location named just "Lepota", a
prefix of every other location's name, for the exact-name rule."""
import datetime
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
import unittest

import kt_harness as h
from ktcrypt import Keyring

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
EPOCH = re.compile(r"(?<![0-9])[0-9]{13}(?![0-9])")


class LocalTimeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kt-localtime-")
        cls.db, cls.accounts = h.demo_db(cls.tmp)
        cls.add_new_york(cls.db)
        con = sqlite3.connect(cls.db)
        cls.maribor, = con.execute("SELECT id FROM location WHERE name = 'Lepota Maribor'").fetchone()
        cls.spec, cls.spec_name = con.execute(
            "SELECT s.id, s.display_name FROM staff s JOIN staff_location sl ON sl.staff_id = s.id JOIN location l "
            "ON l.id = sl.location_id WHERE s.role = 'specialist' AND l.name = 'Lepota Maribor' "
            "ORDER BY s.display_name LIMIT 1").fetchone()
        con.close()
        cls.names = cls.client_names()
        # the specialist works in New York too (by name, as an operator types it)
        out = cls.admin("staff", "location", cls.spec_name, "add", "new york")
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "%s now works at Lepota New York" % cls.spec_name, out.stdout

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    ny = "01941f29-8414-7a37-b7f9-000000000001"

    @staticmethod
    def add_new_york(db):
        """A branch in America/New_York, and one named just "Lepota" (the
        rows a location command would write; the server is not running)."""
        con = sqlite3.connect(db)
        org, = con.execute("SELECT org_id FROM location WHERE name = 'Lepota Maribor'").fetchone()
        now = int(time.time() * 1000)
        con.execute("INSERT INTO location(id, org_id, name, address, phone, time_zone, updated_at) VALUES "
                    "(?, ?, 'Lepota New York', '5th Avenue 1', '+1 212 555 0100', 'America/New_York', ?)",
                    (LocalTimeTest.ny, org, now))
        con.execute("INSERT INTO location(id, org_id, name, address, phone, time_zone, updated_at) VALUES "
                    "('01941f29-8414-7a37-b7f9-000000000002', ?, 'Lepota', NULL, NULL, 'Europe/Ljubljana', ?)",
                    (org, now))
        con.commit()
        con.close()

    @classmethod
    def admin(cls, *args):
        return subprocess.run([h.SERVER, "admin", "--db", cls.db] + [str(a) for a in args], capture_output=True,
                              text=True, timeout=60)

    @classmethod
    def client_names(cls):
        """{client id: (name, email, phone)}, decrypted as the test's own check."""
        con = sqlite3.connect(cls.db)
        rows = Keyring(cls.db).rows(con, "SELECT * FROM client", (), "client")
        con.close()
        return {r["id"]: (r["name"], r["email"], r["phone"]) for r in rows}

    def sql(self, q, *args):
        con = sqlite3.connect(self.db)
        try:
            return con.execute(q, args).fetchall()
        finally:
            con.close()

    def unique_client(self):
        """A client whose full name no other client has, nor starts with."""
        names = sorted(n for n, _, _ in self.names.values())
        for cid, (n, _, _) in sorted(self.names.items()):
            if sum(1 for m in names if m.lower().startswith(n.lower())) == 1:
                return cid, n
        self.fail("no client with a unique name")

    def changes(self):
        return self.sql("SELECT count(*) FROM audit")[0][0], self.sql("SELECT count(*) FROM appointment")[0][0]

    # ---- local time in two zones ----

    def test_same_local_time_lands_on_different_instants_in_two_zones(self):
        cid, name = self.unique_client()
        when = "2030-01-15 09:30"
        got = {}
        for loc, label in (("Maribor", "CET"), ("New York", "EST")):
            out = self.admin("appointment", "create", "--location", loc, "--client", name, "--specialist",
                             self.spec_name, "--start", when, "--duration", 45)
            self.assertEqual(out.returncode, 0, out.stderr)
            m = re.fullmatch(r"booked (.+) with (.+) at (.+), (.+) \((\d+) min\): appointment (%s)\n" % UUID, out.stdout)
            self.assertIsNotNone(m, out.stdout)
            self.assertEqual(m.groups()[:5], (name, self.spec_name, "Lepota " + loc, "%s %s" % (when, label), "45"))
            got[loc] = self.sql("SELECT start_at, location_id FROM appointment WHERE id = ?", m.group(6))[0]
        # 09:30 CET is 08:30 UTC; 09:30 EST is 14:30 UTC
        self.assertEqual(got["Maribor"], (1894696200000, self.maribor))
        self.assertEqual(got["New York"], (1894717800000, self.ny))
        # and each is listed in its own zone, in order of the instant
        out = self.admin("list", "appointments", "--from", "2030-01-15", "--to", "2030-01-15")
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = out.stdout.strip().split("\n")
        self.assertEqual(lines[0], "id\tstart\tduration_min\tstatus\tlocation\tclient\tspecialist")
        rows = [l.split("\t") for l in lines[1:]]
        self.assertEqual([(r[1], r[4], r[5]) for r in rows if r[5] == name],
                         [("2030-01-15 09:30 CET", "Lepota Maribor", name),
                          ("2030-01-15 09:30 EST", "Lepota New York", name)])

    def test_explicit_offset_is_taken_as_given(self):
        cid, name = self.unique_client()
        out = self.admin("appointment", "create", "--location", self.ny, "--client", cid, "--specialist", self.spec,
                         "--start", "2030-02-01T15:00:00Z", "--duration", 30)
        self.assertEqual(out.returncode, 0, out.stderr)
        aid = h.created_id(out.stdout)
        self.assertEqual(self.sql("SELECT start_at FROM appointment WHERE id = ?", aid)[0][0], 1896188400000)
        self.assertIn("2030-02-01 10:00 EST (30 min)", out.stdout)
        # a move: the new time is local to where it moves to
        out = self.admin("appointment", "move", aid, "--location", "Maribor", "--start", "2030-02-01 18:00")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(self.sql("SELECT start_at, location_id FROM appointment WHERE id = ?", aid)[0],
                         (1896195600000, self.maribor))  # 17:00 UTC
        self.assertIn("at Lepota Maribor, 2030-02-01 18:00 CET (30 min)", out.stdout)
        out = self.admin("appointment", "move", aid, "--start", "2030-02-01 18:00-05:00")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(self.sql("SELECT start_at FROM appointment WHERE id = ?", aid)[0][0], 1896217200000)
        self.assertIn("2030-02-02 00:00 CET", out.stdout)
        out = self.admin("appointment", "cancel", aid)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(out.stdout.startswith("cancelled %s with %s at Lepota Maribor, 2030-02-02 00:00 CET"
                                              % (name, self.spec_name)), out.stdout)

    def test_the_hour_daylight_saving_time_skips_is_refused(self):
        cid, name = self.unique_client()
        before = self.changes()
        for loc, when, zone in (("Maribor", "2030-03-31 02:30", "Europe/Ljubljana"),
                                ("New York", "2030-03-10 02:15", "America/New_York")):
            out = self.admin("appointment", "create", "--location", loc, "--client", cid, "--specialist", self.spec,
                             "--start", when, "--duration", 30)
            self.assertEqual(out.returncode, 2, out.stdout)
            self.assertIn("--start '%s': %s does not exist in %s (the clocks skip it)" % (when, when, zone),
                          out.stderr)
        out = self.admin("appointment", "create", "--location", "Maribor", "--client", cid, "--specialist",
                         self.spec, "--start", "2030-02-30 10:00")
        self.assertEqual(out.returncode, 2)
        self.assertIn("--start '2030-02-30 10:00'", out.stderr)
        self.assertEqual(self.changes(), before, "a refused time changed something")
        # the hour after the gap exists, and is summer time
        out = self.admin("appointment", "create", "--location", "Maribor", "--client", cid, "--specialist",
                         self.spec, "--start", "2030-03-31 03:00", "--duration", 30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("2030-03-31 03:00 CEST", out.stdout)
        self.assertEqual(self.sql("SELECT start_at FROM appointment WHERE id = ?", h.created_id(out.stdout))[0][0],
                         1901149200000)  # 01:00 UTC

    # ---- names ----

    def test_an_exact_id_a_name_or_a_unique_start_of_one(self):
        cid, name = self.unique_client()
        for typed in (cid, name, name.upper(), name.split()[0] + " " + name.split()[1][:2]):
            out = self.admin("consent", "show", typed)
            self.assertEqual(out.returncode, 0, "%r: %s" % (typed, out.stderr))
        # an exact name wins over names that start with it: "Lepota" is a
        # location of its own, although every other name starts with it
        out = self.admin("list", "staff", "--location", "lepota")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual([l.split("\t")[1] for l in out.stdout.strip().split("\n")[1:]], ["owner"])
        # the start of a word in the name: "Maribor" is "Lepota Maribor"
        out = self.admin("list", "locations", "--location", "MARIBOR")
        self.assertEqual([l.split("\t")[0] for l in out.stdout.strip().split("\n")[1:]], [self.maribor])
        # services by name at the location
        out = self.admin("appointment", "create", "--location", "Maribor", "--client", name, "--specialist",
                         self.spec_name, "--start", "2030-04-02 11:00", "--services", "blow-dry")
        self.assertEqual(out.returncode, 0, out.stderr)
        aid = h.created_id(out.stdout)
        blow, dur = self.sql("SELECT id, duration_min FROM service WHERE name = 'Blow-dry'")[0]
        self.assertEqual(self.sql("SELECT services, duration_min FROM appointment WHERE id = ?", aid)[0],
                         (blow, dur))

    def test_accents_count_and_case_does_not(self):
        names = [n for n, _, _ in self.names.values()]
        plain_of = lambda n: n.translate(str.maketrans("čšžČŠŽ", "cszCSZ"))
        # an accented name that, typed without its accents, is nobody's
        accented = [n for n in sorted(names) if plain_of(n) != n and
                    not any(m.lower().startswith(plain_of(n).lower()) for m in names)]
        self.assertTrue(accented, "the demo has no accented name to try")
        out = self.admin("consent", "show", accented[0].upper())
        self.assertEqual(out.returncode, 0, out.stderr)
        out = self.admin("consent", "show", plain_of(accented[0]))
        self.assertEqual(out.returncode, 2)
        self.assertIn("'%s': no client has this name" % plain_of(accented[0]), out.stderr)

    def test_an_ambiguous_name_lists_the_candidates_and_changes_nothing(self):
        first = {}
        for n, e, p in self.names.values():
            first.setdefault(n.split()[0], []).append((n, e, p))
        given, cands = max(first.items(), key=lambda kv: len(kv[1]))
        self.assertGreater(len(cands), 1)
        before = self.changes()
        out = self.admin("appointment", "create", "--location", "Maribor", "--client", given, "--specialist",
                         self.spec_name, "--start", "2030-05-05 10:00", "--duration", 30)
        self.assertEqual(out.returncode, 2, out.stdout)
        self.assertEqual(out.stdout, "")
        self.assertIn("--client '%s': %d clients have a name that starts so" % (given, len(cands)), out.stderr)
        listed = [l for l in out.stderr.split("\n") if l.startswith("  ") and not l.startswith("  ...")]
        self.assertEqual(len(listed), min(10, len(cands)))
        for l in listed:
            n, cid = re.match(r"  (.+?)  (%s)  " % UUID, l).groups()
            self.assertEqual(self.names[cid][0], n)
            e, p = self.names[cid][1], self.names[cid][2]
            # enough to tell people apart, not their contact data
            if e:
                self.assertNotIn(e, l)
                self.assertIn(e[e.index("@"):], l)
            if p:
                self.assertNotIn(p, l)
                self.assertIn(p[-3:], l)
        self.assertEqual(self.changes(), before)
        # the same for a write that names the client positionally
        out = self.admin("client", "set", given, "preferences", "tea")
        self.assertEqual(out.returncode, 2)
        self.assertIn("give more of the name or the id", out.stderr)
        self.assertEqual(self.changes(), before)

    def test_an_unknown_name_says_so(self):
        before = self.changes()
        for args, needle in (
                (("appointment", "create", "--location", "Atlantis", "--client", "x", "--specialist", "y", "--start",
                  "2030-01-01 10:00"), "--location 'Atlantis': no location has this name"),
                (("appointment", "create", "--location", "Maribor", "--client", "Nobody Atall", "--specialist", "y",
                  "--start", "2030-01-01 10:00"), "--client 'Nobody Atall': no client has this name"),
                (("staff", "role", "Nobody", "reception"), "staff 'Nobody': no staff member has this name"),
                (("list", "appointments", "--location", "00000000-0000-7000-8000-000000000000"),
                 "no location has this id")):
            out = self.admin(*args)
            self.assertEqual(out.returncode, 2, args)
            self.assertIn(needle, out.stderr)
        self.assertEqual(self.changes(), before)


    # ---- one resolver in every command ----

    def server(self, *args):
        return subprocess.run([h.SERVER] + [str(a) for a in args], capture_output=True, text=True, timeout=60)

    def test_a_word_of_the_name_works_in_every_command(self):
        """What only the appointment and list commands took before (the start
        of a word in the name) works in the schedule, location, import and
        export commands too. A branch of its own, so no other test's
        bookings meet its hours."""
        out = self.admin("location", "create", "--name", "Lepota Ptuj", "--time-zone", "Europe/Ljubljana")
        self.assertEqual(out.returncode, 0, out.stderr)
        ptuj = out.stdout.split()[-1]
        out = self.admin("hours", "set", "ptuj", "sat", "09:00-13:00")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("Lepota Ptuj (Europe/Ljubljana), Saturdays: 09:00-13:00", out.stdout)
        out = self.admin("hours", "show", "PTUJ")
        self.assertEqual(out.stdout.splitlines()[0], "Lepota Ptuj (Europe/Ljubljana)")
        out = self.admin("closed", "add", "Ptuj", "2030-12-24", "--reason", "Christmas Eve")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("Lepota Ptuj (Europe/Ljubljana) is closed on 2030-12-24 (Christmas Eve)", out.stdout)
        out = self.admin("location", "edit", "Ptuj", "--phone", "+386 2 748 00 00")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("changed location Lepota Ptuj: phone +386 2 748 00 00", out.stdout)
        self.assertEqual(self.sql("SELECT phone FROM location WHERE id = ?", ptuj), [("+386 2 748 00 00",)])
        out = self.admin("service", "create", "--name", "Ptuj facial", "--duration", 45, "--price", "40",
                         "--locations", "ptuj", "--specialists", self.spec_name)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(self.sql("SELECT location_id FROM service WHERE id = ?", out.stdout.split()[-1]), [(ptuj,)])
        csv_path = os.path.join(self.tmp, "ptuj.csv")
        with open(csv_path, "w") as f:
            f.write("Name;Email\nMaja Ptujska;maja.ptuj@example.si\n")
        out = self.server("import", "clients", "--db", self.db, "--location", "Ptuj", csv_path, "--dry-run")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("location Lepota Ptuj (Europe/Ljubljana)", out.stdout)
        out = self.server("export", "appointments", "--db", self.db, "--format", "csv", "--location", "ptuj")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(" at Lepota Ptuj written to stdout", out.stderr)

    def test_an_ambiguous_name_is_refused_alike_everywhere(self):
        """"Lepota " starts four branches' names: every command lists them the
        same way and changes nothing."""
        before = self.changes()
        for args in (("hours", "set", "Lepota ", "sat", "closed"), ("location", "edit", "Lepota ", "--phone", "1"),
                     ("closed", "add", "Lepota ", "2030-12-25"),
                     ("appointment", "create", "--location", "Lepota ", "--client", "x", "--specialist", "y",
                      "--start", "2030-01-01 10:00")):
            out = self.admin(*args)
            self.assertEqual(out.returncode, 2, args)
            self.assertIn("'Lepota ': ", out.stderr)
            self.assertIn("locations have a name that starts so; give more of the name or the id:", out.stderr)
            self.assertRegex(out.stderr, r"\n  Lepota Maribor  %s  Europe/Ljubljana" % self.maribor)
        csv_path = os.path.join(self.tmp, "ambiguous.csv")
        with open(csv_path, "w") as f:
            f.write("Name\nNobody Imported\n")
        out = self.server("import", "clients", "--db", self.db, "--location", "Lepota ", csv_path)
        self.assertEqual(out.returncode, 1)
        self.assertIn("\n  Lepota Maribor  %s  Europe/Ljubljana" % self.maribor, out.stderr)
        self.assertEqual(self.changes(), before)

    def test_a_start_of_the_id_or_a_staff_members_email(self):
        cid, name = self.unique_client()
        out = self.admin("consent", "show", cid[:28])
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(name, out.stdout)
        # the time part of ids is shared by rows made together: too short a start is ambiguous
        out = self.admin("hours", "show", self.maribor[:8])
        self.assertEqual(out.returncode, 2)
        self.assertIn("give more of the name or the id", out.stderr)
        email, = self.sql("SELECT email FROM staff WHERE id = ?", self.spec)[0]
        out = self.admin("staff", "time-off", "add", email.upper(), "--from", "2031-06-02 00:00", "--to",
                         "2031-06-03 00:00")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(out.stdout.startswith("%s is off from 2031-06-02 00:00 CEST" % self.spec_name), out.stdout)


class TwoOrganisationsTest(unittest.TestCase):
    """The location, staff and client commands on a database of two salon
    businesses (init --demo --organisations 2): names are looked up across
    the database, candidates name their organisation, and what is created
    goes to --org's organisation or the one its location belongs to."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kt-twoorg-")
        cls.db, _ = h.demo_db(cls.tmp, organisations=2)
        # invites only queue their mail here: no server sends it
        cls.conf = os.path.join(cls.tmp, "mail.conf")
        with open(cls.conf, "w") as f:
            f.write("portal_url = https://salon.example/setup\nsmtp_url = smtp://127.0.0.1:9\n"
                    "smtp_from = Salon <salon@example.si>\n")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def admin(self, *args):
        return subprocess.run([h.SERVER, "admin", "--db", self.db, "--config", self.conf] + [str(a) for a in args],
                              capture_output=True, text=True, timeout=60)

    def sql(self, q, *args):
        con = sqlite3.connect(self.db)
        try:
            return con.execute(q, args).fetchall()
        finally:
            con.close()

    def org_of(self, table, id_):
        return self.sql("SELECT o.name FROM %s t JOIN organisation o ON o.id = t.org_id WHERE t.id = ?" % table,
                        id_)[0][0]

    def test_locations_listed_edited_and_created_in_either_business(self):
        out = self.admin("location", "list")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.split("\n")[0], "name\ttime_zone\taddress\tphone\tstate\torganisation\tid")
        self.assertRegex(out.stdout, r"\nSvila Koper\t.*\tSalon Svila d\.o\.o\.\t")
        self.assertRegex(out.stdout, r"\nLepota Maribor\t.*\tStudio Lepota d\.o\.o\.\t")
        out = self.admin("location", "list", "--org", "svila")
        self.assertNotIn("Lepota", out.stdout)
        out = self.admin("location", "edit", "Koper", "--phone", "+386 5 630 22 11")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("changed location Svila Koper: phone", out.stdout)
        # which business a new branch belongs to cannot be guessed: it is asked
        n = self.sql("SELECT count(*) FROM location")[0][0]
        out = self.admin("location", "create", "--name", "Svila Piran", "--time-zone", "Europe/Ljubljana")
        self.assertEqual(out.returncode, 2)
        self.assertIn("this database holds 2 organisations; say which with --org NAME:", out.stderr)
        self.assertIn("\n  Salon Svila d.o.o.  ", out.stderr)
        self.assertEqual(self.sql("SELECT count(*) FROM location")[0][0], n)
        out = self.admin("location", "create", "--name", "Svila Piran", "--time-zone", "Europe/Ljubljana", "--org",
                         "Salon Svila")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(self.org_of("location", out.stdout.split()[-1]), "Salon Svila d.o.o.")

    def test_a_client_card_goes_to_its_locations_business(self):
        out = self.admin("client", "create", "--name", "Irena Dvojna", "--location", "Koper")
        self.assertEqual(out.returncode, 0, out.stderr)
        svila = out.stdout.split()[-1]
        self.assertEqual(self.org_of("client", svila), "Salon Svila d.o.o.")
        out = self.admin("client", "create", "--name", "Irena Dvojna")
        self.assertEqual(out.returncode, 2)
        self.assertIn("say which with --org NAME", out.stderr)
        out = self.admin("client", "create", "--name", "Irena Dvojna", "--org", "Studio Lepota d.o.o.")
        self.assertEqual(out.returncode, 0, out.stderr)
        lepota = out.stdout.split()[-1]
        self.assertEqual(self.org_of("client", lepota), "Studio Lepota d.o.o.")
        # one name in both businesses: the candidates say whose they are
        n_audit = self.sql("SELECT count(*) FROM audit")[0][0]
        out = self.admin("client", "edit", "Irena Dvojna", "--phone", "041 222 333")
        self.assertEqual(out.returncode, 2)
        self.assertIn("client 'Irena Dvojna': 2 clients have this name", out.stderr)
        self.assertIn("  Irena Dvojna  %s  Svila Koper; organisation Salon Svila d.o.o." % svila, out.stderr)
        self.assertIn("  Irena Dvojna  %s  organisation Studio Lepota d.o.o." % lepota, out.stderr)
        self.assertEqual(self.sql("SELECT count(*) FROM audit")[0][0], n_audit)
        out = self.admin("client", "edit", svila, "--phone", "041 222 333")
        self.assertEqual(out.returncode, 0, out.stderr)
        out = self.admin("client", "find", "Irena Dvojna")
        self.assertEqual(sorted(out.stdout.splitlines()[1:]),
                         sorted(["Irena Dvojna\t" + svila, "Irena Dvojna\t" + lepota]))
        out = self.admin("client", "find", "Irena Dvojna", "--org", "Svila")
        self.assertEqual(out.stdout.splitlines()[1:], ["Irena Dvojna\t" + svila])

    def test_staff_invited_where_they_work(self):
        out = self.admin("staff", "invite", "--name", "Tea Dvojna", "--email", "tea.dvojna@svila.example", "--role",
                         "reception", "--location", "Celje")
        self.assertEqual(out.returncode, 0, out.stderr)
        tea = out.stdout.split()[-1]
        self.assertEqual(self.org_of("staff", tea), "Salon Svila d.o.o.")
        # a branch of the other business is not one of --org's
        out = self.admin("staff", "invite", "--name", "Tea Dvojna", "--email", "tea2@svila.example", "--role",
                         "reception", "--location", "Maribor", "--org", "Svila")
        self.assertEqual(out.returncode, 2)
        self.assertIn("--location 'Maribor': no location has this name or a name that starts so in this "
                      "organisation", out.stderr)
        out = self.admin("staff", "reset-password", "TEA.DVOJNA@svila.example")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("password link queued for Tea Dvojna", out.stdout)
        spec, = self.sql("SELECT s.display_name FROM staff s JOIN organisation o ON o.id = s.org_id WHERE "
                         "o.name = 'Salon Svila d.o.o.' AND s.role = 'specialist' ORDER BY s.id LIMIT 1")[0]
        out = self.admin("service", "create", "--name", "Svila manicure", "--duration", 30, "--price", "20",
                         "--specialists", spec)
        self.assertEqual(out.returncode, 2)
        self.assertIn("say which with --org NAME", out.stderr)
        out = self.admin("service", "create", "--name", "Svila manicure", "--duration", 30, "--price", "20",
                         "--specialists", spec, "--org", "Svila")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(self.org_of("service", out.stdout.split()[-1]), "Salon Svila d.o.o.")


class NoEpochInOutputTest(unittest.TestCase):
    """Every listing and showing command, on a demo with a signed-in device,
    a consent, a portal mail and an erasure: dates and local times only."""

    def test_no_command_prints_milliseconds_since_1970(self):
        tmp = tempfile.mkdtemp(prefix="kt-noepoch-")
        server = None
        try:
            db, accounts = h.demo_db(tmp)
            server = h.Server(db)
            h.login(os.path.join(tmp, "tablet"), server, h.account(accounts, "reception"))
            con = sqlite3.connect(db)
            ids = [r[0] for r in con.execute("SELECT id FROM client ORDER BY id LIMIT 3")]
            con.close()

            def run(*args, ok=True):
                out = subprocess.run([h.SERVER] + [str(a) for a in args], capture_output=True, text=True, timeout=60)
                if ok:
                    self.assertEqual(out.returncode, 0, "%s: %s" % (args, out.stderr))
                return out
            a = ["admin", "--db", db]
            run(*a, "consent", ids[0], "marketing_email", "grant", "--text-version", "v1", "--at", "2026-06-01 10:00")
            run(*a, "portal", "invite", ids[1], ok=False)  # no e-mail is an answer too
            run(*a, "appointment", "create", "--location", "Maribor", "--client", ids[0], "--specialist",
                h.account(accounts, "specialist", "Lepota Maribor")["name"], "--start", "2030-06-03 10:00", "--duration", 30)
            run("privacy", "erase", "--db", db, "--client", ids[2], "--confirm")
            commands = [a + ["list", w] for w in ("locations", "staff", "clients", "services", "appointments")]
            commands += [a + ["device", "list"], a + ["consent", "show", ids[0]], a + ["portal", "outbox"]]
            commands += [c + ["--json"] for c in commands]
            commands += [["audit", "show", "--db", db, "--client", ids[0]],
                         ["audit", "show", "--db", db, "--client", ids[2]],
                         ["privacy", "pending", "--db", db], ["privacy", "erasure-status", "--db", db, "--client", ids[2]],
                         ["privacy", "retention", "--db", db, "--months", "1"]]
            seen = 0
            for c in commands:
                out = run(*c)
                self.assertIsNone(EPOCH.search(out.stdout), "%s prints an epoch number: %s" % (
                    c, EPOCH.search(out.stdout) and out.stdout[max(0, EPOCH.search(out.stdout).start() - 80):][:200]))
                seen += bool(out.stdout.strip())
            self.assertEqual(seen, len(commands), "a command printed nothing: the check would prove nothing")
            # the times are there, with their zone
            out = run(*a, "device", "list").stdout
            self.assertRegex(out, r"\t20\d\d-\d\d-\d\d \d\d:\d\d CES?T\t")
            out = run(*a, "consent", "show", ids[0]).stdout
            self.assertIn("\t2026-06-01 10:00 CEST\t", out)
            doc = json.loads(run(*a, "consent", "show", ids[0], "--json").stdout)
            self.assertIn({"purpose": "marketing_email", "granted": "granted", "at": "2026-06-01T08:00:00Z"},
                          [{k: e[k] for k in ("purpose", "granted", "at")} for e in doc["history"]])
            self.assertEqual(doc["state"]["marketing_email"], "granted")
            devices = json.loads(run(*a, "device", "list", "--json").stdout)
            self.assertTrue(devices and all(re.fullmatch(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z",
                                                         d["last_seen"]) for d in devices), devices)
        finally:
            if server:
                server.stop()
            shutil.rmtree(tmp, ignore_errors=True)


class ClientLsTest(unittest.TestCase):
    """kartoteka-client ls appointments on an owner's tablet: a header, sorted
    by start, local times of each branch, filters by local date, name and
    status, and --json for scripts."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kt-ls-")
        cls.db, cls.accounts = h.demo_db(cls.tmp)
        LocalTimeTest.add_new_york(cls.db)
        spec = h.account(cls.accounts, "specialist", "Lepota Maribor")["name"]
        cls.spec = spec

        def admin(*args):
            out = subprocess.run([h.SERVER, "admin", "--db", cls.db] + [str(a) for a in args], capture_output=True,
                                 text=True, timeout=60)
            assert out.returncode == 0, out.stderr
            return out.stdout
        admin("staff", "location", spec, "add", "New York")
        con = sqlite3.connect(cls.db)
        rows = Keyring(cls.db).rows(con, "SELECT * FROM client ORDER BY id", (), "client")
        con.close()
        names = [r["name"] for r in rows]
        cls.client = next(n for n in names if sum(1 for m in names if m.lower().startswith(n.lower())) == 1)
        cls.booked = {}
        # the same local morning in both branches, and a late evening in New York that is the
        # next day in UTC: a date filter is local to each appointment's branch
        for key, loc, when in (("mb", "Maribor", "2030-01-15 09:30"), ("ny", "New York", "2030-01-15 09:30"),
                               ("late", "New York", "2030-01-15 23:30"), ("next", "Maribor", "2030-01-16 09:30")):
            cls.booked[key] = h.created_id(admin("appointment", "create", "--location", loc, "--client", cls.client,
                                                 "--specialist", spec, "--start", when, "--duration", 30))
        admin("appointment", "cancel", cls.booked["next"])
        cls.server = h.Server(cls.db)
        cls.dir = os.path.join(cls.tmp, "owner")
        h.login(cls.dir, cls.server, h.account(cls.accounts, "owner"))
        h.client(cls.dir, "sync")

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def ls(self, *args, check=True):
        return h.client(self.dir, "ls", "appointments", *args, check=check)

    def sql1(self, q, *args):
        con = sqlite3.connect(self.db)
        try:
            return con.execute(q, args).fetchone()[0]
        finally:
            con.close()

    def ids(self, out):
        return [l.split("\t")[0] for l in out.stdout.strip().split("\n")[1:]]

    def test_a_header_then_every_appointment_sorted_by_start(self):
        out = self.ls()
        lines = out.stdout.rstrip("\n").split("\n")
        self.assertEqual(lines[0], "id\tstart\tstatus\tduration\tlocation\tclient\tspecialist\tservices\tnote")
        got = json.loads(self.ls("--json").stdout)
        self.assertEqual(len(got), len(lines) - 1)
        starts = dict(sqlite3.connect(self.db).execute("SELECT id, start_at FROM appointment").fetchall())
        self.assertEqual(len(got), len(starts))
        order = [starts[a["id"]] for a in got]
        self.assertEqual(order, sorted(order), "not sorted by start")
        self.assertEqual([a["id"] for a in got], self.ids(out))
        for a in got:  # ISO 8601 instants, the stored ones
            t = datetime.datetime.strptime(a["start"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
            self.assertEqual(int(t.timestamp() * 1000), starts[a["id"]])
        self.assertIsNone(EPOCH.search(out.stdout))

    def test_local_times_and_a_local_date(self):
        out = self.ls("--from", "2030-01-15", "--to", "2030-01-15")
        rows = {l.split("\t")[0]: l.split("\t") for l in out.stdout.strip().split("\n")[1:]}
        self.assertEqual(set(rows), {self.booked["mb"], self.booked["ny"], self.booked["late"]})
        self.assertEqual(rows[self.booked["mb"]][1:5], ["2030-01-15 09:30 CET", "booked", "30 min", "Lepota Maribor"])
        self.assertEqual(rows[self.booked["ny"]][1], "2030-01-15 09:30 EST")
        self.assertEqual(rows[self.booked["late"]][1], "2030-01-15 23:30 EST")  # 04:30 UTC on the 16th
        self.assertEqual(self.ids(out), [self.booked[k] for k in ("mb", "ny", "late")])
        shown = h.client(self.dir, "show", "appointment", self.booked["ny"]).stdout
        self.assertIn("\nstart_at: 2030-01-15 09:30 EST\n", shown)
        self.assertIsNone(EPOCH.search(shown), shown)
        # a time instead of a date: an instant, read in the --location's zone
        out = self.ls("--location", "new york", "--from", "2030-01-15 12:00")
        self.assertEqual(self.ids(out), [self.booked["late"]])

    def test_a_tablet_books_by_name_and_local_time(self):
        before = self.sql1("SELECT count(*) FROM appointment")
        out = h.client(self.dir, "appointment", "create", "--location", "new york", "--client", self.client,
                       "--specialist", self.spec, "--start", "2029-12-03 10:00", "--duration", "30")
        aid = out.stdout.strip()
        bad = h.client(self.dir, "appointment", "create", "--location", "Maribor", "--client", self.client,
                       "--specialist", self.spec, "--start", "2030-03-31 02:30", "--duration", "30", check=False)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("2030-03-31 02:30 does not exist in Europe/Ljubljana (the clocks skip it)", bad.stderr)
        h.client(self.dir, "appointment", "move", aid, "--start", "2029-12-03 11:00")  # still New York time
        h.client(self.dir, "sync")
        self.assertEqual(h.client(self.dir, "rejections").stdout.strip(), "")
        self.assertEqual(self.sql1("SELECT count(*) FROM appointment"), before + 1)
        self.assertEqual(self.sql1("SELECT start_at FROM appointment WHERE id = ?", aid),
                         1891008000000)  # 2029-12-03 16:00 UTC
        self.assertEqual(self.sql1("SELECT location_id FROM appointment WHERE id = ?", aid), LocalTimeTest.ny)

    def test_filters_by_name_and_status(self):
        out = self.ls("--location", "Maribor", "--client", self.client, "--from", "2030-01-01")
        self.assertEqual(self.ids(out), [self.booked["mb"], self.booked["next"]])
        out = self.ls("--specialist", self.spec.lower(), "--client", self.client.upper(), "--status", "cancelled")
        self.assertEqual(self.ids(out), [self.booked["next"]])
        self.assertEqual(out.stdout.strip().split("\n")[1].split("\t")[2], "cancelled")
        # the device resolves by the server's rule: a specialist's e-mail, the start of a location's id
        email = h.account(self.accounts, "specialist", "Lepota Maribor")["email"]
        con = sqlite3.connect(self.db)
        mb, = con.execute("SELECT id FROM location WHERE name = 'Lepota Maribor'").fetchone()
        con.close()
        out = self.ls("--specialist", email.upper(), "--location", mb[:28], "--client", self.client, "--from",
                      "2030-01-01")
        self.assertEqual(self.ids(out), [self.booked["mb"], self.booked["next"]])

    def test_an_ambiguous_or_unknown_name_or_a_bad_date_is_refused(self):
        out = self.ls("--location", "Lep", check=False)
        self.assertEqual(out.returncode, 2)
        self.assertIn("--location 'Lep': 4 locations have a name that starts so", out.stderr)
        self.assertEqual(len([l for l in out.stderr.split("\n") if l.startswith("  Lepota")]), 4)
        self.assertEqual(out.stdout, "")
        # an exact name wins over names that start with it
        self.assertEqual(self.ls("--location", "lepota").returncode, 0)
        out = self.ls("--specialist", "Nobody", check=False)
        self.assertEqual(out.returncode, 2)
        self.assertIn("nothing in this device's cache has this name", out.stderr)
        out = self.ls("--from", "2030-02-30", check=False)
        self.assertEqual(out.returncode, 2)
        self.assertIn("--from '2030-02-30'", out.stderr)
        out = self.ls("--status", "maybe", check=False)
        self.assertEqual(out.returncode, 2)


if __name__ == "__main__":
    h.main()
