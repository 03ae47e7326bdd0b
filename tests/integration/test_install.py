"""Installing: `cmake --install` into a staging root lists exactly the files
we mean to ship; the .deb (one cpack run) installs into a throw-away root
with dpkg (--root, maintainer scripts chrootless under DPKG_ROOT: no
container), its user and directories are made, its Depends come from
dpkg-shlibdeps, its systemd units pass `systemd-analyze verify`, its man
pages render, its server runs with the shipped config, and a small C program
builds against the installed library through pkg-config alone. Remove and
purge keep the salon's data.
Run: test_install.py --server BIN --client BIN --build BUILD_DIR"""
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import unittest

import kt_harness as h

BUILD = None

# what `make install` puts under its prefix (DESTDIR) and /etc; LIB is the
# library directory (lib, or lib/<multiarch> with the /usr prefix)
EXPECTED = {
    "etc/kartoteka/kartoteka.conf",
    "usr/bin/kartoteka-server",
    "usr/bin/kartoteka-client",
    "usr/include/kartoteka_client.h",
    "LIB/libkartoteka-client.so",
    "LIB/libkartoteka-client.so.0",
    "LIB/pkgconfig/kartoteka-client.pc",
    "usr/lib/systemd/system/kartoteka.service",
    "usr/lib/systemd/system/kartoteka-backup.service",
    "usr/lib/systemd/system/kartoteka-backup.timer",
    "usr/lib/sysusers.d/kartoteka.conf",
    "usr/share/man/man1/kartoteka-server.1",
    "usr/share/man/man1/kartoteka-client.1",
    "usr/share/man/man5/kartoteka.conf.5",
    "usr/share/doc/kartoteka/README.md",
}

PROGRAM = r"""
#include <stdio.h>
#include <kartoteka_client.h>
int main(int argc, char **argv)
{
	char err[256];
	kc_client *c = argc > 1 ? kc_open(argv[1], err, sizeof err) : NULL;
	if (!c)
		return fprintf(stderr, "kc_open: %s\n", argc > 1 ? err : "DIR"), 1;
	printf("%s %lld\n", kt_err_name(KT_EDENIED), (long long)kc_queue_count(c));
	kc_close(c);
	return 0;
}
"""


def read(path):
    with open(path) as f:
        return f.read()


def run(cmd, check=True, **kw):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)
    if check and out.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(cmd), out.returncode, out.stdout, out.stderr))
    return out


def files_under(root):
    found = set()
    for d, _, names in os.walk(root):
        for n in names:
            found.add(os.path.relpath(os.path.join(d, n), root))
    return found


def with_lib(names, root):
    """EXPECTED with LIB replaced by where the library actually went."""
    libs = [os.path.dirname(p) for p in files_under(root) if p.endswith("/libkartoteka-client.so")]
    if len(libs) != 1:
        raise AssertionError("one libkartoteka-client.so expected, found %s" % libs)
    return {n.replace("LIB", libs[0]) for n in names}, libs[0]


class InstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kt-install-")
        # the package, once for every test below
        out = run(["cpack", "-G", "DEB", "--config", os.path.join(BUILD, "CPackConfig.cmake"),
                   "-B", os.path.join(cls.tmp, "cpack")])
        debs = [f for f in os.listdir(os.path.join(cls.tmp, "cpack")) if f.endswith(".deb")]
        assert len(debs) == 1, out.stdout
        cls.deb = os.path.join(cls.tmp, "cpack", debs[0])
        # a throw-away root with an empty dpkg database
        cls.root = os.path.join(cls.tmp, "root")
        for d in ("var/lib/dpkg/updates", "var/lib/dpkg/info", "etc"):
            os.makedirs(os.path.join(cls.root, d))
        open(os.path.join(cls.root, "var/lib/dpkg/status"), "w").close()
        cls.dpkg("-i", cls.deb)
        cls.libdir = with_lib({"LIB/x"}, os.path.join(cls.root))[1]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def dpkg(cls, *args):
        # the maintainer scripts run here, not chrooted, and work in
        # $DPKG_ROOT; the root has no libc6 & co. in its database: --force-depends
        return run(["dpkg", "--root=" + cls.root, "--force-script-chrootless", "--force-depends",
                    "--force-not-root", "--log=/dev/null"] + list(args),
                   env=dict(os.environ, DPKG_ROOT=cls.root))

    def path(self, rel):
        return os.path.join(self.root, rel)

    def test_make_install_puts_exactly_the_shipped_files(self):
        dest = os.path.join(self.tmp, "destdir")
        run(["cmake", "--install", BUILD, "--prefix", "/usr"], env=dict(os.environ, DESTDIR=dest))
        expected, libdir = with_lib(EXPECTED, dest)
        found = files_under(dest)
        versioned = {p for p in found if re.fullmatch(re.escape(libdir) + r"/libkartoteka-client\.so\.0\.\d+\.\d+", p)}
        self.assertEqual(len(versioned), 1, found)
        self.assertEqual(found - versioned, expected)
        # the library links its dependencies itself, and exports only its API
        so = os.path.join(dest, libdir, "libkartoteka-client.so.0")
        syms = run(["nm", "-D", "--defined-only", so]).stdout.split()
        names = {s.split("@")[0] for s in syms[2::3]}
        self.assertIn("kc_open", names)
        self.assertIn("kt_strerror", names)
        self.assertEqual({n for n in names if not re.match(r"kc_|kt_err_|kt_strerror$|kt_fail$|KARTOTEKA_", n)},
                         set(), "only the public API is exported")
        self.assertIn("SONAME", run(["objdump", "-p", so]).stdout)
        # the installed header stands alone (kt_err.h is copied into it)
        hdr = read(os.path.join(dest, "usr/include/kartoteka_client.h"))
        self.assertNotIn('#include "kt_err.h"', hdr)
        self.assertIn("KT_EDENIED", hdr)

    def test_package_declares_its_libraries_and_conffile(self):
        info = run(["dpkg-deb", "-I", self.deb]).stdout
        depends = re.search(r"^ Depends: (.*)$", info, re.M).group(1)
        for lib in (r"libc6 \(>=", r"libwebsockets\d+", r"libsqlite3-0", r"libsodium\d+", r"libssl3",
                    r"libicu\d+", r"libcurl4",
                    r"libwebsockets-evlib-uv"):  # dlopen'd by libwebsockets: not in shlibdeps' view
            self.assertRegex(depends, lib)
        listed = run(["dpkg-query", "--admindir=" + self.path("var/lib/dpkg"), "-W",
                      "-f=${Conffiles}\n", "kartoteka"]).stdout
        self.assertIn("/etc/kartoteka/kartoteka.conf", listed)
        status = run(["dpkg-query", "--admindir=" + self.path("var/lib/dpkg"), "-W",
                      "-f=${Status}", "kartoteka"]).stdout
        self.assertEqual(status, "install ok installed")

    def test_postinst_made_the_user_and_its_directories(self):
        passwd = read(self.path("etc/passwd"))
        m = re.search(r"^kartoteka:x:(\d+):(\d+):[^:]*:/var/lib/kartoteka:/usr/sbin/nologin$", passwd, re.M)
        self.assertIsNotNone(m, passwd)
        self.assertLess(int(m.group(1)), 1000, "a system user")
        for d in ("var/lib/kartoteka", "var/lib/kartoteka/backups"):
            st = os.stat(self.path(d))
            self.assertEqual(st.st_mode & 0o777, 0o750, d)
            if os.getuid() == 0:
                self.assertEqual((st.st_uid, st.st_gid), (int(m.group(1)), int(m.group(2))), d)
        st = os.stat(self.path("etc/kartoteka/kartoteka.conf"))
        if os.getuid() == 0:  # it may hold smtp_password: root:kartoteka 0640
            self.assertEqual(st.st_mode & 0o777, 0o640)
            self.assertEqual((st.st_uid, st.st_gid), (0, int(m.group(2))))

    def test_units_pass_systemd_analyze_verify(self):
        # systemd-analyze checks that ExecStart= exists: point it at the
        # installed binary (the rest of the root is not a system to --root into)
        units = os.path.join(self.tmp, "units")
        os.makedirs(units, exist_ok=True)
        names = ["kartoteka.service", "kartoteka-backup.service", "kartoteka-backup.timer"]
        for n in names:
            text = read(self.path("usr/lib/systemd/system/" + n))
            with open(os.path.join(units, n), "w") as f:
                f.write(text.replace("/usr/bin/kartoteka-server", self.path("usr/bin/kartoteka-server")))
        unit = read(os.path.join(units, "kartoteka.service"))
        for line in ("Type=notify", "User=kartoteka", "StateDirectory=kartoteka", "ConfigurationDirectory=kartoteka",
                     "ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes", "Restart=on-failure",
                     "ExecReload=/bin/kill -HUP $MAINPID"):
            self.assertIn("\n" + line + "\n", unit)
        stop = int(re.search(r"^TimeoutStopSec=(\d+)$", unit, re.M).group(1))
        self.assertGreater(stop, 10, "longer than the server's drain bound")
        # warnings (an unknown key, a bad value) leave the exit status at 0:
        # the output must be empty too. MANPATH: the Documentation= man pages
        out = run(["systemd-analyze", "verify"] + [os.path.join(units, n) for n in names], check=False, cwd=units,
                  env=dict(os.environ, MANPATH=self.path("usr/share/man") + ":"))
        self.assertEqual((out.returncode, out.stdout + out.stderr), (0, ""))
        # the sandbox stays tight: systemd's own exposure score (1.6 when written; 10 is none)
        out = run(["systemd-analyze", "security", "--offline=true", "--threshold=25",
                   os.path.join(units, "kartoteka.service")], check=False, cwd=units)
        score = re.search(r"Overall exposure level for kartoteka.service: ([\d.]+)", out.stdout)
        self.assertIsNotNone(score, out.stdout + out.stderr)
        self.assertLessEqual(float(score.group(1)), 2.5, out.stdout)
        # and it does find a mistake
        with open(os.path.join(units, "bad.service"), "w") as f:
            f.write(unit.replace("ProtectSystem=strict", "ProtectSystm=strict"))
        out = run(["systemd-analyze", "verify", os.path.join(units, "bad.service")], check=False, cwd=units,
                  env=dict(os.environ, MANPATH=self.path("usr/share/man") + ":"))
        self.assertIn("ProtectSystm", out.stderr)

    def test_man_pages_render(self):
        for page in ("man1/kartoteka-server.1", "man1/kartoteka-client.1", "man5/kartoteka.conf.5"):
            out = run(["man", "--warnings", "-l", self.path("usr/share/man/" + page)],
                      env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="0"))
            text = re.sub(".\b", "", out.stdout)  # bold and underline by overstrike
            self.assertIn("\nNAME\n", text)
            self.assertIn("\nSEE ALSO\n", text)
            self.assertEqual(out.stderr, "", page)

    def test_installed_server_runs_with_the_shipped_config(self):
        server = self.path("usr/bin/kartoteka-server")
        conf = self.path("etc/kartoteka/kartoteka.conf")
        out = run([server, "--help"])
        self.assertIn("serve", out.stdout)
        self.assertIn("kartoteka-client", run([self.path("usr/bin/kartoteka-client"), "--help"], check=False).stdout)
        db = os.path.join(self.tmp, "k.db")
        run([server, "init", "--db", db])
        # the file's db and listen are the packaged ones; the command line wins
        p = subprocess.Popen([server, "serve", "--config", conf, "--db", db, "--listen", "127.0.0.1:0"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = p.stdout.readline()
            self.assertRegex(line, r"^listening on 127\.0\.0\.1:\d+")
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(30)
        self.assertEqual(p.returncode, 0, p.stderr.read())

    def test_upgrade_copies_the_database_before_migrating_it(self):
        """A database one schema version behind (as the previous release left
        it: migration 26 added client.language) is copied, with its keyring,
        before the server migrates it, and the log says where."""
        server = self.path("usr/bin/kartoteka-server")
        d = os.path.join(self.tmp, "upgrade")
        os.makedirs(d)
        db = os.path.join(d, "k.db")
        run([server, "init", "--db", db])
        con = sqlite3.connect(db)
        latest = con.execute("PRAGMA user_version").fetchone()[0]
        self.assertGreaterEqual(latest, 26)
        if latest == 26:
            con.executescript("ALTER TABLE client DROP COLUMN language; PRAGMA user_version = 25;")
        else:  # a newer schema: only the version goes back, the migration then fails after the copy
            con.execute("PRAGMA user_version = %d" % (latest - 1))
        con.close()
        old = latest - 1
        p = subprocess.Popen([server, "serve", "--db", db, "--listen", "127.0.0.1:0"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            p.stdout.readline()
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(30)
        err = p.stderr.read()
        p.stdout.close()
        p.stderr.close()
        bak = "%s.pre-v%d.bak" % (db, old)
        self.assertIn("backup first: %s (keyring: %s.keys)" % (bak, bak), err)
        for f in (bak, bak + ".keys"):
            self.assertEqual(os.stat(f).st_mode & 0o777, 0o600, "personal data and keys: " + f)
        con = sqlite3.connect("file:%s?mode=ro" % bak, uri=True)
        self.assertEqual(con.execute("PRAGMA user_version").fetchone()[0], old)
        self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        self.assertEqual(con.execute("PRAGMA journal_mode").fetchone()[0], "delete")
        con.close()
        if latest == 26:
            self.assertEqual(p.returncode, 0, err)
            con = sqlite3.connect(db)
            self.assertEqual(con.execute("PRAGMA user_version").fetchone()[0], 26)
            con.close()

    def test_shipped_config_documents_every_key_with_a_valid_example(self):
        server = self.path("usr/bin/kartoteka-server")
        conf = read(self.path("etc/kartoteka/kartoteka.conf"))
        missing_db = os.path.join(self.tmp, "none", "k.db")

        def config_error(text):
            path = os.path.join(self.tmp, "probe.conf")
            with open(path, "w") as f:
                f.write(text)
            out = run([server, "serve", "--config", path, "--db", missing_db, "--listen", "127.0.0.1:0"], check=False)
            # a config error names the file (and the line) and exits 2; an
            # accepted file gets as far as the missing database
            if out.returncode == 2 or path in out.stderr:
                return out.stderr.strip()
            self.assertIn("no such database", out.stderr)
            return None

        # every '#key = value' example, all at once, is accepted (TLS wants real files)
        examples = re.findall(r"^#([a-z_]+ = .*)$", conf, re.M)
        self.assertGreater(len(examples), 15)
        self.assertIsNone(config_error("\n".join(e for e in examples if not e.startswith("tls_")) + "\n"))
        self.assertIsNotNone(config_error("no_such_key = 1\n"))
        # every key the server knows (the words of its --help that the
        # parser accepts as keys) is in the file
        usage = run([server, "--help"]).stdout
        words = set(re.findall(r"\b([a-z]+(?:_[a-z]+)+)\b", usage[usage.index("config file"):])) | {"db", "listen"}
        keys = {w for w in words if "unknown key" not in (config_error("%s = x\n" % w) or "")}
        self.assertGreater(len(keys), 15)
        documented = set(re.findall(r"^#?([a-z_]+) = ", conf, re.M))
        self.assertEqual(keys - documented, set(), "keys the shipped config does not show")
        self.assertIn("\ndb = /var/lib/kartoteka/kartoteka.db\n", conf)
        self.assertIn("\nlisten = 127.0.0.1:8080\n", conf)

    def test_program_builds_against_the_installed_library(self):
        pc_dir = self.path(os.path.join(self.libdir, "pkgconfig"))
        env = dict(os.environ, PKG_CONFIG_PATH=pc_dir)
        flags = run(["pkg-config", "--cflags", "--libs", "kartoteka-client"], env=env).stdout.split()
        self.assertTrue(all(self.root in f for f in flags if f.startswith(("-I", "-L"))), flags)
        src = os.path.join(self.tmp, "prog.c")
        with open(src, "w") as f:
            f.write(PROGRAM)
        prog = os.path.join(self.tmp, "prog")
        # a sanitizer build's library needs the sanitizer runtimes first in the program
        lib = self.path(os.path.join(self.libdir, "libkartoteka-client.so.0"))
        san = ["-fsanitize=address,undefined"] if "libasan" in run(["objdump", "-p", lib]).stdout else []
        run(["cc", "-Wall", "-Werror", "-o", prog, src] + san + flags)
        out = run([prog, os.path.join(self.tmp, "device")],
                  env=dict(os.environ, LD_LIBRARY_PATH=self.path(self.libdir)))
        self.assertEqual(out.stdout, "forbidden 0\n")
        needed = run(["objdump", "-p", prog]).stdout
        self.assertIn("libkartoteka-client.so.0", needed)

    def test_zz_remove_and_purge_keep_the_data(self):
        data = self.path("var/lib/kartoteka/kartoteka.db")
        with open(data, "w") as f:
            f.write("the salon's data")
        self.dpkg("-r", "kartoteka")
        self.assertFalse(os.path.exists(self.path("usr/bin/kartoteka-server")))
        self.assertTrue(os.path.exists(self.path("etc/kartoteka/kartoteka.conf")), "a conffile stays until purge")
        self.dpkg("-P", "kartoteka")
        self.assertFalse(os.path.exists(self.path("etc/kartoteka/kartoteka.conf")))
        self.assertEqual(read(data), "the salon's data")


if __name__ == "__main__":
    if "--build" in sys.argv:
        i = sys.argv.index("--build")
        BUILD = os.path.abspath(sys.argv[i + 1])
        del sys.argv[i:i + 2]
    if not BUILD:
        sys.exit("test_install.py: --build BUILD_DIR is required")
    h.main()
