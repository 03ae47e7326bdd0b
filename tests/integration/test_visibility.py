"""The leak oracle: a random sequence of operations against a demo salon
with 32 devices of every role, and at quiet points every device's cache is
compared with what its principal may see now, computed independently of the
server's policy code (oracle.py, plain SQL): no extra row, no forbidden
field, no missing row, equal values.

Operations: edits by the operator and offline edits on tablets, bookings,
moves between locations, cancellations, staff moved between locations or
given another role, deactivations, devices signed out or revoked, devices
going offline and coming back, server restarts (SIGTERM or SIGKILL, which
also drops every connection in the middle of whatever it was sending).

The seed is printed on every run and named in every failure:
  --seed S --ops N   (defaults: a random seed, 250 operations; tests/soak
                      runs many seeds with thousands of operations)"""
import os
import random
import sqlite3
import subprocess
import time
import unittest

import kt_harness as h
import oracle

A, B = "Lepota Center", "Lepota Maribor"


SEED = h.option("--seed", random.randrange(1 << 30))
OPS = h.option("--ops", 250)
QUIET_EVERY = 50


class Device:
    def __init__(self, test, name, acc):
        self.test, self.name, self.acc = test, name, acc
        self.dir = os.path.join(test.tmp, name)
        self.proc = None
        self.revoked = False      # told to wipe; never signs in again
        self.signed_out = False   # signed out by the salon; signs in again at the next quiet point
        self.device_id = None

    def login(self):
        h.client(self.dir, "--server", self.test.url, "login", self.acc["email"], stdin=self.acc["password"] + "\n")
        con = sqlite3.connect(os.path.join(self.dir, "cache.db"))
        self.device_id = con.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()[0]
        con.close()
        self.signed_out = False

    def online(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        if self.online() or self.revoked or self.signed_out or not self.test.active(self.acc):
            return
        self.proc = subprocess.Popen([h.CLIENT, "--dir", self.dir, "--server", self.test.url, "--quiet", "watch",
                                      "--max-seconds", "3600"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
        self.proc = None


class VisibilityOracleTest(unittest.TestCase):
    def setUp(self):
        print("visibility oracle: seed %d, %d operations (repeat with --seed %d --ops %d)" %
              (SEED, OPS, SEED, OPS), flush=True)
        self.rnd = random.Random(SEED)
        self.tmp = h.tempfile.mkdtemp(prefix="kt-visibility-")
        self.db, self.accounts = h.demo_db(self.tmp)
        self.server = h.Server(self.db)
        self.url = self.server.url
        con = sqlite3.connect(self.db)
        self.loc = dict(con.execute("SELECT name, id FROM location"))
        self.clients = [r[0] for r in con.execute("SELECT id FROM client ORDER BY id")]
        self.appts = [r[0] for r in con.execute("SELECT id FROM appointment ORDER BY id")]
        con.close()
        self.devices = []
        staff = [a for a in self.accounts if a["role"] != "client"]
        portal = [a for a in self.accounts if a["role"] == "client"][:14]
        for acc in staff * 2 + portal:  # every staff member on two devices: 18 + 14 = 32
            self.devices.append(Device(self, "d%02d-%s" % (len(self.devices), acc["role"]), acc))
        for d in self.devices:
            d.login()
            d.start()

    def tearDown(self):
        for d in self.devices:
            d.stop()
        if self.server.alive():
            self.server.stop()
        h.shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- facts from the server database (the oracle's side) ----

    def q(self, sql, *args):
        con = sqlite3.connect(self.db)
        rows = con.execute(sql, args).fetchall()
        con.close()
        return rows

    def active(self, acc):
        if acc["role"] == "client":
            return True
        return self.q("SELECT active FROM staff WHERE email = ?", acc["email"])[0][0] == 1

    def staff_id(self, acc):
        return self.q("SELECT id FROM staff WHERE email = ?", acc["email"])[0][0]

    def admin(self, *args):
        return subprocess.run([h.SERVER, "admin", "--db", self.db] + [str(a) for a in args],
                              capture_output=True, text=True).returncode == 0

    # ---- operations ----

    def op_edit(self):
        cid = self.rnd.choice(self.clients)
        field = self.rnd.choice(["preferences", "phone", "internal_notes", "allergies"])
        self.admin("client", "set", cid, field, "v%d" % self.rnd.randrange(10 ** 6))

    def op_tablet_edit(self):
        tablets = [d for d in self.devices if d.acc["role"] in ("owner", "manager", "reception")
                   and not d.revoked and not d.signed_out and self.active(d.acc)]
        if not tablets:
            return
        d = self.rnd.choice(tablets)
        cards = [i for (t, i) in h.cache_rows(d.dir) if t == "client"]
        if cards:  # made offline or online: it reaches the server at the device's next sync
            h.client(d.dir, "client", "set", self.rnd.choice(cards), "preferences",
                     "tablet %d" % self.rnd.randrange(10 ** 6), check=False)

    def specialist_at(self, loc):
        rows = self.q("SELECT s.id FROM staff s JOIN staff_location sl ON sl.staff_id = s.id WHERE s.active = 1 "
                      "AND s.role = 'specialist' AND sl.location_id = ? ORDER BY s.id", loc)
        return self.rnd.choice(rows)[0] if rows else None

    def op_book(self):
        loc = self.loc[self.rnd.choice([A, B])]
        spec = self.specialist_at(loc)
        if spec:
            start = 1893456000000 + self.rnd.randrange(20000) * 900000  # 2030, quarter hours
            self.admin("appointment", "create", "--location", loc, "--client", self.rnd.choice(self.clients),
                       "--specialist", spec, "--start", start, "--duration", 45)

    def op_move(self):
        loc = self.loc[self.rnd.choice([A, B])]
        spec = self.specialist_at(loc)
        if spec:
            self.admin("appointment", "move", self.rnd.choice(self.appts), "--location", loc, "--specialist", spec)

    def op_consent(self):
        purpose = self.rnd.choice(["marketing_email", "marketing_sms", "birthday_greetings", "review_requests",
                                   "photo_use", "health_data"])
        self.admin("consent", self.rnd.choice(self.clients), purpose, self.rnd.choice(["grant", "withdraw"]),
                   "--text-version", "v%d" % self.rnd.randrange(5))

    def op_cancel(self):
        self.admin("appointment", "cancel", self.rnd.choice(self.appts))

    def movable_staff(self):
        return [a for a in self.accounts if a["role"] in ("manager", "reception", "specialist") and self.active(a)]

    def op_staff_location(self):
        acc = self.rnd.choice(self.movable_staff())
        loc = self.loc[self.rnd.choice([A, B])]
        self.admin("staff", "location", self.staff_id(acc), self.rnd.choice(["add", "remove"]), loc)

    def op_staff_role(self):
        acc = self.rnd.choice(self.movable_staff())
        sid = self.staff_id(acc)
        role = self.rnd.choice(["manager", "reception", "specialist"])
        if self.admin("staff", "role", sid, role):
            for a in self.accounts:  # the oracle reads roles from the database; keep our labels honest
                if a["email"] == acc["email"]:
                    a["role"] = role

    def op_deactivate(self):
        staff = self.movable_staff()
        if len(staff) > 4:  # keep a salon to test
            self.admin("staff", "deactivate", self.staff_id(self.rnd.choice(staff)))

    def op_revoke(self):
        live = [d for d in self.devices if not d.revoked]
        d = self.rnd.choice(live)
        if self.rnd.random() < 0.3:
            if self.admin("device", "revoke", d.device_id):
                d.revoked = True
        elif self.admin("device", "sign-out", d.device_id):
            d.signed_out = True

    def op_offline(self):
        self.rnd.choice(self.devices).stop()

    def op_online(self):
        self.rnd.choice(self.devices).start()

    def count_rights_log(self):
        """How the servers so far answered rights changes (a difference or a snapshot; PROTOCOL.md §7)."""
        log = "".join(self.server.errlog)
        self.rights_diffs = getattr(self, "rights_diffs", 0) + log.count("locations changed; sending the difference")
        self.rights_snaps = getattr(self, "rights_snaps", 0) + log.count("rights changed; sending a new snapshot")

    def op_restart(self):
        self.count_rights_log()
        online = [d for d in self.devices if d.online()]
        if self.rnd.random() < 0.5:
            self.server.proc.kill()  # SIGKILL: every connection cut mid-message
            self.server.proc.wait()
            self.server.proc.stdout.close()
            self.server.proc.stderr.close()
        else:
            self.server.stop()
        for d in online:
            d.stop()
        self.server = h.Server(self.db)
        self.url = self.server.url
        for d in online:
            d.start()

    OPS_WEIGHTED = [("edit", 20), ("tablet_edit", 12), ("book", 10), ("move", 12), ("cancel", 4),
                    ("staff_location", 8), ("staff_role", 4), ("deactivate", 1), ("revoke", 3), ("offline", 8),
                    ("online", 12), ("restart", 2), ("consent", 6)]

    # ---- quiet points ----

    def expected(self, d):
        if d.revoked or not self.active(d.acc):
            return {}
        return oracle.expected(self.db, d.acc["email"])

    def quiet_point(self, when):
        # every device that is not connected comes online once: it pushes what was
        # edited on it, catches up, or learns that its access was taken away
        # connected devices push their edits by themselves: wait for that first
        for d in self.devices:
            deadline = time.monotonic() + 30
            while d.online() and time.monotonic() < deadline and \
                    "queued edits: 0" not in h.client(d.dir, "status", check=False).stdout:
                time.sleep(0.1)
        # (three rounds: a device signed in again pushes its edits in the second, the
        # third brings the others what was pushed after they synced)
        for _ in range(3):
            for d in self.devices:
                if not d.online():
                    r = h.client(d.dir, "--server", self.url, "--quiet", "sync", "--timeout", "60", check=False,
                                 timeout=120)
                    if r.returncode and os.environ.get("KT_DEBUG"):
                        print("sync %s: %d %s" % (d.name, r.returncode, r.stderr.strip()), flush=True)
            for d in self.devices:
                if d.signed_out and not d.revoked and self.active(d.acc):
                    d.login()  # the person signs in again
        for d in self.devices:
            deadline = time.monotonic() + 60
            while True:
                problem = oracle.diff(self.expected(d), h.cache_rows(d.dir))
                if problem is None:
                    break
                if time.monotonic() > deadline:
                    st = h.client(d.dir, "status", check=False).stdout.replace("\n", "; ")
                    again = h.client(d.dir, "--server", self.url, "sync", check=False)
                    st += " | one more sync: exit %d %s; then: %s" % (again.returncode, again.stderr.strip(),
                                                                      oracle.diff(self.expected(d),
                                                                                  h.cache_rows(d.dir)))
                    self.fail("seed %d, %s, device %s (%s %s, %s): %s [%s]" % (
                        SEED, when, d.name, d.acc["role"], d.acc["email"], "online" if d.online() else "offline",
                        problem, st))
                time.sleep(0.2)

    def test_every_device_holds_exactly_what_its_principal_may_see(self):
        names = [n for n, w in self.OPS_WEIGHTED for _ in range(w)]
        counts = {}
        for i in range(OPS):
            name = self.rnd.choice(names)
            counts[name] = counts.get(name, 0) + 1
            getattr(self, "op_" + name)()
            if (i + 1) % QUIET_EVERY == 0:
                self.quiet_point("after operation %d" % (i + 1))
        self.quiet_point("at the end")
        print("visibility oracle: seed %d passed: %s" % (SEED, ", ".join("%s %d" % kv for kv in sorted(counts.items()))),
              flush=True)
        self.count_rights_log()
        print("visibility oracle: seed %d: rights changes on connected devices: %d sent as a difference, %d as a "
              "snapshot" % (SEED, self.rights_diffs, self.rights_snaps), flush=True)


if __name__ == "__main__":
    h.main()
