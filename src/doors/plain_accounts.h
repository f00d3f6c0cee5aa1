/* Accounts on the plain door: /register PASSWORD (the current nick),
 * /login NAME PASSWORD, /logout, /passwd OLD NEW. The slow part (the
 * KDF, the database) is the accounts service's, on the worker pool; the
 * answer takes its place in the conn's output at once, so what the user
 * is sent meanwhile comes after it. docs/protocol.md lists the lines. */
#ifndef PARLEY_PLAIN_ACCOUNTS_H
#define PARLEY_PLAIN_ACCOUNTS_H

#include "net/conn.h"

/* Each takes the rest of the command's line. */
void plain_register(struct conn *c, char *args);
void plain_login(struct conn *c, char *args);
void plain_logout(struct conn *c, char *args);
void plain_passwd(struct conn *c, char *args);

#endif
