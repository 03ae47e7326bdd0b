"""Client portal accounts and the outbox: setup links sent by staff reach a
real SMTP server on 127.0.0.1 (Debian's python3-aiosmtpd), the client sets
a password with the token from the mail (each password rule refused by
name), signs in with it; reuse, expiry and replaced links are refused;
"forgot password"; change password ends the other sessions; without
smtp_url the mail lands in the spool directory; a dead SMTP server is
retried with backoff until it answers."""
import asyncio
import email
import email.policy
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest
from datetime import datetime
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller

import kt_harness as h

GOOD = "Zimska-Roza-42"


free_port = h.free_port


class Inbox:
    """What the SMTP server received: (envelope from, recipients, message)."""

    def __init__(self):
        self.mails = []
        self.cv = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.SMTP)
        with self.cv:
            self.mails.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
            self.cv.notify_all()
        return "250 OK"

    def wait(self, pred, timeout=10):
        end = time.monotonic() + timeout
        with self.cv:
            while True:
                for m in self.mails:
                    if pred(m):
                        return m
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cv.wait(left)

    def count(self, pred):
        with self.cv:
            return sum(1 for m in self.mails if pred(m))


def smtp_start(inbox, port):
    c = Controller(inbox, hostname="127.0.0.1", port=port)
    c.start()
    return c


def token_of(msg):
    body = msg.get_content() if not msg.is_multipart() else msg.get_payload(0).get_content()
    m = re.search(r"/setup#token=([0-9a-f]{64})\b", body)
    return m.group(1) if m else None


