#!/usr/bin/python3
"""gen_corpus.py - write the seed corpora of tests/fuzz/corpus/.

Valid messages of every type (proto/PROTOCOL.md), the hostile shapes a
decoder must survive, and tests/data/malformed/*.bin, in each target's input
format (README.md here). Deterministic: running it again rewrites the same
files. Needs Debian's python3-msgpack. With --server PATH it reads real ids
from a demo database (kartoteka-server init --demo --seed 1) so that push
and audit seeds name rows that exist; without it, made-up UUIDs are used.

    /usr/bin/python3 tests/fuzz/gen_corpus.py [--server build/server/kartoteka-server]
"""
import argparse
import os
import sqlite3
import struct
import subprocess
import sys
import tempfile

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))
MALFORMED = os.path.join(HERE, "..", "data", "malformed")

# Must match fuzz_session.c: the device every session seed says hello with,
# and the session tokens it plants (32 bytes of value i + 1, hex) for the
# demo's owner, manager, reception, specialist and a portal client.
DEVICE = "01890000-0000-7000-8000-000000000001"
ROLES = ["owner", "manager", "reception", "specialist", "client"]


def token(i):
    return bytes([i + 1]).hex() * 32


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


def frames(*msgs):
    """Connection input: each message behind a 2-byte big-endian length."""
    return b"".join(struct.pack(">H", len(m)) + m for m in msgs)


class Ids:
    """Row ids to aim pushes at: real ones from a demo database when the
    server binary is given."""

    client = "01890000-0000-7000-8000-0000000000c1"
    client2 = "01890000-0000-7000-8000-0000000000c2"
    location = "01890000-0000-7000-8000-0000000000a1"
    specialist = "01890000-0000-7000-8000-0000000000b1"
    service = "01890000-0000-7000-8000-0000000000d1"
    appointment = "01890000-0000-7000-8000-0000000000e1"

    def load(self, server):
        with tempfile.TemporaryDirectory() as d:
            db = os.path.join(d, "k.db")
            subprocess.run([server, "init", "--db", db, "--demo", "--seed", "1"], check=True,
                           stdout=subprocess.DEVNULL)
            con = sqlite3.connect(db)
            one = lambda sql: con.execute(sql).fetchone()[0]
            self.client, self.client2 = [r[0] for r in con.execute("SELECT id FROM client ORDER BY id LIMIT 2")]
            self.appointment, self.location, self.specialist = con.execute(
                "SELECT id, location_id, specialist_id FROM appointment ORDER BY id LIMIT 1").fetchone()
            self.service = one("SELECT id FROM service ORDER BY id LIMIT 1")
            con.close()


NEW_ID = "01890000-0000-7000-8000-00000000f001"


