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

#endif
