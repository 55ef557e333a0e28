/* bench.h — shared helpers of wf-bench, the benchmark driver behind tests/bench/run.sh. */
#ifndef WF_BENCH_H
#define WF_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "wf/wf.h"

#define PAYLOAD_LEN 200

/* Options every subcommand understands: --dir D --n N --c C --k K --crash-point P ...
 * The strings are argv's (a child's argv is made of them). */
typedef struct bench_opts {
  char *dir;               /* scratch folder of this measurement (created) */
  char *side;              /* W3: side file */
  char *crash_point;       /* W3: "in-step" or "next-step" */
  char *run_id;
  size_t n, c, k;
  int resume;              /* W3/resume: the restarted process */
  char **rest;             /* arguments after "--" */
} bench_opts;

int bench_parse(int argc, char **argv, bench_opts *o);

double now_s(void);        /* monotonic seconds */
int64_t epoch_us(void);    /* wall clock, microseconds since the epoch */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void check(int rc, const char *what); /* dies with wf_strerror(rc) when rc != 0 */
void rm_rf(const char *path);         /* remove a scratch tree (best effort) */
void make_dir(const char *path);
double peak_rss_mb(void);
void self_path(char *buf, size_t cap); /* this executable, from /proc/self/exe */
/* Start argv with stdout on a pipe whose read end goes to *out_fd (when out_fd is not
 * NULL; else stdout to /dev/null when quiet). Returns the pid. */
int spawn_cmd(char *const argv[], int *out_fd, int quiet);
/* Wait for pid; returns its wait status. */
int wait_status(int pid);
/* Read all of fd into buf (NUL-terminated, truncated to cap-1) and close it. */
void read_all(int fd, char *buf, size_t cap);
/* The value of "name=" in a k=v line, as a number; dies when absent. */
double kv_num(const char *line, const char *name);

/* msgpack of the benchmark steps: input {i, payload: 200 bytes}, output {i, ok: true}. */
size_t mp_input(uint8_t *buf, uint32_t i);  /* buf holds >= PAYLOAD_LEN + 32 bytes */
int mp_output(uint32_t i, void **out, size_t *outlen);
int mp_read_i(const void *in, size_t inlen, uint32_t *i); /* the i of an input or output */

/* The step of W1/W2/scale: decode i, answer {i, ok: true}. */
int step_ok(void *ud, const void *in, size_t inlen, void **out, size_t *outlen);
/* A wf_item_fn: key "<i>" (zero-padded), input mp_input(i). */
int item_std(void *ud, size_t i, char *key, size_t keycap, void **in, size_t *inlen);

/* Sort and pick a quantile (0..1) of n doubles. */
double quantile(double *v, size_t n, double q);

/* Subcommands. Each prints one "k=v ..." line on stdout that run.sh turns into RESULT. */
int cmd_w1(bench_opts *o);
int cmd_gc_build(bench_opts *o);
int cmd_w2(bench_opts *o);
int cmd_w3(bench_opts *o, char *self);
int cmd_w3_child(bench_opts *o);
int cmd_resume_build(bench_opts *o);
int cmd_resume_time(bench_opts *o, char *self);
int cmd_resume_child(bench_opts *o);
int cmd_runs_build(bench_opts *o);
int cmd_rss(bench_opts *o);
int cmd_limit_commit(bench_opts *o);
int cmd_limit_spawn(bench_opts *o);
int cmd_time(bench_opts *o);

#endif
