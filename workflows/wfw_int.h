/* wfw_int.h — internals of the workflow layer shared by its files and its unit tests:
 * the loaded definition, parsed `${...}` templates and their evaluation context.
 */
#ifndef WF_WFW_INT_H
#define WF_WFW_INT_H

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "wfdef.h"

#define WFW_MAX_ID 64          /* stage ids, bytes */
#define WFW_MAX_ITEM_KEY 200   /* fan-out item keys, bytes */
#define WFW_MAX_CLASS 256      /* fan-out item classes, bytes with the terminating NUL */
#define WFW_MAX_NONRETRY 16    /* entries of non_retryable_exit_codes */

/* ---- templates ------------------------------------------------------------------- */

enum wfw_root {
  WFW_R_PARAMS = 1,      /* params.<name>...            name in expr->name */
  WFW_R_STAGES,          /* stages.<id>.output...       id in expr->name */
  WFW_R_ITEM,            /* item...                     (fan-out stages) */
  WFW_R_RUN_ID,          /* run.id */
  WFW_R_RUN_DIR,         /* run.dir */
  WFW_R_WORKFLOW_DIR     /* workflow.dir */
};

/* One step of a path: a field of an object, or an index of an array. */
typedef struct wfw_seg {
  char *field;           /* NULL for an index */
  uint32_t index;
} wfw_seg;

/* `${root.a[0].b}`: the root, its name (param or stage id) and the rest of the path. */
typedef struct wfw_expr {
  int root;              /* wfw_root */
  char *name;            /* param name or stage id; NULL for the other roots */
  int stage;             /* stage index once validated, else -1 */
  wfw_seg *segs;         /* after params.<name> / stages.<id>.output / item */
  uint32_t nsegs;
  char *text;            /* "${...}" as written, for messages */
} wfw_expr;

/* A string split into literal text and expressions. */
typedef struct wfw_part {
  char *lit;             /* literal text (escapes resolved), or NULL for expr */
  size_t litlen;
  wfw_expr expr;
} wfw_part;

typedef struct wfw_tmpl {
  wfw_part *parts;
  uint32_t nparts;
} wfw_tmpl;

/* Parse `s`. WF_EINVAL with a message in err (without the location), WF_ENOMEM. */
int wfw_tmpl_parse(const char *s, wfw_tmpl *t, char *err, size_t errcap);
void wfw_tmpl_clear(wfw_tmpl *t);
/* 1 when the template is exactly one expression with no literal text around it. */
int wfw_tmpl_is_expr(const wfw_tmpl *t);
/* 1 when the template has no expression at all. */
int wfw_tmpl_is_literal(const wfw_tmpl *t);

/* What expressions are evaluated against. Any field may be NULL/0 when unused; an
 * expression that needs a missing one fails with a message. */
typedef struct wfw_ictx {
  const cJSON *params;   /* object */
  const cJSON *item;     /* NULL outside a fan-out item */
  const char *run_id, *run_dir, *workflow_dir;
  /* The output of a stage (by index when known, else -1, and by id), borrowed until
   * the context is done with. WF_ENOTFOUND, or another error with ctx->err set. */
  int (*stage_output)(void *ud, int stage, const char *id, const cJSON **out);
  void *ud;
  char err[768];         /* the message of the last failure */
} wfw_ictx;

/* Resolve an expression to a value: *val is borrowed (from the context, or from *tmp,
 * which the caller deletes when non-NULL). WF_ENOTFOUND (missing path: err says which
 * part), WF_EINVAL, WF_ENOMEM. */
int wfw_expr_resolve(const wfw_expr *e, wfw_ictx *c, const cJSON **val, cJSON **tmp);
/* Evaluate to a new value: a template that is one expression gives that value as is;
 * anything else gives a string. */
int wfw_tmpl_eval_json(const wfw_tmpl *t, wfw_ictx *c, cJSON **out);
/* Evaluate to a malloc'd string: strings are inserted raw, other values as compact JSON. */
int wfw_tmpl_eval_str(const wfw_tmpl *t, wfw_ictx *c, char **out);
/* A copy of JSON `v` whose strings are interpolated (each string as wfw_tmpl_eval_json). */
int wfw_json_interp(const cJSON *v, wfw_ictx *c, cJSON **out);

