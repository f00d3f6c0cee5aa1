/* parleyd account ...: the words are taken out of argv, the --options
 * left are the server's (config_load), which gives the data-dir. */
#include "accounts/admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "accounts/accounts.h"
#include "accounts/credentials.h"
#include "accounts/kdf.h"
#include "base/clock.h"
#include "base/config.h"
#include "store/store.h"

#define ADMIN_WORDS_MAX 3   /* account, the command, a name */

enum { ADMIN_OK = 0, ADMIN_REFUSED = 1, ADMIN_ERROR = 2 };

static void
admin_usage(FILE *out)
{
	fprintf(out,
	    "usage: parleyd account add NAME      [--data-dir DIR | --config FILE]\n"
	    "       parleyd account passwd NAME   [--data-dir DIR | --config FILE]\n"
	    "       parleyd account delete NAME   [--data-dir DIR | --config FILE]\n"
	    "       parleyd account list          [--data-dir DIR | --config FILE]\n"
	    "add and passwd read the password from stdin (one line; %d to %d bytes).\n"
	    "Exit status: 0 done, 1 refused, 2 usage or database error.\n",
	    ACCOUNT_PASSWORD_MIN, ACCOUNT_PASSWORD_MAX);
}

int
accounts_admin_wanted(int argc, char **argv)
{
	return argc >= 2 && strcmp(argv[1], "account") == 0;
}

/* One line from stdin, without its line ending; without echo when stdin
 * is a terminal. -1 when there is none or it is too long. */
static int
read_password(char *buf, size_t cap)
{
	struct termios saved, quiet;
	int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (tty) {
		fprintf(stderr, "password: ");
		quiet = saved;
		quiet.c_lflag &= (tcflag_t)~ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	char *got = fgets(buf, (int)cap, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
		fprintf(stderr, "\n");
	}
	if (got == NULL)
		return -1;
	size_t n = strlen(buf);
	if (n > 0 && buf[n - 1] != '\n' && !feof(stdin))
		return -1;  /* longer than cap: not cut silently */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return 0;
}

/* The password for add and passwd, checked; ADMIN_OK or why not. */
static int
password_in(char *pw, size_t cap)
{
	if (read_password(pw, cap) != 0) {
		fprintf(stderr, "parleyd: account: no password on stdin (one line, at most %d bytes)\n",
		    ACCOUNT_PASSWORD_MAX);
		return ADMIN_REFUSED;
	}
	if (!account_password_ok(pw)) {
		fprintf(stderr, "parleyd: account: a password is %d to %d bytes\n",
		    ACCOUNT_PASSWORD_MIN, ACCOUNT_PASSWORD_MAX);
		return ADMIN_REFUSED;
	}
	return ADMIN_OK;
}

static int
of_store(enum store_status st, const char *what, const char *name)
{
	switch (st) {
	case STORE_OK:
		return ADMIN_OK;
	case STORE_NOT_FOUND:
		fprintf(stderr, "parleyd: account: there is no account %s\n", name);
		return ADMIN_REFUSED;
	case STORE_EXISTS:
		fprintf(stderr, "parleyd: account: %s is already registered\n", name);
		return ADMIN_REFUSED;
	case STORE_FULL:
	case STORE_FAILED:
		break;
	}
	fprintf(stderr, "parleyd: account: cannot %s %s: the database failed\n", what, name);
	return ADMIN_ERROR;
}

static int
cmd_set(struct store *s, const char *name, int create, size_t nick_len)
{
	if (create && !account_name_ok(name, nick_len)) {
		fprintf(stderr, "parleyd: account: \"%s\" is not a name an account may have "
		    "(a nickname: letters, digits and -_[]{}\\|^`, not starting with a digit "
		    "or -, at most %zu bytes; not a service's)\n", name, nick_len);
		return ADMIN_REFUSED;
	}
	char pw[ACCOUNT_PASSWORD_MAX + 2];
	struct store_account acc = { 0 };
	int rc = password_in(pw, sizeof pw);
	if (rc == ADMIN_OK) {
		snprintf(acc.name, sizeof acc.name, "%s", name);
		acc.created_ms = clock_now_ms();
		if (account_credentials(pw, &acc) != 0) {
			fprintf(stderr, "parleyd: account: cannot hash the password (out of memory?)\n");
			rc = ADMIN_ERROR;
		} else if (create) {
			rc = of_store(store_account_create(s, &acc), "add", name);
		} else {
			rc = of_store(store_account_set_password(s, &acc), "change the password of",
			    name);
		}
	}
	memset(pw, 0, sizeof pw);
	memset(&acc, 0, sizeof acc);
	if (rc == ADMIN_OK)
		printf("%s %s\n", create ? "added" : "password changed:", name);
	return rc;
}

static int
cmd_list(struct store *s)
{
	char **names = NULL;
	size_t n = 0;
	if (store_account_names(s, &names, &n) != STORE_OK) {
		fprintf(stderr, "parleyd: account: cannot list the accounts: the database failed\n");
		return ADMIN_ERROR;
	}
	int rc = ADMIN_OK;
	for (size_t i = 0; i < n; i++) {
		struct store_account acc;
		if (store_account_get(s, names[i], &acc) != STORE_OK) {
			rc = ADMIN_ERROR;
			continue;
		}
		time_t t = (time_t)(acc.created_ms / 1000);
		struct tm tm;
		char when[32];
		gmtime_r(&t, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf("%s\t%s\n", acc.name, when);
	}
	store_names_free(names, n);
	return rc;
}

/* Splits argv into the words (account, the command, a name) and the
 * --options, which keep their values (every option has one, but
 * --help and --version). */
static int
split(int argc, char **argv, char **words, int *nwords, char **opts, int *nopts)
{
	*nwords = 0;
	*nopts = 0;
	opts[(*nopts)++] = argv[0];
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) == 0) {
			opts[(*nopts)++] = argv[i];
			if (strchr(argv[i], '=') == NULL && strcmp(argv[i], "--help") != 0 &&
			    strcmp(argv[i], "--version") != 0 && i + 1 < argc)
				opts[(*nopts)++] = argv[++i];
		} else if (*nwords < ADMIN_WORDS_MAX) {
			words[(*nwords)++] = argv[i];
		} else {
			return -1;
		}
	}
	opts[*nopts] = NULL;
	return 0;
}

