/* The WAL written in one piece per commit. SQLite writes each frame of a
 * commit as two write calls (its 24-byte header, then the page): some
 * 270 pwrite calls for a commit of 300 messages in 100 rooms, each a
 * system call (and, on this kernel, a flush of the TLB) and a look at
 * the inode's times. This VFS ("parley", over SQLite's default, every
 * store connection's) gathers the frames a connection appends to its WAL
 * and writes them with one call when the commit frame is complete, in
 * the xWrite that completes it, so that a failure (a full disk) is that
 * write's and SQLite rolls the transaction back as it would have: a
 * commit is in the file when COMMIT returns, as before, and no other
 * connection can see a frame that is not (readers see a commit only once
 * the writer publishes it in the WAL index, after the frames are
 * written).
 *
 * What is gathered: a frame header (24 bytes, not a commit's) or the WAL
 * header (32 bytes at offset 0) starts a run, and writes that follow it
 * end to end join it; the page of a commit frame ends it (written at
 * once). Anything else (a page rewritten in place, the checksums
 * rewritten after it, a write that does not follow the run) writes the
 * run first, then itself, as SQLite asked. Every other call on the file
 * (read, sync, truncate, size, lock, file control, close) writes the run
 * first, so SQLite sees the file it wrote.
 *
 * A run that no commit frame ends is the frames of a transaction that
 * spilled pages (its cache full) and was then rolled back: past the
 * WAL's last commit, nothing of the database, but SQLite wrote them
 * before it let go of the WAL's write lock. Written later, after another
 * connection committed over the same place, they would replace that
 * commit's frames. So the database file is wrapped too, for one call:
 * its xShmLock writes its WAL's run before the write lock goes. Journal
 * and temporary files are SQLite's own. */
#include "store/sqlite_int.h"

#include <stdlib.h>
#include <string.h>

/* The most a run holds before it is written (a commit of some 300
 * messages is about 140 frames, 570 KiB with 4 KiB pages). */
#define WALBUF_MAX (2 * 1024 * 1024)

/* The most the default VFS writes with one call (its pwrite takes at
 * most 0x1ffff bytes, and a larger write would be a full disk to it). */
#define WALBUF_WRITE_MAX (120 * 1024)

#define WAL_HDR 32          /* the WAL file's header */
#define FRAME_HDR 24        /* a frame's header */

/* The write lock's slot in the WAL index's locks (SQLite's WAL_WRITE_LOCK). */
#define WAL_WRITE_LOCK 0

struct walbuf_db;

struct walbuf_file {
	sqlite3_file base;           /* pMethods: walbuf_methods */
	sqlite3_file *real;          /* the default VFS's file, after this struct */
	char *buf;                   /* the run, NULL until the first */
	size_t len, cap;
	sqlite3_int64 at;            /* the run's offset in the file */
	int commit_hdr;              /* the run ends with a commit frame's header */
	struct walbuf_db *db;        /* its database file's, NULL once that is closed */
};

/* A main database file: SQLite's default, but that its xShmLock writes
 * the run of its WAL (the same connection's) before the write lock goes. */
struct walbuf_db {
	sqlite3_file base;           /* pMethods: walbuf_db_methods */
	sqlite3_file *real;          /* the default VFS's file, after the larger struct */
	struct walbuf_file *wal;     /* its WAL while open, else NULL */
};

static sqlite3_vfs walbuf_vfs;

static int
walbuf_flush(struct walbuf_file *f)
{
	if (f->len == 0)
		return SQLITE_OK;
	size_t len = f->len;
	f->len = 0;
	f->commit_hdr = 0;
	int rc = SQLITE_OK;
	for (size_t done = 0; done < len && rc == SQLITE_OK; ) {
		size_t n = len - done < WALBUF_WRITE_MAX ? len - done : WALBUF_WRITE_MAX;
		rc = f->real->pMethods->xWrite(f->real, f->buf + done, (int)n,
		    f->at + (sqlite3_int64)done);
		done += n;
	}
	return rc;
}

static int
walbuf_append(struct walbuf_file *f, const void *p, size_t n)
{
	if (f->len + n > f->cap) {
		size_t cap = f->cap > 0 ? f->cap : 64 * 1024;
		while (cap < f->len + n)
			cap *= 2;
		char *b = realloc(f->buf, cap);
		if (b == NULL)
			return -1;
		f->buf = b;
		f->cap = cap;
	}
	memcpy(f->buf + f->len, p, n);
	f->len += n;
	return 0;
}

/* A frame header that marks a commit: its second word, the database's
 * size in pages after the commit, is not 0. */
static int
is_commit_header(const void *p)
{
	const unsigned char *b = p;
	return (b[4] | b[5] | b[6] | b[7]) != 0;
}

