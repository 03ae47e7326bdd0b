/* fanout.c - from committed changes to the sessions they concern. New
 * change-log entries enter an in-memory ring; each entry wakes only the
 * sessions indexed under its routing keys (owners of the org, staff of its
 * locations, the client it belongs to, the staff member it is), so the work per change follows the
 * number of sessions that may see it, never the number connected. Sessions
 * then read the log after their own cursor (sync.c): one path for live and
 * catch-up. Never decides visibility: policy.c does, at send time. */
#include <stdlib.h>
#include <string.h>
#include "server.h"
#include "sync/rights.h"
#include "sync/fanout.h"
#include "conn/conn.h"

#define KEY_LEN 40 /* "x:" + uuid + NUL */

struct kt_bucket {
	char key[KEY_LEN];
	kt_session **s;
	int n, cap;
	bool used;
};

/* The newest change-log entries, in memory. */
typedef struct kt_ring {
	kt_log_entry *e;   /* cap slots, entry with seq s at s % cap */
	int cap;
	int64_t first_seq; /* oldest seq held (0 = empty) */
	int64_t last_seq;  /* newest seq held */
} kt_ring;

/* What the fan-out owns: the ring and the index of sessions by routing key. */
struct kt_fanout {
	kt_ring ring;
	struct kt_bucket *buckets;
	int nbuckets;
	/* the sessions woken by this ingest: asked for a writeable callback at
	 * its end, or, while held (fanout_hold), handed to the loop, which
	 * writes to them at once (net/listener.c) */
	kt_session **ready;
	int nready, ready_cap;
	bool hold;
};

static uint64_t key_hash(const char *k)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 1099511628211ull;
	return h;
}

/* "prefix:id" into key[KEY_LEN] (cut to fit), without snprintf's format
 * parsing: every committed change looks up two or three of these. */
static void bucket_key(char key[KEY_LEN], const char *prefix, const char *id)
{
	size_t n = kt_strcpy_cut(key, KEY_LEN, prefix);
	if (n + 1 < KEY_LEN) {
		key[n++] = ':';
		kt_strcpy_cut(key + n, KEY_LEN - n, id);
	}
}

/* Find (or create) the bucket for key; NULL when the table is full. */
static struct kt_bucket *bucket(kt_server *srv, const char *key, bool create)
{
	uint64_t h = key_hash(key);
	for (int i = 0; i < srv->fan->nbuckets; i++) {
		struct kt_bucket *b = &srv->fan->buckets[(h + (uint64_t)i) % (uint64_t)srv->fan->nbuckets];
		if (!b->used) {
			if (!create)
				return NULL;
			b->used = true;
			kt_strcpy_cut(b->key, sizeof b->key, key);
			return b;
		}
		if (strcmp(b->key, key) == 0)
			return b;
	}
	return NULL;
}

int fanout_init(kt_server *srv, int ring_cap, int nbuckets)
{
	kt_fanout *f = calloc(1, sizeof *f);
	if (!(srv->fan = f))
		return KT_ENOMEM;
	f->ring.cap = ring_cap;
	f->ring.e = calloc((size_t)ring_cap, sizeof *f->ring.e);
	f->nbuckets = nbuckets;
	f->buckets = calloc((size_t)nbuckets, sizeof *f->buckets);
	if (!f->ring.e || !f->buckets) {
		fanout_free(srv);
		return KT_ENOMEM;
	}
	srv->head_seq = store_max_seq(srv->st);
	return KT_OK;
}

void fanout_free(kt_server *srv)
{
	kt_fanout *f = srv->fan;
	if (!f)
		return;
	if (f->ring.e)
		for (int i = 0; i < f->ring.cap; i++)
			kt_log_entry_free(&f->ring.e[i]);
	free(f->ring.e);
	if (f->buckets)
		for (int i = 0; i < f->nbuckets; i++)
			free(f->buckets[i].s);
	free(f->buckets);
	free(f->ready);
	free(f);
	srv->fan = NULL;
}

void fanout_ring_span(const kt_server *srv, int64_t *first, int64_t *last)
{
	*first = srv->fan->ring.first_seq;
	*last = srv->fan->ring.last_seq;
}

