/* keys.h — checking that the items of a fan-out have keys of their own, in bounded
 * memory (keys.c). */
#ifndef WF_WFW_KEYS_H
#define WF_WFW_KEYS_H

#include <cjson/cJSON.h>
#include <stdint.h>

/* The Bloom filter's largest size (bits: 16 MiB) and the candidates kept at once. */
#define WFW_KEYS_BLOOM_BITS (1ull << 27)
#define WFW_KEYS_CANDIDATES (1u << 14)

/* wfw_keys_unique's result when two items share a key. */
#define WFW_KEYS_DUP 1

typedef struct wfw_keys_src {
  const cJSON *first;            /* the items: a cJSON list (an array's child) */
  /* The key of `item` (number `index`) as a malloc'd string, or a negative WF_E* code
   * after reporting why. With `check`, also what else must hold of the item (a usable
   * key, a class...): it is asked once per item, the first time that item is seen. */
  int (*key)(void *ud, const cJSON *item, uint64_t index, int check, char **key);
  void *ud;
} wfw_keys_src;

/* For tests: zeros give the defaults above and the built-in hash. */
typedef struct wfw_keys_tuning {
  uint64_t bloom_bits_max;       /* a power of two, at least 1024 */
  uint32_t max_candidates;
  uint64_t (*hash)(const char *s, size_t n);
} wfw_keys_tuning;

typedef struct wfw_keys_dup {
  uint64_t first, second;        /* item positions, from 0: first < second */
  const cJSON *item;             /* the second one */
} wfw_keys_dup;

/* Whether every item's key is usable (src->key with check) and no two items share one.
 * 0 when so; WFW_KEYS_DUP with the first duplicate in *dup (the smallest `second`, and
 * the first item it repeats); a negative code from src->key, or WF_ENOMEM. Memory stays
 * below the filter's and the table's sizes, whatever the number of items. Each key is
 * computed once, and once more when some keys may repeat (nearly always for thousands of
 * items: the filter has false positives). */
int wfw_keys_unique(const wfw_keys_src *src, const wfw_keys_tuning *t, wfw_keys_dup *dup);

#endif
