/* cmd_logs.c — `wf logs`: the stderr a run's steps wrote, optionally followed while it
 * runs. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char logs_usage[] =
    "usage: wf logs <run-id> [--step KEY] [--follow]\n"
    "\n"
    "Print what the run's steps wrote to stderr (one log per step, every attempt).\n"
    "\n"
    "options:\n"
    "  --step KEY            only this step (a key as 'wf show-run' lists it)\n"
    "  -f, --follow          keep printing as the logs grow, until the run stops\n";


/* Read run id into *r, freeing what *r held; *r is NULL when it cannot be read. */
static int reread(wf_store *st, const char *id, wf_run_info **r) {
  wf_run_info_free(*r);
  *r = NULL;
  return wf_run_info_get(st, id, r);
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Log files of a run, sorted, as paths. */
static int list_logs(const char *dir, char ***out, size_t *n) {
  DIR *d = opendir(dir);
  *out = NULL;
  *n = 0;
  if (!d) return 0;
  size_t cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    /* Step logs only: a detached run's own log (wf_log_path) begins with '.'. */
    if (len < 5 || strcmp(e->d_name + len - 4, ".log") != 0 || e->d_name[0] == '.') continue;
    if (*n == cap) {
      cap = cap ? cap * 2 : 32;
      char **p = realloc(*out, cap * sizeof *p);
      if (!p) break;
      *out = p;
    }
    (*out)[(*n)++] = strdup(e->d_name);
  }
  closedir(d);
  for (size_t i = 1; i < *n; i++)
    for (size_t j = i; j > 0 && strcmp((*out)[j - 1], (*out)[j]) > 0; j--) {
      char *t = (*out)[j];
      (*out)[j] = (*out)[j - 1];
      (*out)[j - 1] = t;
    }
  return 0;
}

/* Copy the file from *offset to its end; returns bytes written. */
static long copy_from(const char *path, long *offset) {
  FILE *f = fopen(path, "re");
  if (!f) return 0;
  long total = 0;
  if (fseek(f, *offset, SEEK_SET) == 0) {
    char buf[65536];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) {
      fwrite(buf, 1, k, stdout);
      total += (long)k;
    }
  }
  fclose(f);
  *offset += total;
  return total;
}

/* The step key back from a log file name (percent-decoding). */
static void key_of(const char *name, char *key, size_t cap) {
  size_t j = 0, len = strlen(name) - 4;
  for (size_t i = 0; i < len && j + 1 < cap; i++) {
    unsigned v;
    if (name[i] == '%' && i + 2 < len && sscanf(name + i + 1, "%2x", &v) == 1) {
      key[j++] = (char)v;
      i += 2;
    } else {
      key[j++] = name[i];
    }
  }
  key[j] = '\0';
}

int cmd_logs(cli_ctx *cli, int argc, char **argv) {
  cli_args a;
  int code = cli_parse(cli, "logs", argc, argv, cli_logs_opts, &a);
  if (code) return code;
  if (a.help) return fputs(logs_usage, stdout), EXIT_OK;
  if (a.npos != 1) return cli_fail(EXIT_USAGE, "logs needs one run id");
  const char *id = a.pos[0];
  if (wf_run_id_check(id) != 0) return cli_bad_id("run id", id);
  if (a.val[O_STEP] && wf_step_key_check(a.val[O_STEP]) != 0)
    return cli_bad_id("step key", a.val[O_STEP]);
  wf_store *st = NULL;
  if ((code = cli_open_existing(cli, &st)) != 0) return code;
  wf_run_info *r = NULL;
  int rc = wf_run_info_get(st, id, &r);
  if (rc) {
    wf_store_close(st);
    if (rc == WF_ENOTFOUND) return cli_fail(EXIT_NOTFOUND, "no run %s in %s", id, cli->home);
    return cli_fail(EXIT_STORE, "run %s cannot be read: %s", id, wf_strerror(rc));
  }
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/logs/%s", cli->home, id);
  long offsets[4096] = {0};
  char **names = NULL;
  size_t n = 0;
  char last[1024] = "";
  int finished = 0;
  for (;;) {
    if (a.val[O_STEP]) {
      char path[4096];
      if (wf_log_path(st, id, a.val[O_STEP], path, sizeof path) == 0) {
        if (!a.val[O_FOLLOW] && access(path, R_OK) != 0) {
          code = cli_fail(EXIT_NOTFOUND, "step %s of run %s has no log (it wrote nothing to "
                                        "stderr, or never ran)", a.val[O_STEP], id);
          break;
        }
        copy_from(path, &offsets[0]);
      }
    } else {
      for (size_t i = 0; i < n; i++) free(names[i]);
      free(names);
      list_logs(dir, &names, &n);
      for (size_t i = 0; i < n && i < 4096; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat sb;
        if (stat(path, &sb) != 0 || sb.st_size <= offsets[i]) continue;
        if (strcmp(last, names[i]) != 0) {
          char key[1024];
          key_of(names[i], key, sizeof key);
          printf("==> %s <==\n", key);
          snprintf(last, sizeof last, "%s", names[i]);
        }
        copy_from(path, &offsets[i]);
      }
    }
    fflush(stdout);
    if (!a.val[O_FOLLOW] || finished) break;
    if (reread(st, id, &r) != 0) break;
    /* Once the run stops, one more pass prints what its last steps wrote. */
    if (r->status != WF_RUN_RUNNING && r->status != WF_RUN_PENDING) finished = 1;
    else sleep_ms(200);
  }
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
  wf_run_info_free(r);
  wf_store_close(st);
  return code;
}
