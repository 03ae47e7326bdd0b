"""Snapshot pages shared by the devices of one person (server/sync/snapcache.c).

While the data stays as it is, a page one device of a person read is sent
as the same bytes to that person's other devices. What the test holds the
server to: devices of one person get identical pages; a page is never
shared with another person, even of the same role at the same locations
(a specialist sees only their own time off); and a change made after a
page was kept is in the next device's snapshot (the kept pages are dropped
when the change log moves). The same holds for snapshot_begin's total,
which is kept with the pages."""
import uuid

import kt_harness as h

A = "Lepota Center"


def uid():
    return str(uuid.uuid4())


class SnapshotShareTest(h.DemoServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        import sqlite3
        con = sqlite3.connect(cls.db)
        loc = dict(con.execute("SELECT name, id FROM location"))
        specs = con.execute(
            "SELECT s.id, s.email FROM staff s JOIN staff_location sl ON sl.staff_id = s.id "
            "WHERE s.role = 'specialist' AND sl.location_id = ? ORDER BY s.id", (loc[A],)).fetchall()
        con.close()
        assert len(specs) >= 2, specs
        by_email = {a["email"]: a for a in cls.accounts}
        (cls.spec1, e1), (cls.spec2, e2) = specs[0], specs[1]
        cls.acc1, cls.acc2 = by_email[e1], by_email[e2]
        cls.owner = h.account(cls.accounts, "owner")
        # each specialist's own time off: the one row kind colleagues do not see
        cls.off1, cls.off2 = uid(), uid()
        muts = [{"mid": i + 1, "tbl": "time_off", "id": rid, "op": "create", "base": 0, "at": 1,
                 "f": {"staff_id": sid, "from_at": 1893456000000 + i * 86400000,
                       "to_at": 1893456000000 + (i + 1) * 86400000, "reason": "own %d" % i}}
                for i, (rid, sid) in enumerate(((cls.off1, cls.spec1), (cls.off2, cls.spec2)))]

        async def go():
            p = await h.Peer(cls.server).connect()
            await p.hello()
            assert (await p.login(cls.owner))["t"] == "auth_ok"
            await p.send({"t": "push", "muts": muts})
            m, _ = await p.recv_until("push_result", 20)
            await p.close()
            return m["results"]
        res = h.run(go())
        assert all(r["status"] == "applied" for r in res), res

    async def pages(self, acc):
        """The raw bytes of every page of a first snapshot, and its rows."""
        import msgpack
        p = await self.signed_in(acc)
        await p.send({"t": "sync", "cursor": None})
        raw, rows = [], {}
        while True:
            data = await p.ws.recv()
            m = msgpack.unpackb(data, raw=False)
            if m["t"] == "snapshot_begin":
                self.total = m["total"]
            elif m["t"] == "page":
                raw.append(data)
                for r in m["rows"]:
                    rows[(r["tbl"], r["id"])] = r["f"]
            elif m["t"] == "synced":
                break
        await p.close()
        return raw, rows

    def test_same_person_same_bytes_other_person_own_rows(self):
        async def go():
            raw1, rows1 = await self.pages(self.acc1)
            raw1b, _ = await self.pages(self.acc1)  # another device of the same person
            raw2, rows2 = await self.pages(self.acc2)  # same role, same location, just after
            return raw1, rows1, raw1b, raw2, rows2
        raw1, rows1, raw1b, raw2, rows2 = h.run(go())
        self.assertTrue(raw1)
        self.assertEqual(raw1, raw1b, "two devices of one person got different pages")
        # (assertTrue: the row dicts are too long for a failure message)
        self.assertTrue(("time_off", self.off1) in rows1, "the first specialist's own time off is missing")
        self.assertFalse(("time_off", self.off2) in rows1, "a colleague's time off was sent")
        self.assertTrue(("time_off", self.off2) in rows2, "the second specialist's page was not their own")
        self.assertFalse(("time_off", self.off1) in rows2, "a page was shared with another person")
        self.assertNotEqual(raw1, raw2)

    def test_a_change_after_a_kept_page_is_in_the_next_snapshot(self):
        async def go():
            _, before = await self.pages(self.acc1)
            reason = "moved %s" % uid()[:8]
            p = await self.signed_in(self.owner)
            v = self.server_row("time_off", self.off1)["version"]
            await p.send({"t": "push", "muts": [{"mid": 1, "tbl": "time_off", "id": self.off1, "op": "update",
                                                  "base": v, "at": 2, "f": {"reason": reason}}]})
            m, _ = await p.recv_until("push_result", 20)
            await p.close()
            self.assertEqual(m["results"][0]["status"], "applied", m)
            _, after = await self.pages(self.acc1)
            return before, after, reason
        before, after, reason = h.run(go())
        self.assertNotEqual(before[("time_off", self.off1)].get("reason"), reason)
        self.assertEqual(after[("time_off", self.off1)].get("reason"), reason, "a kept page outlived a change")

    def test_the_kept_total_is_exact_and_follows_a_change(self):
        async def go():
            _, rows1 = await self.pages(self.acc1)
            t1 = self.total
            _, rows1b = await self.pages(self.acc1)  # another device: the total kept with the pages
            t1b = self.total
            off = uid()
            p = await self.signed_in(self.owner)
            await p.send({"t": "push", "muts": [{"mid": 1, "tbl": "time_off", "id": off, "op": "create", "base": 0,
                                                  "at": 3, "f": {"staff_id": self.spec1, "from_at": 1924992000000,
                                                                 "to_at": 1925078400000, "reason": "new"}}]})
            m, _ = await p.recv_until("push_result", 20)
            await p.close()
            self.assertEqual(m["results"][0]["status"], "applied", m)
            _, rows2 = await self.pages(self.acc1)
            return t1, len(rows1), t1b, len(rows1b), self.total, len(rows2), ("time_off", off) in rows2
        t1, n1, t1b, n1b, t2, n2, has_new = h.run(go())
        self.assertEqual((t1, t1b), (n1, n1b))
        self.assertTrue(has_new)
        self.assertEqual((t2, n2), (n1 + 1, n1 + 1), "a kept total outlived a change")


if __name__ == "__main__":
    h.main()
