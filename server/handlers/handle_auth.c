/* handle_auth.c - login (e-mail + password, checked on a worker thread) and
 * resume (session token). Wrong credentials of any kind give one error. */
#include <string.h>
#include <sodium.h>
#include "kt_metrics.h"
#include "server.h"
#include "sync/rights.h"
#include "handlers/auth_workers.h"
#include "handlers/handlers.h"
#include "conn/conn.h"

int handle_login(kt_session *s, const unsigned char *buf, size_t len)
{
	kt_login m;
	char email[KT_MAX_EMAIL + 1];
	int rc = proto_login_decode(buf, len, &m);

	if (rc) {
		session_error(s, rc, "login needs email and password strings", "login", rc == KT_ETOO_LARGE);
		return 0;
	}
	memcpy(email, m.email.s, m.email.len);
	email[m.email.len] = 0;
	rc = auth_submit_login(s->srv, s, email, m.email.len, m.password.s, m.password.len);
	if (rc == KT_ETHROTTLED || rc == KT_EBUSY) {
		login_tarpit(s, rc);
		return 0;
	}
	if (rc) {
		kt_metric_signin(rc);
		session_error(s, rc, NULL, "login", false);
		return 0;
	}
	s->state = KT_SS_AUTH_PENDING;
	return 0;
}

int handle_resume(kt_session *s, const unsigned char *buf, size_t len)
{
	kt_resume m;
	char principal[KT_UUID_LEN + 1], token[KT_MAX_TOKEN + 1];
	bool is_client = false;
	int64_t expires = 0;
	int rc = proto_resume_decode(buf, len, &m);

	if (rc) {
		session_error(s, rc, "resume needs a token string", "resume", rc == KT_ETOO_LARGE);
		return 0;
	}
	rc = auth_resume(s->srv, s, m.token.s, m.token.len, &is_client, principal, &expires);
	if (rc)
		kt_metric_signin(rc);
	if (rc == KT_EREVOKED) {
		session_error(s, rc, "this session was ended (signed out, or the account deactivated)", "resume", true);
		return 0;
	}
	if (rc) {
		if (rc == KT_EAUTH_FAILED)
			s->auth_fails++;
		session_error(s, rc, rc == KT_EDEVICE_TAKEN ? KT_DEVICE_TAKEN_MSG : NULL, "resume", rc == KT_EAUTH_FAILED && s->auth_fails >= KT_MAX_AUTH_FAILS_PER_CONN);
		return 0;
	}
	memcpy(token, m.token.s, m.token.len);
	token[m.token.len] = 0;
	session_signed_in(s, is_client, principal, token, expires);
	sodium_memzero(token, sizeof token);
	return 0;
}
