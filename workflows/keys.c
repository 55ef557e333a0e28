/* keys.c — every item of a fan-out must have a key of its own: two items with one key
 * would be one step, the second overwriting the first. The keys are compared before any
 * step of the stage runs, in memory that does not grow with the number of items (a
 * million items are never held as a million keys).
 *
 * A pass over the items hashes each key (64 bits) into a Bloom filter; a key whose bits
 * are all set already is a candidate (a duplicate, or a false positive) and its hash is
 * kept in a small table. When there are candidates, a second pass finds the first item
 * of each candidate hash and compares the key of every later item with that hash to the
 * keys of the items kept for it, which finds the first duplicate exactly, with both
 * positions. When the candidates do not fit in the table (far more keys than the filter
 * was sized for), the keys are split by hash into parts checked one after the other.
 * Keys are computed again on each pass rather than stored.
 */
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "wf/wf.h"

#define BITS_PER_KEY 16          /* with 8 probes, about 1 false positive in 1700 keys */
#define MAX_PROBES 8
#define MAX_PARTS (1u << 16)

struct cand {
  uint64_t h;
  const cJSON *item;             /* the first item with this hash; NULL: not seen yet */
  uint64_t index;
  int used;
};

struct check {
  const wfw_keys_src *src;
  uint64_t (*hash)(const char *s, size_t n);
  uint64_t nitems;
  uint64_t *bloom;               /* bloom_bits bits */
  uint64_t bloom_bits, bloom_max;
  unsigned probes;
  struct cand *cands;            /* open addressing, ncap slots */
  uint32_t ncap, ncands, max_cands;
  uint32_t parts, part;
  uint64_t validated;            /* items whose key was checked (validated by src->key) */
  wfw_keys_dup best;             /* the duplicate found with the smallest second index */
};

