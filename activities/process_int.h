/* process_int.h — the pieces of the exec activity (child processes) shared by process.c
 * and process_input.c. */
#ifndef WF_PROCESS_INT_H
#define WF_PROCESS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "wfact.h"

/* The step input map split into its values (msgpack slices; NULL when absent). */
typedef struct wfa_exec_input {
  const uint8_t *run, *shell, *params, *inputs, *item, *cwd, *stdin_text;
  size_t run_n, shell_n, params_n, inputs_n, item_n, cwd_n, stdin_text_n;
} wfa_exec_input;

int wfa_exec_input_split(const uint8_t *p, size_t n, wfa_exec_input *in);
/* A malloc'd NUL-terminated copy of a msgpack string; NULL if not a string or has NUL. */
char *wfa_exec_str_dup(const uint8_t *p, size_t n);
void wfa_exec_argv_free(char **argv);
/* argv from "run" (array of strings) or "shell" (/bin/sh -c); err says what is wrong. */
int wfa_exec_build_argv(const wfa_exec_input *in, char ***out, char *err, size_t cap);
/* The child's stdin: {run_id, step_key, attempt, params, inputs, item} and a newline, or
 * the input's "stdin" string as it is when there is one. */
int wfa_exec_build_stdin(const wfi_job *job, const wfa_exec_input *in, char **out, size_t *len);
/* wf's environment with WF_RUN_ID, WF_STEP_KEY, WF_ATTEMPT, WF_IDEMPOTENCY_KEY and
 * WF_RUN_DIR set (one allocation; free() it). */
char **wfa_exec_build_env(const wfi_job *job);

#endif
