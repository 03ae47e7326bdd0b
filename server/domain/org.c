/* org.c - see org.h. ICU knows the time zones, countries, currencies and
 * languages: no lists of our own. Reads go to SQL through store_prepare;
 * every change goes through store_insert/store_update (change log + audit). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unicode/ucal.h>
#include <unicode/ucurr.h>
#include <unicode/uloc.h>
#include <unicode/ustring.h>
#include "kt_mp.h"
#include "domain/erasure.h"
#include "domain/notice.h"
#include "domain/org.h"
#include "domain/policy.h"
#include "db/validate.h"

#define ORG_MAX_TEXT 200

static bool text_ok(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);
	return n <= max && kt_utf8_valid((const uint8_t *)s, n) && !strpbrk(s, "\r\n\t");
}

int org_check_time_zone(const char *tz, char *err, size_t errlen)
{
	UChar id[128], canon[128];
	UErrorCode e = U_ZERO_ERROR;
	UBool system = false;

	if (!tz || !*tz || strlen(tz) >= 100 || strspn(tz, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
						       "0123456789/_+-") != strlen(tz))
		return kt_fail(err, errlen, KT_EINVALID, "time zone: an IANA time zone such as Europe/Ljubljana");
	u_uastrcpy(id, tz);
	ucal_getCanonicalTimeZoneID(id, -1, canon, 128, &system, &e);
	if (U_FAILURE(e) || !system)
		return kt_fail(err, errlen, KT_EINVALID,
			    "time zone: '%s' is not an IANA time zone (e.g. Europe/Ljubljana, Europe/Berlin)", tz);
	return KT_OK;
}

static bool in_list(const char *const *list, const char *s)
{
	for (; list && *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

int org_check_country(const char *cc, char *err, size_t errlen)
{
	if (!cc || strlen(cc) != 2 || !in_list(uloc_getISOCountries(), cc))
		return kt_fail(err, errlen, KT_EINVALID, "country: an ISO 3166 alpha-2 code in capitals, e.g. SI, AT, DE");
	return KT_OK;
}

int org_check_currency(const char *cur, char *err, size_t errlen)
{
	UChar code[4];
	UErrorCode e = U_ZERO_ERROR;
	UDate now = ucal_getNow();
	if (!cur || strlen(cur) != 3 || strspn(cur, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3)
		return kt_fail(err, errlen, KT_EINVALID, "currency: an ISO 4217 code in capitals, e.g. EUR, CHF, PLN");
	u_uastrcpy(code, cur);
	if (!ucurr_isAvailable(code, now, now, &e) || U_FAILURE(e))
		return kt_fail(err, errlen, KT_EINVALID, "currency: '%s' is not a currency in use (ISO 4217, e.g. EUR)", cur);
	return KT_OK;
}

int org_check_language(const char *lang, char *err, size_t errlen)
{
	if (!lang || (strlen(lang) != 2 && strlen(lang) != 3) || !in_list(uloc_getISOLanguages(), lang))
		return kt_fail(err, errlen, KT_EINVALID, "language: an ISO 639 code in small letters, e.g. sl, en, de");
	return KT_OK;
}

int org_check_email(const char *s, char *err, size_t errlen)
{
	if (!s || !validate_mail_address(s) || strlen(s) > 254)
		return kt_fail(err, errlen, KT_EINVALID, "e-mail: one plain address such as ana@salon.si");
	return KT_OK;
}

static int check_location_args(const kt_location_args *a, bool create, char *err, size_t errlen)
{
	int rc;
	if (create && (!a->name || !a->time_zone))
		return kt_fail(err, errlen, KT_EINVALID, "a location needs a name and a time zone");
	if (a->name && (!a->name[0] || !text_ok(a->name, ORG_MAX_TEXT)))
		return kt_fail(err, errlen, KT_EINVALID, "name: 1 to %d characters of text on one line", ORG_MAX_TEXT);
	if (a->address && !text_ok(a->address, ORG_MAX_TEXT))
		return kt_fail(err, errlen, KT_EINVALID, "address: at most %d characters of text on one line",
			    ORG_MAX_TEXT);
	if (a->phone && (!text_ok(a->phone, 40) ||
			 strspn(a->phone, "+0123456789 ()/-.") != strlen(a->phone)))
		return kt_fail(err, errlen, KT_EINVALID, "phone: digits, spaces and + ( ) / - . only, at most 40");
	if (a->time_zone && (rc = org_check_time_zone(a->time_zone, err, errlen)))
		return rc;
	return KT_OK;
}

static int db_fail(char *err, size_t errlen, int rc)
{
	return kt_fail(err, errlen, rc, "database error (%s)", kt_strerror(rc));
}

/* *n gets how many rows a query with up to two text parameters returns;
 * out (may be NULL) the first column of the first row. */
