"""What the web portal gets from the server, pinned: a signed-in client
receives their appointments (start, duration, status, services,
specialist, location), their visits, the locations that know them with
address, phone and time zone, the names of the services and specialists
those name, their consents, their own card and the organisation row with
its privacy notice, and nothing of anyone else's or of the salon's inner
workings. The owner's privacy notice reaches the open portal live; a
withdrawal pushed from the portal lands in the consent ledger as source
`portal`. Links in mails point at the web app (`/setup#token=`), at the
server's own address when no portal_url is set."""
import email
import email.policy
import glob
import os
import re
import sqlite3
import subprocess
import tempfile
import shutil
import time
import unittest
import uuid

import kt_harness as h

# what the portal may see, table by table (README "Access policy", client column)
CLIENT_FIELDS = {
    "organisation": {"name", "updated_at", "country", "currency", "language", "privacy_notice"},
    "location": {"name", "address", "phone", "time_zone", "updated_at", "closed_at"},
    "staff": {"display_name", "updated_at"},
    "service": {"name", "duration_min", "price_cents", "updated_at"},
    "appointment": {"location_id", "client_id", "specialist_id", "start_at", "duration_min", "services", "status",
                    "client_note", "updated_at"},
    "visit": {"location_id", "client_id", "specialist_id", "appointment_id", "visit_date", "services", "updated_at"},
    "consent": {"client_id", "purpose", "granted", "at", "source", "text_version", "recorded_kind", "updated_at"},
    "client": {"name", "email", "phone", "birthday", "address", "allergies", "conditions", "medications",
               "skin_hair_type", "patch_tests", "preferences", "updated_at"},
    # the branches' opening hours and closed days (a client may call or come by)
    "opening_hours": {"location_id", "weekday", "intervals", "updated_at"},
    "closed_day": {"location_id", "day", "reason", "updated_at"},
}


def uuid7():
    ms = int(time.time() * 1000)
    r = uuid.uuid4().int & ((1 << 74) - 1)
    v = (ms << 80) | (0x7 << 76) | ((r >> 62) << 64) | (0b10 << 62) | (r & ((1 << 62) - 1))
    return str(uuid.UUID(int=v))


def ids(text):
    return sorted(text.split(",")) if text else []


class PortalPeers:
    def sql(self, q, *args):
        con = sqlite3.connect(self.db)
        try:
            return con.execute(q, args).fetchall()
        finally:
            con.close()

    async def synced(self, acc):
        """A signed-in peer with its snapshot: (peer, principal, {(tbl, id): f})."""
        p = await h.Peer(self.server).connect()
        await p.hello()
        ok = await p.login(acc)
        self.assertEqual(ok["t"], "auth_ok", ok)
        await p.send({"t": "sync", "cursor": None})
        got = {}
        while True:
            m = await p.recv(20)
            if m["t"] == "page":
                for r in m["rows"]:
                    got[(r["tbl"], r["id"])] = r["f"]
            elif m["t"] == "synced":
                return p, ok["principal"], got

    async def next_put(self, p, tbl, rid, timeout=10):
        """The f of the next put of (tbl, rid) on p's stream."""
        end = time.monotonic() + timeout
        while True:
            m = await p.recv(max(0.01, end - time.monotonic()))
            for op in m.get("ops", []) if m["t"] == "changes" else []:
                if op["op"] == "put" and op["tbl"] == tbl and op["id"] == rid:
                    return op["f"]


