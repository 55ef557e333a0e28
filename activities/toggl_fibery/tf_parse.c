/* tf_parse.c — toggl-fibery description parser and tag alias table (DOMAIN §3.3, §3.4). */
#include <stdlib.h>
#include <string.h>

#include "tf_parse.h"
#include "tf_util.h"
#include "wf/wf.h"

typedef struct tf_alias {
  char *t1, *t2; /* t2 NULL: one-tag alias */
  char *type;    /* "Space/Type" */
} tf_alias;

struct tf_aliases {
  tf_alias *v;
  size_t n, cap;
};

/* DOMAIN §3.4, derived from the Fibery formula fields. */
static const char *const default_pairs[][3] = {
    {"Scrum", "Task", "Scrum/Task"},
    {"Scrum", "Sub-task", "Scrum/Sub-task"},
    {"Scrum", "Bug", "Scrum/Bug"},
    {"Scrum", "Sub-bug", "Scrum/Sub-bug"},
    {"Scrum", "Feature", "Scrum/Feature"},
    {"Scrum", "Release", "Scrum/Build"},
    {"Scrum", "Hotfix", "Scrum/Hotfix"},
    {"Scrum", "Test coverage", "Scrum/Test coverage"},
    {"Requests", "Request", "Product Management/Request"},
    {"Design", "Design feature", "Design/Design Feature"},
    {"Design", "Work Version", "Design/Work Version"},
    {"Design", "Work version", "Design/Old Work Version"},
    {"QA", "Test report", "QA/Test report"},
    {"To Do", NULL, "To-dos/To-do"},
};

/* Types of the bundled enrichment config; each also resolves as [Space] [Type]. */
static const char *const default_types[] = {
    "Scrum/Task",
    "Scrum/Sub-task",
    "Scrum/Bug",
    "Scrum/Sub-bug",
    "Scrum/Feature",
    "Scrum/Build",
    "Scrum/Hotfix",
    "Scrum/Test coverage",
    "Scrum/Chore",
    "Scrum/Epic",
    "Product Management/Request",
    "Design/Design Feature",
    "Design/Work Version",
    "Design/Old Work Version",
    "QA/Test report",
    "To-dos/To-do",
};

