/* msg_portal_confirm_email.c - portal_confirm_email {t, token, password}. */
#include "proto_internal.h"

void proto_portal_confirm_email_encode(kt_mpw *w, const kt_portal_confirm_email *m)
{
	kt_mpw_map(w, 3);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "portal_confirm_email");
	kt_mpw_str(w, "token");
	kt_mpw_strn(w, m->token.s, m->token.len);
	kt_mpw_str(w, "password");
	kt_mpw_strn(w, m->password.s, m->password.len);
}

int proto_portal_confirm_email_decode(const void *buf, size_t len, kt_portal_confirm_email *m)
{
	const proto_strfield f[] = {{"token", &m->token, KT_MAX_TOKEN}, {"password", &m->password, KT_MAX_PASSWORD}};
	return proto_decode_strings(buf, len, f, 2);
}
