/* Registered rooms on the plain door (issue 13): "/register #room" by a
 * logged-in operator of the room (the plain /register's other form; the
 * accounts' own /register PASSWORD hands a '#' word here). */
#ifndef PARLEY_PLAIN_ROOMS_H
#define PARLEY_PLAIN_ROOMS_H

struct conn;

/* Registers the room typed (as /join takes it); the answer, or a !!
 * error, is sent. */
void plain_register_room(struct conn *c, const char *typed);

#endif
