/* tf_schema.h — the Fibery workspace schema as the enrichment uses it (DOMAIN §5.2, §6.2):
 * which configured types exist and which of their fields, so that a query never names a
 * field or type the workspace lacks (Fibery rejects the whole query for one unknown
 * field, and every entity of the type would be lost).
 *
 * The schema in a step output ("the checked schema"):
 *   {"types": {"Scrum/Task": {"<field>": "<field type>", ...}, ...},
 *    "missing_types": ["QA/Test report", ...], "requests", "retried"}
 * It holds the types the enrichment config can query (its "types", the targets of its
 * "aliases") and the types their relations point to; a type in neither list was not
 * checked and is queried as configured.
 */
#ifndef WF_TF_SCHEMA_H
#define WF_TF_SCHEMA_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* The body of the schema command: [{"command": "fibery.schema/query", "args": {}}]. */
#define TF_SCHEMA_BODY "[{\"command\":\"fibery.schema/query\",\"args\":{}}]"

/* Read a fibery.schema/query answer (an array of one command result, or the result
 * object itself) into the checked schema for config `cfg`. WF_EINVAL when the answer
 * is not a schema (message in err), WF_ENOMEM. */
int tf_schema_read(const char *buf, size_t len, const cJSON *cfg, cJSON **out, char *err,
                   size_t cap);

/* 1 when the checked schema says `type` does not exist; 0 when it exists or was not
 * checked (schema NULL included). */
int tf_schema_type_missing(const cJSON *schema, const char *type);

/* Whether select entry `sel` of `type` may be asked for: its field exists, and so do
 * the fields it selects of a relation (checked against the relation's type when that
 * type was checked). A name field, a "q/count" aggregate and nested "q/select" lists are
 * understood. When not, *missing gets the first missing field and *in_type the type
 * that lacks it. 1 when the schema is NULL or the type was not checked. */
int tf_schema_has(const cJSON *schema, const char *type, const cJSON *sel,
                  const char **missing, const char **in_type);

#endif
