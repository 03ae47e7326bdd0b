/* retention.h - cost that does not grow with age: the change log and the
 * stored push answers are kept for a window (changelog_days, default 90),
 * older entries are deleted in short transactions of bounded batches. The
 * audit log is never touched. A device whose cursor is older than the log
 * gets bad_cursor and a snapshot (cursor.c); a replay of a mid whose answer
 * went gets mutation_expired (push_apply.c, step_replay). */
#ifndef KT_RETENTION_H
#define KT_RETENTION_H

#include <stdint.h>
#include "db/store.h"

#define KT_CHANGELOG_DAYS_DEFAULT 90

/* The config key changelog_days (1 to 3650): 0 set, -1 a bad value (*why
 * says the rule), 1 not this module's key. Called before threads start. */
int retention_config_set(const char *k, const char *v, const char **why);
int retention_days(void);
/* The config key outbox_days (1 to 3650, default 90): sent, dropped or
 * failed appointment messages (confirmation, change, cancellation,
 * reminders) older than it, about an appointment that is as old or gone,
 * are deleted, their counts kept in outbox_tally. Every other finished
 * message (review requests, surveys, birthday greetings, campaigns, portal
 * links) keeps its row, which the planner reads back to send nothing twice
 * and the statistics count, but loses its address and text. */
#define KT_OUTBOX_DAYS_DEFAULT 90
int retention_outbox_days(void);

/* What a pass removed, or (retention_state) what is there. */
typedef struct kt_retention_counts {
	int64_t changelog;  /* change log entries */
	int64_t mutations;  /* stored push answers */
	int64_t devices;    /* (person, device) pairs whose expiry mark moved */
	int64_t outbox;     /* messages (their counts kept) */
	int64_t cleared;    /* messages whose address and text went (the row stays) */
} kt_retention_counts;

/* Delete change log entries (a prefix by seq, never the newest: seqs are
 * never reused) and stored answers written before now - days. Batches of
 * at most KT_RETENTION_BATCH rows per transaction, so pushes wait at most
 * one batch. removed may be NULL. */
#define KT_RETENTION_BATCH 1000
int retention_run(kt_store *st, int64_t now, int days, kt_retention_counts *removed) KT_MUST_CHECK;
/* The outbox's part (outbox_days), the same way: *removed rows deleted,
 * *cleared rows emptied of address and text. */
int retention_run_outbox(kt_store *st, int64_t now, int days, int64_t *removed, int64_t *cleared) KT_MUST_CHECK;

typedef struct kt_retention_state {
	kt_retention_counts rows;  /* rows kept now */
	kt_retention_counts due;   /* of those, older than the window */
	int64_t changelog_oldest;  /* ms of the oldest change log entry; 0 if none */
	int64_t changelog_min_seq; /* a cursor before min_seq - 1 gets bad_cursor */
	int64_t mutations_oldest;  /* ms; 0 if none */
} kt_retention_state;
int retention_state(kt_store *st, int64_t now, int days, kt_retention_state *out) KT_MUST_CHECK;

/* The hourly pass of serve, on its own thread and database connection. */
typedef struct kt_hourly kt_retention_pass; /* domain/hourly.h */
/* *out owned by the caller: retention_pass_stop. */
int retention_pass_start(const char *db_path, kt_retention_pass **out) KT_MUST_CHECK;
void retention_pass_stop(kt_retention_pass *p); /* NULL is fine */

#endif
