"""Health and metrics on the device listener: /healthz and /readyz for
anyone, /metrics only with the bearer token or from an allowed address
(loopback by default, never through a proxy without the token), in the
Prometheus text format as Prometheus' own Python parser reads it
(Debian's python3-prometheus-client), and counters that move when devices
sign in, push and receive changes."""
import asyncio
import http.client
import os
import shutil
import socket
import sqlite3
import tempfile
import time
import uuid

from prometheus_client.parser import text_string_to_metric_families

import kt_harness as h

A = "Lepota Center"
TOKEN = "metrics-" + os.urandom(16).hex()

# every family the server must expose, with its type (the parser names a
# counter's family without _total)
FAMILIES = {
    "kartoteka_connections": "gauge",
    "kartoteka_connected_devices": "gauge",
    "kartoteka_signins": "counter",
    "kartoteka_mutations_applied": "counter",
    "kartoteka_mutations_duplicate": "counter",
    "kartoteka_mutations_rejected": "counter",
    "kartoteka_snapshot_rows_sent": "counter",
    "kartoteka_changes_sent": "counter",
    "kartoteka_fanout_pooled_sends": "counter",
    "kartoteka_commit_to_device_seconds": "histogram",
    "kartoteka_wal_size_bytes": "gauge",
    "kartoteka_wal_checkpoints": "counter",
    "kartoteka_outbox_queued": "gauge",
    "kartoteka_outbox_due": "gauge",
    "kartoteka_outbox_send_failures": "counter",
    "kartoteka_writer_queue_depth": "gauge",
    "kartoteka_writer_heartbeat_age_seconds": "gauge",
    "kartoteka_change_log_head": "gauge",
    "kartoteka_ready": "gauge",
    "kartoteka_http_requests": "counter",
    "process_cpu_seconds": "counter",
    "process_resident_memory_bytes": "gauge",
    "process_virtual_memory_bytes": "gauge",
    "process_open_fds": "gauge",
    "process_max_fds": "gauge",
    "process_start_time_seconds": "gauge",
}


def get(port, path, headers=None, source=None, method="GET", tls=None):
    """(status, headers as a dict with lower-case names, body text); tls: an
    ssl context for https."""
    if tls:
        c = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=tls)
    else:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                       source_address=(source, 0) if source else None)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()
    finally:
        c.close()


def parse(text):
    """{family name: family} by the real parser; every sample's value in
    {(sample name, frozenset(labels)): value}."""
    fams, samples = {}, {}
    for f in text_string_to_metric_families(text):
        fams[f.name] = f
        for s in f.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return fams, samples


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def start_with_config(tmp, text):
    conf = os.path.join(tmp, "kartoteka-%s.conf" % uuid.uuid4().hex[:8])
    with open(conf, "w") as f:
        f.write(text)
    db, _ = h.demo_db(tmp)
    return h.Server(db, ["--config", conf])


