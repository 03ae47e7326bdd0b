#!/usr/bin/python3
"""No personal data, tokens or passwords in the logs of a whole suite run.

Usage: check_logs.py SERVER LOGDIR [SOURCE_ROOT]

The harnesses (tests/integration/kt_harness.py, tests/browser/harness.mjs)
copy the stderr of every `kartoteka-server serve` of the suite into LOGDIR
when KT_TEST_LOG_DIR is set (the Makefile's test-plain sets it for ctest).
This script makes the demo data the tests use (`init --demo --seed 1
--organisations 2`, a superset of the one-salon demo), takes every client's
and staff member's name, e-mail address and phone number from the server's
own `admin list` commands, the demo sign-ins' passwords from init's output,
the e-mail addresses and names the tests make themselves from their sources,
and looks for each in every log line; also for anything like a bearer token
(64 hex digits). Fails naming file and line. Takes a few seconds."""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile


def run(server, *args):
    out = subprocess.run([server] + list(args), capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        sys.exit("check_logs: %s %s failed: %s" % (server, " ".join(args), out.stderr))
    return out.stdout


def tsv(text):
    lines = text.splitlines()
    if not lines:
        return []
    head = lines[0].split("\t")
    return [dict(zip(head, l.split("\t"))) for l in lines[1:]]


def demo_secrets(server):
    """(what, text) pairs: the demo's names, e-mail addresses, phones, passwords.
    Kept beside the binary until it changes (init hashes 58 passwords with
    Argon2id: a few seconds, once per build)."""
    st = os.stat(server)
    stamp = "%s %d %d" % (os.path.realpath(server), st.st_mtime_ns, st.st_size)
    cache = os.path.join(os.path.dirname(os.path.realpath(server)), ".check_logs_demo.json")
    try:
        with open(cache) as f:
            kept = json.load(f)
        if kept.get("stamp") == stamp:
            return [tuple(p) for p in kept["found"]]
    except (OSError, ValueError, KeyError):
        pass
    found = make_demo_secrets(server)
    tmp = "%s.%d" % (cache, os.getpid())
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:  # demo passwords
        json.dump({"stamp": stamp, "found": found}, f)
    os.replace(tmp, cache)
    return found


def make_demo_secrets(server):
    found = []
    with tempfile.TemporaryDirectory() as d:
        db = os.path.join(d, "demo.db")
        for row in tsv(run(server, "init", "--db", db, "--demo", "--seed", "1", "--organisations", "2")):
            found += [("e-mail", row.get("email")), ("password", row.get("password")), ("name", row.get("name"))]
        for what in ("clients", "staff"):
            for row in tsv(run(server, "admin", "--db", db, "list", what, "--limit", "1000000")):
                found += [("name", row.get("name")), ("e-mail", row.get("email"))]
                phone = row.get("phone") or ""
                if phone:
                    found += [("phone", phone), ("phone", phone.replace(" ", ""))]
    return found


def test_secrets(root):
    """E-mail addresses, names and passwords the tests make on their own
    (admin client create, portal passwords)."""
    found = []
    files = glob.glob(os.path.join(root, "tests", "**", "*.py"), recursive=True) + \
        glob.glob(os.path.join(root, "tests", "**", "*.mjs"), recursive=True)
    for f in files:
        if "node_modules" in f:
            continue
        with open(f, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        found += [("e-mail", m) for m in re.findall(r"[\w.+-]+@[\w-]+\.example\b", text)]
        found += [("password", m) for m in re.findall(r"[\"']password[\"']\s*[:,]\s*[\"']([^\"'\s]{8,})[\"']", text)
                  if m != "password"]
        found += [("name", m) for m in re.findall(r"(?:name: |[\"']--name[\"'], )[\"']([A-ZČŠŽ]\w+ [A-ZČŠŽ]\w+)[\"']", text)]
    return found


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    server, logdir = sys.argv[1], sys.argv[2]
    root = sys.argv[3] if len(sys.argv) > 3 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    logs = sorted(glob.glob(os.path.join(logdir, "*.log")))
    if not logs:
        sys.exit("check_logs: no logs in %s (is KT_TEST_LOG_DIR set for ctest?)" % logdir)
    secrets = {}
    for what, text in demo_secrets(server) + test_secrets(root):
        # a short value (a first name alone, "Ana") would match words of other texts
        if text and len(text) >= 6:
            secrets.setdefault(text.lower(), what)
    if len(secrets) < 100:
        sys.exit("check_logs: only %d values to look for: the demo data was not read" % len(secrets))
    words = sorted(secrets, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(w) for w in words) + r"|(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])",
                         re.IGNORECASE)
    bad = 0
    lines = 0
    for path in logs:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for n, line in enumerate(fh, 1):
                lines += 1
                for m in pattern.finditer(line):
                    what = secrets.get(m.group(0).lower(), "token-like value")
                    bad += 1
                    if bad <= 50:
                        print("%s:%d: %s %r in: %s" % (path, n, what, m.group(0), line.rstrip()[:300]))
    if bad:
        print("check_logs: %d finding(s) of personal data, passwords or tokens in the logs (%d files)" %
              (bad, len(logs)))
        return 1
    print("check_logs: %d lines in %d server logs, none of %d names, addresses, phones and passwords" %
          (lines, len(logs), len(secrets)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
