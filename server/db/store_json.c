/* store_json.c - the audit entry's before/after images: the given columns of
 * a row as a compact JSON object, written straight into a buffer (two per
 * pushed edit), byte for byte what jansson's dump of the same object gives
 * (the hash chain covers these bytes; test_store compares the two). Never
 * includes ids, versions, managed columns or password hashes. */
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "db/store_internal.h"
#include "kt_mp.h"

/* Columns the store sets itself, never a writer. */
bool st_managed_column(const kt_table *t, const char *name)
{
	bool managed = false;
	switch (name[0]) { /* by the first letter: asked for every field of every pushed edit */
	case 'i': managed = !strcmp(name, "id"); break;
	case 'o': managed = !strcmp(name, "org_id"); break;
	case 'v': managed = !strcmp(name, "version"); break;
	case 'u': managed = !strcmp(name, "updated_at"); break;
	case 'e': managed = !strcmp(name, "email_hash"); break;
	case 'f': managed = !strcmp(name, "field_versions"); break;
	default: break;
	}
	return managed || kt_col_server_set(t, name);
}

/* The reference: the object built through jansson and dumped compact. */
char *st_vals_json_jansson(const kt_table *t, const int *idx, int n, const kt_val *v, bool by_col)
{
	json_t *o = json_object();
	char *out;
	if (!o)
		return NULL;
	for (int i = 0; i < (idx ? n : t->ncols); i++) {
		int ci = idx ? idx[i] : i;
		const kt_col *c = &t->cols[ci];
		const kt_val *x = &v[by_col ? ci : i];
		json_t *j;
		if (st_managed_column(t, c->name) || !strcmp(c->name, "password_hash"))
			continue;
		if (x->null)
			j = json_null();
		else if (c->type == KT_COL_INT || c->type == KT_COL_BOOL)
			j = json_integer(x->i);
		else
			j = json_stringn(x->s, x->len);
		json_object_set_new(o, c->name, j ? j : json_null());
	}
	/* most edits are a few short fields: written into a stack buffer first,
	 * which spares json_dumps' growing buffer and its copy */
	char buf[512];
	size_t need = json_dumpb(o, buf, sizeof buf, JSON_COMPACT);
	if (need && need < sizeof buf) {
		if ((out = malloc(need + 1))) {
			memcpy(out, buf, need);
			out[need] = '\0';
		}
	} else
		out = need ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return out;
}

/* A growing text for the audit images. */
typedef struct jbuf {
	char *p;
	size_t len, cap;
	bool oom;
	char stack[512];
} jbuf;

static void jb_add(jbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *q = b->p == b->stack ? malloc(cap) : realloc(b->p, cap);
		if (!q) {
			b->oom = true;
			return;
		}
		if (b->p == b->stack)
			memcpy(q, b->stack, b->len);
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* Text jansson would take (json_stringn): UTF-8 without overlong forms,
 * surrogates or values past U+10FFFF; NULs are allowed (escaped). */
static bool json_text_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		const char *nul = memchr(s + i, 0, n - i);
		size_t seg = nul ? (size_t)(nul - (s + i)) : n - i;
		if (!kt_utf8_valid((const uint8_t *)s + i, seg))
			return false;
		i += seg + (nul != NULL);
	}
	return true;
}

/* A JSON string as jansson's compact dump writes it: \" \\ \b \f \n \r
 * \t, other control characters as \u00XX, everything else as it is. */
static void jb_string(jbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t run = 0;
	jb_add(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6];
		size_t el = 2;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		jb_add(b, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			el = 6;
		}
		jb_add(b, esc, el);
	}
	jb_add(b, s + run, n - run);
	jb_add(b, "\"", 1);
}

/* The given columns as a JSON object for the audit log (owned by the
 * caller): the bytes jansson's json_dumps(JSON_COMPACT) gives for the
 * object built key by key (test_store_json checks it), written directly:
 * it is two of these per pushed edit. by_col: v is a whole row
 * (v[idx[i]]), else v[i] goes with idx[i]. idx NULL: every column a
 * person could care about. Never includes ids, versions or secrets. */
char *st_vals_json(const kt_table *t, const int *idx, int n, const kt_val *v, bool by_col)
{
	jbuf b = {.len = 0, .cap = sizeof b.stack, .oom = false};
	b.p = b.stack;
	int nout = 0;
	jb_add(&b, "{", 1);
	for (int i = 0; i < (idx ? n : t->ncols); i++) {
		int ci = idx ? idx[i] : i;
		const kt_col *c = &t->cols[ci];
		const kt_val *x = &v[by_col ? ci : i];
		if (st_managed_column(t, c->name) || !strcmp(c->name, "password_hash"))
			continue;
		/* a later column of the same name replaces the earlier (json_object_set) */
		bool dup = false;
		for (int k = 0; k < i && !dup; k++)
			dup = (idx ? idx[k] : k) == ci;
		if (dup)
			goto slow;
		if (nout++)
			jb_add(&b, ",", 1);
		jb_string(&b, c->name, strlen(c->name));
		jb_add(&b, ":", 1);
		if (x->null) {
			jb_add(&b, "null", 4);
		} else if (c->type == KT_COL_INT || c->type == KT_COL_BOOL) {
			char num[KT_I64_TEXT];
			jb_add(&b, num, kt_i64_text(num, x->i));
		} else if (!x->s || !json_text_ok(x->s, x->len)) {
			jb_add(&b, "null", 4); /* jansson refuses the string: null, as before */
		} else
			jb_string(&b, x->s, x->len);
	}
	jb_add(&b, "}", 1);
	if (b.oom)
		goto fail;
	if (b.p == b.stack) {
		char *out = malloc(b.len + 1);
		if (out) {
			memcpy(out, b.p, b.len);
			out[b.len] = 0;
		}
		return out;
	}
	b.p[b.len] = 0;
	return b.p;
slow:
	if (b.p != b.stack)
		free(b.p);
	return st_vals_json_jansson(t, idx, n, v, by_col);
fail:
	if (b.p != b.stack)
		free(b.p);
	return NULL;
}