/* Name of a JSON value's type for messages: "object", "array", "string", ... */
const char *wfw_json_type(const cJSON *v);

/* ---- definitions ------------------------------------------------------------------- */

enum wfw_ptype { WFW_P_STRING = 1, WFW_P_INT, WFW_P_DATE, WFW_P_BOOL, WFW_P_NUMBER };
enum wfw_mode { WFW_RUN = 1, WFW_SHELL, WFW_USES };

typedef struct wfw_param {
  const char *name, *description;  /* borrowed from the parsed JSON */
  int type;                        /* wfw_ptype */
  int required;
  const cJSON *def;                /* default, or NULL */
  char *default_json;
  /* constraints checked once every value is bound (params.c) */
  const cJSON *min, *max;          /* int, number: bounds, inclusive; NULL when none */
  int not_before;                  /* date: index of a date param this one may not
                                      precede, or -1 */
  int days_from;                   /* date: index of the date param it is counted from */
  int max_days;                    /* ... at most this many days, both counted (0: none) */
} wfw_param;

typedef struct wfw_stage {
  const char *id, *description;
  char *kind;                      /* "run", "shell", "uses:<name>" */
  int mode;                        /* wfw_mode */
  wfw_tmpl *argv;                  /* run */
  uint32_t argc;
  wfw_tmpl shell, cwd;             /* nparts 0 when absent */
  int has_cwd;
  const char *uses;
  const cJSON *with;               /* uses; NULL when absent */
  const wfi_activity *act;
  const char **need_ids;
  uint32_t *needs;
  uint32_t nneeds;
  const char *foreach_src;         /* as written, NULL unless fan-out */
  wfw_tmpl foreach, key, cls;
  int fanout, has_cls;
  int foreach_stage;               /* stage iterated by foreach, else -1 */
  wfi_retry retry;                 /* merged with defaults */
  double timeout_s;
  uint32_t concurrency;
  wfi_class_limit *classes;
  uint32_t nclasses;
  double rate;                     /* starts per second of the whole stage; 0 = none */
  int validate;                    /* run before the run exists (validate.c) */
  int cache;                       /* "cache": reuse earlier runs' outputs (wfi_cache) */
  wfw_tmpl *check;                 /* "check": argv given each step's output (check.c) */
  uint32_t ncheck;                 /* 0: none */
  char *check_text;                /* "check" as written (compact JSON), or NULL */
  const char *check_prog;          /* check[0] as written, for messages */
  const cJSON *expect;             /* "expect", or NULL */
  int has_min_items;
  uint64_t min_items;
  const cJSON *required;           /* expect.required: array of field names, or NULL */
  char *expect_text;               /* "expect" as written, or NULL */
} wfw_stage;

/* A notification hook (notify.c): an argv of templates. */
enum wfw_hook { WFW_ON_SUCCESS, WFW_ON_FAILURE, WFW_ON_FINISH, WFW_NHOOKS };
typedef struct wfw_hook_cmd {
  wfw_tmpl *argv;
  uint32_t argc;                   /* 0: no such hook */
} wfw_hook_cmd;

struct wfw_def {
  char *path, *dir, *text;         /* dir: absolute when the file exists */
  wfw_hook_cmd hooks[WFW_NHOOKS];  /* on_success, on_failure, on_finish */
  cJSON *root;
  const char *name, *description;
  wfw_param *params;
  uint32_t nparams;
  wfw_stage *stages;
  uint32_t nstages;
  uint8_t *anc;                    /* anc[i * nstages + j]: j is an ancestor of i */
  const char **env;                /* environment variables a run needs ("env") */
  uint32_t nenv;
};

/* Validation passes of load.c, in stage.c and graph.c. Messages go to err. */
typedef struct wfw_lctx {
  wfw_def *d;
  wfw_err *err;
} wfw_lctx;

