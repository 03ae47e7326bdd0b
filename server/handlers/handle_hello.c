/* handle_hello.c - the first message: protocol version and device id. */
#include <string.h>
#include "domain/revoke.h"
#include "server.h"
#include "handlers/handlers.h"
#include "conn/conn.h"

int handle_hello(kt_session *s, const unsigned char *buf, size_t len)
{
	kt_server *srv = s->srv;
	kt_hello h;
	kt_welcome w = {0};
	int rc = proto_hello_decode(buf, len, &h);

	if (rc) {
		session_error(s, rc, "hello needs v (array of versions), device (UUID) and app", "hello", true);
		return 0;
	}
	if (!(h.versions & (1u << KT_PROTO_VERSION))) {
		session_error(s, KT_EPROTO_VERSION, "this server speaks protocol version 1", "hello", true);
		return 0;
	}
	memcpy(s->device, h.device.s, KT_UUID_LEN);
	s->device[KT_UUID_LEN] = 0;
	if (revoke_device_is_revoked(srv->st, s->device)) {
		kt_info("session %llu: a revoked device tried to connect", (unsigned long long)s->id);
		session_error(s, KT_EDEVICE_REVOKED, "this device's access was revoked: wipe its data", "hello", true);
		return 0;
	}
	memcpy(s->app, h.app.s, h.app.len);
	s->app[h.app.len] = 0;
	s->state = KT_SS_AUTH;

	w.v = KT_PROTO_VERSION;
	w.server_time = kt_now_ms();
	w.frame_preauth = KT_MAX_FRAME_PREAUTH;
	w.frame = KT_MAX_FRAME;
	w.depth = KT_MAX_DEPTH;
	w.str = KT_MAX_STR;
	w.page_rows = KT_PAGE_ROWS;
	w.batch_ops = KT_BATCH_OPS;
	w.auth_deadline_ms = KT_AUTH_DEADLINE_MS;
	frame_begin(srv);
	proto_welcome_encode(&srv->frame, &w);
	if (session_queue_frame(s, false))
		return -1;
	return 0;
}
