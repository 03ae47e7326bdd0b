/* admin_message.c - `kartoteka-server admin --db F message ...`: the
 * owner's messages from the command line: the planner's settings, the
 * organisation's own wording and its previews, a client's messages, the
 * delivery counts, reception's list of unconfirmed appointments, campaigns
 * and the daily pass. The same domain functions as the manage ops
 * (handle_messages.c). Prints no address and no message text besides
 * templates and previews. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/admin.h"
#include "cli/say.h"
#include "cli/table.h"
#include "domain/messages.h"
#include "domain/outbox_plan.h"
#include "domain/templates.h"
#include "kt_text.h"

#define fail admin_say_fail

void admin_message_usage(FILE *f)
{
	fprintf(f,
		"usage: kartoteka-server admin --db FILE message SUBCOMMAND\n"
		"  settings [--reminder 24h] [--second-reminder 2h|0] [--quiet 21:00-08:00] [--daily-cap 3]\n"
		"           [--review-after 1d|0] [--review-marketing on|off] [--birthday on|off]\n"
		"           [--nps-every 90d|0] [--csat-every 0] [--ces-every 0] [--survey-delay 2h]\n"
		"           [--org O] [--json]      shows the settings; says what it changed\n"
		"  template list [--org O]         the organisation's own texts (the rest are built in)\n"
		"  template show --kind K --lang L [--channel email|sms] [--org O]   the text in use\n"
		"  template set --kind K --lang L [--channel email|sms] --file F [--subject S] [--org O]\n"
		"                                  F: the text; an e-mail's may start with a line\n"
		"                                  \"Subject: ...\" and a blank line\n"
		"  template clear --kind K --lang L [--channel email|sms] [--org O]   the built-in text again\n"
		"  template preview --kind K [--lang L] [--channel email|sms] [--appointment ID] [--org O]\n"
		"  list --client C [--json]        a client's messages, newest first, with their state\n"
		"  counts [--from DATE] [--to DATE] [--location L] [--org O] [--json]   by kind and state\n"
		"  unconfirmed --location L [--day DATE] [--json]   booked, unconfirmed appointments to call\n"
		"                                  (default: tomorrow)\n"
		"  campaign --file F [--subject S] [--channel email|sms] [--location L]\n"
		"           [--visited-since DATE] [--reconsent] [--org O]\n"
		"                                  to every client whose consent for the channel is granted;\n"
		"                                  --reconsent: to those whose consent was imported without\n"
		"                                  proof, asking them to confirm it\n"
		"  daily                           plan today's birthday greetings now (serve does it hourly)\n"
		"K: " KT_MSG_KINDS "\n"
		"L (--lang): " KT_MSG_LANGS "\n"
		"Placeholders: {first_name} {salon} {branch} {address} {phone} {date} {time} {zone}\n"
		"  {services} {specialist} {confirm_link} {unsubscribe_link} {review_link} {survey_link}\n"
		"  {reconsent_link}; each kind knows some of them (an unknown one is refused, named).\n");
}

#define message_usage admin_message_usage
#define usage_error(...) cli_say("admin message", 2, message_usage, __VA_ARGS__)
/* a value refused: the reason alone, not the whole usage */
#define input_error(...) cli_say("admin message", 2, NULL, __VA_ARGS__)

static int parse(int argc, char **argv, admin_opt *o, int n, const char **pos, int max, int *npos)
{
	return cli_args("admin message", message_usage, argc, argv, o, n, pos, max, npos);
}

/* The organisation: --org, else the only one. */
static int org_of(kt_store *st, const char *text, char org[KT_UUID_LEN + 1])
{
	return admin_want_org(st, text, org);
}

static char *read_file(const char *path, char *err, size_t cap)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;
	if (!f)
		return snprintf(err, cap, "--file %s: cannot be read", path), NULL;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || n > KT_TPL_MAX_BODY + 4096 || fseek(f, 0, SEEK_SET) ||
	    !(buf = malloc((size_t)n + 1)) || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return snprintf(err, cap, "--file %s: cannot be read (at most 16 KiB of text)", path), NULL;
	}
	buf[n] = 0;
	fclose(f);
	return buf;
}

