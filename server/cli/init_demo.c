/* init_demo.c - the demo salon business (see init_demo.h). Its own PRNG makes it the
 * same for the same seed; only dates follow today's date. Every row goes
 * through the store API in one transaction, so the change log sees the demo
 * exactly as it would see real edits. Never print anything but the sign-in
 * table to `out`, and never log a password.
 * Past 800 lines for its word lists (names, formulas, notes); the generator
 * itself is one idea. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>
#include "cli/init_demo.h"
#include "kt_util.h"
#include "domain/erasure.h"
#include "domain/notice.h"

#define NLOC 2
#define NSTAFF (1 + NLOC * 4) /* owner + per location manager, reception, 2 specialists */
#define NSPEC (NLOC * 2)
#define NCLIENT 500
#define NPORTAL 20
#define NACCT (NSTAFF + NPORTAL)
#define NAPPT 5000
#define PAST_DAYS 182
#define FUTURE_DAYS 91
#define NDAYS (PAST_DAYS + FUTURE_DAYS + 1)
#define OPEN_MIN (8 * 60)
#define CLOSE_MIN (20 * 60)
#define MAX_PER_DAY 9 /* per specialist; with 30-min services this always fits */
#define MAX_WEIGHT 6  /* a regular is picked up to 6 times as often */
#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL
/* Ids take their time part from this clock, not from today, so that the
 * same seed gives the same ids on any day (2025-01-01T00:00:00Z). */
#define ID_EPOCH_MS 1735689600000LL
#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- PRNG: xoshiro256**, seeded with splitmix64 ---- */

