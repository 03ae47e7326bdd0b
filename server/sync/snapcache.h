/* snapcache.h - snapshot pages shared by the devices of one person.
 *
 * A snapshot page is decided by who reads it (the principal: what the read
 * policy and egress look at), where in the snapshot it starts (table, last
 * id) and the data. While the server's head_seq stays put, two devices of
 * the same person that ask for the same page get the same bytes, so the
 * page is read, filtered and packed once and the bytes kept here: the key
 * is the whole principal (person kind and id, organisation, role, visible
 * locations), so devices of different people never share a page. The cache
 * empties whenever head_seq moves (as the stream's row cache does): a page
 * made at head H holds data at least as new as H, and a session taking it
 * started its snapshot at head <= H, so the stream after the snapshot
 * still brings every later change. Bounded in slots and bytes; loop thread
 * only. */
#ifndef KT_SNAPCACHE_H
#define KT_SNAPCACHE_H

#include <stdbool.h>
#include <stdint.h>
#include "server.h"

/* The key of the page s would read next (malloc'd; NULL: no memory, then
 * the page is simply not shared). */
char *snapcache_key(const kt_session *s);
/* A kept page for key: srv->frame holds it, s's snapshot position moves past
 * it, *rows is its row count; false: not kept. */
bool snapcache_get(kt_server *srv, const char *key, kt_session *s, uint32_t *rows);
/* Keep the page in srv->frame (read for key; s's position is now after it). */
void snapcache_put(kt_server *srv, const char *key, const kt_session *s);
/* The row total of a snapshot starting at key's position (snapshot_begin's
 * `total`, one count query per table), kept like the pages: while head_seq
 * stands it is exact for every device of the person. false: not kept. */
bool snapcache_total_get(kt_server *srv, const char *key, int64_t *total);
void snapcache_total_put(kt_server *srv, const char *key, int64_t total);
/* Free the cache (at shutdown). */
void snapcache_free(kt_server *srv);

#endif
