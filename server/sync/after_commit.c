/* after_commit.c - the loop's steps after a commit, in order: revocations
 * close the connections they concern, then the fan-out wakes the sessions
 * the new changes concern (fanout.c). Nothing here decides visibility. */
#include <string.h>
#include "sync/after_commit.h"
#include "domain/revoke.h"
#include "sync/fanout.h"
#include "conn/conn.h"

void after_commit(kt_server *srv)
{
	revoke_poll(srv); /* access taken away ends connections before anything more is sent */
	fanout_ingest(srv);
}

void revoke_poll(kt_server *srv)
{
	kt_revocation r[64];
	int n;
	do {
		if (revoke_read(srv->st, srv->revoke_seq, r, 64, &n))
			return;
		for (int i = 0; i < n; i++) {
			srv->revoke_seq = r[i].seq;
			for (kt_session *s = srv->sessions; s; s = s->next) {
				if (s->state == KT_SS_CLOSING)
					continue;
				if (r[i].kind == KT_REVOKE_DEVICE && !strcmp(s->device, r[i].target))
					session_error(s, KT_EDEVICE_REVOKED, "this device's access was revoked: wipe its data",
						      NULL, true);
				else if (r[i].kind == KT_REVOKE_SESSION && s->signed_in && !strcmp(s->device, r[i].target))
					session_error(s, KT_EREVOKED, "signed out by the salon", NULL, true);
				else if (r[i].kind == KT_REVOKE_PRINCIPAL && s->signed_in &&
					 !strcmp(s->principal.id, r[i].target))
					session_error(s, KT_EREVOKED, "the account was deactivated", NULL, true);
			}
		}
	} while (n == 64);
}
