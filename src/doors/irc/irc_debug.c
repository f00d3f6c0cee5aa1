/* Commands only tests use, taken with debug-commands 1 (never on a server
 * people use). DEBUG ASYNC text: a reply finished by a worker, on a later
 * pass of the loop, the way CHATHISTORY and AUTHENTICATE will answer: it
 * says one line at once, and two more when the worker has turned text to
 * upper case; its label and batch hold across the wait, and whatever the
 * client is sent meanwhile comes after it. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/worker.h"
#include "doors/irc/irc.h"

struct async_job {
	struct irc_reply *reply;
	char text[IRC_LINE_MAX];      /* work turns it to upper case */
};

/* On a worker thread: only the job's own bytes. */
static void
async_work(void *arg)
{
	struct async_job *j = arg;
	for (char *p = j->text; *p; p++)
		*p = (char)toupper((unsigned char)*p);
}

/* On the loop, later. */
static void
async_done(void *arg, int cancelled)
{
	struct async_job *j = arg;
	struct conn *c = cancelled ? NULL : irc_reply_resume(j->reply);
	if (c != NULL) {
		irc_notice(c, "DEBUG ASYNC: %s", j->text);
		irc_notice(c, "DEBUG ASYNC: done");
	}
	irc_reply_done(j->reply);
	free(j);
}

static void
debug_async(struct conn *c, const char *text)
{
	struct worker_pool *pool = door_env(c)->workers;
	struct async_job *j = calloc(1, sizeof *j);
	if (pool == NULL || j == NULL) {
		free(j);
		irc_fail(c, "DEBUG", "TEMPORARILY_UNAVAILABLE", NULL, "No worker to do it");
		return;
	}
	snprintf(j->text, sizeof j->text, "%s", text);
	irc_notice(c, "DEBUG ASYNC: working on %s", text);
	if ((j->reply = irc_reply_keep(c)) == NULL) {
		free(j);
		return;
	}
	if (worker_submit(pool, async_work, async_done, j) < 0) {
		irc_reply_done(j->reply);
		free(j);
		irc_fail(c, "DEBUG", "TEMPORARILY_UNAVAILABLE", NULL, "The workers are busy");
	}
}

void
irc_cmd_debug(struct conn *c, struct irc_message *m)
{
	if (strcasecmp(m->params[0], "ASYNC") == 0)
		debug_async(c, m->nparams > 1 ? m->params[1] : "");
	else
		irc_fail(c, "DEBUG", "UNKNOWN_COMMAND", m->params[0], "No such DEBUG command");
}
