#!/usr/bin/python3
"""One-purpose links in messages (proto/PROTOCOL-links.md): the real server
on a demo database, links made with `admin link issue` (what the message
planner does with links_issue), opened and used over a real WebSocket
(`link` before sign-in) and by a mail client's RFC 8058 one-click POST
(urllib). Staff devices are raw signed-in peers that must receive what a
link changed; the database is read for the ledger and the audit."""
import asyncio
import sqlite3
import time
import urllib.error
import urllib.request

import kt_harness as h

PURPOSES = ("marketing_email", "marketing_sms", "birthday_greetings", "review_requests")


class LinkPeers:
    def sql(self, q, *args):
        con = sqlite3.connect(self.db)
        try:
            return con.execute(q, args).fetchall()
        finally:
            con.close()

    def issue(self, kind, client, target, expires=None):
        """A link's token, made by the admin command (its last line is the URL)."""
        args = ["link", "issue", "--kind", kind, "--client", client, "--target", target]
        url = self.server.admin(*(args + (["--expires", expires] if expires else []))).split("\n")[-1]
        self.assertRegex(url, r"^http://127\.0\.0\.1:%d/l/[A-Za-z0-9_-]{22}$" % self.server.port)
        return url.rsplit("/", 1)[1]

    async def peer(self):
        p = await h.Peer(self.server).connect()
        self.assertEqual((await p.hello())["t"], "welcome")
        return p

    async def ask(self, p, op, token, **more):
        await p.send(dict({"t": "link", "op": op, "token": token}, **more))
        return await p.recv()

    def link(self, op, token, **more):
        """One request on its own connection: the answer."""
        async def go():
            p = await self.peer()
            try:
                return await self.ask(p, op, token, **more)
            finally:
                await p.close()
        return h.run(go())

    async def staff(self, role="owner"):
        p = await h.Peer(self.server).connect()
        await p.hello()
        ok = await p.login(h.account(self.accounts, role))
        self.assertEqual(ok["t"], "auth_ok", ok)
        await p.snapshot()
        return p

    async def next_put(self, p, tbl, pred, timeout=10):
        end = time.monotonic() + timeout
        while True:
            m = await p.recv(max(0.01, end - time.monotonic()))
            for op in m.get("ops", []) if m["t"] == "changes" else []:
                if op["op"] == "put" and op["tbl"] == tbl and pred(op):
                    return op

    def future_booked(self, n=1, offset=0):
        """n booked appointments starting tomorrow or later: (id, client_id)."""
        return self.sql("SELECT id, client_id FROM appointment WHERE status = 'booked' AND start_at > ?1 "
                        "ORDER BY start_at, id LIMIT ?2 OFFSET ?3", int(time.time() * 1000) + 3600_000, n, offset)

    def consents(self, client, purpose):
        return self.sql("SELECT granted, source, recorded_kind, recorded_by, text_version FROM consent "
                        "WHERE client_id = ?1 AND purpose = ?2 ORDER BY at, id", client, purpose)

    def assertRefused(self, m, code, words=""):
        self.assertEqual(m.get("t"), "error", m)
        self.assertEqual(m["code"], code, m)
        self.assertEqual(m.get("re"), "link", m)
        self.assertIn(words, m.get("msg") or "", m)

    def assertNothingPersonal(self, m):
        """The answer carries what the page shows: no e-mail, no phone, no ids."""
        def walk(v):
            if isinstance(v, dict):
                for k, x in v.items():
                    self.assertNotIn(k, ("email", "phone", "client", "client_id", "id", "notes"), m)
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
            elif isinstance(v, str):
                self.assertNotIn("@", v, m)
                self.assertNotRegex(v, r"^[0-9a-f]{8}-[0-9a-f]{4}-", m)
        walk(m)


