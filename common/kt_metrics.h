/* kt_metrics.h - the server's counters, gauges and one histogram, read by
 * GET /metrics (server/net/ops_http.c) in the Prometheus text format 0.0.4.
 * Every update is one relaxed atomic add or store, safe from any thread and
 * cheap enough for every frame: no lock, no allocation, no system call. A
 * scrape reads the values while they move (each is whole, never torn; two
 * may be a moment apart). Label values come only from fixed lists (roles,
 * results, error codes, channels, status codes), never from data. */
#ifndef KT_METRICS_H
#define KT_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kt_err.h"

/* Families with a fixed set of label values (the slot is the label's index). */
typedef enum kt_metric {
	KT_M_CONNECTIONS,    /* gauge: WebSocket connections open, signed in or not */
	KT_M_DEVICES,        /* gauge {role}: signed-in connections (slot: KT_ROLE_*) */
	KT_M_SIGNINS,        /* counter {result}: sign-ins (slot: kt_signin_result) */
	KT_M_MUT_APPLIED,    /* counter: pushed mutations applied */
	KT_M_MUT_DUPLICATE,  /* counter: pushed mutations already applied (answered again) */
	KT_M_MUT_REJECTED,   /* counter {code}: pushed mutations refused (slot: kt_err code) */
	KT_M_SNAPSHOT_ROWS,  /* counter: rows sent in snapshot pages */
	KT_M_CHANGES_SENT,   /* counter: changes (puts, deletes, evictions) streamed to devices */
	KT_M_CHECKPOINTS,    /* counter: WAL checkpoints that copied frames */
	KT_M_OUTBOX_FAILED,  /* counter {channel}: failed send attempts (slot: kt_channel) */
	KT_M_WRITER_QUEUE,   /* gauge: pushes handed to the writer, not yet answered */
	KT_M_HTTP_REQUESTS,  /* counter {code}: plain HTTP answers (slot: kt_metric_http_slot) */
	KT_M_POOLED_SENDS,   /* counter {result}: fan-out sends shared with the sender threads (slot: kt_pooled_result) */
	KT_M_COUNT
} kt_metric;

#define KT_M_SLOTS 64 /* label values per family (kt_err has fewer codes) */

typedef enum kt_signin_result { KT_SIGNIN_OK, KT_SIGNIN_FAILED, KT_SIGNIN_THROTTLED } kt_signin_result;
typedef enum kt_channel { KT_CHANNEL_EMAIL, KT_CHANNEL_SMS } kt_channel;
/* whole: the kernel took all; partial: lws keeps the rest (a device reading
 * slower than changes come); failed: the socket was gone */
typedef enum kt_pooled_result { KT_POOLED_WHOLE, KT_POOLED_PARTIAL, KT_POOLED_FAILED } kt_pooled_result;

extern _Atomic int64_t kt_metric_v[KT_M_COUNT][KT_M_SLOTS];

/* Add n to family m's value for label slot (0 for a family without labels).
 * A slot out of range is ignored (a bug, never worth a crash). */
static inline void kt_metric_add(kt_metric m, int slot, int64_t n)
{
	if ((unsigned)slot < KT_M_SLOTS)
		atomic_fetch_add_explicit(&kt_metric_v[m][slot], n, memory_order_relaxed);
}
static inline void kt_metric_inc(kt_metric m, int slot)
{
	kt_metric_add(m, slot, 1);
}
static inline int64_t kt_metric_get(kt_metric m, int slot)
{
	return (unsigned)slot < KT_M_SLOTS ? atomic_load_explicit(&kt_metric_v[m][slot], memory_order_relaxed) : 0;
}
/* The sign-in outcome an error code counts as (0: ok, throttled, else failed). */
static inline void kt_metric_signin(int rc)
{
	kt_metric_inc(KT_M_SIGNINS, rc == KT_OK ? KT_SIGNIN_OK : rc == KT_ETHROTTLED ? KT_SIGNIN_THROTTLED : KT_SIGNIN_FAILED);
}
/* The slot of an HTTP status code in KT_M_HTTP_REQUESTS (the last: others). */
int kt_metric_http_slot(unsigned status);

/* ---- histograms: fixed bucket bounds, observations in microseconds ---- */

typedef enum kt_hist_id {
	KT_H_COMMIT_TO_DEVICE, /* seconds from a change's commit to its frame queued for a device */
	KT_H_COUNT
} kt_hist_id;

#define KT_HIST_MAX_BUCKETS 16

typedef struct kt_hist {
	int nb;                                          /* bounds in bound_us (ascending) */
	int64_t bound_us[KT_HIST_MAX_BUCKETS];
	_Atomic uint64_t bucket[KT_HIST_MAX_BUCKETS + 1]; /* per bucket, not cumulative; the last: +Inf */
	_Atomic uint64_t sum_us;
} kt_hist;

extern kt_hist kt_hists[KT_H_COUNT];

/* Count one observation of us microseconds (negative counts as 0). */
void kt_hist_observe(kt_hist *h, int64_t us);

/* ---- liveness the health check reads ---- */

/* kt_mono_us() of the writer thread's last turn (0: it has none, e.g. its
 * database did not open). */
extern _Atomic int64_t kt_writer_beat_us;

/* ---- the text format ---- */

/* A growing text buffer for an answer. On no memory it keeps what it has
 * and sets failed; kt_mtext_free accepts a zeroed or failed one. */
typedef struct kt_mtext {
	char *s;
	size_t len, cap;
	bool failed;
} kt_mtext;
void kt_mtext_printf(kt_mtext *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kt_mtext_free(kt_mtext *t);

/* "# HELP name help" (help escaped: \\ and \n) and "# TYPE name type". */
void kt_mtext_family(kt_mtext *t, const char *name, const char *type, const char *help);
/* One sample line: name{label="value"} v, or name v when label is NULL.
 * The value is escaped (\\, \" and \n); v is printed exactly when it is a
 * whole number, +Inf/-Inf/NaN as the format spells them. */
void kt_mtext_sample(kt_mtext *t, const char *name, const char *label, const char *value, double v);
/* Every family above and the histograms, in the text format. */
void kt_metrics_render(kt_mtext *t);

/* Zero every value (unit tests). */
void kt_metrics_reset(void);

#endif
