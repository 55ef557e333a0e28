/* tf_report.h — toggl-fibery Markdown reports (DOMAIN §8.2): the Toggl-only summary, one
 * report per person and the team summary. Deterministic for the same inputs, no LLM.
 *
 * Inputs: `agg` is toggl_aggregated.json (tf_aggregate.h). `enriched` is
 * enriched_data.json as written by the enrichment stage (DOMAIN §6.4, §7), or NULL when
 * it is missing (every resolved reference is then listed as "not enriched"):
 *   { "run_id", "enriched_at",
 *     "enriched_entities": [ { "entity_key": "Scrum/Task#7658",   -- the join key
 *         "entity_id", "entity_type": "Scrum/Task", "database", "public_id",
 *         "status": "ok" | "not_found" | "unknown_type" | "error",
 *         "error": str|null, "fibery_id", "name", "state", "url",
 *         "enriched_data": { "started", "completed", "planned_end" (dates, optional),
 *             "description_md", "assignees": [{"name", "email"}],
 *             "parent": {"entity_key", "name"}, ...config aliases -> values },
 *         "enriched_at" } ],
 *     "unknown_type": [{"key", "seconds", "people"}], "type_missing": [...],
 *     "statistics": {"requested", "ok", "not_found", "unknown_type", "type_missing",
 *                    "error", "fibery_requests", "fibery_retried"},
 *     "warnings": [str] }   -- the enrichment's: fields and types the workspace lacks
 * Entities are joined on entity_key only (never the public id alone). A reference whose
 * key is absent from enriched_entities is reported as not enriched, never an error.
 *
 * generated_at NULL takes the time recorded in the inputs (aggregated_at, or enriched_at
 * for the Fibery reports), so regenerating from the same run files gives the same bytes.
 * All functions return 0 with a malloc'd NUL-terminated Markdown text in *md, or
 * WF_ENOMEM / WF_EINVAL (agg is not an aggregation object; unknown person).
 */
#ifndef WF_TF_REPORT_H
#define WF_TF_REPORT_H

#include <cjson/cJSON.h>

/* enriched_data.json (the shape above) from the fibery.enrich outputs (tf_fibery.h):
 * `batches` is the fan-out stage output, item key -> {"type", "requests", "retried",
 * "entities": {entity key -> record}, "warnings"}; a record's "fields" become
 * "enriched_data" (plus "description_md", and "parent" derived from a "parent" or
 * "feature" relation). `extract` (entities_to_enrich.json, may be NULL) supplies
 * unknown_type/type_missing; `schema` (the fibery.schema output, may be NULL) its
 * requests. The batches' warnings are kept once each. Records are sorted by entity
 * key. WF_ENOMEM. */
int tf_enriched_assemble(const cJSON *batches, const cJSON *extract, const cJSON *schema,
                         const char *run_id, const char *enriched_at, cJSON **out);

/* reports/toggl_summary.md: needs nothing from Fibery. */
int tf_report_toggl(const cJSON *agg, const char *generated_at, char **md);
/* reports/individual/<stem>.md for person key `person` (tf_person_stem gives the stem). */
int tf_report_person(const cJSON *agg, const cJSON *enriched, const char *person,
                     const char *generated_at, char **md);
/* reports/team_summary.md; links to individual/<stem>.md. */
int tf_report_team(const cJSON *agg, const cJSON *enriched, const char *generated_at,
                   char **md);

#endif
