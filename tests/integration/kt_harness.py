"""Shared pieces of the integration tests: a real kartoteka-server on
127.0.0.1 port 0 with a demo database, the real kartoteka-client CLI, and a
raw protocol peer for hostile input. Run with Debian's /usr/bin/python3
(python3-websockets, python3-msgpack)."""
import argparse
import asyncio
import io
import itertools
import os
import queue
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import types
import unittest
import uuid

import msgpack
import websockets

SERVER = None
CLIENT = None
_template = {}


# The suite's log capture: with KT_TEST_LOG_DIR set (ctest sets it for every
# test, tests/CMakeLists.txt), the stderr of every `kartoteka-server serve`
# started through subprocess (our Server, or a test's own Popen/run) is also
# written to a file there; after the run tests/check_logs.py greps them all for
# the demo data's names, e-mail addresses and passwords. The caller still
# gets stderr as it asked for it (a pipe, inherited, or a file).
_LOG_DIR = os.environ.get("KT_TEST_LOG_DIR")
_log_seq = itertools.count(1)
_RealPopen = subprocess.Popen


def _log_file():
    os.makedirs(_LOG_DIR, exist_ok=True)
    name = "%s-%d-%d.log" % (os.path.splitext(os.path.basename(sys.argv[0]))[0], os.getpid(), next(_log_seq))
    return open(os.path.join(_LOG_DIR, name), "ab", buffering=0)


def _is_serve(args):
    if isinstance(args, (str, bytes)) or len(args) < 2:
        return False
    return os.path.basename(str(args[0])).startswith("kartoteka-server") and str(args[1]) == "serve"


class _TeePopen(_RealPopen):
    def __init__(self, args, *a, **kw):
        want = kw.get("stderr")
        if not _LOG_DIR or a or not _is_serve(args) or want == subprocess.STDOUT:
            super().__init__(args, *a, **kw)
            return
        kw["stderr"] = subprocess.PIPE
        super().__init__(args, **kw)
        real = self.stderr
        log = _log_file()
        if want == subprocess.PIPE:
            r, out = os.pipe()
            if isinstance(real, io.TextIOWrapper):
                self.stderr = open(r, "r", encoding=real.encoding, errors=real.errors)
            else:
                self.stderr = open(r, "rb")
        elif want is None:
            out, self.stderr = os.dup(2), None
        elif want == subprocess.DEVNULL:
            out, self.stderr = None, None
        else:
            out = os.dup(want if isinstance(want, int) else want.fileno())
            self.stderr = None
        threading.Thread(target=_tee, args=(real, log, out), daemon=True).start()


def _tee(real, log, out):
    fd = real.fileno()
    try:
        while True:
            b = os.read(fd, 65536)
            if not b:
                break
            log.write(b)
            if out is not None:
                try:
                    while b:
                        b = b[os.write(out, b):]
                except OSError:
                    os.close(out)
                    out = None
    finally:
        log.close()
        real.close()
        if out is not None:
            os.close(out)


if _LOG_DIR:
    subprocess.Popen = _TeePopen


def parse_args():
    """--server BIN --client BIN before unittest's own arguments."""
    global SERVER, CLIENT
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--server", required=True)
    p.add_argument("--client", required=True)
    args, rest = p.parse_known_args()
    SERVER, CLIENT = os.path.abspath(args.server), os.path.abspath(args.client)
    return [sys.argv[0]] + rest


def option(name, default):
    """An integer option --name N taken out of sys.argv (before unittest sees it),
    else the environment's KT_NAME, else default. For the randomized tests'
    --seed, --ops, --iterations."""
    if name in sys.argv:
        i = sys.argv.index(name)
        v = sys.argv[i + 1]
        del sys.argv[i:i + 2]
        return int(v)
    return int(os.environ.get("KT_" + name.strip("-").upper(), default))


def main():
    argv = parse_args()
    unittest.main(argv=argv, verbosity=2)


