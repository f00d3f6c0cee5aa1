/* For the store's unit tests (test_store*.c): a store on a data dir of
 * its own, <root>/data in a fresh temporary directory (store_open makes
 * the data dir), all of it removed after. cmocka's setup and teardown. */
#ifndef PARLEY_TEST_STORE_FIXTURE_H
#define PARLEY_TEST_STORE_FIXTURE_H

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"

struct fixture {
	char root[64];
	char dir[80];     /* root/data */
	struct store *s;
};

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
		.max_age_days = max_age_days, .readers = 2 };
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

static int
teardown(void **state)
{
	struct fixture *f = *state;
	if (f->s != NULL)
		store_close(f->s);
	if (f->root[0] != '\0')
		rm_rf(f->root);
	free(f);
	return 0;
}

#endif
