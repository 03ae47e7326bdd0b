/* msg_resume.c - resume {t, token}. */
#include "proto_internal.h"

void proto_resume_encode(kt_mpw *w, const kt_resume *m)
{
	kt_mpw_map(w, 2);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "resume");
	kt_mpw_str(w, "token");
	kt_mpw_strn(w, m->token.s, m->token.len);
}

int proto_resume_decode(const void *buf, size_t len, kt_resume *m)
{
	const proto_strfield f[] = {{"token", &m->token, KT_MAX_TOKEN}};
	return proto_decode_strings(buf, len, f, 1);
}
