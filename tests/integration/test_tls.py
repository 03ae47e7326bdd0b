"""serve --tls-cert/--tls-key: wss:// with a throw-away CA made by the
openssl command. The reference client verifies the CA, the host name and
the dates and refuses with the reason; plain ws:// to the TLS port fails
without hurting the server; SIGHUP swaps the certificate for new
handshakes only, and a broken file on reload keeps the old one; TLS 1.1 is
refused."""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import kt_harness as h


def served_serial(port, ca):
    """The serial number (hex) of the certificate a new handshake gets."""
    ctx = h.client_ssl_context(ca)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
            return t.getpeercert()["serialNumber"]


def wait_for(cond, timeout=20, what="condition"):
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.02)


def replace(src, dst):
    """Put src's content at dst in one rename, as certbot's deploy hooks do."""
    tmp = dst + ".new"
    shutil.copyfile(src, tmp)
    os.chmod(tmp, 0o600)
    os.replace(tmp, dst)


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kt-tls-")
        cls.pki = h.make_test_ca(os.path.join(cls.tmp, "pki"))
        cls.db, cls.accounts = h.demo_db(cls.tmp)
        cls.client_acc = h.account(cls.accounts, "client")
        cls.server = h.Server(cls.db, tls=cls.pki)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def other_server(self, name, cert, key):
        """A second TLS server with these files, on a copy of the demo database."""
        d = os.path.join(self.tmp, name)
        os.makedirs(d)
        db, _ = h.demo_db(d)
        srv = h.Server(db, tls={"cert": cert, "key": key, "ca": self.pki["ca"]})
        self.addCleanup(srv.stop)
        return srv

    def serve(self, *args, config=None):
        """kartoteka-server serve with these arguments, expected to exit."""
        cmd = [h.SERVER, "serve", "--db", self.db, "--listen", "127.0.0.1:0"] + list(args)
        if config:
            cmd += ["--config", config]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60)

    def signed_in_dir(self, name):
        d = os.path.join(self.tmp, name)
        return d, os.path.exists(os.path.join(d, "cache.db")) and "signed in: yes" in h.client(
            d, "status", check=False).stdout

    # ---- the reference client ----

    def test_reference_client_signs_in_and_syncs_over_wss_with_the_ca(self):
        d = os.path.join(self.tmp, "good")
        out = h.login(d, self.server, self.client_acc)
        self.assertIn("signed in as", out.stdout)
        sync = h.client(d, "sync")  # the server and the CA are remembered
        self.assertIn("synced", sync.stdout + sync.stderr)
        self.assertGreater(len(h.cache_rows(d)), 0)
        status = h.client(d, "status").stdout
        self.assertIn("server: wss://127.0.0.1:%d/" % self.server.port, status)
        self.assertIn("ca: %s" % os.path.realpath(self.pki["ca"]), status)

    def test_host_name_localhost_is_verified_too(self):
        d = os.path.join(self.tmp, "localhost")
        h.client(d, "--server", "wss://localhost:%d/" % self.server.port, "--ca", self.pki["ca"], "login",
                 self.client_acc["email"], stdin=self.client_acc["password"] + "\n")
        self.assertTrue(self.signed_in_dir("localhost")[1])

    def test_without_ca_the_system_cas_refuse_the_test_ca(self):
        d = os.path.join(self.tmp, "noca")
        out = h.client(d, "--server", self.server.url, "login", self.client_acc["email"],
                       stdin=self.client_acc["password"] + "\n", check=False)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("the server's certificate was refused: unknown certificate authority", out.stderr)
        self.assertIn("trusted: the system's CAs", out.stderr)
        self.assertFalse(self.signed_in_dir("noca")[1])

    def test_another_ca_is_refused_and_named(self):
        other = h.make_test_ca(os.path.join(self.tmp, "other-pki"))
        d = os.path.join(self.tmp, "otherca")
        out = h.client(d, "--server", self.server.url, "--ca", other["ca"], "login", self.client_acc["email"],
                       stdin=self.client_acc["password"] + "\n", check=False)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("unknown certificate authority", out.stderr)
        self.assertIn(os.path.realpath(other["ca"]), out.stderr)

    def test_wrong_host_is_refused(self):
        srv = self.other_server("wronghost", self.pki["wrong_host_cert"], self.pki["wrong_host_key"])
        d = os.path.join(self.tmp, "wronghost-client")
        out = h.client(d, "--server", srv.url, "--ca", self.pki["ca"], "login", self.client_acc["email"],
                       stdin=self.client_acc["password"] + "\n", check=False)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("the server's certificate was refused: wrong host", out.stderr)
        self.assertIn("elsewhere.example", out.stderr)
        self.assertTrue(srv.alive())

    def test_expired_certificate_is_refused(self):
        srv = self.other_server("expired", self.pki["expired_cert"], self.pki["expired_key"])
        wait_for(lambda: any("expired on 2020-02-01" in l and "clients will refuse it" in l for l in srv.errlog),
                 what="the warning at start-up")
        d = os.path.join(self.tmp, "expired-client")
        out = h.client(d, "--server", srv.url, "--ca", self.pki["ca"], "login", self.client_acc["email"],
                       stdin=self.client_acc["password"] + "\n", check=False)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("the server's certificate was refused: expired on 2020-02-01 00:00 UTC", out.stderr)
        self.assertTrue(srv.alive())

    def test_a_bad_ca_file_is_named(self):
        bogus = os.path.join(self.tmp, "bogus-ca.pem")
        with open(bogus, "w") as f:
            f.write("not a certificate\n")
        for path, why in ((bogus, "no PEM certificate"), (os.path.join(self.tmp, "nope.pem"), "No such file")):
            out = h.client(os.path.join(self.tmp, "badca"), "--server", self.server.url, "--ca", path, "login",
                           self.client_acc["email"], stdin=self.client_acc["password"] + "\n", check=False)
            self.assertEqual(out.returncode, 1, out.stderr)
            self.assertIn("CA file %s" % path, out.stderr)
            self.assertIn(why, out.stderr)

    # ---- plain WebSocket against the TLS port ----

    def test_plain_ws_to_the_tls_port_fails_cleanly_and_the_server_stays_up(self):
        plain = "ws://127.0.0.1:%d/" % self.server.port
        d = os.path.join(self.tmp, "plain")
        out = h.client(d, "--server", plain, "login", self.client_acc["email"],
                       stdin=self.client_acc["password"] + "\n", check=False, timeout=60)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("cannot connect to the server", out.stderr)

        async def plain_peer():
            with self.assertRaises(Exception):
                await h.Peer(types_ns(plain)).connect()
        h.run(plain_peer())
        self.assertTrue(self.server.alive())
        self.assertEqual(h.run(self.sign_in(self.server))["t"], "auth_ok")

    def test_wss_to_a_plain_server_fails_and_never_falls_back(self):
        d = os.path.join(self.tmp, "plainsrv")
        os.makedirs(d)
        db, _ = h.demo_db(d)
        srv = h.Server(db)
        self.addCleanup(srv.stop)
        out = h.client(os.path.join(d, "dev"), "--server", "wss://127.0.0.1:%d/" % srv.port, "--ca",
                       self.pki["ca"], "login", self.client_acc["email"],
                       stdin=self.client_acc["password"] + "\n", check=False)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("the TLS handshake failed", out.stderr)
        self.assertNotIn("signed in", out.stdout)
        self.assertTrue(srv.alive())

    # ---- Python's websockets over TLS ----

    async def sign_in(self, srv):
        p = await h.Peer(srv).connect()
        try:
            await p.hello()
            return await p.login(self.client_acc)
        finally:
            await p.close()

    def test_python_websockets_with_an_ssl_context_signs_in(self):
        m = h.run(self.sign_in(self.server))
        self.assertEqual(m["t"], "auth_ok", m)

    # ---- SIGHUP ----

    def live_server(self, name):
        """A TLS server reading its certificate from files this test may replace."""
        d = os.path.join(self.tmp, name)
        os.makedirs(d)
        cert, key = os.path.join(d, "live.pem"), os.path.join(d, "live.key")
        replace(self.pki["cert"], cert)
        replace(self.pki["key"], key)
        db, _ = h.demo_db(d)
        srv = h.Server(db, tls={"cert": cert, "key": key, "ca": self.pki["ca"]})
        self.addCleanup(srv.stop)
        return srv, cert, key

    def test_sighup_serves_a_new_certificate_to_new_handshakes_and_keeps_open_ones(self):
        srv, cert, key = self.live_server("reload")
        self.assertEqual(served_serial(srv.port, self.pki["ca"]), self.pki["serial"])

        async def steps():
            p = await h.Peer(srv).connect()
            await p.hello()
            self.assertEqual((await p.login(self.client_acc))["t"], "auth_ok")
            replace(self.pki["cert2"], cert)  # a renewal: new serial, and RSA after EC
            replace(self.pki["key2"], key)
            srv.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: any("TLS: reloaded" in l for l in srv.errlog), what="the reload's log line")
            self.assertEqual(served_serial(srv.port, self.pki["ca"]), self.pki["serial2"])
            # the connection made before the reload still talks
            await p.send({"t": "sync", "cursor": None})
            m, _ = await p.recv_until("synced")
            self.assertEqual(m["t"], "synced")
            await p.close()
        h.run(steps())
        self.assertTrue(srv.alive())
        line = [l for l in srv.errlog if "TLS: reloaded" in l][0]
        self.assertIn("serial %s" % self.pki["serial2"], line)

    def test_sighup_with_a_broken_file_keeps_the_old_certificate(self):
        srv, cert, key = self.live_server("badreload")
        with open(key + ".new", "w") as f:
            f.write("garbage\n")
        os.replace(key + ".new", key)
        srv.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: any("TLS: reload failed" in l for l in srv.errlog), what="the failed reload's log line")
        line = [l for l in srv.errlog if "TLS: reload failed" in l][0]
        self.assertIn("still serving the certificate with serial %s" % self.pki["serial"], line)
        self.assertIn("%s: no valid PEM private key" % key, line)
        # a key of another certificate: refused too, by name
        replace(self.pki["key2"], key)
        srv.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: any("does not belong" in l for l in srv.errlog), what="the mismatch's log line")
        self.assertTrue(srv.alive())
        self.assertEqual(served_serial(srv.port, self.pki["ca"]), self.pki["serial"])
        self.assertEqual(h.run(self.sign_in(srv))["t"], "auth_ok")

    def test_sighup_without_tls_does_not_stop_the_server(self):
        d = os.path.join(self.tmp, "plainhup")
        os.makedirs(d)
        db, _ = h.demo_db(d)
        srv = h.Server(db)
        self.addCleanup(srv.stop)
        srv.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: any("nothing to reload" in l for l in srv.errlog), what="the SIGHUP's log line")
        self.assertTrue(srv.alive())
        self.assertEqual(h.run(self.sign_in(srv))["t"], "auth_ok")

    # ---- protocol versions ----

    def handshake(self, version):
        ctx = h.client_ssl_context(self.pki["ca"])
        ctx.minimum_version = ctx.maximum_version = version
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # let this OpenSSL offer TLS 1.1 at all
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as s:
            with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
                return t.version()

    def test_tls_1_1_is_refused_and_1_2_accepted(self):
        self.assertEqual(self.handshake(ssl.TLSVersion.TLSv1_2), "TLSv1.2")
        try:
            self.handshake(ssl.TLSVersion.TLSv1_1)
        except ssl.SSLError as e:
            if "NO_PROTOCOLS_AVAILABLE" in str(e) or "UNSUPPORTED_PROTOCOL" in str(e):
                self.skipTest("this OpenSSL will not offer TLS 1.1: %s" % e)
            # the server's alert, not our own refusal
            self.assertIn("PROTOCOL_VERSION", str(e).upper())
        else:
            self.fail("a TLS 1.1 handshake was accepted")
        self.assertTrue(self.server.alive())

    # ---- start-up ----

    def test_bad_files_stop_the_server_before_it_listens(self):
        p = self.pki
        garbage = os.path.join(self.tmp, "garbage.pem")
        with open(garbage, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
        missing = os.path.join(self.tmp, "missing.pem")
        for args, code, says in (
                (["--tls-cert", missing, "--tls-key", p["key"]], 1, missing + ": cannot read it: No such file"),
                (["--tls-cert", garbage, "--tls-key", p["key"]], 1, garbage + ": no valid PEM certificate"),
                (["--tls-cert", p["cert"], "--tls-key", garbage], 1, garbage + ": no valid PEM private key"),
                (["--tls-cert", p["cert"], "--tls-key", p["key2"]], 1,
                 p["key2"] + ": this private key does not belong to the certificate in " + p["cert"]),
                (["--tls-cert", p["cert"]], 2, "--tls-key FILE is missing"),
                (["--tls-key", p["key"]], 2, "--tls-cert FILE is missing")):
            out = self.serve(*args)
            self.assertEqual(out.returncode, code, (args, out.stderr))
            self.assertIn(says, out.stderr)
            self.assertNotIn("listening on", out.stdout)

    def test_config_file_keys_turn_tls_on(self):
        conf = os.path.join(self.tmp, "tls.conf")
        with open(conf, "w") as f:
            f.write("tls_cert = %s\ntls_key = %s\n" % (self.pki["cert"], self.pki["key"]))
        d = os.path.join(self.tmp, "conf")
        os.makedirs(d)
        db, _ = h.demo_db(d)
        srv = h.Server(db, ["--config", conf], tls={"ca": self.pki["ca"]})
        self.addCleanup(srv.stop)
        self.assertEqual(served_serial(srv.port, self.pki["ca"]), self.pki["serial"])
        with open(conf, "w") as f:
            f.write("tls_cert = %s\n" % self.pki["cert"])
        out = self.serve(config=conf)
        self.assertEqual(out.returncode, 2)
        self.assertIn("--tls-key FILE is missing", out.stderr)


def types_ns(url):
    import types
    return types.SimpleNamespace(url=url)


if __name__ == "__main__":
    h.main()
