/* util.c — argument parsing, messages, store opening and time formatting for the CLI. */
#define _DEFAULT_SOURCE /* timegm */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "wfmp.h"

int cli_fail(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("wf: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return code;
}

int cli_bad_id(const char *what, const char *id) {
  char shown[96];
  size_t n = 0;
  /* Never echo control bytes: an id is shown escaped and cut short. */
  for (const unsigned char *p = (const unsigned char *)id; *p && n + 5 < sizeof shown; p++) {
    if (*p < 0x20 || *p == 0x7f || *p == '\\' || *p == '"')
      n += (size_t)snprintf(shown + n, sizeof shown - n, "\\x%02x", *p);
    else
      shown[n++] = (char)*p;
  }
  shown[n] = '\0';
  if (strcmp(what, "run id") != 0)
    return cli_fail(EXIT_USAGE, "invalid %s \"%s\"%s: use 1 to %d bytes without control "
                               "characters", what, shown, strlen(id) > 60 ? "..." : "",
                    WF_MAX_STEP_KEY);
  return cli_fail(EXIT_USAGE,
                  "invalid %s \"%s\"%s: use 1 to %d printable characters without spaces, '/' or "
                  "a leading '.' or '-'",
                  what, shown, strlen(id) > 60 ? "..." : "", WF_MAX_RUN_ID);
}

int cli_exit_for(int rc) {
  switch (rc) {
  case 0: return EXIT_OK;
  case WF_ENOTFOUND: return EXIT_NOTFOUND;
  case WF_EINVAL: case WF_ESTATE: case WF_EEXIST: return EXIT_USAGE;
  case WF_EBUSY: case WF_ESTEP: case WF_ECANCELED: return EXIT_FAILED;
  case WF_EINTR: return EXIT_SIGNAL;
  case WF_EFENCED: return EXIT_FENCED;
  default: return EXIT_STORE;
  }
}

int cli_edit_distance(const char *a, const char *b) {
  enum { CAP = 64 };
  size_t n = strlen(a), m = strlen(b);
  if (n >= CAP || m >= CAP) return CAP;
  int d[CAP][CAP];
  for (size_t i = 0; i <= n; i++) d[i][0] = (int)i;
  for (size_t j = 0; j <= m; j++) d[0][j] = (int)j;
  for (size_t i = 1; i <= n; i++)
    for (size_t j = 1; j <= m; j++) {
      int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
      if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
          d[i - 2][j - 2] + 1 < best)
        best = d[i - 2][j - 2] + 1;
      d[i][j] = best;
    }
  return d[n][m];
}

static int set_format(cli_ctx *cli, const char *v) {
  if (strcmp(v, "table") == 0) cli->format = FMT_TABLE;
  else if (strcmp(v, "json") == 0) cli->format = FMT_JSON;
  else if (strcmp(v, "ids") == 0) cli->format = FMT_IDS;
  else return cli_fail(EXIT_USAGE, "unknown output format \"%s\" (use table, json or ids)", v);
  return 0;
}

