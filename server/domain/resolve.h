/* resolve.h - what people type where a command wants a row: an id, a name,
 * or the start of a name ("--location Maribor", "--specialist Nina",
 * "--client 'Ana Novak'"), and the names and time zones that commands print.
 * Read-only; never writes, never prints. The one resolver of every command
 * (admin, import, export, audit, privacy); the order of the rules is the
 * same for every kind:
 *   an exact id, then an exact name (for staff also their e-mail), then a
 *   unique prefix of a name or of a word in it ("Maribor" for "Lepota
 *   Maribor") or of the id (4 or more of its characters);
 *   matching folds case (Unicode) and keeps accents as typed. */
#ifndef KT_RESOLVE_H
#define KT_RESOLVE_H

#include <stddef.h>
#include "db/store.h"

typedef enum { RESOLVE_LOCATION, RESOLVE_STAFF, RESOLVE_CLIENT, RESOLVE_SERVICE, RESOLVE_ORG } resolve_kind;

/* Where to look: org NULL = every organisation (the operator's view; then
 * candidates on a database of several organisations name theirs);
 * location (services only) = those offered there or everywhere. Borrowed. */
typedef struct resolve_scope {
	const char *org;
	const char *location;
} resolve_scope;

/* Room for an ambiguous answer: the candidates, one line each. */
#define RESOLVE_ERR 2048

/* Find the one row that text names. KT_OK and its id; KT_ENOT_FOUND ("no
 * location matches 'X'") or KT_ECONFLICT (several match: err lists each
 * candidate's name, id and what tells them apart: a client's partly masked
 * e-mail and phone and locations, a staff member's role and locations, a
 * service's location and duration; and its organisation when the scope
 * spans several) with text for a person in err, which starts with opt
 * ("--client"); KT_EIO. */
int resolve_id(kt_store *st, resolve_kind kind, const resolve_scope *scope, const char *opt, const char *text,
	       char id[KT_UUID_LEN + 1], char *err, size_t errlen) KT_MUST_CHECK;

/* The person-facing name of a row ("Lepota Maribor", "Nina Kranjc", a
 * client's decrypted name, a service's or organisation's name) into
 * buf[cap]; "?" when it is
 * gone or cannot be read (an erased client). */
void resolve_name(kt_store *st, resolve_kind kind, const char *id, char *buf, size_t cap);

/* The organisation of a row of table ("location", "client", "appointment",
 * ...) into org. KT_OK, KT_ENOT_FOUND, KT_EIO. */
int resolve_org_of(kt_store *st, const char *table, const char *id, char org[KT_UUID_LEN + 1]) KT_MUST_CHECK;

/* The organisation a command acts in: the one opt (--org) names, else the
 * only one of the database. KT_OK; KT_ENOT_FOUND (none yet, or no such
 * name); KT_ECONFLICT (several: err lists them and asks for opt); KT_EIO. */
int resolve_org_arg(kt_store *st, const char *opt, const char *text, char org[KT_UUID_LEN + 1], char *err,
		    size_t errlen) KT_MUST_CHECK;

/* A comma list of names or ids ("Maribor,Graz") into a comma list of ids
 * in out[cap], each as resolve_id; empty items are skipped. Same results;
 * KT_EINVALID when out is too small. */
int resolve_id_list(kt_store *st, resolve_kind kind, const resolve_scope *scope, const char *opt, const char *list,
		    char *out, size_t cap, char *err, size_t errlen) KT_MUST_CHECK;

#define RESOLVE_ZONE 64
/* A location as commands that act at one need it: its id, organisation,
 * name and IANA zone ("UTC" when it has none). */
typedef struct resolve_place {
	char id[KT_UUID_LEN + 1], org[KT_UUID_LEN + 1];
	char name[256], zone[RESOLVE_ZONE];
} resolve_place;
/* The location text names, as resolve_id (same results and err). */
int resolve_location(kt_store *st, const resolve_scope *scope, const char *opt, const char *text,
		     resolve_place *out, char *err, size_t errlen) KT_MUST_CHECK;

/* The IANA time zone of a location; "" when it has none or is gone. */
void resolve_location_zone(kt_store *st, const char *location_id, char zone[RESOLVE_ZONE]);
/* The zone times of an organisation are shown in when they have no place of
 * their own (consents, mail, devices): its first location's (the oldest);
 * org NULL: the first organisation's. "" (UTC, labelled so) when none. */
void resolve_org_zone(kt_store *st, const char *org, char zone[RESOLVE_ZONE]);

/* An instant for people who read mail from the salon: local to the
 * organisation's first location, with its zone ("15 Jan 2027, 09:30 CET");
 * UTC, labelled, when the organisation has no location yet. */
void resolve_time_text(kt_store *st, const char *org, int64_t ms, char *out, size_t cap);

#endif
