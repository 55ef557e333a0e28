/* tf_parse.h — toggl-fibery: the time-entry description parser and its tag alias table.
 *
 * A description such as "Fix login #7658 [Scrum] [Task] [Atlas]" names a Fibery entity:
 * public id 7658 of type Scrum/Task, project Atlas. Rules (DOMAIN §3.3):
 *   - bracket groups are "[...]" without nested brackets; an unclosed "[" is plain text;
 *   - the id is the rightmost "#" + 1..12 ASCII digits that lies outside every group,
 *     is not glued to a preceding ASCII letter/digit and is not followed by a letter,
 *     digit or "_"; it is kept verbatim (no integer conversion);
 *   - clean = text before the id (whole text when there is none), whitespace collapsed;
 *   - tags = trimmed, non-empty contents of the groups after the id;
 *   - the first tag position that forms an alias (pair first, then one tag) resolves the
 *     type; the tag after it is the project. Without a hit, tags[0]/tags[1] is the raw,
 *     unresolved type and tags[2] the project; a single tag is the project.
 * Only ASCII "#", "[", "]", digits and whitespace are structural; all other bytes
 * (UTF-8 or not, NUL aside) are carried through untouched. Time and memory are linear in
 * the input length times the alias table size.
 */
#ifndef WF_TF_PARSE_H
#define WF_TF_PARSE_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Longest id accepted, in digits. */
#define TF_ID_MAX_DIGITS 12

typedef struct tf_aliases tf_aliases;

/* An empty table. */
int tf_aliases_new(tf_aliases **out);
/* The default table: DOMAIN §3.4 plus identity pairs for every type of the default
 * enrichment config (Scrum/Chore, Scrum/Epic, ...). */
int tf_aliases_default(tf_aliases **out);
/* Add tags [tag1] [tag2] -> type ("Space/Type"); tag2 NULL for a one-tag alias. An exact
 * pair already present keeps its first target. WF_EINVAL when type has no "/". */
int tf_aliases_add(tf_aliases *a, const char *tag1, const char *tag2, const char *type);
/* Identity rule: [Space] [Type] -> Space/Type, unless that pair is already mapped. */
int tf_aliases_add_identity(tf_aliases *a, const char *type);
/* From an enrichment config object (DOMAIN §6.2): its "aliases" [{"tags": [t1(, t2)],
 * "type"}] plus an identity pair per key of "types". cfg NULL or without "aliases" starts
 * from the default table. WF_EINVAL with a malformed "aliases" entry. */
int tf_aliases_from_config(const cJSON *cfg, tf_aliases **out);
void tf_aliases_free(tf_aliases *a);

typedef struct tf_ref {
  int matched;       /* an id was found */
  int resolved;      /* the type came from the alias table */
  char *id;          /* public id digits, or NULL */
  char *database;    /* space (resolved) or tags[0] (unresolved), or NULL */
  char *type;        /* type name, or NULL */
  char *fibery_type; /* "database/type", or NULL */
  char *project;     /* or NULL */
  char *clean;       /* never NULL once parsed; "" for a blank description */
  char **tags;       /* groups after the id, trimmed, empty ones dropped */
  size_t ntags;
} tf_ref;

/* Parse desc[len]; desc NULL means a null description. a NULL uses the default table.
 * Fills *out (free with tf_ref_free). 0 or WF_ENOMEM; never fails on content. */
int tf_parse(const tf_aliases *a, const char *desc, size_t len, tf_ref *out);
void tf_ref_free(tf_ref *r);

/* Reference classes (DOMAIN §3.5). */
enum tf_ref_kind {
  TF_UNMATCHED = 0,    /* no id: "other activity" */
  TF_TYPED = 1,        /* id + resolved type: to be enriched */
  TF_UNKNOWN_TYPE = 2, /* id + unresolved two-tag type: reported, never queried */
  TF_TYPE_MISSING = 3  /* id without a type: reported as unresolved */
};
int tf_ref_kind(const tf_ref *r);
/* "unknown_type", "type_missing" or NULL (unmatched or resolved). */
const char *tf_ref_reason(const tf_ref *r);
/* Entity key "<database>/<type>#<id>" or "#<id>" (malloc'd); *out NULL when unmatched.
 * 0 or WF_ENOMEM. */
int tf_ref_key(const tf_ref *r, char **out);

/* Copy of s[n] with runs of ASCII whitespace collapsed to one space, trimmed. NULL on
 * allocation failure. */
char *tf_collapse_ws(const char *s, size_t n);

#endif
