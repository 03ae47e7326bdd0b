/* export_worker.h - privacy exports off the event loop. */
#ifndef KT_EXPORT_WORKER_H
#define KT_EXPORT_WORKER_H

#include "server.h"

int export_worker_start(kt_server *srv);
void export_worker_stop(kt_server *srv);
/* Queue an export of client for session s (its principal and device are
 * the audit actor). KT_EBUSY when the queue is full, KT_EINTERNAL when the
 * worker is not running (the caller then exports inline). */
int export_worker_submit(kt_server *srv, const kt_session *s, const char *client);
void export_worker_deliver(kt_server *srv); /* loop thread: send finished exports */

/* ---- export_send.c ---- */
/* An export built on the export thread is back (loop thread): send it, or
 * the error for rc. doc is borrowed. */
void privacy_export_done(kt_session *s, const char *client, int rc, const char *doc);
/* The next part of the session's export into srv->frame: true when there
 * is one to write; the document is freed after its last part. */
bool privacy_export_next(kt_session *s);

#endif
