/* runfiles.h — a new run's files staged beside where they go and moved into place by the
 * transaction that records the run (fork.c, import.c); copying folders. */
#ifndef WF_RUNFILES_H
#define WF_RUNFILES_H

#include <limits.h>

#include "wfengine.h"

typedef struct wfi_staging {
  char dir[PATH_MAX];        /* staging for the run's folder */
  char dir_final[PATH_MAX];  /* the run's folder */
  char logs[PATH_MAX];       /* staging for its logs */
  char logs_final[PATH_MAX]; /* $home/logs/<run id> */
  int made;                  /* the staging folders exist */
  int moved;                 /* their entries are in the final folders */
} wfi_staging;

/* Make the staging folders of run `run_id` of store `home`, whose folder is `run_dir`
 * (absolute; NULL: $home/runs/<run id>). Errors: WF_EINVAL (paths too long), the
 * folders cannot be made: WF_EACCES, WF_EROFS, WF_ENOSPC, WF_EIO. */
int wfi_staging_open(const char *home, const char *run_dir, const char *run_id,
                     wfi_staging *s);
/* Inside the transaction recording the run: move the staged entries into the final
 * folders (made when missing). An entry there already is not overwritten: WF_EIO-class
 * error naming it (wfs_fs_err), and what was moved goes back. Idempotent. */
int wfi_staging_commit(wfi_staging *s);
/* After a transaction that did not commit: the moved entries go back to staging. */
void wfi_staging_rollback(wfi_staging *s);
/* Remove the staging folders and what is left in them. */
void wfi_staging_close(wfi_staging *s);

/* Copy regular file `from` to new file `to` (synced), or folder `from` into existing
 * folder `to` (a run's mark left out). Errors: as wfs_fs_err. */
int wfi_copy_file(const char *from, const char *to);
int wfi_copy_tree(const char *from, const char *to);
/* Remove a folder and everything in it, best effort. */
void wfi_remove_tree(const char *path);

#endif
