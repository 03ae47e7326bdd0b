/* msg_login.c - login {t, email, password}. */
#include "proto_internal.h"

void proto_login_encode(kt_mpw *w, const kt_login *m)
{
	kt_mpw_map(w, 3);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "login");
	kt_mpw_str(w, "email");
	kt_mpw_strn(w, m->email.s, m->email.len);
	kt_mpw_str(w, "password");
	kt_mpw_strn(w, m->password.s, m->password.len);
}

int proto_login_decode(const void *buf, size_t len, kt_login *m)
{
	const proto_strfield f[] = {{"email", &m->email, KT_MAX_EMAIL}, {"password", &m->password, KT_MAX_PASSWORD}};
	return proto_decode_strings(buf, len, f, 2);
}