/* "Subject: ...\n\n" at the start of an e-mail's file. */
static void split_subject(char *text, const char **subject, const char **body)
{
	*body = text;
	if (strncmp(text, "Subject: ", 9))
		return;
	char *nl = strchr(text, '\n');
	if (!nl)
		return;
	*nl = 0;
	if (nl > text && nl[-1] == '\r')
		nl[-1] = 0;
	*subject = text + 9;
	*body = nl + 1;
	while (**body == '\n' || **body == '\r')
		(*body)++;
}

/* ---- settings ---- */

/* "24 h", "2 d", "90 min" */
static const char *lead(int min, char *buf, size_t cap)
{
	if (min && min % 1440 == 0)
		snprintf(buf, cap, "%d d", min / 1440);
	else if (min && min % 60 == 0)
		snprintf(buf, cap, "%d h", min / 60);
	else
		snprintf(buf, cap, "%d min", min);
	return buf;
}

static void every(const char *name, int days)
{
	if (days)
		printf("%s	at most every %d days per client\n", name, days);
	else
		printf("%s	off\n", name);
}

static void print_settings(const kt_msg_settings *s, bool json)
{
	char a[32];
	if (json) {
		printf("{\"reminder1_min\": %d, \"reminder2_min\": %d, \"review_request_days\": %d, "
		       "\"review_request_marketing\": %s, \"birthday\": %s, \"quiet_from\": \"%s\", \"quiet_to\": \"%s\", "
		       "\"daily_cap\": %d, \"csat_every_days\": %d, \"nps_every_days\": %d, \"ces_every_days\": %d, "
		       "\"survey_delay_min\": %d}\n",
		       s->reminder1_min, s->reminder2_min, s->review_request_days,
		       s->review_request_marketing ? "true" : "false", s->birthday ? "true" : "false", s->quiet_from,
		       s->quiet_to, s->daily_cap, s->csat_every_days, s->nps_every_days, s->ces_every_days,
		       s->survey_delay_min);
		return;
	}
	printf("setting\tvalue\n");
	if (s->reminder1_min)
		printf("reminder\t%s before\n", lead(s->reminder1_min, a, sizeof a));
	else
		printf("reminder\tnone\n");
	if (s->reminder2_min)
		printf("second reminder\t%s before\n", lead(s->reminder2_min, a, sizeof a));
	else
		printf("second reminder\tnone\n");
	if (s->review_request_days)
		printf("review request\t%d day(s) after the visit, %s\n", s->review_request_days,
		       s->review_request_marketing ? "marketing (needs consent)" : "a service message");
	else
		printf("review request\tnone\n");
	printf("birthday greetings\t%s\n", s->birthday ? "on" : "off");
	printf("quiet hours (SMS)\t%s-%s\n", s->quiet_from, s->quiet_to);
	printf("daily cap\t%d message(s) per client\n", s->daily_cap);
	every("NPS", s->nps_every_days);
	every("CSAT", s->csat_every_days);
	every("CES", s->ces_every_days);
	printf("survey delay\t%s after the visit\n", lead(s->survey_delay_min, a, sizeof a));
}

