/* demo.c - a realistic demo salon business, the same for the same seed:
 * 2 locations in Ljubljana time, owner + per location a manager, a
 * receptionist and two specialists, a service menu, 500 clients (some with
 * allergies, some with portal accounts), 5,000 appointments over the past 6
 * and next 3 months without double bookings, visits for past appointments.
 * All rows go through the store API (so the change log sees them) in one
 * transaction. Prints the sign-ins as TSV; nothing secret is logged. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "demo.h"
#include "kt_util.h"

typedef struct rng {
	uint64_t s;
} rng;

static uint64_t next(rng *r) /* splitmix64 */
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int pick(rng *r, int n)
{
	return (int)(next(r) % (uint64_t)n);
}

static bool chance(rng *r, int percent)
{
	return pick(r, 100) < percent;
}

/* Deterministic UUIDv7: time part from ms, the rest from the generator. */
static void new_id(rng *r, int64_t ms, char out[KT_UUID_LEN + 1])
{
	uint8_t b[10];
	uint64_t a = next(r), c = next(r);
	memcpy(b, &a, 8);
	memcpy(b + 8, &c, 2);
	kt_uuid7_from(out, ms, b);
}

static const char *const first_f[] = {"Ana", "Maja", "Eva", "Nina", "Sara", "Petra", "Katja", "Tina",
				      "Mojca", "Urška", "Špela", "Nika", "Lara", "Zala", "Tjaša", "Barbara",
				      "Mateja", "Alenka", "Irena", "Vesna"};
static const char *const first_m[] = {"Luka", "Jan", "Marko", "Matej", "Žiga", "Nejc", "Rok", "Tomaž",
				      "Gregor", "Andrej", "Boštjan", "Aleš", "Miha", "Jure", "Primož"};
static const char *const last[] = {"Novak", "Horvat", "Kovačič", "Krajnc", "Zupančič", "Potočnik",
				   "Kovač", "Mlakar", "Kos", "Vidmar", "Golob", "Turk", "Božič", "Kralj",
				   "Zupan", "Bizjak", "Hribar", "Korošec", "Rozman", "Kotnik"};
static const char *const streets[] = {"Slovenska cesta", "Trubarjeva ulica", "Celovška cesta",
				      "Gosposvetska ulica", "Partizanska cesta", "Tržaška cesta",
				      "Dunajska cesta", "Koroška cesta"};
static const char *const allergies[] = {"PPD (para-phenylenediamine) in hair dye", "nickel", "latex",
					"fragrance mix", "lanolin", "ammonium persulfate (bleach)",
					"methylisothiazolinone"};
static const char *const conditions[] = {"psoriasis (scalp)", "atopic dermatitis", "rosacea",
					 "pregnancy", "diabetes type 2", "contact eczema"};
static const char *const medications[] = {"isotretinoin", "antihistamines", "blood thinners",
					  "topical corticosteroids"};
static const char *const skin_hair[] = {"fine, colour-treated", "thick, curly", "oily skin",
					"dry, sensitive skin", "combination skin", "grey coverage 60 %"};
static const char *const prefs[] = {"quiet appointment, no small talk", "prefers mornings",
				    "espresso, no sugar", "likes a scalp massage", "allergic to perfume: ventilate"};
static const char *const formulas[] = {"Majirel 7/20 + 6 % oxidant 1:1.5, 35 min",
				       "Inoa 6.0 + 9 % 1:1, 30 min; ends 8.1 gloss",
				       "Blond Studio 9+ with 6 %, foils, 45 min",
				       "Glycolic peel 30 %, 4 min, neutralised",
				       "Brow lamination: step 1 8 min, step 2 6 min"};
static const char *const notes[] = {"Scalp sensitive at nape; used barrier cream",
				    "Client happy with tone; book toner in 6 weeks",
				    "Mild redness after peel, resolved in 10 min",
				    "Patch test before next colour", "Recommended home care: purple shampoo"};

typedef struct svc {
	char id[KT_UUID_LEN + 1];
	int loc; /* -1 = every location */
	int dur;
	bool colour;
} svc;

typedef struct acct {
	const char *role;
	int loc; /* -1 = all */
	char id[KT_UUID_LEN + 1];
	char name[160], email[160], password[32];
	char hash[crypto_pwhash_STRBYTES];
} acct;

#define NLOC 2
#define NCLIENT 500
#define NAPPT 5000
#define NPORTAL 20
#define DAY_MS 86400000LL

