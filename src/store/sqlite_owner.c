/* Who owns the data-dir: store_chown (store.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/sqlite_int.h"

int
store_chown(const char *dir, unsigned uid, unsigned gid, char *err, size_t errlen)
{
	/* The database, its write-ahead log and shared memory (SQLite's
	 * names beside it), and the lock. */
	static const char *const files[] = {
		STORE_DB_NAME, STORE_DB_NAME "-wal", STORE_DB_NAME "-shm", STORE_LOCK_NAME,
	};
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot make data-dir %s: %s", dir, strerror(errno));
		return -1;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fchown(fd, uid, gid) < 0) {
		snprintf(err, errlen, "cannot give data-dir %s to uid %u: %s", dir, uid,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
		if (fchownat(fd, files[i], uid, gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != ENOENT) {
			snprintf(err, errlen, "cannot give %s/%s to uid %u: %s", dir, files[i], uid,
			    strerror(errno));
			close(fd);
			return -1;
		}
	close(fd);
	return 0;
}
