/* cli.h — what the wf subcommands share: global options, argument parsing, output
 * helpers and exit codes. The commands read and control runs through the public API
 * (wf/wf.h) and start and resume them through the workflows layer (wfdef.h), never
 * through the store or the engine's internals. The CLI's own names begin with cli_;
 * wf_ names only the public API. */
#ifndef WF_CLI_H
#define WF_CLI_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "wf/wf.h"
#include "wfdef.h"

enum cli_exit {
  EXIT_OK = 0,
  EXIT_FAILED = 1,
  EXIT_USAGE = 2,
  EXIT_NOTFOUND = 3,
  EXIT_DEGRADED = 4,
  EXIT_STORE = 5,
  EXIT_FENCED = 6,        /* another process took the run over from this one */
  EXIT_SIGNAL = 130
};

enum cli_format { FMT_DEFAULT, FMT_TABLE, FMT_JSON, FMT_IDS };

/* Where the store in use was named (cli_home_resolve). */
enum cli_home_source { CLI_HOME_DEFAULT, CLI_HOME_FLAG, CLI_HOME_ENV, CLI_HOME_CONFIG,
                       CLI_HOME_FOUND, CLI_HOME_HERE };

typedef struct cli_ctx {
  const char *home;       /* the store: see cli_home_resolve; NULL until cli_parse */
  int format;             /* enum cli_format */
  int tty;                /* stdout is a terminal */
  int color;              /* tty and NO_COLOR unset */
  int home_source;        /* enum cli_home_source */
  char home_where[4200];  /* CLI_HOME_CONFIG: "<config file>:<line>" */
} cli_ctx;

/* Name the store when --home did not (cli_parse calls it): $WF_HOME; else `home` in the
 * configuration file; else the nearest .wf folder in the current folder or above; else
 * ./.wf. 0, or EXIT_USAGE (said) when the configuration file is bad. */
int cli_home_resolve(cli_ctx *cli);
/* Why cli->home is the store in use, for show-run and doctor: "from WF_HOME", ...
 * Returns buf. */
const char *cli_home_reason(const cli_ctx *cli, char *buf, size_t cap);
/* The value of `key` in the configuration file ($XDG_CONFIG_HOME/wf/config, else
 * ~/.config/wf/config; the last setting wins) into *value (NULL when not set; valid until
 * exit), and where it is set, "<file>:<line>", into where[cap] (may be NULL). 0, or
 * EXIT_USAGE (said) when the file cannot be read or parsed. */
int cli_config_get(const char *key, const char **value, char *where, size_t cap);

/* Options of one subcommand. `arg` 1: takes a value. */
typedef struct cli_opt {
  const char *name;       /* long name without "--" */
  char short_name;        /* 0 for none */
  int arg;
  int id;
} cli_opt;

/* Option ids of the subcommands' tables (opts.c); 0 is the repeatable -p. */
enum { O_PARAM = 0, O_RUN_ID, O_START_FROM, O_ONLY, O_SKIP, O_TO, O_DRY, O_WINDOW, O_COE,
       O_DETACH, O_ALL, O_HISTORY, O_STATUS, O_WORKFLOW, O_SINCE, O_LIMIT, O_NOWAIT, O_STEP,
       O_FOLLOW, O_FORCE, O_TAIL, O_UNTIL, O_OLDER_THAN, O_COMPACT, O_NOPTS };
extern const cli_opt cli_start_opts[], cli_resume_opts[], cli_show_opts[], cli_list_opts[],
    cli_cancel_opts[], cli_logs_opts[], cli_no_opts[], cli_gc_opts[], cli_delete_opts[];

/* A parsed command line: options by id (value or "1"), repeated ones (-p) collected,
 * and the positional arguments. */
#define CLI_MAX_ARGS 64
typedef struct cli_args {
  const char *val[O_NOPTS]; /* by option id */
  const char *multi[CLI_MAX_ARGS];
  int nmulti;             /* values of the option with id 0 (repeatable) */
  const char *pos[CLI_MAX_ARGS];
  int npos;
  int help;
} cli_args;

/* Parse argv (after the command name) against opts; global options (--home, -o) are
 * taken out into cli wherever they appear. Prints the error and returns EXIT_USAGE. */
int cli_parse(cli_ctx *cli, const char *cmd, int argc, char **argv, const cli_opt *opts,
              cli_args *out);

/* Print "wf: <message>" to stderr. Returns `code` for `return cli_fail(...)`. */
int cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "invalid run id ..." (what: "run id" or "step key") with the id shown escaped;
 * returns EXIT_USAGE. */
int cli_bad_id(const char *what, const char *id);
/* Exit code for a store-level error code (not found, busy, ...). */
int cli_exit_for(int rc);

/* Why a store call failed, for a message: wf_strerror(rc), or for a failure on a file
 * (wf_last_failure) the file, the cause and what to do. Returns buf. */
const char *cli_store_why(int rc, char *buf, size_t cap);

/* EXIT_STORE (and a message) when the home exists but is not a directory, else 0. */
int cli_check_home(const cli_ctx *cli);
/* The store options the environment asks for: WF_MAP_CAP_MB, WF_MAX_READERS,
 * WF_MAX_OUTPUT_MB and WF_KILL_GRACE_S; a value that is not a valid number leaves the
 * default. flags: WF_STORE_*. */
