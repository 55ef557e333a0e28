/* util.c — small helpers the store and its users share: clock, hash, names. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wfstore.h"

int64_t wfs_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t wfs_hash(const void *p, size_t n) {
  const uint8_t *b = p;
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

char *wfs_strdup(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *c = malloc(n);
  if (c) memcpy(c, s, n);
  return c;
}

static const char *const run_names[WFS_RUN_NSTATUS] = {
  "pending", "running", "succeeded", "failed", "degraded", "canceled", "interrupted"};

static const char *const step_names[WFS_STEP_NSTATUS] = {
  "pending", "running", "succeeded", "failed", "skipped", "canceled", "upstream_failed"};

static const char *const event_names[] = {
  NULL, "run_started", "run_resumed", "run_finished", "run_cancel_requested",
  "run_interrupted", "generation", "step_started", "step_succeeded", "step_failed",
  "step_retry", "step_timed_out", "step_canceled", "step_skipped", "step_input_changed",
  "step_superseded", "step_interrupted", "step_upstream_failed", "step_cached"};

const char *wfs_run_status_name(int status) {
  return status >= 0 && status < WFS_RUN_NSTATUS ? run_names[status] : "?";
}

int wfs_run_status_parse(const char *name) {
  if (!name) return -1;
  for (int i = 0; i < WFS_RUN_NSTATUS; i++)
    if (strcmp(name, run_names[i]) == 0) return i;
  return -1;
}

const char *wfs_step_status_name(int status) {
  if (status == WFS_STEP_UNREADABLE) return "unreadable";
  return status >= 0 && status < WFS_STEP_NSTATUS ? step_names[status] : "?";
}

const char *wfs_event_type_name(int type) {
  int n = (int)(sizeof event_names / sizeof event_names[0]);
  return type > 0 && type < n ? event_names[type] : "?";
}
