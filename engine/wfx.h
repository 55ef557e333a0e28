/* wfx.h — the export file format of one run (docs/export-format.md), shared by export.c
 * (writing) and import.c (reading).
 *
 *   file    = magic(8) version(u32 BE) section* end-section
 *   section = type(u8) length(u64 BE) payload(length) crc32(u32 BE)
 * The crc32 (zlib's) covers the type, the length bytes and the payload. */
#ifndef WF_WFX_H
#define WF_WFX_H

#include <stdint.h>

#define WFX_MAGIC "\x89WFX\r\n\x1a\n"
#define WFX_MAGIC_LEN 8
#define WFX_VERSION 1u

enum wfx_section {
  WFX_RUN = 'R',   /* the run record (the store's run record encoding, enveloped) */
  WFX_STEP = 'S',  /* a step record: u16 BE key length, key, the step record encoding */
  WFX_EVENT = 'E', /* an event record (the store's encoding) */
  WFX_FILE = 'F',  /* a file: u32 BE header length, header (msgpack), content */
  WFX_END = 'Z'    /* last: msgpack [steps, events, files] counts */
};

enum wfx_area { WFX_AREA_RUN_DIR = 0, WFX_AREA_LOGS = 1 };
enum wfx_kind { WFX_KIND_FILE = 0, WFX_KIND_DIR = 1, WFX_KIND_LINK = 2 };

#define WFX_HEAD_LEN 9      /* type + length */
#define WFX_MAX_RECORD (256u << 20) /* a record section larger than this is refused */
#define WFX_MAX_FILE_HEADER 8192

#endif
