/* sync.c - what a session sends: snapshot pages, then the change log after
 * its cursor, each row filtered for the principal at send time against the
 * row's current state (design §2, "decide against the current row"). A slow
 * device simply lags in the log: nothing is queued per connection. */
#include <stdlib.h>
#include <string.h>
#include "server.h"

/* ---- packing one row for one principal ---- */

static void pack_list(kt_mpw *w, const kt_val *v)
{
	uint32_t n = 0;
	const char *p = v->s;
	if (v->null || !p) {
		kt_mpw_nil(w);
		return;
	}
	if (*p)
		for (n = 1; *p; p++)
			n += *p == ',';
	kt_mpw_array(w, n);
	for (p = v->s; n; n--) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		kt_mpw_strn(w, p, len);
		p += len + (c ? 1 : 0);
	}
}

void sync_pack_value(kt_mpw *w, const kt_col *c, const kt_val *v)
{
	if (v->null) {
		kt_mpw_nil(w);
		return;
	}
	switch (c->type) {
	case KT_COL_INT: kt_mpw_int(w, v->i); break;
	case KT_COL_BOOL: kt_mpw_bool(w, v->i != 0); break;
	case KT_COL_TEXT: kt_mpw_strn(w, v->s ? v->s : "", v->s ? v->len : 0); break;
	case KT_COL_LIST: pack_list(w, v); break;
	}
}

static void pack_row(kt_mpw *w, const kt_principal *p, const kt_row *row, bool with_op)
{
	const kt_table *t = row->t;
	uint32_t n = 0;

	for (int i = 0; i < t->ncols; i++) {
		kt_access a = policy_read(p->role, t, i);
		n += a == KT_P_YES || a == KT_P_ALERT;
	}
	proto_put_begin(w, with_op, t->name, row->v[0].s ? row->v[0].s : "", row->version, n);
	for (int i = 0; i < t->ncols; i++) {
		kt_access a = policy_read(p->role, t, i);
		if (a == KT_P_YES) {
			kt_mpw_str(w, t->cols[i].name);
			sync_pack_value(w, &t->cols[i], &row->v[i]);
		} else if (a == KT_P_ALERT) {
			const kt_policy_entry *e = policy_entry(t->name, t->cols[i].name);
			kt_mpw_str(w, e->alert_name);
			kt_mpw_bool(w, !row->v[i].null && row->v[i].len > 0);
		}
	}
}

/* ---- snapshot ---- */

void sync_start_snapshot(kt_session *s)
{
	kt_server *srv = s->srv;
	kt_snapshot_begin b = {0};

	fanout_index(s);
	s->state = KT_SS_SNAPSHOT;
	s->snap_table = 0;
	s->snap_after[0] = 0;
	s->snap_seq = srv->head_seq;
	for (int i = 0; i < kt_table_count; i++)
		b.total += store_snapshot_count(srv->st, &kt_tables[i],
						policy_snapshot_where(&s->principal, &kt_tables[i]),
						s->principal.id, s->principal.org);
	frame_begin(srv);
	proto_snapshot_begin_encode(&srv->frame, &b);
	(void)session_queue_frame(s, false);
}

