"""Encode once per audience (server/sync/sync.c): devices whose principal
sees a change the same way get the very same bytes, and no device ever gets
bytes packed for another audience. Raw peers of every kind watch live
changes: two devices of one reception, a second reception of the same
branch, two devices of one specialist and a second specialist there, a
reception of the other branch, two devices of a client and another client.
Same audience: the changes frames are byte for byte the same but for the
cursor, which is each device's own. Different audiences: each gets what
its role may read (field level), its locations (branch) and its own rows
(a specialist's working hours, a client's card), nothing of the others'."""
import asyncio
import sqlite3

import msgpack

import kt_harness as h
from ktcrypt import Keyring

A, B = "Lepota Center", "Lepota Maribor"
# what the read policy shows each role of a client card (policy.c)
RECEPTION_ONLY = {"email", "phone", "birthday", "address", "language", "portal_enabled"}
SPECIALIST_ONLY = {"conditions", "medications", "skin_hair_type", "patch_tests"}


class Watch:
    """A raw peer's changes frames, kept as bytes and decoded."""

    def __init__(self, name, peer):
        self.name, self.peer, self.frames = name, peer, []

    async def until_row(self, tbl, rid, v, timeout=10):
        """Read frames until one carries (tbl, rid) at version v; that frame."""
        while True:
            raw = await asyncio.wait_for(self.peer.ws.recv(), timeout)
            m = msgpack.unpackb(raw, raw=False)
            if m["t"] != "changes":
                continue
            self.frames.append((raw, m))
            if any(op.get("tbl") == tbl and op.get("id") == rid and op.get("v") == v for op in m["ops"]):
                return raw, m

    def seen(self, tbl, rid):
        return [op for _, m in self.frames for op in m["ops"] if op.get("tbl") == tbl and op.get("id") == rid]


def without_cursor(raw, m):
    cur = m["cursor"]
    i = raw.find(cur)
    assert i > 0 and len(cur) == 41
    return raw[:i] + raw[i + len(cur):], cur


