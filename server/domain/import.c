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

/* ---- encodings ---- */

const char *import_encoding_name(int enc)
{
	return enc == IMPORT_CP1250 ? "Windows-1250" : enc == IMPORT_CP1252 ? "Windows-1252" : "UTF-8";
}

int import_encoding_parse(const char *s)
{
	if (!strcasecmp(s, "utf-8") || !strcasecmp(s, "utf8"))
		return IMPORT_UTF8;
	if (!strcasecmp(s, "windows-1250") || !strcasecmp(s, "cp1250"))
		return IMPORT_CP1250;
	if (!strcasecmp(s, "windows-1252") || !strcasecmp(s, "cp1252"))
		return IMPORT_CP1252;
	return -2;
}

static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t k;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			k = 1, cp = c & 0x1F;
		else if (c >= 0xE0 && c <= 0xEF)
			k = 2, cp = c & 0x0F;
		else if (c >= 0xF0 && c <= 0xF4)
			k = 3, cp = c & 0x07;
		else
			return false;
		if (i + k >= n)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3F);
		}
		if ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
			return false;
		i += k + 1;
	}
	return true;
}

/* How often a byte is a letter of the languages each code page serves,
 * read as Windows-1250 (Slovenian, Croatian, Polish, Czech, Slovak,
 * Hungarian: č ć đ ł ą ę ś ź ż ń ř ě ů ...) and as Windows-1252 (French,
 * Italian, Spanish, Portuguese, Nordic: à è ì ò ù ê ñ ã õ å æ ø ...):
 * 3 common, 1 rare, 0 not a letter there. Bytes that read the same in both
 * (ä ö ü ß é á í ó ú š ž ç) decide nothing, and need not: they convert the
 * same either way. Lower case weighs more: it fills words, capitals start
 * them (but Č starts many a surname, È hardly a word). */
static const struct {
	unsigned char byte, w1250, w1252;
} letter_weights[] = {
	{0x8A, 0, 0}, {0x8C, 1, 1}, {0x8D, 1, 0}, {0x8F, 1, 0}, {0x9C, 3, 1}, {0x9D, 3, 0}, {0x9F, 3, 1},
	{0xA3, 1, 0}, {0xA5, 1, 0}, {0xAA, 1, 1}, {0xAF, 1, 0}, {0xB3, 3, 0}, {0xB9, 3, 0}, {0xBA, 1, 1},
	{0xBC, 1, 0}, {0xBE, 3, 0}, {0xBF, 3, 0}, {0xC0, 0, 1}, {0xC3, 1, 1}, {0xC5, 0, 1}, {0xC6, 1, 1},
	{0xC8, 3, 1}, {0xCA, 1, 1}, {0xCC, 1, 1}, {0xCF, 1, 1}, {0xD0, 1, 0}, {0xD1, 1, 1}, {0xD2, 1, 1},
	{0xD5, 1, 1}, {0xD8, 1, 1}, {0xD9, 1, 1}, {0xDB, 1, 1}, {0xDE, 1, 1}, {0xE0, 0, 3}, {0xE3, 1, 3},
	{0xE5, 0, 3}, {0xE6, 3, 3}, {0xE8, 3, 3}, {0xEA, 3, 3}, {0xEC, 3, 3}, {0xEF, 1, 3}, {0xF0, 3, 1},
	{0xF1, 3, 3}, {0xF2, 3, 3}, {0xF5, 1, 3}, {0xF8, 3, 3}, {0xF9, 3, 3}, {0xFB, 1, 1}, {0xFE, 1, 1},
	{0xFF, 0, 1},
};
/* ...and the bytes only one of the two defines at all. */
static const unsigned char cp1252_undefined[] = {0x81, 0x8D, 0x8F, 0x90, 0x9D};
static const unsigned char cp1250_undefined[] = {0x81, 0x83, 0x88, 0x90, 0x98};

static bool in(const unsigned char *set, size_t n, unsigned char c)
{
	return memchr(set, c, n) != NULL;
}

