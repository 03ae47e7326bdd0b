/* schema.c - migrations. Conventions: ids are UUIDv7 text; times are
 * milliseconds since the Unix epoch, UTC; lists (service ids, photo refs,
 * location sets in the change log) are comma-separated text, elements never
 * contain commas. Every synced table has `version` (bumped on each change)
 * and `updated_at`. Every column must have an entry in policy.c. */
#include "db/schema.h"

const char *const kt_migrations[] = {
	/* 1: foundation */
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);"
	"CREATE TABLE organisation("
	" id TEXT PRIMARY KEY, name TEXT NOT NULL,"
	" version INTEGER NOT NULL DEFAULT 1, updated_at INTEGER NOT NULL);"
	"CREATE TABLE location("
	" id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES organisation(id),"
	" name TEXT NOT NULL, address TEXT, phone TEXT, time_zone TEXT NOT NULL,"
	" version INTEGER NOT NULL DEFAULT 1, updated_at INTEGER NOT NULL);"
	"CREATE TABLE staff("
	" id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES organisation(id),"
	" display_name TEXT NOT NULL, email TEXT NOT NULL UNIQUE COLLATE NOCASE, phone TEXT,"
	" role TEXT NOT NULL CHECK(role IN ('owner','manager','reception','specialist')),"
	" active INTEGER NOT NULL DEFAULT 1, password_hash TEXT,"
	" version INTEGER NOT NULL DEFAULT 1, updated_at INTEGER NOT NULL);"
	"CREATE TABLE staff_location("
	" staff_id TEXT NOT NULL REFERENCES staff(id), location_id TEXT NOT NULL REFERENCES location(id),"
	" PRIMARY KEY(staff_id, location_id)) WITHOUT ROWID;"
	"CREATE INDEX staff_location_loc ON staff_location(location_id);"
	"CREATE TABLE client("
	" id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES organisation(id),"
	" name TEXT NOT NULL, email TEXT COLLATE NOCASE, phone TEXT, birthday TEXT, address TEXT,"
	" allergies TEXT, conditions TEXT, medications TEXT, skin_hair_type TEXT, patch_tests TEXT,"
	" preferences TEXT, internal_notes TEXT,"
	" portal_enabled INTEGER NOT NULL DEFAULT 0, password_hash TEXT,"
	" version INTEGER NOT NULL DEFAULT 1, updated_at INTEGER NOT NULL);"
	"CREATE UNIQUE INDEX client_portal_email ON client(email) WHERE portal_enabled = 1;"
	"CREATE INDEX client_org ON client(org_id);"
	"CREATE TABLE client_location("
	" client_id TEXT NOT NULL REFERENCES client(id), location_id TEXT NOT NULL REFERENCES location(id),"
	" PRIMARY KEY(client_id, location_id)) WITHOUT ROWID;"
	"CREATE INDEX client_location_loc ON client_location(location_id);"
	"CREATE TABLE service("
	" id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES organisation(id),"
	" location_id TEXT REFERENCES location(id), name TEXT NOT NULL,"
	" duration_min INTEGER NOT NULL, price_cents INTEGER NOT NULL,"
	" version INTEGER NOT NULL DEFAULT 1, updated_at INTEGER NOT NULL);"
	"CREATE TABLE appointment("
	" id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES organisation(id),"
	" location_id TEXT NOT NULL REFERENCES location(id), client_id TEXT NOT NULL REFERENCES client(id),"
	" specialist_id TEXT NOT NULL REFERENCES staff(id), start_at INTEGER NOT NULL,"
	" duration_min INTEGER NOT NULL, services TEXT NOT NULL,"
	" status TEXT NOT NULL CHECK(status IN ('booked','confirmed','cancelled','no_show','done')),"
	" client_note TEXT, internal_note TEXT,"
	" version INTEGER NOT NULL DEFAULT 1, updated_at INTEGER NOT NULL);"
	"CREATE INDEX appointment_loc ON appointment(location_id, start_at);"
	"CREATE INDEX appointment_client ON appointment(client_id);"
	"CREATE INDEX appointment_specialist ON appointment(specialist_id, start_at);"
	"CREATE TABLE visit("
	" id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES organisation(id),"
	" location_id TEXT NOT NULL REFERENCES location(id), client_id TEXT NOT NULL REFERENCES client(id),"
	" specialist_id TEXT NOT NULL REFERENCES staff(id), appointment_id TEXT REFERENCES appointment(id),"
	" visit_date TEXT NOT NULL, services TEXT NOT NULL, products_formulas TEXT, treatment_notes TEXT,"
	" photos TEXT,"
	" version INTEGER NOT NULL DEFAULT 1, updated_at INTEGER NOT NULL);"
	"CREATE INDEX visit_loc ON visit(location_id);"
	"CREATE INDEX visit_client ON visit(client_id);"
	/* The change log: one row per row change, written in the same transaction.
	 * loc_old/loc_new/client_old/client_new are the routing keys before and
	 * after, so devices that lose sight of a row can be sent an eviction.
	 * loc_* is a comma list of location ids, '*' for every location of the
	 * organisation, '' for none. */
	"CREATE TABLE changelog("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT, org_id TEXT NOT NULL, tbl TEXT NOT NULL,"
	" row_id TEXT NOT NULL, op TEXT NOT NULL CHECK(op IN ('put','delete')),"
	" loc_old TEXT NOT NULL DEFAULT '', loc_new TEXT NOT NULL DEFAULT '',"
	" client_old TEXT, client_new TEXT, at INTEGER NOT NULL);"
	"CREATE TABLE auth_session("
	" token_hash BLOB PRIMARY KEY, kind TEXT NOT NULL CHECK(kind IN ('staff','client')),"
	" principal_id TEXT NOT NULL, device_id TEXT NOT NULL, created_at INTEGER NOT NULL,"
	" expires_at INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX auth_session_principal ON auth_session(principal_id);"
	"CREATE TABLE device("
	" id TEXT PRIMARY KEY, kind TEXT NOT NULL, principal_id TEXT NOT NULL, app TEXT,"
	" first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
	" last_ack_seq INTEGER NOT NULL DEFAULT 0, revoked INTEGER NOT NULL DEFAULT 0);",

	/* 2: the audit log. Append-only, hash-chained per organisation: hash =
	 * BLAKE2b-256(prev_hash || every other column, length-prefixed), see
	 * audit.c. before/after are JSON objects of the changed fields. */
	"CREATE TABLE audit("
	" seq INTEGER PRIMARY KEY, org_id TEXT NOT NULL,"
	" actor_kind TEXT NOT NULL, actor_id TEXT, device_id TEXT,"
	" action TEXT NOT NULL, entity TEXT NOT NULL, entity_id TEXT NOT NULL,"
	" client_id TEXT, location_id TEXT, fields TEXT, before TEXT, after TEXT,"
	" device_time INTEGER, server_time INTEGER NOT NULL,"
	" prev_hash BLOB NOT NULL, hash BLOB NOT NULL);"
	"CREATE INDEX audit_org ON audit(org_id, seq);"
	"CREATE INDEX audit_client ON audit(client_id, seq);"
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN"
	" SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN"
	" SELECT RAISE(ABORT, 'the audit log is append-only'); END;",

	/* 3: what device pushes need. field_version: the row version at which
	 * each field last changed (absent = unchanged since creation), so a
	 * mutation based on version B conflicts exactly on the fields changed
	 * after B. mutation: the first answer to each (device, mutation id),
	 * written in the same transaction as the change, so a replay gets the
	 * same answer and changes nothing. */
	"CREATE TABLE field_version("
	" tbl TEXT NOT NULL, row_id TEXT NOT NULL, field TEXT NOT NULL, version INTEGER NOT NULL,"
	" PRIMARY KEY(tbl, row_id, field)) WITHOUT ROWID;"
	"CREATE TABLE mutation("
	" device_id TEXT NOT NULL, mid INTEGER NOT NULL, result BLOB NOT NULL, at INTEGER NOT NULL,"
	" PRIMARY KEY(device_id, mid)) WITHOUT ROWID;",

	/* 4: which device made each field's last change: a device's own earlier
	 * edits are not concurrent with its later ones */
	"ALTER TABLE field_version ADD COLUMN device_id TEXT;",

	/* 5: access taken away. One entry per sign-out, lost device or
	 * deactivated person, so that every running server (whichever process
	 * wrote it) closes the affected connections: kind 'session' = a
	 * device's sessions (target: device id), 'device' = a revoked device
	 * (it must wipe its data), 'principal' = every session of a person. */
	"CREATE TABLE revocation("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" kind TEXT NOT NULL CHECK(kind IN ('session','device','principal')),"
	" target TEXT NOT NULL, at INTEGER NOT NULL);",

	/* 6: encryption at rest (keyring.h). Personal columns now hold sealed
	 * BLOBs, so the portal login's unique e-mail index moves to a keyed
	 * hash of the address; store.c seals rows written before this on open. */
	"ALTER TABLE client ADD COLUMN email_hash TEXT;"
	"DROP INDEX client_portal_email;"
	"CREATE UNIQUE INDEX client_portal_email_hash ON client(email_hash) WHERE portal_enabled = 1;",

	/* 7: consent records (GDPR Art. 7), one row per grant or
	 * withdrawal; the state of (client, purpose) is its latest entry by
	 * `at` (ties: a withdrawal wins, then the larger id), see consent.c.
	 * `at` is when the person gave or withdrew it; recorded_by is the staff
	 * member, the client (recorded_kind 'client'), or NULL for the operator's
	 * command line. Append-only: rows are never updated (the trigger).
	 * Deliberately no DELETE trigger: erasure (Art. 17) deletes a client's
	 * consent rows together with the client. */
	"CREATE TABLE consent("
	" id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES organisation(id),"
	" client_id TEXT NOT NULL REFERENCES client(id),"
	" purpose TEXT NOT NULL CHECK(purpose IN ('marketing_email','marketing_sms','birthday_greetings',"
	"'review_requests','photo_use','health_data')),"
	" granted INTEGER NOT NULL CHECK(granted IN (0, 1)), at INTEGER NOT NULL,"
	" source TEXT NOT NULL CHECK(source IN ('in_salon','portal','email_link')),"
	" text_version TEXT NOT NULL, recorded_by TEXT,"
	" recorded_kind TEXT NOT NULL CHECK(recorded_kind IN ('staff','client','operator')),"
	" version INTEGER NOT NULL DEFAULT 1, updated_at INTEGER NOT NULL);"
	"CREATE INDEX consent_client ON consent(client_id, purpose, at);"
	"CREATE TRIGGER consent_no_update BEFORE UPDATE ON consent BEGIN"
	" SELECT RAISE(ABORT, 'consent history is append-only'); END;",

	/* 8: erasures (Art. 17) and their purge receipts.
	 * erasure: one row per request or erasure of a client; status
	 * 'pending' (asked for, waiting for an owner) or 'done'; seq = the
	 * change-log seq of the erasure's last change: a device whose
	 * acknowledged cursor reaches it has applied every delete of it.
	 * requested_by/confirmed_by: 'client:<id>', 'staff:<id>', 'operator'
	 * or 'retention'. No personal data here: the client id stays as a
	 * pseudonym so that the owner can ask for the status.
	 * erasure_device: the devices that must purge, recorded at erasure
	 * time; purged_at is set when the device acknowledges seq
	 * (store_device_ack). erasure_placeholder: per organisation the
	 * client row that appointments kept for accounting point to. */
	"CREATE TABLE erasure("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, client_id TEXT NOT NULL, org_id TEXT NOT NULL,"
	" status TEXT NOT NULL CHECK(status IN ('pending','done')),"
	" requested_at INTEGER NOT NULL, requested_by TEXT NOT NULL,"
	" confirmed_by TEXT, done_at INTEGER, seq INTEGER);"
	"CREATE UNIQUE INDEX erasure_pending ON erasure(client_id) WHERE status = 'pending';"
	"CREATE INDEX erasure_client ON erasure(client_id, id);"
	"CREATE TABLE erasure_device("
	" erasure_id INTEGER NOT NULL REFERENCES erasure(id), device_id TEXT NOT NULL,"
	" kind TEXT NOT NULL, principal_id TEXT NOT NULL, role TEXT NOT NULL, seq INTEGER NOT NULL,"
	" purged_at INTEGER, PRIMARY KEY(erasure_id, device_id)) WITHOUT ROWID;"
	"CREATE INDEX erasure_device_open ON erasure_device(device_id, seq) WHERE purged_at IS NULL;"
	"CREATE TABLE erasure_placeholder(org_id TEXT PRIMARY KEY, client_id TEXT NOT NULL);",

	/* 9: portal accounts: password-setup tokens and the outbox.
	 * setup_token: only a keyed hash of each token is kept; a token is
	 * usable once, until expires_at, and only while it is the client's
	 * newest (replaced_at set when a newer link was sent). outbox: mail
	 * to deliver (mail.c); to_addr and body are personal data and never
	 * logged; both are wiped once the mail is sent, given up or dropped
	 * (a setup mail's body holds a live token). */
	"CREATE TABLE setup_token("
	" token_hash BLOB PRIMARY KEY, client_id TEXT NOT NULL, org_id TEXT NOT NULL,"
	" created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
	" used_at INTEGER, replaced_at INTEGER);"
	"CREATE INDEX setup_token_client ON setup_token(client_id);"
	"CREATE TABLE outbox("
	" id INTEGER PRIMARY KEY, org_id TEXT NOT NULL, client_id TEXT, purpose TEXT NOT NULL,"
	" to_addr TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL,"
	" state TEXT NOT NULL DEFAULT 'queued'"
	"  CHECK(state IN ('queued','sending','sent','failed','dropped')),"
	" attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL, created_at INTEGER NOT NULL,"
	" sent_at INTEGER, last_error TEXT);"
	"CREATE INDEX outbox_due ON outbox(state, next_at);"
	"CREATE INDEX outbox_client ON outbox(client_id);",
	/* 10: field versions move into the row they describe (a column
	 * field_versions: "field:version:device" entries joined by ',', the
	 * device empty when unknown; absent = unchanged since creation, as
	 * before). The row's page is written by every update anyway, so a
	 * change no longer writes one more random B-tree page (a WAL frame)
	 * for its field_version rows. Consents are never updated. */
	"ALTER TABLE organisation ADD COLUMN field_versions TEXT;"
	"ALTER TABLE location ADD COLUMN field_versions TEXT;"
	"ALTER TABLE staff ADD COLUMN field_versions TEXT;"
	"ALTER TABLE service ADD COLUMN field_versions TEXT;"
	"ALTER TABLE client ADD COLUMN field_versions TEXT;"
	"ALTER TABLE appointment ADD COLUMN field_versions TEXT;"
	"ALTER TABLE visit ADD COLUMN field_versions TEXT;"
	"UPDATE organisation SET field_versions = (SELECT group_concat(field || ':' || version || ':' || "
	"coalesce(device_id, ''), ',') FROM field_version WHERE tbl = 'organisation' AND row_id = organisation.id) "
	"WHERE id IN (SELECT row_id FROM field_version WHERE tbl = 'organisation');"
	"UPDATE location SET field_versions = (SELECT group_concat(field || ':' || version || ':' || "
	"coalesce(device_id, ''), ',') FROM field_version WHERE tbl = 'location' AND row_id = location.id) "
	"WHERE id IN (SELECT row_id FROM field_version WHERE tbl = 'location');"
	"UPDATE staff SET field_versions = (SELECT group_concat(field || ':' || version || ':' || "
	"coalesce(device_id, ''), ',') FROM field_version WHERE tbl = 'staff' AND row_id = staff.id) "
	"WHERE id IN (SELECT row_id FROM field_version WHERE tbl = 'staff');"
	"UPDATE service SET field_versions = (SELECT group_concat(field || ':' || version || ':' || "
	"coalesce(device_id, ''), ',') FROM field_version WHERE tbl = 'service' AND row_id = service.id) "
	"WHERE id IN (SELECT row_id FROM field_version WHERE tbl = 'service');"
	"UPDATE client SET field_versions = (SELECT group_concat(field || ':' || version || ':' || "
	"coalesce(device_id, ''), ',') FROM field_version WHERE tbl = 'client' AND row_id = client.id) "
	"WHERE id IN (SELECT row_id FROM field_version WHERE tbl = 'client');"
	"UPDATE appointment SET field_versions = (SELECT group_concat(field || ':' || version || ':' || "
	"coalesce(device_id, ''), ',') FROM field_version WHERE tbl = 'appointment' AND row_id = appointment.id) "
	"WHERE id IN (SELECT row_id FROM field_version WHERE tbl = 'appointment');"
	"UPDATE visit SET field_versions = (SELECT group_concat(field || ':' || version || ':' || "
	"coalesce(device_id, ''), ',') FROM field_version WHERE tbl = 'visit' AND row_id = visit.id) "
	"WHERE id IN (SELECT row_id FROM field_version WHERE tbl = 'visit');"
	"DROP TABLE field_version;"
	/* ...and the audit log's index by client leads with the entry's block
	 * of 1,024 (seq >> 10): new entries land in the few pages of the
	 * current block instead of one random page per client, another WAL
	 * frame saved per change. A client's history is read block by block
	 * (audit.c, CLIENT_BLOCKS). */
	"DROP INDEX audit_client;"
	"CREATE INDEX audit_client_block ON audit(seq >> 10, client_id);",

	/* 11: the change log without AUTOINCREMENT. AUTOINCREMENT made every
	 * insert scan and rewrite its row in sqlite_sequence, a cost on every
	 * pushed edit. It only differs from a plain
	 * INTEGER PRIMARY KEY when the highest row is deleted, and change log
	 * rows are never deleted, so seq still only grows and is never
	 * reused. The rows keep their seq, so devices' cursors stay valid. */
	"CREATE TABLE changelog_11("
	" seq INTEGER PRIMARY KEY, org_id TEXT NOT NULL, tbl TEXT NOT NULL,"
	" row_id TEXT NOT NULL, op TEXT NOT NULL CHECK(op IN ('put','delete')),"
	" loc_old TEXT NOT NULL DEFAULT '', loc_new TEXT NOT NULL DEFAULT '',"
	" client_old TEXT, client_new TEXT, at INTEGER NOT NULL);"
	"INSERT INTO changelog_11 SELECT seq, org_id, tbl, row_id, op, loc_old, loc_new, client_old, client_new, at"
	" FROM changelog ORDER BY seq;"
	"DROP TABLE changelog;"
	"ALTER TABLE changelog_11 RENAME TO changelog;",

	/* 12: a device marked lost (revoke_mark_lost): when and by whom, so an
	 * erasure stops waiting for a purge receipt it will never get. */
	"ALTER TABLE device ADD COLUMN lost_at INTEGER;"
	"ALTER TABLE device ADD COLUMN lost_by TEXT;",

	/* 13: a client's e-mail address changed (portal.c, portal_email_changed).
	 * One row per client, the latest change: changed_at starts the hold
	 * during which only owners and managers send setup links to the
	 * address. suspended: the client has a portal account, which nobody
	 * can use until the client confirms the new address (a link sent to
	 * it, plus their password); old_email_hash is the keyed hash of the
	 * address the account signed in with, so that a sign-in with it is
	 * told why. confirm_queued_at: the mail worker has sent the link.
	 * setup_token.purpose tells password links from confirmation links. */
	"CREATE TABLE email_change("
	" client_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, changed_at INTEGER NOT NULL,"
	" old_email_hash TEXT, suspended INTEGER NOT NULL DEFAULT 0,"
	" confirm_queued_at INTEGER, confirmed_at INTEGER);"
	"CREATE INDEX email_change_unplanned ON email_change(client_id)"
	" WHERE suspended = 1 AND confirm_queued_at IS NULL;"
	"CREATE INDEX email_change_old ON email_change(old_email_hash) WHERE suspended = 1;"
	"ALTER TABLE setup_token ADD COLUMN purpose TEXT NOT NULL DEFAULT 'setup'"
	" CHECK(purpose IN ('setup','confirm_email'));",

	/* 14: a device id belongs to one person at a time. released_at: when
	 * its person signed out on it (or the salon signed it out); until then
	 * nobody else may sign in with it (store_device_seen). Stored push
	 * answers are the person's, not the device id's: whoever borrows an id
	 * neither reads them nor takes the mids. Rows from before are given
	 * the person the device was registered to then ('' if none). */
	"ALTER TABLE device ADD COLUMN released_at INTEGER;"
	"CREATE TABLE mutation_14("
	" principal_id TEXT NOT NULL, device_id TEXT NOT NULL, mid INTEGER NOT NULL, result BLOB NOT NULL,"
	" at INTEGER NOT NULL, PRIMARY KEY(principal_id, device_id, mid)) WITHOUT ROWID;"
	"INSERT INTO mutation_14 SELECT coalesce((SELECT d.principal_id FROM device d WHERE d.id = m.device_id), ''),"
	" m.device_id, m.mid, m.result, m.at FROM mutation m;"
	"DROP TABLE mutation;"
	"ALTER TABLE mutation_14 RENAME TO mutation;",

	/* 15: a counter of changes to anyone's rights (staff role, active,
	 * locations; a client's portal access). Every request of a signed-in
	 * session compares it with the value its principal was read at, and
	 * the push writer does so in its own transaction, so a demotion made
	 * by any process counts for the next request (server/sync/rights.c). */
	"CREATE TABLE rights_gen(id INTEGER PRIMARY KEY CHECK(id = 1), gen INTEGER NOT NULL);"
	"INSERT INTO rights_gen VALUES(1, 0);"
	"CREATE TRIGGER rights_staff_upd AFTER UPDATE OF role, active, org_id ON staff"
	" WHEN old.role IS NOT new.role OR old.active IS NOT new.active OR old.org_id IS NOT new.org_id"
	" BEGIN UPDATE rights_gen SET gen = gen + 1; END;"
	"CREATE TRIGGER rights_staff_del AFTER DELETE ON staff BEGIN UPDATE rights_gen SET gen = gen + 1; END;"
	"CREATE TRIGGER rights_staff_loc_ins AFTER INSERT ON staff_location"
	" BEGIN UPDATE rights_gen SET gen = gen + 1; END;"
	"CREATE TRIGGER rights_staff_loc_del AFTER DELETE ON staff_location"
	" BEGIN UPDATE rights_gen SET gen = gen + 1; END;"
	"CREATE TRIGGER rights_staff_loc_upd AFTER UPDATE ON staff_location"
	" BEGIN UPDATE rights_gen SET gen = gen + 1; END;"
	"CREATE TRIGGER rights_client_upd AFTER UPDATE OF portal_enabled ON client"
	" WHEN old.portal_enabled IS NOT new.portal_enabled BEGIN UPDATE rights_gen SET gen = gen + 1; END;"
	"CREATE TRIGGER rights_client_del AFTER DELETE ON client WHEN old.portal_enabled"
	" BEGIN UPDATE rights_gen SET gen = gen + 1; END;",

	/* 16: consents brought in with a client list from other software
	 * (domain/import.c) are recorded with source 'import', so the proof
	 * says where they came from. SQLite cannot change a CHECK in place:
	 * the table is copied, its index and trigger made again. */
	"CREATE TABLE consent_16("
	" id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES organisation(id),"
	" client_id TEXT NOT NULL REFERENCES client(id),"
	" purpose TEXT NOT NULL CHECK(purpose IN ('marketing_email','marketing_sms','birthday_greetings',"
	"'review_requests','photo_use','health_data')),"
	" granted INTEGER NOT NULL CHECK(granted IN (0, 1)), at INTEGER NOT NULL,"
	" source TEXT NOT NULL CHECK(source IN ('in_salon','portal','email_link','import')),"
	" text_version TEXT NOT NULL, recorded_by TEXT,"
	" recorded_kind TEXT NOT NULL CHECK(recorded_kind IN ('staff','client','operator')),"
	" version INTEGER NOT NULL DEFAULT 1, updated_at INTEGER NOT NULL);"
	"INSERT INTO consent_16(id, org_id, client_id, purpose, granted, at, source, text_version, recorded_by,"
	" recorded_kind, version, updated_at) SELECT id, org_id, client_id, purpose, granted, at, source,"
	" text_version, recorded_by, recorded_kind, version, updated_at FROM consent;"
	"DROP TABLE consent;"
	"ALTER TABLE consent_16 RENAME TO consent;"
	"CREATE INDEX consent_client ON consent(client_id, purpose, at);"
	"CREATE TRIGGER consent_no_update BEFORE UPDATE ON consent BEGIN"
	" SELECT RAISE(ABORT, 'consent history is append-only'); END;",
	/* 17: what the booking rules need (ops.c). Times of day are local
	 * wall-clock "HH:MM" at the location (its time_zone); intervals is a
	 * comma list of "HH:MM-HH:MM", ascending and apart, so a lunch break is
	 * two intervals; a row with no intervals is a day off. weekday is ISO:
	 * 1 Monday .. 7 Sunday. A location or a person with no rows at all has
	 * no hours set, and nothing is refused for them. time_off holds
	 * instants (ms UTC, as appointment.start_at): [from_at, to_at).
	 * service: location_ids (comma list; empty = every location) replaces
	 * location_id, which the server keeps equal to the only location, or
	 * NULL, for devices that predate the list; specialist_ids (empty =
	 * anyone at the location); buffer_min after the service. */
	"CREATE TABLE opening_hours("
	" id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES organisation(id),"
	" location_id TEXT NOT NULL REFERENCES location(id),"
	" weekday INTEGER NOT NULL CHECK(weekday BETWEEN 1 AND 7), intervals TEXT NOT NULL DEFAULT '',"
	" version INTEGER NOT NULL DEFAULT 1, updated_at INTEGER NOT NULL, field_versions TEXT);"
	"CREATE UNIQUE INDEX opening_hours_day ON opening_hours(location_id, weekday);"
	"CREATE TABLE closed_day("
	" id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES organisation(id),"
	" location_id TEXT NOT NULL REFERENCES location(id), day TEXT NOT NULL, reason TEXT,"
	" version INTEGER NOT NULL DEFAULT 1, updated_at INTEGER NOT NULL, field_versions TEXT);"
	"CREATE UNIQUE INDEX closed_day_day ON closed_day(location_id, day);"
	"CREATE TABLE working_hours("
	" id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES organisation(id),"
	" staff_id TEXT NOT NULL REFERENCES staff(id), location_id TEXT NOT NULL REFERENCES location(id),"
	" weekday INTEGER NOT NULL CHECK(weekday BETWEEN 1 AND 7), intervals TEXT NOT NULL DEFAULT '',"
	" version INTEGER NOT NULL DEFAULT 1, updated_at INTEGER NOT NULL, field_versions TEXT);"
	"CREATE UNIQUE INDEX working_hours_day ON working_hours(staff_id, location_id, weekday);"
	"CREATE INDEX working_hours_loc ON working_hours(location_id);"
	"CREATE TABLE time_off("
	" id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES organisation(id),"
	" staff_id TEXT NOT NULL REFERENCES staff(id), from_at INTEGER NOT NULL, to_at INTEGER NOT NULL,"
	" reason TEXT, version INTEGER NOT NULL DEFAULT 1, updated_at INTEGER NOT NULL, field_versions TEXT,"
	" CHECK(from_at < to_at));"
	"CREATE INDEX time_off_staff ON time_off(staff_id, from_at);"
	"ALTER TABLE service ADD COLUMN location_ids TEXT;"
	"ALTER TABLE service ADD COLUMN specialist_ids TEXT;"
	"ALTER TABLE service ADD COLUMN buffer_min INTEGER NOT NULL DEFAULT 0;"
	"UPDATE service SET location_ids = location_id WHERE location_id IS NOT NULL;",
	/* 18: a salon set up from zero (domain/org.c, staff.c). The
	 * organisation's country (ISO 3166 alpha-2), currency (ISO 4217) and
	 * default language; a location's closed_at (closed branches stay for
	 * their history but take no new bookings). setup_token also carries
	 * staff password links (purpose 'staff_setup'; client_id then holds
	 * the staff id): rebuilt, since SQLite cannot widen a CHECK. */
	"ALTER TABLE organisation ADD COLUMN country TEXT;"
	"ALTER TABLE organisation ADD COLUMN currency TEXT;"
	"ALTER TABLE organisation ADD COLUMN language TEXT;"
	"ALTER TABLE location ADD COLUMN closed_at INTEGER;"
	"CREATE TABLE setup_token_18("
	" token_hash BLOB PRIMARY KEY, client_id TEXT NOT NULL, org_id TEXT NOT NULL,"
	" created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
	" used_at INTEGER, replaced_at INTEGER, purpose TEXT NOT NULL DEFAULT 'setup'"
	" CHECK(purpose IN ('setup','confirm_email','staff_setup')));"
	"INSERT INTO setup_token_18 SELECT token_hash, client_id, org_id, created_at, expires_at, used_at,"
	" replaced_at, purpose FROM setup_token;"
	"DROP TABLE setup_token;"
	"ALTER TABLE setup_token_18 RENAME TO setup_token;"
	"CREATE INDEX setup_token_client ON setup_token(client_id);",
	/* 19: the salon's privacy notice (plain text, paragraphs apart by a
	 * blank line; NULL until the owner sets one), shown to clients in the
	 * portal. */
	"ALTER TABLE organisation ADD COLUMN privacy_notice TEXT;",
	/* 20: an appointment or visit keeps the names it was written with, as
	 * a receipt does: the client's history still says who did it and what
	 * was done after the specialist left or the service left the menu.
	 * Server-maintained (store_write.c), never written by a device; rows
	 * from before get the names of now. */
	"ALTER TABLE appointment ADD COLUMN specialist_name TEXT;"
	"ALTER TABLE appointment ADD COLUMN service_names TEXT;"
	"ALTER TABLE visit ADD COLUMN specialist_name TEXT;"
	"ALTER TABLE visit ADD COLUMN service_names TEXT;"
	"UPDATE appointment SET specialist_name = " KT_SQL_SPECIALIST_NAME("appointment") ", service_names = "
	KT_SQL_SERVICE_NAMES("appointment") ";"
	"UPDATE visit SET specialist_name = " KT_SQL_SPECIALIST_NAME("visit") ", service_names = "
	KT_SQL_SERVICE_NAMES("visit") ";",
	/* 21: a staff row carries where the person works (the calendar of a
	 * branch shows its people), a copy of staff_location that the store
	 * rewrites in the transaction of every link change (store_links.c)
	 * and bumps the row's version with, so devices take the row again.
	 * Server-maintained, never written by a device. The rows of before
	 * get a new version and a change-log put each (routed as
	 * store_row_routing routes staff), so devices that hold them take
	 * them again with the new field. Triggers keep the copy equal to
	 * staff_location whoever writes it (another program, a repair by
	 * hand), so no row ever leaves with locations that are not the
	 * person's; the version bump stays the store's. */
	"ALTER TABLE staff ADD COLUMN location_ids TEXT NOT NULL DEFAULT '';"
	"CREATE TRIGGER staff_location_ids_ins AFTER INSERT ON staff_location BEGIN"
	" UPDATE staff SET location_ids = " KT_SQL_STAFF_LOCATION_IDS("staff") " WHERE id = NEW.staff_id; END;"
	"CREATE TRIGGER staff_location_ids_del AFTER DELETE ON staff_location BEGIN"
	" UPDATE staff SET location_ids = " KT_SQL_STAFF_LOCATION_IDS("staff") " WHERE id = OLD.staff_id; END;"
	"CREATE TRIGGER staff_location_ids_upd AFTER UPDATE ON staff_location BEGIN"
	" UPDATE staff SET location_ids = " KT_SQL_STAFF_LOCATION_IDS("staff") " WHERE id IN (OLD.staff_id, NEW.staff_id);"
	" END;"
	"UPDATE staff SET location_ids = " KT_SQL_STAFF_LOCATION_IDS("staff") ", version = version + 1;"
	"INSERT INTO changelog(org_id, tbl, row_id, op, loc_old, loc_new, at) SELECT org_id, 'staff', id, 'put', r, r,"
	" CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) FROM (SELECT org_id, id, CASE role WHEN"
	" 'owner' THEN '*' ELSE location_ids END AS r FROM staff ORDER BY id);",
	/* 22: why an appointment was cancelled or was a no-show (staff write
	 * it with the status; clients never see it). Sealed with the client's
	 * key like the notes: it is often about the client. */
	"ALTER TABLE appointment ADD COLUMN status_reason TEXT;",
	/* 23: messages (domain/messages.c plans, mail.c sends). The outbox
	 * gains: a channel (e-mail or SMS through a gateway); an idempotency
	 * key (kind:appointment:version or date), unique, so planning the
	 * same message twice (a replayed push, a second process) inserts
	 * nothing; the appointment, visit and branch it is about; the consent
	 * purpose checked again when it is sent (NULL: a service message);
	 * extra mail headers (List-Unsubscribe), sealed like the body; the
	 * reason a message was dropped; which process claimed it. 'unknown':
	 * a server stopped during the SMTP or gateway call, so whether it went
	 * out is not known; it is not sent again by itself (never twice).
	 * message_settings: per organisation, the times and rates of the
	 * planner. message_template: an organisation's own wording of a kind
	 * in a language and channel (built-in texts otherwise). link_token:
	 * one-purpose links in messages (confirm attendance, unsubscribe,
	 * review, survey, re-consent): only a keyed hash is kept; a link signs
	 * nothing else in (domain/links.c). */
	"CREATE TABLE outbox_23("
	" id INTEGER PRIMARY KEY, org_id TEXT NOT NULL, client_id TEXT, purpose TEXT NOT NULL,"
	" channel TEXT NOT NULL DEFAULT 'email' CHECK(channel IN ('email','sms')),"
	" to_addr TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL,"
	" state TEXT NOT NULL DEFAULT 'queued'"
	"  CHECK(state IN ('queued','sending','sent','failed','dropped','unknown')),"
	" attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL, created_at INTEGER NOT NULL,"
	" sent_at INTEGER, last_error TEXT, idem_key TEXT UNIQUE, appointment_id TEXT, visit_id TEXT,"
	" location_id TEXT, consent_purpose TEXT, extra_headers TEXT, drop_reason TEXT,"
	" claimed_by TEXT, claimed_at INTEGER);"
	"INSERT INTO outbox_23(id, org_id, client_id, purpose, to_addr, subject, body, state, attempts, next_at,"
	" created_at, sent_at, last_error) SELECT id, org_id, client_id, purpose, to_addr, subject, body, state,"
	" attempts, next_at, created_at, sent_at, last_error FROM outbox;"
	"DROP TABLE outbox;"
	"ALTER TABLE outbox_23 RENAME TO outbox;"
	"CREATE INDEX outbox_due ON outbox(state, next_at);"
	"CREATE INDEX outbox_client ON outbox(client_id, created_at);"
	"CREATE INDEX outbox_appointment ON outbox(appointment_id) WHERE appointment_id IS NOT NULL;"
	"CREATE TABLE message_settings("
	" org_id TEXT PRIMARY KEY,"
	" reminder1_min INTEGER NOT NULL DEFAULT 1440 CHECK(reminder1_min BETWEEN 0 AND 20160),"
	" reminder2_min INTEGER NOT NULL DEFAULT 0 CHECK(reminder2_min BETWEEN 0 AND 20160),"
	" review_request_days INTEGER NOT NULL DEFAULT 1 CHECK(review_request_days BETWEEN 0 AND 60),"
	" review_request_marketing INTEGER NOT NULL DEFAULT 1 CHECK(review_request_marketing IN (0,1)),"
	" birthday INTEGER NOT NULL DEFAULT 1 CHECK(birthday IN (0,1)),"
	" quiet_from TEXT NOT NULL DEFAULT '21:00', quiet_to TEXT NOT NULL DEFAULT '08:00',"
	" daily_cap INTEGER NOT NULL DEFAULT 3 CHECK(daily_cap BETWEEN 1 AND 50),"
	" csat_every_days INTEGER NOT NULL DEFAULT 0 CHECK(csat_every_days BETWEEN 0 AND 3650),"
	" nps_every_days INTEGER NOT NULL DEFAULT 90 CHECK(nps_every_days BETWEEN 0 AND 3650),"
	" ces_every_days INTEGER NOT NULL DEFAULT 0 CHECK(ces_every_days BETWEEN 0 AND 3650),"
	" survey_delay_min INTEGER NOT NULL DEFAULT 120 CHECK(survey_delay_min BETWEEN 0 AND 43200),"
	" updated_at INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE message_template("
	" org_id TEXT NOT NULL, kind TEXT NOT NULL, lang TEXT NOT NULL,"
	" channel TEXT NOT NULL CHECK(channel IN ('email','sms')),"
	" subject TEXT NOT NULL DEFAULT '', body TEXT NOT NULL, updated_at INTEGER NOT NULL,"
	" PRIMARY KEY(org_id, kind, lang, channel));"
	"CREATE TABLE link_token("
	" token_hash BLOB PRIMARY KEY, kind TEXT NOT NULL, org_id TEXT NOT NULL, client_id TEXT,"
	" target_id TEXT, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, used_at INTEGER);"
	"CREATE INDEX link_token_client ON link_token(client_id);",
	/* 24: reviews and survey answers (domain/feedback.c).
	 * review: a client's rating of one of their visits, once per visit
	 * (unique visit_id), synced like a visit (its branch's staff, the
	 * client). text and reply are sealed with the client's key. The
	 * server fills location_id, client_id, specialist_id and created_at
	 * from the visit, and reply_by, reply_name, replied_at when an owner
	 * or manager replies. survey_answer: one CSAT (1-5), NPS (0-10) or CES
	 * (1-5) answer; server-internal, it feeds statistics (domain/stats.c).
	 * review_anon: an erased client's review as an anonymous count (no
	 * client, no text), so statistics keep it. services: the visit's
	 * service ids (comma list), kept so that statistics per service
	 * survive the visit's erasure. */
	"CREATE TABLE review("
	" id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES organisation(id),"
	" location_id TEXT NOT NULL REFERENCES location(id), client_id TEXT NOT NULL REFERENCES client(id),"
	" visit_id TEXT NOT NULL REFERENCES visit(id), specialist_id TEXT,"
	" stars INTEGER NOT NULL CHECK(stars BETWEEN 1 AND 5), text TEXT,"
	" public_ok INTEGER NOT NULL DEFAULT 0 CHECK(public_ok IN (0, 1)),"
	" reply TEXT, reply_by TEXT, reply_name TEXT, replied_at INTEGER,"
	" highlighted INTEGER NOT NULL DEFAULT 0 CHECK(highlighted IN (0, 1)),"
	" hidden INTEGER NOT NULL DEFAULT 0 CHECK(hidden IN (0, 1)),"
	" created_at INTEGER NOT NULL,"
	" version INTEGER NOT NULL DEFAULT 1, updated_at INTEGER NOT NULL, field_versions TEXT);"
	"CREATE UNIQUE INDEX review_visit ON review(visit_id);"
	"CREATE INDEX review_loc ON review(location_id, created_at);"
	"CREATE INDEX review_client ON review(client_id);"
	"CREATE TABLE survey_answer("
	" id TEXT PRIMARY KEY, org_id TEXT NOT NULL, location_id TEXT NOT NULL, client_id TEXT, visit_id TEXT,"
	" specialist_id TEXT, services TEXT NOT NULL DEFAULT '',"
	" kind TEXT NOT NULL CHECK(kind IN ('csat','nps','ces')),"
	" score INTEGER NOT NULL CHECK(score BETWEEN 0 AND 10 AND (kind = 'nps' OR score BETWEEN 1 AND 5)),"
	" created_at INTEGER NOT NULL);"
	"CREATE UNIQUE INDEX survey_answer_visit ON survey_answer(visit_id, kind) WHERE visit_id IS NOT NULL;"
	"CREATE INDEX survey_answer_loc ON survey_answer(org_id, location_id, created_at);"
	"CREATE INDEX survey_answer_client ON survey_answer(client_id);"
	"CREATE TABLE review_anon("
	" org_id TEXT NOT NULL, location_id TEXT NOT NULL, specialist_id TEXT, services TEXT NOT NULL DEFAULT '',"
	" stars INTEGER NOT NULL CHECK(stars BETWEEN 1 AND 5), created_at INTEGER NOT NULL);"
	"CREATE INDEX review_anon_loc ON review_anon(org_id, location_id, created_at);",
	/* 25: a consent given or withdrawn through a link in a message (an
	 * unsubscribe or re-consent link, by e-mail or SMS) has source 'link';
	 * 'email_link' stays for entries the operator records from a mailed
	 * answer. The table is copied as in 16. */
	"CREATE TABLE consent_25("
	" id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES organisation(id),"
	" client_id TEXT NOT NULL REFERENCES client(id),"
	" purpose TEXT NOT NULL CHECK(purpose IN ('marketing_email','marketing_sms','birthday_greetings',"
	"'review_requests','photo_use','health_data')),"
	" granted INTEGER NOT NULL CHECK(granted IN (0, 1)), at INTEGER NOT NULL,"
	" source TEXT NOT NULL CHECK(source IN ('in_salon','portal','email_link','import','link')),"
	" text_version TEXT NOT NULL, recorded_by TEXT,"
	" recorded_kind TEXT NOT NULL CHECK(recorded_kind IN ('staff','client','operator')),"
	" version INTEGER NOT NULL DEFAULT 1, updated_at INTEGER NOT NULL);"
	"INSERT INTO consent_25(id, org_id, client_id, purpose, granted, at, source, text_version, recorded_by,"
	" recorded_kind, version, updated_at) SELECT id, org_id, client_id, purpose, granted, at, source,"
	" text_version, recorded_by, recorded_kind, version, updated_at FROM consent;"
	"DROP TABLE consent;"
	"ALTER TABLE consent_25 RENAME TO consent;"
	"CREATE INDEX consent_client ON consent(client_id, purpose, at);"
	"CREATE TRIGGER consent_no_update BEFORE UPDATE ON consent BEGIN"
	" SELECT RAISE(ABORT, 'consent history is append-only'); END;",
	/* 26: the language a client reads messages in (ISO 639: sl, de, pl,
	 * fi or en; NULL = the organisation's). Not sealed: a language says
	 * nothing about the person that the salon's country does not, and the
	 * planner reads it for every message it writes. */
	"ALTER TABLE client ADD COLUMN language TEXT;",
	/* 27: retention (domain/retention.c). Stored push answers older than
	 * the window are deleted; per person and device the highest mid whose
	 * answer went is kept here, so a replay of it (or of a lower mid) is
	 * answered mutation_expired and never applied a second time. */
	"CREATE TABLE mutation_pruned("
	" principal_id TEXT NOT NULL, device_id TEXT NOT NULL, max_mid INTEGER NOT NULL, at INTEGER NOT NULL,"
	" PRIMARY KEY(principal_id, device_id)) WITHOUT ROWID;"
	/* Sent appointment messages older than outbox_days are deleted; what
	 * `message counts` needs of them stays here, per organisation, branch,
	 * hour of creation, kind, channel and state (no client, no address). */
	"CREATE TABLE outbox_tally("
	" org_id TEXT NOT NULL, location_id TEXT NOT NULL DEFAULT '', hour INTEGER NOT NULL,"
	" purpose TEXT NOT NULL, channel TEXT NOT NULL, state TEXT NOT NULL, n INTEGER NOT NULL,"
	" PRIMARY KEY(org_id, location_id, hour, purpose, channel, state)) WITHOUT ROWID;",
};

const int kt_migration_count = sizeof kt_migrations / sizeof kt_migrations[0];