int
accounts_admin_main(int argc, char **argv)
{
	char *words[ADMIN_WORDS_MAX];
	char **opts = calloc((size_t)argc + 1, sizeof *opts);
	int nwords, nopts;
	if (opts == NULL)
		return ADMIN_ERROR;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			admin_usage(stdout);
			free(opts);
			return ADMIN_OK;
		}
	if (split(argc, argv, words, &nwords, opts, &nopts) != 0 || nwords < 2) {
		admin_usage(stderr);
		free(opts);
		return ADMIN_ERROR;
	}
	const char *cmd = words[1], *name = nwords > 2 ? words[2] : NULL;
	int wants_name = strcmp(cmd, "list") != 0;
	if ((strcmp(cmd, "add") != 0 && strcmp(cmd, "passwd") != 0 &&
	        strcmp(cmd, "delete") != 0 && strcmp(cmd, "list") != 0) ||
	    (wants_name && name == NULL) || (!wants_name && name != NULL)) {
		admin_usage(stderr);
		free(opts);
		return ADMIN_ERROR;
	}
	struct config cfg;
	enum config_result cr = config_load(&cfg, nopts, opts);
	free(opts);
	if (cr != CONFIG_RUN) {
		config_free(&cfg);
		return cr == CONFIG_EXIT_OK ? ADMIN_OK : ADMIN_ERROR;
	}
	char err[512];
	struct store *s = NULL;
	int rc = ADMIN_ERROR;
	if (kdf_init() != 0)
		fprintf(stderr, "parleyd: account: libsodium cannot start\n");
	else if ((s = store_open_admin(&(struct store_options){ .database = cfg.database,
	    .password_file = cfg.database_password_file,
	    .dir = cfg.data_dir }, err, sizeof err)) == NULL)
		fprintf(stderr, "parleyd: account: %s\n", err);
	else if (strcmp(cmd, "list") == 0)
		rc = cmd_list(s);
	else if (strcmp(cmd, "add") == 0)
		rc = cmd_set(s, name, 1, cfg.nick_len);
	else if (strcmp(cmd, "passwd") == 0)
		rc = cmd_set(s, name, 0, cfg.nick_len);
	else if ((rc = of_store(store_account_delete(s, name), "delete", name)) == ADMIN_OK)
		printf("deleted %s\n", name);
	store_close(s);
	config_free(&cfg);
	return rc;
}
