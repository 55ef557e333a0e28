/* help.c — `wf --help`, `wf help [COMMAND]`, `wf COMMAND --help` and the manual page
 * wf(1) (`wf --man`), all printed from the tables of commands.c and opts.c. */
#include <string.h>

#include "cli.h"

static const char intro[] =
    "Durable workflow runs: every step's result is recorded the moment it completes,\n"
    "so a run that crashed, was killed or was canceled continues where it stopped.";

static const char exit_codes[] =
    "exit codes: 0 succeeded, 1 run failed or canceled (doctor: a problem found), 2 usage\n"
    "or definition error, 3 not found, 4 degraded (--continue-on-error with failures),\n"
    "5 store error, 6 the run was taken over by another process, 130 interrupted by a\n"
    "signal (the run stays resumable).";

/* Variables wf reads; only the manual lists them. */
static const struct {
  const char *name, *help;
} environment[] = {
    {"WF_HOME", "the store, when --home is not given (default ./.wf)"},
    {"NO_COLOR", "when set and not empty, no colours on a terminal"},
    {"WF_MAP_CAP_MB", "the size the store's file may grow to, in MiB (default 65536)"},
    {"WF_MAX_READERS", "processes that may have the store open at once (default 4096); "
                       "fixed by the first process to open the store while no other has it "
                       "open"},
    {"WF_MAX_OUTPUT_MB", "a step output above this many MiB fails the step (default 64)"},
    {"WF_KILL_GRACE_S", "seconds between SIGTERM and SIGKILL for a step that is stopped "
                        "(default 5)"},
};

/* "-p, --param KEY=VALUE" */
static void opt_left(const cli_opt *o, char *buf, size_t cap) {
  int n = 0;
  if (o->short_name) n = snprintf(buf, cap, "-%c, ", o->short_name);
  const char *v = o->value ? o->value : "VALUE";
  if (o->arg == CLI_ARG_OPTIONAL) snprintf(buf + n, cap - (size_t)n, "--%s [%s]", o->name, v);
  else snprintf(buf + n, cap - (size_t)n, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? v : "");
}

/* The lines of text, each after the first indented by `indent` spaces. */
static void indented(FILE *out, const char *text, int indent) {
  if (!*text) fputc('\n', out);
  for (const char *p = text; *p;) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    if (p != text) fprintf(out, "%*s", indent, "");
    fprintf(out, "%.*s\n", (int)n, p);
    p += n + (nl != NULL);
  }
}

static void print_opts(FILE *out, const cli_opt *opts, int width) {
  for (const cli_opt *o = opts; o->name; o++) {
    char left[96];
    opt_left(o, left, sizeof left);
    if ((int)strlen(left) > width - 1)
      fprintf(out, "  %s\n%*s", left, width + 2, "");
    else
      fprintf(out, "  %-*s", width, left);
    indented(out, o->help ? o->help : "", width + 2);
  }
}

int cli_help_main(FILE *out) {
  fprintf(out, "usage: wf [--home DIR] [-o table|json|ids] <command> [options]\n\n%s\n\n"
               "commands:\n", intro);
  for (const cli_command *c = cli_commands; c->name; c++) {
    char left[96];
    snprintf(left, sizeof left, "%s%s%s", c->name, c->args[0] ? " " : "", c->args);
    if (strlen(left) > 23) fprintf(out, "  %s\n%26s%s\n", left, "", c->summary);
    else fprintf(out, "  %-23s %s\n", left, c->summary);
  }
  fputs("\nglobal options (before or after the command; --version and --man before it):\n",
        out);
  print_opts(out, cli_global_opts, 24);
  fprintf(out, "\n%s\nA run id may be shortened to a unique prefix wherever one is taken.\n"
               "Run 'wf help <command>' or 'wf <command> --help' for a command's options.\n",
          exit_codes);
  return EXIT_OK;
}

int cli_help_command(FILE *out, const char *name) {
  const cli_command *c = cli_command_find(name);
  if (!c) {
    const cli_command *s = cli_command_suggest(name);
    if (s) return cli_fail(EXIT_USAGE, "unknown command \"%s\": did you mean %s?", name, s->name);
    return cli_fail(EXIT_USAGE, "unknown command \"%s\" (run 'wf help' for the commands)", name);
  }
  fprintf(out, "usage: wf %s %s\n\n%s\n", c->name, c->synopsis, c->help);
  if (c->opts[0].name) {
    fputs("\noptions:\n", out);
    print_opts(out, c->opts, 22);
  }
  return EXIT_OK;
}

/* ---- the manual page ------------------------------------------------------------------ */

/* Text for a roff text line: backslashes, hyphens and quotes escaped, characters past
 * ASCII as \[uXXXX] (groff reads its input as Latin-1), and a line that would begin with
 * a control character ('.' or '\'') made text. */
