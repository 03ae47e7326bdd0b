/* bench_org.c - see bench_org.h. Moved here from bench_load.c unchanged in
 * what it makes (same rows, same order, one transaction each). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "bench_org.h"

static int put(kt_store *st, const char *tbl, char id[KT_UUID_LEN + 1], const char *org, const kt_field *f,
	       int n)
{
	kt_uuid7(id);
	return store_insert(st, tbl, id, org, f, n, NULL);
}

void bench_org_free(bench_org *o)
{
	if (!o)
		return;
	free(o->loc);
	free(o->staff);
	free(o->client);
	free(o->appt);
	memset(o, 0, sizeof *o);
}

int bench_org_make(kt_store *st, int nloc, bench_org *o)
{
	static const char *const roles[BENCH_STAFF_PER_LOC] = {"manager", "reception", "specialist", "specialist"};
	char name[64], email[96], start[24];
	kt_field of[] = {{"name", "Bench salon"}};
	kt_field s[] = {{"location_id", NULL}, {"name", "Cut"}, {"duration_min", "45"}, {"price_cents", "3000"}};
	int64_t now = kt_now_ms();

	memset(o, 0, sizeof *o);
	o->nloc = nloc;
	o->loc = calloc((size_t)nloc, sizeof *o->loc);
	o->staff = calloc((size_t)nloc * BENCH_STAFF_PER_LOC, sizeof *o->staff);
	o->client = calloc((size_t)nloc * BENCH_CLIENTS_PER_LOC, sizeof *o->client);
	o->appt = calloc((size_t)nloc * BENCH_APPTS_PER_LOC, sizeof *o->appt);
	if (!o->loc || !o->staff || !o->client || !o->appt || store_begin(st)) {
		bench_org_free(o);
		return -1;
	}
	if (put(st, "organisation", o->org, NULL, of, 1) || put(st, "service", o->service, o->org, s, 4))
		goto fail;
	for (int l = 0; l < nloc; l++) {
		char *loc = o->loc[l];
		bench_id *cl = &o->client[l * BENCH_CLIENTS_PER_LOC];
		snprintf(name, sizeof name, "Branch %02d", l + 1);
		kt_field lf[] = {{"name", name}, {"address", "Bench street 1"}, {"time_zone", "Europe/Ljubljana"}};
		if (put(st, "location", loc, o->org, lf, 3))
			goto fail;
		for (int k = 0; k < BENCH_STAFF_PER_LOC; k++) {
			char *sid = o->staff[l * BENCH_STAFF_PER_LOC + k];
			snprintf(name, sizeof name, "Staff %02d-%d", l + 1, k);
			snprintf(email, sizeof email, "staff%02d-%d@load.example", l + 1, k);
			kt_field f[] = {{"display_name", name}, {"email", email}, {"role", roles[k]}, {"active", "1"}};
			if (put(st, "staff", sid, o->org, f, 4) || store_link_staff_location(st, sid, loc, true))
				goto fail;
		}
		for (int c = 0; c < BENCH_CLIENTS_PER_LOC; c++) {
			snprintf(name, sizeof name, "Client %02d-%02d", l + 1, c);
			kt_field f[] = {{"name", name}, {"phone", "+386 40 000 000"}};
			if (put(st, "client", cl[c], o->org, f, 2) || store_link_client_location(st, cl[c], loc))
				goto fail;
		}
		for (int a = 0; a < BENCH_APPTS_PER_LOC; a++) {
			snprintf(start, sizeof start, "%lld", (long long)(now + (int64_t)(a + 1) * 3600 * 1000));
			kt_field f[] = {{"location_id", loc},
					{"client_id", cl[a % BENCH_CLIENTS_PER_LOC]},
					{"specialist_id", o->staff[l * BENCH_STAFF_PER_LOC + 2 + a % 2]},
					{"start_at", start},
					{"duration_min", "45"},
					{"services", o->service},
					{"status", "booked"}};
			if (put(st, "appointment", o->appt[l * BENCH_APPTS_PER_LOC + a], o->org, f, 7))
				goto fail;
		}
	}
	if (store_commit(st) == 0)
		return 0;
	bench_org_free(o);
	return -1;
fail:
	store_rollback(st);
	bench_org_free(o);
	return -1;
}

int bench_org_db(bench_server *b, const char *server_bin, const char *name, kt_store **st)
{
	char cmd[1024];
	const char *msg;

	memset(b, 0, sizeof *b);
	snprintf(b->dir, sizeof b->dir, "/tmp/kt-bench-XXXXXX");
	if (!mkdtemp(b->dir))
		return -1;
	snprintf(b->db, sizeof b->db, "%s/%s", b->dir, name);
	snprintf(cmd, sizeof cmd, "%s init --db %s 2>/dev/null", server_bin, b->db);
	if (system(cmd) != 0 || store_open(b->db, 0, st, &msg))
		return -1;
	return 0;
}

int bench_sessions_begin(bench_sessions *m, kt_store *st)
{
	size_t len;
	m->st = st;
	if (store_meta_get(st, "token_key", m->key, sizeof m->key, &len) || len != sizeof m->key)
		return -1;
	return store_begin(st) ? -1 : 0;
}

int bench_sessions_make(bench_sessions *m, const char *principal, char device[KT_UUID_LEN + 1], char token[65])
{
	uint8_t tok[32], th[32];
	kt_uuid7(device);
	randombytes_buf(tok, sizeof tok);
	kt_hex(token, tok, sizeof tok);
	crypto_generichash(th, sizeof th, tok, sizeof tok, m->key, sizeof m->key);
	return store_session_create(m->st, th, sizeof th, false, principal, device, kt_now_ms() + 86400 * 1000LL)
		       ? -1
		       : 0;
}

int bench_sessions_end(bench_sessions *m, bool ok)
{
	sodium_memzero(m->key, sizeof m->key);
	if (!ok) {
		store_rollback(m->st);
		return -1;
	}
	return store_commit(m->st) ? -1 : 0;
}
