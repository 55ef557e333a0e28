/* import.c — a run recreated from an export file (wf import; docs/export-format.md).
 * The file is read three times: checked whole (every length, crc and record; the end
 * section last), its files staged beside where they go, and its records written in one
 * transaction that also moves the staged files into place. A bad file writes nothing. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "api_int.h"
#include "runfiles.h"
#include "wfmp.h"
#include "wfx.h"

enum pass { CHECK, FILES, RECORDS };

struct in {
  FILE *f;
  const char *path;
  uint64_t size, at;       /* the file's size; where the section being read begins */
  enum pass pass;
  const char *id;          /* the run's id in this store */
  char orig_id[WFS_MAX_ID + 1];
  uint64_t steps, events, files;
  wfi_staging *stg;
  wfs_txn *t;
  const char *run_dir;     /* the taken folder, or NULL */
  char *why;               /* what is wrong with the file */
  size_t whycap;
};

#define BAD(in, ...) (snprintf((in)->why, (in)->whycap, __VA_ARGS__), WF_ECORRUPT)

static uint64_t rd64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | p[i];
  return v;
}

static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int read_exact(struct in *in, void *p, size_t n) {
  if (n && fread(p, 1, n, in->f) != n)
    return ferror(in->f) ? wfs_fs_err(in->path, errno ? errno : EIO)
                         : BAD(in, "it ends inside the section at byte %llu: the file is "
                                   "truncated", (unsigned long long)in->at);
  return 0;
}

/* ---- records ---------------------------------------------------------------------------- */

static int on_run(struct in *in, const uint8_t *p, size_t n) {
  wfs_run r;
  int rc = wfs_run_decode(p, n, &r);
  if (rc) return BAD(in, "its run record at byte %llu cannot be decoded",
                     (unsigned long long)in->at);
  if (in->pass == CHECK) {
    snprintf(in->orig_id, sizeof in->orig_id, "%s", r.id);
  } else if (in->pass == RECORDS) {
    /* The run as it was, here: no owner (it reads as interrupted when it was running),
     * its folder where this store puts it. */
    free(r.id);
    free(r.run_dir);
    r.run_dir = NULL;
    r.id = wfs_strdup(in->id);
    if (in->run_dir) r.run_dir = wfs_strdup(in->run_dir);
    memset(&r.owner, 0, sizeof r.owner);
    r.heartbeat = 0;
    r.cancel_requested = 0;
    if (!r.id || (in->run_dir && !r.run_dir)) rc = WF_ENOMEM;
    if (rc == 0) rc = wfs_run_put(in->t, &r, NULL);
  }
  wfs_run_clear(&r);
  return rc;
}

static int on_step(struct in *in, const uint8_t *p, size_t n) {
  if (n < 2 || (size_t)(p[0] << 8 | p[1]) > n - 2)
    return BAD(in, "its step at byte %llu is cut short", (unsigned long long)in->at);
  size_t klen = (size_t)(p[0] << 8 | p[1]);
  wfs_step s;
  int rc = wfs_step_decode(p + 2 + klen, n - 2 - klen, &s);
  if (rc || klen != strlen(s.key) || memcmp(s.key, p + 2, klen) != 0 ||
      wfs_check_step_key(s.key) != 0) {
    wfs_step_clear(&s);
    return BAD(in, "its step record at byte %llu cannot be decoded",
               (unsigned long long)in->at);
  }
  if (in->pass == RECORDS) rc = wfs_step_put(in->t, in->id, &s);
  wfs_step_clear(&s);
  in->steps++;
  return rc;
}

static int on_event(struct in *in, const uint8_t *p, size_t n) {
  wfs_event e;
  int rc = wfs_event_decode(p, n, &e);
  if (rc || strcmp(e.run_id, in->orig_id) != 0) {
    wfs_event_clear(&e);
    return BAD(in, "its event record at byte %llu cannot be decoded or is another run's",
               (unsigned long long)in->at);
  }
  if (in->pass == RECORDS) {
    e.run_id = in->id;
    rc = wfs_event_put(in->t, &e);
  }
  wfs_event_clear(&e);
  in->events++;
  return rc;
}

/* ---- files ------------------------------------------------------------------------------ */

/* A relative path with no empty, "." or ".." part. */
static int safe_rel(const char *p) {
  if (!p[0] || p[0] == '/') return 0;
  for (const char *s = p; *s;) {
    const char *e = strchr(s, '/');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return 0;
    s += n + (e ? 1 : 0);
    if (e && !*s) return 0;
  }
  return 1;
}

