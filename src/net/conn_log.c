#include "net/conn_log.h"

#include "base/addr.h"
#include "net/conn.h"

void
conn_log_msg(const struct conn *c, enum log_level level, const char *fmt, ...)
{
	char addr[CONN_ADDR_MAX];
	addr_hostport(addr, sizeof addr, c->host, c->port);
	const struct log_about about = { .conn = c->id, .addr = addr };
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, &about, fmt, ap);
	va_end(ap);
}
