"""The server under a service manager (net/lifecycle.c), with a fake systemd:
a unix datagram socket the server is given in NOTIFY_SOCKET (a path, and the
abstract '@' form). READY=1 comes only once the port answers; SIGHUP reads
the config file again (log level, a new certificate, a new SMTP server) while
a device stays connected on the same socket and keeps receiving changes, and
a broken file keeps the running settings; SIGTERM while devices push: every
answered push is in the database, each device gets close code 1001, the
process exits 0 within the drain bound, systemd is told STOPPING=1."""
import asyncio
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest
import uuid

import websockets

import kt_harness as h
from test_portal import Inbox, smtp_start, free_port, write_conf
from test_tls import served_serial, wait_for

LOCATION = "Lepota Maribor"
DRAIN_BOUND_S = 10  # drain_timeout_s's default; the README and PROTOCOL.md state it


class FakeSystemd:
    """The receiving end of sd_notify: a datagram socket, read on a thread.
    on_ready(msg) runs on that thread as soon as READY=1 arrives."""

    def __init__(self, tmp, abstract=False, on_ready=None):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = "kt-notify-%s" % uuid.uuid4().hex
            self.sock.bind("\0" + name)
            self.env = "@" + name
        else:  # a socket's path is at most 107 bytes: a short one of our own
            self.dir = tempfile.mkdtemp(prefix="ktn-", dir="/tmp")
            self.env = os.path.join(self.dir, "notify")
            self.sock.bind(self.env)
        self.msgs = []  # (monotonic time, {key: value})
        self.cv = threading.Condition()
        self.on_ready = on_ready
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            fields = dict(l.split("=", 1) for l in data.decode().split("\n") if "=" in l)
            if fields.get("READY") == "1" and self.on_ready:
                self.on_ready(fields)
            with self.cv:
                self.msgs.append((time.monotonic(), fields))
                self.cv.notify_all()

    def wait(self, pred, after=0, timeout=20):
        """The first message from index `after` on for which pred holds: (index, fields)."""
        end = time.monotonic() + timeout
        with self.cv:
            while True:
                for i in range(after, len(self.msgs)):
                    if pred(self.msgs[i][1]):
                        return i, self.msgs[i][1]
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError("systemd was not told: %r" % [m for _, m in self.msgs[after:]])
                self.cv.wait(left)

    def count(self):
        with self.cv:
            return len(self.msgs)

    def close(self):
        self.sock.close()
        if getattr(self, "dir", None):
            shutil.rmtree(self.dir, ignore_errors=True)


class NotifiedServer(h.Server):
    """kartoteka-server serve on a port chosen here (so that the fake
    systemd can knock on it the moment READY=1 comes), with NOTIFY_SOCKET."""

    def __init__(self, db, notify, port, conf=None, tls=None):
        self.db, self.tls, self.errlog, self.drainer = db, tls, [], None
        self.ca = tls["ca"] if tls else None
        self.ssl_context = h.client_ssl_context(self.ca) if self.ca else None
        cmd = [h.SERVER, "serve", "--db", db, "--listen", "127.0.0.1:%d" % port]
        if conf:
            cmd += ["--config", conf]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=dict(os.environ, NOTIFY_SOCKET=notify.env))
        line = self.proc.stdout.readline()
        if not line.startswith("listening on 127.0.0.1:%d" % port):
            self.stop()
            raise RuntimeError("server did not start: %r %s" % (line, self.proc.stderr.read()))
        self.port = port
        self.url = "%s://127.0.0.1:%d/" % ("wss" if tls else "ws", port)
        self.start_drain()

    def logged(self, text):
        return any(text in l for l in self.errlog)

    def wait_logged(self, text, timeout=20):
        """stderr is read on a thread: a line written before READY=1 may come after it."""
        wait_for(lambda: self.logged(text), timeout, "the log line %r (last: %s)" % (text, self.errlog[-5:]))