struct fhead {
  uint64_t area, kind, mode;
  const char *rel;
  size_t rel_n;
  const char *target;
  size_t target_n;
};

static int file_head(const uint8_t *p, size_t n, struct fhead *h) {
  wfm_reader r;
  uint32_t cnt;
  wfm_reader_init(&r, p, n);
  if (wfm_read_array(&r, &cnt) || cnt != 5 || wfm_read_uint(&r, &h->area) ||
      wfm_read_str_view(&r, &h->rel, &h->rel_n) || wfm_read_uint(&r, &h->kind) ||
      wfm_read_uint(&r, &h->mode) || wfm_read_str_view(&r, &h->target, &h->target_n) ||
      r.p != r.end)
    return WF_ECORRUPT;
  if (h->area > WFX_AREA_LOGS || h->kind > WFX_KIND_LINK || h->mode > 07777 || !h->rel ||
      h->rel_n >= PATH_MAX || memchr(h->rel, 0, h->rel_n) ||
      (h->kind == WFX_KIND_LINK) != (h->target != NULL) ||
      (h->target && (h->target_n >= PATH_MAX || memchr(h->target, 0, h->target_n))))
    return WF_ECORRUPT;
  return 0;
}

/* A file section: its head checked; in the FILES pass written under staging. The content
 * is streamed (crc kept in *crc). */
static int on_file(struct in *in, uint64_t len, uLong *crc) {
  uint8_t hl[4], head[WFX_MAX_FILE_HEADER];
  struct fhead h;
  char rel[PATH_MAX], target[PATH_MAX], path[2 * PATH_MAX];
  int rc = len < 4 ? BAD(in, "its file at byte %llu is cut short", (unsigned long long)in->at)
                   : read_exact(in, hl, 4);
  if (rc) return rc;
  *crc = crc32(*crc, hl, 4);
  uint32_t n = rd32(hl);
  if (n > sizeof head || n > len - 4)
    return BAD(in, "its file at byte %llu has a bad header length", (unsigned long long)in->at);
  if ((rc = read_exact(in, head, n)) != 0) return rc;
  *crc = crc32(*crc, head, n);
  if (file_head(head, n, &h) != 0)
    return BAD(in, "its file at byte %llu has a bad header", (unsigned long long)in->at);
  memcpy(rel, h.rel, h.rel_n);
  rel[h.rel_n] = '\0';
  if (!safe_rel(rel))
    return BAD(in, "its file at byte %llu has an unsafe path \"%s\"", (unsigned long long)in->at,
               rel);
  uint64_t size = len - 4 - n;
  if (h.kind != WFX_KIND_FILE && size)
    return BAD(in, "its folder or link at byte %llu has content", (unsigned long long)in->at);
  FILE *out = NULL;
  if (in->pass == FILES) {
    snprintf(path, sizeof path, "%s/%s", h.area == WFX_AREA_LOGS ? in->stg->logs : in->stg->dir,
             rel);
    if (h.kind == WFX_KIND_DIR) {
      if (mkdir(path, 0700) != 0) return wfs_fs_err(path, errno);
    } else if (h.kind == WFX_KIND_LINK) {
      memcpy(target, h.target, h.target_n);
      target[h.target_n] = '\0';
      if (symlink(target, path) != 0) return wfs_fs_err(path, errno);
    } else if (!(out = fopen(path, "wx"))) {
      return wfs_fs_err(path, errno);
    }
  }
  char buf[65536];
  while (rc == 0 && size > 0) {
    size_t k = size < sizeof buf ? (size_t)size : sizeof buf;
    if ((rc = read_exact(in, buf, k)) != 0) break;
    *crc = crc32(*crc, (const Bytef *)buf, (uInt)k);
    if (out && fwrite(buf, 1, k, out) != k) rc = wfs_fs_err(path, errno);
    size -= k;
  }
  if (out) {
    if (rc == 0 && (fflush(out) != 0 || fsync(fileno(out)) != 0)) rc = wfs_fs_err(path, errno);
    if (fclose(out) != 0 && rc == 0) rc = wfs_fs_err(path, errno);
  }
  /* Folders get their mode once filled (a read-only one could not be). */
  if (rc == 0 && in->pass == FILES && h.kind != WFX_KIND_LINK &&
      chmod(path, (mode_t)(h.kind == WFX_KIND_DIR ? h.mode | 0700 : h.mode)) != 0)
    rc = wfs_fs_err(path, errno);
  in->files++;
  return rc;
}

/* ---- sections --------------------------------------------------------------------------- */

