/* fuzz_cli_args.c — command-line parsing (cli_parse) with the option tables of the
 * subcommands, and the value parsers the commands apply after it (--since, run ids).
 *
 * Input: one byte choosing the subcommand's table (cli/opts.c), then the arguments separated by NUL
 * bytes. What cli_parse prints on errors goes to /dev/null.
 * Checked: counts stay within their arrays, every value and positional is one of the
 * arguments (or the part after "=" / after a short option's letter), option values hold
 * no control characters, and a successful parse of the same arguments is repeatable.
 */
#include "cli.h"
#include "fuzz_util.h"

#define MAX_ARGV 160

static const struct {
  const char *name;
  const cli_opt *opts;
} commands[] = {{"start", cli_start_opts},    {"resume", cli_resume_opts},
                {"show-run", cli_show_opts},  {"list-runs", cli_list_opts},
                {"cancel-run", cli_cancel_opts}, {"logs", cli_logs_opts},
                {"list", cli_no_opts},        {"describe", cli_no_opts},
                {"explain", cli_no_opts},     {"fork", cli_fork_opts},
                {"import", cli_import_opts},  {"export", cli_no_opts},
                {"gc", cli_gc_opts},          {"delete-run", cli_delete_opts},
                {"doctor", cli_doctor_opts},  {"help", cli_no_opts},
                {"completion", cli_no_opts}};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fz_silence_stderr();
  return 0;
}

/* p is argv[i] itself or points inside it. */
static int from_argv(const char *p, char **argv, int argc) {
  for (int i = 0; i < argc; i++)
    if (p >= argv[i] && p <= argv[i] + strlen(argv[i])) return 1;
  return 0;
}

static int no_controls(const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p < 0x20 || *p == 0x7f) return 0;
  return 1;
}

static void check_parsed(const cli_ctx *cli, const cli_args *a, char **argv, int argc) {
  FZ_CHECK(a->npos >= 0 && a->npos <= CLI_MAX_ARGS);
  FZ_CHECK(a->nmulti >= 0 && a->nmulti <= CLI_MAX_ARGS);
  for (int i = 0; i < a->npos; i++) FZ_CHECK(a->pos[i] && from_argv(a->pos[i], argv, argc));
  for (int i = 0; i < a->nmulti; i++)
    FZ_CHECK(a->multi[i] && from_argv(a->multi[i], argv, argc) && no_controls(a->multi[i]));
  for (int id = 1; id < O_NOPTS; id++) {
    const char *v = a->val[id];
    if (!v) continue;
    /* "1": a flag; "": an option whose value is optional, given without one */
    FZ_CHECK(strcmp(v, "1") == 0 || v[0] == '\0' || from_argv(v, argv, argc));
    FZ_CHECK(no_controls(v));
  }
  FZ_CHECK(cli->home && cli->home[0] && no_controls(cli->home));
  FZ_CHECK(cli->format >= FMT_DEFAULT && cli->format <= FMT_IDS);
}

/* What the commands do with the values next: none of it may misbehave. */
static void use_values(const cli_args *a) {
  if (a->val[O_SINCE]) {
    int64_t t = cli_parse_since(a->val[O_SINCE]);
    char buf[64];
    cli_time_iso(t, buf, sizeof buf);
    cli_time_human(t, buf, sizeof buf);
  }
  if (a->val[O_STATUS]) (void)wfs_run_status_parse(a->val[O_STATUS]);
  for (int i = 0; i < a->npos; i++) {
    if (wfs_check_run_id(a->pos[i]) != 0) FZ_CHECK(cli_bad_id("run id", a->pos[i]) == EXIT_USAGE);
    if (wfs_check_step_key(a->pos[i]) != 0)
      FZ_CHECK(cli_bad_id("step key", a->pos[i]) == EXIT_USAGE);
  }
  if (a->val[O_RUN_ID] && wfs_check_run_id(a->val[O_RUN_ID]) != 0)
    (void)cli_bad_id("run id", a->val[O_RUN_ID]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  size_t c = data[0] % NCOMMANDS;
  char *argv[MAX_ARGV + 1];
  int argc = 0;
  if (size > 1) argc = (int)fz_split(data + 1, size - 1, argv, MAX_ARGV, NULL);
  argv[argc] = NULL;

  cli_ctx cli = {.home = ".wf", .format = FMT_DEFAULT};
  cli_args a;
  int rc = cli_parse(&cli, commands[c].name, argc, argv, commands[c].opts, &a);
  FZ_CHECK(rc == 0 || rc == EXIT_USAGE);
  if (rc == 0) {
    check_parsed(&cli, &a, argv, argc);
    use_values(&a);
    /* the same arguments parse the same way again */
    cli_ctx cli2 = {.home = ".wf", .format = FMT_DEFAULT};
    cli_args b;
    FZ_CHECK(cli_parse(&cli2, commands[c].name, argc, argv, commands[c].opts, &b) == 0);
    FZ_CHECK(memcmp(&a, &b, sizeof a) == 0 && cli.home == cli2.home &&
             cli.format == cli2.format);
  }
  fz_free_pieces(argv, (size_t)argc);
  return 0;
}
