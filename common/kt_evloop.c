/* kt_evloop.c - libwebsockets on a libuv (epoll) loop that we turn; see
 * kt_evloop.h for why. */
#include <stdlib.h>
#include <uv.h>
#include "kt_evloop.h"

struct kt_evloop {
	uv_loop_t uv;
	void *foreign[1];
};

kt_evloop *kt_evloop_new(struct lws_context_creation_info *info)
{
	kt_evloop *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	if (uv_loop_init(&l->uv)) {
		free(l);
		return NULL;
	}
	l->foreign[0] = &l->uv;
	info->options |= LWS_SERVER_OPTION_LIBUV;
	info->foreign_loops = l->foreign;
	return l;
}

int kt_evloop_service(kt_evloop *l, struct lws_context *ctx)
{
	(void)ctx;
	/* UV_RUN_ONCE blocks until something is ready; lws keeps a timer
	 * handle armed for its next sul timer, and writes its event pipe on
	 * lws_cancel_service(), so neither timers nor wake-ups are missed */
	uv_run(&l->uv, UV_RUN_ONCE);
	return 0;
}

void kt_evloop_destroy(kt_evloop *l, struct lws_context *ctx)
{
	if (!l) {
		if (ctx)
			lws_context_destroy(ctx);
		return;
	}
	/* On an event library, lws 4.1.6 destroys a context in steps
	 * (lib/core/context.c): the first call starts closing every connection
	 * and lws's own loop handles, whose close callbacks run in the loop
	 * (they still use the context); the second frees the rest. Bounded,
	 * so a handle left open cannot hang the shutdown. */
	if (ctx) {
		lws_context_destroy(ctx);
		for (int i = 0; i < 1000 && uv_run(&l->uv, UV_RUN_NOWAIT); i++)
			;
		lws_context_destroy(ctx);
	}
	for (int i = 0; i < 1000 && uv_run(&l->uv, UV_RUN_NOWAIT); i++)
		;
	if (uv_loop_close(&l->uv))
		return; /* something is still open: leak the loop rather than free it under a handle */
	free(l);
}

bool kt_evloop_is_libuv(const kt_evloop *l)
{
	return l != NULL;
}

const char *kt_evloop_name(const kt_evloop *l)
{
	return l ? "epoll (libuv)" : "poll";
}