static int cmd_settings(kt_store *st, int argc, char **argv)
{
	enum { ORG = 11, JSON };
	admin_opt o[] = {{"--reminder"},   {"--second-reminder"}, {"--review-after"}, {"--review-marketing"},
			 {"--birthday"},   {"--quiet"},           {"--daily-cap"},    {"--csat-every"},
			 {"--nps-every"},  {"--ces-every"},       {"--survey-delay"}, {"--org"},
			 {"--json", true}};
	/* the option of each setting, in messages_setting_names' order but quiet, which is two */
	static const char *const keys[] = {"reminder1_min",   "reminder2_min",  "review_request_days",
					   "review_request_marketing", "birthday", NULL,
					   "daily_cap",       "csat_every_days", "nps_every_days",
					   "ces_every_days",  "survey_delay_min"};
	const char *pos[1];
	char org[KT_UUID_LEN + 1], why[320];
	kt_msg_settings s;
	int npos, rc, changes = 0;
	if ((rc = parse(argc, argv, o, 13, pos, 0, &npos)))
		return rc;
	if ((rc = org_of(st, o[ORG].value, org)))
		return rc;
	if ((rc = store_begin(st)))
		return fail("cannot write the settings", kt_strerror(rc));
	if ((rc = messages_settings_get(st, org, &s))) {
		store_rollback(st);
		return fail("cannot read the settings", kt_strerror(rc));
	}
	for (int i = 0; i < ORG; i++) {
		if (!o[i].value)
			continue;
		changes++;
		if (!keys[i]) { /* --quiet FROM-TO */
			char from[16], to[16];
			const char *dash = strchr(o[i].value, '-');
			if (!dash || dash - o[i].value >= 16 || strlen(dash + 1) >= 16) {
				store_rollback(st);
				return usage_error("--quiet: local times FROM-TO, such as 21:00-08:00");
			}
			snprintf(from, sizeof from, "%.*s", (int)(dash - o[i].value), o[i].value);
			snprintf(to, sizeof to, "%s", dash + 1);
			if ((rc = messages_settings_apply(&s, "quiet_from", from, why, sizeof why)) ||
			    (rc = messages_settings_apply(&s, "quiet_to", to, why, sizeof why))) {
				store_rollback(st);
				return input_error("--quiet: %s", why);
			}
			continue;
		}
		if ((rc = messages_settings_apply(&s, keys[i], o[i].value, why, sizeof why))) {
			store_rollback(st);
			return input_error("%s: %s", o[i].name, why);
		}
	}
	rc = changes ? messages_settings_save(st, org, &s) : KT_OK;
	if ((rc = store_end(st, rc, why, sizeof why)))
		return fail("the settings were not saved", kt_strerror(rc));
	if (changes && !o[JSON].seen)
		printf("changed %d setting(s); the messages planned from now on follow them\n", changes);
	print_settings(&s, o[JSON].seen);
	return 0;
}

/* ---- templates ---- */

struct tpl_ctx {
	cli_table *t;
	const char *zone;
};

static int print_template_row(void *user, const char *kind, const char *lang, const char *channel, const char *subject,
			      const char *body, int64_t updated_at)
{
	struct tpl_ctx *c = user;
	cli_table *t = c->t;
	char first[80];
	snprintf(first, sizeof first, "%.*s", (int)strcspn(body, "\n"), body);
	cli_table_str(t, kind);
	cli_table_str(t, lang);
	cli_table_str(t, channel);
	cli_table_str(t, *subject ? subject : "-");
	cli_table_str(t, first);
	cli_table_time(t, c->zone, updated_at);
	cli_table_row_end(t);
	return 0;
}

