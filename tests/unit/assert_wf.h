/* assert_wf.h — cmocka assertions on the codes wf functions return, failing with what came
 * back by name and message ("wfs_open(dir, &env) is WF_EIO (input/output error ...),
 * expected 0 (success)") instead of two numbers ("0xfffffffffffffff2 != 0"). Include it
 * after <cmocka.h>.
 *
 *   assert_wf_ok(rc)            rc is 0
 *   assert_wf_err(rc, WF_EIO)   rc is that WF_E* code
 */
#ifndef WF_ASSERT_WF_H
#define WF_ASSERT_WF_H

#include <stdio.h>

#include "wf/wf.h"

/* "WF_EIO (input/output error ...)", "0 (success)", or the number of a code wf does not
 * define. Returns buf. From the table of wf.h, not wf_strerror, so that the tests of the
 * store, which do not link the engine, can use it. */
static inline const char *wft_rc_text(int rc, char *buf, size_t cap) {
  const char *name = NULL, *msg = NULL;
  switch (rc) {
  case 0: name = "0", msg = "success"; break;
#define WFT_RC_NAME(code, value, text) \
  case code: name = #code, msg = text; break;
    WF_ERRORS(WFT_RC_NAME)
#undef WFT_RC_NAME
  default: break;
  }
  if (name) snprintf(buf, cap, "%s (%s)", name, msg);
  else snprintf(buf, cap, "%d, not a wf code", rc);
  return buf;
}

static inline void wft_assert_rc(int rc, int want, const char *expr, const char *file,
                                 int line) {
  if (rc == want) return;
  char got[160], wanted[160];
  print_error("%s is %s, expected %s\n", expr, wft_rc_text(rc, got, sizeof got),
              wft_rc_text(want, wanted, sizeof wanted));
  _fail(file, line);
}

#define assert_wf_ok(rc) wft_assert_rc((int)(rc), 0, #rc, __FILE__, __LINE__)
#define assert_wf_err(rc, want) wft_assert_rc((int)(rc), (want), #rc, __FILE__, __LINE__)

#endif