int import_detect_encoding(const unsigned char *b, size_t n, const char *country)
{
	static const char *const central[] = {"SI", "PL", "CZ", "SK", "HR", "HU", "RO", "BA", "RS", "AL", NULL};
	long s1250 = 0, s1252 = 0;
	bool prefer_1250 = false;
	if (utf8_valid(b, n))
		return IMPORT_UTF8;
	for (int i = 0; country && central[i]; i++)
		prefer_1250 |= !strcasecmp(country, central[i]);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = b[i];
		if (c < 0x80)
			continue;
		if (in(cp1252_undefined, sizeof cp1252_undefined, c))
			s1250 += 100;
		if (in(cp1250_undefined, sizeof cp1250_undefined, c))
			s1252 += 100;
		for (size_t k = 0; k < sizeof letter_weights / sizeof letter_weights[0]; k++)
			if (letter_weights[k].byte == c) {
				s1250 += letter_weights[k].w1250;
				s1252 += letter_weights[k].w1252;
				break;
			}
	}
	if (s1250 != s1252)
		return s1250 > s1252 ? IMPORT_CP1250 : IMPORT_CP1252;
	/* a tie: the bytes read alike or equally well; the salon's country decides */
	return prefer_1250 ? IMPORT_CP1250 : IMPORT_CP1252;
}

/* The bytes as UTF-8 (malloc'd, NUL-terminated), without a BOM. */
static int to_utf8(const unsigned char *b, size_t n, int enc, char **out, size_t *outlen, char *err, size_t cap)
{
	char *dst, *op;
	size_t left, room;
	iconv_t cd;
	if (enc == IMPORT_UTF8) {
		if (n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF)
			b += 3, n -= 3;
		if (!utf8_valid(b, n))
			return fail(err, cap, "the file is not valid UTF-8 (try --encoding windows-1250 or windows-1252)");
		if (!(*out = malloc(n + 1)))
			return KT_ENOMEM;
		memcpy(*out, b, n);
		(*out)[n] = 0;
		*outlen = n;
		return KT_OK;
	}
	cd = iconv_open("UTF-8", enc == IMPORT_CP1250 ? "WINDOWS-1250" : "WINDOWS-1252");
	if (cd == (iconv_t)-1)
		return fail(err, cap, "cannot convert from %s: %s", import_encoding_name(enc), strerror(errno));
	room = n * 3 + 1; /* a byte of these becomes at most 3 bytes of UTF-8 */
	if (!(dst = malloc(room))) {
		iconv_close(cd);
		return KT_ENOMEM;
	}
	char *ip = (char *)b;
	left = n;
	op = dst;
	size_t oleft = room - 1;
	if (iconv(cd, &ip, &left, &op, &oleft) == (size_t)-1) {
		size_t at = (size_t)(ip - (char *)b);
		iconv_close(cd);
		free(dst);
		return fail(err, cap, "byte %zu (0x%02x) is not a character of %s; give the right --encoding", at,
			    at < n ? b[at] : 0, import_encoding_name(enc));
	}
	iconv_close(cd);
	*op = 0;
	*out = dst;
	*outlen = (size_t)(op - dst);
	return KT_OK;
}

char import_detect_delimiter(const char *s, size_t n)
{
	size_t count[3] = {0, 0, 0};
	static const char cand[3] = {',', ';', '\t'};
	bool quoted = false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			quoted = !quoted;
		else if (!quoted && (s[i] == '\n' || s[i] == '\r'))
			break;
		else if (!quoted)
			for (int k = 0; k < 3; k++)
				count[k] += s[i] == cand[k];
	}
	int best = 0;
	for (int k = 1; k < 3; k++)
		if (count[k] > count[best])
			best = k;
	return cand[best];
}

/* ---- fields and headers ---- */

static const char *const field_names[IF_COUNT] = {
	"ignore",         "name",        "first_name",  "last_name",      "email",
	"phone",          "birthday",    "address",     "notes",          "allergies",
	"conditions",     "medications", "skin_hair_type", "patch_tests", "preferences",
	"consent:marketing_email", "consent:marketing_sms", "consent:birthday_greetings", "consent:review_requests",
};

/* The client column each field fills (NULL: none of its own). */
static const char *const field_columns[IF_COUNT] = {
	NULL, "name", NULL, NULL, "email", "phone", "birthday", "address", "internal_notes", "allergies",
	"conditions", "medications", "skin_hair_type", "patch_tests", "preferences",
};

static const char *consent_purpose(int f)
{
	switch (f) {
	case IF_CONSENT_EMAIL: return "marketing_email";
	case IF_CONSENT_SMS: return "marketing_sms";
	case IF_CONSENT_BIRTHDAY: return "birthday_greetings";
	case IF_CONSENT_REVIEW: return "review_requests";
	default: return NULL;
	}
}

