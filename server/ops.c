/* ops.c - domain writes (see ops.h). Validation reads use SQL; every change
 * goes through store_insert/store_update/store_link_* so the change log and
 * the devices see it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ops.h"

#define FAIL(code, ...)                                                                            \
	do {                                                                                       \
		snprintf(err, errlen, __VA_ARGS__);                                                \
		rc = (code);                                                                       \
		goto out;                                                                          \
	} while (0)

/* One text value from a one-row query with one text parameter (or two). */
static bool query_text(kt_store *st, const char *sql, const char *p1, const char *p2, char *out, size_t cap)
{
	sqlite3_stmt *s = NULL;
	bool found = false;
	if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(s, 1, p1, -1, SQLITE_STATIC);
	if (p2)
		sqlite3_bind_text(s, 2, p2, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(s, 0);
		snprintf(out, cap, "%s", t ? (const char *)t : "");
		found = true;
	}
	sqlite3_finalize(s);
	return found;
}

/* Check that the parts of an appointment exist and fit together; sums the
 * services' durations into *dur_sum. */
static int check_appt(kt_store *st, const char *org, const char *loc, const char *client, const char *spec,
		      const char *services, int *dur_sum, char *err, size_t errlen)
{
	char v[64];
	int rc = KT_OK;

	if (!query_text(st, "SELECT org_id FROM location WHERE id = ?", loc, NULL, v, sizeof v) || strcmp(v, org))
		FAIL(KT_ENOT_FOUND, "no location %s in this organisation", loc);
	if (!query_text(st, "SELECT org_id FROM client WHERE id = ?", client, NULL, v, sizeof v) || strcmp(v, org))
		FAIL(KT_ENOT_FOUND, "no client %s in this organisation", client);
	if (!query_text(st, "SELECT role FROM staff WHERE id = ? AND active = 1", spec, NULL, v, sizeof v) ||
	    strcmp(v, "specialist"))
		FAIL(KT_EINVALID, "%s is not an active specialist", spec);
	if (!query_text(st, "SELECT 1 FROM staff_location WHERE staff_id = ? AND location_id = ?", spec, loc, v,
			sizeof v))
		FAIL(KT_EINVALID, "specialist %s does not work at location %s", spec, loc);
	*dur_sum = 0;
	for (const char *p = services; p && *p;) {
		const char *c = strchr(p, ',');
		char sid[KT_UUID_LEN + 1];
		size_t n = c ? (size_t)(c - p) : strlen(p);
		if (!kt_uuid_valid(p, n))
			FAIL(KT_EINVALID, "services must be a comma list of service ids");
		memcpy(sid, p, n);
		sid[n] = 0;
		if (!query_text(st,
				"SELECT duration_min FROM service WHERE id = ?1 AND (location_id IS NULL OR "
				"location_id = ?2)",
				sid, loc, v, sizeof v))
			FAIL(KT_EINVALID, "service %s is not offered at location %s", sid, loc);
		*dur_sum += atoi(v);
		p = c ? c + 1 : NULL;
	}
out:
	return rc;
}

int ops_appointment_create(kt_store *st, const kt_appt_args *a, char id_out[KT_UUID_LEN + 1], char *err,
			   size_t errlen)
{
	char org[64], start[24], dur[16];
	int rc, sum = 0;

	if (!a->location_id || !a->client_id || !a->specialist_id)
		return snprintf(err, errlen, "location, client and specialist are required"), KT_EINVALID;
	if (a->start_at <= 0)
		return snprintf(err, errlen, "start time is required"), KT_EINVALID;
	if ((rc = store_begin(st)))
		return snprintf(err, errlen, "database busy"), rc;
	if (!query_text(st, "SELECT org_id FROM location WHERE id = ?", a->location_id, NULL, org, sizeof org))
		FAIL(KT_ENOT_FOUND, "no location %s", a->location_id);
	if ((rc = check_appt(st, org, a->location_id, a->client_id, a->specialist_id, a->services, &sum, err,
			     errlen)))
		goto out;
	int minutes = a->duration_min > 0 ? a->duration_min : sum;
	if (minutes <= 0 || minutes > 24 * 60)
		FAIL(KT_EINVALID, "duration must be 1..1440 minutes (or given by the services)");
	snprintf(start, sizeof start, "%lld", (long long)a->start_at);
	snprintf(dur, sizeof dur, "%d", minutes);
	kt_uuid7(id_out);
	kt_field f[] = {
		{"location_id", a->location_id}, {"client_id", a->client_id},
		{"specialist_id", a->specialist_id}, {"start_at", start},
		{"duration_min", dur}, {"services", a->services ? a->services : ""},
		{"status", a->status ? a->status : "booked"}, {"client_note", a->client_note},
		{"internal_note", a->internal_note},
	};
	if ((rc = store_insert(st, "appointment", id_out, org, f, 9, NULL)))
		FAIL(rc, "could not save the appointment (%s)", kt_strerror(rc));
	if ((rc = store_link_client_location(st, a->client_id, a->location_id)))
		FAIL(rc, "could not link the client to the location");
	rc = store_commit(st);
	if (rc)
		snprintf(err, errlen, "commit failed");
	return rc;
out:
	store_rollback(st);
	return rc;
}

