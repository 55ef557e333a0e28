/* owner.c — who owns a run: this process's identity, and whether a recorded owner is
 * provably gone. A pid alone is not enough (pids are reused), so the process start
 * time and the boot id are recorded with it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "wfengine.h"

#define WFI_LEASE_MS 30000 /* owners on other hosts: heartbeat older than this is gone */

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

int wfi_owner_alive(const wfs_owner *o, int64_t heartbeat_ms) {
  if (o->pid <= 0) return 0;
  wfs_owner me;
  wfi_owner_self(&me);
  int same_machine = strcmp(o->host, me.host) == 0 && o->boot_id[0] &&
                     strcmp(o->boot_id, me.boot_id) == 0;
  if (!same_machine) return wfs_now_ms() - heartbeat_ms < WFI_LEASE_MS;
  if (kill((pid_t)o->pid, 0) != 0 && errno == ESRCH) return 0;
  uint64_t st = proc_start_time((pid_t)o->pid);
  if (st == 0) return 0; /* vanished between the two checks */
  return st == o->start_time;
}

int wfi_run_effective_status(const wfs_run *r) {
  if ((r->status == WFS_RUN_RUNNING || r->status == WFS_RUN_PENDING) &&
      !wfi_owner_alive(&r->owner, r->heartbeat))
    return WFS_RUN_INTERRUPTED;
  return r->status;
}
