/* ops.c - domain writes (see ops.h). Validation reads go to SQL through
 * store_db; every change goes through store_insert/store_update/store_link_*
 * so the change log, and through it every device, sees it. Never write a
 * synced table with SQL here: a change the log misses never reaches a device. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "db/audit.h"
#include "kt_mp.h"
#include "kt_util.h"
#include "domain/booking.h"
#include "domain/ops.h"
#include "db/validate.h"

#define OPS_MAX_SERVICES 32
#define OPS_MAX_TEXT 4000 /* bytes in one free-text field */
#define OPS_MAX_MINUTES (24 * 60)
#define OPS_LIST_CAP (OPS_MAX_SERVICES * (KT_UUID_LEN + 1))

typedef char ops_id[KT_UUID_LEN + 1];

/* An appointment as validation sees it. */
typedef struct ops_appt {
	ops_id org, loc, client, spec;
	char services[OPS_LIST_CAP];
	int64_t start_at;
	int duration_min;
	char status[16];
} ops_appt;

static bool valid_id(const char *id)
{
	return id && kt_uuid_valid(id, strnlen(id, KT_UUID_LEN + 1));
}

static bool valid_text(const char *s)
{
	size_t n = s ? strnlen(s, OPS_MAX_TEXT + 1) : 0;
	return !s || (n <= OPS_MAX_TEXT && kt_utf8_valid((const uint8_t *)s, n));
}

