/* writer.h - pushes and acks are written on one thread, with group commit. */
#ifndef KT_WRITER_H
#define KT_WRITER_H

#include "server.h"

int writer_start(kt_server *srv);
void writer_stop(kt_server *srv);
void writer_submit(kt_session *s, kt_push_job *j); /* takes j */
void writer_note_ack(kt_server *srv, const char *device, int64_t seq);
void writer_deliver(kt_server *srv); /* loop thread: answer finished pushes */

#endif
