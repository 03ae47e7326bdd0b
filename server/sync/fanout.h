/* fanout.h - the change-log ring, the session index by routing key, wake-ups. */
#ifndef KT_FANOUT_H
#define KT_FANOUT_H

#include "server.h"

int fanout_init(kt_server *srv, int ring_cap, int nbuckets);
void fanout_free(kt_server *srv);
/* The sequence numbers the ring holds now (0, 0: none). */
void fanout_ring_span(const kt_server *srv, int64_t *first, int64_t *last);
void fanout_index(kt_session *s);   /* (re)index a signed-in session */
void fanout_unindex(kt_session *s);
/* What devices are sent is read in a snapshot without a commit whose fsync
 * still runs (store_read_durable): the loop waits for such an fsync, at
 * most this long (it takes a millisecond or two; longer only on a failing
 * disk, and then the reading is given up). */
#define KT_DURABLE_WAIT_MS 500
/* Pull new change-log entries into the ring and wake the sessions they
 * concern (after_commit runs it, after the revocations). */
void fanout_ingest(kt_server *srv);
/* While held, the sessions an ingest wakes are not asked for a writeable
 * callback but kept for fanout_take_ready (the loop writes to them at once
 * instead: net/listener.c). */
void fanout_hold(kt_server *srv, bool on);
/* The sessions woken since the last take (borrowed, valid until the next
 * ingest); the caller sends to each or asks for its writeable callback. */
int fanout_take_ready(kt_server *srv, kt_session ***out);
/* Next entries after seq: from the ring, or from SQLite when behind it.
 * Fills out[] with borrowed (ring) or owned (*owned = true) entries. */
int fanout_entries_after(kt_server *srv, int64_t seq, kt_log_entry *out, int max, int *n, bool *owned);
/* Whether entries after seq have been deleted by retention (a stream that
 * stood still longer than changelog_days): reading on would skip them. */
bool fanout_pruned_after(kt_server *srv, int64_t seq);

#endif