static int cmd_template(kt_store *st, int argc, char **argv)
{
	enum { KIND, LANG, CHANNEL, FILE_, SUBJECT, APPT, ORG, JSON };
	admin_opt o[] = {{"--kind"}, {"--lang"}, {"--channel"}, {"--file"}, {"--subject"}, {"--appointment"},
			 {"--org"}, {"--json", true}};
	const char *pos[1], *sub = argc > 0 ? argv[0] : "";
	char org[KT_UUID_LEN + 1], why[512] = "", *subject = NULL, *body = NULL;
	int npos, rc, kind = -1, lang = -1;
	bool sms;
	if (argc < 1)
		return usage_error("template list, show, set, clear or preview?");
	if ((rc = parse(argc - 1, argv + 1, o, 8, pos, 0, &npos)))
		return rc;
	if ((rc = org_of(st, o[ORG].value, org)))
		return rc;
	sms = o[CHANNEL].value && !strcmp(o[CHANNEL].value, "sms");
	if (o[CHANNEL].value && !sms && strcmp(o[CHANNEL].value, "email"))
		return usage_error("--channel: email or sms");
	if (!strcmp(sub, "list")) {
		static const char *const cols[] = {"kind", "lang", "channel", "subject", "first_line", "updated"};
		cli_table t;
		char zone[RESOLVE_ZONE];
		resolve_org_zone(st, org, zone);
		struct tpl_ctx c = {&t, zone};
		if (cli_table_begin(&t, o[JSON].seen, cols, 6))
			return fail("out of memory", NULL);
		rc = templates_list(st, org, print_template_row, &c);
		(void)cli_table_end(&t);
		return rc ? fail("cannot read the templates", kt_strerror(rc)) : 0;
	}
	if (strcmp(sub, "show") && strcmp(sub, "set") && strcmp(sub, "clear") && strcmp(sub, "preview"))
		return usage_error("template list, show, set, clear or preview, not '%.40s'", sub);
	if (!o[KIND].value || (kind = templates_kind(o[KIND].value)) < 0)
		return usage_error("--kind: one of " KT_MSG_KINDS);
	if (o[LANG].value && (lang = templates_lang(o[LANG].value)) < 0)
		return usage_error("--lang: one of " KT_MSG_LANGS);
	if (lang < 0 && strcmp(sub, "preview"))
		return usage_error("--lang: one of " KT_MSG_LANGS);
	if (!strcmp(sub, "preview")) {
		char appt[KT_UUID_LEN + 1] = "";
		if (o[APPT].value) {
			if (!kt_uuid_valid(o[APPT].value, strlen(o[APPT].value)))
				return usage_error("--appointment: an appointment's id");
			snprintf(appt, sizeof appt, "%s", o[APPT].value);
		}
		rc = messages_preview(st, org, kind, o[LANG].value, sms, appt[0] ? appt : NULL, &subject, &body, why,
				      sizeof why);
		if (rc)
			return fail("no preview", why);
		if (!sms)
			printf("Subject: %s\n\n", subject);
		fputs(body, stdout);
		if (*body && body[strlen(body) - 1] != '\n')
			putchar('\n');
		free(subject);
		free(body);
		return 0;
	}
	if (!strcmp(sub, "show")) {
		if ((rc = templates_get(st, org, kind, lang, sms, &subject, &body)))
			return fail("cannot read the template", kt_strerror(rc));
		if (!sms)
			printf("Subject: %s\n\n", subject);
		fputs(body, stdout);
		if (*body && body[strlen(body) - 1] != '\n')
			putchar('\n');
		free(subject);
		free(body);
		return 0;
	}
	const char *subj = o[SUBJECT].value, *text = "";
	char *file = NULL;
	if (!strcmp(sub, "set")) {
		if (!o[FILE_].value)
			return usage_error("template set needs --file F (the text)");
		if (!(file = read_file(o[FILE_].value, why, sizeof why)))
			return usage_error("%s", why);
		const char *fs = NULL;
		split_subject(file, &fs, &text);
		if (!subj)
			subj = fs;
		if (!*text) {
			free(file);
			return usage_error("--file: the text is empty (template clear goes back to the built-in text)");
		}
	}
	rc = templates_set(st, org, kind, lang, sms, subj, text, why, sizeof why);
	free(file);
	if (rc)
		return rc == KT_EINVALID ? input_error("%s", why) : fail("not saved", why);
	printf("%s the %s %s template in %s%s\n", !strcmp(sub, "set") ? "saved" : "cleared", templates_kind_name(kind),
	       sms ? "SMS" : "e-mail", templates_lang_code(lang),
	       !strcmp(sub, "set") ? "" : ": the built-in text is used again");
	return 0;
}

/* ---- a client's messages, counts, unconfirmed ---- */

struct list_ctx {
	kt_store *st;
	cli_table *t;
	const char *zone; /* the organisation's, for messages of no branch */
};

static int print_message(void *user, const kt_msg_row *r)
{
	struct list_ctx *c = user;
	char own[RESOLVE_ZONE] = "";
	/* a branch's message in the branch's time: a client of two branches
	 * in two zones sees each reminder at the hour it names */
	if (*r->location)
		resolve_location_zone(c->st, r->location, own);
	const char *zone = *own ? own : c->zone;
	cli_table_int(c->t, r->id);
	cli_table_str(c->t, r->kind);
	cli_table_str(c->t, r->channel);
	cli_table_str(c->t, r->state);
	cli_table_time(c->t, zone, r->created_at);
	cli_table_time(c->t, zone, r->due_at);
	cli_table_time(c->t, zone, r->sent_at);
	cli_table_str(c->t, *r->drop_reason ? r->drop_reason : "-");
	cli_table_row_end(c->t);
	return 0;
}

