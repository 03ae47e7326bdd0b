#!/usr/bin/env python3
"""A one-purpose link for the browser tests, made as server/domain/links.c
makes one (links_issue): 16 random bytes, base64url without padding in the
URL, and only BLAKE2b-256 of them keyed with meta.token_key in link_token.
Used while no command of the server issues a link by itself; the link is
then opened and acted on through the real server (message `link`).

usage: link_token.py DB KIND ORG CLIENT TARGET EXPIRES_AT_MS  -> prints the token"""
import base64
import hashlib
import os
import sqlite3
import sys
import time


def main():
    db, kind, org, client, target, expires = sys.argv[1:7]
    raw = os.urandom(16)
    con = sqlite3.connect(db, timeout=10)
    key = con.execute("SELECT value FROM meta WHERE key = 'token_key'").fetchone()[0]
    h = hashlib.blake2b(raw, digest_size=32, key=bytes(key)).digest()
    with con:
        con.execute("INSERT INTO link_token(token_hash, kind, org_id, client_id, target_id, created_at, expires_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (h, kind, org, client or None, target or None, int(time.time() * 1000), int(expires)))
    con.close()
    print(base64.urlsafe_b64encode(raw).decode().rstrip("="))


if __name__ == "__main__":
    main()
