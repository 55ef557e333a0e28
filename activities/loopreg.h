/* loopreg.h — per-loop state of an activity kind, found by the libuv loop it serves.
 * exec keeps one per loop running its children (the SIGCHLD watcher), http one per loop
 * with requests in flight (the curl multi handle). An embedding program may run loops
 * on several threads, so the list is guarded by a mutex; a state itself is used only on
 * its loop's thread, which is also the only one that adds or removes it.
 */
#ifndef WF_LOOPREG_H
#define WF_LOOPREG_H

#include <pthread.h>
#include <uv.h>

/* The first member of the kind's per-loop state, so that an entry is its state. */
typedef struct wfa_loop_entry {
  uv_loop_t *loop;
  struct wfa_loop_entry *next;
} wfa_loop_entry;

typedef struct wfa_loop_registry {
  pthread_mutex_t mu;
  wfa_loop_entry *head;
} wfa_loop_registry;

#define WFA_LOOP_REGISTRY_INIT {PTHREAD_MUTEX_INITIALIZER, NULL}

/* The entry registered for loop, or NULL. */
wfa_loop_entry *wfa_loop_find(wfa_loop_registry *r, const uv_loop_t *loop);
/* Register e, owned by the caller, as the state of loop. */
void wfa_loop_add(wfa_loop_registry *r, wfa_loop_entry *e, uv_loop_t *loop);
/* Unregister e; nothing when it is not registered. The caller still owns it. */
void wfa_loop_remove(wfa_loop_registry *r, wfa_loop_entry *e);

#endif
