"""serve on an address another process already listens on: a clear error
and a non-zero exit, never a second server that claims to listen."""
import subprocess
import types

import kt_harness as h


class ListenTest(h.DemoServerTest):
    def test_port_already_in_use_is_an_error(self):
        out = subprocess.run([h.SERVER, "serve", "--db", self.db, "--listen", "127.0.0.1:%d" % self.server.port],
                             capture_output=True, text=True, timeout=60)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("port %d on 127.0.0.1 is already in use" % self.server.port, out.stderr)
        self.assertNotIn("listening on", out.stdout)
        self.assertTrue(self.server.alive(), "the first server must keep serving")

    def test_a_host_name_is_resolved_and_really_listened_on(self):
        with subprocess.Popen([h.SERVER, "serve", "--db", self.db, "--listen", "localhost:0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as proc:
            try:
                line = proc.stdout.readline()
                self.assertTrue(line.startswith("listening on localhost:"), line)
                port = int(line.strip().rsplit(":", 1)[1])
                welcome = h.run(self.hello("ws://127.0.0.1:%d/" % port))
                self.assertEqual(welcome["t"], "welcome")
            finally:
                proc.terminate()
                proc.wait(30)

    async def hello(self, url):
        p = await h.Peer(types.SimpleNamespace(url=url)).connect()
        try:
            return await p.hello()
        finally:
            await p.close()

    def test_unknown_host_name_is_an_error(self):
        out = subprocess.run([h.SERVER, "serve", "--db", self.db, "--listen", "nosuchhost.invalid:8080"],
                             capture_output=True, text=True, timeout=60)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("cannot listen on nosuchhost.invalid:8080", out.stderr)
        self.assertNotIn("listening on", out.stdout)

    def test_address_not_on_this_machine_is_named(self):
        out = subprocess.run([h.SERVER, "serve", "--db", self.db, "--listen", "192.0.2.1:8080"],
                             capture_output=True, text=True, timeout=60)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("cannot listen on 192.0.2.1:8080", out.stderr)
        self.assertNotIn("listening on", out.stdout)


if __name__ == "__main__":
    h.main()
