"""The README's walk-through, privacy, offline and "Your own salon" sections, run as written.

Every ```sh block that follows a `<!-- readme-test: NAME -->` line is run with
bash, in README order, in a scratch directory laid out like a checkout
(`build/` the build under test, `demo/` the demo database), against a fresh
demo server; variables set by one block are kept for the next, as in one
terminal. Each block has a check below that reads its output (and the
server's database where the text makes a claim about it): a block that no
longer does what the README says around it fails, and so does a marker
without a check or a check whose marker is gone.

The only rewrites: `127.0.0.1:8080` becomes the test server's port, `/tmp/`
the test's scratch directory, and a line ending in `&` runs in the
background with its output in a file (the test stops it at the end)."""
import datetime
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import unittest
import zoneinfo

import kt_harness as h
from ktcrypt import Keyring

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "README.md")
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
MARK = re.compile(r"^<!-- readme-test: ([a-z0-9-]+) -->\s*$")


def blocks(text):
    """[(name, code)] of the marked blocks, in order. A marker must be
    followed by a ```sh fence (blank lines between are allowed)."""
    out, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        m = MARK.match(lines[i])
        i += 1
        if not m:
            continue
        while i < len(lines) and not lines[i].strip():
            i += 1
        if i >= len(lines) or lines[i].strip() != "```sh":
            raise AssertionError("README: marker %s is not followed by a ```sh block" % m.group(1))
        j = i + 1
        while j < len(lines) and lines[j].strip() != "```":
            j += 1
        out.append((m.group(1), "\n".join(lines[i + 1:j])))
        i = j + 1
    return out


def wait_for(pred, timeout=30, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)  # polling the condition itself, not a fixed wait
    raise AssertionError("timed out waiting for " + what)


