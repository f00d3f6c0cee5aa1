/* The admin command line for accounts, beside the server:
 *   parleyd account add NAME       (the password from stdin)
 *   parleyd account passwd NAME    (the new password from stdin)
 *   parleyd account delete NAME
 *   parleyd account list
 * with --data-dir DIR (or --config FILE) as for the server. It writes
 * the database directly (the server's lock is not needed: SQLite's own
 * locks order it with a running server's writes), and a running server
 * notices within a second (its sweep reads the accounts' counter). */
#ifndef PARLEY_ACCOUNTS_ADMIN_H
#define PARLEY_ACCOUNTS_ADMIN_H

/* 1 when argv is an "account" command line. */
int accounts_admin_wanted(int argc, char **argv);
/* Runs it: the exit status (0 done, 1 refused: the name is taken or
 * unknown, a password too short..., 2 a usage or database error). */
int accounts_admin_main(int argc, char **argv);

#endif
