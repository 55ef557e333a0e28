/* tf_activities.h — the toggl-fibery integration as the table of built-ins sees it
 * (activities/builtin.c): its activities, by the names a stage's "uses" gives. This is
 * the one header of the folder that code outside it includes.
 */
#ifndef WF_TF_ACTIVITIES_H
#define WF_TF_ACTIVITIES_H

#include "wfengine.h"

/* The integration's activities, NULL-terminated, in the order `wf describe` lists them:
 * toggl.users, toggl.fetch_day, fibery.schema, fibery.enrich, tf.aggregate, tf.extract,
 * tf.report_toggl, tf.report_people, tf.report_team. Static; never freed. */
const wfi_activity *const *wfa_tf_activities(void);

#endif