typedef struct demo_rng {
	uint64_t s[4];
} demo_rng;

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rng_seed(demo_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(demo_rng *r)
{
	uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* Uniform in [0, n) for n > 0 (multiply-shift: no modulo bias to speak of). */
static int rng_below(demo_rng *r, int n)
{
	return (int)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static bool rng_chance(demo_rng *r, int percent)
{
	return rng_below(r, 100) < percent;
}

/* Draw at most once per argument list or initializer list: C leaves the
 * order of their evaluation open, and the demo must not depend on the
 * compiler. */

#define PICK(r, arr) ((arr)[rng_below((r), NELEM(arr))])

/* ---- calendar: civil dates, Ljubljana time (EU summer time), holidays ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;
	int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return (int64_t)era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	int64_t era = floor_div(z, 146097), doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int weekday(int64_t day) /* 0 = Sunday; 1970-01-01 was a Thursday */
{
	return (int)((day % 7 + 11) % 7);
}

static void day_text(int64_t day, char out[16])
{
	int y, m, d;
	civil_from_days(day, &y, &m, &d);
	snprintf(out, 16, "%04d-%02d-%02d", y, m, d);
}

/* EU rule: summer time from the last Sunday of March 01:00 UTC to the last
 * Sunday of October 01:00 UTC. Computed here rather than through TZ so the
 * process time zone stays untouched. */
static int64_t last_sunday_0100_utc(int y, int m)
{
	int64_t last = days_from_civil(y, m + 1, 1) - 1;
	return (last - weekday(last)) * DAY_MS + HOUR_MS;
}

static bool eu_summer_time(int64_t utc_ms)
{
	int y, m, d;
	civil_from_days(floor_div(utc_ms, DAY_MS), &y, &m, &d);
	return utc_ms >= last_sunday_0100_utc(y, 3) && utc_ms < last_sunday_0100_utc(y, 10);
}

static int64_t lj_day_of(int64_t utc_ms)
{
	return floor_div(utc_ms + (eu_summer_time(utc_ms) ? 2 : 1) * HOUR_MS, DAY_MS);
}

/* UTC of a Ljubljana wall time. The night hours that are skipped or
 * repeated at the switch never occur: the salons are closed then. */
static int64_t lj_to_utc(int64_t day, int minute)
{
	int64_t wall = day * DAY_MS + minute * MIN_MS;
	return eu_summer_time(wall - 2 * HOUR_MS) ? wall - 2 * HOUR_MS : wall - HOUR_MS;
}

static int64_t easter_sunday(int y) /* anonymous Gregorian algorithm */
{
	int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4, f = (b + 8) / 25;
	int g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30, i = c / 4, k = c % 4;
	int l = (32 + 2 * e + 2 * i - h - k) % 7, m = (a + 11 * h + 22 * l) / 451;
	int n = h + l - 7 * m + 114;
	return days_from_civil(y, n / 31, n % 31 + 1);
}

/* Open Monday to Saturday, closed on Slovenian public holidays. */
static bool salon_open(int64_t day)
{
	static const unsigned char holidays[][2] = {{1, 1},  {1, 2},  {2, 8},   {4, 27}, {5, 1},   {5, 2},
						    {6, 25}, {8, 15}, {10, 31}, {11, 1}, {12, 25}, {12, 26}};
	int y, m, d;
	if (weekday(day) == 0)
		return false;
	civil_from_days(day, &y, &m, &d);
	for (int i = 0; i < NELEM(holidays); i++)
		if (holidays[i][0] == m && holidays[i][1] == d)
			return false;
	return day != easter_sunday(y) + 1;
}

/* ---- the business ---- */


enum { HAIR, COSMETIC };

/* What goes into a visit's products_formulas; NULL-terminated. */
static const char *const f_colour[] = {"Majirel 7/20 + 6 % oxidant 1:1.5, 35 min",
				       "Inoa 6.0 + 9 % 1:1, 30 min; ends 8.1 gloss",
				       "Igora Royal 6-0 + 7-1 (1:1), 6 % 1:1, 35 min",
				       "Majirel 5.0 roots, 6 % 1:1.5, 35 min; lengths Dia Light 7.13, 10 min",
				       "Koleston 8/0 + 8/43 (2:1), 6 % 1:1, 30 min",
				       NULL};
static const char f_ppd_free[] = "PPD-free colour (Organic Colour Systems 6N), 6 % 1:1, 35 min";
static const char *const f_balayage[] = {
	"Blond Studio 9+ with 6 %, freehand, 45 min; toner Dia Light 9.01, 20 min",
	"Blondor Freelights + 9 %, foils, 40 min; toner 10/16 + 1.9 %, 15 min", NULL};
static const char *const f_keratin[] = {"Keratin smoothing (formaldehyde-free), 3 passes at 210 °C", NULL};
static const char *const f_toner[] = {"Dia Light 9.01 + 10.12 (1:1), 1.8 % developer, 20 min", NULL};
static const char *const f_facial[] = {"Enzyme peel 5 min, hyaluronic serum, calming mask 15 min",
				       "Deep cleansing, extractions, clay mask 10 min, SPF 30", NULL};
static const char *const f_peel[] = {"Glycolic acid 30 %, 4 min, neutralised",
				     "Mandelic acid 40 %, 6 min, neutralised", NULL};
static const char *const f_wax[] = {"Warm wax (rosin-free), post-wax oil", NULL};
static const char *const f_brow[] = {"Lamination: step 1 8 min, step 2 6 min; tint 3.0 graphite, 2 min",
				     NULL};
static const char *const f_tint[] = {"Tint 3.1 light brown, 4 min; shaped with wax and tweezers", NULL};

typedef struct demo_service {
	const char *name;
	int loc;                     /* location index, -1 = offered at every location */
	int kind;                    /* who performs it: HAIR (stylist) or COSMETIC (cosmetologist) */
	int minutes;                 /* multiples of 15: the day layout relies on it */
	int price_cents, weight;     /* weight: how often it is booked */
	const char *const *products; /* NULL: nothing worth noting in the visit */
} demo_service;

static const demo_service menu[] = {
	{"Women's cut & blow-dry", -1, HAIR, 60, 4500, 10, NULL},
	{"Men's cut", -1, HAIR, 30, 2200, 8, NULL},
	{"Blow-dry", -1, HAIR, 30, 2500, 5, NULL},
	{"Root colour", -1, HAIR, 75, 5200, 5, f_colour},
	{"Full colour", -1, HAIR, 90, 6900, 4, f_colour},
	{"Balayage", 0, HAIR, 150, 14500, 2, f_balayage},
	{"Keratin treatment", 0, HAIR, 120, 12000, 1, f_keratin},
	{"Toner & gloss", 1, HAIR, 30, 2800, 3, f_toner},
	{"Classic facial", -1, COSMETIC, 60, 5500, 6, f_facial},
	{"Chemical peel", 1, COSMETIC, 45, 6500, 2, f_peel},
	{"Manicure", -1, COSMETIC, 45, 2800, 8, NULL},
	{"Pedicure", 1, COSMETIC, 60, 3500, 4, NULL},
	{"Leg waxing", -1, COSMETIC, 45, 3200, 3, f_wax},
	{"Brow lamination", 0, COSMETIC, 45, 3900, 3, f_brow},
	{"Brow tint & shape", -1, COSMETIC, 30, 1800, 5, f_tint},
};
#define NSVC NELEM(menu)

static const char *const first_f[] = {
	"Ana",   "Maja",   "Eva",  "Nina",  "Sara",   "Petra",   "Katja",  "Tina",    "Mojca",  "Urška",
	"Špela", "Nika",   "Lara", "Zala",  "Tjaša",  "Barbara", "Mateja", "Alenka",  "Irena",  "Vesna",
	"Anja",  "Maruša", "Neža", "Manca", "Polona", "Helena",  "Jasna",  "Metka",   "Darja",  "Tanja",
	"Klara", "Brina",  "Lana", "Ema",   "Vida",   "Mira",    "Simona", "Andreja", "Sabina", "Vanja"};
static const char *const first_m[] = {"Luka",   "Jan",    "Marko",  "Matej",   "Žiga",   "Nejc",  "Rok",
				      "Tomaž",  "Gregor", "Andrej", "Boštjan", "Aleš",   "Miha",  "Jure",
				      "Primož", "Anže",   "Blaž",   "Gašper",  "Klemen", "Matic", "Uroš",
				      "Janez",  "Franc",  "David",  "Tilen"};
static const char *const surnames[] = {
	"Novak",  "Horvat",   "Kovačič", "Krajnc",  "Zupančič", "Potočnik", "Kovač",    "Mlakar",
	"Kos",    "Vidmar",   "Golob",   "Turk",    "Božič",    "Kralj",    "Zupan",    "Bizjak",
	"Hribar", "Korošec",  "Rozman",  "Kotnik",  "Oblak",    "Petek",    "Kastelic", "Žagar",
	"Kolar",  "Košir",    "Koren",   "Mežnar",  "Zajc",     "Medved",   "Hočevar",  "Jereb",
	"Pirc",   "Debeljak", "Rupnik",  "Breznik", "Leban",    "Dolenc",   "Perko",    "Erjavec"};
/* What tells one demo organisation from another. The first is the demo
 * salon everyone knows (README walk-through); a second one exists so that the
 * security tests can try to reach across organisations. Its salt is mixed
 * into the seed; the first one's is 0, so it stays what it always was. */
typedef struct demo_flavour {
	const char *org_name;
	const char *loc_name[NLOC], *loc_address[NLOC], *loc_phone[NLOC];
	const char *staff_domain;    /* staff e-mails: first.last@staff_domain */
	const char *mail_domains[3]; /* clients'; distinct per organisation, so portal e-mails are too */
	const char *streets[NLOC][8], *towns[NLOC][6];
	uint64_t salt;
} demo_flavour;

static const demo_flavour flavours[DEMO_MAX_ORGS] = {
	{"Studio Lepota d.o.o.",
	 {"Lepota Center", "Lepota Maribor"},
	 {"Čopova ulica 14, 1000 Ljubljana", "Gosposka ulica 9, 2000 Maribor"},
	 {"+386 1 426 11 20", "+386 2 250 33 40"},
	 "lepota.example",
	 {"mail.example", "post.example", "inbox.example"},
	 {{"Slovenska cesta", "Trubarjeva cesta", "Celovška cesta", "Dunajska cesta", "Tržaška cesta",
	   "Zaloška cesta", "Poljanska cesta", "Vodnikova cesta"},
	  {"Partizanska cesta", "Gosposvetska cesta", "Koroška cesta", "Ptujska cesta", "Titova cesta",
	   "Tržaška cesta", "Ulica Vita Kraigherja", "Smetanova ulica"}},
	 {{"1000 Ljubljana", "1000 Ljubljana", "1000 Ljubljana", "1230 Domžale", "1360 Vrhnika",
	   "1290 Grosuplje"},
	  {"2000 Maribor", "2000 Maribor", "2000 Maribor", "2250 Ptuj", "2310 Slovenska Bistrica",
	   "2204 Miklavž na Dravskem polju"}},
	 0},
	{"Salon Svila d.o.o.",
	 {"Svila Koper", "Svila Celje"},
	 {"Pristaniška ulica 12, 6000 Koper", "Prešernova ulica 7, 3000 Celje"},
	 {"+386 5 630 22 10", "+386 3 490 44 50"},
	 "svila.example",
	 {"posta.example", "splet.example", "email.example"},
	 {{"Pristaniška ulica", "Kidričeva ulica", "Ferrarska ulica", "Šmarska cesta", "Ulica 15. maja",
	   "Cankarjeva ulica", "Ankaranska cesta", "Vojkovo nabrežje"},
	  {"Prešernova ulica", "Stanetova ulica", "Mariborska cesta", "Ljubljanska cesta", "Gregorčičeva ulica",
	   "Kersnikova ulica", "Ipavčeva ulica", "Teharska cesta"}},
	 {{"6000 Koper", "6000 Koper", "6000 Koper", "6310 Izola", "6320 Portorož", "6280 Ankaran"},
	  {"3000 Celje", "3000 Celje", "3000 Celje", "3310 Žalec", "3220 Štore", "3202 Ljubečna"}},
	 0x5111a5111a5111a5ull},
};

static const char *const mobile_prefixes[] = {"30", "31", "40", "41", "51", "64", "68", "70", "71"};

#define ALLERGY_PPD 0
static const char *const allergies[] = {"PPD (para-phenylenediamine) in hair dye",
					"nickel",
					"latex",
					"fragrance mix",
					"lanolin",
					"ammonium persulfate (bleach)",
					"methylisothiazolinone",
					"colophony (rosin) in wax"};
/* pregnancy last: men pick among the others */
static const char *const conditions[] = {
	"psoriasis (scalp)",        "atopic dermatitis",      "rosacea",
	"type 2 diabetes",          "contact eczema (hands)", "alopecia areata",
	"pregnancy (2nd trimester)"};
static const char *const medications[] = {"isotretinoin", "antihistamines", "anticoagulants (warfarin)",
					  "topical corticosteroids", "levothyroxine"};
static const char *const skin_hair[] = {
	"fine, colour-treated hair", "thick, curly hair", "oily skin",
	"dry, sensitive skin",       "combination skin",  "grey coverage about 60 %",
	"Fitzpatrick II, sensitive"};
static const char *const preferences[] = {"quiet appointment, no small talk",
					  "prefers mornings",
					  "espresso, no sugar",
					  "likes a long scalp massage",
					  "prefers Saturdays",
					  "fragrance-free products please",
					  "green tea"};
static const char *const client_internal[] = {
	"Often 10 min late; book a buffer", "Referred by a friend; welcome discount used",
	"Pays by card only", "Prefers the same specialist every time", "Sensitive to cold: offer a blanket"};
static const char *const appt_client_notes[] = {
	"Please bring your patch test result", "Please arrive 10 minutes early",
	"Free parking in the courtyard after 17:00", "Please confirm by replying to the SMS"};
static const char *const appt_internal_notes[] = {"Prefers the window chair", "Deposit paid",
						  "Asked for a quiet appointment", "Gift voucher to redeem",
						  "Running late: called ahead"};
static const char *const visit_notes[2][6] = {
	{"Scalp sensitive at nape; used barrier cream", "Client happy with tone; book toner in 6 weeks",
	 "Grey coverage good at temples", "Recommended home care: purple shampoo",
	 "Trimmed 2 cm extra at the client's request", "Dry ends; recommended a weekly mask"},
	{"Mild redness after treatment, resolved in 10 min", "Combination skin; extra hydration on cheeks",
	 "Ingrown hairs on the left shin; advised exfoliation", "Cuticles dry; recommended cuticle oil",
	 "Client prefers a natural brow shape", "Skin reacted well; repeat in 4 weeks"}};

typedef struct demo_acct {
	const char *role; /* owner, manager, reception, specialist, client */
	int loc;          /* location index; -1 = every location (owner) */
	int kind;         /* specialists: HAIR or COSMETIC */
	char id[KT_UUID_LEN + 1];
	char name[64], email[96], phone[24];
	char password[32];
	char hash[crypto_pwhash_STRBYTES];
} demo_acct;

typedef struct demo_client {
	char id[KT_UUID_LEN + 1];
	char email[96]; /* "" when none; kept to make every e-mail unique */
	int home;
	unsigned linked; /* bit l set: linked to location l */
	bool pinned;     /* never visits the other branch (tests need such portal clients) */
	bool ppd;        /* PPD allergy: hair colour must be PPD-free */
} demo_client;

typedef struct demo {
	kt_store *st;
	const demo_flavour *fl;
	demo_rng r;   /* content */
	demo_rng idr; /* ids only: they do not shift when the content follows today's date */
	int64_t id_ms, now, today;
	char org[KT_UUID_LEN + 1], loc[NLOC][KT_UUID_LEN + 1], svc[NSVC][KT_UUID_LEN + 1];
	demo_acct acct[NACCT]; /* staff first, then portal clients */
	int spec[NSPEC];       /* acct index of each specialist */
	demo_client client[NCLIENT];
	int pool[NLOC][NCLIENT * MAX_WEIGHT]; /* clients of a branch, regulars repeated */
	int npool[NLOC];
	unsigned char per_day[NSPEC][NDAYS];
	demo_rng cr;  /* consents: their own stream, so the rest stays as it was */
} demo;

/* A UUIDv7 from the id stream: time part from the id clock. */
static void demo_id(demo *d, char out[KT_UUID_LEN + 1])
{
	uint8_t rnd[10];
	uint64_t a = rng_next(&d->idr), b = rng_next(&d->idr);
	for (int i = 0; i < 8; i++)
		rnd[i] = (uint8_t)(a >> (8 * i));
	rnd[8] = (uint8_t)b;
	rnd[9] = (uint8_t)(b >> 8);
	d->id_ms += 1 + rng_below(&d->idr, 2000);
	kt_uuid7_from(out, d->id_ms, rnd);
}

/* Lower-case ASCII for e-mail local parts: č->c, š->s, ž->z, ć->c, đ->d;
 * anything else outside [a-z0-9] is dropped. */
static void ascii_fold(char *dst, size_t cap, const char *src)
{
	static const struct {
		unsigned char a, b;
		char to;
	} fold[] = {{0xc4, 0x8c, 'c'}, {0xc4, 0x8d, 'c'}, {0xc4, 0x86, 'c'}, {0xc4, 0x87, 'c'},
		    {0xc5, 0xa0, 's'}, {0xc5, 0xa1, 's'}, {0xc5, 0xbd, 'z'}, {0xc5, 0xbe, 'z'},
		    {0xc4, 0x90, 'd'}, {0xc4, 0x91, 'd'}};
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)src; *p && o + 1 < cap; p++) {
		if (*p >= 0x80) {
			for (int i = 0; i < NELEM(fold) && p[1]; i++)
				if (p[0] == fold[i].a && p[1] == fold[i].b) {
					dst[o++] = fold[i].to;
					break;
				}
			while ((p[1] & 0xc0) == 0x80) /* skip the rest of the sequence */
				p++;
		} else if (*p >= 'A' && *p <= 'Z')
			dst[o++] = (char)(*p - 'A' + 'a');
		else if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
			dst[o++] = (char)*p;
	}
	dst[o] = 0;
}

static void demo_phone(demo *d, char out[24])
{
	const char *prefix = PICK(&d->r, mobile_prefixes);
	int a = rng_below(&d->r, 1000), b = rng_below(&d->r, 1000);
	snprintf(out, 24, "+386 %s %03d %03d", prefix, a, b);
}

/* A strong, distinct, pronounceable password such as "Koral-4821-Kqm". */
static void demo_password(demo *d, int upto, char out[32])
{
	static const char *const words[] = {"Lepota", "Koral", "Jasmin", "Lilija", "Vrtnica",  "Perla",
					    "Iris",   "Breza", "Sonce",  "Zvezda", "Kamelija", "Potonika"};
	static const char upper[] = "ABCDEFGHJKLMNPQRSTUVWXYZ", lower[] = "abcdefghijkmnopqrstuvwxyz";
	bool taken;
	do {
		const char *word = PICK(&d->r, words);
		int number = rng_below(&d->r, 10000);
		char u = upper[rng_below(&d->r, (int)sizeof upper - 1)];
		char l1 = lower[rng_below(&d->r, (int)sizeof lower - 1)];
		char l2 = lower[rng_below(&d->r, (int)sizeof lower - 1)];
		snprintf(out, 32, "%s-%04d-%c%c%c", word, number, u, l1, l2);
		taken = false;
		for (int i = 0; i < upto; i++)
			taken |= strcmp(d->acct[i].password, out) == 0;
	} while (taken);
}

/* Staff accounts: names, e-mails, passwords. Distinct surnames keep the
 * e-mails (first.last@lepota.example) unique without numbers. */
static void demo_make_staff(demo *d)
{
	static const char *const roles[] = {"manager", "reception", "specialist", "specialist"};
	int order[NELEM(surnames)], n = 0, nspec = 0;
	for (int i = 0; i < NELEM(surnames); i++)
		order[i] = i;
	for (int i = 0; i < NSTAFF; i++) { /* partial Fisher-Yates */
		int j = i + rng_below(&d->r, NELEM(surnames) - i), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	d->acct[n++] = (demo_acct){.role = "owner", .loc = -1};
	for (int l = 0; l < NLOC; l++)
		for (int k = 0; k < NELEM(roles); k++) {
			if (!strcmp(roles[k], "specialist"))
				d->spec[nspec++] = n;
			d->acct[n++] =
				(demo_acct){.role = roles[k], .loc = l, .kind = k == 3 ? COSMETIC : HAIR};
		}
	for (int i = 0; i < NSTAFF; i++) {
		demo_acct *a = &d->acct[i];
		const char *first = rng_chance(&d->r, 80) ? PICK(&d->r, first_f) : PICK(&d->r, first_m);
		const char *last = surnames[order[i]];
		char f[32], l[32];
		ascii_fold(f, sizeof f, first);
		ascii_fold(l, sizeof l, last);
		snprintf(a->name, sizeof a->name, "%s %s", first, last);
		snprintf(a->email, sizeof a->email, "%s.%s@%s", f, l, d->fl->staff_domain);
		demo_phone(d, a->phone);
		demo_password(d, i, a->password);
	}
	for (int k = 0; k < NPORTAL; k++) { /* name, e-mail and id come with the client */
		demo_acct *a = &d->acct[NSTAFF + k];
		a->role = "client";
		demo_password(d, NSTAFF + k, a->password);
	}
}

/* ---- password hashing: Argon2id is slow on purpose; use both cores ---- */

typedef struct hash_job {
	demo_acct *acct;
	int n, first, step, rc;
} hash_job;

static void *hash_run(void *arg)
{
	hash_job *j = arg;
	for (int i = j->first; i < j->n && !j->rc; i += j->step) {
		demo_acct *a = &j->acct[i];
		if (crypto_pwhash_str(a->hash, a->password, strlen(a->password),
				      crypto_pwhash_OPSLIMIT_INTERACTIVE,
				      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
			j->rc = KT_ENOMEM; /* libsodium fails only when it cannot get the memory */
	}
	return NULL;
}

static int demo_hash_all(demo_acct *acct, int n)
{
	hash_job job[2] = {{acct, n, 0, 2, KT_OK}, {acct, n, 1, 2, KT_OK}};
	pthread_t th;
	bool threaded = pthread_create(&th, NULL, hash_run, &job[1]) == 0;
	if (!threaded)
		job[0].step = 1; /* no second thread: do all of them here */
	hash_run(&job[0]);
	if (threaded && pthread_join(th, NULL) != 0)
		return KT_EINTERNAL;
	return job[0].rc ? job[0].rc : job[1].rc;
}

/* ---- rows ---- */

static int demo_put_org(demo *d)
{
	/* both demo salons are Slovenian businesses */
	char *notice = notice_default(d->fl->org_name, d->fl->loc_address[0], d->fl->loc_phone[0],
				      KT_RETENTION_MONTHS_DEFAULT);
	kt_field o[] = {{"name", d->fl->org_name}, {"country", "SI"}, {"currency", "EUR"}, {"language", "sl"},
			{"privacy_notice", notice}};
	int rc;
	if (!notice)
		return KT_ENOMEM;
	demo_id(d, d->org);
	rc = store_insert(d->st, "organisation", d->org, NULL, o, NELEM(o), NULL);
	free(notice);
	if (rc)
		return rc;
	for (int l = 0; l < NLOC; l++) {
		kt_field f[] = {{"name", d->fl->loc_name[l]},
				{"address", d->fl->loc_address[l]},
				{"phone", d->fl->loc_phone[l]},
				{"time_zone", "Europe/Ljubljana"}};
		demo_id(d, d->loc[l]);
		if ((rc = store_insert(d->st, "location", d->loc[l], d->org, f, NELEM(f), NULL)))
			return rc;
	}
	return KT_OK;
}

static int demo_put_staff(demo *d)
{
	int rc;
	for (int i = 0; i < NSTAFF; i++) {
		demo_acct *a = &d->acct[i];
		kt_field f[] = {{"display_name", a->name}, {"email", a->email}, {"phone", a->phone},
				{"role", a->role},         {"active", "1"},     {"password_hash", a->hash}};
		demo_id(d, a->id);
		if ((rc = store_insert(d->st, "staff", a->id, d->org, f, NELEM(f), NULL)))
			return rc;
		/* owners have no links: they see every location */
		if (a->loc >= 0 && (rc = store_link_staff_location(d->st, a->id, d->loc[a->loc], true)))
			return rc;
	}
	return KT_OK;
}

static int demo_put_services(demo *d)
{
	int rc;
	for (int i = 0; i < NSVC; i++) {
		char minutes[16], price[16];
		snprintf(minutes, sizeof minutes, "%d", menu[i].minutes);
		snprintf(price, sizeof price, "%d", menu[i].price_cents);
		/* who does it: the specialists of its kind where it is offered (the
		 * calendar books each service with one of them) */
		char specs[NSTAFF * (KT_UUID_LEN + 1)] = "";
		for (int k = 0; k < NSTAFF; k++) {
			const demo_acct *a = &d->acct[k];
			if (strcmp(a->role, "specialist") || a->kind != menu[i].kind ||
			    (menu[i].loc >= 0 && a->loc != menu[i].loc))
				continue;
			if (*specs)
				strcat(specs, ",");
			strcat(specs, a->id);
		}
		kt_field f[] = {{"location_id", menu[i].loc < 0 ? NULL : d->loc[menu[i].loc]},
				{"name", menu[i].name},
				{"duration_min", minutes},
				{"price_cents", price},
				{"specialist_ids", specs}};
		demo_id(d, d->svc[i]);
		if ((rc = store_insert(d->st, "service", d->svc[i], d->org, f, NELEM(f), NULL)))
			return rc;
	}
	return KT_OK;
}

static bool email_taken(const demo *d, int upto, const char *email)
{
	for (int i = 0; i < upto; i++)
		if (!strcasecmp(d->client[i].email, email))
			return true;
	return false;
}

/* A plausible personal address, unique among the clients so far (portal
 * sign-in needs uniqueness; the others get it for free). */
static void client_email(demo *d, int i, const char *first, const char *last, int birth_year)
{
	char f[32], l[32], base[80];
	const char *dom = PICK(&d->r, d->fl->mail_domains);
	char *out = d->client[i].email;
	size_t cap = sizeof d->client[i].email;
	ascii_fold(f, sizeof f, first);
	ascii_fold(l, sizeof l, last);
	switch (rng_below(&d->r, 3)) {
	case 0:
		snprintf(base, sizeof base, "%s.%s", f, l);
		break;
	case 1:
		snprintf(base, sizeof base, "%s%s%02d", f, l, birth_year % 100);
		break;
	default:
		snprintf(base, sizeof base, "%c.%s", f[0], l);
		break;
	}
	snprintf(out, cap, "%s@%s", base, dom);
	for (int n = 2; email_taken(d, i, out); n++)
		snprintf(out, cap, "%s%d@%s", base, n, dom);
}

/* One client card; i decides portal accounts (every 25th client). */
static int demo_put_client(demo *d, int i)
{
	demo_client *c = &d->client[i];
	bool portal = i % (NCLIENT / NPORTAL) == 0;
	int k = i / (NCLIENT / NPORTAL), year = 1950 + rng_below(&d->r, 58), rc;
	bool female = rng_chance(&d->r, 75);
	const char *first = female ? PICK(&d->r, first_f) : PICK(&d->r, first_m);
	const char *last = PICK(&d->r, surnames);
	int nconditions = NELEM(conditions) - !female; /* pregnancy is last */
	char name[64], phone[24], bday[16], address[128], allergy[128] = "", patch[96] = "", tested[16];

	demo_id(d, c->id);
	/* the first portal client of each branch never visits the other one */
	c->pinned = portal && k < NLOC;
	c->home = c->pinned ? k : rng_chance(&d->r, 55) ? 0 : 1;
	snprintf(name, sizeof name, "%s %s", first, last);
	client_email(d, i, first, last, year);
	if (!portal && !rng_chance(&d->r, 90))
		c->email[0] = 0;
	demo_phone(d, phone);
	day_text(days_from_civil(year, 1, 1) + rng_below(&d->r, 365), bday);
	const char *street = PICK(&d->r, d->fl->streets[c->home]);
	int number = 1 + rng_below(&d->r, 120);
	snprintf(address, sizeof address, "%s %d, %s", street, number, PICK(&d->r, d->fl->towns[c->home]));
	if (rng_chance(&d->r, 25)) {
		int a = rng_below(&d->r, NELEM(allergies)), b = rng_below(&d->r, NELEM(allergies));
		c->ppd = a == ALLERGY_PPD || (b == ALLERGY_PPD && rng_chance(&d->r, 20));
		if (c->ppd && a != ALLERGY_PPD)
			snprintf(allergy, sizeof allergy, "%s; %s", allergies[a], allergies[ALLERGY_PPD]);
		else
			snprintf(allergy, sizeof allergy, "%s", allergies[a]);
	}
	day_text(d->today - 14 - rng_below(&d->r, 700), tested);
	if (c->ppd)
		snprintf(patch, sizeof patch, "%s PPD positive (++ at 48 h)", tested);
	else if (allergy[0] ? rng_chance(&d->r, 50) : rng_chance(&d->r, 10))
		snprintf(patch, sizeof patch, "%s PPD negative", tested);
	const char *has_phone = rng_chance(&d->r, 95) ? phone : NULL;
	const char *has_bday = rng_chance(&d->r, 80) ? bday : NULL;
	const char *has_address = rng_chance(&d->r, 60) ? address : NULL;
	const char *condition = rng_chance(&d->r, 12) ? conditions[rng_below(&d->r, nconditions)] : NULL;
	const char *medication = rng_chance(&d->r, 8) ? PICK(&d->r, medications) : NULL;
	const char *type = rng_chance(&d->r, 60) ? PICK(&d->r, skin_hair) : NULL;
	const char *preference = rng_chance(&d->r, 30) ? PICK(&d->r, preferences) : NULL;
	const char *internal = rng_chance(&d->r, 15) ? PICK(&d->r, client_internal) : NULL;
	kt_field f[] = {
		{"name", name},
		{"email", c->email[0] ? c->email : NULL},
		{"phone", has_phone},
		{"birthday", has_bday},
		{"address", has_address},
		{"allergies", allergy[0] ? allergy : NULL},
		{"conditions", condition},
		{"medications", medication},
		{"skin_hair_type", type},
		{"patch_tests", patch[0] ? patch : NULL},
		{"preferences", preference},
		{"internal_notes", internal},
		{"portal_enabled", portal ? "1" : "0"},
		{"password_hash", portal ? d->acct[NSTAFF + k].hash : NULL},
	};
	if ((rc = store_insert(d->st, "client", c->id, d->org, f, NELEM(f), NULL)))
		return rc;
	if (portal) {
		demo_acct *a = &d->acct[NSTAFF + k];
		memcpy(a->id, c->id, sizeof a->id);
		snprintf(a->name, sizeof a->name, "%s", name);
		_Static_assert(sizeof a->email == sizeof c->email, "e-mail buffers differ");
		memcpy(a->email, c->email, sizeof a->email);
		a->loc = c->home;
	}
	return KT_OK;
}

/* Home branch, for ~15 % also the other one; regulars weigh more in the
 * pools that appointments draw their clients from. */
static int demo_link_client(demo *d, int i)
{
	static const int weights[] = {1, 1, 1, 2, 2, 3, 4, MAX_WEIGHT};
	demo_client *c = &d->client[i];
	int w = PICK(&d->r, weights), rc;
	c->linked = 1u << c->home;
	if (!c->pinned && rng_chance(&d->r, 15))
		c->linked = (1u << NLOC) - 1;
	for (int l = 0; l < NLOC; l++) {
		if (!(c->linked & (1u << l)))
			continue;
		if ((rc = store_link_client_location(d->st, c->id, d->loc[l])))
			return rc;
		for (int n = 0; n < w; n++)
			d->pool[l][d->npool[l]++] = i;
	}
	return KT_OK;
}

static int demo_put_clients(demo *d)
{
	int rc;
	for (int i = 0; i < NCLIENT; i++)
		if ((rc = demo_put_client(d, i)) || (rc = demo_link_client(d, i)))
			return rc;
	return KT_OK;
}

/* ---- the calendar ---- */

/* Spread n appointments over the specialist-days k in [k0, k1): random, at
 * most MAX_PER_DAY each; with `thin`, days beyond a week ahead are picked
 * less (not everything is booked yet: 100 % of the weight at 7 days down to
 * 20 % at 91). */
static int demo_place(demo *d, const bool *open, int n, int k0, int k1, bool thin)
{
	long tries = 0;
	for (int placed = 0; placed < n;) {
		int s = rng_below(&d->r, NSPEC), k = k0 + rng_below(&d->r, k1 - k0), ahead = k - PAST_DAYS;
		if (++tries > 1000L * NAPPT)
			return KT_EINTERNAL; /* the days cannot hold n: a constant was changed */
		if (!open[k] || d->per_day[s][k] >= MAX_PER_DAY)
			continue;
		if (thin && ahead > 7 && rng_below(&d->r, 100) >= 100 - 80 * (ahead - 7) / (FUTURE_DAYS - 7))
			continue;
		d->per_day[s][k]++;
		placed++;
	}
	return KT_OK;
}

/* How many appointments each specialist has on each day. Four fifths lie
 * in the past (about 6 a day: a busy salon), the rest from today on. */
static int demo_plan(demo *d)
{
	bool open[NDAYS];
	int past = NAPPT * 4 / 5, rc;
	for (int k = 0; k < NDAYS; k++)
		open[k] = salon_open(d->today - PAST_DAYS + k);
	if ((rc = demo_place(d, open, past, 0, PAST_DAYS, false)))
		return rc;
	return demo_place(d, open, NAPPT - past, PAST_DAYS, NDAYS, true);
}

static bool offered(int i, int loc, int kind)
{
	return menu[i].kind == kind && (menu[i].loc < 0 || menu[i].loc == loc);
}

/* A service by popularity among those that fit in `budget` minutes; plain
 * ones only (no products) when it is the second of an appointment, so
 * pairs look like "colour + cut". -1 when none fits. */
static int pick_service(demo *d, int loc, int kind, int budget, bool plain)
{
	int total = 0, x;
	for (int i = 0; i < NSVC; i++)
		if (offered(i, loc, kind) && menu[i].minutes <= budget && (!plain || !menu[i].products))
			total += menu[i].weight;
	if (total == 0)
		return -1;
	x = rng_below(&d->r, total);
	for (int i = 0; i < NSVC; i++)
		if (offered(i, loc, kind) && menu[i].minutes <= budget && (!plain || !menu[i].products)) {
			if (x < menu[i].weight)
				return i;
			x -= menu[i].weight;
		}
	return -1;
}

static int shortest_service(int loc, int kind)
{
	int best = CLOSE_MIN - OPEN_MIN + 1;
	for (int i = 0; i < NSVC; i++)
		if (offered(i, loc, kind) && menu[i].minutes < best)
			best = menu[i].minutes;
	return best;
}

typedef struct slot {
	int minute, minutes; /* local start (minutes after midnight) and length */
	int svc[2], nsvc;
} slot;

/* n appointments of one specialist on one day, back to back in order, with
 * the free time spread as gaps: no two ever overlap. Each appointment's
 * budget leaves room for the shortest service for each one after it. */
static int demo_day_layout(demo *d, const demo_acct *sp, int n, slot *out)
{
	int used = 0, shortest = shortest_service(sp->loc, sp->kind), gaps[MAX_PER_DAY + 1] = {0};
	for (int i = 0; i < n; i++) {
		slot *p = &out[i];
		int budget = CLOSE_MIN - OPEN_MIN - used - shortest * (n - 1 - i);
		p->svc[0] = pick_service(d, sp->loc, sp->kind, budget, false);
		if (p->svc[0] < 0)
			return KT_EINTERNAL; /* the menu lost its short services */
		p->nsvc = 1;
		p->minutes = menu[p->svc[0]].minutes;
		if (menu[p->svc[0]].products && rng_chance(&d->r, 35)) {
			int second = pick_service(d, sp->loc, sp->kind, budget - p->minutes, true);
			if (second >= 0) {
				p->svc[p->nsvc++] = second;
				p->minutes += menu[second].minutes;
			}
		}
		used += p->minutes;
	}
	for (int units = (CLOSE_MIN - OPEN_MIN - used) / 15; units > 0; units--)
		gaps[rng_below(&d->r, n + 1)]++;
	for (int i = 0, t = OPEN_MIN; i < n; i++) {
		t += gaps[i] * 15;
		out[i].minute = t;
		t += out[i].minutes;
	}
	return KT_OK;
}

static int demo_pick_client(demo *d, int loc)
{
	if (rng_chance(&d->r, 3)) { /* now and then a client of the other branch */
		int other = (loc + 1 + rng_below(&d->r, NLOC - 1)) % NLOC;
		int c = d->pool[other][rng_below(&d->r, d->npool[other])];
		if (!d->client[c].pinned)
			return c;
	}
	return d->pool[loc][rng_below(&d->r, d->npool[loc])];
}

static const char *demo_status(demo *d, int64_t start, int64_t end)
{
	int x = rng_below(&d->r, 100);
	if (end <= d->now)
		return x < 90 ? "done" : x < 94 ? "no_show" : "cancelled";
	if (start <= d->now)
		return "confirmed"; /* in the chair right now */
	if (x < 4)
		return "cancelled";
	return (start - d->now < 2 * DAY_MS ? x < 85 : x < 35) ? "confirmed" : "booked";
}

static int nstrings(const char *const *list)
{
	int n = 0;
	while (list[n])
		n++;
	return n;
}

static int demo_put_visit(demo *d, const char *appt_id, const demo_acct *sp, int c, int64_t day,
			  const slot *p, const char *services)
{
	const demo_service *m = &menu[p->svc[0]];
	const char *formula = NULL, *notes;
	char id[KT_UUID_LEN + 1], date[16], photo[2][KT_UUID_LEN + 1], photos[2 * (KT_UUID_LEN + 12)];
	int nphoto = rng_chance(&d->r, 8) ? 1 + rng_chance(&d->r, 40) : 0;

	demo_id(d, id);
	for (int i = 0; i < nphoto; i++)
		demo_id(d, photo[i]);
	if (nphoto == 1)
		snprintf(photos, sizeof photos, "photo:%s.jpg", photo[0]);
	else if (nphoto == 2)
		snprintf(photos, sizeof photos, "photo:%s.jpg,photo:%s.jpg", photo[0], photo[1]);
	if (m->products)
		formula = m->products == f_colour && d->client[c].ppd
				  ? f_ppd_free
				  : m->products[rng_below(&d->r, nstrings(m->products))];
	day_text(day, date);
	notes = rng_chance(&d->r, 55) ? PICK(&d->r, visit_notes[sp->kind]) : NULL;
	kt_field f[] = {
		{"location_id", d->loc[sp->loc]},
		{"client_id", d->client[c].id},
		{"specialist_id", sp->id},
		{"appointment_id", appt_id},
		{"visit_date", date},
		{"services", services},
		{"products_formulas", formula},
		{"treatment_notes", notes},
		{"photos", nphoto ? photos : NULL},
	};
	return store_insert(d->st, "visit", id, d->org, f, NELEM(f), NULL);
}

static int demo_put_appointment(demo *d, const demo_acct *sp, int64_t day, const slot *p)
{
	int c = demo_pick_client(d, sp->loc), rc;
	demo_client *cl = &d->client[c];
	int64_t start = lj_to_utc(day, p->minute), end = start + p->minutes * MIN_MS;
	const char *status = demo_status(d, start, end), *internal = NULL, *note = NULL;
	char id[KT_UUID_LEN + 1], start_s[24], minutes[16], services[2 * (KT_UUID_LEN + 1)];
	bool dye = menu[p->svc[0]].products == f_colour;

	if (!(cl->linked & (1u << sp->loc))) { /* first visit at this branch */
		if ((rc = store_link_client_location(d->st, cl->id, d->loc[sp->loc])))
			return rc;
		cl->linked |= 1u << sp->loc;
	}
	demo_id(d, id);
	snprintf(start_s, sizeof start_s, "%lld", (long long)start);
	snprintf(minutes, sizeof minutes, "%d", p->minutes);
	snprintf(services, sizeof services, "%s%s%s", d->svc[p->svc[0]], p->nsvc > 1 ? "," : "",
		 p->nsvc > 1 ? d->svc[p->svc[1]] : "");
	if (dye && cl->ppd)
		internal = "PPD allergy: PPD-free colour only";
	else if (rng_chance(&d->r, 8))
		internal = PICK(&d->r, appt_internal_notes);
	if (dye && rng_chance(&d->r, 15))
		note = appt_client_notes[0]; /* the patch test reminder */
	else if (rng_chance(&d->r, 6))
		note = PICK(&d->r, appt_client_notes);
	kt_field f[] = {
		{"location_id", d->loc[sp->loc]},
		{"client_id", cl->id},
		{"specialist_id", sp->id},
		{"start_at", start_s},
		{"duration_min", minutes},
		{"services", services},
		{"status", status},
		{"client_note", note},
		{"internal_note", internal},
	};
	if ((rc = store_insert(d->st, "appointment", id, d->org, f, NELEM(f), NULL)))
		return rc;
	return strcmp(status, "done") ? KT_OK : demo_put_visit(d, id, sp, c, day, p, services);
}

/* Day by day, specialist by specialist, so ids follow the calendar. */
static int demo_put_calendar(demo *d)
{
	slot day_slots[MAX_PER_DAY];
	int rc;
	if ((rc = demo_plan(d)))
		return rc;
	for (int k = 0; k < NDAYS; k++)
		for (int s = 0; s < NSPEC; s++) {
			const demo_acct *sp = &d->acct[d->spec[s]];
			int n = d->per_day[s][k];
			if (n == 0)
				continue;
			if ((rc = demo_day_layout(d, sp, n, day_slots)))
				return rc;
			for (int i = 0; i < n; i++)
				if ((rc = demo_put_appointment(d, sp, d->today - PAST_DAYS + k,
							       &day_slots[i])))
					return rc;
		}
	return KT_OK;
}

/* ---- consents ---- */

/* One consent entry: in the salon, recorded by the reception of the
 * client's home branch, or (portal clients) by the client on the portal. */
static int demo_put_consent(demo *d, int i, const char *purpose, bool granted, int64_t at, bool portal)
{
	static const char *const versions[] = {"2024-05", "2025-02"};
	const demo_client *c = &d->client[i];
	const demo_acct *rec = &d->acct[1 + c->home * 4 + 1]; /* owner first, then manager, reception, ... */
	char id[KT_UUID_LEN + 1], at_s[24];
	demo_id(d, id);
	snprintf(at_s, sizeof at_s, "%lld", (long long)at);
	kt_field f[] = {
		{"client_id", c->id},
		{"purpose", purpose},
		{"granted", granted ? "1" : "0"},
		{"at", at_s},
		{"source", portal ? "portal" : "in_salon"},
		{"text_version", versions[at > d->now - 270 * DAY_MS]},
		{"recorded_by", portal ? c->id : rec->id},
		{"recorded_kind", portal ? "client" : "staff"},
	};
	return store_insert(d->st, "consent", id, d->org, f, NELEM(f), NULL);
}

/* A few entries per client: health-data processing for almost everyone
 * (treatments need it), photos and marketing for some; some withdrawn
 * later; portal clients changed one on the portal. */
static int demo_put_consents(demo *d)
{
	static const struct {
		const char *purpose;
		int percent;
	} first[] = {{"health_data", 95}, {"photo_use", 40},          {"marketing_email", 60},
		     {"marketing_sms", 30}, {"birthday_greetings", 40}, {"review_requests", 50}};
	int rc;
	for (int i = 0; i < NCLIENT; i++) {
		int64_t t0 = d->now - (int64_t)(60 + rng_below(&d->cr, 600)) * DAY_MS + rng_below(&d->cr, 8) * HOUR_MS;
		bool portal = i % (NCLIENT / NPORTAL) == 0;
		for (int k = 0; k < NELEM(first); k++) {
			if (!rng_chance(&d->cr, first[k].percent))
				continue;
			if ((rc = demo_put_consent(d, i, first[k].purpose, true, t0 + k * MIN_MS, false)))
				return rc;
			/* one in ten marketing grants is withdrawn at a later visit */
			if (k >= 2 && rng_chance(&d->cr, 10) &&
			    (rc = demo_put_consent(d, i, first[k].purpose, false,
						   t0 + (int64_t)(1 + rng_below(&d->cr, 50)) * DAY_MS, false)))
				return rc;
		}
		if (portal && (rc = demo_put_consent(d, i, "review_requests", i % 2 == 0,
						     d->now - (int64_t)(1 + rng_below(&d->cr, 30)) * DAY_MS, true)))
			return rc;
	}
	return KT_OK;
}

/* The sign-in table; with more than one organisation each line also names
 * its organisation, in a last column (readers go by the header). */
static int demo_print(demo *const *orgs, int norgs, FILE *out)
{
	if (fprintf(out, "role\tlocation\temail\tpassword\tname%s\n", norgs > 1 ? "\torganisation" : "") < 0)
		return KT_EIO;
	for (int k = 0; k < norgs; k++)
		for (int i = 0; i < NACCT; i++) {
			const demo *d = orgs[k];
			const demo_acct *a = &d->acct[i];
			if (fprintf(out, "%s\t%s\t%s\t%s\t%s%s%s\n", a->role,
				    a->loc < 0 ? "*" : d->fl->loc_name[a->loc], a->email, a->password, a->name,
				    norgs > 1 ? "\t" : "", norgs > 1 ? d->fl->org_name : "") < 0)
				return KT_EIO;
		}
	return fflush(out) == 0 && !ferror(out) ? KT_OK : KT_EIO;
}

/* One organisation's accounts, made and hashed before the transaction. */
static demo *demo_new(kt_store *st, uint64_t seed, const demo_flavour *fl, int64_t now, int *rc)
{
	demo *d = calloc(1, sizeof *d);
	if (!d) {
		*rc = KT_ENOMEM;
		return NULL;
	}
	d->st = st;
	d->fl = fl;
	seed ^= fl->salt;
	rng_seed(&d->r, seed);
	rng_seed(&d->idr, seed ^ 0xa5a5a5a55a5a5a5aull); /* a second, independent stream */
	rng_seed(&d->cr, seed ^ 0xc0c0c0c00c0c0c0cull);
	d->id_ms = ID_EPOCH_MS;
	d->now = now;
	d->today = lj_day_of(d->now);
	demo_make_staff(d);
	*rc = demo_hash_all(d->acct, NACCT);
	return d;
}

/* What the booking rules use besides the services' specialists: the
 * holidays of the past half year as closed days (the calendar skipped
 * them) and a week of annual leave for one stylist after the calendar's
 * last day. Written last, so the rest of the demo stays as it was for a
 * seed. No opening or working hours: a salon that has not set them keeps
 * working, and the tests book the demo's specialists at any hour of any
 * day; `admin hours set` adds them. */
static int demo_put_schedule(demo *d)
{
	char id[KT_UUID_LEN + 1], day[16], from[24], to[24];
	int rc;
	for (int k = 0; k < PAST_DAYS; k++) {
		int64_t when = d->today - PAST_DAYS + k;
		if (weekday(when) == 0 || salon_open(when))
			continue;
		day_text(when, day);
		for (int l = 0; l < NLOC; l++) {
			kt_field f[] = {{"location_id", d->loc[l]}, {"day", day}, {"reason", "Public holiday"}};
			demo_id(d, id);
			if ((rc = store_insert(d->st, "closed_day", id, d->org, f, NELEM(f), NULL)))
				return rc;
		}
	}
	for (int k = 0; k < NSTAFF; k++) {
		const demo_acct *a = &d->acct[k];
		if (strcmp(a->role, "specialist"))
			continue;
		int64_t first = d->today + FUTURE_DAYS + 14;
		snprintf(from, sizeof from, "%lld", (long long)lj_to_utc(first, 0));
		snprintf(to, sizeof to, "%lld", (long long)lj_to_utc(first + 7, 0));
		kt_field f[] = {{"staff_id", a->id}, {"from_at", from}, {"to_at", to}, {"reason", "Annual leave"}};
		demo_id(d, id);
		return store_insert(d->st, "time_off", id, d->org, f, NELEM(f), NULL);
	}
	return KT_OK;
}

static int demo_put(demo *d)
{
	int rc;
	if ((rc = demo_put_org(d)) || (rc = demo_put_staff(d)) || (rc = demo_put_services(d)) ||
	    (rc = demo_put_clients(d)) || (rc = demo_put_calendar(d)) || (rc = demo_put_consents(d)) ||
	    (rc = demo_put_schedule(d)))
		return rc;
	return KT_OK;
}

int demo_populate(kt_store *st, uint64_t seed, FILE *out)
{
	return demo_populate_orgs(st, seed, 1, out);
}

int demo_populate_orgs(kt_store *st, uint64_t seed, int norgs, FILE *out)
{
	demo *orgs[DEMO_MAX_ORGS] = {NULL};
	bool in_tx = false;
	int64_t now = kt_now_ms();
	int rc = KT_OK;

	if (!st || !out || norgs < 1 || norgs > DEMO_MAX_ORGS)
		return KT_EINVALID;
	if (sodium_init() < 0)
		return KT_EINTERNAL;
	for (int k = 0; k < norgs && !rc; k++)
		orgs[k] = demo_new(st, seed, &flavours[k], now, &rc);
	if (rc)
		goto out;
	if ((rc = store_begin(st)))
		goto out;
	in_tx = true;
	for (int k = 0; k < norgs; k++)
		if ((rc = demo_put(orgs[k])))
			goto out;
	in_tx = false;
	if ((rc = store_commit(st))) /* rolls back by itself on failure */
		goto out;
	rc = demo_print(orgs, norgs, out);
out:
	if (in_tx)
		store_rollback(st);
	for (int k = 0; k < norgs; k++)
		if (orgs[k]) {
			sodium_memzero(orgs[k], sizeof *orgs[k]); /* passwords */
			free(orgs[k]);
		}
	return rc;
}
