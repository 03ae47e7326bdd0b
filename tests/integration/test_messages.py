"""The message planner over the real server: bookings pushed by a reception
tablet plan their confirmation once (a replayed push plans nothing more),
reminders only outside the reminder window, a move drops the old reminder
(moved) and plans a new one with a change notice, a cancellation drops it
(cancelled) with a cancellation notice; marketing is planned only with
consent and a withdrawal drops what is queued; previews in each language;
the settings and templates refuse bad input with a code naming the field.
The outbox is read through `admin message list` and the manage ops (its
texts are sealed)."""
import json
import os
import sqlite3
import subprocess
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import kt_harness as h

A = "Lepota Center"
LJ = ZoneInfo("Europe/Ljubljana")
HOUR = 3600 * 1000
DAY = 24 * HOUR


def uid():
    return str(uuid.uuid4())


def now_ms():
    return int(time.time() * 1000)


class MessagesTest(h.DemoServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        con = sqlite3.connect(cls.db)
        cls.loc = dict(con.execute("SELECT name, id FROM location"))
        cls.org = con.execute("SELECT id FROM organisation").fetchone()[0]
        cls.spec = con.execute(
            "SELECT s.id FROM staff s JOIN staff_location sl ON sl.staff_id = s.id WHERE s.role = 'specialist' "
            "AND sl.location_id = ? ORDER BY s.id", (cls.loc[A],)).fetchone()[0]
        known = [r[0] for r in con.execute("SELECT client_id FROM client_location WHERE location_id = ? "
                                            "ORDER BY client_id", (cls.loc[A],))]
        con.close()
        clients = json.loads(cls.server.admin("list", "clients", "--location", A, "--limit", "400", "--json"))
        with_mail = [c for c in clients if c.get("email") and c["id"] in known]
        # a few cards of their own per test, so the tests do not see each other's messages
        cls.pool = [c["id"] for c in with_mail]
        cls.owner = h.account(cls.accounts, "owner")
        cls.rec = h.account(cls.accounts, "reception", A)
        cls.mgr = h.account(cls.accounts, "manager", A)
        cls.mid = 100

    def client_id(self):
        return self.pool.pop()

    # ---- helpers ----

    def push(self, acc, muts, device=None):
        for m in muts:
            if "mid" not in m:
                MessagesTest.mid += 1
                m["mid"] = MessagesTest.mid

        async def go():
            p = await self.signed_in(acc, device)
            await p.send({"t": "push", "muts": muts})
            m, _ = await p.recv_until("push_result", 20)
            await p.close()
            return m["results"]
        return h.run(go())

    def manage(self, acc, op, **keys):
        async def go():
            p = await self.signed_in(acc)
            await p.send(dict({"t": "manage", "op": op}, **keys))
            m = await p.recv()
            await p.close()
            return m
        return h.run(go())

    def free(self, start):
        """The first start from `start` on, in 30-minute steps, at which the
        specialist has no appointment: the demo books them most days, and
        a fixed offset from now clashes at some times of day."""
        con = sqlite3.connect(self.db, timeout=30)
        try:
            busy = con.execute("SELECT start_at, start_at + duration_min * 60000 FROM appointment"
                               " WHERE specialist_id = ? AND start_at < ? AND start_at + duration_min * 60000 > ?",
                               (self.spec, start + 2 * DAY, start)).fetchall()
        finally:
            con.close()
        while any(b < start + 30 * 60000 and e > start for b, e in busy):
            start += 30 * 60000
        return start

    def book(self, client, start, device=None):
        start = self.free(start)
        aid = uid()
        m = {"tbl": "appointment", "id": aid, "op": "create", "base": 0, "at": 1,
             "f": {"location_id": self.loc[A], "client_id": client, "specialist_id": self.spec, "start_at": start,
                   "duration_min": 30, "services": [], "status": "booked"}}
        res = self.push(self.rec, [m], device)
        self.assertEqual(res[0]["status"], "applied", res)
        return aid, m

    def update(self, aid, version, **f):
        res = self.push(self.rec, [{"tbl": "appointment", "id": aid, "op": "update", "base": version, "at": 1,
                                    "f": f}])
        self.assertEqual(res[0]["status"], "applied", res)
        return res[0]

    def admin_on(self, db):
        """`kartoteka-server admin --db db ...` as a function: its output, or the test fails."""
        def admin(*a):
            out = subprocess.run([h.SERVER, "admin", "--db", db] + list(a), capture_output=True, text=True)
            self.assertEqual(out.returncode, 0, out.stderr)
            return out.stdout
        return admin

    def messages(self, client):
        """The client's messages as `admin message list` prints them."""
        return json.loads(self.server.admin("message", "list", "--client", client, "--json"))

    def of(self, msgs, kind, state=None):
        return [m for m in msgs if m["kind"] == kind and (state is None or m["state"] == state)]

    def wait_for(self, predicate, client, timeout=15):
        return h.until(lambda: self.messages(client), predicate, timeout, "the messages")

    # ---- appointments ----

    def test_confirmation_once_per_booking_even_when_replayed(self):
        client, device = self.client_id(), str(uuid.uuid4())
        aid, m = self.book(client, now_ms() + 5 * DAY, device)
        again = self.push(self.rec, [m], device)  # the tablet never heard the answer: same mid again
        self.assertEqual(again[0]["status"], "duplicate", again)
        msgs = self.messages(client)
        self.assertEqual(len(self.of(msgs, "confirmation")), 1, msgs)
        self.assertEqual(len(self.of(msgs, "reminder")), 1, msgs)
        rem = self.of(msgs, "reminder")[0]
        self.assertEqual(rem["state"], "queued")
        self.assertEqual(rem["channel"], "email")

    def test_booking_inside_the_reminder_window_gets_no_reminder(self):
        client = self.client_id()
        self.book(client, now_ms() + 3 * HOUR)
        msgs = self.messages(client)
        self.assertEqual(len(self.of(msgs, "confirmation")), 1, msgs)
        self.assertEqual(self.of(msgs, "reminder"), [], msgs)

    def test_move_drops_the_reminder_and_plans_a_new_one_with_a_change_notice(self):
        client = self.client_id()
        aid, m = self.book(client, now_ms() + 6 * DAY)
        start = m["f"]["start_at"]
        # the confirmation leaves the queue (the mail worker), then the move
        self.wait_for(lambda ms: self.of(ms, "confirmation") and not self.of(ms, "confirmation", "queued"), client)
        self.update(aid, 1, start_at=self.free(start + DAY))
        msgs = self.messages(client)
        dropped = self.of(msgs, "reminder", "dropped")
        self.assertEqual([m["drop_reason"] for m in dropped], ["moved"], msgs)
        queued = self.of(msgs, "reminder", "queued")
        self.assertEqual(len(queued), 1, msgs)
        self.assertEqual(len(self.of(msgs, "change")), 1, msgs)
        # a note edited afterwards says nothing new
        self.update(aid, 2, client_note="bring the photo")
        self.assertEqual(len(self.of(self.messages(client), "change")), 1)

    def test_cancel_drops_the_reminder_and_sends_a_cancellation(self):
        client = self.client_id()
        aid, _ = self.book(client, now_ms() + 4 * DAY)
        self.wait_for(lambda ms: self.of(ms, "confirmation") and not self.of(ms, "confirmation", "queued"), client)
        self.update(aid, 1, status="cancelled")
        msgs = self.messages(client)
        self.assertEqual([m["drop_reason"] for m in self.of(msgs, "reminder")], ["cancelled"], msgs)
        self.assertEqual(len(self.of(msgs, "cancellation")), 1, msgs)

    def test_cancel_before_the_confirmation_went_out_says_nothing(self):
        # a database no server drains: the confirmation stays queued
        d = tempfile.mkdtemp(dir=self.tmp)
        db, _ = h.demo_db(d)
        admin = self.admin_on(db)
        client = self.pool[0]
        start = time.strftime("%Y-%m-%d 07:10", time.localtime(time.time() + 5 * 86400))
        aid = h.created_id(admin("appointment", "create", "--location", A, "--client", client, "--specialist",
                                 self.spec, "--start", start, "--duration", "30", "--allow-overlap", "--reason", "t"))
        admin("appointment", "cancel", aid)
        msgs = json.loads(admin("message", "list", "--client", client, "--json"))
        self.assertEqual(sorted((m["kind"], m["state"], m["drop_reason"]) for m in msgs),
                         [("confirmation", "dropped", "cancelled"), ("reminder", "dropped", "cancelled")], msgs)

    def test_booked_again_before_the_cancellation_went_out(self):
        d = tempfile.mkdtemp(dir=self.tmp)
        db, _ = h.demo_db(d)
        admin = self.admin_on(db)

        def row(key):
            con = sqlite3.connect(db)
            try:
                return con.execute("SELECT state, attempts, coalesce(drop_reason, '') FROM outbox "
                                   "WHERE idem_key = ?", (key,)).fetchone()
            finally:
                con.close()
        client = self.pool[1]
        start = time.strftime("%Y-%m-%d 07:10", time.localtime(time.time() + 5 * 86400))
        aid = h.created_id(admin("appointment", "create", "--location", A, "--client", client, "--specialist",
                                 self.spec, "--start", start, "--duration", "30", "--allow-overlap", "--reason", "t"))
        # its confirmation went out (as the outbox worker marks it) ...
        con = sqlite3.connect(db)
        con.execute("UPDATE outbox SET state = 'sent', sent_at = ?, to_addr = '', body = '' WHERE idem_key = ?",
                    (now_ms(), "confirmation:" + aid))
        con.commit()
        con.close()
        # ... then it was cancelled, and the mail server is down: the notice waits
        admin("appointment", "cancel", aid)
        conf = os.path.join(d, "down.conf")
        with open(conf, "w") as f:
            f.write("smtp_url = smtp://127.0.0.1:%d\nmail_retry_seconds = 600\n" % h.free_port())
        srv = h.Server(db, ["--config", conf])
        try:
            h.until(lambda: row("cancellation:" + aid), lambda r: r[:2] == ("queued", 1),
                    what="a failed first attempt at the cancellation notice")
            con = sqlite3.connect(db)
            version = con.execute("SELECT version FROM appointment WHERE id = ?", (aid,)).fetchone()[0]
            con.close()

            async def rebook():
                p = await h.Peer(srv).connect()
                await p.hello()
                self.assertEqual((await p.login(self.rec))["t"], "auth_ok")
                await p.send({"t": "push", "muts": [{"mid": 1, "tbl": "appointment", "id": aid, "op": "update",
                                                     "base": version, "at": 1, "f": {"status": "booked"}}]})
                m, _ = await p.recv_until("push_result", 20)
                await p.close()
                return m["results"]
            res = h.run(rebook())
            self.assertEqual(res[0]["status"], "applied", res)
        finally:
            srv.stop()
        msgs = json.loads(admin("message", "list", "--client", client, "--json"))
        got = sorted((m["kind"], m["state"], m["drop_reason"]) for m in msgs)
        # the notice never goes; the client, who was never told, hears nothing
        # more (no change notice): the confirmation they have holds, and the
        # reminder is planned again
        self.assertEqual(got, [("cancellation", "dropped", "rebooked"), ("confirmation", "sent", "-"),
                               ("reminder", "dropped", "cancelled"), ("reminder", "queued", "-")], msgs)

    def test_a_branchs_messages_are_listed_in_the_branchs_zone(self):
        # a branch in another zone than the organisation's first one
        d = tempfile.mkdtemp(dir=self.tmp)
        db, _ = h.demo_db(d)
        admin = self.admin_on(db)
        admin("location", "create", "--name", "Helsinki", "--time-zone", "Europe/Helsinki")
        admin("staff", "location", self.spec, "add", "Helsinki")
        admin("client", "create", "--name", "Tuula Virtanen", "--email", "tuula@example.org", "--location", "Helsinki")
        day = datetime.now().date() + timedelta(days=10)
        admin("appointment", "create", "--location", "Helsinki", "--client", "Tuula Virtanen", "--specialist",
              self.spec, "--start", "%s 12:00" % day, "--duration", "30", "--allow-overlap", "--reason", "t")
        before = datetime.combine(day - timedelta(days=1), datetime.min.time().replace(hour=12),
                                  ZoneInfo("Europe/Helsinki"))
        rows = [l.split("\t") for l in admin("message", "list", "--client", "Tuula Virtanen").splitlines()]
        self.assertEqual(rows[0][:6], ["id", "kind", "channel", "state", "created", "due"])
        reminder = next(r for r in rows if r[1] == "reminder")
        # the reminder 24 h before, at noon where the branch is, not 11:00 in Ljubljana
        self.assertEqual(reminder[5], "%s 12:00 %s" % (before.date(), before.tzname()), rows)

    def test_unconfirmed_list_for_reception(self):
        client = self.client_id()
        # noon, two days ahead, in the branch's zone
        noon = (datetime.now(LJ) + timedelta(days=2)).replace(hour=12, minute=0, second=0, microsecond=0)
        day = noon.strftime("%Y-%m-%d")
        aid, _ = self.book(client, int(noon.timestamp() * 1000))
        m = self.manage(self.rec, "unconfirmed", location=self.loc[A], day=day)
        self.assertEqual((m["t"], m["day"]), ("manage_result", day), m)
        mine = [a for a in m["appointments"] if a["id"] == aid]
        self.assertEqual(len(mine), 1, m)
        self.assertEqual((mine[0]["client_id"], mine[0]["reminder_state"]), (client, "queued"))
        self.assertTrue(mine[0]["client_name"])
        rows = json.loads(self.server.admin("message", "unconfirmed", "--location", A, "--day", day, "--json"))
        self.assertIn(aid, [r["id"] for r in rows])
        self.update(aid, 1, status="confirmed")  # what "I'll be there" does: no message, off the list
        m = self.manage(self.rec, "unconfirmed", location=self.loc[A], day=day)
        self.assertFalse([a for a in m["appointments"] if a["id"] == aid])
        self.assertEqual(len(self.of(self.messages(client), "change")), 0)
        # reception of one branch does not read another's; a day that is none is named
        m = self.manage(self.rec, "unconfirmed", location=self.loc["Lepota Maribor"])
        self.assertEqual((m["t"], m["code"]), ("error", "forbidden"), m)
        m = self.manage(self.rec, "unconfirmed", location=self.loc[A], day="2026-13-01")
        self.assertEqual((m["t"], m["code"]), ("error", "invalid"), m)
        self.assertIn("day", m["msg"])
        # the client's messages over the protocol: reception may read them, a specialist may not
        m = self.manage(self.rec, "messages", client=client)
        self.assertEqual(sorted(x["kind"] for x in m["messages"]), ["confirmation", "reminder"], m)
        self.assertNotIn("to_addr", m["messages"][0])
        spec = h.account(self.accounts, "specialist", A)
        m = self.manage(spec, "messages", client=client)
        self.assertEqual((m["t"], m["code"]), ("error", "forbidden"), m)

    # ---- consent ----

    def visit(self, client):
        res = self.push(self.owner, [{"tbl": "visit", "id": uid(), "op": "create", "base": 0, "at": 1,
                                      "f": {"location_id": self.loc[A], "client_id": client,
                                            "specialist_id": self.spec, "visit_date": time.strftime("%Y-%m-%d"),
                                            "services": []}}])
        self.assertEqual(res[0]["status"], "applied", res)

    def consent(self, client, purpose, what):
        self.server.admin("consent", client, purpose, what, "--text-version", "t1")

    def test_marketing_needs_consent_and_a_withdrawal_drops_it(self):
        client = self.client_id()
        self.consent(client, "review_requests", "withdraw")
        self.visit(client)
        self.assertEqual(self.of(self.messages(client), "review_request"), [])
        self.assertEqual(self.of(self.messages(client), "survey"), [])
        self.consent(client, "review_requests", "grant")
        self.visit(client)
        msgs = self.messages(client)
        self.assertEqual(len(self.of(msgs, "review_request", "queued")), 1, msgs)
        self.assertEqual(len(self.of(msgs, "survey", "queued")), 1, msgs)  # NPS, due two hours after
        self.visit(client)  # a second visit: a review request, but NPS at most every 90 days
        msgs = self.messages(client)
        self.assertEqual((len(self.of(msgs, "review_request")), len(self.of(msgs, "survey"))), (2, 1), msgs)
        self.consent(client, "review_requests", "withdraw")
        msgs = self.messages(client)
        self.assertEqual([m["drop_reason"] for m in self.of(msgs, "review_request") + self.of(msgs, "survey")],
                         ["consent_withdrawn"] * 3, msgs)

    def test_campaign_only_to_consenting_clients(self):
        yes, no = self.client_id(), self.client_id()
        self.consent(yes, "marketing_email", "grant")
        self.consent(no, "marketing_email", "withdraw")
        m = self.manage(self.owner, "campaign", subject="Autumn at {salon}",
                        body="Hello {first_name}, new colours are in.", channel="email")
        self.assertEqual(m["t"], "manage_result", m)
        self.assertGreaterEqual(m["planned"], 1)
        self.assertEqual(len(self.of(self.messages(yes), "campaign")), 1)
        self.assertEqual(self.of(self.messages(no), "campaign"), [])
        m = self.manage(self.mgr, "campaign", body="x")
        self.assertEqual((m["t"], m["code"]), ("error", "forbidden"), m)
        m = self.manage(self.owner, "campaign", subject="News", body="Hi {frist_name}")
        self.assertEqual((m["t"], m["code"]), ("error", "invalid"), m)
        self.assertIn("{frist_name}", m["msg"])

    def test_birthday_greeting_once_however_often_the_daily_pass_runs(self):
        client = self.client_id()
        today = datetime.now(LJ)
        if today.month == 2 and today.day == 29:
            self.skipTest("greeted on the 28th in other years; today is no test of that")
        self.server.admin("client", "set", client, "birthday", "1990-%02d-%02d" % (today.month, today.day))
        self.consent(client, "birthday_greetings", "grant")
        for _ in range(2):  # cron and a second process alike
            self.server.admin("message", "daily")
        msgs = self.of(self.messages(client), "birthday")
        self.assertEqual(len(msgs), 1, msgs)
        other = self.client_id()
        self.server.admin("client", "set", other, "birthday", "1990-%02d-%02d" % (today.month, today.day))
        self.consent(other, "birthday_greetings", "withdraw")
        self.server.admin("message", "daily")
        self.assertEqual(self.of(self.messages(other), "birthday"), [])

    # ---- previews, settings, templates ----

    def test_preview_in_each_language(self):
        words = {"en": "Reminder", "sl": "Opomnik", "de": "Erinnerung", "pl": "Przypomnienie", "fi": "Muistutus"}
        for lang, word in words.items():
            m = self.manage(self.owner, "message_preview", kind="reminder", lang=lang)
            self.assertEqual(m["t"], "manage_result", m)
            self.assertIn(word, m["subject"])
            self.assertIn("/l/", m["body"])
            self.assertIn("Europe/Ljubljana", m["body"])
        sms = self.manage(self.mgr, "message_preview", kind="birthday", lang="de", channel="sms")
        self.assertEqual(sms["subject"], "")
        self.assertIn("Geburtstag", sms["body"])
        self.assertIn("Abmelden", sms["body"])  # marketing carries its unsubscribe link
        out = self.server.admin("message", "template", "preview", "--kind", "confirmation", "--lang", "pl")
        self.assertIn("Dziękujemy za rezerwację", out)
        # a real appointment in the client's own language
        client = self.client_id()
        self.server.admin("client", "set", client, "language", "fi")
        aid, _ = self.book(client, now_ms() + 8 * DAY)
        m = self.manage(self.owner, "message_preview", kind="confirmation", appointment=aid)
        self.assertIn("Varausvahvistus", m["subject"])
        m = self.manage(self.rec, "message_preview", kind="reminder")
        self.assertEqual((m["t"], m["code"]), ("error", "forbidden"), m)
        m = self.manage(self.owner, "message_preview", kind="remindr")
        self.assertEqual((m["t"], m["code"]), ("error", "invalid"), m)
        self.assertIn("kind", m["msg"])

    def test_settings_refusals_name_the_field(self):
        m = self.manage(self.owner, "message_settings", reminder1_min=99999)
        self.assertEqual((m["t"], m["code"]), ("error", "invalid"), m)
        self.assertIn("reminder1_min", m["msg"])
        m = self.manage(self.owner, "message_settings", quiet_from="25:00")
        self.assertIn("quiet_from", m["msg"])
        m = self.manage(self.owner, "message_settings", daily_cap=0)
        self.assertIn("daily_cap", m["msg"])
        m = self.manage(self.mgr, "message_settings", daily_cap=4)
        self.assertEqual((m["t"], m["code"]), ("error", "forbidden"), m)
        m = self.manage(self.mgr, "message_settings")
        self.assertEqual(m["settings"]["reminder1_min"], 1440, m)
        m = self.manage(self.rec, "message_settings")
        self.assertEqual((m["t"], m["code"]), ("error", "forbidden"), m)
        m = self.manage(self.owner, "message_counts", to=now_ms())
        self.assertEqual((m["t"], m["code"]), ("error", "invalid"), m)
        self.assertIn("from", m["msg"])
        m = self.manage(self.owner, "message_counts", **{"from": 0, "to": now_ms() + DAY})
        self.assertTrue(any(c["kind"] == "confirmation" for c in m["counts"]) or m["counts"] == [], m)
        bad = subprocess.run([h.SERVER, "admin", "--db", self.db, "message", "settings", "--reminder", "soon"],
                             capture_output=True, text=True)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("--reminder", bad.stderr)
        ok = subprocess.run([h.SERVER, "admin", "--db", self.db, "message", "--help"], capture_output=True, text=True)
        self.assertEqual(ok.returncode, 0)

    def test_template_with_an_unknown_placeholder_is_refused(self):
        m = self.manage(self.owner, "set_template", kind="reminder", lang="en", subject="See you",
                        body="Hi {frist_name}, {confirm_link}")
        self.assertEqual((m["t"], m["code"]), ("error", "invalid"), m)
        self.assertIn("{frist_name}", m["msg"])
        m = self.manage(self.owner, "set_template", kind="birthday", lang="en", subject="Hi",
                        body="Come {confirm_link}")
        self.assertIn("{confirm_link}", m["msg"])
        m = self.manage(self.owner, "set_template", kind="reminder", lang="sl", channel="sms",
                        body="{salon}: jutri ob {time}. Pridem: {confirm_link}")
        self.assertEqual(m["t"], "manage_result", m)
        m = self.manage(self.owner, "templates")
        self.assertEqual([(t["kind"], t["lang"], t["channel"]) for t in m["templates"]], [("reminder", "sl", "sms")])
        m = self.manage(self.owner, "message_preview", kind="reminder", lang="sl", channel="sms")
        self.assertTrue(m["body"].endswith("Pridem: http://127.0.0.1:%d/l/EXAMPLE-LINK-NOT-ACTIVE" % self.server.port)
                        or "Pridem: " in m["body"], m)
        self.manage(self.owner, "set_template", kind="reminder", lang="sl", channel="sms", body="")
        self.assertEqual(self.manage(self.owner, "templates")["templates"], [])


if __name__ == "__main__":
    h.main()