class MetricsTest(h.DemoServerTest):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kt-metricstest-")
        cls.db, cls.accounts = h.demo_db(cls.tmp)
        conf = os.path.join(cls.tmp, "kartoteka.conf")
        with open(conf, "w") as f:
            f.write("# an operator's settings\nmetrics_token = %s\nmetrics_allow = 127.0.0.2, ::1\n" % TOKEN)
        cls.server = h.Server(cls.db, ["--config", conf])
        cls.loc, cls.spec_a, cls.client_a = h.demo_ids(cls.db, A)

    def scrape(self):
        status, head, body = get(self.server.port, "/metrics", {"Authorization": "Bearer " + TOKEN})
        self.assertEqual(status, 200, body)
        self.assertTrue(head["content-type"].startswith("text/plain; version=0.0.4"), head)
        return parse(body)

    def wait_metric(self, pred, timeout=20):
        """Scrape until pred(samples) holds; the samples that made it hold."""
        return h.until(lambda: self.scrape()[1], pred, timeout, "the metrics' condition")

    # ---- health ----

    def test_healthz_and_readyz_answer_without_credentials(self):
        for path in ("/healthz", "/readyz"):
            status, head, body = get(self.server.port, path)
            self.assertEqual((status, body), (200, "ok\n"), path)
            self.assertEqual(head.get("cache-control"), "no-store")
            self.assertIn("frame-ancestors 'none'", head.get("content-security-policy", ""))  # as every answer
            self.assertEqual(head.get("x-content-type-options"), "nosniff")
            status, _, body = get(self.server.port, path, method="HEAD")
            self.assertEqual((status, body), (200, ""), path)
        status, _, _ = get(self.server.port, "/healthz", method="POST")
        self.assertEqual(status, 405)

    # ---- the guard ----

    def test_metrics_needs_the_token_from_an_address_not_allowed(self):
        status, head, body = get(self.server.port, "/metrics")
        self.assertEqual(status, 401)
        self.assertEqual(head.get("www-authenticate"), 'Bearer realm="metrics"')
        self.assertEqual(body.count("\n"), 1, body)  # one line that says why
        self.assertIn("bearer token", body)
        self.assertNotIn("kartoteka_", body)
        status, _, body = get(self.server.port, "/metrics", {"Authorization": "Bearer " + TOKEN[:-1] + "x"})
        self.assertEqual(status, 401)
        self.assertIn("wrong bearer token", body)
        status, _, body = get(self.server.port, "/metrics", {"Authorization": "Basic " + TOKEN})
        self.assertEqual(status, 401)
        fams, _ = self.scrape()
        self.assertIn("kartoteka_signins", fams)

    def test_an_allowed_address_needs_no_token_unless_forwarded(self):
        status, _, body = get(self.server.port, "/metrics", source="127.0.0.2")
        self.assertEqual(status, 200, body)
        self.assertIn("kartoteka_connected_devices", body)
        # a proxy's request is not the proxy's own: it needs the token
        for hdr in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):
            status, _, body = get(self.server.port, "/metrics", {hdr: "203.0.113.9"}, source="127.0.0.2")
            self.assertEqual(status, 401, hdr)
        status, _, _ = get(self.server.port, "/metrics", {"X-Forwarded-For": "203.0.113.9",
                                                          "Authorization": "Bearer " + TOKEN})
        self.assertEqual(status, 200)

    def test_default_is_loopback_only_and_a_list_without_a_token_refuses_others(self):
        tmp = tempfile.mkdtemp(prefix="kt-metrics-default-")
        try:
            s = start_with_config(tmp, "log_level = warn\n")  # neither key: loopback only
            try:
                status, _, body = get(s.port, "/metrics")
                self.assertEqual(status, 200, body)
                status, _, body = get(s.port, "/metrics", {"X-Forwarded-For": "127.0.0.1"})
                self.assertEqual(status, 403)
                self.assertEqual(body, "metrics: not through a proxy without metrics_token\n")
            finally:
                s.stop()
            s = start_with_config(tmp, "metrics_allow = 10.0.0.0/8\n")
            try:
                status, _, body = get(s.port, "/metrics")
                self.assertEqual(status, 403)
                self.assertEqual(body, "metrics: this address is not allowed (metrics_allow)\n")
                self.assertEqual(get(s.port, "/healthz")[::2], (200, "ok\n"))
            finally:
                s.stop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_healthz_is_ok_as_soon_as_the_server_says_it_listens(self):
        # the writer opens its own connection to the database; a monitor
        # that asks right after "listening" must not see it as not running
        tmp = tempfile.mkdtemp(prefix="kt-metrics-early-")
        try:
            db, _ = h.demo_db(tmp)
            for _ in range(8):
                s = h.Server(db)
                try:
                    self.assertEqual(get(s.port, "/healthz")[::2], (200, "ok\n"))
                finally:
                    s.stop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_over_tls_with_the_token(self):
        tmp = tempfile.mkdtemp(prefix="kt-metrics-tls-")
        try:
            pki = h.make_test_ca(os.path.join(tmp, "pki"))
            conf = os.path.join(tmp, "tls.conf")
            with open(conf, "w") as f:
                f.write("metrics_token = %s\nmetrics_allow = none\n" % TOKEN)
            db, _ = h.demo_db(tmp)
            s = h.Server(db, ["--config", conf], tls=pki)
            try:
                status, head, body = get(s.port, "/healthz", tls=s.ssl_context)
                self.assertEqual((status, body), (200, "ok\n"))
                self.assertEqual(head.get("strict-transport-security"), "max-age=31536000")
                # metrics_allow = none: not even this machine without the token
                status, _, body = get(s.port, "/metrics", tls=s.ssl_context)
                self.assertEqual(status, 401, body)
                status, head, body = get(s.port, "/metrics", {"Authorization": "Bearer " + TOKEN}, tls=s.ssl_context)
                self.assertEqual(status, 200, body)
                self.assertEqual(head.get("strict-transport-security"), "max-age=31536000")
                fams, _ = parse(body)
                self.assertEqual(fams["kartoteka_connected_devices"].type, "gauge")
            finally:
                s.stop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_bad_metrics_keys_are_refused_by_name(self):
        tmp = tempfile.mkdtemp(prefix="kt-metrics-bad-")
        try:
            db, _ = h.demo_db(tmp)
            for line, why in (("metrics_allow = 10.0.0.0/33", "metrics_allow"),
                              ("metrics_allow = example.com", "metrics_allow"),
                              ("metrics_token = short", "metrics_token is 16 to 256 characters")):
                conf = os.path.join(tmp, "bad.conf")
                with open(conf, "w") as f:
                    f.write(line + "\n")
                out = h.subprocess.run([h.SERVER, "serve", "--db", db, "--listen", "127.0.0.1:0", "--config", conf],
                                       capture_output=True, text=True, timeout=30)
                self.assertNotEqual(out.returncode, 0, line)
                self.assertIn(why, out.stderr, line)
                self.assertIn("bad.conf:1", out.stderr, line)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    # ---- the families ----

    def test_every_family_is_there_with_its_type(self):
        fams, samples = self.scrape()
        for name, typ in FAMILIES.items():
            self.assertIn(name, fams, name)
            self.assertEqual(fams[name].type, typ, name)
        for role in ("owner", "manager", "reception", "specialist", "client"):
            self.assertIn(("kartoteka_connected_devices", frozenset({("role", role)})), samples)
        for result in ("ok", "failed", "throttled"):
            self.assertIn(("kartoteka_signins_total", frozenset({("result", result)})), samples)
        self.assertGreater(value(samples, "process_resident_memory_bytes"), 1 << 20)
        self.assertGreater(value(samples, "process_open_fds"), 3)
        self.assertLess(abs(value(samples, "process_start_time_seconds") - time.time()), 3600)
        self.assertGreater(value(samples, "kartoteka_wal_size_bytes"), 0)
        self.assertEqual(value(samples, "kartoteka_ready"), 1)
        self.assertLess(value(samples, "kartoteka_writer_heartbeat_age_seconds"), 5)

    # ---- counters that move ----

    def test_a_failed_send_counts_and_the_message_stays_queued(self):
        tmp = tempfile.mkdtemp(prefix="kt-metrics-outbox-")
        try:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            closed = s.getsockname()[1]  # bound, never listening: connections are refused
            s2 = start_with_config(tmp, "smtp_url = smtp://127.0.0.1:%d\nmail_retry_seconds = 600\n"
                                        "smtp_from = salon@lepota.example\nspool_dir = %s\n"
                                   % (closed, os.path.join(tmp, "spool")))
            try:
                con = sqlite3.connect(s2.db, timeout=10, isolation_level=None)
                org = con.execute("SELECT id FROM organisation LIMIT 1").fetchone()[0]
                now = int(time.time() * 1000)
                con.execute("INSERT INTO outbox(org_id, purpose, channel, to_addr, subject, body, state, attempts, "
                            "next_at, created_at) VALUES(?, 'notice', 'email', 'ops@salon.example', 'Test', 'Hello', "
                            "'queued', 0, ?, ?)", (org, now, now))
                con.close()
                def scrape2():
                    status, _, body = get(s2.port, "/metrics")
                    self.assertEqual(status, 200, body)
                    return parse(body)[1]
                samples = h.until(scrape2, lambda smp: value(smp, "kartoteka_outbox_send_failures_total",
                                                             channel="email") >= 1, 30, "the failed send's count")
                # queued again for a retry in 10 minutes: queued, not due
                self.assertEqual(value(samples, "kartoteka_outbox_queued", channel="email"), 1)
                self.assertEqual(value(samples, "kartoteka_outbox_due", channel="email"), 0)
                self.assertEqual(value(samples, "kartoteka_outbox_send_failures_total", channel="sms"), 0)
            finally:
                s2.stop()
                s.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_sign_ins_count_by_result(self):
        _, before = self.scrape()
        acc = h.account(self.accounts, "specialist", A)
        self.assertEqual(self.attempt(acc, acc["password"])["t"], "auth_ok")
        self.assertEqual(self.attempt(acc, "not the password")["code"], "auth_failed")
        _, after = self.scrape()
        for result in ("ok", "failed"):
            self.assertGreaterEqual(value(after, "kartoteka_signins_total", result=result) -
                                    value(before, "kartoteka_signins_total", result=result), 1, result)

    def test_a_locked_out_account_counts_as_throttled(self):
        victim = h.account(self.accounts, "specialist", "Lepota Maribor")
        _, before = self.scrape()
        for _ in range(5):
            self.assertEqual(self.attempt(victim, "guess")["code"], "auth_failed")
        self.assertEqual(self.attempt(victim, victim["password"]).get("code"), "throttled")
        _, after = self.scrape()
        self.assertGreaterEqual(value(after, "kartoteka_signins_total", result="throttled") -
                                value(before, "kartoteka_signins_total", result="throttled"), 1)
        self.assertGreaterEqual(value(after, "kartoteka_signins_total", result="failed") -
                                value(before, "kartoteka_signins_total", result="failed"), 5)

    def appt(self, mid, aid, start):
        return {"mid": mid, "tbl": "appointment", "id": aid, "op": "create", "base": 0, "at": 5,
                "f": {"location_id": self.loc[A], "client_id": self.client_a, "specialist_id": self.spec_a,
                      "start_at": start, "duration_min": 45, "services": [], "status": "booked"}}

    def test_a_change_reaching_a_streaming_device_moves_the_counters(self):
        mgr = h.account(self.accounts, "manager", A)
        rec = h.account(self.accounts, "reception", A)
        _, before = self.scrape()

        async def go():
            watcher = await self.signed_in(mgr)
            rows = await watcher.snapshot()  # snapshot pages, then streaming
            # the device shows in the role gauge while it is connected
            connected = await asyncio.to_thread(self.wait_metric, lambda s: value(
                s, "kartoteka_connected_devices", role="manager") >= 1)
            pusher = await self.signed_in(rec)
            aid = str(uuid.uuid4())
            await pusher.send({"t": "push", "muts": [
                self.appt(1, aid, 1956528000000),                     # applied
                {"mid": 2, "tbl": "client", "id": str(uuid.uuid4()),  # rejected: no such client
                 "op": "update", "base": 1, "f": {"preferences": "tea"}, "at": 6}]})
            result, _ = await pusher.recv_until("push_result")
            # the change reaches the watcher
            while True:
                m = await watcher.recv(15)
                if m["t"] == "changes" and any(op.get("id") == aid for op in m["ops"]):
                    break
            await pusher.close()
            await watcher.close()
            return rows, connected, result

        rows, connected, result = h.run(go())
        statuses = [r["status"] for r in result["results"]]
        self.assertEqual(statuses, ["applied", "rejected"], result)
        code = result["results"][1]["code"]
        _, after = self.scrape()

        def grew(name, **labels):
            return value(after, name, **labels) - value(before, name, **labels)
        self.assertGreaterEqual(grew("kartoteka_snapshot_rows_sent_total"), len(rows))
        self.assertGreaterEqual(grew("kartoteka_mutations_applied_total"), 1)
        self.assertGreaterEqual(grew("kartoteka_mutations_rejected_total", code=code), 1)
        self.assertGreaterEqual(grew("kartoteka_changes_sent_total"), 1)
        self.assertGreaterEqual(grew("kartoteka_commit_to_device_seconds_count"), 1)
        self.assertGreater(value(after, "kartoteka_commit_to_device_seconds_sum"), 0)
        # the +Inf bucket is the count, and buckets never fall
        self.assertEqual(value(after, "kartoteka_commit_to_device_seconds_bucket", le="+Inf"),
                         value(after, "kartoteka_commit_to_device_seconds_count"))
        self.assertGreaterEqual(value(connected, "kartoteka_connected_devices", role="manager"), 1)
        self.assertGreaterEqual(grew("kartoteka_signins_total", result="ok"), 2)
        # both gone: the gauges come back down
        self.wait_metric(lambda s: value(s, "kartoteka_connected_devices", role="manager") ==
                         value(before, "kartoteka_connected_devices", role="manager") and
                         value(s, "kartoteka_writer_queue_depth") == 0)


if __name__ == "__main__":
    h.main()
