#include "doors/web_page.h"

#include <stdlib.h>
#include <string.h>

/* The most bytes one escaped byte becomes ("&quot;"). */
#define ESCAPED_MAX 6

/* Appends s escaped for HTML text and attribute values at out (which has
 * room for ESCAPED_MAX bytes per byte of s); returns the end. */
static char *
put_escaped(char *out, const char *s)
{
	for (; *s != '\0'; s++) {
		const char *e = NULL;
		switch (*s) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		}
		if (e == NULL) {
			*out++ = *s;
		} else {
			size_t k = strlen(e);
			memcpy(out, e, k);
			out += k;
		}
	}
	return out;
}

char *
web_page_render(const char *page, size_t n, const struct config *cfg, size_t *outlen)
{
	const struct { const char *name; const char *value; } vars[] = {
		{ "{{title}}", cfg->web_title ? cfg->web_title : "" },
		{ "{{description}}", cfg->web_description ? cfg->web_description : "" },
	};
	size_t nvars = sizeof vars / sizeof vars[0];
	/* Each placeholder is at least 9 bytes; its value is at most
	 * ESCAPED_MAX times its own length: bound the copy by that. */
	size_t grow = 0;
	for (size_t v = 0; v < nvars; v++)
		grow += strlen(vars[v].value) * ESCAPED_MAX;
	size_t places = 0;
	for (const char *p = page; (p = memmem(p, n - (size_t)(p - page), "{{", 2)) != NULL; p += 2)
		places++;
	char *out = malloc(n + places * grow + 1), *o = out;
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t v = nvars;
		if (page[i] == '{')
			for (v = 0; v < nvars; v++) {
				size_t k = strlen(vars[v].name);
				if (n - i >= k && memcmp(page + i, vars[v].name, k) == 0)
					break;
			}
		if (v < nvars) {
			o = put_escaped(o, vars[v].value);
			i += strlen(vars[v].name);
		} else
			*o++ = page[i++];
	}
	*o = '\0';
	*outlen = (size_t)(o - out);
	return out;
}