static int on_end(struct in *in, const uint8_t *p, size_t n) {
  wfm_reader r;
  uint32_t cnt;
  uint64_t s, e, f;
  wfm_reader_init(&r, p, n);
  if (wfm_read_array(&r, &cnt) || cnt != 3 || wfm_read_uint(&r, &s) || wfm_read_uint(&r, &e) ||
      wfm_read_uint(&r, &f) || r.p != r.end)
    return BAD(in, "its end section cannot be decoded");
  if (s != in->steps || e != in->events || f != in->files)
    return BAD(in, "it holds %llu steps, %llu events and %llu files where its end says %llu, "
                   "%llu and %llu: sections are missing",
               (unsigned long long)in->steps, (unsigned long long)in->events,
               (unsigned long long)in->files, (unsigned long long)s, (unsigned long long)e,
               (unsigned long long)f);
  return 0;
}

/* One whole pass over the file. */
static int pass(struct in *in, enum pass which) {
  uint8_t head[WFX_MAGIC_LEN + 4], sh[WFX_HEAD_LEN], c[4];
  in->pass = which;
  in->steps = in->events = in->files = 0;
  in->at = 0;
  if (fseek(in->f, 0, SEEK_SET) != 0) return wfs_fs_err(in->path, errno);
  if (fread(head, 1, sizeof head, in->f) != sizeof head ||
      memcmp(head, WFX_MAGIC, WFX_MAGIC_LEN) != 0)
    return BAD(in, "it is not a wf export file (it does not begin with wf's export magic)");
  if (rd32(head + WFX_MAGIC_LEN) != WFX_VERSION)
    return BAD(in, "it is an export file of version %u; this wf reads version %u",
               rd32(head + WFX_MAGIC_LEN), WFX_VERSION);
  in->at = sizeof head;
  int seen_run = 0, rc = 0;
  for (;;) {
    size_t got = fread(sh, 1, sizeof sh, in->f);
    if (got != sizeof sh)
      return ferror(in->f) ? wfs_fs_err(in->path, errno ? errno : EIO)
                           : BAD(in, "it ends at byte %llu without its end section: the file "
                                     "is truncated",
                                 (unsigned long long)(in->at + got));
    uint64_t len = rd64(sh + 1);
    int type = sh[0];
    if (len > in->size - in->at || in->size - in->at - len < WFX_HEAD_LEN + 4)
      return BAD(in, "its section at byte %llu is longer than the rest of the file: the file "
                     "is truncated or damaged",
                 (unsigned long long)in->at);
    uLong crc = crc32(crc32(0L, Z_NULL, 0), sh, WFX_HEAD_LEN);
    if (!seen_run && type != WFX_RUN)
      return BAD(in, "it does not begin with a run record");
    if (type == WFX_FILE) {
      rc = on_file(in, len, &crc);
    } else if (type == WFX_RUN || type == WFX_STEP || type == WFX_EVENT || type == WFX_END) {
      if (len > WFX_MAX_RECORD || (type == WFX_RUN && seen_run))
        return BAD(in, "its section at byte %llu is not one wf writes",
                   (unsigned long long)in->at);
      uint8_t *p = malloc(len ? (size_t)len : 1);
      if (!p) return WF_ENOMEM;
      rc = read_exact(in, p, (size_t)len);
      if (rc == 0) crc = crc32(crc, p, (uInt)len);
      if (rc == 0 && read_exact(in, c, 4) == 0 && rd32(c) != (uint32_t)crc)
        rc = BAD(in, "its section at byte %llu fails its checksum: the file is damaged",
                 (unsigned long long)in->at);
      else if (rc == 0 && type == WFX_RUN) rc = on_run(in, p, (size_t)len), seen_run = 1;
      else if (rc == 0 && type == WFX_STEP) rc = on_step(in, p, (size_t)len);
      else if (rc == 0 && type == WFX_EVENT) rc = on_event(in, p, (size_t)len);
      else if (rc == 0) rc = on_end(in, p, (size_t)len);
      free(p);
      if (rc) return rc;
      in->at += WFX_HEAD_LEN + len + 4;
      if (type == WFX_END) break;
      continue;
    } else {
      return BAD(in, "its section at byte %llu has an unknown type", (unsigned long long)in->at);
    }
    if (rc == 0) rc = read_exact(in, c, 4);
    if (rc == 0 && rd32(c) != (uint32_t)crc)
      rc = BAD(in, "its section at byte %llu fails its checksum: the file is damaged",
               (unsigned long long)in->at);
    if (rc) return rc;
    in->at += WFX_HEAD_LEN + len + 4;
  }
  if (in->at != in->size) return BAD(in, "it goes on after its end section");
  return 0;
}

