/* msg_link.c - link {t, op, token, granted?, stars?, text?, score?,
 * public_ok?} (device -> server, before sign-in) and link_result {t, op,
 * kind, ...} (server -> device). A wrong key is named in m->bad so that the
 * answer can say which field was at fault. */
#include <string.h>
#include "proto_internal.h"

void proto_link_encode(kt_mpw *w, const kt_link_msg *m)
{
	kt_mpw_map(w, 3 + m->has_granted + m->has_stars + m->has_score + m->has_public_ok + (m->text.s ? 1 : 0));
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "link");
	kt_mpw_str(w, "op");
	kt_mpw_strn(w, m->op.s, m->op.len);
	kt_mpw_str(w, "token");
	kt_mpw_strn(w, m->token.s, m->token.len);
	if (m->has_granted) {
		kt_mpw_str(w, "granted");
		kt_mpw_bool(w, m->granted);
	}
	if (m->has_stars) {
		kt_mpw_str(w, "stars");
		kt_mpw_int(w, m->stars);
	}
	if (m->has_score) {
		kt_mpw_str(w, "score");
		kt_mpw_int(w, m->score);
	}
	if (m->has_public_ok) {
		kt_mpw_str(w, "public_ok");
		kt_mpw_bool(w, m->public_ok);
	}
	if (m->text.s) {
		kt_mpw_str(w, "text");
		kt_mpw_strn(w, m->text.s, m->text.len);
	}
}

struct ctx {
	kt_link_msg *m;
	uint32_t seen;
};

/* Read one value of key i: on failure name the key. */
static int fail(struct ctx *c, const char *key, int rc)
{
	c->m->bad = key;
	return rc;
}

static int key(void *user, const char *k, size_t kl, kt_mp *r)
{
	static const char *const keys[] = {"op", "token", "granted", "stars", "score", "public_ok", "text"};
	struct ctx *c = user;
	kt_link_msg *m = c->m;
	int i = -1, rc;
	for (int j = 0; j < (int)(sizeof keys / sizeof keys[0]); j++)
		if (kt_mp_str_eq(k, kl, keys[j]))
			i = j;
	if (i < 0)
		return KT_ENOT_FOUND;
	if (proto_seen(&c->seen, i))
		return fail(c, keys[i], KT_EMALFORMED);
	switch (i) {
	case 0:
		rc = proto_read_str(r, &m->op, 16);
		break;
	case 1:
		rc = proto_read_str(r, &m->token, 64);
		break;
	case 2:
		rc = kt_mp_read_bool(r, &m->granted);
		m->has_granted = !rc;
		break;
	case 3:
		rc = kt_mp_read_int(r, &m->stars);
		m->has_stars = !rc;
		break;
	case 4:
		rc = kt_mp_read_int(r, &m->score);
		m->has_score = !rc;
		break;
	case 5:
		rc = kt_mp_read_bool(r, &m->public_ok);
		m->has_public_ok = !rc;
		break;
	default:
		rc = proto_read_str(r, &m->text, KT_LINK_MAX_TEXT);
		break;
	}
	return rc ? fail(c, keys[i], rc == KT_ETOO_LARGE ? rc : KT_EMALFORMED) : KT_OK;
}

int proto_link_decode(const void *buf, size_t len, kt_link_msg *m)
{
	struct ctx c = {m, 0};
	int rc;
	memset(m, 0, sizeof *m);
	m->bad = "";
	if ((rc = proto_walk(buf, len, key, &c)))
		return rc;
	if (!(c.seen & 1))
		return fail(&c, "op", KT_EMALFORMED);
	if (!(c.seen & 2))
		return fail(&c, "token", KT_EMALFORMED);
	return KT_OK;
}

void proto_link_result_encode(kt_mpw *w, const char *op, const char *kind, uint32_t npairs, const void *body,
			      size_t len)
{
	kt_mpw_map(w, 3 + npairs);
	kt_mpw_str(w, "t");
	kt_mpw_str(w, "link_result");
	kt_mpw_str(w, "op");
	kt_mpw_str(w, op);
	kt_mpw_str(w, "kind");
	kt_mpw_str(w, kind);
	if (len)
		kt_mpw_raw(w, body, len);
}
