/* limits.c — what the machine allows without the engine (fully synced LMDB commits,
 * posix_spawn of /bin/true), and the wall time of whole commands such as `wf show-run`. */
#define _DEFAULT_SOURCE /* wait4 */
#include <errno.h>
#include <lmdb.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

#define MDB_TRY(x)                                                   \
  do {                                                               \
    int mrc_ = (x);                                                  \
    if (mrc_) die("%s: %s", #x, mdb_strerror(mrc_));                 \
  } while (0)

/* One 200-byte put per transaction, each commit fully synced, in an environment opened
 * with the store's flags, on the same file system as the stores. */
int cmd_limit_commit(bench_opts *o) {
  size_t n = o->n ? o->n : 1000;
  char dir[4096];
  if (!o->dir) die("--dir is required");
  make_dir(o->dir);
  snprintf(dir, sizeof dir, "%s/lmdb", o->dir);
  rm_rf(dir);
  make_dir(dir);
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
  MDB_TRY(mdb_env_create(&env));
  MDB_TRY(mdb_env_set_mapsize(env, (size_t)64 << 20));
  MDB_TRY(mdb_env_open(env, dir, MDB_NORDAHEAD | MDB_NOTLS, 0600));
  MDB_TRY(mdb_txn_begin(env, NULL, 0, &txn));
  MDB_TRY(mdb_dbi_open(txn, NULL, 0, &dbi));
  MDB_TRY(mdb_txn_commit(txn));
  char value[200], key[24];
  memset(value, 'v', sizeof value);
  double *lat = malloc(n * sizeof *lat);
  if (!lat) die("out of memory");
  double t0 = now_s();
  for (size_t i = 0; i < n; i++) {
    double t = now_s();
    snprintf(key, sizeof key, "%08zu", i);
    MDB_val k = {strlen(key), key}, v = {sizeof value, value};
    MDB_TRY(mdb_txn_begin(env, NULL, 0, &txn));
    MDB_TRY(mdb_put(txn, dbi, &k, &v, 0));
    MDB_TRY(mdb_txn_commit(txn));
    lat[i] = now_s() - t;
  }
  double wall = now_s() - t0;
  mdb_env_close(env);
  printf("n=%zu wall_s=%.4f steps_per_s=%.1f p50_commit_ms=%.3f p99_commit_ms=%.3f\n", n, wall,
         (double)n / wall, quantile(lat, n, 0.5) * 1e3, quantile(lat, n, 0.99) * 1e3);
  free(lat);
  return 0;
}

/* posix_spawn of /bin/true with at most c children at once, reaped with waitpid. */
int cmd_limit_spawn(bench_opts *o) {
  size_t n = o->n ? o->n : 2000;
  size_t c = o->c ? o->c : 8;
  char *argv[] = {"/bin/true", NULL};
  size_t started = 0, done = 0, inflight = 0;
  double t0 = now_s();
  while (done < n) {
    while (inflight < c && started < n) {
      pid_t pid;
      int rc = posix_spawn(&pid, argv[0], NULL, NULL, argv, environ);
      if (rc) die("posix_spawn: %s", strerror(rc));
      started++;
      inflight++;
    }
    int st;
    pid_t pid = waitpid(-1, &st, 0);
    if (pid < 0) die("waitpid: %s", strerror(errno));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) die("/bin/true failed");
    inflight--;
    done++;
  }
  double wall = now_s() - t0;
  printf("n=%zu wall_s=%.4f steps_per_s=%.1f c=%zu\n", n, wall, (double)n / wall, c);
  return 0;
}

/* Run the command after "--" n times (stdout to /dev/null); every run must exit 0.
 * Prints the median, min and max wall time and the largest peak RSS of the runs. */
int cmd_time(bench_opts *o) {
  size_t n = o->n ? o->n : 1;
  if (!o->rest || !o->rest[0]) die("time needs a command after --");
  double *wall = malloc(n * sizeof *wall);
  if (!wall) die("out of memory");
  long maxrss = 0;
  for (size_t i = 0; i < n; i++) {
    double t = now_s();
    pid_t pid = spawn_cmd(o->rest, NULL, 1);
    int st;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0)
      if (errno != EINTR) die("wait4: %s", strerror(errno));
    wall[i] = now_s() - t;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
      die("%s exited with %d", o->rest[0], WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    if (ru.ru_maxrss > maxrss) maxrss = ru.ru_maxrss;
  }
  double med = quantile(wall, n, 0.5);
  printf("wall_s=%.5f min_s=%.5f max_s=%.5f rss_mb=%.1f runs=%zu\n", med, wall[0], wall[n - 1],
         (double)maxrss / 1024.0, n);
  free(wall);
  return 0;
}
