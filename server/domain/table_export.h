/* table_export.h - an organisation's clients or appointments as one CSV or
 * JSON file, for the owner to take their data anywhere (GDPR Art. 20 for
 * the business). Sealed fields come decrypted through the store; instants
 * are written as local date and time in the location's zone, with the zone.
 * The rows are read in one read transaction (a server serving the same
 * file goes on writing meanwhile); each export then leaves an audit entry
 * ("exported") once the file was written whole. */
#ifndef KT_TABLE_EXPORT_H
#define KT_TABLE_EXPORT_H

#include <stdio.h>
#include "db/store.h"

enum { TABLE_EXPORT_CSV, TABLE_EXPORT_JSON };
enum { TABLE_EXPORT_CLIENTS, TABLE_EXPORT_APPOINTMENTS };

/* Write what (TABLE_EXPORT_*) of org to out in format; location_id NULL =
 * every location, else only clients linked to it / appointments there.
 * label names the target in the audit entry (a file name or "stdout").
 * *rows gets the number written. KT_OK, or an error with err (then
 * nothing is recorded; out may hold part of the file). */
int table_export(kt_store *st, int what, const char *org, const char *location_id, int format, FILE *out,
		 const char *label, int *rows, char *err, size_t cap) KT_MUST_CHECK;

/* ms since 1970 as "YYYY-MM-DD HH:MM" in the IANA zone (ICU). KT_EINVALID
 * for a zone ICU does not know. */
int table_export_local_time(int64_t ms, const char *zone, char out[32]) KT_MUST_CHECK;

#endif