class LinksTest(LinkPeers, h.DemoServerTest):
    def test_confirm_shows_the_appointment_confirms_it_once_and_staff_see_it(self):
        (appt, client), = self.future_booked()
        token = self.issue("confirm", client, appt)
        v0, = self.sql("SELECT version FROM appointment WHERE id = ?1", appt)[0]

        async def go():
            staff = await self.staff()
            p = await self.peer()
            opened = await self.ask(p, "open", token)
            acted = await self.ask(p, "act", token)
            put = await self.next_put(staff, "appointment", lambda op: op["id"] == appt)
            again = await self.ask(p, "act", token)
            reopened = await self.ask(p, "open", token)
            await p.close()
            await staff.close()
            return opened, acted, put, again, reopened
        opened, acted, put, again, reopened = h.run(go())

        self.assertEqual((opened["t"], opened["op"], opened["kind"], opened["done"]),
                         ("link_result", "open", "confirm", False), opened)
        a = opened["appointment"]
        start, = self.sql("SELECT start_at FROM appointment WHERE id = ?1", appt)[0]
        self.assertEqual((a["start_at"], a["status"], a["time_zone"]), (start, "booked", "Europe/Ljubljana"))
        self.assertRegex(a["date"], r"^\d{4}-\d\d-\d\d$")
        self.assertRegex(a["time"], r"^\d\d:\d\d$")
        self.assertIn(a["time"], a["local"])  # the local time, in the client's language
        self.assertTrue(a["services"] and a["specialist"], a)
        self.assertEqual(set(opened["location"]), {"name", "address", "time_zone"})
        self.assertEqual(opened["lang"], "sl")  # the organisation's language (demo: Slovenian)
        self.assertTrue(opened["salon"])
        self.assertNothingPersonal(opened)

        self.assertEqual((acted["op"], acted["done"], acted["appointment"]["status"]), ("act", True, "confirmed"))
        self.assertEqual(put["f"]["status"], "confirmed", "the staff device's row")
        self.assertEqual((again["t"], again["done"]), ("link_result", True), "a second tap is done, not an error")
        self.assertEqual((reopened["done"], reopened["appointment"]["status"]), (True, "confirmed"))
        v1, = self.sql("SELECT version FROM appointment WHERE id = ?1", appt)[0]
        self.assertEqual(v1, v0 + 1, "confirmed once: the second tap wrote nothing")
        who = self.sql("SELECT actor_kind, actor_id, device_id, action, fields FROM audit WHERE entity = "
                       "'appointment' AND entity_id = ?1 ORDER BY seq DESC LIMIT 1", appt)[0]
        self.assertEqual(who, ("client", client, None, "update", "status"))

    def test_confirm_refuses_a_cancelled_or_past_appointment_and_an_expired_link(self):
        (appt, client), = self.future_booked(offset=1)
        token = self.issue("confirm", client, appt)
        self.server.admin("appointment", "cancel", appt)
        m = self.link("open", token)
        self.assertEqual((m["t"], m["appointment"]["status"], m["done"]), ("link_result", "cancelled", False), m)
        self.assertRefused(self.link("act", token), "appointment_cancelled", "cancelled")
        self.assertEqual(self.sql("SELECT status FROM appointment WHERE id = ?1", appt), [("cancelled",)])

        done, client2 = self.sql("SELECT id, client_id FROM appointment WHERE status = 'done' ORDER BY start_at "
                                 "DESC LIMIT 1")[0]
        past = self.issue("confirm", client2, done, expires="+1d")  # the operator's own expiry
        self.assertRefused(self.link("act", past), "appointment_past", "over")

        (appt3, client3), = self.future_booked(offset=2)
        short = self.issue("confirm", client3, appt3, expires="+1s")
        end = time.monotonic() + 10
        while True:  # a link expires at its time, not later
            m = self.link("open", short)
            if m.get("code") == "token_expired" or time.monotonic() > end:
                break
            self.assertEqual(m["t"], "link_result", m)
            time.sleep(0.25)
        self.assertRefused(m, "token_expired", "expired")
        self.assertRefused(self.link("act", short), "token_expired")
        self.assertEqual(self.sql("SELECT status FROM appointment WHERE id = ?1", appt3), [("booked",)])

    def test_unsubscribe_withdraws_through_the_link_drops_queued_mail_and_reaches_staff(self):
        client = self.sql("SELECT client_id FROM consent c WHERE purpose = 'marketing_email' AND granted = 1 AND "
                          "at = (SELECT max(at) FROM consent d WHERE d.client_id = c.client_id AND d.purpose = "
                          "c.purpose) ORDER BY client_id LIMIT 1")[0][0]
        con = sqlite3.connect(self.db)
        with con:
            con.execute("INSERT INTO outbox(org_id, client_id, purpose, consent_purpose, to_addr, subject, body, "
                        "next_at, created_at) SELECT org_id, id, 'marketing_email', 'marketing_email', 'x', 's', "
                        "'b', 0, 0 FROM client WHERE id = ?1", (client,))
            queued = con.execute("SELECT max(id) FROM outbox").fetchone()[0]
        con.close()
        token = self.issue("unsubscribe", client, "marketing_email")

        async def go():
            staff = await self.staff()
            p = await self.peer()
            opened = await self.ask(p, "open", token)
            acted = await self.ask(p, "act", token)
            put = await self.next_put(staff, "consent", lambda op: op["f"].get("client_id") == client)
            again = await self.ask(p, "act", token)
            await p.close()
            await staff.close()
            return opened, acted, put, again
        opened, acted, put, again = h.run(go())
        self.assertEqual((opened["kind"], opened["purpose"], opened["done"]), ("unsubscribe", "marketing_email", False))
        self.assertNothingPersonal(opened)
        self.assertEqual((acted["done"], again["done"]), (True, True))
        rows = self.consents(client, "marketing_email")
        self.assertEqual(rows[-1], (0, "link", "client", client, "link-1"), "the ledger names the link")
        self.assertEqual(sum(1 for r in rows if r[1] == "link"), 1, "a second tap records nothing")
        self.assertEqual((put["f"]["granted"], put["f"]["source"]), (False, "link"))
        self.assertEqual(self.sql("SELECT state FROM outbox WHERE id = ?1", queued), [("dropped",)])

    def test_one_click_post_unsubscribes_and_refuses_anything_else(self):
        client = self.sql("SELECT client_id FROM consent WHERE purpose = 'marketing_sms' AND granted = 1 "
                          "ORDER BY client_id DESC LIMIT 1")[0][0]
        token = self.issue("unsubscribe", client, "marketing_sms")
        base = "http://127.0.0.1:%d/l/" % self.server.port

        def post(tok, body, ctype="application/x-www-form-urlencoded"):
            req = urllib.request.Request(base + tok, data=body, method="POST", headers={"Content-Type": ctype})
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    return r.status, r.read().decode(), dict(r.headers)
            except urllib.error.HTTPError as e:
                return e.code, e.read().decode(), dict(e.headers)

        # the page: the web app, like its other routes, with the same CSP
        with urllib.request.urlopen(base + token, timeout=10) as r:
            page, headers = r.read().decode(), dict(r.headers)
        self.assertIn("<!doctype html>", page.lower())
        self.assertIn("frame-ancestors 'none'", headers["content-security-policy"])

        self.assertEqual(post(token, b"List-Unsubscribe=Other")[0], 400)
        self.assertEqual(post(token, b"x" * 600)[0], 413)
        self.assertEqual(self.consents(client, "marketing_sms")[-1][0], 1, "nothing recorded by a wrong body")
        st, text, hdrs = post(token, b"List-Unsubscribe=One-Click")
        self.assertEqual((st, text), (200, "unsubscribed\n"))
        self.assertIn("default-src 'none'", hdrs["content-security-policy"])
        self.assertEqual(self.consents(client, "marketing_sms")[-1][:3], (0, "link", "client"))
        multipart = (b"--b1\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n"
                     b"--b1--\r\n")
        self.assertEqual(post(token, multipart, "multipart/form-data; boundary=b1")[0], 200)
        self.assertEqual(sum(1 for r in self.consents(client, "marketing_sms") if r[1] == "link"), 1)
        self.assertEqual(post("A" * 22, b"List-Unsubscribe=One-Click")[0], 404)
        # a confirm link is not an unsubscribe link
        (appt, c2), = self.future_booked(offset=3)
        self.assertEqual(post(self.issue("confirm", c2, appt), b"List-Unsubscribe=One-Click")[0], 404)
        self.assertEqual(self.sql("SELECT status FROM appointment WHERE id = ?1", appt), [("booked",)])
        self.assertFalse([l for l in self.server.errlog if token in l], "the token is never logged")

    def test_reconsent_records_a_grant_or_a_withdrawal_with_the_link_text(self):
        client = self.sql("SELECT id FROM client ORDER BY id LIMIT 1 OFFSET 7")[0][0]
        token = self.issue("reconsent", client, "birthday_greetings")

        async def go():
            p = await self.peer()
            out = [await self.ask(p, "open", token), await self.ask(p, "act", token),
                   await self.ask(p, "act", token, granted="yes"),
                   await self.ask(p, "act", token, granted=True), await self.ask(p, "act", token, granted=True)]
            await p.close()
            return out
        opened, missing, wrong, yes, again = h.run(go())
        self.assertEqual((opened["kind"], opened["purpose"], opened["text_version"]),
                         ("reconsent", "birthday_greetings", "link-1"))
        self.assertRefused(missing, "invalid", "granted")
        self.assertRefused(wrong, "malformed", "granted")
        self.assertEqual((yes["state"], yes["done"], again["done"]), ("granted", True, True))
        rows = [r for r in self.consents(client, "birthday_greetings") if r[1] == "link"]
        self.assertEqual(rows, [(1, "link", "client", client, "link-1")], "the same answer twice: one entry")
        m = self.link("act", token, granted=False)
        self.assertEqual(m["state"], "withdrawn")
        self.assertEqual(self.consents(client, "birthday_greetings")[-1][:2], (0, "link"))

    def test_bad_input_is_refused_with_its_code_and_field(self):
        token = self.issue("unsubscribe", self.sql("SELECT id FROM client ORDER BY id LIMIT 1")[0][0],
                           "review_requests")

        async def go():
            p = await self.peer()
            out = [await self.ask(p, "shut", token),
                   await self.ask(p, "open", 42),
                   await self.ask(p, "act", token, stars="five"),
                   await self.ask(p, "act", token, score=1.5),
                   await self.ask(p, "open", "short"),
                   await self.ask(p, "open", "B" * 22)]
            await p.send({"t": "link", "token": token})
            out.append(await p.recv())
            await p.send({"t": "link", "op": "open", "token": token, "text": "é" * 1100})  # 2200 bytes
            out.append(await p.recv())
            await p.close()
            return out
        op, token_type, stars, score, short, unknown, no_op, long_text = h.run(go())
        self.assertRefused(op, "invalid", "op: open or act")
        self.assertRefused(token_type, "malformed", "token")
        self.assertRefused(stars, "malformed", "stars")
        self.assertRefused(score, "malformed", "score")
        self.assertRefused(short, "token_invalid", "token")
        self.assertRefused(unknown, "token_invalid", "token")
        self.assertRefused(no_op, "malformed", "op")
        self.assertEqual((long_text["t"], long_text["code"]), ("error", "too_large"))

        async def signed_in():
            p = await self.staff("reception")
            m = await self.ask(p, "open", token)
            await p.close()
            return m
        m = h.run(signed_in())
        self.assertEqual((m["t"], m["code"]), ("error", "bad_state"), "a link is for before sign-in")

    def test_an_erased_clients_links_are_gone(self):
        (appt, client), = self.future_booked(offset=4)
        token = self.issue("confirm", client, appt)
        self.assertEqual(self.link("open", token)["t"], "link_result")
        out = h.subprocess.run([h.SERVER, "privacy", "erase", "--db", self.db, "--client", client, "--confirm"],
                               capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(self.sql("SELECT count(*) FROM link_token WHERE client_id = ?1", client), [(0,)])
        self.assertRefused(self.link("open", token), "token_invalid")


class LinkRateTest(LinkPeers, h.DemoServerTest):
    """Its own server: it uses up the address's budget."""

    def test_unknown_tokens_from_one_address_are_rate_limited(self):
        async def go():
            codes = []
            for _ in range(3):  # a connection closes after 5 bad tokens: 4 each
                p = await self.peer()
                for i in range(4):
                    m = await self.ask(p, "open", "%022d" % i)
                    codes.append((m["code"], m.get("retry_after_ms")))
                await p.close()
            return codes
        codes = h.run(go())
        self.assertEqual([c for c, _ in codes[:10]], ["token_invalid"] * 10)
        self.assertEqual(codes[10][0], "rate_limited")
        self.assertTrue(0 < codes[10][1] <= 600_000, codes[10])
        req = urllib.request.Request("http://127.0.0.1:%d/l/%s" % (self.server.port, "C" * 22),
                                     data=b"List-Unsubscribe=One-Click", method="POST")
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        self.assertEqual(e.exception.code, 429)


if __name__ == "__main__":
    h.main()
