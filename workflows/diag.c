/* diag.c — the messages of a definition that does not load, shared by the files that
 * check one (load.c, stage.c, graph.c, params.c) and by the layer's other refusals: a
 * message with its place in the file, unknown or repeated fields with a suggestion, and
 * the integer check the loaders share. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wfw_int.h"

int wfw_fail(wfw_err *err, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return WF_EINVAL;
}

int wfw_lfail(wfw_lctx *c, int stage, const char *fmt, ...) {
  if (!c->err) return WF_EINVAL;
  char *m = c->err->msg;
  size_t cap = sizeof c->err->msg;
  int n;
  if (stage >= 0 && c->d->stages && c->d->stages[stage].id)
    n = snprintf(m, cap, "%s: stage \"%s\": ", c->d->path, c->d->stages[stage].id);
  else if (stage >= 0)
    n = snprintf(m, cap, "%s: stage #%d: ", c->d->path, stage + 1);
  else
    n = snprintf(m, cap, "%s: ", c->d->path);
  if (n >= 0 && (size_t)n < cap) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m + n, cap - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return WF_EINVAL;
}

/* Edit distance, to suggest the field a misspelling meant. */
static size_t distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b), row[64];
  if (la >= 63 || lb >= 63) return 99;
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t prev = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t cur = row[j], best = prev + (a[i - 1] != b[j - 1]);
      if (row[j] + 1 < best) best = row[j] + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      prev = cur;
    }
  }
  return row[lb];
}

int wfw_check_fields(wfw_lctx *c, int stage, const char *what, const cJSON *o,
                     const char *const *known) {
  for (const cJSON *f = o->child; f; f = f->next) {
    for (const cJSON *g = o->child; g != f; g = g->next)
      if (strcmp(g->string, f->string) == 0)
        return wfw_lfail(c, stage, "%sfield \"%s\" appears twice", what, f->string);
    size_t i, best = 0, bestd = 99;
    for (i = 0; known[i]; i++) {
      if (strcmp(known[i], f->string) == 0) break;
      size_t d = distance(known[i], f->string);
      if (d < bestd) bestd = d, best = i;
    }
    if (known[i]) continue;
    char list[512];
    size_t n = 0;
    list[0] = '\0';
    for (i = 0; known[i] && n < sizeof list; i++)
      n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", known[i]);
    char hint[96] = "";
    if (bestd <= 2) snprintf(hint, sizeof hint, "; did you mean \"%s\"?", known[best]);
    return wfw_lfail(c, stage, "%sunknown field \"%s\" (expected one of: %s%s)", what,
                     f->string, list, hint);
  }
  return 0;
}

int wfw_json_int(const cJSON *v, double lo, double hi) {
  if (!cJSON_IsNumber(v)) return 0;
  double x = v->valuedouble;
  return x >= lo && x <= hi && x == (double)(long long)x;
}
