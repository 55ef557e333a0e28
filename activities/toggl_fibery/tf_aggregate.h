/* tf_aggregate.h — toggl-fibery aggregation of time entries per person, reference and day
 * (DOMAIN §4), and the extraction of references to enrich (entities_to_enrich.json).
 *
 * INPUT (raw_toggl_data.json, DOMAIN §7; written by the fetch stage):
 *   { "run_id", "start_date", "end_date", "report_timezone": str|null,
 *     "user_emails_filter": [email...] | null,
 *     "users": [ {"user_id": int, "email": str, "name": str} ],     -- workspace list
 *     "time_entries": [ {"id": int|str, "user_id": int, "username": str,
 *                        "description": str|null, "start": RFC 3339, "stop": str|null,
 *                        "duration": int seconds, "day": "YYYY-MM-DD", ...} ],
 *     "skipped": {"running": n, "duplicates": n}, ... }
 * tf_raw_assemble builds this object from the outputs of the toggl.users and
 * toggl.fetch_day steps (see tf_toggl.h).
 * Field rules: "seconds" is read when "duration" is absent; an entry without "day" takes
 * the first 10 bytes of "start" (its local date in the report timezone). Entries are
 * de-duplicated by id (first kept); "stop" null or negative seconds is a running timer
 * (skipped, counted). Person key = lower-cased e-mail of the user id in "users", else
 * "toggl-user-<id>" (with a warning); only when "users" is absent altogether is an
 * entry's "user_email" used. With a non-empty user_emails_filter exactly those persons
 * are reported (0 h when idle) and entries of others are skipped as out of scope.
 *
 * OUTPUT (toggl_aggregated.json):
 *   { "run_id", "aggregated_at", "start_date", "end_date", "report_timezone",
 *     "users": { person key -> {
 *         "person_key", "user_email" (null for unknown users), "user_id", "name",
 *         "known_user": bool,
 *         "matched_entities": [ {"entity_key", "entity_id", "entity_database",
 *             "entity_type", "fibery_type", "resolved", "reason" (null | "unknown_type"
 *             | "type_missing"), "project" (first seen), "projects"[], "names"[],
 *             "duration_seconds", "entries_count", "by_day" {date -> s},
 *             "first_start", "last_stop",
 *             "entries": [{"id", "description_clean", "start", "stop", "duration",
 *                          "day"}]} ],                 -- seconds desc, then key
 *         "unmatched_activities": [ {"description_clean", "duration_seconds",
 *             "entries_count", "by_day", "entry_ids"[]} ],  -- seconds desc, then text
 *         "by_day": {date -> {"total_duration_seconds", "matched_duration_seconds",
 *                             "unmatched_duration_seconds"}},
 *         "statistics": {"total_duration_seconds", "matched_duration_seconds",
 *             "unmatched_duration_seconds", "unresolved_duration_seconds",
 *             "total_entries", "matched_entries", "unmatched_entries",
 *             "entities_count", "activities_count"} } },   -- keys in ascending order
 *     "by_day": {date -> {as per person}},
 *     "skipped": {"running", "duplicates", "out_of_scope"},
 *     "unknown_users": [ {"user_id", "username", "person_key"} ],
 *     "warnings": [str],
 *     "statistics": {"total_users", "total_entries", "total_matched_entities" (distinct
 *         keys), "total_unmatched_activities" (distinct texts), "total_duration_seconds",
 *         "matched_duration_seconds", "unmatched_duration_seconds",
 *         "unresolved_duration_seconds", "unique_entities", "unresolved_references"} }
 * "matched" includes unknown-type and untyped references; an empty description is the
 * activity "(no description)".
 */
#ifndef WF_TF_AGGREGATE_H
#define WF_TF_AGGREGATE_H

#include <cjson/cJSON.h>

#include "tf_parse.h"

#define TF_NO_DESCRIPTION "(no description)"

/* Aggregate raw into *out. al NULL: default aliases. aggregated_at: timestamp to
 * record (NULL: now, UTC). WF_EINVAL when raw has no "time_entries" array; WF_ENOMEM. Bad
 * individual entries never fail: they are counted or defaulted. */
int tf_aggregate(const cJSON *raw, const tf_aliases *al, const char *aggregated_at,
                 cJSON **out);

/* raw_toggl_data.json (the input form above) from the fetch steps' outputs:
 *   days: map date -> toggl.fetch_day output {"date", "report_timezone", "requests",
 *         "pages", "entries": [...], "skipped": {"running", "duplicates"}};
 *   user_map: toggl.users output {"<user id>": {"email", "name"}} (or the e-mail
 *             alone), or NULL when unknown;
 *   users_filter: the requested e-mails (array of strings) or NULL.
 * Days are taken in date order; "users" is built from user_map, a user's name from the
 * map, else the first "username" seen in the entries; "days" ({date, requests,
 * retried, pages, entries}), "skipped" and "statistics" are summed from the days.
 * WF_EINVAL when days is not an object; WF_ENOMEM. */
int tf_raw_assemble(const cJSON *days, const cJSON *user_map, const char *run_id,
                    const char *start_date, const char *end_date, const cJSON *users_filter,
                    const char *fetched_at, cJSON **out);

/* entities_to_enrich.json from an aggregation:
 *   {"by_type": {fibery type -> [public id...]},     -- resolved references only
 *    "unknown_type": [{"key", "seconds", "people": [person key...]}],
 *    "type_missing": [{"key", "seconds", "people": [...]}]}
 * Ids are sorted numerically, then as strings; lists by key. WF_ENOMEM. */
int tf_extract(const cJSON *aggregated, cJSON **out);

#endif