static int check_text(const char *what, const char *v) {
  for (const unsigned char *p = (const unsigned char *)v; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      return cli_fail(EXIT_USAGE, "%s contains a control character", what);
  return 0;
}

int cli_parse(cli_ctx *cli, const char *cmd, int argc, char **argv, const cli_opt *opts,
              cli_args *out) {
  memset(out, 0, sizeof *out);
  int only_pos = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (only_pos || a[0] != '-' || a[1] == '\0') {
      if (out->npos == CLI_MAX_ARGS) return cli_fail(EXIT_USAGE, "%s: too many arguments", cmd);
      out->pos[out->npos++] = a;
      continue;
    }
    if (strcmp(a, "--") == 0) {
      only_pos = 1;
      continue;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      out->help = 1;
      continue;
    }
    /* Split --name=value and -xVALUE. */
    char name[64];
    const char *value = NULL;
    const cli_opt *o = NULL;
    int is_long = a[1] == '-';
    if (is_long) {
      const char *eq = strchr(a + 2, '=');
      size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
      if (n >= sizeof name) n = sizeof name - 1;
      memcpy(name, a + 2, n);
      name[n] = '\0';
      if (eq) value = eq + 1;
    } else {
      name[0] = a[1];
      name[1] = '\0';
      if (a[2]) value = a + 2;
    }
    int global = is_long ? (strcmp(name, "home") == 0 || strcmp(name, "output") == 0)
                         : name[0] == 'o';
    if (!global) {
      for (const cli_opt *p = opts; p && p->name; p++)
        if (is_long ? strcmp(p->name, name) == 0 : (p->short_name && p->short_name == name[0]))
          o = p;
      if (!o) {
        const cli_opt *near = NULL;
        for (const cli_opt *p = opts; p && p->name && is_long; p++)
          if (cli_edit_distance(name, p->name) <= 2 && strlen(name) > 2) near = p;
        if (near)
          return cli_fail(EXIT_USAGE, "%s: unknown option %s: did you mean --%s? (see 'wf %s "
                                      "--help')", cmd, a, near->name, cmd);
        return cli_fail(EXIT_USAGE, "%s: unknown option %s (see 'wf %s --help')", cmd, a, cmd);
      }
    }
    int takes = global ? 1 : o->arg;
    if (takes == CLI_ARG_OPTIONAL) {
      /* Its value is the next argument only once the positional ones have begun and that
       * argument is no option: `start W --force a,b`, but `start --force W`. */
      if (!value && out->npos > 0 && i + 1 < argc && argv[i + 1][0] != '-')
        value = argv[++i];
      if (value && check_text(a, value)) return EXIT_USAGE;
      out->val[o->id] = value ? value : "";
      continue;
    }
    if (!takes && value)
      return cli_fail(EXIT_USAGE, "%s: option %s takes no value", cmd, is_long ? name : a);
    if (takes && !value) {
      if (i + 1 >= argc)
        return cli_fail(EXIT_USAGE, "%s: option %s needs a value", cmd, a);
      value = argv[++i];
    }
    if (value && check_text(a, value)) return EXIT_USAGE;
    if (global) {
      if (is_long && strcmp(name, "home") == 0) {
        if (!value[0]) return cli_fail(EXIT_USAGE, "--home needs a directory");
        cli->home = value;
        cli->home_source = CLI_HOME_FLAG;
      } else if (set_format(cli, value)) {
        return EXIT_USAGE;
      }
      continue;
    }
    if (o->id == 0) {
      if (out->nmulti == CLI_MAX_ARGS) return cli_fail(EXIT_USAGE, "%s: too many %s", cmd, a);
      out->multi[out->nmulti++] = value;
    } else {
      out->val[o->id] = takes ? value : "1";
    }
  }
  return out->help ? 0 : cli_home_resolve(cli);
}

int cli_check_home(const cli_ctx *cli) {
  struct stat st;
  if (stat(cli->home, &st) == 0 && !S_ISDIR(st.st_mode))
    return cli_fail(EXIT_STORE, "the store home %s is not a directory (--home or WF_HOME)",
                    cli->home);
  return 0;
}

const char *cli_store_why(int rc, char *buf, size_t cap) {
  const wf_failure *f = wf_last_failure();
  const char *path = f->path;
  if (!path[0]) {
    snprintf(buf, cap, "%s", wf_strerror(rc));
    return buf;
  }
  switch (rc) {
  case WF_EACCES:
    snprintf(buf, cap, "permission denied on %s (wf reads and writes its store's files even "
                       "to show a run: run it as the user who owns the store, or give this "
                       "user read and write access)", path);
    break;
  case WF_EROFS:
    snprintf(buf, cap, "%s is on a read-only file system (wf writes to its store even to "
                       "show a run: remount it read-write, or copy the store and use --home "
                       "with the copy)", path);
    break;
  case WF_ENOSPC:
    snprintf(buf, cap, "no space left on the device holding %s (or the quota is used up): "
                       "free some space", path);
    break;
  case WF_EIO:
    if (f->sys_errno && f->sys_errno != EIO)
      snprintf(buf, cap, "%s: %s", path, strerror(f->sys_errno));
    else
      snprintf(buf, cap, "input/output error on %s (is the disk failing? see the system "
                         "log, e.g. dmesg)", path);
    break;
  case WF_EREADERS:
    snprintf(buf, cap, "all %u reader slots of the store are in use (%s: one per process "
                       "that has the store open, e.g. detached runs and 'wf logs --follow'); "
                       "wait for some to finish. To allow more, stop every process using "
                       "the store, then run wf with WF_MAX_READERS=%u",
             f->readers, path, f->readers < 2048 ? 4096 : f->readers * 2);
    break;
  case WF_ENOTSTORE:
    snprintf(buf, cap, "%s is not a wf store (another program's, or damaged: it holds no "
                       "schema version wf writes); point --home or WF_HOME at a wf store or a "
                       "new directory", path);
    break;
  default:
    snprintf(buf, cap, "%s", wf_strerror(rc));
  }
  return buf;
}

