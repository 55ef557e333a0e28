/* tf_harness.h — what the tests against wf-stub-http share: a scratch folder and the
 * stub server they start and stop; for the Toggl and Fibery client tests also hand-made
 * jobs on a uv loop. Included by one test file each; the includer defines TFH_NAME, and
 * for the client part TFH_BASE_ENV, TFH_TOKEN_ENV, TFH_WORKSPACE_ENV, TFH_WORKSPACE,
 * TFH_ACTIVITY, TFH_STAGE, TFH_STEP_KEY and TOKEN (without TFH_ACTIVITY there is none). */
#ifndef WF_TF_HARNESS_H
#define WF_TF_HARNESS_H

static char dir[] = "/tmp/wf-test-" TFH_NAME "-XXXXXX";
static pid_t stub_pid;
static char stub_log[600];

/* ---- stub server ------------------------------------------------------------------- */

/* Start wf-stub-http (beside this test: <build>/tests/stubs) with the script
 * tests/data/<folder>/<script>; set the environment variable env to its base URL
 * followed by path. */
static void stub_serve(const char *folder, const char *script, const char *env,
                       const char *path) {
  char exe[512], bin[600], spath[600], pfile[600];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  char *slash;
  FILE *f;
  int port = 0, i;

  assert_true(n > 0);
  exe[n] = 0;
  assert_non_null(slash = strrchr(exe, '/'));
  *slash = 0;
  snprintf(bin, sizeof bin, "%s/stubs/wf-stub-http", exe);
  snprintf(spath, sizeof spath, "%s/%s/%s", WF_TEST_DATA, folder, script);
  snprintf(pfile, sizeof pfile, "%s/port", dir);
  snprintf(stub_log, sizeof stub_log, "%s/requests.jsonl", dir);
  unlink(pfile);
  stub_pid = fork();
  assert_true(stub_pid >= 0);
  if (!stub_pid) {
    execl(bin, bin, "--script", spath, "--port-file", pfile, "--log", stub_log,
          "--max-seconds", "60", (char *)NULL);
    _exit(127);
  }
  for (i = 0; i < 500 && !port; i++) {
    if ((f = fopen(pfile, "r"))) {
      if (fscanf(f, "%d", &port) != 1)
        port = 0;
      fclose(f);
    }
    if (!port)
      nanosleep(&(struct timespec){0, 10000000}, NULL);
  }
  assert_true(port > 0);
  snprintf(bin, sizeof bin, "http://127.0.0.1:%d/%s", port, path);
  setenv(env, bin, 1);
}

static void stub_stop(void) {
  int st;

  if (stub_pid > 0) {
    kill(stub_pid, SIGTERM);
    waitpid(stub_pid, &st, 0);
    stub_pid = 0;
  }
}

/* The stub's request log, one JSON object per request. */
static cJSON *stub_requests(void) {
  FILE *f = fopen(stub_log, "r");
  char line[1 << 16];
  cJSON *arr = cJSON_CreateArray();

  assert_non_null(f);
  while (fgets(line, sizeof line, f))
    cJSON_AddItemToArray(arr, cJSON_Parse(line));
  fclose(f);
  return arr;
}

/* ---- Toggl and Fibery clients ------------------------------------------------------ */
#ifdef TFH_ACTIVITY

/* Serve a script of tests/data/tf_api at TFH_BASE_ENV. */
static void stub_start(const char *script) {
  stub_serve("tf_api", script, TFH_BASE_ENV, "");
}

static double now_s(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *req_field(const cJSON *reqs, int i, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(reqs, i), k);
  return cJSON_IsString(v) ? v->valuestring : "";
}

typedef struct tjob {
  wfi_job job;
  int ndone;
  wfi_result res;
  cJSON *out;
  uint8_t *in;
  uv_timer_t killer;
} tjob;

