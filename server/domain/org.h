/* org.h - a salon from zero: the organisation with its first location
 * and owner (setup), and locations created, edited and closed later. The
 * admin command and the manage message call the same functions here;
 * each checks its values (time zones, countries, currencies and
 * languages against ICU's lists), writes through store_insert/update in
 * one transaction (so devices and the audit log see it) and, on failure,
 * puts one sentence naming the field and the rule into err.
 *
 * by: the signed-in person doing it (checked against the policy's action
 * table, their organisation and locations), or NULL for the operator
 * (the admin command; the store's actor is set by the caller). */
#ifndef KT_ORG_H
#define KT_ORG_H

#include <stddef.h>
#include "db/store.h"

/* Fields of a location; NULL keeps (edit) or leaves empty (create). */
typedef struct kt_location_args {
	const char *name, *address, *phone, *time_zone;
} kt_location_args;

typedef struct kt_setup_args {
	const char *business, *country, *currency, *language;
	kt_location_args location;
	const char *owner_name, *owner_email;
} kt_setup_args;

typedef struct kt_setup_ids {
	char org[KT_UUID_LEN + 1], location[KT_UUID_LEN + 1], owner[KT_UUID_LEN + 1];
} kt_setup_ids;

/* The checks, one field each (KT_EINVALID and a sentence, or KT_OK).
 * A time zone is an IANA id ICU knows ("Europe/Ljubljana"); country an ISO
 * 3166 alpha-2 code (upper case), currency ISO 4217 (upper case),
 * language an ISO 639 code ("sl", "en", "de"). */
int org_check_time_zone(const char *tz, char *err, size_t errlen) KT_MUST_CHECK;
int org_check_country(const char *cc, char *err, size_t errlen) KT_MUST_CHECK;
int org_check_currency(const char *cur, char *err, size_t errlen) KT_MUST_CHECK;
int org_check_language(const char *lang, char *err, size_t errlen) KT_MUST_CHECK;
int org_check_email(const char *email, char *err, size_t errlen) KT_MUST_CHECK;

/* Create the organisation, its first location and the owner (active,
 * working at that location, no password yet: staff.h sends the link or
 * sets one). KT_ECONFLICT when the database already holds an
 * organisation: nothing is written then. */
int org_setup(kt_store *st, const kt_setup_args *a, kt_setup_ids *ids, char *err, size_t errlen) KT_MUST_CHECK;

int location_create(kt_store *st, const kt_principal *by, const char *org, const kt_location_args *a,
		    char id_out[KT_UUID_LEN + 1], char *err, size_t errlen) KT_MUST_CHECK;
/* Change the given fields; a location that is closed can still be edited. */
int location_edit(kt_store *st, const kt_principal *by, const char *org, const char *id,
		  const kt_location_args *a, char *err, size_t errlen) KT_MUST_CHECK;
/* Set closed_at: it keeps its history and takes no new bookings. Closing
 * a closed location is KT_EINVALID. */
int location_close(kt_store *st, const kt_principal *by, const char *org, const char *id, char *err,
		   size_t errlen) KT_MUST_CHECK;

#endif
