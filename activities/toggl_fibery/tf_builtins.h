/* tf_builtins.h — toggl-fibery built-in activities over the run directory (DOMAIN §1, §7).
 *
 * Each reads its inputs from earlier stage outputs (step input "inputs") or from the run
 * files, writes its files into job->run_dir atomically and outputs a small JSON summary
 * with paths relative to the run directory. They finish inside start(), except the two
 * report built-ins when summaries are configured (WF_LLM_BASE, see tf_llm.h): they then
 * finish when the summary call does. Missing input files fail the step without retry;
 * I/O errors are retryable.
 *
 * tf.aggregate     with: days_stage ("fetch": the toggl.fetch_day fan-out, a map date ->
 *                  day output), users_stage ("users": the toggl.users map), start_date,
 *                  end_date, users (e-mails, list or comma-separated; default
 *                  params.*), config (enrichment config object) or enrichment (object,
 *                  or config path + enrichment_override, as fibery.enrich takes them):
 *                  its aliases and types feed the parser. With the fetch outputs in inputs
 * it writes raw_toggl_data.json first; otherwise it reads that file. Writes
 * toggl_aggregated.json. output: {"raw", "aggregated", "persons", "entries", "references",
 *                  "unresolved", "total_seconds", "warnings"}
 * tf.extract       reads toggl_aggregated.json; writes entities_to_enrich.json.
 *                  with: batch_size (ids per batch; absent or 0: the enrichment
 *                  config's batch_size, from with.enrichment (+ enrichment_override)
 *                  as tf.aggregate takes it, else 50).
 *                  output: {"path", "types", "ids", "unknown_type", "type_missing",
 *                  "by_type": {type -> [ids]}, "batches": [{"key", "type", "ids"}]}
 *                  (batches are the items of the fibery.enrich fan-out)
 * tf.report_toggl  reads toggl_aggregated.json; writes reports/toggl_summary.md.
 *                  output: {"path", "persons"}
 * tf.report_people with: enrich_stage ("enrich": the fibery.enrich fan-out),
 *                  schema_stage ("schema": the fibery.schema output, for its requests).
 *                  With the enrich outputs in inputs, enriched_data.json is written from
 *                  them (and entities_to_enrich.json); otherwise the file is read, and
 *                  when it is absent too the reports say so. Writes
 *                  reports/individual/<stem>.md for every person in the aggregation.
 *                  output: {"enriched", "files": [...], "persons", "ok", "not_found",
 *                  "unknown_type", "type_missing", "error"}
 * tf.report_team   with: enrich_stage and schema_stage as above (used without writing
 *                  the file), else enriched_data.json. Writes reports/team_summary.md.
 *                  output: {"path", "persons", "enriched", "metadata": {"counts":
 *                  {"entries", "persons", "references", "ok", "not_found",
 *                  "unknown_type", "type_missing", "error", "toggl_requests",
 *                  "toggl_retried", "fibery_requests", "fibery_retried"}, "warnings":
 *                  [every warning of the aggregation and the enrichment]}} (the
 *                  fields run_metadata.json takes from a workflow's metadata_stage)
 */
#ifndef WF_TF_BUILTINS_H
#define WF_TF_BUILTINS_H

#include "wfengine.h"

extern const wfi_activity wfa_tf_aggregate, wfa_tf_extract, wfa_tf_report_toggl,
    wfa_tf_report_people, wfa_tf_report_team;

#endif
