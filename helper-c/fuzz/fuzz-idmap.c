/* libFuzzer harness: id mappings, as a Spec carries them, through the helper's uid_map/gid_map formatter
 * (hc_ns_format_map, which hc_ns_write_maps calls before its one write() to procfs). The input is a list of
 * (container_id, host_id, size) triples of 12 bytes each. The text must be whole lines that parse back to the
 * same numbers, or the formatter must refuse it: never a cut line, never past the buffer. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "namespaces.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static shim_v1_IdMapping maps[1024];
	static char text[HC_NS_MAP_MAX];
	pb_size_t count = 0;
	ssize_t len;
	char *p;

	for (; size >= 12 && count < 1024; data += 12, size -= 12, count++) {
		memcpy(&maps[count].container_id, data, 4);
		memcpy(&maps[count].host_id, data + 4, 4);
		memcpy(&maps[count].size, data + 8, 4);
	}
	len = hc_ns_format_map(text, sizeof(text), maps, count);
	if (len < 0)
		return 0;
	if ((size_t)len >= sizeof(text) || text[len] != '\0')
		__builtin_trap();
	p = text;
	for (pb_size_t i = 0; i < count; i++) {
		unsigned long container_id = strtoul(p, &p, 10), host_id = strtoul(p, &p, 10), range = strtoul(p, &p, 10);

		if (container_id != maps[i].container_id || host_id != maps[i].host_id || range != maps[i].size ||
		    *p++ != '\n')
			__builtin_trap();
	}
	if (p != text + len)
		__builtin_trap();
	return 0;
}