/* Why the store could not be opened, said once for both ways of opening it. */
static int open_failed(const cli_ctx *cli, int rc) {
  char why[8192];
  if (rc == WF_ENOTFOUND)
    return cli_fail(EXIT_NOTFOUND, "no store at %s (start a run first, or pass --home DIR)",
                    cli->home);
  if (rc == WF_ESCHEMA)
    return cli_fail(EXIT_STORE, "the store at %s was written by a newer wf; upgrade wf to use it",
                    cli->home);
  if (rc == WF_ECORRUPT)
    return cli_fail(EXIT_STORE, "the store at %s is damaged (its data file is shorter than its "
                               "own index says); restore it from a copy", cli->home);
  return cli_fail(EXIT_STORE, "cannot open the store at %s: %s", cli->home,
                  cli_store_why(rc, why, sizeof why));
}

/* $name as a whole number from 1 to max, or 0 when it is not set or not one. */
static unsigned long long env_count(const char *name, unsigned long long max) {
  const char *s = getenv(name);
  if (!s || !*s || *s == '-') return 0;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  return !errno && !*end && v <= max ? v : 0;
}

void cli_store_opts(unsigned flags, wf_store_opts *o) {
  memset(o, 0, sizeof *o);
  o->flags = flags;
  o->map_cap_mb = env_count("WF_MAP_CAP_MB", SIZE_MAX >> 20);
  o->max_readers = (unsigned)env_count("WF_MAX_READERS", 1u << 20);
  /* These two take a number's leading digits, as atol and atof do. */
  const char *s = getenv("WF_MAX_OUTPUT_MB");
  long mb = s ? atol(s) : 0;
  if (mb > 0) o->max_output_mb = (uint64_t)mb > (SIZE_MAX >> 20) ? SIZE_MAX >> 20 : (uint64_t)mb;
  s = getenv("WF_KILL_GRACE_S");
  double grace = s ? atof(s) : 0;
  if (grace > 0 && grace < 1e9) o->kill_grace_s = grace;
}

static int open_store(cli_ctx *cli, unsigned flags, wf_store **st) {
  if (cli_check_home(cli)) return EXIT_STORE;
  wf_store_opts o;
  cli_store_opts(flags, &o);
  int rc = wf_store_open_ex(cli->home, &o, st);
  return rc ? open_failed(cli, rc) : 0;
}

int cli_open_existing(cli_ctx *cli, wf_store **st) {
  return open_store(cli, WF_STORE_NOCREATE, st);
}

int cli_open_store(cli_ctx *cli, wf_store **st) { return open_store(cli, 0, st); }

int64_t cli_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cli_time_iso(int64_t ms, char *buf, size_t cap) {
  if (ms <= 0) {
    buf[0] = '\0';
    return;
  }
  time_t s = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&s, &tm);
  size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, cap - n, ".%03dZ", (int)(ms % 1000));
}

void cli_time_human(int64_t ms, char *buf, size_t cap) {
  if (ms <= 0) {
    snprintf(buf, cap, "-");
    return;
  }
  time_t s = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&s, &tm);
  strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm);
}

void cli_duration(double s, char *buf, size_t cap) {
  if (s < 0) s = 0;
  if (s < 60) snprintf(buf, cap, "%.2fs", s);
  else if (s < 3600) snprintf(buf, cap, "%dm%02ds", (int)s / 60, (int)s % 60);
  else snprintf(buf, cap, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
}

/* s with every byte that is not part of a UTF-8 character replaced by U+FFFD (malloc'd),
 * or NULL when s is valid UTF-8 already (or memory ran out). */
static char *utf8_repaired(const char *s) {
  size_t n = strlen(s), ok = wfm_utf8_check(s, n), o = 0;
  if (ok == n) return NULL;
  char *r = malloc(3 * n + 1);
  if (!r) return NULL;
  for (size_t i = 0; i < n;) {
    ok = wfm_utf8_check(s + i, n - i);
    memcpy(r + o, s + i, ok);
    o += ok;
    i += ok;
    if (i < n) {
      memcpy(r + o, "\xef\xbf\xbd", 3);
      o += 3;
      i++;
    }
  }
  r[o] = '\0';
  return r;
}

void cli_json_make_utf8(cJSON *j) {
  for (cJSON *c = j; c; c = c->next) {
    char *r;
    if (c->string && !(c->type & cJSON_StringIsConst) && (r = utf8_repaired(c->string))) {
      free(c->string); /* cJSON's default allocator is malloc (no hooks are installed) */
      c->string = r;
    }
    if (cJSON_IsString(c) && c->valuestring && (r = utf8_repaired(c->valuestring))) {
      free(c->valuestring);
      c->valuestring = r;
    }
    if (c->child) cli_json_make_utf8(c->child);
  }
}

void cli_print_json(cJSON *j) {
  cli_json_make_utf8(j);
  char *s = cJSON_Print(j);
  if (s) {
    fputs(s, stdout);
    fputc('\n', stdout);
  }
  free(s);
  cJSON_Delete(j);
}
