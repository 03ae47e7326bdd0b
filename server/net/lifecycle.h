/* lifecycle.h - the server process under a service manager: readiness
 * told to systemd (sd_notify), SIGHUP reloading the config file without
 * dropping a connection, and SIGTERM/SIGINT draining (stop accepting,
 * finish the pushes in flight, close every device with 1001, stop within
 * drain_timeout_s). Everything here runs on the loop thread, except the
 * signal handlers, which only post a wake bit. */
#ifndef KT_LIFECYCLE_H
#define KT_LIFECYCLE_H

#include "server.h"

#define KT_DRAIN_TIMEOUT_S_DEFAULT 10

/* What a SIGHUP found in the config file, as cli/main.c read it again
 * (kt_serve_opts.reload). Nothing in it is applied yet. */
struct kt_reload {
	int log_level;               /* KT_LOG_*: the file's, else what the command line said */
	char tls_cert[4096];         /* the files TLS would use now; "" when none */
	char tls_key[4096];
	kt_portal_config portal;     /* defaults, then the file, finished for the database */
	char restart[1024];          /* keys of other modules that changed: "listen, ping_idle_s" */
};

/* config key drain_timeout_s (1 to 300): 0 set, 1 not ours, -1 bad (*why). */
int lifecycle_config_set(const char *k, const char *v, const char **why);
int lifecycle_drain_timeout_s(void);

/* At the start of server_run: SIGHUP must not end the process (its
 * default) while the database opens; one that comes then is acted on
 * once ready. */
void lifecycle_early(void);
/* Once the database is open, the port bound and the workers started:
 * the signal handlers, and READY=1 to systemd. KT_ENOMEM. */
int lifecycle_ready(kt_server *srv, const kt_serve_opts *o, const char *host) KT_MUST_CHECK;
/* The loop took these wake bits (KT_WAKE_RELOAD, KT_WAKE_DRAIN). */
void lifecycle_on_wake(kt_server *srv, unsigned bits);
/* server_run's loop, after each turn (outside every callback). may_unlisten:
 * the listening socket can be closed (the libuv loop); else a drain only
 * refuses new devices at their upgrade. */
void lifecycle_between_turns(kt_server *srv, bool may_unlisten);
/* After the loop: timers cancelled, signals back to their defaults,
 * the state freed. Accepts a server that never became ready. */
void lifecycle_end(kt_server *srv);

#endif
