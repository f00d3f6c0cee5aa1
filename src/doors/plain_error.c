/* The plain door's error lines (plain_error.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "doors/plain_error.h"
#include "net/conn.h"

void
plain_error(struct conn *c, const char *code, const char *fmt, ...)
{
	char *text;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0) {
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		return;
	}
	conn_sendf(c, PLAIN_ERROR_LINE, code, text);
	free(text);
}

