"""What a principal may see, computed independently of the server's policy
code: plain SQL over the server database, with the field lists written out
from the README ("Access policy") and proto/PROTOCOL.md §7, never from the
server's policy.c. Used to judge client caches."""
import json
import re
import sqlite3
import types
from ktcrypt import Keyring

STAFF_ROLES = ("owner", "manager", "reception", "specialist")

FIELDS = {
    "organisation": {r: ["name", "updated_at", "country", "currency", "language",
                                     "privacy_notice"] for r in STAFF_ROLES + ("client",)},
    "location": {r: ["name", "address", "phone", "time_zone", "updated_at", "closed_at"]
                 for r in STAFF_ROLES + ("client",)},
    "staff": {
        # location_ids: where the person works, from staff_location (below), for every staff role
        "owner": ["display_name", "email", "phone", "role", "active", "updated_at", "location_ids"],
        "manager": ["display_name", "email", "phone", "role", "active", "updated_at", "location_ids"],
        "reception": ["display_name", "role", "updated_at", "location_ids"],
        "specialist": ["display_name", "role", "updated_at", "location_ids"],
        "client": ["display_name", "updated_at"],
    },
    "service": {
        **{r: ["location_id", "name", "duration_min", "price_cents", "updated_at", "location_ids", "specialist_ids",
               "buffer_min"] for r in STAFF_ROLES},
        "client": ["name", "duration_min", "price_cents", "updated_at"],
    },
    # what the booking rules use: clients see when their branches are open; working
    # hours and time off are staff data, a specialist's own only (rows below), and
    # why someone is off is not reception's
    "opening_hours": {r: ["location_id", "weekday", "intervals", "updated_at"] for r in STAFF_ROLES + ("client",)},
    "closed_day": {r: ["location_id", "day", "reason", "updated_at"] for r in STAFF_ROLES + ("client",)},
    "working_hours": {r: ["staff_id", "location_id", "weekday", "intervals", "updated_at"] for r in STAFF_ROLES},
    "time_off": {
        **{r: ["staff_id", "from_at", "to_at", "reason", "updated_at"] for r in ("owner", "manager", "specialist")},
        "reception": ["staff_id", "from_at", "to_at", "updated_at"],
    },
    "client": {
        "owner": ["name", "email", "phone", "birthday", "address", "language", "allergies", "conditions", "medications",
                  "skin_hair_type", "patch_tests", "preferences", "internal_notes", "portal_enabled", "updated_at"],
        "manager": ["name", "email", "phone", "birthday", "address", "language", "allergies", "conditions", "medications",
                    "skin_hair_type", "patch_tests", "preferences", "internal_notes", "portal_enabled", "updated_at"],
        "reception": ["name", "email", "phone", "birthday", "address", "language", "allergy_alert", "preferences",
                      "internal_notes", "portal_enabled", "updated_at"],
        "specialist": ["name", "allergies", "conditions", "medications", "skin_hair_type", "patch_tests",
                       "preferences", "internal_notes", "updated_at"],
        "client": ["name", "email", "phone", "birthday", "address", "language", "allergies", "conditions", "medications",
                   "skin_hair_type", "patch_tests", "preferences", "updated_at"],
    },
    "appointment": {
        **{r: ["location_id", "client_id", "specialist_id", "start_at", "duration_min", "services", "status",
               "client_note", "internal_note", "updated_at", "specialist_name", "service_names", "status_reason"]
            for r in STAFF_ROLES},
        "client": ["location_id", "client_id", "specialist_id", "start_at", "duration_min", "services", "status",
                   "client_note", "updated_at", "specialist_name", "service_names"],
    },
    "visit": {
        **{r: ["location_id", "client_id", "specialist_id", "appointment_id", "visit_date", "services",
               "products_formulas", "treatment_notes", "photos", "updated_at", "specialist_name", "service_names"]
            for r in ("owner", "manager", "specialist")},
        "reception": ["location_id", "client_id", "specialist_id", "appointment_id", "visit_date", "services",
                      "updated_at", "specialist_name", "service_names"],
        "client": ["location_id", "client_id", "specialist_id", "appointment_id", "visit_date", "services",
                   "updated_at", "specialist_name", "service_names"],
    },
    # consent: reception and up every purpose, specialists only photo_use and health_data
    # rows (below), the client their own without the recording staff id
    "consent": {
        **{r: ["client_id", "purpose", "granted", "at", "source", "text_version", "recorded_by", "recorded_kind",
               "updated_at"] for r in STAFF_ROLES},
        "client": ["client_id", "purpose", "granted", "at", "source", "text_version", "recorded_kind",
                   "updated_at"],
    },
    # review: the branch's staff all of it; the client their own, the reply
    # signed by name only, not the salon's highlighted / hidden
    "review": {
        **{r: ["location_id", "client_id", "visit_id", "specialist_id", "stars", "text", "public_ok", "reply",
               "reply_by", "reply_name", "replied_at", "highlighted", "hidden", "created_at", "updated_at"]
           for r in STAFF_ROLES},
        "client": ["location_id", "client_id", "visit_id", "specialist_id", "stars", "text", "public_ok", "reply",
                   "reply_name", "replied_at", "created_at", "updated_at"],
    },
}
SPECIALIST_CONSENTS = ("photo_use", "health_data")
BOOLS = {"active", "portal_enabled", "granted", "public_ok", "highlighted", "hidden"}
LISTS = {"services", "photos", "location_ids", "specialist_ids"}
# the names an appointment or visit was written with: a JSON array in the database (names may hold commas)
JSON_LISTS = {"service_names"}


