"""The wire contract of PROTOCOL.md §1, §4, §5 and §8 as a client written
from it sees: a fatal error ends with a WebSocket close frame (1008/1009 and
the error code as the reason, never a bare TCP close); nesting deeper than 8
is malformed and not fatal after sign-in; a cursor over 128 bytes is
bad_cursor; an upgrade without kartoteka.v1 gets an HTTP refusal."""
import asyncio
import uuid

import msgpack
import websockets

import kt_harness as h


def nested(levels):
    """levels arrays, one inside the other, around 1."""
    v = 1
    for _ in range(levels):
        v = [v]
    return v


class WireTest(h.DemoServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.owner = h.account(cls.accounts, "owner")

    def tearDown(self):
        self.assertTrue(self.server.alive(), "server died")

    async def close_of(self, p, timeout=10):
        """(code, reason) of the close the server sends, reading whatever comes first."""
        try:
            while True:
                await asyncio.wait_for(p.ws.recv(), timeout)
        except websockets.exceptions.ConnectionClosed as e:
            return e.code, e.reason

    def session(self, steps, sign_in=True):
        async def go():
            p = await h.Peer(self.server).connect()
            try:
                await p.hello()
                if sign_in:
                    self.assertEqual((await p.login(self.owner))["t"], "auth_ok")
                return await steps(p)
            finally:
                await p.close()
        return h.run(go())

    # ---- §4: the close frame after a fatal error ----

    def test_malformed_before_sign_in_closes_with_1008_malformed(self):
        async def steps(p):
            await p.send_raw(b"\xc1\x00")
            m = await p.recv()
            return m, await self.close_of(p)
        m, close = self.session(steps, sign_in=False)
        self.assertEqual((m["code"], m["fatal"]), ("malformed", True))
        self.assertEqual(close, (1008, "malformed"))

    def test_oversized_message_closes_with_1009_too_large(self):
        async def steps(p):
            await p.send({"t": "login", "email": "a@b.c", "password": "x" * 5000})
            m = await p.recv()
            return m, await self.close_of(p)
        m, close = self.session(steps, sign_in=False)
        self.assertEqual(m["code"], "too_large")
        self.assertEqual(close, (1009, "too_large"))

    def test_text_frame_closes_with_1008_text_frame(self):
        async def steps(p):
            await p.send_raw("hello as text")
            m = await p.recv()
            return m, await self.close_of(p)
        m, close = self.session(steps, sign_in=False)
        self.assertEqual(m["code"], "text_frame")
        self.assertEqual(close, (1008, "text_frame"))

    def test_logout_closes_with_1008_revoked(self):
        async def steps(p):
            await p.send({"t": "logout"})
            m = await p.recv()
            return m, await self.close_of(p)
        m, close = self.session(steps)
        self.assertEqual((m["code"], m["fatal"]), ("revoked", True))
        self.assertEqual(close, (1008, "revoked"))

    # ---- §5/§8: nesting ----

    def test_a_burst_of_requests_gets_every_answer(self):
        """A client that sends many requests before reading any answer is
        slowed down (the server stops reading it), never answered with
        silence: every request gets its answer."""
        n = 300

        async def steps(p):
            for k in range(n):  # written without waiting for answers
                await p.ws.send(msgpack.packb({"t": "audit_query", "before": 0, "limit": 500, "n": k}))
            answers = [await p.recv() for _ in range(n)]
            await p.send({"t": "sync", "cursor": None})
            return answers, await p.recv()
        answers, after = self.session(steps)
        self.assertEqual([m["t"] for m in answers], ["audit_result"] * n)
        self.assertEqual(after["t"], "snapshot_begin", "the session goes on after the burst")

    def test_nesting_of_8_counting_the_message_map_is_accepted(self):
        async def steps(p):
            await p.send({"t": "push", "muts": [], "x": nested(7)})  # map + 7 arrays = 8 levels
            return await p.recv()
        self.assertEqual(self.session(steps)["t"], "push_result")

    def test_nesting_deeper_than_8_after_sign_in_is_malformed_and_not_fatal(self):
        async def steps(p):
            await p.send({"t": "push", "muts": [], "x": nested(8)})  # 9 levels
            m = await p.recv()
            await p.send({"t": "sync", "cursor": None})
            return m, await p.recv()
        m, after = self.session(steps)
        self.assertEqual((m["code"], m["fatal"]), ("malformed", False))
        self.assertIn("nested deeper than 8", m["msg"])
        self.assertEqual(after["t"], "snapshot_begin", "the session must go on")

    def test_nesting_deeper_than_8_before_sign_in_is_malformed_and_fatal(self):
        async def steps(p):
            await p.send({"t": "login", "email": "a@b.c", "password": "x", "x": nested(8)})
            m = await p.recv()
            return m, await self.close_of(p)
        m, close = self.session(steps, sign_in=False)
        self.assertEqual((m["code"], m["fatal"]), ("malformed", True))
        self.assertEqual(close, (1008, "malformed"))

    # ---- §3/§8: cursors over 128 bytes ----

    def test_sync_with_a_cursor_over_128_bytes_is_bad_cursor_then_a_snapshot(self):
        async def steps(p):
            await p.send({"t": "sync", "cursor": b"\x01" * 129})
            return await p.recv(), await p.recv()
        first, second = self.session(steps)
        self.assertEqual((first["t"], first["code"], first["fatal"]), ("error", "bad_cursor", False))
        self.assertEqual(second["t"], "snapshot_begin")

    def test_ack_with_a_cursor_over_128_bytes_is_bad_cursor_and_not_fatal(self):
        async def steps(p):
            await p.send({"t": "ack", "cursor": b"\x01" * 129})
            m = await p.recv()
            await p.send({"t": "sync", "cursor": None})
            return m, await p.recv()
        m, after = self.session(steps)
        self.assertEqual((m["code"], m["fatal"], m["re"]), ("bad_cursor", False, "ack"))
        self.assertEqual(after["t"], "snapshot_begin")

    # ---- §1: the subprotocol is checked at the upgrade ----

    def refused_with(self, subprotocols):
        async def go():
            try:
                ws = await websockets.connect(self.server.url, subprotocols=subprotocols, ping_interval=None)
            except websockets.exceptions.InvalidStatusCode as e:
                return e.status_code
            await ws.close()
            return 101
        return h.run(go())

    def test_upgrade_without_the_subprotocol_gets_400(self):
        self.assertEqual(self.refused_with(None), 400)

    def test_upgrade_with_another_subprotocol_gets_400(self):
        self.assertEqual(self.refused_with(["chat"]), 400)
        self.assertEqual(self.refused_with(["http-refuse"]), 400)  # our internal name is no subprotocol

    def test_upgrade_offering_it_among_others_is_accepted(self):
        self.assertEqual(self.refused_with(["chat", "kartoteka.v1"]), 101)


if __name__ == "__main__":
    h.main()
