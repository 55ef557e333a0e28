/* tf_toggl.h — Toggl client: the built-ins toggl.users and toggl.fetch_day, and the pure
 * request builders and response readers they use (testable and fuzzable offline).
 *
 * toggl.users   with: users (optional: e-mails as a list or a comma-separated string;
 *               an e-mail not in the workspace fails the step, non-retryably, listing
 *               them all), timeout_s (30).
 *               output: {"<user id>": {"email": "<lower-cased e-mail>", "name":
 *               "<full name>" | null}, ...} (a recorded output of an older wf maps
 *               ids to the e-mail alone; every reader takes both)
 * toggl.fetch_day  item: the date "YYYY-MM-DD" (or with.date).
 *               with: page_size (50), users (as above; sent as user_ids), user_map (the
 *               toggl.users output; else inputs[users_stage], users_stage "users"),
 *               max_pages (1000), quota_wait_max_s (3600), timeout_s (30).
 *               output: {"date", "report_timezone" ("+02:00"/"Z"/null), "requests" (the
 *               requests the day needed), "retried" (requests sent again after 429,
 *               402, 5xx or a lost connection), "pages",
 *               "entries": [{id, workspace_id, user_id, username, user_email
 *               (null when unknown), description, start, stop, duration, tag_ids,
 *               project_id, task_id, billable, day}], "skipped": {"running",
 *               "duplicates"}}; entries in response order, de-duplicated by id.
 */
/* Both pace every request through the process's Toggl limiter for the token (tf_limit.h):
 * with.rps requests per second (1), or with.min_interval_s seconds between them; a 429
 * (Retry-After), a 402 or X-Toggl-Quota-Remaining: 0 (until X-Toggl-Quota-Resets-In)
 * holds every request of the token, and a hold longer than with.quota_wait_max_s fails
 * the attempt, retryably, so that the run is resumed once the quota is back. */
/* Either activity reads recorded API answers from files instead when with.sample_dir is
 * set (the offline demo; see tf_sample.h): no credentials, no network. */
#ifndef WF_TF_TOGGL_H
#define WF_TF_TOGGL_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "wfengine.h"

extern const wfi_activity wfa_toggl_users, wfa_toggl_fetch_day;

#define TF_TOGGL_MAX_USERS 1000

/* What is asked of one day. */
typedef struct tf_toggl_query {
  char date[11];           /* YYYY-MM-DD */
  uint32_t page_size;
  const int64_t *user_ids;
  size_t nuser_ids;
} tf_toggl_query;

/* Where the next page starts (from the paging headers). */
typedef struct tf_toggl_cursor {
  int has_id, has_row, has_ts;
  int64_t first_id, first_row_number, first_timestamp;
} tf_toggl_cursor;

/* The exact search body for a page (malloc'd, NUL-terminated). The same query and
 * cursor always give the same bytes, so a retried page is byte-identical. */
int tf_toggl_search_body(const tf_toggl_query *q, const tf_toggl_cursor *cur, char **body,
                         size_t *len);

/* Paging header values (NULL when absent) -> the next cursor. Returns 1 when there is a
 * next page, 0 when the day is complete (no X-Next-Row-Number), WF_EINVAL when a
 * present header is not a non-negative decimal integer (the header's name in *bad). */
int tf_toggl_next_cursor(const char *next_id, const char *next_row, const char *next_ts,
                         tf_toggl_cursor *cur, const char **bad);

/* 1 if s is a valid calendar date YYYY-MM-DD. */
int tf_toggl_valid_date(const char *s);

/* Users response [{id, email, fullname, ...}] -> {"<id>": {"email": "<lower-cased
 * e-mail>", "name": fullname or null}} (malloc'd). Rows without an integer id or a
 * string e-mail are skipped. WF_EINVAL if the body is not a JSON array. */
int tf_toggl_users_parse(const char *buf, size_t len, cJSON **map);
/* A users map value's e-mail and name (NULL when none); a value may also be the e-mail
 * string alone (the map as older versions recorded it). */
const char *tf_toggl_user_email(const cJSON *v);
const char *tf_toggl_user_name(const cJSON *v);

/* E-mails (array of strings, or one comma-separated string) matched case-insensitively
 * against a users map. *ids gets the ids in sorted order without repeats (malloc'd);
 * *unknown the e-mails not found, comma-separated (malloc'd, NULL when all found).
 * WF_EINVAL when `emails` has another shape or more than TF_TOGGL_MAX_USERS. */
int tf_toggl_match_users(const cJSON *emails, const cJSON *map, int64_t **ids, size_t *nids,
                         char **unknown);

/* A day being collected: entries de-duplicated by id, running timers skipped. */
typedef struct tf_toggl_day {
  cJSON *entries;          /* array */
  const cJSON *user_map;   /* borrowed, may be NULL */
  char date[11];
  int64_t workspace_id;    /* copied into every entry; 0 writes null */
  char tz[8];              /* offset of the first start seen, "" when none */
  uint64_t running, duplicates;
  int64_t *seen;           /* open-addressing set of entry ids (0 = empty) */
  size_t seen_cap, seen_n;
  int seen_zero;
} tf_toggl_day;

int tf_toggl_day_init(tf_toggl_day *d, const char *date, const cJSON *user_map);
void tf_toggl_day_clear(tf_toggl_day *d);
/* Add one search response page (a JSON array of rows, or {"data": [...]}). *nrows gets
 * the number of rows of the page. WF_EINVAL when the body has another shape (a message
 * in err), WF_ENOMEM. Malformed rows or entries are skipped, never fatal. */
int tf_toggl_day_add_page(tf_toggl_day *d, const char *buf, size_t len, size_t *nrows,
                          char *err, size_t errcap);
/* The step output for the day (entries moved out of d). */
cJSON *tf_toggl_day_output(tf_toggl_day *d, uint32_t requests, uint32_t retried,
                           uint32_t pages);

#endif
