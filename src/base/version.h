/* The one place the version is written; the server and the client both
 * print it. */
#ifndef PARLEY_VERSION_H
#define PARLEY_VERSION_H

#define PARLEY_VERSION "0.1.0"

#endif
