"""--help (and -h) after every command and subcommand of kartoteka-server
and kartoteka-client: the usage on stdout, exit 0, nothing on stderr, and
nothing opened or created (the database and the client's directory named
in the command do not exist afterwards)."""
import os
import shutil
import subprocess
import tempfile
import unittest

import kt_harness as h

SERVER_COMMANDS = [
    [], ["help"], ["init"], ["serve"], ["policy"], ["backup"], ["restore"],
    ["audit"], ["audit", "verify"], ["audit", "show"], ["keys"], ["keys", "rotate"],
    ["privacy"], ["privacy", "export"], ["privacy", "erase"], ["privacy", "pending"],
    ["privacy", "erasure-status"], ["privacy", "retention"],
    ["admin"], ["admin", "--db", "DB"], ["admin", "--db", "DB", "list"],
    ["admin", "--db", "DB", "appointment"], ["admin", "--db", "DB", "appointment", "create"],
    ["admin", "--db", "DB", "appointment", "move"], ["admin", "--db", "DB", "appointment", "cancel"],
    ["admin", "--db", "DB", "client"], ["admin", "--db", "DB", "client", "set"],
    ["admin", "--db", "DB", "device"], ["admin", "--db", "DB", "device", "list"],
    ["admin", "--db", "DB", "device", "sign-out"], ["admin", "--db", "DB", "device", "revoke"],
    ["admin", "--db", "DB", "staff"], ["admin", "--db", "DB", "staff", "deactivate"],
    ["admin", "--db", "DB", "staff", "location"], ["admin", "--db", "DB", "staff", "role"],
    ["admin", "--db", "DB", "consent"], ["admin", "--db", "DB", "consent", "show"],
    ["admin", "--db", "DB", "portal"], ["admin", "--db", "DB", "portal", "invite"],
    ["admin", "--db", "DB", "portal", "outbox"],
    ["admin", "--db", "DB", "retention"], ["admin", "--db", "DB", "retention", "show"],
    ["admin", "--db", "DB", "retention", "run"],
    ["import"], ["import", "clients"], ["export"], ["export", "clients"], ["export", "appointments"],
    ["admin", "--db", "DB", "hours"], ["admin", "--db", "DB", "hours", "set"], ["admin", "--db", "DB", "hours", "show"],
    ["admin", "--db", "DB", "closed"], ["admin", "--db", "DB", "closed", "add"],
    ["admin", "--db", "DB", "staff", "hours"], ["admin", "--db", "DB", "staff", "time-off"],
    ["admin", "--db", "DB", "service"], ["admin", "--db", "DB", "service", "create"],
    ["admin", "--db", "DB", "service", "edit"],
    ["setup"], ["setup", "--db", "DB"],
    ["admin", "--db", "DB", "location"], ["admin", "--db", "DB", "location", "list"],
    ["admin", "--db", "DB", "location", "create"], ["admin", "--db", "DB", "location", "edit"],
    ["admin", "--db", "DB", "location", "close"],
    ["admin", "--db", "DB", "staff", "invite"], ["admin", "--db", "DB", "staff", "reset-password"],
    ["admin", "--db", "DB", "client", "create"], ["admin", "--db", "DB", "client", "edit"],
    ["admin", "--db", "DB", "client", "merge"], ["admin", "--db", "DB", "client", "find"],
    ["admin", "--db", "DB", "org"], ["admin", "--db", "DB", "org", "privacy-notice"],
]
CLIENT_COMMANDS = [
    [], ["login"], ["sync"], ["watch"], ["ls"], ["show"], ["status"], ["logout"],
    ["client"], ["client", "set"], ["client", "clear"],
    ["appointment"], ["appointment", "create"], ["appointment", "move"], ["appointment", "cancel"],
    ["visit"], ["visit", "add"], ["batch"], ["rejections"],
]


class HelpTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kt-help-")
        self.db = os.path.join(self.tmp, "none.db")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def check(self, argv, label):
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, "%s: exit %d, stderr %r" % (label, out.returncode, out.stderr))
        self.assertTrue(out.stdout.startswith("usage:"), "%s: stdout %r" % (label, out.stdout[:80]))
        self.assertEqual(out.stderr, "", label)
        self.assertEqual(os.listdir(self.tmp), [], "%s created %s" % (label, os.listdir(self.tmp)))

    def test_every_server_command_and_subcommand(self):
        for cmd in SERVER_COMMANDS:
            args = [self.db if a == "DB" else a for a in cmd]
            for flag in ("--help", "-h"):
                with self.subTest(cmd=cmd, flag=flag):
                    self.check([h.SERVER] + args + [flag], " ".join(cmd + [flag]))
        # with the options a real call would carry, too
        with self.subTest("backup with its options"):
            self.check([h.SERVER, "backup", "--db", self.db, "--to", self.db + ".bak", "--help"], "backup")

    def test_every_client_command_and_subcommand(self):
        d = os.path.join(self.tmp, "device")
        for cmd in CLIENT_COMMANDS:
            for flag in ("--help", "-h"):
                with self.subTest(cmd=cmd, flag=flag):
                    self.check([h.CLIENT, "--dir", d] + cmd + [flag], " ".join(cmd + [flag]))

    def test_an_unknown_command_is_still_an_error(self):
        out = subprocess.run([h.SERVER, "frobnicate", "--help"], capture_output=True, text=True)
        self.assertEqual(out.returncode, 2)
        out = subprocess.run([h.CLIENT, "--dir", os.path.join(self.tmp, "d"), "frobnicate", "--help"],
                             capture_output=True, text=True)
        self.assertEqual(out.returncode, 2)


if __name__ == "__main__":
    h.main()
