/* loopreg.c — the registry of per-loop activity state (loopreg.h). */
#include <stddef.h>

#include "loopreg.h"

wfa_loop_entry *wfa_loop_find(wfa_loop_registry *r, const uv_loop_t *loop) {
  wfa_loop_entry *e;

  pthread_mutex_lock(&r->mu);
  for (e = r->head; e && e->loop != loop; e = e->next)
    ;
  pthread_mutex_unlock(&r->mu);
  return e;
}

void wfa_loop_add(wfa_loop_registry *r, wfa_loop_entry *e, uv_loop_t *loop) {
  e->loop = loop;
  pthread_mutex_lock(&r->mu);
  e->next = r->head;
  r->head = e;
  pthread_mutex_unlock(&r->mu);
}

void wfa_loop_remove(wfa_loop_registry *r, wfa_loop_entry *e) {
  wfa_loop_entry **pp;

  pthread_mutex_lock(&r->mu);
  for (pp = &r->head; *pp; pp = &(*pp)->next)
    if (*pp == e) {
      *pp = e->next;
      break;
    }
  pthread_mutex_unlock(&r->mu);
}
