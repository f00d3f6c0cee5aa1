#include "server/privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "store/store.h"

int
privdrop_prepare(struct privdrop *pd, const struct config *cfg)
{
	memset(pd, 0, sizeof *pd);
	if (cfg->user == NULL)
		return 0;
	if (strlen(cfg->user) > PRIVDROP_NAME_MAX ||
	    (cfg->group != NULL && strlen(cfg->group) > PRIVDROP_NAME_MAX)) {
		fprintf(stderr, "parleyd: user and group are names of at most %d bytes\n",
		    PRIVDROP_NAME_MAX);
		return -1;
	}
	errno = 0;
	const struct passwd *pw = getpwnam(cfg->user);
	if (pw == NULL) {
		fprintf(stderr, "parleyd: user %s: %s\n", cfg->user,
		    errno != 0 ? strerror(errno) : "no such user");
		return -1;
	}
	pd->uid = pw->pw_uid;
	pd->gid = pw->pw_gid;
	snprintf(pd->user, sizeof pd->user, "%s", cfg->user);
	if (cfg->group != NULL) {
		errno = 0;
		const struct group *gr = getgrnam(cfg->group);
		if (gr == NULL) {
			fprintf(stderr, "parleyd: group %s: %s\n", cfg->group,
			    errno != 0 ? strerror(errno) : "no such group");
			return -1;
		}
		pd->gid = gr->gr_gid;
	}
	snprintf(pd->group, sizeof pd->group, "%s", cfg->group ? cfg->group : "its group");
	if (geteuid() == 0) {
		pd->change = 1;
		return 0;
	}
	/* Started unprivileged (by a supervisor that chose the user, say):
	 * fine if it is already that user, else the option cannot be
	 * obeyed, and serving as someone else is not what was asked. */
	if (getuid() == pd->uid && geteuid() == pd->uid && getgid() == pd->gid &&
	    getegid() == pd->gid)
		return 0;
	fprintf(stderr, "parleyd: user %s: only a server started as root can become another "
	    "user (this one runs as uid %u, gid %u)\n", cfg->user, (unsigned)geteuid(),
	    (unsigned)getegid());
	return -1;
}

int
privdrop_apply(const struct privdrop *pd, const char *data_dir)
{
	if (!pd->change)
		return 0;
	char err[512];
	if (data_dir != NULL && store_chown(data_dir, pd->uid, pd->gid, err, sizeof err) < 0) {
		fprintf(stderr, "parleyd: user %s: %s\n", pd->user, err);
		return -1;
	}
	/* OpenBSD's order: the groups while still root, then the user. */
	const char *step = "setgroups";
	if (setgroups(1, &pd->gid) < 0 || (step = "setresgid",
	    setresgid(pd->gid, pd->gid, pd->gid) < 0) || (step = "setresuid",
	    setresuid(pd->uid, pd->uid, pd->uid) < 0)) {
		fprintf(stderr, "parleyd: user %s: %s: %s\n", pd->user, step, strerror(errno));
		return -1;
	}
	/* Root must be gone for good, or the server does not serve. */
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	if (getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0 ||
	    ruid != pd->uid || euid != pd->uid || suid != pd->uid || rgid != pd->gid ||
	    egid != pd->gid || sgid != pd->gid || (pd->uid != 0 && setuid(0) == 0)) {
		fprintf(stderr, "parleyd: user %s: the change of user did not hold\n", pd->user);
		return -1;
	}
	log_info("running as user %s (uid %u) and %s (gid %u)", pd->user, (unsigned)pd->uid,
	    pd->group, (unsigned)pd->gid);
	return 0;
}
