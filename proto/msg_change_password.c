/* msg_change_password.c - change_password {t, old, new}. */
#include "proto_internal.h"

void proto_change_password_encode(kt_mpw *w, const kt_change_password *m)
{
	kt_mpw_map(w, 3);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "change_password");
	kt_mpw_str(w, "old");
	kt_mpw_strn(w, m->old_pw.s, m->old_pw.len);
	kt_mpw_str(w, "new");
	kt_mpw_strn(w, m->new_pw.s, m->new_pw.len);
}

int proto_change_password_decode(const void *buf, size_t len, kt_change_password *m)
{
	const proto_strfield f[] = {{"old", &m->old_pw, KT_MAX_PASSWORD}, {"new", &m->new_pw, KT_MAX_PASSWORD}};
	return proto_decode_strings(buf, len, f, 2);
}
