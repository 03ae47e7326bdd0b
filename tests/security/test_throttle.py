"""The sign-in throttle cannot be bypassed: guesses sent in parallel never get
more password checks than the limit, e-mails chosen to collide in the
lock-out table do not clear a lock, behind a trusted TLS proxy every client
address is throttled on its own (IPv6 by /64) while a header from any other
peer is ignored, and a stranger who keeps an account locked does not keep its
owner out of the addresses the owner signs in from.

Lock-outs are set up the way a previous run leaves them (a keyed-hash row in
meta, read at start), so that the tests need not wait for doubling locks."""
import asyncio
import hashlib
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import time
import unittest
import uuid

import kt_harness as h
import msgpack
import websockets

HERE = os.path.dirname(os.path.abspath(__file__))


def limits():
    """The numbers in proto/kt_limits.h (simple integer expressions only)."""
    out = {}
    with open(os.path.join(HERE, "..", "..", "proto", "kt_limits.h")) as f:
        for m in re.finditer(r"#define (KT_\w+) ([0-9()*+ ]+?)\s*(/\*|$)", f.read(), re.M):
            out[m.group(1)] = int(eval(m.group(2)))
    return out


L = limits()


def token_key(db):
    con = sqlite3.connect(db)
    (k,) = con.execute("SELECT value FROM meta WHERE key = 'token_key'").fetchone()
    con.close()
    return bytes(k)


def throttle_key(db, kind, text, key=None):
    """The server's keyed hash of an account ("a:" e-mail) or address ("i:" address)."""
    return hashlib.blake2b((kind + text.lower()).encode(), key=key or token_key(db), digest_size=16).digest()


def seed_lockout(db, kind, text, seconds=600, fails=12):
    """A lock-out of seconds, as a server run leaves it in meta."""
    now = int(time.time() * 1000)
    con = sqlite3.connect(db)
    con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)",
                ("lockout:" + throttle_key(db, kind, text).hex(),
                 ("%d %d %d" % (fails, now + seconds * 1000, now)).encode()))
    con.commit()
    con.close()


async def one_login(server, email, password, headers=None, local="127.0.0.1"):
    """The server's answer to one sign-in on a connection of its own."""
    ws = await websockets.connect(server.url, subprotocols=["kartoteka.v1"], max_size=None, ping_interval=None,
                                  extra_headers=headers or {}, local_addr=(local, 0))
    try:
        await ws.send(msgpack.packb({"t": "hello", "v": [1], "device": str(uuid.uuid4()), "app": "kt-test"}))
        msgpack.unpackb(await asyncio.wait_for(ws.recv(), 10))
        await ws.send(msgpack.packb({"t": "login", "email": email, "password": password}))
        m = msgpack.unpackb(await asyncio.wait_for(ws.recv(), 30), raw=False)
        return m.get("code", m["t"])
    finally:
        await ws.close()


async def parallel_logins(server, pairs, headers=None, local="127.0.0.1"):
    """Every (email, password) on a connection of its own, all past hello
    first, then every login sent at once; the answers' codes."""
    conns = []
    for _ in pairs:
        ws = await websockets.connect(server.url, subprotocols=["kartoteka.v1"], max_size=None, ping_interval=None,
                                      extra_headers=headers or {}, local_addr=(local, 0))
        await ws.send(msgpack.packb({"t": "hello", "v": [1], "device": str(uuid.uuid4()), "app": "kt-test"}))
        conns.append(ws)
    for ws in conns:
        await asyncio.wait_for(ws.recv(), 10)
    await asyncio.gather(*(ws.send(msgpack.packb({"t": "login", "email": e, "password": p}))
                           for ws, (e, p) in zip(conns, pairs)))

    async def answer(ws):
        m = msgpack.unpackb(await asyncio.wait_for(ws.recv(), 60), raw=False)
        await ws.close()
        return m.get("code", m["t"])
    return await asyncio.gather(*(answer(ws) for ws in conns))


