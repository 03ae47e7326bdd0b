/* rights.h - every request is judged with the principal's current rights. */
#ifndef KT_RIGHTS_H
#define KT_RIGHTS_H

#include "server.h"

/* Before a signed-in session's request: reload its principal when anyone's
 * rights changed since it was read. KT_OK, or the error that was queued
 * (KT_EREVOKED and the session closes: deactivated or gone). */
int session_rights_refresh(kt_session *s, const char *re) KT_MUST_CHECK;

#endif
