/* The web client's page made the server's own: index.html names the
 * server's settings as {{title}} and {{description}}, and each is put in
 * HTML-escaped (web-title, web-description; base/config.h). */
#ifndef PARLEY_WEB_PAGE_H
#define PARLEY_WEB_PAGE_H

#include <stddef.h>

#include "base/config.h"

/* The file whose placeholders are filled: the landing page. */
#define WEB_PAGE_NAME "index.html"

/* A copy of the n bytes at page with {{title}} and {{description}}
 * replaced by cfg's (escaped: & < > " '), in malloc'd memory of *outlen
 * bytes; other text is copied as it is. NULL when out of memory. */
char *web_page_render(const char *page, size_t n, const struct config *cfg, size_t *outlen);

#endif
