"""A receptionist must not be able to take over a client's portal account by
changing the client's e-mail address and sending a setup link to it.

The attack, as reported: reception pushes a new `email` for a client who has
a portal account, sends `portal_invite`, reads the link at the new address,
sets a password and signs in as the client (health data, full export). Now
the change suspends the account: the client's sessions end, sign-in is
refused with account_suspended, the old address is told, the new address
gets a confirmation link that works only with the client's own password,
and for email_change_hold_days only an owner or manager sends setup links
to the new address (reception gets email_recently_changed, "forgot
password" sends nothing). The same holds when the operator changes the
address with the admin command. The legitimate flow (the client confirms
the new address) still works."""
import os
import re
import shutil
import sqlite3
import tempfile
import time
import unittest

import kt_harness as h
from ktcrypt import Keyring
from test_portal import ConfServer, Inbox, free_port, smtp_start, token_of, write_conf

CENTER = "Lepota Center"
EVIL = "reception.private@evil.example"


def confirm_token_of(msg):
    body = msg.get_content() if not msg.is_multipart() else msg.get_payload(0).get_content()
    m = re.search(r"/confirm-email#token=([0-9a-f]{64})\b", body)
    return m.group(1) if m else None


def to(addr):
    return lambda m: addr in m[1]


class TakeoverTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kt-takeover-")
        cls.db, cls.accounts = h.demo_db(cls.tmp)
        cls.inbox = Inbox()
        cls.smtp = smtp_start(cls.inbox, free_port())
        conf = write_conf(os.path.join(cls.tmp, "serve.conf"),
                          smtp_url="smtp://127.0.0.1:%d" % cls.smtp.port,
                          smtp_from="Studio Lepota <salon@lepota.example>",
                          portal_url="https://portal.lepota.example/setup",
                          mail_retry_seconds="0.2")
        cls.server = ConfServer(cls.db, conf)
        cls.reception = h.account(cls.accounts, "reception", CENTER)
        cls.manager = h.account(cls.accounts, "manager", CENTER)
        cls.kr = Keyring(cls.db)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            cls.smtp.stop()
            shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- helpers ----

    def client_id(self, acc):
        con = sqlite3.connect(self.db)
        row = con.execute("SELECT id FROM client WHERE email_hash = ?", (self.kr.email_hash(acc["email"]),)).fetchone()
        con.close()
        return row[0]

    def version(self, cid):
        con = sqlite3.connect(self.db)
        v = con.execute("SELECT version FROM client WHERE id = ?", (cid,)).fetchone()[0]
        con.close()
        return v

    async def signed_in(self, acc):
        p = await h.Peer(self.server).connect()
        await p.hello()
        ok = await p.login(acc)
        self.assertEqual(ok["t"], "auth_ok", ok)
        return p

    async def one(self, msg, acc=None):
        p = await h.Peer(self.server).connect()
        await p.hello()
        if acc:
            ok = await p.login(acc)
            self.assertEqual(ok["t"], "auth_ok", ok)
        await p.send(msg)
        m = await p.recv()
        await p.close()
        return m

    async def set_email(self, acc, cid, addr):
        p = await self.signed_in(acc)
        await p.send({"t": "push", "muts": [{"mid": 1, "tbl": "client", "id": cid, "op": "update",
                                              "base": self.version(cid), "f": {"email": addr},
                                              "at": int(time.time() * 1000)}]})
        m, _ = await p.recv_until("push_result", 15)
        await p.close()
        return m["results"][0]

    async def login_answer(self, email, password):
        p = await h.Peer(self.server).connect()
        await p.hello()
        m = await p.login({"email": email, "password": password})
        await p.close()
        return m

    # ---- the attack, step by step ----

    def test_reception_cannot_take_over_a_portal_account(self):
        victim = h.account(self.accounts, "client", CENTER, 0)
        cid = self.client_id(victim)

        async def go():
            # the client is signed in on her phone
            phone = await self.signed_in(victim)

            # 1. reception writes its own address into the card: still
            #    allowed (addresses do change), but the account is suspended
            res = await self.set_email(self.reception, cid, EVIL)
            self.assertEqual(res["status"], "applied", res)

            # 2. reception sends the setup link to the new address: refused
            r = await self.one({"t": "portal_invite", "client": cid}, self.reception)
            self.assertEqual((r["t"], r.get("code")), ("error", "email_recently_changed"), r)
            self.assertIn("email", r["msg"])
            self.assertIn("owner or manager", r["msg"])
            self.assertTrue(await phone.closed(10), "the client's session must end when her address changes")

            # 3. "forgot password" at the new address: the same answer as
            #    always, and no link is sent
            mark = len(self.inbox.mails)
            r = await self.one({"t": "portal_forgot", "email": EVIL})
            self.assertEqual(r, {"t": "portal_result", "op": "forgot"})

            # 4. the new address gets a confirmation link: it does not set a
            #    password, and it needs the client's own password
            mail = self.inbox.wait(to(EVIL))
            self.assertIsNotNone(mail, "the new address gets a confirmation link")
            self.assertIsNone(token_of(mail[2]), "no password-setup link goes to the new address")
            tok = confirm_token_of(mail[2])
            self.assertIsNotNone(tok)
            r = await self.one({"t": "portal_set_password", "token": tok, "password": "Evil-Takeover-2026"})
            self.assertEqual((r["t"], r.get("code")), ("error", "token_invalid"), r)
            r = await self.one({"t": "portal_confirm_email", "token": tok, "password": "Evil-Takeover-2026"})
            self.assertEqual((r["t"], r.get("code")), ("error", "auth_failed"), r)

            # 5. nobody signs in: not with the new address, and the client
            #    with her old one is told why
            r = await self.login_answer(EVIL, "Evil-Takeover-2026")
            self.assertEqual((r["t"], r.get("code")), ("error", "auth_failed"), r)
            r = await self.login_answer(victim["email"], victim["password"])
            self.assertEqual((r["t"], r.get("code")), ("error", "account_suspended"), r)

            # 6. the old address was told, and no reset link went anywhere
            notice = self.inbox.wait(to(victim["email"]))
            self.assertIsNotNone(notice, "the old address is told of the change")
            self.assertIn("e-mail address was changed", notice[2]["Subject"])
            body = notice[2].get_content()
            self.assertIn("nothing else changes", body)
            self.assertIn("did not ask for this change", body)
            self.assertIsNone(token_of(notice[2]))
            self.assertEqual([m for m in self.inbox.mails[mark:] if token_of(m[2])], [])

        h.run(go())
        con = sqlite3.connect(self.db)
        self.assertEqual(con.execute("SELECT count(*) FROM setup_token WHERE client_id = ? AND purpose = 'setup' "
                                     "AND used_at IS NOT NULL AND created_at > (SELECT changed_at FROM "
                                     "email_change WHERE client_id = ?)", (cid, cid)).fetchone()[0], 0)
        con.close()

    def test_client_confirms_new_address_and_signs_in_with_it(self):
        me = h.account(self.accounts, "client", CENTER, 1)
        cid = self.client_id(me)
        new = "new.address.%s@mail.example" % cid[-6:]

        async def go():
            res = await self.set_email(self.reception, cid, new)
            self.assertEqual(res["status"], "applied", res)
            r = await self.login_answer(me["email"], me["password"])
            self.assertEqual((r["t"], r.get("code")), ("error", "account_suspended"), r)
            mail = self.inbox.wait(to(new))
            self.assertIsNotNone(mail)
            tok = confirm_token_of(mail[2])
            r = await self.one({"t": "portal_confirm_email", "token": tok, "password": me["password"]})
            self.assertEqual(r, {"t": "portal_result", "op": "confirm_email", "client": cid})
            # the link works once
            r = await self.one({"t": "portal_confirm_email", "token": tok, "password": me["password"]})
            self.assertEqual((r["t"], r.get("code")), ("error", "token_used"), r)
            r = await self.login_answer(new, me["password"])
            self.assertEqual(r["t"], "auth_ok", r)
            r = await self.login_answer(me["email"], me["password"])
            self.assertEqual((r["t"], r.get("code")), ("error", "auth_failed"), r)

        h.run(go())

    def test_a_manager_may_send_the_link_within_the_hold(self):
        me = h.account(self.accounts, "client", CENTER, 2)
        cid = self.client_id(me)
        new = "moved.%s@mail.example" % cid[-6:]

        async def go():
            res = await self.set_email(self.reception, cid, new)
            self.assertEqual(res["status"], "applied", res)
            r = await self.one({"t": "portal_invite", "client": cid}, self.reception)
            self.assertEqual(r.get("code"), "email_recently_changed", r)
            r = await self.one({"t": "portal_invite", "client": cid}, self.manager)
            self.assertEqual((r["t"], r.get("op")), ("portal_result", "invite"), r)
            mail = self.inbox.wait(lambda m: new in m[1] and token_of(m[2]))
            self.assertIsNotNone(mail)
            r = await self.one({"t": "portal_set_password", "token": token_of(mail[2]), "password": "Nova-Gesla-77"})
            self.assertEqual((r["t"], r.get("op")), ("portal_result", "set_password"), r)
            r = await self.login_answer(new, "Nova-Gesla-77")
            self.assertEqual(r["t"], "auth_ok", r)

        h.run(go())

    def test_admin_command_goes_through_the_same_rule(self):
        me = h.account(self.accounts, "client", CENTER, 3)
        cid = self.client_id(me)
        new = "operator.typed.%s@mail.example" % cid[-6:]

        async def go():
            phone = await self.signed_in(me)
            self.server.admin("client", "set", cid, "email", new)
            self.assertTrue(await phone.closed(10), "the client's session must end when her address changes")
            r = await self.login_answer(me["email"], me["password"])
            self.assertEqual((r["t"], r.get("code")), ("error", "account_suspended"), r)
            r = await self.one({"t": "portal_invite", "client": cid}, self.reception)
            self.assertEqual(r.get("code"), "email_recently_changed", r)
            self.assertIsNotNone(self.inbox.wait(lambda m: new in m[1] and confirm_token_of(m[2])))
            self.assertIsNotNone(self.inbox.wait(to(me["email"])))

        h.run(go())


if __name__ == "__main__":
    h.main()
