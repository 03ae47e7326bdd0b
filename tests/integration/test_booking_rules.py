"""The booking rules of time and place over the real protocol: an owner sets
opening hours, a closed day, working hours, time off and services through
pushes; a reception tablet then books in 2030 and gets a specific code for
each rule broken, with a sentence in the location's local time; one
override with a reason lets a named rule through and is audited. A
specialist sees their own working hours and time off but nobody else's; a
client sees the opening hours but no working hours and no time off."""
import json
import sqlite3
import subprocess
import uuid
from datetime import datetime, timezone

import kt_harness as h
import oracle

A, B = "Lepota Center", "Lepota Maribor"


def ms(text):
    """UTC "2030-01-07 11:15" to ms since 1970."""
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc).timestamp() * 1000)


def uid():
    return str(uuid.uuid4())


class BookingRulesTest(h.DemoServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        con = sqlite3.connect(cls.db)
        cls.loc = dict(con.execute("SELECT name, id FROM location"))
        cls.spec_acc = h.account(cls.accounts, "specialist", A)
        cls.spec, cls.spec_name = con.execute("SELECT id, display_name FROM staff WHERE email = ?",
                                              (cls.spec_acc["email"],)).fetchone()
        cls.other_spec = con.execute(
            "SELECT s.id FROM staff s JOIN staff_location sl ON sl.staff_id = s.id WHERE s.role = 'specialist' "
            "AND sl.location_id = ? AND s.id <> ? ORDER BY s.id", (cls.loc[A], cls.spec)).fetchone()[0]
        con.close()
        # a portal client known at A and not at B
        for acc in (a for a in cls.accounts if a["role"] == "client"):
            _, pid, _, _, locs = oracle.principal(cls.db, acc["email"])
            if locs == {cls.loc[A]}:
                cls.client_acc, cls.client_id = acc, pid
                break
        cls.owner = h.account(cls.accounts, "owner")
        cls.rec = h.account(cls.accounts, "reception", A)
        cls.mgr = h.account(cls.accounts, "manager", A)
        cls.svc_b, cls.svc_other, cls.svc_buffer = uid(), uid(), uid()
        loc = cls.loc[A]
        setup = [
            # Monday to Saturday with a lunch break; no Sunday row: closed on Sundays
            *[cls.create("opening_hours", location_id=loc, weekday=d, intervals="09:00-12:00,13:00-19:00")
              for d in range(1, 7)],
            cls.create("closed_day", location_id=loc, day="2030-12-25", reason="Christmas"),
            cls.create("working_hours", staff_id=cls.spec, location_id=loc, weekday=1, intervals="09:00-17:00"),
            cls.create("working_hours", staff_id=cls.other_spec, location_id=loc, weekday=2,
                       intervals="10:00-14:00"),
            # 2030-02-04 00:00 to 2030-02-09 00:00 in Ljubljana (CET, UTC+1)
            cls.create("time_off", staff_id=cls.spec, from_at=ms("2030-02-03 23:00"), to_at=ms("2030-02-08 23:00"),
                       reason="dentist"),
            cls.create("time_off", staff_id=cls.other_spec, from_at=ms("2030-03-03 23:00"),
                       to_at=ms("2030-03-08 23:00"), reason="family matters"),
            cls.create("service", cls.svc_b, name="Maribor only", duration_min=30, price_cents=1500,
                       location_ids=[cls.loc[B]]),
            cls.create("service", cls.svc_other, name="Balayage", duration_min=30, price_cents=9000,
                       location_ids=[loc], specialist_ids=[cls.other_spec]),
            cls.create("service", cls.svc_buffer, name="Colour", duration_min=60, price_cents=6000,
                       location_ids=[loc], buffer_min=20),
        ]
        for i, m in enumerate(setup):
            m["mid"] = i + 1
        res = cls.push_as(cls.owner, setup)
        bad = [(m["tbl"], r) for m, r in zip(setup, res) if r["status"] != "applied"]
        assert not bad, bad

    @staticmethod
    def create(tbl, rid=None, **f):
        return {"mid": 1, "tbl": tbl, "id": rid or uid(), "op": "create", "base": 0, "at": 1, "f": f}

    @classmethod
    def push_as(cls, acc, muts, device=None):
        async def go():
            p = await h.Peer(cls.server, device).connect()
            await p.hello()
            ok = await p.login(acc)
            assert ok["t"] == "auth_ok", ok
            await p.send({"t": "push", "muts": muts})
            m, _ = await p.recv_until("push_result", 20)
            await p.close()
            return m["results"]
        return h.run(go())

    def snapshot(self, acc):
        """{(tbl, id): fields} of a fresh snapshot of acc."""
        async def go():
            p = await h.Peer(self.server).connect()
            await p.hello()
            ok = await p.login(acc)
            assert ok["t"] == "auth_ok", ok
            got = await p.snapshot()
            await p.close()
            return got
        return h.run(go())

    def book(self, start, minutes=30, services=(), spec=None, **extra):
        m = self.create("appointment", location_id=self.loc[A], client_id=self.client_id,
                        specialist_id=spec or self.spec, start_at=start, duration_min=minutes,
                        services=list(services), status="booked")
        m.update(extra)
        return self.push_as(self.rec, [m])[0], m

    def refused(self, res, code, *words):
        self.assertEqual((res["status"], res.get("code")), ("rejected", code), res)
        for w in words:
            self.assertIn(w, res["msg"])

    def test_outside_opening_hours(self):
        res, _ = self.book(ms("2030-01-07 11:15"))  # Monday 12:15 local: lunch
        self.refused(res, "outside_opening_hours", "Lepota Center is open 09:00-12:00, 13:00-19:00 on Mondays",
                     "Europe/Ljubljana", "12:15-12:45")
        res, _ = self.book(ms("2030-01-06 10:00"))  # a Sunday
        self.refused(res, "outside_opening_hours", "closed on Sundays")

    def test_closed_day(self):
        res, _ = self.book(ms("2030-12-25 09:00"), spec=self.other_spec)
        self.refused(res, "location_closed", "closed on 2030-12-25 (Christmas)")

    def test_outside_working_hours(self):
        res, _ = self.book(ms("2030-01-14 16:30"))  # Monday 17:30 local
        self.refused(res, "outside_working_hours")
        self.assertEqual(res["msg"], "%s works 09:00-17:00 on Mondays at Lepota Center (Europe/Ljubljana); "
                                     "17:30-18:00 is outside (working_hours)" % self.spec_name)

    def test_time_off_without_its_reason(self):
        res, _ = self.book(ms("2030-02-04 09:00"))  # Monday 10:00 local, in the week off
        self.refused(res, "staff_time_off", "is off from 2030-02-04 00:00 CET to 2030-02-09 00:00 CET")
        self.assertNotIn("dentist", res["msg"])

    def test_services_where_and_by_whom(self):
        res, _ = self.book(ms("2030-01-21 09:00"), services=[self.svc_b])
        self.refused(res, "service_not_at_location", "Lepota Center does not offer Maribor only")
        res, _ = self.book(ms("2030-01-21 10:00"), services=[self.svc_other])
        self.refused(res, "service_not_by_specialist", "%s does not do Balayage" % self.spec_name)

    def test_buffer_time_before_the_next_booking(self):
        first, _ = self.book(ms("2030-01-28 09:00"), 60, services=[self.svc_buffer])  # 10:00-11:00 + 20 min
        self.assertEqual(first["status"], "applied", first)
        res, _ = self.book(ms("2030-01-28 10:10"))
        self.refused(res, "buffer_overlap", "needs 20 minutes after it")
        res, _ = self.book(ms("2030-01-28 10:20"))
        self.assertEqual(res["status"], "applied", res)

    def test_override_with_a_reason_is_applied_and_audited(self):
        start = ms("2031-01-06 16:30")  # Monday 17:30 local: after her hours
        res, m = self.book(start)
        self.refused(res, "outside_working_hours")
        over = dict(m, override={"rule": "working_hours", "reason": "only free after work"})
        res = self.push_as(self.rec, [over], device=uid())[0]
        self.assertEqual(res["status"], "applied", res)
        # a role that does not book cannot override
        spec_try = dict(self.create("appointment", location_id=self.loc[A], client_id=self.client_id,
                                    specialist_id=self.spec, start_at=start + 3600000, duration_min=30,
                                    services=[], status="booked"),
                        override={"rule": "working_hours", "reason": "mine"})
        self.assertEqual(self.push_as(self.spec_acc, [spec_try])[0].get("code"), "forbidden")

        async def audit():
            p = await h.Peer(self.server).connect()
            await p.hello()
            await p.login(self.owner)
            await p.send({"t": "audit_query", "client": self.client_id, "limit": 200})
            a = await p.recv(15)
            await p.close()
            return a
        entries = [e for e in h.run(audit())["entries"] if e["entity_id"] == m["id"]]
        over = [e for e in entries if e["action"].startswith("override:")]
        self.assertEqual([e["action"] for e in over], ["override:working_hours"])
        after = json.loads(over[0]["after"])
        self.assertEqual((after["rule"], after["reason"]), ("working_hours", "only free after work"))
        self.assertIn("17:30-18:00 is outside", after["why"])
        self.assertEqual(over[0]["actor_kind"], "staff")

    def test_booked_anyway_over_another_can_be_confirmed_and_several_rules_named(self):
        first, _ = self.book(ms("2031-02-03 09:00"))  # Monday 10:00 local
        self.assertEqual(first["status"], "applied", first)
        # every rule name joined: longer than one rule's name, within PROTOCOL's list
        every = "overlap,opening_hours,closed_day,working_hours,time_off,specialist_service,location_service,buffer"
        res, m = self.book(ms("2031-02-03 09:00"), override={"rule": every, "reason": "she asked for this slot"})
        self.assertEqual(res["status"], "applied", res)
        # confirming it (status only) is not a new booking: the overlap it was booked with does not refuse it
        conf = {"mid": 1, "tbl": "appointment", "id": m["id"], "op": "update", "base": res["v"], "at": 2,
                "f": {"status": "confirmed"}}
        res = self.push_as(self.rec, [conf], device=uid())[0]
        self.assertEqual(res["status"], "applied", res)
        # cancelled, then booked again: back in the calendar, so the rules look again
        res = self.push_as(self.rec, [dict(conf, base=res["v"], f={"status": "cancelled"})], device=uid())[0]
        self.assertEqual(res["status"], "applied", res)
        res = self.push_as(self.rec, [dict(conf, base=res["v"], f={"status": "booked"})], device=uid())[0]
        self.refused(res, "conflict")

    def test_a_manager_sets_hours_only_at_their_locations(self):
        mine = self.create("closed_day", location_id=self.loc[A], day="2030-11-01", reason="All Saints")
        other = self.create("closed_day", location_id=self.loc[B], day="2030-11-01", reason="All Saints")
        bad = self.create("opening_hours", location_id=self.loc[A], weekday=7, intervals="18:00-09:00")
        other["mid"], bad["mid"] = 2, 3
        res = self.push_as(self.mgr, [mine, other, bad])
        self.assertEqual(res[0]["status"], "applied", res[0])
        self.assertEqual(res[1].get("code"), "forbidden", res[1])
        self.refused(res[2], "invalid", "intervals", "must start before it ends")
        res = self.push_as(self.rec, [self.create("closed_day", location_id=self.loc[A], day="2030-11-02")])
        self.refused(res[0], "forbidden", "reception may not")
        # a time off whose end is moved before its start: refused naming the rule
        off = self.create("time_off", staff_id=self.other_spec, from_at=ms("2030-05-01 00:00"),
                          to_at=ms("2030-05-02 00:00"))
        self.assertEqual(self.push_as(self.mgr, [off])[0]["status"], "applied")
        move = {"mid": 1, "tbl": "time_off", "id": off["id"], "op": "update", "base": 1, "at": 1,
                "f": {"to_at": ms("2030-04-30 00:00")}}
        self.refused(self.push_as(self.mgr, [move])[0], "invalid", "from_at must be before to_at")

    def test_a_specialist_sees_their_own_hours_and_time_off_only(self):
        rows = self.snapshot(self.spec_acc)
        hours = [f for (t, _), f in rows.items() if t == "working_hours"]
        self.assertTrue(hours)
        self.assertEqual({f["staff_id"] for f in hours}, {self.spec})
        off = [f for (t, _), f in rows.items() if t == "time_off"]
        self.assertEqual({f["staff_id"] for f in off}, {self.spec})  # the other's ("family matters") is not here
        self.assertIn("dentist", [f["reason"] for f in off])
        self.assertTrue(any(t == "opening_hours" for t, _ in rows))
        # reception books with everyone's hours and time off, but not why someone is off
        rows = self.snapshot(self.rec)
        off = {f["staff_id"]: f for (t, _), f in rows.items() if t == "time_off"}
        self.assertEqual(set(off), {self.spec, self.other_spec})
        self.assertFalse(any("reason" in f for f in off.values()), off)
        self.assertEqual({f["staff_id"] for (t, _), f in rows.items() if t == "working_hours"},
                         {self.spec, self.other_spec})

    def test_a_client_sees_opening_hours_and_the_menu_but_no_staff_schedule(self):
        rows = self.snapshot(self.client_acc)
        tables = {t for t, _ in rows}
        self.assertNotIn("working_hours", tables)
        self.assertNotIn("time_off", tables)
        opening = [f for (t, _), f in rows.items() if t == "opening_hours"]
        self.assertEqual(len(opening), 6)
        self.assertEqual({f["intervals"] for f in opening}, {"09:00-12:00,13:00-19:00"})
        self.assertIn("closed_day", tables)
        services = [f for (t, _), f in rows.items() if t == "service"]
        for f in services:
            self.assertEqual(set(f) - {"updated_at"}, {"name", "duration_min", "price_cents"}, f)
        names = {f["name"] for f in services}
        self.assertIn("Colour", names)
        self.assertNotIn("Maribor only", names)

class AdminScheduleTest(h.DemoServerTest):
    """The same data from kartoteka-server admin, by names and in local time."""

    def admin(self, *args):
        return subprocess.run([h.SERVER, "admin", "--db", self.db] + list(args), capture_output=True, text=True)

    def test_hours_by_name_then_a_booking_outside_them_is_refused(self):
        out = self.admin("hours", "set", "Lepota Maribor", "mon-fri", "09:00-12:00,13:00-19:00")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("Lepota Maribor (Europe/Ljubljana), Mondays: 09:00-12:00,13:00-19:00 (was: not set)",
                      out.stdout)
        self.assertEqual(out.stdout.count("\n"), 5)
        amb = self.admin("hours", "set", "Lepota", "sat", "closed")
        self.assertEqual(amb.returncode, 2)  # like every ambiguous name: nothing changed
        self.assertIn("Lepota Center", amb.stderr)
        self.assertIn("Lepota Maribor", amb.stderr)
        bad = self.admin("hours", "set", "Lepota Maribor", "sat", "19:00-09:00")
        self.assertEqual(bad.returncode, 1)
        self.assertIn("intervals: 19:00-09:00 must start before it ends", bad.stderr)
        show = self.admin("hours", "show", "Lepota Maribor")
        self.assertEqual(show.returncode, 0, show.stderr)
        lines = show.stdout.splitlines()
        self.assertEqual(lines[0], "Lepota Maribor (Europe/Ljubljana)")
        self.assertEqual(lines[1].split()[:3], ["weekday", "opening", "hours"])
        self.assertEqual(lines[2].split()[:2], ["Monday", "09:00-12:00,13:00-19:00"])
        self.assertEqual(lines[8].split()[:2], ["Sunday", "closed"])
        con = sqlite3.connect(self.db)
        loc, = con.execute("SELECT id FROM location WHERE name = 'Lepota Maribor'").fetchone()
        spec, name = con.execute("SELECT s.id, s.display_name FROM staff s JOIN staff_location sl ON "
                                 "sl.staff_id = s.id WHERE sl.location_id = ? AND s.role = 'specialist' ORDER BY "
                                 "s.id", (loc,)).fetchone()
        client, = con.execute("SELECT client_id FROM client_location WHERE location_id = ? ORDER BY client_id",
                              (loc,)).fetchone()
        n_audit, = con.execute("SELECT count(*) FROM audit WHERE entity = 'opening_hours'").fetchone()
        con.close()
        self.assertEqual(n_audit, 5)  # one entry per day set
        off = self.admin("staff", "time-off", "add", name, "--from", "2031-03-03 00:00", "--to", "2031-03-08 00:00",
                         "--reason", "course")
        self.assertEqual(off.returncode, 0, off.stderr)
        self.assertIn("is off from 2031-03-03 00:00 CET to 2031-03-08 00:00 CET", off.stdout)
        # the admin command books through the same rules: Monday 2031-03-03 10:00 local
        where = ["--location", loc, "--client", client, "--specialist", spec, "--duration", "30"]
        res = self.admin("appointment", "create", *where, "--start", "2031-03-03T09:00:00Z")
        self.assertEqual(res.returncode, 1)
        self.assertIn("(time_off)", res.stderr)
        res = self.admin("appointment", "create", *where, "--start", "2031-03-10T11:30:00Z")  # 12:30: lunch
        self.assertIn("is open 09:00-12:00, 13:00-19:00 on Mondays", res.stderr)
        res = self.admin("appointment", "create", *where, "--start", "2031-03-10T11:30:00Z", "--override",
                         "opening_hours", "--reason", "walk-in at lunch")
        self.assertEqual(res.returncode, 0, res.stderr)
        con = sqlite3.connect(self.db)
        n, = con.execute("SELECT count(*) FROM audit WHERE action = 'override:opening_hours' AND entity_id = ?",
                         (h.created_id(res.stdout),)).fetchone()
        con.close()
        self.assertEqual(n, 1)

    def test_a_service_by_names_with_price_and_buffer(self):
        con = sqlite3.connect(self.db)
        name, = con.execute("SELECT display_name FROM staff WHERE role = 'specialist' ORDER BY id").fetchone()
        con.close()
        out = self.admin("service", "create", "--name", "Express cut", "--duration", "30", "--price", "25.00",
                         "--locations", "Lepota Center", "--specialists", name, "--buffer", "10")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("created service Express cut: name=Express cut duration=30 price=25.00 "
                      "locations=Lepota Center specialists=%s buffer=10" % name, out.stdout)
        sid = out.stdout.splitlines()[-1]
        row = self.server_row("service", sid)
        self.assertEqual((row["price_cents"], row["buffer_min"], row["location_id"]),
                         (2500, 10, row["location_ids"]))
        bad = self.admin("service", "edit", "Express cut", "--buffer", "999")
        self.assertEqual(bad.returncode, 1)
        self.assertIn("buffer_min must be whole minutes from 0 to 240", bad.stderr)
        ok = self.admin("service", "edit", "Express cut", "--price", "27,50", "--locations", "")
        self.assertEqual(ok.returncode, 0, ok.stderr)
        row = self.server_row("service", sid)
        self.assertEqual((row["price_cents"], row["location_ids"], row["location_id"]), (2750, "", None))


if __name__ == "__main__":
    h.main()
