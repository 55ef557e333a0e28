/* fuzz_util.h — what the fuzz targets share: invariant checks that abort (so libFuzzer
 * keeps the input) and splitting an input into NUL-separated pieces.
 */
#ifndef WF_FUZZ_UTIL_H
#define WF_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant of the code under test: report it and abort so the input is kept. */
#define FZ_CHECK(cond)                                                                 \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      fprintf(fz_report, "fuzz invariant failed: %s (%s:%d)\n", #cond, __FILE__,      \
              __LINE__);                                                               \
      fflush(fz_report);                                                               \
      abort();                                                                         \
    }                                                                                  \
  } while (0)

/* Where FZ_CHECK reports: stderr unless a target silenced stderr (then a saved copy). */
static FILE *fz_report __attribute__((unused));

static inline void fz_init_report(void) {
  if (!fz_report) fz_report = stderr;
}

/* Silence what the code under test prints on stderr. The stream variable is pointed at
 * /dev/null rather than the descriptor redirected, so sanitizer reports (written to
 * descriptor 2) and libFuzzer's own output (its copy of the original FILE *) still show. */
static inline void fz_silence_stderr(void) {
  fz_report = stderr;
  FILE *null = fopen("/dev/null", "w");
  if (null) stderr = null;
}

/* Split data[size] at NUL bytes into at most max pieces, each a malloc'd NUL-terminated
 * copy with its length in lens[i] (lens may be NULL). The last piece takes the rest of
 * the input, NULs included (lens counts them; as a C string it ends at the first).
 * Returns the number of pieces; free them with fz_free_pieces. An empty input gives one
 * "" piece. */
static inline size_t fz_split(const uint8_t *data, size_t size, char **out, size_t max,
                              size_t *lens) {
  size_t n = 0, start = 0;
  for (size_t i = 0; i <= size && n < max; i++) {
    if (i < size && data[i] != 0) continue;
    if (n + 1 == max && i < size) i = size; /* the last piece runs to the end */
    size_t len = i - start;
    char *p = malloc(len + 1);
    if (!p) break;
    memcpy(p, data + start, len);
    p[len] = '\0';
    if (lens) lens[n] = len;
    out[n++] = p;
    start = i + 1;
  }
  return n;
}

static inline void fz_free_pieces(char **p, size_t n) {
  for (size_t i = 0; i < n; i++) free(p[i]);
}

#endif
