/* jsontext.c — the checks cJSON does not make on JSON text, made before it is parsed.
 *
 * cJSON copies string bytes without checking that they are UTF-8, ends a string at an
 * escaped NUL (\u0000) without a word, and nests up to a thousand levels. A value with
 * either of the first two would be recorded other than it was written (or printed back
 * as text that is not JSON), and one nested too deeply could not be recorded at all;
 * this scan finds the first such byte and says where it is: its offset, line and
 * column, and the JSON path of the value around it. It does not check the syntax:
 * cJSON does that next.
 */
#include <stdio.h>
#include <string.h>

#include "wf/wf.h"
#include "wfact.h"
#include "wfmp.h"

/* Levels whose path is kept; deeper ones are shown as "...". */
#define PATH_LEVELS 64

struct level {
  int obj;              /* 1: an object, 0: an array */
  int want_key;         /* object: the next string is a member name */
  uint64_t index;       /* array: the element being read */
  const char *key;      /* object: the raw text of the current member name */
  size_t keylen;
};

struct scan {
  const char *s;
  struct level lv[PATH_LEVELS];
  int depth;            /* open arrays and objects */
  int in_key;           /* the string being read is a member name */
};

static int plain_name(const char *k, size_t n) {
  if (n == 0 || n > 40) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = k[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
          (i > 0 && c >= '0' && c <= '9')))
      return 0;
  }
  return 1;
}

/* $ then .name, ["other name"] and [index] for each level; cut with "..." at cap. */
static void render_path(const struct scan *sc, char *buf, size_t cap) {
  size_t n = (size_t)snprintf(buf, cap, "$");
  int shown = sc->depth < PATH_LEVELS ? sc->depth : PATH_LEVELS;
  for (int d = 0; d < shown && n < cap; d++) {
    const struct level *l = &sc->lv[d];
    char part[64];
    if (!l->obj) {
      snprintf(part, sizeof part, "[%llu]", (unsigned long long)l->index);
    } else if (l->want_key || !l->key) {
      break; /* between members, or inside a member name: the object is the place */
    } else if (plain_name(l->key, l->keylen)) {
      snprintf(part, sizeof part, ".%.*s", (int)l->keylen, l->key);
    } else {
      /* The name as written in the text (escapes kept), shortened on a UTF-8 boundary,
       * raw control bytes shown as '?'. */
      size_t k = l->keylen > 32 ? 32 : l->keylen, o = 0;
      while (k < l->keylen && k > 0 && ((unsigned char)l->key[k] & 0xc0) == 0x80) k--;
      o = (size_t)snprintf(part, sizeof part, "[\"");
      for (size_t i = 0; i < k && o + 8 < sizeof part; i++)
        part[o++] = (unsigned char)l->key[i] < 0x20 ? '?' : l->key[i];
      snprintf(part + o, sizeof part - o, "%s\"]", k < l->keylen ? "..." : "");
    }
    if (n + strlen(part) + 4 >= cap) {
      snprintf(buf + n, cap - n, "...");
      return;
    }
    n += (size_t)snprintf(buf + n, cap - n, "%s", part);
  }
  if (sc->depth > PATH_LEVELS && n + 4 < cap) snprintf(buf + n, cap - n, "...");
}

static int found(struct scan *sc, wfa_text_fault *f, wfm_fault kind, size_t off) {
  f->kind = kind;
  f->offset = off;
  f->in_key = sc->in_key;
  f->line = 1;
  f->column = 1;
  for (size_t i = 0; i < off; i++) {
    if (sc->s[i] == '\n') f->line++, f->column = 1;
    else f->column++;
  }
  render_path(sc, f->path, sizeof f->path);
  return WF_EINVAL;
}

static void open_level(struct scan *sc, int obj) {
  if (sc->depth < PATH_LEVELS) {
    struct level *l = &sc->lv[sc->depth];
    memset(l, 0, sizeof *l);
    l->obj = obj;
    l->want_key = obj;
  }
  sc->depth++;
}

static struct level *top(struct scan *sc) {
  return sc->depth > 0 && sc->depth <= PATH_LEVELS ? &sc->lv[sc->depth - 1] : NULL;
}

int wfa_json_text_check(const char *s, size_t n, int max_depth, wfa_text_fault *f) {
  struct scan sc = {s, {{0}}, 0, 0};
  struct level *l;
  /* UTF-8 does not depend on the structure: find the first bad byte once, then scan
   * the structure up to it (an earlier NUL or nesting fault comes first). */
  size_t bad = wfm_utf8_check(s, n);
  memset(f, 0, sizeof *f);
  for (size_t i = 0; i < bad; i++) {
    char c = s[i];
    if (c == '\0') return found(&sc, f, WFM_FAULT_NUL, i);
    if (c == '"') {
      l = top(&sc);
      sc.in_key = l && l->obj && l->want_key;
      size_t start = ++i;
      for (; i < bad && s[i] != '"'; i++) {
        if (s[i] == '\0') return found(&sc, f, WFM_FAULT_NUL, i);
        if (s[i] != '\\' || i + 1 >= bad) continue;
        if (n - i >= 6 && memcmp(s + i, "\\u0000", 6) == 0)
          return found(&sc, f, WFM_FAULT_NUL, i);
        i++; /* the escaped character: "\\u0000" is a backslash, then text */
      }
      if (i >= bad) break; /* the bad byte is inside this string */
      if (sc.in_key && l) {
        l->key = s + start;
        l->keylen = i - start;
        l->want_key = 0;
      }
      sc.in_key = 0;
    } else if (c == '[' || c == '{') {
      if (max_depth > 0 && sc.depth + 1 > max_depth) return found(&sc, f, WFM_FAULT_DEPTH, i);
      open_level(&sc, c == '{');
    } else if (c == ']' || c == '}') {
      if (sc.depth > 0) sc.depth--;
    } else if (c == ',' && (l = top(&sc)) != NULL) {
      if (l->obj) l->want_key = 1, l->key = NULL;
      else l->index++;
    }
  }
  return bad < n ? found(&sc, f, WFM_FAULT_UTF8, bad) : 0;
}

void wfa_text_fault_where(const wfa_text_fault *f, char *buf, size_t cap) {
  if (f->kind == WFM_FAULT_DEPTH) /* the path would be the depth's worth of [0]s */
    snprintf(buf, cap, "byte %zu (line %zu, column %zu)", f->offset, f->line, f->column);
  else
    snprintf(buf, cap, "byte %zu (line %zu, column %zu, %s %s)", f->offset, f->line, f->column,
             f->in_key ? "in a member name of" : "at", f->path);
}
