/* home.c — which store a command uses, and why; and the user's configuration file.
 *
 * The store: --home DIR; else $WF_HOME; else `home = DIR` in the configuration file; else
 * the nearest folder named .wf in the current folder or above it (as git finds .git);
 * else ./.wf, created by the first run. The configuration file is
 * $XDG_CONFIG_HOME/wf/config (~/.config/wf/config when XDG_CONFIG_HOME is unset): lines
 * `key = value`, '#' comments and blank lines; see docs/configuration.md. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* ---- the configuration file ------------------------------------------------------- */

#define CONFIG_MAX 64

static const char *const known_keys[] = {"home", "retention", "retention_status", NULL};

static struct config {
  int loaded;
  int failed;              /* it could not be read or parsed: said once, EXIT_USAGE */
  char path[PATH_MAX];     /* "" when there is none to read (no HOME) */
  int n;
  struct entry {
    char *key, *value;
    int line;
  } e[CONFIG_MAX];
} config;

static void config_locate(void) {
  const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
  /* The XDG specification: a relative XDG_CONFIG_HOME is to be ignored. */
  if (xdg && xdg[0] == '/')
    snprintf(config.path, sizeof config.path, "%s/wf/config", xdg);
  else if (home && home[0])
    snprintf(config.path, sizeof config.path, "%s/.config/wf/config", home);
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n && strchr(" \t\r\n", s[n - 1])) s[--n] = '\0';
  return s;
}

