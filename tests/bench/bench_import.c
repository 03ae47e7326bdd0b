/* bench_import.c - a client list of 50,000 imported by the real command
 * (`kartoteka-server import clients`) into a fresh database: a Windows-1250
 * file with ';', Slovenian headers, local phone numbers, D.M.YYYY birthdays
 * and a consent column, the messy path end to end. Prints clients per second
 * and the command's CPU seconds per 1,000 clients; fails above 10 s.
 * usage: kt-bench-import SERVER_BIN [clients] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sodium.h>
#include "db/store.h"
#include "kt_util.h"
#include "bench_util.h"

#define TARGET_S 10.0

/* names in Windows-1250 bytes: Č 0xC8, č 0xE8, š 0x9A, Š 0x8A, ž 0x9E, Ž 0x8E */
static const char *const first[] = {"Ana", "Maja", "Eva", "Nina", "Sara", "Petra", "Tina", "Ur\x9aka",
				    "\x8Eiga", "Luka", "\x8Apela", "Mojca", "Jo\x9Eica", "Neja"};
static const char *const last[] = {"Novak", "Horvat", "Kranjc", "Zupan\xe8i\xe8", "Kova\xe8", "Krajnc",
				   "Poto\xe8nik", "Mlakar", "Vidmar", "Golob", "\xC8" "eba\x9a" "ek", "\x8Au\x9atar"};

static int write_list(const char *path, int n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	fputs("Ime;Priimek;E-po\x9ata;Telefon;Rojstni dan;Naslov;Opombe;Soglasje SMS\r\n", f);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s;%s;stranka%d@example.si;041 %03d %03d;%d.%d.%d;Ulica %d, Ljubljana;\"opomba %d\";%s\r\n",
			first[i % 14], last[(i / 14) % 12], i, (i / 1000) % 1000, i % 1000, 1 + i % 28, 1 + i % 12,
			1950 + i % 50, i, i, i % 3 == 0 ? "da" : i % 3 == 1 ? "ne" : "");
	return fclose(f);
}

/* A fresh database with one organisation and one location, made through the store. */
static int fresh_db(const char *bin, const char *db)
{
	char cmd[1024];
	char org[KT_UUID_LEN + 1], loc[KT_UUID_LEN + 1];
	kt_store *st = NULL;
	const char *msg = NULL;
	snprintf(cmd, sizeof cmd, "'%s' init --db '%s' 2>/dev/null", bin, db);
	if (system(cmd) != 0 || store_open(db, 0, &st, &msg))
		return -1;
	kt_uuid7(org);
	kt_uuid7(loc);
	kt_field o[] = {{"name", "Salon Bench"}};
	kt_field l[] = {{"name", "Bench Center"}, {"time_zone", "Europe/Ljubljana"}};
	int rc = store_insert(st, "organisation", org, NULL, o, 1, NULL) ||
		 store_insert(st, "location", loc, org, l, 2, NULL);
	store_close(st);
	return rc ? -1 : 0;
}

int main(int argc, char **argv)
{
	bench_help(argc, argv, "SERVER_BIN [clients]",
		   "Times `kartoteka-server import clients` of a generated client list (default 50,000) into a fresh database.");
	int n = argc > 2 ? atoi(argv[2]) : 50000, status = 0;
	char dir[] = "/tmp/kt-bench-import-XXXXXX", db[128], csv[128], cmd[256];
	struct rusage ru;
	pid_t pid;

	if (argc < 2 || n < 1) {
		fprintf(stderr, "usage: %s SERVER_BIN [clients]\n", argv[0]);
		return 2;
	}
	if (sodium_init() < 0 || !mkdtemp(dir))
		return 1;
	snprintf(db, sizeof db, "%s/bench.db", dir);
	snprintf(csv, sizeof csv, "%s/stranke.csv", dir);
	if (fresh_db(argv[1], db) || write_list(csv, n)) {
		fprintf(stderr, "cannot prepare %s\n", dir);
		return 1;
	}
	int64_t t0 = kt_mono_us();
	if ((pid = fork()) == 0) {
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
		execl(argv[1], argv[1], "import", "clients", "--db", db, "--location", "Bench", csv, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "the import failed (status %d)\n", status);
		return 1;
	}
	double s = (double)(kt_mono_us() - t0) / 1e6;
	double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		     ru.ru_stime.tv_usec / 1e6;
	/* what was made: every row a card (counted by the store's own connection) */
	kt_store *st = NULL;
	const char *msg = NULL;
	int64_t cards = -1;
	if (store_open(db, KT_STORE_READONLY, &st, &msg) == KT_OK) {
		sqlite3_stmt *q = NULL;
		if (sqlite3_prepare_v2(store_db(st), "SELECT count(*) FROM client", -1, &q, NULL) == SQLITE_OK &&
		    sqlite3_step(q) == SQLITE_ROW)
			cards = sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
		store_close(st);
	}
	printf("import of %d clients (Windows-1250, ';', phones to E.164, birthdays, consents): %.2f s, "
	       "%.0f clients/s, CPU %.2f s (%.3f s per 1,000 clients); target under %.0f s: %s\n",
	       n, s, n / s, cpu, cpu * 1000.0 / n, TARGET_S, s < TARGET_S ? "met" : "MISSED");
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "left %s behind\n", dir);
	if (cards != n) {
		fprintf(stderr, "expected %d cards, the database has %lld\n", n, (long long)cards);
		return 1;
	}
	return s < TARGET_S ? 0 : 1;
}
