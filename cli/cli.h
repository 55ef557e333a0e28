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
  int color;              /* tty, NO_COLOR unset and TERM not dumb */
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

/* Options of one subcommand (the tables of opts.c). `arg` 1: takes a value;
 * CLI_ARG_OPTIONAL: may take one, as --name=VALUE, or as the next argument when a
 * positional argument came before it and that argument does not begin with '-' (its val
 * is "" without a value). */
#define CLI_ARG_OPTIONAL 2
typedef struct cli_opt {
  const char *name;       /* long name without "--" */
  char short_name;        /* 0 for none */
  int arg;
  int id;
  const char *value;      /* the value's name in help: "ID", "N"; NULL: "VALUE" */
  const char *help;       /* lines as --help prints them, '\n' between them */
  const char *complete;   /* what completes the value: a CLI_C_* below, or words
                             separated by spaces; NULL: nothing */
} cli_opt;

/* What completes a value or an operand, besides a list of words. */
#define CLI_C_RUNS "@runs"           /* run ids: wf list-runs -o ids --limit 0 */
#define CLI_C_WORKFLOWS "@workflows" /* workflow names (wf list -o ids), and files */
#define CLI_C_FILES "@files"
#define CLI_C_DIRS "@dirs"
#define CLI_C_COMMANDS "@commands"   /* the commands of cli_commands */

/* A subcommand: everything `wf --help`, `wf help`, `wf CMD --help`, the completion
 * scripts and the manual page wf(1) say of it, and the function that runs it. The table
 * is cli_commands (commands.c); see there for how to add one. */
typedef struct cli_command {
  const char *name;
  int (*fn)(struct cli_ctx *cli, int argc, char **argv);
  const cli_opt *opts;    /* its table in opts.c */
  const char *args;       /* its operands as the list of commands shows them: "<run-id>" */
  const char *synopsis;   /* what follows "usage: wf NAME " */
  const char *summary;    /* one line for the list of commands, at most 52 columns */
  const char *help;       /* what it does: lines as --help prints them ('\n' between them,
                             at most 88 columns), paragraphs apart by an empty line */
  const char *operands;   /* what completes its operands (as cli_opt.complete) */
} cli_command;
extern const cli_command cli_commands[]; /* ends with a NULL name */
extern const cli_opt cli_global_opts[];
#define CLI_BEFORE (-2) /* cli_global_opts id: an option given only before the command */
/* The command named `name`, or NULL. */
const cli_command *cli_command_find(const char *name);
/* The command whose name is closest to the mistyped `name` (a few edits away), or NULL. */
const cli_command *cli_command_suggest(const char *name);
/* How many single-character edits (insert, delete, replace, swap two neighbours) turn a
 * into b. */
int cli_edit_distance(const char *a, const char *b);

/* Print `wf --help` / `wf NAME --help` (an unknown NAME: "unknown command"); return
 * EXIT_OK (EXIT_USAGE for an unknown name). */
int cli_help_main(FILE *out);
int cli_help_command(FILE *out, const char *name);
/* Print the manual page wf(1) in roff; EXIT_OK. */
int cli_man_page(FILE *out);

/* Option ids of the subcommands' tables (opts.c); 0 is the repeatable -p. */
enum { O_PARAM = 0, O_RUN_ID, O_START_FROM, O_ONLY, O_SKIP, O_TO, O_DRY, O_WINDOW, O_COE,
       O_DETACH, O_ALL, O_HISTORY, O_STATUS, O_WORKFLOW, O_SINCE, O_LIMIT, O_NOWAIT, O_STEP,
       O_FOLLOW, O_FORCE, O_TAIL, O_WATCH, O_RELOAD, O_RUN_DIR, O_FROM, O_AS, O_UNTIL,
       O_OLDER_THAN, O_COMPACT, O_NOPTS };