const char *import_field_name(int f)
{
	return f >= 0 && f < IF_COUNT ? field_names[f] : "?";
}

int import_field_parse(const char *name)
{
	for (int f = 0; f < IF_COUNT; f++)
		if (!strcmp(name, field_names[f]))
			return f;
	if (!strcmp(name, "internal_notes"))
		return IF_NOTES;
	return -1;
}

/* Header text folded for comparison: ASCII lower case, the accented
 * letters of the five languages without their accents, no spaces or
 * punctuation ("E-pošta" -> "eposta", "Imię" -> "imie"). */
static void fold(const char *s, char *out, size_t cap)
{
	static const struct {
		const char *utf8, *ascii;
	} acc[] = {
		{"č", "c"}, {"Č", "c"}, {"ć", "c"}, {"Ć", "c"}, {"š", "s"}, {"Š", "s"}, {"ž", "z"}, {"Ž", "z"},
		{"đ", "d"}, {"Đ", "d"}, {"ą", "a"}, {"Ą", "a"}, {"ę", "e"}, {"Ę", "e"}, {"ł", "l"}, {"Ł", "l"},
		{"ń", "n"}, {"Ń", "n"}, {"ó", "o"}, {"Ó", "o"}, {"ś", "s"}, {"Ś", "s"}, {"ź", "z"}, {"Ź", "z"},
		{"ż", "z"}, {"Ż", "z"}, {"ä", "a"}, {"Ä", "a"}, {"ö", "o"}, {"Ö", "o"}, {"ü", "u"}, {"Ü", "u"},
		{"ß", "ss"}, {"é", "e"}, {"É", "e"}, {"å", "a"}, {"Å", "a"},
	};
	size_t o = 0;
	while (*s && o + 3 < cap) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c)) {
			out[o++] = (char)tolower(c);
			s++;
			continue;
		}
		if (c >= 0x80) {
			size_t k;
			for (k = 0; k < sizeof acc / sizeof acc[0]; k++) {
				size_t l = strlen(acc[k].utf8);
				if (!strncmp(s, acc[k].utf8, l)) {
					for (const char *a = acc[k].ascii; *a; a++)
						out[o++] = *a;
					s += l;
					break;
				}
			}
			if (k < sizeof acc / sizeof acc[0])
				continue;
			out[o++] = (char)c; /* another letter: kept, so it matches nothing by accident */
		}
		s++;
	}
	out[o] = 0;
}

static const struct {
	int field;
	const char *const *names; /* folded */
} synonyms[] = {
	{IF_FIRST_NAME, (const char *const[]){"firstname", "first", "givenname", "forename", "ime", "vorname",
					       "imie", "etunimi", "prenom", NULL}},
	{IF_LAST_NAME, (const char *const[]){"lastname", "surname", "familyname", "priimek", "nachname",
					      "familienname", "nazwisko", "sukunimi", NULL}},
	{IF_NAME, (const char *const[]){"name", "fullname", "client", "clientname", "customer", "customername",
					 "imeinpriimek", "stranka", "kunde", "kundenname", "vollername",
					 "imieinazwisko", "klient", "nimi", "asiakas", "kokonimi", NULL}},
	{IF_EMAIL, (const char *const[]){"email", "mail", "emailaddress", "eposta", "elektronskaposta",
					  "emailadresse", "adresemail", "adresemailowy", "sahkoposti", "sposti", NULL}},
	{IF_PHONE, (const char *const[]){"phone", "telephone", "tel", "mobile", "mobilephone", "cell", "gsm",
					  "phonenumber", "telefon", "mobitel", "telefonska", "telefonskastevilka",
					  "telefonnummer", "handy", "mobil", "mobilnummer", "komorka", "nrtelefonu",
					  "numertelefonu", "puhelin", "matkapuhelin", "puh", "puhelinnumero", NULL}},
	{IF_BIRTHDAY, (const char *const[]){"birthday", "birthdate", "dateofbirth", "dob", "rojstnidan",
					     "datumrojstva", "geburtstag", "geburtsdatum", "dataurodzenia", "urodziny",
					     "syntymapaiva", "syntymaaika", NULL}},
	{IF_ADDRESS, (const char *const[]){"address", "naslov", "adresse", "anschrift", "adres", "osoite", NULL}},
	{IF_NOTES, (const char *const[]){"notes", "note", "comment", "comments", "internalnotes", "opombe", "opomba",
					  "notiz", "notizen", "bemerkung", "bemerkungen", "anmerkungen", "uwagi",
					  "notatki", "huomautukset", "huomautus", "lisatiedot", "muistiinpanot", NULL}},
	{IF_ALLERGIES, (const char *const[]){"allergies", "alergije", "allergien", "alergie", "allergiat", NULL}},
	{IF_CONDITIONS, (const char *const[]){"conditions", NULL}},
	{IF_MEDICATIONS, (const char *const[]){"medications", NULL}},
	{IF_SKIN_HAIR_TYPE, (const char *const[]){"skinhairtype", NULL}},
	{IF_PATCH_TESTS, (const char *const[]){"patchtests", NULL}},
	{IF_PREFERENCES, (const char *const[]){"preferences", NULL}},
};

