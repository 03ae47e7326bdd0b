"""ktcrypt - reads Kartoteka's encryption at rest from the outside, written
from the format in server/db/keyring.h with PyNaCl (Debian's python3-nacl),
not from the C code. Tests use it to compare the server's database with what
devices hold, and to show that without a client's key nothing is readable.

    kr = Keyring(db_path)          # FILE.key + FILE.keys
    kr.rows(con, "SELECT * FROM client WHERE id = ?", (cid,), "client")
    kr.email_hash("a@b.example")
"""
import hashlib
import sqlite3
import struct

from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_decrypt as aead_open

NONCE = 24


def _ad(parts, version):
    return b"".join(p.encode() + b"\0" for p in parts) + struct.pack(">I", version)


def is_sealed(v):
    return isinstance(v, bytes) and len(v) >= 3 and v[:2] == b"K1"


class Erased(Exception):
    """The owner's data key is gone: the value can never be read again."""


class Keyring:
    def __init__(self, db_path, key_path=None):
        with open(key_path or db_path + ".key", "rb") as f:
            self.master = f.read()
        assert len(self.master) == 32, "master key file must hold 32 bytes"
        self.keys_path = db_path + ".keys"
        self._cache = {}

    def _key(self, owner):
        if owner in self._cache:
            return self._cache[owner]
        con = sqlite3.connect("file:%s?mode=ro" % self.keys_path, uri=True)
        row = con.execute("SELECT version, wrapped FROM data_key WHERE owner = ?", (owner,)).fetchone()
        con.close()
        if row is None:
            raise Erased(owner)
        version, w = row
        key = aead_open(w[NONCE:], _ad(["kartoteka-key", owner], version), w[:NONCE], self.master)
        self._cache[owner] = (version, key)
        return version, key

    def forget(self):
        self._cache.clear()

    def open(self, tbl, col, row_id, blob):
        """The plain text of a sealed value (str); raises Erased."""
        olen = blob[2]
        owner = blob[3:3 + olen].decode()
        version, = struct.unpack(">I", blob[3 + olen:7 + olen])
        have, key = self._key(owner)
        if have != version:
            raise Erased(owner)
        body = blob[7 + olen:]
        plain = aead_open(body[NONCE:], _ad(["kartoteka", tbl, col, str(row_id), owner], version), body[:NONCE], key)
        return plain.decode()

    def plain(self, tbl, row):
        """A row (dict) with its sealed values opened (None when erased)."""
        out = dict(row)
        for col, v in row.items():
            if is_sealed(v):
                try:
                    out[col] = self.open(tbl, col, row["id"], v)
                except Erased:
                    out[col] = None
        return out

    def rows(self, con, sql, params, tbl):
        """Run sql (its result must include the id column) and open the
        sealed values of each row as belonging to table tbl."""
        cur = con.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [self.plain(tbl, dict(zip(names, r))) for r in cur.fetchall()]

    def email_hash(self, email):
        _, key = self._key("~email-index")
        return hashlib.blake2b(email.lower().encode(), digest_size=32, key=key).hexdigest()
