/* kt_metrics.c - the values behind /metrics and their text form
 * (kt_metrics.h). Updates are relaxed atomics only; the render runs on the
 * scraping thread and never blocks an update. Names follow Prometheus'
 * conventions: kartoteka_ prefix, base units, _total for counters. */
#include <math.h> /* isnan, isinf: macros, no libm */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kt_metrics.h"

_Atomic int64_t kt_metric_v[KT_M_COUNT][KT_M_SLOTS];
_Atomic int64_t kt_writer_beat_us;

/* Commit-to-device latency: from a few ms (a quiet server on a local disk)
 * to the WAL-sync stalls and slow links worth an alert. */
kt_hist kt_hists[KT_H_COUNT] = {
	[KT_H_COMMIT_TO_DEVICE] = {.nb = 13,
				   .bound_us = {1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000,
						2500000, 5000000, 10000000}},
};
static const struct {
	const char *name, *help;
} hist_names[KT_H_COUNT] = {
	[KT_H_COMMIT_TO_DEVICE] = {"kartoteka_commit_to_device_seconds",
				   "Time from a change's commit to its frame queued for a device that was streaming."},
};

/* Same order as KT_ROLE_* (server/db/model.h; tests/unit/test_metrics.c compares). */
static const char *const roles[] = {"owner", "manager", "reception", "specialist", "client"};
static const char *const results[] = {"ok", "failed", "throttled"};
static const char *const channels[] = {"email", "sms"};
static const unsigned http_codes[] = {200, 204, 206, 301, 302, 304, 400, 401, 403, 404, 405, 408, 410,
				      413, 414, 429, 431, 500, 503};
static const char *const http_names[] = {"200", "204", "206", "301", "302", "304", "400", "401", "403", "404",
					 "405", "408", "410", "413", "414", "429", "431", "500", "503", "other"};
#define HTTP_OTHER (int)(sizeof http_codes / sizeof http_codes[0]) /* the slot for any other code */
_Static_assert(sizeof http_names / sizeof http_names[0] == HTTP_OTHER + 1, "a name per HTTP slot");

static const char *role_label(int i)
{
	return roles[i];
}
static const char *result_label(int i)
{
	return results[i];
}
static const char *channel_label(int i)
{
	return channels[i];
}
static const char *pooled_label(int i)
{
	static const char *const names[] = {"whole", "partial", "failed"};
	return names[i];
}
static const char *code_label(int i)
{
	return kt_err_name(i);
}
static const char *http_label(int i)
{
	return http_names[i];
}

int kt_metric_http_slot(unsigned status)
{
	for (int i = 0; i < HTTP_OTHER; i++)
		if (http_codes[i] == status)
			return i;
	return HTTP_OTHER;
}

static const struct family {
	const char *name, *type, *help;
	const char *label;          /* NULL: no labels, slot 0 */
	int n;                      /* label values */
	const char *(*value)(int i);
	bool sparse;                /* only the label values seen (error codes: most never are) */
} families[KT_M_COUNT] = {
	[KT_M_CONNECTIONS] = {"kartoteka_connections", "gauge", "WebSocket connections open, signed in or not."},
	[KT_M_DEVICES] = {"kartoteka_connected_devices", "gauge", "Signed-in device connections by role.", "role", 5,
			  role_label},
	[KT_M_SIGNINS] = {"kartoteka_signins_total", "counter",
			  "Sign-ins (password or session token) by result: ok, failed (wrong credentials and other "
			  "refusals), throttled (locked out).",
			  "result", 3, result_label},
	[KT_M_MUT_APPLIED] = {"kartoteka_mutations_applied_total", "counter", "Pushed mutations applied."},
	[KT_M_MUT_DUPLICATE] = {"kartoteka_mutations_duplicate_total", "counter",
				"Pushed mutations applied before and answered again (a device's retry)."},
	[KT_M_MUT_REJECTED] = {"kartoteka_mutations_rejected_total", "counter",
			       "Pushed mutations refused, by error code.", "code", KT_ERR_COUNT, code_label, true},
	[KT_M_SNAPSHOT_ROWS] = {"kartoteka_snapshot_rows_sent_total", "counter", "Rows sent in snapshot pages."},
	[KT_M_CHANGES_SENT] = {"kartoteka_changes_sent_total", "counter",
			       "Changes (rows, deletions, evictions) streamed to devices."},
	[KT_M_CHECKPOINTS] = {"kartoteka_wal_checkpoints_total", "counter",
			      "WAL checkpoints that copied frames into the database file."},
	[KT_M_OUTBOX_FAILED] = {"kartoteka_outbox_send_failures_total", "counter",
				"Failed send attempts of outgoing messages, by channel.", "channel", 2, channel_label},
	[KT_M_WRITER_QUEUE] = {"kartoteka_writer_queue_depth", "gauge",
			       "Pushes handed to the writer thread and not answered yet."},
	[KT_M_HTTP_REQUESTS] = {"kartoteka_http_requests_total", "counter", "Plain HTTP requests answered, by status.",
				"code", HTTP_OTHER + 1, http_label, true},
	[KT_M_POOLED_SENDS] = {"kartoteka_fanout_pooled_sends_total", "counter",
			       "Frames to devices sent in a fan-out batch shared with the sender threads (send_threads), "
			       "by result: whole, partial (the rest kept and sent when the device reads), failed (the "
			       "connection was gone).",
			       "result", 3, pooled_label},
};