static int cmd_list(kt_store *st, int argc, char **argv)
{
	static const char *const cols[] = {"id", "kind", "channel", "state", "created", "due", "sent", "drop_reason"};
	admin_opt o[] = {{"--client"}, {"--json", true}};
	const char *pos[1];
	char client[KT_UUID_LEN + 1], org[KT_UUID_LEN + 1], zone[RESOLVE_ZONE] = "";
	cli_table t;
	int npos, rc;
	if ((rc = parse(argc, argv, o, 2, pos, 0, &npos)))
		return rc;
	if (!o[0].value)
		return usage_error("list needs --client C");
	if ((rc = admin_want(st, RESOLVE_CLIENT, NULL, "--client", o[0].value, client)))
		return rc;
	if (resolve_org_of(st, "client", client, org) == KT_OK)
		resolve_org_zone(st, org, zone);
	if (cli_table_begin(&t, o[1].seen, cols, 8))
		return fail("out of memory", NULL);
	struct list_ctx c = {st, &t, zone};
	rc = outbox_client_messages(st, client, 200, print_message, &c);
	(void)cli_table_end(&t);
	return rc ? fail("cannot read the messages", kt_strerror(rc)) : 0;
}

static int print_count(void *user, const char *kind, const char *channel, const char *state, int64_t n)
{
	cli_table *t = user;
	cli_table_str(t, kind);
	cli_table_str(t, channel);
	cli_table_str(t, state);
	cli_table_int(t, n);
	cli_table_row_end(t);
	return 0;
}

static int cmd_counts(kt_store *st, int argc, char **argv)
{
	static const char *const cols[] = {"kind", "channel", "state", "n"};
	admin_opt o[] = {{"--from"}, {"--to"}, {"--location"}, {"--org"}, {"--json", true}};
	const char *pos[1];
	char org[KT_UUID_LEN + 1], zone[RESOLVE_ZONE] = "", err[256];
	resolve_place place;
	int64_t from = 0, to = kt_now_ms() + 1;
	cli_table t;
	int npos, rc;
	if ((rc = parse(argc, argv, o, 5, pos, 0, &npos)))
		return rc;
	if (o[2].value) {
		if (resolve_location(st, NULL, "--location", o[2].value, &place, err, sizeof err))
			return usage_error("%s", err);
		snprintf(org, sizeof org, "%s", place.org);
		snprintf(zone, sizeof zone, "%s", place.zone);
	} else {
		if ((rc = org_of(st, o[3].value, org)))
			return rc;
		resolve_org_zone(st, org, zone);
	}
	if ((o[0].value && kt_text_bound_arg("--from", zone, o[0].value, 0, &from, err, sizeof err)) ||
	    (o[1].value && kt_text_bound_arg("--to", zone, o[1].value, 1, &to, err, sizeof err)))
		return usage_error("%s", err);
	if (from >= to)
		return usage_error("--from must be before --to");
	if (cli_table_begin(&t, o[4].seen, cols, 4))
		return fail("out of memory", NULL);
	rc = outbox_counts(st, org, o[2].value ? place.id : NULL, from, to, print_count, &t);
	(void)cli_table_end(&t);
	return rc ? fail("cannot count", kt_strerror(rc)) : 0;
}

struct unc_ctx {
	cli_table *t;
	const char *zone;
};

static int print_unconfirmed(void *user, const kt_unconfirmed *u)
{
	struct unc_ctx *c = user;
	cli_table_str(c->t, u->id);
	cli_table_time(c->t, c->zone, u->start_at);
	cli_table_str(c->t, u->client_name);
	cli_table_str(c->t, *u->phone ? u->phone : "-");
	cli_table_str(c->t, u->specialist_name);
	cli_table_str(c->t, u->reminder_state);
	cli_table_row_end(c->t);
	return 0;
}

