/* text.h — the text forms of contract values that every tool prints: build-ids and checksums
 * as hex, names as JSON strings.  libc only (the runtime links it). */
#ifndef HP_CONTRACT_TEXT_H
#define HP_CONTRACT_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Writes n bytes as 2n lowercase hex digits and a terminator into out (2n + 1 bytes). */
void hp_hex(const uint8_t *bytes, size_t n, char *out);

/* Prints s on stdout as a JSON string, quotes included. */
void hp_json_string(const char *s);

#endif