static int
walbuf_write(sqlite3_file *file, const void *p, int amt, sqlite3_int64 off)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	size_t n = amt > 0 ? (size_t)amt : 0;
	if (f->len > 0 && off == f->at + (sqlite3_int64)f->len && f->len + n <= WALBUF_MAX) {
		int ends = f->commit_hdr;
		if (walbuf_append(f, p, n) != 0)
			return SQLITE_IOERR_NOMEM;
		f->commit_hdr = n == FRAME_HDR && is_commit_header(p);
		return ends ? walbuf_flush(f) : SQLITE_OK;
	}
	int rc = walbuf_flush(f);
	if (rc != SQLITE_OK)
		return rc;
	if ((n == FRAME_HDR && !is_commit_header(p)) || (n == WAL_HDR && off == 0)) {
		f->at = off;
		if (walbuf_append(f, p, n) == 0)
			return SQLITE_OK;
		f->len = 0;
	}
	return f->real->pMethods->xWrite(f->real, p, amt, off);
}

/* The other calls: the run written first, then SQLite's own. */

static int
walbuf_close(sqlite3_file *file)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = walbuf_flush(f);
	if (f->db != NULL)
		f->db->wal = NULL;
	f->db = NULL;
	int rc2 = f->real->pMethods->xClose(f->real);
	free(f->buf);
	f->buf = NULL;
	f->cap = 0;
	return rc != SQLITE_OK ? rc : rc2;
}

static int
walbuf_read(sqlite3_file *file, void *p, int amt, sqlite3_int64 off)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = walbuf_flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, p, amt, off);
}

static int
walbuf_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = walbuf_flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int
walbuf_sync(sqlite3_file *file, int flags)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = walbuf_flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int
walbuf_size(sqlite3_file *file, sqlite3_int64 *size)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = walbuf_flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int
walbuf_lock(sqlite3_file *file, int level)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = walbuf_flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xLock(f->real, level);
}

static int
walbuf_unlock(sqlite3_file *file, int level)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = walbuf_flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xUnlock(f->real, level);
}

static int
walbuf_reserved(sqlite3_file *file, int *out)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int
walbuf_fcntl(sqlite3_file *file, int op, void *arg)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = walbuf_flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int
walbuf_sector(sqlite3_file *file)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	return f->real->pMethods->xSectorSize(f->real);
}

static int
walbuf_device(sqlite3_file *file)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

/* A WAL file has no shared memory nor map of its own (the database
 * file's serve the WAL): version 1 methods. */
static const sqlite3_io_methods walbuf_methods = {
	.iVersion = 1,
	.xClose = walbuf_close,
	.xRead = walbuf_read,
	.xWrite = walbuf_write,
	.xTruncate = walbuf_truncate,
	.xSync = walbuf_sync,
	.xFileSize = walbuf_size,
	.xLock = walbuf_lock,
	.xUnlock = walbuf_unlock,
	.xCheckReservedLock = walbuf_reserved,
	.xFileControl = walbuf_fcntl,
	.xSectorSize = walbuf_sector,
	.xDeviceCharacteristics = walbuf_device,
};

/* ---- The database file: SQLite's own calls, but xShmLock ---- */

#define DB_REAL(file) (((struct walbuf_db *)(file))->real)

static int
db_close(sqlite3_file *file)
{
	struct walbuf_db *d = (struct walbuf_db *)file;
	if (d->wal != NULL)
		d->wal->db = NULL;
	d->wal = NULL;
	return d->real->pMethods->xClose(d->real);
}

static int
db_read(sqlite3_file *file, void *p, int amt, sqlite3_int64 off)
{
	return DB_REAL(file)->pMethods->xRead(DB_REAL(file), p, amt, off);
}

static int
db_write(sqlite3_file *file, const void *p, int amt, sqlite3_int64 off)
{
	return DB_REAL(file)->pMethods->xWrite(DB_REAL(file), p, amt, off);
}

static int
db_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	return DB_REAL(file)->pMethods->xTruncate(DB_REAL(file), size);
}

static int
db_sync(sqlite3_file *file, int flags)
{
	return DB_REAL(file)->pMethods->xSync(DB_REAL(file), flags);
}

static int
db_size(sqlite3_file *file, sqlite3_int64 *size)
{
	return DB_REAL(file)->pMethods->xFileSize(DB_REAL(file), size);
}

static int
db_lock(sqlite3_file *file, int level)
{
	return DB_REAL(file)->pMethods->xLock(DB_REAL(file), level);
}

static int
db_unlock(sqlite3_file *file, int level)
{
	return DB_REAL(file)->pMethods->xUnlock(DB_REAL(file), level);
}

