/* tf_sample.h — sample-data mode of the Toggl and Fibery activities: when a step's
 * with.sample_dir names a directory, the API responses are read from files there (the
 * same bytes the API would answer) instead of over HTTP, and no token is needed.
 *
 *   toggl.users      <dir>/toggl/users.json
 *   toggl.fetch_day  <dir>/toggl/time_entries/<date>.json (page 1), then
 *                    <date>.page2.json, <date>.page3.json, ... while they exist;
 *                    no <date>.json: no entries that day
 *   fibery.schema    <dir>/fibery/schema.json, the fibery.schema/query answer; no file:
 *                    nothing is checked
 *   fibery.enrich    <dir>/fibery/<type with '/' as "__">.json, one commands answer
 *                    [{"success": true, "result": [rows...]}] holding every sample
 *                    entity of the type; requested ids without a row are not_found
 */
#ifndef WF_TF_SAMPLE_H
#define WF_TF_SAMPLE_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* with.sample_dir when it is a non-empty string, else NULL (the HTTP path). */
const char *tf_sample_dir(const cJSON *with);

/* Read <dir>/<rel> whole into a malloc'd NUL-terminated buffer. WF_ENOTFOUND when the
 * file does not exist, WF_EINVAL (path too long or not a regular file), WF_EIO,
 * WF_ENOMEM. */
int tf_sample_read(const char *dir, const char *rel, char **buf, size_t *len);

/* The relative path of page `page` (1-based) of a Toggl day. WF_EINVAL when too long. */
int tf_sample_toggl_page(const char *date, unsigned page, char *rel, size_t cap);

/* The relative path of the Fibery answer for `type`. WF_EINVAL when too long. */
int tf_sample_fibery_rel(const char *type, char *rel, size_t cap);

#endif