def principal(db, email):
    """(kind, id, role, org, set of locations) for a sign-in e-mail."""
    con = sqlite3.connect(db)
    row = con.execute("SELECT id, role, org_id FROM staff WHERE email = ? COLLATE NOCASE", (email,)).fetchone()
    if row:
        pid, role, org = row
        if role == "owner":
            locs = {r[0] for r in con.execute("SELECT id FROM location WHERE org_id = ?", (org,))}
        else:
            locs = {r[0] for r in con.execute("SELECT location_id FROM staff_location WHERE staff_id = ?", (pid,))}
        con.close()
        return ("staff", pid, role, org, locs)
    # client e-mails are sealed; sign-in goes by their keyed hash
    pid, org = con.execute("SELECT id, org_id FROM client WHERE email_hash = ? AND portal_enabled = 1",
                           (Keyring(db).email_hash(email),)).fetchone()
    locs = {r[0] for r in con.execute("SELECT location_id FROM client_location WHERE client_id = ?", (pid,))}
    con.close()
    return ("client", pid, "client", org, locs)


def _value(col, v):
    if col in BOOLS:
        return bool(v)
    if col in LISTS:
        return None if v is None else ([x for x in v.split(",")] if v else [])
    if col in JSON_LISTS:
        return None if v is None else json.loads(v)
    return v


def _fields(tbl, role, row):
    out = {}
    for col in FIELDS[tbl][role]:
        if col == "allergy_alert":
            out[col] = bool(row["allergies"])
        else:
            out[col] = _value(col, row[col])
    return out


def expected(db, email):
    """{(tbl, id): (version, fields)} that the principal of email may hold."""
    kind, pid, role, org, locs = principal(db, email)
    con = sqlite3.connect(db)
    kr = Keyring(db)
    out = {}

    def links(sql, rid):
        return {r[0] for r in con.execute(sql, (rid,))}

    def add(tbl, row):
        out[(tbl, row["id"])] = (row["version"], _fields(tbl, role, row))

    def rows(tbl, where, arg):
        # personal values are sealed with each client's key: opened here
        # with ktcrypt (written from the format, not from the server's code)
        return kr.rows(con, "SELECT * FROM %s WHERE %s = ?" % (tbl, where), (arg,), tbl)

    for r in rows("organisation", "id", org):
        add("organisation", r)
    for r in rows("location", "org_id", org):
        if r["id"] in locs:
            add("location", r)
    for r in rows("staff", "org_id", org):
        s_locs = links("SELECT location_id FROM staff_location WHERE staff_id = ?", r["id"])
        if role == "owner":
            ok = True
        elif role == "client":
            ok = r["role"] == "specialist" and r["active"] == 1 and bool(s_locs & locs)
        else:  # an owner's row is at every branch and the owners' alone
            ok = bool(s_locs & locs) and r["role"] != "owner"
        if ok:
            # the derived list, taken from the links and not from the server's copy of them
            r = dict(r)
            r["location_ids"] = ",".join(sorted(s_locs))
            add("staff", r)
    for r in rows("service", "org_id", org):
        # its locations: the list, else (a row from before the list) its one location, else every one
        offered = set((r["location_ids"] or "").split(",")) - {""} or ({r["location_id"]} - {None})
        if role != "client" or not offered or offered & locs:
            add("service", r)
    for tbl in ("opening_hours", "closed_day"):
        for r in rows(tbl, "org_id", org):
            if role == "owner" or r["location_id"] in locs:
                add(tbl, r)
    if role != "client":
        for r in rows("working_hours", "org_id", org):
            if role == "owner" or (r["location_id"] in locs and (role != "specialist" or r["staff_id"] == pid)):
                add("working_hours", r)
        for r in rows("time_off", "org_id", org):
            s_locs = links("SELECT location_id FROM staff_location WHERE staff_id = ?", r["staff_id"])
            s_role = con.execute("SELECT role FROM staff WHERE id = ?", (r["staff_id"],)).fetchone()[0]
            if role == "owner" or (s_locs & locs and s_role != "owner" and
                                   (role != "specialist" or r["staff_id"] == pid)):
                add("time_off", r)
    for r in rows("client", "org_id", org):
        c_locs = links("SELECT location_id FROM client_location WHERE client_id = ?", r["id"])
        if role == "owner" or (role == "client" and r["id"] == pid) or (
                role not in ("owner", "client") and c_locs & locs):
            add("client", r)
    for tbl in ("appointment", "visit", "review"):
        for r in rows(tbl, "org_id", org):
            if role == "owner" or (role == "client" and r["client_id"] == pid) or (
                    role not in ("owner", "client") and r["location_id"] in locs):
                add(tbl, r)
    for r in rows("consent", "org_id", org):
        c_locs = links("SELECT location_id FROM client_location WHERE client_id = ?", r["client_id"])
        if role == "owner" or (role == "client" and r["client_id"] == pid) or (
                role not in ("owner", "client") and c_locs & locs and
                (role != "specialist" or r["purpose"] in SPECIALIST_CONSENTS)):
            add("consent", r)
    con.close()
    return out