static int
db_reserved(sqlite3_file *file, int *out)
{
	return DB_REAL(file)->pMethods->xCheckReservedLock(DB_REAL(file), out);
}

static int
db_fcntl(sqlite3_file *file, int op, void *arg)
{
	return DB_REAL(file)->pMethods->xFileControl(DB_REAL(file), op, arg);
}

static int
db_sector(sqlite3_file *file)
{
	return DB_REAL(file)->pMethods->xSectorSize(DB_REAL(file));
}

static int
db_device(sqlite3_file *file)
{
	return DB_REAL(file)->pMethods->xDeviceCharacteristics(DB_REAL(file));
}

static int
db_shm_map(sqlite3_file *file, int page, int size, int extend, void volatile **pp)
{
	return DB_REAL(file)->pMethods->xShmMap(DB_REAL(file), page, size, extend, pp);
}

/* The write lock let go: the transaction committed (its run written at
 * the commit frame) or was rolled back, and what is left is a rolled
 * back one's spilled frames: written now, while no other connection may
 * write the WAL, as SQLite would have. Its failure is nothing to the
 * unlock (the frames are past the last commit). */
static int
db_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	struct walbuf_db *d = (struct walbuf_db *)file;
	if ((flags & SQLITE_SHM_UNLOCK) && offset <= WAL_WRITE_LOCK &&
	    WAL_WRITE_LOCK < offset + n && d->wal != NULL)
		(void)walbuf_flush(d->wal);
	return d->real->pMethods->xShmLock(d->real, offset, n, flags);
}

static void
db_shm_barrier(sqlite3_file *file)
{
	DB_REAL(file)->pMethods->xShmBarrier(DB_REAL(file));
}

static int
db_shm_unmap(sqlite3_file *file, int delete_flag)
{
	return DB_REAL(file)->pMethods->xShmUnmap(DB_REAL(file), delete_flag);
}

static int
db_fetch(sqlite3_file *file, sqlite3_int64 off, int amt, void **pp)
{
	return DB_REAL(file)->pMethods->xFetch(DB_REAL(file), off, amt, pp);
}

static int
db_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
	return DB_REAL(file)->pMethods->xUnfetch(DB_REAL(file), off, p);
}

/* One set per version of the default VFS's methods (index: version - 1):
 * SQLite asks the wrapper only for what the file under it has. */
#define DB_METHODS(v) { \
	.iVersion = (v), \
	.xClose = db_close, \
	.xRead = db_read, \
	.xWrite = db_write, \
	.xTruncate = db_truncate, \
	.xSync = db_sync, \
	.xFileSize = db_size, \
	.xLock = db_lock, \
	.xUnlock = db_unlock, \
	.xCheckReservedLock = db_reserved, \
	.xFileControl = db_fcntl, \
	.xSectorSize = db_sector, \
	.xDeviceCharacteristics = db_device, \
	.xShmMap = (v) >= 2 ? db_shm_map : NULL, \
	.xShmLock = (v) >= 2 ? db_shm_lock : NULL, \
	.xShmBarrier = (v) >= 2 ? db_shm_barrier : NULL, \
	.xShmUnmap = (v) >= 2 ? db_shm_unmap : NULL, \
	.xFetch = (v) >= 3 ? db_fetch : NULL, \
	.xUnfetch = (v) >= 3 ? db_unfetch : NULL, \
}
static const sqlite3_io_methods walbuf_db_methods[3] = {
	DB_METHODS(1), DB_METHODS(2), DB_METHODS(3),
};

static int
is_db(const sqlite3_file *file)
{
	return file != NULL && file->pMethods >= &walbuf_db_methods[0] &&
	    file->pMethods <= &walbuf_db_methods[2];
}

/* The first bytes of the larger of the two wrappers: the default VFS's
 * file after them. */
#define WRAP_SIZE (sizeof(struct walbuf_file) > sizeof(struct walbuf_db) ? \
    sizeof(struct walbuf_file) : sizeof(struct walbuf_db))

/* A main database file wrapped (its methods the version of the default
 * VFS's, 3 on Linux). */
static int
db_open(sqlite3_vfs *real_vfs, sqlite3_filename name, sqlite3_file *file, int flags,
    int *out_flags)
{
	struct walbuf_db *d = (struct walbuf_db *)file;
	memset(d, 0, sizeof *d);
	d->real = (sqlite3_file *)((char *)file + WRAP_SIZE);
	int rc = real_vfs->xOpen(real_vfs, name, d->real, flags, out_flags);
	if (rc != SQLITE_OK) {
		if (d->real->pMethods != NULL)
			d->real->pMethods->xClose(d->real);  /* as SQLite would: none set on us */
		return rc;
	}
	int v = d->real->pMethods->iVersion;
	d->base.pMethods = &walbuf_db_methods[v < 1 ? 0 : v > 3 ? 2 : v - 1];
	return SQLITE_OK;
}

