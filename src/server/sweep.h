/* The deadlines the server keeps over all its conns at once, once a
 * second: registration (registration-timeout) and silence (a door's PING
 * after ping-interval, then ping-timeout; idle-timeout for anyone). Each
 * conn's own deadlines (handshake, flood, linger) are its own (conn.c). */
#ifndef PARLEY_SWEEP_H
#define PARLEY_SWEEP_H

struct server;

void server_sweep_start(struct server *srv);
void server_sweep_stop(struct server *srv);

#endif
