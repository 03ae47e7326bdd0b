/* sync.c - what a session sends: snapshot pages, then the change log after
 * its cursor, each row filtered for the principal at send time against the
 * row's current state (README, "Design notes"). A slow
 * device simply lags in the log: nothing is queued per connection. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <time.h>
#include "kt_metrics.h"
#include "sync/egress.h"
#include "server.h"
#include "sync/cursor.h"
#include "sync/fanout.h"
#include "sync/snapcache.h"
#include "sync/sync.h"
#include "conn/conn.h"

/* ---- rights diff: a change of a staff member's locations ----
 *
 * When the stream meets the entry of the session's own staff row and the
 * locations changed but the role did not, the device gets the difference
 * instead of a new snapshot (PROTOCOL.md, rights):
 *   1. what was gathered before that entry goes out (old rights);
 *   2. evictions: rows the old locations show and the new ones do not;
 *   3. rows the new locations show and the old ones did not;
 *   4. the stream goes on from that entry, and until it has passed every
 *      change the reads of 2 and 3 may have seen (diff_end), an entry counts
 *      when it concerns the old rights or the new ones ("union"): a row that
 *      left an old location while the difference was read is evicted, one
 *      edited there is sent if still visible.
 * 2 and 3 compare the snapshot conditions of both location sets over the
 * rows as they are now, so every way a row is reached (a client linked to
 * several locations, consents that follow their client) counts the same as
 * in a snapshot. Until 4 is done, cursors carry the old rights: a device
 * that reconnects half-way gets a snapshot. Another role, a client, a
 * deactivation, a second change during 2-4, or a change that a snapshot in
 * progress may already have read: a new snapshot, as before. */

static void diff_clear(kt_session *s)
{
	if (s->diff_active)
		kt_principal_free(&s->diff_old);
	memset(&s->diff_old, 0, sizeof s->diff_old);
	s->diff_active = false;
	s->diff_phase = 0;
}

static void basis_clear(kt_session *s)
{
	if (s->has_basis)
		kt_principal_free(&s->basis);
	memset(&s->basis, 0, sizeof s->basis);
	s->has_basis = false;
}

void sync_session_free(kt_session *s)
{
	diff_clear(s);
	basis_clear(s);
}

void sync_rights_moved(kt_session *s, kt_principal *np)
{
	bool has_data = s->state == KT_SS_SNAPSHOT || s->state == KT_SS_STREAM;
	bool moved = cursor_rights(&s->principal) != cursor_rights(np);
	if (has_data && moved && !s->has_basis) {
		/* what the device holds was chosen with these: kept until the
		 * stream meets the change and evicts what they no longer allow */
		s->basis = s->principal;
		s->has_basis = true;
		kt_info("session %llu: rights changed; its data follows when the stream meets the change",
			(unsigned long long)s->id);
	} else
		kt_principal_free(&s->principal);
	s->principal = *np;
	memset(np, 0, sizeof *np);
	if (has_data && moved)
		fanout_index(s);
}

static bool diff_can(const kt_session *s, const kt_principal *p, const kt_principal *np, const kt_log_entry *e)
{
	return !p->is_client && !np->is_client && p->role == np->role && p->role != KT_ROLE_CLIENT && p->active &&
	       np->active && !s->diff_active && e->seq > s->basis_seq;
}

/* Takes over np; the old principal is kept for the union (step 4). */
static void diff_begin(kt_session *s, kt_principal *np)
{
	s->diff_old = s->principal;
	s->principal = *np;
	memset(np, 0, sizeof *np);
	s->diff_active = true;
	s->diff_phase = 1;
	s->diff_table = 0;
	s->diff_after[0] = 0;
	s->diff_end = store_max_seq(s->srv->st);
	fanout_index(s); /* the old locations too, until the union ends */
	kt_info("session %llu: locations changed; sending the difference", (unsigned long long)s->id);
}

/* Step 4 done: from here on only the new rights, and cursors say so. */
static void diff_settle(kt_session *s)
{
	if (!s->diff_active || s->diff_phase || s->sent_seq < s->diff_end)
		return;
	diff_clear(s);
	fanout_index(s);
	s->send_synced = true; /* a cursor with the new rights */
}

/* A comma list of ids as a JSON array for json_each() (owned; NULL when
 * out of memory). jansson writes it, so no id can break the quoting. */
static char *locs_json(const char *locs)
{
	json_t *a = json_array();
	char *out = NULL;
	const char *p = locs;
	if (!a)
		return NULL;
	while (p && *p) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		if (len && json_array_append_new(a, json_stringn(p, len)))
			goto out;
		p = c ? c + 1 : NULL;
	}
	out = json_dumps(a, JSON_COMPACT);
out:
	json_decref(a);
	return out;
}

/* ---- snapshot ---- */

/* The connected-devices gauge follows a role that changed while connected. */
static void metric_role_follow(kt_session *s)
{
	if (s->metric_role >= 0 && s->metric_role != s->principal.role) {
		kt_metric_add(KT_M_DEVICES, s->metric_role, -1);
		s->metric_role = s->principal.role;
		kt_metric_inc(KT_M_DEVICES, s->metric_role);
	}
}

static int64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts); /* the change log's `at` is wall-clock ms */
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void sync_start_snapshot(kt_session *s)
{
	kt_server *srv = s->srv;
	kt_snapshot_begin b = {0};
	kt_principal np;

	diff_clear(s);
	basis_clear(s);
	/* the rights as they are now: a change made since sign-in (or since the
	 * entry that asked for this snapshot) may already be behind snap_seq,
	 * where the stream would never meet it, and a rights diff later starts
	 * from the rights the snapshot was made with */
	if (store_principal_load(srv->st, s->principal.is_client, s->principal.id, &np) == KT_OK) {
		kt_principal_free(&s->principal);
		s->principal = np;
		metric_role_follow(s);
	}
	fanout_index(s);
	s->live_since_ms = kt_now_ms(); /* changes committed before are catch-up, not latency */
	s->state = KT_SS_SNAPSHOT;
	s->snap_table = 0;
	s->snap_after[0] = 0;
	s->snap_seq = srv->head_seq;
	/* the count is a query per table (a scan of most of the database for
	 * an owner): kept with the shared pages for the person's next device */
	char *key = snapcache_key(s);
	if (!key || !snapcache_total_get(srv, key, &b.total)) {
		for (int i = 0; i < kt_table_count; i++)
			b.total += store_snapshot_count(srv->st, &kt_tables[i],
							policy_snapshot_where(&s->principal, &kt_tables[i]),
							s->principal.id, s->principal.org);
		if (key)
			snapcache_total_put(srv, key, b.total);
	}
	free(key);
	frame_begin(srv);
	proto_snapshot_begin_encode(&srv->frame, &b);
	(void)session_queue_frame(s, false);
}

