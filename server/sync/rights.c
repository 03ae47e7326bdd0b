/* rights.c - every request of a signed-in session is judged with its
 * principal's rights as they are now. A counter in the database (schema
 * 14) moves with every change of anyone's role, active flag, locations or
 * portal access, whichever process makes it; a request whose session read
 * its principal at another value reads it again first. The push writer
 * does the same in its own transaction (push_apply.c). */
#include "server.h"
#include "sync/rights.h"
#include "sync/sync.h"
#include "conn/conn.h"

int session_rights_refresh(kt_session *s, const char *re)
{
	kt_principal np;
	int64_t g;
	int rc;

	if (!s->signed_in)
		return KT_OK;
	g = store_rights_gen(s->srv->st);
	if (g >= 0 && g == s->rights_gen)
		return KT_OK;
	rc = store_principal_load(s->srv->st, s->principal.is_client, s->principal.id, &np);
	if (rc == KT_ENOT_FOUND || (rc == KT_OK && !np.active)) {
		kt_principal_free(&np);
		kt_info("session %llu: the account was deactivated", (unsigned long long)s->id);
		session_error(s, KT_EREVOKED, "the account was deactivated", re, true);
		return KT_EREVOKED;
	}
	if (rc) {
		session_error(s, rc == KT_ENOMEM ? rc : KT_EIO, "could not read your rights; send it again", re, false);
		return rc;
	}
	sync_rights_moved(s, &np);
	s->rights_gen = g;
	return KT_OK;
}
