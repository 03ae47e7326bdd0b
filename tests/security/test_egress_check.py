"""The egress check of test builds (cmake -DKT_EGRESS_CHECK=ON, on in
`make build-san`) catches a value outside the policy: the server is told,
through a switch that only such builds have (KT_EGRESS_TEST_LEAK), to pack
a field the role may not read, or a streamed row the principal may not
see; the check must name the session, table, id and field in one line and
abort. A server without the check (the production build) skips this test.

Run: PYTHONPATH=tests/integration /usr/bin/python3 tests/security/test_egress_check.py \
       --server build-san/server/kartoteka-server --client build-san/clients/reference-c/kartoteka-client"""
import asyncio
import os
import re
import shutil
import sqlite3
import tempfile
import time
import unittest
import uuid

import websockets

import kt_harness as h
from kt_harness import Peer, Server, account, run

CENTER = "Lepota Center"


def has_check():
    with open(h.SERVER, "rb") as f:
        return b"KT_EGRESS_TEST_LEAK" in f.read()


class EgressCheckTest(unittest.TestCase):
    def setUp(self):
        if not has_check():
            self.skipTest("this server was built without KT_EGRESS_CHECK")
        self.tmp = tempfile.mkdtemp(prefix="kt-egress-check-")
        self.db, self.accounts = h.demo_db(self.tmp)
        self.server = None

    def tearDown(self):
        if self.server and self.server.alive():  # (a test that failed before the abort)
            self.server.proc.kill()
            self.server.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, leak):
        self.server = Server(self.db, env={"KT_EGRESS_TEST_LEAK": leak})

    async def synced(self, role):
        p = await Peer(self.server).connect()
        await p.hello()
        ok = await p.login(account(self.accounts, role, CENTER))
        self.assertEqual(ok["t"], "auth_ok", ok)
        await p.send({"t": "sync", "cursor": None})
        return p

    def caught(self):
        """The server's exit and its one-line verdict (waits for the exit)."""
        self.server.proc.wait(60)
        self.server.drainer.join(10)
        self.assertNotEqual(self.server.proc.returncode, 0)
        lines = [l for l in self.server.errlog if "EGRESS VIOLATION" in l]
        self.assertEqual(len(lines), 1, "".join(self.server.errlog[-20:]))
        return lines[0]

    def test_a_field_the_role_may_not_read_is_caught(self):
        """A specialist's snapshot with client e-mails in it."""
        self.start("field")

        async def go():
            p = await self.synced("specialist")
            self.assertTrue(await p.closed(30))
        run(go())
        line = self.caught()
        self.assertRegex(line, r"session \d+ \(specialist [0-9a-f-]{36}\) table client id [0-9a-f-]{36} "
                               r"field email: the role may not read this field")

    def test_a_row_the_principal_may_not_see_is_caught(self):
        """A streamed marketing consent to a specialist (who sees only the
        photo and health-data consents)."""
        self.start("row")
        con = sqlite3.connect(self.db)
        center = con.execute("SELECT id FROM location WHERE name = ?", (CENTER,)).fetchone()[0]
        client = con.execute("SELECT client_id FROM client_location WHERE location_id = ? ORDER BY client_id "
                             "LIMIT 1", (center,)).fetchone()[0]
        con.close()
        cid = str(uuid.uuid4())

        async def go():
            spec = await self.synced("specialist")
            await spec.recv_until("snapshot_end", 60)
            rec = await Peer(self.server).connect()
            await rec.hello()
            await rec.login(account(self.accounts, "reception", CENTER))
            await rec.send({"t": "push", "muts": [{
                "mid": 1, "tbl": "consent", "id": cid, "op": "create", "base": 0, "at": int(time.time() * 1000),
                "f": {"client_id": client, "purpose": "marketing_email", "granted": True,
                      "at": int(time.time() * 1000), "source": "in_salon", "text_version": "v1"}}]})
            try:  # the abort may come before the answer goes out
                r, _ = await rec.recv_until("push_result")
                self.assertEqual(r["results"][0]["status"], "applied", r)
            except websockets.exceptions.ConnectionClosed:
                pass
            self.assertTrue(await spec.closed(30))
        run(go())
        line = self.caught()
        self.assertIn("table consent id %s field : the principal may not see this row" % cid, line)

    def test_staff_locations_that_staff_location_does_not_hold_are_caught(self):
        """A staff row's location_ids, which the server derives, is checked
        against staff_location: a stored copy that went wrong (here, edited
        behind the server's back) is caught when it would go out."""
        con = sqlite3.connect(self.db)
        center, other = (r[0] for r in con.execute("SELECT id FROM location ORDER BY name = ? DESC", (CENTER,)))
        sid = con.execute("SELECT s.id FROM staff s JOIN staff_location sl ON sl.staff_id = s.id WHERE "
                          "sl.location_id = ? AND s.role = 'specialist' ORDER BY s.id", (center,)).fetchone()[0]
        con.execute("UPDATE staff SET location_ids = ? WHERE id = ?", (",".join(sorted([center, other])), sid))
        con.commit()
        con.close()
        self.start("none")

        async def go():
            p = await self.synced("reception")
            self.assertTrue(await p.closed(30))
        run(go())
        line = self.caught()
        self.assertIn("table staff id %s field location_ids: not the locations staff_location holds" % sid, line)


if __name__ == "__main__":
    h.main()
