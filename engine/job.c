/* job.c — small pieces every execution path shares: job completion, retry timing,
 * and where a run keeps its files and step logs. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "wfengine.h"

void wfi_job_done(wfi_job *job, wfi_result *res) { job->on_done(job, res); }

double wfi_retry_delay(const wfi_retry *r, uint32_t attempt) {
  if (attempt < 1) attempt = 1;
  double d = r->initial_interval_s * pow(r->backoff < 1 ? 1 : r->backoff, (double)(attempt - 1));
  if (r->max_interval_s > 0 && d > r->max_interval_s) d = r->max_interval_s;
  return d < 0 ? 0 : d;
}

int wfi_retry_allowed(const wfi_retry *r, uint32_t attempt, const wfi_result *res) {
  if (res->ok || !res->retryable || attempt >= r->max_attempts) return 0;
  for (uint32_t i = 0; i < r->n_nonretry; i++)
    if (res->exit_code >= 0 && res->exit_code == r->nonretry_codes[i]) return 0;
  return 1;
}

int wfi_mkdir_p(char *path) {
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    int rc = mkdir(path, 0755);
    *p = '/';
    if (rc != 0 && errno != EEXIST) return WF_EIO;
  }
  if (mkdir(path, 0755) != 0 && errno != EEXIST) return WF_EIO;
  return 0;
}

int wfi_run_dir(const char *home, const char *run_id, char *buf, size_t cap) {
  int n = snprintf(buf, cap, "%s/runs/%s", home, run_id);
  if (n < 0 || (size_t)n >= cap) return WF_EINVAL;
  return wfi_mkdir_p(buf);
}

static int safe_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '_' || c == '-';
}

int wfi_log_path(const char *home, const char *run_id, const char *key, char *buf, size_t cap) {
  int n = snprintf(buf, cap, "%s/logs/%s/", home, run_id);
  if (n < 0 || (size_t)n >= cap) return WF_EINVAL;
  size_t len = (size_t)n;
  /* A leading '.' would make "." or ".." names: encode it too. */
  for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
    if (safe_byte(*p) && !(p == (const unsigned char *)key && *p == '.')) {
      if (len + 1 >= cap) return WF_EINVAL;
      buf[len++] = (char)*p;
    } else {
      if (len + 3 >= cap) return WF_EINVAL;
      snprintf(buf + len, cap - len, "%%%02X", *p);
      len += 3;
    }
  }
  if (len + 5 >= cap) return WF_EINVAL;
  memcpy(buf + len, ".log", 5);
  return 0;
}

int wfi_run_log_path(const char *home, const char *run_id, char *buf, size_t cap) {
  int n = snprintf(buf, cap, "%s/logs/%s/.wf.log", home, run_id);
  return n < 0 || (size_t)n >= cap ? WF_EINVAL : 0;
}