/* Messages (diag.c). wfw_fail: the message into err when not NULL; returns WF_EINVAL. */
int wfw_fail(wfw_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "<file>: stage \"id\": " + message; stage < 0 leaves the stage part out. */
int wfw_lfail(wfw_lctx *c, int stage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Refuse fields of object `o` outside the NULL-terminated list `known`, and duplicates;
 * `what` names the object ("stage \"x\"", "params.date"...). */
int wfw_check_fields(wfw_lctx *c, int stage, const char *what, const cJSON *o,
                     const char *const *known);
/* 1 when v is a number with an integral value in [lo, hi]. */
int wfw_json_int(const cJSON *v, double lo, double hi);

int wfw_stages_load(wfw_lctx *c, const cJSON *stages, const cJSON *defaults);
int wfw_graph_check(wfw_lctx *c);
int wfw_templates_check(wfw_lctx *c);
/* Notification hooks (notify.c): load the top-level "on_success", "on_failure" and
 * "on_finish" (after the params), and free them. */
int wfw_hooks_load(wfw_lctx *c);
void wfw_hooks_clear(wfw_def *d);

/* Parameters (params.c). */
int wfw_param_type(const char *name);          /* wfw_ptype or 0 */
const char *wfw_param_type_name(int type);
int wfw_date_valid(const char *s);
/* Check a declared default against its type; 0 or WF_EINVAL with a reason in why. */
int wfw_param_default_ok(int type, const cJSON *v, char *why, size_t cap);
/* Load the constraints of param `p` (its spec object `spec`) once every param of the
 * definition is loaded: "min"/"max" for int and number, "not_before" and
 * "max_days_from": {"param", "days"} for dates. WF_EINVAL with the place in c->err. */
int wfw_param_constraints(wfw_lctx *c, const cJSON *spec, wfw_param *p);

/* ---- plans ------------------------------------------------------------------------- */

/* Where hooks get recorded outputs and report errors; the engine by default. Tests
 * replace them to drive the hooks without an engine. */
typedef struct wfw_plan_io {
  int (*stage_output)(wfi_exec *x, uint32_t stage, uint8_t **out, size_t *len);
  void (*error)(wfi_exec *x, const char *msg);
  const char *(*run_id)(const wfi_exec *x);
  /* The run's folder, absolute; NULL (the function or what it gives): the store home's
   * runs/<run id>. */
  const char *(*run_dir)(const wfi_exec *x);
} wfw_plan_io;

void wfw_plan_set_io(wfi_plan *p, const wfw_plan_io *io);

/* A stage's recorded output as fetched once per execution: raw, and decoded on demand. */
typedef struct wfw_out {
  int fetched;
  uint8_t *mp;                     /* NULL: nil */
  size_t len;
  cJSON *json;                     /* NULL until decoded */
} wfw_out;

typedef struct wfw_plan_state {
  wfi_plan plan;                   /* first: wfw_plan_free gets back here from it */
  const wfw_def *d;
  wfi_stage *stages;
  uint8_t *params;                 /* msgpack map */
  size_t params_len;
  cJSON *params_json;
  wfw_plan_io io;
  char *home;
  wfi_exec *x;                     /* the execution the cache below belongs to */
  char *run_dir;
  wfw_out *outs;
  struct wfw_pin *pins;            /* per stage: outputs of checks made before the run */
  struct wfw_checker *checkers;    /* per stage: its activity wrapped by its checks */
} wfw_plan_state;

/* A stage with "check" or "expect" runs through wfw_checked (check.c), whose context
 * this is: the stage's own activity, and the stage for its checks. */
typedef struct wfw_checker {
  const wfi_activity *inner;
  void *inner_ctx;
  const wfw_stage *stage;
} wfw_checker;
extern const wfi_activity wfw_checked;

/* Free the outputs of the checks pinned by wfw_validate. */
void wfw_plan_free_pins(wfw_plan_state *p);

/* Drop the cached outputs. */
void wfw_plan_clear_cache(wfw_plan_state *p);
/* Reset the cache when x is another execution than the cached one. */
int wfw_plan_bind_exec(wfw_plan_state *p, wfi_exec *x);
/* Output of a stage for the bound execution; with `json`, decoded too. Errors are
 * reported through io.error. */
int wfw_plan_output(wfw_plan_state *p, uint32_t stage, int json, const wfw_out **out);
/* Report a hook's failure: "stage \"id\": " + message, through io.error. */
void wfw_plan_error(wfw_plan_state *p, uint32_t stage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

extern const wfi_plan_ops wfw_hooks;

#endif