class ConfServer(h.Server):
    """The real server with a serve config file."""

    def __init__(self, db, conf):
        self.db = db
        self.proc = subprocess.Popen([h.SERVER, "serve", "--db", db, "--listen", "127.0.0.1:0", "--config", conf],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on 127.0.0.1:"):
            self.stop()
            raise RuntimeError("server did not start: %r %s" % (line, self.proc.stderr.read()))
        self.port = int(line.strip().rsplit(":", 1)[1])
        self.url = "ws://127.0.0.1:%d/" % self.port
        self.start_drain()


def write_conf(path, **keys):
    with open(path, "w") as f:
        for k, v in keys.items():
            f.write("%s = %s\n" % (k, v))
    return path


class PortalBase(unittest.TestCase):
    """Helpers over a server (cls.server) and its demo accounts."""

    async def arpc(self, msg, acc=None):
        """One message on a fresh connection (signed in as acc when given)."""
        p = await h.Peer(self.server).connect()
        await p.hello()
        if acc:
            ok = await p.login(acc)
            self.assertEqual(ok["t"], "auth_ok", ok)
        await p.send(msg)
        m = await p.recv()
        await p.close()
        return m

    def rpc(self, msg, acc=None):
        return h.run(self.arpc(msg, acc))

    def clients_at(self, location):
        con = sqlite3.connect(self.db)
        rows = [r[0] for r in con.execute(
            "SELECT c.id FROM client c JOIN client_location cl ON cl.client_id = c.id "
            "JOIN location l ON l.id = cl.location_id WHERE l.name = ? AND c.portal_enabled = 0 "
            "AND NOT EXISTS(SELECT 1 FROM client_location o WHERE o.client_id = c.id AND o.location_id != l.id) "
            "ORDER BY c.id", (location,))]
        con.close()
        return rows

    def next_client(self, location="Lepota Maribor", want="ok"):
        """A client of location that was never invited; want='ok': one
        that has an e-mail (the invite is sent), 'no_email': one without."""
        staff = h.account(self.accounts, "reception", location)
        for cid in self.clients_at(location):
            if cid in self.__class__.used:
                continue
            self.__class__.used.add(cid)
            r = self.rpc({"t": "portal_invite", "client": cid}, staff)
            if want == "ok" and r["t"] == "portal_result":
                return cid, r
            if want == "no_email" and r.get("code") == "no_email":
                return cid, r
        self.fail("no suitable client at %s" % location)

    def wait_sent(self, client, timeout=10):
        """The client's newest mail once the worker has recorded it sent
        (the SMTP server or the spool has it a moment before that)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            rows = self.outbox(client)
            if rows and rows[-1][0] == "sent":
                return rows[-1]
            time.sleep(0.05)
        return self.outbox(client)[-1]

    def outbox(self, client):
        con = sqlite3.connect(self.db)
        rows = con.execute("SELECT state, attempts, purpose, length(body) + length(to_addr), last_error FROM outbox "
                           "WHERE client_id = ? ORDER BY id", (client,)).fetchall()
        con.close()
        return rows


class PortalSmtpTest(PortalBase):
    @classmethod
    def setUpClass(cls):
        cls.used = set()
        cls.tmp = tempfile.mkdtemp(prefix="kt-portal-")
        cls.db, cls.accounts = h.demo_db(cls.tmp)
        cls.inbox = Inbox()
        cls.smtp = smtp_start(cls.inbox, free_port())
        conf = write_conf(os.path.join(cls.tmp, "serve.conf"),
                          smtp_url="smtp://127.0.0.1:%d" % cls.smtp.port,
                          smtp_from="Studio Lepota <salon@lepota.example>",
                          portal_url="https://portal.lepota.example/setup",
                          mail_retry_seconds="0.2")
        cls.server = ConfServer(cls.db, conf)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            cls.smtp.stop()
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        # A mail an earlier test queued and did not wait for would arrive
        # after this test's mark and pass for this test's mail: start each
        # test with every queued mail delivered.
        self.assertTrue(self.outbox_idle(), "mail still queued from an earlier test: %r" % self.pending())

    def pending(self):
        con = sqlite3.connect(self.db)
        rows = con.execute("SELECT id, client_id, purpose, state, attempts FROM outbox "
                           "WHERE state IN ('queued', 'sending')").fetchall()
        con.close()
        return rows

    def outbox_idle(self, timeout=10):
        end = time.monotonic() + timeout
        while self.pending():
            if time.monotonic() > end:
                return False
            time.sleep(0.05)
        return True

    def barrier(self):
        """Wait until everything the portal worker and the mail worker were
        given before now is done: a "forgot password" for a freshly invited
        client goes through the same single portal worker (first in, first
        out) and the same outbox (sent in the order queued), so once its
        mail is here, any mail an earlier request queued is here too."""
        _, _, (_, rcpt, _) = self.invite_and_mail()
        mark = len(self.inbox.mails)
        self.assertEqual(self.rpc({"t": "portal_forgot", "email": rcpt[0]}), {"t": "portal_result", "op": "forgot"})
        self.assertIsNotNone(self.mail_for(mark, to=rcpt[0], subject="reset"), "the barrier's mail did not come")

    def mail_for(self, client_invite_time, to=None, subject=None, timeout=10):
        """The newest mail (optionally to `to`, with subject containing
        `subject`) received after the time given."""
        def pred(m):
            return (to is None or to in m[1]) and (subject is None or subject in str(m[2]["Subject"]))
        found = None
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.inbox.cv:
                cand = [m for m in self.inbox.mails[client_invite_time:] if pred(m)]
            if cand:
                found = cand[-1]
                break
            time.sleep(0.05)
        return found

    def invite_and_mail(self, location="Lepota Maribor"):
        mark = len(self.inbox.mails)
        cid, r = self.next_client(location)
        m = self.mail_for(mark)
        self.assertIsNotNone(m, "no setup mail arrived")
        return cid, r, m

    def portal_client(self):
        """A client with a portal password: (client id, e-mail, password)."""
        cid, _, (_, rcpt, msg) = self.invite_and_mail()
        r = self.rpc({"t": "portal_set_password", "token": token_of(msg), "password": GOOD})
        self.assertEqual(r["t"], "portal_result", r)
        return cid, rcpt[0], GOOD

    def test_setup_link_flow(self):
        mark = len(self.inbox.mails)
        cid, r = self.next_client()
        self.assertEqual(r["op"], "invite")
        self.assertEqual(r["client"], cid)
        hours = (r["expires_at"] / 1000 - time.time()) / 3600
        self.assertTrue(71.5 < hours <= 72, hours)
        mail_from, rcpt, msg = self.mail_for(mark)
        self.assertEqual(mail_from, "salon@lepota.example")
        self.assertEqual(len(rcpt), 1)
        self.assertEqual(msg["To"], rcpt[0])
        for head in ("Date", "From", "To", "Subject", "Message-ID"):
            self.assertIsNotNone(msg[head], head)
        # the link's end in the salon's local time, as a person reads it
        body = msg.get_content() if not msg.is_multipart() else msg.get_payload(0).get_content()
        until = datetime.fromtimestamp(r["expires_at"] / 1000, ZoneInfo("Europe/Ljubljana"))
        self.assertIn("until %d %s %d, %s %s." % (until.day, until.strftime("%b"), until.year,
                                                  until.strftime("%H:%M"), until.tzname()), body)
        self.assertEqual(msg.get_content_type(), "text/plain")
        self.assertEqual(msg.get_content_charset(), "utf-8")
        token = token_of(msg)
        self.assertIsNotNone(token)
        # portal_url names the web app; the token rides in the fragment, never sent to a server
        self.assertIn("https://portal.lepota.example/setup#token=" + token, msg.get_content())
        # the stored body no longer holds the token once sent
        row = self.wait_sent(cid)
        self.assertEqual(row[:2], ("sent", 1))
        self.assertEqual(row[3], 0)

        # every rule, by name
        for pw, code in (("Ab1defg", "password_too_short"), ("abcdefg1", "password_no_upper"),
                         ("ABCDEFG1", "password_no_lower"), ("Abcdefgh", "password_no_digit"),
                         ("Password1", "password_common"), ("Qwerty123", "password_common"),
                         ("Čebula1", "password_too_short")):
            e = self.rpc({"t": "portal_set_password", "token": token, "password": pw})
            self.assertEqual(e.get("code"), code, (pw, e))
            self.assertIn("rule", e["msg"])
            self.assertEqual(e["re"], "portal_set_password")
        # a non-ASCII upper-case letter counts
        self.assertEqual(self.rpc({"t": "portal_set_password", "token": token, "password": "Čebula-vrt"})["code"],
                         "password_no_digit")

        ok = self.rpc({"t": "portal_set_password", "token": token, "password": GOOD})
        self.assertEqual(ok, {"t": "portal_result", "op": "set_password", "client": cid})
        # sign in with it: a portal client
        acc = {"email": rcpt[0], "password": GOOD}

        async def login():
            p = await h.Peer(self.server).connect()
            await p.hello()
            m = await p.login(acc)
            await p.close()
            return m
        m = h.run(login())
        self.assertEqual(m["t"], "auth_ok", m)
        self.assertEqual(m["principal"]["kind"], "client")
        self.assertEqual(m["principal"]["id"], cid)
        # the link is used up
        again = self.rpc({"t": "portal_set_password", "token": token, "password": "Another-Pass-77"})
        self.assertEqual(again["code"], "token_used")
        # audited
        con = sqlite3.connect(self.db)
        actions = [r[0] for r in con.execute("SELECT action FROM audit WHERE entity_id = ? ORDER BY seq", (cid,))]
        con.close()
        self.assertIn("portal_invite", actions)
        self.assertIn("portal_password_set", actions)
        # nothing secret in the server's log
        log = "".join(self.server.errlog)
        self.assertNotIn(token, log)
        self.assertNotIn(rcpt[0], log)
        self.assertNotIn(GOOD, log)

    def test_new_link_invalidates_the_old_one(self):
        mark = len(self.inbox.mails)
        cid, _ = self.next_client()
        staff = h.account(self.accounts, "reception", "Lepota Maribor")
        first = self.mail_for(mark)
        mark2 = len(self.inbox.mails)
        self.assertEqual(self.rpc({"t": "portal_invite", "client": cid}, staff)["t"], "portal_result")
        second = self.mail_for(mark2)
        t1, t2 = token_of(first[2]), token_of(second[2])
        self.assertNotEqual(t1, t2)
        self.assertEqual(self.rpc({"t": "portal_set_password", "token": t1, "password": GOOD})["code"],
                         "token_replaced")
        self.assertEqual(self.rpc({"t": "portal_set_password", "token": t2, "password": GOOD})["t"],
                         "portal_result")

    def test_forgot_password(self):
        cid, addr, old = self.portal_client()
        new = "Pomladna-Breza-7"

        async def signed_in_device():
            p = await h.Peer(self.server).connect()
            await p.hello()
            ok = await p.login({"email": addr, "password": old})
            self.assertEqual(ok["t"], "auth_ok")
            return p

        async def go():
            d = await signed_in_device()
            mark = len(self.inbox.mails)
            a = await self.arpc({"t": "portal_forgot", "email": addr.upper()})
            b = await self.arpc({"t": "portal_forgot", "email": "nobody-here@nowhere.example"})
            c = await self.arpc({"t": "portal_forgot", "email": addr})  # within the minute: no second mail
            self.assertEqual(a, {"t": "portal_result", "op": "forgot"})
            self.assertEqual(a, b)
            self.assertEqual(a, c)
            m = await asyncio.get_running_loop().run_in_executor(None, lambda: self.mail_for(mark, to=addr,
                                                                                       subject="reset"))
            self.assertIsNotNone(m, "no reset mail")
            await asyncio.get_running_loop().run_in_executor(None, self.barrier)
            self.assertEqual(self.inbox.count(lambda x: "nobody-here@nowhere.example" in x[1]), 0)
            self.assertEqual(len([x for x in self.inbox.mails[mark:] if addr in x[1]]), 1)
            # the old password works until it is replaced
            r = await self.arpc({"t": "portal_set_password", "token": token_of(m[2]), "password": new})
            self.assertEqual(r["t"], "portal_result", r)
            # the device signed in with the old password is signed out
            first = await d.recv(5)
            self.assertEqual(first.get("code"), "revoked", first)
            self.assertTrue(await d.closed())
        h.run(go())

        async def login(pw):
            p = await h.Peer(self.server).connect()
            await p.hello()
            m = await p.login({"email": addr, "password": pw})
            await p.close()
            return m
        self.assertEqual(h.run(login(old))["code"], "auth_failed")
        self.assertEqual(h.run(login(new))["t"], "auth_ok")

    def test_forgot_after_losing_the_invitation(self):
        """A client who was invited but never chose a password asks for a
        new link; the old one is replaced."""
        cid, _, (_, rcpt, first) = self.invite_and_mail()
        mark = len(self.inbox.mails)
        self.assertEqual(self.rpc({"t": "portal_forgot", "email": rcpt[0]}), {"t": "portal_result", "op": "forgot"})
        m = self.mail_for(mark, to=rcpt[0], subject="reset")
        self.assertIsNotNone(m, "no new link for an invited client")
        self.assertEqual(self.rpc({"t": "portal_set_password", "token": token_of(first), "password": GOOD})["code"],
                         "token_replaced")
        r = self.rpc({"t": "portal_set_password", "token": token_of(m[2]), "password": GOOD})
        self.assertEqual(r, {"t": "portal_result", "op": "set_password", "client": cid})

    def test_forgot_does_not_reset_staff(self):
        staff = h.account(self.accounts, "manager", "Lepota Maribor")
        mark = len(self.inbox.mails)
        self.assertEqual(self.rpc({"t": "portal_forgot", "email": staff["email"]}),
                         {"t": "portal_result", "op": "forgot"})
        self.barrier()
        self.assertEqual(len([m for m in self.inbox.mails[mark:] if staff["email"] in m[1]]), 0)

    def test_change_password_ends_the_other_sessions(self):
        cid, addr, old = self.portal_client()
        new = "Jesenski-List-31"

        async def go():
            a = await h.Peer(self.server).connect()
            await a.hello()
            self.assertEqual((await a.login({"email": addr, "password": old}))["t"], "auth_ok")
            b = await h.Peer(self.server).connect()
            await b.hello()
            self.assertEqual((await b.login({"email": addr, "password": old}))["t"], "auth_ok")
            # wrong old password, weak new one, same as old
            await a.send({"t": "change_password", "old": "Wrong-Guess-1", "new": new})
            self.assertEqual((await a.recv())["code"], "auth_failed")
            await a.send({"t": "change_password", "old": old, "new": "weakpass"})
            self.assertEqual((await a.recv())["code"], "password_no_upper")
            await a.send({"t": "change_password", "old": old, "new": old})
            self.assertEqual((await a.recv())["code"], "invalid")
            await a.send({"t": "change_password", "old": old, "new": new})
            r = await a.recv()
            self.assertEqual(r, {"t": "portal_result", "op": "change_password"})
            m = await b.recv(5)
            self.assertEqual(m.get("code"), "revoked")
            self.assertTrue(await b.closed())
            # a stays signed in
            await a.send({"t": "sync"})
            m = await a.recv()
            self.assertEqual(m["t"], "snapshot_begin", m)
            await a.close()
        h.run(go())

        async def login(pw):
            p = await h.Peer(self.server).connect()
            await p.hello()
            m = await p.login({"email": addr, "password": pw})
            await p.close()
            return m
        self.assertEqual(h.run(login(new))["t"], "auth_ok")
        self.assertEqual(h.run(login(old))["code"], "auth_failed")

    def test_staff_change_password(self):
        acc = dict(h.account(self.accounts, "specialist", "Lepota Center", 1))
        r = self.rpc({"t": "change_password", "old": acc["password"], "new": "Nova-Geslo-2026x"}, acc)
        self.assertEqual(r["t"], "portal_result", r)
        acc["password"] = "Nova-Geslo-2026x"
        r = self.rpc({"t": "sync"}, acc)
        self.assertEqual(r["t"], "snapshot_begin")

    def test_bad_input(self):
        reception = h.account(self.accounts, "reception", "Lepota Maribor")
        other_reception = h.account(self.accounts, "reception", "Lepota Center")
        specialist = h.account(self.accounts, "specialist", "Lepota Maribor")
        cid = self.clients_at("Lepota Maribor")[-1]
        cases = [
            # (message, signed in as, expected code)
            ({"t": "portal_invite"}, reception, "malformed"),
            ({"t": "portal_invite", "client": 5}, reception, "malformed"),
            ({"t": "portal_invite", "client": "not-a-uuid"}, reception, "invalid"),
            ({"t": "portal_invite", "client": "01941f29-0000-7000-8000-000000000000"}, reception, "not_found"),
            ({"t": "portal_invite", "client": cid}, specialist, "forbidden"),
            ({"t": "portal_invite", "client": cid}, other_reception, "forbidden"),
            ({"t": "portal_invite", "client": cid}, None, "unauthenticated"),
            ({"t": "change_password", "old": "x", "new": GOOD}, None, "unauthenticated"),
            ({"t": "change_password", "old": "x"}, reception, "malformed"),
            ({"t": "portal_set_password", "token": "ab" * 32, "password": GOOD}, reception, "bad_state"),
            ({"t": "portal_forgot", "email": "a@b.example"}, reception, "bad_state"),
            ({"t": "portal_forgot"}, None, "malformed"),
            ({"t": "portal_forgot", "email": ["x"]}, None, "malformed"),
            ({"t": "portal_set_password", "token": "ab" * 32}, None, "malformed"),
            ({"t": "portal_set_password", "password": GOOD}, None, "malformed"),
            ({"t": "portal_set_password", "token": "zz", "password": GOOD}, None, "token_invalid"),
            ({"t": "portal_set_password", "token": "ab" * 32, "password": GOOD}, None, "token_invalid"),
            ({"t": "portal_set_password", "token": "a" * 200, "password": GOOD}, None, "too_large"),
            ({"t": "portal_result", "op": "invite"}, None, "unknown_type"),
        ]
        for msg, acc, code in cases:
            r = self.rpc(msg, acc)
            self.assertEqual(r.get("code"), code, (msg, acc and acc["role"], r))
        # a client without an e-mail address
        nid, r = self.next_client(want="no_email")
        self.assertEqual(r["code"], "no_email")
        # a portal client may not invite anyone
        pcid, addr, pw = self.portal_client()
        r = self.rpc({"t": "portal_invite", "client": pcid}, {"email": addr, "password": pw, "role": "client"})
        self.assertEqual(r["code"], "forbidden")
        # the server is still fine
        self.assertTrue(self.server.alive())

    def test_owner_invites_anywhere_manager_only_at_own_locations(self):
        owner = h.account(self.accounts, "owner")
        manager = h.account(self.accounts, "manager", "Lepota Center")
        cid = [c for c in self.clients_at("Lepota Maribor") if c not in self.used][-1]
        self.used.add(cid)
        r = self.rpc({"t": "portal_invite", "client": cid}, manager)
        self.assertEqual(r.get("code"), "forbidden")
        r = self.rpc({"t": "portal_invite", "client": cid}, owner)
        self.assertIn(r.get("t") if r.get("t") == "portal_result" else r.get("code"), ("portal_result", "no_email"))
        if r.get("t") == "portal_result":
            self.assertEqual(self.wait_sent(cid)[0], "sent")


class PortalSpoolTest(PortalBase):
    """No smtp_url: the mail is an .eml file in the spool directory. A tiny
    link lifetime shows expiry; the admin command sends a link too."""

    @classmethod
    def setUpClass(cls):
        cls.used = set()
        cls.tmp = tempfile.mkdtemp(prefix="kt-portal-spool-")
        cls.db, cls.accounts = h.demo_db(cls.tmp)
        cls.spool = os.path.join(cls.tmp, "spool")
        cls.conf = write_conf(os.path.join(cls.tmp, "serve.conf"), spool_dir=cls.spool,
                              setup_token_hours="0.0003")  # about one second
        cls.server = ConfServer(cls.db, cls.conf)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def eml(self, after, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            files = sorted(set(os.listdir(self.spool)) - after) if os.path.isdir(self.spool) else []
            files = [f for f in files if f.endswith(".eml")]
            if files:
                with open(os.path.join(self.spool, files[-1]), "rb") as f:
                    return files[-1], email.message_from_bytes(f.read(), policy=email.policy.SMTP)
            time.sleep(0.05)
        return None, None

    def listing(self):
        return set(os.listdir(self.spool)) if os.path.isdir(self.spool) else set()

    def test_spool_and_expiry(self):
        before = self.listing()
        cid, r = self.next_client()
        name, msg = self.eml(before)
        self.assertIsNotNone(msg, "no .eml in the spool directory")
        self.assertEqual(os.stat(os.path.join(self.spool, name)).st_mode & 0o077, 0)
        self.assertEqual(msg.get_content_type(), "text/plain")
        end = time.monotonic() + 5  # the file is renamed into place just before the line is logged
        while time.monotonic() < end and not any(self.spool in l and name in l for l in self.server.errlog):
            time.sleep(0.05)
        self.assertTrue(any(self.spool in l and name in l for l in self.server.errlog), "path not logged")
        token = token_of(msg)
        # the link lives about a second: wait until the server's clock is past its end
        con = sqlite3.connect(self.db)
        expires_at, = con.execute("SELECT max(expires_at) FROM setup_token WHERE client_id = ?", (cid,)).fetchone()
        con.close()
        while time.time() * 1000 <= expires_at:
            time.sleep(expires_at / 1000 - time.time() + 0.01)
        e = self.rpc({"t": "portal_set_password", "token": token, "password": GOOD})
        self.assertEqual(e.get("code"), "token_expired")

    def test_admin_command_sends_a_link(self):
        before = self.listing()
        cid = [c for c in self.clients_at("Lepota Center") if c not in self.used]
        for c in cid:
            self.used.add(c)
            out = subprocess.run([h.SERVER, "admin", "--db", self.db, "portal", "invite", c],
                                 capture_output=True, text=True)
            if out.returncode == 0:
                break
            self.assertIn("no e-mail", out.stderr)
        self.assertIn("setup link queued", out.stdout)
        self.assertNotRegex(out.stdout, r"[0-9a-f]{64}")
        name, msg = self.eml(before)
        self.assertIsNotNone(msg)
        self.assertEqual(self.wait_sent(c)[0], "sent")
        # the admin command's link lives 72 h (it did not get the tiny config)
        r = self.rpc({"t": "portal_set_password", "token": token_of(msg), "password": GOOD})
        self.assertEqual(r["t"], "portal_result", r)
        bad = subprocess.run([h.SERVER, "admin", "--db", self.db, "portal", "invite", "nope"],
                             capture_output=True, text=True)
        self.assertEqual(bad.returncode, 2)
        # the operator's view of the outbox: states, never addresses or bodies
        out = subprocess.run([h.SERVER, "admin", "--db", self.db, "portal", "outbox"], capture_output=True,
                             text=True, check=True).stdout
        self.assertIn("portal_setup\tsent\t1", out)
        self.assertNotIn("@", out)
        self.assertNotIn("token=", out)


class PortalSmtpDownTest(PortalBase):
    """The SMTP server is down: the mail is retried with backoff and
    delivered once it is up; with few attempts allowed it ends 'failed'."""

    @classmethod
    def setUpClass(cls):
        cls.used = set()
        cls.tmp = tempfile.mkdtemp(prefix="kt-portal-down-")
        cls.db, cls.accounts = h.demo_db(cls.tmp)
        cls.port = free_port()
        conf = write_conf(os.path.join(cls.tmp, "serve.conf"), smtp_url="smtp://127.0.0.1:%d" % cls.port,
                          mail_retry_seconds="0.25", mail_max_attempts="6")
        cls.server = ConfServer(cls.db, conf)
        cls.smtp = None

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            if cls.smtp:
                cls.smtp.stop()
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def wait_outbox(self, cid, pred, timeout=15):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            rows = self.outbox(cid)
            if rows and pred(rows[-1]):
                return rows[-1]
            time.sleep(0.05)
        return self.outbox(cid)[-1]

    def test_retried_until_the_smtp_server_is_up(self):
        cid, _ = self.next_client()
        row = self.wait_outbox(cid, lambda r: r[1] >= 2)
        self.assertEqual(row[0], "queued")
        self.assertGreaterEqual(row[1], 2)
        self.assertTrue(row[4])  # last_error recorded
        inbox = Inbox()
        self.__class__.smtp = smtp_start(inbox, self.port)
        m = inbox.wait(lambda m: True, timeout=15)
        self.assertIsNotNone(m, "not delivered after the SMTP server came up")
        self.assertIsNotNone(token_of(m[2]))
        row = self.wait_outbox(cid, lambda r: r[0] == "sent")
        self.assertEqual(row[0], "sent")


class PortalSmtpGivesUpTest(PortalBase):
    @classmethod
    def setUpClass(cls):
        cls.used = set()
        cls.tmp = tempfile.mkdtemp(prefix="kt-portal-fail-")
        cls.db, cls.accounts = h.demo_db(cls.tmp)
        conf = write_conf(os.path.join(cls.tmp, "serve.conf"), smtp_url="smtp://127.0.0.1:%d" % free_port(),
                          mail_retry_seconds="0.1", mail_max_attempts="3")
        cls.server = ConfServer(cls.db, conf)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_forgot_is_throttled_per_address(self):
        async def go():
            p = await h.Peer(self.server).connect()
            await p.hello()
            answers = []
            for i in range(11):
                await p.send({"t": "portal_forgot", "email": "someone%d@nowhere.example" % i})
                answers.append(await p.recv())
            await p.close()
            return answers
        answers = h.run(go())
        self.assertEqual(answers[:10], [{"t": "portal_result", "op": "forgot"}] * 10)
        self.assertEqual(answers[10]["code"], "throttled")

    def test_failed_after_the_last_attempt(self):
        cid, _ = self.next_client()
        end = time.monotonic() + 10
        while time.monotonic() < end and self.outbox(cid)[-1][0] != "failed":
            time.sleep(0.05)
        state, attempts, purpose, body_len, err = self.outbox(cid)[-1]
        self.assertEqual((state, attempts, purpose), ("failed", 3, "portal_setup"))
        self.assertEqual(body_len, 0)  # the address and the live token are wiped
        self.assertIn("smtp", err)


if __name__ == "__main__":
    h.main()