def valid_messages(ids):
    """One or more valid messages of every type, by name."""
    cur = bytes(range(41))
    row = {"tbl": "client", "id": ids.client, "v": 3,
           "f": {"name": "Ana", "phone": None, "portal_enabled": True, "visits": 7,
                 "tags": ["a", "b"], "score": 1.5}}
    m = {
        "hello": {"t": "hello", "v": [1], "device": DEVICE, "app": "fuzz/1"},
        "hello_many_versions": {"t": "hello", "v": [3, 1, 2, 40], "device": DEVICE, "app": ""},
        "welcome": {"t": "welcome", "v": 1, "server_time": 1795000000000,
                    "limits": {"frame_preauth": 4096, "frame": 1048576, "depth": 8, "str": 65536,
                               "page_rows": 1000, "batch_ops": 500, "auth_deadline_ms": 10000}},
        "login": {"t": "login", "email": "owner@example.com", "password": "secret"},
        "resume": {"t": "resume", "token": token(0)},
        "auth_ok": {"t": "auth_ok", "principal": {"kind": "staff", "id": ids.specialist, "role": "owner",
                                                  "name": "Olga Ó", "org": ids.location},
                    "token": token(0), "expires_at": 1797000000000},
        "sync_nil": {"t": "sync", "cursor": None},
        "sync_cursor": {"t": "sync", "cursor": cur},
        "ack": {"t": "ack", "cursor": cur},
        "snapshot_begin": {"t": "snapshot_begin", "total": 3},
        "page": {"t": "page", "rows": [row, {"tbl": "location", "id": ids.location, "v": 1,
                                             "f": {"name": "Centre"}}]},
        "snapshot_end": {"t": "snapshot_end", "cursor": cur},
        "changes": {"t": "changes", "ops": [dict(row, op="put"),
                                            {"op": "delete", "tbl": "client", "id": ids.client2},
                                            {"op": "evict", "tbl": "appointment", "id": ids.appointment}],
                    "cursor": cur},
        "synced": {"t": "synced", "cursor": cur},
        "error": {"t": "error", "code": "bad_cursor", "msg": "cursor refused", "fatal": False, "re": "sync"},
        "error_fatal": {"t": "error", "code": "malformed", "msg": "no", "fatal": True, "re": None},
        "push": {"t": "push", "muts": [
            {"mid": 1, "tbl": "client", "id": ids.client, "op": "update", "base": 1,
             "f": {"preferences": "tea", "phone": "+44 1"}, "at": 1795000000000},
            {"mid": 2, "tbl": "client", "id": NEW_ID, "op": "create", "base": 0,
             "f": {"name": "New Client", "email": "new@example.com"}, "at": 1795000000001},
            {"mid": 3, "tbl": "appointment", "id": ids.appointment, "op": "update", "base": 1,
             "f": {"status": "cancelled", "services": [ids.service]}, "at": 1795000000002}],
                 "events": [{"kind": "viewed", "tbl": "client", "id": ids.client, "at": 1795000000003}]},
        "push_events_only": {"t": "push", "muts": [],
                             "events": [{"kind": "viewed", "tbl": "client", "id": ids.client2, "at": 5}]},
        "push_result": {"t": "push_result", "results": [
            {"mid": 1, "status": "applied", "v": 4, "conflicts": {"name": "Other"}},
            {"mid": 2, "status": "rejected", "code": "forbidden", "msg": "no", "current": {"name": "X"}},
            {"mid": 3, "status": "duplicate", "first": {"mid": 3, "status": "applied", "v": 2}}]},
        "audit_query": {"t": "audit_query", "client": ids.client, "before": 0, "limit": 20},
        "audit_query_all": {"t": "audit_query", "client": None, "before": 1000, "limit": 500},
        "manage_list": {"t": "manage", "op": "list_devices"},
        "manage_unknown": {"t": "manage", "op": "revoke_device", "id": NEW_ID},
        "manage_bad_op": {"t": "manage", "op": "explode", "id": "not-a-uuid"},
        "logout": {"t": "logout"},
        "manage_result": {"t": "manage_result", "op": "list_devices", "devices": [
            {"id": DEVICE, "kind": "staff", "principal": ids.specialist, "name": "A", "role": "specialist",
             "app": "x", "first_seen": 1, "last_seen": 2, "last_ack_seq": 3, "revoked": False,
             "signed_in": True}]},
        # portal accounts
        "portal_invite": {"t": "portal_invite", "client": ids.client},
        "portal_invite_bad": {"t": "portal_invite", "client": "not-a-uuid"},
        "portal_forgot": {"t": "portal_forgot", "email": "ana@example.com"},
        "portal_set_password": {"t": "portal_set_password", "token": "ab" * 32, "password": "Zimska-Roza-42"},
        "portal_set_password_weak": {"t": "portal_set_password", "token": "zz", "password": "password"},
        "change_password": {"t": "change_password", "old": "secret", "new": "Zimska-Roza-42"},
        "change_password_weak": {"t": "change_password", "old": "secret", "new": "Password1"},
        # one-purpose links (before sign-in)
        "link_open": {"t": "link", "op": "open", "token": "A" * 22},
        "link_act": {"t": "link", "op": "act", "token": "B" * 22, "granted": True, "stars": 5, "score": 9,
                     "public_ok": False, "text": "Lepo"},
        "portal_result": {"t": "portal_result", "op": "invite", "client": ids.client, "expires_at": 1797000000000},
        "audit_result": {"t": "audit_result", "entries": [
            {"seq": 9, "server_time": 1, "device_time": None, "actor_kind": "staff", "actor_id": ids.specialist,
             "device_id": DEVICE, "action": "update", "entity": "client", "entity_id": ids.client,
             "client_id": ids.client, "location_id": ids.location, "fields": "name",
             "before": "{\"name\":\"A\"}", "after": "{\"name\":\"B\"}"}]},
    }
    return {k: pack(v) for k, v in m.items()}