void kt_hist_observe(kt_hist *h, int64_t us)
{
	int i = 0;
	if (us < 0)
		us = 0;
	while (i < h->nb && us > h->bound_us[i])
		i++;
	atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, (uint64_t)us, memory_order_relaxed);
}

/* ---- text ---- */

void kt_mtext_printf(kt_mtext *t, const char *fmt, ...)
{
	va_list ap;
	if (t->failed)
		return;
	for (;;) {
		size_t room = t->cap - t->len;
		va_start(ap, fmt);
		int n = vsnprintf(t->s ? t->s + t->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = true;
			return;
		}
		if ((size_t)n < room) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = t->cap ? t->cap : 4096;
		while (cap - t->len <= (size_t)n)
			cap *= 2;
		char *p = realloc(t->s, cap);
		if (!p) {
			t->failed = true;
			return;
		}
		t->s = p;
		t->cap = cap;
	}
}

void kt_mtext_free(kt_mtext *t)
{
	if (!t)
		return;
	free(t->s);
	memset(t, 0, sizeof *t);
}

/* Escape for HELP (\\ and \n) or, with quote, a label value (also \"). */
static void put_escaped(kt_mtext *t, const char *s, bool quote)
{
	for (const char *p = s; *p; p++) {
		if (*p == '\\')
			kt_mtext_printf(t, "\\\\");
		else if (*p == '\n')
			kt_mtext_printf(t, "\\n");
		else if (quote && *p == '"')
			kt_mtext_printf(t, "\\\"");
		else {
			size_t n = strcspn(p, quote ? "\\\n\"" : "\\\n");
			kt_mtext_printf(t, "%.*s", (int)n, p);
			p += n - 1;
		}
	}
}

void kt_mtext_family(kt_mtext *t, const char *name, const char *type, const char *help)
{
	kt_mtext_printf(t, "# HELP %s ", name);
	put_escaped(t, help, false);
	kt_mtext_printf(t, "\n# TYPE %s %s\n", name, type);
}

static void put_value(kt_mtext *t, double v)
{
	if (isnan(v))
		kt_mtext_printf(t, "NaN\n");
	else if (isinf(v))
		kt_mtext_printf(t, "%sInf\n", v > 0 ? "+" : "-");
	else if (v > -9007199254740992.0 && v < 9007199254740992.0 && (double)(int64_t)v == v) /* whole, below 2^53 */
		kt_mtext_printf(t, "%.0f\n", v);
	else
		kt_mtext_printf(t, "%.15g\n", v); /* enough for a gauge, and short */
}

void kt_mtext_sample(kt_mtext *t, const char *name, const char *label, const char *value, double v)
{
	kt_mtext_printf(t, "%s", name);
	if (label) {
		kt_mtext_printf(t, "{%s=\"", label);
		put_escaped(t, value, true);
		kt_mtext_printf(t, "\"}");
	}
	kt_mtext_printf(t, " ");
	put_value(t, v);
}

static void render_hist(kt_mtext *t, int id)
{
	kt_hist *h = &kt_hists[id];
	const char *name = hist_names[id].name;
	char bucket[96], sum[96], count[96], le[32];
	uint64_t cum = 0;
	snprintf(bucket, sizeof bucket, "%s_bucket", name);
	snprintf(sum, sizeof sum, "%s_sum", name);
	snprintf(count, sizeof count, "%s_count", name);
	kt_mtext_family(t, name, "histogram", hist_names[id].help);
	/* _count is the +Inf bucket: read once, so the two always agree */
	for (int i = 0; i <= h->nb; i++) {
		cum += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
		if (i < h->nb)
			snprintf(le, sizeof le, "%g", (double)h->bound_us[i] / 1e6);
		else
			snprintf(le, sizeof le, "+Inf");
		kt_mtext_sample(t, bucket, "le", le, (double)cum);
	}
	kt_mtext_sample(t, sum, NULL, NULL, (double)atomic_load_explicit(&h->sum_us, memory_order_relaxed) / 1e6);
	kt_mtext_sample(t, count, NULL, NULL, (double)cum);
}

void kt_metrics_render(kt_mtext *t)
{
	for (int m = 0; m < KT_M_COUNT; m++) {
		const struct family *f = &families[m];
		kt_mtext_family(t, f->name, f->type, f->help);
		if (!f->label) {
			kt_mtext_sample(t, f->name, NULL, NULL, (double)kt_metric_get(m, 0));
			continue;
		}
		for (int i = 0; i < f->n && i < KT_M_SLOTS; i++) {
			int64_t v = kt_metric_get(m, i);
			if (!f->sparse || v)
				kt_mtext_sample(t, f->name, f->label, f->value(i), (double)v);
		}
	}
	for (int h = 0; h < KT_H_COUNT; h++)
		render_hist(t, h);
}

void kt_metrics_reset(void)
{
	for (int m = 0; m < KT_M_COUNT; m++)
		for (int i = 0; i < KT_M_SLOTS; i++)
			atomic_store(&kt_metric_v[m][i], 0);
	for (int h = 0; h < KT_H_COUNT; h++) {
		for (int i = 0; i <= KT_HIST_MAX_BUCKETS; i++)
			atomic_store(&kt_hists[h].bucket[i], 0);
		atomic_store(&kt_hists[h].sum_us, 0);
	}
	atomic_store(&kt_writer_beat_us, 0);
}
