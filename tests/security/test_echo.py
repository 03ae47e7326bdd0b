"""What a push answer and a sync stream may carry back: nothing of a row the
caller may not read. A create with an existing id is refused, and the answer
carries current values only of a row the caller may see (never of another
branch or organisation, never fields the role may not read); a booking
conflict names the other appointment only when the caller may see it; the
owner's staff row goes to the same devices in the stream as in a snapshot;
and every refusal says which field and which rule. A second organisation is
made in the demo database so that cross-organisation echoes are tried too.

Run: PYTHONPATH=tests/integration /usr/bin/python3 tests/security/test_echo.py \
       --server build/server/kartoteka-server --client build/clients/reference-c/kartoteka-client"""
import asyncio
import itertools
import shutil
import sqlite3
import subprocess
import tempfile
import time
import uuid

import msgpack

import kt_harness as h
from kt_harness import Peer, Server, account, run

CENTER, MARIBOR = "Lepota Center", "Lepota Maribor"
ORG2 = "0194aaaa-0000-7000-8000-000000000001"
LOC2 = "0194aaaa-0000-7000-8000-000000000002"
HEALTH = ("allergies", "conditions", "medications", "skin_hair_type", "patch_tests")
CONTACT = ("name", "email", "phone", "address", "birthday")
_mid = itertools.count(1)


def make_second_org(db):
    """Move one Maribor-only client, with everything about it, into a second
    organisation that has a branch of its own. Sealed values stay readable:
    their associated data names table, column, row and client, not the org."""
    con = sqlite3.connect(db)
    maribor = con.execute("SELECT id FROM location WHERE name = ?", (MARIBOR,)).fetchone()[0]
    cid = con.execute(
        "SELECT c.id FROM client c WHERE (SELECT group_concat(location_id) FROM client_location "
        "WHERE client_id = c.id) = ? AND EXISTS (SELECT 1 FROM appointment a WHERE a.client_id = c.id) "
        "AND EXISTS (SELECT 1 FROM visit v WHERE v.client_id = c.id) ORDER BY c.id DESC LIMIT 1",
        (maribor,)).fetchone()[0]
    con.execute("INSERT INTO organisation(id, name, version, updated_at) VALUES(?, 'Druga', 1, 1)", (ORG2,))
    con.execute("INSERT INTO location(id, org_id, name, address, phone, time_zone, version, updated_at) "
                "VALUES(?, ?, 'Druga Koper', 'Obala 1', '+386 5 000 00 00', 'Europe/Ljubljana', 1, 1)",
                (LOC2, ORG2))
    con.execute("UPDATE client SET org_id = ? WHERE id = ?", (ORG2, cid))
    con.execute("UPDATE client_location SET location_id = ? WHERE client_id = ?", (LOC2, cid))
    for tbl in ("appointment", "visit"):
        con.execute("UPDATE %s SET org_id = ?, location_id = ? WHERE client_id = ?" % tbl, (ORG2, LOC2, cid))
    # consent history is append-only (a trigger): lifted for this one move
    triggers = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'consent'"
                           ).fetchall()
    for name, _ in triggers:
        con.execute("DROP TRIGGER %s" % name)
    con.execute("UPDATE consent SET org_id = ? WHERE client_id = ?", (ORG2, cid))
    for _, sql in triggers:
        con.execute(sql)
    con.commit()
    con.close()
    return cid


def packed(obj):
    return msgpack.packb(obj, use_bin_type=True)