static int cmd_unconfirmed(kt_store *st, int argc, char **argv)
{
	static const char *const cols[] = {"id", "start", "client", "phone", "specialist", "reminder"};
	admin_opt o[] = {{"--location"}, {"--day"}, {"--json", true}};
	const char *pos[1];
	char err[RESOLVE_ERR], day[11];
	resolve_place place;
	cli_table t;
	int npos, rc;
	if ((rc = parse(argc, argv, o, 3, pos, 0, &npos)))
		return rc;
	if (!o[0].value)
		return usage_error("unconfirmed needs --location L");
	if ((rc = resolve_location(st, NULL, "--location", o[0].value, &place, err, sizeof err)))
		return rc == KT_EIO ? fail("cannot read the locations", NULL) : usage_error("%s", err);
	if (o[1].value)
		snprintf(day, sizeof day, "%s", o[1].value);
	else
		messages_tomorrow(st, place.id, kt_now_ms(), day);
	if (cli_table_begin(&t, o[2].seen, cols, 6))
		return fail("out of memory", NULL);
	struct unc_ctx c = {&t, place.zone};
	rc = messages_unconfirmed(st, place.id, day, print_unconfirmed, &c, err, sizeof err);
	(void)cli_table_end(&t);
	if (rc)
		return rc == KT_EINVALID ? input_error("--%s", err) : fail("cannot list", err);
	return 0;
}

/* ---- campaigns, the daily pass ---- */

static int cmd_campaign(kt_store *st, int argc, char **argv)
{
	enum { FILE_, SUBJECT, CHANNEL, LOCATION, SINCE, RECONSENT, ORG };
	admin_opt o[] = {{"--file"},     {"--subject"},        {"--channel"}, {"--location"},
			 {"--visited-since"}, {"--reconsent", true}, {"--org"}};
	const char *pos[1], *subject = NULL, *body = NULL;
	char org[KT_UUID_LEN + 1], id[KT_UUID_LEN + 1], why[512] = "", err[RESOLVE_ERR], *file = NULL;
	resolve_place place;
	int npos, rc, planned = 0;
	if ((rc = parse(argc, argv, o, 7, pos, 0, &npos)))
		return rc;
	if (!o[FILE_].value && !o[RECONSENT].seen)
		return usage_error("campaign needs --file F (the text; --reconsent may use the built-in one)");
	if (o[LOCATION].value) {
		if ((rc = resolve_location(st, NULL, "--location", o[LOCATION].value, &place, err, sizeof err)))
			return rc == KT_EIO ? fail("cannot read the locations", NULL) : usage_error("%s", err);
		snprintf(org, sizeof org, "%s", place.org);
	} else if ((rc = org_of(st, o[ORG].value, org)))
		return rc;
	if (o[FILE_].value) {
		if (!(file = read_file(o[FILE_].value, why, sizeof why)))
			return usage_error("%s", why);
		split_subject(file, &subject, &body);
	}
	if (o[SUBJECT].value)
		subject = o[SUBJECT].value;
	kt_campaign c = {o[RECONSENT].seen ? KT_MSG_RECONSENT : KT_MSG_CAMPAIGN, subject, body, o[CHANNEL].value,
			 o[LOCATION].value ? place.id : NULL, o[SINCE].value};
	rc = messages_campaign(st, org, &c, id, &planned, why, sizeof why);
	free(file);
	if (rc)
		return rc == KT_EINVALID ? input_error("%s", why) : fail("the campaign was not planned", why);
	printf("planned %d message(s)%s: campaign %s\n", planned,
	       o[RECONSENT].seen ? " asking to confirm a consent imported without proof" : "", id);
	return 0;
}

int admin_message(kt_store *st, int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : "";
	if (!strcmp(sub, "help") || !strcmp(sub, "--help")) {
		message_usage(stdout);
		return 0;
	}
	if (!strcmp(sub, "settings"))
		return cmd_settings(st, argc - 1, argv + 1);
	if (!strcmp(sub, "template"))
		return cmd_template(st, argc - 1, argv + 1);
	if (!strcmp(sub, "list"))
		return cmd_list(st, argc - 1, argv + 1);
	if (!strcmp(sub, "counts"))
		return cmd_counts(st, argc - 1, argv + 1);
	if (!strcmp(sub, "unconfirmed"))
		return cmd_unconfirmed(st, argc - 1, argv + 1);
	if (!strcmp(sub, "campaign"))
		return cmd_campaign(st, argc - 1, argv + 1);
	if (!strcmp(sub, "daily")) {
		int n = 0, rc = messages_plan_daily(st, kt_now_ms(), &n);
		if (rc)
			return fail("the daily pass failed", kt_strerror(rc));
		printf("planned %d birthday greeting(s)\n", n);
		return 0;
	}
	return usage_error("message settings, template, list, counts, unconfirmed, campaign or daily?");
}
