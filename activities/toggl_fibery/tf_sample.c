/* tf_sample.c — response files of the sample-data mode (see tf_sample.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tf_sample.h"
#include "wf/wf.h"

#define SAMPLE_PATH_MAX 4096
#define SAMPLE_FILE_MAX (64u << 20)

const char *tf_sample_dir(const cJSON *with) {
  const cJSON *d = cJSON_GetObjectItemCaseSensitive(with, "sample_dir");

  return cJSON_IsString(d) && d->valuestring[0] ? d->valuestring : NULL;
}

int tf_sample_read(const char *dir, const char *rel, char **buf, size_t *len) {
  char path[SAMPLE_PATH_MAX];
  struct stat st;
  FILE *f;
  char *b;
  size_t n, got;
  int w = snprintf(path, sizeof path, "%s/%s", dir, rel);

  *buf = NULL;
  *len = 0;
  if (w < 0 || (size_t)w >= sizeof path)
    return WF_EINVAL;
  if (!(f = fopen(path, "rb")))
    return errno == ENOENT ? WF_ENOTFOUND : WF_EIO;
  if (fstat(fileno(f), &st)) {
    fclose(f);
    return WF_EIO;
  }
  if (!S_ISREG(st.st_mode) || st.st_size < 0 || (size_t)st.st_size > SAMPLE_FILE_MAX) {
    fclose(f);
    return WF_EINVAL;
  }
  n = (size_t)st.st_size;
  if (!(b = malloc(n + 1))) {
    fclose(f);
    return WF_ENOMEM;
  }
  got = fread(b, 1, n, f);
  if (got != n || ferror(f)) {
    fclose(f);
    free(b);
    return WF_EIO;
  }
  fclose(f);
  b[n] = 0;
  *buf = b;
  *len = n;
  return 0;
}

int tf_sample_toggl_page(const char *date, unsigned page, char *rel, size_t cap) {
  int w = page <= 1 ? snprintf(rel, cap, "toggl/time_entries/%s.json", date)
                    : snprintf(rel, cap, "toggl/time_entries/%s.page%u.json", date, page);

  return w < 0 || (size_t)w >= cap ? WF_EINVAL : 0;
}

int tf_sample_fibery_rel(const char *type, char *rel, size_t cap) {
  size_t o = 0;
  const char *p;
  int w = snprintf(rel, cap, "fibery/");

  if (w < 0 || (size_t)w >= cap)
    return WF_EINVAL;
  o = (size_t)w;
  for (p = type; *p; p++) {
    if (o + 3 >= cap)
      return WF_EINVAL;
    if (*p == '/') {
      rel[o++] = '_';
      rel[o++] = '_';
    } else {
      rel[o++] = *p;
    }
  }
  if (o + 6 > cap)
    return WF_EINVAL;
  memcpy(rel + o, ".json", 6);
  return 0;
}
