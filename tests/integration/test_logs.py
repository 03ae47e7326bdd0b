"""Structured logs (docs/readme-logs.md): with log_format = json every line the
server writes to stderr is one JSON object with time (RFC 3339, UTC, ms),
level, component and msg; the session, device and principal of the message
being handled and an error code are fields; libwebsockets' own lines come
through the same logger (component "lws"); no personal data, token or
password of the demo is in them. The text format stays as it was; a bad
log_format is refused naming the key. Under systemd's journal stream with no
journal to take the entries, the lines still reach stderr."""
import json
import os
import re
import subprocess
import sys
import tempfile
import shutil
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kt_harness as h  # noqa: E402

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
COMPONENTS = {"net", "handlers", "write", "sync", "conn", "domain", "db", "cli", "common", "lws"}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def json_lines(test, text):
    """Every line parsed; fails on the first that is not a JSON object with the four keys."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        try:
            o = json.loads(line)
        except ValueError as e:
            test.fail("line %d is not JSON (%s): %r" % (n, e, line))
        test.assertIsInstance(o, dict, line)
        for k in ("time", "level", "component", "msg"):
            test.assertIn(k, o, "line %d has no %s: %r" % (n, k, line))
        test.assertRegex(o["time"], TIME, line)
        test.assertIn(o["level"], ("error", "warn", "info", "debug"), line)
        test.assertIn(o["component"], COMPONENTS, line)
        for k in ("device", "principal"):
            if k in o:
                test.assertRegex(o[k], UUID, line)
        if "session" in o:
            test.assertIsInstance(o["session"], int, line)
        out.append(o)
    return out


class JsonLogs(h.DemoServerTest):
    server_args = ("--log-format", "json", "--verbose")

    def test_json_lines_with_fields(self):
        acc = h.account(self.accounts, "reception", "Lepota Center")
        device = "0193aaaa-bbbb-7ccc-8ddd-eeeeffff0001"

        async def work():
            p = await self.signed_in(acc, device)
            await p.send({"t": "no_such_message"})  # an error with a code, in the session's context
            m = await p.recv()
            self.assertEqual(m["t"], "error")
            await p.close()

        h.run(work())
        self.assertEqual(self.attempt(acc, "Wrong-0000-Pwd")["t"], "error")
        self.server.stop()
        lines = json_lines(self, "".join(self.server.errlog))
        self.assertTrue(lines, "the server logged nothing")
        self.assertTrue(any(o["component"] == "lws" for o in lines), "no line of libwebsockets")
        self.assertTrue(any(o["component"] == "net" and o["msg"].startswith("serving ") for o in lines))
        # the sign-in: its session, device and principal as fields
        signed = [o for o in lines if "signed in as reception" in o["msg"]]
        self.assertEqual(len(signed), 1, lines)
        self.assertEqual(signed[0]["device"], device)
        self.assertRegex(signed[0]["principal"], UUID)
        self.assertIn(signed[0]["principal"], signed[0]["msg"])
        # the refused message: its code, in the context of the session that sent it
        err = [o for o in lines if o.get("code") == "unknown_type"]
        self.assertEqual(len(err), 1, lines)
        self.assertEqual((err[0]["device"], err[0]["session"], err[0]["principal"]),
                         (device, signed[0]["session"], signed[0]["principal"]))
        self.assertEqual(err[0]["component"], "conn")
        # the wrong password: a code, no principal (nobody signed in)
        failed = [o for o in lines if o.get("code") == "auth_failed"]
        self.assertTrue(failed, lines)
        self.assertNotIn("principal", failed[0])
        # nothing of the person or the secrets
        text = "".join(self.server.errlog)
        for secret in (acc["email"], acc["password"], acc["name"], "Wrong-0000-Pwd"):
            self.assertNotIn(secret, text)


class Formats(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kt-logs-")
        cls.db, cls.accounts = h.demo_db(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def conf(self, text):
        path = os.path.join(self.tmp, "kt.conf")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_text_is_unchanged(self):
        s = h.Server(self.db)
        s.stop()
        self.assertTrue(s.errlog)
        for line in s.errlog:
            self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (error|warn|info|debug) \S")

    def test_config_key(self):
        s = h.Server(self.db, ["--config", self.conf("log_format = json\n")])
        s.stop()
        self.assertTrue(any(o["msg"].startswith("serving ") for o in json_lines(self, "".join(s.errlog))))
        # the command line wins over the file
        s = h.Server(self.db, ["--config", self.conf("log_format = json\n"), "--log-format", "text"])
        s.stop()
        self.assertFalse(any(l.startswith("{") for l in s.errlog), s.errlog)

    def test_bad_values_are_refused(self):
        out = subprocess.run([h.SERVER, "serve", "--db", self.db, "--listen", "127.0.0.1:0",
                              "--config", self.conf("log_format = xml\n")], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 2)
        self.assertIn("kt.conf:1: log_format: log_format is text or json", out.stderr)
        out = subprocess.run([h.SERVER, "serve", "--db", self.db, "--listen", "127.0.0.1:0", "--log-format", "yaml"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 2)
        self.assertIn("--log-format yaml: log_format is text or json", out.stderr)

    def test_journal_stream_without_a_journal(self):
        """systemd's JOURNAL_STREAM names our stderr: entries go to the journal;
        with no journal socket to take them, the lines still reach stderr."""
        if os.path.exists("/run/systemd/journal/socket"):
            self.skipTest("a real journal runs here: the entries would go there")
        path = os.path.join(self.tmp, "stderr.txt")
        with open(path, "w") as err:
            st = os.fstat(err.fileno())
            env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
            p = subprocess.Popen([h.SERVER, "serve", "--db", self.db, "--listen", "127.0.0.1:0",
                                  "--log-format", "json"], stdout=subprocess.PIPE, stderr=err, text=True, env=env)
            self.assertTrue(p.stdout.readline().startswith("listening on"))
            p.terminate()
            self.assertEqual(p.wait(20), 0)
        with open(path) as f:
            lines = json_lines(self, f.read())
        self.assertTrue(any(o["msg"] == "shutting down" for o in lines), lines)

    def test_the_suite_checker_finds_a_leak(self):
        """tests/check_logs.py (run by make test-plain over every server's log)
        names the file and line of a demo e-mail address, name or password."""
        checker = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "check_logs.py")
        logs = os.path.join(self.tmp, "logs")
        os.makedirs(logs)
        acc = h.account(self.accounts, "client", None)
        with open(os.path.join(logs, "a.log"), "w") as f:
            f.write('{"msg":"clean"}\n{"msg":"mail to %s"}\n' % acc["email"])
            f.write("2026-01-01T00:00:00.000Z info wrote %s for %s\n" % (acc["password"], acc["name"]))
        out = subprocess.run(["/usr/bin/python3", checker, h.SERVER, logs], capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertIn("a.log:2: e-mail", out.stdout)
        self.assertIn("a.log:3: password", out.stdout)
        self.assertIn("a.log:3: name", out.stdout)
        os.remove(os.path.join(logs, "a.log"))
        with open(os.path.join(logs, "b.log"), "w") as f:
            f.write('{"msg":"signed in as client %s"}\n' % "0193aaaa-bbbb-7ccc-8ddd-eeeeffff0001")
        out = subprocess.run(["/usr/bin/python3", checker, h.SERVER, logs], capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)


if __name__ == "__main__":
    h.main()
