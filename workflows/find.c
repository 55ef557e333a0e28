/* find.c — finding definitions: a path as given, ./workflows/<name>.json, or the
 * bundled ones installed next to the executable (<bindir>/../share/wf/workflows).
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wfw_int.h"

static int is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The bundled folder, found through /proc/self/exe (an install can be moved). */
static int bundled_dir(char *buf, size_t cap) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return WF_ENOTFOUND;
  exe[n] = '\0';
  for (int up = 0; up < 2; up++) {   /* <prefix>/bin/wf -> <prefix> */
    char *slash = strrchr(exe, '/');
    if (!slash) return WF_ENOTFOUND;
    *slash = '\0';
  }
  int w = snprintf(buf, cap, "%s/share/wf/workflows", exe);
  return w > 0 && (size_t)w < cap ? 0 : WF_ENOTFOUND;
}

int wfw_resolve(const char *name_or_path, char *path, size_t cap, wfw_err *err) {
  char tried[3][PATH_MAX + 64];
  int ntried = 0;
  const char *s = name_or_path;
  if (err) err->msg[0] = '\0';
  if (!s || !*s) return wfw_fail(err, "no workflow given (a name from `wf list`, or a path)");
  if (is_file(s)) {
    if (strlen(s) >= cap) return wfw_fail(err, "%s: path too long", s);
    snprintf(path, cap, "%s", s);
    return 0;
  }
  snprintf(tried[ntried++], sizeof tried[0], "%s", s);
  /* A bare name is looked up; anything with a slash was meant as a path. */
  if (!strchr(s, '/') && strlen(s) < 256) {
    char dir[PATH_MAX];
    const char *ext = strlen(s) > 5 && strcmp(s + strlen(s) - 5, ".json") == 0 ? "" : ".json";
    snprintf(tried[ntried++], sizeof tried[0], "./workflows/%s%s", s, ext);
    if (bundled_dir(dir, sizeof dir) == 0)
      snprintf(tried[ntried++], sizeof tried[0], "%s/%s%s", dir, s, ext);
    for (int i = 1; i < ntried; i++) {
      if (!is_file(tried[i])) continue;
      if (strlen(tried[i]) >= cap) return wfw_fail(err, "%s: path too long", tried[i]);
      snprintf(path, cap, "%s", tried[i]);
      return 0;
    }
  }
  if (err) {
    size_t n = (size_t)snprintf(err->msg, sizeof err->msg, "workflow \"%s\" not found (tried:", s);
    for (int i = 0; i < ntried && n < sizeof err->msg; i++)
      n += (size_t)snprintf(err->msg + n, sizeof err->msg - n, "%s %s", i ? "," : "", tried[i]);
    if (n < sizeof err->msg)
      snprintf(err->msg + n, sizeof err->msg - n, "); `wf list` shows the available ones");
  }
  return WF_ENOTFOUND;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.json names in dir, sorted; *out NULL when the folder does not exist. */
static int json_names(const char *dir, char ***out, size_t *n) {
  DIR *dh = opendir(dir);
  char **v = NULL;
  size_t cnt = 0, cap = 0;
  *out = NULL;
  *n = 0;
  if (!dh) return 0;
  struct dirent *e;
  int rc = 0;
  while (rc == 0 && (e = readdir(dh)) != NULL) {
    size_t len = strlen(e->d_name);
    if (len <= 5 || strcmp(e->d_name + len - 5, ".json") != 0 || e->d_name[0] == '.') continue;
    if (cnt == cap) {
      char **g = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof *v);
      if (!g) {
        rc = WF_ENOMEM;
        break;
      }
      v = g;
    }
    if (!(v[cnt] = strndup(e->d_name, len - 5))) rc = WF_ENOMEM;
    else cnt++;
  }
  closedir(dh);
  if (cnt) qsort(v, cnt, sizeof *v, by_name);
  *out = v;
  *n = cnt;
  return rc;
}

static void free_names(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

static void visit(const char *dir, const char *name,
                  void (*cb)(void *, const char *, const char *, const char *), void *ud) {
  char path[PATH_MAX + 300];
  wfw_def *d;
  wfw_err err;
  snprintf(path, sizeof path, "%s/%s.json", dir, name);
  if (wfw_load(path, &d, &err) == 0) {
    cb(ud, name, path, wfw_def_description(d));
    wfw_def_free(d);
  } else {
    char desc[384];
    snprintf(desc, sizeof desc, "(invalid definition: `wf describe %s` says why)", name);
    cb(ud, name, path, desc);
  }
}

int wfw_list(void (*cb)(void *ud, const char *name, const char *path, const char *desc),
             void *ud) {
  char bdir[PATH_MAX];
  char **local = NULL, **bundled = NULL;
  size_t nl = 0, nb = 0;
  int rc = json_names("./workflows", &local, &nl);
  if (rc == 0 && bundled_dir(bdir, sizeof bdir) == 0) rc = json_names(bdir, &bundled, &nb);
  for (size_t i = 0; rc == 0 && i < nl; i++) visit("./workflows", local[i], cb, ud);
  for (size_t i = 0; rc == 0 && i < nb; i++) {
    /* ./workflows/<name>.json shadows the bundled one of that name, as wfw_resolve does. */
    if (nl && bsearch(&bundled[i], local, nl, sizeof *local, by_name)) continue;
    visit(bdir, bundled[i], cb, ud);
  }
  free_names(local, nl);
  free_names(bundled, nb);
  return rc;
}
