#include "net/conn_stats.h"

#include <stddef.h>
#include <string.h>

/* The reasons the server gives (conn.c, transport.c, the doors, the
 * sweep), by how they begin; the first match wins. */
static const struct {
	const char *prefix;
	enum conn_end end;
} end_prefixes[] = {
	{ "Quit", CONN_END_QUIT },
	{ "Connection closed", CONN_END_PEER_CLOSED },
	{ "Connection reset by peer", CONN_END_PEER_CLOSED },
	{ "Broken pipe", CONN_END_PEER_CLOSED },
	{ "Connection lost", CONN_END_PEER_CLOSED },
	{ "Connection timed out", CONN_END_TIMEOUT },
	{ "Ping timeout", CONN_END_PING_TIMEOUT },
	{ "Idle timeout", CONN_END_IDLE_TIMEOUT },
	{ "Registration timed out", CONN_END_REGISTRATION_TIMEOUT },
	{ "Handshake timed out", CONN_END_HANDSHAKE_TIMEOUT },
	{ "sendq exceeded", CONN_END_SENDQ_EXCEEDED },
	{ "Excess flood", CONN_END_EXCESS_FLOOD },
	{ "Bad password", CONN_END_BAD_PASSWORD },
	{ "Killed", CONN_END_KILLED },
	{ "too many connections", CONN_END_TOO_MANY },
	{ "TLS", CONN_END_PROTOCOL_ERROR },
	{ "WebSocket", CONN_END_PROTOCOL_ERROR },
	{ "Bad PROXY", CONN_END_PROTOCOL_ERROR },
	{ "No PROXY", CONN_END_PROTOCOL_ERROR },
	{ "HTTP ", CONN_END_HTTP_DONE },
	{ "Server shutting down", CONN_END_SHUTDOWN },
};

static const char *const end_names[CONN_ENDS] = {
	[CONN_END_QUIT] = "quit",
	[CONN_END_PEER_CLOSED] = "peer_closed",
	[CONN_END_TIMEOUT] = "connection_timeout",
	[CONN_END_PING_TIMEOUT] = "ping_timeout",
	[CONN_END_IDLE_TIMEOUT] = "idle_timeout",
	[CONN_END_REGISTRATION_TIMEOUT] = "registration_timeout",
	[CONN_END_HANDSHAKE_TIMEOUT] = "handshake_timeout",
	[CONN_END_SENDQ_EXCEEDED] = "sendq_exceeded",
	[CONN_END_EXCESS_FLOOD] = "excess_flood",
	[CONN_END_BAD_PASSWORD] = "bad_password",
	[CONN_END_KILLED] = "killed",
	[CONN_END_TOO_MANY] = "too_many_from_address",
	[CONN_END_PROTOCOL_ERROR] = "protocol_error",
	[CONN_END_HTTP_DONE] = "http_done",
	[CONN_END_SHUTDOWN] = "server_shutdown",
	[CONN_END_OTHER] = "other",
};

static const char *const refusal_names[CONN_REFUSALS] = {
	[CONN_REFUSED_FULL] = "server_full",
	[CONN_REFUSED_PER_IP] = "too_many_from_address",
	[CONN_REFUSED_NO_MEMORY] = "out_of_memory",
	[CONN_REFUSED_NO_FDS] = "out_of_fds",
};

enum conn_end
conn_end_of(const char *reason, int quit)
{
	if (quit)
		return CONN_END_QUIT;
	if (reason == NULL)
		return CONN_END_OTHER;
	for (size_t i = 0; i < sizeof end_prefixes / sizeof end_prefixes[0]; i++)
		if (strncmp(reason, end_prefixes[i].prefix, strlen(end_prefixes[i].prefix)) == 0)
			return end_prefixes[i].end;
	return CONN_END_OTHER;
}

const char *
conn_end_name(enum conn_end e)
{
	return (unsigned)e < CONN_ENDS ? end_names[e] : "other";
}

const char *
conn_refusal_name(enum conn_refusal r)
{
	return (unsigned)r < CONN_REFUSALS ? refusal_names[r] : "other";
}
