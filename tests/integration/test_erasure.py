"""Privacy core: a client's data export (Art. 15/20), erasure (Art. 17) that
reaches every device with purge receipts, and retention. Real server, real
kartoteka-client caches, raw protocol peers for the calls and bad input.
The tests read only ids, times and statuses from the database file (personal
columns are ciphertext once the store encrypts them)."""
import asyncio
import calendar
import json
import os
import sqlite3
import subprocess
import time
import uuid
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import kt_harness as h

A, B = "Lepota Center", "Lepota Maribor"


def _month_later(ms):
    """One calendar month after instant ms, in UTC; the 31st to a shorter
    month is its last day (the server's rule, written out on its own)."""
    t = datetime.fromtimestamp(ms / 1000, timezone.utc)
    y, m = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
    d = min(t.day, calendar.monthrange(y, m)[1])
    return ms + (date(y, m, d) - t.date()).days * 86400000


def privacy(db, *args, config=None):
    cmd = [h.SERVER, "privacy", args[0], "--db", db] + list(args[1:])
    if config:
        cmd += ["--config", config]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def status_rows(db, client_id):
    """{device id: (state, purged_at, last_seen, role)} from privacy erasure-status."""
    out = privacy(db, "erasure-status", "--client", client_id)
    assert out.returncode == 0, out.stderr
    rows, header = {}, None
    for line in out.stdout.splitlines():
        f = line.split("\t")
        if f[0] == "device":
            header = f
        elif header and len(f) == len(header):
            d = dict(zip(header, f))
            rows[d["device"]] = (d["state"], d["purged_at"], d["last_seen"], d["role"])
    return rows, out.stdout


def query(db, sql, *args):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def location_id(db, name):
    return query(db, "SELECT id FROM location WHERE name = ?", name)[0][0]


def client_at(db, loc, offset=0):
    """A client known only at loc with visits and appointments (ids only)."""
    return query(db, "SELECT c.id FROM client c WHERE c.portal_enabled = 0 AND "
                     "(SELECT group_concat(location_id) FROM client_location WHERE client_id = c.id) = ? AND "
                     "(SELECT count(*) FROM visit WHERE client_id = c.id) >= 2 AND "
                     "(SELECT count(*) FROM appointment WHERE client_id = c.id) >= 2 ORDER BY c.id LIMIT 1 OFFSET ?",
                 loc, offset)[0][0]


def device_of(dirpath):
    info = h.client(dirpath, "status").stdout
    return [l.split()[-1] for l in info.splitlines() if "device" in l.lower()][0]


async def signed_in(server, acc, device=None):
    """A raw protocol peer signed in as acc (on device, or a new one)."""
    p = await h.Peer(server, device).connect()
    await p.hello()
    ok = await p.login(acc)
    assert ok["t"] == "auth_ok", ok
    p.principal = ok["principal"]
    return p


def cache_leftovers(dirpath, client_id):
    """Everything in a client cache that still names the client: rows, queued
    edits, rejections, view events."""
    con = sqlite3.connect(os.path.join(dirpath, "cache.db"))
    try:
        found = []
        for tbl, data in [("rows", "data"), ("queue", "fields"), ("queue", "before"), ("rejections", "fields"),
                          ("rejections", "current")]:
            found += con.execute("SELECT '%s', * FROM %s WHERE instr(coalesce(%s, ''), ?) > 0 OR id = ?"
                                 % (tbl, tbl, data), (client_id, client_id)).fetchall()
        found += con.execute("SELECT 'events', * FROM events WHERE id = ?", (client_id,)).fetchall()
        return found
    finally:
        con.close()