static void roff(FILE *out, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    unsigned char u = (unsigned char)ch;
    if (i == 0 && (ch == '.' || ch == '\'')) fputs("\\&", out);
    if (u >= 0xc0) {
      int len = u >= 0xf0 ? 4 : u >= 0xe0 ? 3 : 2;
      uint32_t cp = u & (0x3fu >> (len - 1));
      int k = 1;
      for (; k < len && i + (size_t)k < n && ((unsigned char)s[i + k] & 0xc0) == 0x80; k++)
        cp = cp << 6 | ((unsigned char)s[i + k] & 0x3f);
      if (k == len) {
        fprintf(out, "\\[u%04X]", (unsigned)cp);
        i += (size_t)len - 1;
        continue;
      }
    }
    if (ch == '\\') fputs("\\e", out);
    else if (ch == '-') fputs("\\-", out);
    else if (ch == '\'') fputs("\\(aq", out);
    else fputc(ch, out);
  }
}

/* Text with '\n' between its lines: each line a roff line, an empty one a paragraph. */
static void roff_lines(FILE *out, const char *text) {
  for (const char *p = text; *p;) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    if (n == 0) fputs(".PP\n", out);
    else roff(out, p, n), fputc('\n', out);
    p += n + (nl != NULL);
  }
}

static void roff_str(FILE *out, const char *s) { roff(out, s, strlen(s)); }

static void roff_opts(FILE *out, const cli_opt *opts) {
  for (const cli_opt *o = opts; o->name; o++) {
    fputs(".TP\n", out);
    if (o->short_name) fprintf(out, "\\fB\\-%c\\fP, ", o->short_name);
    fputs("\\fB\\-\\-", out);
    roff_str(out, o->name);
    fputs("\\fP", out);
    if (o->arg) {
      fputs(o->arg == CLI_ARG_OPTIONAL ? " [\\fI" : " \\fI", out);
      roff_str(out, o->value ? o->value : "VALUE");
      fputs(o->arg == CLI_ARG_OPTIONAL ? "\\fP]" : "\\fP", out);
    }
    fputc('\n', out);
    roff_lines(out, o->help ? o->help : "");
  }
}

int cli_man_page(FILE *out) {
  fputs(".\\\" wf(1): generated by 'wf --man' from the command and option tables of the\n"
        ".\\\" wf command, the same as its --help.\n", out);
  fprintf(out, ".TH WF 1 \"\" \"wf %s\" \"User Commands\"\n.nh\n.ad l\n", WF_VERSION_STRING);
  fputs(".SH NAME\nwf \\- durable workflow runs: start, resume, inspect and check them\n"
        ".SH SYNOPSIS\n.nf\n", out);
  fputs("\\fBwf\\fP [\\fB\\-\\-home\\fP \\fIDIR\\fP] [\\fB\\-o\\fP table|json|ids] "
        "\\fIcommand\\fP [\\fIoptions\\fP]\n", out);
  for (const cli_command *c = cli_commands; c->name; c++) {
    fputs("\\fBwf ", out);
    roff_str(out, c->name);
    fputs("\\fP ", out);
    roff_str(out, c->synopsis);
    fputc('\n', out);
  }
  fputs(".fi\n.SH DESCRIPTION\n", out);
  roff_lines(out, intro);
  fputs(".SH GLOBAL OPTIONS\nThey may be given before or after the command; "
        "\\fB\\-\\-version\\fP and \\fB\\-\\-man\\fP only before it.\n", out);
  roff_opts(out, cli_global_opts);
  fputs(".SH COMMANDS\n", out);
  for (const cli_command *c = cli_commands; c->name; c++) {
    fputs(".SS wf ", out);
    roff_str(out, c->name);
    fputs("\n\\fBwf ", out);
    roff_str(out, c->name);
    fputs("\\fP ", out);
    roff_str(out, c->synopsis);
    fputs("\n.PP\n", out);
    roff_lines(out, c->help);
    if (c->opts[0].name) {
      fputs(".PP\nOptions:\n", out);
      roff_opts(out, c->opts);
    }
  }
  fputs(".SH EXIT STATUS\n", out);
  roff_lines(out, exit_codes);
  fputs(".SH ENVIRONMENT\n", out);
  for (size_t i = 0; i < sizeof environment / sizeof environment[0]; i++) {
    fprintf(out, ".TP\n.B %s\n", environment[i].name);
    roff_lines(out, environment[i].help);
  }
  fputs(".SH FILES\n.TP\n.I .wf/\nthe store, unless \\fB\\-\\-home\\fP or \\fBWF_HOME\\fP "
        "names another: \\fIstore/\\fP (the LMDB environment), \\fIruns/<run\\-id>/\\fP (the "
        "files a run\\(aqs steps write), \\fIlogs/<run\\-id>/\\fP (what they wrote to stderr)\n"
        ".TP\n.I ./workflows/\ndefinitions that \\fBwf start\\fP \\fIname\\fP finds, besides "
        "the bundled ones\n", out);
  fputs(".SH SEE ALSO\n.BR wf (3)\nfor the C API;\n.BR jq (1)\nto read \\fB\\-o json\\fP.\n",
        out);
  return EXIT_OK;
}