class ThrottleTest(unittest.TestCase):
    """A fresh demo database and server per test: lock-outs do not leak between tests."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kt-throttle-")
        self.db, self.accounts = h.demo_db(self.tmp)
        self.server = None

    def tearDown(self):
        try:
            if self.server:
                self.server.stop()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, *extra):
        if self.server:
            self.server.stop()
        self.server = h.Server(self.db, extra)

    def login(self, acc, password=None, **kw):
        return h.run(one_login(self.server, acc["email"], password or acc["password"], **kw))

    # ---- in-flight attempts count ----

    def test_parallel_guesses_on_one_account_get_at_most_the_free_failures(self):
        self.start()
        victim = h.account(self.accounts, "reception")
        free = L["KT_THROTTLE_ACCOUNT_FREE"]
        codes = h.run(parallel_logins(self.server, [(victim["email"], "Wrong-guess-%d" % i) for i in range(40)]))
        checked = codes.count("auth_failed")
        print("40 parallel guesses on one account: %d checked, %d throttled" % (checked, codes.count("throttled")))
        self.assertLessEqual(checked, free, "parallel guesses passed the per-account limit: %s" % codes)
        self.assertEqual(checked + codes.count("throttled"), 40, codes)

    def test_parallel_sign_ins_of_one_account_wait_instead_of_failing(self):
        """The limit counts attempts in flight, but a sign-in over it waits for
        them instead of being refused: 12 tablets signing in as one person at
        once (after a power cut) all get in."""
        self.start()
        acc = h.account(self.accounts, "specialist")
        codes = h.run(parallel_logins(self.server, [(acc["email"], acc["password"])] * 12))
        self.assertEqual(codes, ["auth_ok"] * 12)

    def test_parallel_guesses_from_one_address_get_at_most_its_free_failures(self):
        self.start()
        free = L["KT_THROTTLE_ADDR_FREE"]
        codes = h.run(parallel_logins(self.server, [("nobody%d@example.invalid" % i, "Wrong-guess-1")
                                                    for i in range(40)]))
        checked = codes.count("auth_failed")
        print("40 parallel guesses on 40 accounts from one address: %d checked" % checked)
        self.assertLessEqual(checked, free, "parallel guesses passed the per-address limit: %s" % codes)
        self.assertEqual(checked + codes.count("throttled"), 40, codes)

    # ---- the table never forgets a lock ----

    def test_emails_colliding_in_the_table_do_not_clear_a_lock(self):
        victim = h.account(self.accounts, "manager")
        seed_lockout(self.db, "a:", victim["email"])
        # e-mails whose keyed hash lands where the victim's does (the old
        # table: 4096 slots, a 16-slot window from the hash's first two
        # bytes, least recent evicted); 17 fill the window and push it out
        key = token_key(self.db)  # read once: the search hashes some 80,000 e-mails
        target = int.from_bytes(throttle_key(self.db, "a:", victim["email"], key)[:2], "big") % 4096
        crafted, i = [], 0
        while len(crafted) < 17:
            e = "c%d@example.invalid" % i
            if int.from_bytes(throttle_key(self.db, "a:", e, key)[:2], "big") % 4096 == target:
                crafted.append(e)
            i += 1
        self.start()
        self.assertEqual(self.login(victim), "throttled")
        for e in crafted:  # one at a time, as the window's least recent is the one to go
            self.assertEqual(h.run(one_login(self.server, e, "Wrong-guess-1")), "auth_failed")
        # many more distinct e-mails, in parallel, from another address
        codes = h.run(parallel_logins(self.server, [("spray%d@example.invalid" % i, "x") for i in range(40)],
                                      local="127.0.0.3"))
        self.assertNotIn("auth_ok", codes)
        # (from an address with no failures: only the account's lock can refuse it)
        self.assertEqual(self.login(victim, local="127.0.0.5"), "throttled",
                         "crafted e-mails cleared the account's lock-out")

    # ---- behind a trusted proxy ----

    def test_forwarded_addresses_are_throttled_separately(self):
        acc = h.account(self.accounts, "specialist")
        seed_lockout(self.db, "i:", "198.51.100.7")
        self.start("--trusted-proxy", "127.0.0.1")
        self.assertEqual(self.login(acc, headers={"X-Forwarded-For": "198.51.100.7"}), "throttled")
        self.assertEqual(self.login(acc, headers={"X-Forwarded-For": "198.51.100.8"}), "auth_ok")
        # what the client wrote left of the proxy's entry is not believed
        self.assertEqual(self.login(acc, headers={"X-Forwarded-For": "198.51.100.8, 198.51.100.7"}), "throttled")
        self.assertEqual(self.login(acc, headers={"X-Forwarded-For": "198.51.100.7, 198.51.100.8"}), "auth_ok")
        # and the proxy's own address is not throttled for its clients' guesses
        self.assertEqual(self.login(acc), "auth_ok")

    def test_forwarded_ipv6_addresses_count_by_64(self):
        acc = h.account(self.accounts, "specialist")
        seed_lockout(self.db, "i:", "2001:db8:1:2::/64")
        self.start("--trusted-proxy", "127.0.0.1")
        self.assertEqual(self.login(acc, headers={"X-Forwarded-For": "2001:db8:1:2::1"}), "throttled")
        self.assertEqual(self.login(acc, headers={"X-Forwarded-For": "2001:db8:1:2:ffff:1:2:3"}), "throttled")
        self.assertEqual(self.login(acc, headers={"X-Forwarded-For": "2001:db8:1:3::1"}), "auth_ok")

    def test_x_real_ip_when_configured(self):
        acc = h.account(self.accounts, "specialist")
        seed_lockout(self.db, "i:", "198.51.100.7")
        config = os.path.join(self.tmp, "kt.conf")
        with open(config, "w") as f:
            f.write("trusted_proxy = 10.0.0.0/8, 127.0.0.1\nproxy_header = x-real-ip\n")
        self.start("--config", config)
        self.assertEqual(self.login(acc, headers={"X-Real-IP": "198.51.100.7"}), "throttled")
        self.assertEqual(self.login(acc, headers={"X-Real-IP": "198.51.100.8"}), "auth_ok")
        # the other header is not the one the proxy sets: ignored
        self.assertEqual(self.login(acc, headers={"X-Real-IP": "198.51.100.8",
                                                  "X-Forwarded-For": "198.51.100.7"}), "auth_ok")

    def test_header_from_an_untrusted_peer_is_ignored(self):
        acc = h.account(self.accounts, "specialist")
        seed_lockout(self.db, "i:", "127.0.0.1")
        self.start("--trusted-proxy", "127.0.0.2")
        self.assertEqual(self.login(acc, headers={"X-Forwarded-For": "198.51.100.8"}), "throttled")
        self.assertEqual(self.login(acc, headers={"X-Real-IP": "198.51.100.8"}), "throttled")
        # from the trusted proxy the same header counts
        self.assertEqual(self.login(acc, headers={"X-Forwarded-For": "198.51.100.8"}, local="127.0.0.2"), "auth_ok")

    def test_bad_trusted_proxy_is_refused_at_start(self):
        out = __import__("subprocess").run([h.SERVER, "serve", "--db", self.db, "--listen", "127.0.0.1:0",
                                            "--trusted-proxy", "proxy.example"], capture_output=True, text=True,
                                           timeout=30)
        self.assertEqual(out.returncode, 2)
        self.assertIn("--trusted-proxy proxy.example: a trusted proxy is an IPv4 or IPv6 address", out.stderr)

    # ---- a stranger cannot keep the owner out ----

    def test_account_lock_does_not_keep_the_owner_out_of_their_own_address(self):
        owner = h.account(self.accounts, "owner")
        self.start("--trusted-proxy", "127.0.0.1")
        salon = {"X-Forwarded-For": "198.51.100.20"}
        self.assertEqual(self.login(owner, headers=salon), "auth_ok")
        # a stranger elsewhere locks the account (here: as a previous run left it)
        self.server.stop()
        self.server = None
        seed_lockout(self.db, "a:", owner["email"])
        self.start("--trusted-proxy", "127.0.0.1")
        self.assertEqual(self.login(owner, headers={"X-Forwarded-For": "203.0.113.9"}), "throttled")
        self.assertEqual(self.login(owner, headers=salon), "auth_ok",
                         "the account's lock-out kept its owner out of the address they sign in from")
        # and the lock still holds for everyone else
        self.assertEqual(self.login(owner, headers={"X-Forwarded-For": "203.0.113.9"}), "throttled")
        # guesses from the owner's address are throttled on their own count
        free = L["KT_THROTTLE_ACCOUNT_FREE"]
        codes = h.run(parallel_logins(self.server, [(owner["email"], "Wrong-guess-1")] * 10, headers=salon))
        self.assertLessEqual(codes.count("auth_failed"), free, codes)
        self.assertEqual(codes.count("auth_failed") + codes.count("throttled"), 10, codes)


if __name__ == "__main__":
    h.main()
