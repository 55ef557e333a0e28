/* tf_report_int.h — toggl-fibery report pieces shared by tf_report.c (Toggl summary) and
 * tf_report_fibery.c (person and team reports); not for other modules.
 */
#ifndef WF_TF_REPORT_INT_H
#define WF_TF_REPORT_INT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "tf_util.h"

/* How a reference fared (aggregation reason, then the enrichment record). */
enum tf_rep_status {
  TF_ST_OK = 0,
  TF_ST_NOT_FOUND,
  TF_ST_UNKNOWN_TYPE,
  TF_ST_ERROR,
  TF_ST_NOT_ENRICHED, /* resolved, but no record in enriched_data.json */
  TF_ST_TYPE_MISSING
};

/* Title, period with timezone, run id and generation time. */
void tf_rep_header(tf_sb *b, const char *title, const cJSON *agg, const char *generated_at);
/* The people of agg sorted by total seconds descending, then key (malloc'd array). */
int tf_rep_people(const cJSON *agg, const cJSON ***out, size_t *n);
/* Display name of a person object (its name, else its key). */
const char *tf_rep_name(const cJSON *user);
/* "Name <e-mail>", or the one of them there is when they are the same. */
void tf_rep_person_title(tf_sb *b, const cJSON *user);
/* "Date | Total h | Entities h | Other h" from a by_day object, a row for every day of
 * agg's period (0.00 when there was no time); "No time tracked" when by_day is empty. */
void tf_rep_days_table(tf_sb *b, const cJSON *by_day, const cJSON *agg);
/* The per-person table (Person | Email | Total h | ...); link_dir non-NULL links names
 * to <link_dir>/<stem>.md. */
void tf_rep_people_table(tf_sb *b, const cJSON *const *people, size_t n,
                         const char *link_dir);
/* Cleaned names seen for a reference, "; "-joined, as one table cell. */
void tf_rep_names_cell(tf_sb *b, const cJSON *ref);
/* Status of a reference; *rec gets its enrichment record or NULL. */
int tf_rep_status(const cJSON *ref, const cJSON *enriched, const cJSON **rec);
/* Reason column text for a non-ok status (rec's error message for TF_ST_ERROR). */
void tf_rep_reason_cell(tf_sb *b, int status, const cJSON *rec);
/* "## Warnings" from agg's warnings plus `extra` (may be NULL); nothing when none. */
void tf_rep_warnings(tf_sb *b, const cJSON *agg, const char *extra);
/* Finish: hand over the text or report the allocation failure. */
int tf_rep_finish(tf_sb *b, char **md);

#endif
