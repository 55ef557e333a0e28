/* export.c — one run as one self-contained file (wf export; docs/export-format.md): its
 * record, steps and events as the store encodes them, then the files of its folder and
 * of its logs, streamed section by section, each with its length and a crc32. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "api_int.h"
#include "wfmp.h"
#include "wfx.h"

struct out {
  wf_write_fn write;
  void *ud;
  uint64_t steps, events, files;
  wfs_txn *t;
  const char *run_id;
};

static void be64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v) {
  for (int i = 3; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

static int emit(struct out *o, const void *p, size_t n) {
  if (!n) return 0;
  int rc = o->write(o->ud, p, n);
  return rc ? (rc < 0 ? rc : WF_EIO) : 0;
}

/* A section's head; *crc starts over it. */
static int section_begin(struct out *o, int type, uint64_t len, uLong *crc) {
  uint8_t h[WFX_HEAD_LEN];
  h[0] = (uint8_t)type;
  be64(h + 1, len);
  *crc = crc32(crc32(0L, Z_NULL, 0), h, WFX_HEAD_LEN);
  return emit(o, h, sizeof h);
}

static int section_part(struct out *o, const void *p, size_t n, uLong *crc) {
  if (!n) return 0; /* crc32 of a NULL buffer is its initial value, not a no-op */
  *crc = crc32(*crc, p, (uInt)n);
  return emit(o, p, n);
}

static int section_end(struct out *o, uLong crc) {
  uint8_t c[4];
  be32(c, (uint32_t)crc);
  return emit(o, c, 4);
}

static int section(struct out *o, int type, const void *a, size_t an, const void *b, size_t bn) {
  uLong crc;
  int rc = section_begin(o, type, (uint64_t)an + bn, &crc);
  if (rc == 0) rc = section_part(o, a, an, &crc);
  if (rc == 0) rc = section_part(o, b, bn, &crc);
  return rc ? rc : section_end(o, crc);
}

static int put_step(void *ud, const wfs_step *s) {
  struct out *o = ud;
  if (s->status == WFS_STEP_UNREADABLE) return WF_ECORRUPT;
  uint8_t *enc, key[2];
  size_t n, klen = strlen(s->key);
  int rc = wfs_step_encode(s, &enc, &n);
  if (rc) return rc;
  uint8_t *buf = malloc(2 + klen);
  if (!buf) rc = WF_ENOMEM;
  if (rc == 0) {
    key[0] = (uint8_t)(klen >> 8), key[1] = (uint8_t)klen;
    memcpy(buf, key, 2);
    memcpy(buf + 2, s->key, klen);
    rc = section(o, WFX_STEP, buf, 2 + klen, enc, n);
  }
  free(buf);
  free(enc);
  o->steps++;
  return rc;
}

static int put_event(void *ud, const wfs_event *e) {
  struct out *o = ud;
  uint8_t *enc;
  size_t n;
  int rc = wfs_event_encode(e, &enc, &n);
  if (rc) return rc;
  rc = section(o, WFX_EVENT, enc, n, NULL, 0);
  free(enc);
  o->events++;
  return rc;
}

/* ---- files ------------------------------------------------------------------------------ */

/* One file, folder or link `path` (rel: its path in its area). A file's content is read
 * as it is written out; one that changes size meanwhile fails the export. */
static int put_file(struct out *o, int area, const char *path, const char *rel,
                    const struct stat *st) {
  int kind = S_ISDIR(st->st_mode) ? WFX_KIND_DIR : S_ISLNK(st->st_mode) ? WFX_KIND_LINK
                                                                        : WFX_KIND_FILE;
  char target[PATH_MAX];
  ssize_t tn = 0;
  if (kind == WFX_KIND_LINK && (tn = readlink(path, target, sizeof target - 1)) < 0)
    return wfs_fs_err(path, errno);
  int fd = -1;
  if (kind == WFX_KIND_FILE && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
    return wfs_fs_err(path, errno);
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 5);
  msgpack_pack_uint8(&pk, (uint8_t)area);
  wfm_pack_str(&pk, rel);
  msgpack_pack_uint8(&pk, (uint8_t)kind);
  msgpack_pack_uint32(&pk, (uint32_t)(st->st_mode & 07777));
  if (kind == WFX_KIND_LINK) wfm_pack_strn(&pk, target, (size_t)tn);
  else msgpack_pack_nil(&pk);
  uint64_t size = kind == WFX_KIND_FILE ? (uint64_t)st->st_size : 0;
  uint8_t hl[4];
  be32(hl, (uint32_t)sb.size);
  uLong crc;
  int rc = section_begin(o, WFX_FILE, 4 + sb.size + size, &crc);
  if (rc == 0) rc = section_part(o, hl, 4, &crc);
  if (rc == 0) rc = section_part(o, sb.data, sb.size, &crc);
  msgpack_sbuffer_destroy(&sb);
  char buf[65536];
  while (rc == 0 && size > 0) {
    ssize_t n = read(fd, buf, size < sizeof buf ? (size_t)size : sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      rc = n < 0 ? wfs_fs_err(path, errno) : wfs_fs_err(path, EIO); /* it shrank */
      break;
    }
    rc = section_part(o, buf, (size_t)n, &crc);
    size -= (uint64_t)n;
  }
  if (fd >= 0) close(fd);
  if (rc == 0) rc = section_end(o, crc);
  o->files++;
  return rc;
}

