/* snapcache.c - see snapcache.h. */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "conn/conn.h"
#include "sync/snapcache.h"

#define SC_SLOTS 256
#define SC_PROBE 4                /* a key lives in one of 4 slots from its hash */
#define SC_MAX_BYTES (16u << 20)  /* pages kept at once, at most (the owner's are up to 256 KB each) */

typedef struct sc_entry {
	char *key;           /* NULL: empty slot */
	unsigned char *msg;  /* the page message (without LWS_PRE) */
	size_t len;
	uint32_t rows;
	int64_t total;       /* a snapshot's total (snapcache_total_put; msg is NULL) */
	int next_table;      /* the snapshot position after the page */
	char next_after[KT_UUID_LEN + 1];
} sc_entry;

struct kt_snapcache {
	int64_t head; /* srv->head_seq the pages were read at */
	size_t bytes;
	sc_entry slot[SC_SLOTS];
};

static void entry_free(struct kt_snapcache *c, sc_entry *e)
{
	c->bytes -= e->len;
	free(e->key);
	free(e->msg);
	memset(e, 0, sizeof *e);
}

static void empty(struct kt_snapcache *c)
{
	for (int i = 0; i < SC_SLOTS; i++)
		if (c->slot[i].key)
			entry_free(c, &c->slot[i]);
	c->bytes = 0;
}

/* The cache as of srv->head_seq (emptied when it moved); NULL: no memory. */
static struct kt_snapcache *cache(kt_server *srv)
{
	if (!srv->snapcache && !(srv->snapcache = calloc(1, sizeof *srv->snapcache)))
		return NULL;
	if (srv->snapcache->head != srv->head_seq) {
		empty(srv->snapcache);
		srv->snapcache->head = srv->head_seq;
	}
	return srv->snapcache;
}

/* The slot holding key, or (want_free) where to put it: an empty one of its
 * SC_PROBE slots, else the first (replaced); NULL when not found. */
static sc_entry *slot_of(struct kt_snapcache *c, const char *key, bool want_free)
{
	uint64_t h = 1469598103934665603ull;
	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	for (int i = 0; i < SC_PROBE; i++) {
		sc_entry *e = &c->slot[(h + (uint64_t)i) % SC_SLOTS];
		if (e->key ? !strcmp(e->key, key) : want_free)
			return e;
	}
	return want_free ? &c->slot[h % SC_SLOTS] : NULL;
}

char *snapcache_key(const kt_session *s)
{
	const kt_principal *p = &s->principal;
	const char *locs = p->locs ? p->locs : "";
	size_t len = strlen(locs) + 3 * KT_UUID_LEN + 64;
	char *k = malloc(len);
	if (k)
		snprintf(k, len, "%d/%s/%s/%d/%d/%s/%d/%s", p->is_client, p->id, p->org, p->role, p->active, locs,
			 s->snap_table, s->snap_after);
	return k;
}

bool snapcache_get(kt_server *srv, const char *key, kt_session *s, uint32_t *rows)
{
	struct kt_snapcache *c = cache(srv);
	sc_entry *e = c ? slot_of(c, key, false) : NULL;
	if (!e)
		return false;
	frame_begin(srv);
	kt_mpw_raw(&srv->frame, e->msg, e->len);
	if (srv->frame.err)
		return false;
	s->snap_table = e->next_table;
	memcpy(s->snap_after, e->next_after, sizeof s->snap_after);
	*rows = e->rows;
	return true;
}

/* The row count of a page message as proto_page_encode writes it: a map of
 * t and rows, rows an array; 0 when it is not in that form. */
static uint32_t page_rows(const unsigned char *b, size_t len)
{
	static const unsigned char head[] = {0x82, 0xa1, 't', 0xa4, 'p', 'a', 'g', 'e', 0xa4, 'r', 'o', 'w', 's'};
	size_t h = sizeof head;
	if (len < h + 5 || memcmp(b, head, h) != 0)
		return 0;
	if ((b[h] & 0xf0) == 0x90)
		return b[h] & 0x0fu;
	if (b[h] == 0xdc)
		return (uint32_t)b[h + 1] << 8 | b[h + 2];
	if (b[h] == 0xdd)
		return (uint32_t)b[h + 1] << 24 | (uint32_t)b[h + 2] << 16 | (uint32_t)b[h + 3] << 8 | b[h + 4];
	return 0;
}

void snapcache_put(kt_server *srv, const char *key, const kt_session *s)
{
	struct kt_snapcache *c = cache(srv);
	const unsigned char *msg = (const unsigned char *)srv->frame.sb.data + LWS_PRE;
	size_t len = srv->frame.sb.size - LWS_PRE;
	uint32_t rows = page_rows(msg, len);
	if (!c || srv->frame.err || srv->frame.sb.size <= LWS_PRE || !rows || len > SC_MAX_BYTES / 4)
		return;
	sc_entry *e = slot_of(c, key, true);
	if (e->key)
		entry_free(c, e);
	if (c->bytes + len > SC_MAX_BYTES)
		return; /* full until head_seq moves: later pages are read as before */
	e->key = strdup(key);
	e->msg = malloc(len);
	if (!e->key || !e->msg) {
		free(e->key);
		free(e->msg);
		memset(e, 0, sizeof *e);
		return;
	}
	memcpy(e->msg, msg, len);
	e->len = len;
	e->rows = rows;
	e->next_table = s->snap_table;
	memcpy(e->next_after, s->snap_after, sizeof e->next_after);
	c->bytes += len;
}

/* A total's key: the first page's with a mark no page key starts with. */
static char *total_key(const char *key)
{
	size_t n = strlen(key) + 3;
	char *k = malloc(n);
	if (k)
		snprintf(k, n, "T:%s", key);
	return k;
}

bool snapcache_total_get(kt_server *srv, const char *key, int64_t *total)
{
	struct kt_snapcache *c = cache(srv);
	char *k = c ? total_key(key) : NULL;
	sc_entry *e = k ? slot_of(c, k, false) : NULL;
	free(k);
	if (!e)
		return false;
	*total = e->total;
	return true;
}

void snapcache_total_put(kt_server *srv, const char *key, int64_t total)
{
	struct kt_snapcache *c = cache(srv);
	char *k = c ? total_key(key) : NULL;
	if (!k)
		return;
	sc_entry *e = slot_of(c, k, true);
	if (e->key)
		entry_free(c, e);
	e->key = k;
	e->total = total;
}

void snapcache_free(kt_server *srv)
{
	if (!srv->snapcache)
		return;
	empty(srv->snapcache);
	free(srv->snapcache);
	srv->snapcache = NULL;
}