class ErasureReachesEveryDeviceTest(h.DemoServerTest):
    """Three tablets that can see the client; one is offline during the erasure."""

    def test_two_connected_purge_at_once_the_offline_one_when_it_returns(self):
        db = self.db
        loc = location_id(db, A)
        cid = client_at(db, loc)
        visits = [r[0] for r in query(db, "SELECT id FROM visit WHERE client_id = ?", cid)]
        appts = [r[0] for r in query(db, "SELECT id FROM appointment WHERE client_id = ?", cid)]
        spec_id = query(db, "SELECT s.id FROM staff s JOIN staff_location sl ON sl.staff_id = s.id "
                            "WHERE s.role = 'specialist' AND sl.location_id = ? ORDER BY s.id", loc)[0][0]
        accs = [h.account(self.accounts, "reception", A), h.account(self.accounts, "manager", A),
                h.account(self.accounts, "specialist", A)]
        dirs = [os.path.join(self.tmp, n) for n in ("reception", "manager", "specialist")]
        for d, acc in zip(dirs, accs):
            h.login(d, self.server, acc)
            h.client(d, "sync")
            rows = h.cache_rows(d)
            self.assertIn(("client", cid), rows)
            self.assertTrue(all(("visit", v) in rows for v in visits))
        devices = [device_of(d) for d in dirs]
        # a future appointment with a note for the client, from the reception tablet
        start = (int(time.time()) // 86400 + 20) * 86400000 + 3 * 3600000  # 03:00 UTC: before opening, no clash
        new_appt = h.client(dirs[0], "appointment", "create", "--location", loc, "--client", cid, "--specialist",
                            spec_id, "--start", str(start), "--duration", "30", "--note",
                            "Bring the photo of last year's colour").stdout.strip().split()[-1]
        h.client(dirs[0], "sync")
        self.assertEqual(h.client(dirs[0], "rejections").stdout.strip(), "")
        h.client(dirs[2], "sync")
        self.assertEqual(h.cache_rows(dirs[2])[("appointment", new_appt)][1]["client_note"],
                         "Bring the photo of last year's colour")
        # the specialist's tablet goes offline with an edit of the card still queued
        h.client(dirs[2], "client", "set", cid, "preferences", "Prefers the window seat")
        # a tablet at the other branch never saw the client; it confirms too (the safe superset)
        other = os.path.join(self.tmp, "other-branch")
        h.login(other, self.server, h.account(self.accounts, "reception", B))
        h.client(other, "sync")
        self.assertNotIn(("client", cid), h.cache_rows(other))
        devices.append(device_of(other))
        # the other tablets stay connected
        watchers = [h.Watcher(d) for d in dirs[:2] + [other]]
        try:
            for w in watchers:
                self.assertIsNotNone(w.wait_synced())
            out = privacy(db, "erase", "--client", cid, "--confirm")
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("devices to purge 4", out.stdout)
            for w in watchers[:2]:
                self.assertIsNotNone(w.wait_for(lambda l: l == "delete client %s" % cid, 15))
            # both receipts arrive within the ack interval; the offline one does not
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                rows, text = status_rows(db, cid)
                if all(rows[d][0] == "purged" for d in devices[:2] + devices[3:]):
                    break
                time.sleep(0.2)
        finally:
            for w in watchers:
                w.stop()
        self.assertEqual(set(rows), set(devices), text)
        for d in devices[:2] + devices[3:]:
            self.assertEqual(rows[d][0], "purged", text)
            self.assertNotEqual(rows[d][1], "-")
        state, purged_at, last_seen, role = rows[devices[2]]
        self.assertEqual((state, purged_at, role), ("not_purged", "-", "specialist"), text)
        self.assertRegex(last_seen, r"^\d{4}-\d\d-\d\d \d\d:\d\d CES?T$")  # local to the salon
        self.assertIn("summary\t3 of 4 devices purged\t1 not yet", text)
        # the connected caches: no card, no visits, appointments kept without notes
        placeholder = query(db, "SELECT client_id FROM erasure_placeholder")[0][0]
        for d in dirs[:2]:
            rows = h.cache_rows(d)
            self.assertNotIn(("client", cid), rows)
            for v in visits:
                self.assertNotIn(("visit", v), rows)
            for a in appts + [new_appt]:
                self.assertIn(("appointment", a), rows)
                data = rows[("appointment", a)][1]
                self.assertIsNone(data["client_note"])
                self.assertIsNone(data["internal_note"])
                self.assertEqual(data["client_id"], placeholder)
                # who did it and what was done are the salon's records, not the client's data: kept
                self.assertEqual(data["specialist_name"], query(
                    db, "SELECT display_name FROM staff WHERE id = ?", data["specialist_id"])[0][0])
                self.assertEqual(len(data["service_names"]), len(data["services"]))
            self.assertEqual(rows[("appointment", new_appt)][1]["status"], "cancelled")
            self.assertEqual(cache_leftovers(d, cid), [])
        # the offline tablet still holds it all, until it comes back
        self.assertIn(("client", cid), h.cache_rows(dirs[2]))
        self.assertNotEqual(cache_leftovers(dirs[2], cid), [])
        h.client(dirs[2], "sync")
        rows3 = h.cache_rows(dirs[2])
        self.assertNotIn(("client", cid), rows3)
        self.assertIsNone(rows3[("appointment", new_appt)][1]["client_note"])
        self.assertEqual(cache_leftovers(dirs[2], cid), [])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            rows, text = status_rows(db, cid)
            if rows[devices[2]][0] == "purged":
                break
            time.sleep(0.2)
        self.assertTrue(all(r[0] == "purged" for r in rows.values()), text)
        self.assertIn("summary\t4 of 4 devices purged\t0 not yet", text)
        # on the server: the card, visits and sessions are gone; the audit chain holds
        self.assertEqual(query(db, "SELECT count(*) FROM client WHERE id = ?", cid)[0][0], 0)
        self.assertEqual(query(db, "SELECT count(*) FROM visit WHERE client_id = ?", cid)[0][0], 0)
        self.assertEqual(query(db, "SELECT count(*) FROM appointment WHERE client_id = ?", cid)[0][0], 0)
        self.assertEqual(query(db, "SELECT count(*) FROM client_location WHERE client_id = ?", cid)[0][0], 0)
        erased = query(db, "SELECT actor_kind, client_id, after FROM audit WHERE action = 'erased' AND entity_id = ?", cid)
        self.assertEqual(len(erased), 1)
        self.assertEqual(erased[0][:2], ("operator", None))
        self.assertEqual(json.loads(erased[0][2])["visits_deleted"], len(visits))
        verify = subprocess.run([h.SERVER, "audit", "verify", "--db", db], capture_output=True, text=True)
        self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)