class PortalViewTest(PortalPeers, h.DemoServerTest):
    def test_a_client_receives_what_the_portal_shows_and_nothing_more(self):
        acc = [a for a in self.accounts if a["role"] == "client"][0]

        async def go():
            p, me, got = await self.synced(acc)
            await p.close()
            return me, got
        me, got = h.run(go())
        cid, org = me["id"], me["org"]
        tables = {t for t, _ in got}
        self.assertLessEqual(tables, set(CLIENT_FIELDS), "a table the portal has no business with")
        for (t, rid), f in got.items():
            self.assertEqual(set(f) - CLIENT_FIELDS[t], set(), "%s %s carries more than the portal needs" % (t, rid))

        def rows(t):
            return {rid: f for (tt, rid), f in got.items() if tt == t}

        # their own rows, all of them, and no one else's
        self.assertEqual(set(rows("client")), {cid})
        self.assertEqual(set(rows("appointment")), {r[0] for r in self.sql(
            "SELECT id FROM appointment WHERE client_id = ?", cid)})
        self.assertEqual(set(rows("visit")), {r[0] for r in self.sql("SELECT id FROM visit WHERE client_id = ?", cid)})
        self.assertEqual(set(rows("consent")), {r[0] for r in self.sql(
            "SELECT id FROM consent WHERE client_id = ?", cid)})
        self.assertTrue(rows("appointment") and rows("visit"), "the demo client has no history: the test proves nothing")
        for t in ("appointment", "visit", "consent"):
            self.assertEqual({f["client_id"] for f in rows(t).values()}, {cid})
        self.assertTrue(all("internal_note" not in f for f in rows("appointment").values()))
        for rid, f in rows("appointment").items():
            db = self.server_row("appointment", rid)
            self.assertEqual((f["start_at"], f["duration_min"], f["status"], sorted(f["services"]), f["specialist_id"],
                              f["location_id"]),
                             (db["start_at"], db["duration_min"], db["status"], ids(db["services"]),
                              db["specialist_id"], db["location_id"]))
        for rid, f in rows("visit").items():
            db = self.server_row("visit", rid)
            self.assertEqual((f["visit_date"], sorted(f["services"]), f["specialist_id"], f["location_id"]),
                             (db["visit_date"], ids(db["services"]), db["specialist_id"], db["location_id"]))
        # the locations that know them, with what a phone needs to call or find them
        known = {r[0] for r in self.sql("SELECT location_id FROM client_location WHERE client_id = ?", cid)}
        self.assertEqual(set(rows("location")), known)
        self.assertLessEqual({f["location_id"] for f in rows("appointment").values()}, known)
        for rid, f in rows("location").items():
            db = self.sql("SELECT name, address, phone, time_zone FROM location WHERE id = ?", rid)[0]
            self.assertEqual((f["name"], f["address"], f["phone"], f["time_zone"]), db)
        # every service and specialist their appointments and visits name, by name
        history = list(rows("appointment").values()) + list(rows("visit").values())
        for sid in {s for f in history for s in f["services"]}:
            self.assertEqual(rows("service")[sid]["name"],
                             self.sql("SELECT name FROM service WHERE id = ?", sid)[0][0])
        for pid in {f["specialist_id"] for f in history if f["specialist_id"]}:
            self.assertEqual(rows("staff")[pid], {"display_name": self.sql(
                "SELECT display_name FROM staff WHERE id = ?", pid)[0][0], "updated_at": rows("staff")[pid]["updated_at"]})
        # staff they see are specialists only: no owner, manager or reception names
        roles = {self.sql("SELECT role FROM staff WHERE id = ?", sid)[0][0] for sid in rows("staff")}
        self.assertEqual(roles, {"specialist"})
        # the organisation row: its name, language and the privacy notice
        self.assertEqual(set(rows("organisation")), {org})
        o = rows("organisation")[org]
        name, lang, notice = self.sql("SELECT name, language, privacy_notice FROM organisation WHERE id = ?", org)[0]
        self.assertEqual((o["name"], o["language"], o["privacy_notice"]), (name, lang, notice))
        self.assertIn("Art. 15", o["privacy_notice"])  # the demo's starting notice names the rights

    def test_a_withdrawal_from_the_portal_is_in_the_ledger_as_portal(self):
        acc = [a for a in self.accounts if a["role"] == "client"][2]
        cid = uuid7()

        async def go():
            p, me, _ = await self.synced(acc)
            await p.send({"t": "push", "muts": [{"mid": 1, "tbl": "consent", "id": cid, "op": "create", "base": 0,
                                                 "at": int(time.time() * 1000),
                                                 "f": {"client_id": me["id"], "purpose": "marketing_email",
                                                       "granted": False, "source": "portal",
                                                       "text_version": "mkt-2025-02"}}]})
            # the page hears its own change applied, before or after the answer
            res, back, end = None, None, time.monotonic() + 15
            while res is None or back is None:
                m = await p.recv(max(0.01, end - time.monotonic()))
                res = m if m["t"] == "push_result" else res
                for op in m.get("ops", []) if m["t"] == "changes" else []:
                    if op["op"] == "put" and op["tbl"] == "consent" and op["id"] == cid:
                        back = op["f"]
            await p.close()
            return me, res, back
        me, res, back = h.run(go())
        self.assertEqual(res["results"][0]["status"], "applied", res)
        self.assertEqual((back["granted"], back["source"]), (False, "portal"))
        self.assertEqual(self.sql("SELECT client_id, purpose, granted, source, recorded_kind FROM consent WHERE id = ?",
                                  cid), [(me["id"], "marketing_email", 0, "portal", "client")])