struct import_ctx {
  struct in *in;
  const wf_import_opts *o;
  char run_dir[PATH_MAX];
};

static int import_txn(wfs_txn *t, void *ud) {
  struct import_ctx *c = ud;
  wfs_run_head h;
  int rc = wfs_run_peek(t, c->in->id, &h);
  if (rc != WF_ENOTFOUND) return rc ? rc : WF_EEXIST;
  if (c->o->run_dir &&
      (rc = wfi_run_dir_take(t, c->in->id, c->o->run_dir, c->run_dir, sizeof c->run_dir)) != 0)
    return rc;
  c->in->t = t;
  c->in->run_dir = c->o->run_dir ? c->run_dir : NULL;
  if ((rc = pass(c->in, RECORDS)) != 0) return rc;
  return wfi_staging_commit(c->in->stg);
}

int wf_run_import_check(const char *path, char *id, size_t idcap, char *why, size_t whycap) {
  char scratch[8];
  if (!why) why = scratch, whycap = sizeof scratch;
  if (whycap) why[0] = '\0';
  if (!path) return WF_EINVAL;
  struct in in = {0};
  in.path = path;
  in.why = why;
  in.whycap = whycap;
  if (!(in.f = fopen(path, "rb"))) return wfs_fs_err(path, errno);
  struct stat sb;
  int rc = fstat(fileno(in.f), &sb) == 0 ? 0 : wfs_fs_err(path, errno);
  if (rc == 0 && !S_ISREG(sb.st_mode)) rc = BAD(&in, "it is not a regular file");
  in.size = (uint64_t)sb.st_size;
  if (rc == 0) rc = pass(&in, CHECK);
  if (rc == 0 && id && snprintf(id, idcap, "%s", in.orig_id) >= (int)idcap) rc = WF_EINVAL;
  fclose(in.f);
  return rc;
}

int wf_run_import(wf_store *st, const char *path, const wf_import_opts *o, char *id,
                  size_t idcap, char *why, size_t whycap) {
  static const wf_import_opts none = {0};
  char scratch[8];
  if (!why) why = scratch, whycap = sizeof scratch;
  if (whycap) why[0] = '\0';
  if (!o) o = &none;
  if (wfi_store_check(st) || !path || (o->as && wfs_check_run_id(o->as))) return WF_EINVAL;
  struct in in = {0};
  struct import_ctx c = {&in, o, ""};
  wfi_staging stg;
  memset(&stg, 0, sizeof stg);
  in.path = path;
  in.why = why;
  in.whycap = whycap;
  in.stg = &stg;
  if (!(in.f = fopen(path, "rb"))) return wfs_fs_err(path, errno);
  struct stat sb;
  int rc = fstat(fileno(in.f), &sb) == 0 ? 0 : wfs_fs_err(path, errno);
  if (rc == 0 && !S_ISREG(sb.st_mode)) rc = BAD(&in, "it is not a regular file");
  in.size = (uint64_t)sb.st_size;
  if (rc == 0) rc = pass(&in, CHECK);
  in.id = o->as ? o->as : in.orig_id;
  if (rc == 0 && id && snprintf(id, idcap, "%s", in.id) >= (int)idcap) rc = WF_EINVAL;
  wfs_txn t;
  wfs_run_head h;
  if (rc == 0 && (rc = wfs_read_begin(st->env, &t)) == 0) {
    rc = wfs_run_peek(&t, in.id, &h);
    rc = rc == WF_ENOTFOUND ? 0 : rc ? rc : WF_EEXIST;
    if (rc == 0 && o->run_dir)
      rc = wfi_run_dir_check(&t, in.id, o->run_dir, c.run_dir, sizeof c.run_dir, NULL, 0);
    wfs_read_end(&t);
  }
  if (rc == 0)
    rc = wfi_staging_open(wfs_home(st->env), o->run_dir ? c.run_dir : NULL, in.id, &stg);
  if (rc == 0) rc = pass(&in, FILES);
  if (rc == 0 && strcmp(in.id, in.orig_id) != 0) {
    /* The progress report names the run it is about: carry it over to the new id. */
    char report[PATH_MAX + 16];
    if (snprintf(report, sizeof report, "%s/.progress", stg.logs) < (int)sizeof report)
      rc = wfi_report_rename(report, in.id);
  }
  if (rc == 0) rc = wfs_write(st->env, import_txn, &c);
  if (rc) wfi_staging_rollback(&stg);
  wfi_staging_close(&stg);
  fclose(in.f);
  return rc;
}
