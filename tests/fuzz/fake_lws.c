/* fake_lws.c - stand-ins for the libwebsockets calls made on a connection
 * (fake_lws.h). Timers are remembered, not run, until the fuzzer fires them;
 * writes go to a hook and always succeed. */
#include <stdio.h>
#include <string.h>
#include "fake_lws.h"

static char wsi_storage;
struct lws *const fake_wsi = (struct lws *)&wsi_storage;
char fake_peer[64] = "192.0.2.1";
void (*fake_on_write)(const unsigned char *buf, size_t len);
int fake_writable_requests;

#define MAX_TIMERS 16
static struct {
	lws_sorted_usec_list_t *sul;
	sul_cb_t cb;
} timers[MAX_TIMERS];

int lws_write(struct lws *wsi, unsigned char *buf, size_t len, enum lws_write_protocol wp)
{
	(void)wsi, (void)wp;
	if (fake_on_write)
		fake_on_write(buf, len);
	return (int)len;
}

int lws_callback_on_writable(struct lws *wsi)
{
	(void)wsi;
	fake_writable_requests++;
	return 1;
}

void lws_sul_cancel(lws_sorted_usec_list_t *sul)
{
	for (int i = 0; i < MAX_TIMERS; i++)
		if (timers[i].sul == sul)
			timers[i].sul = NULL;
}

void lws_sul_schedule(struct lws_context *ctx, int tsi, lws_sorted_usec_list_t *sul, sul_cb_t cb, lws_usec_t us)
{
	(void)ctx, (void)tsi, (void)us;
	lws_sul_cancel(sul);
	for (int i = 0; i < MAX_TIMERS; i++)
		if (!timers[i].sul) {
			timers[i].sul = sul;
			timers[i].cb = cb;
			return;
		}
	fprintf(stderr, "fake_lws: more than %d timers\n", MAX_TIMERS);
}

void fake_fire_timers(void)
{
	for (int i = 0; i < MAX_TIMERS; i++)
		if (timers[i].sul) {
			lws_sorted_usec_list_t *sul = timers[i].sul;
			timers[i].sul = NULL;
			timers[i].cb(sul);
		}
}

void fake_clear_timers(void)
{
	memset(timers, 0, sizeof timers);
}

const char *lws_get_peer_simple(struct lws *wsi, char *name, size_t namelen)
{
	(void)wsi;
	snprintf(name, namelen, "%s", fake_peer);
	return name;
}

void lws_close_reason(struct lws *wsi, enum lws_close_status status, unsigned char *buf, size_t len)
{
	(void)wsi, (void)status, (void)buf, (void)len;
}

int lws_partial_buffered(struct lws *wsi)
{
	(void)wsi;
	return 0;
}

/* The fake socket always has room: the session writes up to its frames per
 * callback (without this the real lws would read the fake wsi). */
int lws_send_pipe_choked(struct lws *wsi)
{
	(void)wsi;
	return 0;
}

int fake_killed;

void lws_set_timeout(struct lws *wsi, enum pending_timeout reason, int secs)
{
	(void)wsi, (void)reason;
	if (secs == LWS_TO_KILL_SYNC)
		fake_killed = 1; /* lws would start the close handshake now */
}

int lws_rx_flow_control(struct lws *wsi, int enable)
{
	(void)wsi, (void)enable;
	return 0;
}

void lws_cancel_service(struct lws_context *context)
{
	(void)context;
}
