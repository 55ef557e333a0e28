/* tf_util.h — toggl-fibery helpers shared by aggregation and reports: run-file I/O with
 * atomic replacement, a growable text buffer for Markdown, JSON field access, and the
 * display rules for hours, shares and person file names (DOMAIN §4, §7).
 */
#ifndef WF_TF_UTIL_H
#define WF_TF_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Run-file names relative to the run directory (DOMAIN §7). */
#define TF_RAW_FILE "raw_toggl_data.json"
#define TF_AGG_FILE "toggl_aggregated.json"
#define TF_EXTRACT_FILE "entities_to_enrich.json"
#define TF_ENRICHED_FILE "enriched_data.json"
#define TF_TOGGL_REPORT "reports/toggl_summary.md"
#define TF_TEAM_REPORT "reports/team_summary.md"
#define TF_PEOPLE_DIR "reports/individual"

/* Parse dir/rel. WF_ENOTFOUND when absent, WF_ECORRUPT when not JSON, WF_EIO, WF_ENOMEM. */
int tf_read_json(const char *dir, const char *rel, cJSON **out);
/* Replace dir/rel with data[len]: write a temporary file beside it, fsync, rename.
 * Creates missing folders of rel. WF_EIO, WF_EINVAL (path too long). */
int tf_write_file(const char *dir, const char *rel, const char *data, size_t len);
/* Same with the formatted JSON text of j and a final newline. */
int tf_write_json(const char *dir, const char *rel, const cJSON *j);

/* Growable text; after an allocation failure `err` stays set and appends do nothing. */
typedef struct tf_sb {
  char *p;
  size_t n, cap;
  int err;
} tf_sb;

void tf_sb_puts(tf_sb *b, const char *s);
void tf_sb_printf(tf_sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Text as one Markdown table cell: "|" escaped, line breaks as spaces, "" as "—". */
void tf_sb_cell(tf_sb *b, const char *s);
void tf_sb_free(tf_sb *b);

/* Field access that tolerates missing keys and wrong types. */
const char *tf_jstr(const cJSON *o, const char *key); /* NULL unless a string */
/* Room for element n of the array *v of *cap elements of sz bytes: doubles it (from 16)
 * when n has reached *cap, zeroing the new elements. WF_ENOMEM leaves it as it was. */
int tf_grow(void **v, size_t *cap, size_t n, size_t sz);

int64_t tf_jint(const cJSON *o, const char *key);     /* 0 unless a number */
int tf_jbool(const cJSON *o, const char *key);        /* 1 only for true */
cJSON *tf_jnull_str(const char *s);                   /* string, or null for NULL */

/* seconds / 3600 as "%.2f"; 100 * part / total as "%.1f" (0.0 when total is 0). */
void tf_hours(char buf[32], int64_t seconds);
void tf_share(char buf[32], int64_t part, int64_t total);

/* Individual report file stem: person key with bytes outside [a-z0-9._+@-] as "_". */
void tf_person_stem(const char *key, char *buf, size_t cap);

/* 1 when s is a date YYYY-MM-DD that exists; the day after it, written over it. */
int tf_valid_day(const char *s);
void tf_next_day(char day[11]);

/* Current UTC time as "YYYY-MM-DDTHH:MM:SSZ". */
void tf_utc_now(char buf[32]);

#endif
