/* tf_limit.h — request pacing for the Toggl and Fibery clients: one limiter per API and
 * token for the whole process, shared by every step, attempt, retry and document call.
 *
 * A request reserves a slot: at least one interval after the slot before it and after
 * the last request that went out, and not before a pause ends. A pause (Retry-After, an
 * exhausted quota) holds every request of that API and token, and voids the slots that
 * were reserved before it: their holders reserve again. Nothing here owns a handle or
 * sleeps: callers wait for their slot with a timer of their own on the libuv loop, so a
 * loop can close while limiters live on. Time is the monotonic clock in milliseconds,
 * passed in by the caller (tf_limit_now_ms), so the arithmetic is testable.
 */
#ifndef WF_TF_LIMIT_H
#define WF_TF_LIMIT_H

#include <stdint.h>

typedef struct tf_limiter tf_limiter;

/* A reserved send time; valid until the limiter pauses. */
typedef struct tf_slot {
  uint64_t at_ms;
  uint64_t epoch;
} tf_slot;

/* Milliseconds on the monotonic clock every limiter uses. */
uint64_t tf_limit_now_ms(void);

/* The process's limiter for `api` ("toggl", "fibery") with `token` at `base`, created
 * on first use and kept for the life of the process (the token is kept only as a hash).
 * NULL when out of memory. */
tf_limiter *tf_limiter_get(const char *api, const char *base, const char *token);

/* Reserve the next slot for a request spaced `interval_s` (1 / requests per second; 0:
 * no spacing) from the requests before it. Slots are a little wider than asked (10 %,
 * at least 20 ms): a request reaches the server some milliseconds after it leaves, and
 * not always equally late, so a server counting exactly must never see two too close. */
tf_slot tf_limiter_reserve(tf_limiter *l, double interval_s, uint64_t now_ms);
/* 1 while `s` holds (no pause since it was reserved). */
int tf_limiter_valid(const tf_limiter *l, const tf_slot *s);
/* When slot `s` may be used: its time, or later if the last request went on the wire
 * late (a new connection's setup) and a full interval since then has not passed. */
uint64_t tf_limiter_due(const tf_limiter *l, const tf_slot *s, double interval_s);
/* A request goes out now (handed to curl, and again when it reaches the wire): the next
 * slot counts from the later of the two. */
void tf_limiter_sent(tf_limiter *l, uint64_t now_ms);
/* Hold every request for `seconds` from now (a longer pause already set stays);
 * `why` (copied, may be NULL) names the cause for messages: the latest of the pauses
 * that end last. */
void tf_limiter_pause(tf_limiter *l, double seconds, const char *why, uint64_t now_ms);
/* Seconds the limiter is still paused for (0 when not); *why gets the cause. */
double tf_limiter_paused_s(const tf_limiter *l, uint64_t now_ms, const char **why);

/* Forget every limiter (tests). */
void tf_limiter_reset_all(void);

#endif