class PurgeReceiptOnResumeTest(h.DemoServerTest):
    """Its own server: its tablet would be one more device to purge for the
    tests above."""

    def test_resuming_past_the_erasure_is_the_purge_receipt(self):
        """A tablet that got the erasure's deletes but lost its link before it
        acknowledged them: the cursor it resumes from (sync) is its receipt."""
        db = self.db
        cid = client_at(db, location_id(db, A), offset=1)
        acc = h.account(self.accounts, "reception", A)

        async def until_erased():
            p = await signed_in(self.server, acc)
            await p.send({"t": "sync", "cursor": None})
            await p.recv_until("snapshot_end", 60)
            out = await asyncio.to_thread(privacy, db, "erase", "--client", cid, "--confirm")
            self.assertEqual(out.returncode, 0, out.stderr)
            deleted = False
            while True:  # the deletes, then the cursor past them; no ack
                m = await p.recv(20)
                deleted |= m.get("t") == "changes" and cid in repr(m)
                if deleted and m.get("t") == "synced":
                    await p.close()
                    return p.device, m["cursor"]

        async def resume(device, cursor):
            p = await signed_in(self.server, acc, device)
            await p.send({"t": "sync", "cursor": cursor})
            m, seen = await p.recv_until("synced", 20)
            self.assertNotIn("error", [x.get("t") for x in seen], seen)
            await p.close()

        device, cursor = h.run(until_erased())
        rows, text = status_rows(db, cid)
        self.assertEqual(rows[device][0], "not_purged", text)
        h.run(resume(device, cursor))
        deadline = time.monotonic() + 10  # acks are written with the next group commit (at most 1 s)
        while rows[device][0] != "purged" and time.monotonic() < deadline:
            time.sleep(0.2)
            rows, text = status_rows(db, cid)
        self.assertEqual(rows[device][0], "purged", text)


