"""A salon with no demo at all, built the way a new owner does it, end to end:
init, setup by flags (Ljubljana), a second location in New York, opening and
working hours for both, a service with its specialist, a receptionist and a
specialist invited and signed in through the links mailed to a real SMTP
server, the client list imported from a Windows-1250 CSV with `;`, Slovenian
headers and two duplicates (one in the file, one already in the database);
then the receptionist's tablet (the reference client) books by names and
local times in both locations, syncs, and the bookings land at the UTC
instants computed here independently with zoneinfo. A booking outside the
opening hours is refused with its reason in local time; the admin listing
shows local times with the zone; a booking on the day New York's clocks go
forward lands at the right instant."""
import datetime
import os
import shutil
import sqlite3
import subprocess
import tempfile
import unittest
import zoneinfo

import kt_harness as h
from ktcrypt import Keyring
from test_portal import ConfServer, Inbox, free_port, smtp_start, token_of, write_conf

OWNER = "ana@lepota.example"
GOOD = "Zimska-Roza-42"
NY = "New York"

# The file another salon program exported: Slovenian headers, `;`, CRLF,
# Windows-1250. Line 4 repeats line 2's e-mail; line 5 is Eva Horvat, whose
# card (same phone) the salon created before the import.
CSV_LINES = ["Ime;Priimek;E-pošta;Telefon;Rojstni dan",
             "Špela;Žnidaršič;spela@mail.example;041 111 222;3.4.1985",
             "Čedomir;Kovačič;cedo@mail.example;041 333 444;15. 6. 1979",
             "Špela;Žnidaršič;spela@mail.example;031 999 000;",
             "Eva;Horvat;;+386 41 555 123;",
             "Urška;Šušteršič;urska@mail.example;031 777 888;"]


def server_cmd(*args, stdin=None):
    return subprocess.run([h.SERVER] + list(args), capture_output=True, text=True, input=stdin, timeout=60)


def utc_ms(local, zone):
    """The instant of a wall-clock time at a zone, in ms since 1970: the
    expectation, computed without the server's code."""
    t = datetime.datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=zoneinfo.ZoneInfo(zone))
    return int(t.timestamp() * 1000)


class SalonFromZeroTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kt-zero-")
        cls.db = os.path.join(cls.tmp, "salon.db")
        cls.inbox = Inbox()
        cls.smtp = smtp_start(cls.inbox, free_port())
        cls.server = None
        try:
            cls.build()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.server:
                cls.server.stop()
        finally:
            cls.smtp.stop()
            shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def must(cls, out):
        assert out.returncode == 0, "%s\n%s" % (out.stdout, out.stderr)
        return out.stdout

    @classmethod
    def admin(cls, *args):
        return server_cmd("admin", "--db", cls.db, "--config", cls.conf, *args)

    @classmethod
    def rpc(cls, msg):
        async def go():
            p = await h.Peer(cls.server).connect()
            await p.hello()
            await p.send(msg)
            m = await p.recv()
            await p.close()
            return m
        return h.run(go())

    @classmethod
    def password_from_mail(cls, email):
        mail = cls.inbox.wait(lambda m: email in m[1], 15)
        assert mail, "no mail to %s" % email
        r = cls.rpc({"t": "portal_set_password", "token": token_of(mail[2]), "password": GOOD})
        assert r.get("op") == "set_password", r
        return {"email": email, "password": GOOD}

    @classmethod
    def build(cls):
        cls.conf = write_conf(os.path.join(cls.tmp, "serve.conf"), portal_url="https://salon.lepota.example/setup",
                              smtp_url="smtp://127.0.0.1:%d" % cls.smtp.port,
                              smtp_from="Studio Lepota <salon@lepota.example>", mail_retry_seconds="0.2")
        cls.must(server_cmd("init", "--db", cls.db))
        cls.setup_out = cls.must(server_cmd(
            "setup", "--db", cls.db, "--config", cls.conf, "--business", "Studio Lepota", "--country", "SI",
            "--currency", "EUR", "--language", "sl", "--location", "Ljubljana", "--address",
            "Slovenska cesta 1, 1000 Ljubljana", "--time-zone", "Europe/Ljubljana", "--owner-name", "Ana Novak",
            "--owner-email", OWNER, stdin=""))
        cls.out = {}
        cls.out["location"] = cls.must(cls.admin("location", "create", "--name", NY, "--time-zone",
                                                 "America/New_York", "--address", "5th Avenue 1, New York"))
        # opening hours with a lunch break at home; New York also opens on Sundays
        cls.out["hours"] = cls.must(cls.admin("hours", "set", "Ljubljana", "mon-fri", "09:00-12:00,13:00-17:00"))
        cls.must(cls.admin("hours", "set", "New", "mon-sun", "09:00-17:00"))
        cls.out["invite"] = cls.must(cls.admin("staff", "invite", "--name", "Maja Kos", "--email",
                                               "maja@lepota.example", "--role", "reception", "--location",
                                               "Ljubljana,New York"))
        cls.must(cls.admin("staff", "invite", "--name", "Nina Zupan", "--email", "nina@lepota.example", "--role",
                           "specialist", "--location", "Ljubljana,New York"))
        cls.must(cls.admin("staff", "hours", "set", "Nina", "Ljubljana", "mon-fri", "09:00-17:00"))
        cls.must(cls.admin("staff", "hours", "set", "Nina Zupan", NY, "mon-sun", "09:00-17:00"))
        cls.out["service"] = cls.must(cls.admin("service", "create", "--name", "Haircut", "--duration", "45",
                                                "--price", "30.00", "--locations", "Ljubljana,New York",
                                                "--specialists", "Nina"))
        # a card the salon made by hand before it brought its list
        cls.out["client"] = cls.must(cls.admin("client", "create", "--name", "Eva Horvat", "--phone", "041 555 123",
                                               "--location", "Ljubljana"))
        cls.csv = os.path.join(cls.tmp, "stranke.csv")
        with open(cls.csv, "wb") as f:
            f.write(("\r\n".join(CSV_LINES) + "\r\n").encode("cp1250"))
        cls.dry = cls.must(server_cmd("import", "clients", "--db", cls.db, "--location", "Ljubljana", cls.csv,
                                      "--dry-run"))
        cls.imported = cls.must(server_cmd("import", "clients", "--db", cls.db, "--location", "Ljubljana", cls.csv))

        cls.server = ConfServer(cls.db, cls.conf)
        cls.owner = cls.password_from_mail(OWNER)
        cls.maja = cls.password_from_mail("maja@lepota.example")
        cls.nina = cls.password_from_mail("nina@lepota.example")

        # the reception tablet books by names and local times
        cls.tablet = os.path.join(cls.tmp, "reception")
        cls.signed_in = h.login(cls.tablet, cls.server, cls.maja).stdout
        h.client(cls.tablet, "sync")
        cls.bookings = {}
        for key, loc, client, spec, start, extra in (
                ("lj", "Ljubljana", "Špela Žnidaršič", "Nina", "2031-03-04 10:00", ["--duration", "45", "--services",
                                                                                  "Haircut"]),
                ("ny", NY, "Čedomir", "Nina Zupan", "2031-03-04 10:00", ["--duration", "45"]),
                # New York has moved its clocks, Ljubljana not yet: 5 hours apart, not 6;
                # no --duration: the service's 45 minutes
                ("ny_after", NY, "Urška Šušteršič", "Nina", "2031-03-10 10:00", ["--services", "hair"]),
                # the day New York's clocks go forward (02:00 -> 03:00)
                ("ny_dst", NY, "Eva Horvat", "Nina", "2031-03-09 10:00", ["--duration", "45"]),
                # after closing time at home: refused by the server
                ("late", "Ljubljana", "Eva", "Nina", "2031-03-04 16:30", ["--duration", "45"])):
            out = h.client(cls.tablet, "appointment", "create", "--location", loc, "--client", client,
                           "--specialist", spec, "--start", start, *extra)
            cls.bookings[key] = (out.stdout.strip().split()[-1] if out.stdout.strip() else None, loc, start)
        cls.synced = h.client(cls.tablet, "sync", check=False)

    # ---- helpers ----

    def query(self, sql, args=()):
        con = sqlite3.connect(self.db)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def clients(self):
        """{name: id} of every card, decrypted as the server would."""
        con = sqlite3.connect(self.db)
        try:
            rows = Keyring(self.db).rows(con, "SELECT * FROM client", (), "client")
        finally:
            con.close()
        return rows

    def zone_of(self, loc):
        return self.query("SELECT time_zone FROM location WHERE name = ?", (loc,))[0][0]

    # ---- the salon as set up ----

    def test_setup_and_the_second_location_said_what_they_made(self):
        self.assertIn("created location Ljubljana (Europe/Ljubljana)", self.setup_out)
        self.assertIn("created location New York (America/New_York)", self.out["location"])
        self.assertIn("Ljubljana (Europe/Ljubljana), Mondays: 09:00-12:00,13:00-17:00", self.out["hours"])
        self.assertIn("invited Maja Kos <maja@lepota.example> as reception at Ljubljana,New York", self.out["invite"])
        # how long the links last, in the salon's time, like every other time printed
        self.assertRegex(self.out["invite"], r"valid until \d{4}-\d\d-\d\d \d\d:\d\d CES?T\)")
        self.assertRegex(self.setup_out, r"queued a setup link for %s \(valid until [-0-9: ]+ CES?T\)" % OWNER)
        out = self.must(self.admin("staff", "reset-password", "Maja Kos"))
        self.assertRegex(out, r"^password link queued for Maja Kos \(valid until [-0-9: ]+ CES?T\)")
        self.assertEqual(self.query("SELECT name, time_zone FROM location ORDER BY name"),
                         [("Ljubljana", "Europe/Ljubljana"), (NY, "America/New_York")])
        # the service says whom it found for "Nina"; it is offered where it was created,
        # and the listing says so by name
        self.assertIn("created service Haircut: name=Haircut duration=45 price=30.00 locations=Ljubljana,New York "
                      "specialists=Nina Zupan", self.out["service"])
        lst = self.must(self.admin("list", "services"))
        self.assertRegex(lst, r"(?m)^[0-9a-f-]{36}\tHaircut\t45\tLjubljana,New York\t30.00 EUR$")
        lst = self.must(self.admin("list", "services", "--location", NY))
        self.assertIn("\tHaircut\t", lst)
        # and the reception tablet's menu says the same
        ls = h.client(self.tablet, "ls", "services").stdout.strip().split("\n")
        self.assertEqual(ls[0], "id\tname\tduration\tprice\tlocations")
        self.assertEqual(ls[1].split("\t")[1:], ["Haircut", "45 min", "30.00", "Ljubljana, New York"])

    def test_staff_signed_in_through_their_links(self):
        self.assertIn("signed in as Maja Kos (reception)", self.signed_in)
        self.assertEqual(self.query("SELECT count(*) FROM staff WHERE password_hash IS NULL"), [(0,)])
        d = os.path.join(self.tmp, "nina")
        out = h.login(d, self.server, self.nina)
        self.assertIn("signed in as Nina Zupan (specialist)", out.stdout)
        h.client(d, "sync")
        seen = sorted(x["name"] for (t, _), (_, x) in h.cache_rows(d).items() if t == "location")
        self.assertEqual(seen, ["Ljubljana", NY])

    # ---- the client list ----

    def test_import_found_both_duplicates_and_created_the_rest(self):
        self.assertIn("Windows-1250, delimiter ';'", self.dry)
        self.assertRegex(self.dry, r"(?m)^1\tIme\tfirst_name$")
        self.assertRegex(self.dry, r"(?m)^4\te-mail\tline 2 \(Špela Žnidaršič\)$")
        self.assertRegex(self.dry, r"(?m)^5\tphone\texisting client Eva Horvat \([0-9a-f-]{36}\)$")
        self.assertIn("imported 3 client(s) into Ljubljana from stranke.csv; 2 duplicate(s) skipped", self.imported)
        names = sorted(c["name"] for c in self.clients())
        self.assertEqual(names, ["Eva Horvat", "Urška Šušteršič", "Čedomir Kovačič", "Špela Žnidaršič"])
        spela = [c for c in self.clients() if c["name"] == "Špela Žnidaršič"][0]
        self.assertEqual((spela["phone"], spela["birthday"]), ("+38641111222", "1985-04-03"))
        # the same file again creates nothing
        again = self.must(server_cmd("import", "clients", "--db", self.db, "--location", "Ljubljana", self.csv))
        self.assertIn("imported 0 client(s)", again)
        self.assertEqual(len(self.clients()), 4)
        # an imported card is found by what people type
        out = self.must(self.admin("client", "find", "041 333 444"))
        self.assertEqual(out.splitlines()[1].split("\t")[0], "Čedomir Kovačič")

    # ---- booking by names and local times ----

    def test_bookings_land_at_the_right_instants(self):
        self.assertEqual(self.synced.returncode, 0, self.synced.stderr)
        ids = {c["name"]: c["id"] for c in self.clients()}
        nina = self.query("SELECT id FROM staff WHERE email = 'nina@lepota.example'")[0][0]
        haircut = self.query("SELECT id FROM service WHERE name = 'Haircut'")[0][0]
        want = {"lj": "Špela Žnidaršič", "ny": "Čedomir Kovačič", "ny_after": "Urška Šušteršič",
                "ny_dst": "Eva Horvat"}
        for key, name in want.items():
            aid, loc, start = self.bookings[key]
            row = self.query("SELECT a.start_at, l.name, a.client_id, a.specialist_id, a.duration_min FROM "
                             "appointment a "
                             "JOIN location l ON l.id = a.location_id WHERE a.id = ?", (aid,))
            self.assertEqual(len(row), 1, "booking %s (%s) is not in the database" % (key, aid))
            self.assertEqual(row[0], (utc_ms(start, self.zone_of(loc)), loc, ids[name], nina, 45), key)
        # the instants, spelled out: winter in both; New York after its change; its change day
        self.assertEqual(datetime.datetime.fromtimestamp(utc_ms("2031-03-04 10:00", "America/New_York") / 1000,
                                                         datetime.timezone.utc).hour, 15)
        self.assertEqual(datetime.datetime.fromtimestamp(utc_ms("2031-03-09 10:00", "America/New_York") / 1000,
                                                         datetime.timezone.utc).hour, 14)
        # services named on the tablet arrive as ids
        for key in ("lj", "ny_after"):
            self.assertEqual(self.query("SELECT services FROM appointment WHERE id = ?", (self.bookings[key][0],)),
                             [(haircut,)])

    def test_a_booking_after_closing_is_refused_in_local_time(self):
        aid = self.bookings["late"][0]
        self.assertEqual(self.query("SELECT count(*) FROM appointment WHERE id = ?", (aid,)), [(0,)])
        rej = h.client(self.tablet, "rejections").stdout
        self.assertIn("outside_opening_hours: Ljubljana is open 09:00-12:00, 13:00-17:00 on Tuesdays "
                      "(Europe/Ljubljana); 16:30-17:15 on 2031-03-04 is outside", rej)
        self.assertIn('"start_at":"2031-03-04 16:30 CET"', rej)
        # the edit names the place and the people, as they were typed, not by id
        self.assertIn('"location":"Ljubljana","client":"Eva Horvat","specialist":"Nina Zupan"', rej)
        self.assertNotIn(self.query("SELECT id FROM location WHERE name = 'Ljubljana'")[0][0], rej)

    def test_a_time_the_clocks_skip_is_refused_before_it_is_queued(self):
        out = h.client(self.tablet, "appointment", "create", "--location", NY, "--client", "Eva", "--specialist",
                       "Nina", "--start", "2031-03-09 02:30", "--duration", "30", check=False)
        self.assertEqual(out.returncode, 2, out.stdout)
        self.assertIn("2031-03-09 02:30 does not exist in America/New_York", out.stderr)

    def test_listings_show_local_times_with_the_zone(self):
        lst = self.must(self.admin("list", "appointments", "--location", NY, "--from", "2031-03-01", "--to",
                                   "2031-03-31"))
        rows = [l.split("\t") for l in lst.strip().split("\n")]
        self.assertEqual(rows[0][:3], ["id", "start", "duration_min"])
        self.assertEqual([(r[1], r[5]) for r in rows[1:]],
                         [("2031-03-04 10:00 EST", "Čedomir Kovačič"), ("2031-03-09 10:00 EDT", "Eva Horvat"),
                          ("2031-03-10 10:00 EDT", "Urška Šušteršič")])
        lst = self.must(self.admin("list", "appointments", "--location", "Ljubljana", "--from", "2031-03-04",
                                   "--to", "2031-03-04"))
        self.assertIn("\t2031-03-04 10:00 CET\t45\tbooked\tLjubljana\tŠpela Žnidaršič\tNina Zupan", lst)
        # the tablet's own listing, sorted by start, local to each location
        ls = h.client(self.tablet, "ls", "appointments").stdout.strip().split("\n")
        self.assertTrue(ls[0].startswith("id\tstart\t"), ls[0])
        starts = [l.split("\t")[1] for l in ls[1:]]
        self.assertEqual(starts, ["2031-03-04 10:00 CET", "2031-03-04 10:00 EST", "2031-03-09 10:00 EDT",
                                  "2031-03-10 10:00 EDT"])
        # filtered by names and local days: New York's 9th and 10th of March
        ls = h.client(self.tablet, "ls", "appointments", "--location", "new york", "--specialist", "Nina",
                      "--from", "2031-03-09", "--to", "2031-03-10").stdout.strip().split("\n")
        self.assertEqual([l.split("\t")[5] for l in ls[1:]], ["Eva Horvat", "Urška Šušteršič"])


if __name__ == "__main__":
    h.main()
