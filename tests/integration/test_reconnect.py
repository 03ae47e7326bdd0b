"""A watching device whose link drops reconnects with backoff and resumes
from its cursor: nothing missed, nothing twice. The link runs through a
small TCP proxy on 127.0.0.1 (port 0) that the test can cut."""
import os
import socket
import sqlite3
import threading

import kt_harness as h
import oracle


class Proxy:
    """Forwards 127.0.0.1:<its port> to the server; cut() drops every link."""

    def __init__(self, target_port):
        self.target = target_port
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.links = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            s = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.links.append((c, s))
            for a, b in ((c, s), (s, c)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for x in (a, b):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        with self.lock:
            links, self.links = self.links, []
        for c, s in links:
            for x in (c, s):
                try:
                    x.shutdown(socket.SHUT_RDWR)
                    x.close()
                except OSError:
                    pass

    def close(self):
        self.cut()
        self.sock.close()


class ReconnectTest(h.DemoServerTest):
    def test_watch_survives_dropped_links(self):
        proxy = Proxy(self.server.port)
        try:
            acc = h.account(self.accounts, "owner")
            d = os.path.join(self.tmp, "owner")
            h.client(d, "--server", "ws://127.0.0.1:%d/" % proxy.port, "login", acc["email"],
                     stdin=acc["password"] + "\n")
            w = h.Watcher(d, seconds=60)
            self.assertIsNotNone(w.wait_synced(30))
            con = sqlite3.connect(self.db)
            ids = [r[0] for r in con.execute("SELECT id FROM client ORDER BY id LIMIT 6")]
            con.close()
            for i, cid in enumerate(ids):
                proxy.cut()  # the salon's Wi-Fi drops
                self.server.admin("client", "set", cid, "preferences", "while away %d" % i)
                got = w.wait_for(lambda l: ("put client %s" % cid) in l, 10)
                self.assertIsNotNone(got, "change %d never arrived after the link came back" % i)
            w.stop()
            problem = oracle.diff(oracle.expected(self.db, acc["email"]), h.cache_rows(d))
            self.assertIsNone(problem)
        finally:
            proxy.close()


if __name__ == "__main__":
    h.main()
