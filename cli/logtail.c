/* logtail.c — a run's logs printed as `tail -F` prints files (logtail.h). Each log is
 * known by its file name and remembered with the file's identity and how far it was
 * printed, so logs appearing in any order are each printed once, from where they were
 * left; a line is printed only once it is ended. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "logtail.h"

#define CHUNK 65536 /* read at once; a longer line is printed in pieces */

/* One log: a step's, or (key NULL) the run's own. */
struct log {
  char *name;              /* its file name in the run's log folder */
  char *key;               /* the step key, or NULL */
  int opened;              /* dev and ino are those of the file read */
  dev_t dev;
  ino_t ino;
  off_t pos;               /* printed up to here: the start of a line not ended yet */
};

struct cli_logtail {
  const wf_store *st;
  const char *id;
  const char *step;        /* what --step selects, or NULL */
  long tail;               /* lines of each log at the first pass, or -1: all */
  char run_log[4096];      /* the run's own log */
  char dir[4096];          /* the folder of the logs */
  const char *run_log_name;
  struct log *v;           /* v[0..sorted) by name, then those found in this pass */
  size_t n, sorted, cap;
  const char *shown;       /* the name of the log whose lines came last */
  int midline;             /* the last byte written was not a newline */
  int werr;                /* the errno of a failed write, or 0 */
  int step_text;           /* a step's log holds something */
};

int cli_logtail_open(const wf_store *st, const char *id, const char *step, long tail,
                     cli_logtail **out) {
  *out = NULL;
  cli_logtail *t = calloc(1, sizeof *t);
  if (!t) return WF_ENOMEM;
  int rc = wf_log_path(st, id, NULL, t->run_log, sizeof t->run_log);
  char *slash = rc == 0 ? strrchr(t->run_log, '/') : NULL;
  if (!slash) {
    free(t);
    return rc ? rc : WF_EINVAL;
  }
  snprintf(t->dir, sizeof t->dir, "%.*s", (int)(slash - t->run_log), t->run_log);
  t->run_log_name = slash + 1;
  t->st = st;
  t->id = id;
  t->step = step;
  t->tail = tail;
  *out = t;
  return 0;
}

void cli_logtail_free(cli_logtail *t) {
  if (!t) return;
  for (size_t i = 0; i < t->n; i++) {
    free(t->v[i].name);
    free(t->v[i].key);
  }
  free(t->v);
  free(t);
}

int cli_logtail_write_error(const cli_logtail *t) { return t->werr; }
int cli_logtail_step_text(const cli_logtail *t) { return t->step_text; }
const char *cli_logtail_run_log_path(const cli_logtail *t) { return t->run_log; }