static void on_done(wfi_job *job, wfi_result *res) {
  tjob *t = (tjob *)job;

  t->ndone++;
  t->res = *res;
  if (res->ok && res->output)
    assert_int_equal(wfa_mp_to_json(res->output, res->output_len, &t->out), 0);
}

static void kill_cb(uv_timer_t *h) {
  tjob *t = h->data;

  if (!t->ndone)
    TFH_ACTIVITY.kill(NULL, &t->job, WFI_KILL_CANCEL);
  uv_close((uv_handle_t *)h, NULL);
}

/* When > 0, the next run_act kills its attempt after that many seconds. */
static double next_kill_after_s;

/* Make t a job of `loop` with the input {with, params, inputs, item} (JSON text). */
static void tjob_prepare(tjob *t, uv_loop_t *loop, const char *input_json) {
  cJSON *in = cJSON_Parse(input_json);
  size_t n;

  assert_non_null(in);
  memset(t, 0, sizeof *t);
  assert_int_equal(wfa_json_to_mp_buf(in, &t->in, &n), 0);
  cJSON_Delete(in);
  t->job.loop = loop;
  t->job.home = dir;
  t->job.run_id = "run1";
  t->job.stage = TFH_STAGE;
  t->job.step_key = TFH_STEP_KEY;
  t->job.run_dir = dir;
  t->job.log_path = "/dev/null";
  t->job.attempt = 1;
  t->job.input = t->in;
  t->job.input_len = n;
  t->job.max_output = 1 << 20;
  t->job.on_done = on_done;
}

/* Run one attempt of `act` on its own loop with the input {with, params, inputs, item}. */
static void run_act(tjob *t, const wfi_activity *act, const char *input_json) {
  uv_loop_t loop;
  double kill_after = next_kill_after_s;

  uv_loop_init(&loop);
  tjob_prepare(t, &loop, input_json);
  if (kill_after > 0) {
    uv_timer_init(&loop, &t->killer);
    t->killer.data = t;
    uv_timer_start(&t->killer, kill_cb, (uint64_t)(kill_after * 1000), 0);
  }
  next_kill_after_s = 0;
  act->start(NULL, &t->job);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&loop), 0);
  assert_int_equal(t->ndone, 1);
}

/* Run one attempt of `act` with the token TFH_TOKEN_ENV set to `bad`: it must fail for
 * good with `msg` in its error, and the bad token nowhere in it. */
static inline void run_with_bad_token(tjob *t, const wfi_activity *act, const char *input_json,
                                      const char *bad, const char *msg) {
  setenv(TFH_TOKEN_ENV, bad, 1);
  run_act(t, act, input_json);
  setenv(TFH_TOKEN_ENV, TOKEN, 1);
  assert_false(t->res.ok);
  assert_false(t->res.retryable);
  assert_non_null(t->res.error);
  assert_non_null(strstr(t->res.error, msg));
  assert_null(strstr(t->res.error, bad));
}

static void tjob_free(tjob *t) {
  free(t->res.output);
  free(t->res.error);
  free(t->res.stderr_tail);
  free(t->in);
  cJSON_Delete(t->out);
}

static void write_file(const char *path, const char *text, mode_t mode) {
  FILE *f = fopen(path, "w");

  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  chmod(path, mode);
}

static int setup(void **state) {
  char cfg[600];

  (void)state;
  if (!mkdtemp(dir))
    return -1;
  snprintf(cfg, sizeof cfg, "%s/empty.json", dir);
  write_file(cfg, "{}", 0600);
  setenv("WF_TF_CONFIG", cfg, 1);
  setenv(TFH_TOKEN_ENV, TOKEN, 1);
  setenv(TFH_WORKSPACE_ENV, TFH_WORKSPACE, 1);
  return 0;
}

static int teardown(void **state) {
  char cmd[700];

  (void)state;
  stub_stop();
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd) == 0 ? 0 : -1;
}

#endif /* TFH_ACTIVITY */

/* ---- offline ----------------------------------------------------------------------- */


#endif
