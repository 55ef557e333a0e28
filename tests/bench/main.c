/* main.c — wf-bench: the measurements of tests/bench/run.sh, one subcommand each. Every
 * subcommand prints one line of k=v pairs (n, wall_s, steps_per_s, ...) on stdout. */
#include <stdio.h>
#include <string.h>

#include "bench.h"

static const char usage[] =
    "usage: wf-bench <command> --dir DIR [--n N] [--c C] [--k K] [--crash-point P]\n"
    "commands:\n"
    "  w1             N sequential wf_step_run steps\n"
    "  w2             N steps through wf_step_map, C in flight\n"
    "  w3             N steps, SIGKILL in step K (or at the start of K+1 with\n"
    "                 --crash-point next-step), then a new process resumes the run\n"
    "  resume-build   a run of N recorded steps, left failed (resumable)\n"
    "  resume-time    a new process resumes it: time until its first new step\n"
    "  runs-build     a store of N finished runs (every 10th failed)\n"
    "  gc-build       a store of N 40-day-old runs of 10 steps (with files) and C recent\n"
    "  rss            peak RSS of an N-item fan-out of trivial steps\n"
    "  limit-commit   N fully synced LMDB transactions of one 200-byte put\n"
    "  limit-spawn    N posix_spawn of /bin/true, C at once\n"
    "  time           run the command after -- N times: median wall time\n";

int main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
    fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const char *cmd = argv[1];
  char self[4096];
  self_path(self, sizeof self);
  bench_opts o;
  bench_parse(argc - 2, argv + 2, &o);
  if (strcmp(cmd, "w1") == 0) return cmd_w1(&o);
  if (strcmp(cmd, "w2") == 0) return cmd_w2(&o);
  if (strcmp(cmd, "w3") == 0) return cmd_w3(&o, self);
  if (strcmp(cmd, "w3-child") == 0) return cmd_w3_child(&o);
  if (strcmp(cmd, "resume-build") == 0) return cmd_resume_build(&o);
  if (strcmp(cmd, "resume-time") == 0) return cmd_resume_time(&o, self);
  if (strcmp(cmd, "resume-child") == 0) return cmd_resume_child(&o);
  if (strcmp(cmd, "runs-build") == 0) return cmd_runs_build(&o);
  if (strcmp(cmd, "gc-build") == 0) return cmd_gc_build(&o);
  if (strcmp(cmd, "rss") == 0) return cmd_rss(&o);
  if (strcmp(cmd, "limit-commit") == 0) return cmd_limit_commit(&o);
  if (strcmp(cmd, "limit-spawn") == 0) return cmd_limit_spawn(&o);
  if (strcmp(cmd, "time") == 0) return cmd_time(&o);
  fprintf(stderr, "wf-bench: unknown command %s\n%s", cmd, usage);
  return 2;
}