static const char *const loc_name[NLOC] = {"Lepota Center", "Lepota Maribor"};
static const char *const loc_addr[NLOC] = {"Čopova ulica 14, 1000 Ljubljana", "Gosposka ulica 9, 2000 Maribor"};
static const char *const loc_phone[NLOC] = {"+386 1 426 11 20", "+386 2 250 33 40"};

static void ascii_lower(char *dst, size_t cap, const char *src)
{
	/* e-mail local parts without diacritics: č->c, š->s, ž->z */
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)src; *p && o + 1 < cap; p++) {
		if (*p == 0xc4 && (p[1] == 0x8d || p[1] == 0x8c)) {
			dst[o++] = 'c';
			p++;
		} else if (*p == 0xc5 && (p[1] == 0xa1 || p[1] == 0xa0)) {
			dst[o++] = 's';
			p++;
		} else if (*p == 0xc5 && (p[1] == 0xbe || p[1] == 0xbd)) {
			dst[o++] = 'z';
			p++;
		} else if (*p >= 'A' && *p <= 'Z')
			dst[o++] = (char)(*p + 32);
		else if (*p < 0x80)
			dst[o++] = (char)*p;
	}
	dst[o] = 0;
}

static void make_password(rng *r, char out[32])
{
	static const char up[] = "ABCDEFGHJKLMNPQRSTUVWXYZ", lo[] = "abcdefghijkmnopqrstuvwxyz";
	snprintf(out, 32, "Lepota-%04d-%c%c%c", pick(r, 10000), up[pick(r, 24)], lo[pick(r, 25)],
		 lo[pick(r, 25)]);
}

struct hash_job {
	acct *a;
	int n, stride, start;
	int rc;
};

