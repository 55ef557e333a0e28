/* tf_activities.c — the toggl-fibery integration's table of activities (tf_activities.h). */
#include <stddef.h>

#include "tf_activities.h"
#include "tf_builtins.h"
#include "tf_fibery.h"
#include "tf_toggl.h"

static const wfi_activity *const activities[] = {
    &wfa_toggl_users,     &wfa_toggl_fetch_day,  &wfa_fibery_schema,
    &wfa_fibery_enrich,   &wfa_tf_aggregate,     &wfa_tf_extract,
    &wfa_tf_report_toggl, &wfa_tf_report_people, &wfa_tf_report_team,
    NULL};

const wfi_activity *const *wfa_tf_activities(void) { return activities; }
