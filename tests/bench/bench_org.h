/* bench_org.h - the load benches' own organisation, made through the store
 * API, and sessions made directly in the database (so thousands of devices
 * sign in with `resume`, not Argon2id). Shared by kt-bench-load and
 * kt-bench-rights; the data must stay the same for both (figures compare). */
#ifndef KT_BENCH_ORG_H
#define KT_BENCH_ORG_H

#include "bench_util.h"
#include "kt_util.h"
#include "db/store.h"

#define BENCH_STAFF_PER_LOC 4 /* manager, reception, specialist, specialist */
#define BENCH_CLIENTS_PER_LOC 25
#define BENCH_APPTS_PER_LOC 50

typedef char bench_id[KT_UUID_LEN + 1];

/* The ids the generator made; arrays owned by the struct (bench_org_free). */
typedef struct bench_org {
	int nloc;
	bench_id org, service;
	bench_id *loc;    /* [nloc] */
	bench_id *staff;  /* [l * BENCH_STAFF_PER_LOC + k], k as above */
	bench_id *client; /* [l * BENCH_CLIENTS_PER_LOC + c] */
	bench_id *appt;   /* [l * BENCH_APPTS_PER_LOC + a], each at version 1 */
} bench_org;

/* Make the organisation in one transaction: nloc locations, each with its
 * staff, clients (linked to it) and appointments; one org-wide service.
 * 0 or -1 (rolled back). o's arrays are allocated here. */
int bench_org_make(kt_store *st, int nloc, bench_org *o) __attribute__((warn_unused_result));
void bench_org_free(bench_org *o); /* accepts a zeroed struct */

/* An empty database with server keys: mkdtemp /tmp/kt-bench-XXXXXX,
 * `SERVER_BIN init`, then store_open (the caller closes *st). b is zeroed
 * here; bench_server_stop removes the directory. */
int bench_org_db(bench_server *b, const char *server_bin, const char *name, kt_store **st)
	__attribute__((warn_unused_result));

/* Sessions the way auth_workers.c makes one after a password check: begin reads the
 * server's token_key and opens a transaction, each make writes one session
 * (device id and hex token out; the caller's buffers), end commits (ok) or
 * rolls back, and wipes the key. */
typedef struct bench_sessions {
	kt_store *st;
	uint8_t key[32];
} bench_sessions;
int bench_sessions_begin(bench_sessions *m, kt_store *st) __attribute__((warn_unused_result));
int bench_sessions_make(bench_sessions *m, const char *principal, char device[KT_UUID_LEN + 1], char token[65])
	__attribute__((warn_unused_result));
int bench_sessions_end(bench_sessions *m, bool ok);

#endif
