/* lifecycle.c - readiness, reload and drain (lifecycle.h). The signal
 * handlers only post a wake bit; the loop thread does the work, between
 * two callbacks, so no connection is touched from elsewhere. A reload
 * never drops a connection and never applies half a file; a drain never
 * drops an acknowledged write: a push handed to the writer is answered
 * before its connection is closed. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include <systemd/sd-daemon.h>
#include "kt_util.h"
#include "conn/conn.h"
#include "domain/mail.h"
#include "net/lifecycle.h"
#include "net/tls.h"

#define DRAIN_CHECK_MS 20 /* how often a drain looks at the sessions it waits for */

struct kt_life {
	int (*reload)(kt_reload *out, char *why, size_t cap);
	kt_portal_config live;   /* the mail settings the outbox worker has now */
	lws_sorted_usec_list_t drain_timer;
	int64_t drain_end_us;    /* kt_mono_us() after which the drain closes anyway */
	int64_t drain_start_us;
	bool unlisten;           /* the listening socket is to be closed between two turns */
	char where[300];         /* "127.0.0.1:8080 (TLS)", for STATUS= */
};

static int drain_timeout_s = KT_DRAIN_TIMEOUT_S_DEFAULT; /* set by main before any thread starts */
/* for the signal handlers only, which may run on any thread: atomic */
static _Atomic(kt_server *) g_srv;

int lifecycle_config_set(const char *k, const char *v, const char **why)
{
	if (strcmp(k, "drain_timeout_s"))
		return 1;
	if (!kt_parse_int(v, 1, 300, &drain_timeout_s)) {
		*why = "a whole number of seconds, 1 to 300";
		return -1;
	}
	return 0;
}

int lifecycle_drain_timeout_s(void)
{
	return drain_timeout_s;
}

static uint64_t mono_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Both async-signal-safe: an atomic or, and lws_cancel_service's write to
 * its pipe. Before lifecycle_ready g_srv is NULL: a SIGTERM is not caught
 * yet, a SIGHUP is remembered. */
static void on_term(int sig)
{
	kt_server *srv = atomic_load(&g_srv);
	(void)sig;
	if (srv)
		kt_wake_post(&srv->wake, KT_WAKE_DRAIN);
}

static atomic_bool early_hangup; /* a SIGHUP before lifecycle_ready: done once ready */

static void on_hangup(int sig)
{
	kt_server *srv = atomic_load(&g_srv);
	(void)sig;
	if (srv)
		kt_wake_post(&srv->wake, KT_WAKE_RELOAD);
	else
		atomic_store(&early_hangup, true);
}

void lifecycle_early(void)
{
	signal(SIGHUP, on_hangup);
}

int lifecycle_ready(kt_server *srv, const kt_serve_opts *o, const char *host)
{
	kt_life *L = calloc(1, sizeof *L);
	if (!L)
		return KT_ENOMEM;
	L->reload = o->reload;
	L->live = *srv->portal_cfg;
	snprintf(L->where, sizeof L->where, "%s:%d%s", host, srv->port, srv->tls ? " (TLS)" : "");
	srv->life = L;
	atomic_store(&g_srv, srv);
	signal(SIGINT, on_term);
	signal(SIGTERM, on_term);
	if (atomic_exchange(&early_hangup, false)) /* the files may have changed since we read them */
		kt_wake_post(&srv->wake, KT_WAKE_RELOAD);
	/* systemd (Type=notify) starts what waits for us once it reads this:
	 * the database is open, the port bound, the workers run. Without
	 * NOTIFY_SOCKET this does nothing. */
	sd_notifyf(0, "READY=1\nSTATUS=serving on %s", L->where);
	return KT_OK;
}

/* ---- SIGHUP ---- */

static const char *const level_names[] = {"error", "warn", "info", "debug"};

static void add_key(char *list, size_t cap, const char *key)
{
	size_t n = strlen(list);
	snprintf(list + n, cap - n, "%s%s", n ? ", " : "", key);
}

/* Settings of the portal that other threads read without a lock (the
 * loop, the portal workers, the planner): they keep their running value. */
