/* import.c - the rules of import.h: reading a client list exported by other
 * salon software, and creating its cards in one transaction. Every write goes
 * through the store (cards, links), consent.c (consents) and audit.c; nothing
 * is written for a file or a row that was not understood. */
#include <ctype.h>
#include <csv.h>
#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <jansson.h>
#include "db/audit.h"
#include "db/keyring.h"
#include "db/validate.h"
#include "domain/consent.h"
#include "domain/import.h"
#include "domain/phone.h"
#include "kt_util.h"

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
	return KT_EINVALID;
}

/* ---- values ---- */

static char *trim(char *s)
{
	char *e;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = 0;
	return s;
}

/* Up to 4 digits at *p (after spaces); -1 when none. */
static int number(const char **p, int *ndigits)
{
	int v = 0;
	*ndigits = 0;
	while (**p == ' ')
		(*p)++;
	while (**p >= '0' && **p <= '9' && *ndigits < 5) {
		v = v * 10 + (**p - '0');
		(*p)++;
		(*ndigits)++;
	}
	return *ndigits ? v : -1;
}

int import_birthday(const char *text, int date_format, char out[11], char *why, size_t cap)
{
	const char *p = text;
	int a, b, c, na, nb, nc, y, m, d;
	char sep;
	a = number(&p, &na);
	while (*p == ' ')
		p++;
	sep = *p;
	if (a < 0 || (sep != '.' && sep != '-' && sep != '/'))
		goto bad;
	p++;
	b = number(&p, &nb);
	while (*p == ' ')
		p++;
	if (b < 0 || *p != sep)
		goto bad;
	p++;
	c = number(&p, &nc);
	while (*p == ' ' || (sep == '.' && *p == '.'))
		p++;
	if (c < 0 || *p)
		goto bad;
	if (sep == '-' && na == 4)
		y = a, m = b, d = c;
	else if (sep == '.' && nc == 4)
		d = a, m = b, y = c;
	else if (sep == '/' && nc == 4) {
		if (date_format == IMPORT_DATE_AUTO)
			return fail(why, cap,
				    "birthday '%.40s' could be day/month or month/day: give --date-format DMY or MDY",
				    text);
		if (date_format == IMPORT_DATE_DMY)
			d = a, m = b;
		else
			m = a, d = b;
		y = c;
	} else
		goto bad;
	if (y < 1000 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
		goto bad;
	snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
	if (validate_field(kt_table_find("client", 6), "birthday", out, NULL, 0))
		return fail(why, cap, "birthday '%.40s' is not a real day from 1900 until today", text);
	return KT_OK;
bad:
	return fail(why, cap, "birthday '%.40s' is not a date: write D.M.YYYY or YYYY-MM-DD", text);
}

/* ---- reading the CSV ---- */

typedef struct reader {
	const import_opts *o;
	import_plan *p;
	char **cells; /* the current record */
	int ncells;
	bool too_many; /* the record has more cells than IMPORT_MAX_COLS */
	int line;      /* physical lines fed so far */
	int rec_line;  /* where the current record started */
	int err;       /* KT_* once something failed */
	char *errmsg;
	size_t errcap;
} reader;

static void free_cells(reader *r)
{
	for (int i = 0; i < r->ncells; i++)
		free(r->cells[i]);
	r->ncells = 0;
	r->too_many = false;
}

static void on_field(void *s, size_t len, void *data)
{
	reader *r = data;
	if (r->err)
		return;
	if (r->ncells == 0)
		r->rec_line = r->line + 1;
	if (len > IMPORT_MAX_FIELD) {
		r->err = fail(r->errmsg, r->errcap, "line %d: a field longer than %d bytes: is this a client list?",
			      r->line + 1, IMPORT_MAX_FIELD);
		return;
	}
	if (r->ncells == IMPORT_MAX_COLS) {
		r->too_many = true;
		return;
	}
	if (!(r->cells[r->ncells] = kt_strndup(s ? s : "", s ? len : 0))) {
		r->err = KT_ENOMEM;
		return;
	}
	r->ncells++;
}

static int set_header(reader *r)
{
	import_plan *p = r->p;
	if (r->too_many)
		return fail(r->errmsg, r->errcap, "the header has more than %d columns", IMPORT_MAX_COLS);
	p->ncols = r->ncells;
	p->headers = calloc((size_t)p->ncols, sizeof *p->headers);
	p->map = calloc((size_t)p->ncols, sizeof *p->map);
	p->mapped_by_hand = calloc((size_t)p->ncols, sizeof *p->mapped_by_hand);
	if (!p->headers || !p->map || !p->mapped_by_hand)
		return KT_ENOMEM;
	for (int i = 0; i < p->ncols; i++) {
		p->headers[i] = r->cells[i];
		r->cells[i] = NULL;
		char *t = trim(p->headers[i]);
		memmove(p->headers[i], t, strlen(t) + 1);
	}
	r->ncells = 0;
	return KT_OK;
}

static int add_row(reader *r)
{
	import_plan *p = r->p;
	import_row *row;
	bool empty = true;
	for (int i = 0; i < r->ncells && empty; i++)
		empty = !trim(r->cells[i])[0];
	if (empty && !r->too_many)
		return KT_OK; /* a blank record: exporters leave them at the end */
	if (p->nrows == IMPORT_MAX_ROWS)
		return fail(r->errmsg, r->errcap, "more than %d rows: split the file", IMPORT_MAX_ROWS);
	if (p->nrows % 1024 == 0) {
		import_row *n = realloc(p->rows, (size_t)(p->nrows + 1024) * sizeof *n);
		if (!n)
			return KT_ENOMEM;
		p->rows = n;
	}
	row = &p->rows[p->nrows++];
	memset(row, 0, sizeof *row);
	row->line = r->rec_line;
	for (int f = 0; f < IF_COUNT; f++)
		row->consent[f] = -1;
	if (r->too_many || r->ncells > p->ncols) {
		row->status = IMPORT_ROW_REJECTED;
		if (asprintf(&row->reason, "%d fields, but the header has %d columns",
			     r->too_many ? IMPORT_MAX_COLS + 1 : r->ncells, p->ncols) < 0)
			return row->reason = NULL, KT_ENOMEM;
		return KT_OK;
	}
	/* cells of mapped columns move into the row; normalised later */
	for (int i = 0; i < r->ncells; i++) {
		int f = p->map[i];
		if (f == IF_IGNORE)
			continue;
		char *t = trim(r->cells[i]);
		if (*t) {
			memmove(r->cells[i], t, strlen(t) + 1);
			row->v[f] = r->cells[i];
			r->cells[i] = NULL;
		}
	}
	return KT_OK;
}

static int map_columns(import_plan *p, const import_opts *o, char *err, size_t cap);

static void on_record(int c, void *data)
{
	reader *r = data;
	(void)c;
	if (r->err) {
		free_cells(r);
		return;
	}
	if (!r->p->headers) {
		if (!(r->err = set_header(r)))
			r->err = map_columns(r->p, r->o, r->errmsg, r->errcap);
	} else
		r->err = add_row(r);
	free_cells(r);
}

static int is_space(unsigned char c)
{
	return c == ' '; /* not tab: it may be the delimiter */
}

/* Does the header text (or the column number) col name column i? */
static int find_column(const import_plan *p, const char *col, size_t len)
{
	char *end;
	long n = strtol(col, &end, 10);
	if (end == col + len && n >= 1 && n <= p->ncols)
		return (int)n - 1;
	for (int i = 0; i < p->ncols; i++)
		if (strlen(p->headers[i]) == len && !strncasecmp(p->headers[i], col, len))
			return i;
	return -1;
}

static int map_columns(import_plan *p, const import_opts *o, char *err, size_t cap)
{
	int owner[IF_COUNT];
	for (int i = 0; i < p->ncols; i++)
		p->map[i] = import_field_from_header(p->headers[i]);
	for (int k = 0; k < o->nmaps; k++) {
		const char *m = o->maps[k], *eq = strrchr(m, '=');
		int f, col;
		if (!eq || eq == m)
			return fail(err, cap, "--map wants COLUMN=FIELD, not '%.60s'", m);
		if ((f = import_field_parse(eq + 1)) < 0)
			return fail(err, cap, "--map %.60s: unknown field '%.40s'; fields: " IMPORT_FIELDS, m, eq + 1);
		if ((col = find_column(p, m, (size_t)(eq - m))) < 0)
			return fail(err, cap, "--map %.60s: the file has no column '%.*s' (a header or a number from 1 to %d)",
				    m, (int)(eq - m) > 60 ? 60 : (int)(eq - m), m, p->ncols);
		if (p->mapped_by_hand[col])
			return fail(err, cap, "--map names column '%.60s' twice", p->headers[col]);
		p->map[col] = f;
		p->mapped_by_hand[col] = true;
	}
	for (int f = 0; f < IF_COUNT; f++)
		owner[f] = -1;
	for (int i = 0; i < p->ncols; i++) {
		int f = p->map[i];
		if (f == IF_IGNORE)
			continue;
		if (owner[f] >= 0)
			return fail(err, cap,
				    "columns %d ('%.40s') and %d ('%.40s') both map to %s; --map one of them to "
				    "another field or to ignore",
				    owner[f] + 1, p->headers[owner[f]], i + 1, p->headers[i], import_field_name(f));
		owner[f] = i;
	}
	if (owner[IF_NAME] >= 0 && (owner[IF_FIRST_NAME] >= 0 || owner[IF_LAST_NAME] >= 0))
		return fail(err, cap, "the file has a full name column ('%.40s') and first/last name columns; --map "
				      "the one to skip to ignore",
			    p->headers[owner[IF_NAME]]);
	if (owner[IF_NAME] < 0 && owner[IF_FIRST_NAME] < 0 && owner[IF_LAST_NAME] < 0)
		return fail(err, cap, "no column holds the name (headers such as name, first name/last name, ime/priimek, "
				      "Vorname/Nachname, imię/nazwisko, etunimi/sukunimi); use --map COLUMN=name");
	return KT_OK;
}

/* Feed text to libcsv one physical line at a time, so that every record
 * knows its line and no line can be longer than IMPORT_MAX_LINE. */
static int parse_csv(const char *s, size_t n, reader *r, char delim)
{
	struct csv_parser cp;
	size_t pos = 0;
	int rc = KT_OK;
	if (csv_init(&cp, CSV_APPEND_NULL) != 0)
		return KT_ENOMEM;
	csv_set_delim(&cp, (unsigned char)delim);
	csv_set_space_func(&cp, is_space);
	while (pos < n && !r->err) {
		/* a line ends in \n, \r\n, or a lone \r (old Mac exports) */
		size_t len = strcspn(s + pos, "\r\n");
		if (pos + len < n)
			len += s[pos + len] == '\r' && pos + len + 1 < n && s[pos + len + 1] == '\n' ? 2 : 1;
		if (len > IMPORT_MAX_LINE) {
			rc = fail(r->errmsg, r->errcap, "line %d is longer than %d bytes: is this a client list?",
				  r->line + 1, IMPORT_MAX_LINE);
			break;
		}
		if (csv_parse(&cp, s + pos, len, on_field, on_record, r) != len) {
			rc = fail(r->errmsg, r->errcap, "line %d: %s", r->line + 1, csv_strerror(csv_error(&cp)));
			break;
		}
		pos += len;
		r->line++;
	}
	if (!rc && !r->err)
		csv_fini(&cp, on_field, on_record, r);
	csv_free(&cp);
	free_cells(r);
	return rc ? rc : r->err;
}

static int reject(import_row *row, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int reject(import_row *row, const char *fmt, ...)
{
	va_list ap;
	int rc;
	row->status = IMPORT_ROW_REJECTED;
	va_start(ap, fmt);
	rc = vasprintf(&row->reason, fmt, ap);
	va_end(ap);
	if (rc < 0) {
		row->reason = NULL;
		return KT_ENOMEM;
	}
	return KT_OK;
}

static void collapse_spaces(char *s)
{
	char *o = s;
	bool sp = false;
	for (; *s; s++) {
		bool w = *s == ' ' || *s == '\t' || *s == '\r' || *s == '\n';
		if (w && !sp)
			*o++ = ' ';
		else if (!w)
			*o++ = *s;
		sp = w;
	}
	*o = 0;
}

/* One row's values into the card's forms, or its reason to be rejected. */
static int normalise(import_row *row, const import_opts *o)
{
	char buf[64], why[200];
	const kt_table *ct = kt_table_find("client", 6);
	if (row->status != IMPORT_ROW_OK)
		return KT_OK;
	if (!row->v[IF_NAME] && (row->v[IF_FIRST_NAME] || row->v[IF_LAST_NAME])) {
		const char *a = row->v[IF_FIRST_NAME] ? row->v[IF_FIRST_NAME] : "";
		const char *b = row->v[IF_LAST_NAME] ? row->v[IF_LAST_NAME] : "";
		if (asprintf(&row->v[IF_NAME], "%s%s%s", a, *a && *b ? " " : "", b) < 0)
			return row->v[IF_NAME] = NULL, KT_ENOMEM;
	}
	if (!row->v[IF_NAME])
		return reject(row, "no name");
	collapse_spaces(row->v[IF_NAME]);
	if (strlen(row->v[IF_NAME]) > 200)
		return reject(row, "name is longer than 200 bytes");
	if (row->v[IF_EMAIL]) {
		for (char *c = row->v[IF_EMAIL]; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (!validate_mail_address(row->v[IF_EMAIL]))
			return reject(row, "e-mail '%.60s' is not one address (local@domain)", row->v[IF_EMAIL]);
	}
	if (row->v[IF_PHONE]) {
		if (phone_e164(row->v[IF_PHONE], o->country, buf, sizeof buf))
			return reject(row, "phone '%.40s' is not a phone number (local numbers are read as %s)",
				      row->v[IF_PHONE], o->country);
		free(row->v[IF_PHONE]);
		if (!(row->v[IF_PHONE] = strdup(buf)))
			return KT_ENOMEM;
	}
	if (row->v[IF_BIRTHDAY]) {
		char day[11];
		if (import_birthday(row->v[IF_BIRTHDAY], o->date_format, day, why, sizeof why))
			return reject(row, "%s", why);
		free(row->v[IF_BIRTHDAY]); /* "1.4.1970" is shorter than "1970-04-01" */
		if (!(row->v[IF_BIRTHDAY] = strdup(day)))
			return KT_ENOMEM;
	}
	for (int f = IF_CONSENT_EMAIL; f <= IF_CONSENT_REVIEW; f++) {
		if (!row->v[f])
			continue;
		int yn = import_yes_no(row->v[f]);
		if (yn == -2)
			return reject(row, "%s '%.20s' is neither yes nor no", import_field_name(f), row->v[f]);
		row->consent[f] = yn;
	}
	for (int f = 0; f < IF_COUNT; f++)
		if (import_field_column(f) && row->v[f] && validate_field(ct, import_field_column(f), row->v[f], why, sizeof why))
			return reject(row, "%s", why);
	return KT_OK;
}

int import_read(const unsigned char *buf, size_t len, const import_opts *o, import_plan **out, char *err,
		size_t cap)
{
	import_plan *p = NULL;
	char *text = NULL, *cells[IMPORT_MAX_COLS];
	size_t tlen = 0;
	const unsigned char *nul;
	reader r = {0};
	int rc;

	*out = NULL;
	if (len > IMPORT_MAX_FILE)
		return fail(err, cap, "the file is larger than %u MB", IMPORT_MAX_FILE >> 20);
	if ((nul = memchr(buf, 0, len)))
		return fail(err, cap, "the file is binary (a zero byte at offset %zu), not a CSV text file",
			    (size_t)(nul - buf));
	if (!(p = calloc(1, sizeof *p)))
		return KT_ENOMEM;
	p->encoding = o->encoding == IMPORT_ENC_AUTO ? import_detect_encoding(buf, len, o->country) : o->encoding;
	if ((rc = import_to_utf8(buf, len, p->encoding, &text, &tlen, err, cap)))
		goto out;
	if (!text[strspn(text, " \t\r\n")]) {
		rc = fail(err, cap, "the file is empty");
		goto out;
	}
	p->delim = import_detect_delimiter(text, tlen);
	r.o = o;
	r.p = p;
	r.cells = cells;
	r.errmsg = err;
	r.errcap = cap;
	/* the header record maps the columns (on_record), then the rows follow */
	if ((rc = parse_csv(text, tlen, &r, p->delim)))
		goto out;
	if (!p->headers) {
		rc = fail(err, cap, "the file has no header line");
		goto out;
	}
	if (p->nrows == 0) {
		rc = fail(err, cap, "the file has a header but no client rows");
		goto out;
	}
	for (int i = 0; i < p->nrows; i++)
		if ((rc = normalise(&p->rows[i], o)))
			goto out;
	for (int i = 0; i < p->nrows; i++)
		p->nrejected += p->rows[i].status == IMPORT_ROW_REJECTED;
	p->ncreate = p->nrows - p->nrejected;
out:
	free(text);
	if (rc) {
		import_plan_free(p);
		return rc;
	}
	*out = p;
	return KT_OK;
}

void import_plan_free(import_plan *p)
{
	if (!p)
		return;
	for (int i = 0; p->headers && i < p->ncols; i++)
		free(p->headers[i]);
	free(p->headers);
	free(p->map);
	free(p->mapped_by_hand);
	for (int i = 0; i < p->nrows; i++) {
		for (int f = 0; f < IF_COUNT; f++)
			free(p->rows[i].v[f]);
		free(p->rows[i].reason);
		free(p->rows[i].dup_name);
	}
	free(p->rows);
	free(p);
}

/* ---- duplicates ---- */

/* An open-addressing set of keys (e-mail or phone) to who has them: a row
 * index (>= 0) or an existing client (-1 - index into the loaded list). */
typedef struct keyset {
	char **key;
	int *who;
	size_t cap, n;
} keyset;

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int keyset_init(keyset *k, size_t want)
{
	k->cap = 64;
	while (k->cap < want * 2)
		k->cap *= 2;
	k->n = 0;
	k->key = calloc(k->cap, sizeof *k->key);
	k->who = calloc(k->cap, sizeof *k->who);
	return k->key && k->who ? KT_OK : KT_ENOMEM;
}

static void keyset_free(keyset *k)
{
	free(k->key);
	free(k->who);
}

/* The holder of key, or INT32_MIN; when absent and who is given, add it
 * (key borrowed: it must outlive the set). */
static int keyset_find_add(keyset *k, char *key, int who, bool add)
{
	size_t i = hash(key) & (k->cap - 1);
	while (k->key[i]) {
		if (!strcmp(k->key[i], key))
			return k->who[i];
		i = (i + 1) & (k->cap - 1);
	}
	if (add && k->n + 1 < k->cap / 2) {
		k->key[i] = key;
		k->who[i] = who;
		k->n++;
	}
	return INT32_MIN;
}

typedef struct existing {
	char id[KT_UUID_LEN + 1];
	char *name, *email, *phone;
} existing;

static int load_existing(kt_store *st, const char *org, const char *country, existing **out, int *n)
{
	const kt_table *ct = kt_table_find("client", 6);
	const int cols[] = {kt_col_index(ct, "name"), kt_col_index(ct, "email"), kt_col_index(ct, "phone")};
	sqlite3_stmt *q = store_prepare(st, "SELECT id FROM client WHERE org_id = ?1 ORDER BY id");
	existing *e = NULL;
	int cap = 0, rc = KT_OK, src;
	*out = NULL;
	*n = 0;
	if (!q)
		return KT_EIO;
	sqlite3_bind_text(q, 1, org, -1, SQLITE_STATIC);
	while ((src = sqlite3_step(q)) == SQLITE_ROW) {
		if (*n == cap) {
			existing *m = realloc(e, (size_t)(cap = cap ? cap * 2 : 256) * sizeof *m);
			if (!m) {
				rc = KT_ENOMEM;
				break;
			}
			e = m;
		}
		existing *x = &e[*n];
		memset(x, 0, sizeof *x);
		snprintf(x->id, sizeof x->id, "%s", (const char *)sqlite3_column_text(q, 0));
		(*n)++;
	}
	if (!rc && src != SQLITE_DONE)
		rc = KT_EIO;
	store_finish(st, q);
	/* the card's contact fields are sealed: read through the store */
	for (int i = 0; !rc && i < *n; i++) {
		kt_row row = {0};
		char e164[64];
		if (store_row_load_some(st, ct, e[i].id, cols, 3, &row) != KT_OK)
			continue; /* erased meanwhile: nothing to compare */
		const kt_val *nv = &row.v[cols[0]], *ev = &row.v[cols[1]], *pv = &row.v[cols[2]];
		e[i].name = strdup(!nv->null && nv->s ? nv->s : "");
		if (!ev->null && ev->s && *ev->s) {
			e[i].email = strdup(ev->s);
			for (char *c = e[i].email; c && *c; c++)
				*c = (char)tolower((unsigned char)*c);
		}
		if (!pv->null && pv->s && *pv->s)
			e[i].phone = strdup(phone_e164(pv->s, country, e164, sizeof e164) ? pv->s : e164);
		kt_row_free(&row);
		if (!e[i].name)
			rc = KT_ENOMEM;
	}
	*out = e;
	return rc;
}

static void free_existing(existing *e, int n)
{
	for (int i = 0; e && i < n; i++) {
		free(e[i].name);
		free(e[i].email);
		free(e[i].phone);
	}
	free(e);
}

static int mark_dup(import_row *row, int who, const import_plan *p, const existing *e, const char *by)
{
	row->status = IMPORT_ROW_DUPLICATE;
	row->dup_by = by;
	if (who >= 0) {
		row->dup_line = p->rows[who].line;
		row->dup_name = strdup(p->rows[who].v[IF_NAME]);
	} else {
		const existing *x = &e[-1 - who];
		memcpy(row->dup_client, x->id, sizeof row->dup_client);
		row->dup_name = strdup(x->name);
	}
	return row->dup_name ? KT_OK : KT_ENOMEM;
}

int import_find_duplicates(kt_store *st, const char *org, import_plan *p, const char *country)
{
	existing *e = NULL;
	keyset mail = {0}, tel = {0};
	int ne = 0, rc;
	if ((rc = load_existing(st, org, country, &e, &ne)) ||
	    (rc = keyset_init(&mail, (size_t)(ne + p->nrows))) || (rc = keyset_init(&tel, (size_t)(ne + p->nrows))))
		goto out;
	for (int i = 0; i < ne; i++) {
		if (e[i].email)
			keyset_find_add(&mail, e[i].email, -1 - i, true);
		if (e[i].phone)
			keyset_find_add(&tel, e[i].phone, -1 - i, true);
	}
	for (int i = 0; i < p->nrows && !rc; i++) {
		import_row *row = &p->rows[i];
		int who = INT32_MIN;
		const char *by = NULL;
		if (row->status != IMPORT_ROW_OK)
			continue;
		if (row->v[IF_EMAIL] && (who = keyset_find_add(&mail, row->v[IF_EMAIL], 0, false)) != INT32_MIN)
			by = "e-mail";
		else if (row->v[IF_PHONE] && (who = keyset_find_add(&tel, row->v[IF_PHONE], 0, false)) != INT32_MIN)
			by = "phone";
		if (by) {
			rc = mark_dup(row, who, p, e, by);
			p->nduplicate++;
			p->ncreate--;
			continue;
		}
		if (row->v[IF_EMAIL])
			keyset_find_add(&mail, row->v[IF_EMAIL], i, true);
		if (row->v[IF_PHONE])
			keyset_find_add(&tel, row->v[IF_PHONE], i, true);
	}
out:
	keyset_free(&mail);
	keyset_free(&tel);
	free_existing(e, ne);
	return rc;
}

/* ---- creating the cards ---- */

static int create_one(kt_store *st, const char *org, const char *loc, import_row *row, const char *file,
		      const char *text_version, char *err, size_t cap)
{
	kt_field f[IF_COUNT + 1];
	int n = 0, rc;
	char *after = NULL;
	for (int k = 0; k < IF_COUNT; k++)
		if (import_field_column(k) && row->v[k])
			f[n++] = (kt_field){import_field_column(k), row->v[k]};
	f[n++] = (kt_field){"portal_enabled", "0"};
	if ((rc = store_insert(st, "client", row->id, org, f, n, NULL)))
		return fail(err, cap, "line %d: the card was refused: %s", row->line, kt_strerror(rc)), rc;
	if ((rc = store_link_client_location(st, row->id, loc)))
		return fail(err, cap, "line %d: cannot link the card to the location: %s", row->line, kt_strerror(rc)), rc;
	json_t *a = json_pack("{s:s, s:i}", "file", file, "line", row->line);
	if (!a || !(after = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS))) {
		json_decref(a);
		return KT_ENOMEM;
	}
	json_decref(a);
	kt_audit_entry e = {org, "imported", "client", row->id, row->id, loc, NULL, NULL, after};
	rc = audit_append(st, &e);
	free(after);
	if (rc)
		return fail(err, cap, "line %d: cannot write the audit entry: %s", row->line, kt_strerror(rc)), rc;
	for (int k = IF_CONSENT_EMAIL; k <= IF_CONSENT_REVIEW; k++) {
		kt_consent c = {0};
		char why[200], cid[KT_UUID_LEN + 1];
		if (row->consent[k] < 0)
			continue;
		snprintf(c.client_id, sizeof c.client_id, "%s", row->id);
		snprintf(c.purpose, sizeof c.purpose, "%s", import_consent_purpose(k));
		c.granted = row->consent[k];
		snprintf(c.source, sizeof c.source, "import");
		kt_strcpy_cut(c.text_version, sizeof c.text_version, text_version);
		c.text_version_given = true;
		if ((rc = consent_check(st, NULL, &c, why, sizeof why)))
			return fail(err, cap, "line %d: %s: %s", row->line, import_field_name(k), why), rc;
		kt_uuid7(cid);
		if ((rc = consent_record(st, cid, &c, NULL)))
			return fail(err, cap, "line %d: %s not recorded: %s", row->line, import_field_name(k), kt_strerror(rc)), rc;
	}
	return KT_OK;
}

int import_apply(kt_store *st, const char *org, const char *location_id, import_plan *p, const import_opts *o,
		 char *err, size_t cap)
{
	char text_version[KT_CONSENT_TEXT_VERSION_MAX + 1];
	const char *file = o->file_name ? o->file_name : "";
	int rc;
	if (p->nrejected && !o->skip_invalid)
		return fail(err, cap, "%d row(s) rejected: nothing imported (fix them, or --skip-invalid)", p->nrejected);
	/* the consent's proof: the list it came from */
	snprintf(text_version, sizeof text_version, "import:%.56s", file);
	/* every new card's data key in one keyring commit, not one sync each */
	const char **ids = malloc((size_t)(p->nrows ? p->nrows : 1) * sizeof *ids);
	int nids = 0;
	if (!ids)
		return KT_ENOMEM;
	for (int i = 0; i < p->nrows; i++)
		if (p->rows[i].status == IMPORT_ROW_OK) {
			kt_uuid7(p->rows[i].id);
			ids[nids++] = p->rows[i].id;
		}
	rc = keyring_create_keys(store_keyring(st), ids, nids);
	free(ids);
	if (rc)
		return fail(err, cap, "cannot create the cards' keys: %s", kt_strerror(rc)), rc;
	if ((rc = store_begin(st)))
		return fail(err, cap, "cannot start the transaction: %s", kt_strerror(rc)), rc;
	for (int i = 0; i < p->nrows; i++) {
		if (p->rows[i].status != IMPORT_ROW_OK)
			continue;
		if ((rc = create_one(st, org, location_id, &p->rows[i], file, text_version, err, cap)))
			goto fail;
	}
	if ((rc = store_commit(st))) {
		fail(err, cap, "the import was not saved: %s", kt_strerror(rc));
		goto fail;
	}
	return KT_OK;
fail:
	store_rollback(st);
	for (int i = 0; i < p->nrows; i++)
		p->rows[i].id[0] = 0;
	return rc;
}
