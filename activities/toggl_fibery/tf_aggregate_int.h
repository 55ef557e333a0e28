/* tf_aggregate_int.h — toggl-fibery aggregation state shared by the accumulating and
 * the serializing half (tf_aggregate.c, tf_aggregate_json.c); not for other modules.
 */
#ifndef WF_TF_AGGREGATE_INT_H
#define WF_TF_AGGREGATE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "tf_parse.h"

typedef struct day_sec {
  char date[16];
  int64_t total, matched, unmatched;
} day_sec;

typedef struct days {
  day_sec *v;
  size_t n, cap;
} days;

/* A reference (key = entity key) or an activity (key = cleaned text) of one person. */
typedef struct item {
  char *key;
  int64_t sec, count;
  int unresolved;
  days by_day;
  cJSON *obj; /* output object under construction */
} item;

typedef struct items {
  item *v;
  size_t n, cap;
} items;

typedef struct person {
  char *key, *email, *name;
  int64_t user_id;
  int known;
  items refs, acts;
  days by_day;
  int64_t total, matched, unmatched, unresolved, n_entries, n_matched, n_unmatched;
} person;

typedef struct agg {
  const tf_aliases *al;
  const cJSON *users; /* workspace list, or NULL when the input has none */
  person *p;
  size_t np, capp;
  int filtered;
  days by_day;
  int64_t running, duplicates, out_of_scope, entries;
  cJSON *unknown, *warnings;
  int err;
} agg;

/* Write the aggregation of g (people sorted and their items moved out) into out. The
 * "unknown_users" and "warnings" arrays move from g into out. */
void tf_agg_build(agg *g, const cJSON *raw, const char *at, cJSON *out);

#endif
