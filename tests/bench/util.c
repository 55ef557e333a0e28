/* util.c — wf-bench helpers: options, clocks, scratch folders and the steps' msgpack. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static size_t parse_size(const char *name, const char *v) {
  char *end;
  errno = 0;
  unsigned long long n = strtoull(v ? v : "", &end, 10);
  if (!v || errno || *end || end == v) die("%s needs a number, not \"%s\"", name, v ? v : "");
  return (size_t)n;
}

int bench_parse(int argc, char **argv, bench_opts *o) {
  memset(o, 0, sizeof *o);
  o->crash_point = "in-step";
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--") == 0) {
      o->rest = argv + i + 1;
      break;
    }
    if (strcmp(a, "--resume") == 0) {
      o->resume = 1;
      continue;
    }
    if (!v) die("option %s needs a value", a);
    i++;
    if (strcmp(a, "--dir") == 0) o->dir = v;
    else if (strcmp(a, "--side") == 0) o->side = v;
    else if (strcmp(a, "--crash-point") == 0) o->crash_point = v;
    else if (strcmp(a, "--run-id") == 0) o->run_id = v;
    else if (strcmp(a, "--n") == 0) o->n = parse_size(a, v);
    else if (strcmp(a, "--c") == 0) o->c = parse_size(a, v);
    else if (strcmp(a, "--k") == 0) o->k = parse_size(a, v);
    else die("unknown option %s", a);
  }
  return 0;
}

double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t epoch_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("wf-bench: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

void check(int rc, const char *what) {
  if (rc) die("%s: %s", what, wf_strerror(rc));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  remove(path);
  return 0;
}

void rm_rf(const char *path) { nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

void make_dir(const char *path) {
  if (mkdir(path, 0755) != 0 && errno != EEXIST) die("cannot create %s: %s", path, strerror(errno));
}

double peak_rss_mb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_maxrss / 1024.0; /* ru_maxrss is in KiB on Linux */
}

void self_path(char *buf, size_t cap) {
  ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
  if (n <= 0) die("cannot read /proc/self/exe");
  buf[n] = '\0';
}

extern char **environ;

int spawn_cmd(char *const argv[], int *out_fd, int quiet) {
  posix_spawn_file_actions_t fa;
  int fds[2] = {-1, -1};
  posix_spawn_file_actions_init(&fa);
  if (out_fd) {
    if (pipe(fds) != 0) die("pipe: %s", strerror(errno));
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
  } else if (quiet) {
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  }
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc) die("cannot start %s: %s", argv[0], strerror(rc));
  if (out_fd) {
    close(fds[1]);
    *out_fd = fds[0];
  }
  return pid;
}

int wait_status(int pid) {
  int st = 0;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) die("waitpid: %s", strerror(errno));
  return st;
}

void read_all(int fd, char *buf, size_t cap) {
  size_t len = 0;
  ssize_t k;
  while (len < cap - 1 && (k = read(fd, buf + len, cap - 1 - len)) > 0) len += (size_t)k;
  buf[len] = '\0';
  close(fd);
}

double kv_num(const char *line, const char *name) {
  size_t n = strlen(name);
  for (const char *p = line; (p = strstr(p, name)) != NULL; p += n)
    if ((p == line || p[-1] == ' ' || p[-1] == '\n') && p[n] == '=') return atof(p + n + 1);
  die("no %s= in \"%s\"", name, line);
}

/* ---- msgpack --------------------------------------------------------------------- */

static uint8_t *put_u32(uint8_t *p, uint32_t v) {
  *p++ = 0xce;
  *p++ = (uint8_t)(v >> 24);
  *p++ = (uint8_t)(v >> 16);
  *p++ = (uint8_t)(v >> 8);
  *p++ = (uint8_t)v;
  return p;
}

size_t mp_input(uint8_t *buf, uint32_t i) {
  uint8_t *p = buf;
  *p++ = 0x82;                       /* map of 2 */
  *p++ = 0xa1, *p++ = 'i';
  p = put_u32(p, i);
  *p++ = 0xa7;
  memcpy(p, "payload", 7), p += 7;
  *p++ = 0xc4, *p++ = PAYLOAD_LEN;   /* bin 8 */
  for (int k = 0; k < PAYLOAD_LEN; k++) *p++ = (uint8_t)('a' + (i + (uint32_t)k) % 26);
  return (size_t)(p - buf);
}

int mp_output(uint32_t i, void **out, size_t *outlen) {
  uint8_t *p = malloc(16);
  if (!p) return -1;
  uint8_t *q = p;
  *q++ = 0x82;
  *q++ = 0xa1, *q++ = 'i';
  q = put_u32(q, i);
  *q++ = 0xa2, *q++ = 'o', *q++ = 'k';
  *q++ = 0xc3;
  *out = p;
  *outlen = (size_t)(q - p);
  return 0;
}

int mp_read_i(const void *in, size_t inlen, uint32_t *i) {
  const uint8_t *p = in;
  if (inlen < 8 || p[0] != 0x82 || p[1] != 0xa1 || p[2] != 'i' || p[3] != 0xce) return -1;
  *i = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
  return 0;
}

int step_ok(void *ud, const void *in, size_t inlen, void **out, size_t *outlen) {
  (void)ud;
  uint32_t i;
  if (mp_read_i(in, inlen, &i)) return -1;
  return mp_output(i, out, outlen);
}

int item_std(void *ud, size_t i, char *key, size_t keycap, void **in, size_t *inlen) {
  (void)ud;
  snprintf(key, keycap, "%07zu", i);
  uint8_t *buf = malloc(PAYLOAD_LEN + 32);
  if (!buf) return -1;
  *inlen = mp_input(buf, (uint32_t)i);
  *in = buf;
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

double quantile(double *v, size_t n, double q) {
  if (!n) return 0;
  qsort(v, n, sizeof *v, cmp_double);
  size_t k = (size_t)(q * (double)(n - 1) + 0.5);
  return v[k < n ? k : n - 1];
}
