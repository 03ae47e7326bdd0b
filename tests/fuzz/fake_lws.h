/* fake_lws.h - the few libwebsockets calls the session and client code make
 * around a connection, defined by the fuzz executables themselves (a
 * definition in the executable takes precedence over libwebsockets.so), so
 * that a connection can be driven in-process without sockets. It must stay
 * a stand-in only: nothing here decides what the code under test does. */
#ifndef KT_FAKE_LWS_H
#define KT_FAKE_LWS_H

#include <stddef.h>
#include <libwebsockets.h>

/* The wsi every fake connection uses: never dereferenced by the fakes. */
extern struct lws *const fake_wsi;
/* The address lws_get_peer_simple reports (a fuzzer may vary it). */
extern char fake_peer[64];
/* Called for every lws_write (may be NULL); buf/len are the payload. */
extern void (*fake_on_write)(const unsigned char *buf, size_t len);
/* lws_callback_on_writable calls since the last reset. */
extern int fake_writable_requests;
/* Set when the code under test closed the connection with
 * lws_set_timeout(..., LWS_TO_KILL_SYNC) (a close frame follows in lws). */
extern int fake_killed;

/* Run every timer still scheduled (as if its time came), then forget it. */
void fake_fire_timers(void);
/* Forget every timer without running it. */
void fake_clear_timers(void);

#endif