/* Every entry under folder `dir` (rel: its path in the area, "" at the top), folders
 * before what they hold; a run's mark is left out (it names the exporting store). */
static int put_tree(struct out *o, int area, const char *dir, const char *rel) {
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT ? 0 : wfs_fs_err(dir, errno);
  char path[PATH_MAX], sub[PATH_MAX];
  int rc = 0;
  struct dirent *e;
  while (rc == 0 && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
        (!rel[0] && strcmp(e->d_name, WFI_RUN_MARK) == 0))
      continue;
    struct stat st;
    if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path ||
        snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name) >=
            (int)sizeof sub)
      rc = WF_EINVAL;
    else if (lstat(path, &st) != 0)
      rc = wfs_fs_err(path, errno);
    else if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
      rc = put_file(o, area, path, sub, &st);
    if (rc == 0 && S_ISDIR(st.st_mode)) rc = put_tree(o, area, path, sub);
  }
  closedir(d);
  return rc;
}

static int put_end(struct out *o) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 3);
  msgpack_pack_uint64(&pk, o->steps);
  msgpack_pack_uint64(&pk, o->events);
  msgpack_pack_uint64(&pk, o->files);
  int rc = section(o, WFX_END, sb.data, sb.size, NULL, 0);
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

/* The records, from one read snapshot. */
static int put_records(wf_store *st, const char *run_id, struct out *o, wfs_run *r) {
  wfs_txn t;
  uint8_t *enc = NULL, head[WFX_MAGIC_LEN + 4];
  size_t n;
  int rc = wfs_read_begin(st->env, &t);
  if (rc) return rc;
  rc = wfs_run_get(&t, run_id, r);
  if (rc == 0 && (r->status == WFS_RUN_RUNNING || r->status == WFS_RUN_PENDING) &&
      wfi_run_owner_alive(wfs_home(st->env), r))
    rc = WF_EBUSY;
  if (rc == 0) rc = wfs_run_encode(r, &enc, &n);
  memcpy(head, WFX_MAGIC, WFX_MAGIC_LEN);
  be32(head + WFX_MAGIC_LEN, WFX_VERSION);
  if (rc == 0) rc = emit(o, head, sizeof head);
  if (rc == 0) rc = section(o, WFX_RUN, enc, n, NULL, 0);
  free(enc);
  o->t = &t;
  if (rc == 0) rc = wfs_steps_scan(&t, run_id, "", put_step, o);
  if (rc == 0) rc = wfs_events_scan(&t, run_id, 0, put_event, o);
  wfs_read_end(&t);
  return rc;
}

int wf_run_export(wf_store *st, const char *run_id, wf_write_fn write, void *ud) {
  if (wfi_store_check(st) || !write) return WF_EINVAL;
  int rc = wfs_check_run_id(run_id);
  if (rc) return rc;
  struct out o = {write, ud, 0, 0, 0, NULL, run_id};
  wfs_run r = {0};
  char dir[PATH_MAX];
  const char *home = wfs_home(st->env);
  rc = put_records(st, run_id, &o, &r);
  if (rc == 0) {
    if (r.run_dir) snprintf(dir, sizeof dir, "%s", r.run_dir);
    else snprintf(dir, sizeof dir, "%s/runs/%s", home, run_id);
    rc = put_tree(&o, WFX_AREA_RUN_DIR, dir, "");
  }
  if (rc == 0) {
    snprintf(dir, sizeof dir, "%s/logs/%s", home, run_id);
    rc = put_tree(&o, WFX_AREA_LOGS, dir, "");
  }
  if (rc == 0) rc = put_end(&o);
  wfs_run_clear(&r);
  return rc;
}
