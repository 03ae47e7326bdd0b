/* schema.h - the versioned migrations of the authoritative database.
 * Migration N brings PRAGMA user_version from N-1 to N. Never edit a shipped
 * migration: add a new one. store_open() applies what is missing. */
#ifndef KT_SCHEMA_H
#define KT_SCHEMA_H

extern const char *const kt_migrations[];
extern const int kt_migration_count;

/* The names an appointment or visit is written with (migration 20, and
 * store_write.c on every write that sets specialist_id or services): the
 * specialist's display name, and the services' names as a JSON array in the
 * order of `services` ("" for an id with no service row). T: the table, as
 * a string literal. Names may hold commas, hence JSON and not a comma list. */
#define KT_SQL_SPECIALIST_NAME(T) \
	"(SELECT s.display_name FROM staff s WHERE s.id = " T ".specialist_id AND s.org_id = " T ".org_id)"
#define KT_SQL_SERVICE_NAMES(T) \
	"(SELECT json_group_array(n) FROM (SELECT coalesce(v.name, '') AS n FROM json_each(CASE WHEN " \
	"coalesce(" T ".services, '') = '' THEN '[]' ELSE '[\"' || replace(" T ".services, ',', '\",\"') || " \
	"'\"]' END) e LEFT JOIN service v ON v.id = e.value AND v.org_id = " T ".org_id ORDER BY e.key))"

/* Where a staff member works, as staff.location_ids holds it (migration 21,
 * and store_links.c on every change of staff_location): the location ids of
 * their staff_location rows in ascending order as a comma list, "" for none.
 * T: the staff table's name or alias, as a string literal. */
#define KT_SQL_STAFF_LOCATION_IDS(T) \
	"(SELECT coalesce(group_concat(location_id), '') FROM (SELECT sl.location_id FROM staff_location sl " \
	"WHERE sl.staff_id = " T ".id ORDER BY sl.location_id))"

#endif
