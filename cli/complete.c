/* complete.c — `wf help` and `wf completion bash|zsh`: a completion script generated from
 * the command and option tables (commands.c, opts.c), so that it completes every command
 * and option there is. Workflow names and run ids come from wf itself when completing
 * (wf list -o ids, wf list-runs -o ids), from the store --home names on the line. */
#include <string.h>

#include "cli.h"

int cmd_help(cli_ctx *cli, int argc, char **argv) {
  cli_args a;
  int code = cli_parse(cli, "help", argc, argv, cli_no_opts, &a);
  if (code) return code;
  if (a.help) return cli_help_command(stdout, "help");
  if (a.npos > 1) return cli_fail(EXIT_USAGE, "help takes at most one command");
  return a.npos ? cli_help_command(stdout, a.pos[0]) : cli_help_main(stdout);
}

/* Completes $cur into COMPREPLY from what its argument names. */
static const char words_fn[] =
    "_wf_words() {\n"
    "  local wf=${COMP_WORDS[0]}\n"
    "  case $1 in\n"
    "    @runs) COMPREPLY=($(compgen -W \"$(\"$wf\" \"${home[@]}\" list-runs -o ids --limit 0 "
    "2>/dev/null)\" -- \"$cur\")) ;;\n"
    "    @workflows)\n"
    "      COMPREPLY=($(compgen -W \"$(\"$wf\" list -o ids 2>/dev/null)\" -- \"$cur\") "
    "$(compgen -f -- \"$cur\"))\n"
    "      type compopt >/dev/null 2>&1 && compopt -o filenames 2>/dev/null ;;\n"
    "    @files) COMPREPLY=($(compgen -f -- \"$cur\"))\n"
    "      type compopt >/dev/null 2>&1 && compopt -o filenames 2>/dev/null ;;\n"
    "    @dirs) COMPREPLY=($(compgen -d -- \"$cur\"))\n"
    "      type compopt >/dev/null 2>&1 && compopt -o filenames 2>/dev/null ;;\n"
    "    @commands) COMPREPLY=($(compgen -W \"$_wf_commands\" -- \"$cur\")) ;;\n"
    "    *) COMPREPLY=($(compgen -W \"$1\" -- \"$cur\")) ;;\n"
    "  esac\n"
    "}\n";

/* The command on the line (the first word that is not a global option or its value),
 * and --home as given, so that run ids come from the same store. */
static const char scan[] =
    "_wf_complete() {\n"
    "  local cur=${COMP_WORDS[COMP_CWORD]} prev= cmd= w i\n"
    "  local -a home=()\n"
    "  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD-1]}\n"
    "  COMPREPLY=()\n"
    "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
    "    w=${COMP_WORDS[i]}\n"
    "    case $w in\n"
    "      --home) home=(--home \"${COMP_WORDS[i+1]}\"); ((i++)); continue ;;\n"
    "      --home=*) home=(\"$w\"); continue ;;\n"
    "      -o|--output) ((i++)); continue ;;\n"
    "    esac\n"
    "    [[ -z $cmd && $w != -* ]] && cmd=$w\n"
    "  done\n";

/* Prints an option's spellings separated by `sep`: "-p|--param". */
static void spellings(FILE *out, const cli_opt *o, const char *sep) {
  if (o->short_name) fprintf(out, "-%c%s", o->short_name, sep);
  fprintf(out, "--%s", o->name);
}

/* The case arms completing the value of each option that takes one (for `cmd`, or for
 * any command with cmd NULL: the global options). */
static void value_arms(FILE *out, const char *cmd, const cli_opt *opts) {
  for (const cli_opt *o = opts; o->name; o++) {
    if (!o->arg) continue;
    /* "start --run-id", or for a global option *" --home" */
    const char *pre = cmd ? "\"" : "*\"", *name = cmd ? cmd : "";
    fputs("    ", out);
    if (o->short_name) fprintf(out, "%s%s -%c\"|", pre, name, o->short_name);
    fprintf(out, "%s%s --%s\")", pre, name, o->name);
    if (o->complete) fprintf(out, " _wf_words \"%s\";", o->complete);
    fputs(" return ;;\n", out);
  }
}

/* The words of the options, those only given before the command left out after it. */
static void option_words(FILE *out, const cli_opt *opts, int after_command) {
  for (const cli_opt *o = opts; o->name; o++) {
    if (after_command && o->id == CLI_BEFORE) continue;
    spellings(out, o, " ");
    fputc(' ', out);
  }
}

static void bash_script(FILE *out) {
  fputs("_wf_commands=\"", out);
  for (const cli_command *c = cli_commands; c->name; c++)
    fprintf(out, "%s%s", c == cli_commands ? "" : " ", c->name);
  fputs("\"\n", out);
  fputs(words_fn, out);
  fputs(scan, out);
  /* The value of an option: "$cmd $prev" against each command's options. */
  fputs("  case \"$cmd $prev\" in\n", out);
  for (const cli_command *c = cli_commands; c->name; c++) value_arms(out, c->name, c->opts);
  value_arms(out, NULL, cli_global_opts);
  fputs("  esac\n", out);
  /* An option, or an operand. */
  fputs("  if [[ $cur == -* ]]; then\n    case $cmd in\n", out);
  for (const cli_command *c = cli_commands; c->name; c++) {
    fprintf(out, "      %s) _wf_words \"", c->name);
    option_words(out, c->opts, 1);
    option_words(out, cli_global_opts, 1);
    fputs("\" ;;\n", out);
  }
  fputs("      *) _wf_words \"", out);
  option_words(out, cli_global_opts, 0);
  fputs("\" ;;\n    esac\n    return\n  fi\n", out);
  fputs("  case $cmd in\n    '') _wf_words @commands ;;\n", out);
  for (const cli_command *c = cli_commands; c->name; c++)
    if (c->operands) fprintf(out, "    %s) _wf_words \"%s\" ;;\n", c->name, c->operands);
  fputs("  esac\n}\n", out);
}

int cmd_completion(cli_ctx *cli, int argc, char **argv) {
  cli_args a;
  int code = cli_parse(cli, "completion", argc, argv, cli_no_opts, &a);
  if (code) return code;
  if (a.help) return cli_help_command(stdout, "completion");
  if (a.npos != 1 || (strcmp(a.pos[0], "bash") != 0 && strcmp(a.pos[0], "zsh") != 0))
    return cli_fail(EXIT_USAGE, "completion needs the shell: bash or zsh (e.g. source <(wf "
                                "completion bash))");
  if (strcmp(a.pos[0], "zsh") == 0) {
    /* zsh runs the bash functions through its bashcompinit. */
    fputs("#compdef wf\n"
          "# zsh completion for wf, printed by 'wf completion zsh' from wf's own tables.\n"
          "# Load it after compinit with: source <(wf completion zsh), or save it as _wf in\n"
          "# a folder of $fpath.\n"
          "autoload -U +X bashcompinit && bashcompinit\n", stdout);
    bash_script(stdout);
    fputs("complete -F _wf_complete wf\n"
          "# Loaded from $fpath as the function _wf: complete this time too.\n"
          "[[ ${funcstack[1]-} == _wf ]] && _bash_complete -F _wf_complete\n"
          "return 0\n", stdout);
    return EXIT_OK;
  }
  fputs("# bash completion for wf, printed by 'wf completion bash' from wf's own tables.\n"
        "# Load it with: source <(wf completion bash)\n", stdout);
  bash_script(stdout);
  fputs("complete -F _wf_complete wf\n", stdout);
  return EXIT_OK;
}
