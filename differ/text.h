/* text.h — output helpers shared by hpdump and hpdiff: hex digests, JSON strings, source names. */
#ifndef HP_TEXT_H
#define HP_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Writes n bytes as 2n lowercase hex digits and a terminator into out (2n + 1 bytes). */
void hp_hex(const uint8_t *bytes, size_t n, char *out);

/* Prints s on stdout as a JSON string, quotes included. */
void hp_json_string(const char *s);

/* Copies s into out (size bytes) with every ".__uniq.<digits>" removed: file-local names as the
 * source spells them ("parse.__uniq.123" -> "parse"), also inside a sentence. */
void hp_source_name(const char *s, char *out, size_t size);

#endif