def diff(expected_rows, cache_rows):
    """A readable description of the first difference, or None."""
    missing = sorted(set(expected_rows) - set(cache_rows))
    extra = sorted(set(cache_rows) - set(expected_rows))
    if missing:
        return "%d missing rows, first %s" % (len(missing), missing[0])
    if extra:
        return "%d extra rows, first %s: %s" % (len(extra), extra[0], cache_rows[extra[0]])
    for key in sorted(expected_rows):
        ev, ef = expected_rows[key]
        cv, cf = cache_rows[key]
        if set(cf) - set(ef):
            return "%s: forbidden fields %s" % (key, sorted(set(cf) - set(ef)))
        if set(ef) - set(cf):
            return "%s: missing fields %s" % (key, sorted(set(ef) - set(cf)))
        for f in ef:
            if ef[f] != cf[f] or type(ef[f]) != type(cf[f]):
                return "%s: field %s is %r, expected %r" % (key, f, cf[f], ef[f])
        if ev != cv:
            return "%s: version %r, expected %r" % (key, cv, ev)
    return None


# ---- organisations (the adversarial suite): what lies inside and outside a principal's reach ----

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ORG_TABLES = ("location", "staff", "service", "client", "appointment", "visit", "consent", "opening_hours",
              "closed_day", "working_hours", "time_off")


def organisations(db):
    """{org id: name}."""
    con = sqlite3.connect(db)
    out = dict(con.execute("SELECT id, name FROM organisation"))
    con.close()
    return out


def allowed_fields(tbl, role):
    """The field names a role may receive of a table (plus the row's own keys)."""
    return set(FIELDS.get(tbl, {}).get(role, ()))


def org_ids(db, org):
    """Every id that belongs to organisation org: its rows of every table, the
    devices of its people and the ids its audit log names."""
    con = sqlite3.connect(db)
    ids = {org}
    for tbl in ORG_TABLES:
        ids |= {r[0] for r in con.execute("SELECT id FROM %s WHERE org_id = ?" % tbl, (org,))}
    ids |= {r[0] for r in con.execute(
        "SELECT d.id FROM device d WHERE d.principal_id IN (SELECT id FROM staff WHERE org_id = ?"
        " UNION SELECT id FROM client WHERE org_id = ?)", (org, org))}
    for row in con.execute("SELECT entity_id, actor_id, device_id, client_id, location_id FROM audit"
                           " WHERE org_id = ?", (org,)):
        ids |= {x for x in row if x}
    con.close()
    return ids


def foreign_ids(db, org):
    """Every id of every other organisation (rows, devices, audit): none of them
    may ever reach a device of org."""
    out = set()
    for other in organisations(db):
        if other != org:
            out |= org_ids(db, other)
    return out - org_ids(db, org)


def devices_of(db, pid):
    """The device ids registered to one person."""
    con = sqlite3.connect(db)
    out = {r[0] for r in con.execute("SELECT id FROM device WHERE principal_id = ?", (pid,))}
    con.close()
    return out


def view(db, email):
    """Everything the suite needs to judge what reaches one principal: kind, id,
    role, org, locs, rows (as expected()), visible_ids (the ids of those rows,
    the ids their visible fields name, the principal, its organisation and
    locations) and foreign (ids of other organisations)."""
    kind, pid, role, org, locs = principal(db, email)
    rows = expected(db, email)
    ids = {pid, org} | set(locs)
    for (tbl, rid), (_, fields) in rows.items():
        ids.add(rid)
        for v in fields.values():  # ids a visible field names, also inside text ("photo:ID.jpg")
            for x in (v if isinstance(v, list) else [v]):
                if isinstance(x, str):
                    ids |= set(UUID_RE.findall(x))
    return types.SimpleNamespace(kind=kind, id=pid, role=role, org=org, locs=locs, rows=rows,
                                 visible_ids=ids, foreign=foreign_ids(db, org))


def audit_visible(db, view_, entry):
    """Whether an audit entry may be shown to the principal of view_: owners
    their organisation's, managers those at their locations or about clients
    known there (PROTOCOL.md audit_query)."""
    if view_.role == "owner":
        return True
    if view_.role != "manager":
        return False
    if entry.get("location_id") in view_.locs:
        return True
    cid = entry.get("client_id")
    if not cid:
        return False
    con = sqlite3.connect(db)
    known = con.execute("SELECT 1 FROM client_location WHERE client_id = ? AND location_id IN (%s)"
                        % ",".join("?" * len(view_.locs)), (cid, *view_.locs)).fetchone()
    con.close()
    return bool(known)
