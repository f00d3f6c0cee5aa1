/* libFuzzer: the framer must never hold more than its limit, never hand out
 * a line longer than max_line, and never crash, whatever bytes arrive in
 * whatever chunks. The first byte picks the chunk size. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/text.h"
#include "doors/plain_parse.h"
#include "net/framer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t chunk = (size_t)data[0] % 64 + 1;
	data++;
	size--;

	struct framer f;
	framer_init(&f, 64, 130);
	static char clean[TEXT_CLEAN_MAX(64) + 1];
	size_t off = 0;
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		long took = framer_feed(&f, (const char *)data + off, n);
		assert(took >= 0 && (size_t)took <= n);
		assert(framer_held(&f) <= f.limit);
		off += (size_t)took;
		char *line;
		size_t len;
		enum framer_status st;
		int progressed = took > 0;
		while ((st = framer_next(&f, &line, &len)) != FRAMER_EMPTY) {
			progressed = 1;
			if (st != FRAMER_LINE)
				continue;
			assert(len <= 64 && line[len] == '\0');
			size_t cl = text_clean(clean, line, len);
			assert(text_is_clean(clean, cl));
			struct plain_input in;
			plain_parse(clean, &in);
		}
		assert(progressed);
	}
	framer_free(&f);
	return 0;
}