static void join(kt_session *s, const char *prefix, const char *id)
{
	char key[KEY_LEN];
	struct kt_bucket *b, **m;

	bucket_key(key, prefix, id);
	if (!(b = bucket(s->srv, key, true))) {
		kt_warn("fan-out index full; session %llu not indexed under %s",
			(unsigned long long)s->id, key);
		return;
	}
	if (b->n == b->cap) {
		int cap = b->cap ? b->cap * 2 : 8;
		kt_session **ns = realloc(b->s, (size_t)cap * sizeof *ns);
		if (!ns)
			return;
		b->s = ns;
		b->cap = cap;
	}
	if (!(m = realloc(s->member, (size_t)(s->nmember + 1) * sizeof *m)))
		return;
	s->member = m;
	b->s[b->n++] = s;
	s->member[s->nmember++] = b;
}

void fanout_unindex(kt_session *s)
{
	kt_fanout *f = s->srv->fan;
	for (int i = 0; f && i < f->nready; i++)
		if (f->ready[i] == s)
			f->ready[i] = f->ready[--f->nready];
	for (int i = 0; i < s->nmember; i++) {
		struct kt_bucket *b = s->member[i];
		for (int k = 0; k < b->n; k++)
			if (b->s[k] == s) {
				b->s[k] = b->s[--b->n];
				break;
			}
	}
	free(s->member);
	s->member = NULL;
	s->nmember = 0;
}

/* Call f for each element of a comma list. */
static void each_loc(const char *set, void (*f)(void *u, const char *id), void *u)
{
	char id[KT_UUID_LEN + 1];
	const char *p = set;
	while (p && *p) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		if (n && n <= KT_UUID_LEN) {
			memcpy(id, p, n);
			id[n] = 0;
			f(u, id);
		}
		p = c ? c + 1 : NULL;
	}
}

struct join_ctx {
	kt_session *s;
	const char *prefix;
};

static void join_loc(void *u, const char *id)
{
	struct join_ctx *j = u;
	join(j->s, j->prefix, id);
}

static void join_old_loc(void *u, const char *id)
{
	struct join_ctx *j = u;
	if (!kt_locset_has(j->s->principal.locs, id))
		join(j->s, j->prefix, id);
}

void fanout_index(kt_session *s)
{
	const kt_principal *p = &s->principal;
	fanout_unindex(s);
	join(s, "a", p->org);
	if (p->role == KT_ROLE_OWNER) {
		join(s, "o", p->org);
	} else if (p->role == KT_ROLE_CLIENT) {
		struct join_ctx j = {s, "L"};
		join(s, "c", p->id);
		each_loc(p->locs, join_loc, &j);
	} else {
		struct join_ctx j = {s, "l"};
		join(s, "s", p->id); /* changes to one's own rights arrive even with no location left */
		each_loc(p->locs, join_loc, &j);
		if (s->diff_active) /* a rights diff's union (sync.c): the old locations' changes too */
			each_loc(s->diff_old.locs, join_old_loc, &j);
		if (s->has_basis && s->basis.role != KT_ROLE_OWNER) /* (the same before the stream meets a change) */
			each_loc(s->basis.locs, join_old_loc, &j);
	}
}

static void wake_bucket(kt_server *srv, const char *prefix, const char *id)
{
	char key[KEY_LEN];
	struct kt_bucket *b;
	bucket_key(key, prefix, id);
	if (!(b = bucket(srv, key, false)))
		return;
	for (int i = 0; i < b->n; i++) {
		kt_session *s = b->s[i];
		if (!s->dirty && s->state == KT_SS_STREAM) {
			kt_fanout *f = srv->fan;
			s->dirty = true;
			if (f->nready == f->ready_cap) {
				int cap = f->ready_cap ? f->ready_cap * 2 : 64;
				kt_session **nr = realloc(f->ready, (size_t)cap * sizeof *nr);
				if (!nr) {
					session_want_write(s);
					continue;
				}
				f->ready = nr;
				f->ready_cap = cap;
			}
			f->ready[f->nready++] = s;
		}
	}
}

struct wake_ctx {
	kt_server *srv;
	const char *prefix;
};

static void wake_loc(void *u, const char *id)
{
	struct wake_ctx *w = u;
	wake_bucket(w->srv, w->prefix, id);
}

static void wake_locs(kt_server *srv, const kt_log_entry *e, const char *prefix)
{
	struct wake_ctx w = {srv, prefix};
	if (strcmp(e->loc_old, "*") == 0 || strcmp(e->loc_new, "*") == 0) {
		wake_bucket(srv, "a", e->org);
		return;
	}
	each_loc(e->loc_old, wake_loc, &w);
	each_loc(e->loc_new, wake_loc, &w);
}

