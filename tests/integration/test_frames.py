"""A changes frame names each row at most once (PROTOCOL.md §3: a device
gets a row's current version; earlier versions in the same batch add
nothing). One push of many edits of the same card commits them together,
so a watching device's stream reads all their log entries into one frame;
it must carry the card once, at its latest version, and never an older
version after a newer one."""
import kt_harness as h

EDITS = 40


class FramesTest(h.DemoServerTest):
    def test_one_row_once_per_frame_latest_version(self):
        owner = h.account(self.accounts, "owner")
        card = self.a_card()

        async def go():
            watcher = await self.signed_in(owner)
            await watcher.snapshot()
            editor = await self.signed_in(owner)  # another device
            base = self.server_row("client", card)["version"]
            # each edit on top of the one before: one batch, one commit
            muts = [{"mid": i + 1, "tbl": "client", "id": card, "op": "update", "base": base + i,
                     "f": {"preferences": "frames %d" % i}, "at": i + 1} for i in range(EDITS)]
            await editor.send({"t": "push", "muts": muts})
            res, _ = await editor.recv_until("push_result")
            applied = [r for r in res["results"] if r["status"] == "applied"]
            self.assertEqual(len(applied), EDITS, res["results"][:3])
            latest = self.server_row("client", card)["version"]
            self.assertEqual(latest, base + EDITS)
            frames, last = 0, 0
            while last < latest:
                m = await watcher.recv(10)
                if m["t"] != "changes":
                    continue
                frames += 1
                ids = [(op.get("tbl"), op.get("id")) for op in m["ops"]]
                self.assertEqual(len(ids), len(set(ids)), "a row twice in one changes frame: %d ops, %d rows" % (len(ids), len(set(ids))))
                for op in m["ops"]:
                    if op.get("id") == card:
                        self.assertGreater(op["v"], last, "an older or the same version after a newer one")
                        last = op["v"]
            self.assertEqual(last, latest)
            await editor.close()
            await watcher.close()
        h.run(go())

    def a_card(self):
        import sqlite3
        con = sqlite3.connect(self.db)
        cid = con.execute("SELECT id FROM client ORDER BY id LIMIT 1").fetchone()[0]
        con.close()
        return cid


if __name__ == "__main__":
    h.main()
