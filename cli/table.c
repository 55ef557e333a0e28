/* table.c — table cells measured in terminal columns, not bytes: `São Paulo` takes nine,
 * `東京` four. Text too wide for its column is cut on a character boundary and ends with
 * `…`; only tables do that, never -o json or ids. And the colours of status words. */
#include <string.h>

#include "cli.h"

/* The code point at s (n bytes left) and its length; an invalid byte counts as one
 * character of its own (U+FFFD, one column). */
static uint32_t next_cp(const unsigned char *s, size_t n, size_t *len) {
  unsigned c = s[0];
  size_t want = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (want == 0 || want > n) return *len = 1, 0xFFFD;
  uint32_t cp = want == 1 ? c : c & (0x7F >> want);
  for (size_t i = 1; i < want; i++) {
    if ((s[i] & 0xC0) != 0x80) return *len = 1, 0xFFFD;
    cp = cp << 6 | (s[i] & 0x3F);
  }
  *len = want;
  return cp;
}

/* Columns a code point takes: 0 for combining marks, joiners and variation selectors,
 * 2 for East Asian wide and fullwidth characters (and emoji), else 1. Control characters
 * count 1: wf shows them escaped or not at all in tables, never raw. */
static int cp_width(uint32_t c) {
  static const uint32_t zero[][2] = {
      {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x0610, 0x061A},
      {0x064B, 0x065F}, {0x0E31, 0x0E31}, {0x0E34, 0x0E3A}, {0x1AB0, 0x1AFF},
      {0x1DC0, 0x1DFF}, {0x200B, 0x200F}, {0x20D0, 0x20FF}, {0xFE00, 0xFE0F},
      {0xFE20, 0xFE2F}, {0xE0100, 0xE01EF}};
  static const uint32_t wide[][2] = {
      {0x1100, 0x115F}, {0x231A, 0x231B}, {0x2329, 0x232A}, {0x23E9, 0x23EC},
      {0x25FD, 0x25FE}, {0x2614, 0x2615}, {0x2648, 0x2653}, {0x26AA, 0x26AB},
      {0x26BD, 0x26BE}, {0x26C4, 0x26C5}, {0x2705, 0x2705}, {0x270A, 0x270B},
      {0x274C, 0x274C}, {0x2753, 0x2755}, {0x2795, 0x2797}, {0x2B1B, 0x2B1C},
      {0x2E80, 0x303E}, {0x3041, 0x33FF}, {0x3400, 0x4DBF}, {0x4E00, 0x9FFF},
      {0xA000, 0xA4CF}, {0xA960, 0xA97F}, {0xAC00, 0xD7A3}, {0xF900, 0xFAFF},
      {0xFE10, 0xFE19}, {0xFE30, 0xFE6F}, {0xFF00, 0xFF60}, {0xFFE0, 0xFFE6},
      {0x1F300, 0x1F64F}, {0x1F680, 0x1F6FF}, {0x1F900, 0x1F9FF}, {0x20000, 0x3FFFD}};
  for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++)
    if (c >= zero[i][0] && c <= zero[i][1]) return 0;
  for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++)
    if (c >= wide[i][0] && c <= wide[i][1]) return 2;
  return 1;
}

size_t cli_width(const char *s) {
  size_t w = 0, n = strlen(s), len;
  for (size_t i = 0; i < n; i += len) w += (size_t)cp_width(next_cp((const unsigned char *)s + i, n - i, &len));
  return w;
}

void cli_cell(FILE *out, const char *s, size_t width, size_t max, const char *on,
              const char *off) {
  if (!s) s = "";
  size_t n = strlen(s), w = cli_width(s), shown = n, cols = w, len;
  if (max && w > max) {
    /* Keep what fits in max - 1 columns, then the ellipsis. */
    shown = cols = 0;
    for (size_t i = 0; i < n; i += len) {
      int cw = cp_width(next_cp((const unsigned char *)s + i, n - i, &len));
      if (cols + (size_t)cw > max - 1) break;
      cols += (size_t)cw;
      shown = i + len;
    }
  }
  fprintf(out, "%s%.*s%s%s", on ? on : "", (int)shown, s, shown < n ? "…" : "", off ? off : "");
  if (shown < n) cols++;
  for (; cols < width; cols++) fputc(' ', out);
}

const char *cli_status_color(const cli_ctx *cli, const char *word) {
  if (!cli->color || !word) return "";
  if (strcmp(word, "succeeded") == 0) return "\033[32m";
  if (strcmp(word, "failed") == 0 || strcmp(word, "unreadable") == 0) return "\033[31m";
  if (strcmp(word, "degraded") == 0 || strcmp(word, "upstream_failed") == 0 ||
      strcmp(word, "interrupted") == 0)
    return "\033[33m";
  if (strcmp(word, "running") == 0) return "\033[36m";
  if (strcmp(word, "canceled") == 0 || strcmp(word, "skipped") == 0 ||
      strcmp(word, "pending") == 0)
    return "\033[2m";
  return "";
}

const char *cli_color_off(const cli_ctx *cli, const char *on) {
  return cli->color && on && on[0] ? "\033[0m" : "";
}

int cli_check_format(const cli_ctx *cli, const char *cmd, unsigned takes) {
  static const char *const names[] = {"table", "table", "json", "ids"};
  if (cli->format == FMT_DEFAULT || (takes & 1u << cli->format)) return 0;
  char list[40] = "";
  for (int f = FMT_TABLE; f <= FMT_IDS; f++)
    if (takes & 1u << f)
      snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", list[0] ? " or " : "",
               names[f]);
  return cli_fail(EXIT_USAGE, "%s prints %s, not %s (-o ids lists the ids of list-runs and "
                              "list, and the run id of start and resume)",
                  cmd, takes == CLI_TAKES(FMT_TABLE) ? "text" : list, names[cli->format]);
}
