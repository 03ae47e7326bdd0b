"""The server raises its open-file soft limit to the hard limit at start
(one connection is one descriptor). Started with a soft
limit of 128, it must still hold 200 connections that all get `welcome`."""
import os
import resource
import shutil
import subprocess
import tempfile
import unittest

import kt_harness as h

SOFT = 128
CONNECTIONS = 200


def limits(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return soft, hard
    raise AssertionError("no open-file line in /proc/%d/limits" % pid)


class FdLimitTest(unittest.TestCase):
    def setUp(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard < CONNECTIONS + 100:
            self.skipTest("hard open-file limit %d is too low for this test" % hard)
        self.tmp = tempfile.mkdtemp(prefix="kt-fdlimit-")
        self.db = os.path.join(self.tmp, "kartoteka.db")
        subprocess.run([h.SERVER, "init", "--db", self.db], capture_output=True, check=True)
        resource.setrlimit(resource.RLIMIT_NOFILE, (SOFT, hard))  # the server inherits it
        try:
            self.server = h.Server(self.db)
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    def tearDown(self):
        try:
            self.server.stop()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def test_soft_limit_raised_to_hard(self):
        soft, hard = limits(self.server.proc.pid)
        self.assertEqual(soft, hard)
        self.assertNotEqual(soft, str(SOFT))

    def test_more_connections_than_the_inherited_soft_limit(self):
        async def go():
            peers = [await h.Peer(self.server).connect() for _ in range(CONNECTIONS)]
            try:
                welcomed = 0
                for p in peers:
                    m = await p.hello()
                    welcomed += m.get("t") == "welcome"
                return welcomed
            finally:
                for p in peers:
                    await p.close()
        self.assertEqual(h.run(go()), CONNECTIONS)


if __name__ == "__main__":
    h.main()
