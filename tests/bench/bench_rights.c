/* bench_rights.c - rights changes, against the real server over
 * real WebSocket connections, on kt-bench-load's organisation (bench_org):
 *
 *   scale: server work per change as the connected devices grow (default
 *      100, 250, 500, 1000, 2000). The changes are appointment edits at one
 *      location whose audience stays the same (--hot-devices, default 5);
 *      every added device signs in at one of the other 19 locations. Server
 *      CPU per change = (utime+stime over the run - the same over an idle
 *      stretch of the same length) / changes; latency at the devices from
 *      the writer's COMMIT. Fan-out is indexed by location (server/sync/fanout.c),
 *      so this must stay flat.
 *   moves: with all devices connected and synced, a stylist (a specialist of
 *      Branch 02 with --stylist-devices devices, default 2) moves to Branch 03
 *      and back, --moves times. A move is what `kartoteka-server admin staff
 *      location ID add|remove LOC` does, both links in one transaction on a
 *      second database connection (as kt-bench-load writes). Time from that
 *      COMMIT until every stylist device holds every row of the new branch
 *      (location, its staff, clients, appointments) and none of the old one.
 *      Each device keeps the ids it holds: a snapshot (snapshot_begin ..
 *      snapshot_end) replaces them, put/evict/delete ops in `changes` edit
 *      them, so a full new snapshot and a difference are both measured.
 *
 * usage: kt-bench-rights SERVER_BIN [--devices N] [--locations N]
 *        [--steps N,N,..] [--changes N] [--rate PER_S] [--hot-devices N]
 *        [--moves N] [--stylist-devices N] [--only scale|moves] */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>
#include "bench_conn.h"
#include "bench_org.h"
#include "bench_util.h"
#include "kt_proto.h"

#define WAVE 500     /* connections opened at a time */
#define MAX_STEPS 16
#define HOT 0        /* the location the scale changes concern */
#define FROM 1       /* the stylist's branch at the start; moves to TO and back */
#define TO 2

typedef struct rdev {
	bench_conn c; /* first: the hooks get &d->c */
	bool synced, closed;
	/* the stylist's devices: which of the org's ids they hold */
	uint8_t *held, *pending;
	bool in_snapshot;
	int64_t t_done;
	/* received since the last move */
	int64_t bytes, msgs, snapshots, rows, puts, evicts, deletes;
} rdev;

static rdev *devs;
static int ndev, nloc = 20, nerrors, nclosed;
static bool stopping; /* closing everything at the end: not a lost connection */
static bench_client cl; /* epoll under lws, as in the server (common/kt_evloop.h) */
static bench_org org;

/* every id the generator made, sorted: a device's holdings are a bitmap over it */
static bench_id *ids;
static int nids;
/* set[l]: the ids a specialist of location l sees because of l (location,
 * its staff but the stylist, its clients, its appointments) */
static int *set[64], nset[64];
static int stylist_idx; /* the stylist's staff index */

/* scale: commit time of each version of the hot appointment */
static int64_t *commit_us;
static int64_t max_v;
static bench_samples lat; /* change latencies, ms */

