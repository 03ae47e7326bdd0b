/* tarpit.c - a login refused without checking the password (the
 * account or address is locked out: throttled; the sign-in queue is full:
 * busy) is answered late. Such a refusal costs nothing, so without a delay a
 * guessing loop gets an answer in well under a millisecond and keeps the
 * event loop busy with thousands of guesses a second, slowing everyone's
 * sign-in. The answer waits KT_THROTTLE_REPLY_MS (the session is pending in
 * the meantime, as while a password is checked), and a throttled login
 * counts towards the failures per connection, so a guessing connection makes
 * at most one attempt a second and is closed after
 * KT_MAX_AUTH_FAILS_PER_CONN of them. */
#include "kt_metrics.h"
#include "server.h"
#include "conn/conn.h"

static void tarpit_cb(lws_sorted_usec_list_t *sul)
{
	kt_session *s = lws_container_of(sul, kt_session, tarpit);
	if (s->state != KT_SS_AUTH_PENDING)
		return; /* the sign-in deadline closed it meanwhile */
	s->state = KT_SS_AUTH;
	kt_metric_signin(s->tarpit_code);
	if (s->tarpit_code == KT_ETHROTTLED)
		s->auth_fails++;
	session_error(s, s->tarpit_code, NULL, "login", s->auth_fails >= KT_MAX_AUTH_FAILS_PER_CONN);
}

void login_tarpit(kt_session *s, int code)
{
	s->state = KT_SS_AUTH_PENDING;
	s->tarpit_code = code;
	lws_sul_schedule(s->srv->ctx, 0, &s->tarpit, tarpit_cb, (lws_usec_t)KT_THROTTLE_REPLY_MS * 1000);
}