extern const cli_opt cli_start_opts[], cli_resume_opts[], cli_show_opts[], cli_list_opts[],
    cli_cancel_opts[], cli_logs_opts[], cli_doctor_opts[], cli_no_opts[], cli_fork_opts[],
    cli_import_opts[], cli_gc_opts[], cli_delete_opts[];

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
int cli_parse_time_range(const char *since, const char *until, int64_t *since_ms,
                         int64_t *until_ms);
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

/* A run stage by stage (stages.c). The run's progress report into *p, NULL when it has
 * none (0 then too); another error of wf_run_progress_get otherwise. */
int cli_progress_get(wf_store *st, const char *run_id, wf_run_progress **p);
/* A stage's status: wf_step_status_name, or "stopped" for one begun and not finished. */
const char *cli_stage_word(const wf_stage_progress *s);
/* "13/29"; with known 0, "13/≥16" (a lower bound) or, with total 0, "13/?". */
void cli_done_total(uint64_t done, uint64_t total, int known, char *buf, size_t cap);
void cli_stage_done_total(const wf_stage_progress *s, char *buf, size_t cap);
/* Seconds stage s has taken (so far, while it runs); -1 before it begins. */
double cli_stage_seconds(const wf_stage_progress *s, int64_t now);
/* The STAGE table of show-run. */
void cli_print_stages(FILE *out, const wf_run_progress *p);
/* The "stages" array of show-run -o json (empty for p NULL). */
cJSON *cli_stages_json(const wf_run_progress *p);
/* Pass the run's steps to cb in the order of its stages (each stage's own record first,
 * then its items by key), with the steps in flight of p (may be NULL) among them as
 * WF_STEP_RUNNING, and last the steps of stages the definition does not have. Without
 * stages known (no report, no definition), in key order. */
int cli_steps_in_order(wf_store *st, const wf_run_info *r, const wf_run_progress *p,
                       wf_step_cb cb, void *ud);

/* Under a failed step, the last lines it wrote to stderr (its stderr_tail): at most a few
 * lines and a few hundred bytes, blank lines left out, control characters and bytes that
 * are not UTF-8 escaped (\xNN), each printed as indent, on, the line, off (on/off: colour
 * codes or ""). Returns how many lines it printed (0 for NULL or blank text). */
int cli_print_stderr_tail(FILE *out, const char *tail, const char *indent, const char *on,
                          const char *off);
/* How many failed steps start's progress and show-run's table show the tails of; the
 * others' are one 'wf logs' away. */
#define CLI_TAIL_STEPS 5

/* Tables (table.c). Columns a UTF-8 text takes on a terminal (East Asian wide
 * characters 2, combining marks 0). */
size_t cli_width(const char *s);
/* Print s as a table cell: cut to at most `max` columns (0: no limit) ending with "…"
 * when it is longer, between on and off (colour codes, or NULL), then padded with spaces
 * to `width` columns. Only for tables: -o json and ids print ids whole. */
void cli_cell(FILE *out, const char *s, size_t width, size_t max, const char *on,
              const char *off);
/* The colour of a run or step status word on a terminal ("" without colour: not a TTY,
 * NO_COLOR, TERM=dumb), and the code that ends it. */
const char *cli_status_color(const cli_ctx *cli, const char *word);
const char *cli_color_off(const cli_ctx *cli, const char *on);
/* The one rule for -o: a command refuses a format it does not print (EXIT_USAGE, with
 * the formats it takes), instead of printing another. takes: bits 1u << FMT_*. */
#define CLI_TAKES(f) (1u << (f))
int cli_check_format(const cli_ctx *cli, const char *cmd, unsigned takes);