/* FNV-1a folded through a 64-bit finalizer, so that every bit depends on every byte. */
static uint64_t key_hash(const char *s, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 0x100000001b3ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

static uint32_t part_of(const struct check *c, uint64_t h) {
  return (uint32_t)((h >> 40) % c->parts);
}

/* Set the probes' bits of h; 1 when all of them were set already. */
static int bloom_add(struct check *c, uint64_t h) {
  uint64_t step = (h >> 32 | h << 32) | 1, mask = c->bloom_bits - 1, pos = h;
  int all = 1;
  for (unsigned i = 0; i < c->probes; i++, pos += step) {
    uint64_t b = pos & mask, bit = 1ull << (b & 63);
    if (!(c->bloom[b >> 6] & bit)) all = 0, c->bloom[b >> 6] |= bit;
  }
  return all;
}

/* The first slot after `from` (from the home slot of h when NULL) that holds h or is
 * empty: the slots of a hash lie between its home and the next empty slot. */
static struct cand *cand_slot(struct check *c, uint64_t h, const struct cand *from) {
  uint32_t mask = c->ncap - 1;
  uint32_t i = from ? (uint32_t)(from - c->cands + 1) & mask : (uint32_t)h & mask;
  for (;; i = (i + 1) & mask)
    if (!c->cands[i].used || c->cands[i].h == h) return &c->cands[i];
}

/* Take the empty slot for h; 1 when the table is full: pass 1 fills it up to
 * max_cands, pass 2 up to three quarters of its slots (an empty slot always ends a
 * search). */
static int cand_take(struct check *c, struct cand *slot, uint64_t h, uint32_t limit) {
  if (c->ncands >= limit) return 1;
  slot->used = 1;
  slot->h = h;
  slot->item = NULL;
  c->ncands++;
  return 0;
}

static int key_of(struct check *c, const cJSON *item, uint64_t i, char **key) {
  int check = i >= c->validated;
  int rc = c->src->key(c->src->ud, item, i, check, key);
  if (rc == 0 && check) c->validated = i + 1;
  return rc;
}

/* Pass 1 over the part: the candidate hashes of items [0, *upto). 1 when they overflow
 * the table at item *upto. */
static int collect(struct check *c, uint64_t *upto) {
  uint64_t i = 0;
  int rc = 0;
  *upto = 0;
  memset(c->bloom, 0, (size_t)(c->bloom_bits / 8));
  memset(c->cands, 0, (size_t)c->ncap * sizeof *c->cands);
  c->ncands = 0;
  for (const cJSON *it = c->src->first; it && i < c->best.second; it = it->next, i++) {
    char *k;
    if ((rc = key_of(c, it, i, &k)) != 0) return rc;
    uint64_t h = c->hash(k, strlen(k));
    free(k);
    if (part_of(c, h) != c->part || !bloom_add(c, h)) continue;
    struct cand *slot = cand_slot(c, h, NULL);
    if (!slot->used && cand_take(c, slot, h, c->max_cands)) {
      *upto = i;
      return 1;
    }
  }
  *upto = i;
  return 0;
}

/* Among the slots of h, the one whose first item has key k (*same = 1), else the slot
 * to record k's item in: the candidate's slot while it has no item yet, else a new one
 * (two keys with the same 64-bit hash). */
static int find_key(struct check *c, struct cand *slot, uint64_t h, const char *k,
                    struct cand **out, int *same) {
  *same = 0;
  for (; slot->used && slot->item; slot = cand_slot(c, h, slot)) {
    char *ka;
    int rc = key_of(c, slot->item, slot->index, &ka);
    if (rc) return rc;
    *same = strcmp(ka, k) == 0;
    free(ka);
    if (*same) break;
  }
  if (!*same && !slot->used && cand_take(c, slot, h, c->ncap / 4 * 3)) return 1;
  *out = slot;
  return 0;
}

/* Pass 2 over items [0, upto): the first item whose key an earlier one has. 1 when the
 * table overflows with keys that share a hash (then the part is split further). */
static int confirm(struct check *c, uint64_t upto) {
  uint64_t i = 0;
  for (const cJSON *it = c->src->first; it && i < upto; it = it->next, i++) {
    char *k;
    int rc = key_of(c, it, i, &k), same = 0;
    if (rc) return rc;
    uint64_t h = c->hash(k, strlen(k));
    struct cand *slot = part_of(c, h) == c->part ? cand_slot(c, h, NULL) : NULL;
    if (slot && slot->used) rc = find_key(c, slot, h, k, &slot, &same);
    free(k);
    if (rc) return rc;
    if (!slot || !slot->used) continue; /* not a candidate */
    if (same) {
      c->best.first = slot->index;
      c->best.second = i;
      c->best.item = it;
      return 0;
    }
    slot->item = it;
    slot->index = i;
  }
  return 0;
}

static int alloc_round(struct check *c) {
  uint64_t want = c->nitems / c->parts * BITS_PER_KEY, bits = 1024;
  while (bits < want && bits < c->bloom_max) bits <<= 1;
  free(c->bloom);
  if (!(c->bloom = malloc((size_t)(bits / 8)))) return WF_ENOMEM;
  c->bloom_bits = bits;
  uint64_t per = bits / (c->nitems / c->parts + 1); /* bits per key, rounded down */
  c->probes = per * 7 / 10 < 1 ? 1 : per * 7 / 10 > MAX_PROBES ? MAX_PROBES : (unsigned)(per * 7 / 10);
  return 0;
}

int wfw_keys_unique(const wfw_keys_src *src, const wfw_keys_tuning *t, wfw_keys_dup *dup) {
  struct check c;
  int rc = 0;
  memset(&c, 0, sizeof c);
  c.src = src;
  c.hash = t && t->hash ? t->hash : key_hash;
  c.bloom_max = t && t->bloom_bits_max ? t->bloom_bits_max : WFW_KEYS_BLOOM_BITS;
  c.max_cands = t && t->max_candidates ? t->max_candidates : WFW_KEYS_CANDIDATES;
  c.best.second = UINT64_MAX;
  for (const cJSON *it = src->first; it; it = it->next) c.nitems++;
  if (c.nitems < 2) { /* nothing to compare; the key is still checked */
    char *k = NULL;
    rc = c.nitems ? key_of(&c, src->first, 0, &k) : 0;
    free(k);
    return rc;
  }
  for (c.ncap = 16; c.ncap < 2 * c.max_cands; c.ncap <<= 1) {}
  if (!(c.cands = malloc((size_t)c.ncap * sizeof *c.cands))) return WF_ENOMEM;
  c.parts = 1;
  while (rc == 0) {
    int overflow = 0;
    if ((rc = alloc_round(&c)) != 0) break;
    for (c.part = 0; c.part < c.parts && !overflow && rc == 0; c.part++) {
      uint64_t upto, before = c.best.second;
      int full = (rc = collect(&c, &upto)) == 1;
      /* Full at item `upto`: every duplicate found before it was a candidate, so the
       * first one is found still; only when there is none must the part be split. */
      if (rc >= 0 && c.ncands) rc = confirm(&c, upto);
      if (rc == 1 || (rc == 0 && full && c.best.second == before)) overflow = 1, rc = 0;
    }
    if (!overflow) break;
    if (c.parts >= MAX_PARTS) {
      rc = WF_ENOMEM;
      break;
    }
    c.parts *= 2;
  }
  free(c.bloom);
  free(c.cands);
  /* A duplicate found early may have ended the passes before the last items were
   * checked: a bad key is reported before any duplicate. */
  if (rc == 0 && c.validated < c.nitems) {
    uint64_t i = 0;
    for (const cJSON *it = src->first; it && rc == 0; it = it->next, i++) {
      char *k = NULL;
      if (i >= c.validated) rc = key_of(&c, it, i, &k);
      free(k);
    }
  }
  if (rc) return rc;
  if (c.best.second == UINT64_MAX) return 0;
  *dup = c.best;
  return WFW_KEYS_DUP;
}