static int is_ws(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_alnum(unsigned char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static unsigned char lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* ASCII-only case folding: other bytes must match exactly. */
static int eq_nocase(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (lower((unsigned char)*a) != lower((unsigned char)*b))
      return 0;
  return *a == *b;
}

static char *dupn(const char *s, size_t n) {
  char *d = malloc(n + 1);

  if (d) {
    memcpy(d, s, n);
    d[n] = 0;
  }
  return d;
}

char *tf_collapse_ws(const char *s, size_t n) {
  char *d = malloc(n + 1);
  size_t i, o = 0;
  int pend = 0;

  if (!d)
    return NULL;
  for (i = 0; i < n; i++) {
    if (is_ws((unsigned char)s[i])) {
      pend = o > 0;
      continue;
    }
    if (pend)
      d[o++] = ' ';
    pend = 0;
    d[o++] = s[i];
  }
  d[o] = 0;
  return d;
}

/* ---- alias table ------------------------------------------------------------------- */

int tf_aliases_new(tf_aliases **out) {
  *out = calloc(1, sizeof **out);
  return *out ? 0 : WF_ENOMEM;
}

void tf_aliases_free(tf_aliases *a) {
  size_t i;

  if (!a)
    return;
  for (i = 0; i < a->n; i++) {
    free(a->v[i].t1);
    free(a->v[i].t2);
    free(a->v[i].type);
  }
  free(a->v);
  free(a);
}

static int same_opt(const char *x, const char *y) {
  return (!x && !y) || (x && y && !strcmp(x, y));
}

int tf_aliases_add(tf_aliases *a, const char *tag1, const char *tag2, const char *type) {
  tf_alias *e;
  size_t i;

  if (!a || !tag1 || !*tag1 || (tag2 && !*tag2) || !type || !strchr(type, '/'))
    return WF_EINVAL;
  for (i = 0; i < a->n; i++)
    if (!strcmp(a->v[i].t1, tag1) && same_opt(a->v[i].t2, tag2))
      return 0;
  if (tf_grow((void **)&a->v, &a->cap, a->n, sizeof *a->v))
    return WF_ENOMEM;
  e = &a->v[a->n];
  e->t1 = strdup(tag1);
  e->t2 = tag2 ? strdup(tag2) : NULL;
  e->type = strdup(type);
  if (!e->t1 || (tag2 && !e->t2) || !e->type) {
    free(e->t1);
    free(e->t2);
    free(e->type);
    return WF_ENOMEM;
  }
  a->n++;
  return 0;
}

int tf_aliases_add_identity(tf_aliases *a, const char *type) {
  const char *slash = type ? strchr(type, '/') : NULL;
  char *space;
  int rc;

  if (!slash || slash == type || !slash[1])
    return WF_EINVAL;
  if (!(space = dupn(type, (size_t)(slash - type))))
    return WF_ENOMEM;
  rc = tf_aliases_add(a, space, slash + 1, type);
  free(space);
  return rc;
}

static int add_defaults(tf_aliases *a, int pairs) {
  size_t i;
  int rc = 0;

  for (i = 0; pairs && !rc && i < sizeof default_pairs / sizeof default_pairs[0]; i++)
    rc = tf_aliases_add(a, default_pairs[i][0], default_pairs[i][1], default_pairs[i][2]);
  for (i = 0; !rc && i < sizeof default_types / sizeof default_types[0]; i++)
    rc = tf_aliases_add_identity(a, default_types[i]);
  return rc;
}

int tf_aliases_default(tf_aliases **out) {
  int rc = tf_aliases_new(out);

  if (!rc && (rc = add_defaults(*out, 1))) {
    tf_aliases_free(*out);
    *out = NULL;
  }
  return rc;
}

static int add_config(tf_aliases *a, const cJSON *cfg) {
  const cJSON *al = cJSON_GetObjectItemCaseSensitive(cfg, "aliases");
  const cJSON *types = cJSON_GetObjectItemCaseSensitive(cfg, "types"), *e;
  int rc;

  if (!al)
    rc = add_defaults(a, 1);
  else if (!cJSON_IsArray(al))
    return WF_EINVAL;
  else
    rc = 0;
  cJSON_ArrayForEach(e, al) {
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(e, "tags");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(e, "type");
    int nt = cJSON_GetArraySize(tags);
    const cJSON *t1 = cJSON_GetArrayItem(tags, 0), *t2 = cJSON_GetArrayItem(tags, 1);

    if (rc)
      return rc;
    if (!cJSON_IsArray(tags) || nt < 1 || nt > 2 || !cJSON_IsString(t1) ||
        (t2 && !cJSON_IsString(t2)) || !cJSON_IsString(type))
      return WF_EINVAL;
    rc = tf_aliases_add(a, t1->valuestring, t2 ? t2->valuestring : NULL, type->valuestring);
  }
  if (!rc && types && cJSON_IsObject(types))
    cJSON_ArrayForEach(e, types) {
      if (e->string && strcmp(e->string, "default") &&
          (rc = tf_aliases_add_identity(a, e->string)))
        break;
    }
  return rc;
}

int tf_aliases_from_config(const cJSON *cfg, tf_aliases **out) {
  int rc = tf_aliases_new(out);

  if (rc)
    return rc;
  rc = cfg ? add_config(*out, cfg) : add_defaults(*out, 1);
  if (rc) {
    tf_aliases_free(*out);
    *out = NULL;
  }
  return rc;
}

/* Target of tags (t1, t2) (t2 NULL: one tag): exact match, else a case-insensitive match
 * when every such match names the same type; NULL otherwise. */
static const char *lookup(const tf_aliases *a, const char *t1, const char *t2) {
  const char *hit = NULL;
  size_t i;

  for (i = 0; i < a->n; i++)
    if (!strcmp(a->v[i].t1, t1) && same_opt(a->v[i].t2, t2))
      return a->v[i].type;
  for (i = 0; i < a->n; i++) {
    const tf_alias *e = &a->v[i];

    if ((!e->t2) != (!t2) || !eq_nocase(e->t1, t1) || (t2 && !eq_nocase(e->t2, t2)))
      continue;
    if (hit && strcmp(hit, e->type))
      return NULL; /* ambiguous */
    hit = e->type;
  }
  return hit;
}

static const tf_aliases *default_table(void) {
  /* Built once from constants; a failed build is retried on the next call. */
  static tf_aliases *def;

  if (!def && tf_aliases_default(&def))
    def = NULL;
  return def;
}

/* ---- parser -------------------------------------------------------------------------- */

void tf_ref_free(tf_ref *r) {
  size_t i;

  if (!r)
    return;
  free(r->id);
  free(r->database);
  free(r->type);
  free(r->fibery_type);
  free(r->project);
  free(r->clean);
  for (i = 0; i < r->ntags; i++)
    free(r->tags[i]);
  free(r->tags);
  memset(r, 0, sizeof *r);
}

/* Rightmost id candidate: sets *at (index of '#') and *nd (digits); 0 when none. `in`
 * flags bytes inside bracket groups. */
static int find_id(const char *s, size_t len, const unsigned char *in, size_t *at,
                   size_t *nd) {
  size_t i = len;

  while (i-- > 0) {
    size_t j;

    if (s[i] != '#' || in[i] || (i > 0 && is_alnum((unsigned char)s[i - 1])))
      continue;
    for (j = i + 1; j < len && is_digit((unsigned char)s[j]); j++)
      ;
    if (j == i + 1 || j - i - 1 > TF_ID_MAX_DIGITS)
      continue;
    if (j < len && (is_alnum((unsigned char)s[j]) || s[j] == '_'))
      continue;
    *at = i;
    *nd = j - i - 1;
    return 1;
  }
  return 0;
}

static int split_type(const char *type, char **db, char **ty) {
  const char *slash = strchr(type, '/');

  *db = dupn(type, (size_t)(slash - type));
  *ty = strdup(slash + 1);
  return *db && *ty ? 0 : WF_ENOMEM;
}

/* Rules 7 and 8: database/type/project from r->tags. */
static int resolve(const tf_aliases *a, tf_ref *r) {
  size_t i, n = r->ntags, next = 0;
  const char *hit = NULL, *proj = NULL;

  for (i = 0; a && i < n && !hit; i++) {
    if (i + 1 < n && (hit = lookup(a, r->tags[i], r->tags[i + 1])))
      next = i + 2;
    else if ((hit = lookup(a, r->tags[i], NULL)))
      next = i + 1;
  }
  if (hit) {
    r->resolved = 1;
    proj = next < n ? r->tags[next] : NULL;
    if (split_type(hit, &r->database, &r->type) || !(r->fibery_type = strdup(hit)))
      return WF_ENOMEM;
  } else if (n >= 2) {
    size_t l0 = strlen(r->tags[0]), l1 = strlen(r->tags[1]);

    proj = n > 2 ? r->tags[2] : NULL;
    r->database = strdup(r->tags[0]);
    r->type = strdup(r->tags[1]);
    if (!r->database || !r->type || !(r->fibery_type = malloc(l0 + l1 + 2)))
      return WF_ENOMEM;
    memcpy(r->fibery_type, r->tags[0], l0);
    r->fibery_type[l0] = '/';
    memcpy(r->fibery_type + l0 + 1, r->tags[1], l1 + 1);
  } else if (n == 1) {
    proj = r->tags[0];
  }
  if (proj && !(r->project = strdup(proj)))
    return WF_ENOMEM;
  return 0;
}

static int parse(const tf_aliases *a, const char *s, size_t len, tf_ref *r,
                 unsigned char *in, size_t *gs, size_t *ge) {
  size_t i, ng = 0, at = 0, nd = 0, open = (size_t)-1;

  /* Groups as a left-to-right regex scan of \[([^\[\]]*)\] finds them: a later "["
   * restarts the candidate group. */
  for (i = 0; i < len; i++) {
    if (s[i] == '[') {
      open = i;
    } else if (s[i] == ']' && open != (size_t)-1) {
      gs[ng] = open;
      ge[ng++] = i;
      memset(in + open, 1, i - open + 1);
      open = (size_t)-1;
    }
  }
  if (!find_id(s, len, in, &at, &nd))
    return (r->clean = tf_collapse_ws(s, len)) ? 0 : WF_ENOMEM;
  r->matched = 1;
  if (!(r->id = dupn(s + at + 1, nd)) || !(r->clean = tf_collapse_ws(s, at)))
    return WF_ENOMEM;
  for (i = 0; i < ng; i++) {
    char *t;

    if (gs[i] <= at)
      continue;
    if (!(t = tf_collapse_ws(s + gs[i] + 1, ge[i] - gs[i] - 1)))
      return WF_ENOMEM;
    if (!*t) {
      free(t);
      continue;
    }
    r->tags[r->ntags++] = t;
  }
  return resolve(a, r);
}

int tf_parse(const tf_aliases *a, const char *desc, size_t len, tf_ref *out) {
  unsigned char *in = NULL;
  size_t *gs = NULL, *ge = NULL, i, maxg = 1;
  int rc;

  memset(out, 0, sizeof *out);
  if (!desc)
    len = 0;
  if (!a)
    a = default_table();
  /* Size the group arrays by the closing brackets, so memory stays a small multiple of
   * the input whatever it contains. */
  for (i = 0; i < len; i++)
    maxg += desc[i] == ']';
  in = calloc(len + 1, 1);
  gs = malloc(maxg * sizeof *gs);
  ge = malloc(maxg * sizeof *ge);
  out->tags = malloc(maxg * sizeof *out->tags);
  if (!in || !gs || !ge || !out->tags)
    rc = WF_ENOMEM;
  else
    rc = parse(a, desc ? desc : "", len, out, in, gs, ge);
  free(in);
  free(gs);
  free(ge);
  if (rc)
    tf_ref_free(out);
  return rc;
}

int tf_ref_kind(const tf_ref *r) {
  if (!r->matched)
    return TF_UNMATCHED;
  if (!r->fibery_type)
    return TF_TYPE_MISSING;
  return r->resolved ? TF_TYPED : TF_UNKNOWN_TYPE;
}

const char *tf_ref_reason(const tf_ref *r) {
  switch (tf_ref_kind(r)) {
  case TF_UNKNOWN_TYPE:
    return "unknown_type";
  case TF_TYPE_MISSING:
    return "type_missing";
  default:
    return NULL;
  }
}

int tf_ref_key(const tf_ref *r, char **out) {
  size_t n;

  *out = NULL;
  if (!r->matched)
    return 0;
  n = strlen(r->id) + (r->fibery_type ? strlen(r->fibery_type) : 0) + 2;
  if (!(*out = malloc(n)))
    return WF_ENOMEM;
  if (r->fibery_type) {
    size_t l = strlen(r->fibery_type);

    memcpy(*out, r->fibery_type, l);
    (*out)[l] = '#';
    strcpy(*out + l + 1, r->id);
  } else {
    (*out)[0] = '#';
    strcpy(*out + 1, r->id);
  }
  return 0;
}