/* Progress of start and resume, and of show-run --watch (progress.c). */
typedef struct cli_progress_ctx {
  cli_ctx *cli;
  FILE *out;
  int live;               /* a live line is on screen */
  int64_t last_draw;
  const char *run_id;
  unsigned tails;         /* failed steps whose stderr tail was shown */
} cli_progress_ctx;
/* The observer of start and resume. */
void cli_progress(void *ud, const wfw_progress *p);
/* A stage that ended, for its line. */
typedef struct cli_stage_end {
  const char *id;
  int status;             /* wf_step_status; pending: stopped before its end */
  double duration_s;
  uint64_t steps;         /* its steps that ended (succeeded or failed) */
  uint64_t reused;        /* of those, reused recorded results */
  const char *error;      /* upstream_failed: why it did not run (or NULL) */
} cli_stage_end;
void cli_progress_stage(cli_progress_ctx *p, const cli_stage_end *e);
/* Redraw the live line from report r (on a terminal, while a stage runs). */
void cli_progress_live(cli_progress_ctx *p, const wf_run_progress *r);
/* Take the live line off the screen, if it is there. */
void cli_progress_clear(cli_progress_ctx *p);
/* On stderr, for a run that ended with `status` and can be resumed, how to resume it:
 * the last thing said, after the outcome line. */
void cli_resume_hint(int status, const char *run_id);
/* The live line's text for report r at time now: "12.30s · process 14/26 (4 running, ~8s
 * left) · longest: process/Tokyo 7.10s". */
void cli_live_text(const wf_run_progress *r, int64_t now, char *buf, size_t cap);

/* What an existing run recorded (reuse.c): a wf_steps_list callback counting, into the
 * cJSON object ud, the steps recorded succeeded per stage as {stage: [its own record,
 * items]} (a fan-out stage's own record has the stage id as key). */
int cli_count_recorded(void *ud, const wf_step_info *s);
/* "reusing 5 recorded steps; 24 to run": what the execution of plan about to begin on
 * existing run run_id reuses and runs, from its records and its last progress report. */
void cli_print_reuse(FILE *out, wf_store *st, const char *run_id, const wfw_plan *plan);

/* show-run --watch (watch.c): follow run r, executed by another process, until it ends
 * or Ctrl-C; EXIT_OK. */
int cli_watch(cli_ctx *cli, wf_store *st, const wf_run_info *r);

/* Write $home/runs/<id>/run_metadata.json from the run's record (best effort). */
void cli_write_run_metadata(wf_store *st, const char *run_id);
/* The status word run_metadata.json in the run's folder holds (the reference pipeline's:
 * in_progress, completed, failed, degraded, cancelled, interrupted) into buf: 1, or 0 and
 * "" when there is no such file or word. */
int cli_run_metadata_status(const wf_run_info *r, char *buf, size_t cap);
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
int cmd_explain(cli_ctx *cli, int argc, char **argv);
int cmd_help(cli_ctx *cli, int argc, char **argv);
int cmd_completion(cli_ctx *cli, int argc, char **argv);
int cmd_doctor(cli_ctx *cli, int argc, char **argv);
int cmd_fork(cli_ctx *cli, int argc, char **argv);
int cmd_export(cli_ctx *cli, int argc, char **argv);
int cmd_import(cli_ctx *cli, int argc, char **argv);

/* Execute an owned run (created or claimed) with its plan, printing progress and the
 * outcome; verb says what happened to it ("started", "resumed", ...). Returns the exit
 * code of its outcome. */
int cli_execute(cli_ctx *cli, wf_store *st, wf_run *run, const wfw_plan *plan, uint32_t window,
                int continue_on_error, const char *verb, const char *workflow);
/* --window N into *out (0 when v is NULL); EXIT_USAGE with a message when it is bad. */
int cli_parse_window(const char *v, uint32_t *out);

/* Why folder `dir` cannot be the folder of run `run_id` (wf_run_dir_check's rc), as a
 * message with what to do; returns EXIT_USAGE (or EXIT_STORE when it cannot be read). */
int cli_run_dir_refused(wf_store *st, const char *run_id, const char *dir, int rc);
int cmd_gc(cli_ctx *cli, int argc, char **argv);
int cmd_delete_run(cli_ctx *cli, int argc, char **argv);

#endif
