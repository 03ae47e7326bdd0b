"""How sessions end, seen from the device and from the server: a device the
salon signs out says so in plain words and what it removed; `logout` kills
the token on the server at once, for every connection that uses it; sign-in
lock-outs outlive a server restart; the device register names client
devices and gives dates."""
import os
import sqlite3
import subprocess

import kt_harness as h

A = "Lepota Center"
DATE = r"\d{4}-\d\d-\d\d \d\d:\d\d [A-Z]+"  # local, with the zone


class SessionEndTest(h.DemoServerTest):
    async def resumed(self, device, token):
        p = await h.Peer(self.server, device).connect()
        await p.hello()
        await p.send({"t": "resume", "token": token})
        m = await p.recv()
        return p, m

    def device_of(self, d):
        return [l.split()[-1] for l in h.client(d, "status").stdout.splitlines() if l.startswith("device:")][0]

    def test_signed_out_device_says_what_happened_and_what_it_removed(self):
        d = os.path.join(self.tmp, "signed-out")
        acc = h.account(self.accounts, "reception", A)
        h.login(d, self.server, acc)
        h.client(d, "sync")
        cid = [k[1] for k in h.cache_rows(d) if k[0] == "client"][0]
        # connected: told at once
        w = subprocess.Popen([h.CLIENT, "--dir", d, "watch"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        try:
            self.assertEqual(w.stdout.readline().strip(), "synced")  # streaming
            self.server.admin("device", "sign-out", self.device_of(d))
            w.wait(20)
        finally:
            if w.poll() is None:
                w.kill()
                w.wait()
        err = w.stderr.read()
        w.stdout.close()
        w.stderr.close()
        self.assertEqual(w.returncode, 3, err)
        self.assertNotIn("(revoked)", err)                     # the wire code is not an explanation
        self.assertEqual(err.count("signed out by the salon"), 1, err)
        self.assertIn("the salon's data on this device was removed; sign in again", err)
        self.assertEqual(h.cache_rows(d), {})
        # offline with an edit queued: told at the next contact, the edit kept
        h.login(d, self.server, acc)
        h.client(d, "sync")
        h.client(d, "client", "set", cid, "preferences", "queued before the sign-out")
        self.server.admin("device", "sign-out", self.device_of(d))
        out = h.client(d, "sync", check=False)
        self.assertEqual(out.returncode, 3, out.stderr)
        self.assertIn("the salon's data on this device was removed (1 edit not sent yet is kept", out.stderr)
        self.assertEqual(h.cache_rows(d), {})
        self.assertIn("queued edits: 1", h.client(d, "status").stdout)
        h.login(d, self.server, acc)
        h.client(d, "sync")                                     # the kept edit goes out
        self.assertIn("queued edits: 0", h.client(d, "status").stdout)
        self.assertEqual(h.client(d, "rejections").stdout.strip(), "")

    def test_logout_ends_every_connection_of_the_session_at_once(self):
        acc = h.account(self.accounts, "specialist", A)

        async def go():
            first = await self.signed_in(acc)
            await first.send({"t": "sync"})
            await first.recv_until("synced", 30)
            second, ok = await self.resumed(first.device, first.token)  # the same token, another connection
            assert ok["t"] == "auth_ok", ok
            await second.send({"t": "logout"})
            bye = await second.recv()
            told = await first.recv_until("error", 5)                    # at once, not at expiry
            closed = await first.closed()
            third, again = await self.resumed(first.device, first.token)
            for p in (first, second, third):
                await p.close()
            return bye, told[0], closed, again, first.device
        bye, told, closed, again, device = h.run(go())
        self.assertEqual((bye["code"], bye["re"]), ("revoked", "logout"))
        self.assertEqual((told["code"], told["fatal"]), ("revoked", True))
        self.assertTrue(closed)
        self.assertEqual(again["code"], "revoked")
        con = sqlite3.connect(self.db)
        n = con.execute("SELECT count(*) FROM audit WHERE action = 'logout' AND entity_id = ?", (device,)).fetchone()[0]
        con.close()
        self.assertEqual(n, 1)

    def test_device_list_names_client_devices_and_gives_dates(self):
        client = h.account(self.accounts, "client")
        d = os.path.join(self.tmp, "phone")
        h.login(d, self.server, client)
        device = self.device_of(d)
        out = self.server.admin("device", "list")
        line = [l for l in out.splitlines() if l.startswith(device)][0].split("\t")
        head = out.splitlines()[0].split("\t")
        row = dict(zip(head, line))
        self.assertEqual((row["kind"], row["name"]), ("client", client["name"]))
        self.assertRegex(row["last_seen"], "^" + DATE + "$")
        self.assertNotIn("K1$", out)                            # no sealed value anywhere
        owner = h.account(self.accounts, "owner")

        async def go():
            p = await self.signed_in(owner)
            await p.send({"t": "manage", "op": "list_devices"})
            m = await p.recv()
            await p.close()
            return m
        listed = [x for x in h.run(go())["devices"] if x["id"] == device][0]
        self.assertEqual(listed["name"], client["name"])


class LockoutRestartTest(h.DemoServerTest):
    def test_lockout_survives_a_restart(self):
        victim = h.account(self.accounts, "manager", A)
        # 5 free failures, then each further one locks for twice as long:
        # fail until the lock-out is 16 s, longer than a restart takes
        fails = 0
        while fails < 9:
            code = self.attempt(victim, "Wrong-guess-1")["code"]  # a throttled answer takes 1 s
            fails += code == "auth_failed"
            self.assertIn(code, ("auth_failed", "throttled"))
        self.assertEqual(self.attempt(victim, victim["password"]).get("code"), "throttled")
        self.server.stop()
        self.__class__.server = h.Server(self.db)
        # still locked after the restart, with the right password too
        self.assertEqual(self.attempt(victim, victim["password"]).get("code"), "throttled")
        other = h.account(self.accounts, "reception", A)
        self.assertEqual(self.attempt(other, other["password"])["t"], "auth_ok")


if __name__ == "__main__":
    h.main()