static void wake_for(kt_server *srv, const kt_log_entry *e)
{
	if (e->deleted && e->t->route == KT_ROUTE_CLIENT_LOCS) {
		/* a client erased: every device of the organisation confirms it has
		 * passed this point (sync.c), so the erasure's purge receipts do
		 * not wait for the next change a device happens to see */
		wake_bucket(srv, "a", e->org);
		return;
	}
	wake_bucket(srv, "o", e->org);
	switch (e->t->route) {
	case KT_ROUTE_ORG:
		wake_bucket(srv, "a", e->org);
		break;
	case KT_ROUTE_LOC_COL:
	case KT_ROUTE_CLIENT_LOCS:
	case KT_ROUTE_VIA_CLIENT:
		wake_locs(srv, e, "l");
		if (e->client_old[0])
			wake_bucket(srv, "c", e->client_old);
		if (e->client_new[0] && strcmp(e->client_new, e->client_old) != 0)
			wake_bucket(srv, "c", e->client_new);
		break;
	case KT_ROUTE_VIA_STAFF: /* time off: staff at the person's locations, never clients */
		wake_locs(srv, e, "l");
		break;
	case KT_ROUTE_STAFF_LOCS:
		wake_bucket(srv, "s", e->id); /* the person themselves: their rights may have changed */
		/* fall through */
	case KT_ROUTE_SELF_LOC:
	case KT_ROUTE_LOC_OPT:
	case KT_ROUTE_LOC_ROW: /* opening hours and closed days reach clients of the location too */
		wake_locs(srv, e, "l");
		wake_locs(srv, e, "L");
		break;
	}
}

void fanout_ingest(kt_server *srv)
{
	kt_log_entry batch[256];
	int n;
	kt_ring *r = &srv->fan->ring;

	/* nothing of a commit whose fsync still runs (store.h, durable reads) */
	if (store_read_durable(srv->st, KT_DURABLE_WAIT_MS))
		return; /* the WAL's sync failed: the wake-up after its redo reads */
	session_durable_resume(srv);
	/* whose rights may have changed: sessions compare before they send (session.c) */
	int64_t g = store_rights_gen(srv->st);
	if (g > srv->rights_gen)
		srv->rights_gen = g;
	for (;;) {
		if (store_log_read(srv->st, srv->head_seq, batch, 256, &n) || n == 0)
			break;
		for (int i = 0; i < n; i++) {
			kt_log_entry *slot = &r->e[batch[i].seq % r->cap];
			if (slot->seq && slot->seq >= r->first_seq)
				r->first_seq = slot->seq + 1; /* overwriting the oldest */
			kt_log_entry_free(slot);
			*slot = batch[i]; /* the ring owns it now */
			if (!r->first_seq)
				r->first_seq = slot->seq;
			r->last_seq = slot->seq;
			srv->head_seq = slot->seq;
			wake_for(srv, slot);
		}
		if (n < 256)
			break;
	}
	store_read_end(srv->st);
	if (!srv->fan->hold) {
		for (int i = 0; i < srv->fan->nready; i++)
			session_want_write(srv->fan->ready[i]);
		srv->fan->nready = 0;
	}
}

void fanout_hold(kt_server *srv, bool on)
{
	srv->fan->hold = on;
}

int fanout_take_ready(kt_server *srv, kt_session ***out)
{
	int n = srv->fan->nready;
	*out = srv->fan->ready;
	srv->fan->nready = 0; /* (the array stays valid until the next ingest) */
	return n;
}

int fanout_entries_after(kt_server *srv, int64_t seq, kt_log_entry *out, int max, int *n, bool *owned)
{
	kt_ring *r = &srv->fan->ring;
	*n = 0;
	*owned = false;
	if (seq >= srv->head_seq)
		return KT_OK;
	if (r->first_seq && seq + 1 >= r->first_seq) {
		/* borrowed copies of ring entries: the ring keeps ownership */
		for (int64_t q = seq + 1; q <= r->last_seq && *n < max; q++) {
			const kt_log_entry *e = &r->e[q % r->cap];
			if (e->seq == q)
				out[(*n)++] = *e;
		}
		return KT_OK;
	}
	/* fallen behind the ring: read the log from SQLite */
	*owned = true;
	return store_log_read(srv->st, seq, out, max, n);
}

bool fanout_pruned_after(kt_server *srv, int64_t seq)
{
	kt_ring *r = &srv->fan->ring;
	if (seq >= srv->head_seq || (r->first_seq && seq + 1 >= r->first_seq))
		return false; /* (the ring holds everything after seq) */
	return seq + 1 < store_min_seq(srv->st);
}