/* One line: blank, a comment, or key = value. */
static int config_line(char *line, int lineno) {
  char *s = trim(line);
  if (!*s || *s == '#') return 0;
  char *eq = strchr(s, '=');
  if (!eq)
    return cli_fail(EXIT_USAGE, "%s:%d: expected \"key = value\", found \"%.60s\"", config.path,
                    lineno, s);
  *eq = '\0';
  char *key = trim(s), *value = trim(eq + 1);
  int known = 0;
  for (const char *const *k = known_keys; *k; k++) known |= strcmp(*k, key) == 0;
  if (!known) {
    fprintf(stderr, "wf: %s:%d: unknown key \"%.60s\" ignored (known: home, retention, "
                    "retention_status)\n", config.path, lineno, key);
    return 0;
  }
  if (!*value)
    return cli_fail(EXIT_USAGE, "%s:%d: %s has no value", config.path, lineno, key);
  for (const unsigned char *p = (const unsigned char *)value; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      return cli_fail(EXIT_USAGE, "%s:%d: %s contains a control character", config.path,
                      lineno, key);
  if (config.n == CONFIG_MAX)
    return cli_fail(EXIT_USAGE, "%s:%d: too many settings (at most %d)", config.path, lineno,
                    CONFIG_MAX);
  struct entry *e = &config.e[config.n];
  if (!(e->key = strdup(key)) || !(e->value = strdup(value)))
    return cli_fail(EXIT_STORE, "out of memory reading %s", config.path);
  e->line = lineno;
  config.n++;
  return 0;
}

/* Read the file once: 0, or EXIT_USAGE when it cannot be read or parsed (said on
 * stderr the first time). A missing file is an empty configuration. */
static int config_load(void) {
  if (config.loaded) return config.failed ? EXIT_USAGE : 0;
  config.loaded = 1;
  config_locate();
  if (!config.path[0]) return 0;
  FILE *f = fopen(config.path, "r");
  if (!f) {
    if (errno == ENOENT || errno == ENOTDIR) return 0;
    config.failed = 1;
    return cli_fail(EXIT_USAGE, "cannot read the configuration file %s: %s", config.path,
                    strerror(errno));
  }
  char line[4096];
  int lineno = 0, rc = 0;
  while (!rc && fgets(line, sizeof line, f)) {
    lineno++;
    size_t n = strlen(line);
    if (n == sizeof line - 1 && line[n - 1] != '\n')
      rc = cli_fail(EXIT_USAGE, "%s:%d: line too long", config.path, lineno);
    else
      rc = config_line(line, lineno);
  }
  fclose(f);
  config.failed = rc != 0;
  return rc ? EXIT_USAGE : 0;
}

int cli_config_get(const char *key, const char **value, char *where, size_t cap) {
  *value = NULL;
  int rc = config_load();
  if (rc) return rc;
  /* The last setting of a key wins, as in git's files. */
  for (int i = config.n - 1; i >= 0; i--) {
    if (strcmp(config.e[i].key, key) != 0) continue;
    *value = config.e[i].value;
    if (where) snprintf(where, cap, "%s:%d", config.path, config.e[i].line);
    break;
  }
  return 0;
}

/* ---- the store -------------------------------------------------------------------- */

static char home_buf[PATH_MAX];

static int is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* `home` of the configuration, as a path: "~/x" under $HOME, a relative one under the
 * configuration file's folder. */
static int config_home(const char *value, const char *where, char *out, size_t cap) {
  const char *home = getenv("HOME");
  int n;
  if (value[0] == '~' && (value[1] == '/' || !value[1])) {
    if (!home || !home[0])
      return cli_fail(EXIT_USAGE, "%s: home \"%s\" begins with ~ but HOME is not set", where,
                      value);
    n = snprintf(out, cap, "%s%s", home, value + 1);
  } else if (value[0] == '/') {
    n = snprintf(out, cap, "%s", value);
  } else {
    size_t dir = strrchr(config.path, '/') - config.path;
    n = snprintf(out, cap, "%.*s/%s", (int)dir, config.path, value);
  }
  if (n < 0 || (size_t)n >= cap) return cli_fail(EXIT_USAGE, "%s: home is too long", where);
  return 0;
}

/* The nearest .wf folder in the current folder or above it: 1 and out set, or 0. */
static int find_upwards(char *out, size_t cap) {
  char dir[PATH_MAX], probe[PATH_MAX + 8];
  if (!getcwd(dir, sizeof dir)) return 0;
  for (int depth = 0;; depth++) {
    snprintf(probe, sizeof probe, "%s%s.wf", dir, strcmp(dir, "/") == 0 ? "" : "/");
    if (is_dir(probe)) {
      /* In the current folder itself it is the default, shown as such. */
      const char *found = depth == 0 ? ".wf" : probe;
      size_t n = strlen(found);
      if (n >= cap) return 0;
      memcpy(out, found, n + 1);
      return 1;
    }
    char *slash = strrchr(dir, '/');
    if (!slash || strcmp(dir, "/") == 0) return 0;
    if (slash == dir) slash[1] = '\0';
    else *slash = '\0';
  }
}

int cli_home_resolve(cli_ctx *cli) {
  if (cli->home) return 0;
  const char *env = getenv("WF_HOME");
  if (env && env[0]) {
    cli->home = env;
    cli->home_source = CLI_HOME_ENV;
    return 0;
  }
  const char *value;
  int rc = cli_config_get("home", &value, cli->home_where, sizeof cli->home_where);
  if (rc) return rc;
  if (value) {
    if ((rc = config_home(value, cli->home_where, home_buf, sizeof home_buf))) return rc;
    cli->home = home_buf;
    cli->home_source = CLI_HOME_CONFIG;
    return 0;
  }
  if (find_upwards(home_buf, sizeof home_buf)) {
    cli->home = home_buf;
    cli->home_source = strcmp(home_buf, ".wf") == 0 ? CLI_HOME_HERE : CLI_HOME_FOUND;
    return 0;
  }
  cli->home = ".wf";
  cli->home_source = CLI_HOME_DEFAULT;
  return 0;
}

const char *cli_home_reason(const cli_ctx *cli, char *buf, size_t cap) {
  switch (cli->home_source) {
  case CLI_HOME_FLAG: snprintf(buf, cap, "given by --home"); break;
  case CLI_HOME_ENV: snprintf(buf, cap, "from WF_HOME"); break;
  case CLI_HOME_CONFIG: snprintf(buf, cap, "home in %s", cli->home_where); break;
  case CLI_HOME_FOUND:
    snprintf(buf, cap, "the nearest .wf above the current folder (no --home, WF_HOME or "
                       "home in the configuration file)");
    break;
  case CLI_HOME_HERE: snprintf(buf, cap, ".wf in the current folder"); break;
  default:
    snprintf(buf, cap, "the default, ./.wf: no --home, WF_HOME, home in the configuration "
                       "file or .wf in a folder above");
  }
  return buf;
}