void sync_start_stream(kt_session *s, int64_t from_seq)
{
	fanout_index(s);
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
	pack_row(&c->s->srv->body, &c->s->principal, row, false);
	c->n++;
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

static int snapshot_next(kt_session *s, bool *have)
{
	kt_server *srv = s->srv;
	struct page_ctx c = {s, 0};
	char last[KT_UUID_LEN + 1];
	int n, rc;

	kt_mpw_reset(&srv->body);
	while (s->snap_table < kt_table_count) {
		const kt_table *t = &kt_tables[s->snap_table];
		rc = store_snapshot_page(srv->st, t, policy_snapshot_where(&s->principal, t), s->principal.id,
					 s->principal.org, s->snap_after, KT_PAGE_ROWS - (int)c.n, page_row, &c,
					 last, &n);
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
		frame_begin(srv);
		proto_page_encode(&srv->frame, c.n, srv->body.sb.data, srv->body.sb.size);
		*have = true;
		return srv->frame.err || srv->body.err;
	}
	/* done: hand over to the stream at the position the snapshot started */
	pack_cursor_msg(s, KT_MSG_SNAPSHOT_END, s->snap_seq);
	s->state = KT_SS_STREAM;
	s->sent_seq = s->snap_seq;
	s->dirty = true;
	s->send_synced = true;
	*have = true;
	return srv->frame.err;
}

/* ---- stream ---- */

static bool is_own_row(const kt_session *s, const kt_log_entry *e)
{
	const kt_principal *p = &s->principal;
	return strcmp(e->id, p->id) == 0 &&
	       ((p->is_client && strcmp(e->t->name, "client") == 0) ||
		(!p->is_client && strcmp(e->t->name, "staff") == 0));
}

void sync_rowcache_clear(kt_server *srv)
{
	for (size_t i = 0; i < sizeof srv->rowcache / sizeof srv->rowcache[0]; i++) {
		kt_row_free(&srv->rowcache[i].row);
		memset(&srv->rowcache[i], 0, sizeof srv->rowcache[i]);
	}
}

/* The current row for a log entry, shared by every session that streams
 * it (borrowed; valid until the next call). A row loaded while head_seq
 * was H is at least as new as any entry up to H, which is all a session
 * can be streaming; when head_seq moves the cache starts again, so a row
 * deleted since is never served from it. */
static int row_for_entry(kt_server *srv, const kt_log_entry *e, const kt_row **out)
{
	uint64_t h = 1469598103934665603ull;
	struct kt_cached_row *c;
	int rc;
	if (srv->rowcache_head != srv->head_seq) {
		sync_rowcache_clear(srv);
		srv->rowcache_head = srv->head_seq;
	}
	for (const char *p = e->id; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	c = &srv->rowcache[h % (sizeof srv->rowcache / sizeof srv->rowcache[0])];
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
		if (store_principal_load(srv->st, p->is_client, p->id, &np) == KT_OK) {
			/* other locations or another role: rows that did not change may
			 * have come into view or gone out of it. The device gets a new
			 * snapshot, which replaces its data (see PROTOCOL.md, rights) */
			s->resnap = cursor_rights(p) != cursor_rights(&np);
			kt_principal_free(p);
			*p = np;
			fanout_index(s);
			if (s->resnap)
				return KT_OK;
		}
	}
	was = policy_row_visible(p, e->t, e->loc_old, e->client_old, NULL) ||
	      policy_row_visible(p, e->t, e->loc_new, e->client_new, NULL);
	if (!was)
		return KT_OK; /* never concerned this principal */
	if (e->deleted) {
		proto_gone_encode(&srv->body, KT_OP_DELETE, e->t->name, e->id);
		*added = true;
		return KT_OK;
	}
	rc = row_for_entry(srv, e, &row);
	if (rc == KT_ENOT_FOUND)
		return KT_OK; /* deleted since; a later entry says so */
	if (rc)
		return rc;
	now = policy_row_visible(p, e->t, row->locs, row->client, row);
	if (now)
		pack_row(&srv->body, p, row, true);
	else if (e->t->immutable && policy_row_visible(p, e->t, row->locs, row->client, NULL)) {
		/* in reach, but its own (unchangeable) fields hide it: this device
		 * never had it, so there is nothing to evict (and its id stays unsaid) */
		return KT_OK;
	} else
		proto_gone_encode(&srv->body, KT_OP_EVICT, e->t->name, e->id);
	*added = true;
	return KT_OK;
}

static int stream_next(kt_session *s, bool *have)
{
	kt_server *srv = s->srv;
	kt_log_entry es[128];
	uint32_t nops = 0;
	int n, rc = KT_OK;
	bool owned;

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
			if ((rc = entry_op(s, &es[i], &added)) || s->resnap)
				break;
			nops += added;
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
	}
	if (nops) {
		uint8_t cur[KT_CURSOR_LEN];
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

int sync_next_frame(kt_session *s, bool *have)
{
	*have = false;
	if (s->state == KT_SS_SNAPSHOT)
		return snapshot_next(s, have);
	if (s->state == KT_SS_STREAM && (s->dirty || s->send_synced || s->sent_since_synced)) {
		int rc = stream_next(s, have);
		if (!rc && s->resnap) {
			s->resnap = false;
			kt_info("session %llu: rights changed; sending a new snapshot", (unsigned long long)s->id);
			sync_start_snapshot(s);
		}
		return rc;
	}
	return KT_OK;
}