void sync_start_stream(kt_session *s, int64_t from_seq)
{
	diff_clear(s);
	fanout_index(s);
	s->live_since_ms = kt_now_ms(); /* changes committed before are catch-up, not latency */
	s->state = KT_SS_STREAM;
	s->sent_seq = from_seq;
	s->dirty = true;
	s->send_synced = true;
	session_want_write(s);
}

struct page_ctx {
	kt_session *s;
	uint32_t n;
};

static int page_row(void *user, const kt_row *row)
{
	struct page_ctx *c = user;
	c->n += egress_put(&c->s->srv->body, &c->s->principal, row, EGRESS_SELECTED, false);
	/* close the page at the soft byte limit; the next page resumes after this row */
	return c->s->srv->body.sb.size >= KT_OUT_SOFT_BYTES ? 1 : 0;
}

static void pack_cursor_msg(kt_session *s, kt_msgtype type, int64_t seq)
{
	uint8_t cur[KT_CURSOR_LEN];
	kt_cursor_msg m = {.has_cursor = true, .cursor = {(const char *)cur, sizeof cur}};
	cursor_make(s->srv, s, seq, cur);
	frame_begin(s->srv);
	if (type == KT_MSG_SNAPSHOT_END)
		proto_snapshot_end_encode(&s->srv->frame, &m);
	else
		proto_synced_encode(&s->srv->frame, &m);
}

/* The order of a snapshot's tables: by name, the order of the (tbl, id)
 * keys a device's store is likely to keep rows in, so that each table's
 * rows append at the end of that store's key range instead of landing in
 * its middle. The reference client's cache is such a table (WITHOUT ROWID,
 * keyed by tbl, id): in the table model's order, appointments and consents
 * went in before other tables' keys, and SQLite rebalanced a B-tree page
 * every five rows. PROTOCOL.md fixes no order. */
static int snap_order[64];
static pthread_once_t snap_order_once = PTHREAD_ONCE_INIT;

static int by_name(const void *a, const void *b)
{
	return strcmp(kt_tables[*(const int *)a].name, kt_tables[*(const int *)b].name);
}

static void snap_order_init(void)
{
	_Static_assert(sizeof snap_order / sizeof snap_order[0] >= 32, "room for every table");
	if (kt_table_count > (int)(sizeof snap_order / sizeof snap_order[0]))
		abort(); /* a new table model outgrew the order: make snap_order bigger */
	for (int i = 0; i < kt_table_count; i++)
		snap_order[i] = i;
	qsort(snap_order, (size_t)kt_table_count, sizeof snap_order[0], by_name);
}

static const kt_table *snap_table(int i)
{
	pthread_once(&snap_order_once, snap_order_init);
	return &kt_tables[snap_order[i]];
}

static int snapshot_next(kt_session *s, bool *have)
{
	kt_server *srv = s->srv;
	struct page_ctx c = {s, 0};
	char last[KT_UUID_LEN + 1];
	int n, rc;

	kt_mpw_reset(&srv->body);
	while (s->snap_table < kt_table_count) {
		const kt_table *t = snap_table(s->snap_table);
		/* only the columns egress sends are read (a sealed one is opened
		 * only when sent), and the values are not copied */
		rc = store_snapshot_page_some(srv->st, t, policy_snapshot_where(&s->principal, t), s->principal.id,
					      s->principal.org, s->snap_after, KT_PAGE_ROWS - (int)c.n,
					      egress_cols_read(&s->principal, t), page_row, &c, last, &n);
		if (rc && rc != 1)
			return rc;
		if (rc == 1 || c.n >= KT_PAGE_ROWS) {
			snprintf(s->snap_after, sizeof s->snap_after, "%s", last);
			break; /* page full: resume inside this table */
		}
		s->snap_table++; /* table exhausted */
		s->snap_after[0] = 0;
	}
	if (c.n) {
		kt_metric_add(KT_M_SNAPSHOT_ROWS, 0, c.n);
		frame_begin(srv);
		proto_page_encode(&srv->frame, c.n, srv->body.sb.data, srv->body.sb.size);
		*have = true;
		return srv->frame.err || srv->body.err;
	}
	/* done: hand over to the stream at the position the snapshot started */
	pack_cursor_msg(s, KT_MSG_SNAPSHOT_END, s->snap_seq);
	/* the pages read the staff member's locations as they were at each
	 * page: a change of them up to here may be half in the data (no diff) */
	s->basis_seq = store_max_seq(srv->st);
	s->state = KT_SS_STREAM;
	s->sent_seq = s->snap_seq;
	s->dirty = true;
	s->send_synced = true;
	*have = true;
	return srv->frame.err;
}

/* ---- rights diff: steps 2 and 3 ---- */

struct diff_ctx {
	kt_session *s;
	uint32_t n;
	bool evict;
};

static int diff_row(void *user, const kt_row *row)
{
	struct diff_ctx *c = user;
	kt_server *srv = c->s->srv;
	if (c->evict) {
		egress_gone(&srv->body, KT_OP_EVICT, row->t, row->v[0].s ? row->v[0].s : "");
		c->n++;
	} else
		c->n += egress_put(&srv->body, &c->s->principal, row, EGRESS_SELECTED, true);
	return srv->body.sb.size >= KT_OUT_SOFT_BYTES ? 1 : 0;
}

