/* import.h - a client list from other salon software (CSV) into client
 * cards: the rules for reading messy exports (encoding, delimiter, headers in
 * five languages, local phone and date forms), finding duplicates, and the
 * one transaction that creates the cards. import_read never touches the
 * database; import_apply creates nothing unless every row it takes is good. */
#ifndef KT_IMPORT_H
#define KT_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include "db/store.h"

/* Bounds on untrusted input: a file, a physical line, a field, columns, rows. */
#define IMPORT_MAX_FILE (256u << 20)
#define IMPORT_MAX_LINE 65536
#define IMPORT_MAX_FIELD 16384
#define IMPORT_MAX_COLS 128
#define IMPORT_MAX_ROWS 1000000

enum import_encoding { IMPORT_ENC_AUTO = -1, IMPORT_UTF8 = 0, IMPORT_CP1250, IMPORT_CP1252 };
const char *import_encoding_name(int enc); /* "UTF-8", "Windows-1250", ... */
/* "utf-8", "windows-1250", "cp1250", "windows-1252", "cp1252" (any case); -2 when unknown. */
int import_encoding_parse(const char *s);

/* Which encoding bytes are in: UTF-8 when they are valid UTF-8, else
 * Windows-1250 or -1252 by the letters they would be; a tie (bytes that
 * read the same in both) goes to 1250 for a Central European country. */
int import_detect_encoding(const unsigned char *b, size_t n, const char *country);
/* The delimiter of UTF-8 text: ',' ';' or '\t', whichever the first
 * record has most of outside quotes (',' when it has none). */
char import_detect_delimiter(const char *s, size_t n);

/* What a column becomes on the card. */
enum import_field {
	IF_IGNORE = 0,
	IF_NAME,
	IF_FIRST_NAME,
	IF_LAST_NAME,
	IF_EMAIL,
	IF_PHONE,
	IF_BIRTHDAY,
	IF_ADDRESS,
	IF_NOTES, /* internal_notes */
	IF_ALLERGIES,
	IF_CONDITIONS,
	IF_MEDICATIONS,
	IF_SKIN_HAIR_TYPE,
	IF_PATCH_TESTS,
	IF_PREFERENCES,
	IF_CONSENT_EMAIL, /* consent:marketing_email */
	IF_CONSENT_SMS,
	IF_CONSENT_BIRTHDAY,
	IF_CONSENT_REVIEW,
	IF_COUNT
};
/* The --map spelling of f ("first_name", "consent:marketing_sms", "ignore"). */
const char *import_field_name(int f);
/* The list of --map spellings for messages and --help. */
#define IMPORT_FIELDS                                                                                        \
	"name, first_name, last_name, email, phone, birthday, address, notes, allergies, conditions, "      \
	"medications, skin_hair_type, patch_tests, preferences, consent:marketing_email, "                   \
	"consent:marketing_sms, consent:birthday_greetings, consent:review_requests, ignore"
/* A --map FIELD: its field, or -1 when unknown. */
int import_field_parse(const char *name);
/* A header as exported by some software ("Ime", "E-pošta", "Geburtstag",
 * "Soglasje SMS"): its field, or IF_IGNORE when not recognised. */
int import_field_from_header(const char *header);

/* Birthdays: D.M.YYYY, D. M. YYYY, YYYY-MM-DD; D/M/YYYY or M/D/YYYY only
 * with the date format given. */
enum import_date_format { IMPORT_DATE_AUTO = 0, IMPORT_DATE_DMY, IMPORT_DATE_MDY };
/* text into out as YYYY-MM-DD (a real day, 1900 until today). KT_OK or
 * KT_EINVALID with why naming the rule. */
int import_birthday(const char *text, int date_format, char out[11], char *why, size_t cap) KT_MUST_CHECK;
/* A consent cell: 1 yes (1, yes, y, x, true, da, ja, tak, kyllä, k), 0 no
 * (0, no, n, false, ne, nein, nie, ei), -1 empty, -2 neither. */
int import_yes_no(const char *text);

typedef struct import_opts {
	const char *file_name;   /* recorded in each card's audit entry (basename) */
	const char *country;     /* two letters: local phone numbers are read in its plan */
	int encoding;            /* IMPORT_ENC_AUTO or one of import_encoding */
	int date_format;         /* import_date_format */
	const char *const *maps; /* "COL=FIELD"; COL a header or a column number from 1 */
	int nmaps;
	bool skip_invalid;       /* create the good rows even when some are rejected */
} import_opts;

enum import_status { IMPORT_ROW_OK, IMPORT_ROW_REJECTED, IMPORT_ROW_DUPLICATE };

typedef struct import_row {
	int line;            /* where the record starts in the file, from 1 (the header) */
	int status;          /* import_status */
	char *v[IF_COUNT];   /* normalised values (malloc'd; NULL = empty); IF_NAME holds the full name */
	int consent[IF_COUNT]; /* for the consent fields: 1, 0, or -1 not given */
	char *reason;        /* rejected: why (malloc'd) */
	int dup_line;        /* duplicate of an earlier line (0: of an existing client) */
	char dup_client[KT_UUID_LEN + 1];
	char *dup_name;      /* that client's or line's name (malloc'd) */
	const char *dup_by;  /* "e-mail" or "phone" */
	char id[KT_UUID_LEN + 1]; /* the card created (import_apply) */
} import_row;

typedef struct import_plan {
	int encoding;
	char delim;
	int ncols;
	char **headers;  /* ncols, malloc'd */
	int *map;        /* ncols: import_field of each column */
	bool *mapped_by_hand; /* ncols: from --map */
	import_row *rows;
	int nrows;
	int ncreate, nduplicate, nrejected;
} import_plan;

/* Read a CSV file's bytes into a plan: columns mapped, every row
 * normalised or rejected with its reason. Duplicates are found later
 * (import_find_duplicates). KT_OK with *out (free with
 * import_plan_free); KT_EINVALID with err for a file that cannot be read
 * as a client list (binary, empty, a line over IMPORT_MAX_LINE, a column
 * mapped twice, an unknown --map field or column); KT_ENOMEM. */
int import_read(const unsigned char *buf, size_t len, const import_opts *o, import_plan **out, char *err,
		size_t cap) KT_MUST_CHECK;
void import_plan_free(import_plan *p); /* accepts NULL */

/* Mark as duplicates the good rows whose e-mail or phone belongs to an
 * earlier row or to an existing client of organisation org (read through
 * the store, so sealed values are compared decrypted). */
int import_find_duplicates(kt_store *st, const char *org, import_plan *p, const char *country) KT_MUST_CHECK;

/* Create the good rows as client cards in org, linked to location_id, each
 * audited as "imported" with the file name and line, and their consents
 * recorded with source import, all in one transaction (the caller holds
 * none). With rejected rows and no skip_invalid nothing is created
 * (KT_EINVALID). Each created row gets its id. KT_OK, or an error with err
 * (nothing created). */
int import_apply(kt_store *st, const char *org, const char *location_id, import_plan *p, const import_opts *o,
		 char *err, size_t cap) KT_MUST_CHECK;

/* import_text.c, for import.c: the file's bytes as UTF-8 (KT_OK and a
 * malloc'd *out, or an error naming the encoding's problem in err); the
 * consent purpose a consent field records; the client column a field fills
 * (NULL: not a column). */
int import_to_utf8(const unsigned char *b, size_t n, int enc, char **out, size_t *outlen, char *err, size_t cap);
const char *import_consent_purpose(int f);
const char *import_field_column(int f);

#endif
