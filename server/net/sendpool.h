/* sendpool.h - the fan-out's sends on more than one core. A commit seen by
 * 1,000 devices is 1,000 send() calls, nearly all of them kernel time (on
 * loopback the sender's thread also runs the receiver's TCP). The loop
 * prepares each device's bytes and adds them here; sender threads start on
 * them at once, the loop sends with them once it has added the last, and
 * waits until every item is done. The senders touch nothing but a socket
 * and the bytes copied into the batch: never a session, lws or SQLite, so
 * what the loop does before and after stays single-threaded. */
#ifndef KT_SENDPOOL_H
#define KT_SENDPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct kt_sendpool kt_sendpool;

/* config key send_threads_min_devices: a change woken for fewer devices is
 * sent by the loop alone. Below about 128 the whole fan-out takes under a
 * millisecond, and a sender thread would gain little of it while taking a
 * core from the push writer. */
#define KT_SENDPOOL_MIN_DEVICES 128

/* threads: sender threads besides the loop (0: none; the pool then sends
 * on the calling thread only). NULL when out of memory; a thread that
 * cannot start is logged and the pool has fewer. Free with sendpool_free. */
kt_sendpool *sendpool_new(int threads);
/* Stops and joins the threads. Accepts NULL. */
void sendpool_free(kt_sendpool *p);
int sendpool_threads(const kt_sendpool *p);
/* config keys send_threads: auto (the default: one less than the CPUs
 * online, at most 3, since the loop sends too) or 0 to 8; and
 * send_threads_min_devices, 2 to 100000. 0 set, 1 not ours, -1 bad
 * (*why). Read by main before any thread starts. */
int sendpool_config_set(const char *k, const char *v, const char **why);
/* the sender threads the configuration asks for */
int sendpool_configured_threads(void);
/* the fewest sessions woken at once that the pool sends to */
int sendpool_min_devices(void);

/* Start a batch of about `expect` items (more may be added). Returns 0, or
 * KT_ENOMEM (no batch: send without the pool). */
int sendpool_begin(kt_sendpool *p, int expect);
/* Add the bytes for socket fd (copied; the batch owns the copy) and the
 * caller's tag for them. Sending may start before this returns. Returns
 * the item's index, or -1 (no memory: the caller sends these bytes itself;
 * nothing of them was sent). At most one item per socket in a batch: two
 * would go out in either order. */
int sendpool_add(kt_sendpool *p, int fd, const void *data, size_t len, void *tag);
/* Send what no sender has taken, on this thread, and wait until every item
 * is done. Then sendpool_result reads each item until the next begin. */
void sendpool_finish(kt_sendpool *p);
int sendpool_count(const kt_sendpool *p);
/* Item i after finish: bytes the kernel took (0..len), or -errno of the
 * send that failed (-EAGAIN: none taken, the socket is full). *data and
 * *len are the item's bytes (owned by the pool), *tag the caller's. */
ssize_t sendpool_result(const kt_sendpool *p, int i, const unsigned char **data, size_t *len, void **tag);

#endif