static void copy_text(char *dst, size_t cap, const unsigned char *src)
{
	snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

/* Prepare sql, bind the n text parameters and step once. KT_OK with *out on
 * the row, KT_ENOT_FOUND when there is none (the caller finalizes *out
 * either way), KT_EIO on a database error. */
static int query_row(kt_store *st, sqlite3_stmt **out, const char *sql, int n, ...)
{
	va_list ap;
	int rc;

	*out = NULL;
	if (sqlite3_prepare_v2(store_db(st), sql, -1, out, NULL) != SQLITE_OK) {
		kt_warn("ops: %s", sqlite3_errmsg(store_db(st)));
		return KT_EIO;
	}
	va_start(ap, n);
	for (int i = 1; i <= n; i++)
		sqlite3_bind_text(*out, i, va_arg(ap, const char *), -1, SQLITE_STATIC);
	va_end(ap);
	rc = sqlite3_step(*out);
	if (rc == SQLITE_ROW)
		return KT_OK;
	if (rc == SQLITE_DONE)
		return KT_ENOT_FOUND;
	kt_warn("ops: %s", sqlite3_errmsg(store_db(st)));
	return KT_EIO;
}

static int db_fail(char *err, size_t errlen, int rc)
{
	return kt_fail(err, errlen, rc, "database error (%s)", kt_strerror(rc));
}

static int begin(kt_store *st, char *err, size_t errlen)
{
	int rc = store_begin(st);
	if (rc == KT_EBUSY)
		return kt_fail(err, errlen, rc, "the database is busy with another writer; try again");
	return rc ? db_fail(err, errlen, rc) : KT_OK;
}

static int commit(kt_store *st, char *err, size_t errlen)
{
	int rc = store_commit(st); /* rolls back by itself on failure */
	return rc ? kt_fail(err, errlen, rc, "could not commit (%s)", kt_strerror(rc)) : KT_OK;
}

/* ---- checks; each says in one sentence what is wrong ---- */

/* The location exists; *org gets its organisation. When want_org is not
 * NULL the location must belong to it. */
static int check_location(kt_store *st, const char *want_org, const char *loc, ops_id org, char *err,
			  size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (!valid_id(loc))
		return kt_fail(err, errlen, KT_EINVALID, "a location id is required (a UUID)");
	rc = query_row(st, &s, "SELECT org_id FROM location WHERE id = ?", 1, loc);
	if (rc == KT_OK) {
		copy_text(org, sizeof(ops_id), sqlite3_column_text(s, 0));
		if (want_org && strcmp(org, want_org))
			rc = KT_ENOT_FOUND;
	}
	sqlite3_finalize(s);
	if (rc == KT_ENOT_FOUND)
		return kt_fail(err, errlen, rc, "no location %s in this organisation", loc);
	return rc ? db_fail(err, errlen, rc) : KT_OK;
}

static int check_client(kt_store *st, const char *org, const char *client, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (!valid_id(client))
		return kt_fail(err, errlen, KT_EINVALID, "a client id is required (a UUID)");
	rc = query_row(st, &s, "SELECT 1 FROM client WHERE id = ?1 AND org_id = ?2", 2, client, org);
	sqlite3_finalize(s);
	if (rc == KT_ENOT_FOUND)
		return kt_fail(err, errlen, rc, "no client %s in this organisation", client);
	return rc ? db_fail(err, errlen, rc) : KT_OK;
}

/* An active specialist of the organisation who works at loc. */
static int check_specialist(kt_store *st, const char *org, const char *spec, const char *loc, char *err,
			    size_t errlen)
{
	sqlite3_stmt *s = NULL;
	char role[16] = "";
	bool active = false, here = false;
	int rc;

	if (!valid_id(spec))
		return kt_fail(err, errlen, KT_EINVALID, "a specialist id is required (a UUID)");
	rc = query_row(st, &s,
		       "SELECT role, active, EXISTS (SELECT 1 FROM staff_location WHERE staff_id = ?1 AND "
		       "location_id = ?3) FROM staff WHERE id = ?1 AND org_id = ?2",
		       3, spec, org, loc);
	if (rc == KT_OK) {
		copy_text(role, sizeof role, sqlite3_column_text(s, 0));
		active = sqlite3_column_int(s, 1) != 0;
		here = sqlite3_column_int(s, 2) != 0;
	}
	sqlite3_finalize(s);
	if (rc == KT_ENOT_FOUND)
		return kt_fail(err, errlen, rc, "no staff member %s in this organisation", spec);
	if (rc)
		return db_fail(err, errlen, rc);
	if (strcmp(role, "specialist"))
		return kt_fail(err, errlen, KT_EINVALID, "%s is a %s, not a specialist", spec, role);
	if (!active)
		return kt_fail(err, errlen, KT_EINVALID, "specialist %s is not active", spec);
	if (!here)
		return kt_fail(err, errlen, KT_EINVALID, "specialist %s does not work at location %s", spec,
			    loc);
	return KT_OK;
}

/* Every element of the comma list is a service of org, none twice;
 * *minutes gets the sum. */
static int check_services(kt_store *st, const char *org, const char *loc, const char *list, int *minutes,
			  char *err, size_t errlen)
{
	ops_id seen[OPS_MAX_SERVICES];
	int n = 0, rc;

	*minutes = 0;
	for (const char *p = list; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		sqlite3_stmt *s = NULL;
		ops_id sid;

		if (!kt_uuid_valid(p, len))
			return kt_fail(err, errlen, KT_EINVALID, "services must be a comma list of service ids");
		if (n == OPS_MAX_SERVICES)
			return kt_fail(err, errlen, KT_EINVALID, "at most %d services per appointment",
				    OPS_MAX_SERVICES);
		memcpy(sid, p, len);
		sid[len] = 0;
		for (int i = 0; i < n; i++)
			if (!strcmp(seen[i], sid))
				return kt_fail(err, errlen, KT_EINVALID, "service %s is listed twice", sid);
		memcpy(seen[n++], sid, sizeof sid);
		/* (where it is offered is a booking rule, booking.c: it can be overridden) */
		rc = query_row(st, &s, "SELECT duration_min FROM service WHERE id = ?1 AND org_id = ?2", 2, sid, org);
		if (rc == KT_OK)
			*minutes += sqlite3_column_int(s, 0);
		sqlite3_finalize(s);
		if (rc == KT_ENOT_FOUND)
			return kt_fail(err, errlen, rc, "no service %s in this organisation", sid);
		if (rc)
			return db_fail(err, errlen, rc);
		p = comma ? comma + 1 : NULL;
		if (comma && !*p)
			return kt_fail(err, errlen, KT_EINVALID, "services must be a comma list of service ids");
	}
	return KT_OK;
}

static bool valid_status(const char *s)
{
	static const char *const known[] = {"booked", "confirmed", "cancelled", "no_show", "done"};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (!strcmp(s, known[i]))
			return true;
	return false;
}

/* What can be checked without the database. The ids are checked here, as
 * given, before anything copies them into fixed buffers. */
static int check_args(const kt_appt_args *a, char *err, size_t errlen)
{
	if (!valid_id(a->location_id) || !valid_id(a->client_id) || !valid_id(a->specialist_id))
		return kt_fail(err, errlen, KT_EINVALID,
			    "location, client and specialist ids are required (UUIDs)");
	if (a->start_at < VALIDATE_TIME_MIN || a->start_at >= VALIDATE_TIME_MAX)
		return kt_fail(err, errlen, KT_EINVALID,
			    "start_at must be a time from 2000-01-01 to 2099-12-31 in ms since 1970 (UTC)");
	if (a->duration_min < 0 || a->duration_min > OPS_MAX_MINUTES)
		return kt_fail(err, errlen, KT_EINVALID, "duration must be 1..%d minutes", OPS_MAX_MINUTES);
	if (a->status && !valid_status(a->status))
		return kt_fail(err, errlen, KT_EINVALID,
			    "status must be booked, confirmed, cancelled, no_show or done");
	if (a->services && strnlen(a->services, OPS_LIST_CAP) >= OPS_LIST_CAP)
		return kt_fail(err, errlen, KT_EINVALID, "at most %d services per appointment",
			    OPS_MAX_SERVICES);
	if (!valid_text(a->client_note) || !valid_text(a->internal_note))
		return kt_fail(err, errlen, KT_EINVALID, "notes must be UTF-8 text of at most %d bytes",
			    OPS_MAX_TEXT);
	return KT_OK;
}

/* Location, client, specialist and services of p fit together; *sum gets
 * the services' minutes. */
static int check_appt(kt_store *st, const ops_appt *p, int *sum, char *err, size_t errlen)
{
	ops_id org;
	int rc;
	if ((rc = check_location(st, p->org, p->loc, org, err, errlen)) ||
	    (rc = check_client(st, p->org, p->client, err, errlen)) ||
	    (rc = check_specialist(st, p->org, p->spec, p->loc, err, errlen)) ||
	    (rc = check_services(st, p->org, p->loc, p->services, sum, err, errlen)))
		return rc;
	return KT_OK;
}

/* ---- the booking rules ---- */

/* A closed location takes no new bookings, nor appointments moved into it;
 * the ones it has can still be changed (cancelled, marked done). */
static int check_open(kt_store *st, const char *id, const char *loc, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	bool closed = false, there = false;
	int rc = query_row(st, &s,
			   "SELECT closed_at IS NOT NULL, EXISTS (SELECT 1 FROM appointment WHERE id = ?2 AND "
			   "location_id = ?1) FROM location WHERE id = ?1",
			   2, loc, id ? id : "");
	if (rc == KT_OK) {
		closed = sqlite3_column_int(s, 0) != 0;
		there = sqlite3_column_int(s, 1) != 0;
	}
	sqlite3_finalize(s);
	if (rc && rc != KT_ENOT_FOUND)
		return db_fail(err, errlen, rc);
	if (closed && !there)
		return kt_fail(err, errlen, KT_EINVALID, "location %s is closed: it takes no new bookings", loc);
	return KT_OK;
}

bool ops_reason_valid(const char *s, size_t len)
{
	return s && len > 0 && len <= OPS_MAX_REASON && kt_utf8_valid((const uint8_t *)s, len) &&
	       !memchr(s, 0, len);
}

int ops_booking_check(kt_store *st, const char *id, const kt_booking *b, unsigned allow, kt_booking_verdict *v,
		      char *err, size_t errlen)
{
	ops_appt p = {0};
	int rc, sum;

	memset(v, 0, sizeof *v);
	if (!valid_id(b->org) || !valid_id(b->location_id) || !valid_id(b->client_id) ||
	    !valid_id(b->specialist_id))
		return kt_fail(err, errlen, KT_EINVALID,
			    "an appointment needs location_id, client_id and specialist_id (UUIDs)");
	if (b->start_at <= 0 || b->start_at >= OPS_MAX_TIME)
		return kt_fail(err, errlen, KT_EINVALID, "start_at must be a time (ms since 1970, UTC)");
	if (b->duration_min < 1 || b->duration_min > OPS_MAX_MINUTES)
		return kt_fail(err, errlen, KT_EINVALID, "duration_min must be 1..%d minutes", OPS_MAX_MINUTES);
	if (b->status && !valid_status(b->status))
		return kt_fail(err, errlen, KT_EINVALID,
			    "status must be booked, confirmed, cancelled, no_show or done");
	if (b->services && strnlen(b->services, OPS_LIST_CAP) >= OPS_LIST_CAP)
		return kt_fail(err, errlen, KT_EINVALID, "at most %d services per appointment", OPS_MAX_SERVICES);
	snprintf(p.org, sizeof p.org, "%s", b->org);
	snprintf(p.loc, sizeof p.loc, "%s", b->location_id);
	snprintf(p.client, sizeof p.client, "%s", b->client_id);
	snprintf(p.spec, sizeof p.spec, "%s", b->specialist_id);
	snprintf(p.services, sizeof p.services, "%s", b->services ? b->services : "");
	/* a reference to nothing makes the appointment invalid, not the row missing */
	if ((rc = check_appt(st, &p, &sum, err, errlen)))
		return rc == KT_ENOT_FOUND ? KT_EINVALID : rc;
	if ((rc = check_open(st, id, p.loc, err, errlen)))
		return rc;
	if (b->status && !strcmp(b->status, "cancelled"))
		return KT_OK; /* a cancelled appointment blocks nobody, and no rule of time holds it */
	return booking_rules(st, id, b, allow, v, err, errlen);
}

/* ---- appointments ---- */

/* The rules a caller overrides: with a reason, those named (overlap when
 * none are: what --allow-overlap always meant); without one, none. */
static unsigned allowed(const char *reason, unsigned override)
{
	return reason ? (override ? override : OPS_RULE_OVERLAP) : 0;
}

int ops_appointment_create(kt_store *st, const kt_appt_args *a, char id_out[KT_UUID_LEN + 1], char *err,
			   size_t errlen)
{
	ops_appt p = {0};
	char start[24], minutes[16];
	kt_booking_verdict v;
	int rc, sum = 0;

	if (!st || !a || !id_out)
		return kt_fail(err, errlen, KT_EINVALID, "missing argument");
	id_out[0] = 0;
	if ((rc = check_args(a, err, errlen)))
		return rc;
	if (a->overlap_reason && !ops_reason_valid(a->overlap_reason, strlen(a->overlap_reason)))
		return kt_fail(err, errlen, KT_EINVALID, "the reason must be 1..%d bytes of text", OPS_MAX_REASON);
	if ((rc = begin(st, err, errlen)))
		return rc;
	/* the location decides the organisation; everything else must match it */
	if ((rc = check_location(st, NULL, a->location_id, p.org, err, errlen)))
		goto out;
	snprintf(p.loc, sizeof p.loc, "%s", a->location_id);
	snprintf(p.client, sizeof p.client, "%s", a->client_id);
	snprintf(p.spec, sizeof p.spec, "%s", a->specialist_id);
	snprintf(p.services, sizeof p.services, "%s", a->services ? a->services : "");
	if ((rc = check_appt(st, &p, &sum, err, errlen)))
		goto out;
	p.duration_min = a->duration_min > 0 ? a->duration_min : sum;
	if (p.duration_min <= 0 || p.duration_min > OPS_MAX_MINUTES) {
		rc = kt_fail(err, errlen, KT_EINVALID, "duration must be 1..%d minutes: give one or services",
			  OPS_MAX_MINUTES);
		goto out;
	}
	kt_booking b = {p.org,       p.loc,         p.client, p.spec, p.services, a->start_at, p.duration_min,
			a->status ? a->status : "booked", false};
	if ((rc = ops_booking_check(st, NULL, &b, allowed(a->overlap_reason, a->override), &v, err, errlen)))
		goto out;
	snprintf(start, sizeof start, "%lld", (long long)a->start_at);
	snprintf(minutes, sizeof minutes, "%d", p.duration_min);
	kt_field f[] = {
		{"location_id", p.loc},
		{"client_id", p.client},
		{"specialist_id", p.spec},
		{"start_at", start},
		{"duration_min", minutes},
		{"services", p.services},
		{"status", a->status ? a->status : "booked"},
		{"client_note", a->client_note},
		{"internal_note", a->internal_note},
	};
	kt_uuid7(id_out);
	/* link first: devices of the location then learn the client before
	 * the appointment that refers to it */
	if ((rc = store_link_client_location(st, p.client, p.loc))) {
		rc = kt_fail(err, errlen, rc, "could not link the client to the location (%s)", kt_strerror(rc));
		goto out;
	}
	if ((rc = store_insert(st, "appointment", id_out, p.org, f, (int)(sizeof f / sizeof f[0]), NULL))) {
		rc = kt_fail(err, errlen, rc, "could not save the appointment (%s)", kt_strerror(rc));
		goto out;
	}
	if (v.overridden &&
	    (rc = ops_booking_override_record(st, p.org, id_out, p.client, p.loc, &v, a->overlap_reason))) {
		rc = kt_fail(err, errlen, rc, "could not record the override (%s)", kt_strerror(rc));
		goto out;
	}
	rc = commit(st, err, errlen);
	if (rc)
		id_out[0] = 0;
	return rc;
out:
	store_rollback(st);
	id_out[0] = 0;
	return rc;
}

static int appt_load(kt_store *st, const char *id, ops_appt *p, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (!valid_id(id))
		return kt_fail(err, errlen, KT_EINVALID, "an appointment id is required (a UUID)");
	rc = query_row(
		st, &s,
		"SELECT org_id, location_id, client_id, specialist_id, services, start_at, duration_min, "
		"status FROM appointment WHERE id = ?",
		1, id);
	if (rc == KT_OK) {
		copy_text(p->org, sizeof p->org, sqlite3_column_text(s, 0));
		copy_text(p->loc, sizeof p->loc, sqlite3_column_text(s, 1));
		copy_text(p->client, sizeof p->client, sqlite3_column_text(s, 2));
		copy_text(p->spec, sizeof p->spec, sqlite3_column_text(s, 3));
		if (sqlite3_column_bytes(s, 4) >= (int)sizeof p->services)
			rc = KT_EINVALID;
		copy_text(p->services, sizeof p->services, sqlite3_column_text(s, 4));
		p->start_at = sqlite3_column_int64(s, 5);
		p->duration_min = sqlite3_column_int(s, 6);
		copy_text(p->status, sizeof p->status, sqlite3_column_text(s, 7));
	}
	sqlite3_finalize(s);
	if (rc == KT_ENOT_FOUND)
		return kt_fail(err, errlen, rc, "no appointment %s", id);
	if (rc == KT_EINVALID)
		return kt_fail(err, errlen, rc, "appointment %s has more services than can be checked", id);
	return rc ? db_fail(err, errlen, rc) : KT_OK;
}

int ops_appointment_move(kt_store *st, const char *id, const char *location_id, const char *specialist_id,
			 int64_t start_at, const char *overlap_reason, unsigned override, char *err, size_t errlen)
{
	ops_appt cur = {0}, next;
	char start[24];
	kt_booking_verdict v;
	kt_field f[3];
	int rc, n = 0;

	if (!st)
		return kt_fail(err, errlen, KT_EINVALID, "missing argument");
	if (!location_id && !specialist_id && start_at < 0)
		return kt_fail(err, errlen, KT_EINVALID,
			    "nothing to change: give a location, a specialist or a start");
	if (start_at >= 0 && (start_at < VALIDATE_TIME_MIN || start_at >= VALIDATE_TIME_MAX))
		return kt_fail(err, errlen, KT_EINVALID,
			    "start_at must be a time from 2000-01-01 to 2099-12-31 in ms since 1970 (UTC)");
	/* the ids as given, before they are copied into fixed buffers */
	if ((location_id && !valid_id(location_id)) || (specialist_id && !valid_id(specialist_id)))
		return kt_fail(err, errlen, KT_EINVALID, "location and specialist must be ids (UUIDs)");
	if (overlap_reason && !ops_reason_valid(overlap_reason, strlen(overlap_reason)))
		return kt_fail(err, errlen, KT_EINVALID, "the reason must be 1..%d bytes of text", OPS_MAX_REASON);
	if ((rc = begin(st, err, errlen)))
		return rc;
	if ((rc = appt_load(st, id, &cur, err, errlen)))
		goto out;
	next = cur;
	if (location_id)
		snprintf(next.loc, sizeof next.loc, "%s", location_id);
	if (specialist_id)
		snprintf(next.spec, sizeof next.spec, "%s", specialist_id);
	if (start_at > 0)
		next.start_at = start_at;
	kt_booking b = {next.org,      next.loc,          next.client, next.spec, next.services,
			next.start_at, next.duration_min, next.status, false};
	if ((rc = ops_booking_check(st, id, &b, allowed(overlap_reason, override), &v, err, errlen)))
		goto out;
	if (strcmp(next.loc, cur.loc))
		f[n++] = (kt_field){"location_id", next.loc};
	if (strcmp(next.spec, cur.spec))
		f[n++] = (kt_field){"specialist_id", next.spec};
	if (next.start_at != cur.start_at) {
		snprintf(start, sizeof start, "%lld", (long long)next.start_at);
		f[n++] = (kt_field){"start_at", start};
	}
	if (n == 0) /* already there: nothing to write, nothing for devices */
		return commit(st, err, errlen);
	if (strcmp(next.loc, cur.loc) && (rc = store_link_client_location(st, next.client, next.loc))) {
		rc = kt_fail(err, errlen, rc, "could not link the client to the location (%s)", kt_strerror(rc));
		goto out;
	}
	if ((rc = store_update(st, "appointment", id, f, n, NULL))) {
		rc = kt_fail(err, errlen, rc, "could not move the appointment (%s)", kt_strerror(rc));
		goto out;
	}
	if (v.overridden &&
	    (rc = ops_booking_override_record(st, next.org, id, next.client, next.loc, &v, overlap_reason))) {
		rc = kt_fail(err, errlen, rc, "could not record the override (%s)", kt_strerror(rc));
		goto out;
	}
	return commit(st, err, errlen);
out:
	store_rollback(st);
	return rc;
}

int ops_appointment_cancel(kt_store *st, const char *id, const char *reason, char *err, size_t errlen)
{
	ops_appt cur = {0};
	kt_field f[2] = {{"status_reason", reason}, {"status", "cancelled"}};
	int rc, n = 2;

	if (!st)
		return kt_fail(err, errlen, KT_EINVALID, "missing argument");
	if (reason && (rc = validate_field(kt_table_find("appointment", 11), "status_reason", reason, err, errlen)))
		return rc;
	if ((rc = begin(st, err, errlen)))
		return rc;
	if ((rc = appt_load(st, id, &cur, err, errlen)))
		goto out;
	if (!strcmp(cur.status, "cancelled") && !reason)
		return commit(st, err, errlen);
	if (!strcmp(cur.status, "done") || !strcmp(cur.status, "no_show")) {
		rc = kt_fail(err, errlen, KT_EINVALID,
			  "appointment %s is %s; only upcoming ones can be cancelled", id, cur.status);
		goto out;
	}
	/* a cancelled one given a reason: only the reason changes */
	n = !reason ? 1 : !strcmp(cur.status, "cancelled") ? 1 : 2;
	if ((rc = store_update(st, "appointment", id, reason ? f : f + 1, n, NULL))) {
		rc = kt_fail(err, errlen, rc, "could not cancel the appointment (%s)", kt_strerror(rc));
		goto out;
	}
	return commit(st, err, errlen);
out:
	store_rollback(st);
	return rc;
}

/* ---- client cards ---- */

static const char *const client_editable[] = {
	"name",       "email",       "phone",          "birthday",    "address",     "allergies",
	"conditions", "medications", "skin_hair_type", "patch_tests", "preferences", "internal_notes", "language"};

/* Deliberately loose: one '@' with something on both sides and no spaces.
 * The only real test of an address is a message that arrives. */
static bool valid_email(const char *s)
{
	const char *at = strchr(s, '@');
	size_t n = strlen(s);
	return n <= 254 && at && at != s && at[1] && !strchr(at + 1, '@') && !strpbrk(s, " \t\r\n,;<>");
}

static int check_client_value(const char *field, const char *value, char *err, size_t errlen)
{
	if (!value)
		return strcmp(field, "name")
			       ? KT_OK
			       : kt_fail(err, errlen, KT_EINVALID, "a client's name cannot be cleared");
	if (!valid_text(value))
		return kt_fail(err, errlen, KT_EINVALID, "%s must be UTF-8 text of at most %d bytes", field,
			    OPS_MAX_TEXT);
	if (!strcmp(field, "name") && !value[0])
		return kt_fail(err, errlen, KT_EINVALID, "a client's name cannot be empty");
	if (!strcmp(field, "email") && !valid_email(value))
		return kt_fail(err, errlen, KT_EINVALID, "that is not an e-mail address");
	/* the same rules as a device's push (validate.c) */
	return validate_field(kt_table_find("client", 6), field, value, err, errlen);
}

/* A portal client signs in with the e-mail: it must stay unique among
 * portal accounts and staff, or somebody could no longer sign in. */
static int check_portal_email(kt_store *st, const char *id, const char *email, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	char hash[65];
	/* client e-mails are sealed: portal accounts are found by their keyed hash */
	int rc = store_email_hash(st, email, hash);
	if (rc)
		return db_fail(err, errlen, rc);
	rc = query_row(st, &s,
		       "SELECT 1 FROM client WHERE email_hash = ?1 AND portal_enabled = 1 AND id <> ?2 "
		       "UNION ALL SELECT 1 FROM staff WHERE email = ?3 COLLATE NOCASE",
		       3, hash, id, email);
	sqlite3_finalize(s);
	if (rc == KT_OK)
		return kt_fail(err, errlen, KT_ECONFLICT, "another sign-in already uses this e-mail");
	return rc == KT_ENOT_FOUND ? KT_OK : db_fail(err, errlen, rc);
}

int ops_client_set(kt_store *st, const char *id, const char *field, const char *value, char *err,
		   size_t errlen)
{
	const kt_table *t = kt_table_find("client", 6);
	bool editable = false, portal = false, same = false;
	int rc;

	if (!st || !field)
		return kt_fail(err, errlen, KT_EINVALID, "missing argument");
	for (size_t i = 0; i < sizeof client_editable / sizeof client_editable[0]; i++)
		editable |= !strcmp(field, client_editable[i]);
	if (!editable)
		return t && kt_col_index(t, field) >= 0
			       ? kt_fail(err, errlen, KT_EDENIED, "%s of a client cannot be edited here", field)
			       : kt_fail(err, errlen, KT_EINVALID, "clients have no field '%.40s'", field);
	if (!valid_id(id))
		return kt_fail(err, errlen, KT_EINVALID, "a client id is required (a UUID)");
	if (value && !value[0] && strcmp(field, "name"))
		value = NULL; /* an empty optional field is an absent one */
	if ((rc = check_client_value(field, value, err, errlen)))
		return rc;
	if ((rc = begin(st, err, errlen)))
		return rc;
	/* the value as it reads (sealed columns opened), to tell a no-op */
	int cols[2] = {kt_col_index(t, "portal_enabled"), kt_col_index(t, field)};
	kt_row row;
	rc = store_row_load_some(st, t, id, cols, 2, &row);
	if (rc == KT_OK) {
		const kt_val *cur = &row.v[cols[1]];
		portal = !row.v[cols[0]].null && row.v[cols[0]].i != 0;
		same = (cur->null && !value) || (!cur->null && value && cur->s && !strcmp(cur->s, value));
		kt_row_free(&row);
	}
	if (rc) {
		rc = rc == KT_ENOT_FOUND ? kt_fail(err, errlen, rc, "no client %s", id)
					 : db_fail(err, errlen, rc);
		goto out;
	}
	if (same) /* nothing changes: nothing to write, nothing for devices */
		return commit(st, err, errlen);
	if (portal && value && !strcmp(field, "email") &&
	    (rc = check_portal_email(st, id, value, err, errlen)))
		goto out;
	kt_field f = {field, value};
	if ((rc = store_update(st, "client", id, &f, 1, NULL))) {
		rc = kt_fail(err, errlen, rc, "could not save the client (%s)", kt_strerror(rc));
		goto out;
	}
	return commit(st, err, errlen);
out:
	store_rollback(st);
	return rc;
}
