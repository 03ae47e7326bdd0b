"""Borrowed device ids. A device id belongs to the person signed in on it
until they sign out there (or the salon signs the device out): nobody else
signs in with it, stored push answers are the person's (person, device, mid),
and nobody is shown another person's device id unless they may manage that
device. Real server, raw protocol peers, the reference client."""
import json
import os
import shutil
import sqlite3
import tempfile
import time
import unittest
import uuid

import kt_harness as h

A, B = "Lepota Center", "Lepota Maribor"


def query(db, sql, *args):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


class BorrowedDeviceTest(h.DemoServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.loc = dict(query(cls.db, "SELECT name, id FROM location"))
        cls.clients_a = [r[0] for r in query(
            cls.db, "SELECT client_id FROM client_location WHERE location_id = ? AND client_id NOT IN "
                    "(SELECT client_id FROM client_location WHERE location_id != ?) ORDER BY client_id",
            cls.loc[A], cls.loc[A])]

    def staff_id(self, acc):
        return query(self.db, "SELECT id FROM staff WHERE email = ?", acc["email"])[0][0]

    def version(self, tbl, rid):
        return query(self.db, "SELECT version FROM %s WHERE id = ?" % tbl, rid)[0][0]

    async def attempt(self, acc, device):
        """The answer to a sign-in with this device id, and the peer (open when signed in)."""
        p = await h.Peer(self.server, device).connect()
        await p.hello()
        return await p.login(acc), p

    async def push(self, p, muts):
        await p.send({"t": "push", "muts": muts})
        m = await p.recv(15)
        self.assertEqual(m["t"], "push_result", m)
        return m["results"]

    async def logout(self, p):
        await p.send({"t": "logout"})
        m = await p.recv()
        self.assertEqual((m["t"], m.get("code")), ("error", "revoked"), m)
        await p.close()

    def test_borrowed_device_id_is_refused_and_reads_no_stored_answers(self):
        rec, spec = h.account(self.accounts, "reception", A), h.account(self.accounts, "specialist", A)
        cid = self.clients_a[0]
        tablet = str(uuid.uuid4())

        async def go():
            base = self.version("client", cid)
            m = await self.signed_in(h.account(self.accounts, "manager", A))
            res = await self.push(m, [{"mid": 1, "tbl": "client", "id": cid, "op": "update", "base": base,
                                       "f": {"phone": "+386 40 111 001"}, "at": 1}])
            self.assertEqual(res[0]["status"], "applied")
            await m.close()
            # the receptionist's edit of the same phone from the old base is rejected
            # with the current value, and that answer is stored for replays
            r = await self.signed_in(rec, tablet)
            res = await self.push(r, [{"mid": 1, "tbl": "client", "id": cid, "op": "update", "base": base,
                                       "f": {"phone": "+386 40 111 002"}, "at": 2}])
            self.assertEqual(res[0]["current"], {"phone": "+386 40 111 001"})  # what a borrower is after
            await r.close()

            # the specialist with the receptionist's tablet id: refused, with what to do
            ans, s = await self.attempt(spec, tablet)
            self.assertEqual((ans["t"], ans.get("code")), ("error", "device_taken"), ans)
            self.assertIn("sign out", ans["msg"])
            self.assertIn("device", ans["msg"])
            # ... so no push, and no replay of the receptionist's answers
            await s.send({"t": "push", "muts": [{"mid": 1, "tbl": "client", "id": cid, "op": "update",
                                                 "base": 0, "f": {"phone": None}, "at": 3}]})
            m = await s.recv()
            self.assertEqual((m["t"], m.get("code")), ("error", "unauthenticated"), m)
            await s.close()
            self.assertEqual(query(self.db, "SELECT principal_id FROM device WHERE id = ?", tablet)[0][0],
                             query(self.db, "SELECT id FROM staff WHERE email = ?", rec["email"])[0][0])

            # the receptionist signs out there: the id is free, but the answers stay hers
            r = await self.signed_in(rec, tablet)
            await self.logout(r)
            s = await self.signed_in(spec, tablet)
            res = await self.push(s, [{"mid": 1, "tbl": "client", "id": cid, "op": "update", "base": 0,
                                       "f": {"phone": None}, "at": 4}])
            self.assertNotEqual(res[0]["status"], "duplicate", res[0])     # not her stored answer
            self.assertNotIn("first", res[0])
            self.assertNotIn("+386 40 111", json.dumps(res))
            await s.close()
        h.run(go())

    def test_preempted_mids_do_not_turn_the_real_devices_edits_into_duplicates(self):
        rec, spec = h.account(self.accounts, "reception", A, 0), h.account(self.accounts, "specialist", A)
        cid = self.clients_a[1]
        tablet = str(uuid.uuid4())

        async def go():
            r = await self.signed_in(rec, tablet)
            await self.logout(r)               # the tablet is free for a while...
            # ... and someone else takes its id and spends mids 1-5 on it
            s = await self.signed_in(spec, tablet)
            res = await self.push(s, [{"mid": m, "tbl": "client", "id": cid, "op": "update", "base": 0,
                                       "f": {"phone": None}, "at": m} for m in range(1, 6)])
            self.assertEqual({x["status"] for x in res}, {"rejected"})
            # while they are signed in there, the receptionist cannot come back on it
            ans, p = await self.attempt(rec, tablet)
            self.assertEqual(ans.get("code"), "device_taken", ans)
            await p.close()
            await self.logout(s)
            # the receptionist's own next edits with those mids are applied, not "duplicate"
            r = await self.signed_in(rec, tablet)
            base = self.version("client", cid)
            res = await self.push(r, [{"mid": m, "tbl": "client", "id": cid, "op": "update", "base": base + m - 1,
                                       "f": {"preferences": "tea %d" % m}, "at": 10 + m} for m in range(1, 6)])
            self.assertEqual([x["status"] for x in res], ["applied"] * 5, res)
            await r.close()
        h.run(go())
        self.assertEqual(self.server_row("client", cid)["preferences"], "tea 5")

    def test_manager_cannot_take_the_owners_device_id_to_revoke_the_owners_laptop(self):
        owner, mgr = h.account(self.accounts, "owner"), h.account(self.accounts, "manager", A)
        laptop = str(uuid.uuid4())

        async def go():
            o = await self.signed_in(owner, laptop)
            ans, m = await self.attempt(mgr, laptop)
            self.assertEqual(ans.get("code"), "device_taken", ans)
            await m.close()
            m = await self.signed_in(mgr)
            await m.send({"t": "manage", "op": "revoke_device", "id": laptop})
            ans = await m.recv()
            self.assertEqual((ans["t"], ans.get("code")), ("error", "forbidden"), ans)
            await m.close()
            await o.send({"t": "sync"})
            await o.recv_until("synced", 30)      # the owner's laptop goes on
            await o.close()
        h.run(go())
        self.assertEqual(query(self.db, "SELECT revoked FROM device WHERE id = ?", laptop), [(0,)])

    def test_same_person_signs_in_again_on_the_same_device(self):
        spec = h.account(self.accounts, "specialist", B)
        tablet = str(uuid.uuid4())

        async def go():
            p = await self.signed_in(spec, tablet)
            await p.close()
            p = await self.signed_in(spec, tablet)          # again, with the password
            token = p.token
            await p.close()
            q = await h.Peer(self.server, tablet).connect()  # and with the session token
            await q.hello()
            await q.send({"t": "resume", "token": token})
            self.assertEqual((await q.recv())["t"], "auth_ok")
            await q.close()
            # the session expired: the password still works on this device
            con = sqlite3.connect(self.db)
            con.execute("UPDATE auth_session SET expires_at = 1 WHERE device_id = ?", (tablet,))
            con.commit()
            con.close()
            p = await self.signed_in(spec, tablet)
            await p.close()
        h.run(go())

    def test_salon_signing_a_device_out_releases_it(self):
        owner, rec = h.account(self.accounts, "owner"), h.account(self.accounts, "reception", B)
        spec = h.account(self.accounts, "specialist", B)
        tablet = str(uuid.uuid4())

        async def go():
            r = await self.signed_in(rec, tablet)
            o = await self.signed_in(owner)
            await o.send({"t": "manage", "op": "sign_out_device", "id": tablet})
            self.assertEqual((await o.recv())["t"], "manage_result")
            self.assertTrue(await r.closed())
            s = await self.signed_in(spec, tablet)           # the next person on that tablet
            for p in (o, s):
                await p.close()
        h.run(go())

    def test_nobody_is_shown_device_ids_they_may_not_manage(self):
        owner, mgr = h.account(self.accounts, "owner"), h.account(self.accounts, "manager", A)
        cid = self.clients_a[2]
        laptop, mgr_tablet = str(uuid.uuid4()), str(uuid.uuid4())

        async def go():
            o = await self.signed_in(owner, laptop)
            m = await self.signed_in(mgr, mgr_tablet)
            ids = {self.staff_id(owner), self.staff_id(mgr)}
            for p, mid, val in ((o, 1, "owner's note"), (m, 1, "manager's note")):
                res = await self.push(p, [{"mid": mid, "tbl": "client", "id": cid, "op": "update",
                                           "base": self.version("client", cid), "f": {"preferences": val},
                                           "at": 1}])
                self.assertEqual(res[0]["status"], "applied")
            answers = {}
            for name, p in (("owner", o), ("manager", m)):
                await p.send({"t": "audit_query", "client": cid, "limit": 50})
                r = await p.recv()
                self.assertEqual(r["t"], "audit_result", r)
                answers[name] = {e["device_id"] for e in r["entries"]
                                 if e["action"] == "update" and e["actor_id"] in ids}
            await m.send({"t": "privacy", "op": "export", "client": cid})
            first = await m.recv(30)
            self.assertEqual(first["t"], "privacy_result", first)
            parts = [first]
            while len(parts) < first["parts"]:
                parts.append(await m.recv(30))
            doc = json.loads("".join(x["doc"] for x in parts))
            for p in (o, m):
                await p.close()
            return answers, doc
        answers, doc = h.run(go())
        self.assertEqual(answers["owner"], {laptop, mgr_tablet})         # the owner manages every device
        self.assertEqual(answers["manager"], {None, mgr_tablet})          # not the owner's laptop
        shown = {e["device"] for e in doc["access_log"]}
        self.assertIn(mgr_tablet, shown)
        self.assertNotIn(laptop, shown)
        owner_entries = [e for e in doc["access_log"] if e["actor"]["role"] == "owner"]
        self.assertTrue(owner_entries)
        self.assertEqual({e["device"] for e in owner_entries}, {None})

    def test_reference_client_signs_the_next_person_in_on_a_new_device_id(self):
        rec, spec = h.account(self.accounts, "reception", B), h.account(self.accounts, "specialist", B, 0)
        d = os.path.join(self.tmp, "shared-tablet")
        h.login(d, self.server, rec)
        h.client(d, "sync")
        first = device_of(d)
        h.login(d, self.server, spec)          # no sign-out in between: a new device id
        h.client(d, "sync")
        second = device_of(d)
        self.assertNotEqual(first, second)
        sid = query(self.db, "SELECT id FROM staff WHERE email = ?", spec["email"])[0][0]
        self.assertEqual(query(self.db, "SELECT principal_id FROM device WHERE id = ?", second), [(sid,)])
        # signed out first: the same id is free and kept
        h.client(d, "logout")
        h.login(d, self.server, rec)
        self.assertEqual(device_of(d), second)


def device_of(dirpath):
    info = h.client(dirpath, "status").stdout
    return [l.split()[-1] for l in info.splitlines() if "device" in l.lower()][0]


class MigrationTest(unittest.TestCase):
    """Push answers stored before (keyed by device and mid) get their person."""

    @classmethod
    def setUpClass(cls):
        # a database as the previous schema left it: answers without a person
        cls.tmp = tempfile.mkdtemp(prefix="kt-migration-")
        cls.db, cls.accounts = h.demo_db(cls.tmp)
        con = sqlite3.connect(cls.db)
        cls.sid = con.execute("SELECT id FROM staff WHERE role = 'reception' ORDER BY id").fetchone()[0]
        cls.dev, cls.stranger = str(uuid.uuid4()), str(uuid.uuid4())
        # a visit of two or more services whose first name holds a comma: the names must
        # come back whole and in the order of services
        cls.visit, services = con.execute("SELECT id, services FROM visit WHERE services LIKE '%,%' "
                                          "ORDER BY id").fetchone()
        con.execute("UPDATE service SET name = 'Cut, wash & blow-dry' WHERE id = ?", (services.split(",")[0],))
        # (what later migrations added goes too: they run again)
        triggers = con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND (name LIKE 'rights%' "
                               "OR name LIKE 'staff_location_ids%')")
        for (name,) in triggers.fetchall():
            con.execute("DROP TRIGGER %s" % name)
        con.executescript(
            "DROP TABLE IF EXISTS rights_gen; DROP TABLE IF EXISTS email_change; DROP TABLE mutation;"
            "ALTER TABLE setup_token DROP COLUMN purpose;"
            "CREATE TABLE mutation(device_id TEXT NOT NULL, mid INTEGER NOT NULL, result BLOB NOT NULL,"
            " at INTEGER NOT NULL, PRIMARY KEY(device_id, mid)) WITHOUT ROWID;"
            "ALTER TABLE device DROP COLUMN released_at;"
            "DROP TABLE opening_hours; DROP TABLE closed_day; DROP TABLE working_hours; DROP TABLE time_off;"
            "ALTER TABLE service DROP COLUMN location_ids; ALTER TABLE service DROP COLUMN specialist_ids;"
            "ALTER TABLE service DROP COLUMN buffer_min;"
            "ALTER TABLE organisation DROP COLUMN country; ALTER TABLE organisation DROP COLUMN currency;"
            "ALTER TABLE organisation DROP COLUMN language; ALTER TABLE location DROP COLUMN closed_at;"
            "ALTER TABLE organisation DROP COLUMN privacy_notice;"
            "ALTER TABLE appointment DROP COLUMN specialist_name; ALTER TABLE appointment DROP COLUMN service_names;"
            "ALTER TABLE visit DROP COLUMN specialist_name; ALTER TABLE visit DROP COLUMN service_names;"
            "ALTER TABLE staff DROP COLUMN location_ids; ALTER TABLE appointment DROP COLUMN status_reason;"
            "DROP TABLE message_settings; DROP TABLE message_template; DROP TABLE link_token;"
            "DROP TABLE review; DROP TABLE survey_answer; DROP TABLE review_anon;"
            "ALTER TABLE client DROP COLUMN language;"
            "DROP TABLE mutation_pruned; DROP TABLE outbox_tally;"
            "PRAGMA user_version = 12;")
        cls.staff_versions = dict(con.execute("SELECT id, version FROM staff"))
        cls.last_seq = con.execute("SELECT max(seq) FROM changelog").fetchone()[0]
        con.execute("INSERT INTO device(id, kind, principal_id, app, first_seen, last_seen) VALUES(?, 'staff', ?, "
                    "'kt-test', 1, 1)", (cls.dev, cls.sid))
        # answers of today: older ones than changelog_days would go in serve's first retention pass
        now = int(time.time() * 1000)
        con.execute("INSERT INTO mutation VALUES(?, 7, x'80', ?)", (cls.dev, now))
        con.execute("INSERT INTO mutation VALUES(?, 7, x'80', ?)", (cls.stranger, now))
        con.commit()
        con.close()
        cls.server = h.Server(cls.db)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_old_answers_belong_to_the_person_the_device_was_registered_to(self):
        rows = set(query(self.db, "SELECT principal_id, device_id, mid FROM mutation"))
        self.assertEqual(rows, {(self.sid, self.dev, 7), ("", self.stranger, 7)})  # unknown device: nobody's
        self.assertGreaterEqual(query(self.db, "PRAGMA user_version")[0][0], 15)
        self.assertEqual(query(self.db, "SELECT released_at FROM device WHERE id = ?", self.dev), [(None,)])

    def test_organisations_get_an_empty_privacy_notice(self):
        self.assertGreaterEqual(query(self.db, "PRAGMA user_version")[0][0], 19)
        self.assertEqual(set(query(self.db, "SELECT privacy_notice FROM organisation")), {(None,)})

    def test_appointments_and_visits_get_the_names_of_their_specialist_and_services(self):
        self.assertGreaterEqual(query(self.db, "PRAGMA user_version")[0][0], 20)
        staff = dict(query(self.db, "SELECT id, display_name FROM staff"))
        menu = dict(query(self.db, "SELECT id, name FROM service"))
        for tbl in ("appointment", "visit"):
            rows = query(self.db, "SELECT id, specialist_id, services, specialist_name, service_names FROM %s" % tbl)
            self.assertTrue(rows, tbl)
            for rid, spec, services, spec_name, names in rows:
                self.assertEqual(spec_name, staff[spec], (tbl, rid))
                self.assertEqual(json.loads(names), [menu[s] for s in services.split(",") if s], (tbl, rid))
        names = json.loads(query(self.db, "SELECT service_names FROM visit WHERE id = ?", self.visit)[0][0])
        self.assertGreaterEqual(len(names), 2)
        self.assertEqual(names[0], "Cut, wash & blow-dry")

    def test_staff_rows_get_their_locations_and_go_out_again(self):
        self.assertGreaterEqual(query(self.db, "PRAGMA user_version")[0][0], 21)
        links = {}
        for sid, loc in query(self.db, "SELECT staff_id, location_id FROM staff_location"):
            links.setdefault(sid, []).append(loc)
        rows = query(self.db, "SELECT id, role, location_ids, version FROM staff")
        self.assertEqual(len(rows), len(self.staff_versions))
        for sid, role, locs, version in rows:
            self.assertEqual(locs, ",".join(sorted(links.get(sid, []))), sid)
            self.assertEqual(version, self.staff_versions[sid] + 1, sid)  # devices take the row again
        # one put each, routed as the store routes staff rows (an owner's: everywhere)
        puts = query(self.db, "SELECT row_id, loc_old, loc_new FROM changelog WHERE seq > ? AND tbl = 'staff'",
                     self.last_seq)
        want = {(sid, "*" if role == "owner" else locs) for sid, role, locs, _ in rows}
        self.assertEqual({(sid, new) for sid, old, new in puts if old == new}, want)

    def test_appointments_get_an_empty_status_reason(self):
        self.assertGreaterEqual(query(self.db, "PRAGMA user_version")[0][0], 22)
        self.assertEqual(set(query(self.db, "SELECT status_reason FROM appointment")), {(None,)})


if __name__ == "__main__":
    h.main()
