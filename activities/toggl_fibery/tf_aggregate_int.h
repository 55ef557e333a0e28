/* tf_aggregate_int.h — toggl-fibery aggregation state shared by the accumulating and
 * the serializing half (tf_aggregate.c, tf_aggregate_json.c); not for other modules.
 */
#ifndef WF_TF_AGGREGATE_INT_H
#define WF_TF_AGGREGATE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "tf_parse.h"

typedef struct tf_agg_day {
  char date[16];
  int64_t total, matched, unmatched;
} tf_agg_day;

typedef struct tf_agg_days {
  tf_agg_day *v;
  size_t n, cap;
} tf_agg_days;

/* A reference (key = entity key) or an activity (key = cleaned text) of one person. */
typedef struct tf_agg_item {
  char *key;
  int64_t sec, count;
  int unresolved;
  tf_agg_days by_day;
  cJSON *obj; /* output object under construction */
} tf_agg_item;

typedef struct tf_agg_items {
  tf_agg_item *v;
  size_t n, cap;
} tf_agg_items;

typedef struct tf_agg_person {
  char *key, *email, *name;
  int64_t user_id;
  int known;
  tf_agg_items refs, acts;
  tf_agg_days by_day;
  int64_t total, matched, unmatched, unresolved, n_entries, n_matched, n_unmatched;
} tf_agg_person;

typedef struct tf_agg {
  const tf_aliases *al;
  const cJSON *users; /* workspace list, or NULL when the input has none */
  tf_agg_person *p;
  size_t np, capp;
  int filtered;
  tf_agg_days by_day;
  int64_t running, duplicates, out_of_scope, entries;
  cJSON *unknown, *warnings;
  int err;
} tf_agg;

/* Write the aggregation of g (people sorted and their items moved out) into out. The
 * "unknown_users" and "warnings" arrays move from g into out. */
void tf_agg_build(tf_agg *g, const cJSON *raw, const char *at, cJSON *out);

#endif