class PrivacyCallsTest(h.DemoServerTest):
    """The protocol calls: who may do what, and bad input."""

    async def signed_in(self, acc):
        return await signed_in(self.server, acc)

    async def call(self, p, op, client=None, **extra):
        msg = {"t": "privacy", "op": op}
        if client is not None:
            msg["client"] = client
        msg.update(extra)
        await p.send(msg)
        return await p.recv()

    async def export(self, p, client=None):
        """The export document (parts joined), or the error message."""
        m = await self.call(p, "export", client)
        if m["t"] != "privacy_result":
            return m
        parts = [m]
        while len(parts) < m["parts"]:
            parts.append(await p.recv())
        self.assertEqual([x["part"] for x in parts], list(range(1, m["parts"] + 1)))
        return json.loads("".join(x["doc"] for x in parts))

    def audit_rows(self, action, entity_id):
        return query(self.db, "SELECT actor_kind, actor_id, device_id FROM audit WHERE action = ? AND entity_id = ?",
                     action, entity_id)

    def test_export_holds_card_appointments_visits_and_the_access_log(self):
        loc = location_id(self.db, A)
        cid = client_at(self.db, loc, 1)
        rec, mgr = h.account(self.accounts, "reception", A), h.account(self.accounts, "manager", A)
        # reception opens the card (a 'viewed' event) and changes the phone on a tablet
        d = os.path.join(self.tmp, "front-desk")
        h.login(d, self.server, rec)
        h.client(d, "sync")
        h.client(d, "show", "clients", cid)
        h.client(d, "client", "set", cid, "phone", "+386 40 000 111")
        h.client(d, "sync")
        tablet = device_of(d)

        async def go():
            m = await self.signed_in(mgr)
            doc = await self.export(m, cid)
            await m.close()
            return doc, m.device, m.principal["id"]
        doc, mgr_device, mgr_id = h.run(go())
        self.assertEqual(doc["format"], "kartoteka.export.v1")
        self.assertEqual(doc["client"]["id"], cid)
        self.assertEqual(doc["client"]["phone"], "+386 40 000 111")
        self.assertIn("allergies", doc["client"])          # health data is part of it
        self.assertNotIn("password_hash", doc["client"])
        self.assertNotIn("field_versions", doc["client"])  # the server's merge bookkeeping
        self.assertNotIn("field_versions", doc["appointments"][0])
        self.assertEqual(sorted(a["id"] for a in doc["appointments"]),
                         sorted(r[0] for r in query(self.db, "SELECT id FROM appointment WHERE client_id = ?", cid)))
        self.assertEqual(sorted(v["id"] for v in doc["visits"]),
                         sorted(r[0] for r in query(self.db, "SELECT id FROM visit WHERE client_id = ?", cid)))
        self.assertIn("treatment_notes", doc["visits"][0])
        log = doc["access_log"]
        viewed = [e for e in log if e["action"] == "viewed" and e["entity_id"] == cid]
        self.assertEqual(len(viewed), 1)
        self.assertEqual((viewed[0]["actor"]["role"], viewed[0]["actor"]["name"], viewed[0]["device"]),
                         ("reception", rec["name"], tablet))
        change = [e for e in log if e["action"] == "update" and e["entity_id"] == cid]
        self.assertEqual(len(change), 1)
        self.assertEqual(change[0]["fields"], ["phone"])
        self.assertEqual(change[0]["after"], {"phone": "+386 40 000 111"})
        self.assertEqual(change[0]["device"], tablet)
        self.assertEqual(log[-1]["action"], "exported")      # the export itself is in it
        self.assertEqual((log[-1]["actor"]["id"], log[-1]["device"]), (mgr_id, mgr_device))
        self.assertEqual(self.audit_rows("exported", cid), [("staff", mgr_id, mgr_device)])

    def test_a_large_export_comes_in_parts_that_join_into_one_document(self):
        cid = client_at(self.db, location_id(self.db, B), 3)
        base = query(self.db, "SELECT version FROM client WHERE id = ?", cid)[0][0]
        n = 150  # each change logs 4 KB before and 4 KB after: the document passes 1 MiB

        async def go():
            o = await self.signed_in(h.account(self.accounts, "owner"))
            muts = [{"mid": i + 1, "tbl": "client", "id": cid, "op": "update", "base": base,
                     "f": {"preferences": "ab"[i % 2] * 4000}, "at": int(time.time() * 1000)} for i in range(n)]
            await o.send({"t": "push", "muts": muts})
            res = (await o.recv_until("push_result", 60))[0]
            assert all(r["status"] == "applied" for r in res["results"]), res["results"][:2]
            first = await self.call(o, "export", cid)
            parts = [first] + [await o.recv() for _ in range(first["parts"] - 1)]
            await o.send({"t": "privacy", "op": "erasure_pending"})
            after = await o.recv()
            await o.close()
            return parts, after
        parts, after = h.run(go())
        self.assertEqual([(p["t"], p["op"], p["client"], p["part"], p["parts"]) for p in parts],
                         [("privacy_result", "export", cid, i + 1, 2) for i in range(2)])
        self.assertGreater(len(parts[0]["doc"].encode()), 1024 * 1024 - 4)  # a whole character less at most
        self.assertLessEqual(len(parts[0]["doc"].encode()), 1024 * 1024)
        doc = json.loads("".join(p["doc"] for p in parts))
        self.assertEqual(doc["client"]["preferences"], "b" * 4000)
        self.assertEqual(len([e for e in doc["access_log"] if e["action"] == "update"]), n)
        self.assertEqual(after["op"], "erasure_pending")      # nothing else was interleaved

    def test_export_refused_to_specialists_and_reception(self):
        cid = client_at(self.db, location_id(self.db, A), 2)

        async def go():
            out = []
            for role in ("specialist", "reception"):
                p = await self.signed_in(h.account(self.accounts, role, A))
                out.append(await self.call(p, "export", cid))
                await p.close()
            return out
        for m in h.run(go()):
            self.assertEqual((m["t"], m["code"], m["re"]), ("error", "forbidden", "privacy"))
        self.assertEqual(self.audit_rows("exported", cid), [])

    def test_manager_cannot_export_a_client_of_another_location(self):
        cid = client_at(self.db, location_id(self.db, B))

        async def go():
            p = await self.signed_in(h.account(self.accounts, "manager", A))
            m = await self.call(p, "export", cid)
            await p.close()
            return m
        self.assertEqual(h.run(go())["code"], "forbidden")

    def test_client_exports_own_data_only(self):
        acc = h.account(self.accounts, "client", None, 0)
        other = client_at(self.db, location_id(self.db, A), 3)

        async def go():
            p = await self.signed_in(acc)
            doc = await self.export(p)
            same = await self.export(p, p.principal["id"])
            refused = await self.call(p, "export", other)
            await p.close()
            return doc, same, refused, p.principal["id"], p.device
        doc, same, refused, me, device = h.run(go())
        self.assertEqual(doc["client"]["id"], me)
        self.assertEqual(same["client"]["id"], me)
        self.assertEqual(doc["access_log"][-1]["action"], "exported")
        self.assertEqual(doc["access_log"][-1]["actor"]["kind"], "client")
        self.assertEqual((refused["code"], refused["re"]), ("forbidden", "privacy"))
        self.assertEqual(self.audit_rows("exported", other), [])
        self.assertEqual(len(self.audit_rows("exported", me)), 2)

    def test_client_requests_erasure_and_an_owner_confirms(self):
        acc = h.account(self.accounts, "client", None, 1)
        owner, mgr = h.account(self.accounts, "owner"), h.account(self.accounts, "manager", A)
        rec = h.account(self.accounts, "reception", A)

        async def go():
            c = await self.signed_in(acc)
            me = c.principal["id"]
            self.none_yet = await self.call(c, "erasure_status")
            req = await self.call(c, "erasure_request")
            again = await self.call(c, "erasure_request", me)
            self.own = [await self.call(c, "erasure_status"), await self.call(c, "erasure_status", me)]
            o = await self.signed_in(owner)
            self.own.append(await self.call(c, "erasure_status", o.principal["id"]))  # not theirs
            pending = await self.call(o, "erasure_pending")
            self.owner_view = await self.call(o, "erasure_status", me)
            self.cli_pending = privacy(self.db, "pending").stdout.splitlines()
            refused = []
            for who in (mgr, rec):
                p = await self.signed_in(who)
                refused.append(await self.call(p, "erase", me))
                refused.append(await self.call(p, "erasure_pending"))
                refused.append(await self.call(p, "erasure_status", me))
                refused.append(await self.call(p, "erasure_request", me))
                await p.close()
            done = await self.call(o, "erase", me)
            told = await c.recv_until("error", 10)
            closed = await c.closed()
            status = await self.call(o, "erasure_status", me)
            pending_after = await self.call(o, "erasure_pending")
            twice = await self.call(o, "erase", me)
            gone = await self.call(o, "export", me)
            await o.close()
            return me, c.device, req, again, pending, refused, done, told[0], closed, status, pending_after, twice, gone
        (me, device, req, again, pending, refused, done, told, closed, status, pending_after, twice,
         gone) = h.run(go())
        self.assertEqual((req["t"], req["op"], req["client"], req["status"]),
                         ("privacy_result", "erasure_request", me, "pending"))
        self.assertEqual(again["requested_at"], req["requested_at"])      # one open request
        self.assertEqual([(e["client"], e["requested_by"]) for e in pending["erasures"]], [(me, "client:" + me)])
        # the answer is due one calendar month after the request (GDPR Art. 12(3)), in UTC
        due = _month_later(req["requested_at"])
        self.assertEqual((req["due_at"], pending["erasures"][0]["due_at"], self.owner_view["due_at"]), (due,) * 3)
        # the client sees their own request: its state and dates, nothing of devices or staff
        self.assertEqual((self.none_yet["t"], self.none_yet["code"], self.none_yet["re"]),
                         ("error", "not_found", "privacy"))
        for m in self.own[:2]:
            self.assertEqual(m, {"t": "privacy_result", "op": "erasure_status", "status": "pending",
                                 "requested_at": req["requested_at"], "due_at": due})
        self.assertEqual((self.own[2]["code"], self.own[2]["re"]), ("forbidden", "privacy"))
        self.assertIn("devices", self.owner_view)
        self.assertEqual(self.cli_pending[0].split("\t"), ["client", "organisation", "requested_at", "due",
                                                           "requested_by"])
        self.assertEqual([l.split("\t")[0::4] for l in self.cli_pending[1:]], [[me, "client:" + me]])
        local_due = datetime.fromtimestamp(due / 1000, ZoneInfo("Europe/Ljubljana")).strftime("%Y-%m-%d")
        self.assertEqual([l.split("\t")[3] for l in self.cli_pending[1:]], [local_due])
        self.assertEqual(privacy(self.db, "pending").stdout.splitlines()[1:], [])
        self.assertEqual([m["code"] for m in refused], ["forbidden"] * 8)
        self.assertEqual((done["t"], done["op"], done["client"]), ("privacy_result", "erase", me))
        self.assertGreater(done["seq"], 0)
        self.assertEqual((told["code"], told["fatal"]), ("device_revoked", True))  # the phone is told to wipe
        self.assertTrue(closed)
        self.assertEqual((status["status"], status["requested_by"]), ("done", "client:" + me))
        self.assertTrue(status["confirmed_by"].startswith("staff:"))
        mine = [d for d in status["devices"] if d["id"] == device]
        self.assertEqual((mine[0]["kind"], mine[0]["state"]), ("client", "wipe_ordered"))
        self.assertTrue(all(d["state"] in ("purged", "not_purged") for d in status["devices"] if d["kind"] == "staff"))
        self.assertEqual(pending_after["erasures"], [])
        self.assertEqual(twice["code"], "conflict")
        self.assertEqual(gone["code"], "not_found")
        self.assertEqual(query(self.db, "SELECT count(*) FROM auth_session WHERE principal_id = ?", me)[0][0], 0)
        self.assertEqual(query(self.db, "SELECT status, requested_by FROM erasure WHERE client_id = ?", me),
                         [("done", "client:" + me)])

    def test_bad_input(self):
        owner = h.account(self.accounts, "owner")
        rec = h.account(self.accounts, "reception", A)
        cid = client_at(self.db, location_id(self.db, A), 4)

        async def go():
            anon = await h.Peer(self.server).connect()
            await anon.hello()
            await anon.send({"t": "privacy", "op": "export", "client": cid})
            unauth = await anon.recv()
            await anon.close()
            o = await self.signed_in(owner)
            out = {"unauth": unauth}
            await o.send({"t": "privacy"})
            out["no_op"] = await o.recv()
            await o.send({"t": "privacy", "op": "export", "client": 42})
            out["client_int"] = await o.recv()
            out["unknown_op"] = await self.call(o, "shred")
            out["no_client"] = await self.call(o, "export")
            out["not_uuid"] = await self.call(o, "erase", "not-a-uuid")
            out["unknown"] = await self.call(o, "export", str(uuid.uuid4()))
            out["unknown_erase"] = await self.call(o, "erase", str(uuid.uuid4()))
            out["never_erased"] = await self.call(o, "erasure_status", cid)
            out["staff_request"] = await self.call(o, "erasure_request", cid)
            out["erase"] = await self.call(o, "erase", cid)
            placeholder = query(self.db, "SELECT client_id FROM erasure_placeholder")[0][0]
            out["placeholder"] = await self.call(o, "erase", placeholder)
            out["placeholder_export"] = await self.call(o, "export", placeholder)
            await o.send({"t": "privacy_result", "op": "export"})
            out["server_msg"] = await o.recv()
            out["alive"] = await self.call(o, "erasure_pending")
            await o.close()
            r = await self.signed_in(rec)
            out["rec_erase"] = await self.call(r, "erase", cid)
            await r.close()
            return out
        out = h.run(go())
        codes = {k: (v.get("code"), v.get("re")) for k, v in out.items() if v["t"] == "error"}
        self.assertEqual(codes["unauth"][0], "unauthenticated")
        self.assertEqual(codes["no_op"], ("malformed", "privacy"))
        self.assertEqual(codes["client_int"], ("malformed", "privacy"))
        self.assertEqual(codes["unknown_op"], ("invalid", "privacy"))
        self.assertEqual(codes["no_client"], ("invalid", "privacy"))
        self.assertEqual(codes["not_uuid"], ("invalid", "privacy"))
        self.assertEqual(codes["unknown"], ("not_found", "privacy"))
        self.assertEqual(codes["unknown_erase"], ("not_found", "privacy"))
        self.assertEqual(codes["never_erased"], ("not_found", "privacy"))
        self.assertEqual(codes["staff_request"], ("forbidden", "privacy"))
        self.assertEqual(out["erase"]["t"], "privacy_result")
        self.assertEqual(codes["placeholder"], ("invalid", "privacy"))
        self.assertEqual(codes["placeholder_export"], ("invalid", "privacy"))
        self.assertEqual(codes["server_msg"][0], "unknown_type")
        self.assertEqual(out["alive"]["t"], "privacy_result")      # the connection stayed up
        self.assertEqual(codes["rec_erase"], ("forbidden", "privacy"))
        self.assertTrue(self.server.alive())


