/* import_text.c - the text side of a client list (import.h): which
 * encoding and delimiter a file uses, converting it to UTF-8, and which
 * column is which field, from headers in five languages. No database and no
 * file: import.c reads and creates, this only understands text. */
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "domain/import.h"
#include "kt_err.h"
#include "kt_util.h"

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
int import_to_utf8(const unsigned char *b, size_t n, int enc, char **out, size_t *outlen, char *err, size_t cap)
{
	char *dst, *op;
	size_t left, room;
	iconv_t cd;
	if (enc == IMPORT_UTF8) {
		if (n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF)
			b += 3, n -= 3;
		if (!utf8_valid(b, n))
			return kt_fail(err, cap, KT_EINVALID, "the file is not valid UTF-8 (try --encoding windows-1250 or windows-1252)");
		if (!(*out = malloc(n + 1)))
			return KT_ENOMEM;
		memcpy(*out, b, n);
		(*out)[n] = 0;
		*outlen = n;
		return KT_OK;
	}
	cd = iconv_open("UTF-8", enc == IMPORT_CP1250 ? "WINDOWS-1250" : "WINDOWS-1252");
	if (cd == (iconv_t)-1)
		return kt_fail(err, cap, KT_EINVALID, "cannot convert from %s: %s", import_encoding_name(enc), strerror(errno));
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
		return kt_fail(err, cap, KT_EINVALID, "byte %zu (0x%02x) is not a character of %s; give the right --encoding", at,
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

const char *import_consent_purpose(int f)
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

const char *import_field_column(int f)
{
	return f >= 0 && f < IF_COUNT ? field_columns[f] : NULL;
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