static void *hash_worker(void *arg)
{
	struct hash_job *j = arg;
	for (int i = j->start; i < j->n; i += j->stride)
		if (crypto_pwhash_str(j->a[i].hash, j->a[i].password, strlen(j->a[i].password),
				      crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
			j->rc = KT_ENOMEM;
	return NULL;
}

/* Argon2id for every account, on two threads (each hash ~0.1 s, 64 MiB). */
static int hash_all(acct *a, int n)
{
	pthread_t th;
	struct hash_job j1 = {a, n, 2, 0, 0}, j2 = {a, n, 2, 1, 0};
	if (pthread_create(&th, NULL, hash_worker, &j2) != 0)
		return KT_ENOMEM;
	hash_worker(&j1);
	pthread_join(th, NULL);
	return j1.rc ? j1.rc : j2.rc;
}

/* Local Ljubljana wall time -> UTC ms (EU rule: CEST from the last Sunday of
 * March 01:00 UTC to the last Sunday of October 01:00 UTC). */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400;
	int yoe = y - era * 400;
	int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (int64_t)era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int64_t last_sunday_utc1(int y, int m)
{
	int64_t end = days_from_civil(y, m + 1, 1) - 1; /* last day of March / October */
	int wd = (int)((end + 4) % 7);                   /* 1970-01-01 was a Thursday (4) */
	return (end - wd) * DAY_MS + 3600000LL;
}

static int64_t local_to_utc(int64_t day, int minute_of_day)
{
	int y, m, d;
	civil_from_days(day, &y, &m, &d);
	int64_t naive = day * DAY_MS + (int64_t)minute_of_day * 60000LL;
	int64_t utc = naive - 3600000LL; /* CET */
	if (utc >= last_sunday_utc1(y, 3) && utc < last_sunday_utc1(y, 10))
		utc -= 3600000LL; /* CEST */
	return utc;
}

static void date_text(int64_t day, char out[11])
{
	int y, m, d;
	civil_from_days(day, &y, &m, &d);
	snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

#define TRY(x)                                                                                     \
	do {                                                                                       \
		if ((rc = (x)))                                                                    \
			goto out;                                                                  \
	} while (0)

int demo_populate(kt_store *st, uint64_t seed, FILE *out)
{
	rng r = {seed * 0x2545f4914f6cdd1dull + 7};
	int64_t now = kt_now_ms(), today = now / DAY_MS, t0 = now - 200 * DAY_MS;
	char org[KT_UUID_LEN + 1], loc[NLOC][KT_UUID_LEN + 1];
	static acct accts[1 + NLOC * 4 + NPORTAL];
	static svc svcs[16];
	static char client_id[NCLIENT][KT_UUID_LEN + 1];
	static int client_home[NCLIENT];
	static bool client_both[NCLIENT];
	int nacct = 0, nsvc = 0, rc = KT_OK;
	char buf[8][160];

	/* accounts first: passwords are hashed before the transaction */
	accts[nacct++] = (acct){.role = "owner", .loc = -1};
	for (int l = 0; l < NLOC; l++) {
		accts[nacct++] = (acct){.role = "manager", .loc = l};
		accts[nacct++] = (acct){.role = "reception", .loc = l};
		accts[nacct++] = (acct){.role = "specialist", .loc = l};
		accts[nacct++] = (acct){.role = "specialist", .loc = l};
	}
	int nstaff = nacct;
	for (int i = 0; i < nstaff; i++) {
		acct *a = &accts[i];
		const char *fn = chance(&r, 75) ? first_f[pick(&r, 20)] : first_m[pick(&r, 15)];
		const char *ln = last[pick(&r, 20)];
		char f[32], l2[32];
		new_id(&r, t0 + i, a->id);
		snprintf(a->name, sizeof a->name, "%s %s", fn, ln);
		ascii_lower(f, sizeof f, fn);
		ascii_lower(l2, sizeof l2, ln);
		snprintf(a->email, sizeof a->email, "%s.%s%d@lepota.example", f, l2, i);
		make_password(&r, a->password);
	}
	for (int i = 0; i < NCLIENT; i++)
		new_id(&r, t0 + 1000 + i, client_id[i]);
	for (int i = 0; i < NPORTAL; i++) {
		acct *a = &accts[nacct++];
		a->role = "client";
		a->loc = -2; /* filled below from the client's home */
		make_password(&r, a->password);
	}
	if ((rc = hash_all(accts, nacct)))
		return rc;

	TRY(store_begin(st));
	new_id(&r, t0, org);
	{
		kt_field f[] = {{"name", "Studio Lepota d.o.o."}};
		TRY(store_insert(st, "organisation", org, NULL, f, 1, NULL));
	}
	for (int l = 0; l < NLOC; l++) {
		kt_field f[] = {{"name", loc_name[l]}, {"address", loc_addr[l]}, {"phone", loc_phone[l]},
				{"time_zone", "Europe/Ljubljana"}};
		new_id(&r, t0 + l, loc[l]);
		TRY(store_insert(st, "location", loc[l], org, f, 4, NULL));
	}
	for (int i = 0; i < nstaff; i++) {
		acct *a = &accts[i];
		snprintf(buf[0], sizeof buf[0], "+386 41 %03d %03d", pick(&r, 1000), pick(&r, 1000));
		kt_field f[] = {{"display_name", a->name}, {"email", a->email}, {"phone", buf[0]},
				{"role", a->role}, {"active", "1"}, {"password_hash", a->hash}};
		TRY(store_insert(st, "staff", a->id, org, f, 6, NULL));
		if (a->loc >= 0)
			TRY(store_link_staff_location(st, a->id, loc[a->loc], true));
	}
	{
		static const struct {
			const char *name;
			int loc, dur, price;
			bool colour;
		} menu[] = {
			{"Women's cut & blow-dry", -1, 60, 4500, false}, {"Men's cut", -1, 30, 2200, false},
			{"Full colour", -1, 90, 6900, true},             {"Balayage", 0, 150, 14500, true},
			{"Blow-dry", -1, 30, 2500, false},               {"Keratin treatment", 0, 120, 12000, false},
			{"Classic facial", -1, 60, 5500, false},         {"Chemical peel", 1, 45, 6500, true},
			{"Manicure", -1, 45, 2800, false},               {"Pedicure", 1, 60, 3500, false},
			{"Brow lamination", -1, 45, 3900, true},         {"Leg waxing", 0, 45, 3200, false},
		};
		for (size_t i = 0; i < sizeof menu / sizeof menu[0]; i++) {
			svc *s = &svcs[nsvc++];
			char dur[16], price[16];
			s->loc = menu[i].loc;
			s->dur = menu[i].dur;
			s->colour = menu[i].colour;
			new_id(&r, t0 + 100 + (int64_t)i, s->id);
			snprintf(dur, sizeof dur, "%d", menu[i].dur);
			snprintf(price, sizeof price, "%d", menu[i].price);
			kt_field f[] = {{"location_id", s->loc < 0 ? NULL : loc[s->loc]},
					{"name", menu[i].name},
					{"duration_min", dur},
					{"price_cents", price}};
			TRY(store_insert(st, "service", s->id, org, f, 4, NULL));
		}
	}
	/* clients; the first NPORTAL get portal accounts */
	for (int i = 0; i < NCLIENT; i++) {
		bool female = chance(&r, 70);
		const char *fn = female ? first_f[pick(&r, 20)] : first_m[pick(&r, 15)], *ln = last[pick(&r, 20)];
		char f1[32], l1[32], bday[11];
		bool portal = i < NPORTAL;
		client_home[i] = pick(&r, NLOC);
		client_both[i] = chance(&r, 15);
		ascii_lower(f1, sizeof f1, fn);
		ascii_lower(l1, sizeof l1, ln);
		snprintf(buf[0], sizeof buf[0], "%s %s", fn, ln);
		snprintf(buf[1], sizeof buf[1], "%s.%s.%d@mail.example", f1, l1, i);
		snprintf(buf[2], sizeof buf[2], "+386 %d %03d %03d", 30 + pick(&r, 41), pick(&r, 1000), pick(&r, 1000));
		date_text(days_from_civil(1950 + pick(&r, 55), 1, 1) + pick(&r, 365), bday);
		snprintf(buf[3], sizeof buf[3], "%s %d, %s", streets[pick(&r, 8)], 1 + pick(&r, 120),
			 client_home[i] ? "2000 Maribor" : "1000 Ljubljana");
		const char *allergy = chance(&r, 25) ? allergies[pick(&r, 7)] : NULL;
		const char *cond = chance(&r, 12) ? conditions[pick(&r, 6)] : NULL;
		const char *med = chance(&r, 8) ? medications[pick(&r, 4)] : NULL;
		const char *sh = chance(&r, 60) ? skin_hair[pick(&r, 6)] : NULL;
		char patch[64] = "";
		if (allergy || chance(&r, 10))
			snprintf(patch, sizeof patch, "%s PPD %s", bday, chance(&r, 80) ? "negative" : "positive");
		kt_field f[] = {
			{"name", buf[0]},
			{"email", chance(&r, 90) || portal ? buf[1] : NULL},
			{"phone", chance(&r, 95) ? buf[2] : NULL},
			{"birthday", chance(&r, 80) ? bday : NULL},
			{"address", chance(&r, 60) ? buf[3] : NULL},
			{"allergies", allergy},
			{"conditions", cond},
			{"medications", med},
			{"skin_hair_type", sh},
			{"patch_tests", patch[0] ? patch : NULL},
			{"preferences", chance(&r, 30) ? prefs[pick(&r, 5)] : NULL},
			{"internal_notes", chance(&r, 15) ? "Often 10 min late; book buffer" : NULL},
			{"portal_enabled", portal ? "1" : "0"},
			{"password_hash", portal ? accts[nstaff + i].hash : NULL},
		};
		TRY(store_insert(st, "client", client_id[i], org, f, 14, NULL));
		TRY(store_link_client_location(st, client_id[i], loc[client_home[i]]));
		if (client_both[i])
			TRY(store_link_client_location(st, client_id[i], loc[1 - client_home[i]]));
		if (portal) {
			acct *a = &accts[nstaff + i];
			memcpy(a->id, client_id[i], sizeof a->id);
			snprintf(a->name, sizeof a->name, "%s", buf[0]);
			snprintf(a->email, sizeof a->email, "%s", buf[1]);
			a->loc = client_home[i];
		}
	}
	/* appointments: each specialist's working days are filled left to right,
	 * so nobody is ever double-booked */
	{
		int nspec = 0, spec_loc[NLOC * 2];
		const char *spec_id[NLOC * 2];
		for (int i = 0; i < nstaff; i++)
			if (!strcmp(accts[i].role, "specialist")) {
				spec_id[nspec] = accts[i].id;
				spec_loc[nspec++] = accts[i].loc;
			}
		int64_t first_day = today - 182, ndays = 273;
		int cursor_min[NLOC * 2];
		int64_t cursor_day[NLOC * 2];
		for (int s = 0; s < nspec; s++) {
			cursor_day[s] = first_day;
			cursor_min[s] = 8 * 60;
		}
		for (int a = 0; a < NAPPT; a++) {
			int s = a % nspec, l = spec_loc[s];
			int c;
			do
				c = pick(&r, NCLIENT);
			while (client_home[c] != l && !client_both[c] && !chance(&r, 3));
			/* one or two services offered at this location */
			int s1, s2 = -1;
			do
				s1 = pick(&r, nsvc);
			while (svcs[s1].loc >= 0 && svcs[s1].loc != l);
			if (chance(&r, 25))
				do
					s2 = pick(&r, nsvc);
				while (s2 == s1 || (svcs[s2].loc >= 0 && svcs[s2].loc != l));
			int dur = svcs[s1].dur + (s2 >= 0 ? svcs[s2].dur : 0);
			/* next free slot: gaps of 0-30 min; Sundays closed; 08:00-20:00 */
			cursor_min[s] += 15 * pick(&r, 5); /* 0-60 min free between clients */
			for (;;) {
				int wd = (int)((cursor_day[s] + 4) % 7);
				if (wd != 0 && cursor_min[s] + dur <= 20 * 60)
					break;
				cursor_day[s]++;
				cursor_min[s] = 8 * 60 + 15 * pick(&r, 4);
			}
			if (cursor_day[s] >= first_day + ndays)
				break; /* calendar full (the numbers leave ~10 % spare: not reached) */
			int64_t start = local_to_utc(cursor_day[s], cursor_min[s]);
			int64_t day = cursor_day[s];
			cursor_min[s] += dur;
			bool past = start + (int64_t)dur * 60000 < now;
			const char *status = past ? (chance(&r, 90) ? "done" : chance(&r, 50) ? "no_show" : "cancelled")
						  : (chance(&r, 5) ? "cancelled" : chance(&r, 50) ? "confirmed" : "booked");
			char id[KT_UUID_LEN + 1], svcl[80], startb[24], durb[12];
			new_id(&r, start, id);
			snprintf(svcl, sizeof svcl, "%s%s%s", svcs[s1].id, s2 >= 0 ? "," : "", s2 >= 0 ? svcs[s2].id : "");
			snprintf(startb, sizeof startb, "%lld", (long long)start);
			snprintf(durb, sizeof durb, "%d", dur);
			kt_field f[] = {
				{"location_id", loc[l]},
				{"client_id", client_id[c]},
				{"specialist_id", spec_id[s]},
				{"start_at", startb},
				{"duration_min", durb},
				{"services", svcl},
				{"status", status},
				{"client_note", chance(&r, 10) ? "Please bring your patch test result" : NULL},
				{"internal_note", chance(&r, 10) ? "Prefers the window chair" : NULL},
			};
			TRY(store_insert(st, "appointment", id, org, f, 9, NULL));
			TRY(store_link_client_location(st, client_id[c], loc[l]));
			if (past && !strcmp(status, "done")) {
				char vid[KT_UUID_LEN + 1], date[11], photo[64];
				bool colour = svcs[s1].colour || (s2 >= 0 && svcs[s2].colour);
				new_id(&r, start + 1, vid);
				date_text(day, date);
				if (chance(&r, 10)) {
					char pid[KT_UUID_LEN + 1];
					new_id(&r, start + 2, pid);
					snprintf(photo, sizeof photo, "photo:%s.jpg", pid);
				}
				kt_field v[] = {
					{"location_id", loc[l]},
					{"client_id", client_id[c]},
					{"specialist_id", spec_id[s]},
					{"appointment_id", id},
					{"visit_date", date},
					{"services", svcl},
					{"products_formulas", colour ? formulas[pick(&r, 5)] : NULL},
					{"treatment_notes", chance(&r, 60) ? notes[pick(&r, 5)] : NULL},
					{"photos", chance(&r, 10) ? photo : NULL},
				};
				if (!v[8].text)
					v[8].text = NULL;
				TRY(store_insert(st, "visit", vid, org, v, 9, NULL));
			}
		}
	}
	TRY(store_commit(st));

	fprintf(out, "role\tlocation\temail\tpassword\tname\n");
	for (int i = 0; i < nacct; i++) {
		const acct *a = &accts[i];
		fprintf(out, "%s\t%s\t%s\t%s\t%s\n", a->role, a->loc < 0 ? "*" : loc_name[a->loc], a->email,
			a->password, a->name);
	}
	fflush(out);
out:
	if (rc)
		store_rollback(st);
	for (int i = 0; i < nacct; i++)
		sodium_memzero(accts[i].password, sizeof accts[i].password);
	return rc;
}