class PrivacyCliTest(h.DemoServerTest):
    def test_export_on_the_command_line_is_audited_as_the_operator(self):
        cid = client_at(self.db, location_id(self.db, B), 1)
        out = privacy(self.db, "export", "--client", cid)
        self.assertEqual(out.returncode, 0, out.stderr)
        doc = json.loads(out.stdout)
        self.assertEqual(doc["client"]["id"], cid)
        self.assertEqual(doc["access_log"][-1]["actor"]["kind"], "operator")
        self.assertEqual(query(self.db, "SELECT actor_kind FROM audit WHERE action = 'exported' AND entity_id = ?",
                               cid), [("operator",)])

    def test_bad_input_on_the_command_line(self):
        cid = client_at(self.db, location_id(self.db, B), 2)
        cases = [
            (("erase", "--client", cid), 2, "add --confirm"),
            (("erase", "--client", "nope", "--confirm"), 2, "no client has this name"),
            (("export",), 2, "--client CLIENT"),
            (("export", "--client", str(uuid.uuid4())), 1, "no such client"),
            (("erasure-status", "--client", cid), 1, "no erasure of client"),
            (("retention", "--months", "0"), 2, "1 to 1200"),
            (("retention", "--erase"), 2, "add --confirm"),
            (("shred",), 2, "unknown subcommand"),
        ]
        for args, rc, msg in cases:
            out = privacy(self.db, *args)
            self.assertEqual(out.returncode, rc, (args, out.stderr))
            self.assertIn(msg, out.stderr, args)
        self.assertEqual(query(self.db, "SELECT count(*) FROM client WHERE id = ?", cid)[0][0], 1)
        missing = subprocess.run([h.SERVER, "privacy", "export", "--db", os.path.join(self.tmp, "none.db"),
                                  "--client", cid], capture_output=True, text=True)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("no such database file", missing.stderr)