/* One page of the difference, as a changes message with a cursor at the
 * entry the change of rights waits in (old rights). ?5 holds the old
 * locations, ?6 the new ones. */
static int diff_page(kt_session *s, struct diff_ctx *c, const char *old_j, const char *new_j)
{
	kt_server *srv = s->srv;
	const kt_table *t = &kt_tables[s->diff_table];
	bool evict = s->diff_phase == 1;
	char *a = policy_locs_where(evict ? &s->diff_old : &s->principal, t, evict ? 5 : 6);
	char *b = policy_locs_where(evict ? &s->principal : &s->diff_old, t, evict ? 6 : 5);
	char *where = NULL, last[KT_UUID_LEN + 1];
	int n, rc = KT_ENOMEM;
	size_t len;

	if (!a || !b)
		goto out;
	len = strlen(a) + strlen(b) + 40;
	if (!(where = malloc(len)))
		goto out;
	/* visible with one set of locations and not with the other */
	snprintf(where, len, "(%s) AND NOT coalesce((%s), 0)", a, b);
	c->evict = evict;
	rc = store_diff_page(srv->st, t, where, s->principal.id, s->principal.org, old_j, new_j, !evict, s->diff_after,
			     KT_BATCH_OPS - (int)c->n, diff_row, c, last, &n);
	if (rc && rc != 1)
		goto out;
	/* read after the page: every change that page may have seen is <= this */
	int64_t m = store_max_seq(srv->st);
	if (m > s->diff_end)
		s->diff_end = m;
	if (rc == 1 || c->n >= KT_BATCH_OPS) {
		snprintf(s->diff_after, sizeof s->diff_after, "%s", last); /* full: resume inside this table */
	} else {
		s->diff_table++;
		s->diff_after[0] = 0;
	}
	rc = KT_OK;
out:
	free(a);
	free(b);
	free(where);
	return rc;
}

static int diff_next(kt_session *s, bool *have)
{
	kt_server *srv = s->srv;
	struct diff_ctx c = {s, 0, true};
	char *old_j = locs_json(s->diff_old.locs), *new_j = locs_json(s->principal.locs);
	int rc = KT_OK;

	kt_mpw_reset(&srv->body);
	if (!old_j || !new_j) {
		rc = KT_ENOMEM;
		goto out;
	}
	while (s->diff_phase && c.n < KT_BATCH_OPS && srv->body.sb.size < KT_OUT_SOFT_BYTES) {
		if (s->diff_table >= kt_table_count) {
			s->diff_phase = s->diff_phase == 1 ? 2 : 0;
			s->diff_table = 0;
			s->diff_after[0] = 0;
			continue;
		}
		if ((rc = diff_page(s, &c, old_j, new_j)))
			goto out;
	}
	if (!s->diff_phase) {
		s->dirty = true; /* step 4: the stream goes on from the entry that changed the rights */
		s->send_synced = true;
	}
	if (c.n) {
		uint8_t cur[KT_CURSOR_LEN];
		cursor_make(srv, s, s->sent_seq, cur);
		frame_begin(srv);
		proto_changes_encode(&srv->frame, c.n, srv->body.sb.data, srv->body.sb.size, cur, sizeof cur);
		s->sent_since_synced = true;
		*have = true;
		rc = srv->frame.err || srv->body.err;
	}
out:
	free(old_j);
	free(new_j);
	return rc;
}

/* ---- stream ---- */

static bool is_own_row(const kt_session *s, const kt_log_entry *e)
{
	const kt_principal *p = &s->principal;
	return strcmp(e->id, p->id) == 0 &&
	       ((p->is_client && strcmp(e->t->name, "client") == 0) ||
		(!p->is_client && strcmp(e->t->name, "staff") == 0));
}

#define AUD_SLOTS 64
#define AUD_OWN_MAX 32 /* staff/client rows one shared frame may name */
/* frames kept at once, in bytes: devices catching up from many positions
 * (each its own frame, up to KT_OUT_SOFT_BYTES) do not pile them up */
#define AUD_BYTES_MAX (1024 * 1024)

/* One changes frame for one audience (audience_key) from one position in
 * the log, packed whole with LWS_PRE headroom: every session of that
 * audience at that position writes these very bytes, with its own cursor
 * put in at cur_off just before the write (the loop is one thread and
 * lws_write copies what the kernel does not take, so nothing holds the
 * buffer after the write). */
struct kt_aud_frame {
	char *key;          /* NULL: empty slot */
	uint64_t hash;
	uint64_t rights;    /* cursor_rights of the audience's principals */
	int64_t from_seq;   /* the session's sent_seq before */
	int64_t to_seq;     /* and after */
	uint32_t nops;
	bool erasure;       /* the range holds a client's erasure (a purge receipt is due) */
	int nown;           /* staff/client rows in the range: a session whose own row */
	struct {            /* it is takes the per-session path (its rights may change) */
		const kt_table *t;
		char id[KT_UUID_LEN + 1];
	} own[AUD_OWN_MAX];
	int nat;
	int64_t *at;        /* commit time (ms) of each op, for the latency histogram */
	/* the bytes as they go on the wire: WebSocket frames made here (binary,
	 * final, unmasked as a server's are), the changes message and, when it
	 * reaches the head of the log, the synced message that follows it, so a
	 * device gets both in one write; LWS_PRE bytes of headroom before them */
	unsigned char *buf;
	size_t len;         /* from buf + LWS_PRE */
	size_t cur_off;     /* the changes message's cursor */
	size_t synced_off;  /* the synced message's cursor; 0: no synced message */
};

/* Rows the stream loaded since head_seq last moved: every device
 * interested in a change gets the same row, loaded and decrypted once.
 * Emptied whenever head_seq moves; so are the audiences' frames. */
struct kt_rowcache {
	struct kt_cached_row {
		kt_row row;   /* row.t == NULL: empty slot */
		bool missing; /* the row did not exist (deleted since) */
	} slot[64];
	int64_t head;
	struct kt_aud_frame aud[AUD_SLOTS];
	int aud_next;                /* the slot a new frame takes when its own is busy */
	size_t aud_bytes;            /* what the frames hold */
	const unsigned char *out;    /* the frame sync_next_frame made, when shared */
	size_t out_len;
	bool out_raw;                /* out holds whole WebSocket frames */
};