static void keep_fixed(kt_portal_config *now, const kt_portal_config *was, char *restart, size_t cap)
{
	if (strcmp(now->portal_url, was->portal_url))
		add_key(restart, cap, "portal_url");
	if (now->setup_token_hours != was->setup_token_hours)
		add_key(restart, cap, "setup_token_hours");
	if (now->email_hold_days != was->email_hold_days)
		add_key(restart, cap, "email_change_hold_days");
	if (strcmp(now->spool_dir, was->spool_dir))
		add_key(restart, cap, "spool_dir");
	if (!now->sms_url[0] != !was->sms_url[0]) { /* the planner plans SMS only with a gateway */
		add_key(restart, cap, "sms_url (a gateway on or off)");
		memcpy(now->sms_url, was->sms_url, sizeof now->sms_url);
	}
	memcpy(now->portal_url, was->portal_url, sizeof now->portal_url);
	now->setup_token_hours = was->setup_token_hours;
	now->email_hold_days = was->email_hold_days;
	memcpy(now->spool_dir, was->spool_dir, sizeof now->spool_dir);
}

/* Names of the mail and SMS keys that differ (never their values: some
 * are credentials). */
static void mail_changes(const kt_portal_config *a, const kt_portal_config *b, char *out, size_t cap)
{
#define DIFF_STR(f, name)                                                                                             \
	if (strcmp(a->f, b->f))                                                                                       \
		add_key(out, cap, name);
	DIFF_STR(smtp_url, "smtp_url")
	DIFF_STR(smtp_from, "smtp_from")
	DIFF_STR(smtp_user, "smtp_user")
	DIFF_STR(smtp_password, "smtp_password")
	DIFF_STR(sms_url, "sms_url")
	DIFF_STR(sms_auth_header, "sms_auth_header")
	DIFF_STR(sms_body, "sms_body")
	DIFF_STR(sms_from, "sms_from")
#undef DIFF_STR
	if (a->mail_retry_s != b->mail_retry_s)
		add_key(out, cap, "mail_retry_seconds");
	if (a->mail_max_attempts != b->mail_max_attempts)
		add_key(out, cap, "mail_max_attempts");
}

static void apply_level(int level)
{
	int was = kt_log_level;
	if (level == was)
		return;
	/* said while it is still seen: before a quieter level, after a louder one */
	if (level < KT_LOG_INFO)
		kt_info("SIGHUP: log level %s (was %s)", level_names[level], level_names[was]);
	kt_log_set_level(level);
	/* the same rule as at the start (listener.c): lws's notices with debug */
	lws_set_log_level(level >= KT_LOG_DEBUG ? LLL_ERR | LLL_WARN | LLL_NOTICE : LLL_ERR, NULL);
	if (level >= KT_LOG_INFO)
		kt_info("SIGHUP: log level %s (was %s)", level_names[level], level_names[was]);
}

static void apply_tls(kt_server *srv, const kt_reload *r, char *restart, size_t cap)
{
	if (!srv->tls_cert) {
		if (r->tls_cert[0])
			add_key(restart, cap, "tls_cert (TLS on)");
		return;
	}
	if (!r->tls_cert[0]) {
		add_key(restart, cap, "tls_cert (TLS off)");
		tls_reload(srv->tls_cert); /* the running files, read again */
		return;
	}
	tls_reload_from(srv->tls_cert, r->tls_cert, r->tls_key);
}

static void apply_mail(kt_server *srv, kt_reload *r, char *restart, size_t cap)
{
	kt_life *L = srv->life;
	char changed[300] = "";
	keep_fixed(&r->portal, &L->live, restart, cap);
	mail_changes(&L->live, &r->portal, changed, sizeof changed);
	if (!changed[0])
		return;
	if (mail_reconfigure(srv->mail, &r->portal)) {
		kt_err_log("SIGHUP: out of memory; the outbox keeps its mail settings");
		return;
	}
	L->live = r->portal;
	kt_info("SIGHUP: new mail settings for the outbox worker (%s), from its next batch on", changed);
}

static void reload(kt_server *srv)
{
	kt_life *L = srv->life;
	char why[600] = "", restart[1400] = "";
	kt_reload *r = NULL;

	/* systemd shows "reloading" until the READY=1 below */
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the configuration",
		   (unsigned long long)mono_usec());
	if (!L->reload) {
		if (srv->tls_cert)
			tls_reload(srv->tls_cert);
		else
			kt_info("SIGHUP: no --config file and TLS is off (no --tls-cert), nothing to reload");
		goto out;
	}
	if (!(r = calloc(1, sizeof *r))) {
		kt_err_log("SIGHUP: out of memory; the running settings stay");
		goto out;
	}
	if (L->reload(r, why, sizeof why)) {
		kt_err_log("SIGHUP: %s; the running settings stay", why);
		goto out;
	}
	snprintf(restart, sizeof restart, "%s", r->restart);
	apply_level(r->log_level);
	apply_tls(srv, r, restart, sizeof restart);
	apply_mail(srv, r, restart, sizeof restart);
	if (restart[0])
		kt_warn("SIGHUP: changed in the file but needs a restart, the running value stays: %s", restart);
	kt_info("SIGHUP: configuration reloaded");
