/* after_commit.h - what the loop does once commits are visible (its own,
 * the writer's or another process's), always in this order: first the
 * connections a revocation ends are closed, then the sessions the new
 * changes concern are woken. A revoked device is never sent one more
 * change. Loop thread only. */
#ifndef KT_AFTER_COMMIT_H
#define KT_AFTER_COMMIT_H

#include "server.h"

/* Revocations, then fan-out (fanout_ingest). */
void after_commit(kt_server *srv);
/* Only the revocation step: close the connections that revocations
 * written since the last call concern (a handler that has just written
 * one; its change-log entries reach the fan-out with the next wake-up). */
void revoke_poll(kt_server *srv);

#endif