static void aud_frame_free(struct kt_aud_frame *f)
{
	free(f->key);
	free(f->at);
	free(f->buf);
	memset(f, 0, sizeof *f);
}

static void rowcache_empty(struct kt_rowcache *rc)
{
	for (size_t i = 0; i < sizeof rc->slot / sizeof rc->slot[0]; i++) {
		kt_row_free(&rc->slot[i].row);
		memset(&rc->slot[i], 0, sizeof rc->slot[i]);
	}
	for (int i = 0; i < AUD_SLOTS; i++)
		if (rc->aud[i].key || rc->aud[i].at || rc->aud[i].buf) /* (most slots are empty) */
			aud_frame_free(&rc->aud[i]);
	rc->aud_bytes = 0;
	rc->out = NULL;
}

void sync_rowcache_clear(kt_server *srv)
{
	if (!srv->rowcache)
		return;
	rowcache_empty(srv->rowcache);
	free(srv->rowcache);
	srv->rowcache = NULL;
}

/* The current row for a log entry, shared by every session that streams
 * it (borrowed; valid until the next call). A row loaded while head_seq
 * was H is at least as new as any entry up to H, which is all a session
 * can be streaming; when head_seq moves the cache starts again, so a row
 * deleted since is never served from it. */
/* The cache, emptied when head_seq has moved since it was filled. */
static struct kt_rowcache *rowcache_now(kt_server *srv)
{
	if (!srv->rowcache && !(srv->rowcache = calloc(1, sizeof *srv->rowcache)))
		return NULL;
	if (srv->rowcache->head != srv->head_seq) {
		rowcache_empty(srv->rowcache);
		srv->rowcache->head = srv->head_seq;
	}
	return srv->rowcache;
}

