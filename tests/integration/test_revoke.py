"""Taking access away: signing a device out, revoking a lost device (it is
told to wipe, the reference client does), deactivating a staff member,
a device signing itself out; the device register; who may do which. Each
closes the affected connections at once with a specific reason, leaves
other connections alone and is audit-logged."""
import os
import sqlite3
import subprocess

import kt_harness as h

A, B = "Lepota Center", "Lepota Maribor"


class RevokeTest(h.DemoServerTest):
    def staff_id(self, acc):
        con = sqlite3.connect(self.db)
        sid = con.execute("SELECT id FROM staff WHERE email = ?", (acc["email"],)).fetchone()[0]
        con.close()
        return sid

    def audit_count(self, action, entity_id):
        con = sqlite3.connect(self.db)
        n = con.execute("SELECT count(*) FROM audit WHERE action = ? AND entity_id = ?", (action, entity_id)).fetchone()[0]
        con.close()
        return n

    async def manage(self, p, op, id=None):
        msg = {"t": "manage", "op": op}
        if id is not None:
            msg["id"] = id
        await p.send(msg)
        return await p.recv()

    async def resume(self, device, token):
        p = await h.Peer(self.server, device).connect()
        m = await p.hello()
        if m["t"] == "welcome":
            await p.send({"t": "resume", "token": token})
            m = await p.recv()
        await p.close()
        return m

    def test_manager_signs_out_a_receptionists_tablet(self):
        mgr, rec = h.account(self.accounts, "manager", A), h.account(self.accounts, "reception", A)
        spec = h.account(self.accounts, "specialist", A)

        async def go():
            m = await self.signed_in(mgr)
            r = await self.signed_in(rec)
            bystander = await self.signed_in(spec)
            ans = await self.manage(m, "sign_out_device", r.device)
            err = await r.recv()
            closed = await r.closed()
            old = await self.resume(r.device, r.token)
            again = await self.signed_in(rec, r.device)  # a password still works
            await bystander.send({"t": "sync"})
            alive = (await bystander.recv_until("synced", 30))[0]
            for p in (m, again, bystander):
                await p.close()
            return ans, err, closed, old, alive, r.device
        ans, err, closed, old, alive, device = h.run(go())
        self.assertEqual(ans["t"], "manage_result")
        self.assertEqual((ans["op"], ans["id"]), ("sign_out_device", device))
        self.assertEqual((err["t"], err["code"], err["fatal"]), ("error", "revoked", True))
        self.assertTrue(closed)
        self.assertEqual(old["code"], "revoked")          # the old token is dead, and says why
        self.assertEqual(alive["t"], "synced")            # other connections untouched
        self.assertEqual(self.audit_count("sign_out", device), 1)

    def test_revoked_device_is_told_to_wipe_and_the_client_does(self):
        rec = h.account(self.accounts, "reception", B)
        d = os.path.join(self.tmp, "lost-tablet")
        h.login(d, self.server, rec)
        h.client(d, "sync")
        self.assertGreater(len(h.cache_rows(d)), 100)
        info = h.client(d, "status").stdout
        device = [l.split()[-1] for l in info.splitlines() if "device" in l.lower()][0]
        watcher = h.Watcher(d)
        self.assertIsNotNone(watcher.wait_synced())
        self.server.admin("device", "revoke", device)
        watcher.proc.wait(20)
        self.assertEqual(watcher.proc.returncode, 3)      # exit code: access refused
        self.assertEqual(h.cache_rows(d), {})             # nothing left on the tablet
        out = h.client(d, "sync", check=False)
        self.assertNotEqual(out.returncode, 0)            # not signed in any more
        # the device id is refused at once, before any sign-in
        m = h.run(self.resume(device, "00" * 32))
        self.assertEqual((m["t"], m["code"], m["fatal"]), ("error", "device_revoked", True))
        self.assertEqual(self.audit_count("revoke_device", device), 1)
        listed = subprocess.run([h.SERVER, "admin", "--db", self.db, "device", "list"], capture_output=True,
                                text=True).stdout
        self.assertIn("%s\tstaff\treception" % device, listed)
        self.assertTrue([l for l in listed.splitlines() if l.startswith(device) and l.endswith("revoked")])

    def test_deactivated_staff_member_is_disconnected_and_cannot_sign_in(self):
        spec = h.account(self.accounts, "specialist", B, 1)
        sid = self.staff_id(spec)

        async def go():
            p = await self.signed_in(spec)
            await p.send({"t": "sync"})
            await p.recv_until("synced", 30)
            self.server.admin("staff", "deactivate", sid)
            m = await p.recv_until("error", 10)
            closed = await p.closed()
            q = await h.Peer(self.server).connect()
            await q.hello()
            again = await q.login(spec)
            await q.close()
            return m[0], closed, again
        err, closed, again = h.run(go())
        self.assertEqual((err["code"], err["fatal"]), ("revoked", True))
        self.assertIn("deactivated", err["msg"])
        self.assertTrue(closed)
        self.assertEqual(again["code"], "auth_failed")
        con = sqlite3.connect(self.db)
        self.assertEqual(con.execute("SELECT active FROM staff WHERE id = ?", (sid,)).fetchone()[0], 0)
        self.assertEqual(con.execute("SELECT count(*) FROM audit WHERE entity_id = ? AND fields = 'active'",
                                     (sid,)).fetchone()[0], 1)
        con.close()

    def test_logout_ends_the_session_on_the_server(self):
        spec = h.account(self.accounts, "specialist", A, 1)
        d = os.path.join(self.tmp, "shared-tablet")
        h.login(d, self.server, spec)
        con = sqlite3.connect(os.path.join(d, "cache.db"))
        token = con.execute("SELECT value FROM meta WHERE key = 'token'").fetchone()[0]
        device = con.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()[0]
        con.close()
        self.assertIn("signed out", h.client(d, "logout").stdout)
        m = h.run(self.resume(device, token))
        self.assertEqual(m["code"], "revoked")

    def test_device_register_shows_each_what_their_role_allows(self):
        owner, mgr_a = h.account(self.accounts, "owner"), h.account(self.accounts, "manager", A)
        rec_a, rec_b = h.account(self.accounts, "reception", A), h.account(self.accounts, "reception", B)

        async def go():
            o = await self.signed_in(owner)
            m = await self.signed_in(mgr_a)
            ra = await self.signed_in(rec_a)
            rb = await self.signed_in(rec_b)
            by_owner = await self.manage(o, "list_devices")
            by_mgr = await self.manage(m, "list_devices")
            by_rec = await self.manage(ra, "list_devices")
            for p in (o, m, ra, rb):
                await p.close()
            return by_owner, by_mgr, by_rec, ra.device, rb.device, m.device
        by_owner, by_mgr, by_rec, dev_a, dev_b, dev_m = h.run(go())
        owner_ids = {d["id"] for d in by_owner["devices"]}
        mgr_ids = {d["id"] for d in by_mgr["devices"]}
        self.assertTrue({dev_a, dev_b, dev_m} <= owner_ids)
        self.assertIn(dev_a, mgr_ids)         # staff of the manager's location
        self.assertIn(dev_m, mgr_ids)         # the manager's own device
        self.assertNotIn(dev_b, mgr_ids)      # not another location's
        self.assertEqual(by_rec["code"], "forbidden")
        row = [d for d in by_owner["devices"] if d["id"] == dev_a][0]
        self.assertEqual((row["kind"], row["role"], row["signed_in"], row["revoked"]),
                         ("staff", "reception", True, False))
        self.assertGreater(row["last_seen"], 0)

    def test_who_may_take_access_away_and_bad_requests(self):
        mgr_a, owner = h.account(self.accounts, "manager", A), h.account(self.accounts, "owner")
        rec_b, spec_a = h.account(self.accounts, "reception", B), h.account(self.accounts, "specialist", A)

        async def go():
            other = await self.signed_in(rec_b)
            m = await self.signed_in(mgr_a)
            s = await self.signed_in(spec_a)
            out = [
                await self.manage(m, "revoke_device", other.device),               # another location
                await self.manage(m, "deactivate_staff", self.staff_id(owner)),    # an owner
                await self.manage(m, "deactivate_staff", self.staff_id(mgr_a)),    # oneself
                await self.manage(s, "sign_out_device", other.device),             # a specialist
                await self.manage(m, "revoke_device", "01a20b5b-0000-7000-8000-000000000000"),
                await self.manage(m, "revoke_device", "not-a-uuid"),
                await self.manage(m, "explode", other.device),
            ]
            await m.send({"t": "manage", "id": other.device})                     # no op
            out.append(await m.recv())
            await m.send({"t": "manage", "op": 7})                                # wrong type
            out.append(await m.recv())
            await other.send({"t": "sync"})
            still = (await other.recv_until("synced", 30))[0]
            for p in (other, m, s):
                await p.close()
            return out, still
        out, still = h.run(go())
        codes = [o.get("code") for o in out]
        self.assertEqual(codes, ["forbidden", "forbidden", "invalid", "forbidden", "not_found", "invalid",
                                 "invalid", "malformed", "malformed"])
        self.assertTrue(all(not o.get("fatal") for o in out))
        self.assertEqual(still["t"], "synced")            # nothing happened to the target


if __name__ == "__main__":
    h.main()
