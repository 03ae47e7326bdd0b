"""portal_set_password over the protocol, for browser tests that start with a
client who already has a password (the setup page itself is tested in
test_setup.mjs). Usage: set_password.py WS_URL TOKEN PASSWORD [CA_FILE]; prints the
server's answer as JSON."""
import asyncio
import json
import ssl
import sys
import uuid

import msgpack
import websockets


async def main(url, token, password, ca=None):
    tls = ssl.create_default_context(cafile=ca) if url.startswith("wss:") else None
    async with websockets.connect(url, subprotocols=["kartoteka.v1"], ping_interval=None, ssl=tls) as ws:
        await ws.send(msgpack.packb({"t": "hello", "v": [1], "device": str(uuid.uuid4()), "app": "kt-browser-test"}))
        msgpack.unpackb(await ws.recv(), raw=False)
        await ws.send(msgpack.packb({"t": "portal_set_password", "token": token, "password": password}))
        print(json.dumps(msgpack.unpackb(await asyncio.wait_for(ws.recv(), 10), raw=False)))


asyncio.run(main(*sys.argv[1:5]))
