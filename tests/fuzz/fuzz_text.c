/* libFuzzer: text_clean turns any bytes into valid UTF-8 without NUL, within
 * TEXT_CLEAN_MAX, and leaves valid text alone; text_for_terminal then
 * leaves no control character, never grows the text, keeps it valid, and
 * agrees with text_has_controls; utf8_fit never cuts a character. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out = malloc(TEXT_CLEAN_MAX(size) + 1);
	if (out == NULL)
		return 0;
	size_t n = text_clean(out, (const char *)data, size);
	assert(n <= TEXT_CLEAN_MAX(size));
	assert(strlen(out) == n);
	assert(text_is_clean(out, n));
	if (text_is_clean((const char *)data, size))
		assert(n == size && memcmp(out, data, size) == 0);

	char *shown = malloc(n + 1);
	if (shown != NULL) {
		int keep_lf = size > 0 && data[0] & 1;
		size_t m = text_for_terminal(shown, out, keep_lf);
		assert(m <= n && strlen(shown) == m);
		assert(text_is_clean(shown, m));
		assert(!text_has_controls(shown, keep_lf));
		assert(text_has_controls(out, keep_lf) == (m != n || memcmp(shown, out, n) != 0));
		for (size_t i = 0; i < m; i++) {
			unsigned char c = (unsigned char)shown[i];
			assert((c >= 0x20 && c != 0x7F) || c == '\t' || (keep_lf && c == '\n'));
		}
		free(shown);
	}
	for (size_t max = 0; max < n && max < 16; max++) {
		size_t fit = utf8_fit(out, n, max);
		assert(fit <= max || max == 0);
		assert(fit == max || text_is_clean(out, fit));
	}
	free(out);
	return 0;
}
