"""serve on an address another process already listens on: a clear error
and a non-zero exit, never a second server that claims to listen."""
import subprocess

import kt_harness as h


class ListenTest(h.DemoServerTest):
    def test_port_already_in_use_is_an_error(self):
        out = subprocess.run([h.SERVER, "serve", "--db", self.db, "--listen", "127.0.0.1:%d" % self.server.port],
                             capture_output=True, text=True, timeout=60)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("port %d on 127.0.0.1 is already in use" % self.server.port, out.stderr)
        self.assertNotIn("listening on", out.stdout)
        self.assertTrue(self.server.alive(), "the first server must keep serving")

    def test_address_not_on_this_machine_is_named(self):
        out = subprocess.run([h.SERVER, "serve", "--db", self.db, "--listen", "192.0.2.1:8080"],
                             capture_output=True, text=True, timeout=60)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("cannot listen on 192.0.2.1:8080", out.stderr)
        self.assertNotIn("listening on", out.stdout)


if __name__ == "__main__":
    h.main()
