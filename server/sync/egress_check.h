/* egress_check.h - test builds only (cmake -DKT_EGRESS_CHECK=ON, which
 * `make build-san` sets): every frame on its way to a device is decoded and
 * each row value it carries is judged again, by SQL written from the policy
 * as the README ("Access policy") states it, not by policy.c. A value the
 * principal may not see logs one line (session, table, id, field, why) and
 * aborts the server. The production build has none of this. What exactly is
 * checked, and why a correct server never trips it: docs/security.md ("What leaves toward a device"). */
#ifndef KT_EGRESS_CHECK_H
#define KT_EGRESS_CHECK_H

#ifdef KT_EGRESS_CHECK
#include "server.h"

/* A frame (without its LWS_PRE headroom) about to be written to s. Runs on
 * the loop thread inside the read transaction the frame was packed in. */
void egress_check_frame(kt_session *s, const unsigned char *frame, size_t len);

/* One push result map just packed for mutation m of principal p, on the
 * writer thread, in the transaction that decided it. */
void egress_check_answer(kt_store *st, uint64_t session_id, const kt_principal *p, const kt_mut *m,
			 const uint8_t *result, size_t len);

/* Test hook (KT_EGRESS_TEST_LEAK in the environment, read by egress.c):
 * "field" packs client.email for every role, "row" skips the row check of
 * streamed rows, so tests can show that the check catches what it must. */
int egress_test_leak(void);
#endif

#endif
