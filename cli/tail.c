/* tail.c — the last lines a failed step wrote to stderr, as start's progress and show-run
 * print them under its failure: a few lines, trimmed, safe to send to a terminal. */
#include <string.h>

#include "cli.h"

#define TAIL_LINES 5      /* lines shown at most */
#define TAIL_LINE_BYTES 160 /* of one line, after escaping */
#define TAIL_BYTES 480    /* of all of them */

/* Length of the UTF-8 character at s (at most n bytes), or 0 when s holds no valid one
 * or a C1 control character (U+0080..U+009F, which some terminals obey as escapes). */
static size_t utf8_len(const unsigned char *s, size_t n) {
  size_t len = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
  if (!len || s[0] > 0xF4 || len > n) return 0;
  for (size_t i = 1; i < len; i++)
    if ((s[i] & 0xC0) != 0x80) return 0;
  if (len == 2 && s[0] == 0xC2 && s[1] < 0xA0) return 0;               /* C1 */
  if (len == 3 && s[0] == 0xE0 && s[1] < 0xA0) return 0;               /* overlong */
  if (len == 3 && s[0] == 0xED && s[1] >= 0xA0) return 0;              /* surrogate */
  if (len == 4 && s[0] == 0xF0 && s[1] < 0x90) return 0;               /* overlong */
  if (len == 4 && s[0] == 0xF4 && s[1] >= 0x90) return 0;              /* > U+10FFFF */
  return len;
}

/* Line [s, s+n) as shown: what a terminal would leave of it (the text after its last
 * carriage return), tabs as spaces, control characters and bytes that are not UTF-8 as
 * \xNN, trailing blanks dropped, cut with "…" at TAIL_LINE_BYTES. Returns its length. */
static size_t show_line(const char *s, size_t n, char *out) {
  while (n > 0 && s[n - 1] == '\r') n--;
  for (size_t i = n; i > 0; i--)
    if (s[i - 1] == '\r') {
      s += i;
      n -= i;
      break;
    }
  const unsigned char *p = (const unsigned char *)s;
  size_t len = 0, max = TAIL_LINE_BYTES - 3;
  for (size_t i = 0; i < n;) {
    size_t k = p[i] >= 0x80 ? utf8_len(p + i, n - i) : 1;
    char piece[8];
    size_t m;
    if (p[i] == '\t') m = (size_t)snprintf(piece, sizeof piece, "  ");
    else if (p[i] == '\r' || p[i] < 0x20 || p[i] == 0x7F || k == 0)
      m = (size_t)snprintf(piece, sizeof piece, "\\x%02x", p[i]), k = 1;
    else memcpy(piece, p + i, k), m = k;
    if (len + m > max) {
      memcpy(out + len, "…", 3);
      return len + 3;
    }
    memcpy(out + len, piece, m);
    len += m;
    i += k;
  }
  while (len > 0 && out[len - 1] == ' ') len--;
  return len;
}

int cli_print_stderr_tail(FILE *out, const char *tail, const char *indent, const char *on,
                          const char *off) {
  if (!tail) return 0;
  /* The last TAIL_LINES lines that are not blank, within TAIL_BYTES, collected from the
   * end and printed in their order. */
  char lines[TAIL_LINES][TAIL_LINE_BYTES];
  size_t lens[TAIL_LINES], n = 0, bytes = 0;
  const char *end = tail + strlen(tail);
  while (end > tail && n < TAIL_LINES) {
    const char *b = end;
    while (b > tail && b[-1] != '\n') b--;
    size_t len = show_line(b, (size_t)(end - b), lines[n]);
    end = b > tail ? b - 1 : b;
    if (len == 0) continue;
    if (bytes + len > TAIL_BYTES && n > 0) break;
    lens[n++] = len;
    bytes += len;
  }
  for (size_t i = n; i-- > 0;)
    fprintf(out, "%s%s%.*s%s\n", indent, on, (int)lens[i], lines[i], off);
  return (int)n;
}
