/* kt_evloop.h - the event loop under a libwebsockets context.
 *
 * libwebsockets' default loop is poll(): every turn hands every descriptor
 * to the kernel, which with thousands of connections costs more than the
 * work itself (docs/benchmarks.md, "Load and soak").
 * Debian builds libwebsockets 4.1.6 without LWS_WITH_EXTERNAL_POLL (so the
 * ADD/DEL/CHANGE_MODE_POLL_FD callbacks are never made) but with its libuv
 * event-lib plugin, and libuv waits with epoll. So we create a libuv loop,
 * give it to the context as a foreign loop (lws then installs no signal
 * handlers of its own), and turn it one batch of events at a time, so the
 * caller can look at its stop flag between turns. lws_cancel_service()
 * still works: lws watches its event pipe in the same loop.
 *
 * There is no fallback to lws's poll() loop: the server closes a session
 * inside its own writeable callback (session.c close_with_frame), which
 * lws 4.1.6's poll() loop does not survive when input is buffered. */
#ifndef KT_EVLOOP_H
#define KT_EVLOOP_H

#include <stdbool.h>
#include <libwebsockets.h>

typedef struct kt_evloop kt_evloop;

/* Before lws_create_context(): sets info's event-loop option and foreign
 * loop. NULL when out of memory (info is then left as it was). */
kt_evloop *kt_evloop_new(struct lws_context_creation_info *info);

/* Wait for and handle one batch of events (at least one: a timer, the
 * cancel pipe or a socket). Below 0: the loop failed. */
int kt_evloop_service(kt_evloop *l, struct lws_context *ctx);

/* lws_context_destroy(ctx) (ctx may be NULL), let the loop close lws's
 * handles, then free the loop. */
void kt_evloop_destroy(kt_evloop *l, struct lws_context *ctx);

/* "epoll (libuv)" or "poll", for logs and benchmark output */
const char *kt_evloop_name(const kt_evloop *l);
/* On libuv lws closes a socket asynchronously, after the callback that
 * asked: only then may the listener be closed while serving (lws 4.1.6's
 * lws_context_deprecate reads the listener after freeing it on poll()). */
bool kt_evloop_is_libuv(const kt_evloop *l);

#endif
