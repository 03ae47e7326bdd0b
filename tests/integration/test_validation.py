"""Values the server refuses on every write path (device push, admin
command) with `invalid` and a message naming the field and the rule, and
that the reference client refuses before it queues anything, naming the
option or field that is wrong (never just its whole usage)."""
import os
import sqlite3
import subprocess
import time
import uuid

import kt_harness as h

LATER = 1893456000000  # 2030-01-01T00:00:00Z


class ValidationTest(h.DemoServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.owner = h.account(cls.accounts, "owner")
        con = sqlite3.connect(cls.db)
        q = lambda sql: con.execute(sql).fetchone()
        cls.appt = q("SELECT id, location_id, client_id, specialist_id FROM appointment "
                     "WHERE status <> 'cancelled' LIMIT 1")
        cls.client_id = cls.appt[2]
        cls.visit = q("SELECT id FROM visit LIMIT 1")[0]
        cls.service = q("SELECT id FROM service LIMIT 1")[0]
        con.close()
        cls.mid = 0

    def tearDown(self):
        self.assertTrue(self.server.alive(), "server died")

    def version(self, tbl, rid):
        con = sqlite3.connect(self.db)
        try:
            row = con.execute("SELECT version FROM %s WHERE id = ?" % tbl, (rid,)).fetchone()
            return row[0] if row else None
        finally:
            con.close()

    def push(self, tbl, rid, f, op="update"):
        """One mutation as the owner; its result."""
        type(self).mid += 1
        base = 0 if op == "create" else self.version(tbl, rid)
        m = {"mid": self.mid, "tbl": tbl, "id": rid, "op": op, "base": base, "f": f, "at": int(time.time() * 1000)}

        async def go():
            p = await h.Peer(self.server).connect()
            try:
                await p.hello()
                self.assertEqual((await p.login(self.owner))["t"], "auth_ok")
                await p.send({"t": "push", "muts": [m]})
                r, _ = await p.recv_until("push_result")
                return r["results"][0]
            finally:
                await p.close()
        return h.run(go())

    def assert_refused(self, tbl, rid, f, needle, op="update"):
        before = self.version(tbl, rid)
        r = self.push(tbl, rid, f, op)
        self.assertEqual((r["status"], r.get("code")), ("rejected", "invalid"), r)
        self.assertIn(needle, r["msg"])
        self.assertEqual(self.version(tbl, rid), before, "a refused value must change nothing")
        return r

    def new_appt(self, **f):
        fields = {"location_id": self.appt[1], "client_id": self.appt[2], "specialist_id": self.appt[3],
                  "start_at": LATER, "duration_min": 30, "services": [], "status": "booked"}
        fields.update(f)
        return fields

    # ---- the server, device pushes ----

    def test_birthday_not_a_date_is_refused_naming_the_field(self):
        r = self.assert_refused("client", self.client_id, {"birthday": "not a date"}, "birthday must be YYYY-MM-DD")
        self.assertTrue(r["msg"].startswith("birthday"), r["msg"])

    def test_birthday_that_does_not_exist_is_refused(self):
        self.assert_refused("client", self.client_id, {"birthday": "1990-02-30"}, "birthday must be YYYY-MM-DD")
        self.assert_refused("client", self.client_id, {"birthday": "2090-01-01"}, "until today")

    def test_real_birthday_is_applied(self):
        self.assertEqual(self.push("client", self.client_id, {"birthday": "1988-02-29"})["status"], "applied")

    def test_appointment_in_1970_is_refused(self):
        self.assert_refused("appointment", str(uuid.uuid4()), self.new_appt(start_at=12345), "start_at must be",
                            op="create")
        self.assert_refused("appointment", self.appt[0], {"start_at": 12345}, "start_at must be")

    def test_duration_outside_1_to_1440_minutes_is_refused(self):
        for d in (0, -30, 1441):
            self.assert_refused("appointment", str(uuid.uuid4()), self.new_appt(duration_min=d),
                                "duration_min must be whole minutes from 1 to 1440", op="create")
        self.assert_refused("service", self.service, {"duration_min": 0}, "duration_min must be whole minutes")

    def test_duration_that_is_not_whole_minutes_is_refused(self):
        r = self.push("appointment", str(uuid.uuid4()), self.new_appt(duration_min=30.5), op="create")
        self.assertEqual((r["status"], r["code"]), ("rejected", "invalid"))
        self.assertIn("duration_min must be a whole number", r["msg"])

    def test_wrong_types_and_unknown_fields_are_named(self):
        self.assert_refused("client", self.client_id, {"birthday": 19900101}, "birthday must be a string")
        self.assert_refused("client", self.client_id, {"favourite_colour": "blue"},
                            "favourite_colour is not a field of client")

    def test_the_names_the_server_keeps_on_the_record_are_refused_naming_the_field(self):
        # specialist_name and service_names are set by the server from staff and service (PROTOCOL.md §7)
        self.assert_refused("appointment", self.appt[0], {"specialist_name": "Someone Else"},
                            "specialist_name is not a field of appointment that a device may write")
        self.assert_refused("visit", self.visit, {"service_names": ["Free haircut"]},
                            "service_names is not a field of visit that a device may write")
        self.assert_refused("appointment", str(uuid.uuid4()), self.new_appt(service_names=[]),
                            "service_names is not a field of appointment that a device may write", op="create")

    def test_unknown_status_and_bad_ids_are_refused(self):
        self.assert_refused("appointment", self.appt[0], {"status": "maybe"}, "status must be booked")
        self.assert_refused("appointment", self.appt[0], {"services": ["haircut"]}, "services must be")
        self.assert_refused("visit", self.visit, {"visit_date": "2027-13-01"}, "visit_date must be YYYY-MM-DD")
        self.assert_refused("appointment", str(uuid.uuid4()), self.new_appt(client_id="someone"),
                            "client_id must be an id", op="create")

    # ---- the server, admin commands ----

    def admin(self, *args):
        return subprocess.run([h.SERVER, "admin", "--db", self.db] + list(args), capture_output=True, text=True)

    def test_admin_refuses_the_same_values(self):
        before = self.version("client", self.client_id)
        out = self.admin("client", "set", self.client_id, "birthday", "not a date")
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("birthday must be YYYY-MM-DD", out.stderr)
        out = self.admin("appointment", "create", "--location", self.appt[1], "--client", self.appt[2],
                         "--specialist", self.appt[3], "--start", "1999-06-01 10:00", "--duration", "30")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("start_at must be", out.stderr)
        self.assertEqual(self.version("client", self.client_id), before)

    # ---- the reference client, before anything is queued ----

    def device(self):
        d = os.path.join(self.tmp, "dev-%s" % uuid.uuid4().hex[:8])
        h.login(d, self.server, self.owner)
        return d

    def queued(self, d):
        out = h.client(d, "status").stdout
        return int([l for l in out.splitlines() if l.startswith("queued edits:")][0].split(":")[1])

    def refused_on_device(self, d, args, needle):
        out = h.client(d, *args, check=False)
        self.assertNotEqual(out.returncode, 0, args)
        self.assertIn(needle, out.stderr, args)
        self.assertNotIn("usage:", out.stderr, "name what is wrong, not the whole usage")
        self.assertEqual(self.queued(d), 0, "nothing may be queued: %s" % (args,))
        return out.stderr

    def create_args(self, **over):
        o = {"--location": self.appt[1], "--client": self.appt[2], "--specialist": self.appt[3],
             "--start": "2030-01-01T09:00:00Z", "--duration": "30"}
        o.update(over)
        args = ["appointment", "create"]
        for k, v in o.items():
            if v is not None:
                args += [k, v]
        return args

    def test_device_refuses_a_day_that_does_not_exist(self):
        d = self.device()
        err = self.refused_on_device(d, self.create_args(**{"--start": "2027-02-30T09:00:00Z"}), "--start")
        self.assertIn("2027-02-30T09:00:00Z", err)

    def test_device_refuses_a_malformed_or_1970_start(self):
        d = self.device()
        # (a local time such as "2027-01-15 09:30" is good once the location is in the cache:
        # test_localtime.py books so)
        for bad in ("tomorrow", "2027-01-15 9:30pm", "12345", "2027-01-15T25:00:00Z"):
            self.refused_on_device(d, self.create_args(**{"--start": bad}), "--start")
        self.refused_on_device(d, ["appointment", "move", self.appt[0], "--start", "soon"], "--start")

    def test_device_refuses_a_duration_that_is_not_minutes(self):
        d = self.device()
        for bad in ("abc", "0", "1441", "30.5", "45min"):
            err = self.refused_on_device(d, self.create_args(**{"--duration": bad}), "--duration")
            self.assertIn("1 to 1440", err)

    def test_device_names_a_missing_option(self):
        d = self.device()
        self.refused_on_device(d, self.create_args(**{"--specialist": None}), "needs --specialist")

    def test_device_refuses_unknown_fields_and_bad_birthdays(self):
        d = self.device()
        self.refused_on_device(d, ["client", "set", self.client_id, "favourite_colour", "blue"],
                               "no field 'favourite_colour'")
        self.refused_on_device(d, ["client", "set", self.client_id, "birthday", "not a date"],
                               "birthday must be YYYY-MM-DD")
        self.refused_on_device(d, ["client", "set", self.client_id, "birthday", "1990-02-30"], "birthday")

    def test_device_queues_what_is_right(self):
        d = self.device()
        h.client(d, "sync")
        h.client(d, *self.create_args(**{"--start": "2030-01-02T09:00:00Z"}))
        h.client(d, "client", "set", self.client_id, "birthday", "1990-02-28")
        self.assertEqual(self.queued(d), 2)


if __name__ == "__main__":
    h.main()
