/* libFuzzer: text_clean turns any bytes into valid UTF-8 without NUL, within
 * TEXT_CLEAN_MAX, and leaves valid text alone. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

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
	free(out);
	return 0;
}