out:
	if (r)
		sodium_memzero(r, sizeof *r); /* smtp_password, sms_auth_header */
	free(r);
	sd_notifyf(0, "READY=1\nSTATUS=serving on %s", L->where);
}

/* ---- SIGTERM / SIGINT ---- */

static void drain_stop(kt_server *srv)
{
	atomic_store(&srv->stop, 1);
	lws_cancel_service(srv->ctx); /* the loop's turn ends and it sees stop */
}

/* A session is closed once nothing it is owed is left: no push with the
 * writer (its answer would be lost), no control frame unwritten (an
 * answer already made). Data it might still be streamed is not waited
 * for: it resumes from its cursor on the next connection. */
static bool owed(const kt_session *s)
{
	return s->pushes_inflight > 0 || s->ctl_head != NULL;
}

static void drain_timer_cb(lws_sorted_usec_list_t *sul);

static void drain_check(kt_server *srv)
{
	kt_life *L = srv->life;
	int waiting = 0;
	for (kt_session *s = srv->sessions; s; s = s->next) {
		if (s->close_now)
			continue; /* its close frame is on its way */
		if (owed(s)) {
			waiting++;
			continue;
		}
		/* session.c writes the close frame in the next writeable callback */
		s->state = KT_SS_CLOSING;
		s->close_status = LWS_CLOSE_STATUS_GOINGAWAY;
		snprintf(s->close_reason, sizeof s->close_reason, "going away");
		s->close_now = true;
		session_want_write(s);
	}
	if (!srv->sessions) {
		kt_info("drain: done in %lld ms", (long long)(kt_mono_us() - L->drain_start_us) / 1000);
		drain_stop(srv);
		return;
	}
	if (kt_mono_us() >= L->drain_end_us) {
		kt_warn("drain: %d connection(s) still open after %d s (%d still owed an answer); closing them "
			"anyway",
			srv->nsessions, drain_timeout_s, waiting);
		drain_stop(srv);
		return;
	}
	lws_sul_schedule(srv->ctx, 0, &L->drain_timer, drain_timer_cb, DRAIN_CHECK_MS * LWS_US_PER_MS);
}

static void drain_timer_cb(lws_sorted_usec_list_t *sul)
{
	kt_life *L = lws_container_of(sul, kt_life, drain_timer);
	kt_server *srv = atomic_load(&g_srv);
	if (srv && srv->life == L)
		drain_check(srv);
}

static void drain_begin(kt_server *srv)
{
	kt_life *L = srv->life;
	if (atomic_exchange(&srv->draining, true))
		return; /* a second SIGTERM: the drain runs already */
	L->drain_start_us = kt_mono_us();
	L->drain_end_us = L->drain_start_us + (int64_t)drain_timeout_s * 1000000;
	sd_notifyf(0, "STOPPING=1\nSTATUS=draining %d connection(s)", srv->nsessions);
	kt_info("drain: stopped accepting; closing %d device connection(s) with 1001 once their pushes are answered "
		"(at most %d s)",
		srv->nsessions, drain_timeout_s);
	L->unlisten = true; /* lifecycle_between_turns */
	drain_check(srv);
}

void lifecycle_on_wake(kt_server *srv, unsigned bits)
{
	if (!srv->life)
		return;
	if ((bits & KT_WAKE_RELOAD) && !atomic_load(&srv->draining))
		reload(srv);
	if (bits & KT_WAKE_DRAIN)
		drain_begin(srv);
}

void lifecycle_between_turns(kt_server *srv, bool may_unlisten)
{
	kt_life *L = srv->life;
	if (!L || !L->unlisten)
		return;
	L->unlisten = false;
	if (!may_unlisten)
		return; /* listener.c refuses new devices at ESTABLISHED instead */
	/* closes the listening socket: new connections are refused by the
	 * kernel while the open ones go on. Not inside a callback: on the
	 * poll() loop lws would free the listener while it walks its
	 * descriptors. (lws 4.1.6 would end the process with SIGINT 30 s
	 * after its last connection closed: the drain ends long before.) */
	lws_context_deprecate(srv->ctx, NULL);
}

void lifecycle_end(kt_server *srv)
{
	kt_life *L = srv->life;
	atomic_store(&g_srv, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (!L)
		return;
	if (srv->ctx)
		lws_sul_cancel(&L->drain_timer);
	sodium_memzero(&L->live, sizeof L->live);
	free(L);
	srv->life = NULL;
}
