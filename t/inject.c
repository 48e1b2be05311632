/*
 * t/inject.so - makes writes and syncs fail on demand, for fault tests.
 *
 *	LD_PRELOAD=t/inject.so JOBRUN_INJECT=/path/to/control jobrun daemon
 *
 * While the control file exists, each of its lines "PATTERN ERRNO [CALLS]"
 * (ERRNO one of ENOSPC, EIO, EDQUOT; CALLS "write" or "sync", else both)
 * makes write, pwrite, pwrite64 and writev, or fsync and fdatasync, fail
 * with that errno on any descriptor whose path (/proc/self/fd) contains
 * PATTERN; a line "count PATH" makes each failure append a line "ERRNO
 * CALL PATH" to PATH; a line "dlopen PATTERN" makes dlopen fail for
 * files whose name contains PATTERN, as if they were not installed.  Remove the file and they work
 * again.  Children (the docker CLI) do not inherit it.
 */
#define _GNU_SOURCE
#include <sys/types.h>
#include <sys/uio.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static __thread int busy;	/* inside our own calls: pass through */

__attribute__((constructor)) static void
init(void)
{
	unsetenv("LD_PRELOAD");
}

static ssize_t
real_write(int fd, const void *p, size_t n)
{
	static __typeof__(&write) f;

	if (f == NULL)
		f = (__typeof__(&write))dlsym(RTLD_NEXT, "write");
	return f(fd, p, n);
}

/* The errno to fail call with on fd, or 0. */
static int
injected(int fd, const char *call)
{
	const char *ctl = getenv("JOBRUN_INJECT");
	const char *kind = strstr(call, "sync") ? "sync" : "write";
	char path[4096], proc[64], line[4096], pat[4096], what[64], calls[16];
	char *count = NULL;
	int e = 0, cfd;
	ssize_t n;
	FILE *f;

	if (busy || ctl == NULL || fd < 0)
		return 0;
	busy = 1;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if ((n = readlink(proc, path, sizeof(path) - 1)) < 0 ||
	    (f = fopen(ctl, "re")) == NULL) {
		busy = 0;
		return 0;
	}
	path[n] = '\0';
	while (fgets(line, sizeof(line), f)) {
		*calls = '\0';
		if (sscanf(line, "%4095s %63s %15s", pat, what, calls) < 2)
			continue;
		if (strcmp(pat, "count") == 0) {
			free(count);
			count = strdup(what);
		} else if (e == 0 && strstr(path, pat) && (*calls == '\0' ||
		    strcmp(calls, kind) == 0))
			e = strcmp(what, "EIO") == 0 ? EIO : strcmp(what, "EDQUOT") ==
			    0 ? EDQUOT : ENOSPC;
	}
	fclose(f);
	if (e && count && (cfd = open(count, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC, 0600)) >= 0) {
		dprintf(cfd, "%s %s %s\n", strerrorname_np(e), call, path);
		close(cfd);
	}
	free(count);
	busy = 0;
	return e;
}

/* Whether the control file refuses to load file ("dlopen PATTERN"). */
static int
refused(const char *file)
{
	const char *ctl = getenv("JOBRUN_INJECT");
	char line[4096], pat[4096];
	int no = 0;
	FILE *f;

	if (ctl == NULL || file == NULL || (f = fopen(ctl, "re")) == NULL)
		return 0;
	while (!no && fgets(line, sizeof(line), f))
		no = sscanf(line, "dlopen %4095s", pat) == 1 && strstr(file, pat);
	fclose(f);
	return no;
}

void *
dlopen(const char *file, int flags)
{
	static __typeof__(&dlopen) next_;

	if (next_ == NULL)
		next_ = (__typeof__(&dlopen))dlsym(RTLD_NEXT, "dlopen");
	if (refused(file))
		return NULL;
	return next_(file, flags);
}

#define FAIL_IF(fd)	do { int e_ = injected(fd, __func__); if (e_) { errno = e_; \
			return -1; } } while (0)
#define NEXT(name)	static __typeof__(&name) next_; if (next_ == NULL) \
			next_ = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

ssize_t
write(int fd, const void *p, size_t n)
{
	FAIL_IF(fd);
	return real_write(fd, p, n);
}

ssize_t
pwrite(int fd, const void *p, size_t n, off_t off)
{
	NEXT(pwrite);
	FAIL_IF(fd);
	return next_(fd, p, n, off);
}

ssize_t
pwrite64(int fd, const void *p, size_t n, off64_t off)
{
	NEXT(pwrite64);
	FAIL_IF(fd);
	return next_(fd, p, n, off);
}

ssize_t
writev(int fd, const struct iovec *v, int n)
{
	NEXT(writev);
	FAIL_IF(fd);
	return next_(fd, v, n);
}

int
fsync(int fd)
{
	NEXT(fsync);
	FAIL_IF(fd);
	return next_(fd);
}

int
fdatasync(int fd)
{
	NEXT(fdatasync);
	FAIL_IF(fd);
	return next_(fd);
}