class AudienceTest(h.DemoServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        con = sqlite3.connect(cls.db)
        cls.loc = dict(con.execute("SELECT name, id FROM location"))
        only = lambda c, here, there: (
            con.execute("SELECT 1 FROM client_location WHERE client_id = ? AND location_id = ?", (c, here)).fetchone()
            and not con.execute("SELECT 1 FROM client_location WHERE client_id = ? AND location_id = ?",
                                (c, there)).fetchone())
        portal = [(r["id"], r["email"]) for r in
                  Keyring(cls.db).rows(con, "SELECT id, email FROM client WHERE portal_enabled = 1 ORDER BY id", (),
                                       "client")]
        at_a = [c for c in portal if only(c[0], cls.loc[A], cls.loc[B])]
        cls.x, cls.x2 = at_a[0], at_a[1]
        cls.y = next(c for c in portal if only(c[0], cls.loc[B], cls.loc[A]))
        cls.acc = {
            "owner": h.account(cls.accounts, "owner"),
            "reception_a": h.account(cls.accounts, "reception", A),
            # the demo has one reception per branch: a specialist of B becomes the second of A
            "reception_a2": h.account(cls.accounts, "specialist", B, 1),
            "specialist_a": h.account(cls.accounts, "specialist", A),
            "specialist_a2": h.account(cls.accounts, "specialist", A, 1),
            "reception_b": h.account(cls.accounts, "reception", B),
            "client_x": next(a for a in cls.accounts if a["email"] == cls.x[1]),
            "client_x2": next(a for a in cls.accounts if a["email"] == cls.x2[1]),
            "client_y": next(a for a in cls.accounts if a["email"] == cls.y[1]),
        }
        con.close()
        second = cls.staff_id(cls.acc["reception_a2"])
        cls.server.admin("staff", "role", second, "reception")
        cls.server.admin("staff", "location", second, "add", cls.loc[A])
        cls.server.admin("staff", "location", second, "remove", cls.loc[B])
        cls.server.admin("staff", "hours", "set", cls.staff_id(cls.acc["specialist_a"]), cls.loc[A], "mon",
                         "09:00-17:00")

    def test_same_audience_same_bytes_others_never(self):
        devices = {  # name: account
            "rA": "reception_a", "rA'": "reception_a", "rA2": "reception_a2",
            "sA": "specialist_a", "sA'": "specialist_a", "sA2": "specialist_a2",
            "rB": "reception_b",
            "cX": "client_x", "cX'": "client_x", "cX2": "client_x2", "cY": "client_y",
        }
        spec_a = self.staff_id(self.acc["specialist_a"])
        spec_a2 = self.staff_id(self.acc["specialist_a2"])
        self.assertNotEqual(spec_a, spec_a2)
        con = sqlite3.connect(self.db)
        wh = con.execute("SELECT id FROM working_hours WHERE staff_id = ? AND location_id = ? ORDER BY id LIMIT 1",
                         (spec_a, self.loc[A])).fetchone()[0]
        con.close()

        async def go():
            w = {}
            for name, acc in devices.items():
                p = await self.signed_in(self.acc[acc])
                await p.snapshot()
                w[name] = Watch(name, p)
            editor = await self.signed_in(self.acc["owner"])
            await editor.snapshot()
            mid = [0]

            async def edit(*changes):
                """One push, one commit: [(tbl, id, fields)...]; the new versions."""
                muts, vs = [], []
                for tbl, rid, f in changes:
                    base = self.server_row(tbl, rid)["version"]
                    mid[0] += 1
                    muts.append({"mid": mid[0], "tbl": tbl, "id": rid, "op": "update", "base": base, "f": f,
                                 "at": mid[0]})
                    vs.append(base + 1)
                await editor.send({"t": "push", "muts": muts})
                res, _ = await editor.recv_until("push_result")
                self.assertEqual([r["status"] for r in res["results"]], ["applied"] * len(muts), res)
                return vs if len(vs) > 1 else vs[0]

            # 1. client X's card (known at A only) and client Y's (B only) in one
            # commit: every device at A and X's own get X's, B and Y get Y's, all
            # from the same position in the log
            # (and branch A's phone, which A's clients see too: another client
            # of A wakes for the same commit as X, so a key without the client's
            # id would hand it X's frame)
            vx, vy, vl = await edit(("client", self.x[0], {"preferences": "audience 1"}),
                                    ("client", self.y[0], {"preferences": "audience 1"}),
                                    ("location", self.loc[A], {"phone": "+386 1 555 0101"}))
            await w["cX2"].until_row("location", self.loc[A], vl)
            got = {n: await w[n].until_row("client", self.x[0], vx)
                   for n in ("rA", "rA'", "rA2", "sA", "sA'", "sA2", "cX", "cX'")}
            for n in ("rB", "cY"):
                await w[n].until_row("client", self.y[0], vy)
                self.assertEqual(w[n].seen("client", self.x[0]), [], "%s got X's card" % n)
            for n in got:
                self.assertEqual(w[n].seen("client", self.y[0]), [], "%s got Y's card" % n)
            # one audience, one set of bytes; each device its own cursor
            for a, b in (("rA", "rA'"), ("rA", "rA2"), ("sA", "sA'"), ("cX", "cX'")):
                ba, ca = without_cursor(*got[a])
                bb, cb = without_cursor(*got[b])
                self.assertEqual(ba, bb, "%s and %s (one audience) got different bytes" % (a, b))
                self.assertNotEqual(ca, cb, "%s and %s share a cursor" % (a, b))
            # other audiences: what their role reads, never another role's bytes
            fields = {n: set(next(op for op in got[n][1]["ops"] if op.get("id") == self.x[0])["f"])
                      for n in got}
            for n in ("rA", "rA'", "rA2"):
                self.assertFalse(fields[n] & SPECIALIST_ONLY, "%s: %s" % (n, fields[n] & SPECIALIST_ONLY))
                self.assertTrue(RECEPTION_ONLY & fields[n])
            for n in ("sA", "sA'", "sA2"):
                self.assertFalse(fields[n] & RECEPTION_ONLY, "%s: %s" % (n, fields[n] & RECEPTION_ONLY))
                self.assertTrue(SPECIALIST_ONLY & fields[n])
            for n in ("cX", "cX'"):
                self.assertNotIn("internal_notes", fields[n])
                self.assertNotIn("portal_enabled", fields[n])
            self.assertNotEqual(without_cursor(*got["rA"])[0], without_cursor(*got["sA"])[0])
            self.assertNotEqual(without_cursor(*got["rA"])[0], without_cursor(*got["cX"])[0])

            # 2. client Y's card (known at B only): the other branch and Y; the
            # first thing they get is Y's, nothing of X before it
            vy = await edit(("client", self.y[0], {"preferences": "audience 2"}))
            for n in ("rB", "cY"):
                await w[n].until_row("client", self.y[0], vy)
                self.assertEqual(w[n].seen("client", self.x[0]), [], "%s got X's card" % n)
            self.assertEqual(w["cX2"].seen("client", self.x[0]), [], "another client got X's card")
            self.assertEqual(w["rB"].seen("location", self.loc[A]), [], "B's reception got A's phone")

            # 3. a specialist's own working hours: theirs, the reception's and
            # the owner's, never the other specialist's
            vw = await edit(("working_hours", wh, {"intervals": "08:00-16:00"}))
            got_wh = {n: await w[n].until_row("working_hours", wh, vw) for n in ("sA", "sA'", "rA", "rA2")}
            for a, b in (("sA", "sA'"), ("rA", "rA2")):
                self.assertEqual(without_cursor(*got_wh[a])[0], without_cursor(*got_wh[b])[0])
            # 4. X again: the fence for the devices at A; none of them got Y,
            # the other specialist no working hours of another
            vx = await edit(("client", self.x[0], {"preferences": "audience 3"}))
            for n in ("rA", "rA'", "rA2", "sA", "sA'", "sA2", "cX", "cX'"):
                await w[n].until_row("client", self.x[0], vx)
                self.assertEqual(w[n].seen("client", self.y[0]), [], "%s got Y's card" % n)
            # (in its reach, hidden by the policy: an eviction, which names no values, as for every
            # row that may have left a device's view)
            self.assertEqual([op for op in w["sA2"].seen("working_hours", wh) if op["op"] != "evict"], [],
                             "a specialist got another's working hours")
            for n in ("cX", "cX'"):
                self.assertEqual(w[n].seen("working_hours", wh), [], "a client got working hours")
            # 5. Y again: the fence for B and Y; nothing of A's reached them
            vy = await edit(("client", self.y[0], {"preferences": "audience 4"}))
            for n in ("rB", "cY"):
                await w[n].until_row("client", self.y[0], vy)
                self.assertEqual(w[n].seen("client", self.x[0]), [], "%s got X's card" % n)
                self.assertEqual(w[n].seen("working_hours", wh), [], "%s got A's working hours" % n)
            await editor.close()
            for x in w.values():
                await x.peer.close()
        h.run(go())

    @classmethod
    def staff_id(cls, acc):
        con = sqlite3.connect(cls.db)
        rows = Keyring(cls.db).rows(con, "SELECT id, email FROM staff", (), "staff")
        con.close()
        return next(r["id"] for r in rows if r["email"] == acc["email"])


if __name__ == "__main__":
    h.main()
