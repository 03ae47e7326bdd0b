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
                    "client_note", "updated_at", "specialist_name", "service_names"},
    "visit": {"location_id", "client_id", "specialist_id", "appointment_id", "visit_date", "services", "updated_at",
              "specialist_name", "service_names"},
    "consent": {"client_id", "purpose", "granted", "at", "source", "text_version", "recorded_kind", "updated_at"},
    "client": {"name", "email", "phone", "birthday", "address", "language", "allergies", "conditions", "medications",
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
        return p, ok["principal"], await p.snapshot()

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


class HistoryNamesTest(PortalPeers, h.DemoServerTest):
    """Past visits keep who did them and what was done, by name, on the row
    itself: the specialist may leave or be renamed, a service may stop being
    offered at the client's branches, and the portal's history still reads
    (PROTOCOL.md §7, specialist_name and service_names)."""

    async def pushed(self, acc, muts):
        p = await self.signed_in(acc)
        await p.send({"t": "push", "muts": muts})
        m, _ = await p.recv_until("push_result", 15)
        await p.close()
        return [r["status"] for r in m["results"]], m

    async def manage(self, acc, **msg):
        p = await self.signed_in(acc)
        await p.send(dict({"t": "manage"}, **msg))
        m = await p.recv()
        await p.close()
        return m

    def test_past_visits_keep_the_specialist_and_services_by_name(self):
        owner = h.account(self.accounts, "owner")
        acc = [a for a in self.accounts if a["role"] == "client"][0]
        async def who():
            p, me, _ = await self.synced(acc)
            await p.close()
            return me["id"]
        cid = h.run(who())
        vid, spec, appt = self.sql("SELECT id, specialist_id, appointment_id FROM visit WHERE client_id = ? "
                                   "ORDER BY visit_date LIMIT 1", cid)[0]
        self.assertIsNotNone(vid, "the demo client has no visit: the test proves nothing")
        old_name = self.sql("SELECT display_name FROM staff WHERE id = ?", spec)[0][0]
        menu = self.sql("SELECT id, name FROM service WHERE coalesce(location_ids, '') <> '' ORDER BY name")
        (s1, _), (s2, n2) = menu[1], menu[0]  # deliberately not in the menu's order
        n1 = "Striženje, pranje in fen"  # a comma in a name stays inside its element

        async def go():
            v1 = self.sql("SELECT version FROM service WHERE id = ?", s1)[0][0]
            named = await self.pushed(owner, [{"mid": 5, "tbl": "service", "id": s1, "op": "update", "base": v1,
                                               "at": 1, "f": {"name": n1}}])
            self.assertEqual(named[0], ["applied"], named)
            c, _, _ = await self.synced(acc)
            version = self.sql("SELECT version FROM visit WHERE id = ?", vid)[0][0]
            edit = await self.pushed(owner, [{"mid": 1, "tbl": "visit", "id": vid, "op": "update", "base": version,
                                              "at": 1, "f": {"services": [s1, s2]}}])
            live = await self.next_put(c, "visit", vid)
            # the specialist is renamed, then leaves; the first service moves to a branch the client does not know
            sv = self.sql("SELECT version FROM staff WHERE id = ?", spec)[0][0]
            rename = await self.pushed(owner, [{"mid": 2, "tbl": "staff", "id": spec, "op": "update", "base": sv,
                                                "at": 1, "f": {"display_name": "Renamed Later"}}])
            made = await self.manage(owner, op="create_location", name="Podružnica Sever",
                                     time_zone="Europe/Ljubljana")
            gone = await self.manage(owner, op="deactivate_staff", id=spec)
            v1 = self.sql("SELECT version FROM service WHERE id = ?", s1)[0][0]
            moved = await self.pushed(owner, [{"mid": 3, "tbl": "service", "id": s1, "op": "update", "base": v1,
                                               "at": 1, "f": {"location_ids": [made.get("id")]}}])
            # a later edit of the visit still carries the names it was written with
            version = self.sql("SELECT version FROM visit WHERE id = ?", vid)[0][0]
            later = await self.pushed(owner, [{"mid": 4, "tbl": "visit", "id": vid, "op": "update", "base": version,
                                               "at": 1, "f": {"visit_date": "2030-03-04"}}])
            after = await self.next_put(c, "visit", vid)
            await c.close()
            fresh = await self.synced(acc)
            await fresh[0].close()
            return edit, live, rename, made, gone, moved, later, after, fresh[2]
        edit, live, rename, made, gone, moved, later, after, snap = h.run(go())
        self.assertEqual([edit[0], rename[0], moved[0], later[0]], [["applied"]] * 4,
                         (edit, rename, moved, later))
        self.assertEqual((made["t"], gone["t"]), ("manage_result", "manage_result"), (made, gone))
        # the portal sees the change live, with the names of now, in the order of services
        self.assertEqual((live["specialist_name"], live["service_names"]), (old_name, [n1, n2]))
        # after the specialist left and the service moved away, neither is in the client's view any more...
        self.assertNotIn(("staff", spec), snap)
        self.assertNotIn(("service", s1), snap)
        # ...and the visit still says who did it and what was done, live and in a fresh snapshot;
        # the rename does not rewrite history
        for f in (after, snap[("visit", vid)]):
            self.assertEqual((f["specialist_id"], f["specialist_name"], f["services"], f["service_names"]),
                             (spec, old_name, [s1, s2], [n1, n2]))
        self.assertEqual(snap[("visit", vid)]["visit_date"], "2030-03-04")
        # the appointment of the visit too (written by the demo data, never edited since)
        if appt:
            a = snap[("appointment", appt)]
            db = self.server_row("appointment", appt)
            names = {r[0]: r[1] for r in self.sql("SELECT id, name FROM service")}
            self.assertEqual(a["specialist_name"], old_name if db["specialist_id"] == spec else
                             self.sql("SELECT display_name FROM staff WHERE id = ?", db["specialist_id"])[0][0])
            self.assertEqual(a["service_names"], [names[s] for s in ids_in_order(db["services"])])
        # every appointment and visit of theirs names its specialist and services
        for (t, rid), f in snap.items():
            if t in ("appointment", "visit"):
                self.assertTrue(f["specialist_name"], (t, rid))
                self.assertEqual(len(f["service_names"]), len(f["services"]), (t, rid))


def ids_in_order(text):
    return text.split(",") if text else []


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
