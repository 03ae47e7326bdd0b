/* bench_desk_data.c - the database of the desk benchmark (bench_desk.mjs): the
 * demo salon (`init --demo --seed 1`: its sign-ins, 500 clients, 5,000
 * appointments) grown to CLIENTS clients and APPTS appointments through the
 * store API, so every value is sealed and valid as if the salon had typed it.
 * What is added all belongs to "Lepota Center": four more specialists (so
 * the day has six columns), two services of theirs, the clients (15 % also
 * at Maribor), and their appointments over six months back and six ahead,
 * at most 10 a specialist-day on the hour (no overlaps), every hour of today
 * booked; a past appointment is done (90 %, with its visit), a no-show or
 * cancelled. One transaction, keys made in one keyring commit first.
 * usage: kt-bench-desk-data SERVER_BIN DB [CLIENTS] [APPTS]
 * Writes DB (+ .key, .keys) and DB.accounts (the demo's sign-in table). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include "kt_util.h"
#include "db/store.h"
#include "db/keyring.h"
#include "bench_util.h"

#define NEWSPEC 4
#define HALF_DAYS 182
#define NDAYS (2 * HALF_DAYS + 1)
#define PER_DAY 10 /* 08:00 .. 17:00 starts, 45 or 60 minutes */

typedef char bid[KT_UUID_LEN + 1];

static uint64_t rs = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n)
{
	rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
	return (uint32_t)(rs % n);
}

static const char *const first[] = {
	"Ana",    "Maja",   "Eva",    "Nina",   "Sara",    "Petra",  "Mojca",  "Tjaša",   "Urška",  "Špela",
	"Nataša", "Barbara", "Katja", "Mateja", "Tina",    "Alenka", "Irena",  "Jožica",  "Vesna",  "Simona",
	"Lara",   "Zala",   "Neža",   "Manca",  "Klara",   "Hana",   "Lea",    "Brigita", "Darja",  "Polona",
	"Marko",  "Luka",   "Jure",   "Matej",  "Tomaž",   "Andrej", "Žiga",   "Rok",     "Blaž",   "Gašper",
	"Zoja",   "Erika",  "Agata",  "Ljudmila", "Olga",  "Helena", "Renata", "Sonja",   "Mirjam", "Tanja",
};
static const char *const last[] = {
	"Novak",   "Horvat",   "Kovačič",  "Krajnc",   "Zupančič", "Potočnik", "Kovač",    "Mlakar",  "Kos",
	"Vidmar",  "Golob",    "Turk",     "Božič",    "Kralj",    "Korošec",  "Zupan",    "Bizjak",  "Hribar",
	"Kotnik",  "Kavčič",   "Rozman",   "Kastelic", "Oblak",    "Petek",    "Žagar",    "Hočevar", "Kolar",
	"Košir",   "Koren",    "Klemenčič", "Zajc",    "Knez",     "Medved",   "Pirc",     "Zupanc",  "Sever",
	"Hrovat",  "Kočevar",  "Jerman",   "Lesjak",   "Jenko",    "Majcen",   "Perko",    "Dolenc",  "Pavlič",
	"Uršič",   "Tomažič",  "Mrak",     "Furlan",   "Vovk",     "Logar",    "Škerjanc", "Čeh",     "Jereb",
	"Gregorič", "Leban",   "Bezjak",   "Breznik",  "Erjavec",  "Ferjančič", "Gorenc",  "Javornik", "Kern",
};
static const char *const notes[] = {
	"Layered cut, shorter at the back.", "Toner 9.1, 20 min.", "Sensitive scalp: mild shampoo.",
	"Wants to grow it out; trim only.", "Root touch-up 6/0 + 6%.", "Curls: diffuser, no brush.",
};
#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int one_id(kt_store *st, const char *sql, const char *arg, char *out)
{
	sqlite3_stmt *s = store_prepare(st, sql);
	int rc = -1;
	if (!s)
		return -1;
	if (arg)
		sqlite3_bind_text(s, 1, arg, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) == SQLITE_ROW) {
		snprintf(out, KT_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(s, 0));
		rc = 0;
	}
	store_finish(st, s);
	return rc;
}

static int count(kt_store *st, const char *tbl)
{
	char sql[96];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", tbl);
	sqlite3_stmt *s = store_prepare(st, sql);
	int n = s && sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
	if (s)
		store_finish(st, s);
	return n;
}

/* ms of local time (Europe/Ljubljana, the process's TZ) on day k of the span */
static int64_t local_ms(const struct tm *today, int k, int minute)
{
	struct tm t = *today;
	t.tm_mday += k - HALF_DAYS;
	t.tm_hour = minute / 60;
	t.tm_min = minute % 60;
	t.tm_sec = 0;
	t.tm_isdst = -1;
	return (int64_t)mktime(&t) * 1000;
}

