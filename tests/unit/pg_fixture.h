/* For the store's unit tests on PostgreSQL: a fresh database per test in
 * the throwaway cluster that tests/integration/pgtmp.py starts around the
 * test binary (the Makefile's unit runs), named by PARLEY_TEST_PG (the
 * superuser's URL to its "postgres" database). Without it the tests of
 * the PostgreSQL group skip, or fail under PARLEY_TOOLS=required (make
 * test), as other tool-needing tests do. */
#ifndef PARLEY_TEST_PG_FIXTURE_H
#define PARLEY_TEST_PG_FIXTURE_H

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* PARLEY_TEST_PG, or NULL. */
static const char *
pg_test_base(void)
{
	const char *base = getenv("PARLEY_TEST_PG");
	return base != NULL && base[0] != '\0' ? base : NULL;
}

/* Whether a test without PostgreSQL must fail rather than skip. */
static int
pg_test_required(void)
{
	const char *t = getenv("PARLEY_TOOLS");
	return t != NULL && strcmp(t, "required") == 0;
}

/* sql on the cluster's "postgres" database; 0 or -1 (said on stderr). */
static int
pg_test_exec(const char *sql)
{
	PGconn *c = PQconnectdb(pg_test_base());
	int ok = PQstatus(c) == CONNECTION_OK;
	if (ok) {
		PGresult *r = PQexec(c, sql);
		ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		if (!ok)
			fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
		PQclear(r);
	} else {
		fprintf(stderr, "PARLEY_TEST_PG: %s", PQerrorMessage(c));
	}
	PQfinish(c);
	return ok ? 0 : -1;
}

/* A new empty database: its name into name, its URL into url. */
static int
pg_test_createdb(char *name, size_t namelen, char *url, size_t urllen)
{
	static unsigned counter;
	snprintf(name, namelen, "unit_%ld_%u", (long)getpid(), ++counter);
	char sql[128];
	snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", name);
	if (pg_test_base() == NULL || pg_test_exec(sql) != 0)
		return -1;
	/* The base URL's database is its last path part: replaced. */
	const char *base = pg_test_base();
	const char *slash = strrchr(base, '/');
	snprintf(url, urllen, "%.*s/%s", (int)(slash - base), base, name);
	return 0;
}

static void
pg_test_dropdb(const char *name)
{
	char sql[128];
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", name);
	pg_test_exec(sql);
}

#endif