static int cmp_id(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static int id_index(const kt_str *id)
{
	bench_id key;
	if (id->len != KT_UUID_LEN)
		return -1;
	memcpy(key, id->s, KT_UUID_LEN);
	key[KT_UUID_LEN] = 0;
	bench_id *p = bsearch(key, ids, (size_t)nids, sizeof *ids, cmp_id);
	return p ? (int)(p - ids) : -1;
}

static int index_of(const char *id)
{
	kt_str s = {id, strlen(id)};
	return id_index(&s);
}

static void make_sets(void)
{
	int n = 0;
	nids = 2 + nloc * (1 + BENCH_STAFF_PER_LOC + BENCH_CLIENTS_PER_LOC + BENCH_APPTS_PER_LOC);
	ids = calloc((size_t)nids, sizeof *ids);
	memcpy(ids[n++], org.org, sizeof(bench_id));
	memcpy(ids[n++], org.service, sizeof(bench_id));
	for (int l = 0; l < nloc; l++)
		memcpy(ids[n++], org.loc[l], sizeof(bench_id));
	for (int i = 0; i < nloc * BENCH_STAFF_PER_LOC; i++)
		memcpy(ids[n++], org.staff[i], sizeof(bench_id));
	for (int i = 0; i < nloc * BENCH_CLIENTS_PER_LOC; i++)
		memcpy(ids[n++], org.client[i], sizeof(bench_id));
	for (int i = 0; i < nloc * BENCH_APPTS_PER_LOC; i++)
		memcpy(ids[n++], org.appt[i], sizeof(bench_id));
	qsort(ids, (size_t)nids, sizeof *ids, cmp_id);
	for (int l = 0; l < nloc; l++) {
		int *s = set[l] = calloc((size_t)(nids), sizeof *s);
		int k = 0;
		s[k++] = index_of(org.loc[l]);
		for (int i = 0; i < BENCH_STAFF_PER_LOC; i++)
			if (l * BENCH_STAFF_PER_LOC + i != stylist_idx)
				s[k++] = index_of(org.staff[l * BENCH_STAFF_PER_LOC + i]);
		for (int i = 0; i < BENCH_CLIENTS_PER_LOC; i++)
			s[k++] = index_of(org.client[l * BENCH_CLIENTS_PER_LOC + i]);
		for (int i = 0; i < BENCH_APPTS_PER_LOC; i++)
			s[k++] = index_of(org.appt[l * BENCH_APPTS_PER_LOC + i]);
		nset[l] = k;
	}
}

/* All of set[to] held and none of set[from]. */
static bool holds_move(const rdev *d, int from, int to)
{
	for (int i = 0; i < nset[to]; i++)
		if (!d->held[set[to][i]])
			return false;
	for (int i = 0; i < nset[from]; i++)
		if (d->held[set[from][i]])
			return false;
	return true;
}

/* Ids of locations other than `at` that the device holds: must be 0. */
static int held_elsewhere(const rdev *d, int at)
{
	int n = 0;
	for (int l = 0; l < nloc; l++)
		if (l != at)
			for (int i = 0; i < nset[l]; i++)
				n += d->held[set[l][i]];
	return n;
}

/* ---- the devices ---- */

static int on_row(void *user, const kt_op *op)
{
	rdev *d = user;
	d->rows++;
	if (d->held && d->in_snapshot) {
		int i = id_index(&op->id);
		if (i >= 0)
			d->pending[i] = 1;
	}
	return 0;
}

static int on_change(void *user, const kt_op *op)
{
	rdev *d = user;
	int64_t now = kt_mono_us();
	d->puts += op->op == KT_OP_PUT;
	d->evicts += op->op == KT_OP_EVICT;
	d->deletes += op->op == KT_OP_DELETE;
	if (d->held) {
		int i = id_index(&op->id);
		if (i >= 0)
			d->held[i] = op->op == KT_OP_PUT;
	}
	if (op->op == KT_OP_PUT && commit_us && op->id.len == KT_UUID_LEN &&
	    !memcmp(op->id.s, org.appt[HOT * BENCH_APPTS_PER_LOC], KT_UUID_LEN) && op->v > 1 && op->v <= max_v) {
		int64_t c = commit_us[op->v];
		bench_samples_add(&lat, c && now > c ? (double)(now - c) / 1000.0 : 0.0);
	}
	return 0;
}

/* welcome and auth_ok are answered by bench_conn (resume; sync without a
 * cursor, as no cursor is kept here: a first snapshot) */
static void on_message(bench_conn *c, kt_msgtype t, const unsigned char *buf, size_t len)
{
	rdev *d = (rdev *)c;
	d->bytes += (int64_t)len;
	d->msgs++;
	switch (t) {
	case KT_MSG_SNAPSHOT_BEGIN:
		d->snapshots++;
		if (d->held) {
			d->in_snapshot = true;
			memset(d->pending, 0, (size_t)nids);
		}
		break;
	case KT_MSG_PAGE:
		if (proto_page_decode(buf, len, on_row, d))
			nerrors++;
		break;
	case KT_MSG_SNAPSHOT_END:
		if (d->held && d->in_snapshot) {
			memcpy(d->held, d->pending, (size_t)nids);
			d->in_snapshot = false;
		}
		break;
	case KT_MSG_SYNCED:
		d->synced = true;
		break;
	case KT_MSG_CHANGES: {
		kt_str cur = {0};
		if (proto_changes_decode(buf, len, on_change, d, &cur))
			nerrors++;
		break;
	}
	case KT_MSG_ERROR:
		bench_conn_error_msg(c, buf, len, &nerrors);
		break;
	default:
		break;
	}
}

static void on_error(bench_conn *c, const char *why)
{
	if (nclosed++ < 5)
		fprintf(stderr, "connection error: %s\n", why ? why : "?");
	((rdev *)c)->closed = true;
}

static void on_closed(bench_conn *c)
{
	rdev *d = (rdev *)c;
	if (stopping)
		return;
	if (nclosed++ < 5)
		fprintf(stderr, "device %s: connection closed\n", c->device);
	d->closed = true, d->synced = false;
}

static const bench_client_hooks hooks = {on_message, on_error, on_closed};

static void connect_dev(rdev *d)
{
	d->synced = d->closed = false;
	if (bench_conn_connect(&cl, &d->c, NULL))
		d->closed = true;
}

/* kt_evloop_service() may sleep long with nothing to do: a tick keeps the
 * loop's clock looked at. 5 ms paces the edits (200/s); arrivals wake the
 * loop by themselves. */
#define TICK_US (5 * LWS_US_PER_MS)

static void service_for(int64_t us)
{
	int64_t end = kt_mono_us() + us;
	while (kt_mono_us() < end)
		bench_client_service(&cl);
}

/* Connect devices [first, last) in waves; true when all are synced. */
static bool connect_range(int first, int last)
{
	for (int w = first; w < last; w += WAVE) {
		int e = w + WAVE < last ? w + WAVE : last;
		for (int i = w; i < e; i++)
			connect_dev(&devs[i]);
		int64_t deadline = kt_mono_us() + 120 * 1000000LL;
		for (;;) {
			int n = 0, gone = 0;
			for (int i = w; i < e; i++)
				n += devs[i].synced, gone += devs[i].closed;
			if (n == e - w)
				break;
			if (gone || kt_mono_us() > deadline)
				return false;
			bench_client_service(&cl);
		}
	}
	return true;
}

static void zero_counts(int first, int last)
{
	for (int i = first; i < last; i++) {
		rdev *d = &devs[i];
		d->bytes = d->msgs = d->snapshots = d->rows = d->puts = d->evicts = d->deletes = 0;
	}
}

/* ---- scale: server CPU per one-location change ---- */

static kt_store *wst; /* the writer's own database connection */

static int scale_part(const bench_server *b, const int *steps, int nsteps, int changes, int rate, int hot)
{
	double base = 0;
	int rc = 0, have = 0;
	char note[48];
	int64_t v = 1;

	max_v = 1 + (int64_t)changes * nsteps;
	commit_us = calloc((size_t)max_v + 1, sizeof *commit_us);
	printf("\nscale: %d appointment edits per step at %d/s, all at Branch %02d, whose %d devices stay the "
	       "same; added devices sign in at the other %d locations.\n",
	       changes, rate, HOT + 1, hot, nloc - 1);
	printf("scale: server CPU per change = (server utime+stime over the edits - over an idle stretch as long) / "
	       "edits\n");
	printf("%8s %10s %10s %12s %12s %9s %9s %9s %8s\n", "devices", "deliveries", "expected", "idle CPU ms",
	       "run CPU ms", "ms/change", "p50 ms", "p99 ms", "vs first");
	for (int s = 0; s < nsteps; s++) {
		if (!connect_range(have, steps[s])) {
			fprintf(stderr, "scale: devices %d-%d did not all sync\n", have, steps[s]);
			return 1;
		}
		have = steps[s];
		service_for(1000 * 1000); /* the last snapshots' tail */
		int64_t span = (int64_t)changes * 1000000 / rate + 1000 * 1000; /* the edits, then 1 s for the last */
		double c0 = bench_server_cpu_ms(b);
		service_for(span);
		double idle = bench_server_cpu_ms(b) - c0;
		lat.n = 0;
		c0 = bench_server_cpu_ms(b);
		int64_t t0 = kt_mono_us();
		for (int k = 0; k < changes; k++) {
			int64_t due = t0 + (int64_t)k * 1000000 / rate;
			while (kt_mono_us() < due)
				bench_client_service(&cl);
			int64_t nv = 0;
			snprintf(note, sizeof note, "scale %d/%d", s, k);
			kt_field f = {"client_note", note};
			if (store_update(wst, "appointment", org.appt[HOT * BENCH_APPTS_PER_LOC], &f, 1, &nv) ||
			    nv != v + 1) {
				fprintf(stderr, "scale: update failed (v %lld)\n", (long long)nv);
				return 1;
			}
			v = nv;
			commit_us[v] = kt_mono_us();
		}
		while (kt_mono_us() < t0 + span)
			bench_client_service(&cl);
		double run = bench_server_cpu_ms(b) - c0;
		double per = (run - idle) / changes;
		if (s == 0)
			base = per;
		int got = lat.n;
		double p50 = bench_percentile(lat.v, lat.n, 50), p99 = bench_percentile(lat.v, lat.n, 99);
		char ratio[16] = "-";
		if (base > 0)
			snprintf(ratio, sizeof ratio, "%.2f", per / base);
		printf("%8d %10d %10d %12.0f %12.0f %9.3f %9.2f %9.2f %8s\n", have, got, changes * hot, idle, run, per,
		       p50, p99, ratio);
		fflush(stdout);
		if (got != changes * hot)
			rc = 1;
	}
	printf("scale: ms/change is server CPU time (all threads) per edit; 'vs first' is the ratio to the %d-device "
	       "row (CPU ticks are 10 ms: below ~0.05 ms/change the ratio is noise)\n",
	       steps[0]);
	free(commit_us);
	commit_us = NULL;
	return rc;
}

/* ---- moves: a stylist between two branches ---- */

static int move(int from, int to)
{
	const char *sid = org.staff[stylist_idx];
	if (store_begin(wst))
		return -1;
	if (store_link_staff_location(wst, sid, org.loc[to], true) ||
	    store_link_staff_location(wst, sid, org.loc[from], false)) {
		store_rollback(wst);
		return -1;
	}
	return store_commit(wst) ? -1 : 0;
}

static int moves_part(int first, int nsd, int nmoves)
{
	double *ms = calloc((size_t)nmoves, sizeof *ms);
	int64_t bytes = 0, ops = 0, snaps = 0, evicts = 0, puts = 0, rows = 0, others_bytes = 0;
	int done_moves = 0, leaks = 0, rc = 0;

	for (int j = 0; j < nsd; j++)
		if (!holds_move(&devs[first + j], TO, FROM) || held_elsewhere(&devs[first + j], FROM)) {
			fprintf(stderr, "moves: stylist device %d does not hold exactly Branch %02d before the first move\n",
				j, FROM + 1);
			return 1;
		}
	printf("\nmoves: %d devices connected and synced; the stylist (a specialist) has %d of them. Each move = "
	       "`staff location ID add NEW` + `remove OLD` in one transaction;\n"
	       "moves: done = every stylist device holds every row of the new branch (location, staff, clients, "
	       "appointments: %d rows) and none of the old one's.\n",
	       ndev, nsd, nset[TO]);
	for (int m = 0; m < nmoves; m++) {
		int from = m % 2 ? TO : FROM, to = m % 2 ? FROM : TO;
		zero_counts(0, ndev);
		for (int j = 0; j < nsd; j++)
			devs[first + j].t_done = 0;
		if (move(from, to)) {
			fprintf(stderr, "moves: the move was not saved\n");
			rc = 1;
			break;
		}
		int64_t t0 = kt_mono_us(), deadline = t0 + 10 * 1000000LL;
		int left = nsd;
		while (left && kt_mono_us() < deadline) {
			bench_client_service(&cl);
			left = 0;
			for (int j = 0; j < nsd; j++) {
				rdev *d = &devs[first + j];
				if (!d->t_done && !d->in_snapshot && holds_move(d, from, to))
					d->t_done = kt_mono_us();
				left += !d->t_done;
			}
		}
		if (left) {
			fprintf(stderr, "moves: move %d not reflected on %d stylist devices after 10 s\n", m + 1, left);
			rc = 1;
			break;
		}
		int64_t last = 0;
		for (int j = 0; j < nsd; j++)
			if (devs[first + j].t_done > last)
				last = devs[first + j].t_done;
		ms[done_moves++] = (double)(last - t0) / 1000.0;
		service_for(300 * 1000); /* whatever else this move sends, counted below */
		int64_t mb = 0, mo = 0, ms_ = 0;
		for (int j = 0; j < nsd; j++) {
			rdev *d = &devs[first + j];
			int extra = held_elsewhere(d, to);
			leaks += extra;
			if (extra && leaks == extra)
				fprintf(stderr, "moves: move %d: a stylist device still holds %d rows of other branches\n",
					m + 1, extra);
			mb += d->bytes, mo += d->rows + d->puts + d->evicts + d->deletes, ms_ += d->snapshots;
			bytes += d->bytes, rows += d->rows, puts += d->puts, evicts += d->evicts + d->deletes;
			snaps += d->snapshots;
		}
		ops += mo;
		for (int i = 0; i < ndev; i++)
			if (i < first || i >= first + nsd)
				others_bytes += devs[i].bytes;
		printf("move %2d: Branch %02d -> %02d: reflected on all %d devices in %6.2f ms; per device %6.0f bytes, "
		       "%4.0f ops, %s\n",
		       m + 1, from + 1, to + 1, nsd, ms[done_moves - 1], (double)mb / nsd, (double)mo / nsd,
		       ms_ ? "a full snapshot" : "a difference");
		fflush(stdout);
	}
	if (done_moves) {
		int n = done_moves;
		double per = (double)n * nsd;
		double p50 = bench_percentile(ms, n, 50), p99 = bench_percentile(ms, n, 99); /* sorts ms */
		printf("moves: %d moves, time to reflect on all %d stylist devices: p50 %.2f ms, p99 %.2f ms, max %.2f ms "
		       "(target < 100 ms)\n",
		       n, nsd, p50, p99, ms[n - 1]);
		printf("moves: per stylist device per move: %.0f bytes, %.1f ops (%.1f snapshot rows, %.1f puts, %.1f "
		       "evicts/deletes), %.2f snapshots -> %s\n",
		       (double)bytes / per, (double)ops / per, (double)rows / per, (double)puts / per,
		       (double)evicts / per, (double)snaps / per,
		       snaps ? "a full new snapshot on a rights change" : "a difference (no snapshot)");
		printf("moves: the other %d devices received %.0f bytes per move in all (staff-row changes at both "
		       "branches); rows of other branches left on stylist devices: %d\n",
		       ndev - nsd, (double)others_bytes / n, leaks);
	}
	free(ms);
	return rc || leaks ? 1 : 0;
}

/* ---- setup ---- */

static int parse_steps(const char *s, int *steps)
{
	int n = 0;
	while (*s && n < MAX_STEPS) {
		char *e;
		long v = strtol(s, &e, 10);
		if (e == s || v < 1)
			return -1;
		steps[n++] = (int)v;
		s = *e == ',' ? e + 1 : e;
	}
	return n;
}

int main(int argc, char **argv)
{
	bench_help(argc, argv, "SERVER_BIN [--devices N] [--locations N] [--steps N,N,..] [--changes N] [--only moves] ...",
		   "Rights changes (moves between branches, role changes) at many devices: time until every device reflects them, bytes per device.");
	int steps[MAX_STEPS] = {100, 250, 500, 1000, 2000}, nsteps = 5;
	int changes = 1000, rate = 200, hot = 5, nmoves = 20, nsd = 2;
	const char *only = NULL, *msg;
	bench_server b;
	kt_store *st;
	int rc = 0;

	ndev = 0;
	if (argc < 2) {
		fprintf(stderr, "usage: %s SERVER_BIN [--devices N] [--locations N] [--steps N,N,..] [--changes N] "
				"[--rate PER_S] [--hot-devices N] [--moves N] [--stylist-devices N] [--only scale|moves]\n",
			argv[0]);
		return 2;
	}
	for (int i = 2; i + 1 < argc; i += 2) {
		const char *k = argv[i];
		int v = atoi(argv[i + 1]);
		if (!strcmp(k, "--devices"))
			ndev = v;
		else if (!strcmp(k, "--locations"))
			nloc = v;
		else if (!strcmp(k, "--steps"))
			nsteps = parse_steps(argv[i + 1], steps);
		else if (!strcmp(k, "--changes"))
			changes = v;
		else if (!strcmp(k, "--rate"))
			rate = v;
		else if (!strcmp(k, "--hot-devices"))
			hot = v;
		else if (!strcmp(k, "--moves"))
			nmoves = v;
		else if (!strcmp(k, "--stylist-devices"))
			nsd = v;
		else if (!strcmp(k, "--only"))
			only = argv[i + 1];
		else {
			fprintf(stderr, "unknown option %s\n", k);
			return 2;
		}
	}
	if (ndev > 0) /* --devices caps the steps */
		while (nsteps > 1 && steps[nsteps - 1] > ndev)
			nsteps--;
	else if (nsteps > 0)
		ndev = steps[nsteps - 1];
	for (int s = 1; s < nsteps; s++)
		if (steps[s] <= steps[s - 1])
			nsteps = -1;
	if (nsteps < 1 || steps[nsteps - 1] > ndev || nloc < 3 || nloc > 64 || hot < 1 || nsd < 1 || changes < 1 ||
	    rate < 1 || nmoves < 0 || steps[0] < hot + nsd || (only && strcmp(only, "scale") && strcmp(only, "moves"))) {
		fprintf(stderr, "bad option value (steps rising, at most --devices, the first >= hot + stylist devices; "
				"locations 3-64)\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	bench_raise_nofile(ndev + 200);

	/* the devices: [0, hot) at the hot branch, then the stylist's, then the
	 * rest over the staff of the other branches (the stylist left out) */
	devs = calloc((size_t)ndev, sizeof *devs);
	if (bench_org_db(&b, argv[1], "rights.db", &st) || bench_org_make(st, nloc, &org)) {
		fprintf(stderr, "cannot make the bench data\n");
		return 1;
	}
	stylist_idx = FROM * BENCH_STAFF_PER_LOC + 2;
	int nothers = (nloc - 1) * BENCH_STAFF_PER_LOC - 1;
	bench_id *others = calloc((size_t)nothers, sizeof *others);
	for (int i = BENCH_STAFF_PER_LOC, n = 0; i < nloc * BENCH_STAFF_PER_LOC; i++)
		if (i != stylist_idx)
			memcpy(others[n++], org.staff[i], sizeof(bench_id));
	bench_sessions ms;
	bool ok = bench_sessions_begin(&ms, st) == 0;
	for (int i = 0; ok && i < ndev; i++) {
		const char *p = others[(i - hot - nsd + nothers) % nothers];
		if (i < hot)
			p = org.staff[HOT * BENCH_STAFF_PER_LOC + i % BENCH_STAFF_PER_LOC];
		else if (i < hot + nsd)
			p = org.staff[stylist_idx];
		ok = bench_sessions_make(&ms, p, devs[i].c.device, devs[i].c.token) == 0;
	}
	if ((ok ? bench_sessions_end(&ms, true) : bench_sessions_end(&ms, false)) || !ok) {
		fprintf(stderr, "cannot make the sessions\n");
		return 1;
	}
	store_close(st);
	free(others);
	make_sets();
	for (int j = 0; j < nsd; j++) {
		devs[hot + j].held = calloc((size_t)nids, 1);
		devs[hot + j].pending = calloc((size_t)nids, 1);
	}
	if (bench_server_serve(&b, argv[1]) || store_open(b.db, 0, &wst, &msg)) {
		fprintf(stderr, "cannot start the server\n");
		return 1;
	}
	if (bench_client_start(&cl, b.port, "kt-bench-rights", TICK_US, &hooks))
		return 1;
	printf("kt-bench-rights: %s, %d locations, up to %d devices; server pid %d; event loop %s; load average at "
	       "start: ",
	       argv[1], nloc, ndev, (int)b.pid, kt_evloop_name(cl.loop));
	FILE *la = fopen("/proc/loadavg", "r");
	char lbuf[64] = "?";
	if (la && fgets(lbuf, sizeof lbuf, la))
		lbuf[strcspn(lbuf, "\n")] = 0;
	if (la)
		fclose(la);
	printf("%s\n", lbuf);

	int64_t t0 = kt_mono_us();
	double me0 = bench_self_cpu_ms() / 1000;
	if (!only || !strcmp(only, "scale"))
		rc |= scale_part(&b, steps, nsteps, changes, rate, hot);
	if (!rc && (!only || !strcmp(only, "moves"))) {
		int have = 0;
		for (int i = 0; i < ndev && devs[i].synced; i++)
			have = i + 1;
		if (!connect_range(have, ndev)) {
			fprintf(stderr, "moves: not all %d devices synced\n", ndev);
			rc = 1;
		} else {
			service_for(1000 * 1000);
			rc |= moves_part(hot, nsd, nmoves);
		}
	}
	double wall = (double)(kt_mono_us() - t0) / 1e6, me = bench_self_cpu_ms() / 1000 - me0;
	printf("\ndone in %.0f s (this bench used %.0f %% of one core: its devices share the machine with the server); "
	       "errors seen by devices %d, connections lost %d\n",
	       wall, 100 * me / wall, nerrors, nclosed);
	fflush(stdout);
	stopping = true;
	bench_client_stop(&cl);
	store_close(wst);
	bench_server_stop(&b);
	for (int i = 0; i < ndev; i++) {
		bench_inbuf_free(&devs[i].c.in);
		free(devs[i].held);
		free(devs[i].pending);
	}
	free(devs);
	for (int l = 0; l < nloc; l++)
		free(set[l]);
	free(ids);
	bench_samples_free(&lat);
	bench_org_free(&org);
	return rc || nerrors || nclosed ? 1 : 0;
}
