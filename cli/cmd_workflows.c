/* cmd_workflows.c — `wf list` and `wf describe`: the workflows that can be started. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct list_ctx {
  cli_ctx *cli;
  cJSON *json;
  int n;
};

static void list_cb(void *ud, const char *name, const char *path, const char *desc) {
  struct list_ctx *c = ud;
  if (c->cli->format == FMT_JSON) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "description", desc ? desc : "");
    cJSON_AddStringToObject(o, "path", path);
    cJSON_AddItemToArray(c->json, o);
  } else if (c->cli->format == FMT_IDS) {
    printf("%s\n", name);
  } else {
    if (!c->n) printf("%-20s %s\n", "WORKFLOW", "DESCRIPTION");
    cli_cell(stdout, name, 21, 20, NULL, NULL);
    printf("%s\n", desc ? desc : "");
  }
  c->n++;
}

int cmd_list(cli_ctx *cli, int argc, char **argv) {
  cli_args a;
  int code = cli_parse(cli, "list", argc, argv, cli_no_opts, &a);
  if (code) return code;
  if (a.help) return cli_help_command(stdout, "list");
  if (a.npos) return cli_fail(EXIT_USAGE, "list takes no arguments");
  struct list_ctx c = {cli, cli->format == FMT_JSON ? cJSON_CreateArray() : NULL, 0};
  wfw_list(list_cb, &c);
  if (c.json) cli_print_json(c.json);
  else if (!c.n && cli->format != FMT_IDS) printf("no workflows found\n");
  return EXIT_OK;
}

int cmd_describe(cli_ctx *cli, int argc, char **argv) {
  cli_args a;
  int code = cli_parse(cli, "describe", argc, argv, cli_no_opts, &a);
  if (code) return code;
  if (a.help) return cli_help_command(stdout, "describe");
  if (a.npos != 1) return cli_fail(EXIT_USAGE, "describe needs one workflow (see 'wf list')");
  if ((code = cli_check_format(cli, "describe", CLI_TAKES(FMT_TABLE) | CLI_TAKES(FMT_JSON))))
    return code;
  wfw_err err = {{0}};
  char path[4096];
  int rc = wfw_resolve(a.pos[0], path, sizeof path, &err);
  wfw_def *d = NULL;
  if (rc == 0) rc = wfw_load(path, &d, &err);
  if (rc) return cli_fail(rc == WF_ENOTFOUND ? EXIT_NOTFOUND : EXIT_USAGE, "%s", err.msg);
  uint32_t np = wfw_def_nparams(d), ns = wfw_def_nstages(d);
  if (cli->format == FMT_JSON) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", wfw_def_name(d));
    cJSON_AddStringToObject(o, "description", wfw_def_description(d));
    cJSON_AddStringToObject(o, "path", wfw_def_path(d));
    cJSON *ps = cJSON_AddArrayToObject(o, "params");
    for (uint32_t i = 0; i < np; i++) {
      wfw_param_info p;
      wfw_def_param(d, i, &p);
      cJSON *po = cJSON_CreateObject();
      cJSON_AddStringToObject(po, "name", p.name);
      cJSON_AddStringToObject(po, "type", p.type);
      cJSON_AddBoolToObject(po, "required", p.required);
      cJSON *dv = p.default_json ? cJSON_Parse(p.default_json) : NULL;
      cJSON_AddItemToObject(po, "default", dv ? dv : cJSON_CreateNull());
      cJSON_AddStringToObject(po, "description", p.description ? p.description : "");
      cJSON_AddItemToArray(ps, po);
    }
    cJSON *env = cJSON_AddArrayToObject(o, "env");
    for (uint32_t i = 0; i < wfw_def_nenv(d); i++)
      cJSON_AddItemToArray(env, cJSON_CreateString(wfw_def_env(d, i)));
    cJSON *ss = cJSON_AddArrayToObject(o, "stages");
    for (uint32_t i = 0; i < ns; i++) {
      wfw_stage_info s;
      wfw_def_stage(d, i, &s);
      cJSON *so = cJSON_CreateObject();
      cJSON_AddStringToObject(so, "id", s.id);
      cJSON_AddStringToObject(so, "kind", s.kind);
      if (s.foreach) cJSON_AddStringToObject(so, "foreach", s.foreach);
      if (s.validate) cJSON_AddBoolToObject(so, "validate", 1);
      cJSON *nd = cJSON_AddArrayToObject(so, "needs");
      for (uint32_t k = 0; k < s.nneeds; k++) cJSON_AddItemToArray(nd, cJSON_CreateString(s.needs[k]));
      cJSON_AddStringToObject(so, "description", s.description ? s.description : "");
      cJSON_AddItemToArray(ss, so);
    }
    cli_print_json(o);
  } else {
    printf("%s — %s\n(%s)\n", wfw_def_name(d), wfw_def_description(d), wfw_def_path(d));
    printf("\nparams:\n");
    if (!np) printf("  (none)\n");
    for (uint32_t i = 0; i < np; i++) {
      wfw_param_info p;
      wfw_def_param(d, i, &p);
      printf("  ");
      cli_cell(stdout, p.name, 21, 20, NULL, NULL);
      printf("%-7s %s%s%s  %s\n", p.type, p.required ? "required" : "optional",
             p.default_json ? ", default " : "", p.default_json ? p.default_json : "",
             p.description ? p.description : "");
    }
    if (wfw_def_nenv(d)) {
      printf("\nenvironment (must be set for a run):\n ");
      for (uint32_t i = 0; i < wfw_def_nenv(d); i++)
        printf(" %s%s", wfw_def_env(d, i), getenv(wfw_def_env(d, i)) && getenv(wfw_def_env(d, i))[0]
                                              ? "" : " (not set)");
      printf("\n");
    }
    printf("\nstages:\n");
    for (uint32_t i = 0; i < ns; i++) {
      wfw_stage_info s;
      wfw_def_stage(d, i, &s);
      printf("  ");
      cli_cell(stdout, s.id, 21, 20, NULL, NULL);
      printf("%s", s.kind);
      if (s.foreach) printf(", for each of %s", s.foreach);
      if (s.validate) printf(", checked before the run exists");
      if (s.nneeds) {
        printf(", needs ");
        for (uint32_t k = 0; k < s.nneeds; k++) printf("%s%s", k ? "," : "", s.needs[k]);
      }
      if (s.description && s.description[0]) printf("\n  %-20s %s", "", s.description);
      printf("\n");
    }
  }
  wfw_def_free(d);
  return EXIT_OK;
}