class ReadmeTest(unittest.TestCase):
    """One test: the blocks depend on each other as in one shell session."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kt-readme-")
        self.work = os.path.join(self.tmp, "checkout")
        self.scratch = os.path.join(self.tmp, "scratch")
        os.makedirs(os.path.join(self.work, "demo"))
        os.makedirs(self.scratch)
        # the README runs ./build/server/... and ./build/clients/...: the build under test
        build = os.path.dirname(os.path.dirname(h.SERVER))
        self.assertEqual(os.path.join(build, "clients", "reference-c", "kartoteka-client"), h.CLIENT)
        os.symlink(build, os.path.join(self.work, "build"))
        self.state = os.path.join(self.tmp, "state.sh")
        open(self.state, "w").close()
        self.pids = os.path.join(self.tmp, "background.pids")
        self.server = None
        self.vars = set()
        self.bg = 0

    def tearDown(self):
        if os.path.exists(self.pids):
            with open(self.pids) as f:
                pids = f.read().split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGTERM)
                except ProcessLookupError:
                    pass
        try:
            if self.server:
                self.server.stop()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- running a block ----

    def rewrite(self, code):
        code = code.replace("127.0.0.1:8080", "127.0.0.1:%d" % self.server.port)
        code = code.replace("/tmp/", self.scratch + "/")
        out = []
        for line in code.split("\n"):
            m = re.match(r"^(.*\S)\s+&\s*(#.*)?$", line)
            if m:
                self.bg += 1
                log = os.path.join(self.tmp, "background-%d.log" % self.bg)
                line = "( %s ) > %s 2>&1 < /dev/null & echo $! >> %s" % (m.group(1), log, self.pids)
            out.append(line)
        return "\n".join(out)

    def run_block(self, name, code):
        self.vars |= set(re.findall(r"(?m)(?:^|[;&|]\s*)([A-Z][A-Z0-9_]*)=", code))
        script = "cd %s\n. %s\n%s\ndeclare -p %s > %s 2>/dev/null\n" % (
            self.work, self.state, self.rewrite(code), " ".join(sorted(self.vars)) or "HOME", self.state)
        # stdin is not a terminal, as in a script: setup must not stop to ask
        r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=180,
                           stdin=subprocess.DEVNULL)
        self.current = name
        return r

    def var(self, name):
        out = subprocess.run(["bash", "-c", ". %s; printf %%s \"$%s\"" % (self.state, name)], capture_output=True,
                             text=True)
        return out.stdout

    def fail_block(self, name, r, why):
        self.fail("README block %r: %s\n--- stdout:\n%s\n--- stderr:\n%s" % (name, why, r.stdout[-3000:],
                                                                               r.stderr[-3000:]))

    def expect(self, name, r, cond, why):
        if not cond:
            self.fail_block(name, r, why)

    def db(self):
        return os.path.join(self.work, "demo", "kartoteka.db")

    def row(self, tbl, rid):
        con = sqlite3.connect(self.db())
        rows = Keyring(self.db()).rows(con, "SELECT * FROM %s WHERE id = ?" % tbl, (rid,), tbl)
        con.close()
        return rows[0] if rows else None

    def sql(self, q, *args):
        con = sqlite3.connect(self.db())
        v = con.execute(q, args).fetchall()
        con.close()
        return v

    def watcher(self):
        p = os.path.join(self.tmp, "background-1.log")
        if not os.path.exists(p):
            return ""
        with open(p, errors="replace") as f:
            return f.read()

    # ---- the checks, one per marked block ----

    def check_make_run(self, name, code):
        # `make run` is what the test does itself: the demo with seed 1, its
        # accounts file, then serve (here on a free port)
        self.assertEqual(code.strip(), "make run")
        with open(os.path.join(os.path.dirname(README), "Makefile")) as f:
            self.assertIn("--demo --seed 1", f.read())
        out = subprocess.run([h.SERVER, "init", "--db", self.db(), "--demo", "--seed", "1"], capture_output=True,
                             text=True, check=True).stdout
        acc = os.path.join(self.work, "demo", "demo-accounts.txt")
        with open(acc, "w") as f:
            f.write(out)
        os.chmod(acc, 0o600)
        self.assertTrue(out.startswith("role\tlocation\temail\tpassword\tname\n"), out[:200])
        self.server = h.Server(self.db())
        self.accounts = [dict(zip(out.split("\n")[0].split("\t"), l.split("\t"))) for l in out.strip().split("\n")[1:]]

    def check_owner(self, name, r):
        owner = h.account(self.accounts, "owner")
        self.expect(name, r, "signed in as %s (owner)" % owner["name"] in r.stdout, "owner not signed in")
        total = sum(self.sql("SELECT count(*) FROM %s" % t)[0][0] for t in
                    ("organisation", "location", "staff", "service", "client", "appointment", "visit", "consent",
                     "opening_hours", "closed_day", "working_hours", "time_off"))
        self.expect(name, r, "synced: %d rows in cache" % total in r.stdout, "the snapshot is not everything")
        self.expect(name, r, "(100%)" in r.stderr, "no progress line")
        appts = re.findall(r"(?m)^%s\t\d{4}-\d\d-\d\d \d\d:\d\d CES?T\t" % UUID, r.stdout)
        # `| head`: the header and 9 appointments, then the filtered list (local dates at Maribor)
        day = datetime.date.fromisoformat(time.strftime("%Y-%m-%d"))  # what `date +%F` printed
        lj = zoneinfo.ZoneInfo("Europe/Ljubljana")
        bounds = [int(datetime.datetime.combine(d, datetime.time(), lj).timestamp() * 1000)
                  for d in (day, day + datetime.timedelta(days=1))]
        maribor = self.sql("SELECT count(*) FROM appointment a JOIN location l ON l.id = a.location_id WHERE "
                           "l.name = 'Lepota Maribor' AND a.start_at >= ? AND a.start_at < ?", *bounds)
        self.expect(name, r, len(appts) == 9 + maribor[0][0],
                    "ls appointments: not 9 + %d appointments with a local start" % maribor[0][0])
        self.expect(name, r, r.stdout.count("id\tstart\tstatus\tduration\tlocation\tclient\tspecialist") == 2,
                    "ls appointments has no header")
        cid = self.var("ID")
        self.expect(name, r, re.fullmatch(UUID, cid) is not None, "ID is not a client id")
        self.expect(name, r, re.search(r"(?m)^%s\t[^\t]+\t[^\t@]+@" % UUID, r.stdout) is not None,
                    "ls clients shows no e-mail")
        self.expect(name, r, "client %s\nname: " % cid in r.stdout and "\nappointments:\n" in r.stdout,
                    "show client is not a card with its appointments")
        for line in ("signed in: yes", "principal_role: owner", "rows client: %d" % self.sql(
                "SELECT count(*) FROM client")[0][0], "queued edits: 0"):
            self.expect(name, r, line in r.stdout, "status lacks %r" % line)

    def check_specialist(self, name, r):
        spec = [a for a in self.accounts if a["role"] == "specialist" and a["location"] == "Lepota Maribor"][0]
        self.expect(name, r, "signed in as %s (specialist)" % spec["name"] in r.stdout, "specialist not signed in")
        rows = re.findall(r"(?m)^%s\t.*$" % UUID, r.stdout)
        self.expect(name, r, len(rows) == 9, "ls clients | head: not a header and 9 clients")
        self.expect(name, r, not any("@" in l or "+386" in l for l in rows), "a specialist sees contact data")
        known = self.sql("SELECT count(DISTINCT client_id) FROM client_location cl JOIN location l ON "
                         "l.id = cl.location_id WHERE l.name = 'Lepota Maribor'")[0][0]
        self.expect(name, r, "rows client: %d\n" % known in r.stdout, "not exactly the Maribor clients (%d)" % known)

    def check_reception(self, name, r):
        rows = [l for l in r.stdout.split("\n") if re.match(UUID, l)]
        self.expect(name, r, len(rows) == 3 and all("\tALLERGY\t" in l for l in rows), "no allergy alerts")
        for l in rows:  # the alert only: the allergies themselves stay off the tablet
            allergies = self.row("client", l.split("\t")[0])["allergies"]
            self.expect(name, r, allergies and allergies not in l, "reception sees the allergies")

    def check_ids(self, name, r):
        for v in ("LOC", "OTHER_LOC", "SPECIALIST", "OTHER_SPECIALIST", "CLIENT"):
            self.expect(name, r, re.fullmatch(UUID, self.var(v)) is not None, "%s is not an id" % v)
        self.expect(name, r, len(re.findall(r"(?m)^%s\t" % UUID, r.stdout)) == 2 + 9 + 5, "lists not shown")
        loc, spec = self.var("LOC"), self.var("SPECIALIST")
        self.assertEqual(self.sql("SELECT name FROM location WHERE id = ?", loc)[0][0], "Lepota Center")
        self.assertEqual(self.sql("SELECT count(*) FROM staff_location WHERE staff_id = ? AND location_id = ?",
                                  spec, loc)[0][0], 1)

    def check_watch(self, name, r):
        wait_for(lambda: "synced\n" in self.watcher(), what="the watcher's synced\n" + self.watcher())

    def check_write(self, name, r):
        aid = self.var("ID")
        self.expect(name, r, re.fullmatch(UUID, aid) is not None, "appointment create printed no id")
        cid = self.var("CLIENT")
        wait_for(lambda: "put appointment %s v2" % aid in self.watcher() and "put client %s v" % cid in self.watcher(),
                 what="the watcher's lines\n" + self.watcher())
        w = self.watcher()
        v1 = w.find("put appointment %s v1" % aid)
        self.expect(name, r, v1 < w.index("put appointment %s v2" % aid) and w.index("synced\n") < v1 or v1 == -1,
                    "the watcher did not print v1, then v2, after synced")
        row = self.row("appointment", aid)
        self.assertEqual((row["location_id"], row["specialist_id"]), (self.var("OTHER_LOC"),
                                                                      self.var("OTHER_SPECIALIST")))
        # "2027-01-15 20:15" at a Ljubljana branch is 19:15 UTC in winter
        self.assertEqual(row["start_at"], 1800040500000)
        self.assertEqual(self.row("client", cid)["preferences"], "green tea")
        # the commands say what they did, by name and local time
        booked = re.search(r"(?m)^booked .+ at Lepota Center, 2027-01-15 20:15 CET \(45 min\): appointment %s$"
                           % aid, r.stdout)
        self.expect(name, r, booked is not None, "appointment create did not say what it booked")
        self.expect(name, r, re.search(r"(?m)^moved: now .+ at Lepota Maribor, 2027-01-15 20:15 CET", r.stdout)
                    is not None, "appointment move did not say where to")
        self.expect(name, r, re.search(r"(?m)^set .+'s preferences$", r.stdout) is not None,
                    "client set did not say what it set")
        listed = [l for l in r.stdout.split("\n") if l.startswith(aid + "\t")]
        self.expect(name, r, len(listed) == 1 and "\t2027-01-15 20:15 CET\t45\tbooked\tLepota Maribor\t" in listed[0],
                    "list appointments does not show it at Maribor, local time")

    def check_moved(self, name, r):
        self.expect(name, r, self.var("ID") in r.stdout, "the second branch's specialist does not have it")

    def check_privacy(self, name, r):
        cid = self.var("CLIENT")
        self.expect(name, r, re.search(r"(?m)^-rw------- .*kartoteka\.db\.key$", r.stdout) is not None,
                    "the master key is not 0600")
        self.expect(name, r, "blob|%d" % self.sql("SELECT count(*) FROM client")[0][0] in r.stdout,
                    "names are not all sealed")
        self.expect(name, r, "green tea" in r.stdout, "audit show does not show the decrypted history")
        spool = os.path.join(self.work, "demo", "kartoteka.db.spool")
        email = self.row("client", cid)["email"]

        def mailed():  # the serving process's outbox writes it
            for f in os.listdir(spool) if os.path.isdir(spool) else []:
                with open(os.path.join(spool, f), errors="replace") as m:
                    if f.endswith(".eml") and email in m.read():
                        return True
            return False
        wait_for(mailed, what="a setup mail to %s in %s" % (email, spool))
        self.expect(name, r, re.search(r"health_data", r.stdout) is not None, "consent show shows no history")
        self.expect(name, r, '\n{\n  "access_log": [' in r.stdout, "the export is not the client's JSON")
        self.expect(name, r, os.path.getsize(os.path.join(self.scratch, "before.db")) > 0, "no backup")

    def check_erase(self, name, r):
        cid = self.var("CLIENT")
        self.assertIsNone(self.row("client", cid))
        self.expect(name, r, "audit log ok" in r.stdout, "the chain does not verify")
        self.expect(name, r, "unreadable" in r.stdout, "the history does not read unreadable")
        self.expect(name, r, re.search(r"(?i)purged|not yet|pending|waiting", r.stdout) is not None,
                    "erasure-status names no devices")
        wait_for(lambda: "delete client %s" % cid in self.watcher(), what="the watcher's delete\n" + self.watcher())

    def check_offline(self, name, r):
        cid, aid, nxt = self.var("CLIENT"), self.var("ID"), self.var("NEXT")
        self.expect(name, r, "queued edits: 5" in r.stdout, "not 5 queued edits")
        self.expect(name, r, not re.search(r"(?m)^#\d+ ", r.stdout), "edits were refused")
        self.assertEqual(self.row("client", cid)["phone"], "+386 41 123 456")
        a = self.row("appointment", aid)
        self.assertEqual((a["start_at"], a["status"]), (1800647100000, "booked"))    # 2027-01-22T19:45:00Z
        self.assertEqual(self.row("appointment", nxt)["status"], "cancelled")

    def check_visit(self, name, r):
        vid = re.findall(r"(?m)^(%s)$" % UUID, r.stdout)
        self.expect(name, r, len(vid) == 1, "visit add printed no id")
        v = self.row("visit", vid[0])
        self.expect(name, r, v is not None and v["treatment_notes"] == "patch test negative"
                    and v["appointment_id"] == self.var("ID"), "the visit is not on the server")
        self.expect(name, r, re.search(r"forbidden: specialist may not change client\.phone", r.stdout) is not None,
                    "the refused edit is not listed")
        self.assertEqual(self.row("client", self.var("CLIENT"))["phone"], "+386 41 123 456")

    def check_batch(self, name, r):
        self.assertEqual(self.row("client", self.var("CLIENT"))["preferences"], "green tea")

    def check_audit(self, name, r):
        self.expect(name, r, "+386 41 123 456" in r.stdout and "green tea" in r.stdout,
                    "audit show lacks the edits")
        self.expect(name, r, "audit log ok" in r.stdout, "the chain does not verify")

    def check_import(self, name, r):
        self.expect(name, r, "would create 1 client(s)" in r.stdout and "dry run: nothing was changed" in r.stdout,
                    "the dry run does not say what it would create")
        self.expect(name, r, "imported 1 client(s) into Lepota Maribor from stranke.csv" in r.stdout,
                    "the import does not say what it created")
        ids = [i for (i,) in self.sql("SELECT c.id FROM client c JOIN client_location cl ON cl.client_id = c.id "
                                      "JOIN location l ON l.id = cl.location_id WHERE l.name = 'Lepota Maribor'")]
        nina = [c for c in (self.row("client", i) for i in ids) if c["name"] == "Nina Oblak"]
        self.expect(name, r, len(nina) == 1, "not one Nina Oblak at Maribor")
        self.assertEqual((nina[0]["phone"], nina[0]["birthday"]), ("+38641222333", "1980-02-01"))
        self.assertEqual(self.sql("SELECT purpose, granted, source FROM consent WHERE client_id = ?", nina[0]["id"]),
                         [("marketing_sms", 1, "import")])
        self.expect(name, r, '"Nina Oblak",,"+38641222333","1980-02-01"' in r.stdout and '"yes"' in r.stdout,
                    "the export does not hold the imported card")

    def salon_sql(self, q, *args):
        con = sqlite3.connect(self.var("SALON"))
        v = con.execute(q, args).fetchall()
        con.close()
        return v

    def check_own_salon(self, name, r):
        for line in ("created organisation Studio Lepota d.o.o. (SI, EUR, sl)",
                     "created location Maribor (Europe/Ljubljana)", "created owner Ana Novak <ana@lepota.si>",
                     "queued a setup link for ana@lepota.si"):
            self.expect(name, r, line in r.stdout, "setup did not say %r" % line)
        self.assertEqual(self.salon_sql("SELECT role, password_hash FROM staff"), [("owner", None)])

    def check_own_salon_places(self, name, r):
        for line in ("created location London (Europe/London)",
                     "Maribor (Europe/Ljubljana), Mondays: 09:00-12:00,13:00-19:00",
                     "Maribor (Europe/Ljubljana), Saturdays: 08:00-13:00",
                     "London (Europe/London), Tuesdays: 10:00-18:00",
                     "Maribor (Europe/Ljubljana) is closed on 2031-12-25 (Christmas)"):
            self.expect(name, r, line in r.stdout, "no %r" % line)
        self.assertEqual(self.salon_sql("SELECT name, time_zone FROM location ORDER BY name"),
                         [("London", "Europe/London"), ("Maribor", "Europe/Ljubljana")])

    def check_own_salon_people(self, name, r):
        for line in ("invited Maja Kos <maja@lepota.si> as reception at Maribor,London",
                     "invited Nina Zupan <nina@lepota.si> as specialist at Maribor,London",
                     "Nina Zupan at London (Europe/London), Saturdays: 10:00-18:00", "created service Haircut"):
            self.expect(name, r, line in r.stdout, "no %r" % line)
        self.expect(name, r, re.search(r"(?m)^Saturday +10:00-18:00 +Nina Zupan 10:00-18:00$", r.stdout),
                    "hours show London does not show Nina on Saturdays")
        self.assertEqual(self.salon_sql("SELECT l.name FROM staff s JOIN staff_location sl ON sl.staff_id = s.id "
                                        "JOIN location l ON l.id = sl.location_id WHERE s.email = "
                                        "'nina@lepota.si' ORDER BY l.name"), [("London",), ("Maribor",)])
        nina = self.salon_sql("SELECT id FROM staff WHERE email = 'nina@lepota.si'")[0][0]
        self.assertEqual(self.salon_sql("SELECT duration_min, price_cents, specialist_ids FROM service"),
                         [(45, 3000, nina)])
        # the owner's and both staff links wait in the outbox
        self.assertEqual(self.salon_sql("SELECT count(*) FROM outbox"), [(3,)])

    def check_own_salon_clients(self, name, r):
        eva = self.salon_sql("SELECT id FROM client")[0][0]
        self.expect(name, r, "created client Eva Horvat at Maribor %s" % eva in r.stdout, "Eva not created")
        self.expect(name, r, "3\tphone\texisting client Eva Horvat (%s)" % eva in r.stdout,
                    "the import did not find Eva's card")
        self.expect(name, r, "imported 1 client(s) into Maribor" in r.stdout, "not one client imported")
        self.expect(name, r, re.search(r"(?m)^Špela Kranjc\t%s$" % UUID, r.stdout), "client find did not find her")
        self.assertEqual(self.salon_sql("SELECT count(*) FROM client"), [(2,)])

    def check_own_salon_book(self, name, r):
        self.expect(name, r, re.search(r"booked Špela Kranjc with Nina Zupan at London, 2031-03-08 11:00 GMT "
                                       r"\(45 min\): appointment %s" % UUID, r.stdout), "not booked")
        self.expect(name, r, "London is open 10:00-18:00 on Saturdays (Europe/London); 09:00-09:45 on 2031-03-08 "
                    "is outside" in r.stderr, "the early booking was not refused with its reason")
        self.expect(name, r, re.search(r"(?m)^%s\t2031-03-08 11:00 GMT\t45\tbooked\tLondon\tŠpela Kranjc\t"
                                       r"Nina Zupan$" % UUID, r.stdout), "the listing does not show it")
        want = int(datetime.datetime(2031, 3, 8, 11, 0, tzinfo=zoneinfo.ZoneInfo("Europe/London")).timestamp())
        self.assertEqual(self.salon_sql("SELECT start_at FROM appointment"), [(want * 1000,)])

    def check_portal(self, name, r):
        self.expect(name, r, "<title>Kartoteka</title>" in r.stdout, "the portal's page not served")
        csp = [l for l in r.stdout.splitlines() if l.lower().startswith("content-security-policy:")]
        self.expect(name, r, csp and "script-src 'self'" in csp[0] and "unsafe-inline" not in csp[0],
                    "no strict Content-Security-Policy")
        self.expect(name, r, "no-referrer" in r.stdout.lower(), "no Referrer-Policy")

    def check_desk(self, name, r):
        self.expect(name, r, r.stdout.splitlines()[0:1] == ["200"], "the desk's page not served")
        self.expect(name, r, re.search(r"(?m)^Lepota \w+\t\S+@\S+\t\S+$", r.stdout), "no reception sign-in shown")

    def check_messages(self, name, r):
        self.expect(name, r, "changed 2 setting(s)" in r.stdout and re.search(r"(?m)^second reminder\t2 h before$",
                                                                            r.stdout), "the settings did not change")
        self.expect(name, r, re.search(r"(?m)^Subject: .+", r.stdout) and "{" not in r.stdout,
                    "no rendered reminder (or a placeholder left)")
        self.expect(name, r, re.search(r"(?m)^id\tkind\tchannel\tstate\t", r.stdout), "no message list header")
        rows = self.salon_sql("SELECT purpose, state FROM outbox WHERE purpose IN ('confirmation', 'reminder', "
                              "'reminder2') ORDER BY id")
        listed = re.findall(r"(?m)^\d+\t(confirmation|reminder2?)\t(?:email|sms)\t(\w+)\t", r.stdout)
        self.expect(name, r, sorted(listed) == sorted(rows), "the list is not what the outbox holds: %r" % rows)

    def test_readme_blocks_do_what_the_text_says(self):
        with open(README) as f:
            found = blocks(f.read())
        names = [n for n, _ in found]
        checks = ["make-run", "owner", "specialist", "reception", "ids", "watch", "write", "moved", "privacy",
                  "erase", "offline", "visit", "batch", "audit", "portal", "desk", "own-salon", "own-salon-places", "own-salon-people", "own-salon-clients",
                  "own-salon-book", "import", "messages"]
        self.assertEqual(names, checks, "README markers and the test's checks differ")
        for name, code in found:
            if name == "make-run":
                self.check_make_run(name, code)
                continue
            r = self.run_block(name, code)
            if r.returncode != 0:
                self.fail_block(name, r, "exit status %d" % r.returncode)
            getattr(self, "check_" + name.replace("-", "_"))(name, r)


if __name__ == "__main__":
    h.main()
