/* api_fixture.h — what the tests of the public API (wf/wf.h) share: a scratch folder,
 * a store opened on it, step functions, runs made through it and listings of runs
 * collected as text. Included by one test file each, after <cmocka.h>. */
#ifndef WF_API_FIXTURE_H
#define WF_API_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assert_wf.h"
#include "wf/wf.h"

/* Not every test file uses every helper. */
#define WFT_UNUSED __attribute__((unused))

static char dir[64];
static wf_store *st; /* open on dir (setup), or as a test opens it */

/* A scratch folder, no store: for tests that open it their own way. */
WFT_UNUSED static int setup_dir(void **state) {
  (void)state;
  strcpy(dir, "/tmp/wf-api-XXXXXX");
  assert_non_null(mkdtemp(dir));
  return 0;
}

/* A scratch folder with the store open on it as st. */
WFT_UNUSED static int setup(void **state) {
  setup_dir(state);
  assert_wf_ok(wf_store_open(dir, &st));
  return 0;
}

static int teardown(void **state) {
  (void)state;
  wf_store_close(st);
  st = NULL;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
  return 0;
}

WFT_UNUSED static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Output: the input as it is. */
WFT_UNUSED static int echo_fn(void *ud, const void *in, size_t inlen, void **out,
                              size_t *outlen) {
  (void)ud;
  *out = malloc(inlen ? inlen : 1);
  memcpy(*out, in, inlen);
  *outlen = inlen;
  return 0;
}

WFT_UNUSED static int failing_fn(void *ud, const void *in, size_t inlen, void **out,
                                 size_t *outlen) {
  (void)ud, (void)in, (void)inlen, (void)out, (void)outlen;
  return -1;
}

/* Item i of a fan-out: key "m/<i>", input the byte i. */
WFT_UNUSED static int item_fn(void *ud, size_t i, char *key, size_t keycap, void **in,
                              size_t *inlen) {
  (void)ud;
  snprintf(key, keycap, "m/%zu", i);
  uint8_t *p = malloc(1);
  p[0] = (uint8_t)i;
  *in = p;
  *inlen = 1;
  return 0;
}

/* Run `id` of workflow `wf` with one step "a", then: WF_RUN_SUCCEEDED or WF_RUN_FAILED
 * recorded; -1 given up (interrupted); -2 kept owned (*keep). */
WFT_UNUSED static void make_run(const char *id, const char *wf, int outcome, wf_run **keep) {
  wf_run *run;
  const uint8_t in[] = {0x2a};
  assert_wf_ok(wf_run_begin(st, wf, id, &run));
  assert_wf_ok(wf_step_run(run, "a", in, 1, echo_fn, NULL, NULL, NULL, NULL));
  if (outcome >= 0) assert_wf_ok(wf_run_end(run, outcome));
  else if (outcome == -1) wf_run_close(run);
  else *keep = run;
  sleep_ms(3); /* distinct creation times */
}

/* ---- listings as text ------------------------------------------------------------------ */

typedef struct seen {
  char ids[256];           /* "id id ..." */
  int n;
  int unreadable;
  int stop_at;             /* return 77 at this many */
  int nested_rc;           /* what a call on the store from inside gave */
} seen;

WFT_UNUSED static int collect(void *ud, const wf_run_info *r) {
  seen *s = ud;
  if (r->read_error) {
    s->unreadable++;
    return 0;
  }
  size_t n = strlen(s->ids);
  snprintf(s->ids + n, sizeof s->ids - n, "%s%s", n ? " " : "", r->id);
  wf_run_info *nested = NULL;
  s->nested_rc = wf_run_info_get(st, r->id, &nested);
  wf_run_info_free(nested);
  return s->stop_at && ++s->n == s->stop_at ? 77 : 0;
}

/* The ids wf_runs_list(st, f) passes, space-separated; a call on the store from inside
 * the callback is refused. */
WFT_UNUSED static const char *list(const wf_run_filter *f) {
  static seen s;
  memset(&s, 0, sizeof s);
  assert_int_equal(wf_runs_list(st, f, collect, &s), 0);
  assert_int_equal(s.nested_rc, s.ids[0] ? WF_EINVAL : 0);
  return s.ids;
}

/* Steps as "key:status", space-separated; a cancel from inside the callback is refused. */
WFT_UNUSED static int collect_step(void *ud, const wf_step_info *s) {
  seen *c = ud;
  size_t n = strlen(c->ids);
  snprintf(c->ids + n, sizeof c->ids - n, "%s%s:%s", n ? " " : "", s->key,
           wf_step_status_name(s->status));
  c->nested_rc = wf_run_cancel(st, "steps");
  return c->stop_at && ++c->n == c->stop_at ? 78 : 0;
}

#endif
