/* For the store's unit tests (test_store*.c): a store on a data dir of
 * its own, <root>/data in a fresh temporary directory (store_open makes
 * the data dir), all of it removed after. cmocka's setup and teardown.
 * The same tests run on PostgreSQL with setup_pg: a fresh database of
 * the test cluster (pg_fixture.h), which open_store then opens, dropped
 * after. */
#ifndef PARLEY_TEST_STORE_FIXTURE_H
#define PARLEY_TEST_STORE_FIXTURE_H

#include <ftw.h>
#include <string.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "pg_fixture.h"

struct fixture {
	char root[64];
	char dir[80];     /* root/data */
	struct store *s;
	char pg_name[64]; /* setup_pg: the test's database */
};

/* SQL that takes a SQLite database of this version back to version 6's
 * events (before the room index): the tests of older versions start
 * from one made now. */
#define SQL_BACK_TO_V6 \
    "CREATE UNIQUE INDEX events_target ON events (target, msgid); DROP TABLE events_room;" \
    " DELETE FROM meta WHERE key = 'room_indexed';"

/* The PostgreSQL URL open_store opens, while a setup_pg test runs; ""
 * for SQLite in dir. */
static char fixture_database[512];

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A store on dir, with retention by rows and days (0: none); NULL, said
 * on stderr, when it does not open. */
static struct store *
open_store(const char *dir, uint32_t max_rows, uint32_t max_age_days)
{
	struct store_options o = { .dir = dir, .max_rows = max_rows,
		.max_age_days = max_age_days, .readers = 2, .database = fixture_database };
	char err[256] = "";
	struct store *s = store_open(&o, err, sizeof err);
	if (s == NULL)
		fprintf(stderr, "store_open: %s\n", err);
	return s;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	if (f == NULL)
		return -1;
	*state = f;
	snprintf(f->root, sizeof f->root, "/tmp/parley-store-XXXXXX");
	if (mkdtemp(f->root) == NULL)
		return -1;
	snprintf(f->dir, sizeof f->dir, "%s/data", f->root);
	f->s = open_store(f->dir, 0, 0);
	return f->s != NULL ? 0 : -1;
}

/* setup, on a fresh PostgreSQL database. */
static int
setup_pg(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	if (f == NULL)
		return -1;
	*state = f;
	if (pg_test_createdb(f->pg_name, sizeof f->pg_name, fixture_database,
	    sizeof fixture_database) != 0)
		return -1;
	snprintf(f->root, sizeof f->root, "/tmp/parley-store-XXXXXX");
	if (mkdtemp(f->root) == NULL)
		return -1;
	snprintf(f->dir, sizeof f->dir, "%s/data", f->root);
	f->s = open_store(f->dir, 0, 0);
	return f->s != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	if (f->s != NULL)
		store_close(f->s);
	if (f->root[0] != '\0')
		rm_rf(f->root);
	if (f->pg_name[0] != '\0')
		pg_test_dropdb(f->pg_name);
	fixture_database[0] = '\0';
	free(f);
	return 0;
}

/* Runs tests (n of them) on SQLite, then those whose name is in on_pg
 * (NULL-terminated) again on PostgreSQL (setup_pg) when the test cluster
 * is there: without it they are left out, or one failing test says so
 * under PARLEY_TOOLS=required. */
static void
pg_missing(void **state)
{
	(void)state;
	fail_msg("PARLEY_TEST_PG is not set: run under tests/integration/pgtmp.py (make test does)");
}

static int
run_both(const struct CMUnitTest *tests, size_t n, const char *const *on_pg)
{
	int failed = _cmocka_run_group_tests("sqlite", tests, n, NULL, NULL);
	struct CMUnitTest pg[64];
	size_t npg = 0;
	if (pg_test_base() == NULL) {
		if (!pg_test_required()) {
			fprintf(stderr, "postgresql: PARLEY_TEST_PG not set, its tests left out\n");
			return failed;
		}
		pg[npg++] = (struct CMUnitTest)cmocka_unit_test(pg_missing);
	}
	for (size_t i = 0; pg_test_base() != NULL && i < n; i++) {
		for (const char *const *w = on_pg; *w != NULL && npg < 64; w++) {
			if (strcmp(*w, tests[i].name) == 0) {
				pg[npg] = tests[i];
				pg[npg++].setup_func = setup_pg;
			}
		}
	}
	return failed + _cmocka_run_group_tests("postgresql", pg, npg, NULL, NULL);
}

#endif
