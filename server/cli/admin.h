/* admin.h - `kartoteka-server admin --db FILE SUBCOMMAND ...`: server-side
 * edits and listings for operators and tests. */
#ifndef KT_ADMIN_H
#define KT_ADMIN_H

#include <stdio.h>

/* Run one admin subcommand (argv[0]; argv is borrowed) against the existing
 * database db_path (never created here). Results go to stdout, errors to
 * stderr as "kartoteka-server admin: <message>". Returns the exit status:
 * 0 success (also for "help"), 1 failure, 2 usage (also for no subcommand). */
int admin_main(const char *db_path, int argc, char **argv);
/* The admin subcommands' usage (stdout for --help, stderr after a mistake). */
void admin_usage_print(FILE *f);

/* consent: record a grant or withdrawal as the operator, or show a client's
 * consent history and state (admin_consent.c). Same exit statuses. */
#include "db/store.h"
int admin_consent(kt_store *st, int argc, char **argv);

/* hours, closed days, staff hours and time off, services: what the
 * booking rules use (admin_schedule.c). Same exit statuses. */
int admin_hours(kt_store *st, int argc, char **argv);
int admin_closed(kt_store *st, int argc, char **argv);
int admin_staff_schedule(kt_store *st, int argc, char **argv); /* argv[0]: hours or time-off */
int admin_service(kt_store *st, int argc, char **argv);

/* The mail settings for links the admin commands queue (staff invite,
 * reset-password); main.c reads them from --config. Borrowed. */
#include "domain/portal.h"
void admin_set_portal_config(const kt_portal_config *cfg);
const kt_portal_config *admin_portal_config(void);

/* location, staff invite|reset-password, client create|edit|merge|find
 * (admin_location.c, admin_staff.c, admin_client.c). Same exit statuses. */

/* The helpers every admin file uses, so that options, names and messages
 * are read and said the same way in every subcommand (admin_common.c). */
#include "cli/args.h"
typedef cli_opt admin_opt;
/* cli_args for admin: a mistake is followed by the admin usage (2). */
int admin_parse(int argc, char **argv, admin_opt *opts, int nopts, const char **pos, int max, int *npos);
/* The row text names (resolve.h: an id, a name or the start of one). Not
 * found or ambiguous prints why (the candidates) and returns 2: nothing was
 * changed; 1 when the database cannot be read; 0 and id. */
#include "domain/resolve.h"
int admin_want(kt_store *st, resolve_kind kind, const resolve_scope *sc, const char *opt, const char *text,
	       char id[KT_UUID_LEN + 1]);
/* The same for a comma list ("Maribor,Graz") into a comma list of ids. */
int admin_want_list(kt_store *st, resolve_kind kind, const resolve_scope *sc, const char *opt, const char *list,
		    char *out, size_t cap);
/* The organisation a command acts in: --org's (text), else the only one
 * (resolve_org_arg). Same statuses as admin_want. */
int admin_want_org(kt_store *st, const char *text, char org[KT_UUID_LEN + 1]);
/* "kartoteka-server admin: what: err" (err may be NULL) on stderr; returns 1. */
int admin_say_fail(const char *what, const char *err);

int admin_location(kt_store *st, int argc, char **argv);
/* outbox list|resend: the messages and their delivery (admin_outbox.c). */
int admin_outbox(kt_store *st, int argc, char **argv);
/* retention show|run: the change log and stored answers kept (admin_retention.c). */
int admin_retention(kt_store *st, int argc, char **argv);
int admin_org(kt_store *st, int argc, char **argv); /* org privacy-notice (admin_org.c) */
int admin_staff_more(kt_store *st, int argc, char **argv);
int admin_client_more(kt_store *st, int argc, char **argv);
int admin_review(kt_store *st, int argc, char **argv); /* review list|reply|hide|highlight (admin_review.c) */
/* link issue: a one-purpose link's URL (admin_link.c). */
int admin_link(kt_store *st, int argc, char **argv);
/* message settings|template|list|counts|unconfirmed|campaign|daily (admin_message.c) */
int admin_message(kt_store *st, int argc, char **argv);
void admin_message_usage(FILE *f);

#endif