static bool has_any(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (strstr(s, *words))
			return true;
	return false;
}

int import_field_from_header(const char *header)
{
	static const char *const consent_words[] = {"consent", "soglasj", "privolitev", "einwilligung", "zustimmung",
						    "zgoda", "suostumus", "optin", "marketing", "newsletter", NULL};
	static const char *const sms[] = {"sms", NULL};
	static const char *const birthday[] = {"birthday", "rojst", "geburt", "urodz", "syntym", NULL};
	static const char *const review[] = {"review", "ocen", "mnenj", "bewert", "opini", "arvio", NULL};
	static const char *const mail[] = {"mail", "eposta", "sposti", "newsletter", NULL};
	char f[256];
	fold(header, f, sizeof f);
	for (size_t i = 0; i < sizeof synonyms / sizeof synonyms[0]; i++)
		for (const char *const *n = synonyms[i].names; *n; n++)
			if (!strcmp(f, *n))
				return synonyms[i].field;
	/* consents: only a column that says it is one, and for which channel */
	if (has_any(f, consent_words)) {
		if (has_any(f, sms))
			return IF_CONSENT_SMS;
		if (has_any(f, birthday))
			return IF_CONSENT_BIRTHDAY;
		if (has_any(f, review))
			return IF_CONSENT_REVIEW;
		if (has_any(f, mail))
			return IF_CONSENT_EMAIL;
	}
	return IF_IGNORE;
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

int import_yes_no(const char *text)
{
	static const char *const yes[] = {"1", "yes", "y", "x", "true", "da", "ja", "j", "tak", "t", "kylla", "k", NULL};
	static const char *const no[] = {"0", "no", "n", "false", "ne", "nein", "nie", "ei", NULL};
	char f[32];
	if (strlen(text) >= sizeof f)
		return -2;
	fold(text, f, sizeof f);
	if (!strcmp(text, "✓") || !strcmp(text, "✔"))
		return 1;
	if (!f[0] && !text[strspn(text, " \t")])
		return -1;
	for (int i = 0; yes[i]; i++)
		if (!strcmp(f, yes[i]))
			return 1;
	for (int i = 0; no[i]; i++)
		if (!strcmp(f, no[i]))
			return 0;
	return -2;
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
				    owner[f] + 1, p->headers[owner[f]], i + 1, p->headers[i], field_names[f]);
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
			return reject(row, "%s '%.20s' is neither yes nor no", field_names[f], row->v[f]);
		row->consent[f] = yn;
	}
	for (int f = 0; f < IF_COUNT; f++)
		if (field_columns[f] && row->v[f] && validate_field(ct, field_columns[f], row->v[f], why, sizeof why))
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
	if ((rc = to_utf8(buf, len, p->encoding, &text, &tlen, err, cap)))
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
		if (field_columns[k] && row->v[k])
			f[n++] = (kt_field){field_columns[k], row->v[k]};
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
		snprintf(c.purpose, sizeof c.purpose, "%s", consent_purpose(k));
		c.granted = row->consent[k];
		snprintf(c.source, sizeof c.source, "import");
		kt_strcpy_cut(c.text_version, sizeof c.text_version, text_version);
		c.text_version_given = true;
		if ((rc = consent_check(st, NULL, &c, why, sizeof why)))
			return fail(err, cap, "line %d: %s: %s", row->line, field_names[k], why), rc;
		kt_uuid7(cid);
		if ((rc = consent_record(st, cid, &c, NULL)))
			return fail(err, cap, "line %d: %s not recorded: %s", row->line, field_names[k], kt_strerror(rc)), rc;
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
