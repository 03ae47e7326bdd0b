/* kt_text.h - the one place where command lines turn what people type into
 * values and values into what people read: a time argument (local to a
 * place unless it carries an offset), a person-facing time (local, with the
 * zone's name), an ISO 8601 instant for scripts, and case folding for
 * matching names. Both CLIs (server admin, reference client) use these, so
 * the forms are the same everywhere. Never reads a clock or the process's
 * TZ: every zone is passed in. */
#ifndef KT_TEXT_H
#define KT_TEXT_H

#include <stddef.h>
#include <stdint.h>

#define KT_TEXT_TIME 64 /* room for any kt_text_time / kt_text_iso result */

/* A time argument for option opt ("--start"): "2027-01-15 09:30" local to
 * zone, with :SS, an explicit offset (+01:00) or Z, or, for scripts,
 * milliseconds since 1970. KT_OK and *ms; KT_EINVALID with one sentence in
 * err that names the option and the rule (the skipped DST hour included). */
int kt_text_time_arg(const char *opt, const char *zone, const char *text, int64_t *ms, char *err,
		     size_t errlen);

/* A date or time bound for a filter: "2027-01-15" is that day's first
 * instant in zone (end_of_day: the first instant of the next day, so a
 * --to date includes the whole day); anything else as kt_text_time_arg. */
int kt_text_bound_arg(const char *opt, const char *zone, const char *text, int end_of_day, int64_t *ms,
		      char *err, size_t errlen);

/* A person-facing time: "2027-01-15 09:30 CET" in zone; "-" for ms <= 0
 * (never happened); zone NULL, empty or unknown: UTC, labelled "UTC". */
void kt_text_time(const char *zone, int64_t ms, char buf[KT_TEXT_TIME]);

/* An instant for scripts: "2027-01-15T08:30:00Z" (".123" before the Z when
 * it has milliseconds); "" for ms <= 0. */
void kt_text_iso(int64_t ms, char buf[KT_TEXT_TIME]);

/* Unicode case folding of UTF-8 text into out[cap] ("Žana" and "ŽANA" fold
 * alike; accents stay: "Zana" does not). KT_OK, or KT_EINVALID (not UTF-8,
 * or does not fit). */
int kt_text_fold(const char *in, char *out, size_t cap);

/* How a typed name (folded with kt_text_fold) matches a name: 2 the whole
 * name, 1 the start of it or of a word in it ("Maribor" in "Lepota
 * Maribor"), 0 not at all. The one rule both CLIs resolve names by. */
int kt_text_name_match(const char *name, const char *typed_folded);

/* How a typed text (folded) names a row, the whole rule of both CLIs'
 * resolvers: 2 its name, or its e-mail (email: NULL for rows not named so);
 * 1 the start of its name or of a word in it, or of its id (at least 4
 * characters, hex digits and dashes only, so that a short name is never
 * read as one); 0 not at all. An exact id is the caller's to check first. */
int kt_text_row_match(const char *id, const char *name, const char *email, const char *typed_folded);

/* Contact data shown only far enough to tell two people apart:
 * "an***@example.com", "+386 ** *** 222". "" for NULL or no '@'. */
void kt_text_mask_email(const char *email, char *out, size_t cap);
void kt_text_mask_phone(const char *phone, char *out, size_t cap);

#endif