static int row_for_entry(kt_server *srv, const kt_log_entry *e, const kt_row **out)
{
	uint64_t h = 1469598103934665603ull;
	struct kt_cached_row *c;
	int rc;
	if (!rowcache_now(srv))
		return KT_ENOMEM;
	for (const char *p = e->id; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	c = &srv->rowcache->slot[h % (sizeof srv->rowcache->slot / sizeof srv->rowcache->slot[0])];
	if (c->row.t == e->t && c->row.v && !strcmp(c->row.v[0].s ? c->row.v[0].s : "", e->id)) {
		*out = c->missing ? NULL : &c->row;
		return c->missing ? KT_ENOT_FOUND : KT_OK;
	}
	kt_row_free(&c->row);
	memset(c, 0, sizeof *c);
	rc = store_row_load(srv->st, e->t, e->id, &c->row);
	if (rc == KT_ENOT_FOUND) {
		/* remember the absence under this id too */
		c->row.t = e->t;
		c->missing = true;
		if (!(c->row.v = calloc((size_t)e->t->ncols, sizeof *c->row.v)) ||
		    !(c->row.v[0].s = strdup(e->id))) {
			kt_row_free(&c->row);
			memset(c, 0, sizeof *c);
		}
		return KT_ENOT_FOUND;
	}
	if (rc) {
		memset(c, 0, sizeof *c);
		return rc;
	}
	*out = &c->row;
	return KT_OK;
}

/* Append the op for one log entry to the body; *added tells whether it did. */
static int entry_op(kt_session *s, const kt_log_entry *e, bool *added)
{
	kt_server *srv = s->srv;
	kt_principal *p = &s->principal;
	const kt_row *row;
	bool was, now;
	int rc;

	*added = false;
	if (strcmp(e->org, p->org) != 0)
		return KT_OK;
	if (is_own_row(s, e)) {
		/* our own rights may have changed (locations): reload and re-index */
		kt_principal np;
		if (s->has_basis) { /* a request saw the change first: compare with what the device holds */
			kt_principal_free(p);
			*p = s->basis;
			memset(&s->basis, 0, sizeof s->basis);
			s->has_basis = false;
		}
		if (store_principal_load(srv->st, p->is_client, p->id, &np) == KT_OK) {
			/* other locations or another role: rows that did not change may
			 * have come into view or gone out of it. Other locations, same
			 * role: the difference (above; the entry waits for it and is
			 * read again after). Otherwise the device gets a new snapshot,
			 * which replaces its data (see PROTOCOL.md, rights) */
			if (cursor_rights(p) != cursor_rights(&np) && diff_can(s, p, &np, e)) {
				diff_begin(s, &np);
				return KT_OK;
			}
			s->resnap = cursor_rights(p) != cursor_rights(&np);
			kt_principal_free(p);
			*p = np;
			metric_role_follow(s);
			fanout_index(s);
			if (s->resnap)
				return KT_OK;
		}
	}
	/* (during a rights diff's step 4 also what concerned the old rights) */
	const kt_principal *old = s->diff_active ? &s->diff_old : NULL;
	bool reach_now = policy_row_visible(p, e->t, e->loc_old, e->client_old, NULL) ||
			 policy_row_visible(p, e->t, e->loc_new, e->client_new, NULL);
	bool reach_old = old && (policy_row_visible(old, e->t, e->loc_old, e->client_old, NULL) ||
				 policy_row_visible(old, e->t, e->loc_new, e->client_new, NULL));
	was = reach_now || reach_old;
	if (!was)
		return KT_OK; /* never concerned this principal */
	if (e->deleted) {
		egress_gone(&srv->body, KT_OP_DELETE, e->t, e->id);
		*added = true;
		return KT_OK;
	}
	rc = row_for_entry(srv, e, &row);
	if (rc == KT_ENOT_FOUND)
		return KT_OK; /* deleted since; a later entry says so */
	if (rc)
		return rc;
	/* the row goes out (egress decides, with the current row) or is evicted */
	now = egress_put(&srv->body, p, row, EGRESS_ROUTED, true);
	if (!now) {
		if (e->t->immutable && policy_row_visible(p, e->t, row->locs, row->client, NULL))
			/* in reach, but its own (unchangeable) fields hide it: this device
			 * never had it, so there is nothing to evict (and its id stays unsaid) */
			return KT_OK;
		if (e->t->immutable && old && policy_row_visible(old, e->t, row->locs, row->client, NULL) &&
		    !policy_row_visible(old, e->t, row->locs, row->client, row))
			return KT_OK; /* the same under the old rights (same role, same fields) */
		egress_gone(&srv->body, KT_OP_EVICT, e->t, e->id);
	}
	*added = true;
	return KT_OK;
}

/* The rows one changes frame already names. Every op for a log entry is
 * made from the row as it is now (row_for_entry), so a second entry of the
 * same row in the same frame would repeat the very same op (PROTOCOL.md
 * §3: a device gets the current version, once). Open addressing over the
 * frame's ops; most live frames carry one op, so the slots are cleared
 * (2 KB) only when a second row comes. */
#define FRAME_SLOTS 1024 /* > 2 * KT_BATCH_OPS: at most half full */
struct frame_rows {
	uint16_t slot[FRAME_SLOTS]; /* 0 empty, else 1 + index into keys; valid once n >= 2 */
	struct {
		const kt_table *t;
		char id[KT_UUID_LEN + 1];
	} keys[KT_BATCH_OPS];
	int n;
};

static size_t frame_rows_slot(const struct frame_rows *f, const kt_table *t, const char *id)
{
	uint64_t h = 1469598103934665603ull ^ (uintptr_t)t;
	for (const char *p = id; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	size_t i = h % FRAME_SLOTS;
	while (f->slot[i] && (f->keys[f->slot[i] - 1].t != t || strcmp(f->keys[f->slot[i] - 1].id, id) != 0))
		i = (i + 1) % FRAME_SLOTS;
	return i; /* the row's slot, or the empty one where it goes */
}

static bool frame_rows_has(const struct frame_rows *f, const kt_log_entry *e)
{
	if (f->n == 0)
		return false;
	if (f->n == 1)
		return f->keys[0].t == e->t && strcmp(f->keys[0].id, e->id) == 0;
	return f->slot[frame_rows_slot(f, e->t, e->id)] != 0;
}

/* records a row the frame does not name yet */
static void frame_rows_add(struct frame_rows *f, const kt_log_entry *e)
{
	if (f->n >= KT_BATCH_OPS)
		return; /* (cannot happen: a frame holds at most KT_BATCH_OPS ops) */
	f->keys[f->n].t = e->t;
	memcpy(f->keys[f->n].id, e->id, sizeof f->keys[f->n].id);
	if (++f->n == 1)
		return;
	if (f->n == 2) {
		memset(f->slot, 0, sizeof f->slot);
		f->slot[frame_rows_slot(f, f->keys[0].t, f->keys[0].id)] = 1;
	}
	f->slot[frame_rows_slot(f, e->t, e->id)] = (uint16_t)f->n;
}

/* ---- encode once per audience ----
 *
 * What entry_op packs for a session depends on its principal only through
 * what the read policy and egress read of it: the organisation, whether it
 * is active, its role, whether it is a client, its locations, and its own
 * id where the policy compares with it (a client's own rows, a
 * specialist's own working hours and time off). Sessions equal in all of
 * those are one audience: from one position in the log they get the same
 * ops, so the frame is filtered and packed once and its bytes written to
 * each (only the cursor, bound to the device, is the session's own). A
 * session during a rights difference, or whose stream has not yet met a
 * change of rights a request saw (has_basis), or whose own staff/client row
 * is in the range (entry_op follows its rights then), takes the
 * per-session path below. */

/* n as decimal at o; its length. */
static size_t put_int(char *o, int n)
{
	char t[12];
	size_t k = 0, len = 0;
	unsigned u = n < 0 ? 0u - (unsigned)n : (unsigned)n;
	do
		t[k++] = (char)('0' + u % 10);
	while ((u /= 10));
	if (n < 0)
		o[len++] = '-';
	while (k)
		o[len++] = t[--k];
	return len;
}

/* The audience key: everything of p that egress and the policy read. It
 * is made for every device a change reaches, so by hand, not by snprintf,
 * and into buf (cap bytes) when it fits, else into memory of its own,
 * which the caller frees when it is not buf. NULL: out of memory. */
static char *audience_key(const kt_principal *p, char *buf, size_t cap, uint64_t *hash)
{
	/* the policy compares a client's and a specialist's own id with rows;
	 * of the roles it knows not to, owners, managers and receptions of the
	 * same locations share (any other role: per person) */
	bool by_id = p->is_client ||
		     (p->role != KT_ROLE_OWNER && p->role != KT_ROLE_MANAGER && p->role != KT_ROLE_RECEPTION);
	const char *id = by_id ? p->id : "", *locs = p->locs ? p->locs : "-";
	size_t lo = strlen(p->org), li = strlen(id), ll = strlen(locs);
	size_t n = lo + li + ll + 3 * 12 + 6;
	char *k = n <= cap ? buf : malloc(n), *o = k;
	if (!k)
		return NULL;
	/* org|role|is_client|active|id|locs, as "%s|%d|%d|%d|%s|%s" */
	memcpy(o, p->org, lo);
	o += lo;
	*o++ = '|';
	o += put_int(o, (int)p->role);
	*o++ = '|';
	o += put_int(o, p->is_client);
	*o++ = '|';
	o += put_int(o, p->active);
	*o++ = '|';
	memcpy(o, id, li);
	o += li;
	*o++ = '|';
	memcpy(o, locs, ll);
	o += ll;
	*o = 0;
	uint64_t h = 1469598103934665603ull;
	for (const char *c = k; c < o; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ull;
	*hash = h;
	return k;
}

static bool may_share(const kt_session *s)
{
	return s->state == KT_SS_STREAM && !s->diff_active && !s->diff_phase && !s->has_basis && !s->resnap &&
	       s->sent_seq < s->srv->head_seq;
}

/* a staff or client row: someone's own row (is_own_row), whose entry may
 * change that one's rights */
static bool may_be_own(const kt_log_entry *e)
{
	return !strcmp(e->t->name, "staff") || !strcmp(e->t->name, "client");
}

static bool aud_names_own(const struct kt_aud_frame *f, const kt_session *s)
{
	const kt_principal *p = &s->principal;
	for (int i = 0; i < f->nown; i++)
		if (!strcmp(f->own[i].id, p->id) &&
		    !strcmp(f->own[i].t->name, p->is_client ? "client" : "staff"))
			return true;
	return false;
}

/* A WebSocket frame header for a binary message of n bytes (RFC 6455
 * 5.2: FIN, opcode 2, no mask from a server); its length. */
static size_t ws_header(unsigned char h[10], size_t n)
{
	h[0] = 0x82;
	if (n < 126) {
		h[1] = (unsigned char)n;
		return 2;
	}
	if (n <= 0xffff) {
		h[1] = 126;
		h[2] = (unsigned char)(n >> 8);
		h[3] = (unsigned char)n;
		return 4;
	}
	h[1] = 127;
	for (int i = 0; i < 8; i++)
		h[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
	return 10;
}

size_t sync_ws_frame(const unsigned char *b, size_t len, size_t *payload)
{
	size_t n, h = 2;
	if (len < 2)
		return 0;
	n = b[1] & 0x7f;
	if (n == 126) {
		h = 4;
		n = len < h ? 0 : (size_t)b[2] << 8 | b[3];
	} else if (n == 127) {
		h = 10;
		n = 0;
		for (int k = 0; k < 8 && len >= h; k++)
			n = n << 8 | b[2 + k];
	}
	if (len < h || len - h < n)
		return 0;
	*payload = n;
	return h;
}

/* Where a cursor of KT_CURSOR_LEN bytes of `mark` sits in msg (0: not
 * exactly once). */
static size_t cursor_at(const kt_mpw *w, unsigned char mark)
{
	size_t at = 0;
	const unsigned char *b = (const unsigned char *)w->sb.data;
	for (size_t i = 0; i + KT_CURSOR_LEN + 2 <= w->sb.size; i++)
		if (b[i] == 0xc4 && b[i + 1] == KT_CURSOR_LEN) {
			size_t k = 0;
			while (k < KT_CURSOR_LEN && b[i + 2 + k] == mark)
				k++;
			if (k == KT_CURSOR_LEN) {
				if (at)
					return 0;
				at = i + 2;
			}
		}
	return at;
}

/* f's bytes from the ops in srv->body: the changes message (and a synced
 * message when f reaches the head of the log), as WebSocket frames. */
static int aud_pack(kt_server *srv, struct kt_aud_frame *f)
{
	kt_mpw ch, sy;
	uint8_t mark[KT_CURSOR_LEN];
	unsigned char h1[10], h2[10];
	size_t n1, n2 = 0, c1, c2 = 0;
	bool synced = f->to_seq >= srv->head_seq;
	int rc = KT_OK;

	/* the changes message's head is fixed (msg_changes.c): its cursor
	 * comes right after it */
	kt_mpw_init(&ch);
	kt_mpw_map(&ch, 3);
	kt_mpw_str(&ch, "t");
	kt_mpw_str(&ch, "changes");
	kt_mpw_str(&ch, "cursor");
	c1 = ch.sb.size + 2; /* bin 8: 0xc4, length */
	kt_mpw_reset(&ch);
	memset(mark, 0, sizeof mark);
	proto_changes_encode(&ch, f->nops, srv->body.sb.data, srv->body.sb.size, mark, sizeof mark);
	kt_mpw_init(&sy);
	if (synced) {
		memset(mark, 0xa5, sizeof mark);
		kt_cursor_msg m = {.has_cursor = true, .cursor = {(const char *)mark, sizeof mark}};
		proto_synced_encode(&sy, &m);
		c2 = cursor_at(&sy, 0xa5);
	}
	if (ch.err || sy.err || srv->body.err || ch.sb.size < c1 + KT_CURSOR_LEN ||
	    (unsigned char)ch.sb.data[c1 - 2] != 0xc4 || (unsigned char)ch.sb.data[c1 - 1] != KT_CURSOR_LEN ||
	    (synced && !c2)) {
		rc = ch.err ? ch.err : sy.err ? sy.err : srv->body.err ? srv->body.err : KT_EINTERNAL;
		goto out;
	}
	n1 = ws_header(h1, ch.sb.size);
	if (synced)
		n2 = ws_header(h2, sy.sb.size);
	f->len = n1 + ch.sb.size + (synced ? n2 + sy.sb.size : 0);
	if (!(f->buf = malloc(LWS_PRE + f->len))) {
		rc = KT_ENOMEM;
		goto out;
	}
	unsigned char *p = f->buf + LWS_PRE;
	memcpy(p, h1, n1);
	memcpy(p + n1, ch.sb.data, ch.sb.size);
	f->cur_off = LWS_PRE + n1 + c1;
	if (synced) {
		p += n1 + ch.sb.size;
		memcpy(p, h2, n2);
		memcpy(p + n2, sy.sb.data, sy.sb.size);
		f->synced_off = (size_t)(p + n2 + c2 - f->buf);
	}
out:
	kt_mpw_free(&ch);
	kt_mpw_free(&sy);
	return rc;
}

/* Gather the frame for s's audience from s->sent_seq into f (s is not
 * changed). KT_OK with f->key NULL when this range cannot be shared. */
static int aud_build(kt_session *s, struct kt_aud_frame *f)
{
	kt_server *srv = s->srv;
	kt_log_entry es[128];
	int64_t seq = s->sent_seq;
	int n, rc = KT_OK;
	bool owned, shareable = true;
	struct frame_rows rows; /* (about 27 KB of stack) */

	rows.n = 0;
	f->from_seq = seq;
	kt_mpw_reset(&srv->body);
	if (!(f->at = malloc(KT_BATCH_OPS * sizeof *f->at)))
		return KT_ENOMEM;
	while (shareable && f->nops < KT_BATCH_OPS && srv->body.sb.size < KT_OUT_SOFT_BYTES &&
	       seq < srv->head_seq) {
		int max = KT_BATCH_OPS - (int)f->nops < 128 ? KT_BATCH_OPS - (int)f->nops : 128;
		if ((rc = fanout_entries_after(srv, seq, es, max, &n, &owned)))
			return rc;
		if (n == 0) {
			seq = srv->head_seq; /* gap at the end of the ring */
			break;
		}
		for (int i = 0; i < n && srv->body.sb.size < KT_OUT_SOFT_BYTES; i++) {
			bool added;
			if (may_be_own(&es[i])) {
				if (is_own_row(s, &es[i]) || f->nown == AUD_OWN_MAX) {
					shareable = false; /* this session's rights may move here */
					break;
				}
				f->own[f->nown].t = es[i].t;
				memcpy(f->own[f->nown].id, es[i].id, sizeof f->own[f->nown].id);
				f->nown++;
			}
			if (!es[i].deleted && frame_rows_has(&rows, &es[i])) {
				seq = es[i].seq;
				continue;
			}
			if ((rc = entry_op(s, &es[i], &added)))
				break;
			if (added && !frame_rows_has(&rows, &es[i]))
				frame_rows_add(&rows, &es[i]);
			if (added)
				f->at[f->nat++] = es[i].at;
			f->nops += added;
			seq = es[i].seq;
			if (es[i].deleted && es[i].t->route == KT_ROUTE_CLIENT_LOCS)
				f->erasure = true;
		}
		if (owned)
			for (int k = 0; k < n; k++)
				kt_log_entry_free(&es[k]);
		if (rc)
			return rc;
	}
	if (!shareable)
		return KT_OK;
	f->to_seq = seq;
	if (f->nops)
		return aud_pack(srv, f);
	return KT_OK;
}

/* The shared frame for s's audience at s->sent_seq: found, or built. NULL
 * when s takes the per-session path. */
static struct kt_aud_frame *aud_frame(kt_session *s, int *rc)
{
	kt_server *srv = s->srv;
	struct kt_rowcache *rc_ = rowcache_now(srv);
	struct kt_aud_frame *f, *free_slot = NULL;
	uint64_t h;
	char kbuf[512], *key;

	*rc = KT_OK;
	if (!rc_ || !(key = audience_key(&s->principal, kbuf, sizeof kbuf, &h)))
		return NULL;
	for (int i = 0; i < AUD_SLOTS; i++) {
		f = &rc_->aud[i];
		if (!f->key) {
			if (!free_slot)
				free_slot = f;
			continue;
		}
		if (f->hash == h && f->from_seq == s->sent_seq && !strcmp(f->key, key)) {
			if (key != kbuf)
				free(key);
			return aud_names_own(f, s) ? NULL : f;
		}
	}
	if (rc_->aud_bytes > AUD_BYTES_MAX) { /* (no frame is in use between two calls) */
		for (int i = 0; i < AUD_SLOTS; i++)
			aud_frame_free(&rc_->aud[i]);
		rc_->aud_bytes = 0;
		free_slot = NULL;
	}
	f = free_slot ? free_slot : &rc_->aud[rc_->aud_next++ % AUD_SLOTS];
	rc_->aud_bytes -= f->buf ? f->len : 0;
	aud_frame_free(f);
	if ((*rc = aud_build(s, f)) || !f->to_seq || (key == kbuf && !(key = strdup(kbuf)))) {
		if (key != kbuf)
			free(key);
		aud_frame_free(f);
		return NULL; /* (not shareable: the session's own row is in the range; or no memory) */
	}
	f->key = key;
	/* every session of the audience has these rights (role and locations
	 * are in the key; may_share: no diff, no basis, so its cursor names
	 * its own principal's): fingerprinted once, not per device */
	f->rights = cursor_rights(&s->principal);
	f->hash = h;
	rc_->aud_bytes += f->buf ? f->len : 0;
	return f;
}

/* s sends the audience's frame f: its cursor, its position. */
static void aud_send(kt_session *s, const struct kt_aud_frame *f, bool *have)
{
	kt_server *srv = s->srv;
	s->sent_seq = f->to_seq;
	if (f->erasure)
		s->send_synced = true; /* an erasure: a cursor past it is its purge receipt */
	if (!f->nops)
		return;
	int64_t now_us = 0;
	for (int i = 0; i < f->nat; i++)
		if (f->at[i] >= s->live_since_ms) { /* commit-to-device latency */
			if (!now_us)
				now_us = wall_us();
			kt_hist_observe(&kt_hists[KT_H_COMMIT_TO_DEVICE], now_us - f->at[i] * 1000);
		}
	kt_metric_add(KT_M_CHANGES_SENT, 0, f->nops);
	cursor_make_rights(srv, s, s->sent_seq, f->rights, f->buf + f->cur_off);
	srv->rowcache->out = f->buf + LWS_PRE;
	srv->rowcache->out_len = f->len;
	srv->rowcache->out_raw = true;
	if (f->synced_off) {
		/* at the head: the synced message goes in the same write, with the
		 * same cursor (what stream_next would send next) */
		memcpy(f->buf + f->synced_off, f->buf + f->cur_off, KT_CURSOR_LEN);
		s->dirty = false;
		s->send_synced = s->sent_since_synced = false;
	} else
		s->sent_since_synced = true;
	*have = true;
}

const unsigned char *sync_frame_data(kt_server *srv, size_t *len, bool *raw)
{
	if (srv->rowcache && srv->rowcache->out) {
		*len = srv->rowcache->out_len;
		*raw = srv->rowcache->out_raw;
		return srv->rowcache->out;
	}
	*len = srv->frame.sb.size - LWS_PRE;
	*raw = false;
	return (const unsigned char *)srv->frame.sb.data + LWS_PRE;
}

static int stream_next(kt_session *s, bool *have)
{
	kt_server *srv = s->srv;
	kt_log_entry es[128];
	uint32_t nops = 0;
	int n, rc = KT_OK;
	bool owned;
	int64_t now_us = 0; /* read once, at the first live change */
	struct frame_rows rows; /* (about 27 KB of stack) */

	if (fanout_pruned_after(srv, s->sent_seq)) {
		/* what it has not been sent is gone from the log: as for a cursor
		 * that old (cursor.c), a snapshot */
		s->resnap = s->pruned = true;
		return KT_OK;
	}
	if (may_share(s)) {
		struct kt_aud_frame *f = aud_frame(s, &rc);
		if (rc)
			return rc;
		if (f) {
			aud_send(s, f, have);
			if (*have)
				return KT_OK;
			/* nothing for this audience in the range: on to synced */
		}
	}
	rows.n = 0;
	kt_mpw_reset(&srv->body);
	while (nops < KT_BATCH_OPS && srv->body.sb.size < KT_OUT_SOFT_BYTES && s->sent_seq < srv->head_seq) {
		int max = KT_BATCH_OPS - (int)nops < 128 ? KT_BATCH_OPS - (int)nops : 128;
		if ((rc = fanout_entries_after(srv, s->sent_seq, es, max, &n, &owned)))
			return rc;
		if (n == 0) {
			s->sent_seq = srv->head_seq; /* gap at the end of the ring */
			break;
		}
		int i;
		for (i = 0; i < n && srv->body.sb.size < KT_OUT_SOFT_BYTES; i++) {
			bool added;
			/* the row is in this frame already, as it is now: nothing to add
			 * (a delete always goes; one's own row always goes through
			 * entry_op, which follows a change of rights) */
			if (!es[i].deleted && !is_own_row(s, &es[i]) && frame_rows_has(&rows, &es[i])) {
				s->sent_seq = es[i].seq;
				continue;
			}
			if ((rc = entry_op(s, &es[i], &added)) || s->resnap || s->diff_phase)
				break; /* (a rights diff: this entry is read again after it) */
			if (added && !frame_rows_has(&rows, &es[i]))
				frame_rows_add(&rows, &es[i]);
			nops += added;
			if (added && es[i].at >= s->live_since_ms) { /* commit-to-device latency */
				if (!now_us)
					now_us = wall_us();
				kt_hist_observe(&kt_hists[KT_H_COMMIT_TO_DEVICE], now_us - es[i].at * 1000);
			}
			s->sent_seq = es[i].seq;
			if (es[i].deleted && es[i].t->route == KT_ROUTE_CLIENT_LOCS)
				s->send_synced = true; /* an erasure: a cursor past it is its purge receipt */
		}
		if (owned)
			for (int k = 0; k < n; k++)
				kt_log_entry_free(&es[k]);
		if (rc)
			return rc;
		if (s->resnap)
			return KT_OK; /* the snapshot covers this batch; no cursor with the new rights before it */
		if (s->diff_phase)
			break; /* what was gathered before goes out first, with a cursor of the old rights */
	}
	diff_settle(s);
	if (nops) {
		uint8_t cur[KT_CURSOR_LEN];
		kt_metric_add(KT_M_CHANGES_SENT, 0, nops);
		cursor_make(srv, s, s->sent_seq, cur);
		frame_begin(srv);
		proto_changes_encode(&srv->frame, nops, srv->body.sb.data, srv->body.sb.size, cur, sizeof cur);
		s->sent_since_synced = true;
		*have = true;
		return srv->frame.err || srv->body.err;
	}
	if (s->sent_seq >= srv->head_seq) {
		s->dirty = false;
		if (s->send_synced || s->sent_since_synced) {
			pack_cursor_msg(s, KT_MSG_SYNCED, s->sent_seq);
			s->send_synced = s->sent_since_synced = false;
			*have = true;
			return srv->frame.err;
		}
	}
	return KT_OK;
}

bool sync_has_more(const kt_session *s)
{
	if (s->state == KT_SS_SNAPSHOT)
		return true;
	return s->state == KT_SS_STREAM && (s->dirty || s->send_synced || s->sent_since_synced);
}

/* The next snapshot page, shared with the other devices of the same person
 * while the data stays as it is (sync/snapcache.h); the end of the
 * snapshot carries the session's own cursor and is never shared. */
static int snapshot_next_shared(kt_session *s, bool *have)
{
	char *key = snapcache_key(s);
	uint32_t rows;
	int rc;
	if (key && snapcache_get(s->srv, key, s, &rows)) {
		kt_metric_add(KT_M_SNAPSHOT_ROWS, 0, rows);
		*have = true;
		free(key);
		return KT_OK;
	}
	rc = snapshot_next(s, have);
	if (key && !rc && *have && s->state == KT_SS_SNAPSHOT)
		snapcache_put(s->srv, key, s);
	free(key);
	return rc;
}

int sync_next_frame(kt_session *s, bool *have)
{
	*have = false;
	if (s->srv->rowcache) {
		s->srv->rowcache->out = NULL; /* srv->frame, unless the stream shares one */
		s->srv->rowcache->out_raw = false;
	}
	/* (a second round when the stream stopped for a rights diff, a third
	 * when that diff was empty: the stream then goes on in this call) */
	for (int round = 0; round < 3; round++) {
		if (s->state == KT_SS_STREAM && s->diff_phase) {
			int rc = diff_next(s, have);
			if (rc || *have)
				return rc;
			/* the difference is done: the stream goes on */
		}
		if (s->state == KT_SS_SNAPSHOT)
			return snapshot_next_shared(s, have);
		if (s->state == KT_SS_STREAM && (s->dirty || s->send_synced || s->sent_since_synced)) {
			int rc = stream_next(s, have);
			if (!rc && s->diff_phase && !*have)
				continue; /* nothing gathered before the change of rights: the diff now */
			if (!rc && s->resnap) {
				diff_clear(s);
				s->resnap = false;
				kt_info("session %llu: %s; sending a new snapshot", (unsigned long long)s->id,
					s->pruned ? "its stream is older than the change log kept" : "rights changed");
				s->pruned = false;
				sync_start_snapshot(s);
			}
			return rc;
		}
		return KT_OK;
	}
	return KT_OK;
}