static int one_text(kt_store *st, const char *sql, const char *a, const char *b, char *out, size_t cap, int *n)
{
	sqlite3_stmt *q = store_prepare(st, sql);
	int rc;
	*n = 0;
	if (!q)
		return KT_EIO;
	if (a)
		sqlite3_bind_text(q, 1, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(q, 2, b, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (!(*n)++ && out)
			snprintf(out, cap, "%s", (const char *)sqlite3_column_text(q, 0));
	}
	store_finish(st, q);
	return rc == SQLITE_DONE ? KT_OK : KT_EIO;
}

static int begin(kt_store *st, char *err, size_t errlen)
{
	int rc = store_begin(st);
	if (rc == KT_EBUSY)
		return kt_fail(err, errlen, rc, "the database is busy with another writer; try again");
	return rc ? db_fail(err, errlen, rc) : KT_OK;
}

int org_setup(kt_store *st, const kt_setup_args *a, kt_setup_ids *ids, char *err, size_t errlen)
{
	char existing[256] = "";
	int n, rc;

	if (!a->business || !a->business[0] || !text_ok(a->business, ORG_MAX_TEXT))
		return kt_fail(err, errlen, KT_EINVALID, "business: the salon's name, 1 to %d characters", ORG_MAX_TEXT);
	if ((rc = org_check_country(a->country, err, errlen)) || (rc = org_check_currency(a->currency, err, errlen)) ||
	    (rc = org_check_language(a->language, err, errlen)) ||
	    (rc = check_location_args(&a->location, true, err, errlen)))
		return rc;
	if (!a->owner_name || !a->owner_name[0] || !text_ok(a->owner_name, ORG_MAX_TEXT))
		return kt_fail(err, errlen, KT_EINVALID, "owner name: 1 to %d characters", ORG_MAX_TEXT);
	if ((rc = org_check_email(a->owner_email, err, errlen)))
		return rc;
	if ((rc = begin(st, err, errlen)))
		return rc;
	/* checked inside the write transaction: two setups at once make one */
	if ((rc = one_text(st, "SELECT name FROM organisation ORDER BY id", NULL, NULL, existing, sizeof existing, &n)))
		return store_end(st, db_fail(err, errlen, rc), err, errlen);
	if (n)
		return store_end(st,
			      kt_fail(err, errlen, KT_ECONFLICT,
				   "this database is set up already (organisation '%s'); nothing was changed", existing),
			      err, errlen);
	kt_uuid7(ids->org);
	kt_uuid7(ids->location);
	kt_uuid7(ids->owner);
	/* a starting privacy notice, marked as one, that the owner edits */
	char *notice = notice_default(a->business, a->location.address, a->location.phone,
				      KT_RETENTION_MONTHS_DEFAULT);
	if (!notice)
		return store_end(st, kt_fail(err, errlen, KT_ENOMEM, "out of memory"), err, errlen);
	kt_field of[] = {{"name", a->business}, {"country", a->country}, {"currency", a->currency},
			 {"language", a->language}, {"privacy_notice", notice}};
	kt_field lf[] = {{"name", a->location.name}, {"address", a->location.address},
			 {"phone", a->location.phone}, {"time_zone", a->location.time_zone}};
	kt_field sf[] = {{"display_name", a->owner_name}, {"email", a->owner_email}, {"role", "owner"},
			 {"active", "1"}};
	rc = store_insert(st, "organisation", ids->org, NULL, of, 5, NULL);
	free(notice);
	if (rc ||
	    (rc = store_insert(st, "location", ids->location, ids->org, lf, 4, NULL)) ||
	    (rc = store_insert(st, "staff", ids->owner, ids->org, sf, 4, NULL)) ||
	    (rc = store_link_staff_location(st, ids->owner, ids->location, true)))
		rc = kt_fail(err, errlen, rc, "could not save (%s)", kt_strerror(rc));
	return store_end(st, rc, err, errlen);
}

/* ---- locations ---- */

static int may_location(const kt_principal *by, char *err, size_t errlen)
{
	if (by && !policy_may(by, KT_ACT_MANAGE_LOCATION))
		return kt_fail(err, errlen, KT_EDENIED, "only the owner creates, edits and closes locations");
	return KT_OK;
}

int location_create(kt_store *st, const kt_principal *by, const char *org, const kt_location_args *a,
		    char id_out[KT_UUID_LEN + 1], char *err, size_t errlen)
{
	int n, rc;
	if ((rc = may_location(by, err, errlen)) || (rc = check_location_args(a, true, err, errlen)))
		return rc;
	if ((rc = begin(st, err, errlen)))
		return rc;
	rc = one_text(st, "SELECT id FROM location WHERE org_id = ?1 AND name = ?2 COLLATE NOCASE", org, a->name, NULL,
		      0, &n);
	if (rc)
		return store_end(st, db_fail(err, errlen, rc), err, errlen);
	if (n)
		return store_end(st, kt_fail(err, errlen, KT_ECONFLICT, "name: there is a location '%s' already", a->name), err,
			      errlen);
	kt_uuid7(id_out);
	kt_field f[] = {{"name", a->name}, {"address", a->address}, {"phone", a->phone}, {"time_zone", a->time_zone}};
	if ((rc = store_insert(st, "location", id_out, org, f, 4, NULL)))
		rc = kt_fail(err, errlen, rc, "could not save the location (%s)", kt_strerror(rc));
	/* the owner works everywhere ("*"): nothing to link */
	return store_end(st, rc, err, errlen);
}

/* In the transaction: the location is org's; *closed tells whether it is closed. */
static int location_of(kt_store *st, const char *org, const char *id, bool *closed, char *err, size_t errlen)
{
	sqlite3_stmt *q = store_prepare(st, "SELECT closed_at IS NOT NULL FROM location WHERE id = ?1 AND org_id = ?2");
	int rc;
	if (!q)
		return db_fail(err, errlen, KT_EIO);
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, org, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*closed = sqlite3_column_int(q, 0) != 0;
	store_finish(st, q);
	if (rc == SQLITE_DONE)
		return kt_fail(err, errlen, KT_ENOT_FOUND, "no location %s in this organisation", id);
	return rc == SQLITE_ROW ? KT_OK : db_fail(err, errlen, KT_EIO);
}

int location_edit(kt_store *st, const kt_principal *by, const char *org, const char *id,
		  const kt_location_args *a, char *err, size_t errlen)
{
	kt_field f[4];
	int n = 0, k, rc;
	bool closed = false;
	if ((rc = may_location(by, err, errlen)) || (rc = check_location_args(a, false, err, errlen)))
		return rc;
	if (a->name)
		f[n++] = (kt_field){"name", a->name};
	if (a->address)
		f[n++] = (kt_field){"address", a->address[0] ? a->address : NULL};
	if (a->phone)
		f[n++] = (kt_field){"phone", a->phone[0] ? a->phone : NULL};
	if (a->time_zone)
		f[n++] = (kt_field){"time_zone", a->time_zone};
	if (!n)
		return kt_fail(err, errlen, KT_EINVALID, "nothing to change: give a name, address, phone or time zone");
	if ((rc = begin(st, err, errlen)))
		return rc;
	if ((rc = location_of(st, org, id, &closed, err, errlen)))
		return store_end(st, rc, err, errlen);
	if (a->name) {
		char other[KT_UUID_LEN + 1] = "";
		rc = one_text(st, "SELECT id FROM location WHERE org_id = ?1 AND name = ?2 COLLATE NOCASE", org, a->name,
			      other, sizeof other, &k);
		if (rc)
			return store_end(st, db_fail(err, errlen, rc), err, errlen);
		if (k && strcmp(other, id)) /* (names are unique: at most one) */
			return store_end(st, kt_fail(err, errlen, KT_ECONFLICT, "name: there is a location '%s' already", a->name),
				      err, errlen);
	}
	if ((rc = store_update(st, "location", id, f, n, NULL)))
		rc = kt_fail(err, errlen, rc, "could not save the location (%s)", kt_strerror(rc));
	return store_end(st, rc, err, errlen);
}

int location_close(kt_store *st, const kt_principal *by, const char *org, const char *id, char *err,
		   size_t errlen)
{
	char now[24];
	bool closed = false;
	int rc;
	if ((rc = may_location(by, err, errlen)) || (rc = begin(st, err, errlen)))
		return rc;
	if ((rc = location_of(st, org, id, &closed, err, errlen)))
		return store_end(st, rc, err, errlen);
	if (closed)
		return store_end(st, kt_fail(err, errlen, KT_EINVALID, "location %s is closed already", id), err, errlen);
	snprintf(now, sizeof now, "%lld", (long long)kt_now_ms());
	kt_field f = {"closed_at", now};
	if ((rc = store_update(st, "location", id, &f, 1, NULL)))
		rc = kt_fail(err, errlen, rc, "could not close the location (%s)", kt_strerror(rc));
	return store_end(st, rc, err, errlen);
}

