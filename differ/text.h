/* text.h — output helpers shared by hpdump and hpdiff: hex digests and JSON strings. */
#ifndef HP_TEXT_H
#define HP_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Writes n bytes as 2n lowercase hex digits and a terminator into out (2n + 1 bytes). */
void hp_hex(const uint8_t *bytes, size_t n, char *out);

/* Prints s on stdout as a JSON string, quotes included. */
void hp_json_string(const char *s);

#endif
