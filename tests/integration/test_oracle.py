"""After sync, every device's cache equals what its role may see: compared
with an independent SQL computation over the server database (oracle.py)."""
import os

import kt_harness as h
import oracle


class OracleTest(h.DemoServerTest):
    def check(self, acc):
        d = os.path.join(self.tmp, acc["email"])
        h.login(d, self.server, acc)
        h.client(d, "sync")
        want = oracle.expected(self.db, acc["email"])
        got = h.cache_rows(d)
        problem = oracle.diff(want, got)
        self.assertIsNone(problem, "%s (%s): %s" % (acc["role"], acc["location"], problem))
        self.assertGreater(len(got), 0)
        return got

    def test_owner_sees_everything(self):
        got = self.check(h.account(self.accounts, "owner"))
        self.assertEqual(sum(1 for k in got if k[0] == "appointment"), 5000)

    def test_manager_of_a_sees_location_a(self):
        self.check(h.account(self.accounts, "manager", "Lepota Center"))

    def test_specialist_of_b_sees_no_contact_data(self):
        got = self.check(h.account(self.accounts, "specialist", "Lepota Maribor"))
        clients = [f for (t, _), (_, f) in got.items() if t == "client"]
        self.assertTrue(clients)
        for f in clients:
            for field in ("email", "phone", "address", "birthday"):
                self.assertNotIn(field, f)

    def test_reception_gets_allergy_alert_only(self):
        got = self.check(h.account(self.accounts, "reception", "Lepota Center"))
        clients = [f for (t, _), (_, f) in got.items() if t == "client"]
        self.assertTrue(any(f["allergy_alert"] for f in clients))
        self.assertTrue(all("allergies" not in f and "conditions" not in f for f in clients))

    def test_cli_ls_and_show_read_the_cache(self):
        acc = h.account(self.accounts, "manager", "Lepota Maribor")
        got = self.check(acc)
        d = os.path.join(self.tmp, acc["email"])
        head, *lines = h.client(d, "ls", "clients").stdout.strip().split("\n")
        self.assertTrue(head.startswith("id\tname\t"), head)
        self.assertEqual(len(lines), sum(1 for k in got if k[0] == "client"))
        cid = lines[0].split("\t")[0]
        shown = h.client(d, "show", "client", cid).stdout
        self.assertIn("name: " + got[("client", cid)][1]["name"], shown)
        self.assertIn("appointments:", shown)
        status = h.client(d, "status").stdout
        self.assertIn("principal_role: manager", status)
        self.assertNotIn(acc["password"], status)

    def test_two_clients_see_only_themselves(self):
        for i in (0, 1):
            acc = h.account(self.accounts, "client", index=i)
            got = self.check(acc)
            self.assertEqual(sum(1 for k in got if k[0] == "client"), 1)


if __name__ == "__main__":
    h.main()
