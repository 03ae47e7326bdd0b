"""Keepalive (server/net/keepalive.c): a signed-in device that says nothing is
pinged after ping_idle_s; one that answers the pings stays connected past
idle_timeout_s, one that does not answer is closed at idle_timeout_s.
(Staying connected past idle_timeout_s while saying nothing is only possible
by answering the server's pings.) Short settings through the config file so the test takes seconds, not the
default 30 s / 120 s. Also: a config whose ping comes after the hang-up is
refused at start."""
import asyncio
import os
import subprocess
import time
import unittest

import kt_harness as h

PING_S, IDLE_S = 2, 5


class KeepaliveTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = __import__("tempfile").mkdtemp(prefix="kt-keepalive-")
        cls.db, cls.accounts = h.demo_db(cls.tmp)
        cls.conf = os.path.join(cls.tmp, "server.conf")
        with open(cls.conf, "w") as f:
            f.write("ping_idle_s = %d\nidle_timeout_s = %d\n" % (PING_S, IDLE_S))
        cls.server = h.Server(cls.db, ["--config", cls.conf])

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            __import__("shutil").rmtree(cls.tmp, ignore_errors=True)

    async def signed_in(self):
        p = await h.Peer(self.server).connect()
        self.assertEqual((await p.hello())["t"], "welcome")
        self.assertEqual((await p.login(h.account(self.accounts, "reception")))["t"], "auth_ok")
        return p

    def test_a_device_that_answers_pings_stays(self):
        async def go():
            p = await self.signed_in()
            t0 = time.monotonic()
            await asyncio.sleep(IDLE_S + 3)  # silent at the protocol level, the loop answers pings
            self.assertTrue(p.ws.open, "closed although it answered the pings")
            await p.send({"t": "sync"})
            m, _ = await p.recv_until("snapshot_end", 20)
            self.assertEqual(m["t"], "snapshot_end")
            await p.close()
        h.run(go())

    def test_a_device_that_never_answers_is_closed_at_the_idle_timeout(self):
        async def go():
            p = await self.signed_in()
            t0 = time.monotonic()
            time.sleep(IDLE_S + 2.5)  # blocks the event loop: pings stay unread and unanswered
            closed = await p.closed(5)
            return closed, time.monotonic() - t0
        closed, _ = h.run(go())
        self.assertTrue(closed, "a silent device that ignored the pings was not closed")
        # the server is still there for others
        async def other():
            p = await self.signed_in()
            await p.close()
        h.run(other())

    def test_ping_after_the_hang_up_is_refused(self):
        bad = os.path.join(self.tmp, "bad.conf")
        with open(bad, "w") as f:
            f.write("ping_idle_s = 60\nidle_timeout_s = 30\n")
        out = subprocess.run([h.SERVER, "serve", "--db", self.db, "--listen", "127.0.0.1:0", "--config", bad],
                             capture_output=True, text=True, timeout=20)
        self.assertEqual(out.returncode, 2)
        self.assertIn("ping_idle_s must be below idle_timeout_s", out.stderr)


if __name__ == "__main__":
    h.main()