def http_answers(port, tls_ca=None):
    """The status line of GET / on a new connection, or None when refused."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
    except OSError:
        return None
    try:
        if tls_ca:
            s = h.client_ssl_context(tls_ca).wrap_socket(s, server_hostname="127.0.0.1")
        s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        return s.recv(64).split(b"\r\n")[0].decode()
    finally:
        s.close()


def location_cards(db):
    """(id, version) of the client cards of LOCATION only."""
    con = sqlite3.connect(db)
    rows = con.execute("SELECT c.id, c.version FROM client c JOIN client_location cl ON cl.client_id = c.id "
                       "JOIN location l ON l.id = cl.location_id WHERE l.name = ? AND NOT EXISTS("
                       "SELECT 1 FROM client_location o WHERE o.client_id = c.id AND o.location_id != l.id) "
                       "ORDER BY c.id", (LOCATION,)).fetchall()
    con.close()
    return rows


class LifecycleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kt-lifecycle-")
        cls.pki = h.make_test_ca(os.path.join(cls.tmp, "pki"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.dir = os.path.join(self.tmp, self._testMethodName)
        os.makedirs(self.dir)
        self.db, self.accounts = h.demo_db(self.dir)

    def start(self, notify, conf=None, tls=None, port=None):
        srv = NotifiedServer(self.db, notify, port or free_port(), conf=conf, tls=tls)
        self.addCleanup(lambda: srv.alive() and srv.stop())
        return srv

    # ---- READY=1 ----

    def ready_only_after_the_port_answers(self, abstract):
        port = free_port()
        knock = {}

        def on_ready(fields):  # on the fake systemd's thread, the moment READY=1 is read
            knock["answer"] = http_answers(port)

        notify = FakeSystemd(self.dir, abstract=abstract, on_ready=on_ready)
        self.addCleanup(notify.close)
        srv = self.start(notify, port=port)
        _, ready = notify.wait(lambda m: m.get("READY") == "1")
        self.assertTrue((knock.get("answer") or "").startswith("HTTP/1.1 "),
                        "READY=1 came before the port answered: %r" % knock)
        self.assertIn("serving on 127.0.0.1:%d" % port, ready.get("STATUS", ""))
        srv.stop()
        notify.wait(lambda m: m.get("STOPPING") == "1")

    def test_ready_after_the_port_answers_path_socket(self):
        self.ready_only_after_the_port_answers(abstract=False)

    def test_ready_after_the_port_answers_abstract_socket(self):
        self.ready_only_after_the_port_answers(abstract=True)

    # ---- SIGHUP ----

    def reload(self, srv, notify):
        """SIGHUP, and wait for systemd to hear RELOADING=1 and READY=1 again."""
        mark = notify.count()
        srv.proc.send_signal(signal.SIGHUP)
        i, reloading = notify.wait(lambda m: m.get("RELOADING") == "1", after=mark)
        self.assertTrue(int(reloading.get("MONOTONIC_USEC", "0")) > 0, reloading)
        notify.wait(lambda m: m.get("READY") == "1", after=i + 1)

    def test_sighup_reloads_log_level_certificate_and_mail_without_dropping_a_device(self):
        inbox1, inbox2 = Inbox(), Inbox()
        smtp1, smtp2 = smtp_start(inbox1, free_port()), smtp_start(inbox2, free_port())
        self.addCleanup(smtp1.stop)
        self.addCleanup(smtp2.stop)
        conf = os.path.join(self.dir, "serve.conf")
        keys = dict(log_level="info", tls_cert=self.pki["cert"], tls_key=self.pki["key"],
                    smtp_url="smtp://127.0.0.1:%d" % smtp1.port, smtp_from="Studio Lepota <salon@lepota.example>",
                    ping_idle_s="30")
        write_conf(conf, **keys)
        notify = FakeSystemd(self.dir)
        self.addCleanup(notify.close)
        srv = self.start(notify, conf=conf, tls={"ca": self.pki["ca"]})
        notify.wait(lambda m: m.get("READY") == "1")
        self.assertEqual(served_serial(srv.port, self.pki["ca"]), self.pki["serial"])
        reception = h.account(self.accounts, "reception", LOCATION)
        manager = h.account(self.accounts, "manager", LOCATION)
        cards = location_cards(self.db)

        async def signed_in(acc):
            p = await h.Peer(srv).connect()
            await p.hello()
            ok = await p.login(acc)
            self.assertEqual(ok["t"], "auth_ok", ok)
            return p

        async def edit_reaches(watcher, editor, card, value):
            """editor pushes an edit of card; watcher (streaming) receives it."""
            await editor.send({"t": "push", "muts": [{"mid": int(time.time() * 1000), "tbl": "client",
                                                      "id": card[0], "op": "update", "base": card[1],
                                                      "f": {"preferences": value}, "at": 1}]})
            m, _ = await editor.recv_until("push_result")
            self.assertEqual(m["results"][0]["status"], "applied", m)
            end = time.monotonic() + 20
            while time.monotonic() < end:
                m = await watcher.recv(20)
                if m.get("t") == "changes" and value in repr(m):
                    return True
            return False

        async def invite(staff_peer, skip):
            """A portal invitation to a client of the location with an e-mail: the mail is queued now."""
            for cid, _ in cards:
                if cid in skip:
                    continue
                skip.add(cid)
                await staff_peer.send({"t": "portal_invite", "client": cid})
                while True:
                    m = await staff_peer.recv(20)
                    if m.get("t") in ("portal_result", "error"):
                        break
                if m["t"] == "portal_result":
                    return cid
            self.fail("no client with an e-mail at %s" % LOCATION)

        async def steps():
            used = set()
            watcher = await signed_in(reception)
            await watcher.send({"t": "sync", "cursor": None})
            await watcher.recv_until("synced", timeout=60)
            editor = await signed_in(manager)
            self.assertTrue(await edit_reaches(watcher, editor, cards[0], "before-reload"))
            # a mail before: to the first SMTP server
            await invite(editor, used)
            self.assertIsNotNone(inbox1.wait(lambda m: True, timeout=20), "no mail at the first SMTP server")

            write_conf(conf, **dict(keys, log_level="debug", tls_cert=self.pki["cert2"], tls_key=self.pki["key2"],
                                    smtp_url="smtp://127.0.0.1:%d" % smtp2.port, ping_idle_s="31"))
            self.reload(srv, notify)
            srv.wait_logged("SIGHUP: log level debug (was info)")
            srv.wait_logged("needs a restart, the running value stays: ping_idle_s")
            srv.wait_logged("TLS: reloaded")
            srv.wait_logged("SIGHUP: new mail settings for the outbox worker (smtp_url)")
            # new handshakes get the new certificate
            self.assertEqual(served_serial(srv.port, self.pki["ca"]), self.pki["serial2"])
            # a mail queued after the reload goes to the new SMTP server, none to the old one
            before1 = inbox1.count(lambda m: True)
            await invite(editor, used)
            self.assertIsNotNone(inbox2.wait(lambda m: True, timeout=20), "no mail at the new SMTP server")
            self.assertEqual(inbox1.count(lambda m: True), before1, "a mail went to the old SMTP server")
            # debug lines now show (the mail worker's "sent over SMTP" is one)
            wait_for(lambda: srv.logged(" debug mail "), what="a debug line after the reload")
            # the device connected before the reload is still on the same socket and gets changes
            self.assertTrue(await edit_reaches(watcher, editor, cards[1], "after-reload"),
                            "the connected device stopped receiving changes")
            await watcher.close()
            await editor.close()

        h.run(steps())
        self.assertTrue(srv.alive())

    def test_sighup_with_a_broken_file_keeps_the_running_settings(self):
        conf = os.path.join(self.dir, "serve.conf")
        write_conf(conf, log_level="info")
        notify = FakeSystemd(self.dir)
        self.addCleanup(notify.close)
        srv = self.start(notify, conf=conf)
        notify.wait(lambda m: m.get("READY") == "1")
        for bad, said in ((dict(log_level="loud"), "log_level is error|warn|info|debug"),
                          (dict(log_level="debug", smtp_urll="smtp://x"), "unknown key 'smtp_urll'"),
                          (dict(log_level="debug", mail_max_attempts="many"), "mail_max_attempts")):
            write_conf(conf, **bad)
            self.reload(srv, notify)
            srv.wait_logged("the running settings stay")
            line = [l for l in srv.errlog if "the running settings stay" in l]
            self.assertTrue(line and said in line[-1] and "serve.conf:" in line[-1], (said, srv.errlog[-5:]))
            srv.errlog.clear()
        self.assertFalse(srv.logged("log level debug"), "a broken file was applied in part")
        # and the server still serves
        self.assertTrue((http_answers(srv.port) or "").startswith("HTTP/1.1 "))

    # ---- SIGTERM ----

    def test_sigterm_while_devices_push_answers_every_push_closes_with_1001_and_exits_0(self):
        notify = FakeSystemd(self.dir)
        self.addCleanup(notify.close)
        srv = self.start(notify)
        notify.wait(lambda m: m.get("READY") == "1")
        manager = h.account(self.accounts, "manager", LOCATION)
        cards = location_cards(self.db)
        devices = [str(uuid.uuid4()) for _ in range(4)]
        acked = {d: set() for d in devices}
        closes = {}
        stop = threading.Event()

        async def device(d, mine):
            # four Argon2id sign-ins at once on a busy machine: the server may
            # answer busy, which a device meets by signing in again (PROTOCOL §8)
            for attempt in range(10):
                p = await h.Peer(srv, d).connect()
                await p.hello()
                ok = await p.login(manager)
                if ok["t"] == "auth_ok":
                    break
                self.assertIn(ok.get("code"), ("busy", "timeout"), ok)
                await p.close()
            self.assertEqual(ok["t"], "auth_ok", ok)
            first = 1
            try:
                while True:
                    muts = [{"mid": m, "tbl": "client", "id": mine[m % len(mine)][0], "op": "update",
                             "base": mine[m % len(mine)][1], "f": {"preferences": "drain-%d" % m}, "at": m}
                            for m in range(first, first + 50)]
                    await p.send({"t": "push", "muts": muts})
                    while True:
                        m = await p.recv(30)
                        if m.get("t") == "push_result":
                            acked[d].update(r["mid"] for r in m["results"] if r["status"] in ("applied", "duplicate"))
                            break
                        self.assertNotEqual(m.get("t"), "error", m)
                    first += 50
            except websockets.exceptions.ConnectionClosed as e:
                closes[d] = (e.rcvd.code, e.rcvd.reason) if e.rcvd else (None, None)

        async def all_devices():
            tasks = [asyncio.create_task(device(d, cards[i::len(devices)])) for i, d in enumerate(devices)]
            # SIGTERM once every device has had pushes answered (and is pushing more)
            while not all(len(a) >= 100 for a in acked.values()):
                await asyncio.sleep(0.01)
                for t in tasks:
                    if t.done():
                        t.result()
            self.sent = time.monotonic()
            srv.proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(asyncio.gather(*tasks), DRAIN_BOUND_S + 10)

        h.run(all_devices())
        rc = srv.proc.wait(DRAIN_BOUND_S + 10)
        took = time.monotonic() - self.sent
        srv.drainer.join(10)
        self.assertEqual(rc, 0, "".join(srv.errlog[-20:]))
        self.assertLess(took, DRAIN_BOUND_S, "exit %.1f s after SIGTERM" % took)
        _, stopping = notify.wait(lambda m: m.get("STOPPING") == "1")
        self.assertIn("draining", stopping.get("STATUS", ""))
        self.assertEqual(closes, {d: (1001, "going away") for d in devices})
        srv.wait_logged("drain: done")
        # every push the devices were answered is in the database
        con = sqlite3.connect(self.db)
        for d in devices:
            have = {r[0] for r in con.execute("SELECT mid FROM mutation WHERE device_id = ?", (d,))}
            self.assertEqual(sorted(acked[d] - have), [], "answered but not in the database")
            # and a push the server took was answered before the close (a
            # drain that closed under the writer would leave some unanswered)
            self.assertEqual(sorted(have - acked[d]), [], "applied but never answered")
        con.close()
        print("drain: %d pushes answered, exit %.2f s after SIGTERM" % (sum(map(len, acked.values())), took),
              flush=True)

    def test_a_push_stuck_at_the_writer_cannot_hold_the_drain_past_its_bound(self):
        """Another process holds the database's write lock, so a device's
        push waits at the writer: the drain waits for it only
        drain_timeout_s, then says so, closes anyway and exits 0."""
        conf = os.path.join(self.dir, "serve.conf")
        write_conf(conf, drain_timeout_s="2")
        notify = FakeSystemd(self.dir)
        self.addCleanup(notify.close)
        srv = self.start(notify, conf=conf)
        notify.wait(lambda m: m.get("READY") == "1")
        manager = h.account(self.accounts, "manager", LOCATION)
        card = location_cards(self.db)[0]

        async def steps():
            p = await h.Peer(srv).connect()
            await p.hello()
            self.assertEqual((await p.login(manager))["t"], "auth_ok")
            lock = sqlite3.connect(self.db, isolation_level=None)
            lock.execute("BEGIN IMMEDIATE")  # the writer's BEGIN IMMEDIATE waits (busy_timeout 5 s)
            try:
                await p.send({"t": "push", "muts": [{"mid": 1, "tbl": "client", "id": card[0], "op": "update",
                                                      "base": card[1], "f": {"preferences": "stuck"}, "at": 1}]})
                # the loop handles a connection's messages in order: once the
                # next one is answered, the push is with the writer
                await p.send({"t": "no_such_message"})
                m = await p.recv()
                self.assertEqual((m["t"], m["code"]), ("error", "unknown_type"), m)
                started = time.monotonic()
                srv.proc.send_signal(signal.SIGTERM)
                await asyncio.get_running_loop().run_in_executor(
                    None, lambda: srv.wait_logged("still open after 2 s (1 still owed an answer)"))
                waited = time.monotonic() - started
            finally:
                lock.execute("ROLLBACK")
                lock.close()
            rc = await asyncio.get_running_loop().run_in_executor(None, srv.proc.wait, 30)
            return rc, waited, time.monotonic() - started

        rc, waited, took = h.run(steps())
        srv.drainer.join(10)
        self.assertEqual(rc, 0, "".join(srv.errlog[-10:]))
        self.assertFalse(srv.logged("drain: done"))
        self.assertTrue(2 <= waited < 4, "the bound of 2 s gave up after %.1f s" % waited)
        self.assertLess(took, 2 + 5, "exit %.1f s after SIGTERM with a 2 s bound" % took)
        print("a stuck push: the drain gave up after %.1f s, exit %.1f s after SIGTERM" % (waited, took), flush=True)

if __name__ == "__main__":
    h.main()
