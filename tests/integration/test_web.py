"""The web app over plain HTTP on the WebSocket listener (server/net/web.c):
the files built into the binary and those of serve --web-root, the security
headers on every answer, gzip, ETag revalidation, HEAD, keep-alive, and what
is not served (other methods, unknown paths, hidden files, paths that climb,
symlinks, the app's tests). WebSocket devices keep working beside it."""
import gzip
import hashlib
import http.client
import json
import os
import shutil
import subprocess

import kt_harness as h

WEB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "web")
CSP_MUST = ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
            "base-uri 'none'", "frame-ancestors 'none'"]


class WebCase(h.DemoServerTest):
    def get(self, path, method="GET", headers=None, conn=None):
        c = conn or http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        body = r.read()
        if not conn:
            c.close()
        return r, body

    def assert_security_headers(self, r):
        csp = r.getheader("content-security-policy") or ""
        for part in CSP_MUST:
            self.assertIn(part, csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertNotIn("unsafe-eval", csp)
        self.assertEqual(r.getheader("x-content-type-options"), "nosniff")
        self.assertEqual(r.getheader("referrer-policy"), "no-referrer")
        self.assertEqual(r.getheader("x-frame-options"), "DENY")
        self.assertIsNone(r.getheader("strict-transport-security"))  # no TLS here

    def still_serves(self):
        acc = h.account(self.accounts, "reception", "Lepota Center")

        async def go():
            p = await self.signed_in(acc)
            await p.close()
        h.run(go())
        self.assertTrue(self.server.alive())


class BuiltInTest(WebCase):
    """The files built into the binary: exactly those of clients/web/."""

    def test_index_and_app_routes(self):
        with open(os.path.join(WEB, "index.html"), "rb") as f:
            index = f.read()
        for path in ("/", "/setup", "/confirm-email", "/signin", "/privacy", "/account", "/index.html"):
            r, body = self.get(path)
            self.assertEqual(r.status, 200, path)
            self.assertEqual(body, index, path)
            self.assertEqual(r.getheader("content-type"), "text/html; charset=utf-8")
            self.assertEqual(r.getheader("cache-control"), "no-cache")
            self.assert_security_headers(r)
        self.still_serves()

    def test_every_listed_file_is_served_with_its_hash(self):
        r, body = self.get("/asset-manifest.json")
        self.assertEqual(r.status, 200)
        manifest = json.loads(body)
        self.assertIn("/index.html", manifest["files"])
        self.assertRegex(manifest["version"], "^[0-9a-f]{16}$")
        for path, digest in manifest["files"].items():
            r, body = self.get(path)
            self.assertEqual(r.status, 200, path)
            self.assertEqual(hashlib.sha256(body).hexdigest(), digest, path)
            with open(os.path.join(WEB, path.lstrip("/")), "rb") as f:
                self.assertEqual(f.read(), body, path)
        # and nothing outside it but the password list and the manifest itself
        for root, dirs, files in os.walk(WEB):
            dirs[:] = [d for d in dirs if d not in ("tests", "node_modules")]
            for f in files:
                url = "/" + os.path.relpath(os.path.join(root, f), WEB)
                if url not in manifest["files"]:
                    self.assertEqual(self.get(url)[0].status, 404, url)

    def test_gzip_when_accepted_and_the_same_bytes(self):
        plain_r, plain = self.get("/common-passwords.txt")
        self.assertEqual(plain_r.status, 200)
        self.assertIsNone(plain_r.getheader("content-encoding"))
        gz_r, packed = self.get("/common-passwords.txt", headers={"Accept-Encoding": "br, gzip, deflate"})
        self.assertEqual(gz_r.getheader("content-encoding"), "gzip")
        self.assertEqual(gz_r.getheader("vary"), "Accept-Encoding")
        self.assertLess(len(packed), len(plain) / 2)
        self.assertEqual(gzip.decompress(packed), plain)
        self.assertNotEqual(gz_r.getheader("etag"), plain_r.getheader("etag"))
        # refused encodings are honoured
        r, body = self.get("/common-passwords.txt", headers={"Accept-Encoding": "gzip;q=0"})
        self.assertIsNone(r.getheader("content-encoding"))
        self.assertEqual(body, plain)

    def test_the_page_checks_the_servers_password_list(self):
        r, body = self.get("/common-passwords.txt")
        words = body.decode().split("\n")
        self.assertIn("password", words)
        self.assertFalse([w for w in words if w.startswith("#") or w != w.lower()])

    def test_revalidation_answers_304_on_one_connection(self):
        c = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        r, body = self.get("/", conn=c)
        tag = r.getheader("etag")
        self.assertRegex(tag, '^"[0-9a-f]{32}"$')
        r, body = self.get("/", headers={"If-None-Match": tag}, conn=c)
        self.assertEqual(r.status, 304)
        self.assertEqual(body, b"")
        self.assert_security_headers(r)
        r, body = self.get("/", headers={"If-None-Match": '"0000"'}, conn=c)
        self.assertEqual(r.status, 200)
        self.assertGreater(len(body), 0)
        r, body = self.get("/setup", method="HEAD", conn=c)
        self.assertEqual(r.status, 200)
        self.assertEqual(body, b"")
        self.assertGreater(int(r.getheader("content-length")), 0)
        r, body = self.get("/asset-manifest.json", conn=c)
        self.assertEqual(r.status, 200)  # still the same connection, still answering
        c.close()

    def test_what_is_not_served(self):
        for path in ("/nope.js", "/nope", "/.git/config", "/.hidden", "/a//b.js",
                     "/tests/x.js", "/README.md", "/etc/passwd", "/" + "a" * 300 + ".js",
                     "/%2e%2e/CMakeLists.txt", "/x.exe"):
            r, body = self.get(path)
            self.assertEqual(r.status, 404, path)
            self.assert_security_headers(r)
        for method in ("POST", "PUT", "DELETE", "OPTIONS"):
            r, body = self.get("/", method=method)
            self.assertIn(r.status, (405, 400), method)
            self.assertNotIn(b"<html", body, method)
        self.still_serves()

    def test_climbing_with_a_raw_request(self):
        import socket
        for raw in (b"GET /../../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"GET /..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"GET //etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"GET /index.html%00.js HTTP/1.1\r\nHost: x\r\n\r\n"):  # lws hangs up on a NUL
            s = socket.create_connection(("127.0.0.1", self.server.port), timeout=5)
            s.sendall(raw)
            out = b""
            s.settimeout(2)
            try:
                while b"\r\n\r\n" not in out:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    out += chunk
            except OSError:
                pass
            s.close()
            self.assertNotIn(b"root:", out)
            status = out.split(b"\r\n", 1)[0]
            # lws may fold the path back to "/" (the app's page) or refuse it; never a file outside
            self.assertTrue(b" 404 " in status or b" 200 " in status or b" 403 " in status or not out, status)
        self.still_serves()


class WebRootTest(WebCase):
    """serve --web-root DIR: the folder's files, read at each request."""

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.root = tempfile.mkdtemp(prefix="kt-webroot-")
        os.makedirs(os.path.join(cls.root, "vendor"))
        os.makedirs(os.path.join(cls.root, "tests"))
        with open(os.path.join(cls.root, "index.html"), "w") as f:
            f.write("<!doctype html><title>dev</title>one\n")
        with open(os.path.join(cls.root, "vendor", "lib.js"), "w") as f:
            f.write("export const x = 1;\n")
        with open(os.path.join(cls.root, "tests", "t.js"), "w") as f:
            f.write("secret test\n")
        with open(os.path.join(cls.root, ".env.json"), "w") as f:
            f.write("{}")
        secret = os.path.join(cls.root, "..", "kt-outside-%d.txt" % os.getpid())
        with open(secret, "w") as f:
            f.write("outside\n")
        cls.outside = os.path.abspath(secret)
        os.symlink(cls.outside, os.path.join(cls.root, "link.txt"))
        cls.server_args = ("--web-root", cls.root)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.root, ignore_errors=True)
            os.unlink(cls.outside)

    def test_edits_show_without_a_rebuild(self):
        r, body = self.get("/")
        self.assertEqual(body, b"<!doctype html><title>dev</title>one\n")
        tag = r.getheader("etag")
        self.assert_security_headers(r)
        with open(os.path.join(self.root, "index.html"), "w") as f:
            f.write("<!doctype html><title>dev</title>two\n")
        r, body = self.get("/setup", headers={"If-None-Match": tag})
        self.assertEqual(r.status, 200)
        self.assertIn(b"two", body)
        self.assertEqual(self.get("/vendor/lib.js")[1], b"export const x = 1;\n")

    def test_manifest_lists_the_folder(self):
        r, body = self.get("/asset-manifest.json")
        m = json.loads(body)
        self.assertEqual(set(m["files"]), {"/index.html", "/vendor/lib.js"})
        self.assertEqual(m["files"]["/vendor/lib.js"], hashlib.sha256(b"export const x = 1;\n").hexdigest())
        # the password list comes from the binary either way
        self.assertEqual(self.get("/common-passwords.txt")[0].status, 200)

    def test_no_symlink_no_tests_no_hidden(self):
        for path in ("/link.txt", "/tests/t.js", "/.env.json", "/../kt-outside-%d.txt" % os.getpid()):
            r, body = self.get(path)
            self.assertEqual(r.status, 404, path)
            self.assertNotIn(b"outside", body)
            self.assertNotIn(b"secret", body)
        self.still_serves()


class TlsWebTest(h.unittest.TestCase):
    """Over TLS the page comes with HSTS, and HTTP/1.1 is the only protocol
    offered (a browser must not carry the WebSocket over h2)."""

    def test_hsts_and_http11_over_tls(self):
        import ssl
        import tempfile
        d = tempfile.mkdtemp(prefix="kt-webtls-")
        server = None
        try:
            ca = h.make_test_ca(os.path.join(d, "ca"))
            db, _ = h.demo_db(d)
            server = h.Server(db, tls=ca)
            ctx = ssl.create_default_context(cafile=ca["ca"])
            ctx.set_alpn_protocols(["h2", "http/1.1"])
            c = http.client.HTTPSConnection("127.0.0.1", server.port, context=ctx, timeout=10)
            c.request("GET", "/setup")
            r = c.getresponse()
            body = r.read()
            self.assertEqual(r.status, 200)
            self.assertIn(b"<html", body.lower())
            self.assertEqual(r.getheader("strict-transport-security"), "max-age=31536000")
            self.assertEqual(c.sock.selected_alpn_protocol(), "http/1.1")
            self.assertIn("script-src 'self'", r.getheader("content-security-policy"))
            c.close()
        finally:
            if server:
                server.stop()
            shutil.rmtree(d, ignore_errors=True)


class WebRootRefusedTest(h.unittest.TestCase):
    def test_a_folder_without_the_app_is_refused(self):
        import tempfile
        d = tempfile.mkdtemp(prefix="kt-webroot-bad-")
        try:
            db, _ = h.demo_db(d)
            for root, why in ((os.path.join(d, "missing"), "No such file"), (d, "index.html"),
                              (db, "not a folder")):
                out = subprocess.run([h.SERVER, "serve", "--db", db, "--listen", "127.0.0.1:0", "--web-root", root],
                                     capture_output=True, text=True, timeout=30)
                self.assertEqual(out.returncode, 2, out)
                self.assertIn("--web-root", out.stderr)
                self.assertIn(why, out.stderr)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    h.main()
