"""Network faults for the integration tests.

Proxy: a TCP proxy on 127.0.0.1 (port 0) in front of the real server, run by
an asyncio loop in its own thread, so tests may drive it while the reference
client runs as a subprocess. Faults are armed with fault(): after N more bytes
in one direction ("down" = server to device, "up" = device to server), the
link carrying that byte is cut (both sockets closed, the first N bytes
delivered, so a cut may fall in the middle of a WebSocket frame) or stalled
(forwarding in that direction stops, the sockets stay open).

RawWS: a minimal WebSocket client on asyncio streams with a small receive
buffer, for peers that stop reading (slow readers) and for connection floods
(cheaper than the websockets library, which keeps reading into its queue)."""
import asyncio
import base64
import os
import socket
import struct
import threading

import msgpack


class Fault:
    def __init__(self, direction, after, action):
        self.direction, self.left, self.action = direction, after, action
        self.fired = threading.Event()


class _Link:
    def __init__(self, cw, sw):
        self.cw, self.sw = cw, sw  # device-side and server-side writers

    def abort(self):
        for w in (self.cw, self.sw):
            try:
                w.transport.abort()
            except Exception:
                pass


class Proxy:
    def __init__(self, target_port):
        self.target = target_port
        self.loop = asyncio.new_event_loop()
        self.faults = []
        self.links = set()
        self.bytes = {"up": 0, "down": 0}
        self.accepted = 0
        self.lock = threading.Lock()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(10)
        self.url = "ws://127.0.0.1:%d/" % self.port

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        self.srv = self.loop.run_until_complete(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = self.srv.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _accept(self, cr, cw):
        try:
            sr, sw = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            cw.transport.abort()
            return
        link = _Link(cw, sw)
        self.links.add(link)
        self.accepted += 1
        await asyncio.gather(self._pipe(link, cr, sw, "up"), self._pipe(link, sr, cw, "down"))
        self.links.discard(link)

    def _take_fault(self, direction, n):
        """How many of n bytes to forward, and the fault that fires after them."""
        with self.lock:
            for f in self.faults:
                if f.direction == direction:
                    if f.left < n:
                        self.faults.remove(f)
                        return f.left, f
                    f.left -= n
                    return n, None
        return n, None

    async def _pipe(self, link, r, w, direction):
        try:
            while True:
                data = await r.read(65536)
                if not data:
                    break
                n, f = self._take_fault(direction, len(data))
                if n:
                    w.write(data[:n])
                    self.bytes[direction] += n
                    await w.drain()
                if f is None:
                    continue
                f.fired.set()
                if f.action == "cut":
                    link.abort()
                    return
                await asyncio.Event().wait()  # stall: never forward again; sockets stay open
        except (OSError, asyncio.CancelledError):
            pass
        link.abort()

    def fault(self, direction, after, action="cut"):
        """Arm a fault: after `after` more bytes in `direction`, cut or stall the
        link that carries them. Returns the Fault; .fired is set when it struck."""
        assert direction in ("up", "down") and action in ("cut", "stall")
        f = Fault(direction, after, action)
        with self.lock:
            self.faults.append(f)
        return f

    def disarm(self):
        with self.lock:
            self.faults = []

    def cut_all(self):
        self.loop.call_soon_threadsafe(lambda: [l.abort() for l in list(self.links)])

    def close(self):
        def stop():
            for l in list(self.links):
                l.abort()
            self.srv.close()
            self.loop.stop()
        self.loop.call_soon_threadsafe(stop)
        self.thread.join(5)


class Closed(Exception):
    pass


class RawWS:
    """WebSocket client on asyncio streams. rcvbuf: SO_RCVBUF of the socket, so
    a peer that stops reading pushes back on the server after a few KB."""

    def __init__(self, r, w):
        self.r, self.w = r, w

    @classmethod
    async def open(cls, port, local_ip="127.0.0.1", rcvbuf=None):
        s = socket.socket()
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.bind((local_ip, 0))
        s.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(s, ("127.0.0.1", port))
        except Exception:
            s.close()
            raise
        r, w = await asyncio.open_connection(sock=s, limit=16384)
        key = base64.b64encode(os.urandom(16)).decode()
        w.write(("GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                 "Sec-WebSocket-Protocol: kartoteka.v1\r\n\r\n" % (port, key)).encode())
        head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 10)
        if not head.startswith(b"HTTP/1.1 101"):
            w.close()
            raise Closed(head[:40])
        return cls(r, w)

    async def send(self, msg):
        payload = msgpack.packb(msg, use_bin_type=True)
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x82, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x82, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x82, 0x80 | 127, n)
        mask = os.urandom(4)
        body = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        self.w.write(head + mask + body)
        await self.w.drain()

    async def recv(self, timeout=10):
        """The next whole data message, unpacked; Closed on a close frame or EOF."""
        async def one():
            data = b""
            while True:
                try:
                    b0, b1 = await self.r.readexactly(2)
                    n = b1 & 0x7F
                    if n == 126:
                        n = struct.unpack("!H", await self.r.readexactly(2))[0]
                    elif n == 127:
                        n = struct.unpack("!Q", await self.r.readexactly(8))[0]
                    payload = await self.r.readexactly(n)
                except (asyncio.IncompleteReadError, ConnectionError) as e:
                    raise Closed(str(e))
                op = b0 & 0x0F
                if op == 8:
                    raise Closed("close frame")
                if op in (9, 10):
                    continue
                data += payload
                if b0 & 0x80:
                    return msgpack.unpackb(data, raw=False)
        return await asyncio.wait_for(one(), timeout)

    async def wait_closed(self, timeout):
        """Read until the server closes; True if it did within timeout.
        Returns the last data message seen in self.last."""
        self.last = None
        try:
            while True:
                self.last = await self.recv(timeout)
        except Closed:
            return True
        except asyncio.TimeoutError:
            return False

    def close(self):
        try:
            self.w.transport.abort()
        except Exception:
            pass
