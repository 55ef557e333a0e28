/* when.c — what the filters of list-runs and gc take: points in time (--since, --until,
 * --older-than) and lists of run statuses (--status failed,canceled). Times are UTC, as
 * wf prints them. */
#define _DEFAULT_SOURCE /* timegm */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define DAY_MS 86400000LL

/* An age, N followed by one unit: ms, or -1. */
static int64_t parse_age(const char *s) {
  char *end;
  if (*s < '0' || *s > '9') return -1;
  long long n = strtoll(s, &end, 10);
  if (end == s || !end[0] || end[1]) return -1;
  int64_t unit = end[0] == 's' ? 1000 : end[0] == 'm' ? 60000 : end[0] == 'h' ? 3600000
                 : end[0] == 'd' ? DAY_MS : end[0] == 'w' ? 7 * DAY_MS : 0;
  if (!unit || n < 0 || n > INT64_MAX / unit) return -1;
  return n * unit;
}

/* n digits at *p into *v, advancing *p. */
static int digits(const char **p, int n, int *v) {
  *v = 0;
  for (int i = 0; i < n; i++, (*p)++) {
    if (**p < '0' || **p > '9') return 0;
    *v = *v * 10 + (**p - '0');
  }
  return 1;
}

/* YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|+HH:MM|-HH:MM]: ms since the epoch, or -1. */
static int64_t parse_iso(const char *s) {
  int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, off = 0;
  const char *p = s;
  if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
      !digits(&p, 2, &d))
    return -1;
  if (*p == 'T' || *p == 't' || *p == ' ') {
    p++;
    if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi)) return -1;
    if (*p == ':') {
      p++;
      if (!digits(&p, 2, &sec)) return -1;
      if (*p == '.') {
        int n = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, n++)
          if (n < 3) ms = ms * 10 + (*p - '0');
        if (n == 0) return -1;
        for (; n < 3; n++) ms *= 10;
      }
    }
    if (*p == 'Z' || *p == 'z') {
      p++;
    } else if (*p == '+' || *p == '-') {
      int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
      if (!digits(&p, 2, &oh)) return -1;
      if (*p == ':') p++;
      if (*p && !digits(&p, 2, &om)) return -1;
      if (oh > 23 || om > 59) return -1;
      off = sign * (oh * 60 + om);
    }
  }
  if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return -1;
  struct tm tm = {0};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  time_t t = timegm(&tm);
  struct tm back;
  if (t == (time_t)-1 || !gmtime_r(&t, &back) || back.tm_mday != d) return -1; /* 02-30 */
  int64_t v = (int64_t)t * 1000 + ms - (int64_t)off * 60000;
  return v < 0 ? 0 : v;
}

int64_t cli_parse_time(const char *s, int64_t now) {
  if (!s || !*s) return -1;
  int64_t midnight = now - now % DAY_MS;
  if (strcmp(s, "now") == 0) return now;
  if (strcmp(s, "today") == 0) return midnight;
  if (strcmp(s, "yesterday") == 0) return midnight - DAY_MS;
  int64_t age = parse_age(s);
  if (age >= 0) return age > now ? 0 : now - age;
  return parse_iso(s);
}

int64_t cli_parse_since(const char *s) { return cli_parse_time(s, cli_now_ms()); }

int cli_parse_time_range(const char *since, const char *until, int64_t *since_ms,
                         int64_t *until_ms) {
  int64_t now = cli_now_ms();
  if (since && (*since_ms = cli_parse_time(since, now)) < 0)
    return cli_fail(EXIT_USAGE, "--since \"%s\": use %s", since, CLI_TIME_FORMS);
  if (until && (*until_ms = cli_parse_time(until, now)) < 0)
    return cli_fail(EXIT_USAGE, "--until \"%s\": use %s", until, CLI_TIME_FORMS);
  /* 0 means "no bound" below: an --until at the epoch itself would mean none. */
  if (until && *until_ms == 0) *until_ms = 1;
  if (since && until && *until_ms <= *since_ms)
    return cli_fail(EXIT_USAGE, "--until %s is not after --since %s: no run can match", until,
                    since);
  return 0;
}

int cli_parse_statuses(const char *option, const char *list, unsigned *mask) {
  char name[32];
  *mask = 0;
  for (const char *p = list;;) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    int status;
    if (n == 0 || n >= sizeof name)
      return cli_fail(EXIT_USAGE, "%s \"%s\": give statuses separated by commas, e.g. "
                                 "failed,canceled", option, list);
    memcpy(name, p, n);
    name[n] = '\0';
    if (wf_run_status_parse(name, &status) != 0)
      return cli_fail(EXIT_USAGE, "%s: unknown status \"%s\" (pending, running, succeeded, "
                                 "failed, degraded, canceled, interrupted)", option, name);
    *mask |= 1u << status;
    if (!comma) return 0;
    p = comma + 1;
  }
}
