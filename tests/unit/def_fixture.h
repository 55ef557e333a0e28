/* def_fixture.h — what the tests of loading definitions share: where the test
 * definitions are, JSON written with ' for ", and a definition that must be refused with
 * a message holding given parts. Included by one test file each, after <cmocka.h>. */
#ifndef WF_DEF_FIXTURE_H
#define WF_DEF_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "wfw_int.h"

#define DEFS WF_TEST_DATA "/defs"

#define ONE_STAGE "'stages':[{'id':'a','run':['true']}]"

/* JSON written with ' for " to keep the cases readable. */
static char *q(const char *s) {
  char *r = strdup(s);
  for (char *p = r; *p; p++)
    if (*p == '\'') *p = '"';
  return r;
}

static void expect_invalid(const char *json, const char *n1, const char *n2, const char *n3) {
  char *text = q(json);
  wfw_def *d = (wfw_def *)1;
  wfw_err err;
  int rc = wfw_parse(text, strlen(text), "t.json", &d, &err);
  if (rc != WF_EINVAL) fail_msg("expected WF_EINVAL for %s, got %d", text, rc);
  assert_null(d);
  const char *needles[] = {"t.json: ", n1, n2, n3};
  for (int i = 0; i < 4; i++)
    if (needles[i] && !strstr(err.msg, needles[i]))
      fail_msg("message for %s\n  is: %s\n  lacks: %s", text, err.msg, needles[i]);
  free(text);
}

#endif