class EchoTest(h.DemoServerTest):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kt-echo-")
        cls.db, cls.accounts = h.demo_db(cls.tmp)
        cls.org2_client = make_second_org(cls.db)
        con = sqlite3.connect(cls.db)
        q = lambda sql, *a: con.execute(sql, a).fetchall()
        cls.loc = {n: i for i, n in q("SELECT id, name FROM location")}
        c, m = cls.loc[CENTER], cls.loc[MARIBOR]
        # a client known only at Maribor, with an appointment and a visit there
        cls.mb_client = q("SELECT c.id FROM client c WHERE c.org_id != ? AND (SELECT group_concat(location_id) "
                          "FROM client_location WHERE client_id = c.id) = ? AND EXISTS (SELECT 1 FROM visit v "
                          "WHERE v.client_id = c.id AND v.treatment_notes IS NOT NULL) ORDER BY c.id LIMIT 1",
                          ORG2, m)[0][0]
        cls.center_client = q("SELECT c.id FROM client c WHERE (SELECT group_concat(location_id) FROM "
                              "client_location WHERE client_id = c.id) = ? ORDER BY c.id LIMIT 1", c)[0][0]
        cls.mb_appt = q("SELECT id FROM appointment WHERE location_id = ? AND internal_note IS NOT NULL "
                        "ORDER BY id LIMIT 1", m)[0][0]
        cls.mb_visit = q("SELECT id FROM visit WHERE location_id = ? AND treatment_notes IS NOT NULL "
                         "ORDER BY id LIMIT 1", m)[0][0]
        cls.org2_appt = q("SELECT id FROM appointment WHERE org_id = ? LIMIT 1", ORG2)[0][0]
        cls.org2_visit = q("SELECT id FROM visit WHERE org_id = ? LIMIT 1", ORG2)[0][0]
        cls.center_appt = q("SELECT id FROM appointment WHERE location_id = ? ORDER BY id LIMIT 1", c)[0][0]
        # a Maribor specialist who also works at Center, booked at Maribor
        spec_acc = account(cls.accounts, "specialist", MARIBOR)
        cls.both_spec = q("SELECT id FROM staff WHERE email = ?", spec_acc["email"])[0][0]
        cls.busy = q("SELECT id, start_at, duration_min FROM appointment WHERE specialist_id = ? AND "
                     "location_id = ? AND status != 'cancelled' ORDER BY start_at DESC LIMIT 1",
                     cls.both_spec, m)[0]
        cls.owner_id = q("SELECT id FROM staff WHERE role = 'owner'")[0][0]
        con.close()
        subprocess.run([h.SERVER, "admin", "--db", cls.db, "staff", "location", cls.both_spec, "add", c],
                       check=True, capture_output=True)
        cls.server = Server(cls.db)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- helpers ----

    def secrets(self, tbl, rid):
        """Values of a row that must not reach a caller who may not read it:
        every text of 5+ characters but the row's own id, organisation and
        status (a word the rules' messages use)."""
        row = self.server_row(tbl, rid)
        self.assertIsNotNone(row)
        return {k: v for k, v in row.items()
                if k not in ("id", "org_id", "field_versions", "email_hash", "password_hash", "status")
                and isinstance(v, str) and len(v) >= 5}

    def assert_carries_nothing(self, answer, tbl, rid, what):
        raw = packed(answer)
        for k, v in self.secrets(tbl, rid).items():
            self.assertNotIn(v.encode(), raw, "%s: the answer carries %s.%s of %s: %r" % (what, tbl, k, rid, answer))

    async def push1(self, p, tbl, rid, op, f, base=0):
        mid = next(_mid)
        await p.send({"t": "push", "muts": [{"mid": mid, "tbl": tbl, "id": rid, "op": op, "base": base,
                                            "f": f, "at": int(time.time() * 1000)}]})
        m, _ = await p.recv_until("push_result")
        self.assertEqual(len(m["results"]), 1, m)
        return m["results"][0]

    def attempt(self, role, loc, tbl, rid, op, f, base=0):
        async def go():
            p = await self.signed_in(account(self.accounts, role, loc))
            try:
                return await self.push1(p, tbl, rid, op, f, base)
            finally:
                await p.close()
        return run(go())

    # ---- finding: a create with an existing id echoes the row ----

    def test_create_with_foreign_id_echoes_nothing(self):
        """Reception, specialist and manager of Center push creates (and
        updates) with ids of Maribor rows and of another organisation's rows,
        asking for every field: refused, and nothing of the row comes back."""
        nil = lambda cols: {c: None for c in cols}
        moves = [
            ("client", self.mb_client, nil(CONTACT + ("preferences", "internal_notes"))),
            ("client", self.mb_client, nil(HEALTH)),
            ("client", self.org2_client, nil(CONTACT + ("preferences", "internal_notes"))),
            ("client", self.org2_client, nil(HEALTH)),
            ("appointment", self.mb_appt, nil(("client_id", "start_at", "client_note", "internal_note"))),
            ("appointment", self.org2_appt, nil(("client_id", "start_at", "client_note", "internal_note"))),
            ("visit", self.mb_visit, nil(("client_id", "treatment_notes", "products_formulas", "photos"))),
            ("visit", self.org2_visit, nil(("client_id", "treatment_notes", "products_formulas", "photos"))),
        ]
        for role in ("reception", "specialist", "manager"):
            for tbl, rid, f in moves:
                for op, base in (("create", 0), ("update", 1)):
                    with self.subTest(role=role, tbl=tbl, id=rid, op=op, fields=sorted(f)):
                        r = self.attempt(role, CENTER, tbl, rid, op, f, base)
                        self.assertEqual(r["status"], "rejected", r)
                        self.assertNotIn("current", r, r)
                        self.assert_carries_nothing(r, tbl, rid, "%s %s" % (role, op))

    def test_create_with_visible_id_shows_only_readable_fields(self):
        """The control: the same move on a row the caller may see does carry
        its current values (so the test above can see an echo), and only the
        fields the role may read: a specialist gets no contact data."""
        row = self.server_row("client", self.center_client)
        r = self.attempt("reception", CENTER, "client", self.center_client, "create", {c: None for c in CONTACT})
        self.assertEqual((r["status"], r["code"]), ("rejected", "conflict"), r)
        self.assertEqual(r["current"]["name"], row["name"])
        self.assertEqual(r["current"].get("email"), row["email"])
        r = self.attempt("specialist", CENTER, "client", self.center_client, "create",
                         {c: None for c in ("name",) + HEALTH})
        self.assertEqual((r["status"], r["code"]), ("rejected", "forbidden"), r)  # name is reception's
        self.assertEqual(r["current"]["name"], row["name"])
        self.assertEqual(set(r["current"]), {"name"} | set(HEALTH), r)
        r = self.attempt("reception", CENTER, "client", self.center_client, "create", {c: None for c in HEALTH})
        self.assertEqual((r["status"], r["code"]), ("rejected", "forbidden"), r)
        self.assertEqual(r["current"], {}, r)  # reception reads only the allergy alert

    # ---- finding: booking conflicts name appointments at other branches ----

    def book(self, start, dur, loc):
        aid = str(uuid.uuid4())
        return self.attempt("reception", CENTER, "appointment", aid, "create",
                            {"location_id": self.loc[loc], "client_id": self.center_client,
                             "specialist_id": self.both_spec, "start_at": start, "duration_min": dur})

    def test_booking_conflict_names_only_visible_appointments(self):
        _, start, dur = self.busy
        r = self.book(start, dur, CENTER)
        self.assertEqual((r["status"], r["code"]), ("rejected", "conflict"), r)
        self.assertIn("already booked", r["msg"])
        self.assertNotIn(self.busy[0], r["msg"], r)
        self.assert_carries_nothing(r, "appointment", self.busy[0], "booking conflict")
        # the control: an appointment the receptionist sees is named
        con = sqlite3.connect(self.db)
        start2 = con.execute("SELECT max(start_at) + 86400000 * 7 FROM appointment").fetchone()[0]
        con.close()
        first = self.book(start2, 30, CENTER)
        self.assertEqual(first["status"], "applied", first)
        r = self.book(start2 + 10 * 60000, 30, CENTER)
        self.assertEqual((r["status"], r["code"]), ("rejected", "conflict"), r)
        self.assertRegex(r["msg"], r"already booked then: appointment [0-9a-f-]{36}")

    # ---- finding: an uninitialised buffer sent as a refusal ----

    def test_far_future_start_is_refused_with_its_rule(self):
        for start in (253402300800000, 2 ** 62, 4102444800000):
            with self.subTest(start=start):
                r = self.book(start, 30, CENTER)
                self.assertEqual((r["status"], r["code"]), ("rejected", "invalid"), r)
                self.assertIn("start_at", r["msg"])
                self.assertIn("2000-01-01 to 2099-12-31", r["msg"])

    # ---- finding: the owner's staff row in the stream but not in snapshots ----

    async def synced_peer(self, role):
        """A peer after its snapshot; returns (peer, {(tbl, id): fields} of the snapshot)."""
        p = await self.signed_in(account(self.accounts, role, CENTER))
        await p.send({"t": "sync", "cursor": None})
        rows = {}
        while True:
            m = await p.recv(20)
            if m["t"] == "page":
                rows.update({(r["tbl"], r["id"]): r["f"] for r in m["rows"]})
            if m["t"] == "snapshot_end":
                return p, rows

    def test_owner_row_streams_where_it_snapshots(self):
        async def go():
            peers = {r: await self.synced_peer(r) for r in ("manager", "reception", "specialist")}
            owner = await self.signed_in(account(self.accounts, "owner"))
            row = self.server_row("staff", self.owner_id)
            r = await self.push1(owner, "staff", self.owner_id, "update", {"phone": "+386 40 999 111"},
                                 base=row["version"])
            self.assertEqual(r["status"], "applied", r)
            # then a change every Center device sees: once it has arrived, the
            # owner's change (earlier in the log) has been streamed or skipped
            crow = self.server_row("client", self.center_client)
            r = await self.push1(owner, "client", self.center_client, "update",
                                 {"preferences": "marker-%s" % uuid.uuid4()}, base=crow["version"])
            self.assertEqual(r["status"], "applied", r)
            for role, (p, snap) in peers.items():
                streamed = []
                while True:
                    m = await p.recv(20)
                    ops = m.get("ops", []) if m["t"] == "changes" else []
                    streamed += [(o["tbl"], o["id"], o.get("f")) for o in ops]
                    if any(o["tbl"] == "client" and o["id"] == self.center_client for o in ops):
                        break
                with self.subTest(role=role):
                    in_snap = ("staff", self.owner_id) in snap
                    in_stream = [s for s in streamed if s[:2] == ("staff", self.owner_id)]
                    self.assertEqual(in_snap, bool(in_stream),
                                     "%s: owner row in snapshot %s, streamed %r" % (role, in_snap, in_stream))
                await p.close()
            await owner.close()
        run(go())


if __name__ == "__main__":
    h.main()
