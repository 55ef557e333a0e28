/* job_harness.h — what the tests of activities driven by hand share: a scratch folder,
 * jobs made from a step input on a libuv loop and the result they end with. Included by
 * one test file each, after <cmocka.h>; the cmocka group runs setup and teardown. */
#ifndef WF_JOB_HARNESS_H
#define WF_JOB_HARNESS_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assert_wf.h"
#include "wf/wf.h"
#include "wfact.h"
#include "wfmp.h"

static char dir[] = "/tmp/wf-test-exec-XXXXXX";

typedef struct tjob {
  wfi_job job;
  int ndone;
  wfi_result res;
  double t_start, t_done, t_kill;
  uint8_t *in;
  char log[512];
  char key[64];
} tjob;

static double now_s(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_done(wfi_job *job, wfi_result *res) {
  tjob *t = (tjob *)job;

  t->ndone++;
  t->res = *res;
  t->t_done = now_s();
}

/* Input map: "shell" or "run" (NULL-terminated), optional cwd, params and item as JSON. */
static uint8_t *make_input(size_t *n, const char *shell, const char *const *run,
                           const char *cwd, const char *params, const char *item) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  size_t i, pairs = 1 + !!cwd + !!params + !!item;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, pairs);
  if (shell) {
    wfm_pack_str(&pk, "shell");
    wfm_pack_str(&pk, shell);
  } else {
    for (i = 0; run[i]; i++)
      ;
    wfm_pack_str(&pk, "run");
    msgpack_pack_array(&pk, i);
    for (i = 0; run[i]; i++)
      wfm_pack_str(&pk, run[i]);
  }
  if (cwd) {
    wfm_pack_str(&pk, "cwd");
    wfm_pack_str(&pk, cwd);
  }
  for (i = 0; i < 2; i++) {
    const char *json = i ? item : params;
    cJSON *j;
    if (!json)
      continue;
    wfm_pack_str(&pk, i ? "item" : "params");
    assert_non_null(j = cJSON_Parse(json));
    assert_int_equal(wfa_json_to_mp(j, &pk), 0);
    cJSON_Delete(j);
  }
  *n = sb.size;
  return (uint8_t *)sb.data;
}

static void tjob_init(tjob *t, uv_loop_t *loop, uint8_t *in, size_t n, const char *key) {
  memset(t, 0, sizeof *t);
  snprintf(t->key, sizeof t->key, "%s", key);
  snprintf(t->log, sizeof t->log, "%s/%s.log", dir, key);
  t->in = in;
  t->job.loop = loop;
  t->job.home = dir;
  t->job.run_id = "run1";
  t->job.stage = "stage";
  t->job.step_key = t->key;
  t->job.run_dir = dir;
  t->job.log_path = t->log;
  t->job.attempt = 1;
  t->job.input = in;
  t->job.input_len = n;
  t->job.max_output = 1 << 20;
  t->job.kill_grace_s = 0.2;
  t->job.on_done = on_done;
}

static void tjob_free(tjob *t) {
  free(t->res.output);
  free(t->res.error);
  free(t->res.stderr_tail);
  free(t->in);
  memset(&t->res, 0, sizeof t->res);
}

/* Run the loop until nothing is left on it: proves every handle was closed. */
static void drain_loop(uv_loop_t *loop) {
  assert_int_equal(uv_run(loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(loop), 0);
}

static char *output_json(const tjob *t) {
  cJSON *j;
  char *txt, *copy;

  if (!t->res.output)
    return strdup("nil");
  assert_int_equal(wfa_mp_to_json(t->res.output, t->res.output_len, &j), 0);
  txt = cJSON_PrintUnformatted(j);
  copy = strdup(txt);
  cJSON_free(txt);
  cJSON_Delete(j);
  return copy;
}

static void assert_output(const tjob *t, const char *json) {
  char *got = output_json(t);

  assert_string_equal(got, json);
  free(got);
}

static int setup(void **state) {
  (void)state;
  signal(SIGPIPE, SIG_IGN); /* as the CLI does; children get it back to default */
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
  char cmd[600];

  (void)state;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

#endif
