/* owner.c — who owns a run, and whether a recorded owner still does.
 *
 * Liveness comes from the kernel. An owner holds an open-file-description lock
 * (F_OFD_SETLK) on byte `epoch` of the run's lock file, $home/locks/<run id>, for as long
 * as it lives; the kernel drops it however the process ends, and every process on the
 * same kernel sees it, whatever PID namespace or container it is in (where the owner's
 * pid may mean nothing). Owners on another kernel (another boot id) cannot be seen through
 * a lock: for them the heartbeat lease decides. pid, start time and host are kept for
 * messages, and for records written before epochs existed.
 *
 * Each owner locks the byte of its own epoch, so an owner that was taken over from
 * (`wf resume --force`) and lives on neither keeps the run looking owned after the new
 * owner ends nor hides the new owner. Whatever liveness says, the epoch in the run record
 * fences: an owner's writes check it (commit.c). */
#define _GNU_SOURCE /* F_OFD_SETLK, F_OFD_GETLK */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "wfengine.h"

/* Start time (field 22 of /proc/<pid>/stat, clock ticks since boot); 0 if unknown. */
static uint64_t proc_start_time(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "re");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  /* The command name (field 2) may hold spaces and parentheses: skip to the last ')'. */
  char *p = strrchr(buf, ')');
  if (!p) return 0;
  p++;
  unsigned long long v = 0;
  for (int field = 3; field < 22 && *p; field++) { /* skip fields 3..21 */
    while (*p == ' ') p++;
    while (*p && *p != ' ') p++;
  }
  if (sscanf(p, " %llu", &v) != 1) return 0;
  return v;
}

static void read_boot_id(char *buf, size_t cap) {
  buf[0] = '\0';
  FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
  if (!f) return;
  if (fgets(buf, (int)cap, f)) buf[strcspn(buf, "\n")] = '\0';
  fclose(f);
}

void wfi_owner_self(wfs_owner *o) {
  static wfs_owner self;
  static int known;
  if (!known || self.pid != (int32_t)getpid()) {
    memset(&self, 0, sizeof self);
    self.pid = (int32_t)getpid();
    self.start_time = proc_start_time(getpid());
    if (gethostname(self.host, sizeof self.host - 1) != 0) strcpy(self.host, "?");
    read_boot_id(self.boot_id, sizeof self.boot_id);
    known = 1;
  }
  *o = self;
}

int wfi_owner_same_kernel(const wfs_owner *o) {
  wfs_owner me;
  wfi_owner_self(&me);
  return o->boot_id[0] && strcmp(o->boot_id, me.boot_id) == 0;
}

/* ---- the lock file ------------------------------------------------------------------ */

static int lock_path(const char *home, const char *run_id, char *buf, size_t cap) {
  int n = snprintf(buf, cap, "%s/locks/%s", home, run_id);
  return n < 0 || (size_t)n >= cap ? WF_EINVAL : 0;
}

static struct flock byte_at(short type, uint64_t epoch) {
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = (off_t)epoch;
  fl.l_len = 1;
  return fl;
}

int wfi_lease_open(const char *home, const char *run_id, wfi_lease *l) {
  char path[4096];
  l->fd = -1;
  l->epoch = 0;
  int rc = lock_path(home, run_id, path, sizeof path);
  if (rc) return rc;
  char *slash = strrchr(path, '/');
  *slash = '\0';
  if (mkdir(path, 0700) != 0 && errno != EEXIST) return wfs_fs_err(path, errno);
  *slash = '/';
  /* Close-on-exec: a step that inherited it would keep the lock after its owner died. */
  l->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  return l->fd < 0 ? wfs_fs_err(path, errno) : 0;
}

int wfi_lease_lock(wfi_lease *l, uint64_t epoch) {
  struct flock fl = byte_at(F_WRLCK, epoch);
  if (fcntl(l->fd, F_OFD_SETLK, &fl) == 0) {
    l->epoch = epoch;
    return 0;
  }
  if (errno == EAGAIN || errno == EACCES) return WF_EBUSY;
  return errno == ENOMEM || errno == ENOLCK ? WF_ENOMEM : WF_EIO;
}

void wfi_lease_release(wfi_lease *l) {
  if (!l) return;
  if (l->fd >= 0) close(l->fd); /* drops the lock */
  l->fd = -1;
  l->epoch = 0;
}

int wfi_lease_recheck(wfi_lease *l, const char *home, const char *run_id) {
  char path[4096];
  struct stat held, named;
  int rc = lock_path(home, run_id, path, sizeof path);
  if (rc) return rc;
  if (fstat(l->fd, &held) == 0 && stat(path, &named) == 0 && held.st_dev == named.st_dev &&
      held.st_ino == named.st_ino)
    return 0;
  uint64_t epoch = l->epoch;
  wfi_lease_release(l);
  return (rc = wfi_lease_open(home, run_id, l)) ? rc : wfi_lease_lock(l, epoch);
}

/* 1: a process holds byte `epoch` of the run's lock; 0: nobody does; -1: cannot tell (no
 * OFD locks on this file system). */
static int lock_held(const char *home, const char *run_id, uint64_t epoch) {
  char path[4096];
  if (lock_path(home, run_id, path, sizeof path)) return -1;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  struct flock fl = byte_at(F_WRLCK, epoch);
  int rc = fcntl(fd, F_OFD_GETLK, &fl);
  close(fd);
  if (rc != 0) return -1;
  return fl.l_type != F_UNLCK;
}

/* ---- liveness ----------------------------------------------------------------------- */

static int pid_alive(const wfs_owner *o) {
  if (kill((pid_t)o->pid, 0) != 0 && errno == ESRCH) return 0;
  uint64_t st = proc_start_time((pid_t)o->pid);
  return st != 0 && st == o->start_time; /* 0: vanished between the two checks */
}

int wfi_lease_fresh(int64_t heartbeat_ms) { return wfs_now_ms() - heartbeat_ms < WFI_LEASE_MS; }

int wfi_run_owner_alive(const char *home, const wfs_run *r) {
  if (r->owner.pid <= 0) return 0;
  if (!wfi_owner_same_kernel(&r->owner)) return wfi_lease_fresh(r->heartbeat);
  if (r->epoch == 0) return pid_alive(&r->owner); /* written before owner locks */
  int held = lock_held(home, r->id, r->epoch);
  return held >= 0 ? held : wfi_lease_fresh(r->heartbeat);
}

int wfi_run_effective_status(const char *home, const wfs_run *r) {
  if ((r->status == WFS_RUN_RUNNING || r->status == WFS_RUN_PENDING) &&
      !wfi_run_owner_alive(home, r))
    return WFS_RUN_INTERRUPTED;
  return r->status;
}

int wfi_owner_pid_visible(const wfs_owner *o) {
  return o->pid > 0 && wfi_owner_same_kernel(o) && pid_alive(o);
}

void wfi_owner_describe(const wfs_owner *o, int64_t heartbeat, int alive, wf_owner *out) {
  memset(out, 0, sizeof *out);
  out->pid = o->pid;
  snprintf(out->host, sizeof out->host, "%s", o->host);
  out->heartbeat = heartbeat;
  out->alive = alive;
  if (o->pid <= 0) return;
  out->same_machine = wfi_owner_same_kernel(o);
  out->pid_visible = wfi_owner_pid_visible(o);
}
