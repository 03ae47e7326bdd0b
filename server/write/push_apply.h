/* push_apply.h - the writer thread's one way into a push: apply the next
 * piece of a job inside the writer's open transaction. The loop side
 * (handle_push.c) makes the job and answers it; this side never touches
 * a session. */
#ifndef KT_PUSH_APPLY_H
#define KT_PUSH_APPLY_H

#include "write/push.h"

/* Apply up to max more mutations of j (then its events, after the last),
 * appending their answers to j->body. KT_OK, or a database failure after
 * which the transaction must be rolled back. j->rc gets KT_EREVOKED when
 * the pusher's account is gone or deactivated (nothing is applied). */
int push_apply_step(kt_store *st, kt_push_job *j, uint32_t max) KT_MUST_CHECK;

#endif
