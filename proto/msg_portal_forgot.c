/* msg_portal_forgot.c - portal_forgot {t, email}. */
#include "proto_internal.h"

void proto_portal_forgot_encode(kt_mpw *w, const kt_portal_forgot *m)
{
	kt_mpw_map(w, 2);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "portal_forgot");
	kt_mpw_str(w, "email");
	kt_mpw_strn(w, m->email.s, m->email.len);
}

int proto_portal_forgot_decode(const void *buf, size_t len, kt_portal_forgot *m)
{
	const proto_strfield f[] = {{"email", &m->email, KT_MAX_EMAIL}};
	return proto_decode_strings(buf, len, f, 1);
}
