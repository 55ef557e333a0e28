/* errors.c — one table maps every WF_E* code to its message. */
#include "wf/wf.h"

const char *wf_strerror(int err) {
  switch (err) {
  case 0:
    return "success";
#define WF_X_CASE(name, value, msg) \
  case name:                        \
    return msg;
    WF_ERRORS(WF_X_CASE)
#undef WF_X_CASE
  default:
    return "unknown error";
  }
}
