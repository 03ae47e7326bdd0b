"""Delivery of the outbox, exactly once (server/domain/mail.c, outbox.c,
sms.c): the real server and libcurl against a local SMTP server (Debian's
python3-aiosmtpd) and a fake SMS gateway (http.server on 127.0.0.1).

- hundreds of mails drain over a few pooled SMTP connections, each with its
  stable Message-ID (from the idempotency key) and RFC 8058 headers;
- kill -9 while the outbox drains, then restart: nothing arrives twice,
  everything else arrives, at most the message in flight is 'unknown';
- two server processes on one database drain it together, no duplicates;
- SMS: the gateway gets the JSON (escaped) with the auth header; 429 and
  500 are retried, 400 fails for good; quiet hours hold an SMS;
- the daily cap moves reminders to the next local day (confirmations go);
- consent withdrawn between planning and sending drops the message.

The kill -9 test drains two real campaigns of the planner (`admin message
campaign`); the other messages are put into the outbox table as the planner
would, as plain rows (kinds, channels and times a test needs: this file
tests delivery)."""
import asyncio
import collections
import email
import email.policy
import hashlib
import http.server
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller

import kt_harness as h


free_port = h.free_port


def wait_for(pred, timeout=15, what="condition"):
    """Poll pred (a database or inbox look) until it holds."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.02)


class Inbox:
    """What the SMTP server received; connections counted by peer."""

    def __init__(self, delay=0.0):
        self.mails = []
        self.peers = set()
        self.delay = delay
        self.cv = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.SMTP)
        with self.cv:
            self.mails.append((list(envelope.rcpt_tos), msg))
            self.peers.add(session.peer)
            self.cv.notify_all()
        return "250 OK"

    def count(self):
        with self.cv:
            return len(self.mails)

    def ids(self):
        with self.cv:
            return [m["Message-ID"] for _, m in self.mails]


class Gateway(http.server.ThreadingHTTPServer):
    """A fake SMS gateway: records each request; answers by the number
    (script: to -> list of status codes, the last repeats)."""

    def __init__(self):
        self.requests = []
        self.script = {}
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), GatewayHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def got(self, to):
        with self.lock:
            return [r for r in self.requests if r["json"].get("to") == to]


class GatewayHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        doc = json.loads(body)
        gw = self.server
        with gw.lock:
            n = len([r for r in gw.requests if r["json"].get("to") == doc.get("to")])
            codes = gw.script.get(doc.get("to"), [200])
            code = codes[min(n, len(codes) - 1)]
            gw.requests.append({"json": doc, "auth": self.headers.get("Authorization"),
                                "type": self.headers.get("Content-Type"), "code": code})
        out = b'{"ok":true}' if code < 300 else b'{"error":"x"}'
        self.send_response(code)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *a):
        pass


class ConfServer(h.Server):
    """The real server with a serve config file."""

    def __init__(self, db, conf):
        self.db = db
        self.errlog = []
        self.proc = subprocess.Popen([h.SERVER, "serve", "--db", db, "--listen", "127.0.0.1:0", "--config", conf],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on 127.0.0.1:"):
            self.stop()
            raise RuntimeError("server did not start: %r %s" % (line, self.proc.stderr.read()))
        self.port = int(line.strip().rsplit(":", 1)[1])
        self.url = "ws://127.0.0.1:%d/" % self.port
        self.start_drain()

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.drainer.join(5)
        self.proc.stdout.close()


def write_conf(path, **keys):
    with open(path, "w") as f:
        for k, v in keys.items():
            f.write("%s = %s\n" % (k, v))
    return path


def now_ms():
    return int(time.time() * 1000)


class Db:
    """The outbox as the planner fills it, and what the server made of it."""

    def __init__(self, path):
        self.path = path

    def con(self):
        c = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        c.execute("PRAGMA busy_timeout=10000")
        return c

    def one(self, sql, *args):
        c = self.con()
        try:
            return c.execute(sql, args).fetchone()
        finally:
            c.close()

    def all(self, sql, *args):
        c = self.con()
        try:
            return c.execute(sql, args).fetchall()
        finally:
            c.close()

    def queue(self, rows):
        """rows: dicts with kind, to, and optionally channel, client,
        consent, idem, location, headers, body, subject, due."""
        c = self.con()
        org = c.execute("SELECT id FROM organisation LIMIT 1").fetchone()[0]
        ids = []
        try:
            c.execute("BEGIN IMMEDIATE")
            for r in rows:
                cur = c.execute(
                    "INSERT INTO outbox(org_id, client_id, purpose, channel, to_addr, subject, body, extra_headers, "
                    "state, attempts, next_at, created_at, idem_key, location_id, consent_purpose) "
                    "VALUES(?,?,?,?,?,?,?,?,'queued',0,?,?,?,?,?)",
                    (org, r.get("client"), r["kind"], r.get("channel", "email"), r["to"], r.get("subject", "Novice"),
                     r.get("body", "Zdravo!\nLep pozdrav"), r.get("headers"), r.get("due", now_ms()), now_ms(),
                     r.get("idem"), r.get("location"), r.get("consent")))
                ids.append(cur.lastrowid)
            c.execute("COMMIT")
        finally:
            c.close()
        return ids

    def states(self, ids):
        q = "SELECT id, state FROM outbox WHERE id IN (%s)" % ",".join(str(i) for i in ids)
        return dict(self.all(q))


class Base(unittest.TestCase):
    @classmethod
    def make(cls, prefix, **conf):
        cls.tmp = tempfile.mkdtemp(prefix=prefix)
        cls.dbpath, cls.accounts = h.demo_db(cls.tmp)
        cls.db = Db(cls.dbpath)
        cls.spool = os.path.join(cls.tmp, "spool")
        cls.conf = write_conf(os.path.join(cls.tmp, "serve.conf"), spool_dir=cls.spool, mail_retry_seconds="0.2",
                              portal_url="https://salon.example",
                              smtp_from="Studio Lepota <salon@lepota.example>", **conf)
        cls.servers = []
        cls.org = cls.db.one("SELECT id FROM organisation LIMIT 1")[0]
        cls.location, cls.zone = cls.db.one("SELECT id, time_zone FROM location ORDER BY rowid LIMIT 1")
        # a few clients of the demo salon (ids are not sealed)
        cls.clients = [r[0] for r in cls.db.all("SELECT id FROM client ORDER BY id LIMIT 6")]

    def start(self):
        s = ConfServer(self.dbpath, self.conf)
        self.servers.append(s)
        return s

    @classmethod
    def tearDownClass(cls):
        try:
            for s in cls.servers:
                if s.alive():
                    s.stop()
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def settings(self, quiet_from, quiet_to, cap=3):
        c = self.db.con()
        c.execute("INSERT INTO message_settings(org_id, quiet_from, quiet_to, daily_cap) VALUES(?,?,?,?) "
                  "ON CONFLICT(org_id) DO UPDATE SET quiet_from = excluded.quiet_from, quiet_to = excluded.quiet_to, "
                  "daily_cap = excluded.daily_cap", (self.org, quiet_from, quiet_to, cap))
        c.close()

    def quiet_elsewhere(self):
        """Quiet hours that do not cover now (the default 21-08 would at night)."""
        t = datetime.now(ZoneInfo(self.zone))
        self.settings((t + timedelta(hours=3)).strftime("%H:%M"), (t + timedelta(hours=4)).strftime("%H:%M"))

    def drained(self, ids):
        st = self.db.states(ids)
        return all(s not in ("queued", "sending") for s in st.values()) and st

    def admin(self, *args):
        out = subprocess.run([h.SERVER, "admin", "--db", self.dbpath] + list(args), capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout


class SmtpTest(Base):
    """One SMTP server, one kartoteka server."""

    @classmethod
    def setUpClass(cls):
        cls.inbox = Inbox()
        cls.smtp = Controller(cls.inbox, hostname="127.0.0.1", port=free_port())
        cls.smtp.start()
        cls.make("kt-delivery-smtp-", smtp_url="smtp://127.0.0.1:%d" % cls.smtp.port)

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.smtp.stop()

    def setUp(self):
        if not self.servers:
            self.start()
        self.quiet_elsewhere()

    def test_drains_over_pooled_connections_with_stable_ids_and_unsubscribe_headers(self):
        before = self.inbox.count()
        peers_before = set(self.inbox.peers)
        rows = [{"kind": "campaign", "to": "c%d@example.net" % i, "idem": "campaign:pool:%d" % i,
                 "headers": "List-Unsubscribe: <https://salon.example/l/tok%d>\n"
                            "List-Unsubscribe-Post: List-Unsubscribe=One-Click" % i} for i in range(300)]
        ids = self.db.queue(rows)
        wait_for(lambda: self.inbox.count() >= before + 300, what="300 mails")
        st = wait_for(lambda: self.drained(ids), what="all marked")
        self.assertEqual(set(st.values()), {"sent"})
        got = {r[0]: m for r, m in self.inbox.mails[before:]}
        self.assertEqual(len(got), 300)
        m = got["c7@example.net"]
        self.assertEqual(m["List-Unsubscribe"], "<https://salon.example/l/tok7>")
        self.assertEqual(m["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
        mids = [m["Message-ID"] for m in got.values()]
        self.assertEqual(len(set(mids)), 300)
        self.assertTrue(all(x.endswith("@lepota.example>") and "campaign" not in x for x in mids), mids[:3])
        # pooled: a handful of connections, not one per mail
        self.assertLessEqual(len(self.inbox.peers - peers_before), 3, "SMTP connections were not reused")
        # the bodies and addresses of sent rows are wiped
        self.assertEqual(self.db.one("SELECT count(*) FROM outbox WHERE id IN (%s) AND (to_addr <> '' OR body <> '' "
                                     "OR extra_headers IS NOT NULL)" % ",".join(map(str, ids)))[0], 0)

    def test_bad_extra_header_fails_without_sending(self):
        before = self.inbox.count()
        ids = self.db.queue([{"kind": "campaign", "to": "h@example.net", "idem": "campaign:hdr:1",
                              "headers": "Bcc: all@evil.example"},
                             {"kind": "campaign", "to": "h2@example.net", "idem": "campaign:hdr:2"}])
        st = wait_for(lambda: self.drained(ids), what="both done")
        self.assertEqual(st[ids[0]], "failed")
        self.assertEqual(st[ids[1]], "sent")
        self.assertNotIn("h@example.net", [r[0] for r, _ in self.inbox.mails[before:]])

    def test_daily_cap_moves_reminders_to_the_next_local_day(self):
        client = self.clients[0]
        rows = [{"kind": "confirmation", "to": "cap@example.net", "client": client, "idem": "confirmation:cap%d" % i}
                for i in range(2)]
        rows += [{"kind": "reminder", "to": "cap@example.net", "client": client, "idem": "reminder:cap%d" % i,
                  "location": self.location} for i in range(4)]
        ids = self.db.queue(rows)
        wait_for(lambda: sum(1 for s in self.db.states(ids).values() if s == "sent") >= 3, what="3 sent")
        # the rest were looked at in the same claim: they stay queued for tomorrow
        st = wait_for(lambda: self.db.one("SELECT count(*) FROM outbox WHERE id IN (%s) AND state = 'queued' AND "
                                          "next_at > ?" % ",".join(map(str, ids)), now_ms() + 60000)[0] == 3
                      and self.db.states(ids), what="3 held")
        self.assertEqual([st[i] for i in ids[:2]], ["sent", "sent"])  # confirmations always go
        self.assertEqual(sorted(st[i] for i in ids[2:]), ["queued", "queued", "queued", "sent"])
        due = self.db.one("SELECT min(next_at) FROM outbox WHERE id IN (%s) AND state = 'queued'"
                          % ",".join(map(str, ids)))[0]
        tz = ZoneInfo(self.zone)
        local_due = datetime.fromtimestamp(due / 1000, tz)
        self.assertEqual(local_due.date(), datetime.now(tz).date() + timedelta(days=1))
        self.assertEqual(local_due.strftime("%H:%M"),
                         self.db.one("SELECT quiet_to FROM message_settings WHERE org_id = ?", self.org)[0])
        out = self.admin("outbox", "list", "--state", "queued", "--limit", "5")
        self.assertIn("reminder", out)
        self.assertIn("email", out)

    def test_consent_withdrawn_between_planning_and_sending_drops_it(self):
        client = self.clients[1]
        self.admin("consent", client, "marketing_email", "grant", "--text-version", "v1")
        self.admin("consent", client, "birthday_greetings", "withdraw", "--text-version", "v1")
        due = now_ms() + 3_600_000  # planned for later
        ids = self.db.queue([{"kind": "campaign", "to": "w@example.net", "client": client, "consent": "marketing_email",
                              "idem": "campaign:w:1", "due": due},
                             {"kind": "birthday", "to": "w@example.net", "client": client,
                              "consent": "birthday_greetings", "idem": "birthday:w:2027"}])
        # the birthday greeting has no consent (withdrawn before it was planned,
        # by a planner that had not seen it): dropped when it is sent
        st = wait_for(lambda: self.db.states(ids)[ids[1]] == "dropped" and self.db.states(ids), what="dropped")
        self.assertEqual(self.db.one("SELECT drop_reason, body FROM outbox WHERE id = ?", ids[1]),
                         ("consent_withdrawn", ""))
        self.assertEqual(st[ids[0]], "queued")
        self.admin("consent", client, "marketing_email", "withdraw", "--text-version", "v1")
        self.assertEqual(self.db.one("SELECT state, drop_reason FROM outbox WHERE id = ?", ids[0]),
                         ("dropped", "consent_withdrawn"))
        # and a row planned by a process that had not seen the withdrawal
        late = self.db.queue([{"kind": "campaign", "to": "w@example.net", "client": client,
                               "consent": "marketing_email", "idem": "campaign:w:late"}])
        wait_for(lambda: self.db.states(late)[late[0]] == "dropped", what="late one dropped")
        self.assertNotIn("w@example.net", [r[0] for r, _ in self.inbox.mails])


class CrashTest(Base):
    """kill -9 while 400 mails drain; then a restart; then two processes."""

    @classmethod
    def setUpClass(cls):
        cls.inbox = Inbox(delay=0.003)
        cls.smtp = Controller(cls.inbox, hostname="127.0.0.1", port=free_port())
        cls.smtp.start()
        cls.make("kt-delivery-crash-", smtp_url="smtp://127.0.0.1:%d" % cls.smtp.port)

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.smtp.stop()

    def check_once(self, ids, tag):
        st = wait_for(lambda: self.drained(ids), timeout=20, what="drained")
        got = [m for r, m in self.inbox.mails if r[0].startswith(tag)]
        mids = [m["Message-ID"] for m in got]
        self.assertEqual(len(mids), len(set(mids)), "a message arrived twice")
        to = {r[0] for r, m in self.inbox.mails if r[0].startswith(tag)}
        return st, to

    def test_kill9_while_draining_sends_nothing_twice(self):
        # two real campaigns of the planner (admin message campaign): every
        # client with marketing e-mail consent, twice, with unsubscribe links
        body = os.path.join(self.tmp, "campaign.txt")
        with open(body, "w") as f:
            f.write("Zdravo {first_name}!\nNovosti v {salon}.\nOdjava: {unsubscribe_link}\n")
        for subject in ("Jesen", "Zima"):
            self.admin("--config", self.conf, "message", "campaign", "--file", body, "--subject", subject)
        rows = self.db.all("SELECT id, idem_key FROM outbox WHERE purpose = 'campaign' AND state = 'queued'")
        self.assertGreater(len(rows), 300)
        ids = [r[0] for r in rows]
        # the Message-ID each row must have: a keyed BLAKE2b of its idempotency key
        mid = {i: "<%s@lepota.example>" % hashlib.blake2b(k.encode(), digest_size=16,
                                                            key=b"kartoteka-msgid").hexdigest() for i, k in rows}
        before = self.inbox.count()
        s = self.start()
        wait_for(lambda: self.inbox.count() >= before + 100, what="100 mails")
        s.kill9()
        in_flight = self.db.one("SELECT count(*) FROM outbox WHERE state = 'sending'")[0]
        s2 = self.start()
        st = wait_for(lambda: self.drained(ids), timeout=20, what="drained")
        got = collections.Counter(self.inbox.ids()[before:])
        self.assertEqual([m for m, n in got.items() if n > 1], [], "a message arrived twice")
        self.assertEqual(set(got) - set(mid.values()), set())
        unknown = [i for i, v in st.items() if v == "unknown"]
        self.assertEqual(set(st.values()) - {"sent", "unknown"}, set())
        self.assertLessEqual(len(unknown), 1, "more than the message in flight is unknown")
        self.assertLessEqual(len(unknown), in_flight)
        for i, v in st.items():  # every sent one arrived; an unknown one may or may not have
            if v == "sent":
                self.assertEqual(got[mid[i]], 1, i)
        m = next(m for _, m in self.inbox.mails[before:])
        self.assertRegex(m["List-Unsubscribe"], r"^<https://salon\.example/l/[^>]+>$")
        self.assertEqual(m["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
        if unknown:
            self.assertTrue(any("'unknown'" in l for l in s2.errlog), s2.errlog)
            out = self.admin("outbox", "list", "--state", "unknown")
            self.assertIn(str(unknown[0]), out)
            self.assertIn("campaign", out)
            # the operator's resend: the same Message-ID, so mail programs show it once
            self.admin("outbox", "resend", str(unknown[0]))
            wait_for(lambda: self.db.states(unknown)[unknown[0]] == "sent", what="resent")
            self.assertEqual(self.inbox.ids()[-1], mid[unknown[0]])
        bad = subprocess.run([h.SERVER, "admin", "--db", self.dbpath, "outbox", "resend", str(ids[0])],
                             capture_output=True, text=True)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("only an 'unknown' one", bad.stderr)
        s2.stop()
        self.servers.remove(s2)

    def test_two_processes_drain_one_database_without_duplicates(self):
        ids = self.db.queue([{"kind": "campaign", "to": "two-%d@example.net" % i, "idem": "campaign:two:%d" % i}
                             for i in range(400)])
        a, b = self.start(), self.start()
        st, to = self.check_once(ids, "two-")
        self.assertEqual(set(st.values()), {"sent"})
        self.assertEqual(len(to), 400)
        workers = self.db.one("SELECT count(DISTINCT claimed_by) FROM outbox WHERE id IN (%s)"
                              % ",".join(map(str, ids)))[0]
        self.assertEqual(workers, 2, "both processes should have sent some")
        a.stop()
        b.stop()
        self.servers.remove(a)
        self.servers.remove(b)


class SmsTest(Base):
    """The fake gateway; then the spool without one."""

    AUTH = "Bearer test-key-123"

    @classmethod
    def setUpClass(cls):
        cls.gw = Gateway()
        cls.make("kt-delivery-sms-", sms_url="http://127.0.0.1:%d/send" % cls.gw.server_address[1],
                 sms_auth_header="Authorization: " + cls.AUTH, sms_from="Lepota",
                 sms_body='{"to":"{to}","text":"{text}","from":"{from}","ref":"{ref}","kind":"sms"}')

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.gw.shutdown()

    def setUp(self):
        if not self.servers:
            self.start()
        self.quiet_elsewhere()

    def test_gateway_gets_escaped_json_with_auth_and_retries(self):
        text = 'Zdravo "Ana",\njutri ob 9:00 \\ Šalon\t✓'
        self.gw.script = {"+38640000002": [429, 200], "+38640000003": [500, 200], "+38640000004": [400]}
        ids = self.db.queue([{"kind": "reminder", "channel": "sms", "to": "+3864000000%d" % i, "body": text,
                              "idem": "reminder:sms%d:1" % i, "location": self.location} for i in range(1, 5)])
        st = wait_for(lambda: self.drained(ids), what="sms done")
        self.assertEqual([st[i] for i in ids], ["sent", "sent", "sent", "failed"])
        r = self.gw.got("+38640000001")
        self.assertEqual(len(r), 1)
        self.assertEqual(r[0]["json"]["text"], text)
        self.assertEqual(r[0]["json"]["from"], "Lepota")
        self.assertEqual(r[0]["json"]["kind"], "sms")
        self.assertRegex(r[0]["json"]["ref"], "^[0-9a-f]{32}$")
        self.assertEqual(r[0]["auth"], self.AUTH)
        self.assertEqual(r[0]["type"], "application/json")
        self.assertEqual([x["code"] for x in self.gw.got("+38640000002")], [429, 200])
        self.assertEqual([x["code"] for x in self.gw.got("+38640000003")], [500, 200])
        self.assertEqual([x["code"] for x in self.gw.got("+38640000004")], [400])  # not retried
        self.assertEqual(self.db.one("SELECT last_error FROM outbox WHERE id = ?", ids[3])[0],
                         "sms gateway: HTTP 400")
        logs = "".join(self.servers[0].errlog)
        self.assertNotIn("test-key-123", logs)
        self.assertNotIn("+3864000000", logs)
        self.assertNotIn("Zdravo", logs)

    def test_quiet_hours_hold_an_sms_to_their_end(self):
        t = datetime.now(ZoneInfo(self.zone))
        qf, qt = (t - timedelta(hours=1)).strftime("%H:%M"), (t + timedelta(hours=2)).strftime("%H:%M")
        self.settings(qf, qt)
        ids = self.db.queue([{"kind": "reminder", "channel": "sms", "to": "+38640000009", "idem": "reminder:quiet:1",
                              "location": self.location},
                             {"kind": "reminder", "to": "quiet@example.net", "idem": "reminder:quiet:2",
                              "location": self.location}])
        # the e-mail goes (spool: no smtp_url here); the SMS waits for the end of the quiet hours
        wait_for(lambda: self.db.states(ids)[ids[1]] == "sent", what="mail sent")
        wait_for(lambda: self.db.one("SELECT next_at FROM outbox WHERE id = ?", ids[0])[0] > now_ms() + 3_600_000,
                 what="sms held")
        state, due = self.db.one("SELECT state, next_at FROM outbox WHERE id = ?", ids[0])
        self.assertEqual(state, "queued")
        self.assertEqual(datetime.fromtimestamp(due / 1000, ZoneInfo(self.zone)).strftime("%H:%M"), qt)
        self.assertEqual(self.gw.got("+38640000009"), [])
        # a mail without a gateway of its own lands in the spool
        self.assertTrue(any(f.startswith("%d-reminder.eml" % ids[1]) for f in os.listdir(self.spool)))


class SmsSpoolTest(Base):
    """No sms_url: a text message is ID-KIND.sms in the spool, readable."""

    @classmethod
    def setUpClass(cls):
        cls.make("kt-delivery-spool-", sms_from="Lepota")

    def test_sms_lands_in_the_spool(self):
        self.quiet_elsewhere()
        if not self.servers:
            self.start()
        ids = self.db.queue([{"kind": "confirmation", "channel": "sms", "to": "+38641123456",
                              "body": "Termin potrjen: 15. jan. ob 9:00", "idem": "confirmation:spool1"},
                             {"kind": "confirmation", "channel": "sms", "to": "041 123 456",
                              "idem": "confirmation:spool2"}])
        st = wait_for(lambda: self.drained(ids), what="done")
        self.assertEqual([st[i] for i in ids], ["sent", "failed"])  # not E.164: never guessed
        name = "%d-confirmation.sms" % ids[0]
        with open(os.path.join(self.spool, name)) as f:
            text = f.read()
        self.assertIn("To: +38641123456\n", text)
        self.assertIn("From: Lepota\n", text)
        self.assertIn("\n\nTermin potrjen: 15. jan. ob 9:00\n", text)
        self.assertEqual(os.stat(os.path.join(self.spool, name)).st_mode & 0o077, 0)

    def test_erasure_deletes_the_clients_spool_files_of_both_channels(self):
        self.quiet_elsewhere()
        if not self.servers:
            self.start()
        client = self.clients[2]
        ids = self.db.queue([{"kind": "confirmation", "channel": "sms", "to": "+38641555666", "client": client,
                              "idem": "confirmation:erase:sms"},
                             {"kind": "confirmation", "to": "erase@example.net", "client": client,
                              "idem": "confirmation:erase:mail"}])
        st = wait_for(lambda: self.drained(ids), what="both done")
        self.assertEqual(set(st.values()), {"sent"})
        names = {"%d-confirmation.sms" % ids[0], "%d-confirmation.eml" % ids[1]}
        self.assertLessEqual(names, set(os.listdir(self.spool)))
        out = subprocess.run([h.SERVER, "privacy", "erase", "--db", self.dbpath, "--client", client, "--confirm",
                              "--config", self.conf], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(names & set(os.listdir(self.spool)), set())


if __name__ == "__main__":
    h.main()