/* A WAL file wrapped (and told to its database file, the same
 * connection's), a main database file too (db_open); any other file is
 * the default VFS's own, opened in place. */
static int
walbuf_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags,
    int *out_flags)
{
	sqlite3_vfs *real_vfs = vfs->pAppData;
	if (flags & SQLITE_OPEN_MAIN_DB)
		return db_open(real_vfs, name, file, flags, out_flags);
	if (!(flags & SQLITE_OPEN_WAL))
		return real_vfs->xOpen(real_vfs, name, file, flags, out_flags);
	struct walbuf_file *f = (struct walbuf_file *)file;
	memset(f, 0, sizeof *f);
	f->real = (sqlite3_file *)((char *)file + WRAP_SIZE);
	int rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK) {
		if (f->real->pMethods != NULL)
			f->real->pMethods->xClose(f->real);  /* as SQLite would: none set on us */
		return rc;
	}
	f->base.pMethods = &walbuf_methods;
	sqlite3_file *db = sqlite3_database_file_object(name);
	if (is_db(db)) {
		f->db = (struct walbuf_db *)db;
		f->db->wal = f;
	}
	return rc;
}

/* The rest is the default VFS's. */

static int
walbuf_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	sqlite3_vfs *r = vfs->pAppData;
	return r->xDelete(r, name, sync_dir);
}

static int
walbuf_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	sqlite3_vfs *r = vfs->pAppData;
	return r->xAccess(r, name, flags, out);
}

static int
walbuf_fullpath(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	sqlite3_vfs *r = vfs->pAppData;
	return r->xFullPathname(r, name, n, out);
}

static void *
walbuf_dlopen(sqlite3_vfs *vfs, const char *name)
{
	sqlite3_vfs *r = vfs->pAppData;
	return r->xDlOpen(r, name);
}

static void
walbuf_dlerror(sqlite3_vfs *vfs, int n, char *out)
{
	sqlite3_vfs *r = vfs->pAppData;
	r->xDlError(r, n, out);
}

static void (*walbuf_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	sqlite3_vfs *r = vfs->pAppData;
	return r->xDlSym(r, h, sym);
}

static void
walbuf_dlclose(sqlite3_vfs *vfs, void *h)
{
	sqlite3_vfs *r = vfs->pAppData;
	r->xDlClose(r, h);
}

static int
walbuf_random(sqlite3_vfs *vfs, int n, char *out)
{
	sqlite3_vfs *r = vfs->pAppData;
	return r->xRandomness(r, n, out);
}

static int
walbuf_sleep(sqlite3_vfs *vfs, int us)
{
	sqlite3_vfs *r = vfs->pAppData;
	return r->xSleep(r, us);
}

static int
walbuf_time(sqlite3_vfs *vfs, double *out)
{
	sqlite3_vfs *r = vfs->pAppData;
	return r->xCurrentTime(r, out);
}

static int
walbuf_lasterror(sqlite3_vfs *vfs, int n, char *out)
{
	sqlite3_vfs *r = vfs->pAppData;
	return r->xGetLastError != NULL ? r->xGetLastError(r, n, out) : 0;
}

static int
walbuf_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	sqlite3_vfs *r = vfs->pAppData;
	return r->xCurrentTimeInt64(r, out);
}

const char *
store_vfs_register(void)
{
	if (sqlite3_vfs_find(STORE_VFS_NAME) != NULL)
		return STORE_VFS_NAME;
	sqlite3_vfs *real = sqlite3_vfs_find(NULL);
	if (real == NULL || real->iVersion < 2 || real->xCurrentTimeInt64 == NULL)
		return NULL;
	int sz = (int)WRAP_SIZE + real->szOsFile;
	walbuf_vfs = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = sz > real->szOsFile ? sz : real->szOsFile,
		.mxPathname = real->mxPathname,
		.zName = STORE_VFS_NAME,
		.pAppData = real,
		.xOpen = walbuf_open,
		.xDelete = walbuf_delete,
		.xAccess = walbuf_access,
		.xFullPathname = walbuf_fullpath,
		.xDlOpen = walbuf_dlopen,
		.xDlError = walbuf_dlerror,
		.xDlSym = walbuf_dlsym,
		.xDlClose = walbuf_dlclose,
		.xRandomness = walbuf_random,
		.xSleep = walbuf_sleep,
		.xCurrentTime = walbuf_time,
		.xGetLastError = walbuf_lasterror,
		.xCurrentTimeInt64 = walbuf_time64,
	};
	return sqlite3_vfs_register(&walbuf_vfs, 0) == SQLITE_OK ? STORE_VFS_NAME : NULL;
}