int ops_appointment_move(kt_store *st, const char *id, const char *location_id, const char *specialist_id,
			 int64_t start_at, char *err, size_t errlen)
{
	char org[64], loc[64], client[64], spec[64], services[1024], start[24];
	int rc, sum, n = 0;
	kt_field f[3];

	if ((rc = store_begin(st)))
		return snprintf(err, errlen, "database busy"), rc;
	if (!query_text(st, "SELECT org_id FROM appointment WHERE id = ?", id, NULL, org, sizeof org))
		FAIL(KT_ENOT_FOUND, "no appointment %s", id);
	if (!query_text(st, "SELECT location_id FROM appointment WHERE id = ?", id, NULL, loc, sizeof loc) ||
	    !query_text(st, "SELECT client_id FROM appointment WHERE id = ?", id, NULL, client, sizeof client) ||
	    !query_text(st, "SELECT specialist_id FROM appointment WHERE id = ?", id, NULL, spec, sizeof spec) ||
	    !query_text(st, "SELECT services FROM appointment WHERE id = ?", id, NULL, services, sizeof services))
		FAIL(KT_EIO, "could not read appointment %s", id);
	if (location_id) {
		snprintf(loc, sizeof loc, "%s", location_id);
		f[n++] = (kt_field){"location_id", location_id};
	}
	if (specialist_id) {
		snprintf(spec, sizeof spec, "%s", specialist_id);
		f[n++] = (kt_field){"specialist_id", specialist_id};
	}
	if (start_at > 0) {
		snprintf(start, sizeof start, "%lld", (long long)start_at);
		f[n++] = (kt_field){"start_at", start};
	}
	if (n == 0)
		FAIL(KT_EINVALID, "nothing to change: give --location, --specialist or --start");
	if ((rc = check_appt(st, org, loc, client, spec, services, &sum, err, errlen)))
		goto out;
	if ((rc = store_update(st, "appointment", id, f, n, NULL)))
		FAIL(rc, "could not move the appointment (%s)", kt_strerror(rc));
	if ((rc = store_link_client_location(st, client, loc)))
		FAIL(rc, "could not link the client to the location");
	rc = store_commit(st);
	if (rc)
		snprintf(err, errlen, "commit failed");
	return rc;
out:
	store_rollback(st);
	return rc;
}

int ops_appointment_cancel(kt_store *st, const char *id, char *err, size_t errlen)
{
	kt_field f = {"status", "cancelled"};
	int rc = store_update(st, "appointment", id, &f, 1, NULL);
	if (rc == KT_ENOT_FOUND)
		snprintf(err, errlen, "no appointment %s", id);
	else if (rc)
		snprintf(err, errlen, "could not cancel (%s)", kt_strerror(rc));
	return rc;
}

int ops_client_set(kt_store *st, const char *id, const char *field, const char *value, char *err,
		   size_t errlen)
{
	static const char *const editable[] = {"name", "email", "phone", "birthday", "address", "allergies",
					       "conditions", "medications", "skin_hair_type", "patch_tests",
					       "preferences", "internal_notes"};
	bool ok = false;
	int rc;
	for (size_t i = 0; i < sizeof editable / sizeof editable[0]; i++)
		ok |= strcmp(field, editable[i]) == 0;
	if (!ok) {
		snprintf(err, errlen, "'%s' is not an editable client field", field);
		return KT_EINVALID;
	}
	kt_field f = {field, value};
	rc = store_update(st, "client", id, &f, 1, NULL);
	if (rc == KT_ENOT_FOUND)
		snprintf(err, errlen, "no client %s", id);
	else if (rc)
		snprintf(err, errlen, "could not save (%s)", kt_strerror(rc));
	return rc;
}
