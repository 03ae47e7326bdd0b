"""The fan-out's sender threads (server/net/sendpool.c): a commit that wakes
several devices (send_threads_min_devices, 2 here) has its sends shared
between the loop and send_threads more threads. Raw devices of one branch's reception
watch a run of pushed edits: every reading device ends at each row's last version, never older, and its
WebSocket stream stays whole (a frame sent twice, torn or out of order would
break the framing or the versions). Devices that stop reading fill their
sockets: the rest of a send the kernel did not take is kept and arrives, in
order, once they read again. /metrics counts the sends the pool made by
result, so the test knows the pool did them. A bad value of either key stops
the server naming the line. Without threads, or below the threshold, the loop
sends alone."""
import asyncio
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import unittest
import urllib.request
import uuid

import kt_harness as h
from ktproxy import RawWS

A = "Lepota Center"
# with the pusher, 17 devices woken at once. A device whose socket is full is
# not woken again until it drains, so the devices woken at once fall from 17
# to 4 as the stalled ones fill, one commit or a few at a time: with the
# threshold at 2 every fill happens in a pooled send, whichever commit it is
READERS, STALLED = 3, 13
MIN_DEVICES = 2
# a socket whose peer stops reading takes about 3 MB on loopback (the send
# buffer grows to tcp_wmem's 4 MB): 320 edits of 15 KB are 4.8 MB, each in a
# frame under the pool's 16 KB an item
PUSHES = 320
EDIT = "x" * 15000


def pooled(port):
    """kartoteka_fanout_pooled_sends_total by result, from /metrics (loopback may read it)."""
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10).read().decode()
    out = {}
    for m in re.finditer(r'^kartoteka_fanout_pooled_sends_total\{result="(\w+)"\} (\d+)$', body, re.M):
        out[m.group(1)] = int(m.group(2))
    return out


async def signed_in(port, acc, rcvbuf=None):
    ws = await RawWS.open(port, rcvbuf=rcvbuf)
    await ws.send({"t": "hello", "v": [1], "device": str(uuid.uuid4()), "app": "kt-fanout-threads"})
    assert (await ws.recv())["t"] == "welcome"
    await ws.send({"t": "login", "email": acc["email"], "password": acc["password"]})
    m = await ws.recv(60)
    assert m["t"] == "auth_ok", m
    await ws.send({"t": "sync", "cursor": None})
    while (await ws.recv(60))["t"] != "synced":
        pass
    return ws


async def push_edit(ws, mid, cid, base, value):
    """One update of a card's preferences; its new version (the changes
    frames that come before the answer are left to the device's stream)."""
    await ws.send({"t": "push", "muts": [{"mid": mid, "tbl": "client", "id": cid, "op": "update", "base": base,
                                          "f": {"preferences": value}, "at": mid}]})
    while True:
        m = await ws.recv(60)
        if m["t"] == "push_result":
            r = m["results"][0]
            assert r["status"] == "applied", r
            return r["v"]


async def read_until(ws, want, seen, timeout=30):
    """Read changes until every card in want is at its version; seen[card] is
    the versions this device got, in order."""
    while any(seen.get(c, [0])[-1] < v for c, v in want.items()):
        m = await ws.recv(timeout)
        if m["t"] != "changes":
            continue
        for op in m["ops"]:
            if op.get("tbl") == "client" and op.get("id") in want and op["op"] == "put":
                seen.setdefault(op["id"], []).append(op["v"])


class FanoutThreadsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kt-fanout-threads-")
        self.db, self.accounts = h.demo_db(self.tmp)
        con = sqlite3.connect(self.db)
        loc = dict(con.execute("SELECT name, id FROM location"))[A]
        self.version = dict(con.execute(
            "SELECT c.id, c.version FROM client c JOIN client_location cl ON cl.client_id = c.id "
            "WHERE cl.location_id = ? ORDER BY c.id LIMIT 10", (loc,)))
        con.close()
        self.server = None

    def tearDown(self):
        if self.server:
            self.server.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def conf(self, text):
        path = os.path.join(self.tmp, "kartoteka.conf")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_every_device_gets_every_change_whole_and_in_order(self):
        # one sender thread, whatever the machine has: the test holds on one core too
        self.server = h.Server(self.db, extra=("--config", self.conf("send_threads = 1\nsend_threads_min_devices = %d\n" % MIN_DEVICES)))
        mgr = h.account(self.accounts, "manager", A)
        before = pooled(self.server.port)
        cards = sorted(self.version)

        async def go():
            sem = asyncio.Semaphore(4)  # two Argon2 workers: keep them busy, nobody past the deadline

            async def one(rcvbuf=None):
                async with sem:
                    return await signed_in(self.server.port, mgr, rcvbuf)
            readers = await asyncio.gather(*[one() for _ in range(READERS)])
            stalled = await asyncio.gather(*[one(4096) for _ in range(STALLED)])  # and no reading from here
            pusher = await one()
            seen = [dict() for _ in readers]
            want = {}
            for k in range(PUSHES):
                cid = cards[k % len(cards)]
                v = await push_edit(pusher, k + 1, cid, self.version[cid], "%d %s" % (k, EDIT))
                self.version[cid] = want[cid] = v
                # the readers read as the edits come, as devices do
                await asyncio.gather(*[read_until(ws, {cid: v}, s) for ws, s in zip(readers, seen)])
            mid_run = pooled(self.server.port)
            # the stalled devices read again: what was kept arrives, in order
            seen_stalled = [dict() for _ in stalled]
            await asyncio.gather(*[read_until(ws, want, s, 60) for ws, s in zip(stalled, seen_stalled)])
            for ws in readers + stalled + [pusher]:
                ws.close()
            return seen, seen_stalled, want, mid_run

        seen, seen_stalled, want, after = h.run(go())
        for who, devices in (("reader", seen), ("stalled device", seen_stalled)):
            for i, s in enumerate(devices):
                for cid, v in want.items():
                    got = s.get(cid, [])
                    self.assertEqual(got[-1:], [v], "%s %d: %s not at its last version" % (who, i, cid))
                    self.assertEqual(got, sorted(set(got)), "%s %d: %s went back or repeated" % (who, i, cid))
        grew = {k: after.get(k, 0) - before.get(k, 0) for k in ("whole", "partial", "failed")}
        print("pooled sends over %d pushes to %d devices: %s" % (PUSHES, READERS + STALLED + 1, grew))
        # each push wakes every device; a device still behind skips a wake-up, so a bound, not a count
        self.assertGreaterEqual(grew["whole"], PUSHES * READERS // 2, "the sender threads did not send")
        # each stalled device once: after its socket fills it is not woken again until it reads
        self.assertGreaterEqual(grew["partial"], STALLED, "stalled devices' sockets did not fill in pooled sends")
        self.assertTrue(self.server.alive())

    def test_a_bad_value_stops_the_server_naming_the_line(self):
        for key, bad, rule in (("send_threads", "9", "auto, or a whole number of threads, 0 to 8"),
                               ("send_threads", "-1", "auto, or a whole number of threads, 0 to 8"),
                               ("send_threads", "many", "auto, or a whole number of threads, 0 to 8"),
                               ("send_threads_min_devices", "1", "a whole number of devices, 2 to 100000")):
            out = subprocess.run([h.SERVER, "serve", "--db", self.db, "--listen", "127.0.0.1:0",
                                  "--config", self.conf("# threads\n%s = %s\n" % (key, bad))],
                                 capture_output=True, text=True, timeout=30)
            self.assertEqual(out.returncode, 2, out.stderr)
            self.assertIn("kartoteka.conf:2: %s: %s" % (key, rule), out.stderr)

    def test_without_threads_or_below_the_threshold_the_loop_sends_alone(self):
        mgr = h.account(self.accounts, "manager", A)
        cid = sorted(self.version)[0]
        # no sender thread; then one, with 17 devices under the default threshold (128)
        for k, conf in enumerate(("send_threads = 0\nsend_threads_min_devices = 16\n", "send_threads = 1\n")):
            self.server = h.Server(self.db, extra=("--config", self.conf(conf)))

            async def go():
                devs = [await signed_in(self.server.port, mgr) for _ in range(17)]
                # a new value each time: an equal one is no change, and nothing is sent
                v = await push_edit(devs[0], 1, cid, self.version[cid], "alone %d" % k)
                seen = [dict() for _ in devs[1:]]
                await asyncio.gather(*[read_until(ws, {cid: v}, s) for ws, s in zip(devs[1:], seen)])
                for ws in devs:
                    ws.close()
                return v
            self.version[cid] = h.run(go())
            self.assertEqual(sum(pooled(self.server.port).values()), 0, conf)
            self.server.stop()
            self.server = None


if __name__ == "__main__":
    h.main()
