"""Bad input gets its specific error code; the server stays up and a
well-behaved device keeps receiving changes throughout."""
import asyncio
import os
import sqlite3

import kt_harness as h


class BadInputTest(h.DemoServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.owner = h.account(cls.accounts, "owner")
        d = os.path.join(cls.tmp, "bystander")
        h.login(d, cls.server, cls.owner)
        h.client(d, "sync")
        cls.bystander = h.Watcher(d, seconds=200)
        assert cls.bystander.wait_synced()
        con = sqlite3.connect(cls.db)
        cls.client_id = con.execute("SELECT id FROM client LIMIT 1").fetchone()[0]
        con.close()

    @classmethod
    def tearDownClass(cls):
        cls.bystander.stop()
        super().tearDownClass()

    def tearDown(self):
        # after every hostile case: server up, bystander still streaming
        self.assertTrue(self.server.alive(), "server died")
        self.bystander.drain()
        self.server.admin("client", "set", self.client_id, "preferences", self.id())
        self.assertIsNotNone(self.bystander.wait_for(lambda l: "put client %s" % self.client_id in l, 3),
                             "the well-behaved device stopped receiving changes")

    def error_for(self, steps, fatal=None):
        async def go():
            p = await h.Peer(self.server).connect()
            try:
                return await steps(p)
            finally:
                await p.close()
        return h.run(go())

    def test_malformed_messagepack_before_sign_in_is_malformed_and_closed(self):
        async def steps(p):
            await p.hello()
            await p.send_raw(b"\xc1\x00")
            m = await p.recv()
            self.assertTrue(m["fatal"])
            self.assertTrue(await p.closed())
            return m
        self.assertEqual(self.error_for(steps)["code"], "malformed")

    def test_malformed_messagepack_after_sign_in_keeps_the_session(self):
        async def steps(p):
            await p.hello()
            await p.login(self.owner)
            await p.send_raw(b"\x82\xa1t\xa5login")  # truncated map
            m = await p.recv()
            self.assertFalse(m["fatal"])
            await p.send({"t": "sync", "cursor": None})
            self.assertEqual((await p.recv())["t"], "snapshot_begin")
            return m
        self.assertEqual(self.error_for(steps)["code"], "malformed")

    def test_text_frame_is_refused_and_closed(self):
        async def steps(p):
            await p.hello()
            await p.send_raw("hello as text")
            m = await p.recv()
            self.assertTrue(m["fatal"])
            self.assertTrue(await p.closed())
            return m
        self.assertEqual(self.error_for(steps)["code"], "text_frame")

    def test_oversized_frame_before_sign_in_is_too_large(self):
        async def steps(p):
            await p.hello()
            await p.send({"t": "login", "email": "a@b.c", "password": "x" * 5000})
            m = await p.recv()
            self.assertTrue(await p.closed())
            return m
        self.assertEqual(self.error_for(steps)["code"], "too_large")

    def test_silent_connection_is_closed_at_the_sign_in_deadline(self):
        async def steps(p):
            await p.hello()
            t0 = asyncio.get_event_loop().time()
            m = await p.recv(timeout=15)
            waited = asyncio.get_event_loop().time() - t0
            self.assertTrue(await p.closed())
            self.assertGreater(waited, 8)
            return m
        m = self.error_for(steps)
        self.assertEqual(m["code"], "timeout")
        self.assertTrue(m["fatal"])

    def test_unknown_message_type(self):
        async def steps(p):
            await p.hello()
            await p.send({"t": "frobnicate"})
            return await p.recv()
        self.assertEqual(self.error_for(steps)["code"], "unknown_type")

    def test_sync_before_sign_in_is_unauthenticated(self):
        async def steps(p):
            await p.hello()
            await p.send({"t": "sync", "cursor": None})
            return await p.recv()
        self.assertEqual(self.error_for(steps)["code"], "unauthenticated")

    def test_message_before_hello_is_bad_state(self):
        async def steps(p):
            await p.send({"t": "login", "email": "a@b.c", "password": "x"})
            return await p.recv()
        self.assertEqual(self.error_for(steps)["code"], "bad_state")

    def synced_cursor(self, device=None):
        async def go():
            p = await h.Peer(self.server, device).connect()
            await p.hello()
            ok = await p.login(self.owner)
            await p.send({"t": "sync", "cursor": None})
            m, _ = await p.recv_until("synced", 30)
            await p.close()
            return p.device, ok["token"], m["cursor"]
        return h.run(go())

    def sync_with(self, device, token, cursor, want_second=True):
        async def go():
            p = await h.Peer(self.server, device).connect()
            await p.hello()
            await p.send({"t": "resume", "token": token})
            ok = await p.recv()
            self.assertEqual(ok["t"], "auth_ok")
            await p.send({"t": "sync", "cursor": cursor})
            first = await p.recv()
            second = await p.recv() if want_second else None
            await p.close()
            return first, second
        return h.run(go())

    def test_forged_cursor_is_refused_and_a_snapshot_follows(self):
        device, token, cursor = self.synced_cursor()
        forged = bytearray(cursor)
        forged[3] ^= 0x01  # another sequence number, same MAC
        first, second = self.sync_with(device, token, bytes(forged))
        self.assertEqual(first["code"], "bad_cursor")
        self.assertEqual(second["t"], "snapshot_begin")
        first, _ = self.sync_with(device, token, os.urandom(41))
        self.assertEqual(first["code"], "bad_cursor")

    def test_foreign_cursor_is_refused(self):
        _, _, cursor = self.synced_cursor()           # device 1's cursor
        device2, token2, _ = self.synced_cursor()     # same person, device 2
        first, second = self.sync_with(device2, token2, cursor)
        self.assertEqual(first["code"], "bad_cursor")
        self.assertEqual(second["t"], "snapshot_begin")

    def test_valid_cursor_streams_without_snapshot(self):
        device, token, cursor = self.synced_cursor()
        first, _ = self.sync_with(device, token, cursor, want_second=False)
        self.assertEqual(first["t"], "synced")

    def test_wrong_password_and_unknown_email_look_the_same(self):
        async def steps(p):
            await p.hello()
            await p.send({"t": "login", "email": self.owner["email"], "password": "wrong"})
            a = await p.recv()
            await p.send({"t": "login", "email": "nobody@nowhere.example", "password": "wrong"})
            b = await p.recv()
            return a, b
        a, b = self.error_for(steps)
        self.assertEqual(a["code"], "auth_failed")
        self.assertEqual((a["code"], a["msg"]), (b["code"], b["msg"]))


if __name__ == "__main__":
    h.main()