def hostile():
    """The shapes every reader and decoder must refuse without harm."""
    h = {
        "array32_huge": b"\xdd\xff\xff\xff\xff",
        "map32_huge": b"\xdf\xff\xff\xff\xff",
        "map_count_lies": b"\x81\xa1t\xa4sync\xde\xff\xff",
        "nested_100_arrays": b"\x81\xa1x" + b"\x91" * 100 + b"\xc0",
        "nested_100_maps": b"\x81\xa1x" + b"\x81\xa1k" * 100 + b"\xc0",
        "nested_9": b"\x82\xa1t\xa4push\xa1x" + b"\x91" * 9 + b"\xc0",
        "trailing_after_valid": pack({"t": "sync", "cursor": None}) + b"\x00",
        "two_messages": pack({"t": "sync", "cursor": None}) * 2,
        "type_not_utf8": b"\x81\xa1t\xa2\xc0\xaf",
        "type_overlong_nul": b"\x81\xa1t\xa5sy\xc0\x80c",
        "type_surrogate": b"\x81\xa1t\xa3\xed\xa0\x80",
        "type_nul_inside": b"\x81\xa1t\xa5sy\x00nc",
        "type_4byte_past_max": b"\x81\xa1t\xa4\xf4\x90\x80\x80",
        "key_not_utf8": b"\x82\xa1t\xa4sync\xa2\xff\xfe\xc0",
        "email_not_utf8": b"\x83\xa1t\xa5login\xa5email\xa3a\xe2\x82\xa8password\xa1p",
        "int_negative_total": pack({"t": "snapshot_begin", "total": -1}),
        "int_uint64_max": b"\x82\xa1t\xaesnapshot_begin\xa5total\xcf\xff\xff\xff\xff\xff\xff\xff\xff",
        "int_int64_min": b"\x82\xa1t\xaesnapshot_begin\xa5total\xd3\x80\x00\x00\x00\x00\x00\x00\x00",
        "int_neg_as_int8": b"\x82\xa1t\xaesnapshot_begin\xa5total\xd0\x05",
        "int_as_float": b"\x82\xa1t\xaesnapshot_begin\xa5total\xcb\x40\x08\x00\x00\x00\x00\x00\x00",
        "mid_zero": pack({"t": "push", "muts": [{"mid": 0, "tbl": "client", "id": NEW_ID, "op": "create",
                                                  "base": 0, "f": {}}]}),
        "mid_negative": pack({"t": "push", "muts": [{"mid": -5, "tbl": "client", "id": NEW_ID, "op": "create",
                                                      "base": 0, "f": {}}]}),
        "version_huge": pack({"t": "hello", "v": [2 ** 63 - 1, -1], "device": DEVICE, "app": "x"}),
        "version_uint64": b"\x84\xa1t\xa5hello\xa1v\x91\xcf\xff\xff\xff\xff\xff\xff\xff\xff"
                          b"\xa6device" + pack(DEVICE) + b"\xa3app\xa1x",
        "limit_zero": pack({"t": "audit_query", "client": None, "before": 0, "limit": 0}),
        "cursor_too_long": pack({"t": "sync", "cursor": b"\x01" * 129}),
        "cursor_as_str": pack({"t": "ack", "cursor": "abc"}),
        "cursor_empty": pack({"t": "synced", "cursor": b""}),
        "str32_lies": b"\x81\xa1t\xdb\x7f\xff\xff\xffhello",
        "bin32_lies": b"\x82\xa1t\xa4sync\xa6cursor\xc6\xff\xff\xff\xff\x00",
        "ext_value": b"\x82\xa1t\xa4sync\xa6cursor\xd4\x01\x02",
        "c1_value": b"\x82\xa1t\xa4sync\xa6cursor\xc1",
        "float32_nan": b"\x82\xa1t\xa4sync\xa1x\xca\x7f\xc0\x00\x00",
        "push_501": pack({"t": "push", "muts": [None] * 501}),  # the count is refused before the items
        "page_row_map_value": pack({"t": "page", "rows": [{"tbl": "client", "id": "x", "v": 1,
                                                           "f": {"a": {"b": 1}, "c": b"bin", "d": [1, 2]}}]}),
        "changes_op_bogus": pack({"t": "changes", "ops": [{"op": "smash", "tbl": "c", "id": "x"}], "cursor": b"1"}),
        "changes_put_no_f": pack({"t": "changes", "ops": [{"op": "put", "tbl": "c", "id": "x", "v": 1}],
                                  "cursor": b"1"}),
        "page_with_op": pack({"t": "page", "rows": [{"op": "put", "tbl": "c", "id": "x", "v": 1, "f": {}}]}),
    }
    # a duplicated key: msgpack maps from Python dicts cannot hold one
    h["duplicate_key"] = b"\x83\xa1t\xa5login\xa5email\xa1a\xa5email\xa1b"
    tiny = pack({"t": "auth_ok", "principal": {"kind": "staff", "id": "i", "role": "owner", "name": "n",
                                                "org": "o"}, "token": "t", "expires_at": 1})
    for cut in (1, 5, len(tiny) // 2, len(tiny) - 1):
        h["truncated_auth_ok_%d" % cut] = tiny[:cut]
    return h


def malformed_files():
    out = {}
    for name in sorted(os.listdir(MALFORMED)):
        if name.endswith(".bin"):
            with open(os.path.join(MALFORMED, name), "rb") as f:
                out["malformed_" + name[:-4]] = f.read()
    return out


def write(dirname, name, data):
    os.makedirs(dirname, exist_ok=True)
    with open(os.path.join(dirname, name + ".bin"), "wb") as f:
        f.write(data)


def hello():
    return pack({"t": "hello", "v": [1], "device": DEVICE, "app": "fuzz/1"})


def resume(i):
    return pack({"t": "resume", "token": token(i)})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", help="kartoteka-server binary, to take row ids from a demo database")
    ap.add_argument("--out", default=os.path.join(HERE, "corpus"))
    a = ap.parse_args()
    ids = Ids()
    if a.server:
        ids.load(a.server)
    valid = valid_messages(ids)
    bad = hostile()
    bad.update(malformed_files())

    # proto: option byte, then one message. 0x0f: post-sign-in string limit,
    # nesting 8; 0x00: pre-sign-in limit, nesting 1.
    d = os.path.join(a.out, "proto")
    for name, msg in list(valid.items()) + list(bad.items()):
        write(d, name, b"\x0f" + msg)
    write(d, "valid_hello_preauth", b"\x00" + valid["hello"])

    # client: flags byte (fuzz_client.c), then server messages as frames.
    # 0x00 = fresh connection in KC_UNTIL_SYNCED; 0x01 = already signed in and
    # synced-requested; 0x05 = also pushing; 0x02 = inside a snapshot.
    # The client's cache (fuzz_client.c) holds rows and queued edits with
    # the made-up ids, so its seeds use those.
    d = os.path.join(a.out, "client")
    v = valid_messages(Ids())
    write(d, "session_snapshot", b"\x00" + frames(v["welcome"], v["auth_ok"], v["push_result"], v["snapshot_begin"], v["page"],
                                                  v["snapshot_end"], v["synced"]))
    write(d, "session_changes", b"\x01" + frames(v["changes"], v["synced"], v["changes"]))
    write(d, "session_push_result", b"\x05" + frames(v["push_result"], v["snapshot_begin"], v["page"]))
    write(d, "session_errors", b"\x00" + frames(v["welcome"], v["error"], v["error_fatal"],
                                                pack({"t": "error", "code": "auth_failed", "msg": "no",
                                                      "fatal": False, "re": "resume"})))
    write(d, "session_login_mode", b"\x08" + frames(v["welcome"], v["auth_ok"]))
    write(d, "session_revoked", b"\x01" + frames(pack({"t": "error", "code": "revoked", "msg": "signed out",
                                                      "fatal": True, "re": None})))
    write(d, "session_device_revoked", b"\x01" + frames(pack({"t": "error", "code": "device_revoked",
                                                             "msg": "wipe", "fatal": True, "re": "hello"})))
    write(d, "session_forever", b"\x11" + frames(v["changes"], v["synced"],
                                                 pack({"t": "error", "code": "busy", "msg": "b", "fatal": False,
                                                       "re": "push"})))
    write(d, "session_in_snapshot", b"\x03" + frames(v["page"], v["page"], v["snapshot_end"], v["synced"]))
    write(d, "out_of_order", b"\x00" + frames(v["page"], v["changes"], v["snapshot_end"], v["welcome"]))
    write(d, "unknown_type", b"\x01" + frames(pack({"t": "future_thing", "x": 1}), v["synced"]))
    for name, msg in bad.items():
        write(d, name, b"\x01" + frames(msg, v["synced"]))

    # session: frames from the device. Seeds sign in with a planted token.
    d = os.path.join(a.out, "session")
    v = valid
    for i, role in enumerate(ROLES):
        write(d, "resume_sync_" + role, frames(hello(), resume(i), v["sync_nil"]))
        write(d, "resume_push_" + role, frames(hello(), resume(i), v["push"], v["sync_nil"], v["ack"]))
        write(d, "resume_audit_" + role, frames(hello(), resume(i), v["audit_query"], v["audit_query_all"]))
    for i, role in enumerate(ROLES):
        write(d, "resume_manage_" + role, frames(hello(), resume(i), v["manage_list"], v["manage_unknown"],
                                                 v["manage_bad_op"], v["logout"]))
    for i, role in enumerate(ROLES):  # portal accounts
        write(d, "resume_portal_" + role, frames(hello(), resume(i), v["portal_invite"], v["portal_invite_bad"],
                                                 v["change_password_weak"], v["change_password"],
                                                 v["portal_forgot"]))
    write(d, "preauth_portal", frames(hello(), v["portal_forgot"], v["portal_set_password_weak"],
                                      v["portal_set_password"], v["portal_result"], v["change_password"]))
    write(d, "preauth_link", frames(hello(), v["link_open"], v["link_act"]))
    write(d, "resume_sync_cursor", frames(hello(), resume(0), v["sync_cursor"], v["ack"]))
    write(d, "resume_events_only", frames(hello(), resume(2), v["push_events_only"]))
    write(d, "resume_bad_token", frames(hello(), pack({"t": "resume", "token": "00" * 32}),
                                        pack({"t": "resume", "token": "zz"}), resume(1)))
    write(d, "out_of_order", frames(v["sync_nil"], hello(), hello(), v["push"], resume(0), resume(0),
                                    v["welcome"]))
    write(d, "login_is_skipped", frames(hello(), v["login"], resume(0)))
    write(d, "unknown_type", frames(pack({"t": "future_thing"}), hello()))
    for name, msg in bad.items():
        write(d, "preauth_" + name, frames(hello(), msg))
        # no sync after it: a snapshot per seed would make the replay slow
        write(d, "postauth_" + name, frames(hello(), resume(0), msg, v["audit_query"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