int cli_logtail_has_run_log(const cli_logtail *t) {
  struct stat sb;
  return stat(t->run_log, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* ---- writing ------------------------------------------------------------------------ */

static void out(cli_logtail *t, const char *p, size_t n) {
  if (t->werr || n == 0) return;
  errno = 0;
  if (fwrite(p, 1, n, stdout) != n) {
    t->werr = errno ? errno : EIO;
    return;
  }
  t->midline = p[n - 1] != '\n';
}

/* "==> KEY <==" before the lines of a log other than the last one printed. */
static void header(cli_logtail *t, const struct log *g) {
  if (t->shown == g->name) return;
  if (t->midline) out(t, "\n", 1);
  char line[WF_MAX_STEP_KEY + WF_MAX_RUN_ID + 16];
  int n = g->key ? snprintf(line, sizeof line, "==> %s <==\n", g->key)
                 : snprintf(line, sizeof line, "==> run %s <==\n", t->id);
  out(t, line, (size_t)n);
  t->shown = g->name;
}

/* ---- which files are logs to print -------------------------------------------------- */

/* The step key back from a log's file name (wf_log_path percent-encodes it): 0 and key
 * set when `name` is the log of a step, as wf_log_path names it. */
static int key_of(const cli_logtail *t, const char *name, char *key, size_t cap) {
  size_t len = strlen(name), j = 0;
  if (len < 5 || name[0] == '.' || strcmp(name + len - 4, ".log") != 0) return -1;
  for (size_t i = 0; i < len - 4; i++) {
    unsigned v;
    if (j + 1 >= cap) return -1;
    if (name[i] == '%' && i + 2 < len - 4 && sscanf(name + i + 1, "%2x", &v) == 1 && v) {
      key[j++] = (char)v;
      i += 2;
    } else {
      key[j++] = name[i];
    }
  }
  key[j] = '\0';
  char path[8192];
  if (wf_step_key_check(key) != 0 || wf_log_path(t->st, t->id, key, path, sizeof path) != 0)
    return -1;
  const char *base = strrchr(path, '/');
  return base && strcmp(base + 1, name) == 0 ? 0 : -1;
}

/* --step KEY selects that step; a stage id (no '/') also each step of the stage. */
static int selected(const char *step, const char *key) {
  if (!step || strcmp(step, key) == 0) return 1;
  size_t n = strlen(step);
  return !strchr(step, '/') && strncmp(key, step, n) == 0 && key[n] == '/';
}

static int by_name(const void *a, const void *b) {
  return strcmp(((const struct log *)a)->name, ((const struct log *)b)->name);
}

static int name_is(const void *name, const void *g) {
  return strcmp(name, ((const struct log *)g)->name);
}

static int known(const cli_logtail *t, const char *name) {
  return t->sorted && bsearch(name, t->v, t->sorted, sizeof *t->v, name_is) != NULL;
}

static int add(cli_logtail *t, const char *name, const char *key) {
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    struct log *v = realloc(t->v, cap * sizeof *v);
    if (!v) return WF_ENOMEM;
    t->v = v;
    t->cap = cap;
  }
  struct log *g = &t->v[t->n];
  memset(g, 0, sizeof *g);
  g->name = strdup(name);
  g->key = key ? strdup(key) : NULL;
  if (!g->name || (key && !g->key)) {
    free(g->name);
    free(g->key);
    return WF_ENOMEM;
  }
  t->n++;
  return 0;
}

/* Add the logs to print that the folder holds and that are not known yet. */
static void find_logs(cli_logtail *t) {
  DIR *d = opendir(t->dir);
  if (!d) return;
  struct dirent *e;
  char key[WF_MAX_STEP_KEY + 1];
  while ((e = readdir(d))) {
    if (known(t, e->d_name)) continue;
    if (strcmp(e->d_name, t->run_log_name) == 0) {
      if (!t->step) add(t, e->d_name, NULL);
    } else if (key_of(t, e->d_name, key, sizeof key) == 0 && selected(t->step, key)) {
      add(t, e->d_name, key);
    }
  }
  closedir(d);
  if (t->n > t->sorted) qsort(t->v, t->n, sizeof *t->v, by_name);
  t->sorted = t->n;
}

/* ---- reading ------------------------------------------------------------------------ */

/* Where the last n lines of the file (size bytes) begin; a last line without a newline
 * counts as a line. */
static off_t tail_start(int fd, off_t size, long n) {
  char buf[CHUNK];
  long seen = 0;
  if (n == 0) return size;
  for (off_t end = size; end > 0;) {
    size_t k = end > CHUNK ? CHUNK : (size_t)end;
    off_t at = end - (off_t)k;
    if (pread(fd, buf, k, at) != (ssize_t)k) return 0;
    for (size_t i = k; i-- > 0;)
      if (buf[i] == '\n' && at + (off_t)i != size - 1 && ++seen == n) return at + (off_t)i + 1;
    end = at;
  }
  return 0;
}

/* Print g's lines from g->pos up to `end`: only ended ones unless `last` (a line longer
 * than CHUNK is printed in pieces); the rest waits for a later pass. */
static void copy_lines(cli_logtail *t, struct log *g, int fd, off_t end, int last) {
  char buf[CHUNK];
  while (g->pos < end && !t->werr) {
    size_t want = end - g->pos > CHUNK ? CHUNK : (size_t)(end - g->pos);
    ssize_t k = pread(fd, buf, want, g->pos);
    if (k <= 0) return;
    size_t take = (size_t)k;
    if (!last) {
      while (take > 0 && buf[take - 1] != '\n') take--;
      if (take == 0 && (size_t)k < CHUNK) return;
      if (take == 0) take = (size_t)k;
    }
    header(t, g);
    out(t, buf, take);
    g->pos += (off_t)take;
  }
}

/* Print what log g holds beyond g->pos; a new file under its name (another inode) is read
 * from its start, one that shrank (truncated) from its start again. */
static void pump(cli_logtail *t, struct log *g, int first, int last) {
  char path[8192];
  snprintf(path, sizeof path, "%s/%s", t->dir, g->name);
  struct stat sb;
  if (stat(path, &sb) != 0) return; /* gone: it may come back */
  if (g->opened && sb.st_dev == g->dev && sb.st_ino == g->ino && sb.st_size == g->pos) return;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  if (fstat(fd, &sb) == 0) {
    if (sb.st_size > 0 && g->key) t->step_text = 1;
    if (!g->opened || sb.st_dev != g->dev || sb.st_ino != g->ino) {
      g->opened = 1;
      g->dev = sb.st_dev;
      g->ino = sb.st_ino;
      g->pos = first && t->tail >= 0 ? tail_start(fd, sb.st_size, t->tail) : 0;
    } else if (sb.st_size < g->pos) {
      g->pos = 0;
    }
    copy_lines(t, g, fd, sb.st_size, last);
  }
  close(fd);
}

int cli_logtail_pass(cli_logtail *t, int first, int last) {
  if (t->werr) return -1;
  find_logs(t);
  /* The run's own log first, then the steps' by name. */
  for (size_t i = 0; i < t->n; i++)
    if (!t->v[i].key) pump(t, &t->v[i], first, last);
  for (size_t i = 0; i < t->n && !t->werr; i++)
    if (t->v[i].key) pump(t, &t->v[i], first, last);
  if (last && t->midline) out(t, "\n", 1);
  errno = 0;
  if (fflush(stdout) != 0 && !t->werr) t->werr = errno ? errno : EIO;
  return t->werr ? -1 : 0;
}