static void local_day(const struct tm *today, int k, char out[16])
{
	struct tm t = *today;
	t.tm_mday += k - HALF_DAYS;
	t.tm_hour = 12;
	t.tm_isdst = -1;
	time_t x = mktime(&t);
	localtime_r(&x, &t);
	strftime(out, 16, "%Y-%m-%d", &t);
}

#define CHECK(x)                                                                                                       \
	do {                                                                                                           \
		if ((rc = (x))) {                                                                                      \
			fprintf(stderr, "kt-bench-desk-data: %s failed: %s (line %d)\n", #x, kt_strerror(rc),       \
				__LINE__);                                                                             \
			goto fail;                                                                                     \
		}                                                                                                      \
	} while (0)

int main(int argc, char **argv)
{
	bench_help(argc, argv, "SERVER_BIN DB [CLIENTS] [APPTS]",
		   "Makes the desk benchmark's database: the demo salon grown to CLIENTS clients and APPTS appointments.");
	char cmd[1200], org[KT_UUID_LEN + 1], center[KT_UUID_LEN + 1], maribor[KT_UUID_LEN + 1];
	bid spec[NEWSPEC], svc[2];
	const char *msg;
	kt_store *st = NULL;
	int rc = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: %s SERVER_BIN DB [CLIENTS] [APPTS]\n", argv[0]);
		return 2;
	}
	int want_clients = argc > 3 ? atoi(argv[3]) : 5000, want_appts = argc > 4 ? atoi(argv[4]) : 10000;
	if (sodium_init() < 0)
		return 1;
	setenv("TZ", "Europe/Ljubljana", 1);
	tzset();
	snprintf(cmd, sizeof cmd, "rm -f '%s' '%s'.key '%s'.keys '%s'-wal '%s'-shm && '%s' init --db '%s' --demo --seed 1 > '%s'.accounts",
		 argv[2], argv[2], argv[2], argv[2], argv[2], argv[1], argv[2], argv[2]);
	int64_t t0 = kt_now_ms();
	if (system(cmd) != 0) {
		fprintf(stderr, "kt-bench-desk-data: %s failed\n", cmd);
		return 1;
	}
	int64_t t1 = kt_now_ms();
	if (store_open(argv[2], 0, &st, &msg)) {
		fprintf(stderr, "kt-bench-desk-data: cannot open %s: %s\n", argv[2], msg ? msg : "?");
		return 1;
	}
	if (one_id(st, "SELECT id FROM organisation", NULL, org) ||
	    one_id(st, "SELECT id FROM location WHERE name = ?", "Lepota Center", center) ||
	    one_id(st, "SELECT id FROM location WHERE name <> ?", "Lepota Center", maribor)) {
		fprintf(stderr, "kt-bench-desk-data: the demo has no organisation or Lepota Center\n");
		store_close(st);
		return 1;
	}
	int nclients = want_clients - count(st, "client"), nappts = want_appts - count(st, "appointment");
	if (nclients < 1 || nappts < 1) {
		fprintf(stderr, "kt-bench-desk-data: the demo has that much already\n");
		store_close(st);
		return 1;
	}

	bid *cl = calloc((size_t)nclients, sizeof *cl);
	const char **owners = calloc((size_t)nclients, sizeof *owners);
	static int per_day[NEWSPEC][NDAYS];
	if (!cl || !owners)
		return 1;
	for (int i = 0; i < nclients; i++) {
		kt_uuid7(cl[i]);
		owners[i] = cl[i];
	}
	if ((rc = keyring_create_keys(store_keyring(st), owners, nclients))) {
		fprintf(stderr, "kt-bench-desk-data: keys: %s\n", kt_strerror(rc));
		return 1;
	}
	free(owners);

	/* today full, the rest spread at random (at most PER_DAY a specialist-day) */
	int placed = 0;
	for (int s = 0; s < NEWSPEC && placed < nappts; s++)
		for (; per_day[s][HALF_DAYS] < PER_DAY && placed < nappts; placed++)
			per_day[s][HALF_DAYS]++;
	while (placed < nappts) {
		int s = (int)rnd(NEWSPEC), k = (int)rnd(NDAYS);
		if (per_day[s][k] >= PER_DAY)
			continue;
		per_day[s][k]++;
		placed++;
	}

	time_t now_s = time(NULL);
	struct tm today;
	localtime_r(&now_s, &today);
	int64_t now = kt_now_ms();
	CHECK(store_begin(st));
	static const char *const specname[NEWSPEC] = {"Katarina Bench", "Lucija Bench", "Irena Bench", "Tadej Bench"};
	for (int s = 0; s < NEWSPEC; s++) {
		char email[64];
		snprintf(email, sizeof email, "bench.stylist%d@lepota.example", s + 1);
		kt_field f[] = {{"display_name", specname[s]}, {"email", email}, {"role", "specialist"}, {"active", "1"}};
		kt_uuid7(spec[s]);
		CHECK(store_insert(st, "staff", spec[s], org, f, NELEM(f), NULL));
		CHECK(store_link_staff_location(st, spec[s], center, true));
	}
	char specs[NEWSPEC * (KT_UUID_LEN + 1) + 1] = "";
	for (int s = 0; s < NEWSPEC; s++)
		snprintf(specs + strlen(specs), sizeof specs - strlen(specs), "%s%s", s ? "," : "", spec[s]);
	static const char *const svcname[2] = {"Cut & style", "Express blow-dry"};
	static const char *const svcmin[2] = {"60", "45"};
	for (int i = 0; i < 2; i++) {
		kt_field f[] = {{"location_id", center},
				{"name", svcname[i]},
				{"duration_min", svcmin[i]},
				{"price_cents", i ? "2500" : "4500"},
				{"specialist_ids", specs}};
		kt_uuid7(svc[i]);
		CHECK(store_insert(st, "service", svc[i], org, f, NELEM(f), NULL));
	}
	for (int i = 0; i < nclients; i++) {
		char name[96], phone[32], email[128];
		const char *fn = first[rnd(NELEM(first))], *ln = last[rnd(NELEM(last))];
		snprintf(name, sizeof name, "%s %s", fn, ln);
		snprintf(phone, sizeof phone, "+386 %d %03d %03d", 30 + (int)rnd(41), (int)rnd(1000), (int)rnd(1000));
		snprintf(email, sizeof email, "client%d@bench.example", i + 1);
		kt_field f[] = {{"name", name},
				{"email", rnd(10) < 8 ? email : NULL},
				{"phone", rnd(100) < 95 ? phone : NULL},
				{"allergies", rnd(100) < 10 ? "Nickel" : NULL},
				{"portal_enabled", "0"}};
		CHECK(store_insert(st, "client", cl[i], org, f, NELEM(f), NULL));
		CHECK(store_link_client_location(st, cl[i], center));
		if (rnd(100) < 15)
			CHECK(store_link_client_location(st, cl[i], maribor));
	}
	int nvisits = 0;
	for (int k = 0; k < NDAYS; k++)
		for (int s = 0; s < NEWSPEC; s++) {
			int n = per_day[s][k], hours[PER_DAY];
			for (int h = 0; h < PER_DAY; h++)
				hours[h] = h;
			for (int h = 0; h < n; h++) { /* n distinct hours, in order */
				int j = h + (int)rnd((uint32_t)(PER_DAY - h)), x = hours[h];
				hours[h] = hours[j], hours[j] = x;
			}
			for (int a = 1; a < n; a++)
				for (int b = a; b > 0 && hours[b - 1] > hours[b]; b--) {
					int x = hours[b];
					hours[b] = hours[b - 1], hours[b - 1] = x;
				}
			for (int h = 0; h < n; h++) {
				bid id;
				char start[24], day[16];
				int which = (int)rnd(3) == 0, c = (int)rnd((uint32_t)nclients), x = (int)rnd(100);
				int64_t t = local_ms(&today, k, (8 + hours[h]) * 60);
				int64_t end = t + (which ? 45 : 60) * 60000LL;
				const char *status = end <= now ? (x < 90 ? "done" : x < 94 ? "no_show" : "cancelled")
					: t <= now ? "confirmed" : x < 4 ? "cancelled" : x < 40 ? "confirmed" : "booked";
				snprintf(start, sizeof start, "%lld", (long long)t);
				kt_field f[] = {{"location_id", center},   {"client_id", cl[c]},
						{"specialist_id", spec[s]}, {"start_at", start},
						{"duration_min", svcmin[which]}, {"services", svc[which]},
						{"status", status},
						{"client_note", rnd(100) < 5 ? "Running 5 minutes late" : NULL}};
				kt_uuid7(id);
				CHECK(store_insert(st, "appointment", id, org, f, NELEM(f), NULL));
				if (strcmp(status, "done"))
					continue;
				bid vid;
				local_day(&today, k, day);
				kt_field v[] = {{"location_id", center},     {"client_id", cl[c]},
						{"specialist_id", spec[s]},  {"appointment_id", id},
						{"visit_date", day},         {"services", svc[which]},
						{"treatment_notes", rnd(100) < 50 ? notes[rnd(NELEM(notes))] : NULL}};
				kt_uuid7(vid);
				CHECK(store_insert(st, "visit", vid, org, v, NELEM(v), NULL));
				nvisits++;
			}
		}
	CHECK(store_commit(st));
	printf("kt-bench-desk-data: %s: demo in %.1f s, then %d clients, %d appointments, %d visits, 4 specialists in %.1f s "
	       "(now %d clients, %d appointments, %d visits)\n",
	       argv[2], (double)(t1 - t0) / 1000, nclients, nappts, nvisits, (double)(kt_now_ms() - t1) / 1000,
	       count(st, "client"), count(st, "appointment"), count(st, "visit"));
	store_close(st);
	free(cl);
	return 0;
fail:
	store_rollback(st);
	store_close(st);
	return 1;
}
