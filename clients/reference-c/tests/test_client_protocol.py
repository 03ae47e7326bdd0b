"""The reference client against a scripted fake server: what it stores, what
it acknowledges and when it gives up, message by message. Each test plays
one server script over a real WebSocket (python3-websockets) and runs the
real kartoteka-client CLI. Run with Debian's /usr/bin/python3:

    test_client_protocol.py --client build/clients/reference-c/kartoteka-client
"""
import argparse
import asyncio
import http
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import msgpack
import websockets

CLIENT = None
TOKEN = "ab" * 32
PRINCIPAL = {"kind": "staff", "id": "01941f29-857c-7f64-b117-fda59da1ba19", "role": "owner",
             "name": "Test Owner", "org": "01941f29-7ca2-71bb-9f3e-e6d389172c23"}


def pack(m):
    return msgpack.packb(m, use_bin_type=True)


class FakeServer:
    """A WebSocket server on 127.0.0.1:0 in a thread. Each connection runs
    self.script(conn) (an async function); everything the device sent is kept
    in self.received, connection times in self.connects."""

    def __init__(self):
        self.script = None
        self.hold_upgrade = 0  # seconds each connection after the first waits for its 101
        self.refuse_upgrade = False  # answer the upgrade with 403
        self.upgrades = 0
        self.received = []
        self.connects = []
        self.closes = []
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self.thread.start()
        started.wait(10)
        self.url = "ws://127.0.0.1:%d/" % self.port

    def _run(self, started):
        asyncio.set_event_loop(self.loop)

        async def main():
            self.server = await websockets.serve(self._handle, "127.0.0.1", 0, subprotocols=["kartoteka.v1"],
                                                 max_size=None, ping_interval=None,
                                                 process_request=self._upgrade)
            self.port = self.server.sockets[0].getsockname()[1]
            self.stopping = asyncio.get_running_loop().create_future()
            started.set()
            await self.stopping
            # close the listening socket at once, then every connection: each
            # handler has run its cleanup when the loop ends
            self.server.server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.wait(tasks, timeout=5) if tasks else None

        try:
            self.loop.run_until_complete(main())
        except (RuntimeError, asyncio.CancelledError):
            pass  # stopped

    async def _upgrade(self, path, headers):
        """A slow network: the TCP connection is up, the WebSocket not yet."""
        self.upgrades += 1
        if self.refuse_upgrade:
            return (http.HTTPStatus.FORBIDDEN, [], b"no\n")
        if self.upgrades > 1 and self.hold_upgrade:
            await asyncio.sleep(self.hold_upgrade)
        return None

    async def _handle(self, ws, path=None):
        self.connects.append(time.monotonic())
        conn = Conn(self, ws)
        try:
            await self.script(conn)
            await ws.wait_closed()
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            self.closes.append((time.monotonic(), ws.close_code))

    def stop(self):
        """Close the listening socket and every connection, then the loop."""
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(lambda: self.stopping.done() or self.stopping.set_result(None))
            self.thread.join(10)


class Conn:
    def __init__(self, srv, ws):
        self.srv, self.ws = srv, ws

    async def recv(self, timeout=10):
        data = await asyncio.wait_for(self.ws.recv(), timeout)
        m = msgpack.unpackb(data, raw=False)
        self.srv.received.append(m)
        return m

    async def send(self, m):
        await self.ws.send(pack(m))

    async def handshake(self, auth=None):
        """hello -> welcome; login/resume -> auth_ok (or `auth`); returns the
        device's next message (its sync), or None after a login or refusal."""
        hello = await self.recv()
        assert hello["t"] == "hello", hello
        await self.send({"t": "welcome", "v": 1, "server_time": int(time.time() * 1000),
                         "limits": {"frame": 1 << 20}, "future_key": [1, 2, 3]})
        m = await self.recv()
        assert m["t"] in ("login", "resume"), m
        if auth is not None:
            await self.send(auth)
            return None
        await self.send({"t": "auth_ok", "principal": PRINCIPAL, "token": TOKEN, "expires_at": 1 << 42})
        if m["t"] == "login":
            return None
        return await self.recv()


def row(tbl, rid, v, f, op=None):
    r = {"tbl": tbl, "id": rid, "v": v, "f": f}
    if op:
        r["op"] = op
    return r


def rid(n):
    return "01941f31-0000-7000-8000-%012d" % n


class ClientTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kc-proto-")
        self.dir = os.path.join(self.tmp, "dev")
        self.srv = FakeServer()

    def tearDown(self):
        self.srv.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def cli(self, *args, stdin=None, timeout=30):
        out = subprocess.run([CLIENT, "--dir", self.dir] + list(args), input=stdin, capture_output=True,
                             text=True, timeout=timeout)
        # an ASan/UBSan build reports here (make test runs one)
        self.assertNotIn("Sanitizer", out.stderr)
        self.assertNotIn("runtime error", out.stderr)
        return out

    def login(self):
        async def script(c):
            await c.handshake()
        self.srv.script = script
        out = self.cli("--server", self.srv.url, "login", "owner@example.com", stdin="secret\n")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("signed in as Test Owner (owner)", out.stdout)
        self.srv.received.clear()
        self.srv.connects.clear()

    def db(self, sql, *args):
        con = sqlite3.connect(os.path.join(self.dir, "cache.db"))
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def meta(self, key):
        r = self.db("SELECT value FROM meta WHERE key = ?", key)
        return r[0][0] if r else None

    def rows(self):
        return {(t, i): (v, json.loads(d)) for t, i, v, d in self.db("SELECT tbl, id, v, data FROM rows")}

    def sent(self, t):
        return [m for m in self.srv.received if m.get("t") == t]

    def snapshot(self, rows, cursor=b"C1", pages=1):
        async def script(c):
            m = await c.handshake()
            self.assertEqual(m["t"], "sync")
            await c.send({"t": "snapshot_begin", "total": len(rows)})
            per = max(1, (len(rows) + pages - 1) // pages)
            for k in range(0, len(rows), per):
                await c.send({"t": "page", "rows": rows[k:k + per]})
            await c.send({"t": "snapshot_end", "cursor": cursor})
            await c.send({"t": "synced", "cursor": cursor})
            await c.recv()  # the ack
        return script

    # ---- sign-in ----

    def test_login_stores_token_and_principal_never_the_password(self):
        self.login()
        self.assertEqual(self.meta("token"), TOKEN)
        self.assertEqual(self.meta("principal_role"), "owner")
        self.assertEqual(self.meta("org"), PRINCIPAL["org"])
        with open(os.path.join(self.dir, "cache.db"), "rb") as f:
            raw = f.read()
        self.assertNotIn(b"secret", raw)
        self.assertEqual(os.stat(self.dir).st_mode & 0o777, 0o700)
        self.assertEqual(os.stat(os.path.join(self.dir, "cache.db")).st_mode & 0o777, 0o600)

    def test_refused_token_is_forgotten_and_exit_is_3(self):
        self.login()

        async def script(c):
            await c.handshake(auth={"t": "error", "code": "auth_failed", "msg": "wrong e-mail, password or token",
                                    "fatal": False, "re": "resume"})
        self.srv.script = script
        out = self.cli("sync")
        self.assertEqual(out.returncode, 3, out.stderr)
        self.assertIn("wrong e-mail, password or token", out.stderr)
        self.assertIsNone(self.meta("token"))
        self.assertEqual(self.cli("sync").returncode, 3)  # not signed in now, no connection tried
        self.assertEqual(len(self.srv.connects), 1)

    def test_login_refusal_and_throttle_exit_3(self):
        for code in ("auth_failed", "throttled"):
            async def script(c, code=code):
                await c.handshake(auth={"t": "error", "code": code, "msg": "no: " + code, "fatal": False,
                                        "re": "login"})
            self.srv.script = script
            out = self.cli("--server", self.srv.url, "login", "x@example.com", stdin="pw\n")
            self.assertEqual(out.returncode, 3)
            self.assertIn("no: " + code, out.stderr)

    def test_another_person_signing_in_wipes_the_cache(self):
        self.login()
        self.srv.script = self.snapshot([row("client", rid(1), 1, {"name": "a"})])
        self.assertEqual(self.cli("sync").returncode, 0)

        async def script(c):
            await c.recv()
            await c.send({"t": "welcome", "v": 1, "server_time": 1, "limits": {}})
            await c.recv()
            await c.send({"t": "auth_ok", "principal": dict(PRINCIPAL, id=rid(42), name="Other"), "token": "cd" * 32,
                          "expires_at": 1})
        self.srv.script = script
        out = self.cli("login", "other@example.com", stdin="pw\n")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(self.rows(), {})
        self.assertIsNone(self.meta("cursor"))

    # ---- what is stored ----

    def test_value_types_map_to_json_and_fragmented_pages_reassemble(self):
        self.login()
        f = {"name": "Ana \"Quote\" Žagar\t", "n": -5, "big": 2 ** 40, "ok": True, "no": False, "none": None,
             "list": ["a", "b,c"], "empty": []}
        rows = [row("client", rid(1), 3, f), row("client", rid(2), 1, {"name": "x" * 70000})]

        async def script(c):
            m = await c.handshake()
            self.assertIsNone(m["cursor"])
            await c.send({"t": "snapshot_begin", "total": 2})
            data = pack({"t": "page", "rows": rows})
            await c.ws.send([data[k:k + 1000] for k in range(0, len(data), 1000)])  # 1000-byte fragments
            await c.send({"t": "snapshot_end", "cursor": b"C1"})
            await c.send({"t": "synced", "cursor": b"C1"})
            await c.recv()
        self.srv.script = script
        out = self.cli("sync")
        self.assertEqual(out.returncode, 0, out.stderr)
        got = self.rows()
        self.assertEqual(got[("client", rid(1))], (3, f))
        self.assertEqual(len(got[("client", rid(2))][1]["name"]), 70000)
        self.assertEqual(self.meta("cursor"), b"C1".hex())
        self.assertEqual(self.sent("ack"), [{"t": "ack", "cursor": b"C1"}])

    def test_many_pages_commit_in_order_with_progress_and_ops(self):
        """Pages are committed on a second thread while the next is read:
        every row lands, `watch` reports the puts in the order sent and the
        progress line counts up page by page to the total."""
        self.login()
        rows = [row("client", rid(k), k, {"name": "n%d" % k}) for k in range(1, 41)]
        self.srv.script = self.snapshot(rows, pages=10)
        out = self.cli("sync", "--progress")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(set(self.rows()), {("client", rid(k)) for k in range(1, 41)})
        counts = [int(m) for m in re.findall(r"snapshot (\d+)/40 rows", out.stderr)]
        self.assertEqual(counts, sorted(counts))
        self.assertEqual(counts[-1], 40)
        self.assertEqual(self.meta("cursor"), b"C1".hex())
        # again, from scratch, watching: the puts in the order sent
        shutil.rmtree(self.dir)
        self.login()
        self.srv.script = self.snapshot(rows, pages=10)
        out = self.cli("--quiet", "watch", "--max-seconds", "2")
        puts = [l.split()[2] for l in out.stdout.splitlines() if l.startswith("put ")]
        self.assertEqual(puts, [rid(k) for k in range(1, 41)])

    def test_a_bad_page_after_good_ones_keeps_them_and_stops(self):
        """A page refused after good ones: those stay (each page is its own
        transaction, as before), nothing after it is applied, no cursor is
        stored and the device closes the connection at once."""
        self.login()

        async def send(c, m):
            await c.send({"t": "snapshot_begin", "total": 8})
            for k in range(1, 5):
                await c.send({"t": "page", "rows": [row("client", rid(k), 1, {"name": "ok"})]})
            await c.send({"t": "page", "rows": [row("client", rid(5), 1, {"nested": {"a": 1}})]})
            for k in range(6, 9):
                await c.send({"t": "page", "rows": [row("client", rid(k), 1, {"name": "late"})]})
        async def script(c):
            m = await c.handshake()
            await send(c, m)
            try:
                await c.recv(5)
            except (websockets.exceptions.ConnectionClosed, asyncio.TimeoutError):
                pass
        self.srv.script = script
        t0 = time.monotonic()
        out = self.cli("sync", timeout=20)
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertIn("field value", out.stderr)
        self.assertLess(time.monotonic() - t0, 4, "the device waited for the server to close")
        self.assertEqual(set(self.rows()), {("client", rid(k)) for k in range(1, 5)})
        self.assertIsNone(self.meta("cursor"))

    def test_changes_apply_in_order_with_their_cursor(self):
        self.login()
        self.srv.script = self.snapshot([row("client", rid(1), 1, {"name": "a"}),
                                         row("visit", rid(2), 1, {"client_id": rid(1)})])
        self.assertEqual(self.cli("sync").returncode, 0)

        async def script(c):
            m = await c.handshake()
            self.assertEqual(m["cursor"], b"C1")  # resumes from the stored cursor
            await c.send({"t": "changes", "cursor": b"C2", "ops": [
                row("client", rid(1), 2, {"name": "b"}, op="put"),
                {"op": "delete", "tbl": "visit", "id": rid(2)},
                {"op": "evict", "tbl": "visit", "id": rid(99)},  # not held: a no-op
                row("client", rid(3), 1, {"name": "c"}, op="put")]})
            await c.send({"t": "synced", "cursor": b"C2"})
            await c.recv()
        self.srv.script = script
        out = self.cli("watch", "--max-seconds", "2")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.split("\n")[:5], [
            "put client %s v2" % rid(1), "delete visit %s" % rid(2), "evict visit %s" % rid(99),
            "put client %s v1" % rid(3), "synced"])
        self.assertEqual(set(self.rows()), {("client", rid(1)), ("client", rid(3))})
        self.assertEqual(self.meta("cursor"), b"C2".hex())
        self.assertEqual(self.sent("ack")[-1]["cursor"], b"C2")

    def test_bad_cursor_then_snapshot_drops_rows_not_sent_again(self):
        self.login()
        self.srv.script = self.snapshot([row("client", rid(n), 1, {"name": str(n)}) for n in range(5)])
        self.assertEqual(self.cli("sync").returncode, 0)

        async def script(c):
            m = await c.handshake()
            self.assertEqual(m["cursor"], b"C1")
            await c.send({"t": "error", "code": "bad_cursor", "msg": "cursor refused", "fatal": False, "re": "sync"})
            await c.send({"t": "snapshot_begin", "total": 2})
            await c.send({"t": "page", "rows": [row("client", rid(1), 2, {"name": "one"})]})
            await c.send({"t": "page", "rows": [row("client", rid(7), 1, {"name": "seven"})]})
            await c.send({"t": "snapshot_end", "cursor": b"C9"})
            await c.send({"t": "synced", "cursor": b"C9"})
            await c.recv()
        self.srv.script = script
        out = self.cli("sync")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(set(self.rows()), {("client", rid(1)), ("client", rid(7))})
        self.assertEqual(self.meta("cursor"), b"C9".hex())

    def test_unknown_types_and_keys_are_ignored(self):
        self.login()

        async def script(c):
            await c.handshake()
            await c.send({"t": "news_from_v2", "x": 1})
            await c.send({"t": "snapshot_begin", "total": 1, "extra": {"a": [1]}})
            await c.send({"t": "page", "rows": [dict(row("client", rid(1), 1, {"name": "a"}), later=True)]})
            await c.send({"t": "snapshot_end", "cursor": b"C1"})
            await c.send({"t": "synced", "cursor": b"C1"})
            await c.recv()
        self.srv.script = script
        out = self.cli("sync")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(list(self.rows()), [("client", rid(1))])

    # ---- what is refused ----

    def refused(self, send, expect_in_err, same_cursor=True):
        """The server sends something the device must refuse: the device
        closes, sync exits 1, nothing of it is stored."""
        async def script(c):
            m = await c.handshake()
            await send(c, m)
            try:
                await c.recv(5)
            except (websockets.exceptions.ConnectionClosed, asyncio.TimeoutError):
                pass
        self.srv.script = script
        before = self.rows()
        cursor = self.meta("cursor")
        out = self.cli("sync", timeout=20)
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertIn(expect_in_err, out.stderr)
        self.assertEqual(self.rows(), before)
        if same_cursor:
            self.assertEqual(self.meta("cursor"), cursor)
        self.assertTrue(self.srv.closes and self.srv.closes[-1][1] is not None)
        return out

    def test_message_over_the_limit_is_refused(self):
        self.login()

        async def send(c, m):
            await c.ws.send(b"\x81" + b"\0" * (2 * 1024 * 1024))
        self.refused(send, "over 2097152 bytes")

    def test_text_frame_is_refused(self):
        self.login()

        async def send(c, m):
            await c.ws.send("hello")
        self.refused(send, "text frame")

    def test_empty_message_is_refused(self):
        self.login()

        async def send(c, m):
            await c.ws.send(b"")
        self.refused(send, "(untyped)")

    def test_map_field_value_rolls_the_page_back(self):
        self.login()

        async def send(c, m):
            await c.send({"t": "snapshot_begin", "total": 2})
            await c.send({"t": "page", "rows": [row("client", rid(1), 1, {"name": "ok"}),
                                                row("client", rid(2), 1, {"nested": {"a": 1}})]})
        self.refused(send, "field value")
        self.assertEqual(self.rows(), {})

    def test_changes_inside_a_snapshot_are_refused(self):
        self.login()
        self.srv.script = self.snapshot([row("client", rid(1), 1, {"name": "a"})])
        self.assertEqual(self.cli("sync").returncode, 0)

        async def send(c, m):
            await c.send({"t": "snapshot_begin", "total": 1})
            await c.send({"t": "changes", "cursor": b"C5", "ops": [row("client", rid(1), 5, {"name": "x"}, op="put")]})
        self.refused(send, "changes", same_cursor=False)
        self.assertIsNone(self.meta("cursor"))  # a started snapshot forgets the old cursor
        self.assertEqual(self.rows()[("client", rid(1))][0], 1)

    def test_truncated_message_is_refused(self):
        self.login()

        async def send(c, m):
            await c.ws.send(pack({"t": "changes", "cursor": b"C2", "ops": []})[:-1])
        self.refused(send, "changes")

    # ---- connections ----

    def test_server_ping_is_answered_and_every_frame_length_form_arrives(self):
        """On ws:// the client speaks WebSocket itself (kc_ws.c): the
        server's ping gets its pong, and pages whose frames use each of the
        three length forms (7-bit, 16-bit, 64-bit) arrive whole."""
        self.login()
        rows = [row("client", rid(1), 1, {"name": "a"}), row("client", rid(2), 1, {"name": "b" * 300}),
                row("client", rid(3), 1, {"name": "c" * 70000})]
        pongs = []

        async def script(c):
            await c.handshake()
            await c.send({"t": "snapshot_begin", "total": 3})
            for r in rows:
                await c.send({"t": "page", "rows": [r]})
            await asyncio.wait_for(await c.ws.ping(b"kt"), 5)
            pongs.append(True)
            await c.send({"t": "snapshot_end", "cursor": b"C1"})
            await c.send({"t": "synced", "cursor": b"C1"})
            await c.recv()
        self.srv.script = script
        out = self.cli("sync")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(pongs, [True])
        got = self.rows()
        self.assertEqual({k: len(v[1]["name"]) for k, v in got.items()},
                         {("client", rid(1)): 1, ("client", rid(2)): 300, ("client", rid(3)): 70000})

    def test_refused_upgrade_is_named(self):
        self.login()
        self.srv.refuse_upgrade = True
        out = self.cli("sync")
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("cannot connect to the server: the server refused the WebSocket upgrade (HTTP 403)",
                      out.stderr)

    def test_no_server_fails_fast(self):
        self.login()
        self.srv.stop()
        t0 = time.monotonic()
        out = self.cli("sync")
        self.assertEqual(out.returncode, 1)
        self.assertIn("cannot connect", out.stderr)
        self.assertLess(time.monotonic() - t0, 5)

    def test_silent_server_is_given_up_on(self):
        """A server that accepts the WebSocket and then says nothing: no
        sign-in within the deadline ends the attempt instead of hanging."""
        self.login()

        async def script(c):
            await asyncio.sleep(60)
        self.srv.script = script
        t0 = time.monotonic()
        out = self.cli("sync", timeout=40)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("did not answer", out.stderr)
        self.assertLess(time.monotonic() - t0, 25)

    def test_watch_reconnects_with_backoff_and_resumes(self):
        self.login()
        self.srv.script = self.snapshot([row("client", rid(1), 1, {"name": "a"})])
        self.assertEqual(self.cli("sync").returncode, 0)
        cursors = []

        async def script(c):
            m = await c.handshake()
            cursors.append(m["cursor"])
            n = len(cursors)
            await c.send({"t": "changes", "cursor": b"K%d" % n,
                          "ops": [row("client", rid(1), 1 + n, {"name": "v%d" % n}, op="put")]})
            await c.send({"t": "synced", "cursor": b"K%d" % n})
            await c.recv()  # ack
            await c.ws.close()  # drop the device
        self.srv.script = script
        self.srv.connects.clear()
        out = self.cli("watch", "--max-seconds", "3")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertGreaterEqual(len(cursors), 3)
        self.assertEqual(cursors[:3], [b"C1", b"K1", b"K2"])  # each connection resumes where the last ended
        gaps = [b - a for a, b in zip(self.srv.connects, self.srv.connects[1:])]
        # signed in each time, so the backoff restarts at 250 ms (125-250 ms with jitter)
        self.assertTrue(all(0.1 < g < 0.6 for g in gaps), gaps)
        self.assertIn("reconnecting", out.stderr)

    def test_a_new_connection_starts_with_hello_even_when_slow_to_open(self):
        """A slow reconnect still starts with hello, not the last connection's ack or push.

        The last connection's business (an ack due, a poll of the queue) must
        not go out on the next one before it is signed in: the server answers
        that with `unauthenticated`, and `watch` gave up on it (exit 3; the
        intermittent failure of integration_netfaults). Here the link drops
        with an ack due and an edit queued meanwhile, and the next WebSocket
        takes 1.5 s to open, so the queue poll (every 1 s) falls between the
        reconnect and hello."""
        self.login()
        self.srv.script = self.snapshot([row("client", rid(1), 1, {"name": "a", "preferences": None})])
        self.assertEqual(self.cli("sync").returncode, 0)
        firsts, pushes = [], []
        edited = threading.Event()

        async def script(c):
            m = await c.recv()
            firsts.append(m["t"])
            if m["t"] != "hello":
                await c.ws.close()
                return
            await c.send({"t": "welcome", "v": 1, "server_time": int(time.time() * 1000),
                          "limits": {"frame": 1 << 20}})
            await c.recv()  # resume
            await c.send({"t": "auth_ok", "principal": PRINCIPAL, "token": TOKEN, "expires_at": 1 << 42})
            if len(firsts) == 1:
                m = await c.recv()
                self.assertEqual(m["t"], "sync")
                await c.send({"t": "changes", "cursor": b"K1",
                              "ops": [row("client", rid(1), 2, {"name": "b", "preferences": None}, op="put")]})
                await c.send({"t": "synced", "cursor": b"K1"})
                await c.recv()  # the ack; the queue is looked at again 1 s after synced
                while not edited.is_set():
                    await asyncio.sleep(0.01)
                await c.send({"t": "changes", "cursor": b"K2",  # an ack due within 200 ms
                              "ops": [row("client", rid(1), 3, {"name": "c", "preferences": None}, op="put")]})
                c.ws.transport.abort()  # the link drops
                return
            while True:
                m = await c.recv(30)
                if m["t"] == "push":
                    pushes.append(m)
                    await c.send({"t": "push_result", "results": [
                        {"mid": mu["mid"], "status": "applied", "v": 4} for mu in m["muts"]]})
                elif m["t"] == "sync":
                    await c.send({"t": "synced", "cursor": m["cursor"]})
        self.srv.script = script
        self.srv.hold_upgrade = 1.5
        self.srv.received.clear()
        watch = subprocess.Popen([CLIENT, "--dir", self.dir, "--quiet", "watch", "--max-seconds", "5"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 5
            while not self.sent("ack") and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertEqual(self.cli("--quiet", "client", "set", rid(1), "preferences", "tea").returncode, 0)
            edited.set()
            _, err = watch.communicate(timeout=20)
        finally:
            watch.kill()
            watch.wait()
        self.assertEqual(firsts[:2], ["hello", "hello"], err)
        self.assertEqual(watch.returncode, 0, err)  # still watching when its time was up
        self.assertEqual(len(pushes), 1)  # pushed once, after the resume
        self.assertEqual(pushes[0]["muts"][0]["f"], {"preferences": "tea"})

    def test_backoff_grows_while_the_server_refuses_to_talk(self):
        self.login()

        async def script(c):
            await c.ws.close()  # before hello: never signed in
        self.srv.script = script
        self.srv.connects.clear()
        out = self.cli("--quiet", "watch", "--max-seconds", "4")
        self.assertEqual(out.returncode, 0, out.stderr)
        gaps = [b - a for a, b in zip(self.srv.connects, self.srv.connects[1:])]
        # 250, 500, 1000, 2000 ms, each 50-100 % with jitter: about 4 attempts in 4 s
        self.assertGreaterEqual(len(gaps), 3, gaps)
        self.assertLess(len(gaps), 8, gaps)
        self.assertGreater(gaps[-1], gaps[0])

    def test_second_syncing_process_is_refused(self):
        self.login()

        async def script(c):
            await c.handshake()
            await asyncio.sleep(30)  # never synced: the first process keeps the lock
        self.srv.script = script
        first = subprocess.Popen([CLIENT, "--dir", self.dir, "watch", "--max-seconds", "5"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            # the first process takes the lock before it connects: once it has asked for sync, it holds it
            deadline = time.monotonic() + 10
            while not self.sent("sync") and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertTrue(self.sent("sync"), "the first process never connected")
            out = self.cli("sync")
            self.assertEqual(out.returncode, 1)
            self.assertIn("another process", out.stderr)
            self.assertEqual(self.cli("status").returncode, 0)  # readers are fine
        finally:
            first.kill()
            first.wait()

    def test_watch_pushes_edits_queued_meanwhile_by_another_process(self):
        self.login()
        self.srv.script = self.snapshot([row("client", rid(1), 1, {"name": "a", "preferences": None})])
        self.assertEqual(self.cli("sync").returncode, 0)
        pushes = []

        async def script(c):
            m = await c.handshake()
            await c.send({"t": "synced", "cursor": m["cursor"]})
            while True:
                m = await c.recv(30)
                if m["t"] == "push":
                    pushes.append(m)
                    await c.send({"t": "push_result", "results": [
                        {"mid": mu["mid"], "status": "applied", "v": 2} for mu in m["muts"]]})
        self.srv.script = script
        self.srv.received.clear()
        watch = subprocess.Popen([CLIENT, "--dir", self.dir, "--quiet", "watch", "--max-seconds", "6"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            # the watcher prints "synced" (and exits at --max-seconds if it never is)
            self.assertEqual(watch.stdout.readline().strip(), "synced")
            self.assertEqual(self.cli("--quiet", "client", "set", rid(1), "preferences", "tea").returncode, 0)
            deadline = time.monotonic() + 4
            while not pushes and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertEqual(len(pushes), 1)
            self.assertEqual(pushes[0]["muts"][0]["f"], {"preferences": "tea"})
            deadline = time.monotonic() + 4  # the answer is applied a moment after it is sent
            while self.db("SELECT count(*) FROM queue") != [(0,)] and time.monotonic() < deadline:
                time.sleep(0.02)
            self.assertEqual(self.db("SELECT count(*) FROM queue"), [(0,)])  # answered: gone
        finally:
            watch.kill()
            watch.wait()

    # ---- logout ----

    def test_logout_wipes_rows_and_token_keeps_device(self):
        self.login()
        self.srv.script = self.snapshot([row("client", rid(1), 1, {"name": "Secret Person"})])
        self.assertEqual(self.cli("sync").returncode, 0)
        device = self.meta("device_id")

        async def signs_out(c):  # as the server does (PROTOCOL.md, logout)
            m = await c.handshake()
            self.assertEqual(m["t"], "logout")
            await c.send({"t": "error", "code": "revoked", "re": "logout", "fatal": True, "msg": "signed out"})
        self.srv.script = signs_out
        out = self.cli("logout")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(len(self.sent("logout")), 1)
        self.assertEqual(self.rows(), {})
        self.assertIsNone(self.meta("token"))
        self.assertEqual(self.meta("device_id"), device)
        raw = b""
        for name in os.listdir(self.dir):
            with open(os.path.join(self.dir, name), "rb") as f:
                raw += f.read()
        self.assertNotIn(b"Secret Person", raw)

    def test_logout_pushes_waiting_edits_first_or_discards_them_when_told(self):
        self.login()
        self.srv.script = self.snapshot([row("client", rid(1), 1, {"name": "a"})])
        self.assertEqual(self.cli("sync").returncode, 0)
        self.assertEqual(self.cli("--quiet", "client", "set", rid(1), "preferences", "tea").returncode, 0)
        self.srv.stop()  # offline: the edit cannot be delivered
        out = self.cli("logout")
        self.assertEqual(out.returncode, 1)
        self.assertIn("not pushed yet", out.stderr)
        self.assertEqual(self.meta("token"), TOKEN)
        self.assertEqual(self.db("SELECT count(*) FROM queue"), [(1,)])
        self.assertEqual(self.cli("logout", "--discard").returncode, 0)
        self.assertEqual(self.db("SELECT count(*) FROM queue"), [(0,)])
        self.assertIsNotNone(self.meta("last_mid"))  # mids are never reused on this device


def main():
    global CLIENT
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--client", required=True)
    args, rest = p.parse_known_args()
    CLIENT = os.path.abspath(args.client)
    # sockets of peers the scripts abandon on purpose
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2, warnings="ignore")


if __name__ == "__main__":
    main()
