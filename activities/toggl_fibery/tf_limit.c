/* tf_limit.c — the process-wide request limiters of the Toggl and Fibery clients. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "tf_limit.h"

struct tf_limiter {
  tf_limiter *next;
  char *api, *base;
  uint64_t token_hash;
  uint64_t last_slot_ms;   /* the latest valid reservation; 0 = none */
  uint64_t last_sent_ms;   /* the latest request that went out; 0 = none */
  uint64_t pause_until_ms;
  uint64_t epoch;          /* bumped by every pause: older slots are void */
  char why[200];
};

static tf_limiter *limiters;

uint64_t tf_limit_now_ms(void) { return uv_hrtime() / 1000000u; }

/* FNV-1a: the token only has to tell limiters apart, never to be recovered. */
static uint64_t hash(const char *s) {
  uint64_t h = 14695981039346656037u;

  for (; s && *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211u;
  }
  return h;
}

tf_limiter *tf_limiter_get(const char *api, const char *base, const char *token) {
  uint64_t th = hash(token);
  tf_limiter *l;

  if (!base)
    base = "";
  for (l = limiters; l; l = l->next)
    if (l->token_hash == th && !strcmp(l->api, api) && !strcmp(l->base, base))
      return l;
  if (!(l = calloc(1, sizeof *l)) || !(l->api = strdup(api)) || !(l->base = strdup(base))) {
    if (l)
      free(l->api);
    free(l);
    return NULL;
  }
  l->token_hash = th;
  l->next = limiters;
  limiters = l;
  return l;
}

static uint64_t later(uint64_t a, uint64_t b) { return a > b ? a : b; }

static uint64_t width_ms(double interval_s) {
  double ms = interval_s * 1000.0, margin = ms * 0.1;

  if (ms <= 0)
    return 0;
  return (uint64_t)(ms + (margin < 20 ? 20 : margin) + 0.5);
}

tf_slot tf_limiter_reserve(tf_limiter *l, double interval_s, uint64_t now_ms) {
  uint64_t w = width_ms(interval_s), at = later(now_ms, l->pause_until_ms);
  tf_slot s;

  if (l->last_slot_ms)
    at = later(at, l->last_slot_ms + w);
  if (l->last_sent_ms)
    at = later(at, l->last_sent_ms + w);
  l->last_slot_ms = at;
  s.at_ms = at;
  s.epoch = l->epoch;
  return s;
}

int tf_limiter_valid(const tf_limiter *l, const tf_slot *s) { return s->epoch == l->epoch; }

uint64_t tf_limiter_due(const tf_limiter *l, const tf_slot *s, double interval_s) {
  return l->last_sent_ms ? later(s->at_ms, l->last_sent_ms + width_ms(interval_s)) : s->at_ms;
}

void tf_limiter_sent(tf_limiter *l, uint64_t now_ms) {
  l->last_sent_ms = later(l->last_sent_ms, now_ms);
}

void tf_limiter_pause(tf_limiter *l, double seconds, const char *why, uint64_t now_ms) {
  uint64_t until = now_ms + (uint64_t)(seconds > 0 ? seconds * 1000.0 + 0.5 : 0);

  l->epoch++;
  l->last_slot_ms = 0;
  if (until >= l->pause_until_ms) {
    l->pause_until_ms = until;
    snprintf(l->why, sizeof l->why, "%s", why ? why : "");
  }
}

double tf_limiter_paused_s(const tf_limiter *l, uint64_t now_ms, const char **why) {
  if (why)
    *why = l->why;
  return l->pause_until_ms > now_ms ? (double)(l->pause_until_ms - now_ms) / 1000.0 : 0;
}

void tf_limiter_reset_all(void) {
  while (limiters) {
    tf_limiter *l = limiters;

    limiters = l->next;
    free(l->api);
    free(l->base);
    free(l);
  }
}
