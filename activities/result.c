/* result.c — what every activity does with an attempt's result: start from an empty
 * failed one, or end an attempt at once when it cannot go on.
 */
#include <stdlib.h>
#include <string.h>

#include "wfact.h"

void wfa_result_init(wfi_result *res) {
  memset(res, 0, sizeof *res);
  res->exit_code = -1;
}

void wfa_job_fail(wfi_job *job, int retryable, const char *msg) {
  wfi_result res;

  wfa_result_init(&res);
  res.retryable = retryable;
  res.error = msg ? strdup(msg) : NULL;
  wfi_job_done(job, &res);
}