class PrivacyNoticeTest(PortalPeers, h.DemoServerTest):
    def test_the_privacy_notice_reaches_an_open_portal_live(self):
        acc = [a for a in self.accounts if a["role"] == "client"][1]
        owner, manager = h.account(self.accounts, "owner"), h.account(self.accounts, "manager")
        text = "Zasebnost v Studiu Lepota\n\nVaše podatke hranimo 24 mesecev po zadnjem obisku.\n"

        async def manage(acc, **msg):
            p = await h.Peer(self.server).connect()
            await p.hello()
            await p.login(acc)
            await p.send(dict({"t": "manage", "op": "set_privacy_notice"}, **msg))
            m = await p.recv()
            await p.close()
            return m

        async def go():
            c, me, _ = await self.synced(acc)
            refused = [await manage(manager, text=text), await manage(owner, text="a\tb"),
                       await manage(owner, text="x" * (64 * 1024 + 1)), await manage(owner)]
            done = await manage(owner, text=text)
            seen = await self.next_put(c, "organisation", me["org"])
            # the admin command's change reaches it too (another process)
            out = subprocess.run([h.SERVER, "admin", "--db", self.db, "org", "privacy-notice", "--clear"],
                                 capture_output=True, text=True)
            cleared = await self.next_put(c, "organisation", me["org"])
            await c.close()
            return me, refused, done, seen, out, cleared
        me, refused, done, seen, out, cleared = h.run(go())
        self.assertEqual([(m["t"], m["code"]) for m in refused],
                         [("error", "forbidden"), ("error", "invalid"), ("error", "too_large"), ("error", "invalid")])
        self.assertIn("only owners", refused[0]["msg"])
        self.assertIn("control character", refused[1]["msg"])
        self.assertIn("text:", refused[3]["msg"])
        self.assertEqual((done["t"], done["op"], done["id"]), ("manage_result", "set_privacy_notice", me["org"]))
        self.assertEqual(seen["privacy_notice"], text)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("cleared the privacy notice of Studio Lepota", out.stdout)
        self.assertIsNone(cleared["privacy_notice"])
        owner_id = self.sql("SELECT id FROM staff WHERE email = ?", owner["email"])[0][0]
        self.assertEqual(self.sql("SELECT actor_kind, actor_id FROM audit WHERE entity = 'organisation' AND "
                                  "fields LIKE '%privacy_notice%' ORDER BY seq DESC LIMIT 2"),
                         [("operator", None), ("staff", owner_id)])

    def test_the_admin_command_reads_a_file_as_an_editor_writes_it(self):
        path = os.path.join(self.tmp, "notice.txt")

        def admin(*args):
            return subprocess.run([h.SERVER, "admin", "--db", self.db, "org", "privacy-notice"] + list(args),
                                  capture_output=True, text=True)
        with open(path, "wb") as f:
            f.write("\ufeffZasebnost\r\n\r\nDrugi odstavek.\r\n\r\n".encode())
        out = admin("--file", path)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("2 paragraphs", out.stdout)
        self.assertEqual(self.sql("SELECT privacy_notice FROM organisation"), [("Zasebnost\n\nDrugi odstavek.",)])
        self.assertEqual(admin("--show").stdout, "Zasebnost\n\nDrugi odstavek.\n")
        with open(path, "w") as f:
            f.write("One\n\nTwo\twith a tab\n")
        out = admin("--file", path)
        self.assertEqual(out.returncode, 1)
        self.assertIn("line 3 has a control character (U+0009)", out.stderr)
        self.assertEqual(admin("--show", "--clear").returncode, 2)
        self.assertEqual(admin("--file", os.path.join(self.tmp, "missing.txt")).returncode, 1)
        self.assertEqual(self.sql("SELECT privacy_notice FROM organisation"), [("Zasebnost\n\nDrugi odstavek.",)])