void cli_store_opts(unsigned flags, wf_store_opts *o);
/* Open the store for reading only when it exists; prints why not. */
int cli_open_existing(cli_ctx *cli, wf_store **st);
int cli_open_store(cli_ctx *cli, wf_store **st);

/* Time formatting: ISO-8601 UTC with milliseconds, or "" for 0. */
void cli_time_iso(int64_t ms, char *buf, size_t cap);
/* Human form "2026-11-23 11:50:01". */
void cli_time_human(int64_t ms, char *buf, size_t cap);
void cli_duration(double s, char *buf, size_t cap);
/* A point in time as --since and --until take it, in ms since the epoch: "now", "today"
 * and "yesterday" (their start, 00:00 UTC), an age N[smhdw] ("12h": 12 hours ago), or an
 * ISO 8601 date or time, YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|+HH:MM|-HH:MM] (UTC unless an
 * offset is given; a space may stand for the T). -1 if invalid; 0 for a time before the
 * epoch. */
int64_t cli_parse_time(const char *s, int64_t now_ms);
/* cli_parse_time at the current time. */
int64_t cli_parse_since(const char *s);
/* What --since/--until accept, for messages. */
#define CLI_TIME_FORMS "today, yesterday, now, an age such as 30m, 12h, 3d or 1w, or an ISO " \
                       "date or time such as 2026-05-01 or 2026-05-01T14:30[:00][Z|+02:00]"
/* A list of run statuses, "failed,canceled", into a mask of (1u << status) bits. 0, or
 * EXIT_USAGE (said, naming `option`) for an unknown or empty one. */
int cli_parse_statuses(const char *option, const char *list, unsigned *mask);
/* --since and --until into *since and *until (ms; left alone when the option is absent):
 * 0, or EXIT_USAGE (said) when one is invalid or --until is not after --since. */
int cli_parse_window(const char *since, const char *until, int64_t *since_ms, int64_t *until_ms);
/* Now, in ms since the epoch. */
int64_t cli_now_ms(void);

/* JSON of a run (+ steps, + events, read from st) as show-run prints it. */
cJSON *cli_run_json(wf_store *st, const wf_run_info *r, int with_steps, int with_events);
/* "pid 12 on host[, another PID namespace|machine][, no heartbeat for 40s]" for a run a live
 * process owns: 1 and buf set; 0 and "" when no live process owns it. */
int cli_owner_note(const wf_run_info *r, char *buf, size_t cap);
/* Make every string and member name of a cJSON tree valid UTF-8, each byte that is not
 * part of a UTF-8 character becoming U+FFFD, so that the JSON printed is valid: a step's
 * stderr, or an error quoting a program's output, may hold any bytes. */
void cli_json_make_utf8(cJSON *j);
/* Print a cJSON value to stdout followed by a newline (as valid UTF-8), and free it. */
void cli_print_json(cJSON *j);

/* Under a failed step, the last lines it wrote to stderr (its stderr_tail): at most a few
 * lines and a few hundred bytes, blank lines left out, control characters and bytes that
 * are not UTF-8 escaped (\xNN), each printed as indent, on, the line, off (on/off: colour
 * codes or ""). Returns how many lines it printed (0 for NULL or blank text). */
int cli_print_stderr_tail(FILE *out, const char *tail, const char *indent, const char *on,
                          const char *off);
/* How many failed steps start's progress and show-run's table show the tails of; the
 * others' are one 'wf logs' away. */
#define CLI_TAIL_STEPS 5

/* Progress observer for start/resume. */
typedef struct cli_progress_ctx {
  cli_ctx *cli;
  FILE *out;
  int live;               /* a live counter line is on screen */
  int64_t last_draw;
  const char *run_id;
  unsigned tails;         /* failed steps whose stderr tail was shown */
} cli_progress_ctx;
void cli_progress(void *ud, const wfw_progress *p);

/* Write $home/runs/<id>/run_metadata.json from the run's record (best effort). */
void cli_write_run_metadata(wf_store *st, const char *run_id);
/* The "warning_messages" array of the metadata the definition's metadata_stage gave the run
 * (the caller deletes it), or NULL when there is none. */
cJSON *cli_run_warnings(wf_store *st, const wf_run_info *r);

/* The run `arg` names on the command line: its id, or a unique prefix of one, written to
 * id[cap] (WF_MAX_RUN_ID + 1). 0 with id set (to arg itself when no run begins with it,
 * or the store cannot say: the command then reports that for the id as given), or
 * EXIT_USAGE (said) for an invalid id, or a prefix of several runs (listed). */
int cli_run_ref(cli_ctx *cli, wf_store *st, const char *arg, char *id, size_t cap);

/* Subcommands. */
int cmd_start(cli_ctx *cli, int argc, char **argv);
int cmd_resume(cli_ctx *cli, int argc, char **argv);
int cmd_show_run(cli_ctx *cli, int argc, char **argv);
int cmd_list_runs(cli_ctx *cli, int argc, char **argv);
int cmd_cancel_run(cli_ctx *cli, int argc, char **argv);
int cmd_logs(cli_ctx *cli, int argc, char **argv);
int cmd_list(cli_ctx *cli, int argc, char **argv);
int cmd_describe(cli_ctx *cli, int argc, char **argv);
int cmd_gc(cli_ctx *cli, int argc, char **argv);
int cmd_delete_run(cli_ctx *cli, int argc, char **argv);

#endif