def demo_db(tmpdir, seed=1, organisations=1):
    """A demo database in tmpdir (copied from a per-process template) and its
    accounts as a list of dicts (role, location, email, password, name).
    organisations=2 adds a second, independent salon business ("Salon Svila
    d.o.o."); then each account also has "organisation" (its name), and the
    first organisation's accounts come first."""
    key = (seed, organisations)
    if key not in _template:
        path, tsv = demo_template(seed, organisations)
        lines = tsv.strip().split("\n")
        head = lines[0].split("\t")
        accounts = [dict(zip(head, l.split("\t"))) for l in lines[1:]]
        _template[key] = (path, accounts)
    src, accounts = _template[key]
    dst = os.path.join(tmpdir, "kartoteka.db")
    copy_db(src, dst)
    return dst, accounts


def demo_template(seed, organisations=1):
    """The path of a quiet demo database made by `init --demo` and the sign-ins
    it printed (TSV), shared by every test of the run: each `init --demo`
    hashes some thirty passwords with Argon2id (two seconds), and the suite
    would make one per test process. Kept in the build folder under the
    server binary's size and time and today's date (the demo's appointments
    are placed around today); made in a folder of its own and renamed into
    place, so tests running at once never see half a template."""
    st = os.stat(SERVER)
    cache = os.path.join(os.path.dirname(os.path.dirname(SERVER)), "test-cache")
    name = "demo-%d-%d-%s-%d-%d" % (seed, organisations, time.strftime("%Y%m%d", time.gmtime()),
                                    st.st_mtime_ns, st.st_size)
    final = os.path.join(cache, name)
    if not os.path.exists(os.path.join(final, "accounts.tsv")):
        os.makedirs(cache, exist_ok=True)
        tdir = tempfile.mkdtemp(prefix="making-", dir=cache)
        path = os.path.join(tdir, "demo.db")
        cmd = [SERVER, "init", "--db", path, "--demo", "--seed", str(seed)]
        if organisations != 1:
            cmd += ["--organisations", str(organisations)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        for f in (path, path + ".keys"):
            con = sqlite3.connect(f)
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            con.close()
        with open(os.path.join(tdir, "accounts.tsv"), "w") as f:
            f.write(out.stdout)
        try:
            os.rename(tdir, final)
        except OSError:  # another test made it meanwhile
            shutil.rmtree(tdir, ignore_errors=True)
    with open(os.path.join(final, "accounts.tsv")) as f:
        return os.path.join(final, "demo.db"), f.read()


def until(read, done=bool, timeout=20, what="the condition"):
    """Polls read() until done(its value) holds and returns that value; fails
    naming `what` and the last value after timeout seconds. The one place
    tests wait on something another process does (a row's state, a counter)."""
    end = time.monotonic() + timeout
    while True:
        v = read()
        if done(v):
            return v
        if time.monotonic() > end:
            raise AssertionError("%s never came: %r" % (what, v))
        time.sleep(0.05)


def free_port():
    """A port on 127.0.0.1 nothing listens on (for a server that is down, or
    one a test starts itself)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def demo_ids(db, location):
    """Ids out of a demo database: its locations by name, and at `location`
    (a name) the first specialist and the first client, in id order."""
    con = sqlite3.connect(db)
    try:
        loc = dict(con.execute("SELECT name, id FROM location"))
        spec = con.execute("SELECT s.id FROM staff s JOIN staff_location sl ON sl.staff_id = s.id "
                           "WHERE s.role = 'specialist' AND sl.location_id = ? ORDER BY s.id",
                           (loc[location],)).fetchone()[0]
        client = con.execute("SELECT client_id FROM client_location WHERE location_id = ? ORDER BY client_id",
                             (loc[location],)).fetchone()[0]
        return loc, spec, client
    finally:
        con.close()


def copy_db(src, dst):
    """Copy a (quiet) database with its keyring and master key file (0600:
    the server refuses a key file others may read)."""
    for ext in ("", ".keys", ".key"):
        shutil.copyfile(src + ext, dst + ext)
        os.chmod(dst + ext, 0o600)


def account(accounts, role, location=None, index=0):
    found = [a for a in accounts if a["role"] == role and (location is None or a["location"] == location)]
    return found[index]


_CA_CONF = """[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ ca ]
default_ca = test_ca
[ test_ca ]
database = {dir}/index.txt
new_certs_dir = {dir}
certificate = {dir}/ca.pem
private_key = {dir}/ca.key
serial = {dir}/serial
default_md = sha256
policy = any_name
unique_subject = no
copy_extensions = none
[ any_name ]
commonName = supplied
"""


def _openssl(*args):
    out = subprocess.run(["openssl"] + list(args), capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (" ".join(args[:2]), out.stderr))


def make_test_ca(dirpath):
    """A throw-away certificate authority and server certificates, made with
    the openssl command in dirpath (created if missing). Returns a dict of
    PEM file paths:
      ca               the CA certificate (what clients are given with --ca)
      cert, key        for 127.0.0.1 and localhost, serial 1001, EC P-256, valid
                       from 2020 to 2099
      cert2, key2      the same names, serial 2002, an RSA key (a renewal:
                       SIGHUP reload tests)
      expired_cert, expired_key    the same names, valid only in January 2020
      wrong_host_cert, wrong_host_key  only for elsewhere.example
    and "serial", "serial2": the serials as the tests see them (hex)."""
    d = os.path.abspath(dirpath)
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(d, "ca.cnf")
    with open(conf, "w") as f:
        f.write(_CA_CONF.format(dir=d))
    open(os.path.join(d, "index.txt"), "w").close()
    j = lambda name: os.path.join(d, name)
    _openssl("req", "-x509", "-config", conf, "-extensions", "v3_ca", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", j("ca.key"), "-out", j("ca.pem"), "-subj",
             "/CN=Kartoteka throw-away test CA", "-days", "36500")

    def issue(name, serial, sans, start, end, rsa=False):
        key = ["-newkey", "rsa:2048"] if rsa else ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        _openssl("req", "-new", "-config", conf, *key, "-nodes", "-keyout", j(name + ".key"), "-out",
                 j(name + ".csr"), "-subj", "/CN=" + sans[0].split(":", 1)[1])
        with open(j(name + ".ext"), "w") as f:
            f.write("basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\n"
                    "extendedKeyUsage = serverAuth\nsubjectAltName = %s\n" % ", ".join(sans))
        with open(j("serial"), "w") as f:
            f.write(serial + "\n")
        _openssl("ca", "-batch", "-config", conf, "-notext", "-in", j(name + ".csr"), "-out", j(name + ".pem"),
                 "-extfile", j(name + ".ext"), "-startdate", start, "-enddate", end)
        os.chmod(j(name + ".key"), 0o600)
        return j(name + ".pem"), j(name + ".key")

    local = ["DNS:localhost", "IP:127.0.0.1"]
    out = {"ca": j("ca.pem"), "serial": "1001", "serial2": "2002"}
    out["cert"], out["key"] = issue("server", "1001", local, "20200101000000Z", "20991231000000Z")
    out["cert2"], out["key2"] = issue("server2", "2002", local, "20200101000000Z", "20991231000000Z", rsa=True)
    out["expired_cert"], out["expired_key"] = issue("expired", "3003", local, "20200101000000Z",
                                                    "20200201000000Z")
    out["wrong_host_cert"], out["wrong_host_key"] = issue("wronghost", "4004", ["DNS:elsewhere.example"],
                                                          "20200101000000Z", "20991231000000Z")
    return out


def client_ssl_context(ca):
    """A Python ssl context that trusts only the CA file ca (host names checked)."""
    ctx = ssl.create_default_context(cafile=ca)
    return ctx


class Server:
    def __init__(self, db, extra=(), env=None, tls=None):
        """env: variables to set for this server only (on top of ours).
        tls: a dict with "cert" and "key" and "ca", e.g. make_test_ca's:
        serve wss:// with them; self.url is then wss://, self.ca the CA file
        and self.ssl_context a Python context that trusts it."""
        self.db = db
        self.errlog = []
        self.drainer = None
        self.tls = tls
        self.ca = tls.get("ca") if tls else None
        self.ssl_context = client_ssl_context(self.ca) if self.ca else None
        # no "cert": TLS comes from the config file in extra
        args = ["--tls-cert", tls["cert"], "--tls-key", tls["key"]] if tls and tls.get("cert") else []
        self.proc = subprocess.Popen([SERVER, "serve", "--db", db, "--listen", "127.0.0.1:0"] + args + list(extra),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=dict(os.environ, **env) if env else None)
        line = self.proc.stdout.readline()
        m = re.match(r"listening on 127\.0\.0\.1:(\d+)( \(TLS\))?$", line.strip())
        if not m or bool(m.group(2)) != bool(tls):
            self.stop()
            raise RuntimeError("server did not start: %r %s" % (line, self.proc.stderr.read()))
        self.port = int(m.group(1))
        self.url = "%s://127.0.0.1:%d/" % ("wss" if tls else "ws", self.port)
        self.start_drain()

    def start_drain(self):
        """Read the server's stderr into self.errlog on a thread of its own."""
        self.errlog = []
        self.drainer = threading.Thread(target=self._drain, daemon=True)
        self.drainer.start()

    def _drain(self):
        for line in self.proc.stderr:
            self.errlog.append(line)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """Stop with SIGTERM; a server that crashed, hung or reported a
        sanitizer finding fails the test that owns it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("server did not stop on SIGTERM")
        if getattr(self, "drainer", None):
            self.drainer.join(10)  # the pipe ends with the process: every last line is read
        bad = [l for l in self.errlog if "Sanitizer" in l or "runtime error" in l]
        if self.proc.returncode != 0 or bad:
            raise RuntimeError("server exited with %s: %s" % (self.proc.returncode, "".join(self.errlog[-30:])))

    def admin(self, *args):
        out = subprocess.run([SERVER, "admin", "--db", self.db] + list(args), capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("admin %s failed: %s" % (args, out.stderr))
        return out.stdout.strip()


def created_id(out):
    """The new id an admin command that creates something printed: the last
    word of its sentence ("booked ... (45 min): appointment ID")."""
    return out.strip().split()[-1]


def client(dirpath, *args, stdin=None, check=True, timeout=60):
    out = subprocess.run([CLIENT, "--dir", dirpath] + list(args), input=stdin, capture_output=True,
                         text=True, timeout=timeout)
    if check and out.returncode != 0:
        raise RuntimeError("kartoteka-client %s failed (%d): %s" % (args, out.returncode, out.stderr))
    return out


def login(dirpath, server, acc):
    ca = ["--ca", server.ca] if getattr(server, "ca", None) else []
    return client(dirpath, "--server", server.url, *ca, "login", acc["email"], stdin=acc["password"] + "\n")


class Watcher:
    """kartoteka-client watch in the background; lines arrive in a queue."""

    def __init__(self, dirpath, seconds=60):
        self.proc = subprocess.Popen([CLIENT, "--dir", dirpath, "--quiet", "watch", "--max-seconds", str(seconds)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.errlog = []  # its stderr (errors and sanitizer reports), for failure messages
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put((time.monotonic(), line.strip()))

    def _drain(self):
        for line in self.proc.stderr:
            self.errlog.append(line)

    def state(self):
        """How the watcher is doing, for a failure message: running, or its exit
        status, and the last lines of its stderr."""
        rc = self.proc.poll()
        st = "running" if rc is None else "exited with %d" % rc
        return st + (": " + "".join(self.errlog[-10:]).strip() if self.errlog else "")

    def wait_for(self, predicate, timeout):
        """First line matching predicate within timeout, or None."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            try:
                t, line = self.lines.get(timeout=left)
            except queue.Empty:
                return None
            if predicate(line):
                return t, line

    def wait_synced(self, timeout=30):
        return self.wait_for(lambda l: l == "synced", timeout)

    def drain(self):
        out = []
        while True:
            try:
                out.append(self.lines.get_nowait()[1])
            except queue.Empty:
                return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def wal_progress(db):
    """(frames in the WAL, frames of them already copied into the database),
    read from the WAL index (DB-shm) as SQLite's file format describes it
    (sqlite.org/walformat.html): mxFrame in the header, nBackfill in the
    checkpoint information after its two copies; native byte order."""
    import struct
    with open(db + "-shm", "rb") as f:
        head = f.read(136)
    mx_frame, = struct.unpack_from("=I", head, 16)
    backfill, = struct.unpack_from("=I", head, 96)
    return mx_frame, backfill


def wait_checkpointed(db, timeout=30):
    """True once every frame in the WAL is copied into the database (the
    server's checkpointer runs on a timer), False at the timeout."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        mx_frame, backfill = wal_progress(db)
        if backfill >= mx_frame:
            return True
        time.sleep(0.02)
    return False


def cache_rows(dirpath):
    """{(tbl, id): (v, data dict)} from a client cache."""
    import json
    con = sqlite3.connect(os.path.join(dirpath, "cache.db"))
    rows = {(t, i): (v, json.loads(d)) for t, i, v, d in con.execute("SELECT tbl, id, v, data FROM rows")}
    con.close()
    return rows


class Peer:
    """A raw protocol peer for hostile input (asyncio websockets + msgpack)."""

    def __init__(self, server, device=None):
        self.server = server
        self.device = device or str(uuid.uuid4())
        self.ws = None

    async def connect(self):
        tls = getattr(self.server, "ssl_context", None)
        self.ws = await websockets.connect(self.server.url, subprotocols=["kartoteka.v1"], max_size=None,
                                           ping_interval=None, **({"ssl": tls} if tls else {}))
        return self

    async def send(self, msg):
        await self.ws.send(msgpack.packb(msg, use_bin_type=True))

    async def send_raw(self, data):
        await self.ws.send(data)

    async def recv(self, timeout=10):
        data = await asyncio.wait_for(self.ws.recv(), timeout)
        return msgpack.unpackb(data, raw=False)

    async def recv_until(self, t, timeout=20):
        end = time.monotonic() + timeout
        seen = []
        while True:
            m = await self.recv(max(0.01, end - time.monotonic()))
            seen.append(m)
            if m.get("t") == t:
                return m, seen

    async def hello(self):
        await self.send({"t": "hello", "v": [1], "device": self.device, "app": "kt-test"})
        return await self.recv()

    async def login(self, acc):
        await self.send({"t": "login", "email": acc["email"], "password": acc["password"]})
        return await self.recv()

    async def snapshot(self, timeout=20):
        """sync from nothing; {(tbl, id): f} of every row up to the first synced."""
        await self.send({"t": "sync", "cursor": None})
        got = {}
        while True:
            m = await self.recv(timeout)
            if m["t"] == "page":
                for r in m["rows"]:
                    got[(r["tbl"], r["id"])] = r["f"]
            elif m["t"] == "synced":
                return got

    async def closed(self, timeout=5):
        """True when the server closes the connection within timeout."""
        try:
            while True:
                await asyncio.wait_for(self.ws.recv(), timeout)
        except websockets.exceptions.ConnectionClosed:
            return True
        except asyncio.TimeoutError:
            return False

    async def close(self):
        if self.ws:
            await self.ws.close()


def run(coro):
    return asyncio.run(coro)


class Hammer(threading.Thread):
    """Devices that push batches of 100 edits of their own cards (a list of
    (id, version) at url[0]) as fast as the server answers, keeping commits
    in flight (for kills in test_crash, a long stream in test_storage);
    remembers every mutation the server answered, across restarts. Each
    device edits field of its cards (give two hammers different fields to
    let them edit the same cards without conflicts)."""

    def __init__(self, acc, cards, url, devices=4, field="preferences"):
        super().__init__(daemon=True)
        self.acc, self.url, self.field = acc, url, field
        self.devices = [str(uuid.uuid4()) for _ in range(devices)]
        self.cards = {d: cards[i::devices] for i, d in enumerate(self.devices)}  # no two edit one card
        self.acked = {d: set() for d in self.devices}
        self.drops = {d: 0 for d in self.devices}  # connections lost (a killed server)
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def run(self):
        async def all_devices():
            await asyncio.gather(*(self.go(d) for d in self.devices))
        asyncio.run(all_devices())

    def answered(self):
        with self.lock:
            return {d: set(a) for d, a in self.acked.items()}

    async def push(self, p, device, first):
        cards = self.cards[device]
        mids = range(first, first + 100)
        muts = [{"mid": m, "tbl": "client", "id": cards[m % len(cards)][0], "op": "update",
                 "base": cards[m % len(cards)][1], "f": {self.field: "h-%d" % m}, "at": m} for m in mids]
        await p.send({"t": "push", "muts": muts})
        while True:
            m = await p.recv(30)
            if m.get("t") == "error":
                return False  # not saved: the same batch again
            if m.get("t") == "push_result":
                with self.lock:
                    self.acked[device].update(r["mid"] for r in m["results"]
                                              if r["status"] in ("applied", "duplicate"))
                return True

    async def go(self, device):
        first = 1
        while not self.stop.is_set():
            try:
                p = await Peer(types.SimpleNamespace(url=self.url[0]), device).connect()
                await p.hello()
                if (await p.login(self.acc)).get("t") != "auth_ok":
                    raise RuntimeError("sign-in refused")
                while not self.stop.is_set():
                    if await self.push(p, device, first):
                        first += 100
                await p.close()
            except Exception:  # the server was killed: the next one
                with self.lock:
                    self.drops[device] += 1
                await asyncio.sleep(0.1)

    def dropped(self):
        """How many times each device lost its connection."""
        with self.lock:
            return dict(self.drops)


class DemoServerTest(unittest.TestCase):
    """One demo database and one running server for a whole test class.
    Subclasses may extend setUpClass/tearDownClass (call super first/last),
    and pass the server more arguments in server_args (e.g. "--verbose")."""
    server_args = ()

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kt-%s-" % cls.__name__.lower())
        cls.db, cls.accounts = demo_db(cls.tmp)
        cls.server = Server(cls.db, cls.server_args)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    async def signed_in(self, acc, device=None):
        """A raw peer past hello and sign-in; its session token in .token."""
        p = await Peer(self.server, device).connect()
        await p.hello()
        ok = await p.login(acc)
        assert ok["t"] == "auth_ok", ok
        p.token = ok["token"]
        return p

    def attempt(self, acc, password):
        """The server's answer to one sign-in with this password."""
        async def go():
            p = await Peer(self.server).connect()
            await p.hello()
            await p.send({"t": "login", "email": acc["email"], "password": password})
            m = await p.recv()
            await p.close()
            return m
        return run(go())

    def tablet(self, name, role, location):
        """A reference-client directory signed in as role at location and synced."""
        d = os.path.join(self.tmp, name)
        acc = account(self.accounts, role, location)
        login(d, self.server, acc)
        client(d, "sync")
        return d, acc

    def server_row(self, tbl, rid):
        """The row as the server holds it, sealed fields opened; None if absent."""
        from ktcrypt import Keyring
        con = sqlite3.connect(self.db)
        rows = Keyring(self.db).rows(con, "SELECT * FROM %s WHERE id = ?" % tbl, (rid,), tbl)
        con.close()
        return rows[0] if rows else None