class PortalLinkAddressTest(unittest.TestCase):
    """Without portal_url the links point at the server itself, as serve
    recorded it; before any serve ran, setup says so and changes nothing."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kt-portal-link-")
        self.db = os.path.join(self.tmp, "salon.db")
        self.server = None

    def tearDown(self):
        try:
            if self.server:
                self.server.stop()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def cmd(self, *args, stdin=None):
        return subprocess.run([h.SERVER] + list(args), capture_output=True, text=True, input=stdin, timeout=60)

    def link_in_spool(self, to):
        """The link in the spooled mail to `to`, once the server wrote it."""
        end = time.monotonic() + 10
        while time.monotonic() < end:
            for path in glob.glob(os.path.join(self.db + ".spool", "*.eml")):
                with open(path, "rb") as f:
                    msg = email.message_from_bytes(f.read(), policy=email.policy.default)
                if to in str(msg["To"]):
                    m = re.search(r"(\S+)#token=([0-9a-f]{64})\b", msg.get_content())
                    return m.group(1) if m else msg.get_content()
            time.sleep(0.05)
        self.fail("no mail to %s in the spool" % to)

    def test_links_use_the_servers_own_address_unless_portal_url_is_set(self):
        self.assertEqual(self.cmd("init", "--db", self.db).returncode, 0)
        args = ["--business", "Salon Svila", "--country", "AT", "--currency", "EUR", "--language", "de",
                "--location", "Wien", "--time-zone", "Europe/Vienna", "--owner-name", "Eva Berger",
                "--owner-email", "eva@svila.example"]
        out = self.cmd("setup", "--db", self.db, *args, stdin="")
        self.assertEqual(out.returncode, 1, out.stdout)
        self.assertIn("portal_url", out.stderr)
        self.assertIn("nothing was changed", out.stderr)
        con = sqlite3.connect(self.db)
        self.assertEqual(con.execute("SELECT count(*) FROM organisation").fetchone(), (0,))
        con.close()
        out = self.cmd("setup", "--db", self.db, "--password-stdin", *args, stdin="Svila-Wien-2030\n")
        self.assertEqual(out.returncode, 0, out.stderr)
        # the admin commands too, before any serve: they say so and change nothing
        out = self.cmd("admin", "--db", self.db, "client", "create", "--name", "Ana Gruber", "--email",
                       "ana@kunde.example", "--location", "Wien")
        self.assertEqual(out.returncode, 0, out.stderr)
        for cmd in (["portal", "invite", "Ana Gruber"],
                    ["staff", "invite", "--name", "Jana Huber", "--email", "jana@svila.example", "--role",
                     "reception", "--location", "Wien"]):
            out = self.cmd("admin", "--db", self.db, *cmd)
            self.assertEqual(out.returncode, 1, (cmd, out.stdout))
            self.assertIn("set portal_url in the --config file, or start `kartoteka-server serve`", out.stderr)
        con = sqlite3.connect(self.db)
        self.assertEqual(con.execute("SELECT count(*) FROM staff").fetchone(), (1,))  # the owner only
        self.assertEqual(con.execute("SELECT count(*) FROM outbox").fetchone(), (0,))
        con.close()
        self.server = h.Server(self.db)
        out = self.cmd("admin", "--db", self.db, "staff", "invite", "--name", "Jana Huber", "--email",
                       "jana@svila.example", "--role", "reception", "--location", "Wien")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(self.link_in_spool("jana@svila.example"), "http://127.0.0.1:%d/setup" % self.server.port)
        # a configured address wins; an old one naming the setup page is cut to the web app's base
        conf = os.path.join(self.tmp, "serve.conf")
        with open(conf, "w") as f:
            f.write("portal_url = https://portal.svila.example/setup\n")
        out = self.cmd("admin", "--db", self.db, "--config", conf, "staff", "invite", "--name", "Lena Graf",
                       "--email", "lena@svila.example", "--role", "reception", "--location", "Wien")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(self.link_in_spool("lena@svila.example"), "https://portal.svila.example/setup")


if __name__ == "__main__":
    h.main()
