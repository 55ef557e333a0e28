/* tf_util.c — toggl-fibery run-file I/O, Markdown text buffer and display helpers. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tf_util.h"
#include "wf/wf.h"

#define TF_PATH_MAX 4096

static int join(char *buf, size_t cap, const char *dir, const char *rel) {
  int n = snprintf(buf, cap, "%s/%s", dir, rel);

  return n < 0 || (size_t)n >= cap ? WF_EINVAL : 0;
}

int tf_read_json(const char *dir, const char *rel, cJSON **out) {
  char path[TF_PATH_MAX];
  FILE *f;
  char *buf = NULL;
  size_t n = 0, cap = 0, got;
  int rc = 0;

  *out = NULL;
  if (join(path, sizeof path, dir, rel))
    return WF_EINVAL;
  if (!(f = fopen(path, "rb")))
    return errno == ENOENT ? WF_ENOTFOUND : WF_EIO;
  do {
    if (n + 4096 > cap) {
      char *nb = realloc(buf, cap = cap ? cap * 2 : 65536);

      if (!nb) {
        rc = WF_ENOMEM;
        break;
      }
      buf = nb;
    }
    got = fread(buf + n, 1, cap - n - 1, f);
    n += got;
  } while (got > 0);
  if (!rc && ferror(f))
    rc = WF_EIO;
  fclose(f);
  if (!rc) {
    buf[n] = 0;
    if (!(*out = cJSON_ParseWithLength(buf, n)))
      rc = WF_ECORRUPT;
  }
  free(buf);
  return rc;
}

/* mkdir -p for the folders of dir/rel (dir itself exists). */
static int make_parents(const char *dir, const char *rel) {
  char path[TF_PATH_MAX];
  size_t base = strlen(dir) + 1, i;

  if (join(path, sizeof path, dir, rel))
    return WF_EINVAL;
  for (i = base; path[i]; i++) {
    if (path[i] != '/')
      continue;
    path[i] = 0;
    if (mkdir(path, 0755) && errno != EEXIST)
      return WF_EIO;
    path[i] = '/';
  }
  return 0;
}

int tf_write_file(const char *dir, const char *rel, const char *data, size_t len) {
  char path[TF_PATH_MAX], tmp[TF_PATH_MAX + 32];
  int fd, rc = 0, n;
  size_t off = 0;

  if (join(path, sizeof path, dir, rel))
    return WF_EINVAL;
  n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  if (n < 0 || (size_t)n >= sizeof tmp)
    return WF_EINVAL;
  if ((rc = make_parents(dir, rel)))
    return rc;
  if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
    return WF_EIO;
  while (off < len) {
    ssize_t w = write(fd, data + off, len - off);

    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      rc = WF_EIO;
      break;
    }
    off += (size_t)w;
  }
  /* Readers must never see a half-written report or data file. */
  if (!rc && fsync(fd))
    rc = WF_EIO;
  if (close(fd) && !rc)
    rc = WF_EIO;
  if (!rc && rename(tmp, path))
    rc = WF_EIO;
  if (rc)
    unlink(tmp);
  return rc;
}

int tf_write_json(const char *dir, const char *rel, const cJSON *j) {
  char *txt = cJSON_Print(j);
  size_t n;
  int rc;

  if (!txt)
    return WF_ENOMEM;
  n = strlen(txt);
  txt[n] = '\n'; /* overwrite the terminator: write counts bytes */
  rc = tf_write_file(dir, rel, txt, n + 1);
  cJSON_free(txt);
  return rc;
}

static int sb_reserve(tf_sb *b, size_t more) {
  size_t cap;
  char *p;

  if (b->err)
    return -1;
  if (b->n + more + 1 <= b->cap)
    return 0;
  for (cap = b->cap ? b->cap : 1024; cap < b->n + more + 1; cap *= 2)
    ;
  if (!(p = realloc(b->p, cap))) {
    b->err = WF_ENOMEM;
    return -1;
  }
  b->p = p;
  b->cap = cap;
  return 0;
}

static void sb_putn(tf_sb *b, const char *s, size_t n) {
  if (sb_reserve(b, n))
    return;
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}

void tf_sb_puts(tf_sb *b, const char *s) { sb_putn(b, s, strlen(s)); }

void tf_sb_printf(tf_sb *b, const char *fmt, ...) {
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || sb_reserve(b, (size_t)n))
    return;
  va_start(ap, fmt);
  vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->n += (size_t)n;
}

void tf_sb_cell(tf_sb *b, const char *s) {
  const char *p;

  if (!s || !*s) {
    tf_sb_puts(b, "—");
    return;
  }
  for (p = s; *p; p++) {
    if (*p == '|')
      sb_putn(b, "\\|", 2);
    else if (*p == '\n' || *p == '\r' || *p == '\t')
      sb_putn(b, " ", 1);
    else
      sb_putn(b, p, 1);
  }
}

void tf_sb_free(tf_sb *b) {
  if (!b)
    return;
  free(b->p);
  memset(b, 0, sizeof *b);
}

const char *tf_jstr(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

  return cJSON_IsString(v) ? v->valuestring : NULL;
}

int tf_grow(void **v, size_t *cap, size_t n, size_t sz) {
  void *nv;
  size_t nc;

  if (n < *cap)
    return 0;
  nc = *cap ? *cap * 2 : 16;
  if (!(nv = realloc(*v, nc * sz)))
    return WF_ENOMEM;
  memset((char *)nv + *cap * sz, 0, (nc - *cap) * sz);
  *v = nv;
  *cap = nc;
  return 0;
}

int64_t tf_jint(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

  return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

int tf_jbool(const cJSON *o, const char *key) {
  return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

cJSON *tf_jnull_str(const char *s) {
  return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

void tf_hours(char buf[32], int64_t seconds) {
  snprintf(buf, 32, "%.2f", (double)seconds / 3600.0);
}

void tf_share(char buf[32], int64_t part, int64_t total) {
  snprintf(buf, 32, "%.1f%%", total > 0 ? 100.0 * (double)part / (double)total : 0.0);
}

void tf_person_stem(const char *key, char *buf, size_t cap) {
  size_t i;

  if (!cap)
    return;
  for (i = 0; key[i] && i + 1 < cap; i++) {
    unsigned char c = (unsigned char)key[i];
    int keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
               c == '+' || c == '@' || c == '-';

    buf[i] = keep ? (char)c : '_';
  }
  buf[i] = 0;
}

static int month_days(int y, int m) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

  return days[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}

int tf_valid_day(const char *s) {
  int y, m, d;

  if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || strspn(s, "0123456789-") != 10)
    return 0;
  y = atoi(s);
  m = atoi(s + 5);
  d = atoi(s + 8);
  return y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= month_days(y, m);
}

void tf_next_day(char day[11]) {
  int y = atoi(day), m = atoi(day + 5), d = atoi(day + 8) + 1;
  char buf[40];

  if (d > month_days(y, m)) {
    d = 1;
    if (++m > 12) {
      m = 1;
      y++;
    }
  }
  snprintf(buf, sizeof buf, "%04d-%02d-%02d", y % 10000, m, d);
  memcpy(day, buf, 10);
  day[10] = 0;
}

void tf_utc_now(char buf[32]) {
  time_t t = time(NULL);
  struct tm tm;

  gmtime_r(&t, &tm);
  strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
