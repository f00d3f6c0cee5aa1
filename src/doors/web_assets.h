/* The web client's files, built into parleyd from web/ by tools/embed. */
#ifndef PARLEY_WEB_ASSETS_H
#define PARLEY_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
	const char *name;            /* "index.html": a file of web/ */
	const unsigned char *data;
	size_t len;
};

extern const struct web_asset web_assets[];
extern const size_t web_nassets;

#endif
