/* Log lines about one connection: each carries the conn's id (in text
 * "conn=ID", in JSON "conn" and "addr"), so that every line of one
 * connection's life can be found, whatever its address or nick. */
#ifndef PARLEY_CONN_LOG_H
#define PARLEY_CONN_LOG_H

#include "base/log.h"

struct conn;

void conn_log_msg(const struct conn *c, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The arguments are not even computed below the log's level. */
#define conn_log(c, level, ...) \
	do { if ((level) <= log_threshold) conn_log_msg((c), (level), __VA_ARGS__); } while (0)

#endif
