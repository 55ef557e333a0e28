/* tf_fibery.h — Fibery client: the built-ins fibery.schema and fibery.enrich and the pure
 * pieces they use (enrichment config loading, batched query bodies, result and document
 * readers; the schema check is tf_schema.h).
 *
 * Both take with: enrichment (path of the config JSON) and enrichment_override
 * (optional path, merged over it per key), or config (the merged config object itself);
 * rps (requests per second for the token; 0 or absent: the config's rate_limit_per_s,
 * 3) or min_interval_s (seconds between requests); timeout_s (30). Every request goes
 * through the process's Fibery limiter for the token (tf_limit.h): a 429 holds them all.
 *
 * fibery.schema  one fibery.schema/query command; output: the checked schema of
 *               tf_schema.h with "requests" and "retried". 401/403 and any other
 *               answer than a schema fail it non-retryably (a wrong token or workspace
 *               is found before anything else is asked).
 * fibery.enrich  item: one batch {"type": "Scrum/Task", "ids": ["7658", ...]} (ids as
 *               strings; more ids than batch_size (with.batch_size when > 0, else the
 *               config's) are sent as several queries). Make the step's class the type
 *               so by_class applies per type.
 *               with also: documents (true: fetch descriptions as Markdown); schema
 *               (the checked schema), else the output of stage schema_stage ("schema")
 *               among the inputs: fields the workspace lacks are left out of the query
 *               with a warning, and a type it lacks is not queried (its ids are
 *               unknown_type, saying so).
 *               output: {"type", "requests", "retried", "entities": {"<Space>/<Type>#<id>":
 *               record}, "warnings": [...] (when any)} in id order; record is {"status":
 *               "not_found"}, {"status": "unknown_type" | "error", "error": msg} or
 *               {"status": "ok", "entity_key", "entity_type", "database", "public_id",
 *               "fibery_id", "name", "state", "url", "fields": {alias: value as Fibery
 *               returned it}, "description_md"}.
 *               A missing entity never fails the step; 401/403 fail it non-retryably.
 */
/* Either activity reads recorded API answers from files instead when with.sample_dir is
 * set (the offline demo; see tf_sample.h): no credentials, no network. */
#ifndef WF_TF_FIBERY_H
#define WF_TF_FIBERY_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "wfengine.h"

extern const wfi_activity wfa_fibery_schema, wfa_fibery_enrich;

#define TF_FIBERY_MAX_BATCH 1000

/* Load the config at `path`, merge `override_path` (may be NULL) over it per key
 * (objects merge recursively, anything else replaces), and check it. */
int tf_fibery_config_load(const char *path, const char *override_path, cJSON **cfg,
                          char *err, size_t cap);
/* Merge `over` into `base` per key. WF_ENOMEM. */
int tf_fibery_config_merge(cJSON *base, const cJSON *over);
/* Check shape and keys; WF_EINVAL with a message naming the offending key. */
int tf_fibery_config_check(const cJSON *cfg, char *err, size_t cap);
/* Settings with their defaults. */
int tf_fibery_batch_size(const cJSON *cfg);
double tf_fibery_rate(const cJSON *cfg);

/* Ids sorted numerically (all-digit ids by value, then others as strings), without
 * repeats, into a malloc'd array of borrowed pointers. WF_EINVAL when ids is not an
 * array of strings or numbers. Numbers are rewritten in place as strings. */
int tf_fibery_ids(cJSON *ids, const char ***out, size_t *n);

/* What a query of `type` selects, as the config says (a new array): the key fields,
 * the title, the state, the description and the type's (else default's) select. */
cJSON *tf_fibery_select(const cJSON *cfg, const char *type);

/* The commands body querying `type` for ids[0..n) (one command in an array). With the
 * checked schema (tf_schema.h; NULL: none), what the workspace lacks is left out and a
 * warning naming the type and field added to `warnings` (may be NULL) once. */
int tf_fibery_query_body(const cJSON *cfg, const char *type, const char *const *ids,
                         size_t n, const cJSON *schema, cJSON *warnings, char **body,
                         size_t *len);

/* Read a commands response for that query and add one record per id to `entities`
 * (keys "<type>#<id>"). Rows' document secrets go to `secrets` (secret -> key) when it
 * is not NULL. `link_base` builds "url" ("https://acme.fibery.io"). WF_EINVAL when the
 * body is not a commands answer (message in err); a rejected query is not an error:
 * every id gets unknown_type. */
int tf_fibery_read_result(const char *buf, size_t len, const cJSON *cfg, const char *type,
                          const char *const *ids, size_t n, const char *link_base,
                          cJSON *entities, cJSON *secrets, char *err, size_t cap);

/* Body of the batched document call for the secrets collected above. */
int tf_fibery_docs_body(const cJSON *secrets, char **body, size_t *len);
/* Fill description_md of the records from a documents answer [{secret, content}]. */
int tf_fibery_read_docs(const char *buf, size_t len, const cJSON *secrets, cJSON *entities);

/* For the stage that plans enrichment: {"Scrum/Task": ["1", ...], ...} -> fan-out items
 * [{"key": "Scrum/Task/1", "type", "ids"}] of at most batch_size ids each. */
int tf_fibery_batches(const cJSON *by_type, int batch_size, cJSON **items);

#endif