class PendingDueDateTest(h.DemoServerTest):
    def test_pending_lists_the_local_due_date_and_marks_overdue(self):
        """Requests put in at fixed instants (the server's own clock plays no
        part in the dates): the month ends in UTC, shown as the salon's date."""
        org = query(self.db, "SELECT id FROM organisation")[0][0]
        old, new = client_at(self.db, location_id(self.db, B), 3), client_at(self.db, location_id(self.db, B), 4)
        con = sqlite3.connect(self.db)
        for cid, at in ((old, 1738367999000), (new, 4102358400000)):  # 2025-01-31T23:59:59Z, 2099-12-31T00:00Z
            con.execute("INSERT INTO erasure(client_id, org_id, status, requested_at, requested_by) "
                        "VALUES(?, ?, 'pending', ?, ?)", (cid, org, at, "client:" + cid))
        con.commit()
        con.close()
        rows = {l.split("\t")[0]: l.split("\t") for l in privacy(self.db, "pending").stdout.splitlines()[1:]}
        # 2025-02-28T23:59:59Z is 1 March in Ljubljana
        self.assertEqual(rows[old][3], "2025-03-01 OVERDUE")
        self.assertEqual(rows[new][3], "2100-01-31")


class SpooledMailTest(h.DemoServerTest):
    """Without smtp_url (the default) mail is written as .eml files to DB.spool: an
    erasure deletes the client's files there, whoever erases and whether or not the
    server runs; other clients' mail stays."""

    def spool_files(self, mail_ids):
        spool = self.db + ".spool"
        names = os.listdir(spool) if os.path.isdir(spool) else []
        return {i: [n for n in names if n.startswith("%d-" % i) and n.endswith(".eml")] for i in mail_ids}

    def invite_and_wait(self, cid):
        out = subprocess.run([h.SERVER, "admin", "--db", self.db, "portal", "invite", cid],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        mail_id = query(self.db, "SELECT max(id) FROM outbox WHERE client_id = ?", cid)[0][0]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not self.spool_files([mail_id])[mail_id]:
            time.sleep(0.1)
        self.assertTrue(self.spool_files([mail_id])[mail_id], "the server wrote the mail to the spool")
        return mail_id

    def test_erasure_deletes_the_clients_spooled_mail(self):
        loc = location_id(self.db, A)
        gone, kept = client_at(self.db, loc, 0), client_at(self.db, loc, 1)
        gone_mail, kept_mail = self.invite_and_wait(gone), self.invite_and_wait(kept)
        with open(os.path.join(self.db + ".spool", self.spool_files([gone_mail])[gone_mail][0]), "rb") as f:
            self.assertIn(b"To: ", f.read(), "the file holds the client's address")
        out = privacy(self.db, "erase", "--client", gone, "--confirm")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("spooled mail files deleted 1", out.stdout)
        files = self.spool_files([gone_mail, kept_mail])
        self.assertEqual(files[gone_mail], [], "the erased client's mail is gone from the spool")
        self.assertEqual(len(files[kept_mail]), 1, "another client's mail stays")


class LostDeviceTest(h.DemoServerTest):
    """A tablet that never comes back does not stay 'not purged' or 'wipe ordered' for
    ever: an owner (or the operator) marks it lost, which revokes it, is audited, and
    erasure-status shows it as lost with when and by whom."""

    def test_a_device_marked_lost_is_shown_as_lost_in_the_erasure_status(self):
        db = self.db
        loc = location_id(db, A)
        cid = client_at(db, loc, 2)
        tablets = [os.path.join(self.tmp, n) for n in ("lost-by-operator", "lost-by-owner")]
        for d in tablets:
            h.login(d, self.server, h.account(self.accounts, "specialist", A))
            h.client(d, "sync")
        devices = [device_of(d) for d in tablets]
        out = privacy(db, "erase", "--client", cid, "--confirm")
        self.assertEqual(out.returncode, 0, out.stderr)
        rows, text = status_rows(db, cid)
        self.assertEqual([rows[d][0] for d in devices], ["not_purged", "not_purged"], text)

        out = subprocess.run([h.SERVER, "admin", "--db", db, "device", "lost", devices[0]], capture_output=True,
                             text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)

        async def mark():
            mgr = await signed_in(self.server, h.account(self.accounts, "manager", A))
            await mgr.send({"t": "manage", "op": "mark_device_lost", "id": devices[1]})
            refused = await mgr.recv()
            await mgr.close()
            owner = await signed_in(self.server, h.account(self.accounts, "owner"))
            await owner.send({"t": "manage", "op": "mark_device_lost", "id": devices[1]})
            done = await owner.recv()
            await owner.send({"t": "privacy", "op": "erasure_status", "client": cid})
            status = await owner.recv()
            await owner.close()
            return refused, done, status, owner.principal["name"]
        refused, done, status, owner_name = h.run(mark())
        self.assertEqual((refused["t"], refused["code"]), ("error", "forbidden"), refused)
        self.assertIn("only owners", refused["msg"])
        self.assertEqual(done["t"], "manage_result", done)
        by_id = {d["id"]: d for d in status["devices"]}
        self.assertEqual([by_id[d]["state"] for d in devices], ["lost", "lost"], status)
        self.assertTrue(all(isinstance(by_id[d]["lost_at"], int) for d in devices))

        out = privacy(db, "erasure-status", "--client", cid)
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = {l.split("\t")[0]: l.split("\t") for l in out.stdout.splitlines()}
        self.assertEqual(lines[devices[0]][5], "lost")
        self.assertRegex(lines[devices[0]][8], r"^marked lost \d{4}-\d\d-\d\d \d\d:\d\d CES?T by operator$")
        self.assertTrue(lines[devices[1]][8].endswith(" by %s" % owner_name), lines[devices[1]])
        self.assertIn("\t2 lost (marked lost: no receipt will come)", out.stdout)
        audited = query(db, "SELECT actor_kind FROM audit WHERE action = 'device_lost' AND entity_id IN (?, ?) "
                            "ORDER BY seq", *devices)
        self.assertEqual([a[0] for a in audited], ["operator", "staff"])
        # and the lost tablet is refused: it is told to wipe its data
        out = h.client(tablets[0], "sync", check=False)
        self.assertNotEqual(out.returncode, 0)


class RetentionTest(h.DemoServerTest):
    def expected(self, months):
        """Clients with no visit in `months` months and nothing booked ahead (same rule, from ids and dates)."""
        return sorted(r[0] for r in query(
            self.db, "SELECT c.id FROM client c WHERE c.id NOT IN (SELECT client_id FROM erasure_placeholder) "
                     "AND NOT EXISTS (SELECT 1 FROM visit v WHERE v.client_id = c.id AND "
                     " v.visit_date >= date('now', '-%d months')) AND NOT EXISTS (SELECT 1 FROM appointment a "
                     " WHERE a.client_id = c.id AND a.start_at >= strftime('%%s', 'now') * 1000 AND "
                     " a.status IN ('booked', 'confirmed'))" % months))

    def listed(self, *extra, config=None):
        out = privacy(self.db, "retention", *extra, config=config)
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = out.stdout.strip().splitlines()
        self.assertEqual(lines[0], "client\torganisation\tlast_visit")
        return sorted(l.split("\t")[0] for l in lines[1:]), lines[1:]

    def test_retention_lists_inactive_clients_and_erases_them_after_confirmation(self):
        self.assertEqual(self.listed()[0], [])          # the default, 36 months: demo data is younger
        cfg = os.path.join(self.tmp, "kartoteka.conf")
        with open(cfg, "w") as f:
            f.write("# short retention for the test\nretention_months = 2\nlisten = 127.0.0.1:0\n")
        ids, lines = self.listed(config=cfg)
        want = self.expected(2)
        self.assertGreater(len(want), 0)
        self.assertEqual(ids, want)
        self.assertEqual(self.listed("--months", "2")[0], want)
        for l in lines:
            last = l.split("\t")[2]
            self.assertTrue(last == "-" or last < time.strftime("%Y-%m-%d"), l)
        with open(cfg, "w") as f:
            f.write("retention_months = soon\n")
        bad = privacy(self.db, "retention", config=cfg)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("retention_months is 1 to 1200", bad.stderr)
        out = privacy(self.db, "retention", "--months", "2", "--erase", "--confirm")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.count("erased\t"), len(want))
        self.assertEqual(self.listed("--months", "2")[0], [])     # the placeholder is never listed
        self.assertEqual(query(self.db, "SELECT count(*) FROM erasure WHERE status = 'done' AND "
                                        "confirmed_by = 'retention'")[0][0], len(want))
        verify = subprocess.run([h.SERVER, "audit", "verify", "--db", self.db], capture_output=True, text=True)
        self.assertEqual(verify.returncode, 0, verify.stdout)


if __name__ == "__main__":
    h.main()
