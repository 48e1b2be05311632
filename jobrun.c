/*
 * jobrun - run container jobs on one machine, the way at(1) runs shell jobs.
 *
 * A job is a Tork job file: a list of tasks, each run in its own container by
 * the docker CLI.  Everything lives under one home directory (JOBRUN_HOME):
 *
 *   spool/tmp, spool/new   maildir-style drop box.  `submit` validates a job,
 *                          writes it to tmp/, fsyncs and renames it into new/;
 *                          cancel, stop, restart, prune, import and schedule
 *                          changes drop a small request file the same way,
 *                          and so does the daemon's HTTP face (--listen)
 *                          for what a request POSTs or PUTs.
 *                          A file in new/ is complete or absent, never half;
 *                          one the daemon cannot read goes to spool/bad,
 *                          a job it reads but refuses becomes a FAILED job.
 *   jobrun.db              SQLite (WAL).  Only the daemon writes it (or a
 *                          command holding the daemon's lock while none
 *                          runs: prune, import); ls, show, logs, wait open it
 *                          read-only.  Besides jobs and tasks it keeps cron
 *                          schedules, webhook deliveries, metric counters
 *                          and the number of rows by state and queue
 *                          (counts, kept by triggers: status, top and
 *                          metrics never count rows).
 *   logs/JOB/N.log         what task N's containers printed.
 *   work/JOB/N.A.S/        mounted at /tork in step S of attempt A of task N;
 *                          the task writes its result to /tork/stdout.
 *   secrets/JOB            the job's secrets, from ingestion until it
 *                          completes or is pruned (a FAILED job may be
 *                          restarted): the job text the database keeps has
 *                          them cut out.
 *                          secrets/SCHEDULE lives as long as the schedule,
 *                          secrets/hook-N until webhook delivery N is over.
 *   run/lock, run/daemon.pid, run/home-id, run/policy, run/fault
 *                          the daemon holds an exclusive flock on run/lock;
 *                          run/policy is what it lets jobs ask of the host,
 *                          run/fault what keeps it from working (status).
 *
 * Trust: nothing a job file, a spool file or the home says is believed.
 * Every value that reaches docker's argv is checked against its grammar
 * (vendor/grammar.c) by the one parser, at submit and again at ingest,
 * and the image follows "--"; bind sources and networks are the daemon's
 * to allow (its policy, checked at submit, ingest and start); a secret
 * goes to containers by environment only; the spool carries the exact
 * bytes submit checked; who spooled a file is its owner (fstat), and the
 * home must be ours alone.
 *
 * The life of a job: submit spools it (PENDING).  The daemon ingests job
 * files into the database in batches, one transaction for up to 2,000 of
 * them and a savepoint for each, and only then unlinks them, so a crash
 * between the two re-ingests jobs it already has, which the primary key
 * ignores.  The first task becomes PENDING; the scheduler starts PENDING
 * tasks by queue cap, priority and submission order.  A task attempt runs its
 * pre containers, its main container and its post containers one after
 * another; each is one `docker run` child whose output the daemon reads from
 * a pipe and appends, secrets redacted, to the log file; finished containers
 * are removed in batches, one `docker rm` for many attempts, and what the
 * engine keeps of them is swept once the daemon is idle.  When a task
 * completes the next becomes PENDING in the same transaction; a failed
 * attempt is retried up to retry.limit times (after retry.initialDelay,
 * growing), then fails the job.  A parallel or each task becomes child rows
 * of its own, run like tasks; a subjob task becomes a job of its own whose
 * end completes or fails the task.  A cron schedule is not a job: each firing
 * makes one.  Every state change may queue webhook deliveries, which forked
 * children make while the loop goes on.
 *
 * What survives a crash: everything.  Containers carry the home id, job,
 * task, attempt and step in their name and labels, and the database records
 * which step of which attempt each task is in.  A restarted daemon lists
 * this home's containers once, and starts nothing new before it has: a
 * step whose container still runs is followed until it exits; if it
 * exited, the exit status is collected as if the daemon had seen it; if it
 * was created but not started, it is started and followed (never removed:
 * its start may be on its way); if it never got created, the step runs
 * again.  The docker CLI children die with the daemon (PR_SET_PDEATHSIG),
 * their containers do not.  So a step's container starts once.  A
 * webhook delivery cut short is made again; a schedule whose firings fell
 * while no daemon ran fires once, not once per firing missed.  The same
 * recovery serves two faults without a restart: an engine that stops
 * answering (engine_lost: its tasks go back to PENDING, uncounted) and a
 * store that cannot be written (daemon_pause: the daemon forgets its
 * children, as a crash would, until a write goes through).
 *
 * States.  A job's and a task's state is an enum (jobrun.h), named only in
 * one table each (jstate_names, tstate_names).  job_move and task_move are
 * the only code that changes one; each checks the move against the table
 * of legal moves (jmoves, tmoves), which is this:
 *
 *  job   SCHEDULED ──due──► PENDING ──a task starts──► RUNNING
 *            │                 │ └─every task skipped─┐   │
 *            │                 │                      ▼   ▼
 *            │                 ├────────────────► COMPLETED
 *            ├─────────────────┼────────────────► FAILED ◄── a task failed
 *            └─────────────────┴────────────────► CANCELLED ◄── cancel, stop
 *                           FAILED, CANCELLED ──restart──► PENDING
 *
 *  task  CREATED ──its turn──► PENDING ──a slot──► SCHEDULED ──main step──► RUNNING
 *           │ ├──if false──► SKIPPED      │ ▲         (pre steps)              │
 *           │ └──composite──► RUNNING ◄───┘ └── retry (after a failed attempt) ┤
 *           │         (a subjob child, PENDING as it is made)                  │
 *           │                                                                  ▼
 *           └── any unfinished state ──► FAILED, CANCELLED            COMPLETED
 *                           FAILED, CANCELLED ──restart──► CREATED
 *
 * The runtime is a table of operations (struct runtime): ping, run,
 * follow, inspect, list, exec, remove, stop, volumes_remove.  Each only
 * builds a child's command line; docker is the first entry.  The daemon
 * runs every one as a child of its poll loop (struct run) and goes on
 * when it exits (an R_ASK's answer goes to ask_done), so no engine call
 * blocks it.  A queue may run on an engine of its own (-q Q:N@WHERE,
 * struct engine): each child is pointed at its task's engine through its
 * environment, and reconcile, sweep, batch rm and the down/up watch are
 * per engine, so that one engine's fault holds up its queues only.  The
 * entries are docker, podman, shell (processes, no engine) and swarm,
 * whose operations run a helper of jobrun's own (swarm-step) that speaks
 * for a service in a container's words.
 *
 * Sections, in data-flow order, each behind a banner (grep -n '^/. --'),
 * the long ones with inner banners:
 *   util
 *   job spec   nodes, marks, templates; fields; the host's policy;
 *              networks, mounts, sidecars, webhooks; references;
 *              freeing, scrubbing, parsing
 *   spool, store, records (a job as JSON), runtime (swarm: the step helper)
 *   daemon     children; the state machine; ingest; schedule; start; the
 *              engine answers; an attempt ends; cancel, stop, restart,
 *              timeouts; webhooks; retention; the loop
 *   commands   submit; ls, show, logs; cancel, stop, restart, wait;
 *              daemon, status; schedules, prune; export, import, metrics
 *   top        the grid; reading the store; drawing; keys; the loop
 *   main       the verb table, which owns each verb's options and help
 * Start reading main().
 */
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <archive.h>
#include <archive_entry.h>
/* curses has a meta() of its own; jobrun's (the meta table) keeps the name. */
#define meta curses_meta
#include <curses.h>
#undef meta
#include <microhttpd.h>
#include <sqlite3.h>
#include <yaml.h>

#include "jobrun.h"
#include "buf.h"
#include "cron.h"
#include "expr.h"
#include "grammar.h"
#include "http.h"
#include "redact.h"
#include "units.h"

/* ---------------------------------------------------------------- util -- */

static char errmsg[1024];	/* the message of the last error returned upward */
static char *home;		/* the jobrun home, absolute */

/*
 * What kind of error errmsg is, so that callers decide by it, never by its
 * text: the input's (E_INPUT: the same input fails again), or the
 * machine's, which may pass (a busy store, a full or failing disk), or a
 * store that is damaged or refuses a row.
 */
static enum errkind {
	E_INPUT, E_BUSY, E_FULL, E_IO, E_CORRUPT, E_CONSTRAINT
} errkind;

static int
fail(const char *fmt, ...)
{
	va_list ap;

	errkind = E_INPUT;
	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	return -1;
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		err(EX_ERR, "calloc");
	return p;
}

static void *
xreallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		errx(EX_ERR, "reallocarray: overflow");
	if ((p = realloc(p, n && size ? n * size : 1)) == NULL)
		err(EX_ERR, "realloc");
	return p;
}

static char *
xstrdup(const char *s)
{
	char *p;

	if (s == NULL)
		return NULL;
	if ((p = strdup(s)) == NULL)
		err(EX_ERR, "strdup");
	return p;
}

static char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		err(EX_ERR, "asprintf");
	va_end(ap);
	return s;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* RFC 3339 in UTC with milliseconds, as Tork prints times. */
static char *
fmt_rfc3339(long long ms, char *out, size_t n)
{
	time_t t = ms / 1000;
	struct tm tm;
	char s[32];

	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, n, "%s.%03lldZ", s, ms % 1000);
	return out;
}

static char *
fmt_local(long long ms, char *out, size_t n)
{
	time_t t = ms / 1000;
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm);
	return out;
}

static void
random_hex(char *out, size_t nhex)
{
	unsigned char r[32];
	size_t i;

	if (getrandom(r, (nhex + 1) / 2, 0) < 0)
		err(EX_ERR, "getrandom");
	for (i = 0; i < nhex; i++)
		out[i] = "0123456789abcdef"[(r[i / 2] >> (i % 2 ? 0 : 4)) & 15];
	out[nhex] = '\0';
}

static int
is_hex(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
			return 0;
	return 1;
}

/*
 * Reads what is left of fd (path names it in errors) into a NUL-terminated
 * buffer, at most max bytes (0: no limit).  NULL with errmsg, and errno
 * EFBIG when there was more.
 */
static char *
read_fd_max(int fd, const char *path, size_t max, size_t *lenp)
{
	struct buf b = { 0 };
	char chunk[65536];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (max && b.len + n > max)) {
			if (n < 0)
				fail("%s: %s", path, strerror(errno));
			else
				fail("%s: more than %zu bytes", path, max);
			free(b.s);
			errno = n < 0 ? errno : EFBIG;
			return NULL;
		}
		buf_addn(&b, chunk, n);
	}
	if (lenp)
		*lenp = b.len;
	return buf_take(&b);
}

static char *
read_fd(int fd, const char *path, size_t *lenp)
{
	return read_fd_max(fd, path, 0, lenp);
}

/* Reads a whole file (or stdin for "-"), at most max bytes (0: any). */
static char *
read_file_max(const char *path, size_t max, size_t *lenp)
{
	char *s;
	int fd, e;

	if (strcmp(path, "-") == 0)
		return read_fd_max(STDIN_FILENO, "<stdin>", max, lenp);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		fail("%s: %s", path, strerror(errno));
		return NULL;
	}
	s = read_fd_max(fd, path, max, lenp);
	e = errno;
	close(fd);
	errno = e;
	return s;
}

static char *
read_file(const char *path, size_t *lenp)
{
	return read_file_max(path, 0, lenp);
}

/* errno as an error kind: a full disk or an I/O error may pass. */
static void
errkind_errno(int e)
{
	errkind = e == ENOSPC || e == EDQUOT ? E_FULL : e == EIO ? E_IO :
	    E_INPUT;
}

/* Whether the last error may pass if the same thing is tried later. */
static int
err_again(void)
{
	return errkind == E_BUSY || errkind == E_FULL || errkind == E_IO;
}

/*
 * SQLite is loaded (dlopen) when a command first opens the store, not at
 * exec: its relocations cost a millisecond that submit, which never opens
 * it, would pay every time.  The calls below go through sq, by these
 * macros, so the code reads as plain SQLite.
 */
#define SQ_SONAME	"libsqlite3.so.0"
#define SQ_FUNCS \
	X(sqlite3_bind_double) X(sqlite3_bind_int) X(sqlite3_bind_int64) \
	X(sqlite3_bind_null) X(sqlite3_bind_parameter_index) \
	X(sqlite3_bind_text) X(sqlite3_busy_timeout) X(sqlite3_changes) \
	X(sqlite3_clear_bindings) X(sqlite3_close) X(sqlite3_column_double) \
	X(sqlite3_column_int) X(sqlite3_column_int64) X(sqlite3_column_text) \
	X(sqlite3_column_type) X(sqlite3_errcode) X(sqlite3_errmsg) \
	X(sqlite3_exec) X(sqlite3_expanded_sql) X(sqlite3_extended_errcode) \
	X(sqlite3_finalize) X(sqlite3_free) X(sqlite3_get_autocommit) \
	X(sqlite3_last_insert_rowid) X(sqlite3_open) X(sqlite3_open_v2) \
	X(sqlite3_prepare_v3) X(sqlite3_reset) X(sqlite3_step) \
	X(sqlite3_stmt_readonly) X(sqlite3_wal_checkpoint) X(sqlite3_wal_hook)
static struct {
#define X(f)	__typeof__(f) *m_##f;
	SQ_FUNCS
#undef X
} sq;
#define sqlite3_bind_double	(*sq.m_sqlite3_bind_double)
#define sqlite3_bind_int	(*sq.m_sqlite3_bind_int)
#define sqlite3_bind_int64	(*sq.m_sqlite3_bind_int64)
#define sqlite3_bind_null	(*sq.m_sqlite3_bind_null)
#define sqlite3_bind_parameter_index	(*sq.m_sqlite3_bind_parameter_index)
#define sqlite3_bind_text	(*sq.m_sqlite3_bind_text)
#define sqlite3_busy_timeout	(*sq.m_sqlite3_busy_timeout)
#define sqlite3_changes	(*sq.m_sqlite3_changes)
#define sqlite3_clear_bindings	(*sq.m_sqlite3_clear_bindings)
#define sqlite3_close	(*sq.m_sqlite3_close)
#define sqlite3_column_double	(*sq.m_sqlite3_column_double)
#define sqlite3_column_int	(*sq.m_sqlite3_column_int)
#define sqlite3_column_int64	(*sq.m_sqlite3_column_int64)
#define sqlite3_column_text	(*sq.m_sqlite3_column_text)
#define sqlite3_column_type	(*sq.m_sqlite3_column_type)
#define sqlite3_errcode	(*sq.m_sqlite3_errcode)
#define sqlite3_errmsg	(*sq.m_sqlite3_errmsg)
#define sqlite3_exec	(*sq.m_sqlite3_exec)
#define sqlite3_expanded_sql	(*sq.m_sqlite3_expanded_sql)
#define sqlite3_extended_errcode	(*sq.m_sqlite3_extended_errcode)
#define sqlite3_finalize	(*sq.m_sqlite3_finalize)
#define sqlite3_free	(*sq.m_sqlite3_free)
#define sqlite3_get_autocommit	(*sq.m_sqlite3_get_autocommit)
#define sqlite3_last_insert_rowid	(*sq.m_sqlite3_last_insert_rowid)
#define sqlite3_open	(*sq.m_sqlite3_open)
#define sqlite3_open_v2	(*sq.m_sqlite3_open_v2)
#define sqlite3_prepare_v3	(*sq.m_sqlite3_prepare_v3)
#define sqlite3_reset	(*sq.m_sqlite3_reset)
#define sqlite3_step	(*sq.m_sqlite3_step)
#define sqlite3_stmt_readonly	(*sq.m_sqlite3_stmt_readonly)
#define sqlite3_wal_checkpoint	(*sq.m_sqlite3_wal_checkpoint)
#define sqlite3_wal_hook	(*sq.m_sqlite3_wal_hook)

/*
 * Loads a library by dlopen, and its symbols names[] into slots[] (n of
 * them), once: *loaded says it was.  why and pkg go into the error: what
 * needs it, and the Debian package that has it.  Returns 0, or -1 with
 * errmsg.
 */
static int
lib_load(int *loaded, const char *soname, const char *const names[],
    void **const slots[], size_t n, const char *why, const char *pkg)
{
	const char *e;
	size_t i;
	void *h;

	if (*loaded)
		return 0;
	if ((h = dlopen(soname, RTLD_NOW | RTLD_LOCAL)) == NULL)
		return fail("%s, but %s cannot be loaded: %s (on Debian: apt-get "
		    "install %s)", why, soname, (e = dlerror()) ? e : "not found",
		    pkg);
	for (i = 0; i < n; i++)
		if ((*slots[i] = dlsym(h, names[i])) == NULL)
			return fail("%s has no %s: is it the version jobrun was "
			    "built with?", soname, names[i]);
	*loaded = 1;
	return 0;
}

/* Loads SQLite once.  Returns 0, or -1 with errmsg. */
static int
sq_load(void)
{
	static int loaded;
#define X(f)	#f,
	static const char *const names[] = { SQ_FUNCS };
#undef X
#define X(f)	(void **)&sq.m_##f,
	static void **const slots[] = { SQ_FUNCS };
#undef X

	return lib_load(&loaded, SQ_SONAME, names, slots, sizeof(names) /
	    sizeof(names[0]), "the store needs SQLite", "libsqlite3-0");
}

/*
 * Failpoints.  A crash-test build (make crashtest: -DJOBRUN_CRASHTEST)
 * names each durable step the daemon takes: a commit to the store (its
 * writes, as SQL), a spool file unlinked once ingested, a file renamed
 * into place, a child started (its argv: a container's run, rm, stop; a
 * query), a container's or a webhook's child seen to exit before what it
 * did is recorded.  When $JOBRUN_FAILPOINTS names a file, the daemon
 * kills itself with SIGKILL at the first step not listed there, having
 * listed it: started again and again, it crashes once at every step of
 * its work, and a step that each restart repeats (a container that never
 * got created is run again) is a crash only the first time, so the walk
 * ends.  Times (runs of ten digits or more) are not part of a step's
 * name.  The start-up writes (pid, meta, policy) are not failpoints: they
 * hold no job, and every restart crosses them anyway.  Other builds have
 * none of this.
 */
#ifdef JOBRUN_CRASHTEST
static int fp_armed;		/* set once the daemon has started */
static struct buf fp_tx;	/* the open transaction's writes */
static char *fp_done;		/* the file: the steps crashed at */

/* FNV-1a of s, a run of 10 digits or more counting as one '#'. */
static unsigned long long
fp_hash(const char *s)
{
	unsigned long long h = 14695981039346656037ULL;
	size_t n;

	for (; *s; s++) {
		n = strspn(s, "0123456789");
		if (n >= 10)
			s += n - 1;
		h = (h ^ (unsigned char)(n >= 10 ? '#' : *s)) * 1099511628211ULL;
	}
	return h;
}

static void
failpoint(const char *kind, const char *fmt, ...)
{
	const char *path = getenv("JOBRUN_FAILPOINTS");
	char id[64], *what;
	va_list ap;
	int fd;

	if (!fp_armed || path == NULL || *path == '\0')
		return;
	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		err(EX_ERR, "vasprintf");
	va_end(ap);
	snprintf(id, sizeof(id), "\n%s %016llx\t", kind, fp_hash(what));
	if (fp_done == NULL && (fp_done = read_file(path, NULL)) == NULL)
		fp_done = xstrdup("");
	/* the file starts with a newline, so that every name has one before */
	if (strstr(fp_done, id) == NULL) {
		what[strcspn(what, "\n")] = '\0';	/* the first line tells */
		if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0600)) < 0 || dprintf(fd, "%s%.200s\n", *fp_done ? id + 1 :
		    id, what) < 0 || fsync(fd) < 0)
			err(EX_ERR, "%s", path);
		kill(getpid(), SIGKILL);
	}
	free(what);
}

/* A write is part of the open transaction's name (or is one, alone). */
static void
failpoint_sql(sqlite3_stmt *st)
{
	char *sql;

	if (fp_armed && !sqlite3_stmt_readonly(st) &&
	    (sql = sqlite3_expanded_sql(st)) != NULL) {
		buf_add(&fp_tx, sql);
		buf_add(&fp_tx, ";");
		sqlite3_free(sql);
	}
}

/* A child started: its argv names the step. */
static void
failpoint_argv(char *const argv[])
{
	struct buf b = { 0 };
	size_t i;

	for (i = 0; fp_armed && argv[i]; i++) {
		buf_add(&b, argv[i]);
		buf_add(&b, " ");
	}
	if (b.s)
		failpoint("spawn", "%s", b.s);
	free(b.s);
}

/* A transaction rolled back: its writes name nothing. */
static void
failpoint_drop(void)
{
	free(buf_take(&fp_tx));
}

/* sqlite3_wal_hook: after each commit.  It does the usual checkpoints too. */
static int
failpoint_commit(void *arg, sqlite3 *h, const char *name, int frames)
{
	(void)arg;
	if (fp_tx.s)
		failpoint("commit", "%s", fp_tx.s);
	free(buf_take(&fp_tx));
	if (frames >= 1000)
		sqlite3_wal_checkpoint(h, name);
	return SQLITE_OK;
}
#else
#define failpoint(...)		((void)0)
#define failpoint_sql(st)	((void)0)
#define failpoint_argv(argv)	((void)0)
#define failpoint_drop()	((void)0)
#endif

/*
 * Writes dir/name atomically: a temporary file in tmpdir (on the same file
 * system; may be dir itself), fsync, rename.
 */
static int
write_file_atomic(const char *dir, const char *tmpdir, const char *name,
    const char *data, size_t len)
{
	char *tmp = xasprintf("%s/.%s.tmp", tmpdir, name);
	char *dst = xasprintf("%s/%s", dir, name);
	int fd, rc = -1;
	ssize_t n;
	size_t off = 0;

	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		fail("%s: %s", tmp, strerror(errno));
		goto out;
	}
	while (off < len) {
		if ((n = write(fd, data + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += n;
	}
	if (off < len || fsync(fd) < 0 || close(fd) < 0) {
		int e = errno;

		fail("%s: %s", tmp, strerror(e));
		errkind_errno(e);
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, dst) < 0) {
		fail("%s: %s", dst, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
	failpoint("rename", "%s", dst);
	rc = 0;
out:
	free(tmp);
	free(dst);
	return rc;
}

/*
 * Makes path and its parents (0700).  Returns 1 if it made one, 0, or -1.
 * Mostly it is there, or only its last parts are not: it goes up from the
 * end, so a deep home costs no call per part that exists.
 */
static int
mkdir_p(const char *path)
{
	char *p, *s;
	int rc;

	if (mkdir(path, 0700) == 0)
		return 1;
	if (errno == EEXIST)
		return 0;
	if (errno != ENOENT || (s = strrchr(path, '/')) == NULL || s == path)
		return fail("%s: %s", path, strerror(errno));
	p = xasprintf("%.*s", (int)(s - path), path);
	rc = mkdir_p(p);
	free(p);
	if (rc < 0)
		return -1;
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 1;
	return fail("%s: %s", path, strerror(errno));
}

/* Removes a directory tree; used for a finished job's work directory. */
static void
rm_rf(const char *path)
{
	DIR *d;
	struct dirent *e;

	if ((d = opendir(path)) == NULL) {
		unlink(path);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		char *p;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", path, e->d_name);
		if (e->d_type == DT_DIR)
			rm_rf(p);
		else
			unlink(p);
		free(p);
	}
	closedir(d);
	rmdir(path);
}

static void
strlist_add(struct strlist *l, char *s)
{
	l->v = xreallocarray(l->v, l->n + 2, sizeof(*l->v));
	l->v[l->n++] = s;
	l->v[l->n] = NULL;
}

static void
strlist_free(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void
kv_set(struct kvlist *l, const char *k, const char *v)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, k) == 0) {
			free(l->v[i].val);
			l->v[i].val = xstrdup(v);
			return;
		}
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n].key = xstrdup(k);
	l->v[l->n++].val = xstrdup(v);
}

static const char *
kv_get(const struct kvlist *l, const char *k)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, k) == 0)
			return l->v[i].val;
	return NULL;
}

static void
kv_free(struct kvlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].val);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Who spooled the request the daemon is acting on; -1 between requests. */
static long long caller_uid = -1;
static int log_quiet;		/* a command doing the daemon's work: no log */

/*
 * The daemon's own log: one logfmt line per event on stderr, naming the
 * caller's uid when a request caused it.
 */
static void
logf_(const char *level, const char *event, const char *fmt, ...)
{
	char t[40];
	va_list ap;

	if (log_quiet)
		return;
	fprintf(stderr, "time=%s level=%s event=%s", fmt_rfc3339(now_ms(), t,
	    sizeof(t)), level, event);
	if (fmt && *fmt) {
		fputc(' ', stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
	if (caller_uid >= 0)
		fprintf(stderr, " uid=%lld", caller_uid);
	fputc('\n', stderr);
}

/* ------------------------------------------------------------ job spec -- */

/*
 * A job file is parsed with libyaml's document API, so that every node keeps
 * its line and column, and checked against tables of the fields each object
 * may have.  All problems are collected, one line each, in the form
 * FILE:LINE:COL: PATH: MESSAGE, before anything is spooled.
 */

struct policy;

struct pctx {
	const char *file;
	const char *text;		/* the file, for positions inside scalars */
	size_t len;
	yaml_document_t *doc;
	struct buf errs;
	int nerr;
	const struct policy *pol;	/* the host policy to check, or NULL */
};

/* ---- nodes, marks, templates */

static void
perr(struct pctx *c, yaml_node_t *n, const char *path, const char *fmt, ...)
{
	va_list ap;
	char *m;

	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		err(EX_ERR, "vasprintf");
	va_end(ap);
	buf_addf(&c->errs, "%s:%zu:%zu: %s%s%s\n", c->file,
	    n ? n->start_mark.line + 1 : 1, n ? n->start_mark.column + 1 : 1,
	    path, *path ? ": " : "", m);
	c->nerr++;
	free(m);
}

struct field;
typedef void (*pfn)(struct pctx *, yaml_node_t *, const char *,
    const struct field *, void *);

typedef int (*gramfn)(const char *, const char **);

struct field {
	const char *key;
	pfn parse;
	size_t off;
	const struct field *sub;	/* fields of a nested mapping */
	long long min, max;		/* range of an integer */
	int eval;			/* {{ }} is evaluated in it */
	gramfn gram;			/* its values' (a mapping's keys') grammar */
	int argv;			/* on docker's command line: no secrets */
};

static yaml_node_t *
ynode(struct pctx *c, int i)
{
	return yaml_document_get_node(c->doc, i);
}

static const char *yscalar(yaml_node_t *);

/* The value of key in mapping n, or NULL. */
static yaml_node_t *
ymap_get(struct pctx *c, yaml_node_t *n, const char *key)
{
	yaml_node_pair_t *p;
	const char *k;

	if (n->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
		if ((k = yscalar(ynode(c, p->key))) != NULL && strcmp(k, key) == 0)
			return ynode(c, p->value);
	return NULL;
}

static const char *
yscalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/*
 * libyaml's marks count characters, after any byte-order mark; this is
 * the byte offset in the text of character idx.
 */
static size_t
mark_byte(const struct pctx *c, size_t idx)
{
	const unsigned char *t = (const unsigned char *)c->text;
	size_t i = c->len >= 3 && t[0] == 0xef && t[1] == 0xbb && t[2] == 0xbf ?
	    3 : 0;

	for (; idx > 0 && i < c->len; idx--)
		for (i++; i < c->len && (t[i] & 0xc0) == 0x80; i++)
			;
	return i;
}

/*
 * Where byte pos of a scalar's value is in the file: the value is the text
 * after quoting and escapes are undone, or block indentation taken away,
 * so walk the file's text alongside it.  Returns the offset in the file.
 */
static size_t
scalar_offset(const struct pctx *c, yaml_node_t *n, const char *v, size_t pos)
{
	const char *t = c->text;
	size_t i = mark_byte(c, n->start_mark.index);
	size_t end = mark_byte(c, n->end_mark.index), k, indent = 0;
	yaml_scalar_style_t st = n->data.scalar.style;

	if (st == YAML_SINGLE_QUOTED_SCALAR_STYLE || st == YAML_DOUBLE_QUOTED_SCALAR_STYLE)
		i++;
	if (st == YAML_LITERAL_SCALAR_STYLE || st == YAML_FOLDED_SCALAR_STYLE) {
		while (i < end && t[i] != '\n')
			i++;
		for (i++; i + indent < end && t[i + indent] == ' '; indent++)
			;
		i += indent;
	}
	for (k = 0; k < pos && v[k] && i < end; k++) {
		if (st == YAML_DOUBLE_QUOTED_SCALAR_STYLE && t[i] == '\\' &&
		    t[i + 1] == '\n') {
			/* an escaped line break stands for nothing */
			for (i += 2; i < end && (t[i] == ' ' || t[i] == '\t'); i++)
				;
			k--;
		} else if (t[i] == '\n') {
			/* a line break, folded or kept: the next line's indentation goes */
			size_t sp = 0;

			for (i++; i < end && (t[i] == ' ' || t[i] == '\t') &&
			    (!indent || sp < indent); sp++)
				i++;
		} else if (st == YAML_SINGLE_QUOTED_SCALAR_STYLE && t[i] == '\'' &&
		    t[i + 1] == '\'')
			i += 2;
		else if (st == YAML_DOUBLE_QUOTED_SCALAR_STYLE && t[i] == '\\')
			i += t[i + 1] == 'x' ? 4 : t[i + 1] == 'u' ? 6 :
			    t[i + 1] == 'U' ? 10 : 2;
		else
			i++;
	}
	return i < c->len ? i : c->len;
}

/*
 * Reports a syntax error in an evaluated field at its place in the file,
 * FILE:LINE:COL of the offending token.
 */
static void
check_template(struct pctx *c, yaml_node_t *n, const char *path, const char *s)
{
	char *why = NULL;
	size_t pos = 0, at, line = 1, col = 1, i;

	if (expr_template_check(s, &why, &pos) == 0)
		return;
	at = scalar_offset(c, n, s, pos);
	for (i = 0; i < at; i++, col++)
		if (c->text[i] == '\n') {
			line++;
			col = 0;
		}
	buf_addf(&c->errs, "%s:%zu:%zu: %s: %s\n", c->file, line, col, path,
	    why ? why : "invalid expression");
	c->nerr++;
	free(why);
}

/*
 * Whether a template reads a secret: the name `secrets` inside {{ }}.
 * Such a value must not reach docker's command line.
 */
static int
tmpl_secrets(const char *s)
{
	const char *p, *e, *w;

	for (; (p = strstr(s, "{{")) != NULL; s = e + 2) {
		if ((e = strstr(p + 2, "}}")) == NULL)
			e = p + strlen(p) - 2;
		for (w = p + 2; (w = strstr(w, "secrets")) != NULL && w < e; w += 7)
			if (!isalnum((unsigned char)w[-1]) && w[-1] != '_' &&
			    !isalnum((unsigned char)w[7]) && w[7] != '_')
				return 1;
	}
	return 0;
}

/* What each grammar is called in an error message. */
static const char *
gram_what(gramfn g)
{
	if (g == gram_image) return "an image reference";
	if (g == gram_envname) return "a variable name";
	if (g == gram_netname) return "a network name";
	if (g == gram_abspath) return "an absolute path";
	if (g == gram_gpus) return "a gpus value";
	return "valid";
}

/* s for an error message: at most 60 bytes, control characters as '?'. */
static const char *
quoted(const char *s, char out[64])
{
	size_t i;

	for (i = 0; s[i] && i < 60; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	snprintf(out + i, 64 - i, "%s", s[i] ? "..." : "");
	return out;
}

/*
 * The checks of a value that reaches docker's argv: its grammar (for a
 * template, once evaluated, when the task starts) and no secret in it.
 */
static void
check_argv(struct pctx *c, yaml_node_t *n, const char *path,
    const struct field *f, const char *v)
{
	const char *why;
	char q[64];

	if (f->gram && (!f->eval || strstr(v, "{{") == NULL) &&
	    f->gram(v, &why) < 0)
		perr(c, n, path, "'%s' is not %s: %s", quoted(v, q),
		    gram_what(f->gram), why);
	if (f->argv && f->eval && tmpl_secrets(v))
		perr(c, n, path, "a secret here would be on docker's command "
		    "line, which ps shows to every user: pass it in env (env: "
		    "{PW: '{{ secrets.pw }}'}) and use $PW in run or sh -c");
}

/* ---- fields */

static void
p_str(struct pctx *c, yaml_node_t *n, const char *path, const struct field *f,
    void *dst)
{
	char **p = (char **)((char *)dst + f->off);

	if (n->type != YAML_SCALAR_NODE) {
		perr(c, n, path, "must be a string");
		return;
	}
	free(*p);
	*p = xstrdup(yscalar(n));
	if (f->eval)
		check_template(c, n, path, *p);
	check_argv(c, n, path, f, *p);
}

static void
p_int(struct pctx *c, yaml_node_t *n, const char *path, const struct field *f,
    void *dst)
{
	const char *s = yscalar(n);
	char *end;
	long long v;

	errno = 0;
	v = s ? strtoll(s, &end, 10) : 0;
	if (s == NULL || *s == '\0' || *end != '\0' || errno) {
		perr(c, n, path, "must be an integer");
		return;
	}
	if (v < f->min || v > f->max) {
		perr(c, n, path, "must be between %lld and %lld, not %lld",
		    f->min, f->max, v);
		return;
	}
	*(int *)((char *)dst + f->off) = (int)v;
}

static void
p_duration(struct pctx *c, yaml_node_t *n, const char *path,
    const struct field *f, void *dst)
{
	const char *s = yscalar(n), *why;

	if (s == NULL || units_duration(s, (long long *)((char *)dst + f->off),
	    &why) < 0)
		perr(c, n, path, "invalid duration '%s' (%s); use e.g. 300ms, 45m, 1h30m",
		    s ? s : "", s ? why : "not a string");
}

static void
p_size(struct pctx *c, yaml_node_t *n, const char *path, const struct field *f,
    void *dst)
{
	const char *s = yscalar(n), *why;

	if (s == NULL || units_size(s, (long long *)((char *)dst + f->off),
	    &why) < 0)
		perr(c, n, path, "invalid size '%s' (%s); use e.g. 512k, 500m, 1g",
		    s ? s : "", s ? why : "not a string");
}

static void
p_cpus(struct pctx *c, yaml_node_t *n, const char *path, const struct field *f,
    void *dst)
{
	const char *s = yscalar(n);
	char *end;
	double v = s ? strtod(s, &end) : 0;

	if (s == NULL || *s == '\0' || *end != '\0' || !(v > 0) || v > 4096) {
		perr(c, n, path, "invalid cpus '%s'; use a positive number such as 0.5 or 2",
		    s ? s : "");
		return;
	}
	p_str(c, n, path, f, dst);
}

/* retry.scalingFactor: how much longer each wait is than the one before. */
static void
p_factor(struct pctx *c, yaml_node_t *n, const char *path,
    const struct field *f, void *dst)
{
	const char *s = yscalar(n);
	char *end;
	double v = s ? strtod(s, &end) : 0;

	if (s == NULL || *s == '\0' || *end != '\0' || !(v >= 1) || v > 100) {
		perr(c, n, path, "must be a number from 1 to 100, such as 2 or 1.5, "
		    "not '%s'", s ? s : "");
		return;
	}
	*(double *)((char *)dst + f->off) = v;
}

static void
p_strlist(struct pctx *c, yaml_node_t *n, const char *path,
    const struct field *f, void *dst)
{
	struct strlist *l = (struct strlist *)((char *)dst + f->off);
	yaml_node_item_t *it;

	if (n->type != YAML_SEQUENCE_NODE) {
		perr(c, n, path, "must be a list of strings");
		return;
	}
	strlist_free(l);
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *e = ynode(c, *it);

		if (e->type != YAML_SCALAR_NODE) {
			perr(c, e, path, "must be a list of strings");
			continue;
		}
		strlist_add(l, xstrdup(yscalar(e)));
		if (f->eval)
			check_template(c, e, path, yscalar(e));
		check_argv(c, e, path, f, yscalar(e));
	}
}

static void
p_kv(struct pctx *c, yaml_node_t *n, const char *path, const struct field *f,
    void *dst)
{
	struct kvlist *l = (struct kvlist *)((char *)dst + f->off);
	yaml_node_pair_t *p;
	const char *why;

	if (n->type != YAML_MAPPING_NODE) {
		perr(c, n, path, "must be a mapping of names to strings");
		return;
	}
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = ynode(c, p->key), *v = ynode(c, p->value);

		if (k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE) {
			perr(c, v, path, "must be a mapping of names to strings");
			continue;
		}
		if (f->gram && f->gram(yscalar(k), &why) < 0) {
			char q[64];

			perr(c, k, path, "'%s' is not %s: %s", quoted(yscalar(k), q),
			    gram_what(f->gram), why);
			continue;
		}
		kv_set(l, yscalar(k), yscalar(v));
		l->v[l->n - 1].line = v->start_mark.line + 1;
		l->v[l->n - 1].col = v->start_mark.column + 1;
		if (f->eval) {
			char sub[512];

			snprintf(sub, sizeof(sub), "%s.%s", path, yscalar(k));
			check_template(c, v, sub, yscalar(v));
		}
	}
}

static void parse_map(struct pctx *, yaml_node_t *, const char *,
    const struct field *, void *);

static void
p_sub(struct pctx *c, yaml_node_t *n, const char *path, const struct field *f,
    void *dst)
{
	parse_map(c, n, path, f->sub, (char *)dst + f->off);
}

/* Checks a step once its fields are in: what no single field can check. */
static void
step_check(struct pctx *c, yaml_node_t *n, const char *path, struct step *s)
{
	s->line = n->start_mark.line + 1;
	s->col = n->start_mark.column + 1;
	if (s->image == NULL || *s->image == '\0')
		perr(c, n, path, "missing required field 'image'");
}

typedef void (*item_check)(struct pctx *, yaml_node_t *, const char *, void *);

/*
 * Parses a list of mappings with the same fields into a growing array of
 * elements of size sz, checking each with check.
 */
static void
parse_list(struct pctx *c, yaml_node_t *n, const char *path, const char *what,
    const struct field *fields, void **v, size_t *nv, size_t sz,
    item_check check)
{
	yaml_node_item_t *it;
	char sub[512];
	char *e;

	if (n->type != YAML_SEQUENCE_NODE) {
		perr(c, n, path, "must be a list of %s", what);
		return;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		*v = xreallocarray(*v, *nv + 1, sz);
		e = (char *)*v + *nv * sz;
		memset(e, 0, sz);
		snprintf(sub, sizeof(sub), "%s[%zu]", path, (*nv)++);
		parse_map(c, ynode(c, *it), sub, fields, e);
		if (ynode(c, *it)->type == YAML_MAPPING_NODE)
			check(c, ynode(c, *it), sub, e);
	}
}

static void
step_item(struct pctx *c, yaml_node_t *n, const char *path, void *s)
{
	step_check(c, n, path, s);
}

static void
p_steps(struct pctx *c, yaml_node_t *n, const char *path, const struct field *f,
    void *dst)
{
	struct steplist *l = (struct steplist *)((char *)dst + f->off);

	parse_list(c, n, path, "tasks", f->sub, (void **)&l->v, &l->n,
	    sizeof(*l->v), step_item);
}

/*
 * Table rows: F(key, parser, struct, member) and E() for an evaluated
 * field; G(..., grammar) for a literal that reaches docker's argv, A() for
 * an evaluated one (no secrets in it), EG() for env (its names' grammar).
 */
#define F(k, fn, T, m) { k, fn, offsetof(T, m), NULL, 0, 0, 0, NULL, 0 }
#define E(k, fn, T, m) { k, fn, offsetof(T, m), NULL, 0, 0, 1, NULL, 0 }
#define G(k, fn, T, m, g) { k, fn, offsetof(T, m), NULL, 0, 0, 0, g, 1 }
#define A(k, fn, T, m, g) { k, fn, offsetof(T, m), NULL, 0, 0, 1, g, 1 }
#define EG(k, fn, T, m, g) { k, fn, offsetof(T, m), NULL, 0, 0, 1, g, 0 }
#define END { NULL, NULL, 0, NULL, 0, 0, 0, NULL, 0 }

static const struct field step_fields[] = {
	E("name", p_str, struct step, name),
	{ "description", NULL, 0, NULL, 0, 0, 0, NULL, 0 },
	A("image", p_str, struct step, image, gram_image),
	F("run", p_str, struct step, run),
	A("cmd", p_strlist, struct step, cmd, NULL),
	G("entrypoint", p_strlist, struct step, entrypoint, NULL),
	EG("env", p_kv, struct step, env, gram_envname),
	G("workdir", p_str, struct step, workdir, gram_abspath),
	END
};

static void p_factor(struct pctx *, yaml_node_t *, const char *,
    const struct field *, void *);

static const struct field retry_fields[] = {
	{ "limit", p_int, 0, NULL, 0, 10, 0, NULL, 0 },
	F("initialDelay", p_duration, struct retry, initial_ms),
	F("scalingFactor", p_factor, struct retry, scaling),
	END
};

static const struct field limits_fields[] = {
	{ "cpus", p_cpus, offsetof(struct limits, cpus), NULL, 0, 0, 0, NULL, 0 },
	{ "memory", p_size, offsetof(struct limits, memory), NULL, 0, 0, 0, NULL, 0 },
	END
};

static void p_tasklist(struct pctx *, yaml_node_t *, const char *,
    const struct field *, void *);
static void p_each(struct pctx *, yaml_node_t *, const char *,
    const struct field *, void *);
static void p_subjob(struct pctx *, yaml_node_t *, const char *,
    const struct field *, void *);
static void p_bool(struct pctx *, yaml_node_t *, const char *,
    const struct field *, void *);

static const struct field parallel_fields[] = {
	{ "tasks", p_tasklist, 0, NULL, 0, 0, 0, NULL, 0 },
	END
};

static const struct field each_fields[] = {
	E("list", p_str, struct each, list),
	F("var", p_str, struct each, var),
	{ "concurrency", p_int, offsetof(struct each, concurrency), NULL, 0,
	    100000, 0, NULL, 0 },
	{ "task", p_tasklist, offsetof(struct each, task), NULL, 1, 0, 0, NULL, 0 },
	END
};

static void p_mounts(struct pctx *, yaml_node_t *, const char *,
    const struct field *, void *);

static const struct field mount_fields[] = {
	F("type", p_str, struct mount, type),
	F("source", p_str, struct mount, source),
	F("target", p_str, struct mount, target),
	END
};

static const struct field registry_fields[] = {
	E("username", p_str, struct task, registry.username),
	E("password", p_str, struct task, registry.password),
	END
};

static void p_sidecars(struct pctx *, yaml_node_t *, const char *,
    const struct field *, void *);
static void p_networks(struct pctx *, yaml_node_t *, const char *,
    const struct field *, void *);

#define PO(m) (offsetof(struct sidecar, probe.m) - offsetof(struct sidecar, probe))
static const struct field probe_fields[] = {
	{ "path", p_str, PO(path), NULL, 0, 0, 0, NULL, 0 },
	{ "port", p_int, PO(port), NULL, 1, 65535, 0, NULL, 0 },
	{ "timeout", p_duration, PO(timeout_ms), NULL, 0, 0, 0, NULL, 0 },
	END
};
#undef PO

static const struct field sidecar_fields[] = {
	E("name", p_str, struct sidecar, c.name),
	A("image", p_str, struct sidecar, c.image, gram_image),
	F("run", p_str, struct sidecar, c.run),
	A("cmd", p_strlist, struct sidecar, c.cmd, NULL),
	G("entrypoint", p_strlist, struct sidecar, c.entrypoint, NULL),
	EG("env", p_kv, struct sidecar, c.env, gram_envname),
	G("workdir", p_str, struct sidecar, c.workdir, gram_abspath),
	{ "probe", p_sub, offsetof(struct sidecar, probe), probe_fields, 0, 0, 0, NULL, 0 },
	END
};

static const struct field task_fields[] = {
	E("name", p_str, struct task, c.name),
	F("description", p_str, struct task, description),
	A("image", p_str, struct task, c.image, gram_image),
	F("run", p_str, struct task, c.run),
	A("cmd", p_strlist, struct task, c.cmd, NULL),
	G("entrypoint", p_strlist, struct task, c.entrypoint, NULL),
	EG("env", p_kv, struct task, c.env, gram_envname),
	G("workdir", p_str, struct task, c.workdir, gram_abspath),
	E("var", p_str, struct task, var),
	E("queue", p_str, struct task, queue),
	E("if", p_str, struct task, if_),
	{ "priority", p_int, offsetof(struct task, priority), NULL, 0, 9, 0, NULL, 0 },
	{ "retry", p_sub, offsetof(struct task, retry), retry_fields, 0, 0, 0, NULL, 0 },
	F("timeout", p_duration, struct task, timeout_ms),
	{ "limits", p_sub, offsetof(struct task, limits), limits_fields, 0, 0, 0, NULL, 0 },
	G("volumes", p_strlist, struct task, volumes, gram_abspath),
	{ "pre", p_steps, offsetof(struct task, pre), step_fields, 0, 0, 0, NULL, 0 },
	{ "post", p_steps, offsetof(struct task, post), step_fields, 0, 0, 0, NULL, 0 },
	{ "parallel", p_sub, offsetof(struct task, parallel), parallel_fields,
	    0, 0, 0, NULL, 0 },
	{ "each", p_each, 0, each_fields, 0, 0, 0, NULL, 0 },
	{ "subjob", p_subjob, 0, NULL, 0, 0, 0, NULL, 0 },
	{ "mounts", p_mounts, 0, mount_fields, 0, 0, 0, NULL, 0 },
	{ "sidecars", p_sidecars, 0, sidecar_fields, 0, 0, 0, NULL, 0 },
	F("files", p_kv, struct task, files),
	{ "networks", p_networks, offsetof(struct task, networks), NULL, 0, 0,
	    0, gram_netname, 1 },
	F("tags", p_strlist, struct task, tags),
	G("gpus", p_str, struct task, gpus, gram_gpus),
	{ "registry", p_sub, 0, registry_fields, 0, 0, 0, NULL, 0 },
	END
};

static const struct field wait_fields[] = {
	F("timeout", p_duration, struct job, wait_ms),
	END
};

static const struct field defaults_fields[] = {
	{ "retry", p_sub, offsetof(struct task, retry), retry_fields, 0, 0, 0, NULL, 0 },
	{ "limits", p_sub, offsetof(struct task, limits), limits_fields, 0, 0, 0, NULL, 0 },
	F("timeout", p_duration, struct task, timeout_ms),
	F("queue", p_str, struct task, queue),
	{ "priority", p_int, offsetof(struct task, priority), NULL, 0, 9, 0, NULL, 0 },
	END
};

static void p_tasks(struct pctx *, yaml_node_t *, const char *,
    const struct field *, void *);

static const struct field schedule_fields[] = {
	F("cron", p_str, struct job, cron),
	END
};

static const struct field autodelete_fields[] = {
	F("after", p_duration, struct job, autodelete_ms),
	END
};

static void p_webhooks(struct pctx *, yaml_node_t *, const char *,
    const struct field *, void *);

static const struct field webhook_fields[] = {
	E("url", p_str, struct webhook, url),
	F("event", p_str, struct webhook, event),
	E("headers", p_kv, struct webhook, headers),
	E("if", p_str, struct webhook, if_),
	END
};

static const struct field job_fields[] = {
	F("name", p_str, struct job, name),
	F("description", p_str, struct job, description),
	F("inputs", p_kv, struct job, inputs),
	F("secrets", p_kv, struct job, secrets),
	{ "defaults", p_sub, offsetof(struct job, defaults), defaults_fields, 0, 0, 0, NULL, 0 },
	E("output", p_str, struct job, output),
	F("tags", p_strlist, struct job, tags),
	{ "wait", p_sub, 0, wait_fields, 0, 0, 0, NULL, 0 },
	F("unique", p_bool, struct job, unique),
	{ "schedule", p_sub, 0, schedule_fields, 0, 0, 0, NULL, 0 },
	{ "autoDelete", p_sub, 0, autodelete_fields, 0, 0, 0, NULL, 0 },
	{ "webhooks", p_webhooks, 0, webhook_fields, 0, 0, 0, NULL, 0 },
	{ "tasks", p_tasks, 0, NULL, 0, 0, 0, NULL, 0 },
	END
};

static const struct field subjob_fields[] = {
	E("name", p_str, struct job, name),
	F("description", p_str, struct job, description),
	E("inputs", p_kv, struct job, inputs),
	E("secrets", p_kv, struct job, secrets),
	{ "defaults", p_sub, offsetof(struct job, defaults), defaults_fields, 0, 0, 0, NULL, 0 },
	E("output", p_str, struct job, output),
	F("detached", p_bool, struct job, detached),
	{ "tasks", p_tasks, 0, NULL, 0, 0, 0, NULL, 0 },
	END
};
#undef F
#undef E
#undef G
#undef A
#undef EG
#undef END

/* Parses a mapping node field by field; a key with no table entry is an error. */
static void
parse_map(struct pctx *c, yaml_node_t *n, const char *path,
    const struct field *fields, void *dst)
{
	yaml_node_pair_t *p, *q;
	const struct field *f;
	char sub[512];

	if (n->type != YAML_MAPPING_NODE) {
		perr(c, n, path, "must be a mapping");
		return;
	}
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = ynode(c, p->key), *v = ynode(c, p->value);
		const char *key = yscalar(k);

		if (key == NULL) {
			perr(c, k, path, "a key must be a string");
			continue;
		}
		for (q = n->data.mapping.pairs.start; q < p; q++)
			if (yscalar(ynode(c, q->key)) &&
			    strcmp(yscalar(ynode(c, q->key)), key) == 0)
				break;
		if (q < p) {
			perr(c, k, path, "duplicate field '%s'", key);
			continue;
		}
		for (f = fields; f->key && strcmp(f->key, key) != 0; f++)
			;
		if (f->key == NULL) {
			perr(c, k, path, "unknown field '%s'", key);
			continue;
		}
		snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key);
		if (f->parse)
			f->parse(c, v, sub, f, dst);
	}
}

/* Marks what a task may inherit from the job's defaults as unset. */
static void
task_init(struct task *t)
{
	memset(t, 0, sizeof(*t));
	t->priority = -1;
	t->retry.limit = -1;
	t->retry.initial_ms = -1;
	t->timeout_ms = -1;
}

/* Fills what a task left unset from the job's defaults, else the built-ins. */
static void
task_defaults(struct task *t, const struct task *d)
{
	if (t->priority < 0)
		t->priority = d->priority < 0 ? 0 : d->priority;
	if (t->retry.limit < 0)
		t->retry.limit = d->retry.limit < 0 ? 0 : d->retry.limit;
	if (t->retry.initial_ms < 0)
		t->retry.initial_ms = d->retry.initial_ms < 0 ? 0 :
		    d->retry.initial_ms;
	if (t->retry.scaling == 0)
		t->retry.scaling = d->retry.scaling == 0 ? 2 : d->retry.scaling;
	if (t->timeout_ms < 0)
		t->timeout_ms = d->timeout_ms < 0 ? 0 : d->timeout_ms;
	if (t->limits.cpus == NULL && d->limits.cpus)
		t->limits.cpus = xstrdup(d->limits.cpus);
	if (t->limits.memory == 0)
		t->limits.memory = d->limits.memory;
	if (t->queue == NULL || *t->queue == '\0') {
		free(t->queue);
		t->queue = xstrdup(d->queue && *d->queue ? d->queue : "default");
	}
}

/* What a composite task (parallel, each, subjob) may not set, and how to tell. */
static const char *
task_forbidden(const struct task *t)
{
	if (t->c.image) return "image";
	if (t->c.run) return "run";
	if (t->c.cmd.n) return "cmd";
	if (t->c.env.n) return "env";
	if (t->queue) return "queue";
	if (t->pre.n) return "pre";
	if (t->post.n) return "post";
	if (t->volumes.n) return "volumes";
	if (t->mounts.n) return "mounts";
	if (t->sidecars.n) return "sidecars";
	if (t->files.n) return "files";
	if (t->c.entrypoint.n) return "entrypoint";
	if (t->c.workdir) return "workdir";
	if (t->networks.n) return "networks";
	if (t->gpus) return "gpus";
	if (t->registry.username) return "registry";
	if (t->retry.limit >= 0 || t->retry.initial_ms >= 0 || t->retry.scaling)
		return "retry";
	if (t->limits.cpus || t->limits.memory) return "limits";
	if (t->timeout_ms >= 0) return "timeout";
	return NULL;
}

/* Tork's rules for a task, once its fields are in. */
static void
task_check(struct pctx *c, yaml_node_t *n, const char *path, struct task *t,
    int nested)
{
	int kinds = (ymap_get(c, n, "parallel") != NULL) + (t->each != NULL) +
	    (t->subjob != NULL);
	const char *what = ymap_get(c, n, "parallel") ? "parallel" : t->each ?
	    "each" : "subjob", *bad;

	t->c.line = n->start_mark.line + 1;
	t->c.col = n->start_mark.column + 1;
	if (kinds == 0) {
		size_t i;

		step_check(c, n, path, &t->c);
		for (i = 0; i < t->files.n; i++)
			if (t->files.v[i].key[0] == '/' || strstr(t->files.v[i].key,
			    "..") || strchr(t->files.v[i].key, '/'))
				perr(c, ymap_get(c, n, "files"), path, "files: '%s' must "
				    "be a plain file name (it goes into /tork)",
				    t->files.v[i].key);
			else if (strcmp(t->files.v[i].key, "entrypoint") == 0 ||
			    strcmp(t->files.v[i].key, "stdout") == 0)
				perr(c, ymap_get(c, n, "files"), path, "files: '%s' is "
				    "jobrun's own file in /tork", t->files.v[i].key);
		return;
	}
	if (kinds > 1)
		perr(c, n, path, "a task has at most one of parallel, each and subjob");
	else if (nested && strcmp(what, "subjob") != 0)
		perr(c, n, path, "a%s %s task cannot be inside a parallel or each "
		    "task", *what == 'e' ? "n" : "", what);
	else if ((bad = task_forbidden(t)) != NULL)
		perr(c, ymap_get(c, n, bad), path, "a%s %s task sets no '%s'",
		    *what == 'e' ? "n" : "", what, bad);
	else if (strcmp(what, "parallel") == 0 &&
	    ymap_get(c, ymap_get(c, n, "parallel"), "tasks") == NULL)
		perr(c, ymap_get(c, n, "parallel"), path, "parallel: missing "
		    "required field 'tasks'");
}

/* Parses a list of tasks (or, with single, one task) into *v, *nv. */
static void
parse_tasks(struct pctx *c, yaml_node_t *n, const char *path, struct task **v,
    size_t *nv, int nested, int single)
{
	yaml_node_item_t *it, one = 0;
	yaml_node_item_t *start = n->data.sequence.items.start;
	yaml_node_item_t *top = n->data.sequence.items.top;
	char sub[512];

	if (single) {
		start = &one;
		top = start + 1;
	} else if (n->type != YAML_SEQUENCE_NODE) {
		perr(c, n, path, "must be a list of tasks");
		return;
	} else if (start == top) {
		perr(c, n, path, "must not be empty");
		return;
	}
	for (it = start; it < top; it++) {
		yaml_node_t *e = single ? n : ynode(c, *it);
		struct task *t;

		*v = xreallocarray(*v, *nv + 1, sizeof(**v));
		t = &(*v)[*nv];
		task_init(t);
		if (single)
			snprintf(sub, sizeof(sub), "%s", path);
		else
			snprintf(sub, sizeof(sub), "%s[%zu]", path, *nv);
		++*nv;
		parse_map(c, e, sub, task_fields, t);
		task_check(c, e, sub, t, nested);
		if (t->var && ymap_get(c, e, "var")) {
			yaml_node_t *vn = ymap_get(c, e, "var");

			t->var_line = vn->start_mark.line + 1;
			t->var_col = vn->start_mark.column + 1;
		}
	}
}

static void
p_tasks(struct pctx *c, yaml_node_t *n, const char *path, const struct field *f,
    void *dst)
{
	struct job *j = dst;

	(void)f;
	parse_tasks(c, n, path, &j->tasks, &j->ntasks, 0, 0);
}

/* parallel.tasks, or (min 1) each.task, which is a single task. */
static void
p_tasklist(struct pctx *c, yaml_node_t *n, const char *path,
    const struct field *f, void *dst)
{
	struct tasklist *l = (struct tasklist *)((char *)dst + f->off);

	parse_tasks(c, n, path, &l->v, &l->n, 1, f->min == 1);
}

static void
p_each(struct pctx *c, yaml_node_t *n, const char *path, const struct field *f,
    void *dst)
{
	struct task *t = dst;

	t->each = xcalloc(1, sizeof(*t->each));
	parse_map(c, n, path, f->sub, t->each);
	if (n->type == YAML_MAPPING_NODE && t->each->list == NULL)
		perr(c, n, path, "missing required field 'list'");
	if (n->type == YAML_MAPPING_NODE && t->each->task.n == 0)
		perr(c, n, path, "missing required field 'task'");
}

static void
p_subjob(struct pctx *c, yaml_node_t *n, const char *path,
    const struct field *f, void *dst)
{
	struct task *t = dst;
	size_t i;

	(void)f;
	t->subjob = xcalloc(1, sizeof(*t->subjob));
	t->subjob->wait_ms = -1;
	task_init(&t->subjob->defaults);
	parse_map(c, n, path, subjob_fields, t->subjob);
	if (n->type == YAML_MAPPING_NODE && t->subjob->ntasks == 0)
		perr(c, n, path, "missing required field 'tasks'");
	/* Only the job's own secrets are cut out of the stored text. */
	for (i = 0; i < t->subjob->secrets.n; i++)
		if (strstr(t->subjob->secrets.v[i].val, "{{") == NULL)
			perr(c, ymap_get(c, ymap_get(c, n, "secrets"),
			    t->subjob->secrets.v[i].key), path, "secrets.%s: give a "
			    "subjob's secret as {{ secrets.NAME }} of the job, not "
			    "as text", t->subjob->secrets.v[i].key);
}

/*
 * What a job may ask of the host is the daemon's to say: bind mount
 * sources only under `daemon --allow-bind` directories, networks beyond
 * none and the daemon's own only by `--allow-network`, job files up to
 * `--max-job-size`.  The daemon writes its policy to run/policy, so that
 * submit can refuse ahead what the daemon would; the daemon checks again
 * when it takes a job in, and its word wins.
 */
#define MAX_JOB_SIZE	(4LL << 20)	/* default --max-job-size */
#define MAX_TASKS	1000		/* tasks in one job file, nested too */
#define MAX_EACH	10000		/* elements of an each's list */
#define MAX_VALUE	(1 << 20)	/* an evaluated field */
#define MAX_OUTPUT	(1 << 20)	/* what a task writes to $TORK_OUTPUT */

struct policy {
	struct strlist binds;		/* real paths bind sources may be under */
	struct strlist nets;		/* networks allowed besides these: */
	char *network;			/* the daemon's own (--network), or NULL */
	long long max_job;		/* bytes in a job file */
	int known;			/* from a daemon: the allow-lists apply */
};
static struct policy pol = { { NULL, 0 }, { NULL, 0 }, NULL, MAX_JOB_SIZE, 0 };

/* Sockets that give whoever reaches them root on the host. */
static const char *const engine_sockets[] = { "/var/run/docker.sock",
	"/run/docker.sock", "/run/podman/podman.sock",
	"/run/containerd/containerd.sock", NULL };

/* ---- the host's policy */

/* The sockets of daemon -q QUEUE:N@unix://PATH, as many roots. */
static struct strlist engine_paths;

/*
 * Whether path (real, absolute) is never to be bound: /, the home or what
 * holds it or lies in it, or an engine's socket or what holds one.
 */
static const char *
policy_never(const char *path)
{
	const char *dh = getenv("DOCKER_HOST");
	char *r, *h = home ? realpath(home, NULL) : NULL;
	const char *why = NULL;
	size_t i;

	if (strcmp(path, "/") == 0)
		why = "/ is the whole host";
	else if (h && (gram_under(path, h) || gram_under(h, path)))
		why = "it holds or is inside the jobrun home (secrets, database)";
	for (i = 0; engine_sockets[i] && why == NULL; i++)
		if ((r = realpath(engine_sockets[i], NULL)) != NULL) {
			if (gram_under(r, path))
				why = "it is or holds the container engine's socket "
				    "(root on the host)";
			free(r);
		} else if (gram_under(engine_sockets[i], path))
			why = "it is or holds the container engine's socket "
			    "(root on the host)";
	if (why == NULL && dh && strncmp(dh, "unix://", 7) == 0 &&
	    (r = realpath(dh + 7, NULL)) != NULL) {
		if (gram_under(r, path))
			why = "it is or holds the container engine's socket (root "
			    "on the host)";
		free(r);
	}
	for (i = 0; i < engine_paths.n && why == NULL; i++) {
		r = realpath(engine_paths.v[i], NULL);
		if (gram_under(r ? r : engine_paths.v[i], path))
			why = "it is or holds the socket of an engine of -q (root "
			    "on the host)";
		free(r);
	}
	free(h);
	return why;
}

/* Whether the real path r is under a directory that p allows binding. */
static int
policy_allowed(const struct policy *p, const char *r)
{
	size_t i;

	for (i = 0; i < p->binds.n; i++)
		if (gram_under(r, p->binds.v[i]))
			return 1;
	return 0;
}

static int policy_quiet;	/* an HTTP caller: say nothing of host files */

/*
 * Whether src may be bound into a container.  Symbolic links are resolved
 * first, so that a link under an allowed directory cannot lead out of it.
 * Returns NULL, or why not.
 */
static const char *
policy_bind(const struct policy *p, const char *src)
{
	static char why[PATH_MAX + 160];
	const char *never;
	char *r = realpath(src, NULL);
	int no;

	if (policy_quiet && (r == NULL || policy_never(r) || (p->known &&
	    !policy_allowed(p, r)))) {
		snprintf(why, sizeof(why), "%.*s may not be bound (jobrun daemon "
		    "--allow-bind DIR)", PATH_MAX, src);
		free(r);
		return why;
	}
	if (r == NULL) {
		snprintf(why, sizeof(why), "%s: %s (docker would make it, as "
		    "root)", src, strerror(errno));
		return why;
	}
	if ((never = policy_never(r)) != NULL) {
		snprintf(why, sizeof(why), "binding %s is never allowed: %s", r,
		    never);
		free(r);
		return why;
	}
	if ((no = p->known && !policy_allowed(p, r)))
		snprintf(why, sizeof(why), "%s is not under a directory the daemon "
		    "allows (jobrun daemon --allow-bind DIR)", r);
	free(r);
	return no ? why : NULL;
}

/* Whether a task may join network name.  Returns NULL, or why not. */
static const char *
policy_network(const struct policy *p, const char *name)
{
	static char why[256];
	size_t i;

	if (!p->known || strcmp(name, "none") == 0 || (p->network &&
	    strcmp(name, p->network) == 0))
		return NULL;
	for (i = 0; i < p->nets.n; i++)
		if (strcmp(name, p->nets.v[i]) == 0)
			return NULL;
	snprintf(why, sizeof(why), "network '%s' is not allowed: the daemon "
	    "runs containers on '%s' (jobrun daemon --allow-network %s)", name,
	    p->network ? p->network : "the engine's default", name);
	return why;
}

/* The policy as run/policy keeps it: one "KEY VALUE" a line. */
static char *
policy_text(const struct policy *p)
{
	struct buf b = { 0 };
	size_t i;

	buf_addf(&b, "max-job-size %lld\n", p->max_job);
	if (p->network)
		buf_addf(&b, "network %s\n", p->network);
	for (i = 0; i < p->binds.n; i++)
		buf_addf(&b, "allow-bind %s\n", p->binds.v[i]);
	for (i = 0; i < p->nets.n; i++)
		buf_addf(&b, "allow-network %s\n", p->nets.v[i]);
	return buf_take(&b);
}

/*
 * Reads run/policy, which the daemon wrote, into pol.  Without one (no
 * daemon ever ran here) submit checks only what is never allowed, and the
 * daemon decides the rest when it takes the job in.
 */
static void
policy_load(void)
{
	char *path = xasprintf("%s/run/policy", home), *text, *line, *save, *v;

	text = read_file(path, NULL);
	free(path);
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
	    line = strtok_r(NULL, "\n", &save)) {
		if ((v = strchr(line, ' ')) == NULL)
			continue;
		*v++ = '\0';
		if (strcmp(line, "max-job-size") == 0 && atoll(v) > 0)
			pol.max_job = atoll(v);
		else if (strcmp(line, "network") == 0 && gram_netname(v, NULL) == 0)
			pol.network = xstrdup(v);
		else if (strcmp(line, "allow-bind") == 0 && gram_abspath(v, NULL) == 0)
			strlist_add(&pol.binds, xstrdup(v));
		else if (strcmp(line, "allow-network") == 0 &&
		    gram_netname(v, NULL) == 0)
			strlist_add(&pol.nets, xstrdup(v));
	}
	pol.known = text != NULL;
	free(text);
}

/* ---- networks, mounts, sidecars, webhooks */

static void
p_networks(struct pctx *c, yaml_node_t *n, const char *path,
    const struct field *f, void *dst)
{
	yaml_node_item_t *it;
	const char *why, *v;

	p_strlist(c, n, path, f, dst);
	if (c->pol == NULL || n->type != YAML_SEQUENCE_NODE)
		return;
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	    it++)
		if ((v = yscalar(ynode(c, *it))) != NULL && gram_netname(v, NULL) ==
		    0 && (why = policy_network(c->pol, v)) != NULL)
			perr(c, ynode(c, *it), path, "%s", why);
}

static void
mount_item(struct pctx *c, yaml_node_t *e, const char *sub, void *p)
{
	struct mount *m = p;
	const char *why;
	char q[64];

	if (m->type == NULL || (strcmp(m->type, "volume") != 0 &&
	    strcmp(m->type, "bind") != 0 && strcmp(m->type, "tmpfs") != 0))
		perr(c, e, sub, "type must be volume, bind or tmpfs");
	else if (m->target == NULL || m->target[0] != '/')
		perr(c, e, sub, "needs an absolute 'target'");
	else if (strpbrk(m->target, ":,") || (m->source && strpbrk(m->source, ":,")))
		perr(c, e, sub, "%s '%s' has a ':' or ',', which docker would read "
		    "as mount options", strpbrk(m->target, ":,") ? "target" : "source",
		    strpbrk(m->target, ":,") ? m->target : m->source);
	else if (strcmp(m->type, "bind") == 0 && (m->source == NULL ||
	    m->source[0] != '/'))
		perr(c, e, sub, "a bind mount needs an absolute 'source'");
	else if (strcmp(m->type, "bind") != 0 && m->source)
		perr(c, e, sub, "a %s mount has no 'source'", m->type);
	else if (gram_abspath(m->target, &why) < 0 || (m->source &&
	    gram_abspath(m->source, &why) < 0))
		perr(c, e, sub, "%s '%s' is not an absolute path: %s",
		    gram_abspath(m->target, NULL) < 0 ? "target" : "source",
		    quoted(gram_abspath(m->target, NULL) < 0 ? m->target :
		    m->source, q), why);
	else if (m->source && c->pol && (why = policy_bind(c->pol, m->source)))
		perr(c, e, sub, "%s", why);
}

static void
sidecar_item(struct pctx *c, yaml_node_t *e, const char *sub, void *p)
{
	struct sidecar *sc = p;

	step_check(c, e, sub, &sc->c);
	if (ymap_get(c, e, "probe") && sc->probe.port == 0)
		perr(c, ymap_get(c, e, "probe"), sub, "probe: missing required "
		    "field 'port'");
}

static void
p_sidecars(struct pctx *c, yaml_node_t *n, const char *path,
    const struct field *f, void *dst)
{
	struct sidecarlist *l = &((struct task *)dst)->sidecars;

	parse_list(c, n, path, "sidecars", f->sub, (void **)&l->v, &l->n,
	    sizeof(*l->v), sidecar_item);
}

static void
p_mounts(struct pctx *c, yaml_node_t *n, const char *path,
    const struct field *f, void *dst)
{
	struct mountlist *l = &((struct task *)dst)->mounts;

	parse_list(c, n, path, "mounts", f->sub, (void **)&l->v, &l->n,
	    sizeof(*l->v), mount_item);
}

static const char *const hook_events[] = { "job.StateChange", "job.Progress",
	"task.StateChange", "task.Progress", NULL };

static void
webhook_item(struct pctx *c, yaml_node_t *e, const char *sub, void *p)
{
	struct webhook *w = p;
	char path[512];
	size_t i;

	if (w->url == NULL || *w->url == '\0') {
		perr(c, e, sub, "missing required field 'url'");
		return;
	}
	if (w->event == NULL)
		w->event = xstrdup("job.StateChange");
	for (i = 0; hook_events[i] && strcmp(hook_events[i], w->event); i++)
		;
	if (hook_events[i] == NULL) {
		snprintf(path, sizeof(path), "%s.event", sub);
		perr(c, ymap_get(c, e, "event"), path, "'%s' is not an event: use "
		    "job.StateChange, job.Progress, task.StateChange, task.Progress",
		    w->event);
	} else if (strstr(w->url, "{{") == NULL && strncmp(w->url, "http://", 7)) {
		snprintf(path, sizeof(path), "%s.url", sub);
		perr(c, ymap_get(c, e, "url"), path, "'%s' must start with http:// "
		    "(jobrun speaks plain HTTP only)", w->url);
	}
}

static void
p_webhooks(struct pctx *c, yaml_node_t *n, const char *path,
    const struct field *f, void *dst)
{
	struct webhooklist *l = &((struct job *)dst)->webhooks;

	parse_list(c, n, path, "webhooks", f->sub, (void **)&l->v, &l->n,
	    sizeof(*l->v), webhook_item);
}

static void
p_bool(struct pctx *c, yaml_node_t *n, const char *path, const struct field *f,
    void *dst)
{
	const char *v = yscalar(n);

	if (v && (strcmp(v, "true") == 0 || strcmp(v, "false") == 0))
		*(int *)((char *)dst + f->off) = v[0] == 't';
	else
		perr(c, n, path, "must be true or false");
}

/*
 * {{ expressions }} are expr-lang's (vendor/expr.c), evaluated when a task
 * starts.  At submit time every evaluated field is checked for syntax, and
 * a plain reference to inputs.NAME or tasks.VAR must name something that
 * will exist: the most common mistake, caught before anything runs.
 */
typedef int (*ref_ok)(void *arg, const char *ns, const char *name);

/* ---- references */

/* Returns 0, or -1 with errmsg naming the first reference that is not ok. */
static int
spec_refs(const char *s, ref_ok ok, void *arg)
{
	const char *p, *e;
	char ref[256], *r, *dot, *end;

	for (; (p = strstr(s, "{{")) != NULL && (e = strstr(p + 2, "}}")) != NULL;
	    s = e + 2) {
		snprintf(ref, sizeof(ref), "%.*s", (int)(e - p - 2), p + 2);
		for (r = ref; isspace((unsigned char)*r); r++)
			;
		for (end = r + strlen(r); end > r && isspace((unsigned char)end[-1]); )
			*--end = '\0';
		if ((dot = strchr(r, '.')) == NULL || strspn(dot + 1,
		    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
		    != strlen(dot + 1) || dot[1] == '\0')
			continue;
		*dot = '\0';
		if ((strcmp(r, "inputs") == 0 || strcmp(r, "tasks") == 0) &&
		    !ok(arg, r, dot + 1))
			return fail("%s.%s is not %s", r, dot + 1, strcmp(r,
			    "tasks") == 0 ? "set by any earlier task's 'var'" :
			    "defined");
	}
	return 0;
}

/* What exists at submit time, seen from task `upto`. */
struct check_arg {
	struct job *j;
	size_t upto;
};

/* Whether a task, or a task inside it, sets var name. */
static int
task_sets_var(const struct task *t, const char *name)
{
	size_t k;

	if (t->var && strcmp(t->var, name) == 0)
		return 1;
	for (k = 0; k < t->parallel.n; k++)
		if (task_sets_var(&t->parallel.v[k], name))
			return 1;
	return t->each && t->each->task.n && task_sets_var(t->each->task.v, name);
}

static int
check_ref(void *arg, const char *ns, const char *name)
{
	struct check_arg *a = arg;
	size_t i;

	if (strcmp(ns, "inputs") == 0)
		return kv_get(&a->j->inputs, name) != NULL;
	for (i = 0; i < a->upto; i++)
		if (task_sets_var(&a->j->tasks[i], name))
			return 1;
	return 0;
}

static int env_private(const char *);

/*
 * References in env values; and no secret in a variable that the docker
 * CLI heeds itself (PATH, DOCKER_HOST...), which goes on its command line.
 */
static void
check_env(struct pctx *c, struct check_arg *a, const struct kvlist *env,
    const char *path)
{
	size_t i;

	for (i = 0; i < env->n; i++)
		if (spec_refs(env->v[i].val, check_ref, a) < 0 ||
		    (!env_private(env->v[i].key) && tmpl_secrets(env->v[i].val) &&
		    fail("the docker CLI reads %s itself, so it goes on its command "
		    "line, where ps shows it to every user: no secret in it",
		    env->v[i].key) < 0)) {
			buf_addf(&c->errs, "%s:%d:%d: %s.env.%s: %s\n", c->file,
			    env->v[i].line, env->v[i].col, path, env->v[i].key, errmsg);
			c->nerr++;
		}
}

static void spec_check(struct pctx *, struct job *, const char *);

/* Defaults and references of one task and of the tasks inside it. */
static void
spec_check_task(struct pctx *c, struct job *j, struct check_arg *a,
    struct task *t, const char *path)
{
	char sub[512];
	size_t k;

	if (t->parallel.n == 0 && t->each == NULL && t->subjob == NULL)
		task_defaults(t, &j->defaults);
	check_env(c, a, &t->c.env, path);
	for (k = 0; k < t->pre.n; k++) {
		snprintf(sub, sizeof(sub), "%s.pre[%zu]", path, k);
		check_env(c, a, &t->pre.v[k].env, sub);
	}
	for (k = 0; k < t->post.n; k++) {
		snprintf(sub, sizeof(sub), "%s.post[%zu]", path, k);
		check_env(c, a, &t->post.v[k].env, sub);
	}
	for (k = 0; k < t->parallel.n; k++) {
		snprintf(sub, sizeof(sub), "%s.parallel.tasks[%zu]", path, k);
		spec_check_task(c, j, a, &t->parallel.v[k], sub);
	}
	if (t->each && t->each->task.n) {
		snprintf(sub, sizeof(sub), "%s.each.task", path);
		spec_check_task(c, j, a, t->each->task.v, sub);
	}
	if (t->subjob) {
		snprintf(sub, sizeof(sub), "%s.subjob.", path);
		spec_check(c, t->subjob, sub);
	}
}

/* The checks that need the whole job: vars and references between tasks. */
static void
spec_check(struct pctx *c, struct job *j, const char *prefix)
{
	struct check_arg a = { j, 0 };
	char path[512];
	size_t i, k;

	for (i = 0; i < j->ntasks; i++) {
		struct task *t = &j->tasks[i];

		a.upto = i;
		snprintf(path, sizeof(path), "%stasks[%zu]", prefix, i);
		spec_check_task(c, j, &a, t, path);
		if (t->var == NULL)
			continue;
		for (k = 0; k < i; k++)
			if (j->tasks[k].var && strcmp(j->tasks[k].var, t->var) == 0) {
				buf_addf(&c->errs, "%s:%d:%d: %s.var: duplicate "
				    "var '%s' (also set at %d:%d)\n", c->file,
				    t->var_line, t->var_col, path, t->var,
				    j->tasks[k].var_line, j->tasks[k].var_col);
				c->nerr++;
				break;
			}
	}
}

/* ---- freeing, scrubbing, parsing */

static void
step_free(struct step *s)
{
	free(s->name);
	free(s->image);
	free(s->run);
	free(s->workdir);
	strlist_free(&s->cmd);
	strlist_free(&s->entrypoint);
	kv_free(&s->env);
}

static void spec_free(struct job *);

static void
task_free(struct task *t)
{
	size_t k;

	step_free(&t->c);
	free(t->description);
	free(t->var);
	free(t->queue);
	free(t->if_);
	free(t->limits.cpus);
	strlist_free(&t->volumes);
	for (k = 0; k < t->pre.n; k++)
		step_free(&t->pre.v[k]);
	for (k = 0; k < t->post.n; k++)
		step_free(&t->post.v[k]);
	free(t->pre.v);
	free(t->post.v);
	for (k = 0; k < t->parallel.n; k++)
		task_free(&t->parallel.v[k]);
	free(t->parallel.v);
	if (t->each) {
		free(t->each->list);
		free(t->each->var);
		for (k = 0; k < t->each->task.n; k++)
			task_free(&t->each->task.v[k]);
		free(t->each->task.v);
		free(t->each);
	}
	spec_free(t->subjob);
	for (k = 0; k < t->mounts.n; k++) {
		free(t->mounts.v[k].type);
		free(t->mounts.v[k].source);
		free(t->mounts.v[k].target);
	}
	free(t->mounts.v);
	for (k = 0; k < t->sidecars.n; k++) {
		step_free(&t->sidecars.v[k].c);
		free(t->sidecars.v[k].probe.path);
	}
	free(t->sidecars.v);
	kv_free(&t->files);
	strlist_free(&t->networks);
	strlist_free(&t->tags);
	free(t->gpus);
	free(t->registry.username);
	free(t->registry.password);
}

static void
spec_free(struct job *j)
{
	size_t i;

	if (j == NULL)
		return;
	for (i = 0; i < j->ntasks; i++)
		task_free(&j->tasks[i]);
	free(j->tasks);
	free(j->file);
	free(j->name);
	free(j->description);
	free(j->output);
	free(j->cron);
	for (i = 0; i < j->webhooks.n; i++) {
		free(j->webhooks.v[i].url);
		free(j->webhooks.v[i].event);
		free(j->webhooks.v[i].if_);
		kv_free(&j->webhooks.v[i].headers);
	}
	free(j->webhooks.v);
	free(j->defaults.queue);
	free(j->secret_at);
	free(j->defaults.limits.cpus);
	kv_free(&j->inputs);
	kv_free(&j->secrets);
	strlist_free(&j->tags);
	free(j);
}

/* schedule: needs a cron expression that parses. */
static void
spec_schedule(struct pctx *c, yaml_node_t *root, struct job *j)
{
	yaml_node_t *n = ymap_get(c, root, "schedule");
	struct cron cr;
	const char *why;

	if (n == NULL || n->type != YAML_MAPPING_NODE)
		return;
	if (j->cron == NULL)
		perr(c, n, "schedule", "missing required field 'cron'");
	else if (cron_parse(j->cron, &cr, &why) < 0)
		perr(c, ymap_get(c, n, "cron"), "schedule.cron", "invalid cron "
		    "expression '%s': %s", j->cron, why);
	else if (cron_next(&cr, now_ms()) < 0)
		perr(c, ymap_get(c, n, "cron"), "schedule.cron", "'%s' never fires "
		    "(no such time in the next five years)", j->cron);
}

/* Notes where the secrets' values are in the text, so that they can be cut out. */
static void
spec_secret_spans(struct pctx *c, yaml_node_t *root, struct job *j)
{
	yaml_node_t *m = root ? ymap_get(c, root, "secrets") : NULL, *n;
	yaml_node_pair_t *p;
	yaml_node_item_t *it;
	int *refs;

	if (m == NULL || m->type != YAML_MAPPING_NODE)
		return;
	/* How often each node is used: more than once is an anchor with aliases. */
	refs = xcalloc(c->doc->nodes.top - c->doc->nodes.start + 2, sizeof(*refs));
	for (n = c->doc->nodes.start; n < c->doc->nodes.top; n++)
		if (n->type == YAML_MAPPING_NODE)
			for (p = n->data.mapping.pairs.start;
			    p < n->data.mapping.pairs.top; p++)
				refs[p->value]++;
		else if (n->type == YAML_SEQUENCE_NODE)
			for (it = n->data.sequence.items.start;
			    it < n->data.sequence.items.top; it++)
				refs[*it]++;
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *v = ynode(c, p->value);

		/* An alias's node is its anchor's, elsewhere: not cut out. */
		if (refs[p->value] > 1 || v->start_mark.index < m->start_mark.index ||
		    v->end_mark.index > m->end_mark.index) {
			perr(c, ynode(c, p->key), "secrets", "'%s' must be written "
			    "out, not an anchor or an alias", yscalar(ynode(c, p->key)) ?
			    yscalar(ynode(c, p->key)) : "?");
			continue;
		}
		/* An empty value is nothing to cut (its marks are the next token's). */
		if (v->end_mark.index == v->start_mark.index)
			continue;
		j->secret_at = xreallocarray(j->secret_at, j->nsecret_at + 1,
		    sizeof(*j->secret_at));
		j->secret_at[j->nsecret_at][0] = mark_byte(c, v->start_mark.index);
		j->secret_at[j->nsecret_at++][1] = mark_byte(c, v->end_mark.index);
	}
	free(refs);
}

/* The job file with every secret's value replaced by "". */
static char *
spec_scrub(const char *text, size_t len, const struct job *j)
{
	struct buf b = { 0 };
	size_t i, at = 0;

	for (i = 0; i < j->nsecret_at; i++) {
		if (j->secret_at[i][0] < at || j->secret_at[i][1] > len)
			continue;
		buf_addn(&b, text + at, j->secret_at[i][0] - at);
		buf_add(&b, "\"\"");
		/*
		 * A block scalar's span takes its line breaks along, a bare
		 * CR being one too, and the next line's indentation: keep them.
		 */
		for (at = j->secret_at[i][1]; at > j->secret_at[i][0] &&
		    strchr("\r\n \t", text[at - 1]); at--)
			;
		at = at == j->secret_at[i][0] ? j->secret_at[i][1] : at;
	}
	buf_addn(&b, text + at, len - at);
	return buf_take(&b);
}

/* Whether two mappings or sequences hold the same nodes, by number. */
static int
ynode_kids_same(const yaml_node_t *a, const yaml_node_t *x)
{
	const void *pa, *px;
	size_t na, nx;

	if (a->type == YAML_MAPPING_NODE) {
		pa = a->data.mapping.pairs.start;
		px = x->data.mapping.pairs.start;
		na = (a->data.mapping.pairs.top - a->data.mapping.pairs.start) *
		    sizeof(yaml_node_pair_t);
		nx = (x->data.mapping.pairs.top - x->data.mapping.pairs.start) *
		    sizeof(yaml_node_pair_t);
	} else {
		pa = a->data.sequence.items.start;
		px = x->data.sequence.items.start;
		na = (a->data.sequence.items.top - a->data.sequence.items.start) *
		    sizeof(yaml_node_item_t);
		nx = (x->data.sequence.items.top - x->data.sequence.items.start) *
		    sizeof(yaml_node_item_t);
	}
	return na == nx && (na == 0 || memcmp(pa, px, na) == 0);
}

/*
 * The text the store keeps: the job file with every secret's value cut
 * out, checked by parsing it again.  It must be the same document but for
 * those values, now empty, or the daemon would one day run another job
 * than the one taken in.  Returns the text (caller frees), or NULL with
 * errmsg.  Node for node: libyaml numbers nodes in the order they come.
 */
static char *
spec_store_text(const char *text, size_t len, const struct job *j)
{
	struct pctx c = { NULL, text, len, NULL, { 0 }, 0, NULL };
	char *out;
	yaml_parser_t pa, pb;
	yaml_document_t da, dx;
	yaml_node_t *a, *x;
	size_t i, same = 0, k, n;
	int la = 0, lx = 0;

	if (j->nsecret_at == 0)		/* nothing to cut: the text as it is */
		return xasprintf("%.*s", (int)len, text);
	out = spec_scrub(text, len, j);
	yaml_parser_initialize(&pa);
	yaml_parser_initialize(&pb);
	yaml_parser_set_input_string(&pa, (const unsigned char *)text, len);
	yaml_parser_set_input_string(&pb, (const unsigned char *)out, strlen(out));
	if ((la = yaml_parser_load(&pa, &da)) && (lx = yaml_parser_load(&pb, &dx)) &&
	    (n = da.nodes.top - da.nodes.start) == (size_t)(dx.nodes.top -
	    dx.nodes.start))
		for (i = 0, same = 1; i < n && same; i++) {
			a = da.nodes.start + i;
			x = dx.nodes.start + i;
			if (a->type != x->type)
				same = 0;
			else if (a->type == YAML_SCALAR_NODE) {
				for (k = 0; k < j->nsecret_at && j->secret_at[k][0] !=
				    mark_byte(&c, a->start_mark.index); k++)
					;
				same = strcmp(yscalar(x), k < j->nsecret_at ? "" :
				    yscalar(a)) == 0;
			} else
				same = ynode_kids_same(a, x);
		}
	if (la)
		yaml_document_delete(&da);
	if (lx)
		yaml_document_delete(&dx);
	yaml_parser_delete(&pa);
	yaml_parser_delete(&pb);
	if (!same) {
		free(out);
		fail("secrets: jobrun cannot cut the secrets' values out of this "
		    "file and keep the rest as it is; write each as a quoted "
		    "string on one line");
		return NULL;
	}
	return out;
}

/*
 * The offset of the first byte of text that is not UTF-8, or a NUL, or len
 * if there is none.  libyaml reads only the first document, so it would
 * not see a bad byte after it; the spool's JSON could not carry one.
 */
static size_t
utf8_bad(const char *text, size_t len)
{
	const unsigned char *t = (const unsigned char *)text;
	size_t i = 0, n, k;
	unsigned cp;

	while (i < len) {
		if (t[i] == 0)
			return i;
		if (t[i] < 0x80) {
			i++;
			continue;
		}
		n = t[i] >= 0xf0 && t[i] <= 0xf4 ? 3 : t[i] >= 0xe0 ? 2 :
		    t[i] >= 0xc2 && t[i] < 0xe0 ? 1 : 0;
		if (t[i] > 0xf4 || n == 0)
			return i;
		cp = t[i] & (0x3f >> n);
		for (k = 1; k <= n; k++) {
			if (i + k >= len || (t[i + k] & 0xc0) != 0x80)
				return i;
			cp = cp << 6 | (t[i + k] & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return i;
		i += n + 1;
	}
	return len;
}

/* How many tasks a list holds, those inside composite tasks included. */
static size_t
spec_ntasks(const struct task *v, size_t n)
{
	size_t i, k = n;

	for (i = 0; i < n; i++) {
		k += spec_ntasks(v[i].parallel.v, v[i].parallel.n);
		if (v[i].each)
			k += spec_ntasks(v[i].each->task.v, v[i].each->task.n);
		if (v[i].subjob)
			k += spec_ntasks(v[i].subjob->tasks, v[i].subjob->ntasks);
	}
	return k;
}

/*
 * Parses and validates a job file, against the host policy p too unless
 * it is NULL (a job the daemon took in already, parsed again).  On success
 * returns the job (free with spec_free).  On failure returns NULL with
 * every problem, one per line, in *errs (the caller frees it).
 */
static struct job *
spec_parse(const char *file, const char *text, size_t len,
    const struct kvlist *overrides, const struct policy *p_, char **errs)
{
	struct pctx c = { file, text, len, NULL, { 0 }, 0, p_ };
	yaml_parser_t p;
	yaml_document_t doc;
	yaml_node_t *root;
	struct job *j = xcalloc(1, sizeof(*j));
	size_t i;

	j->file = xstrdup(file);
	j->wait_ms = -1;
	j->autodelete_ms = -1;
	task_init(&j->defaults);
	if ((i = utf8_bad(text, len)) < len) {
		size_t line = 1, col = 1, k;

		for (k = 0; k < i; k++, col++)
			if (text[k] == '\n') {
				line++;
				col = 0;
			}
		*errs = xasprintf("%s:%zu:%zu: a job file is UTF-8 text: this "
		    "is %s\n", file, line, col, text[i] ? "not UTF-8" : "a NUL byte");
		spec_free(j);
		return NULL;
	}
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	if (!yaml_parser_load(&p, &doc)) {
		buf_addf(&c.errs, "%s:%zu:%zu: %s%s%s\n", file,
		    p.problem_mark.line + 1, p.problem_mark.column + 1,
		    p.problem ? p.problem : "invalid YAML",
		    p.context ? " " : "", p.context ? p.context : "");
		yaml_parser_delete(&p);
		*errs = buf_take(&c.errs);
		spec_free(j);
		return NULL;
	}
	c.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	spec_secret_spans(&c, root, j);
	if (root == NULL || root->type != YAML_MAPPING_NODE)
		perr(&c, root, "", "a job must be a mapping with a 'tasks' list");
	else {
		parse_map(&c, root, "", job_fields, j);
		if (j->tasks == NULL && c.nerr == 0)
			perr(&c, root, "", "missing required field 'tasks'");
		else if ((i = spec_ntasks(j->tasks, j->ntasks)) > MAX_TASKS)
			perr(&c, ymap_get(&c, root, "tasks"), "tasks", "%zu tasks; "
			    "a job has at most %d, nested ones included", i,
			    MAX_TASKS);
		spec_schedule(&c, root, j);
	}
	for (i = 0; overrides && i < overrides->n; i++)
		kv_set(&j->inputs, overrides->v[i].key, overrides->v[i].val);
	if (c.nerr == 0)
		spec_check(&c, j, "");
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	if (c.nerr) {
		*errs = buf_take(&c.errs);
		spec_free(j);
		return NULL;
	}
	*errs = NULL;
	return j;
}

/* A task's display name: its name, else its position. */
static const char *
task_label(const struct task *t, size_t pos, char *buf, size_t n)
{
	if (t->c.name && *t->c.name)
		return t->c.name;
	snprintf(buf, n, "task %zu", pos);
	return buf;
}

/* --------------------------------------------------------------- spool -- */

/*
 * A spooled file is one JSON object (which libyaml reads back): a job
 * envelope {"jobrun":1,"id","created","file","inputs","source"} whose source
 * is the job file as submitted, or a request {"jobrun":1,"op","job"}.  Names
 * sort in submission order: MILLISECONDS-ID.job and MILLISECONDS-RANDOM.req.
 */

struct env {			/* a spooled file, read back */
	char *op;		/* "submit" for a job, else the request */
	char *id, *file, *source;
	char *sub;		/* a subjob: where it is in source, "POS[.IDX]" */
	long long created, due;
	struct kvlist inputs, secrets;
	long long uid;		/* who spooled it, for the daemon's log */
	long long arg;		/* stop: grace ms; prune: minimum age ms */
	char *state;		/* prune: only jobs in this state */
	char *cron;		/* op "schedule": when the job runs */
	char *data;		/* op "import": the job's rows, as export wrote them */
};

static char *
home_path(const char *fmt, ...)
{
	va_list ap;
	char *rel, *p;

	va_start(ap, fmt);
	if (vasprintf(&rel, fmt, ap) < 0)
		err(EX_ERR, "vasprintf");
	va_end(ap);
	p = xasprintf("%s/%s", home, rel);
	free(rel);
	return p;
}

static int
spool_init(void)
{
	static const char *dirs[] = { "spool/tmp", "spool/new", "logs", "work",
		"run", "secrets" };
	size_t i;
	char *p;
	int rc, made = 0;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		p = home_path("%s", dirs[i]);
		rc = mkdir_p(p);
		free(p);
		if (rc < 0)
			return -1;
		made |= rc;
	}
	return made;	/* 1: made one, which the home's check has not seen */
}

/*
 * One path of the home: ours, and writable by us alone; an ancestor may
 * be root's too, and others' to write if sticky.  The home itself may be
 * a symbolic link (follow), what is in it not.
 */
static int
home_check_one(const char *path, int ancestor, int follow)
{
	static uid_t me = (uid_t)-1;
	struct stat sb;

	if (me == (uid_t)-1)
		me = geteuid();
	if ((follow ? stat(path, &sb) : lstat(path, &sb)) < 0)
		return errno == ENOENT ? 0 : fail("%s: %s", path, strerror(errno));
	if (!follow && S_ISLNK(sb.st_mode))
		return fail("%s is a symbolic link; a jobrun home holds none: "
		    "remove it, or use another --home", path);
	if (sb.st_uid != me && (!ancestor || sb.st_uid != 0))
		return fail("%s belongs to uid %u, not to uid %u who runs jobrun; "
		    "a home must be its user's alone: chown %u %s, or use "
		    "another --home", path, (unsigned)sb.st_uid, (unsigned)me,
		    (unsigned)me, path);
	if ((sb.st_mode & 022) && !(ancestor && (sb.st_mode & S_ISVTX)))
		return fail("%s can be written by %s (mode %04o); a home must be "
		    "its user's alone: chmod go-w %s", path, sb.st_mode & 020 ?
		    "its group" : "others", (unsigned)(sb.st_mode & 07777), path);
	return 0;
}

/*
 * Whoever can write the home can plant jobs, read secrets or swap the
 * database, so it must be ours alone, as at(1) and sshd's StrictModes
 * ask of theirs: the home and what is in it owned by us and writable by
 * nobody else; the directories above it root's or ours, and writable by
 * others only when sticky (/tmp).  Returns 0, or -1 with errmsg naming
 * the path and the fix.
 */
static int
home_check(void)
{
	static const char *const in[] = { "", "/spool", "/spool/tmp",
		"/spool/new", "/spool/bad", "/run", "/secrets", "/logs", "/work",
		"/jobrun.db", "/run/lock", NULL };
	char *p, *r = realpath(home, NULL), *up;
	size_t i;
	int rc = 0;

	for (i = 0; in[i] && rc == 0; i++) {
		p = xasprintf("%s%s", home, in[i]);
		rc = home_check_one(p, 0, i == 0);
		free(p);
	}
	for (up = r; rc == 0 && up && (p = strrchr(up, '/')) != NULL; ) {
		*(p == up ? p + 1 : p) = '\0';
		rc = home_check_one(up, 1, 1);
		if (p == up)
			break;
	}
	free(r);
	return rc;
}

static int
spool_put(const char *name, const char *text)
{
	char *dir, *tmp;
	int rc;

	if (home_check() < 0 || (rc = spool_init()) < 0 || (rc && home_check() < 0))
		return -1;
	dir = home_path("spool/new");
	tmp = home_path("spool/tmp");
	rc = write_file_atomic(dir, tmp, name, text, strlen(text));
	free(dir);
	free(tmp);
	return rc;
}

/* A job's inputs as the store keeps them: what unique jobs compare. */
static int
kvcmp(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

/* In key order, so that the same inputs given in another order compare equal. */
static void
inputs_json(struct buf *b, const struct kvlist *l)
{
	struct kv *v = xcalloc(l->n, sizeof(*v));
	size_t i;

	if (l->n) {	/* l->v may be NULL then */
		memcpy(v, l->v, l->n * sizeof(*v));
		qsort(v, l->n, sizeof(*v), kvcmp);
	}
	buf_add(b, "{");
	for (i = 0; i < l->n; i++)
		json_kstr(b, v[i].key, v[i].val);
	json_end(b, '}');
	free(v);
}

static void
json_kv(struct buf *b, const char *k, const struct kvlist *l)
{
	size_t i;

	buf_addf(b, "\"%s\":{", k);
	for (i = 0; i < l->n; i++)
		json_kstr(b, l->v[i].key, l->v[i].val);
	json_end(b, '}');
	buf_add(b, ",");
}

/* An envelope as JSON text (caller frees), with or without the secrets. */
static char *
env_text(const struct env *e, int with_secrets)
{
	struct buf b = { 0 };

	buf_add(&b, "{\"jobrun\":1,");
	json_kstr(&b, "op", e->op);
	json_kstr(&b, "id", e->id);
	json_kint(&b, "created", e->created);
	if (e->due)
		json_kint(&b, "due", e->due);
	json_kstr(&b, "file", e->file);
	json_kstr(&b, "sub", e->sub);
	json_kstr(&b, "cron", e->cron);
	json_kint(&b, "uid", (long long)getuid());
	json_kv(&b, "inputs", &e->inputs);
	if (with_secrets)
		json_kv(&b, "secrets", &e->secrets);
	json_kstr(&b, "source", e->source);
	json_end(&b, '}');
	buf_add(&b, "\n");
	return buf_take(&b);
}

/*
 * Spools a validated job: the exact bytes submit checked, so that the
 * daemon parses what submit did, and the secrets' values beside them in
 * the envelope's own "secrets".  The daemon cuts them out of the text it
 * stores and keeps them in one file of their own (secrets/JOB).
 */
static int
spool_job(const struct job *j, const char *text, size_t len,
    const struct kvlist *ov)
{
	struct env e = { 0 };
	char name[64], *s;
	int rc;

	(void)len;
	e.op = j->cron ? "schedule" : "submit";
	e.id = (char *)j->id;
	e.created = j->created;
	e.due = j->due;
	e.file = j->file;
	e.cron = j->cron;
	e.inputs = *ov;
	e.secrets = j->secrets;
	e.source = (char *)text;
	s = env_text(&e, 1);
	snprintf(name, sizeof(name), "%013lld-%s.%s", j->created, j->id,
	    j->cron ? "sched" : "job");
	rc = spool_put(name, s);
	free(s);
	return rc;
}

/*
 * Spools a request (cancel, stop, restart, prune, import...) for the
 * daemon; arg, state and data as the op needs them.
 */
static int
spool_reqd(const char *op, const char *id, long long arg, const char *state,
    const char *data)
{
	struct buf b = { 0 };
	char name[64], rnd[9];
	int rc;

	buf_add(&b, "{\"jobrun\":1,");
	json_kstr(&b, "op", op);
	json_kstr(&b, "job", id);
	json_kint(&b, "uid", (long long)getuid());
	json_kint(&b, "arg", arg);
	json_kstr(&b, "state", state);
	json_kstr(&b, "data", data);
	json_end(&b, '}');
	buf_add(&b, "\n");
	random_hex(rnd, 8);
	snprintf(name, sizeof(name), "%013lld-%s.req", now_ms(), rnd);
	rc = spool_put(name, b.s);
	free(b.s);
	return rc;
}

static int
spool_req(const char *op, const char *id, long long arg, const char *state)
{
	return spool_reqd(op, id, arg, state, NULL);
}

static void
env_free(struct env *e)
{
	free(e->op);
	free(e->id);
	free(e->file);
	free(e->source);
	free(e->sub);
	free(e->state);
	free(e->cron);
	free(e->data);
	kv_free(&e->inputs);
	kv_free(&e->secrets);
	memset(e, 0, sizeof(*e));
}

/* Reads an envelope or request from text.  Returns 0, or -1 and errmsg. */
static int
spool_parse(const char *text, struct env *e)
{
	yaml_parser_t p;
	yaml_document_t doc;
	yaml_node_t *root;
	yaml_node_pair_t *pr;
	int rc = 0;

	memset(e, 0, sizeof(*e));
	e->uid = -1;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
	if (!yaml_parser_load(&p, &doc)) {
		yaml_parser_delete(&p);
		return fail("unreadable spool file: %s", p.problem ? p.problem : "?");
	}
	root = yaml_document_get_root_node(&doc);
	if (root == NULL || root->type != YAML_MAPPING_NODE)
		rc = fail("unreadable spool file: not a mapping");
	for (pr = rc ? NULL : root->data.mapping.pairs.start;
	    pr && pr < root->data.mapping.pairs.top; pr++) {
		const char *k = yscalar(yaml_document_get_node(&doc, pr->key));
		yaml_node_t *vn = yaml_document_get_node(&doc, pr->value);
		const char *v = yscalar(vn);

		if (k == NULL)
			continue;
		if (strcmp(k, "op") == 0 && v)
			e->op = xstrdup(v);
		else if ((strcmp(k, "id") == 0 || strcmp(k, "job") == 0) && v)
			e->id = xstrdup(v);
		else if (strcmp(k, "file") == 0 && v)
			e->file = xstrdup(v);
		else if (strcmp(k, "source") == 0 && v)
			e->source = xstrdup(v);
		else if (strcmp(k, "sub") == 0 && v)
			e->sub = xstrdup(v);
		else if (strcmp(k, "created") == 0 && v)
			e->created = strtoll(v, NULL, 10);
		else if (strcmp(k, "due") == 0 && v)
			e->due = strtoll(v, NULL, 10);
		else if (strcmp(k, "uid") == 0 && v)
			e->uid = strtoll(v, NULL, 10);
		else if (strcmp(k, "arg") == 0 && v)
			e->arg = strtoll(v, NULL, 10);
		else if (strcmp(k, "state") == 0 && v)
			e->state = xstrdup(v);
		else if (strcmp(k, "cron") == 0 && v)
			e->cron = xstrdup(v);
		else if (strcmp(k, "data") == 0 && v)
			e->data = xstrdup(v);
		else if ((strcmp(k, "inputs") == 0 || strcmp(k, "secrets") == 0) &&
		    vn->type == YAML_MAPPING_NODE) {
			struct kvlist *l = k[0] == 'i' ? &e->inputs : &e->secrets;
			yaml_node_pair_t *q;

			for (q = vn->data.mapping.pairs.start;
			    q < vn->data.mapping.pairs.top; q++) {
				const char *ik = yscalar(yaml_document_get_node(&doc, q->key));
				const char *iv = yscalar(yaml_document_get_node(&doc, q->value));

				if (ik && iv)
					kv_set(l, ik, iv);
			}
		}
	}
	if (rc == 0 && (e->op == NULL || e->id == NULL ||
	    ((strcmp(e->op, "submit") == 0 || strcmp(e->op, "schedule") == 0) &&
	    e->source == NULL) || (strcmp(e->op, "schedule") == 0 &&
	    e->cron == NULL)))
		rc = fail("unreadable spool file: missing fields");
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	if (rc)
		env_free(e);
	return rc;
}

/*
 * The subjob at path ("POS", or "POS.IDX" inside a parallel or each) of
 * job p, taken out of it; p is freed.  NULL with errmsg if there is none.
 */
static struct job *
spec_subjob(struct job *p, const char *path)
{
	struct task *t = NULL;
	struct job *sj = NULL;
	char *dot;
	long pos = strtol(path, &dot, 10), idx = *dot == '.' ? atol(dot + 1) : -1;

	if (pos >= 1 && (size_t)pos <= p->ntasks)
		t = &p->tasks[pos - 1];
	if (t && idx >= 0)
		t = t->each ? t->each->task.v : (size_t)idx < t->parallel.n ?
		    &t->parallel.v[idx] : NULL;
	if (t && (sj = t->subjob) != NULL) {
		t->subjob = NULL;
		sj->file = xstrdup(p->file);
	} else
		fail("no subjob at %s", path);
	spec_free(p);
	return sj;
}

/*
 * The job an envelope carries, checked against the host policy p (NULL:
 * parsed again, as the daemon took it in already); NULL with errmsg if it
 * does not parse.
 */
static struct job *
spool_job_of(const struct env *e, const struct policy *p)
{
	struct job *j;
	char *errs;
	size_t i;

	j = spec_parse(e->file ? e->file : "job", e->source, strlen(e->source),
	    &e->inputs, p, &errs);
	if (j == NULL) {
		fail("%s", errs);
		free(errs);
		return NULL;
	}
	if (e->sub && (j = spec_subjob(j, e->sub)) == NULL)
		return NULL;
	for (i = 0; e->sub && i < e->inputs.n; i++)
		kv_set(&j->inputs, e->inputs.v[i].key, e->inputs.v[i].val);
	snprintf(j->id, sizeof(j->id), "%s", e->id);
	j->created = e->created;
	for (i = 0; i < e->secrets.n; i++)
		kv_set(&j->secrets, e->secrets.v[i].key, e->secrets.v[i].val);
	return j;
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in spool/new, sorted, so in submission order. */
static void
spool_list(struct strlist *out)
{
	char *dir = home_path("spool/new");
	DIR *d = opendir(dir);
	struct dirent *e;

	memset(out, 0, sizeof(*out));
	free(dir);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			strlist_add(out, xstrdup(e->d_name));
	closedir(d);
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmpstr);
}

static int
spool_too_big(long long size)
{
	char lim[UNITS_BUFSZ];

	return fail("the job file is %lld bytes, over the daemon's limit of %s "
	    "(jobrun daemon --max-job-size)", size, units_fmt_size(pol.max_job,
	    lim, sizeof(lim)));
}

/*
 * A spool file too big to read names its job: MILLISECONDS-ID.job (or
 * .sched).  Returns 1 with e->id, e->op and e->created set, else -1.
 */
static int
spool_refused_id(const char *name, struct env *e)
{
	char id[ID_LEN + 1];
	long long ms;
	int n = 0;

	if (sscanf(name, "%13lld-%12[0-9a-f]%n", &ms, id, &n) != 2 ||
	    strlen(id) != ID_LEN || (strcmp(name + n, ".job") &&
	    strcmp(name + n, ".sched")))
		return -1;
	e->id = xstrdup(id);
	e->op = xstrdup(name[n + 1] == 'j' ? "submit" : "schedule");
	e->created = ms;
	return 1;
}

/*
 * Reads spool/new/NAME into e, and its text into *textp if wanted.  Who
 * spooled it is the file's owner as the kernel says (e->uid), never what
 * the file claims.  Returns 0; -1 with errmsg when it is not a file of
 * ours that reads as an envelope; 1 with errmsg when it does but must be
 * refused (too big, or claiming another uid): e->id names the job.
 */
static int
spool_read(const char *name, struct env *e, char **textp)
{
	char *path = home_path("spool/new/%s", name), *text = NULL;
	long long max = 6 * pol.max_job + 65536;	/* JSON-escaped */
	struct stat sb;
	int fd, rc = -1;

	memset(e, 0, sizeof(*e));
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0 ||
	    fstat(fd, &sb) < 0)
		fail("%s: %s", path, strerror(errno));
	else if (!S_ISREG(sb.st_mode))
		fail("%s: not a regular file", path);
	else if (sb.st_uid != geteuid())
		fail("%s: spooled by uid %u, not by uid %u whose home this is",
		    path, (unsigned)sb.st_uid, (unsigned)geteuid());
	else if (sb.st_size > max) {
		rc = spool_refused_id(name, e);
		spool_too_big(sb.st_size);
	} else if ((text = read_fd(fd, path, NULL)) == NULL ||
	    (rc = spool_parse(text, e)) < 0)
		;
	else if (e->uid >= 0 && e->uid != (long long)sb.st_uid) {
		rc = 1;
		fail("the spool file says uid %lld, but uid %u wrote it",
		    e->uid, (unsigned)sb.st_uid);
	} else if (e->source && (long long)strlen(e->source) > pol.max_job) {
		rc = 1;
		spool_too_big(strlen(e->source));
	}
	if (rc >= 0)
		e->uid = sb.st_uid;
	if (fd >= 0)
		close(fd);
	free(path);
	if (textp && rc == 0)
		*textp = text;
	else
		free(text);
	return rc;
}

/*
 * A job's secrets, kept apart from the database in secrets/JOB (mode 0600
 * like everything in the home) from ingestion until the job ends.
 */
static int
secrets_put(const struct env *e)
{
	struct env s = { 0 };
	char *dir, *text;
	int rc;

	if (e->secrets.n == 0)
		return 0;
	s.op = "secrets";
	s.id = e->id;
	s.secrets = e->secrets;
	s.source = "";
	text = env_text(&s, 1);
	dir = home_path("secrets");
	rc = write_file_atomic(dir, dir, e->id, text, strlen(text));
	free(dir);
	free(text);
	return rc;
}

static void
secrets_get(struct job *j)
{
	char *path = home_path("secrets/%s", j->id), *text;
	struct env s;
	size_t i;

	if ((text = read_file(path, NULL)) != NULL && spool_parse(text, &s) == 0) {
		for (i = 0; i < s.secrets.n; i++)
			kv_set(&j->secrets, s.secrets.v[i].key, s.secrets.v[i].val);
		env_free(&s);
	}
	free(text);
	free(path);
}

/* --------------------------------------------------------------- store -- */

/*
 * jobrun.db.  jobs holds one row per job with its envelope (so the daemon can
 * parse the job again after a restart) and tasks one row per task with its
 * state and, for the attempt in progress, which step it is in.  Times are
 * milliseconds since the epoch.
 */

static sqlite3 *db;

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;"
	/* the savepoint of each job of an ingest batch journals to memory, not
	 * to a temporary file: 33 pwrites a job less, ingest 2.2x faster */
	"PRAGMA temp_store=MEMORY;"
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
	"CREATE TABLE IF NOT EXISTS jobs("
	" seq INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, name TEXT,"
	" description TEXT, state TEXT NOT NULL, envelope TEXT NOT NULL,"
	" inputs TEXT, created INTEGER, started INTEGER, completed INTEGER,"
	" error TEXT, ntasks INTEGER, position INTEGER DEFAULT 0, result TEXT,"
	" parent TEXT, ptask INTEGER, detached INTEGER DEFAULT 0, due INTEGER,"
	" restarts INTEGER DEFAULT 0, delete_at INTEGER, schedule TEXT,"
	" imported INTEGER, hipos INTEGER DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS tasks("
	" job TEXT NOT NULL, pos INTEGER NOT NULL, jseq INTEGER, name TEXT,"
	" queue TEXT, priority INTEGER, state TEXT NOT NULL,"
	" attempt INTEGER DEFAULT 0, step INTEGER DEFAULT 0, astart INTEGER,"
	" var TEXT, exit_code INTEGER, result TEXT, error TEXT,"
	" created INTEGER, started INTEGER, completed INTEGER,"
	" parent INTEGER DEFAULT 0, idx INTEGER DEFAULT 0, item TEXT, subjob TEXT,"
	" progress TEXT, progress_at INTEGER, not_before INTEGER,"
	" abase INTEGER DEFAULT 0, log_error TEXT, PRIMARY KEY(job, pos));"
	/* the next task to start on a queue, and when a waiting retry is due */
	"CREATE INDEX IF NOT EXISTS tasks_ready ON tasks(state, queue,"
	" priority DESC, jseq, pos);"
	"CREATE INDEX IF NOT EXISTS tasks_wait ON tasks(state, not_before);"
	/* a composite's children as each ends: seeks, not a scan of them all */
	"CREATE INDEX IF NOT EXISTS tasks_parent ON tasks(job, parent, state,"
	" pos);"
	"CREATE INDEX IF NOT EXISTS jobs_due ON jobs(state, due);"
	/* autoDelete's: the loop asks every 5 s, whatever number of jobs ended */
	"CREATE INDEX IF NOT EXISTS jobs_expire ON jobs(delete_at)"
	" WHERE delete_at > 0;"
	/*
	 * Rows by state (jobs) and by queue and state (tasks), kept by the
	 * store itself as rows come, move and go, so that status, top and
	 * metrics read a few rows whatever the number of jobs.
	 */
	"CREATE TABLE IF NOT EXISTS counts(what TEXT NOT NULL, queue TEXT NOT NULL,"
	" state TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY(what, queue, state))"
	" WITHOUT ROWID;"
	"CREATE TRIGGER IF NOT EXISTS jobs_in AFTER INSERT ON jobs BEGIN"
	" INSERT INTO counts VALUES('job', '', NEW.state, 1)"
	"  ON CONFLICT DO UPDATE SET n = n + 1; END;"
	"CREATE TRIGGER IF NOT EXISTS jobs_out AFTER DELETE ON jobs BEGIN"
	" UPDATE counts SET n = n - 1 WHERE what = 'job' AND queue = ''"
	"  AND state = OLD.state; END;"
	"CREATE TRIGGER IF NOT EXISTS jobs_move AFTER UPDATE OF state ON jobs"
	" WHEN OLD.state IS NOT NEW.state BEGIN"
	" UPDATE counts SET n = n - 1 WHERE what = 'job' AND queue = ''"
	"  AND state = OLD.state;"
	" INSERT INTO counts VALUES('job', '', NEW.state, 1)"
	"  ON CONFLICT DO UPDATE SET n = n + 1; END;"
	"CREATE TRIGGER IF NOT EXISTS tasks_in AFTER INSERT ON tasks BEGIN"
	" INSERT INTO counts VALUES('task', coalesce(NEW.queue, ''), NEW.state, 1)"
	"  ON CONFLICT DO UPDATE SET n = n + 1; END;"
	"CREATE TRIGGER IF NOT EXISTS tasks_out AFTER DELETE ON tasks BEGIN"
	" UPDATE counts SET n = n - 1 WHERE what = 'task' AND"
	"  queue = coalesce(OLD.queue, '') AND state = OLD.state; END;"
	"CREATE TRIGGER IF NOT EXISTS tasks_move AFTER UPDATE OF state, queue ON tasks"
	" WHEN OLD.state IS NOT NEW.state OR OLD.queue IS NOT NEW.queue BEGIN"
	" UPDATE counts SET n = n - 1 WHERE what = 'task' AND"
	"  queue = coalesce(OLD.queue, '') AND state = OLD.state;"
	" INSERT INTO counts VALUES('task', coalesce(NEW.queue, ''), NEW.state, 1)"
	"  ON CONFLICT DO UPDATE SET n = n + 1; END;"
	"CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value REAL);"
	"CREATE TABLE IF NOT EXISTS hooks("
	" seq INTEGER PRIMARY KEY, job TEXT NOT NULL, task INTEGER, event TEXT,"
	" url TEXT, headers TEXT, body TEXT, state TEXT, attempts INTEGER DEFAULT 0,"
	" next_at INTEGER, status INTEGER, error TEXT, created INTEGER,"
	" log TEXT);"
	"CREATE INDEX IF NOT EXISTS hooks_job ON hooks(job);"
	/* the loop asks for due deliveries each time round: no table scans */
	"CREATE INDEX IF NOT EXISTS hooks_due ON hooks(state, next_at);"
	"CREATE TABLE IF NOT EXISTS schedules("
	" seq INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, name TEXT, cron TEXT,"
	" envelope TEXT NOT NULL, state TEXT NOT NULL, created INTEGER,"
	" next_at INTEGER, last_at INTEGER, last_job TEXT, runs INTEGER DEFAULT 0,"
	" skipped INTEGER DEFAULT 0);";

/*
 * What a failing store means, by kind.  Busy: another program holds the
 * write lock (sqlite3 by hand).  The daemon must write every transition
 * before it can go on, so it waits, saying so every 10 seconds (db_step).
 * Full, I/O: the daemon cannot record what happens, so it pauses
 * (db_broken: every store call fails at once, and no child starts, until
 * daemon_pause has forgotten what it was doing, as a crash would, and a
 * write goes through again; then it recovers as after a crash).  Corrupt:
 * it stops, saying what to do.  A command stops on any of these.  While the daemon takes in a job
 * file (db_soft), busy and full come back to it instead: the file stays
 * in the spool for the next scan.  A constraint or SQL error is a bug in
 * jobrun: returned to the caller, and logged by the daemon (store.error).
 */
#define DB_BUSY_MS	10000		/* one try waits this long for a lock */
static int db_daemon;			/* the daemon: logs, waits, stops */
static int db_soft;			/* busy and full come back */
static int db_txfail;			/* a statement of this transaction failed */
static char db_txerr[sizeof(errmsg)];		/* ... saying this */
static int db_broken;			/* the daemon cannot write: it pauses */
static char db_brokenwhy[sizeof(errmsg)];		/* ... because of this */
static enum errkind db_brokenkind;

static void
db_stop(void)
{
	static const char *const kind[] = { [E_BUSY] = "busy",
		[E_FULL] = "full", [E_IO] = "io", [E_CORRUPT] = "corrupt" };
	static const char *const what[] = {
		[E_BUSY] = "another program holds its lock; try again once it "
		    "is done",
		[E_FULL] = "make room on the home's disk",
		[E_IO] = "check the home's disk (dmesg)",
		[E_CORRUPT] = "it is damaged: keep a copy, and recover it with "
		    "'sqlite3 jobrun.db .recover' or move it away" };
	char *db_path = home_path("jobrun.db");

	if (!db_daemon)
		errx(EX_ERR, "%s: %s; %s", db_path, errmsg, what[errkind]);
	logf_("error", "store.fault", "kind=%s error=\"%s\"", kind[errkind],
	    errmsg);
	errx(EX_ERR, "%s: %s; the daemon cannot record what it does, so it "
	    "stops (its containers run on): %s, then start it again", db_path,
	    errmsg, what[errkind]);
}

/* The store's last error, as errmsg and errkind (see above).  Returns -1. */
/*
 * The open transaction is not to be committed (errmsg says why): db_commit
 * rolls it back.  Returns -1.
 */
static int
db_txabort(void)
{
	if (db && !sqlite3_get_autocommit(db) && !db_txfail) {
		db_txfail = 1;
		snprintf(db_txerr, sizeof(db_txerr), "%s", errmsg);
	}
	return -1;
}

static int
db_fail(void)
{
	int c = db ? sqlite3_extended_errcode(db) & 0xff : SQLITE_NOMEM;

	fail("%s", db ? sqlite3_errmsg(db) : "out of memory");
	errkind = c == SQLITE_BUSY || c == SQLITE_LOCKED ? E_BUSY :
	    c == SQLITE_FULL ? E_FULL : c == SQLITE_IOERR ||
	    c == SQLITE_NOMEM || c == SQLITE_CANTOPEN || c == SQLITE_READONLY ?
	    E_IO : c == SQLITE_CORRUPT || c == SQLITE_NOTADB ? E_CORRUPT :
	    c == SQLITE_CONSTRAINT ? E_CONSTRAINT : E_INPUT;
	db_txabort();		/* db_commit rolls it back */
	if (db_soft && (errkind == E_BUSY || errkind == E_FULL))
		return -1;
	if (db_daemon && (errkind == E_FULL || errkind == E_IO)) {
		if (!db_broken) {
			db_broken = 1;
			db_brokenkind = errkind;
			snprintf(db_brokenwhy, sizeof(db_brokenwhy), "%s", errmsg);
		}
		return -1;
	}
	if (errkind == E_FULL || errkind == E_IO || errkind == E_CORRUPT ||
	    (errkind == E_BUSY && !db_daemon))
		db_stop();
	if (db_daemon)
		logf_("error", "store.error", "error=\"%s\"", errmsg);
	return -1;
}

/*
 * sqlite3_step, but the daemon waits out a busy store (see above): a write
 * outside a transaction, or BEGIN IMMEDIATE, may be tried again as it is.
 */
static int
db_step(sqlite3_stmt *st)
{
	long long since = mono_ms();
	int rc, busy = 0;

	failpoint_sql(st);
	while ((rc = sqlite3_step(st)) == SQLITE_BUSY && db_daemon && !db_soft) {
		busy = 1;
		logf_("warn", "store.busy", "waited=%llds error=\"%s\"",
		    (mono_ms() - since) / 1000, sqlite3_errmsg(db));
		sqlite3_reset(st);
	}
	if (busy)
		logf_("info", "store.free", "waited=%llds",
		    (mono_ms() - since) / 1000);
	return rc;
}

/* The next row of st: 1, or 0 at the end, or on an error (errmsg). */
static int
db_row(sqlite3_stmt *st)
{
	int rc;

	if (st == NULL)
		return 0;
	if ((rc = db_step(st)) == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE)
		db_fail();
	return 0;
}

/*
 * Prepared statements are kept, by their text: the daemon runs the same
 * few dozen statements for every job, and preparing them again was a
 * third of its work.  One in use (its caller is stepping through rows)
 * is not handed out twice: a second user of the same text gets one of its
 * own.  Every statement from db_prep goes back through db_done.
 */
#define DB_STMTS	256		/* slots; a power of two */
#define DB_PROBE	8		/* slots tried from the text's own */
static struct dbstmt {
	sqlite3_stmt *st;
	char *sql;
	int busy;
} dbstmts[DB_STMTS];

static sqlite3_stmt *
db_stmt(const char *sql)
{
	unsigned h = 2166136261u;
	const char *p;
	struct dbstmt *free_ = NULL, *c;
	sqlite3_stmt *st;
	size_t k;

	for (p = sql; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (k = 0; k < DB_PROBE; k++) {
		c = &dbstmts[(h + k) & (DB_STMTS - 1)];
		if (c->st == NULL && free_ == NULL)
			free_ = c;
		else if (c->st && !c->busy && strcmp(c->sql, sql) == 0) {
			c->busy = 1;
			return c->st;
		}
	}
	if (sqlite3_prepare_v3(db, sql, -1, free_ ? SQLITE_PREPARE_PERSISTENT :
	    0, &st, NULL) != SQLITE_OK)
		return NULL;
	if (free_) {
		free_->st = st;
		free_->sql = xstrdup(sql);
		free_->busy = 1;
	}
	return st;
}

/* A statement from db_prep is done with: kept for the next user, or finalized. */
static void
db_done(sqlite3_stmt *st)
{
	size_t k;

	if (st == NULL)
		return;
	for (k = 0; k < DB_STMTS; k++)
		if (dbstmts[k].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			dbstmts[k].busy = 0;
			return;
		}
	sqlite3_finalize(st);
}

/* Finalizes the kept statements: before the store is closed. */
static void
db_stmts_free(void)
{
	size_t k;

	for (k = 0; k < DB_STMTS; k++) {
		sqlite3_finalize(dbstmts[k].st);
		free(dbstmts[k].sql);
		dbstmts[k].st = NULL;
		dbstmts[k].sql = NULL;
		dbstmts[k].busy = 0;
	}
}

/*
 * Binds arguments by a format: s string (NULL binds NULL), i int,
 * I long long.  Returns the statement (give it back with db_done), or
 * NULL with errmsg.
 */
static sqlite3_stmt *
db_vprep(const char *sql, const char *fmt, va_list ap)
{
	sqlite3_stmt *st;
	int i;

	if (db_broken) {	/* nothing is done until the daemon has paused */
		fail("%s", db_brokenwhy);
		errkind = db_brokenkind;
		return NULL;
	}
	if (db == NULL) {	/* a home with no store yet: no rows */
		fail("%s has no database yet", home);
		return NULL;
	}
	if ((st = db_stmt(sql)) == NULL) {
		db_fail();
		return NULL;
	}
	for (i = 0; fmt && fmt[i]; i++) {
		const char *s;

		switch (fmt[i]) {
		case 's':
			s = va_arg(ap, const char *);
			if (s)
				sqlite3_bind_text(st, i + 1, s, -1, SQLITE_TRANSIENT);
			else
				sqlite3_bind_null(st, i + 1);
			break;
		case 'i':
			sqlite3_bind_int(st, i + 1, va_arg(ap, int));
			break;
		case 'I':
			sqlite3_bind_int64(st, i + 1, va_arg(ap, long long));
			break;
		}
	}
	return st;
}

static sqlite3_stmt *
db_prep(const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;

	va_start(ap, fmt);
	st = db_vprep(sql, fmt, ap);
	va_end(ap);
	return st;
}

/* Runs one statement to completion.  Returns the number of rows changed, or -1. */
static int
db_exec(const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	st = db_vprep(sql, fmt, ap);
	va_end(ap);
	if (st == NULL)
		return -1;
	while ((rc = db_step(st)) == SQLITE_ROW)
		;
	db_done(st);
	if (rc != SQLITE_DONE)
		return db_fail();
	return sqlite3_changes(db);
}

static char *
col_str(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s ? xstrdup((const char *)s) : NULL;
}

/* One text value from a query, or NULL. */
static char *
db_str(const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	st = db_vprep(sql, fmt, ap);
	va_end(ap);
	if (db_row(st))
		s = col_str(st, 0);
	db_done(st);
	return s;
}

/* Adds the first column of every row of a query to out. */
static void
db_strs(struct strlist *out, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;

	va_start(ap, fmt);
	st = db_vprep(sql, fmt, ap);
	va_end(ap);
	while (db_row(st))
		strlist_add(out, col_str(st, 0));
	db_done(st);
}

/*
 * Columns added since the first schema: a home made by an older jobrun gets
 * them (ALTER TABLE fails, SQLITE_ERROR, where a column is there already).
 */
static int
db_migrate(void)
{
	static const char *add[] = {
		"jobs ADD COLUMN result TEXT", "jobs ADD COLUMN parent TEXT",
		"jobs ADD COLUMN ptask INTEGER",
		"jobs ADD COLUMN detached INTEGER DEFAULT 0",
		"tasks ADD COLUMN parent INTEGER DEFAULT 0",
		"tasks ADD COLUMN idx INTEGER DEFAULT 0",
		"tasks ADD COLUMN item TEXT", "tasks ADD COLUMN subjob TEXT",
		"jobs ADD COLUMN due INTEGER", "tasks ADD COLUMN progress TEXT",
		"tasks ADD COLUMN progress_at INTEGER",
		"tasks ADD COLUMN not_before INTEGER",
		"tasks ADD COLUMN abase INTEGER DEFAULT 0",
		"jobs ADD COLUMN restarts INTEGER DEFAULT 0",
		"jobs ADD COLUMN delete_at INTEGER", "jobs ADD COLUMN schedule TEXT",
		"jobs ADD COLUMN imported INTEGER",
		"jobs ADD COLUMN hipos INTEGER DEFAULT 0",
		"tasks ADD COLUMN log_error TEXT", NULL
	};
	char sql[128], *v;
	size_t i;

	for (i = 0; add[i]; i++) {
		snprintf(sql, sizeof(sql), "ALTER TABLE %s", add[i]);
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK &&
		    sqlite3_errcode(db) != SQLITE_ERROR)
			return db_fail();
	}
	/* version 1: counts, filled once from the rows an older jobrun left */
	if ((v = db_str("PRAGMA user_version", NULL)) != NULL && atoi(v) >= 1) {
		free(v);
		return 0;
	}
	free(v);
	if (sqlite3_exec(db, "BEGIN IMMEDIATE; DELETE FROM counts;"
	    " INSERT INTO counts SELECT 'job', '', state, count(*) FROM jobs"
	    "  GROUP BY state;"
	    " INSERT INTO counts SELECT 'task', coalesce(queue, ''), state,"
	    "  count(*) FROM tasks GROUP BY 2, 3;"
	    " DROP INDEX IF EXISTS tasks_state; DROP INDEX IF EXISTS jobs_state;"
	    " PRAGMA user_version = 1; COMMIT;", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail();
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

/*
 * A reader of a store no daemon of this version has opened yet: counts
 * is a view that counts the rows (slow, but right) until one has.
 */
static void
db_counts_view(void)
{
	char *have = db_str("SELECT 1 FROM sqlite_master WHERE name = 'counts'",
	    NULL);

	if (have == NULL)
		sqlite3_exec(db, "CREATE TEMP VIEW counts AS"
		    " SELECT 'job' what, '' queue, state, count(*) n FROM jobs"
		    "  GROUP BY state UNION ALL"
		    " SELECT 'task', coalesce(queue, ''), state, count(*) FROM tasks"
		    "  GROUP BY 2, 3", NULL, NULL, NULL);
	free(have);
}

/*
 * Opens the store.  The daemon opens it read-write and creates it; everyone
 * else read-only, and a home with no database yet is an empty one
 * (returns 1, db stays NULL).
 */
static int
db_open(int rw)
{
	char *path = home_path("jobrun.db");
	int flags = rw ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE :
	    SQLITE_OPEN_READONLY;
	char *emsg = NULL;

	if (sq_load() < 0) {
		free(path);
		return -1;
	}
	if (!rw && access(path, F_OK) < 0) {
		free(path);
		return 1;
	}
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		fail("%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
		free(path);
		sqlite3_close(db);
		db = NULL;
		return -1;
	}
	free(path);
	sqlite3_busy_timeout(db, DB_BUSY_MS);
#ifdef JOBRUN_CRASHTEST
	if (rw)
		sqlite3_wal_hook(db, failpoint_commit, NULL);
#endif
	if (rw && sqlite3_exec(db, schema, NULL, NULL, &emsg) != SQLITE_OK) {
		sqlite3_free(emsg);
		return db_fail();
	}
	if (!rw)
		db_counts_view();
	return rw ? db_migrate() : 0;
}

/* An empty store in memory: what a home with no database yet reads as. */
static int
db_open_memory(void)
{
	if (sq_load() < 0)
		return -1;
	if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
	    sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail();
	return db_migrate();
}

static void
db_close(void)
{
	if (db == NULL)		/* never opened: SQLite may not be loaded */
		return;
	db_stmts_free();
	sqlite3_close(db);
	db = NULL;
}

static int
db_begin(void)
{
	db_txfail = 0;
	failpoint_drop();
	return db_exec("BEGIN IMMEDIATE", NULL) < 0 ? -1 : 0;
}

/* What events_flush does with the queued events (see there). */
enum { EV_STORE, EV_LOG, EV_DROP };
static void events_flush(int);

/* Drops the transaction, if one is open; whatever state the store is in. */
static void
db_rollback(void)
{
	events_flush(EV_DROP);
	failpoint_drop();
	if (db && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

/*
 * Commits: the moves' webhook rows and metrics first, in the transaction,
 * then their log lines, once it is committed.  A transaction in which a
 * statement failed is rolled back instead, never committed in part; so is
 * one whose commit fails.  Returns 0, or -1 with errmsg (the first error).
 */
static int
db_commit(void)
{
	events_flush(EV_STORE);
	if (db_txfail || db_exec("COMMIT", NULL) < 0) {
		if (db_txfail)
			snprintf(errmsg, sizeof(errmsg), "%s", db_txerr);
		db_rollback();
		return -1;
	}
	events_flush(EV_LOG);
	return 0;
}

/*
 * States: an enum in C (jobrun.h), a name only in rows, JSON and the log.
 * These tables are the one place the names are.
 */
static const char *const jstate_names[] = { "PENDING", "SCHEDULED", "RUNNING",
	"COMPLETED", "FAILED", "CANCELLED", NULL };
static const char *const tstate_names[] = { "CREATED", "PENDING", "SCHEDULED",
	"RUNNING", "COMPLETED", "FAILED", "CANCELLED", "SKIPPED", NULL };
static const char *const hstate_names[] = { "PENDING", "SENDING", "DELIVERED",
	"FAILED", NULL };
static const char *const sstate_names[] = { "ACTIVE", "PAUSED", NULL };

#define SB(s)	(1u << (s))	/* a state's bit in a mask */
#define JFINAL	(SB(J_COMPLETED) | SB(J_FAILED) | SB(J_CANCELLED))
#define TFINAL	(SB(T_COMPLETED) | SB(T_FAILED) | SB(T_CANCELLED) | SB(T_SKIPPED))
/* the names of the final job states, to bind to three ? of an SQL IN */
#define JFINAL_NAMES	jstate_names[J_COMPLETED], jstate_names[J_FAILED], \
	jstate_names[J_CANCELLED]

static const char *
jstate_name(enum jstate s)
{
	return jstate_names[s];
}

static const char *
tstate_name(enum tstate s)
{
	return tstate_names[s];
}

/* A state's number from its name; -1 for none. */
static int
state_parse(const char *const names[], const char *s)
{
	int i;

	for (i = 0; s && names[i]; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

/* "'A','B'": the names of the states in mask, for an SQL IN (...). */
static char *
state_list(const char *const names[], unsigned mask)
{
	struct buf b = { 0 };
	int i;

	for (i = 0; names[i]; i++)
		if (mask & SB(i))
			buf_addf(&b, "%s'%s'", b.len ? "," : "", names[i]);
	return buf_take(&b);
}

/* Whether a job's state, by name, is final. */
static int
jstate_final(const char *s)
{
	int st = state_parse(jstate_names, s);

	return st >= 0 && (JFINAL & SB(st));
}

/* Whether st (an enum jstate, or -1: none) is COMPLETED, FAILED or CANCELLED. */
#define JSTATE_FINAL(st)	((st) >= 0 && (JFINAL & SB(st)))

/* Job id's state, or -1 when there is none. */
static int
db_jstate(const char *id)
{
	char *s = db_str("SELECT state FROM jobs WHERE id = ?", "s", id);
	int st = state_parse(jstate_names, s);

	free(s);
	return st;
}

/* The state of task pos of job id, or -1 when there is none. */
static int
db_tstate(const char *id, int pos)
{
	char *s = db_str("SELECT state FROM tasks WHERE job = ? AND pos = ?",
	    "si", id, pos);
	int st = state_parse(tstate_names, s);

	free(s);
	return st;
}

/* What wait and --wait exit with for a job in state s. */
static int
exit_for_state(const char *s)
{
	int st = state_parse(jstate_names, s);

	return st == J_FAILED ? EX_FAILED : st == J_CANCELLED ? EX_CANCELLED :
	    EX_OK;
}

/*
 * Per queue, its tasks holding a slot and those waiting for one, as rows
 * (queue, running, pending).
 */
static sqlite3_stmt *
db_queues(void)
{
	char *busy = state_list(tstate_names, SB(T_SCHEDULED) | SB(T_RUNNING));
	char *sql = xasprintf("SELECT queue, sum(n * (state IN (%s))),"
	    " sum(n * (state = '%s')) FROM counts WHERE what = 'task' AND"
	    " state IN (%s,'%s') AND queue != '' GROUP BY queue"
	    " HAVING sum(n) > 0 ORDER BY queue", busy, tstate_name(T_PENDING),
	    busy, tstate_name(T_PENDING));
	sqlite3_stmt *st = db ? db_prep(sql, NULL) : NULL;

	free(sql);
	free(busy);
	return st;
}

/*
 * Counters for `jobrun metrics` live in the store, so that they only ever
 * go up, across daemon restarts and prunes.
 */
static int
db_count(const char *name, double delta)
{
	sqlite3_stmt *st;
	int rc;

	if (db_exec("INSERT INTO counters VALUES(?, 0) ON CONFLICT(name) DO"
	    " NOTHING", "s", name) < 0 || (st = db_prep("UPDATE counters SET"
	    " value = value + ? WHERE name = ?", "Is", 0LL, name)) == NULL)
		return -1;
	sqlite3_bind_double(st, 1, delta);
	rc = db_step(st);
	db_done(st);
	return rc == SQLITE_DONE ? 0 : db_fail();
}

/* The task duration histogram's upper bounds, in seconds. */
static const double hist_le[] = { 0.5, 1, 5, 10, 30, 60, 300, 600, 1800, 3600 };
#define NHIST (sizeof(hist_le) / sizeof(hist_le[0]))

/* A task ended after ms: counted in its bucket (buckets are cumulative when printed). */
static void
db_observe(long long ms)
{
	char name[32];
	size_t i;

	for (i = 0; i < NHIST && ms > hist_le[i] * 1000; i++)
		;
	snprintf(name, sizeof(name), "duration_bucket_%zu", i);
	db_count(name, 1);
	db_count("duration_sum", ms / 1000.0);
	db_count("duration_count", 1);
}

/* Rows by state, every state named even at 0 (so that rate() works). */
static void
prom_states(struct buf *b, const char *table, const char *const *states)
{
	char sql[96];
	size_t i;

	for (i = 0; states[i]; i++) {
		char *n;

		snprintf(sql, sizeof(sql), "SELECT sum(n) FROM counts WHERE"
		    " what = '%s' AND state = ?", *table == 'j' ? "job" : "task");
		n = db_str(sql, "s", states[i]);
		buf_addf(b, "jobrun_%s{state=\"%s\"} %s\n", table, states[i],
		    n ? n : "0");
		free(n);
	}
}

static double
counter(const char *name)
{
	char *v = db_str("SELECT value FROM counters WHERE name = ?", "s", name);
	double d = v ? atof(v) : 0;

	free(v);
	return d;
}

static void
prom_histogram(struct buf *b)
{
	char name[32];
	double cum = 0;
	size_t i;

	prom_head(b, "jobrun", "task_duration_seconds", "histogram", "Time from "
	    "a task's first start to its end (COMPLETED or FAILED).");
	for (i = 0; i <= NHIST; i++) {
		snprintf(name, sizeof(name), "duration_bucket_%zu", i);
		cum += counter(name);
		if (i < NHIST)
			buf_addf(b, "jobrun_task_duration_seconds_bucket{le=\"%g\"} "
			    "%.0f\n", hist_le[i], cum);
		else
			buf_addf(b, "jobrun_task_duration_seconds_bucket{le=\"+Inf\"} "
			    "%.0f\n", cum);
	}
	buf_addf(b, "jobrun_task_duration_seconds_sum %.3f\n",
	    counter("duration_sum"));
	buf_addf(b, "jobrun_task_duration_seconds_count %.0f\n",
	    counter("duration_count"));
}

/* The store in Prometheus' text format (jobrun metrics, --metrics-file). */
static void
db_metrics(struct buf *b, int alive)
{
	static const struct { const char *name, *help; } cs[] = {
		{ "tasks_started", "Task attempts started." },
		{ "tasks_failed", "Tasks that ended FAILED, retries spent." },
		{ "tasks_retried", "Failed task attempts that were retried." },
	};
	struct buf pend = { 0 };
	sqlite3_stmt *st;
	char *beat;
	size_t i;

	prom_head(b, "jobrun", "up", "gauge",
	    "Whether a daemon runs for this home.");
	buf_addf(b, "jobrun_up %d\n", alive);
	beat = db_str("SELECT value FROM meta WHERE key = 'heartbeat'", NULL);
	prom_head(b, "jobrun", "daemon_heartbeat_timestamp_seconds", "gauge",
	    "When the daemon last said it was alive (Unix time).");
	buf_addf(b, "jobrun_daemon_heartbeat_timestamp_seconds %.3f\n",
	    beat ? atoll(beat) / 1000.0 : 0);
	free(beat);
	prom_head(b, "jobrun", "jobs", "gauge", "Jobs in the store, by state.");
	prom_states(b, "jobs", jstate_names);
	prom_head(b, "jobrun", "tasks", "gauge", "Tasks in the store, by state.");
	prom_states(b, "tasks", tstate_names);
	prom_head(b, "jobrun", "queue_running", "gauge",
	    "Tasks running, by queue.");
	st = db_queues();
	while (db_row(st)) {
		buf_addf(b, "jobrun_queue_running{queue=\"");
		prom_label(b, (const char *)sqlite3_column_text(st, 0));
		buf_addf(b, "\"} %d\n", sqlite3_column_int(st, 1));
		buf_addf(&pend, "jobrun_queue_pending{queue=\"");
		prom_label(&pend, (const char *)sqlite3_column_text(st, 0));
		buf_addf(&pend, "\"} %d\n", sqlite3_column_int(st, 2));
	}
	db_done(st);
	prom_head(b, "jobrun", "queue_pending", "gauge",
	    "Tasks waiting for a slot, by queue.");
	buf_add(b, pend.s ? pend.s : "");
	free(pend.s);
	for (i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		char n[64];

		snprintf(n, sizeof(n), "%s_total", cs[i].name);
		prom_head(b, "jobrun", n, "counter", cs[i].help);
		buf_addf(b, "jobrun_%s %.0f\n", n, counter(cs[i].name));
	}
	prom_histogram(b);
}

/*
 * export and import: a job's rows as one JSON document, every column that
 * means something on another machine, times as they are (ms).
 */
static const char rows_sql[] =
	"SELECT json_object('job', (SELECT json_object('id', id, 'name', name,"
	" 'description', description, 'state', state, 'envelope', envelope,"
	" 'inputs', inputs, 'created', created, 'started', started, 'completed',"
	" completed, 'error', error, 'ntasks', ntasks, 'position', position,"
	" 'result', result, 'restarts', restarts, 'schedule', schedule, 'due', due)"
	" FROM jobs WHERE id = ?1), 'tasks', (SELECT json_group_array(json_object("
	" 'pos', pos, 'name', name, 'queue', queue, 'priority', priority, 'state',"
	" state, 'attempt', attempt, 'var', var, 'exit_code', exit_code, 'result',"
	" result, 'error', error, 'created', created, 'started', started,"
	" 'completed', completed, 'parent', parent, 'idx', idx, 'item', item,"
	" 'subjob', subjob, 'progress', progress, 'progress_at', progress_at))"
	" FROM tasks WHERE job = ?1))";

#define JX(k) "json_extract(?1, '$.job." k "')"
#define TX(k) "json_extract(value, '$." k "')"

/* Puts exported rows in the store, marked imported (never run again). */
static int
db_import(const char *rows, const char *id)
{
	if (db_exec("INSERT INTO jobs(id, name, description, state, envelope,"
	    " inputs, created, started, completed, error, ntasks, position, result,"
	    " restarts, schedule, due, imported) SELECT ?2, " JX("name") ", "
	    JX("description") ", " JX("state") ", " JX("envelope") ", "
	    JX("inputs") ", " JX("created") ", " JX("started") ", "
	    JX("completed") ", " JX("error") ", " JX("ntasks") ", "
	    JX("position") ", " JX("result") ", " JX("restarts") ", "
	    JX("schedule") ", " JX("due") ", ?3", "ssI", rows, id, now_ms()) < 0 ||
	    db_exec("INSERT INTO tasks(job, pos, jseq, name, queue, priority,"
	    " state, attempt, var, exit_code, result, error, created, started,"
	    " completed, parent, idx, item, subjob, progress, progress_at)"
	    " SELECT ?2, " TX("pos") ", (SELECT seq FROM jobs WHERE id = ?2), "
	    TX("name") ", " TX("queue") ", " TX("priority") ", " TX("state") ", "
	    TX("attempt") ", " TX("var") ", " TX("exit_code") ", " TX("result")
	    ", " TX("error") ", " TX("created") ", " TX("started") ", "
	    TX("completed") ", " TX("parent") ", " TX("idx") ", " TX("item") ", "
	    TX("subjob") ", " TX("progress") ", " TX("progress_at")
	    " FROM json_each(json_extract(?1, '$.tasks'))", "ss", rows, id) < 0)
		return -1;
	return 0;
}
#undef JX
#undef TX

/* A job as the commands show it. */
struct jobrow {
	char *id, *name, *description, *state, *error, *envelope, *result, *parent;
	long long created, started, completed, due;
	int ntasks, ndone;
	double progress;		/* mean of the top-level tasks'; -1 none */
	char *pmsg;			/* the latest progress any task reported */
	char *schedule;			/* the schedule that made it, if any */
};

struct taskrow {
	int pos, priority, attempt, has_exit, exit_code, parent;
	char *name, *queue, *state, *result, *error, *var, *subjob, *progress;
	char *log_error;
	long long created, started, completed, progress_at;
};

#define JOB_COLS "id, name, description, state, error, envelope, created," \
	" started, completed, ntasks," \
	" (SELECT count(*) FROM tasks t WHERE t.job = jobs.id AND" \
	"  t.parent = 0 AND t.state IN (?901, ?902)), result, parent, due," \
	" (SELECT CASE WHEN count(t.progress) = 0 THEN NULL ELSE avg(CASE WHEN" \
	"  t.state IN (?901, ?902) THEN 100.0 WHEN t.progress GLOB" \
	"  '[0-9]*' AND t.progress NOT GLOB '*[^0-9.]*' THEN min(CAST(t.progress" \
	"  AS REAL), 100.0) ELSE 0.0 END) END FROM tasks t WHERE t.job = jobs.id" \
	"  AND t.parent = 0)," \
	" (SELECT t.progress FROM tasks t WHERE t.job = jobs.id AND t.progress" \
	"  IS NOT NULL ORDER BY t.progress_at DESC LIMIT 1), schedule"

/*
 * SELECT JOB_COLS FROM jobs tail, bound by fmt: tail numbers its
 * parameters (?1, ?2), as JOB_COLS's are ?901, ?902, the states of a task
 * that is done.
 */
static sqlite3_stmt *
db_jobs(const char *tail, const char *fmt, ...)
{
	char *sql = xasprintf("SELECT " JOB_COLS " FROM jobs %s", tail);
	sqlite3_stmt *st;
	va_list ap;

	va_start(ap, fmt);
	st = db_vprep(sql, fmt, ap);
	va_end(ap);
	free(sql);
	if (st) {
		sqlite3_bind_text(st, 901, tstate_name(T_COMPLETED), -1,
		    SQLITE_STATIC);
		sqlite3_bind_text(st, 902, tstate_name(T_SKIPPED), -1,
		    SQLITE_STATIC);
	}
	return st;
}

static void
jobrow_read(sqlite3_stmt *st, struct jobrow *r)
{
	r->id = col_str(st, 0);
	r->name = col_str(st, 1);
	r->description = col_str(st, 2);
	r->state = col_str(st, 3);
	r->error = col_str(st, 4);
	r->envelope = col_str(st, 5);
	r->created = sqlite3_column_int64(st, 6);
	r->started = sqlite3_column_int64(st, 7);
	r->completed = sqlite3_column_int64(st, 8);
	r->ntasks = sqlite3_column_int(st, 9);
	r->ndone = sqlite3_column_int(st, 10);
	r->result = col_str(st, 11);
	r->parent = col_str(st, 12);
	r->due = sqlite3_column_int64(st, 13);
	r->progress = sqlite3_column_type(st, 14) == SQLITE_NULL ? -1 :
	    sqlite3_column_double(st, 14);
	r->pmsg = col_str(st, 15);
	r->schedule = col_str(st, 16);
}

static void
jobrow_free(struct jobrow *r)
{
	free(r->id);
	free(r->name);
	free(r->description);
	free(r->state);
	free(r->error);
	free(r->envelope);
	free(r->result);
	free(r->parent);
	free(r->pmsg);
	free(r->schedule);
	memset(r, 0, sizeof(*r));
}

static void
taskrow_free(struct taskrow *t)
{
	free(t->name);
	free(t->queue);
	free(t->state);
	free(t->result);
	free(t->error);
	free(t->var);
	free(t->subjob);
	free(t->progress);
	free(t->log_error);
	memset(t, 0, sizeof(*t));
}

/* Reads job id into r; returns 1 if found, 0 if not. */
static int
db_job(const char *id, struct jobrow *r)
{
	sqlite3_stmt *st;
	int found = 0;

	memset(r, 0, sizeof(*r));
	if (db == NULL)
		return 0;
	st = db_jobs("WHERE id = ?1", "s", id);
	if (db_row(st)) {
		jobrow_read(st, r);
		found = 1;
	}
	db_done(st);
	return found;
}

/* The tasks of a job in order; returns how many, *out to be freed by the caller. */
static size_t
db_tasks(const char *id, struct taskrow **out)
{
	sqlite3_stmt *st;
	size_t n = 0;

	*out = NULL;
	/* children right after their parent */
	st = db_prep("SELECT pos, priority, attempt, exit_code IS NOT NULL,"
	    " exit_code, name, queue, state, result, error, var, created,"
	    " started, completed, parent, subjob, progress, progress_at, log_error"
	    " FROM tasks"
	    " WHERE job = ? ORDER BY"
	    " CASE parent WHEN 0 THEN pos ELSE parent END, parent != 0, pos", "s",
	    id);
	while (db_row(st)) {
		struct taskrow *t;

		*out = xreallocarray(*out, n + 1, sizeof(**out));
		t = &(*out)[n++];
		t->pos = sqlite3_column_int(st, 0);
		t->priority = sqlite3_column_int(st, 1);
		t->attempt = sqlite3_column_int(st, 2);
		t->has_exit = sqlite3_column_int(st, 3);
		t->exit_code = sqlite3_column_int(st, 4);
		t->name = col_str(st, 5);
		t->queue = col_str(st, 6);
		t->state = col_str(st, 7);
		t->result = col_str(st, 8);
		t->error = col_str(st, 9);
		t->var = col_str(st, 10);
		t->created = sqlite3_column_int64(st, 11);
		t->started = sqlite3_column_int64(st, 12);
		t->completed = sqlite3_column_int64(st, 13);
		t->parent = sqlite3_column_int(st, 14);
		t->subjob = col_str(st, 15);
		t->progress = col_str(st, 16);
		t->progress_at = sqlite3_column_int64(st, 17);
		t->log_error = col_str(st, 18);
	}
	db_done(st);
	return n;
}

/* ------------------------------------------------------------- records -- */

/*
 * A job as JSON, in Tork's shape: what show --json and ls --json print and
 * what a webhook's body carries, from the rows the store keeps.
 */

/* The columns of a webhook delivery, for show and for JSON. */
#define HOOK_COLS "seq, event, task, url, state, attempts, status, error, log"

static void
json_time(struct buf *b, const char *k, long long ms)
{
	char t[40];

	if (ms > 0)
		json_kstr(b, k, fmt_rfc3339(ms, t, sizeof(t)));
}

static void
json_hooks(struct buf *b, const char *id)
{
	sqlite3_stmt *st = db ? db_prep("SELECT " HOOK_COLS " FROM hooks WHERE"
	    " job = ? ORDER BY seq", "s", id) : NULL;
	char *log, *l, *save = NULL;
	int n = 0;

	while (db_row(st)) {
		if (n++ == 0)	/* a job without webhooks has no such key */
			buf_add(b, "\"webhooks\":[");
		buf_add(b, "{");
		json_kstr(b, "event", (const char *)sqlite3_column_text(st, 1));
		if (sqlite3_column_int(st, 2))
			json_kint(b, "task", sqlite3_column_int(st, 2));
		json_kstr(b, "url", (const char *)sqlite3_column_text(st, 3));
		json_kstr(b, "state", (const char *)sqlite3_column_text(st, 4));
		json_kint(b, "attempts", sqlite3_column_int(st, 5));
		if (sqlite3_column_type(st, 6) != SQLITE_NULL)
			json_kint(b, "status", sqlite3_column_int(st, 6));
		json_kstr(b, "error", (const char *)sqlite3_column_text(st, 7));
		buf_add(b, "\"log\":[");
		log = col_str(st, 8);
		for (l = log ? strtok_r(log, "\n", &save) : NULL; l;
		    l = strtok_r(NULL, "\n", &save)) {
			json_str(b, l);
			buf_add(b, ",");
		}
		free(log);
		json_end(b, ']');
		json_end(b, '}');
		buf_add(b, ",");
	}
	db_done(st);
	if (n) {
		json_end(b, ']');
		buf_add(b, ",");
	}
}

/* A task of a job in Tork's JSON shape, and a comma. */
static void
json_task(struct buf *b, const struct taskrow *t)
{
	buf_add(b, "{");
	json_kint(b, "position", t->pos);
	if (t->parent)
		json_kint(b, "parent", t->parent);
	json_kstr(b, "name", t->name);
	json_kstr(b, "state", t->state);
	json_kstr(b, "queue", t->queue);
	json_kint(b, "priority", t->priority);
	json_kint(b, "attempt", t->attempt);
	json_time(b, "createdAt", t->created);
	json_time(b, "startedAt", t->started);
	json_time(b, "completedAt", t->completed);
	if (t->has_exit)
		json_kint(b, "exitCode", t->exit_code);
	json_kstr(b, "var", t->var);
	json_kstr(b, "subjobId", t->subjob);
	json_kstr(b, "result", t->result);
	json_kstr(b, "error", t->error);
	json_kstr(b, "progress", t->progress);
	json_time(b, "progressAt", t->progress_at);
	json_kstr(b, "logError", t->log_error);
	json_end(b, '}');
	buf_add(b, ",");
}

/* A job in Tork's JSON shape; with its tasks when tasks is not NULL. */
static void
json_job(struct buf *b, const struct jobrow *r, const struct taskrow *tasks,
    size_t nt)
{
	struct env e;
	size_t i;

	buf_add(b, "{");
	json_kstr(b, "id", r->id);
	json_kstr(b, "parentId", r->parent);
	json_kstr(b, "scheduleId", r->schedule);
	json_kstr(b, "name", r->name);
	json_kstr(b, "description", r->description);
	json_kstr(b, "state", r->state);
	json_time(b, "createdAt", r->created);
	json_time(b, "dueAt", r->due);
	json_time(b, "startedAt", r->started);
	json_time(b, "completedAt", r->completed);
	json_kstr(b, "error", r->error);
	json_kstr(b, "result", r->result);
	json_kint(b, "taskCount", r->ntasks);
	json_kint(b, "completedTasks", r->ndone);
	if (r->progress >= 0)
		buf_addf(b, "\"progress\":%.1f,", r->progress);
	json_kstr(b, "progressMessage", r->pmsg);
	if (r->envelope && spool_parse(r->envelope, &e) == 0) {
		struct job *j = spool_job_of(&e, NULL);

		buf_add(b, "\"inputs\":{");
		for (i = 0; j && i < j->inputs.n; i++)
			json_kstr(b, j->inputs.v[i].key, j->inputs.v[i].val);
		json_end(b, '}');
		buf_add(b, ",");
		spec_free(j);
		env_free(&e);
	}
	if (tasks) {
		json_hooks(b, r->id);
		buf_add(b, "\"tasks\":[");
		for (i = 0; i < nt; i++)
			json_task(b, &tasks[i]);
		json_end(b, ']');
		buf_add(b, ",");
	}
	json_end(b, '}');
}

/* ------------------------------------------------------------- runtime -- */

/*
 * The container engine is a table of operations (struct runtime), each of
 * which only builds the command line of a child process: the daemon starts
 * it and watches it like a task's (struct run), with a deadline, so that
 * no engine call blocks its loop.  docker is the first entry, podman the
 * second (daemon --runtime; JOBRUN_DOCKER names the CLI, a wrapper say);
 * another runtime is another table, not branches in the daemon.
 *
 * Each step of each attempt is a container named
 * jobrun-HOME-JOB-POS-ATTEMPT-STEP, so that a restarted daemon finds it
 * from the database alone, and labelled with the same, so that a listing
 * tells this home's containers apart from other homes' and other tools'.
 */

static const char *docker_bin = "docker";
static char homeid[HOMEID_LEN + 1];

/*
 * The engines the daemon talks to.  engines[0] is the CLI's own (its
 * environment, its current context); daemon -q QUEUE:N@WHERE sends a
 * queue's tasks to another, named by a host URL or a context, which the
 * CLI learns from its environment (struct runtime's hostvar, ctxvar):
 * never from its command line.  Each engine lives on its own: one that
 * goes away holds up its queues only, and each is reconciled, swept and
 * pinged by itself.
 */
#define ENGINES_MAX	16

struct engine {
	const char *where;		/* NULL: engines[0] */
	int reconciling;		/* nothing starts on it until it is over */
	long long reconcile_at;		/* monotonic ms: list again */
	long long down;			/* ms: since it went away, or 0 */
	long long ping_at;		/* monotonic ms: ask whether it is back */
	long long backoff;		/* ms: 1 s, doubling up to 30 s */
	int pinging;			/* an ASK_PING is out */
	char *why;			/* what its CLI said as it went away */
	struct strlist rm_names;	/* finished attempts' containers */
	size_t rm_attempts;		/* ... of this many attempts */
	long long rm_since;		/* monotonic ms: the first of them */
	int rm_inflight;		/* batch rms not yet reaped */
	int sweep_want;			/* 1: an rm ended since; 2: one failed */
	long long swept_at;		/* monotonic ms: the last sweep, or 0 */
};

static struct engine engines[ENGINES_MAX];
static size_t nengines = 1;
static void rt_aim(const char *);
static char *task_queue(const char *, int);
static int write_all(int, const char *, size_t);

static char *
rt_name(const char *job, int pos, int attempt, int step)
{
	return xasprintf("jobrun-%s-%s-%d-%d-%d", homeid, job, pos, attempt, step);
}

static char *
rt_sidecar(const char *job, int pos, int attempt, size_t k)
{
	return xasprintf("jobrun-%s-%s-%d-%d-s%zu", homeid, job, pos, attempt, k);
}

static char *
rt_volume(const char *job, int pos, size_t v)
{
	return xasprintf("jobrun-%s-%s-%d-v%zu", homeid, job, pos, v);
}

/*
 * Runs argv to completion, on the engine at where (NULL: the CLI's own),
 * capturing its stdout into *out (caller frees).  Returns its exit status,
 * or -1.  It blocks: for commands, and for the daemon's one check of the
 * engine before its loop starts.
 */
static int
rt_capture(char *const argv[], const char *where, char **out)
{
	struct buf b = { 0 };
	char chunk[4096];
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	*out = NULL;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return fail("pipe: %s", strerror(errno));
	if ((pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		return fail("fork: %s", strerror(errno));
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);

		dup2(nul, STDIN_FILENO);
		dup2(fds[1], STDOUT_FILENO);
		dup2(nul, STDERR_FILENO);
		if (where)
			rt_aim(where);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	while ((n = read(fds[0], chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		buf_addn(&b, chunk, n);
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	*out = buf_take(&b);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* What one step needs to be turned into a `docker run` command line. */
struct rtstep {
	const struct task *t;
	const struct step *s;
	int main;			/* the task's own container, not pre/post */
	int detach;			/* a sidecar: docker run -d */
	const char *netns;		/* run in this container's network */
	const char *job, *name, *workdir;
	int pos, attempt;
};

static void
arg(struct strlist *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		err(EX_ERR, "vasprintf");
	va_end(ap);
	strlist_add(a, s);
}

/* Whether an env variable may be handed over in the CLI's environment. */
static int
env_private(const char *name)
{
	static const char *cli[] = { "PATH", "HOME", "USER", "SHELL", "TMPDIR",
		"LANG", "TZ", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
		"http_proxy", "https_proxy", "no_proxy", "DOCKER_HOST",
		"DOCKER_CONFIG", "DOCKER_CONTEXT", "DOCKER_CERT_PATH",
		"DOCKER_TLS_VERIFY", "DOCKER_API_VERSION", "DOCKER_DEFAULT_PLATFORM",
		"DOCKER_BUILDKIT", "GODEBUG", "GOTRACEBACK", "GOMAXPROCS", "GOGC",
		"REGISTRY_AUTH_FILE", "STORAGE_DRIVER", "STORAGE_OPTS", NULL };
	/* CONTAINER_HOST would send podman's calls to another engine */
	static const char *prefix[] = { "DOCKER_CLI_", "DOCKER_CONTENT_TRUST",
		"CONTAINERS_", "CONTAINER_", "PODMAN_", "BUILDAH_", "LC_", "LD_",
		"XDG_", NULL };
	size_t i;

	for (i = 0; cli[i]; i++)
		if (strcmp(name, cli[i]) == 0)
			return 0;
	for (i = 0; prefix[i]; i++)
		if (strncmp(name, prefix[i], strlen(prefix[i])) == 0)
			return 0;
	return 1;
}

static void
docker_cmd(struct strlist *a, const char *sub)
{
	memset(a, 0, sizeof(*a));
	arg(a, "%s", docker_bin);
	arg(a, "%s", sub);
}

static void
docker_names(struct strlist *a, const struct strlist *names)
{
	size_t i;

	arg(a, "--");
	for (i = 0; i < names->n; i++)
		arg(a, "%s", names->v[i]);
}

/*
 * The container's env: where /tork's files are, then the step's.  Values
 * go to the CLI through its environment (`--env NAME`), not its command
 * line, which any user may read in /proc; except names the CLI itself
 * heeds.
 */
static void
docker_env(const struct step *s, struct strlist *a, struct kvlist *childenv)
{
	size_t i;

	memset(childenv, 0, sizeof(*childenv));
	arg(a, "--env=TORK_OUTPUT=/tork/stdout");
	arg(a, "--env=TORK_PROGRESS=/tork/progress");
	arg(a, "--env=JOBRUN_PROGRESS=/tork/progress");
	arg(a, "--env=JOBRUN_OUTPUT=/tork/stdout");
	for (i = 0; i < s->env.n; i++)
		if (env_private(s->env.v[i].key)) {
			arg(a, "--env=%s", s->env.v[i].key);
			kv_set(childenv, s->env.v[i].key, s->env.v[i].val);
		} else
			arg(a, "--env=%s=%s", s->env.v[i].key, s->env.v[i].val);
}

/* The task's volumes, of volumes and of mounts, and its other mounts. */
static void
docker_mounts(const struct rtstep *r, struct strlist *a)
{
	const struct mount *m;
	size_t i;
	char *v;

	for (i = 0; i < r->t->volumes.n; i++) {
		v = rt_volume(r->job, r->pos, i);
		arg(a, "--volume=%s:%s", v, r->t->volumes.v[i]);
		free(v);
	}
	for (i = 0; i < r->t->mounts.n; i++) {
		m = &r->t->mounts.v[i];
		if (strcmp(m->type, "bind") == 0)
			arg(a, "--volume=%s:%s", m->source, m->target);
		else if (strcmp(m->type, "tmpfs") == 0)
			arg(a, "--tmpfs=%s", m->target);
		else {
			v = rt_volume(r->job, r->pos, r->t->volumes.n + i);
			arg(a, "--volume=%s:%s", v, m->target);
			free(v);
		}
	}
}

/* -- IMAGE, and what the container runs: entrypoint's rest, then cmd. */
static void
docker_command(const struct step *s, struct strlist *a)
{
	size_t i;

	arg(a, "--");
	arg(a, "%s", s->image);
	for (i = 1; i < s->entrypoint.n; i++)
		arg(a, "%s", s->entrypoint.v[i]);
	for (i = 0; i < s->cmd.n; i++)
		arg(a, "%s", s->cmd.v[i]);
}

static void
docker_run(const struct rtstep *r, struct strlist *a, struct kvlist *childenv)
{
	const struct step *s = r->s;
	const struct strlist *ep = &s->entrypoint;
	size_t i;

	docker_cmd(a, "run");
	if (r->detach)
		arg(a, "--detach");
	arg(a, "--name=%s", r->name);
	arg(a, "--label=jobrun.home=%s", homeid);
	arg(a, "--label=jobrun.job=%s", r->job);
	arg(a, "--label=jobrun.task=%d", r->pos);
	arg(a, "--label=jobrun.attempt=%d", r->attempt);
	arg(a, "--sig-proxy=false");
	for (i = 0; !r->netns && i < r->t->networks.n; i++)
		arg(a, "--network=%s", r->t->networks.v[i]);
	if (r->netns)
		arg(a, "--network=container:%s", r->netns);
	else if (pol.network && r->t->networks.n == 0)
		arg(a, "--network=%s", pol.network);
	/* docker reads --gpus as CSV: a device list only whole when quoted */
	if (r->main && r->t->gpus)
		arg(a, strchr(r->t->gpus, ',') ? "--gpus=\"%s\"" : "--gpus=%s",
		    r->t->gpus);
	if (r->main && r->t->limits.cpus)
		arg(a, "--cpus=%s", r->t->limits.cpus);
	if (r->main && r->t->limits.memory)
		arg(a, "--memory=%lld", r->t->limits.memory);
	arg(a, "--volume=%s:/tork", r->workdir);
	docker_env(s, a, childenv);
	docker_mounts(r, a);
	if (s->workdir)
		arg(a, "--workdir=%s", s->workdir);
	else if (s->run || (r->main && r->t->files.n))
		arg(a, "--workdir=/tork");
	if (s->run) {
		arg(a, "--entrypoint=%s", ep->n ? ep->v[0] : "sh");
		arg(a, "--");
		arg(a, "%s", s->image);
		if (ep->n == 0)
			arg(a, "-c");
		for (i = 1; i < ep->n; i++)
			arg(a, "%s", ep->v[i]);
		arg(a, "/tork/entrypoint");
		return;
	}
	if (ep->n)
		arg(a, "--entrypoint=%s", ep->v[0]);
	docker_command(s, a);
}

static void
docker_ping(struct strlist *a)
{
	docker_cmd(a, "version");
	arg(a, "--format={{.Server.Version}}");
}

/* docker SUB OPT... -- NAME: the options a NULL-terminated list. */
static void
docker_on(struct strlist *a, const char *sub, const char *name, ...)
{
	const char *o;
	va_list ap;

	docker_cmd(a, sub);
	va_start(ap, name);
	while ((o = va_arg(ap, const char *)) != NULL)
		arg(a, "%s", o);
	va_end(ap);
	arg(a, "--");
	arg(a, "%s", name);
}

static void
docker_follow(const char *name, const char *workdir, long long since,
    struct strlist *a)
{
	char opt[32];

	(void)workdir;	/* the container's own bind mount */
	snprintf(opt, sizeof(opt), "--since=%lld", since);
	docker_on(a, "logs", name, "--follow", opt, NULL);
}

static void
docker_start(const char *name, struct strlist *a)
{
	docker_on(a, "start", name, NULL);
}

static void
docker_inspect(const char *name, struct strlist *a)
{
	docker_on(a, "inspect", name, "--type=container",
	    "--format={{.State.Status}} {{.State.ExitCode}}", NULL);
}

/* ps of this home's containers (of one job's), as "NAME STATE" by format. */
static void
list_as(const char *job, struct strlist *a, const char *format)
{
	docker_cmd(a, "ps");
	arg(a, "--all");
	arg(a, "--no-trunc");
	arg(a, "--filter=label=jobrun.home=%s", homeid);
	if (job)
		arg(a, "--filter=label=jobrun.job=%s", job);
	arg(a, "--format=%s", format);
}

static void
docker_list(const char *job, struct strlist *a)
{
	list_as(job, a, "{{.Names}} {{.State}}");
}

static void
docker_exec(const char *name, const char *script, const char *arg0,
    struct strlist *a)
{
	docker_on(a, "exec", name, NULL);
	arg(a, "sh");
	arg(a, "-c");
	arg(a, "%s", script);
	arg(a, "%s", arg0);
}

static void
docker_remove(const struct strlist *names, struct strlist *a)
{
	docker_cmd(a, "rm");
	arg(a, "--force");
	docker_names(a, names);
}

static void
docker_stop(const struct strlist *names, long long grace_s, struct strlist *a)
{
	docker_cmd(a, "stop");
	arg(a, "--time=%lld", grace_s);
	docker_names(a, names);
}

static void
docker_volumes_remove(const struct strlist *names, struct strlist *a)
{
	docker_cmd(a, "volume");
	arg(a, "rm");
	docker_names(a, names);
}

/*
 * podman speaks docker's CLI but for three things.  Its ps template's .State
 * is a phrase ("Exited (3) 6 seconds ago"): the word is .ListContainer.State.
 * Its rm and stop act on no name at all when one of them is missing (and
 * exit 0): --ignore skips those.  Its rm --force stops a running container
 * with SIGTERM and a 10 s wait: --time=0 kills it, as docker's does.  Its
 * rm refuses a sidecar whose network a task's container joined, until
 * that one is gone: --depend removes them together.
 */
static void
podman_list(const char *job, struct strlist *a)
{
	list_as(job, a, "{{.Names}} {{.ListContainer.State}}");
}

static void
podman_remove(const struct strlist *names, struct strlist *a)
{
	docker_cmd(a, "rm");
	arg(a, "--force");
	arg(a, "--time=0");
	arg(a, "--ignore");
	arg(a, "--depend");
	docker_names(a, names);
}

static void
podman_stop(const struct strlist *names, long long grace_s, struct strlist *a)
{
	docker_cmd(a, "stop");
	arg(a, "--ignore");
	arg(a, "--time=%lld", grace_s);
	docker_names(a, names);
}

/*
 * Docker Swarm (daemon --runtime swarm): each step is a service of one
 * replica that is never restarted (a replicated job's task would outlive
 * its service's removal in docker 20.10: moby#44312), which the swarm
 * places on a node that meets its queue's --constraint.  A service is
 * not a process the daemon can wait for: it is created, its task polled,
 * its logs followed, by a helper, `jobrun swarm-step`, which the
 * operations start as they would the CLI, and which speaks for the
 * service in docker's words: the step's output and exit status for run,
 * "STATE EXIT" for inspect, "NAME STATE" lines for list.
 *
 * The node may be another machine: nothing is bind-mounted.  The files
 * of /tork (the run script, the task's files) go as swarm configs onto a
 * tmpfs at /tork; a run step's script runs under a wrapper that prints
 * $TORK_OUTPUT and its exit status at the end, framed by a random mark,
 * which the helper cuts out of the log into the step's stdout file.  A
 * service cannot be stopped with a grace of the caller's choosing: stop,
 * cancel and timeouts remove it, and the engine gives it SWARM_GRACE_S.
 */
#define SWARM_GRACE_S	10

static char self_exe[PATH_MAX] = "jobrun";	/* the helper: this program */
static struct strlist constraints;	/* daemon --constraint QUEUE:EXPR */

/*
 * The wrapper of a run step under swarm, $0 the mark: "$@" in the
 * background, so that sh, as the container's pid 1, hands the engine's
 * SIGTERM on; then the result and the exit status, framed by the mark.
 * $0, not a variable: the step's env could set one.
 */
static const char swarm_wrap[] =
    "\"$@\" & p=$!; trap 'kill -TERM $p' TERM; wait $p; c=$?; "
    "while kill -0 $p 2>/dev/null; do wait $p; c=$?; done; "
    "printf '\\n%s\\n' \"$0\"; cat /tork/stdout 2>/dev/null; "
    "printf '\\n%s.%d\\n' \"$0\" \"$c\"; exit $c";

static void
swarm_cmd(struct strlist *a, const char *mode)
{
	memset(a, 0, sizeof(*a));
	arg(a, "%s", self_exe);
	arg(a, "swarm-step");
	arg(a, "%s", mode);
	arg(a, "%s", homeid);
	arg(a, "%s", docker_bin);
}

/*
 * opt, then FIELDVALUE as a field of CSV (quoted, its quotes doubled),
 * then after: an option docker reads as CSV (--mount, --config).  Caller
 * frees.
 */
static char *
swarm_csv(const char *opt, const char *field, const char *value,
    const char *after)
{
	struct buf b = { 0 };
	const char *p;

	buf_addf(&b, "%s\"%s", opt, field);
	for (p = value; *p; p++)
		buf_add(&b, *p == '"' ? "\"\"" : (char[2]){ *p, 0 });
	buf_addf(&b, "\"%s", after);
	return buf_take(&b);
}

/* A word as shell-words parse it (service create --entrypoint). */
static void
swarm_quoted(struct strlist *a, const char *opt, const char *w)
{
	struct buf b = { 0 };
	const char *p;

	buf_addf(&b, "%s='", opt);
	for (p = w; *p; p++)
		if (*p == '\'')
			buf_add(&b, "'\\''");
		else
			buf_addn(&b, p, 1);
	buf_add(&b, "'");
	strlist_add(a, buf_take(&b));
}

/* Where EXPR's KEY starts in QUEUE:EXPR (after a queue), or NULL. */
static const char *
swarm_key(const char *s)
{
	const char *op = strstr(s, "==") ? strstr(s, "==") : strstr(s, "!=");
	const char *key;

	if (op == NULL)
		return NULL;
	for (key = op; key > s && key[-1] != ':'; key--)
		;
	return key - 1 > s ? key : NULL;
}

/*
 * daemon --constraint QUEUE:EXPR, EXPR as docker's: KEY==VALUE or
 * KEY!=VALUE, KEY a node's attribute (node.labels.gpu), VALUE a word.
 * QUEUE ends at the last colon before EXPR's KEY.  Returns 0, or -1
 * with *why.
 */
static int
swarm_constraint(const char *s, const char **why)
{
	const char *op = strstr(s, "==") ? strstr(s, "==") : strstr(s, "!=");
	const char *key, *p;

	*why = "it takes QUEUE:KEY==VALUE or QUEUE:KEY!=VALUE";
	if (op == NULL)
		return -1;
	if ((key = swarm_key(s)) == NULL || key == op)
		return -1;
	*why = "KEY has letters, digits and ._- only";
	for (p = key; p < op; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return -1;
	*why = "VALUE has letters, digits and ._-/: only";
	if (op[2] == '\0')
		return -1;
	for (p = op + 2; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-/:", *p))
			return -1;
	*why = NULL;
	return 0;
}

/* The --constraint options of the task's queue. */
static void
swarm_constraints(const struct rtstep *r, struct strlist *a)
{
	char *q = constraints.n ? task_queue(r->job, r->pos) : NULL;
	const char *key;
	size_t i;

	for (i = 0; q && i < constraints.n; i++) {
		key = swarm_key(constraints.v[i]);
		if ((size_t)(key - 1 - constraints.v[i]) == strlen(q) &&
		    strncmp(constraints.v[i], q, strlen(q)) == 0)
			arg(a, "--constraint=%s", key);
	}
	free(q);
}

/*
 * What a service cannot do as a container would, a step fails for rather
 * than run otherwise: share a network namespace with sidecars, reach a
 * volume or a bind mount on whichever node it lands, take --gpus.
 * Returns 0, or -1 with errmsg; s NULL asks of the task alone.
 */
static int
swarm_refuses(const struct task *t, const struct step *s)
{
	size_t i;

	if (t->sidecars.n || t->volumes.n || t->gpus)
		return fail("the swarm runtime (daemon --runtime swarm) runs no "
		    "%s", t->sidecars.n ? "sidecars" : t->volumes.n ? "volumes" :
		    "tasks with gpus");
	for (i = 0; i < t->mounts.n; i++)
		if (strcmp(t->mounts.v[i].type, "tmpfs") != 0)
			return fail("the swarm runtime (daemon --runtime swarm) "
			    "mounts tmpfs only, not %s", t->mounts.v[i].type);
	/* a swarm config holds 1 byte to 1000 KiB */
	for (i = 0; i < t->files.n; i++)
		if (!*t->files.v[i].val || strlen(t->files.v[i].val) >= 1024000)
			return fail("the swarm runtime (daemon --runtime swarm) "
			    "carries files of 1 byte to 1000 KiB, as swarm "
			    "configs: not %s (%zu bytes)", t->files.v[i].key,
			    strlen(t->files.v[i].val));
	if (s && s->run && strlen(s->run) >= 1024000)
		return fail("the swarm runtime (daemon --runtime swarm) "
		    "carries a run script of up to 1000 KiB, as a swarm config");
	return 0;
}

static void
swarm_run(const struct rtstep *r, struct strlist *a, struct kvlist *childenv)
{
	const struct step *s = r->s;
	const struct strlist *ep = &s->entrypoint;
	char mark[7 + 24 + 1];
	size_t i;

	memcpy(mark, "jobrun-", 7);
	random_hex(mark + 7, 24);
	swarm_cmd(a, "run");
	arg(a, "%s", r->workdir);
	arg(a, "%s", r->name);
	arg(a, "%s", s->run ? mark : "-");
	arg(a, "--label=jobrun.job=%s", r->job);
	arg(a, "--label=jobrun.task=%d", r->pos);
	arg(a, "--label=jobrun.attempt=%d", r->attempt);
	arg(a, "--container-label=jobrun.home=%s", homeid);
	arg(a, "--container-label=jobrun.job=%s", r->job);
	for (i = 0; i < r->t->networks.n; i++)
		arg(a, "--network=%s", r->t->networks.v[i]);
	if (pol.network && r->t->networks.n == 0)	/* never none: daemon_args */
		arg(a, "--network=%s", pol.network);
	swarm_constraints(r, a);
	if (r->main && r->t->limits.cpus)
		arg(a, "--limit-cpu=%s", r->t->limits.cpus);
	if (r->main && r->t->limits.memory)
		arg(a, "--limit-memory=%lld", r->t->limits.memory);
	docker_env(s, a, childenv);
	for (i = 0; i < r->t->mounts.n; i++)	/* swarm_refuses: tmpfs only */
		strlist_add(a, swarm_csv("--mount=type=tmpfs,", "destination=",
		    r->t->mounts.v[i].target, ""));
	if (s->workdir)
		arg(a, "--workdir=%s", s->workdir);
	else if (s->run || (r->main && r->t->files.n))
		arg(a, "--workdir=/tork");
	if (s->run) {
		arg(a, "--entrypoint=sh");
		arg(a, "--");
		arg(a, "%s", s->image);
		arg(a, "-c");
		arg(a, "%s", swarm_wrap);
		arg(a, "%s", mark);
		for (i = 0; i < ep->n; i++)
			arg(a, "%s", ep->v[i]);
		arg(a, "/tork/entrypoint");
		return;
	}
	if (ep->n)
		swarm_quoted(a, "--entrypoint", ep->v[0]);
	docker_command(s, a);
}

static void
swarm_ping(struct strlist *a)
{
	/* only a manager lists the nodes: a worker cannot create services */
	docker_cmd(a, "node");
	arg(a, "ls");
	arg(a, "--quiet");
}

static void
swarm_follow(const char *name, const char *workdir, long long since,
    struct strlist *a)
{
	swarm_cmd(a, "follow");
	arg(a, "%s", workdir);
	arg(a, "%s", name);
	arg(a, "%lld", since);
}

static void
swarm_inspect(const char *name, struct strlist *a)
{
	swarm_cmd(a, "inspect");
	arg(a, "%s", name);
}

static void
swarm_list(const char *job, struct strlist *a)
{
	swarm_cmd(a, "list");
	if (job)
		arg(a, "%s", job);
}

static void
swarm_remove(const struct strlist *names, struct strlist *a)
{
	size_t i;

	swarm_cmd(a, "rm");
	for (i = 0; i < names->n; i++)
		arg(a, "%s", names->v[i]);
}

static void
swarm_stop(const struct strlist *names, long long grace_s, struct strlist *a)
{
	(void)grace_s;		/* the service's: SWARM_GRACE_S */
	swarm_remove(names, a);
}

/*
 * The shell runtime (daemon --runtime shell): no engine, each step a
 * process group of the daemon's user, in the step's own directory (the
 * /tork of a container), its env in its environment, the image ignored,
 * its command exec'd as it is (argv, never a string of code).  There is
 * nothing to ask, list, start, remove or follow: a crashed daemon's steps
 * died with it (their process, not always what it forked), and run again.
 * So those operations are `true`, and remove, stop and volumes_remove are
 * none: the daemon signals the process group itself (sched_stop,
 * sched_reap, kill_container).
 */
static void
shell_true(struct strlist *a)
{
	memset(a, 0, sizeof(*a));
	arg(a, "true");
}

static void
shell_ping(struct strlist *a)
{
	shell_true(a);
}

static void
shell_on(const char *name, struct strlist *a)
{
	(void)name;
	shell_true(a);
}

static void
shell_follow(const char *name, const char *workdir, long long since,
    struct strlist *a)
{
	(void)workdir;
	(void)since;
	shell_on(name, a);
}

static void
shell_list(const char *job, struct strlist *a)
{
	shell_on(job, a);
}

static void
shell_exec(const char *name, const char *script, const char *arg0,
    struct strlist *a)
{
	(void)script;
	(void)arg0;
	shell_on(name, a);
}

/*
 * What the shell runtime cannot do as a container would, a step fails for
 * rather than run otherwise.  Returns 0, or -1 with errmsg; s NULL asks
 * of the task alone.
 */
static int
shell_refuses(const struct task *t, const struct step *s)
{
	if (t->sidecars.n || t->volumes.n || t->mounts.n)
		return fail("the shell runtime (daemon --runtime shell) runs no "
		    "%s", t->sidecars.n ? "sidecars" : t->volumes.n ? "volumes" :
		    "mounts");
	if (s && !s->run && s->entrypoint.n == 0 && s->cmd.n == 0)
		return fail("the shell runtime (daemon --runtime shell) needs "
		    "run, cmd or entrypoint: an image's own command is not known");
	return 0;
}

static void
shell_run(const struct rtstep *r, struct strlist *a, struct kvlist *childenv)
{
	const struct step *s = r->s;
	const struct strlist *ep = &s->entrypoint;
	char *v;
	size_t i;

	memset(a, 0, sizeof(*a));
	memset(childenv, 0, sizeof(*childenv));
	kv_set(childenv, "", r->workdir);	/* the directory it runs in */
	if (s->run) {
		/*
		 * The script is exec'd itself: its #! line is heeded, as
		 * docker's `sh -c /tork/entrypoint` does, and one without runs
		 * under /bin/sh (execvp's ENOEXEC); with no sh in between that
		 * would die at stop's SIGTERM before the script's trap ran.
		 */
		for (i = 0; i < ep->n; i++)
			arg(a, "%s", ep->v[i]);
		arg(a, "./entrypoint");
	} else {
		for (i = 0; i < ep->n; i++)
			arg(a, "%s", ep->v[i]);
		for (i = 0; i < s->cmd.n; i++)
			arg(a, "%s", s->cmd.v[i]);
	}
	for (i = 0; i < s->env.n; i++)
		kv_set(childenv, s->env.v[i].key, s->env.v[i].val);
	v = xasprintf("%s/stdout", r->workdir);
	kv_set(childenv, "TORK_OUTPUT", v);
	kv_set(childenv, "JOBRUN_OUTPUT", v);
	free(v);
	v = xasprintf("%s/progress", r->workdir);
	kv_set(childenv, "TORK_PROGRESS", v);
	kv_set(childenv, "JOBRUN_PROGRESS", v);
	free(v);
}

/*
 * Each operation fills in the argv (and, for run, the child's environment)
 * of one child process.  What the daemon reads back:
 *   ping      exit 0 when the engine answers;
 *   run       the step's output, and its exit status as the container's;
 *   follow    the output of a container an earlier daemon started (the
 *             step's directory given: swarm writes the result there);
 *   inspect   "STATE EXIT" of one container, nothing if there is none;
 *   list      "NAME STATE" per container of this home (of one job's);
 *   exec      exit 0 once a command in a running container succeeded;
 *   remove, stop, volumes_remove    nothing: they are fire and forget,
 *             or followed by a list; NULL when there is nothing to remove
 *             or stop (the shell runtime).
 * refuses, when not NULL, fails a task or step the runtime cannot run as
 * a container would (and a task it refuses starts no sidecars).
 * direct: run's exit status is the step's own, with no CLI in between
 * that could fail by itself, nor anything to ask about it.  An entry of
 * run's child environment with an empty name is the directory the child
 * runs in (no variable has that name).
 */
struct runtime {
	const char *name;
	const char *cli;		/* its command, unless JOBRUN_DOCKER */
	const char *hostvar, *ctxvar;	/* the CLI's engine: a URL, a name */
	int direct;
	int grace_s;			/* stop's grace is its own, or 0 */
	int netless;			/* a task may have no network (none) */
	const char *unreachable;	/* why ping failed: CLI, exit status */
	int (*refuses)(const struct task *, const struct step *);
	void (*ping)(struct strlist *);
	void (*run)(const struct rtstep *, struct strlist *, struct kvlist *);
	void (*follow)(const char *, const char *, long long, struct strlist *);
	void (*start)(const char *, struct strlist *);
	void (*inspect)(const char *, struct strlist *);
	void (*list)(const char *, struct strlist *);
	void (*exec)(const char *, const char *, const char *, struct strlist *);
	void (*remove)(const struct strlist *, struct strlist *);
	void (*stop)(const struct strlist *, long long, struct strlist *);
	void (*volumes_remove)(const struct strlist *, struct strlist *);
};

#define RT_UNREACHABLE	"cannot reach the container engine with '%s version' " \
	"(exit %d); is dockerd running, and may this user use it?"

static const struct runtime runtimes[] = {
	{ "docker", "docker", "DOCKER_HOST", "DOCKER_CONTEXT", 0, 0, 1,
	  RT_UNREACHABLE, NULL, docker_ping, docker_run, docker_follow,
	  docker_start, docker_inspect, docker_list, docker_exec, docker_remove,
	  docker_stop, docker_volumes_remove },
	{ "podman", "podman", "CONTAINER_HOST", "CONTAINER_CONNECTION", 0, 0, 1,
	  RT_UNREACHABLE, NULL, docker_ping, docker_run, docker_follow,
	  docker_start, docker_inspect, podman_list, docker_exec, podman_remove,
	  podman_stop, docker_volumes_remove },
	{ "shell", "shell", NULL, NULL, 1, 0, 1, RT_UNREACHABLE, shell_refuses,
	  shell_ping, shell_run, shell_follow, shell_on, shell_on, shell_list,
	  shell_exec, NULL, NULL, NULL },
	/* a service with no network is on a bridge: none is not for it */
	{ "swarm", "docker", "DOCKER_HOST", "DOCKER_CONTEXT", 0, SWARM_GRACE_S,
	  0, "cannot reach a swarm manager with '%s node ls' (exit %d); is "
	  "dockerd running, a swarm manager ('docker swarm init' makes one), "
	  "and may this user use it?", swarm_refuses, swarm_ping, swarm_run,
	  swarm_follow, swarm_inspect, swarm_inspect, swarm_list, shell_exec,
	  swarm_remove, swarm_stop, NULL },
};
static const struct runtime *rt = &runtimes[0];

/*
 * A container's state in docker's words.  podman has three more: a
 * container created and prepared but not started is "initialized" (to be
 * started, as a created one), one that has stopped but is not yet cleaned
 * up is "stopped" for a moment before "exited", and one being stopped is
 * "stopping".
 */
static const char *
rt_state(const char *s)
{
	if (strcmp(s, "initialized") == 0)
		return "created";
	if (strcmp(s, "stopped") == 0)
		return "exited";
	if (strcmp(s, "stopping") == 0)
		return "running";
	return s;
}

/*
 * Selects the runtime called name, and its CLI: JOBRUN_DOCKER, else the
 * command of that name.  Returns 0, or -1 if there is no such runtime.
 */
static int
rt_select(const char *name)
{
	const char *cli = getenv("JOBRUN_DOCKER");
	ssize_t n;
	size_t i;

	for (i = 0; i < sizeof(runtimes) / sizeof(runtimes[0]); i++)
		if (strcmp(runtimes[i].name, name) == 0) {
			rt = &runtimes[i];
			docker_bin = cli && *cli && !rt->direct ? cli : rt->cli;
			n = readlink("/proc/self/exe", self_exe,
			    sizeof(self_exe) - 1);
			self_exe[n > 0 ? n : 0] = '\0';
			if (n <= 0)	/* then it is found on PATH */
				snprintf(self_exe, sizeof(self_exe), "jobrun");
			return 0;
		}
	return -1;
}

/*
 * In a child, before its exec: the CLI is to talk to the engine at where,
 * a URL or a context name (engine_where), by the runtime's variables; the
 * other one goes, as DOCKER_HOST would win over DOCKER_CONTEXT.
 */
static void
rt_aim(const char *where)
{
	int url = strstr(where, "://") != NULL;

	setenv(url ? rt->hostvar : rt->ctxvar, where, 1);
	unsetenv(url ? rt->ctxvar : rt->hostvar);
}

/*
 * A child's environment as execve wants it: the daemon's, but for the
 * names env sets (its entry with an empty name is a directory, into
 * *cwd) and, for an engine of its own, the runtime's two variables
 * (rt_aim's).  Caller frees out.
 */
static void
rt_envp(const struct kvlist *env, size_t eng, struct strlist *out,
    const char **cwd)
{
	extern char **environ;
	const char *where = engines[eng].where, *v = NULL;
	char **e;
	size_t i, n;
	int url = where && strstr(where, "://") != NULL, set;

	memset(out, 0, sizeof(*out));
	*cwd = NULL;
	for (e = environ; *e; e++) {
		n = strcspn(*e, "=");
		set = where && ((strlen(rt->hostvar) == n && strncmp(*e,
		    rt->hostvar, n) == 0) || (strlen(rt->ctxvar) == n &&
		    strncmp(*e, rt->ctxvar, n) == 0));
		for (i = 0; !set && env && i < env->n; i++)
			set = strlen(env->v[i].key) == n &&
			    strncmp(*e, env->v[i].key, n) == 0;
		if (!set)
			strlist_add(out, xstrdup(*e));
	}
	for (i = 0; env && i < env->n; i++)
		if (*env->v[i].key)
			strlist_add(out, xasprintf("%s=%s", env->v[i].key,
			    env->v[i].val));
		else
			v = env->v[i].val;
	if (where)
		strlist_add(out, xasprintf("%s=%s", url ? rt->hostvar :
		    rt->ctxvar, where));
	*cwd = v;
}

/*
 * The file that runs for prog, searched in path (a step's own PATH), or
 * NULL to leave it to execvpe.  Caller frees.
 */
static __attribute__((noinline)) char *
rt_which(const char *prog, const char *path)
{
	const char *p = path, *c;
	char *f;

	if (strchr(prog, '/'))
		return NULL;
	for (; *p; p = *c ? c + 1 : c) {
		c = p + strcspn(p, ":");
		f = xasprintf("%.*s%s%s", (int)(c - p), p, c > p ? "/" : "./",
		    prog);
		if (access(f, X_OK) == 0)
			return f;
		free(f);
	}
	return NULL;
}

/* In a vfork child: says why argv[0] could not run, with no stdio. */
static void
rt_execfail(const char *what, int e)
{
	const char *why = strerror(e);

	if (write(STDERR_FILENO, "jobrun: ", 8) < 0 ||
	    write(STDERR_FILENO, what, strlen(what)) < 0 ||
	    write(STDERR_FILENO, ": ", 2) < 0 ||
	    write(STDERR_FILENO, why, strlen(why)) < 0 ||
	    write(STDERR_FILENO, "\n", 1) < 0) {
		/* nowhere else to say it */
	}
}

/*
 * Starts argv with stdout and stderr on outfd (or /dev/null when -1),
 * talking to engines[eng].  The child gets its own process group, so that
 * ^C at the daemon's terminal does not reach the docker CLI, and dies with
 * the daemon: a restarted daemon reattaches to the container, not to the
 * CLI.  It is a vfork child, which borrows the daemon's memory until its
 * exec: no copy of the daemon's page tables, and no copy-on-write faults
 * in the daemon afterwards (a fork cost a task about a sixth of the
 * daemon's CPU).  So the child only makes system calls: its environment
 * is built before, and signals are blocked from before the vfork until
 * the child has reset the daemon's handlers.  execvpe searches the
 * daemon's PATH, not envp's: a PATH the step sets is searched here first.
 */
static pid_t
rt_spawn(char *const argv[], int outfd, const struct kvlist *env, size_t eng)
{
	static const int handled[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
	struct strlist envp;
	const char *cwd, *path = env ? kv_get(env, "PATH") : NULL;
	char *prog = path ? rt_which(argv[0], path) : NULL;
	pid_t parent = getpid(), pid;
	sigset_t none, all, old;
	size_t i;
	int nul, e;

	if (db_broken) {	/* what it would do could not be recorded */
		free(prog);
		return fail("%s", db_brokenwhy);
	}
	rt_envp(env, eng, &envp, &cwd);
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	sigemptyset(&none);
	sigfillset(&all);
	/* none of the daemon's handlers may run in the child */
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = vfork()) == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		for (i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
			signal(handled[i], SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (nul >= 0)
			dup2(nul, STDIN_FILENO);
		dup2(outfd >= 0 ? outfd : nul, STDOUT_FILENO);
		dup2(outfd >= 0 ? outfd : nul, STDERR_FILENO);
		if (cwd && chdir(cwd) < 0) {	/* see struct runtime */
			rt_execfail(cwd, errno);
			_exit(125);
		}
		execvpe(prog ? prog : argv[0], argv, envp.v);
		rt_execfail(argv[0], errno);
		_exit(127);
	}
	e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (nul >= 0)
		close(nul);
	free(prog);
	strlist_free(&envp);
	if (pid < 0) {
		fail("vfork: %s", strerror(e));
		return -1;
	}
	failpoint_argv(argv);
	return pid;
}

/*
 * Whether where names an engine: unix://PATH, tcp://HOST:PORT or
 * ssh://[USER@]HOST[:PORT], or a context name as docker makes them.
 * Returns 0, or -1 with *why.
 */
static int
engine_where(const char *where, const char **why)
{
	static const char *const scheme[] = { "unix:///", "tcp://", "ssh://" };
	const char *p;
	size_t i;

	*why = NULL;
	if (strlen(where) > 255)
		*why = "it is longer than 255 bytes";
	for (p = where; !*why && *p; p++)
		if (!isgraph((unsigned char)*p))
			*why = "it has a space or a control character";
	if (*why || strstr(where, "://") == NULL) {
		if (!*why && !isalnum((unsigned char)*where))
			*why = "a context name starts with a letter or digit";
		for (p = where; !*why && *p; p++)
			if (!isalnum((unsigned char)*p) && !strchr("_.+-", *p))
				*why = "a context name has letters, digits and _.+-"
				    " only; a host is unix:///PATH, tcp://HOST:PORT "
				    "or ssh://[USER@]HOST";
		return *why ? -1 : 0;
	}
	for (i = 0; i < sizeof(scheme) / sizeof(scheme[0]); i++)
		if (strncmp(where, scheme[i], strlen(scheme[i])) == 0 &&
		    where[strlen(scheme[i])] != '\0')
			return 0;
	*why = "a host is unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST";
	return -1;
}

/* The engine at where, added if it is new; -1 past ENGINES_MAX. */
static int
engine_add(const char *where)
{
	size_t i;

	for (i = 1; i < nengines; i++)
		if (strcmp(engines[i].where, where) == 0)
			return (int)i;
	if (nengines == ENGINES_MAX)
		return -1;
	engines[nengines].where = where;
	return (int)nengines++;
}

/* How logs and messages name engine e. */
static const char *
engine_name(size_t e)
{
	return engines[e].where ? engines[e].where : "default";
}

/*
 * Whether the engine answers: 0, or the CLI's exit status (127: there is
 * no such command) with errmsg.  Blocks: start-up only.
 */
static int
rt_ping(void)
{
	struct strlist a;
	char *out;
	int rc;

	rt->ping(&a);
	rc = rt_capture(a.v, NULL, &out);
	free(out);
	strlist_free(&a);
	if (rc == 127)
		fail("cannot run '%s' (exit 127); is it installed? "
		    "JOBRUN_DOCKER names another", docker_bin);
	else if (rc != 0)
		fail(rt->unreachable, docker_bin, rc);
	return rc;
}

/* Fire and forget a on engine eng; this frees a.  Its output goes nowhere. */
static pid_t
rt_bg(struct strlist *a, size_t eng)
{
	pid_t pid = rt_spawn(a->v, -1, NULL, eng);

	strlist_free(a);
	return pid;
}

/* One name as a list, for the operations that take several. */
static void
rt_remove1(const char *name, struct strlist *a)
{
	struct strlist n = { 0 };

	strlist_add(&n, xstrdup(name));
	rt->remove(&n, a);	/* (only where run_owns_container) */
	strlist_free(&n);
}

/* ---- swarm: the step helper */

/*
 * `jobrun swarm-step MODE HOMEID CLI ...`, a child of the daemon (or of
 * stop) in the place of a CLI: see swarm_run.  It reads nothing of its
 * own from its environment, which holds the step's env: its CLI is an
 * argument.  It dies with its parent, and its children with it.
 */

/* Runs argv with stdout on out and stderr on errfd (-1: /dev/null). */
static pid_t
swarm_spawn(char *const argv[], int out, int errfd)
{
	pid_t parent = getpid(), pid;
	int nul;

	if ((pid = fork()) != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	dup2(nul, STDIN_FILENO);
	dup2(out >= 0 ? out : nul, STDOUT_FILENO);
	dup2(errfd >= 0 ? errfd : nul, STDERR_FILENO);
	execvp(argv[0], argv);
	rt_execfail(argv[0], errno);
	_exit(127);
}

static int
swarm_wait(pid_t pid)
{
	int status;

	if (pid < 0)
		return 127;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 127;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * The state of a service's task as inspect says it, "STATE EXIT ERR",
 * into *st: 1; 0 when it has no task yet; -1 when there is no such
 * service (or no engine to ask).  *id keeps the task's id between calls.
 */
static int
swarm_task(const char *name, char **id, char **st)
{
	struct strlist a;
	char *out = NULL;
	int rc;

	*st = NULL;
	if (*id == NULL) {
		docker_cmd(&a, "service");
		arg(&a, "ps");
		arg(&a, "--quiet");
		arg(&a, "--no-trunc");
		arg(&a, "--");
		arg(&a, "%s", name);
		rc = rt_capture(a.v, NULL, &out);
		strlist_free(&a);
		if (rc != 0 || out == NULL) {
			free(out);
			return -1;
		}
		out[strcspn(out, "\n")] = '\0';
		if (*out == '\0') {
			free(out);
			return 0;
		}
		*id = out;
	}
	/* no ContainerStatus, no Err until there is one: index, not a field */
	docker_on(&a, "inspect", *id, "--type=task", "--format={{.Status.State}} "
	    "{{with index .Status \"ContainerStatus\"}}{{with index . "
	    "\"ExitCode\"}}{{.}}{{else}}0{{end}}{{else}}0{{end}} "
	    "{{with index .Status \"Err\"}}{{.}}{{end}}", NULL);
	rc = rt_capture(a.v, NULL, &out);
	strlist_free(&a);
	if (rc != 0 || out == NULL) {
		free(out);
		return -1;
	}
	out[strcspn(out, "\n")] = '\0';
	*st = out;
	return 1;
}

/* A task's "STATE EXIT ERR" apart: ERR, or "" (state has 32 bytes). */
static const char *
swarm_parse(const char *st, char *state, int *code)
{
	int n = 0;

	*code = 0;
	state[0] = '\0';
	if (sscanf(st, "%31s %d %n", state, code, &n) < 2 || n == 0)
		return "";
	return st + n;
}

/* Whether a task's state is one it leaves no more. */
static int
swarm_final(const char *state)
{
	static const char *const final[] = { "complete", "failed", "rejected",
		"shutdown", "orphaned", "remove", NULL };
	size_t i;

	for (i = 0; final[i]; i++)
		if (strncmp(state, final[i], strlen(final[i])) == 0 &&
		    state[strlen(final[i])] == ' ')
			return 1;
	return 0;
}

/* Writes what printf would to fd 1, the log: no stdio buffer between. */
static void
swarm_say(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		err(EX_ERR, "vasprintf");
	va_end(ap);
	if (write_all(STDOUT_FILENO, s, strlen(s)) < 0) {
		/* the daemon is gone: so is whoever would read it */
	}
	free(s);
}

/*
 * The log as it passes, byte by byte: what lies between a line of the
 * mark and a line of the mark, a dot and the step's exit status is the
 * step's result (its stdout file, less the newline the wrapper puts
 * before the second line); the rest goes on to fd 1 as it comes, less
 * the empty line the wrapper puts before the first, to start it on a
 * line of its own.  Only the start of a line that could still be a mark
 * is held back: a task that prints no newline is logged all the same.
 */
struct swarm_log {
	const char *mark;		/* NULL: no result to look for */
	const char *dir;
	char pend[64];			/* the line so far, while it may be a mark */
	size_t npend;
	int plain;			/* the line so far is no mark */
	int held;			/* outside: an empty line; inside: a newline */
	int in;				/* between the marks */
	int ended;			/* the second mark was seen */
	int code;			/* ... with the step's exit status */
	int fd;				/* the stdout file, or -1 */
	int failed;			/* it could not be written */
	size_t kept;			/* bytes written to it */
	struct buf out;			/* for fd 1, flushed at each feed */
};

static void
swarm_put_out(struct swarm_log *l)
{
	if (l->out.len && write_all(STDOUT_FILENO, l->out.s, l->out.len) < 0) {
		/* the daemon is gone: so is whoever would read it */
	}
	l->out.len = 0;
}

/* n bytes of the result: at most one past MAX_OUTPUT, which fails it. */
static void
swarm_keep(struct swarm_log *l, const char *s, size_t n)
{
	if (l->fd < 0 || l->kept > MAX_OUTPUT)
		return;
	if (n > MAX_OUTPUT + 1 - l->kept)
		n = MAX_OUTPUT + 1 - l->kept;
	if (write_all(l->fd, s, n) < 0)
		l->failed = errno;
	l->kept += n;
}

/* n bytes that are no mark, on the side of the marks that l is on. */
static void
swarm_text(struct swarm_log *l, const char *s, size_t n)
{
	if (l->in) {
		if (l->held)
			swarm_keep(l, "\n", 1);
		l->held = 0;
		swarm_keep(l, s, n);
		return;
	}
	if (l->held)
		buf_addn(&l->out, "\n", 1);
	l->held = 0;
	buf_addn(&l->out, s, n);
}

/* Whether the line so far (pend) may yet be a line of the mark. */
static int
swarm_maybe(const struct swarm_log *l)
{
	size_t m = l->mark ? strlen(l->mark) : 0, i;

	if (l->mark == NULL || l->npend > m + 4)
		return 0;
	if (memcmp(l->pend, l->mark, l->npend < m ? l->npend : m) != 0)
		return 0;
	if (l->npend <= m)
		return 1;
	if (!l->in || l->pend[m] != '.')
		return 0;
	for (i = m + 1; i < l->npend; i++)
		if (!isdigit((unsigned char)l->pend[i]))
			return 0;
	return 1;
}

/* A whole line held back (pend, without its newline). */
static void
swarm_line(struct swarm_log *l)
{
	size_t m = l->mark ? strlen(l->mark) : 0;
	char *p;

	if (!l->in && l->mark && l->npend == m &&
	    memcmp(l->pend, l->mark, m) == 0) {
		p = xasprintf("%s/stdout", l->dir);
		if ((l->fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0644)) < 0)
			l->failed = errno;
		free(p);
		l->in = 1;
		l->held = 0;
		return;
	}
	if (l->in && l->npend > m + 1 && swarm_maybe(l)) {
		l->pend[l->npend] = '\0';
		l->code = atoi(l->pend + m + 1);
		if (l->fd >= 0 && close(l->fd) < 0 && !l->failed)
			l->failed = errno;
		l->fd = -1;
		l->in = 0;
		l->ended = 1;
		l->held = 0;
		return;
	}
	if (!l->in && l->npend == 0) {	/* an empty line: held back */
		if (l->held)
			buf_addn(&l->out, "\n", 1);
		l->held = 1;
		return;
	}
	swarm_text(l, l->pend, l->npend);
	if (l->in)
		l->held = 1;	/* this newline may be the wrapper's */
	else
		buf_addn(&l->out, "\n", 1);
}

static void
swarm_feed(struct swarm_log *l, const char *s, size_t n)
{
	const char *nl;
	size_t k;

	while (n > 0) {
		if (l->plain) {		/* up to the end of the line */
			nl = memchr(s, '\n', n);
			k = nl ? (size_t)(nl - s) : n;
			swarm_text(l, s, k);
			if (nl) {
				if (l->in)
					l->held = 1;
				else
					buf_addn(&l->out, "\n", 1);
				l->plain = 0;
				l->npend = 0;
				k++;
			}
			s += k;
			n -= k;
			continue;
		}
		if (*s == '\n') {
			swarm_line(l);
			l->npend = 0;
		} else {
			l->pend[l->npend++] = *s;
			if (!swarm_maybe(l)) {
				swarm_text(l, l->pend, l->npend);
				l->npend = 0;
				l->plain = 1;
			}
		}
		s++;
		n--;
	}
	swarm_put_out(l);
}

/* The end of the log: what is held back goes. */
static void
swarm_flush(struct swarm_log *l)
{
	if (l->npend)		/* a line with no newline */
		swarm_text(l, l->pend, l->npend);
	l->npend = 0;
	if (!l->in && l->held)
		buf_addn(&l->out, "\n", 1);
	l->held = 0;
	swarm_put_out(l);
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	free(l->out.s);
	l->out.s = NULL;
}

/* service logs NAME, --follow or not, into a pipe; returns its pid. */
static pid_t
swarm_logs(const char *name, const char *since, int follow, int *fd)
{
	struct strlist a;
	int p[2];
	pid_t pid;

	*fd = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	docker_cmd(&a, "service");
	arg(&a, "logs");
	arg(&a, "--raw");
	if (follow)
		arg(&a, "--follow");
	if (since)
		arg(&a, "--since=%s", since);
	arg(&a, "--");
	arg(&a, "%s", name);
	pid = swarm_spawn(a.v, p[1], p[1]);
	strlist_free(&a);
	close(p[1]);
	if (pid < 0)
		close(p[0]);
	else
		*fd = p[0];
	return pid;
}

/*
 * Reads fd into l, past its first skip bytes, until EOF or, with a limit
 * of ms (not -1), until then or until the result's last mark is in.
 * Returns the bytes read.
 */
static long long
swarm_drain(int fd, struct swarm_log *l, long long ms, long long skip)
{
	long long until = mono_ms() + ms, left, total = 0;
	char chunk[8192];
	struct pollfd pfd = { fd, POLLIN, 0 };
	ssize_t n;

	for (;;) {
		left = until - mono_ms();
		if (ms >= 0 && (l->ended || left <= 0 ||
		    poll(&pfd, 1, (int)left) <= 0))
			return total;
		if ((n = read(fd, chunk, sizeof(chunk))) == 0)
			return total;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return total;
		total += n;
		if (skip >= n) {
			skip -= n;
			continue;
		}
		swarm_feed(l, chunk + skip, (size_t)(n - skip));
		skip = 0;
	}
}

/*
 * Follows the service's log until its task is final, then reads the log
 * once more to its end, past the bytes already seen: the follower never
 * ends by itself, and may lag.  (A run step's result ends with a mark:
 * once that is in, there is nothing more to read.)  Returns the task's
 * state, or NULL if the service went away; caller frees.
 */
static char *
swarm_watch(const char *name, const char *since, struct swarm_log *l)
{
	long long next = 0, step = 100, seen = 0, now, wait_ms;
	char chunk[8192], *id = NULL, *st = NULL, *said = NULL, state[32];
	const char *why;
	struct pollfd pfd;
	pid_t pid;
	ssize_t n;
	int fd = -1, misses = 0, got, code;

	pid = swarm_logs(name, since, 1, &fd);
	for (;;) {
		now = mono_ms();
		wait_ms = next > now ? next - now : 0;
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (fd >= 0 && poll(&pfd, 1, (int)wait_ms) > 0) {
			if ((n = read(fd, chunk, sizeof(chunk))) > 0) {
				seen += n;
				swarm_feed(l, chunk, (size_t)n);
			} else if (n == 0 || errno != EINTR) {
				close(fd);	/* the follower gave up */
				fd = -1;
			}
			continue;
		}
		if (fd < 0 && wait_ms > 0)
			usleep((useconds_t)wait_ms * 1000);
		free(st);
		if ((got = swarm_task(name, &id, &st)) < 0 && ++misses >= 3)
			break;	/* removed, or the engine is away */
		if (got >= 0)
			misses = 0;
		else	/* ask again soon: it was removed, most likely */
			step = 100;
		if (st && swarm_final(st))
			break;
		/* why it waits (no node meets its constraints, say) */
		why = st ? swarm_parse(st, state, &code) : "";
		if (*why && (said == NULL || strcmp(said, why) != 0)) {
			free(said);
			said = xstrdup(why);
			swarm_say("jobrun: swarm: task %s: %s\n", state, why);
		}
		next = mono_ms() + step;
		step = step * 3 / 2 > 2000 ? 2000 : step * 3 / 2;
	}
	/* the result's last mark may be on its way: a moment for it */
	if (fd >= 0 && st && l->mark && !l->ended)
		seen += swarm_drain(fd, l, 3000, 0);
	if (pid > 0)
		kill(pid, SIGTERM);
	if (fd >= 0) {
		seen += swarm_drain(fd, l, -1, 0);
		close(fd);
	}
	swarm_wait(pid);
	if (st && !(l->mark && l->ended) &&
	    (pid = swarm_logs(name, since, 0, &fd)) > 0) {
		swarm_drain(fd, l, -1, seen);
		close(fd);
		swarm_wait(pid);
	}
	swarm_flush(l);
	free(said);
	free(id);
	return st;
}

/*
 * The step's exit status, from its task's final "STATE EXIT ERR" and,
 * for a run step, the mark that closes its result.
 */
static int
swarm_status(const char *name, const char *st, const struct swarm_log *l)
{
	char state[32];
	const char *why;
	int code;

	if (st == NULL) {
		swarm_say("jobrun: swarm: service %s was removed, or the engine "
		    "does not answer\n", name);
		return 137;
	}
	why = swarm_parse(st, state, &code);
	if (strcmp(state, "complete") != 0 && code <= 0) {
		/* it never ran: an image no node has, say */
		swarm_say("jobrun: swarm: task %s: %s\n", state, *why ? why :
		    "no reason given");
		return 125;
	}
	if (l->failed) {
		swarm_say("jobrun: swarm: %s/stdout: %s\n", l->dir,
		    strerror(l->failed));
		return 125;
	}
	if (l->mark && !l->ended && code == 0) {
		swarm_say("jobrun: swarm: the log of service %s ended before the "
		    "step's result did; is the engine's log driver one that "
		    "'docker service logs' reads?\n", name);
		return 125;
	}
	return code;
}

/* The value of the option --label=jobrun.job= among opts, or NULL. */
static const char *
swarm_job(char *opts[], int n)
{
	int i;

	for (i = 0; i < n && strcmp(opts[i], "--") != 0; i++)
		if (strncmp(opts[i], "--label=jobrun.job=", 19) == 0)
			return opts[i] + 19;
	return NULL;
}

/*
 * This step's configs, one per file of its /tork, made before it:
 * their --config options into opts.  Returns 0, or 125 having said why.
 */
static int
swarm_configs(const char *home, const char *job, const char *dir,
    const char *name, struct strlist *opts)
{
	struct strlist a;
	struct dirent *de;
	struct stat sb;
	char *path, *cfg, *src;
	DIR *d = opendir(dir);
	int rc = 0, k = 0;

	if (d == NULL) {
		swarm_say("jobrun: %s: %s\n", dir, strerror(errno));
		return 125;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		path = xasprintf("%s/%s", dir, de->d_name);
		if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode)) {
			free(path);
			continue;
		}
		cfg = xasprintf("%s.c%d", name, k++);
		docker_cmd(&a, "config");
		arg(&a, "create");
		arg(&a, "--label=jobrun.home=%s", home);
		if (job)
			arg(&a, "--label=jobrun.job=%s", job);
		arg(&a, "--");
		arg(&a, "%s", cfg);
		arg(&a, "%s", path);
		rc = swarm_wait(swarm_spawn(a.v, -1, STDOUT_FILENO));
		strlist_free(&a);
		/* not secret (those go in the environment): any user reads it */
		src = xasprintf("--config=source=%s,", cfg);
		strlist_add(opts, swarm_csv(src, "target=/tork/", de->d_name,
		    sb.st_mode & S_IXUSR ? ",mode=0755" : ",mode=0644"));
		free(src);
		free(cfg);
		free(path);
	}
	closedir(d);
	return rc ? 125 : 0;
}

static int swarm_rm(const char *home, char *names[], int n, int configs_only);

/* The mark label of service name into *mark ("" if none): 0, or -1. */
static int
swarm_service(const char *name, char **mark)
{
	struct strlist a;
	int rc;

	docker_on(&a, "service", name, "inspect",
	    "--format={{index .Spec.Labels \"jobrun.mark\"}}", NULL);
	rc = rt_capture(a.v, NULL, mark);
	strlist_free(&a);
	if (rc != 0 || *mark == NULL) {
		free(*mark);
		*mark = NULL;
		return -1;
	}
	(*mark)[strcspn(*mark, "\n")] = '\0';
	return 0;
}

/* Follows service name to its end: its exit status, as swarm_status. */
static int
swarm_follow_to_end(const char *dir, const char *name, const char *mark,
    const char *since)
{
	struct swarm_log l = { 0 };
	char *st;
	int rc;

	l.mark = mark && *mark ? mark : NULL;
	l.dir = dir;
	l.fd = -1;
	st = swarm_watch(name, since, &l);
	rc = swarm_status(name, st, &l);
	free(st);
	return rc;
}

/*
 * run HOMEID CLI DIR NAME MARK OPTION... -- IMAGE ARG...: creates the
 * service (its files as configs first), then as docker run: its output,
 * its exit status.  MARK is "-" for a step that has no result.  A service
 * of that name is one a helper killed with the last daemon created: it
 * is followed, not made again (nor removed: it may run).
 */
static int
swarm_step_run(const char *home, const char *dir, const char *name,
    const char *mark, char *rest[], int nrest)
{
	struct strlist a, cfg = { 0 };
	char *old = NULL, *nm[1] = { (char *)name };
	int i, rc;

	if (swarm_service(name, &old) == 0) {
		rc = swarm_follow_to_end(dir, name, old, NULL);
		free(old);
		return rc;
	}
	swarm_rm(home, nm, 1, 1);	/* configs such a helper left */
	if ((rc = swarm_configs(home, swarm_job(rest, nrest), dir, name,
	    &cfg)) != 0) {
		swarm_rm(home, nm, 1, 1);
		strlist_free(&cfg);
		return rc;
	}
	docker_cmd(&a, "service");
	arg(&a, "create");
	arg(&a, "--detach");
	arg(&a, "--quiet");
	arg(&a, "--no-resolve-image");
	arg(&a, "--with-registry-auth");
	arg(&a, "--name=%s", name);
	arg(&a, "--replicas=1");
	arg(&a, "--restart-condition=none");
	arg(&a, "--stop-grace-period=%ds", SWARM_GRACE_S);
	arg(&a, "--label=jobrun.home=%s", home);
	if (strcmp(mark, "-") != 0)
		arg(&a, "--label=jobrun.mark=%s", mark);
	arg(&a, "--mount=type=tmpfs,destination=/tork");
	for (i = 0; (size_t)i < cfg.n; i++)
		arg(&a, "%s", cfg.v[i]);
	for (i = 0; i < nrest; i++)
		arg(&a, "%s", rest[i]);
	strlist_free(&cfg);
	rc = swarm_wait(swarm_spawn(a.v, -1, STDOUT_FILENO));
	strlist_free(&a);
	if (rc != 0) {
		swarm_rm(home, nm, 1, 1);	/* what is in use stays */
		return 125;
	}
	return swarm_follow_to_end(dir, name, strcmp(mark, "-") ? mark : NULL,
	    NULL);
}

/* follow HOMEID CLI DIR NAME SINCE: a service an earlier daemon created. */
static int
swarm_step_follow(const char *dir, const char *name, const char *since)
{
	char *mark = NULL;

	if (swarm_service(name, &mark) < 0) {
		swarm_say("jobrun: swarm: no service %s\n", name);
		return 1;
	}
	swarm_follow_to_end(dir, name, mark, strcmp(since, "0") ? since : NULL);
	free(mark);
	return 0;
}

/*
 * inspect HOMEID CLI NAME: "STATE EXIT" as docker's would be: a task that
 * has not ended is running (it starts by itself), one that ended exited.
 */
static int
swarm_step_inspect(const char *name)
{
	char *id = NULL, *st = NULL, state[32];
	int code;

	swarm_task(name, &id, &st);
	free(id);
	if (st == NULL) {	/* a service with no task yet is none either */
		fprintf(stderr, "jobrun: swarm: no service %s\n", name);
		return 1;
	}
	swarm_parse(st, state, &code);
	if (!swarm_final(st))
		printf("running 0\n");
	else
		printf("exited %d\n", strcmp(state, "complete") == 0 ? 0 :
		    code > 0 ? code : 125);
	free(st);
	return 0;
}

/* The names of this home's services or configs (of one job's). */
static int
swarm_names(const char *what, const char *home, const char *job,
    char **out)
{
	struct strlist a;
	int rc;

	docker_cmd(&a, what);
	arg(&a, "ls");
	arg(&a, "--filter=label=jobrun.home=%s", home);
	if (job)
		arg(&a, "--filter=label=jobrun.job=%s", job);
	arg(&a, "--format={{.Name}}");
	rc = rt_capture(a.v, NULL, out);
	strlist_free(&a);
	return rc;
}

/* Lines of "NAME STATE" per service among svc (lines), from service ps. */
static int
swarm_states(char *svc)
{
	struct strlist a, names = { 0 };
	char *ps = NULL, *line, *save, *dot, *sp;
	size_t i;
	int rc = 0;

	for (line = strtok_r(svc, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save))
		strlist_add(&names, xstrdup(line));
	if (names.n) {
		docker_cmd(&a, "service");
		arg(&a, "ps");
		arg(&a, "--no-trunc");
		arg(&a, "--format={{.Name}} {{.CurrentState}}");
		arg(&a, "--");
		for (i = 0; i < names.n; i++)
			arg(&a, "%s", names.v[i]);
		rc = rt_capture(a.v, NULL, &ps);
		strlist_free(&a);
	}
	for (line = ps ? strtok_r(ps, "\n", &save) : NULL; line;
	    line = strtok_r(NULL, "\n", &save)) {
		if ((sp = strchr(line, ' ')) == NULL)
			continue;
		*sp = '\0';
		if ((dot = strrchr(line, '.')) != NULL)
			*dot = '\0';
		sp[1] = (char)tolower((unsigned char)sp[1]);
		printf("%s %s\n", line, swarm_final(sp + 1) ? "exited" :
		    "running");
		for (i = 0; i < names.n; i++)
			if (strcmp(names.v[i], line) == 0)
				names.v[i][0] = '\0';
	}
	for (i = 0; i < names.n; i++)	/* no task yet: it is on its way */
		if (names.v[i][0])
			printf("%s running\n", names.v[i]);
	strlist_free(&names);
	free(ps);
	return rc;
}

/*
 * list HOMEID CLI [JOB]: "NAME STATE" per service, and per config (exited:
 * what is left of a step), of this home.  For one job's (stop), also the
 * containers on this node that still run: a removed service's task is
 * given its grace after the service is gone.
 */
static int
swarm_step_list(const char *home, const char *job)
{
	struct strlist a;
	char *svc = NULL, *cfg = NULL, *ctr = NULL, *line, *save;
	int rc;

	if ((rc = swarm_names("service", home, job, &svc)) != 0 ||
	    (rc = swarm_names("config", home, job, &cfg)) != 0 ||
	    (rc = swarm_states(svc)) != 0) {
		free(svc);
		free(cfg);
		return rc ? rc : 1;
	}
	for (line = strtok_r(cfg, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save))
		printf("%s exited\n", line);
	if (job) {
		docker_cmd(&a, "ps");
		arg(&a, "--filter=label=jobrun.home=%s", home);
		arg(&a, "--filter=label=jobrun.job=%s", job);
		arg(&a, "--format={{.Names}} running");
		rc = rt_capture(a.v, NULL, &ctr);
		strlist_free(&a);
		if (ctr)
			fputs(ctr, stdout);
	}
	free(svc);
	free(cfg);
	free(ctr);
	return rc;
}

/*
 * rm HOMEID CLI NAME...: the services, and their configs (NAME.cK) or
 * the configs named; configs only, when configs_only.  Exits as service
 * rm did (1 if one was missing).
 */
static int
swarm_rm(const char *home, char *names[], int n, int configs_only)
{
	struct strlist a, c;
	char *cfg = NULL, *line, *save;
	int i, rc = 0, k;
	size_t len;

	docker_cmd(&a, "service");
	arg(&a, "rm");
	arg(&a, "--");
	for (i = 0; i < n && !configs_only; i++)
		if (strchr(names[i], '.') == NULL)
			arg(&a, "%s", names[i]);
	if (a.n > 4)
		rc = swarm_wait(swarm_spawn(a.v, -1, -1));
	strlist_free(&a);
	docker_cmd(&c, "config");
	arg(&c, "rm");
	arg(&c, "--");
	if (swarm_names("config", home, NULL, &cfg) == 0)
		for (line = strtok_r(cfg, "\n", &save); line;
		    line = strtok_r(NULL, "\n", &save))
			for (k = 0; k < n; k++) {
				len = strlen(names[k]);
				if (strncmp(line, names[k], len) == 0 &&
				    (line[len] == '\0' || line[len] == '.')) {
					arg(&c, "%s", line);
					break;
				}
			}
	if (c.n > 4 && swarm_wait(swarm_spawn(c.v, -1, -1)) != 0)
		rc = 1;
	strlist_free(&c);
	free(cfg);
	return rc;
}

/* -------------------------------------------------------------- daemon -- */

/*
 * One process, one poll loop: a self-pipe for signals, inotify on
 * spool/new (and a rescan every second in case it missed something), and
 * the nearest deadline.  Every child is a runtime operation or a webhook
 * delivery (struct run, by kind below); none is waited for but by the
 * loop.  State changes go to the database as they happen; memory holds
 * only the children and the parsed jobs they belong to: a job that only
 * waits is a row, and what the loop does at each turn reads indexes and
 * counts, never every waiting row.
 */

enum {
	R_STEP,		/* a step's container, its output logged */
	R_REATTACH,	/* following one an earlier daemon started */
	R_SIDECAR,	/* starting a sidecar, detached */
	R_PROBE,	/* asking a sidecar whether it answers */
	R_ASK,		/* asking the engine; ask_done() goes on */
	R_AUX,		/* fire and forget: rm, stop, then volume rm */
	R_HOOK		/* a webhook delivery */
};

/* What an R_ASK run was started for: what ask_done() does with the answer. */
enum ask {
	ASK_CLI_FAILED,	/* inspect: a step's CLI failed; did its container? */
	ASK_FOLLOWED,	/* inspect: a followed container's log ended */
	ASK_SETTLE,	/* a pause, for a start a dead CLI asked for to land */
	ASK_CREATED,	/* inspect: is the container still not started? */
	ASK_START,	/* start it, then follow it */
	ASK_SIDECARS,	/* remove an earlier try's sidecars, then start them */
	ASK_RECONCILE,	/* list: what the last daemon left, at start-up */
	ASK_SWEEP,	/* list: what an rm left, once idle */
	ASK_ENGINE,	/* ping: a container gave no answer; is the engine there? */
	ASK_PING	/* ping: the engine was away; is it back? */
};

/* An R_ASK run is killed after this long, and taken as not answered. */
#define RT_ASK_MS	30000
/* Tries of a step whose name is taken by a container the engine cannot show. */
#define STEP_CONFLICTS	50

struct run {
	pid_t pid;
	int kind;
	char job[ID_LEN + 1];
	int pos, attempt, step;
	char *queue;			/* counts against this queue's cap */
	size_t eng;			/* engines[]: where its CLI goes */
	long long deadline;		/* monotonic ms: the attempt times out */
	long long rekill_at;		/* monotonic ms: try docker rm -f again */
	long long tdeadline;		/* R_PROBE: the attempt's own deadline */
	size_t probe;			/* R_PROBE, R_SIDECAR: which sidecar */
	enum ask ask;			/* R_ASK: what for */
	int cli;			/* ASK_CLI_FAILED: the CLI's exit status */
	int conflicts;			/* reruns as the step's name was taken */
	long long kill_at;		/* monotonic ms: SIGKILL the CLI */
	int timed_out, cancelled;
	struct strlist then;		/* R_AUX: run this next */
	size_t batch;			/* R_AUX: a batch rm of this many */
	int out, log;			/* the child's output pipe, its log file */
	struct buf part;		/* output not yet logged: no newline yet */
	struct strlist redact;		/* values no log may show */
	long long prog_mtime;		/* the progress file as last read */
	int log_cut;			/* --log-max reached, said so */
	int log_err;			/* a write to the log failed: errno */
	int hookfd;			/* R_HOOK: the answer comes down this */
};

struct qcap {
	char *name;
	int cap;
	size_t eng;			/* engines[]: where its tasks run */
};

static struct run *runs;
static size_t nruns;
static struct qcap *qcaps;
static size_t nqcaps;
static int defcap;
static int sigpipe_[2] = { -1, -1 };
static const char *metrics_file;	/* daemon --metrics-file */
static long long log_max;		/* daemon --log-max: bytes per task log */
static volatile sig_atomic_t got_term;
static struct MHD_Daemon *httpd;	/* daemon --listen (the HTTP face) */
static int api_fd = -1;			/* ... its epoll fd, polled */
static char api_url[80];		/* ... where it listens */
static const char *listen_addr;		/* daemon --listen */
static long long max_pending;		/* daemon --max-pending: 0, none */
static long long api_spooled;		/* POSTed since the last ingest */
static void api_run(void);
static int api_wait(int);

/*
 * Parsed jobs, by id: those with a child running stay, the rest go at
 * the top of each turn of the loop (sched_trim), so that memory does not
 * grow with the jobs that only wait.
 */
#define JCACHE_BUCKETS	1024
struct jcache {
	char id[ID_LEN + 1];
	struct job *j;
	struct jcache *next;
};
static struct jcache *jcache[JCACHE_BUCKETS];
static size_t njcache;

/* The daemon's parts call each other. */
#define HOOK_TRIES	5
#define HOOK_INFLIGHT	8

static char *redact(const struct strlist *l, char *s);
static void engine_check(struct run *r, int code);
static void engine_ping(size_t);
static void task_requeue(struct run *r);
static int daemon_meta(const char *key, const char *fmt, ...);
static long long cron_after(const char *expr, long long now);
static int sched_next(const struct job *j, int pos);
static long long mono_deadline(long long astart, long long timeout_ms);
static int task_row(const char *id, int pos, int *idx, char **item);
static const struct task *task_at(const struct job *j, int pos);
static int is_composite(const struct task *t);
static void env_item_set(expr_val *env, const struct task *parent,
    expr_val *value, int idx);
static expr_val *sched_env(const struct job *j, int pos);
static char *sched_eval(const char *tmpl, const expr_val *env,
    const char *field);
static int probe_next(struct job *j, const struct task *t, int pos,
    int attempt, int step, long long deadline, size_t k);
static void sched_step(struct job *j, int pos, int attempt, int step,
    long long deadline);
static int run_ended(struct run *r);
static void reattach(struct job *j, int pos, int attempt, int step,
    long long deadline);
static void ask_done(struct run *r, int code);
static char *fmt_timeout(long long ms, char *out, size_t n);
static char *docker_complaint(const char *job, int pos);
static char *secrets_out(const char *id, char *s);
static void job_fail(const char *id, int pos, const char *label,
    const char *error_);
static void job_complete(const struct job *j);
static void task_observe(const char *id, int pos);
static void attempt_end(struct run *r, int ok, int code, const char *error);
static void step_exited(struct run *r, int code);
static void subjob_ended(const char *id, enum jstate state, const char *error);
static void kill_container(size_t i);
static void sched_cancel_subjobs(const char *id);
static void sched_cancel(const char *id);
static void sched_stop(const char *id, long long grace_ms);
static void sched_restart(const char *id);
static void hook_event(const char *id, int pos, const char *event,
    const char *state);
static size_t hooks_inflight(void);
static void hook_done(struct run *r);
static int jobs_prune(const char *where, const char *state, long long before);
/* ---- children */

static void
on_signal(int sig)
{
	int saved = errno;
	char c = (char)sig;

	if (sig == SIGTERM || sig == SIGINT)
		got_term = 1;
	if (write(sigpipe_[1], &c, 1) < 0) {
		/* the pipe is full: a wakeup is pending anyway */
	}
	errno = saved;
}

static struct run *
run_add(pid_t pid, int kind, const char *job, int pos, int attempt, int step)
{
	struct run *r;

	runs = xreallocarray(runs, nruns + 1, sizeof(*runs));
	r = &runs[nruns++];
	memset(r, 0, sizeof(*r));
	r->pid = pid;
	r->kind = kind;
	snprintf(r->job, sizeof(r->job), "%s", job ? job : "");
	r->pos = pos;
	r->attempt = attempt;
	r->step = step;
	r->out = r->log = -1;
	if (kind == R_AUX)	/* an engine that does not answer: give up */
		r->kill_at = mono_ms() + RT_ASK_MS;
	return r;
}

/* The queue of a task (caller frees), or NULL. */
static char *
task_queue(const char *job, int pos)
{
	return db_str("SELECT queue FROM tasks WHERE job = ? AND pos = ?", "si",
	    job, pos);
}

/* The engine of queue q's tasks: daemon -q Q:N@WHERE's, else the CLI's own. */
static size_t
queue_engine(const char *q)
{
	size_t i;

	for (i = 0; q && i < nqcaps; i++)
		if (strcmp(qcaps[i].name, q) == 0)
			return qcaps[i].eng;
	return 0;
}

/* The engine of a task, by its queue. */
static size_t
task_engine(const char *job, int pos)
{
	char *q = task_queue(job, pos);
	size_t e = queue_engine(q);

	free(q);
	return e;
}

static int
open_log(const char *job, int pos)
{
	char *dir = home_path("logs/%s", job);
	char *path = home_path("logs/%s/%d.log", job, pos);
	int fd;

	mkdir_p(dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0)
		fail("%s: %s", path, strerror(errno));
	free(dir);
	free(path);
	return fd;
}

/* Whether an env variable's value is to be kept out of logs, by its name. */
static int
env_secret(const char *name)
{
	return strcasestr(name, "SECRET") || strcasestr(name, "PASSWORD") ||
	    strcasestr(name, "ACCESS_KEY");
}

/* Returns 0, or -1 with errno. */
static int
write_all(int fd, const char *s, size_t n)
{
	ssize_t w;

	while (n > 0)
		if ((w = write(fd, s, n)) > 0) {
			s += w;
			n -= w;
		} else if (w < 0 && errno != EINTR)
			return -1;
	return 0;
}

/* s with every value of l cut out (vendor/redact.c); frees s. */
static char *
redact(const struct strlist *l, char *s)
{
	return redact_str((const char *const *)l->v, l->n, s);
}

/*
 * Adds the job's secrets to a redaction list, each also without its
 * trailing line breaks: a block scalar's secret ends in one, which a
 * program that prints it seldom does.
 */
static void
redact_secrets(struct strlist *l, const struct job *j)
{
	const char *v;
	size_t i, n;

	for (i = 0; i < j->secrets.n; i++) {
		v = j->secrets.v[i].val;
		for (n = strlen(v); n > 0 && (v[n - 1] == '\n' || v[n - 1] == '\r'); n--)
			;
		if (n > 0)
			strlist_add(l, xasprintf("%.*s", (int)n, v));
		if (n > 0 && v[n])
			strlist_add(l, xstrdup(v));
	}
}

/*
 * What tasks' records are to say about their logs ("JOB POS WHY"): kept
 * until written, through a pause of the daemon too (log_notes_flush).
 */
static struct strlist log_notes;

/* A write to r's log failed (errno e): the rest of its output is dropped. */
static void
log_fail(struct run *r, int e)
{
	char *why = xasprintf("log truncated: %s", strerror(e));

	r->log_err = e;
	logf_("warn", "task.log", "job=%s task=%d error=\"%s\"", r->job, r->pos,
	    why);
	strlist_add(&log_notes, xasprintf("%s %d %s", r->job, r->pos, why));
	free(why);
}

/* Writes the log notes to the tasks' records, those it can. */
static void
log_notes_flush(void)
{
	char job[ID_LEN + 1];
	int pos, off;
	size_t i;

	for (i = 0; i < log_notes.n; ) {
		if (sscanf(log_notes.v[i], "%12s %d %n", job, &pos, &off) == 2 &&
		    db_exec("UPDATE tasks SET log_error = ? WHERE job = ? AND pos ="
		    " ?", "ssi", log_notes.v[i] + off, job, pos) < 0)
			return;		/* the store cannot take it now */
		free(log_notes.v[i]);
		log_notes.v[i] = log_notes.v[--log_notes.n];
	}
}

/* Appends output to the run's log with every secret value replaced. */
static void
log_redacted(struct run *r, const char *s, size_t n)
{
	size_t i, from = 0, m = 0;
	struct stat sb;
	char cap[32], *note;
	const char *nl;
	int full = 0;

	if (r->log_err)		/* cut already, said so */
		return;
	/*
	 * A task's log is made at its first output, not at its start: a task
	 * that prints nothing costs no file (an inode is a third of what the
	 * daemon spends on a `true`).
	 */
	if (r->log < 0 && (r->kind == R_STEP || r->kind == R_REATTACH ||
	    r->kind == R_SIDECAR) && (r->log = open_log(r->job, r->pos)) < 0) {
		log_fail(r, errno ? errno : EIO);
		return;
	}
	if (r->log < 0)
		return;
	/*
	 * daemon --log-max: whole lines up to the cap (a line cut in two
	 * could show half a secret), then one note per run, then nothing.
	 */
	if (log_max > 0 && fstat(r->log, &sb) == 0 && (sb.st_size >= log_max ||
	    sb.st_size + (long long)n > log_max)) {
		if (sb.st_size < log_max && (nl = memrchr(s, '\n', (size_t)(log_max -
		    sb.st_size))) != NULL)
			log_redacted(r, s, (size_t)(nl - s) + 1);
		full = 1;
	}
	if (full) {
		if (!r->log_cut) {
			note = xasprintf("[jobrun: this log reached --log-max %s; "
			    "output dropped]\n", units_fmt_size(log_max, cap,
			    sizeof(cap)));
			if (write_all(r->log, note, strlen(note)) < 0)
				log_fail(r, errno);
			free(note);
			r->log_cut = 1;
		}
		return;
	}

	for (i = 0; i < n && r->redact.n; ) {
		if ((m = redact_match((const char *const *)r->redact.v,
		    r->redact.n, s + i, n - i)) == 0) {
			i++;
			continue;
		}
		if (write_all(r->log, s + from, i - from) < 0 ||
		    write_all(r->log, REDACTED, sizeof(REDACTED) - 1) < 0) {
			log_fail(r, errno);
			return;
		}
		i += m;
		from = i;
	}
	if (write_all(r->log, s + from, n - from) < 0)
		log_fail(r, errno);
}

/*
 * Moves what the child wrote from its pipe to its log, a whole line at a
 * time, so that no secret is cut in two by a read.  At the end (EOF, or
 * final), whatever is left goes too and the pipe is closed.
 */
static void
run_output(struct run *r, int final)
{
	char chunk[65536], *nl;
	ssize_t n = -1;
	size_t keep;

	while (r->out >= 0 && (n = read(r->out, chunk, sizeof(chunk))) > 0) {
		buf_addn(&r->part, chunk, n);
		if (r->kind == R_ASK)	/* the answer, kept whole for ask_done */
			continue;
		if ((nl = memrchr(r->part.s, '\n', r->part.len)) == NULL &&
		    r->part.len < 65536)
			continue;
		keep = nl ? r->part.len - (size_t)(nl + 1 - r->part.s) : 0;
		log_redacted(r, r->part.s, r->part.len - keep);
		memmove(r->part.s, r->part.s + r->part.len - keep, keep);
		r->part.len = keep;
	}
	if (n == 0 || final) {
		if (r->part.len && r->kind != R_ASK)
			log_redacted(r, r->part.s, r->part.len);
		r->part.len = 0;
		if (r->out >= 0)
			close(r->out);
		r->out = -1;
	}
}

static void
run_free(struct run *r)
{
	char *note;

	run_output(r, 1);
	if (r->log_err && r->log >= 0) {
		/* where the log is cut, if there is room for that now */
		note = xasprintf("[jobrun: this log is cut here: %s]\n",
		    strerror(r->log_err));
		if (write_all(r->log, note, strlen(note)) < 0) {
			/* the task's record says it (log_notes) */
		}
		free(note);
	}
	if (r->log >= 0)
		close(r->log);
	if (r->kind == R_HOOK && r->hookfd >= 0)
		close(r->hookfd);
	free(r->part.s);
	free(r->queue);
	strlist_free(&r->then);
	strlist_free(&r->redact);
}

/*
 * Starts a child whose output the daemon logs: the step of a task, or a
 * `docker logs -f` that follows one.  env holds the step's variables,
 * whose secret-looking values are redacted along with the job's secrets.
 */
static struct run *
run_logged(char *const argv[], const struct kvlist *cenv, int kind,
    const struct job *j, int pos, int attempt, int step, const struct kvlist *env)
{
	struct run *r;
	size_t i;
	pid_t pid;
	int p[2];
	char *q;

	if (pipe2(p, O_CLOEXEC) < 0) {
		fail("pipe: %s", strerror(errno));
		return NULL;
	}
	q = task_queue(j->id, pos);
	pid = rt_spawn(argv, p[1], cenv, queue_engine(q));
	close(p[1]);
	if (pid < 0) {
		free(q);
		close(p[0]);
		return NULL;
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	r = run_add(pid, kind, j->id, pos, attempt, step);
	r->out = p[0];	/* its log is made at its first output (log_redacted) */
	redact_secrets(&r->redact, j);
	for (i = 0; env && i < env->n; i++)
		if (env_secret(env->v[i].key) && *env->v[i].val)
			strlist_add(&r->redact, xstrdup(env->v[i].val));
	r->queue = q;
	r->eng = queue_engine(q);
	return r;
}

static void ask_done(struct run *, int);
static void step_again(struct run *, int);

/*
 * Asks the engine something: argv (which this frees) runs as a child
 * whose output is kept, not logged, and when it exits ask_done() goes on
 * with what `from` was doing.  The new run takes over from's task, attempt
 * and deadlines, its queue slot and its redaction list (moved: from may be
 * a copy about to be freed).  If the child cannot start, or has not ended
 * RT_ASK_MS later (it is killed then), the answer is that there was none.
 */
static void
run_ask(struct run *from, enum ask ask, struct strlist *argv)
{
	struct run c = *from, *r;
	int p[2];
	pid_t pid = -1;

	memset(&from->redact, 0, sizeof(from->redact));
	if (pipe2(p, O_CLOEXEC) == 0) {
		if ((pid = rt_spawn(argv->v, p[1], NULL, c.eng)) < 0)
			close(p[0]);
		close(p[1]);
	}
	strlist_free(argv);
	if (pid < 0 && db_broken)	/* the daemon pauses: all is forgotten */
		return;
	if (pid < 0) {
		logf_("warn", "runtime.error", "job=%s task=%d error=\"%s\"",
		    c.job, c.pos, errmsg);
		memset(&c.part, 0, sizeof(c.part));
		c.kind = R_ASK;
		c.ask = ask;
		c.queue = NULL;
		memset(&c.then, 0, sizeof(c.then));
		c.out = c.log = -1;
		ask_done(&c, 127);
		run_free(&c);
		return;
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	r = run_add(pid, R_ASK, c.job, c.pos, c.attempt, c.step);
	r->eng = c.eng;
	r->ask = ask;
	r->out = p[0];
	r->kill_at = mono_ms() + RT_ASK_MS;
	r->deadline = c.deadline;
	r->tdeadline = c.tdeadline;
	r->probe = c.probe;
	r->cli = c.cli;
	r->conflicts = c.conflicts;
	r->timed_out = c.timed_out;
	r->cancelled = c.cancelled;
	r->redact = c.redact;
	if (*c.job)
		r->queue = task_queue(c.job, c.pos);
}

static int
queue_cap(const char *q)
{
	size_t i;

	for (i = 0; i < nqcaps; i++)
		if (strcmp(qcaps[i].name, q) == 0)
			return qcaps[i].cap;
	return defcap;
}

static int
queue_busy(const char *q)
{
	size_t i;
	int n = 0;

	for (i = 0; i < nruns; i++)
		if (runs[i].queue && strcmp(runs[i].queue, q) == 0)
			n++;
	return n;
}

static struct jcache **
jcache_slot(const char *id)
{
	unsigned h = 0;
	struct jcache **c;
	const char *p;

	for (p = id; *p; p++)
		h = h * 31 + (unsigned char)*p;
	c = &jcache[h % JCACHE_BUCKETS];
	while (*c && strcmp((*c)->id, id))
		c = &(*c)->next;
	return c;
}

/* Caches a job just parsed; the cache frees it.  Returns the cached one. */
static struct job *
jcache_put(struct job *j)
{
	struct jcache **c = jcache_slot(j->id);

	if (*c) {
		spec_free(j);
		return (*c)->j;
	}
	*c = xcalloc(1, sizeof(**c));
	snprintf((*c)->id, sizeof((*c)->id), "%s", j->id);
	(*c)->j = j;
	njcache++;
	return j;
}

/*
 * The parsed job, from the cache or from its envelope in the database.
 * The pointer holds until the loop's next turn (sched_trim), or while a
 * child of the job runs.
 */
static struct job *
sched_job(const char *id)
{
	struct jcache **c = jcache_slot(id);
	struct env e;
	struct job *j;
	char *text;

	if (*c)
		return (*c)->j;
	if ((text = db_str("SELECT envelope FROM jobs WHERE id = ?", "s", id)) == NULL) {
		fail("job %s is not in the database", id);
		return NULL;
	}
	if (spool_parse(text, &e) < 0) {
		free(text);
		return NULL;
	}
	free(text);
	j = spool_job_of(&e, NULL);
	env_free(&e);
	if (j == NULL)
		return NULL;
	secrets_get(j);
	return jcache_put(j);
}

static void
sched_forget(const char *id)
{
	struct jcache **c = jcache_slot(id), *dead = *c;

	if (dead == NULL)
		return;
	*c = dead->next;
	spec_free(dead->j);
	free(dead);
	njcache--;
}

/* Forgets the parsed jobs no child holds (all = 1: every one). */
static void
sched_trim(int all)
{
	struct jcache **c, *dead;
	size_t b, i;

	for (b = 0; b < JCACHE_BUCKETS && njcache; b++)
		for (c = &jcache[b]; *c; ) {
			for (i = 0; !all && i < nruns; i++)
				if (strcmp(runs[i].job, (*c)->id) == 0)
					break;
			if (!all && i < nruns) {
				c = &(*c)->next;
				continue;
			}
			dead = *c;
			*c = dead->next;
			spec_free(dead->j);
			free(dead);
			njcache--;
		}
}

/* ---- the state machine */

/*
 * A job's and a task's state is an enum (jobrun.h); its name exists only
 * here, for the rows, the log and JSON.  Two functions change states,
 * job_move and task_move, and nothing else does: each checks the move
 * against the table of legal moves below (an illegal one is a bug: logged
 * as event=state.illegal and refused), writes the row, and queues the
 * event: the log line, the webhook, the metric.  Events go out in order
 * when the transaction commits (db_commit), or at once outside one; a
 * webhook's body shows the rows as committed.  The moves are drawn in the
 * note at the top of this file.
 */
static const unsigned jmoves[] = {
	[J_PENDING] = SB(J_RUNNING) | SB(J_COMPLETED) | SB(J_FAILED) | SB(J_CANCELLED),
	[J_SCHEDULED] = SB(J_PENDING) | SB(J_FAILED) | SB(J_CANCELLED),
	[J_RUNNING] = SB(J_COMPLETED) | SB(J_FAILED) | SB(J_CANCELLED),
	[J_COMPLETED] = 0,
	[J_FAILED] = SB(J_PENDING),
	[J_CANCELLED] = SB(J_PENDING),
};
static const unsigned tmoves[] = {
	[T_CREATED] = SB(T_PENDING) | SB(T_SKIPPED) | SB(T_RUNNING) | SB(T_COMPLETED) |
	    SB(T_FAILED) | SB(T_CANCELLED),
	/* a subjob child is PENDING as it is made, then RUNNING (or, detached, done) */
	[T_PENDING] = SB(T_SCHEDULED) | SB(T_RUNNING) | SB(T_COMPLETED) |
	    SB(T_FAILED) | SB(T_CANCELLED),
	[T_SCHEDULED] = SB(T_RUNNING) | SB(T_PENDING) | SB(T_FAILED) | SB(T_CANCELLED),
	[T_RUNNING] = SB(T_PENDING) | SB(T_COMPLETED) | SB(T_FAILED) | SB(T_CANCELLED),
	[T_COMPLETED] = 0,
	[T_FAILED] = SB(T_CREATED),
	[T_CANCELLED] = SB(T_CREATED),
	[T_SKIPPED] = 0,
};

struct event {
	char job[ID_LEN + 1];
	int pos;			/* 0: the job itself */
	int from, to;
	int attempt;			/* a task's, for its metrics */
	char *error;
	long long uid;			/* who asked for it (caller_uid), for the log */
};
static struct event *events;
static size_t nevents;
static size_t nstored;		/* the first nstored have their rows written */

static void
event_push(const char *job, int pos, int from, int to, int attempt,
    const char *error)
{
	struct event *e;

	events = xreallocarray(events, nevents + 1, sizeof(*events));
	e = &events[nevents++];
	snprintf(e->job, sizeof(e->job), "%s", job);
	e->pos = pos;
	e->from = from;
	e->to = to;
	e->attempt = attempt;
	e->error = xstrdup(error);
	e->uid = caller_uid;
}

static void task_observe(const char *, int);

/* What a move means outside its row: the log line, the webhook, the metric. */
static void
event_log(const struct event *e)
{
	const char *name = e->pos ? tstate_name(e->to) : jstate_name(e->to);
	long long uid = caller_uid;

	caller_uid = e->uid;	/* logged at commit: a batch is many callers' */

	if (e->pos == 0)
		logf_(e->error ? "warn" : "info", "job.state", "job=%s state=%s%s%s%s",
		    e->job, name, e->error ? " error=\"" : "", e->error ?
		    e->error : "", e->error ? "\"" : "");
	else
		logf_(e->to == T_FAILED ? "warn" : "info", "task.state",
		    "job=%s task=%d state=%s", e->job, e->pos, name);
	caller_uid = uid;
}

/* What an event writes to the store: webhook deliveries, metrics. */
static void
event_store(const struct event *e)
{
	const char *name = e->pos ? tstate_name(e->to) : jstate_name(e->to);
	int ran = e->attempt > 0 && (e->from == T_SCHEDULED || e->from == T_RUNNING);

	hook_event(e->job, e->pos, e->pos ? "task.StateChange" :
	    "job.StateChange", name);
	if (e->pos == 0)
		return;
	if (e->to == T_SCHEDULED)
		db_count("tasks_started", 1);
	else if (e->to == T_PENDING && ran)
		db_count("tasks_retried", 1);
	else if (e->to == T_FAILED && ran)
		db_count("tasks_failed", 1);
	if ((e->to == T_COMPLETED || e->to == T_FAILED) && ran)
		task_observe(e->job, e->pos);
}

/*
 * The queued events: EV_STORE writes their rows (inside the transaction,
 * before it commits), EV_LOG logs them and forgets them (once it has
 * committed: the log never tells of a move the store does not have),
 * EV_DROP forgets them (it rolled back).
 */
static void
events_flush(int what)
{
	size_t i, n = nevents;

	if (what == EV_STORE) {
		/* a hook's row may queue no event: n holds */
		for (i = nstored; i < n; i++)
			event_store(&events[i]);
		nstored = n;
		return;
	}
	for (i = 0; i < n; i++) {
		if (what == EV_LOG)
			event_log(&events[i]);
		free(events[i].error);
	}
	nevents = nstored = 0;
}

/*
 * Moves a row (table jobs or tasks, the row matched by where: ?101 and
 * ?102) from state `from` to `to`, also setting cols ("a = ?, b = ?", bound
 * by fmt and ap).  Returns 0, or -1 with errmsg.
 */
static int
move_row(const char *table, const char *where, const char *job, int pos,
    const char *to, const char *cols, const char *fmt, va_list ap)
{
	sqlite3_stmt *st;
	char *sql = xasprintf("UPDATE %s SET state = '%s'%s%s WHERE %s", table,
	    to, cols ? ", " : "", cols ? cols : "", where);
	int rc;

	st = db_vprep(sql, fmt, ap);
	free(sql);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 101, job, -1, SQLITE_TRANSIENT);
	if (pos)
		sqlite3_bind_int(st, 102, pos);
	rc = db_step(st);
	db_done(st);
	return rc == SQLITE_DONE ? 0 : db_fail();
}

/* Forgets the events queued after the first `from` (a savepoint rolled back). */
static void
events_drop(size_t from)
{
	while (nevents > from)
		free(events[--nevents].error);
	if (nstored > nevents)
		nstored = nevents;
}

/* Queues events, and sends them at once when no transaction is open. */
static void
event_queue(const char *job, int pos, int from, int to, int attempt,
    const char *error)
{
	event_push(job, pos, from, to, attempt, error);
	if (sqlite3_get_autocommit(db)) {
		events_flush(EV_STORE);
		events_flush(EV_LOG);
	}
}

/*
 * The one place a job's state changes: to `to`, from whatever state the
 * table allows, setting cols as well (see move_row); error goes into the
 * event (the log line).  A job already in `to` gets cols only.  Returns 1
 * if it moved, 0 if it was in `to`, -1 (errmsg) if the move is illegal or
 * the store failed.
 */
static int
job_move(const char *id, enum jstate to, const char *error, const char *cols,
    const char *fmt, ...)
{
	char *s = db_str("SELECT state FROM jobs WHERE id = ?", "s", id);
	int from = state_parse(jstate_names, s), rc;
	va_list ap;

	free(s);
	if (from < 0)
		return fail("no job %s to move to %s", id, jstate_name(to));
	if (from != (int)to && !(jmoves[from] & SB(to))) {
		logf_("error", "state.illegal", "job=%s from=%s to=%s", id,
		    jstate_name(from), jstate_name(to));
		fail("job %s cannot go from %s to %s", id, jstate_name(from),
		    jstate_name(to));
		return db_txabort();
	}
	va_start(ap, fmt);
	rc = move_row("jobs", "id = ?101", id, 0, jstate_name(to), cols, fmt, ap);
	va_end(ap);
	if (rc < 0 || from == (int)to)
		return rc;
	event_queue(id, 0, from, to, 0, error);
	return 1;
}

/* The same for task pos of job id. */
static int
task_move(const char *id, int pos, enum tstate to, const char *cols,
    const char *fmt, ...)
{
	sqlite3_stmt *st = db_prep("SELECT state, attempt FROM tasks WHERE job = ?"
	    " AND pos = ?", "si", id, pos);
	int from = -1, attempt = 0, rc;
	va_list ap;

	if (db_row(st)) {
		from = state_parse(tstate_names, (const char *)
		    sqlite3_column_text(st, 0));
		attempt = sqlite3_column_int(st, 1);
	}
	db_done(st);
	if (from < 0)
		return fail("no task %s/%d to move to %s", id, pos, tstate_name(to));
	if (from != (int)to && !(tmoves[from] & SB(to))) {
		logf_("error", "state.illegal", "job=%s task=%d from=%s to=%s", id,
		    pos, tstate_name(from), tstate_name(to));
		fail("task %s/%d cannot go from %s to %s", id, pos,
		    tstate_name(from), tstate_name(to));
		return db_txabort();
	}
	va_start(ap, fmt);
	rc = move_row("tasks", "job = ?101 AND pos = ?102", id, pos,
	    tstate_name(to), cols, fmt, ap);
	va_end(ap);
	if (rc < 0 || from == (int)to)
		return rc;
	event_queue(id, pos, from, to, attempt, NULL);
	return 1;
}

/*
 * A webhook delivery's and a schedule's states are the daemon's own
 * bookkeeping, with no webhook or metric of their own: their moves are
 * only the row, through the same move_row: table is "hooks" (key: the
 * delivery's seq) or "schedules" (key: the schedule's id).
 */
static int
row_move(const char *table, const char *key, const char *to, const char *cols,
    const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = move_row(table, *table == 'h' ? "seq = ?101" : "id = ?101", key, 0,
	    to, cols, fmt, ap);
	va_end(ap);
	return rc;
}

/*
 * Moves every task of job id whose state is in mask (and, with parent > 0,
 * that is a child of task parent; parent < 0: any child) to `to`, each
 * through task_move.  Returns how many moved, or -1.
 */
static int
tasks_move(const char *id, int parent, unsigned mask, enum tstate to,
    const char *cols, long long arg)
{
	struct strlist pos = { 0 };
	sqlite3_stmt *st;
	char *in = state_list(tstate_names, mask), *sql;
	size_t i;
	int n = 0, rc;

	sql = xasprintf("SELECT pos FROM tasks WHERE job = ? AND state IN (%s)%s"
	    " ORDER BY pos", in, parent > 0 ? " AND parent = ?" : parent < 0 ?
	    " AND parent != 0" : "");
	st = db_prep(sql, parent > 0 ? "si" : "s", id, parent);
	while (db_row(st))
		strlist_add(&pos, xasprintf("%d", sqlite3_column_int(st, 0)));
	db_done(st);
	free(sql);
	free(in);
	for (i = 0; i < pos.n && n >= 0; i++)
		if ((rc = task_move(id, atoi(pos.v[i]), to, cols, cols ? "I" : NULL,
		    arg)) < 0)
			n = -1;
		else
			n += rc;
	strlist_free(&pos);
	return n;
}

/*
 * Once a final job has no child left, its work files go, and its parsed
 * spec too.  Until then a container may still be writing there.  Its
 * secrets go once it COMPLETED: a FAILED or CANCELLED job may be
 * restarted, so they stay until it is pruned.
 */
static void
sched_job_tidy(const char *id)
{
	char *work;
	size_t i;
	int st;

	if (db_broken)		/* the store cannot say the job is over */
		return;
	for (i = 0; i < nruns; i++)
		if (runs[i].kind != R_AUX && strcmp(runs[i].job, id) == 0)
			return;
	work = home_path("work/%s", id);
	rm_rf(work);
	free(work);
	if ((st = db_jstate(id)) < 0 || st == J_COMPLETED) {
		work = home_path("secrets/%s", id);
		unlink(work);
		free(work);
	}
	sched_forget(id);
}

static void kill_container(size_t);
static void subjob_ended(const char *, enum jstate, const char *);
static void sched_cancel_subjobs(const char *);

/* A job ended: any container of it still running (parallel siblings) goes. */
static void
sched_job_done(const char *id, enum jstate state, const char *error)
{
	size_t i;

	for (i = 0; i < nruns; i++)
		if (runs[i].kind != R_AUX && !runs[i].cancelled &&
		    strcmp(runs[i].job, id) == 0) {
			runs[i].cancelled = 1;
			kill_container(i);
		}
	sched_job_tidy(id);
	if (state == J_FAILED)
		sched_cancel_subjobs(id);
	subjob_ended(id, state, error);
}

/* ---- ingest */

/*
 * spool/new is read at each wake: a job file becomes rows in one
 * transaction and is unlinked only then; a request file (cancel, stop,
 * restart, prune, import, a schedule's change) is done and unlinked.  A
 * file the store cannot take now stays for the next scan.
 */
/*
 * The store failed (busy past the timeout, a full disk), not the file: it
 * stays in spool/new and is tried again at the next scan, a second later.
 * Said once per file, not once per try.
 */
static void
spool_retry(const char *name)
{
	static struct strlist said;
	size_t i;

	for (i = 0; i < said.n; i++)
		if (strcmp(said.v[i], name) == 0)
			return;
	strlist_add(&said, xstrdup(name));
	logf_("warn", "spool.retry", "file=%s error=\"%s\"", name, errmsg);
}

/* Moves a spool file the daemon cannot read aside, so that it is kept. */
static void
spool_reject(const char *name)
{
	char *bad = home_path("spool/bad"), *from, *to, *nl;

	mkdir_p(bad);
	from = home_path("spool/new/%s", name);
	to = home_path("spool/bad/%s", name);
	rename(from, to);
	/* one event, one line: a job file's errors come one per line */
	for (nl = errmsg; (nl = strchr(nl, '\n')) != NULL; )
		*nl = nl[1] ? ';' : '\0';
	logf_("error", "spool.reject", "file=%s error=\"%s\"", to, errmsg);
	free(bad);
	free(from);
	free(to);
}

/*
 * A job the daemon will not run, though submit took it (the daemon's
 * policy, a forged or oversized spool file): recorded FAILED with the
 * reason, so that ls, show and wait tell the user, never dropped.  Its
 * text is not kept: it may hold secrets that could not be cut out.
 * Inside the caller's transaction.  Returns 1, or -1 with errmsg.
 */
static int
job_refuse(const struct env *e, const char *why_)
{
	struct env k = { 0 };
	char *env, *why = xstrdup(why_), *nl;
	long long now = now_ms();
	int n;

	for (nl = why; (nl = strchr(nl, '\n')) != NULL; )
		*nl = nl[1] ? ';' : '\0';
	k.op = "submit";
	k.id = e->id;
	k.created = e->created;
	k.file = e->file;
	k.source = "";
	env = env_text(&k, 0);
	n = db_exec("INSERT OR IGNORE INTO jobs(id, name, state, envelope, inputs,"
	    " created, completed, error, ntasks) VALUES(?,?,?,?,'{}',?,?,?,0)",
	    "ssssIIs", e->id, e->file, jstate_name(J_FAILED), env, e->created ?
	    e->created : now, now, why);
	if (n == 1) {
		logf_("warn", "job.refused", "job=%s error=\"%s\"", e->id, why);
		event_queue(e->id, 0, -1, J_FAILED, 0, why);
	}
	free(env);
	free(why);
	return n < 0 ? -1 : 1;
}

/*
 * Puts a job into the store, its first task PENDING, inside the caller's
 * transaction; a subjob names its parent job and task.  A job that fails
 * the daemon's checks goes in FAILED (job_refuse); a subjob's failure is
 * its parent task's.  The text stored has the secrets cut out.  Returns 1
 * if inserted, 0 if the store had it already (a re-ingested spool file),
 * -1 with errmsg.
 */
static int
job_insert(const struct env *e, const char *parent, int ptask, const char *name)
{
	struct job *j = spool_job_of(e, e->sub ? NULL : &pol);
	struct env st = *e;
	struct buf in = { 0 };
	char *env;
	long long now = now_ms(), seq;
	size_t i;
	int n;

	if (j == NULL && parent == NULL)
		return job_refuse(e, errmsg);
	if (j && !e->sub && (st.source = spec_store_text(e->source,
	    strlen(e->source), j)) == NULL && parent == NULL) {
		spec_free(j);
		return job_refuse(e, errmsg);
	}
	if (j == NULL || st.source == NULL || secrets_put(e) < 0) {
		if (!e->sub)
			free(st.source);
		spec_free(j);
		return -1;
	}
	inputs_json(&in, &j->inputs);
	env = env_text(&st, 0);
	if (!e->sub)
		free(st.source);
	n = db_exec("INSERT OR IGNORE INTO jobs(id, name, description, state,"
	    " envelope, inputs, created, ntasks, parent, ptask, due)"
	    " VALUES(?,?,?,?,?,?,?,?,?,?,?)", "ssssssIisiI", j->id,
	    name ? name : j->name, j->description, jstate_name(e->due > now ?
	    J_SCHEDULED : J_PENDING), env, in.s, e->created, (int)j->ntasks, parent, ptask,
	    e->due);
	free(env);
	free(in.s);
	seq = sqlite3_last_insert_rowid(db);
	for (i = 0; n == 1 && i < j->ntasks; i++) {
		struct task *t = &j->tasks[i];

		db_exec("INSERT INTO tasks(job, pos, jseq, name, queue, priority,"
		    " state, var, created) VALUES(?,?,?,?,?,?,?,?,?)",
		    "siIssissI", j->id, (int)i + 1, seq, t->c.name, t->queue,
		    t->priority, tstate_name(T_CREATED), t->var, now);
	}
	if (n != 1) {
		spec_free(j);
		return n;
	}
	j = jcache_put(j);	/* its events and first task need it: parsed once */
	if (e->due > now)
		event_queue(j->id, 0, -1, J_SCHEDULED, 0, NULL);
	else {
		event_queue(j->id, 0, -1, J_PENDING, 0, NULL);
		if (sched_next(j, 1) == 1)
			job_complete(j);	/* every task was skipped */
	}
	return n;
}

static int
req_prune(const struct env *e)
{
	int n = jobs_prune("completed", e->state, now_ms() - e->arg);

	if (n < 0)
		return -1;
	logf_("info", "jobs.prune", "deleted=%d", n);
	return 0;
}

/*
 * A schedule comes in: its envelope is kept (its secrets in
 * secrets/SCHEDULE, for every run) and its first firing computed.
 */
static int
req_schedule(const struct env *e)
{
	struct job *j = spool_job_of(e, &pol);
	struct env st = *e;
	long long next = cron_after(e->cron, now_ms());
	char *env;
	int n;

	if (j == NULL || (st.source = spec_store_text(e->source,
	    strlen(e->source), j)) == NULL) {
		spec_free(j);
		return job_refuse(e, errmsg) < 0 ? -1 : 0;
	}
	env = env_text(&st, 0);
	free(st.source);
	if (secrets_put(e) < 0) {
		free(env);
		spec_free(j);
		return -1;
	}
	n = db_exec("INSERT OR IGNORE INTO schedules(id, name, cron, envelope,"
	    " state, created, next_at) VALUES(?,?,?,?,?,?,?)", "sssssII", e->id,
	    j->name, e->cron, env, sstate_names[S_ACTIVE], e->created, next);
	if (n == 1)
		logf_("info", "schedule.add", "schedule=%s cron=\"%s\" next=%lld",
		    e->id, e->cron, next);
	free(env);
	spec_free(j);
	return n < 0 ? -1 : 0;
}

/* schedule pause|resume|rm: a resumed schedule counts its next firing from now. */
static int
req_sched_op(const struct env *e)
{
	const char *op = e->op + strlen("schedule.");
	char *cr = db_str("SELECT cron FROM schedules WHERE id = ?", "s", e->id);
	char *path;

	if (cr == NULL)
		logf_("info", "schedule.change", "schedule=%s op=%s ignored=unknown",
		    e->id, op);
	else if (strcmp(op, "pause") == 0)
		row_move("schedules", e->id, sstate_names[S_PAUSED], NULL, NULL);
	else if (strcmp(op, "resume") == 0)
		row_move("schedules", e->id, sstate_names[S_ACTIVE], "next_at = ?",
		    "I", cron_after(cr, now_ms()));
	else {
		db_exec("DELETE FROM schedules WHERE id = ?", "s", e->id);
		path = home_path("secrets/%s", e->id);
		unlink(path);
		free(path);
	}
	if (cr)
		logf_("info", "schedule.change", "schedule=%s op=%s", e->id, op);
	free(cr);
	return 0;
}

/* import: the rows come in the request, the logs are in place already. */
static int
req_import(const struct env *e)
{
	int rc;

	if (e->data == NULL)
		return fail("import request without data");
	db_begin();
	if ((rc = db_import(e->data, e->id)) < 0) {
		db_rollback();
		return rc;
	}
	db_commit();
	logf_("info", "job.import", "job=%s", e->id);
	return 0;
}

static int req_cancel(const struct env *e) { sched_cancel(e->id); return 0; }
static int req_restart(const struct env *e) { sched_restart(e->id); return 0; }

static int
req_stop(const struct env *e)
{
	sched_stop(e->id, e->arg > 0 ? e->arg : 10000);
	return 0;
}

/* What each spooled request does (job files go in by batch_add). */
static const struct req {
	const char *op;
	int (*fn)(const struct env *);
} reqs[] = {
	{ "cancel", req_cancel },
	{ "stop", req_stop },
	{ "restart", req_restart },
	{ "prune", req_prune },
	{ "import", req_import },
	{ "schedule", req_schedule },
	{ "schedule.pause", req_sched_op },
	{ "schedule.resume", req_sched_op },
	{ "schedule.rm", req_sched_op },
};

static int
spool_dispatch(const struct env *e)
{
	size_t i;

	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
		if (strcmp(reqs[i].op, e->op) == 0)
			return reqs[i].fn(e);
	return fail("unknown request '%s'", e->op);
}

/*
 * Job files go into the store in batches, one transaction for up to
 * INGEST_BATCH of them (a transaction per job made ingest cost 0.35 ms a
 * job), each file inside a savepoint of its own: a job the store refuses
 * rolls back alone.  The files are unlinked once the batch commits; a
 * crash before that ingests them again, which the primary key ignores.
 */
#define INGEST_BATCH	2000

struct batch {
	struct strlist names;		/* committed: unlink these */
	struct strlist ended;		/* jobs that ended as they came in */
	int open;
};

/* Commits the batch and unlinks its files; or leaves them for the next scan. */
static int
batch_end(struct batch *b)
{
	size_t i;
	int rc = 0;
	char *path;

	if (b->open) {
		db_soft = 1;
		rc = db_commit();
		db_soft = 0;
	}
	for (i = 0; i < b->names.n; i++)
		if (rc == 0) {
			path = home_path("spool/new/%s", b->names.v[i]);
			unlink(path);
			free(path);
			failpoint("unlink", "%s", b->names.v[i]);
		} else
			spool_retry(b->names.v[i]);
	for (i = 0; rc == 0 && i < b->ended.n; i++)
		sched_job_tidy(b->ended.v[i]);
	strlist_free(&b->names);
	strlist_free(&b->ended);
	memset(b, 0, sizeof(*b));
	sched_trim(0);
	return rc;
}

/*
 * One job file into the open batch (refused: rc 1 from spool_read).
 * Returns 0, or -1 with errmsg: the file alone was rolled back.
 */
static int
batch_add(struct batch *b, const char *name, const struct env *e, int refused)
{
	size_t mark = nevents;
	int rc;

	db_soft = 1;
	if (!b->open && db_begin() < 0) {
		db_soft = 0;
		return -1;
	}
	b->open = 1;
	if (db_exec("SAVEPOINT job", NULL) < 0) {
		db_soft = 0;
		return -1;
	}
	rc = refused ? job_refuse(e, errmsg) : job_insert(e, NULL, 0, NULL);
	if (rc >= 0) {
		/* its rows now, so that its parsed spec can go at once */
		events_flush(EV_STORE);
		if (db_txfail)
			rc = -1;
	}
	if (rc < 0) {
		events_drop(mark);
		db_exec("ROLLBACK TO job", NULL);
		db_exec("RELEASE job", NULL);
		db_txfail = 0;
		db_soft = 0;
		return -1;
	}
	db_soft = 0;
	if (db_exec("RELEASE job", NULL) < 0)
		return -1;
	strlist_add(&b->names, xstrdup(name));
	if (rc == 1 && !refused && JSTATE_FINAL(db_jstate(e->id)))
		strlist_add(&b->ended, xstrdup(e->id));
	sched_trim(0);
	return 0;
}

/* Moves everything in spool/new into the database, oldest first. */
static void
spool_ingest(void)
{
	struct batch b = { 0 };
	struct strlist names;
	struct env e;
	char *text, *path;
	size_t i;
	int rc;

	spool_list(&names);
	for (i = 0; i < names.n; i++) {
		text = NULL;
		if ((rc = spool_read(names.v[i], &e, &text)) < 0) {
			spool_reject(names.v[i]);
			continue;
		}
		caller_uid = e.uid;
		if (rc == 1 && strcmp(e.op, "submit") && strcmp(e.op, "schedule"))
			rc = -1;	/* a request: spool/bad, as unreadable */
		else if (rc == 1 || strcmp(e.op, "submit") == 0) {
			if ((rc = batch_add(&b, names.v[i], &e, rc == 1)) == 0 &&
			    b.names.n >= INGEST_BATCH)
				rc = batch_end(&b);
		} else {
			/* a request acts on what came before it */
			if ((rc = batch_end(&b)) == 0) {
				db_soft = strcmp(e.op, "schedule") == 0;
				rc = spool_dispatch(&e);
				db_soft = 0;
			}
			if (rc == 0) {
				path = home_path("spool/new/%s", names.v[i]);
				unlink(path);
				free(path);
				failpoint("unlink", "%s", names.v[i]);
			}
		}
		caller_uid = -1;
		if (rc < 0 && err_again()) {
			/* the store, not the file: the rest waits too */
			db_rollback();
			for (; i < names.n; i++)
				spool_retry(names.v[i]);
			b.open = 0;
			strlist_free(&b.names);
			strlist_free(&b.ended);
		} else if (rc < 0)
			spool_reject(names.v[i]);
		env_free(&e);
		free(text);
	}
	batch_end(&b);
	strlist_free(&names);
}

/* ---- schedule */

/*
 * Which task is next: delayed jobs come due, cron schedules fire, the
 * next task of a job (or the children of a composite one) becomes
 * PENDING, and PENDING tasks start as the queue caps allow.
 */
/* Starts a PENDING task's next attempt. */
static void
sched_start(const char *id, int pos)
{
	struct job *j = sched_job(id);
	const struct task *t = j ? task_at(j, pos) : NULL;
	long long now = now_ms();
	char *a;
	int attempt;

	if (t == NULL) {
		/* The envelope no longer parses: no retry can mend that. */
		char *e = xstrdup(j ? "no such task" : errmsg);

		db_begin();
		task_move(id, pos, T_FAILED, "completed = ?, error = ?", "Is", now, e);
		job_move(id, J_FAILED, e, "completed = ?, error = ?", "Is", now, e);
		db_commit();
		sched_job_done(id, J_FAILED, e);
		free(e);
		return;
	}
	a = db_str("SELECT attempt FROM tasks WHERE job = ? AND pos = ?", "si", id, pos);
	attempt = (a ? atoi(a) : 0) + 1;
	free(a);
	db_begin();
	task_move(id, pos, T_SCHEDULED, "attempt = ?, step = 0, astart = ?,"
	    " started = coalesce(started, ?)", "iII", attempt, now, now);
	job_move(id, J_RUNNING, NULL, "started = coalesce(started, ?)", "I", now);
	db_commit();
	sched_step(j, pos, attempt, 0, mono_deadline(now, t->timeout_ms));
}

/* Delayed jobs whose time has come become PENDING, their first task too. */
static void
sched_due(void)
{
	struct strlist ids = { 0 };
	struct job *j;
	size_t i;

	db_strs(&ids, "SELECT id FROM jobs WHERE state = ? AND due <= ?", "sI",
	    jstate_name(J_SCHEDULED), now_ms());
	for (i = 0; i < ids.n; i++) {
		if ((j = sched_job(ids.v[i])) == NULL)
			continue;
		db_begin();
		job_move(j->id, J_PENDING, NULL, NULL, NULL);
		if (sched_next(j, 1) == 1)
			job_complete(j);
		db_commit();
		if (JSTATE_FINAL(db_jstate(ids.v[i])))
			sched_job_tidy(ids.v[i]);
		sched_trim(0);
	}
	strlist_free(&ids);
}

/*
 * Starts what the queue caps allow, by priority, then submission order.
 * It runs at every turn of the loop, so it reads only what it starts:
 * the queues with a task waiting come from counts, and a queue's next
 * tasks are the first rows of an index (tasks_ready).
 */
static void
sched_tick(void)
{
	struct strlist qs = { 0 };
	struct strlist go = { 0 };
	const struct engine *e;
	sqlite3_stmt *st;
	size_t i, k;
	int room;

	db_strs(&qs, "SELECT queue FROM counts WHERE what = 'task' AND state = ?"
	    " AND n > 0", "s", tstate_name(T_PENDING));
	for (k = 0; k < qs.n; k++) {
		e = &engines[queue_engine(qs.v[k])];
		if (e->reconciling || e->down)	/* what runs is not known yet */
			continue;
		if ((room = queue_cap(qs.v[k]) - queue_busy(qs.v[k])) <= 0)
			continue;
		st = db_prep("SELECT job, pos FROM tasks WHERE state = ? AND"
		    " queue = ? AND coalesce(not_before, 0) <= ? ORDER BY"
		    " priority DESC, jseq, pos LIMIT ?", "ssIi",
		    tstate_name(T_PENDING), qs.v[k], now_ms(), room);
		while (db_row(st))
			strlist_add(&go, xasprintf("%d %s",
			    sqlite3_column_int(st, 1), sqlite3_column_text(st, 0)));
		db_done(st);
	}
	for (i = 0; i < go.n; i++)
		sched_start(strchr(go.v[i], ' ') + 1, atoi(go.v[i]));
	strlist_free(&go);
	strlist_free(&qs);
}

/* The next firing of a cron expression after now, or 0 if it has none. */
static long long
cron_after(const char *expr, long long now)
{
	struct cron c;
	long long t;

	if (cron_parse(expr, &c, NULL) < 0 || (t = cron_next(&c, now)) < 0)
		return 0;
	return t;
}

/*
 * A schedule's time came: a job of its own, linked to it, unless the
 * last run is still going (then this firing is skipped and logged).  The
 * next firing counts from now, so that a daemon that was down over many
 * firings makes one catch-up run, not a burst.
 */
static void
sched_fire(const char *sid)
{
	char *text = db_str("SELECT envelope FROM schedules WHERE id = ?", "s", sid);
	char *last = db_str("SELECT j.state FROM schedules s JOIN jobs j ON"
	    " j.id = s.last_job WHERE s.id = ?", "s", sid), id[ID_LEN + 1];
	struct job sec = { 0 };
	struct env e;
	long long now = now_ms();

	if (text == NULL || spool_parse(text, &e) < 0) {
		free(text);
		free(last);
		return;
	}
	if (last && !jstate_final(last)) {
		db_exec("UPDATE schedules SET skipped = skipped + 1, next_at = ?"
		    " WHERE id = ?", "Is", cron_after(e.cron, now), sid);
		logf_("info", "schedule.skip", "schedule=%s reason=\"the last run "
		    "is %s\"", sid, last);
		goto out;
	}
	snprintf(sec.id, sizeof(sec.id), "%s", sid);
	secrets_get(&sec);
	kv_free(&e.secrets);
	e.secrets = sec.secrets;
	random_hex(id, ID_LEN);
	free(e.id);
	e.id = xstrdup(id);
	free(e.op);
	e.op = xstrdup("submit");
	e.created = now;
	db_begin();
	if (job_insert(&e, NULL, 0, NULL) == 1) {
		db_exec("UPDATE jobs SET schedule = ? WHERE id = ?", "ss", sid, id);
		db_exec("UPDATE schedules SET last_job = ?, last_at = ?, runs ="
		    " runs + 1, next_at = ? WHERE id = ?", "sIIs", id, now,
		    cron_after(e.cron, now), sid);
		logf_("info", "schedule.fire", "schedule=%s job=%s", sid, id);
	}
	db_commit();
	if (JSTATE_FINAL(db_jstate(id)))
		sched_job_tidy(id);
out:
	env_free(&e);
	free(text);
	free(last);
}

static void
sched_cron(void)
{
	struct strlist ids = { 0 };
	size_t i;

	db_strs(&ids, "SELECT id FROM schedules WHERE state = ? AND next_at > 0"
	    " AND next_at <= ? ORDER BY next_at", "sI", sstate_names[S_ACTIVE],
	    now_ms());
	for (i = 0; i < ids.n; i++)
		sched_fire(ids.v[i]);
	strlist_free(&ids);
}

static int
is_false(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return strncmp(s, "false", 5) == 0 && strspn(s + 5, " \t\r\n") ==
	    strlen(s + 5);
}

/* Evaluates every value of a map of templates into out; -1 with errmsg. */
static int
eval_kv(const struct kvlist *in, const expr_val *env, const char *field,
    struct kvlist *out)
{
	size_t i;
	char *v;

	for (i = 0; i < in->n; i++) {
		if ((v = sched_eval(in->v[i].val, env, field)) == NULL)
			return -1;
		kv_set(out, in->v[i].key, v);
		free(v);
	}
	return 0;
}

/*
 * Starts the subjob of task pos: a job of its own, linked to its parent
 * job and task, whose inputs, secrets and name are evaluated here.
 * Returns 1 while the task waits for it, 0 if it is detached (the task is
 * done), -1 with errmsg.
 */
static int
sched_subjob(const struct job *j, int pos, const struct task *t,
    const expr_val *env)
{
	struct env e = { 0 }, pe;
	char cid[ID_LEN + 1], path[32], *name = NULL, *penv;
	int idx, parent = task_row(j->id, pos, &idx, NULL), rc = -1;

	if ((penv = db_str("SELECT envelope FROM jobs WHERE id = ?", "s",
	    j->id)) == NULL || spool_parse(penv, &pe) < 0) {
		free(penv);
		return fail("job %s is not in the database", j->id);
	}
	free(penv);
	random_hex(cid, ID_LEN);
	if (parent > 0)
		snprintf(path, sizeof(path), "%d.%d", parent, idx);
	else
		snprintf(path, sizeof(path), "%d", pos);
	e.op = xstrdup("submit");
	e.id = xstrdup(cid);
	e.created = now_ms();
	e.file = xstrdup(pe.file);
	e.source = pe.source;
	pe.source = NULL;
	e.sub = xstrdup(path);
	if ((t->subjob->name && (name = sched_eval(t->subjob->name, env,
	    "subjob.name")) == NULL) || eval_kv(&t->subjob->inputs, env,
	    "subjob.inputs", &e.inputs) < 0 || eval_kv(&t->subjob->secrets, env,
	    "subjob.secrets", &e.secrets) < 0 || job_insert(&e, j->id, pos,
	    name) < 0)
		goto out;
	task_move(j->id, pos, t->subjob->detached ? T_COMPLETED : T_RUNNING,
	    "started = ?, subjob = ?", "Is", now_ms(), cid);
	db_exec("UPDATE jobs SET detached = ? WHERE id = ?", "is",
	    t->subjob->detached, cid);
	logf_("info", "task.subjob", "job=%s task=%d subjob=%s", j->id, pos, cid);
	rc = t->subjob->detached ? 0 : 1;
out:
	free(name);
	env_free(&e);
	env_free(&pe);
	return rc;
}

/*
 * Adds one child row of a parallel or each task: PENDING (or CREATED,
 * past an each's concurrency), or SKIPPED when its if says false.
 * Returns 0, or -1 with errmsg.
 */
static int
sched_child(const struct job *j, int parent, int pos, int idx,
    const struct task *c, const expr_val *env, const char *item, int wait)
{
	char *name = NULL, *queue = NULL, *cond = NULL, *var = NULL;
	enum tstate state = wait ? T_CREATED : T_PENDING;
	int rc = -1;

	if (c->if_ && (cond = sched_eval(c->if_, env, "if")) == NULL)
		goto out;
	if (cond && is_false(cond))
		state = T_SKIPPED;
	if ((c->c.name && (name = sched_eval(c->c.name, env, "name")) == NULL) ||
	    (c->queue && (queue = sched_eval(c->queue, env, "queue")) == NULL) ||
	    (c->var && (var = sched_eval(c->var, env, "var")) == NULL))
		goto out;
	name = secrets_out(j->id, name);
	rc = db_exec("INSERT INTO tasks(job, pos, jseq, name, queue, priority,"
	    " state, var, created, parent, idx, item) VALUES(?,?,(SELECT seq FROM"
	    " jobs WHERE id = ?),?,?,?,?,?,?,?,?,?)", "sisssissIiis", j->id, pos,
	    j->id, name, queue, c->priority, tstate_name(state), var, now_ms(),
	    parent, idx, item) < 0 ? -1 : 0;
	/* A subjob needs no queue slot: its own tasks take theirs. */
	if (rc == 0 && c->subjob && state == T_PENDING)
		rc = sched_subjob(j, pos, c, env) < 0 ? -1 : 0;
out:
	free(cond);
	free(name);
	free(queue);
	free(var);
	return rc;
}

/*
 * Starts a parallel or each task: its children become rows of their own
 * after the job's last, and the task itself RUNNING.  Returns how many
 * children it has, or -1 with errmsg.
 */
static int
sched_expand(const struct job *j, int pos, const struct task *t, expr_val *env)
{
	/* never a position used before a restart: it names containers */
	char *b = db_str("SELECT max((SELECT max(pos) FROM tasks WHERE job = ?1),"
	    " (SELECT hipos FROM jobs WHERE id = ?1))", "s", j->id);
	int base = b ? atoi(b) : (int)j->ntasks, n = 0, rc = 0;
	expr_val *list = NULL;
	char *why = NULL, *item;
	size_t k, epos;

	free(b);
	if (t->each) {
		list = expr_template_value(t->each->list, env, &why, &epos);
		if (list == NULL || expr_type(list) != EXPR_ARRAY ||
		    expr_len(list) > MAX_EACH) {
			if (list && expr_type(list) == EXPR_ARRAY)
				fail("each.list: %zu elements, over the limit of %d",
				    expr_len(list), MAX_EACH);
			else
				fail("each.list: %s", why ? why :
				    "must evaluate to a list");
			free(why);
			expr_free(list);
			return -1;
		}
		for (k = 0; k < expr_len(list) && rc == 0; k++, n++) {
			item = expr_to_json(expr_index(list, k));
			env_item_set(env, t, expr_ref(expr_index(list, k)), (int)k);
			rc = sched_child(j, pos, base + n + 1, (int)k, t->each->task.v,
			    env, item, t->each->concurrency > 0 &&
			    (int)k >= t->each->concurrency);
			free(item);
		}
		expr_free(list);
	} else
		for (k = 0; k < t->parallel.n && rc == 0; k++, n++)
			rc = sched_child(j, pos, base + n + 1, (int)k,
			    &t->parallel.v[k], env, NULL, 0);
	if (rc < 0)
		return -1;
	task_move(j->id, pos, T_RUNNING, "started = ?", "I", now_ms());
	/* Children skipped or done already (detached subjobs) count as none. */
	b = db_str("SELECT count(*) FROM tasks WHERE job = ? AND parent = ? AND"
	    " state NOT IN (?, ?)", "siss", j->id, pos, tstate_name(T_SKIPPED),
	    tstate_name(T_COMPLETED));
	n = b ? atoi(b) : n;
	free(b);
	return n;
}

/* Whether a value is a template (NULL is not). */
static int
templated(const char *s)
{
	return s && strstr(s, "{{");
}

/*
 * Makes task pos PENDING, after evaluating its if, name and queue; a task
 * whose if is false is SKIPPED and the next one is tried.  Runs inside
 * the caller's transaction.  Returns 0 when a task is PENDING, 1 when no
 * task is left (the job is complete), -1 when the job failed.
 */
static int
sched_next(const struct job *j, int pos)
{
	expr_val *env = NULL;
	char lbl[32], *name = NULL, *queue = NULL, *cond = NULL, *var = NULL;
	int rc = 1;

	for (; (size_t)pos <= j->ntasks; pos++) {
		const struct task *t = &j->tasks[pos - 1];

		/* most tasks template nothing: no environment to build */
		if (env == NULL && (is_composite(t) || templated(t->if_) ||
		    templated(t->c.name) || templated(t->queue) ||
		    templated(t->var)))
			env = sched_env(j, pos);
		if (t->if_ && (cond = sched_eval(t->if_, env, "if")) == NULL)
			goto failed;
		if (cond && is_false(cond)) {
			task_move(j->id, pos, T_SKIPPED, "completed = ?", "I",
			    now_ms());
			free(cond);
			cond = NULL;
			continue;
		}
		if (is_composite(t)) {
			int n = t->subjob ? sched_subjob(j, pos, t, env) :
			    sched_expand(j, pos, t, env);

			if (n < 0)
				goto failed;
			if (n == 0) {
				task_move(j->id, pos, T_COMPLETED, "completed = ?",
				    "I", now_ms());
				continue;
			}
			db_exec("UPDATE jobs SET position = ? WHERE id = ?", "is",
			    pos, j->id);
			job_move(j->id, J_RUNNING, NULL, "started = coalesce(started,"
			    " ?)", "I", now_ms());
			rc = 0;
			goto out;
		}
		if ((t->c.name && (name = sched_eval(t->c.name, env, "name")) ==
		    NULL) || (queue = sched_eval(t->queue, env, "queue")) == NULL ||
		    (t->var && (var = sched_eval(t->var, env, "var")) == NULL))
			goto failed;
		name = secrets_out(j->id, name);
		task_move(j->id, pos, T_PENDING, "name = ?, queue = ?, var = ?",
		    "sss", name, queue, var);
		db_exec("UPDATE jobs SET position = ? WHERE id = ?", "is", pos,
		    j->id);
		rc = 0;
		goto out;
failed:
		job_fail(j->id, pos, task_label(t, pos, lbl, sizeof(lbl)), errmsg);
		rc = -1;
		goto out;
	}
out:
	free(cond);
	free(name);
	free(queue);
	free(var);
	expr_free(env);
	return rc;
}

/* ---- start */

/*
 * An attempt runs its steps one after another: pre containers, then the
 * sidecars, their probes and the task's own container, then post ones.
 * Each is a child run; its end (below) starts the next.
 */
static long long
mono_deadline(long long astart, long long timeout_ms)
{
	if (timeout_ms <= 0)
		return 0;
	return mono_ms() + (astart + timeout_ms - now_ms());
}

/* A task's row: its parent's position (0 at the top) and index there. */
static int
task_row(const char *id, int pos, int *idx, char **item)
{
	sqlite3_stmt *st;
	int parent = -1;

	*idx = 0;
	if (item)
		*item = NULL;
	st = db_prep("SELECT parent, idx, item FROM tasks WHERE job = ? AND pos = ?",
	    "si", id, pos);
	if (db_row(st)) {
		parent = sqlite3_column_int(st, 0);
		*idx = sqlite3_column_int(st, 1);
		if (item)
			*item = col_str(st, 2);
	}
	db_done(st);
	return parent;
}

/*
 * The spec of the task at pos: a top-level task, one of a parallel's tasks,
 * or an each's task.  NULL if there is none.
 */
static const struct task *
task_at(const struct job *j, int pos)
{
	const struct task *p;
	int idx, parent = task_row(j->id, pos, &idx, NULL);

	if (parent == 0)
		return pos >= 1 && (size_t)pos <= j->ntasks ? &j->tasks[pos - 1] : NULL;
	if (parent < 1 || (size_t)parent > j->ntasks)
		return NULL;
	p = &j->tasks[parent - 1];
	if (p->each)
		return p->each->task.v;
	return idx >= 0 && (size_t)idx < p->parallel.n ? &p->parallel.v[idx] : NULL;
}

static int
is_composite(const struct task *t)
{
	return t->parallel.n || t->each || t->subjob;
}

/* Sets the item of an each task's child: {value, index} under each.var. */
static void
env_item_set(expr_val *env, const struct task *parent, expr_val *value, int idx)
{
	expr_val *m = expr_map();

	expr_map_set(m, "value", value);
	expr_map_set(m, "index", expr_int(idx));
	expr_map_set(env, parent->each->var ? parent->each->var : "item", m);
}

static void
env_item(expr_val *env, const struct job *j, int pos)
{
	char *item;
	int idx, parent = task_row(j->id, pos, &idx, &item);
	expr_val *v;

	if (parent >= 1 && (size_t)parent <= j->ntasks &&
	    j->tasks[parent - 1].each && item &&
	    (v = expr_from_json(item, NULL)) != NULL)
		env_item_set(env, &j->tasks[parent - 1], v, idx);
	free(item);
}

/*
 * The names a running task's {{ expressions }} see: inputs, secrets,
 * job.id and job.name, and tasks.VAR for every completed task that set a
 * var.  Built anew for each step, since earlier tasks add to it.
 */
static expr_val *
sched_env(const struct job *j, int pos)
{
	expr_val *env = expr_map(), *m;
	char *name;
	sqlite3_stmt *st;
	size_t i;

	if (pos > 0)
		env_item(env, j, pos);
	m = expr_map();
	for (i = 0; i < j->inputs.n; i++)
		expr_map_set(m, j->inputs.v[i].key, expr_str(j->inputs.v[i].val));
	expr_map_set(env, "inputs", m);
	m = expr_map();
	for (i = 0; i < j->secrets.n; i++)
		expr_map_set(m, j->secrets.v[i].key, expr_str(j->secrets.v[i].val));
	expr_map_set(env, "secrets", m);
	m = expr_map();
	expr_map_set(m, "id", expr_str(j->id));
	/* the name as evaluated (a subjob's), else as written */
	name = db_str("SELECT name FROM jobs WHERE id = ?", "s", j->id);
	expr_map_set(m, "name", expr_str(name ? name : j->name ? j->name : ""));
	free(name);
	expr_map_set(env, "job", m);
	m = expr_map();
	st = db_prep("SELECT var, coalesce(result, '') FROM tasks WHERE job = ?"
	    " AND var IS NOT NULL AND state = ? ORDER BY pos", "ss", j->id,
	    tstate_name(T_COMPLETED));
	while (db_row(st))
		expr_map_set(m, (const char *)sqlite3_column_text(st, 0),
		    expr_str((const char *)sqlite3_column_text(st, 1)));
	db_done(st);
	expr_map_set(env, "tasks", m);
	return env;
}

/* Evaluates a field's template; NULL with errmsg naming the field. */
static char *sched_eval(const char *, const expr_val *, const char *);
static char *
sched_eval(const char *tmpl, const expr_val *env, const char *field)
{
	char *out, *why = NULL;
	size_t pos;

	if (tmpl == NULL)
		return NULL;
	if ((out = expr_template(tmpl, env, &why, &pos)) == NULL) {
		fail("%s: %s", field, why ? why : "cannot evaluate");
		free(why);
	} else if (strlen(out) > MAX_VALUE) {
		fail("%s: the value is %zu bytes, over the limit of %d", field,
		    strlen(out), MAX_VALUE);
		free(out);
		out = NULL;
	}
	return out;
}

/* Whether s holds one of the job's secrets. */
static int
has_secret(const struct job *j, const char *s)
{
	struct strlist l = { 0 };
	size_t i;
	int found = 0;

	redact_secrets(&l, j);
	for (i = 0; s && i < l.n && !found; i++)
		found = strstr(s, l.v[i]) != NULL;
	strlist_free(&l);
	return found;
}

/*
 * The checks of an evaluated step that submit could not make: the image
 * reference a template made, and no secret on docker's command line,
 * however it got there; and, as the host may have changed since the
 * daemon took the job in, the bind sources and networks once more.
 * Returns 0, or -1 with errmsg.
 */
static int
step_argv_check(const struct job *j, const struct task *t, const struct step *s)
{
	const char *why;
	size_t i;

	if (gram_image(s->image, &why) < 0)
		return fail("image: '%.80s' is not an image reference: %s",
		    s->image, why);
	for (i = 0; i < t->mounts.n; i++)
		if (t->mounts.v[i].source &&
		    (why = policy_bind(&pol, t->mounts.v[i].source)) != NULL)
			return fail("mounts[%zu]: %s", i, why);
	for (i = 0; i < t->networks.n; i++)
		if ((why = policy_network(&pol, t->networks.v[i])) != NULL)
			return fail("networks[%zu]: %s", i, why);
	why = has_secret(j, s->image) ? "image" : NULL;
	for (i = 0; why == NULL && i < s->cmd.n; i++)
		why = has_secret(j, s->cmd.v[i]) ? "cmd" : NULL;
	for (i = 0; why == NULL && i < s->entrypoint.n; i++)
		why = has_secret(j, s->entrypoint.v[i]) ? "entrypoint" : NULL;
	for (i = 0; why == NULL && i < s->env.n; i++)
		why = !env_private(s->env.v[i].key) && has_secret(j,
		    s->env.v[i].val) ? s->env.v[i].key : NULL;
	if (why)
		return fail("%s: holds a secret, which would be on docker's command "
		    "line where ps shows it to every user; pass it in env and use "
		    "$NAME in run or sh -c", why);
	return 0;
}

/*
 * A step as it runs: a copy of the spec with its evaluated fields
 * (name, image, cmd, env) evaluated.  Returns 0, or -1 with errmsg.
 */
static int
step_eval(const struct step *in, const expr_val *env, struct step *out)
{
	size_t i;
	char *v;

	memset(out, 0, sizeof(*out));
	out->run = xstrdup(in->run);
	out->workdir = xstrdup(in->workdir);
	for (i = 0; i < in->entrypoint.n; i++)
		strlist_add(&out->entrypoint, xstrdup(in->entrypoint.v[i]));
	if ((in->name && (out->name = sched_eval(in->name, env, "name")) == NULL) ||
	    (out->image = sched_eval(in->image, env, "image")) == NULL)
		return -1;
	for (i = 0; i < in->cmd.n; i++) {
		if ((v = sched_eval(in->cmd.v[i], env, "cmd")) == NULL)
			return -1;
		strlist_add(&out->cmd, v);
	}
	for (i = 0; i < in->env.n; i++) {
		char field[300];

		snprintf(field, sizeof(field), "env.%s", in->env.v[i].key);
		if ((v = sched_eval(in->env.v[i].val, env, field)) == NULL)
			return -1;
		kv_set(&out->env, in->env.v[i].key, v);
		free(v);
	}
	return 0;
}

/* Whether a step has a field step_eval evaluates that is a template. */
static int
step_templated(const struct step *s)
{
	size_t i;

	if (templated(s->name) || templated(s->image))
		return 1;
	for (i = 0; i < s->cmd.n; i++)
		if (templated(s->cmd.v[i]))
			return 1;
	for (i = 0; i < s->env.n; i++)
		if (templated(s->env.v[i].val))
			return 1;
	return 0;
}

static const struct step *
task_step(const struct task *t, int step, int *is_main)
{
	*is_main = (size_t)step == t->pre.n;
	if ((size_t)step < t->pre.n)
		return &t->pre.v[step];
	if ((size_t)step == t->pre.n)
		return &t->c;
	if ((size_t)step <= t->pre.n + t->post.n)
		return &t->post.v[step - t->pre.n - 1];
	return NULL;
}

/* The directory mounted at /tork, with the run script in it. */
/* Writes dir/name; returns 0, or -1 with errmsg. */
static int
put_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	char *p = xasprintf("%s/%s", dir, name);
	int fd, rc = 0;

	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		rc = fail("%s: %s", p, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(p);
	return rc;
}

/* The directory mounted at /tork, with the run script and files in it. */
static char *
step_workdir(const char *job, int pos, int attempt, int step,
    const struct step *s, const struct kvlist *files)
{
	char *dir = home_path("work/%s/%d.%d.%d", job, pos, attempt, step);
	size_t i;
	int rc;

	if (mkdir_p(dir) < 0) {
		free(dir);
		return NULL;
	}
	/* The container's user need not be ours: let it write its result. */
	chmod(dir, 0777);
	rc = s->run ? put_file(dir, "entrypoint", s->run, 0755) : 0;
	for (i = 0; files && i < files->n && rc == 0; i++)
		rc = put_file(dir, files->v[i].key, files->v[i].val, 0644);
	if (rc < 0) {
		free(dir);
		return NULL;
	}
	return dir;
}

static char *
base64(const char *s)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i;
	struct buf b = { 0 };

	for (i = 0; i + 2 < n; i += 3) {
		char q[4] = { tab[p[i] >> 2], tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)],
		    tab[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)], tab[p[i + 2] & 63] };

		buf_addn(&b, q, 4);
	}
	if (n - i == 1) {
		char q[4] = { tab[p[i] >> 2], tab[(p[i] & 3) << 4], '=', '=' };

		buf_addn(&b, q, 4);
	} else if (n - i == 2) {
		char q[4] = { tab[p[i] >> 2], tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)],
		    tab[(p[i + 1] & 15) << 2], '=' };

		buf_addn(&b, q, 4);
	}
	return buf_take(&b);
}

/*
 * registry: credentials for a private image, as a docker config of the
 * task's own (outside /tork, so the container never sees it), named by
 * DOCKER_CONFIG in the CLI's environment.  Returns 0, or -1 with errmsg.
 */
static int
step_registry(const char *job, int pos, const struct task *t,
    const char *image, const expr_val *env, struct kvlist *cenv,
    struct strlist *redact_)
{
	const char *slash = strchr(image, '/');
	char *dir, *host, *up, *auth, *conf, *user, *pass = NULL;
	struct buf b = { 0 };
	int rc;

	if (t->registry.username == NULL)
		return 0;
	if ((user = sched_eval(t->registry.username, env, "registry.username")) ==
	    NULL || (pass = sched_eval(t->registry.password ? t->registry.password :
	    "", env, "registry.password")) == NULL) {
		free(user);
		return -1;
	}
	/* Docker Hub's credentials go under the name the docker CLI asks by. */
	if (slash && (memchr(image, '.', slash - image) ||
	    memchr(image, ':', slash - image) || strncmp(image, "localhost/", 10) == 0) &&
	    strncmp(image, "docker.io/", 10) != 0 &&
	    strncmp(image, "index.docker.io/", 16) != 0)
		host = xasprintf("%.*s", (int)(slash - image), image);
	else
		host = xstrdup("https://index.docker.io/v1/");
	up = xasprintf("%s:%s", user, pass);
	if (*pass)
		strlist_add(redact_, xstrdup(pass));
	auth = base64(up);
	buf_add(&b, "{\"auths\":{");
	json_str(&b, host);
	buf_addf(&b, ":{\"auth\":\"%s\"}}}\n", auth);
	dir = home_path("work/%s/auth.%d", job, pos);
	conf = xasprintf("%s/config.json", dir);
	rc = mkdir_p(dir) < 0 ? -1 : put_file(dir, "config.json", b.s, 0600);
	if (rc == 0)
		kv_set(cenv, "DOCKER_CONFIG", dir);
	free(conf);
	free(dir);
	free(b.s);
	free(auth);
	free(up);
	free(host);
	free(user);
	free(pass);
	return rc;
}

/*
 * Starts step `step` of an attempt: the pre containers, then the task's
 * own, then the post ones.  Past the last step the attempt has succeeded.
 */
static void
sched_step_run(struct job *j, int pos, int attempt, int step,
    long long deadline)
{
	const struct task *t = task_at(j, pos);
	struct rtstep rs = { 0 };
	struct strlist argv;
	const struct step *s;
	struct step es = { 0 };
	struct kvlist cenv = { 0 };
	struct strlist pw = { 0 };
	struct run *r, tmp;
	expr_val *env = NULL;
	char *dir = NULL, *sidecar0 = NULL;
	int is_main;
	pid_t pid;

	memset(&tmp, 0, sizeof(tmp));
	snprintf(tmp.job, sizeof(tmp.job), "%s", j->id);
	tmp.pos = pos;
	tmp.attempt = attempt;
	tmp.step = step;
	tmp.kind = R_STEP;
	tmp.eng = task_engine(j->id, pos);
	if (t == NULL) {
		attempt_end(&tmp, 0, -1, "no such task");
		return;
	}
	if ((s = task_step(t, step, &is_main)) == NULL) {
		attempt_end(&tmp, 1, 0, NULL);
		return;
	}
	/* most steps template nothing: no environment to build */
	if (step_templated(s) || t->registry.username)
		env = sched_env(j, pos);
	if (step_eval(s, env, &es) < 0 || step_argv_check(j, t, &es) < 0 ||
	    (rt->refuses && rt->refuses(t, &es) < 0))
		goto failed;
	rs.t = t;
	rs.s = &es;
	rs.main = is_main;
	rs.job = j->id;
	rs.pos = pos;
	rs.attempt = attempt;
	if ((dir = step_workdir(j->id, pos, attempt, step, s, is_main ?
	    &t->files : NULL)) == NULL)
		goto failed;
	rs.workdir = dir;
	rs.name = rt_name(j->id, pos, attempt, step);
	if (is_main && t->sidecars.n)
		rs.netns = sidecar0 = rt_sidecar(j->id, pos, attempt, 0);
	rt->run(&rs, &argv, &cenv);
	free(sidecar0);
	/* the shell runtime pulls nothing: no credentials written for it */
	if (!rt->direct && step_registry(j->id, pos, t, es.image, env, &cenv,
	    &pw) < 0) {
		kv_free(&cenv);
		strlist_free(&pw);
		strlist_free(&argv);
		free((char *)rs.name);
		goto failed;
	}
	r = run_logged(argv.v, &cenv, R_STEP, j, pos, attempt, step, &es.env);
	if (r && pw.n)
		strlist_add(&r->redact, xstrdup(pw.v[0]));
	strlist_free(&pw);
	strlist_free(&argv);
	kv_free(&cenv);
	free((char *)rs.name);
	if (r == NULL)
		goto failed;
	r->deadline = deadline;
	pid = r->pid;
	/* pre steps: still SCHEDULED; the task's own container and after it */
	task_move(j->id, pos, (size_t)step < t->pre.n ? T_SCHEDULED : T_RUNNING,
	    "step = ?", "i", step);
	logf_("info", "task.step", "job=%s task=%d attempt=%d step=%d pid=%d",
	    j->id, pos, attempt, step, (int)pid);
	goto out;
failed:
	attempt_end(&tmp, 0, -1, errmsg);
out:
	free(dir);
	step_free(&es);
	expr_free(env);
}

/*
 * A task's sidecars start, detached, before its own container: the first
 * in the task's network, the others, and the task, in the first's, so that
 * they all reach each other on localhost.  Leftovers of an earlier try of
 * the same attempt (a daemon restart) are removed first; then each
 * sidecar's start is a child of its own (sidecar_start, sidecar_exited),
 * then each probe (probe_next), then the task's container.
 */
static void
sidecars_start(struct job *j, const struct task *t, int pos, int attempt,
    int step, long long deadline)
{
	struct run ctx = { 0 };
	struct strlist names = { 0 }, a;
	size_t k;

	snprintf(ctx.job, sizeof(ctx.job), "%s", j->id);
	ctx.pos = pos;
	ctx.attempt = attempt;
	ctx.step = step;
	ctx.deadline = ctx.tdeadline = deadline;
	ctx.eng = task_engine(j->id, pos);
	for (k = 0; k < t->sidecars.n; k++)
		strlist_add(&names, rt_sidecar(j->id, pos, attempt, k));
	rt->remove(&names, &a);
	strlist_free(&names);
	run_ask(&ctx, ASK_SIDECARS, &a);
}

static int probe_next(struct job *, const struct task *, int, int, int,
    long long, size_t);

/* Starts sidecar k of ctx's attempt; past the last, the probes. */
static void
sidecar_start(struct run *ctx, size_t k)
{
	struct job *j = sched_job(ctx->job);
	const struct task *t = j ? task_at(j, ctx->pos) : NULL;
	struct rtstep rs = { 0 };
	struct strlist argv;
	struct kvlist cenv = { 0 };
	struct step es = { 0 };
	struct run *r;
	expr_val *env;
	char *name, *first, *dir;

	if (t == NULL) {
		attempt_end(ctx, 0, -1, j ? "no such task" : errmsg);
		return;
	}
	if (k == t->sidecars.n) {
		if (!probe_next(j, t, ctx->pos, ctx->attempt, ctx->step,
		    ctx->tdeadline, 0))
			sched_step_run(j, ctx->pos, ctx->attempt, ctx->step,
			    ctx->tdeadline);
		return;
	}
	env = sched_env(j, ctx->pos);
	name = rt_sidecar(j->id, ctx->pos, ctx->attempt, k);
	first = rt_sidecar(j->id, ctx->pos, ctx->attempt, 0);
	dir = home_path("work/%s/%d.%d.s%zu", j->id, ctx->pos, ctx->attempt, k);
	if (step_eval(&t->sidecars.v[k].c, env, &es) < 0 ||
	    step_argv_check(j, t, &es) < 0 || mkdir_p(dir) < 0 ||
	    (es.run && put_file(dir, "entrypoint", es.run, 0755) < 0)) {
		attempt_end(ctx, 0, -1, errmsg);
		goto out;
	}
	rs.t = t;
	rs.s = &es;
	rs.detach = 1;
	rs.netns = k ? first : NULL;
	rs.job = j->id;
	rs.pos = ctx->pos;
	rs.attempt = ctx->attempt;
	rs.name = name;
	rs.workdir = dir;
	rt->run(&rs, &argv, &cenv);
	r = run_logged(argv.v, &cenv, R_SIDECAR, j, ctx->pos, ctx->attempt,
	    ctx->step, &es.env);
	strlist_free(&argv);
	kv_free(&cenv);
	if (r == NULL) {
		attempt_end(ctx, 0, -1, errmsg);
		goto out;
	}
	r->probe = k;
	r->deadline = r->tdeadline = ctx->tdeadline;
out:
	step_free(&es);
	expr_free(env);
	free(dir);
	free(first);
	free(name);
}

static int run_ended(struct run *);

/* A sidecar's `docker run -d` exited: the next sidecar, or the attempt fails. */
static void
sidecar_exited(struct run *r, int code)
{
	struct job *j;
	const struct task *t;
	const char *nm;
	char *e, *name;

	if (run_ended(r))
		return;
	if (code != 0) {
		j = sched_job(r->job);
		t = j ? task_at(j, r->pos) : NULL;
		nm = t && t->sidecars.v[r->probe].c.name ?
		    t->sidecars.v[r->probe].c.name : NULL;
		name = rt_sidecar(r->job, r->pos, r->attempt, r->probe);
		e = xasprintf("sidecar %s: docker run failed (exit %d)",
		    nm ? nm : name, code);
		attempt_end(r, 0, -1, e);
		free(e);
		free(name);
		return;
	}
	sidecar_start(r, r->probe + 1);
}

/*
 * Starts the probe of the first sidecar from k on that has one: wget in
 * the sidecar, until http://localhost:PORT/PATH answers or its timeout
 * (default 1m) passes.  Returns 1 if one was started, 0 if none is left.
 */
static int
probe_next(struct job *j, const struct task *t, int pos, int attempt,
    int step, long long deadline, size_t k)
{
	const struct sidecar *sc;
	struct strlist a;
	char *name, *url, *q;
	struct run *r;
	pid_t pid;

	for (; k < t->sidecars.n && t->sidecars.v[k].probe.port == 0; k++)
		;
	if (k == t->sidecars.n)
		return 0;
	sc = &t->sidecars.v[k];
	name = rt_sidecar(j->id, pos, attempt, k);
	url = xasprintf("http://localhost:%d%s%s", sc->probe.port,
	    sc->probe.path && *sc->probe.path == '/' ? "" : "/",
	    sc->probe.path ? sc->probe.path : "");
	/* The script is fixed; the URL reaches it as $0, not as code. */
	rt->exec(name, "until wget -q -O /dev/null \"$0\"; do sleep 0.5; done",
	    url, &a);
	q = task_queue(j->id, pos);
	pid = rt_bg(&a, queue_engine(q));
	free(name);
	free(url);
	if (pid < 0) {
		free(q);
		return 0;
	}
	r = run_add(pid, R_PROBE, j->id, pos, attempt, step);
	r->queue = q;
	r->eng = queue_engine(q);
	r->probe = k;
	r->tdeadline = deadline;
	r->deadline = mono_ms() + (sc->probe.timeout_ms > 0 ?
	    sc->probe.timeout_ms : 60000);
	return 1;
}

/*
 * Starts step `step` of an attempt: the pre containers, then the task's
 * own (after its sidecars, once their probes answer), then the post ones.
 * Past the last step the attempt has succeeded.
 */
static void
sched_step(struct job *j, int pos, int attempt, int step, long long deadline)
{
	const struct task *t = task_at(j, pos);
	int is_main;

	/* a runtime that refuses the task refuses it in sched_step_run */
	if (t && t->sidecars.n && !(rt->refuses && rt->refuses(t, NULL) < 0) &&
	    task_step(t, step, &is_main) && is_main)
		sidecars_start(j, t, pos, attempt, step, deadline);
	else
		sched_step_run(j, pos, attempt, step, deadline);
}

/* A sidecar's probe ended: the next probe, or the task's own container. */
static void
probe_exited(struct run *r, int code)
{
	struct job *j = sched_job(r->job);
	const struct task *t = j ? task_at(j, r->pos) : NULL;
	const struct sidecar *sc;
	char *e;

	if (t == NULL || r->cancelled) {
		attempt_end(r, 0, -1, r->cancelled ? "cancelled" : "no such task");
		return;
	}
	sc = &t->sidecars.v[r->probe];
	if (code != 0 || r->timed_out) {
		e = xasprintf("sidecars[%zu]%s%s: no answer on port %d%s%s within %s",
		    r->probe, sc->c.name ? " " : "", sc->c.name ? sc->c.name : "",
		    sc->probe.port, sc->probe.path ?
		    " at " : "", sc->probe.path ? sc->probe.path : "",
		    fmt_timeout(sc->probe.timeout_ms > 0 ? sc->probe.timeout_ms : 60000,
		    (char[32]){ 0 }, 32));
		attempt_end(r, 0, -1, e);
		free(e);
		return;
	}
	if (!probe_next(j, t, r->pos, r->attempt, r->step, r->tdeadline,
	    r->probe + 1))
		sched_step_run(j, r->pos, r->attempt, r->step, r->tdeadline);
}

/* ---- the engine answers */

/*
 * A child ended (sched_reap): a step's container exited, or the engine
 * answered a question (R_ASK, ask_done), or its output stopped and the
 * container must be found again; at start-up, one listing says what the
 * last daemon left running (sched_recover).
 */
/*
 * A `docker run` CLI exited non-zero.  Usually its status is the
 * container's, but the CLI can die on its own (OOM killer, a dropped
 * attach connection) while the container runs on: ask the engine.
 */
static void
step_cli_failed(struct run *r, int code)
{
	char *name = rt_name(r->job, r->pos, r->attempt, r->step);
	struct strlist a;

	r->cli = code;
	rt->inspect(name, &a);
	free(name);
	run_ask(r, ASK_CLI_FAILED, &a);
}

/* The state in an inspect answer ("STATE EXIT"), or NULL: no container. */
static char *
ask_state(const struct run *r, int code, int *exit_code)
{
	char state[32];

	if (code != 0 || r->part.s == NULL ||
	    sscanf(r->part.s, "%31s %d", state, exit_code) != 2)
		return NULL;
	return xstrdup(rt_state(state));
}

/*
 * Whether r's attempt was cancelled or timed out while a child of it ran:
 * then that is how the attempt ends, whatever the child said.
 */
static int
run_ended(struct run *r)
{
	if (!r->cancelled && !r->timed_out)
		return 0;
	step_exited(r, -1);
	return 1;
}

/*
 * A step's container is there but was not started: the docker CLI that
 * created it died (with the last daemon) before it started it, or while
 * its start was on its way to the engine.  Removing it could kill a
 * container that has just started, and starting it at once could start
 * again one that has started and ended meanwhile: either would run the
 * step twice.  So wait START_SETTLE_S for a start on its way to land,
 * look again, and start it only if it is still not started.
 */
#define START_SETTLE_S	"1"

static void
step_start_created(struct run *r)
{
	struct strlist a = { 0 };

	strlist_add(&a, xstrdup("sleep"));
	strlist_add(&a, xstrdup(START_SETTLE_S));
	run_ask(r, ASK_SETTLE, &a);
}

/* The pause is over (ASK_SETTLE): look at the container again. */
static void
step_settled(struct run *r, int code)
{
	char *name;
	struct strlist a;

	(void)code;
	if (run_ended(r))
		return;
	name = rt_name(r->job, r->pos, r->attempt, r->step);

	rt->inspect(name, &a);
	free(name);
	run_ask(r, ASK_CREATED, &a);
}

/* What the container is now (ASK_CREATED): start it, follow it, or run it. */
static void
step_created(struct run *r, int code)
{
	int exit_code = 0;
	char *st = ask_state(r, code, &exit_code);
	struct job *j = sched_job(r->job);
	char *name = rt_name(r->job, r->pos, r->attempt, r->step);
	struct strlist a;

	if (run_ended(r))
		;
	else if (st && strcmp(st, "created") == 0) {
		logf_("info", "task.start", "job=%s task=%d attempt=%d step=%d "
		    "container=%s", r->job, r->pos, r->attempt, r->step, name);
		rt->start(name, &a);
		run_ask(r, ASK_START, &a);
	} else if (st && j)	/* it started after all */
		reattach(j, r->pos, r->attempt, r->step, r->deadline);
	else
		step_again(r, 1);
	free(name);
	free(st);
}

/* The answer to step_start_created: follow it, or, if it is gone, run it. */
static void
step_started(struct run *r, int code)
{
	struct job *j = sched_job(r->job);

	if (run_ended(r))
		return;
	if (j && code == 0)
		reattach(j, r->pos, r->attempt, r->step, r->deadline);
	else if (j && r->part.s && strcasestr(r->part.s, "no such container"))
		step_again(r, 1);	/* it is gone: run the step */
	else {
		/*
		 * It cannot start (its command is missing, say): the step
		 * failed, unless the engine went away.
		 */
		logf_("warn", "task.start", "job=%s task=%d attempt=%d step=%d "
		    "error=\"%.*s\"", r->job, r->pos, r->attempt, r->step,
		    r->part.s ? (int)strcspn(r->part.s, "\n") : 0,
		    r->part.s ? r->part.s : "");
		/* the engine's reason goes to the log, as docker run's would */
		if (r->part.s && (r->log = open_log(r->job, r->pos)) >= 0) {
			log_redacted(r, r->part.s, strcspn(r->part.s, "\n"));
			log_redacted(r, "\n", 1);
			close(r->log);
			r->log = -1;
		}
		engine_check(r, 125);
	}
}

static void
step_cli_answer(struct run *r, int code)
{
	int exit_code = 0;
	char *st = ask_state(r, code, &exit_code);
	struct job *j = sched_job(r->job);
	char *why = r->cli == 125 ? docker_complaint(r->job, r->pos) : NULL;
	char *name = rt_name(r->job, r->pos, r->attempt, r->step);
	int taken = why && strstr(why, "is already in use") != NULL;

	if (run_ended(r))
		;
	else if (st && j && (strcmp(st, "running") == 0 ||
	    (strcmp(st, "exited") == 0 && exit_code != r->cli)))
		/*
		 * It runs on, or it ended after its CLI died: either way what
		 * it printed since is still to be logged, then its status.
		 */
		reattach(j, r->pos, r->attempt, r->step, r->deadline);
	else if (j && taken && st && strcmp(st, "created") == 0)
		step_start_created(r);
	else if (j && taken && st == NULL && r->conflicts < STEP_CONFLICTS) {
		/*
		 * The name was taken for a container that a CLI killed with the
		 * last daemon had asked for, and that the engine is still
		 * creating (the name is taken before the container can be
		 * inspected): try again until it is there.
		 */
		r->conflicts++;
		step_again(r, 0);
	} else if (st == NULL)
		engine_check(r, r->cli);
	else
		step_exited(r, strcmp(st, "exited") == 0 ||
		    strcmp(st, "dead") == 0 ? exit_code : r->cli);
	free(name);
	free(why);
	free(st);
}

/*
 * Runs r's step again, in the same attempt: with its sidecars (redo), or
 * only its container, the conflicts counted so far going on with it.  No
 * container of the step is removed first: one that a dead CLI's request
 * is still creating could be started by then, and would run twice.
 */
static void
step_again(struct run *r, int redo)
{
	struct job *j = sched_job(r->job);
	size_t i;

	if (run_ended(r))
		return;
	logf_("info", "task.restart", "job=%s task=%d attempt=%d step=%d%s",
	    r->job, r->pos, r->attempt, r->step, r->conflicts ?
	    " reason=name-in-use" : "");
	if (j == NULL)
		attempt_end(r, 0, -1, errmsg);
	else if (redo)
		sched_step(j, r->pos, r->attempt, r->step, r->deadline);
	else {
		sched_step_run(j, r->pos, r->attempt, r->step, r->deadline);
		for (i = 0; i < nruns; i++)	/* the new run counts on */
			if (runs[i].kind == R_STEP && runs[i].pos == r->pos &&
			    runs[i].attempt == r->attempt &&
			    strcmp(runs[i].job, r->job) == 0)
				runs[i].conflicts = r->conflicts;
	}
}

/*
 * A task reports progress by writing a number from 0 to 100, or a short
 * message, to $TORK_PROGRESS (/tork/progress); the first line counts.  The
 * daemon looks each second, and when the step ends.
 */
static void
progress_read(struct run *r)
{
	char *path, *text, *v, *old;
	struct stat sb;
	long long mt;

	if (r->kind != R_STEP && r->kind != R_REATTACH)
		return;
	path = home_path("work/%s/%d.%d.%d/progress", r->job, r->pos, r->attempt,
	    r->step);
	if (stat(path, &sb) < 0 || (mt = sb.st_mtim.tv_sec * 1000000000LL +
	    sb.st_mtim.tv_nsec + sb.st_size) == r->prog_mtime ||
	    (text = read_file(path, NULL)) == NULL) {
		free(path);
		return;
	}
	free(path);
	r->prog_mtime = mt;
	text[strcspn(text, "\r\n")] = '\0';
	for (v = text; *v == ' ' || *v == '\t'; v++)
		;
	if (strlen(v) > 200)
		v[200] = '\0';
	v = redact(&r->redact, xstrdup(v));
	old = db_str("SELECT progress FROM tasks WHERE job = ? AND pos = ?", "si",
	    r->job, r->pos);
	if (*v && (old == NULL || strcmp(old, v) != 0)) {
		db_exec("UPDATE tasks SET progress = ?, progress_at = ? WHERE job = ?"
		    " AND pos = ?", "sIsi", v, now_ms(), r->job, r->pos);
		hook_event(r->job, r->pos, "task.Progress", NULL);
		hook_event(r->job, 0, "job.Progress", NULL);
		logf_("info", "task.progress", "job=%s task=%d progress=\"%s\"",
		    r->job, r->pos, v);
	}
	free(old);
	free(v);
	free(text);
}

static void
sched_progress(void)
{
	size_t i;

	for (i = 0; i < nruns; i++)
		progress_read(&runs[i]);
}

/* A child exited; works on a copy, since handling it may add runs. */
static void rm_ended(size_t, size_t, int);

static void
sched_reap(pid_t pid, int status)
{
	struct run r;
	struct strlist a;
	size_t i;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	char *name;

	for (i = 0; i < nruns && runs[i].pid != pid; i++)
		;
	if (i == nruns)
		return;
	run_output(&runs[i], 1);	/* the child is gone: so is the rest */
	progress_read(&runs[i]);
	r = runs[i];
	if (r.kind == R_STEP || r.kind == R_REATTACH || r.kind == R_HOOK)
		failpoint("exit", "kind=%d job=%s task=%d attempt=%d step=%d",
		    r.kind, r.job, r.pos, r.attempt, r.step);
	runs[i] = runs[--nruns];
	switch (r.kind) {
	case R_AUX:
		if (r.batch)
			rm_ended(r.eng, r.batch, code);
		if (r.then.n && rt_spawn(r.then.v, -1, NULL, r.eng) > 0) {
			/* reaped as an unknown pid: nothing follows it */
		}
		break;
	case R_REATTACH:
		/* the log ended: the container did, or the engine hung up */
		name = rt_name(r.job, r.pos, r.attempt, r.step);
		rt->inspect(name, &a);
		free(name);
		run_ask(&r, ASK_FOLLOWED, &a);
		break;
	case R_SIDECAR:
		sidecar_exited(&r, code);
		break;
	case R_PROBE:
		probe_exited(&r, code);
		break;
	case R_ASK:
		ask_done(&r, code);
		break;
	case R_HOOK:
		hook_done(&r);
		break;
	default:
		if (rt->direct)		/* what the step left running goes too */
			kill(-r.pid, SIGKILL);
		if (code != 0 && !r.cancelled && !r.timed_out && !rt->direct)
			step_cli_failed(&r, code);
		else
			step_exited(&r, code);
	}
	run_free(&r);
}

/* A followed container's log ended: follow it again, or it exited. */
static void
step_followed(struct run *r, int code)
{
	int exit_code = 0;
	char *st = ask_state(r, code, &exit_code);
	struct job *j = sched_job(r->job);

	if (st && j && !r->cancelled && !r->timed_out &&
	    (strcmp(st, "running") == 0 || strcmp(st, "paused") == 0 ||
	    strcmp(st, "restarting") == 0))
		reattach(j, r->pos, r->attempt, r->step, r->deadline);
	else if (st == NULL && !r->cancelled && !r->timed_out)
		engine_check(r, 125);
	else
		step_exited(r, st ? exit_code : 125);
	free(st);
}

/* Follows a container this daemon did not start (or lost), until it exits. */
static void
reattach(struct job *j, int pos, int attempt, int step, long long deadline)
{
	const struct task *t;
	char *name = rt_name(j->id, pos, attempt, step);
	char *logp = home_path("logs/%s/%d.log", j->id, pos);
	char *dir = home_path("work/%s/%d.%d.%d", j->id, pos, attempt, step);
	long long since = 0;
	struct strlist a;
	struct stat sb;
	struct run *r;

	/* What was logged before the crash is in the file already. */
	if (stat(logp, &sb) == 0)
		since = (long long)sb.st_mtime;
	free(logp);
	rt->follow(name, dir, since, &a);
	free(dir);
	r = run_logged(a.v, NULL, R_REATTACH, j, pos, attempt, step, NULL);
	strlist_free(&a);
	if (r) {
		r->deadline = deadline;
		logf_("info", "task.reattach", "job=%s task=%d attempt=%d step=%d "
		    "container=%s", j->id, pos, attempt, step, name);
		/*
		 * The last daemon may have died between starting the task's
		 * own container and recording that it runs (sched_step_run).
		 */
		if ((t = task_at(j, pos)) != NULL && (size_t)step >= t->pre.n)
			task_move(j->id, pos, T_RUNNING, "step = ?", "i", step);
	}
	free(name);
}

/*
 * After a restart: one listing of this home's containers on engine e says
 * what the last daemon left there.  Until the answer is in, nothing new
 * starts on it.
 */
static void
sched_recover(size_t e)
{
	struct run ctx = { 0 };
	struct strlist a;

	engines[e].reconciling = 1;
	engines[e].reconcile_at = 0;
	ctx.eng = e;
	rt->list(NULL, &a);
	run_ask(&ctx, ASK_RECONCILE, &a);
}

/*
 * What no orphan removal on an engine may touch: the containers of every
 * attempt in progress and those a batch rm is still to remove, on any
 * engine, as two -q entries may name one engine in two ways.
 */
static void
keep_busy(struct strlist *keep)
{
	sqlite3_stmt *st;
	size_t e, i;

	st = db_prep("SELECT job, pos, attempt FROM tasks WHERE state IN (?, ?)",
	    "ss", tstate_name(T_SCHEDULED), tstate_name(T_RUNNING));
	while (db_row(st))
		strlist_add(keep, xasprintf("jobrun-%s-%s-%d-%d-", homeid,
		    sqlite3_column_text(st, 0), sqlite3_column_int(st, 1),
		    sqlite3_column_int(st, 2)));
	db_done(st);
	for (e = 0; e < nengines; e++)
		for (i = 0; i < engines[e].rm_names.n; i++)
			strlist_add(keep, xstrdup(engines[e].rm_names.v[i]));
}

/* Whether a child of the daemon works for this attempt. */
static int
run_of(const char *job, int pos, int attempt)
{
	size_t i;

	for (i = 0; i < nruns; i++)
		if (runs[i].kind != R_AUX && runs[i].pos == pos &&
		    runs[i].attempt == attempt && strcmp(runs[i].job, job) == 0)
			return 1;
	return 0;
}

/* Whether a step's container runs (or is followed) on engine e. */
static int
steps_running(size_t e)
{
	size_t i;

	for (i = 0; i < nruns; i++)
		if ((runs[i].kind == R_STEP || runs[i].kind == R_REATTACH) &&
		    runs[i].eng == e)
			return 1;
	return 0;
}

/* A listing's answer, lines of "name state", as two lists. */
static void
listing_read(struct run *r, struct strlist *names, struct strlist *states)
{
	char *line, *save, *sp;

	memset(names, 0, sizeof(*names));
	memset(states, 0, sizeof(*states));
	for (line = strtok_r(r->part.s ? r->part.s : (char[1]){ 0 }, "\n",
	    &save); line; line = strtok_r(NULL, "\n", &save))
		if ((sp = strchr(line, ' ')) != NULL) {
			*sp = '\0';
			strlist_add(names, xstrdup(line));
			strlist_add(states, xstrdup(rt_state(sp + 1)));
		}
}

/* The state of container name in a listing (names, states), or NULL. */
static const char *
listed(const struct strlist *names, const struct strlist *states,
    const char *name)
{
	size_t i;

	for (i = 0; i < names->n; i++)
		if (strcmp(names->v[i], name) == 0)
			return states->v[i];
	return NULL;
}

/*
 * Removes the containers of names, on engine e, that start with none of
 * keep's prefixes.
 */
static void
remove_orphans(size_t e, struct strlist *names, const struct strlist *keep)
{
	struct strlist a;
	size_t i, k;
	pid_t pid;

	for (i = 0; i < names->n; ) {
		for (k = 0; k < keep->n; k++)
			if (strncmp(names->v[i], keep->v[k], strlen(keep->v[k])) == 0)
				break;
		if (k < keep->n) {
			free(names->v[i]);
			names->v[i] = names->v[--names->n];
		} else
			i++;
	}
	if (names->n == 0)
		return;
	rt->remove(names, &a);
	if ((pid = rt_bg(&a, e)) > 0)
		run_add(pid, R_AUX, NULL, 0, 0, 0)->eng = e;
	logf_("info", "daemon.cleanup", "containers=%zu engine=%s", names->n,
	    engine_name(e));
}

/*
 * Each attempt in progress is followed if its step's container was
 * started, or runs that step again (sidecars too) if it never was; a
 * container that no attempt in progress owns is removed.
 */
static void
reconcile(struct run *r, int code)
{
	struct strlist names, states, keep = { 0 };
	struct engine *e = &engines[r->eng];
	struct run *again = NULL;
	size_t i, nagain = 0;
	sqlite3_stmt *st;

	if (code != 0) {
		logf_("warn", "daemon.reconcile", "error=\"'%s' listing exited %d\""
		    " retry=2s engine=%s", docker_bin, code, engine_name(r->eng));
		e->reconcile_at = mono_ms() + 2000;
		return;
	}
	listing_read(r, &names, &states);
	keep_busy(&keep);
	st = db_prep("SELECT job, pos, attempt, step, astart, queue FROM tasks"
	    " WHERE state IN (?, ?)", "ss", tstate_name(T_SCHEDULED),
	    tstate_name(T_RUNNING));
	while (db_row(st)) {
		struct run c = { 0 };
		struct job *j = sched_job((const char *)sqlite3_column_text(st, 0));
		const struct task *t;
		const char *state;
		char *name;

		snprintf(c.job, sizeof(c.job), "%s", sqlite3_column_text(st, 0));
		c.pos = sqlite3_column_int(st, 1);
		c.attempt = sqlite3_column_int(st, 2);
		c.step = sqlite3_column_int(st, 3);
		/* A composite task has no container of its own. */
		if (j == NULL || (t = task_at(j, c.pos)) == NULL ||
		    is_composite(t))
			continue;
		c.deadline = mono_deadline(sqlite3_column_int64(st, 4),
		    t->timeout_ms);
		if ((c.eng = queue_engine((const char *)sqlite3_column_text(st,
		    5))) != r->eng)
			continue;	/* another engine's */
		if (run_of(c.job, c.pos, c.attempt))
			continue;	/* followed already (the engine was away) */
		name = rt_name(c.job, c.pos, c.attempt, c.step);
		state = listed(&names, &states, name);
		if (state && strcmp(state, "created") == 0)
			step_start_created(&c);
		else if (state)
			reattach(j, c.pos, c.attempt, c.step, c.deadline);
		else {
			/*
			 * Not there: run the step again, once the listing is
			 * read.  If the engine is still creating it for the CLI
			 * that died with the last daemon, the run will find its
			 * name taken, and start that one (step_cli_answer).
			 */
			again = xreallocarray(again, nagain + 1, sizeof(*again));
			again[nagain++] = c;
		}
		free(name);
	}
	db_done(st);
	for (i = 0; i < nagain; i++)
		step_again(&again[i], 1);
	free(again);
	remove_orphans(r->eng, &names, &keep);
	strlist_free(&names);
	strlist_free(&states);
	strlist_free(&keep);
	e->reconciling = 0;
}

/*
 * What an rm left (rm_ended): this home's containers that no attempt in
 * progress owns and no rm still to come names.
 */
static void
sweep(struct run *r, int code)
{
	struct strlist names, states, keep = { 0 };

	if (code != 0) {
		logf_("warn", "daemon.sweep", "error=\"'%s' listing exited %d\""
		    " retry=60s engine=%s", docker_bin, code, engine_name(r->eng));
		engines[r->eng].sweep_want = 1;	/* swept_at: in a minute */
		return;
	}
	listing_read(r, &names, &states);
	keep_busy(&keep);
	remove_orphans(r->eng, &names, &keep);
	strlist_free(&names);
	strlist_free(&states);
	strlist_free(&keep);
}

/*
 * The engine may go away (dockerd stopped, restarted, upgraded): that is
 * no task's failure.  A step whose container gives no answer makes the
 * daemon ask the engine (engine_check); if it does not answer either, the
 * engine is down (engine_lost): the attempt goes back to PENDING without
 * counting (task_requeue), nothing starts, and the engine is asked again
 * after 1 s, then 2, 4 ... up to 30 s (engine_ping).  Once it answers, the
 * daemon reconciles its containers, as at start-up, before it starts any.
 */
static void
engine_check(struct run *r, int code)
{
	struct strlist a;

	if (engines[r->eng].down) {
		task_requeue(r);
		return;
	}
	r->cli = code;		/* what the step ended with, if the engine is up */
	rt->ping(&a);
	run_ask(r, ASK_ENGINE, &a);
}

/*
 * What status shows of the engines that are down: since when (the
 * earliest) and why, each non-default one's reason after its name.
 */
static void
engine_meta(void)
{
	struct buf why = { 0 };
	long long since = 0;
	size_t e;

	for (e = 0; e < nengines; e++) {
		if (!engines[e].down)
			continue;
		if (since == 0 || engines[e].down < since)
			since = engines[e].down;
		buf_addf(&why, "%s%s%s%s", why.len ? "; " : "", e ? engine_name(e)
		    : "", e ? ": " : "", engines[e].why);
	}
	if (since) {
		daemon_meta("engine_down", "%lld", since);
		daemon_meta("engine_error", "%s", why.s);
	} else
		db_exec("DELETE FROM meta WHERE key IN ('engine_down',"
		    " 'engine_error')", NULL);
	free(why.s);
}

/* Engine e does not answer; what (the ping's output) says how. */
static void
engine_lost(size_t e, const char *what)
{
	struct engine *en = &engines[e];
	char why[256];
	size_t n;

	if (en->down)
		return;
	while (what && (*what == '\n' || *what == ' '))	/* its first line */
		what++;
	snprintf(why, sizeof(why), "%s", what && *what ? what : "no answer");
	n = strcspn(why, "\n");
	why[n] = '\0';
	for (n = 0; why[n]; n++)
		if (why[n] == '"')
			why[n] = '\'';
	en->down = now_ms();
	en->backoff = 1000;
	en->ping_at = mono_ms() + en->backoff;
	free(en->why);
	en->why = xstrdup(why);
	logf_("warn", "engine.down", "error=\"%s\" engine=%s", why,
	    engine_name(e));
	engine_meta();
}

static void
engine_ping(size_t e)
{
	struct run ctx = { 0 };
	struct strlist a;

	engines[e].pinging = 1;
	ctx.eng = e;
	rt->ping(&a);
	run_ask(&ctx, ASK_PING, &a);
}

/*
 * Engine e answered the ping (code 0), or not yet: at start-up, an engine
 * other than the first is pinged so, and is down at its first no.
 */
static void
engine_answer(size_t e, int code, const char *what)
{
	struct engine *en = &engines[e];

	en->pinging = 0;
	if (code != 0 && !en->down) {
		engine_lost(e, what);
		return;
	}
	if (code != 0) {
		if ((en->backoff *= 2) > 30000)
			en->backoff = 30000;
		en->ping_at = mono_ms() + en->backoff;
		return;
	}
	if (en->down)
		logf_("info", "engine.up", "down=%llds engine=%s",
		    (now_ms() - en->down) / 1000, engine_name(e));
	en->down = 0;
	engine_meta();
	sched_recover(e);
}

/*
 * The engine went away under r's attempt: the task goes back to PENDING,
 * and abase moves with the attempt, so that this one does not count
 * against retry.limit.  Its containers, if the engine kept them, are
 * removed when the daemon reconciles.  An attempt already ended or
 * requeued (by another of its children) is left alone.
 */
static void
task_requeue(struct run *r)
{
	sqlite3_stmt *st;
	int ok = 0;

	if (run_ended(r))
		return;
	st = db_prep("SELECT 1 FROM tasks WHERE job = ? AND pos = ? AND"
	    " attempt = ? AND state IN (?, ?)", "siiss", r->job, r->pos,
	    r->attempt, tstate_name(T_SCHEDULED), tstate_name(T_RUNNING));
	ok = db_row(st);
	db_done(st);
	if (!ok)
		return;
	db_begin();
	task_move(r->job, r->pos, T_PENDING, "abase = abase + 1, step = 0",
	    NULL);
	db_commit();
	logf_("warn", "task.requeue", "job=%s task=%d attempt=%d "
	    "reason=engine", r->job, r->pos, r->attempt);
}

/* ASK_SIDECARS: an earlier try's sidecars are gone: start them again. */
static void
sidecars_cleared(struct run *r, int code)
{
	(void)code;
	if (!run_ended(r))
		sidecar_start(r, 0);
}

/* ASK_ENGINE: a container gave no answer; the engine did (code 0), or not. */
static void
engine_checked(struct run *r, int code)
{
	if (run_ended(r))	/* killed by a cancel: no answer */
		return;
	if (code == 0)
		step_exited(r, r->cli);
	else {
		engine_lost(r->eng, r->part.s);
		task_requeue(r);
	}
}

/* ASK_PING: is the engine that was away back? */
static void
engine_pinged(struct run *r, int code)
{
	engine_answer(r->eng, code, r->part.s);
}

/* What an R_ASK child's answer goes on to, by what it was asked for. */
static void (*const ask_then[])(struct run *, int) = {
	[ASK_CLI_FAILED] = step_cli_answer,
	[ASK_FOLLOWED] = step_followed,
	[ASK_SETTLE] = step_settled,
	[ASK_CREATED] = step_created,
	[ASK_START] = step_started,
	[ASK_SIDECARS] = sidecars_cleared,
	[ASK_RECONCILE] = reconcile,
	[ASK_SWEEP] = sweep,
	[ASK_ENGINE] = engine_checked,
	[ASK_PING] = engine_pinged,
};

/* An R_ASK child exited with code; its answer is in r->part. */
static void
ask_done(struct run *r, int code)
{
	ask_then[r->ask](r, code);
}

/* ---- an attempt ends */

/*
 * A step's exit decides: the next step, the attempt's success (the next
 * task), or its failure (a retry, or the job FAILED).  The attempt's
 * containers go in the background.
 */
/* A timeout as it was most likely written: 2s, 45m, 1500ms. */
static char *
fmt_timeout(long long ms, char *out, size_t n)
{
	if (ms % 3600000 == 0)
		snprintf(out, n, "%lldh", ms / 3600000);
	else if (ms % 60000 == 0)
		snprintf(out, n, "%lldm", ms / 60000);
	else if (ms % 1000 == 0)
		snprintf(out, n, "%llds", ms / 1000);
	else
		snprintf(out, n, "%lldms", ms);
	return out;
}

/* The last line of a task's log that the docker CLI wrote about itself. */
static char *
docker_complaint(const char *job, int pos)
{
	char *path = home_path("logs/%s/%d.log", job, pos), *text, *line, *save;
	char *found = NULL;

	text = read_file(path, NULL);
	free(path);
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
	    line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "docker: ", 8) == 0 || strncmp(line, "Error", 5) == 0 ||
		    strncmp(line, "jobrun: ", 8) == 0) {
			free(found);
			found = xstrdup(line);
		}
	free(text);
	return found;
}

/*
 * Reads what the main container wrote to /tork/stdout, at most MAX_OUTPUT
 * bytes.  *over is set when there was more: the task fails, rather than
 * pass on half a result.
 */
static char *
step_result(const char *job, int pos, int attempt, int step, int *over)
{
	char *path = home_path("work/%s/%d.%d.%d/stdout", job, pos, attempt, step);
	char *s = read_file_max(path, MAX_OUTPUT, NULL);

	*over = s == NULL && errno == EFBIG;
	free(path);
	return s;
}

/*
 * The result file may hold a secret: it goes once the store has the result
 * (redacted), not before, so that a daemon that stops in between reads it
 * again.
 */
static void
step_result_done(const char *job, int pos, int attempt, int step)
{
	char *path = home_path("work/%s/%d.%d.%d/stdout", job, pos, attempt, step);

	unlink(path);
	free(path);
}

/*
 * What an attempt leaves behind: its containers (names) and its volumes,
 * which can go only once no container uses them (vols, after the rm).
 */
static void
attempt_leftovers(const struct run *r, const struct task *t,
    struct strlist *names, struct strlist *vols)
{
	struct strlist v_ = { 0 };
	size_t v;
	int s, m;

	/* r->step is one past the last when the attempt ended well */
	memset(names, 0, sizeof(*names));
	for (s = 0; s <= r->step && (t == NULL || task_step(t, s, &m)); s++)
		strlist_add(names, rt_name(r->job, r->pos, r->attempt, s));
	for (v = 0; t && v < t->sidecars.n; v++)
		strlist_add(names, rt_sidecar(r->job, r->pos, r->attempt, v));
	memset(vols, 0, sizeof(*vols));
	for (v = 0; t && v < t->volumes.n + t->mounts.n; v++)
		if (v < t->volumes.n || strcmp(t->mounts.v[v -
		    t->volumes.n].type, "volume") == 0)
			strlist_add(&v_, rt_volume(r->job, r->pos, v));
	if (v_.n && rt->volumes_remove)
		rt->volumes_remove(&v_, vols);
	strlist_free(&v_);
}

/*
 * Finished attempts' containers go in batches: one rm for RM_BATCH
 * attempts, or for what gathered in RM_WAIT_MS, or at once when no step
 * runs; so a task costs one docker call and a twentieth.  A crash loses
 * the list: the next daemon's reconcile removes what no attempt owns.
 */
#define RM_BATCH	20
#define RM_WAIT_MS	10000

static void
rm_flush1(size_t e, int now)
{
	struct engine *en = &engines[e];
	struct strlist a;
	struct run *r;
	pid_t pid;

	if (en->rm_names.n == 0)
		return;
	if (!now && steps_running(e) && en->rm_attempts < RM_BATCH &&
	    mono_ms() - en->rm_since < RM_WAIT_MS)
		return;
	rt->remove(&en->rm_names, &a);
	if ((pid = rt_bg(&a, e)) > 0) {
		r = run_add(pid, R_AUX, NULL, 0, 0, 0);
		r->batch = en->rm_names.n;
		r->eng = e;
		en->rm_inflight++;
	}
	strlist_free(&en->rm_names);
	en->rm_attempts = 0;
}

static void
rm_flush(int now)
{
	size_t e;

	for (e = 0; e < nengines; e++)
		rm_flush1(e, now);
}

/*
 * A batch rm ended.  The engine may have kept some of its containers: the
 * rm failed (said here), or it said it removed one and had not (seen
 * under load as a container the engine shows as Created though its step
 * ran).  Either way the next idle moment sweeps (sched_sweep).
 */
static void
rm_ended(size_t e, size_t n, int code)
{
	struct engine *en = &engines[e];

	en->rm_inflight--;
	if (en->sweep_want == 0 || code != 0)
		en->sweep_want = code ? 2 : 1;
	if (code != 0)
		logf_("warn", "container.rm", "error=\"'%s rm' of %zu containers"
		    " exited %d\" sweep=idle engine=%s", docker_bin, n, code,
		    engine_name(e));
}

/*
 * Once no step runs on an engine and no rm is out there, one listing of
 * this home's containers on it; those no attempt in progress owns go
 * (sweep).  After rms that all exited 0, at most once a minute: a daemon
 * that often goes idle does not list each time.
 */
#define SWEEP_MIN_MS	60000

static void
sched_sweep(long long now)
{
	struct run ctx = { 0 };
	struct engine *en;
	struct strlist a;
	size_t e;

	for (e = 0; e < nengines; e++) {
		en = &engines[e];
		if (!en->sweep_want || en->reconciling || en->down ||
		    steps_running(e) ||
		    en->rm_inflight || en->rm_names.n || (en->sweep_want == 1 &&
		    en->swept_at && now - en->swept_at < SWEEP_MIN_MS))
			continue;
		en->sweep_want = 0;
		en->swept_at = now;
		ctx.eng = e;
		rt->list(NULL, &a);
		run_ask(&ctx, ASK_SWEEP, &a);
	}
}

/*
 * At stop: the containers of the last attempts go now, the daemon waiting
 * up to 5 s for every rm under way (its children die with it: an rm that
 * podman had not finished left a container behind).
 */
static void
rm_last(void)
{
	long long until = mono_ms() + 5000;
	size_t i;
	int left = 1;

	rm_flush(1);
	while (left && mono_ms() < until) {
		for (i = 0, left = 0; i < nruns; i++)
			if (runs[i].kind == R_AUX && runs[i].batch &&
			    waitpid(runs[i].pid, NULL, WNOHANG) == 0)
				left = 1;
		if (left)
			usleep(10000);
	}
}

/*
 * Removes them from engine e in the background; frees both lists.  With
 * volumes, at once: they go after their containers.
 */
static void
attempt_cleanup(size_t e, struct strlist *names, struct strlist *vols)
{
	struct engine *en = &engines[e];
	struct strlist rm;
	struct run *r;
	size_t i;
	pid_t pid;

	if (rt->remove == NULL) {	/* no containers */
		strlist_free(names);
		strlist_free(vols);
		return;
	}
	if (vols->n == 0) {
		if (en->rm_names.n == 0)
			en->rm_since = mono_ms();
		for (i = 0; i < names->n; i++)
			strlist_add(&en->rm_names, names->v[i]);
		free(names->v);
		en->rm_attempts++;
		return;
	}
	rt->remove(names, &rm);
	strlist_free(names);
	if ((pid = rt_bg(&rm, e)) > 0) {
		r = run_add(pid, R_AUX, NULL, 0, 0, 0);
		r->then = *vols;
		r->eng = e;
	} else
		strlist_free(vols);
}

/* s without the job's secrets (an expression's error may quote one). */
static char *
secrets_out(const char *id, char *s)
{
	struct job *j = sched_job(id);
	struct strlist l = { 0 };

	if (j)
		redact_secrets(&l, j);
	s = redact(&l, s);
	strlist_free(&l);
	return s;
}

/* Marks the job FAILED because of task pos; inside the caller's transaction. */
static void
job_fail(const char *id, int pos, const char *label, const char *error_)
{
	char *error = secrets_out(id, xstrdup(error_));
	char *jerr = xasprintf("task %d (%s): %s", pos, label, error);
	long long now = now_ms();

	task_move(id, pos, T_FAILED, "completed = ?, error = ?", "Is", now, error);
	job_move(id, J_FAILED, jerr, "completed = ?, error = ?", "Is", now, jerr);
	/* Children already waiting for a slot never start. */
	tasks_move(id, -1, SB(T_CREATED) | SB(T_PENDING), T_CANCELLED,
	    "completed = ?", now);
	free(jerr);
	free(error);
}

/* The job completed: its output expression, if any, gives its result. */
static void
job_complete(const struct job *j)
{
	expr_val *env;
	char *res = NULL;

	if (j->output) {
		env = sched_env(j, 0);
		if ((res = sched_eval(j->output, env, "output")) == NULL)
			res = xasprintf("error: %s", errmsg);
		res = secrets_out(j->id, res);
		expr_free(env);
	}
	job_move(j->id, J_COMPLETED, NULL, "completed = ?, result = ?, delete_at"
	    " = ?", "IsI", now_ms(), res, j->autodelete_ms < 0 ? 0 : now_ms() +
	    j->autodelete_ms);
	free(res);
}

/*
 * The task completed: the next one becomes PENDING in the same
 * transaction, so that no crash can leave a job with nothing to do and not
 * finished; or the job completed.
 */
/* A task ended: its time from first start to now goes into the histogram. */
static void
task_observe(const char *id, int pos)
{
	char *s = db_str("SELECT started FROM tasks WHERE job = ? AND pos = ?",
	    "si", id, pos);

	if (s && atoll(s) > 0)
		db_observe(now_ms() - atoll(s));
	free(s);
}

/*
 * A child of a parallel or each task completed: the next waiting child of
 * an each starts; when none is left the parent completes.  Returns the
 * top-level position to go on from, or 0 while children are still busy.
 */
static int
child_completed(const struct job *j, int pos)
{
	int idx, parent = task_row(j->id, pos, &idx, NULL), left;
	char *n;

	if (parent <= 0)
		return pos + 1;
	/* the next child an each's concurrency held back */
	n = db_str("SELECT min(pos) FROM tasks WHERE job = ? AND parent = ? AND"
	    " state = ?", "sis", j->id, parent, tstate_name(T_CREATED));
	if (n)
		task_move(j->id, atoi(n), T_PENDING, NULL, NULL);
	free(n);
	/* the states other than SKIPPED and COMPLETED, each one seek */
	n = db_str("SELECT EXISTS(SELECT 1 FROM tasks WHERE job = ? AND parent = ?"
	    " AND state IN (?, ?, ?, ?, ?, ?))", "sissssss", j->id, parent,
	    tstate_name(T_CREATED), tstate_name(T_PENDING),
	    tstate_name(T_SCHEDULED), tstate_name(T_RUNNING),
	    tstate_name(T_FAILED), tstate_name(T_CANCELLED));
	left = n ? atoi(n) : 0;
	free(n);
	if (left > 0)
		return 0;
	task_move(j->id, parent, T_COMPLETED, "completed = ?", "I", now_ms());
	return parent + 1;
}

static void
task_completed(const struct run *r, const struct job *j)
{
	int next;

	db_begin();
	task_move(r->job, r->pos, T_COMPLETED, "completed = ?, error = NULL", "I",
	    now_ms());
	if ((next = child_completed(j, r->pos)) == 0) {
		db_commit();
		return;
	}
	switch (sched_next(j, next)) {
	case 0:
		db_commit();
		return;
	case 1:
		job_complete(j);
		db_commit();
		sched_job_done(r->job, J_COMPLETED, NULL);
		return;
	default:
		db_commit();
		sched_job_tidy(r->job);
	}
}

/* Attempts made before the last restart do not count against retry.limit. */
static int
task_abase(const char *id, int pos)
{
	char *s = db_str("SELECT abase FROM tasks WHERE job = ? AND pos = ?", "si",
	    id, pos);
	int n = s ? atoi(s) : 0;

	free(s);
	return n;
}

/* How long to wait before the attempt after attempt n: initialDelay * scalingFactor^(n-1). */
static long long
retry_delay(const struct task *t, int n)
{
	double d = (double)t->retry.initial_ms;

	while (--n > 0 && d < 86400000.0)
		d *= t->retry.scaling;
	return d > 86400000.0 ? 86400000 : (long long)d;
}

/* The attempt failed: retry while retries are left, else fail the job. */
static void
task_failed(const struct run *r, const struct task *t, int code,
    const char *error_)
{
	char lbl[32], *jerr, *error = secrets_out(r->job, xstrdup(error_));
	int parent, idx;

	logf_("warn", "task.attempt", "job=%s task=%d attempt=%d error=\"%s\"",
	    r->job, r->pos, r->attempt, error);
	if (t && r->attempt - task_abase(r->job, r->pos) <= t->retry.limit) {
		long long delay = retry_delay(t, r->attempt -
		    task_abase(r->job, r->pos));

		task_move(r->job, r->pos, T_PENDING, "error = ?, not_before = ?",
		    "sI", error, now_ms() + delay);
		if (delay)
			logf_("info", "task.retry", "job=%s task=%d attempt=%d "
			    "delay=%lldms", r->job, r->pos, r->attempt + 1, delay);
		free(error);
		return;
	}
	jerr = xasprintf("task %d (%s): %s", r->pos, t ? task_label(t, r->pos,
	    lbl, sizeof(lbl)) : "?", error);
	db_begin();
	if (code >= 0)
		task_move(r->job, r->pos, T_FAILED, "completed = ?, error = ?,"
		    " exit_code = ?", "Isi", now_ms(), error, code);
	else
		task_move(r->job, r->pos, T_FAILED, "completed = ?, error = ?", "Is",
		    now_ms(), error);
	/* A failed child fails its parent; its siblings are cancelled. */
	if ((parent = task_row(r->job, r->pos, &idx, NULL)) > 0) {
		task_move(r->job, parent, T_FAILED, "completed = ?, error = ?", "Is",
		    now_ms(), jerr);
		tasks_move(r->job, parent, ~TFINAL, T_CANCELLED, "completed = ?",
		    now_ms());
	}
	/* the events go at commit: every body shows the job FAILED too */
	job_move(r->job, J_FAILED, jerr, "completed = ?, error = ?", "Is", now_ms(),
	    jerr);
	db_commit();
	sched_job_done(r->job, J_FAILED, jerr);
	free(jerr);
	free(error);
}

/*
 * An attempt ended, well (ok) or not (code is the failing container's exit
 * status, or -1, and error says why).
 */
static void
attempt_end(struct run *r, int ok, int code, const char *error)
{
	struct job *j = sched_job(r->job);
	const struct task *t = j ? task_at(j, r->pos) : NULL;
	struct strlist names, vols;
	char *state;
	int st;

	/*
	 * The containers go only once the store has the attempt's end: a
	 * crash before then finds the step's container and follows it, where
	 * one after its removal would run the step again.  (The job may be
	 * gone from the cache by then: what to remove is known first.)
	 */
	attempt_leftovers(r, t, &names, &vols);
	/*
	 * A cancelled job's tasks are final already: nothing to record; nor
	 * for an attempt that a restart has left behind.
	 */
	state = db_str("SELECT state FROM tasks WHERE job = ? AND pos = ? AND"
	    " attempt = ?", "sii", r->job, r->pos, r->attempt);
	st = state_parse(tstate_names, state);
	free(state);
	if (st != T_RUNNING && st != T_SCHEDULED)
		sched_job_tidy(r->job);
	else if (ok && t)
		task_completed(r, j);
	else
		task_failed(r, t, code, ok ? errmsg : error);
	attempt_cleanup(r->eng, &names, &vols);
}

/* A step's container exited with `code` (its CLI's exit status). */
static void
step_exited(struct run *r, int code)
{
	struct job *j = NULL;
	const struct task *t = NULL;
	const struct step *s;
	char *err_ = NULL, *res;
	int is_main, over;

	if (r->cancelled || (j = sched_job(r->job)) == NULL ||
	    (t = task_at(j, r->pos)) == NULL) {
		attempt_end(r, 0, -1, r->cancelled ? "cancelled" : j ?
		    "no such task" : errmsg);
		return;
	}
	s = task_step(t, r->step, &is_main);
	if (r->timed_out)
		err_ = xasprintf("timed out after %s", fmt_timeout(t->timeout_ms,
		    (char[32]){ 0 }, 32));
	else if (code == 125 || code == 127) {
		char *c = docker_complaint(r->job, r->pos);

		err_ = c ? c : xasprintf("the container could not be started "
		    "(exit %d)", code);
	} else if (code != 0)
		err_ = xasprintf("exit code %d", code);
	if (err_ && !is_main) {
		char *e = xasprintf("%s %s: %s", (size_t)r->step <
		    t->pre.n ? "pre" : "post", s && s->name ?
		    s->name : "task", err_);

		free(err_);
		err_ = e;
	}
	if (err_) {
		attempt_end(r, 0, code, err_);
		free(err_);
		return;
	}
	if (is_main) {
		res = redact(&r->redact, step_result(r->job, r->pos, r->attempt,
		    r->step, &over));
		if (over) {
			err_ = xasprintf("the task wrote more than %d bytes to "
			    "$TORK_OUTPUT, the limit of a result", MAX_OUTPUT);
			step_result_done(r->job, r->pos, r->attempt, r->step);
			attempt_end(r, 0, code, err_);
			free(err_);
			return;
		}
		if (db_exec("UPDATE tasks SET result = ?, exit_code = 0 WHERE job ="
		    " ? AND pos = ?", "ssi", res, r->job, r->pos) == 1)
			step_result_done(r->job, r->pos, r->attempt, r->step);
		free(res);
	}
	sched_step(j, r->pos, r->attempt, r->step + 1, r->deadline);
	/* the finished step's container goes when the attempt ends */
}

/*
 * A subjob ended: its parent's task, if it still waits, completes with the
 * subjob's result or fails with its error.
 */
static void
subjob_ended(const char *id, enum jstate state, const char *error)
{
	sqlite3_stmt *st;
	struct run r = { 0 };
	struct job *pj;
	char *parent = NULL, *result = NULL, *e;

	st = db_prep("SELECT parent, ptask, result FROM jobs WHERE id = ?", "s", id);
	if (db_row(st) && sqlite3_column_text(st, 0)) {
		parent = col_str(st, 0);
		r.pos = sqlite3_column_int(st, 1);
		result = col_str(st, 2);
	}
	db_done(st);
	if (parent == NULL)
		return;
	snprintf(r.job, sizeof(r.job), "%s", parent);
	r.attempt = INT_MAX;		/* a subjob is not retried */
	r.eng = task_engine(parent, r.pos);
	if (db_tstate(parent, r.pos) == T_RUNNING &&
	    (pj = sched_job(parent)) != NULL) {
		if (state == J_COMPLETED) {
			db_exec("UPDATE tasks SET result = ? WHERE job = ? AND pos = ?",
			    "ssi", result, parent, r.pos);
			task_completed(&r, pj);
		} else {
			e = xasprintf("subjob %s %s%s%s", id, jstate_name(state),
			    error ? ": " : "", error ? error : "");
			task_failed(&r, task_at(pj, r.pos), -1, e);
			free(e);
		}
	}
	free(parent);
	free(result);
}

/* ---- cancel, stop, restart, timeouts */

/*
 * Stops the container of runs[i] by removing it.  The container may not
 * exist yet (the CLI is still creating it): so this is tried again every
 * second until the CLI exits, and after ten seconds the CLI is killed too.
 * Takes an index, since it adds a run, which may move the array.
 */
static int
run_owns_container(const struct run *r)
{
	return rt->remove && (r->kind == R_STEP || r->kind == R_REATTACH);
}

static void
kill_container(size_t i)
{
	struct strlist a;
	char *name;
	size_t e;
	pid_t pid;

	if (!run_owns_container(&runs[i])) {	/* the CLI is all there is */
		kill(-runs[i].pid, SIGKILL);
		return;
	}
	runs[i].rekill_at = mono_ms() + 1000;
	if (runs[i].kill_at == 0)
		runs[i].kill_at = mono_ms() + 10000;
	name = rt_name(runs[i].job, runs[i].pos, runs[i].attempt, runs[i].step);
	rt_remove1(name, &a);
	free(name);
	e = runs[i].eng;
	if ((pid = rt_bg(&a, e)) > 0)
		run_add(pid, R_AUX, NULL, 0, 0, 0)->eng = e;
}

static void
sched_cancel_subjobs(const char *id)
{
	struct strlist kids = { 0 };
	size_t i;

	/* A detached subjob lives a life of its own. */
	db_strs(&kids, "SELECT id FROM jobs WHERE parent = ? AND detached = 0 AND"
	    " state NOT IN (?, ?, ?)", "ssss", id, JFINAL_NAMES);
	for (i = 0; i < kids.n; i++)
		sched_cancel(kids.v[i]);
	strlist_free(&kids);
}

static void
sched_cancel(const char *id)
{
	long long now = now_ms();
	int st = db_jstate(id);
	size_t i;

	if (st < 0 || JSTATE_FINAL(st)) {
		logf_("info", "job.cancel", "job=%s ignored=%s", id,
		    st < 0 ? "unknown" : jstate_name(st));
		return;
	}
	db_begin();
	tasks_move(id, 0, ~TFINAL, T_CANCELLED, "completed = ?", now);
	job_move(id, J_CANCELLED, NULL, "completed = ?", "I", now);
	db_commit();
	sched_cancel_subjobs(id);
	for (i = 0; i < nruns; i++)
		if (runs[i].kind != R_AUX && strcmp(runs[i].job, id) == 0) {
			runs[i].cancelled = 1;
			kill_container(i);
		}
	sched_job_done(id, J_CANCELLED, NULL);
}

/*
 * Like cancel, but each running container gets SIGTERM and grace_ms to end
 * before docker kills it (docker stop); the job is CANCELLED with why.
 */
static void
sched_stop(const char *id, long long grace_ms)
{
	struct strlist n[ENGINES_MAX] = { { 0 } }, a;
	long long now = now_ms(), g = (grace_ms + 999) / 1000;	/* docker's unit */
	int st = db_jstate(id);
	size_t i, e;
	pid_t pid;
	char *why;

	if (rt->grace_s)	/* a service's own (swarm) */
		g = rt->grace_s;

	if (st < 0 || JSTATE_FINAL(st)) {
		logf_("info", "job.stop", "job=%s ignored=%s", id,
		    st < 0 ? "unknown" : jstate_name(st));
		return;
	}
	why = xasprintf("stopped (SIGTERM, then SIGKILL after %llds)", g);
	db_begin();
	tasks_move(id, 0, ~TFINAL, T_CANCELLED, "completed = ?", now);
	job_move(id, J_CANCELLED, why, "completed = ?, error = ?", "Is", now, why);
	db_commit();
	sched_cancel_subjobs(id);
	for (i = 0; i < nruns; i++) {
		struct run *r = &runs[i];

		if (r->kind == R_AUX || strcmp(r->job, id) != 0)
			continue;
		r->cancelled = 1;
		if (rt->direct && r->kind == R_STEP) {
			/* the shell runtime's step: its group gets the grace */
			kill(-r->pid, SIGTERM);
			r->kill_at = mono_ms() + g * 1000;
			continue;
		}
		if (!run_owns_container(r)) {
			kill(-r->pid, SIGKILL);
			continue;
		}
		/* rm -f only once the grace is over and docker stop did not do */
		r->rekill_at = mono_ms() + g * 1000 + 5000;
		r->kill_at = r->rekill_at + 10000;
		strlist_add(&n[r->eng], rt_name(r->job, r->pos, r->attempt,
		    r->step));
	}
	for (e = 0; e < nengines; e++) {	/* one stop per engine */
		if (n[e].n == 0)
			continue;
		rt->stop(&n[e], g, &a);
		if ((pid = rt_bg(&a, e)) > 0)	/* it takes the grace, at most */
			run_add(pid, R_AUX, NULL, 0, 0, 0)->kill_at = mono_ms() +
			    g * 1000 + RT_ASK_MS;
		strlist_free(&n[e]);
	}
	sched_job_done(id, J_CANCELLED, why);
	free(why);
}

/*
 * A FAILED or CANCELLED job runs again from the first task that did not
 * complete; completed tasks keep their results (Tork's restart).  Attempts
 * go on counting, so that no container name is used twice, but retry.limit
 * counts from the restart.
 */
static void
sched_restart(const char *id)
{
	char *sec = home_path("secrets/%s", id), *p = NULL;
	struct job *j;
	int pos, i, st = db_jstate(id);

	if ((st != J_FAILED && st != J_CANCELLED) ||
	    (p = db_str("SELECT imported FROM jobs WHERE id = ?",
	    "s", id)) != NULL || (j = sched_job(id)) == NULL) {
		free(p);
		logf_("info", "job.restart", "job=%s ignored=%s", id,
		    st < 0 ? "unknown" : jstate_name(st));
		goto out;
	}
	if (j->secrets.n && access(sec, F_OK) < 0) {
		logf_("warn", "job.restart", "job=%s ignored=\"its secrets are "
		    "gone\"", id);
		goto out;
	}
	p = db_str("SELECT min(pos) FROM tasks WHERE job = ? AND parent = 0 AND"
	    " state NOT IN (?, ?)", "sss", id, tstate_name(T_COMPLETED),
	    tstate_name(T_SKIPPED));
	pos = p ? atoi(p) : (int)j->ntasks + 1;
	free(p);
	db_begin();
	db_exec("UPDATE jobs SET hipos = (SELECT max(pos) FROM tasks WHERE job ="
	    " ?1) WHERE id = ?1", "s", id);
	db_exec("WITH RECURSIVE d(p) AS (SELECT pos FROM tasks WHERE job = ?1 AND"
	    " parent >= ?2 AND parent <= ?3 UNION SELECT t.pos FROM tasks t, d"
	    " WHERE t.job = ?1 AND t.parent = d.p)"
	    " DELETE FROM tasks WHERE job = ?1 AND pos IN d", "sii", id, pos,
	    (int)j->ntasks);
	for (i = pos; i <= (int)j->ntasks; i++)
		task_move(id, i, T_CREATED, "abase = attempt, step = 0, not_before ="
		    " NULL, exit_code = NULL, result = NULL, error = NULL, started ="
		    " NULL, completed = NULL, subjob = NULL, progress = NULL,"
		    " progress_at = NULL", NULL);
	job_move(id, J_PENDING, NULL, "completed = NULL, error = NULL, result ="
	    " NULL, restarts = restarts + 1", NULL);
	if (sched_next(j, pos) == 1)
		job_complete(j);
	if (db_commit() < 0) {
		logf_("warn", "job.restart", "job=%s error=\"%s\"", id, errmsg);
		goto out;
	}
	logf_("info", "job.restart", "job=%s task=%d", id, pos);
	if (JSTATE_FINAL(db_jstate(id)))
		sched_job_tidy(id);
out:
	free(sec);
}

static void sched_recover(size_t);

static void
sched_timeouts(void)
{
	long long now = mono_ms();
	struct engine *e;
	size_t i;

	for (i = 0; i < nengines; i++) {
		e = &engines[i];
		if (e->reconcile_at && now >= e->reconcile_at)
			sched_recover(i);
		if (e->down && !e->pinging && now >= e->ping_at)
			engine_ping(i);
	}
	sched_sweep(now);

	for (i = 0; i < nruns; i++) {
		struct run *r = &runs[i];

		if (r->kind == R_PROBE && r->deadline && now >= r->deadline &&
		    !r->timed_out) {
			r->timed_out = 1;
			kill(-r->pid, SIGKILL);
		} else if (r->kind != R_AUX && r->deadline && now >= r->deadline &&
		    !r->timed_out && !r->cancelled) {
			r->timed_out = 1;
			logf_("warn", "task.timeout", "job=%s task=%d attempt=%d",
			    r->job, r->pos, r->attempt);
			kill_container(i);
		} else if (r->rekill_at && now >= r->rekill_at)
			kill_container(i);
		r = &runs[i];
		if (r->kill_at && now >= r->kill_at) {
			kill(-r->pid, SIGKILL);
			r->kill_at = 0;
		}
	}
}

/* The next time sched_timeouts() has something to do, as a poll timeout. */
static int
sched_wait_ms(void)
{
	long long now = mono_ms(), next = now + 1000, due;
	const struct engine *e;
	size_t i;
	char *s;

	/*
	 * The next delayed job's, retry's, cron firing's or webhook attempt's
	 * time, within the second; one query, as this runs each time round.
	 * Webhooks count only while a delivery slot is free.
	 */
	if ((s = db_str("SELECT min(t) FROM (SELECT min(due) t FROM jobs WHERE"
	    " state = ?3 UNION ALL SELECT min(not_before) FROM tasks"
	    " WHERE state = ?4 AND not_before > ?1 UNION ALL SELECT"
	    " min(next_at) FROM schedules WHERE state = ?5 AND next_at > 0"
	    " UNION ALL SELECT min(next_at) FROM hooks WHERE ?2 AND state = ?6)",
	    "Iissss", now_ms(), hooks_inflight() < HOOK_INFLIGHT,
	    jstate_name(J_SCHEDULED), tstate_name(T_PENDING),
	    sstate_names[S_ACTIVE], hstate_names[H_PENDING])) != NULL) {
		due = atoll(s) - now_ms();
		free(s);
		if (now + due < next)
			next = now + (due > 0 ? due : 0);
	}
	for (i = 0; i < nengines; i++) {
		e = &engines[i];
		if (e->reconcile_at && e->reconcile_at < next)
			next = e->reconcile_at;
		if (e->rm_names.n && e->rm_since + RM_WAIT_MS < next)
			next = e->rm_since + RM_WAIT_MS;
		if (e->down && !e->pinging && e->ping_at < next)
			next = e->ping_at;
	}
	for (i = 0; i < nruns; i++) {
		if (runs[i].deadline && !runs[i].timed_out && runs[i].deadline < next)
			next = runs[i].deadline;
		if (runs[i].kill_at && runs[i].kill_at < next)
			next = runs[i].kill_at;
		if (runs[i].rekill_at && runs[i].rekill_at < next)
			next = runs[i].rekill_at;
	}
	return next > now ? (int)(next - now) : 0;
}

/* ---- webhooks */

/*
 * Webhooks.  An event of a job with webhooks becomes one row in hooks per
 * webhook whose event matches and whose if holds: url, headers and body
 * fixed then, secrets cut out of the body.  Delivery is a forked child per
 * attempt (vendor/http.c, 5 s at most), so the loop never waits on a
 * server; 429, 5xx and network errors are tried again after 1, 2, 4 and
 * 8 s, and every attempt is written down for show.
 */

/* job (and task) as webhook if expressions see them: Tork's names too. */
static void
hook_env_obj(expr_val *env, const char *name, const char *const *kv)
{
	expr_val *m = expr_map();
	char up[32];

	for (; kv[0]; kv += 2) {
		expr_map_set(m, kv[0], kv[1] ? expr_str(kv[1]) : expr_nil());
		snprintf(up, sizeof(up), "%s", kv[0]);
		up[0] = (char)toupper((unsigned char)up[0]);
		expr_map_set(m, strcmp(up, "Id") ? up : "ID", kv[1] ?
		    expr_str(kv[1]) : expr_nil());
	}
	expr_map_set(env, name, m);
}

/* The body of an event: the job (show --json, no tasks), or the task. */
static char *
hook_body(const struct jobrow *r, const struct taskrow *t, const char *event)
{
	struct buf b = { 0 };

	buf_add(&b, "{");
	json_kstr(&b, "event", event);
	if (t) {
		buf_add(&b, "\"task\":{");
		json_kstr(&b, "jobId", r->id);
		json_kint(&b, "position", t->pos);
		json_kstr(&b, "name", t->name);
		json_kstr(&b, "state", t->state);
		json_kint(&b, "attempt", t->attempt);
		json_kstr(&b, "result", t->result);
		json_kstr(&b, "error", t->error);
		json_kstr(&b, "progress", t->progress);
		json_end(&b, '}');
		buf_add(&b, ",");
	}
	buf_add(&b, "\"job\":");
	json_job(&b, r, NULL, 0);
	json_end(&b, '}');
	return buf_take(&b);
}

/* Where a delivery's real url and headers wait, when they hold a secret. */
static char *
hook_secret_path(long long seq)
{
	return home_path("secrets/hook-%lld", seq);
}

/*
 * The store gets the url and headers with secrets cut out, like all it
 * keeps; a url or header that needs one (a token, say) is kept whole in
 * secrets/hook-SEQ until the delivery is over.
 */
static void
hook_insert(const char *id, int pos, const char *event, const char *url,
    const char *headers, const char *body)
{
	char *ru = secrets_out(id, xstrdup(url)), *rh = secrets_out(id,
	    xstrdup(headers)), *dir, *name, *text;

	db_exec("INSERT INTO hooks(job, task, event, url, headers, body, state,"
	    " next_at, created) VALUES(?,?,?,?,?,?,?,?,?)", "sisssssII", id, pos,
	    event, ru, rh, body, hstate_names[H_PENDING], now_ms(), now_ms());
	if (strcmp(ru, url) || strcmp(rh, headers)) {
		dir = home_path("secrets");
		name = xasprintf("hook-%lld", (long long)sqlite3_last_insert_rowid(db));
		text = xasprintf("%s\n%s", url, headers);
		write_file_atomic(dir, dir, name, text, strlen(text));
		free(dir);
		free(name);
		free(text);
	}
	free(ru);
	free(rh);
}

static void
hook_add(const struct job *j, const struct webhook *w, const expr_val *env,
    const char *event, int pos, const char *body)
{
	struct buf h = { 0 };
	char *url, *v, *cond = NULL;
	size_t i;

	if (w->if_ && ((cond = sched_eval(w->if_, env, "webhooks.if")) == NULL ||
	    is_false(cond))) {
		if (cond == NULL)
			logf_("warn", "webhook.skip", "job=%s error=\"%s\"", j->id,
			    errmsg);
		free(cond);
		return;
	}
	free(cond);
	if ((url = sched_eval(w->url, env, "webhooks.url")) == NULL) {
		logf_("warn", "webhook.skip", "job=%s error=\"%s\"", j->id, errmsg);
		return;
	}
	for (i = 0; i < w->headers.n; i++) {
		if ((v = sched_eval(w->headers.v[i].val, env, "webhooks.headers")) ==
		    NULL) {		/* sent without it, but not silently */
			logf_("warn", "webhook.header", "job=%s header=%s error=\"%s\"",
			    j->id, w->headers.v[i].key, errmsg);
			continue;
		}
		buf_addf(&h, "%s: %s\n", w->headers.v[i].key, v);
		free(v);
	}
	hook_insert(j->id, pos, event, url, h.s ? h.s : "", body);
	free(url);
	free(h.s);
}

/* Something happened to job id (task pos, or 0): queue its webhooks. */
static void
hook_event(const char *id, int pos, const char *event, const char *state)
{
	struct job *j = sched_job(id);
	struct jobrow r;
	struct taskrow *tasks = NULL, *t = NULL;
	expr_val *env;
	char *body;
	size_t i, n = 0;

	for (i = 0; j && i < j->webhooks.n; i++)
		if (strcmp(j->webhooks.v[i].event, event) == 0)
			break;
	if (j == NULL || i == j->webhooks.n || !db_job(id, &r))
		return;
	if (state && pos == 0) {
		free(r.state);
		r.state = xstrdup(state);
	}
	n = pos ? db_tasks(id, &tasks) : 0;
	for (i = 0; i < n && tasks[i].pos != pos; i++)
		;
	t = i < n ? &tasks[i] : NULL;
	if (t && state) {
		free(t->state);
		t->state = xstrdup(state);
	}
	env = sched_env(j, 0);
	hook_env_obj(env, "job", (const char *const[]){ "id", r.id, "name", r.name,
	    "state", r.state, "error", r.error, "result", r.result, NULL });
	if (t)
		hook_env_obj(env, "task", (const char *const[]){ "name", t->name,
		    "state", t->state, "error", t->error, "result", t->result,
		    "progress", t->progress, NULL });
	body = secrets_out(id, hook_body(&r, t, event));
	for (i = 0; i < j->webhooks.n; i++)
		if (strcmp(j->webhooks.v[i].event, event) == 0)
			hook_add(j, &j->webhooks.v[i], env, event, pos, body);
	free(body);
	expr_free(env);
	for (i = 0; i < n; i++)
		taskrow_free(&tasks[i]);
	free(tasks);
	jobrow_free(&r);
}

/* The child: one POST, its outcome down the pipe as "STATUS MESSAGE". */
static void
hook_child(int fd, pid_t parent, const char *url, char *headers,
    const char *body)
{
	const char *hv[64];
	char err[HTTP_ERRSZ] = "", *line, *save = NULL;
	int n = 0, status;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)	/* it died before the line above */
		_exit(0);
	for (line = strtok_r(headers, "\n", &save); line && n < 63;
	    line = strtok_r(NULL, "\n", &save))
		hv[n++] = line;
	hv[n] = NULL;
	status = http_post(url, hv, body, strlen(body), 5000, err, sizeof(err));
	dprintf(fd, "%d %s", status, status < 0 ? err : "");
	_exit(0);
}

static void
hook_spawn(long long seq, const char *url, const char *headers,
    const char *body)
{
	struct run *r;
	int fds[2];
	pid_t pid, parent;
	char key[24];
	char *h = xstrdup(headers ? headers : ""), *path = hook_secret_path(seq);
	char *real = read_file(path, NULL), *nl;

	free(path);
	if (real && (nl = strchr(real, '\n')) != NULL) {
		*nl = '\0';
		url = real;
		free(h);
		h = xstrdup(nl + 1);
	}

	if (pipe2(fds, O_CLOEXEC) < 0) {
		free(h);
		free(real);
		return;
	}
	parent = getpid();
	if ((pid = fork()) == 0) {
		close(fds[0]);
		hook_child(fds[1], parent, url, h, body ? body : "");
	}
	free(h);
	free(real);
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return;
	}
	r = run_add(pid, R_HOOK, NULL, (int)seq, 0, 0);
	r->hookfd = fds[0];
	snprintf(key, sizeof(key), "%lld", seq);
	row_move("hooks", key, hstate_names[H_SENDING], "attempts = attempts + 1",
	    NULL);
}

static size_t
hooks_inflight(void)
{
	size_t i, n = 0;

	for (i = 0; i < nruns; i++)
		n += runs[i].kind == R_HOOK;
	return n;
}

/* Starts the deliveries that are due, HOOK_INFLIGHT at most at once. */
static void
sched_hooks(void)
{
	sqlite3_stmt *st;
	size_t room = HOOK_INFLIGHT - hooks_inflight();

	if (room == 0)
		return;
	st = db_prep("SELECT seq, url, headers, body FROM hooks WHERE state = ?"
	    " AND next_at <= ? ORDER BY seq LIMIT ?", "sIi", hstate_names[H_PENDING],
	    now_ms(), (int)room);
	while (db_row(st))
		hook_spawn(sqlite3_column_int64(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    (const char *)sqlite3_column_text(st, 2),
		    (const char *)sqlite3_column_text(st, 3));
	db_done(st);
}

/* An attempt ended: delivered, tried again later, or given up. */
static void
hook_done(struct run *r)
{
	char out[HTTP_ERRSZ + 16] = "", t[40], key[24], *at, *sp;
	ssize_t n = read(r->hookfd, out, sizeof(out) - 1);
	long long seq = r->pos, next;
	int status = n > 0 ? atoi(out) : -1, tries, rc;
	const char *err = n > 0 && (sp = strchr(out, ' ')) && sp[1] ? sp + 1 :
	    n > 0 ? "" : "the delivery process died";
	enum hstate state;

	if (n > 0)
		out[n] = '\0';
	at = db_str("SELECT attempts FROM hooks WHERE seq = ?", "I", seq);
	tries = at ? atoi(at) : HOOK_TRIES;
	free(at);
	if (status >= 200 && status < 300)
		state = H_DELIVERED;
	else if ((status == 429 || status >= 500 || (status < 0 &&
	    strncmp(err, "url", 3) && strncmp(err, "https", 5))) &&
	    tries < HOOK_TRIES)	/* a bad url will not get better */
		state = H_PENDING;
	else
		state = H_FAILED;
	next = now_ms() + (1000LL << (tries > 0 ? tries - 1 : 0));
	fmt_rfc3339(now_ms(), t, sizeof(t));
	snprintf(key, sizeof(key), "%lld", seq);
	rc = row_move("hooks", key, hstate_names[state], "status = ?, error = ?,"
	    " next_at = ?, log = coalesce(log, '') || ?", "isIs", status,
	    status < 0 ? err : NULL, next, status < 0 ? (at = xasprintf("%s %s\n",
	    t, err)) : (at = xasprintf("%s %d\n", t, status)));
	free(at);
	if (rc == 0 && state != H_PENDING) {	/* the secrets go once it is over */
		at = hook_secret_path(seq);
		unlink(at);
		free(at);
	}
	logf_(state == H_FAILED ? "warn" : "info", "webhook.attempt",
	    "hook=%lld attempt=%d status=%d state=%s%s%s%s", seq, tries, status,
	    hstate_names[state], status < 0 ? " error=\"" : "", status < 0 ? err : "",
	    status < 0 ? "\"" : "");
}

/* ---- retention */

/*
 * Finished jobs older than --keep go, with their logs, work files and
 * secrets; so do jobs `prune` names.
 */

/*
 * Deletes job id's rows and its subjobs' (inside the caller's
 * transaction), and adds what it leaves on disk (logs, work files,
 * secrets) to files and the ids to ids: those go only once the delete is
 * committed.  Returns 0, or -1 with errmsg.
 */
static int
job_delete(const char *id, struct strlist *files, struct strlist *ids)
{
	struct strlist kids = { 0 };
	sqlite3_stmt *st;
	size_t i;
	int rc = 0;

	/* a detached subjob still running lives on, a job of its own */
	if (db_exec("UPDATE jobs SET parent = NULL, ptask = NULL WHERE parent ="
	    " ? AND state NOT IN (?, ?, ?)", "ssss", id, JFINAL_NAMES) < 0)
		return -1;
	db_strs(&kids, "SELECT id FROM jobs WHERE parent = ?", "s", id);
	for (i = 0; i < kids.n && rc == 0; i++)
		rc = job_delete(kids.v[i], files, ids);
	strlist_free(&kids);
	st = db_prep("SELECT seq FROM hooks WHERE job = ?", "s", id);
	while (db_row(st))
		strlist_add(files, hook_secret_path(sqlite3_column_int64(st, 0)));
	db_done(st);
	if (rc < 0 || st == NULL ||
	    db_exec("DELETE FROM tasks WHERE job = ?", "s", id) < 0 ||
	    db_exec("DELETE FROM jobs WHERE id = ?", "s", id) < 0 ||
	    db_exec("DELETE FROM hooks WHERE job = ?", "s", id) < 0)
		return -1;
	strlist_add(files, home_path("logs/%s", id));
	strlist_add(files, home_path("work/%s", id));
	strlist_add(files, home_path("secrets/%s", id));
	strlist_add(ids, xstrdup(id));
	return 0;
}

/* The final top-level jobs in state (NULL: any) whose `when` is before `before`. */
static void
prune_ids(const char *when, const char *state, long long before,
    struct strlist *ids)
{
	sqlite3_stmt *st;
	char *sql;

	/* by when's index if it has one (+state: not by the states') */
	sql = xasprintf("SELECT id FROM jobs WHERE parent IS NULL AND +state IN"
	    " (?3, ?4, ?5) AND (?1 IS NULL OR +state = ?1) AND %s <= ?2", when);
	st = db ? db_prep(sql, "sIsss", state, before, JFINAL_NAMES) : NULL;
	while (db_row(st))
		strlist_add(ids, col_str(st, 0));
	db_done(st);
	free(sql);
}

/*
 * Deletes the final top-level jobs that match: state (NULL: any final one)
 * and ended (where) before `before` (ms), in one transaction, then their
 * files.  Returns how many, or -1 with errmsg (then none is deleted).
 */
static int
jobs_prune(const char *where, const char *state, long long before)
{
	struct strlist top = { 0 }, files = { 0 }, ids = { 0 };
	size_t i;
	int rc = 0;

	prune_ids(where, state, before, &top);
	if (top.n && db_begin() == 0) {
		for (i = 0; i < top.n && rc == 0; i++)
			rc = job_delete(top.v[i], &files, &ids);
		if (rc < 0)
			db_rollback();
		else
			rc = db_commit();
	} else if (top.n)
		rc = -1;
	for (i = 0; rc == 0 && i < files.n; i++)
		rm_rf(files.v[i]);
	for (i = 0; rc == 0 && i < ids.n; i++) {
		sched_forget(ids.v[i]);
		logf_("info", "job.delete", "job=%s", ids.v[i]);
	}
	rc = rc < 0 ? -1 : (int)top.n;
	strlist_free(&top);
	strlist_free(&files);
	strlist_free(&ids);
	return rc;
}

/* autoDelete: completed jobs whose time is up go (FAILED and CANCELLED stay). */
static void
sched_expire(void)
{
	jobs_prune("delete_at > 0 AND delete_at", jstate_name(J_COMPLETED),
	    now_ms());
}

/* ---- the loop */

/*
 * Whether a daemon holds this home's lock; its pid in *pid if so.  Readers
 * only ever try the lock, so a stale pid file cannot fool them.
 */
static int
daemon_alive(pid_t *pid)
{
	char *path = home_path("run/lock"), *pidp, *s;
	int fd, alive = 0;

	*pid = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		if (flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK)
			alive = 1;
		close(fd);
	}
	free(path);
	if (alive) {
		pidp = home_path("run/daemon.pid");
		if ((s = read_file(pidp, NULL)) != NULL)
			*pid = atoi(s);
		free(s);
		free(pidp);
	}
	return alive;
}

/* Takes the home's lock for good (it is released when the process ends). */
static int
daemon_lock(void)
{
	char *path = home_path("run/lock");
	pid_t other;
	int fd, tries;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		fail("%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	/*
	 * A daemon killed a moment ago may have left a child between fork
	 * and exec (or its death signal), which holds the lock until it
	 * goes: when the pid file names no live process, wait up to 2 s.
	 */
	for (tries = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; tries++) {
		daemon_alive(&other);
		if (tries == 200 || other <= 0 || kill(other, 0) == 0 ||
		    errno != ESRCH) {
			close(fd);
			return fail("a daemon is already running for %s (pid %d)",
			    home, (int)other);
		}
		usleep(10000);
	}
	return 0;
}

static int
daemon_pidfile(void)
{
	char *dir = home_path("run"), pidtext[32];
	int rc;

	snprintf(pidtext, sizeof(pidtext), "%d\n", (int)getpid());
	rc = write_file_atomic(dir, dir, "daemon.pid", pidtext, strlen(pidtext));
	free(dir);
	return rc;
}

/* The home's identity, made once and kept in the database. */
static int
daemon_homeid(void)
{
	char *id = db_str("SELECT value FROM meta WHERE key = 'home_id'", NULL);
	char *dir;
	int rc;

	if (id == NULL) {
		random_hex(homeid, HOMEID_LEN);
		if (db_exec("INSERT INTO meta VALUES('home_id', ?)", "s", homeid) < 0)
			return -1;
	} else
		snprintf(homeid, sizeof(homeid), "%s", id);
	free(id);
	dir = home_path("run");
	rc = write_file_atomic(dir, dir, "home-id", homeid, strlen(homeid));
	free(dir);
	return rc;
}

static int
daemon_setup_signals(void)
{
	struct sigaction sa;

	if (pipe2(sigpipe_, O_CLOEXEC | O_NONBLOCK) < 0)
		return fail("pipe: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* Records what `jobrun status` shows of the daemon in the meta table. */
static int
daemon_meta(const char *key, const char *fmt, ...)
{
	va_list ap;
	char *v;
	int rc;

	va_start(ap, fmt);
	if (vasprintf(&v, fmt, ap) < 0)
		err(EX_ERR, "vasprintf");
	va_end(ap);
	rc = db_exec("INSERT OR REPLACE INTO meta VALUES(?, ?)", "ss", key, v);
	free(v);
	return rc < 0 ? -1 : 0;
}

/* What status shows: who runs, since when, which queues with which caps. */
static void
daemon_announce(void)
{
	struct buf q = { 0 }, eng = { 0 };
	size_t i;

	for (i = 0; i < nqcaps; i++)
		buf_addf(&q, "%s%s:%d", i ? " " : "", qcaps[i].name, qcaps[i].cap);
	/* "WHERE QUEUE" lines: a WHERE has no space, a queue may */
	for (i = 0; i < nqcaps; i++)
		if (qcaps[i].eng)
			buf_addf(&eng, "%s %s\n", engine_name(qcaps[i].eng),
			    qcaps[i].name);
	daemon_meta("engines", "%s", eng.s ? eng.s : "");
	free(eng.s);
	daemon_meta("pid", "%d", (int)getpid());
	daemon_meta("started", "%lld", now_ms());
	daemon_meta("heartbeat", "%lld", now_ms());
	daemon_meta("runtime", "%s", docker_bin);
	daemon_meta("rt", "%s", rt->name);
	daemon_meta("queues", "%s", q.s ? q.s : "");
	daemon_meta("defcap", "%d", defcap);
	daemon_meta("listen", "%s", api_url);
	free(q.s);
}

/*
 * --metrics-file: node_exporter's textfile collector reads every *.prom
 * file of a directory, so the file is replaced whole, never half written,
 * and readable by the exporter's user.
 */
static void
daemon_metrics(int up)
{
	struct buf b = { 0 };
	char *dir = xstrdup(metrics_file), *slash = strrchr(dir, '/'), *tmp;
	const char *base = slash ? slash + 1 : metrics_file;

	if (slash)
		*slash = '\0';
	db_metrics(&b, up);
	tmp = xasprintf("%s/.%s.tmp", slash ? (*dir ? dir : "/") : ".", base);
	unlink(tmp);	/* left by a crash, it would block O_EXCL */
	if (write_file_atomic(slash ? (*dir ? dir : "/") : ".", slash ?
	    (*dir ? dir : "/") : ".", base, b.s, b.len) < 0)
		logf_("error", "metrics.write", "error=\"%s\"", errmsg);
	else
		chmod(metrics_file, 0644);
	free(tmp);
	free(dir);
	free(b.s);
}

/* Logs what the children wrote; pfd[3..] are their pipes, in runs order. */
static void
daemon_output(struct pollfd *pfd, size_t n)
{
	size_t i, k;

	for (i = 3; i < n; i++) {
		if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		for (k = 0; k < nruns && runs[k].out != pfd[i].fd; k++)
			;
		if (k < nruns)
			run_output(&runs[k], 0);
	}
}

/*
 * run/fault says what keeps the daemon from working, for status: it is
 * made at start-up full size (FAULT_SIZE spaces), so that it can be
 * written in place when the disk has no room left.  Blank: nothing.
 */
#define FAULT_SIZE	512
static int fault_fd = -1;

static int
fault_open(void)
{
	char *path = home_path("run/fault"), blank[FAULT_SIZE];

	memset(blank, ' ', sizeof(blank));
	blank[sizeof(blank) - 1] = '\n';
	if ((fault_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) < 0 || pwrite(fault_fd, blank, sizeof(blank), 0) !=
	    (ssize_t)sizeof(blank) || fsync(fault_fd) < 0) {
		fail("%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	return 0;
}

/* Says what (NULL: nothing) in run/fault, in place. */
static void
fault_note(const char *what)
{
	char b[FAULT_SIZE];
	int n = what ? snprintf(b, sizeof(b), "%lld %s", now_ms(), what) : 0;

	if (n < 0 || n >= FAULT_SIZE)
		n = FAULT_SIZE - 1;
	memset(b + n, ' ', sizeof(b) - n);
	b[sizeof(b) - 1] = '\n';
	if (fault_fd >= 0 && pwrite(fault_fd, b, sizeof(b), 0) < 0)
		logf_("warn", "daemon.fault", "error=\"run/fault: %s\"",
		    strerror(errno));
}

/* Forgets every child and cached job, as a crash would: containers run on. */
static void
daemon_forget(void)
{
	size_t i;

	for (i = 0; i < nruns; i++) {
		kill(-runs[i].pid, SIGKILL);
		kill(runs[i].pid, SIGKILL);
	}
	for (i = 0; i < nruns; i++) {
		while (waitpid(runs[i].pid, NULL, 0) < 0 && errno == EINTR)
			;
		run_free(&runs[i]);
	}
	nruns = 0;
	sched_trim(1);
	db_rollback();
	for (i = 0; i < nengines; i++) {
		/* killed unreaped: the reconcile removes theirs */
		engines[i].rm_inflight = 0;
		engines[i].reconciling = 0;
		engines[i].reconcile_at = 0;
		engines[i].pinging = 0;
	}
}

/*
 * The store cannot be written (a full disk, an I/O error), so nothing the
 * daemon would do could be recorded: it forgets what it was doing, says
 * why (its log, run/fault for status), and tries a write every 2 s.  Once
 * one goes through it recovers as a new daemon does: it reconciles its
 * containers, which ran on meanwhile, and takes the spool in again.
 */
static void
daemon_pause(void)
{
	static const char *const kind[] = { [E_FULL] = "full", [E_IO] = "io" };
	static long long since;
	struct pollfd pfd[2] = { { .fd = sigpipe_[0], .events = POLLIN },
		{ .fd = api_fd, .events = POLLIN } };
	char drain[64], *note;
	size_t i;

	if (since == 0) {
		since = now_ms();
		logf_("error", "store.fault", "kind=%s error=\"%s\" paused=yes",
		    kind[db_brokenkind], db_brokenwhy);
		note = xasprintf("the store cannot be written: %s; the daemon "
		    "waits (%s)", db_brokenwhy, db_brokenkind == E_FULL ?
		    "make room on the home's disk" : "check the disk");
		fault_note(note);
		free(note);
		daemon_forget();
	}
	/* the HTTP face answers meanwhile: /ready says why not */
	if (poll(pfd, 2, api_wait(2000)) > 0 && (pfd[0].revents & POLLIN))
		while (read(sigpipe_[0], drain, sizeof(drain)) > 0)
			;
	api_run();
	if (got_term)
		return;
	db_broken = 0;
	if (daemon_meta("heartbeat", "%lld", now_ms()) < 0 || db_broken) {
		db_broken = 1;
		return;
	}
	logf_("info", "store.ok", "paused=%llds", (now_ms() - since) / 1000);
	since = 0;
	fault_note(NULL);
	/* a delivery cut short is tried again, as at start-up */
	db_exec("UPDATE hooks SET state = ? WHERE state = ?", "ss",
	    hstate_names[H_PENDING], hstate_names[H_SENDING]);
	for (i = 0; i < nengines; i++)
		if (!engines[i].down)
			sched_recover(i);
}

/* The loop: ingest, start, wait, log, reap, time out; until SIGTERM or SIGINT. */
static void
daemon_loop(int ino)
{
	struct pollfd *pfd = NULL;
	long long last_scan = 0, last_beat = 0, last_prog = 0, last_metrics = 0;
	long long last_expire = 0;
	int dirty = 1, status;
	char drain[4096];
	size_t n, i;
	pid_t pid;

	while (!got_term) {
		sched_trim(0);	/* no parsed job is held across turns */
		if (db_broken) {
			daemon_pause();
			dirty = 1;
			continue;
		}
		if (dirty || mono_ms() - last_scan >= 1000) {
			spool_ingest();
			api_spooled = 0;	/* the store counts them now */
			last_scan = mono_ms();
			dirty = 0;
		}
		if (log_notes.n)
			log_notes_flush();
		sched_due();
		sched_cron();
		sched_tick();
		sched_hooks();
		pfd = xreallocarray(pfd, nruns + 3, sizeof(*pfd));
		pfd[0].fd = sigpipe_[0];
		pfd[1].fd = ino;
		pfd[2].fd = api_fd;
		for (i = 0, n = 3; i < nruns; i++)
			if (runs[i].out >= 0)
				pfd[n++].fd = runs[i].out;
		for (i = 0; i < n; i++) {
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		if (poll(pfd, n, api_wait(sched_wait_ms())) < 0 && errno != EINTR)
			err(EX_ERR, "poll");
		if (pfd[0].revents & POLLIN)
			while (read(sigpipe_[0], drain, sizeof(drain)) > 0)
				;
		if (ino >= 0 && (pfd[1].revents & POLLIN)) {
			while (read(ino, drain, sizeof(drain)) > 0)
				;
			dirty = 1;
		}
		api_run();
		daemon_output(pfd, n);
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			sched_reap(pid, status);
		rm_flush(0);
		sched_timeouts();
		if (mono_ms() - last_prog >= 1000) {
			sched_progress();
			last_prog = mono_ms();
		}
		if (mono_ms() - last_beat >= 2000) {
			/* not worth a wait: the next one may get through */
			db_soft = 1;
			sqlite3_busy_timeout(db, 0);
			if (daemon_meta("heartbeat", "%lld", now_ms()) < 0)
				logf_("warn", "daemon.heartbeat", "error=\"%s\"",
				    errmsg);
			sqlite3_busy_timeout(db, DB_BUSY_MS);
			db_soft = 0;
			last_beat = mono_ms();
		}
		if (mono_ms() - last_expire >= 5000) {
			sched_expire();
			last_expire = mono_ms();
		}
		if (metrics_file && mono_ms() - last_metrics >= 5000) {
			daemon_metrics(1);
			last_metrics = mono_ms();
		}
	}
	free(pfd);
}

/* ------------------------------------------------------------ commands -- */

static int
usage_error(const char *verb, const char *fmt, ...);
static int opt_next(int, char *[]);

/*
 * The command line of a verb that takes --json and no operand: 0, or the
 * usage error's exit status.
 */
static int
args_json(const char *name, int argc, char *argv[], int *json)
{
	int c;

	*json = 0;
	while ((c = opt_next(argc, argv)) != -1)
		if (c == 'j')
			*json = 1;
		else
			return usage_error(name, NULL);
	if (optind != argc)
		return usage_error(name, "unexpected argument '%s'", argv[optind]);
	return 0;
}

/* A --json list (b holds "[" and its members): closes it and prints it. */
static int
json_list_print(struct buf *b, int json)
{
	if (json) {
		json_end(b, ']');
		puts(b->s);
		free(b->s);
	}
	return EX_OK;
}

/* Opens the store read-only for a command; exits on failure. */
static void
open_store(void)
{
	if (db == NULL && db_open(0) < 0)
		errx(EX_ERR, "%s", errmsg);
}

/* A job still in the spool, as a row: PENDING, its tasks CREATED. */
static int
spool_jobrow(const char *name, struct jobrow *r, struct job **jp)
{
	struct env e;
	struct job *j;
	char *text = NULL;

	memset(r, 0, sizeof(*r));
	r->progress = -1;
	*jp = NULL;
	if (strstr(name, ".job") == NULL || spool_read(name, &e, &text) < 0)
		return 0;
	j = spool_job_of(&e, NULL);
	r->id = xstrdup(e.id);
	r->name = j && j->name ? xstrdup(j->name) : NULL;
	r->description = j && j->description ? xstrdup(j->description) : NULL;
	r->state = xstrdup(jstate_name(e.due > now_ms() ? J_SCHEDULED : J_PENDING));
	r->created = e.created;
	r->due = e.due;
	r->ntasks = j ? (int)j->ntasks : 0;
	r->envelope = text;
	env_free(&e);
	*jp = j;
	return 1;
}

/*
 * Resolves an id or unique prefix, in the store and the spool.  Returns 0
 * with the full id in out, or prints why not and returns EX_NOJOB.
 */
static int
resolve_id(const char *prefix, char out[ID_LEN + 1])
{
	struct strlist found = { 0 }, names;
	sqlite3_stmt *st;
	size_t i, plen = strlen(prefix);
	int rc = EX_NOJOB, retried = 0;
	char hi[ID_LEN + 2];

	if (!is_hex(prefix) || plen > ID_LEN) {
		warnx("'%s' is not a job id (ids are %d lowercase hex digits; "
		    "any unique prefix will do)", prefix, ID_LEN);
		return EX_NOJOB;
	}
	/* every id with this prefix sorts in [prefix, prefix + "g") */
	snprintf(hi, sizeof(hi), "%sg", prefix);
again:
	if (db && (st = db_prep("SELECT id FROM jobs WHERE id >= ? AND id < ?"
	    " ORDER BY id LIMIT 5", "ss", prefix, hi)) != NULL) {
		while (db_row(st))
			strlist_add(&found, col_str(st, 0));
		db_done(st);
	}
	spool_list(&names);
	for (i = 0; i < names.n; i++) {
		char *id = strchr(names.v[i], '-');

		if (id && strstr(names.v[i], ".job") && strncmp(id + 1, prefix,
		    plen) == 0 && found.n < 5) {
			char *full = xasprintf("%.*s", ID_LEN, id + 1);
			size_t k;

			for (k = 0; k < found.n && strcmp(found.v[k], full); k++)
				;
			if (k == found.n)
				strlist_add(&found, full);
			else
				free(full);
		}
	}
	strlist_free(&names);
	/* Ingested between the two looks?  The store has it now. */
	if (found.n == 0 && !retried++) {
		if (db == NULL)
			db_open(0);
		goto again;
	}
	if (found.n == 1) {
		snprintf(out, ID_LEN + 1, "%s", found.v[0]);
		rc = 0;
	} else if (found.n == 0)
		warnx("no job matches '%s'", prefix);
	else {
		struct buf b = { 0 };

		for (i = 0; i < found.n; i++)
			buf_addf(&b, "%s%s", i ? ", " : "", found.v[i]);
		warnx("'%s' matches more than one job: %s%s", prefix, b.s,
		    found.n >= 5 ? ", ..." : "");
		free(b.s);
	}
	strlist_free(&found);
	return rc;
}

/* The job's row from the store, or from the spool if not ingested yet. */
static int
load_job(const char *id, struct jobrow *r)
{
	struct strlist names;
	struct job *j = NULL;
	size_t i;
	int found;

	if (db_job(id, r))
		return 1;
	spool_list(&names);
	for (i = 0, found = 0; i < names.n && !found; i++)
		if (strstr(names.v[i], id))
			found = spool_jobrow(names.v[i], r, &j);
	spec_free(j);
	strlist_free(&names);
	/*
	 * The daemon may have ingested it between the two looks: it commits
	 * before it unlinks, so the store has it now.
	 */
	if (!found && db == NULL && db_open(0) < 0)
		return 0;
	return found || db_job(id, r);
}

/* The state of a job now: from the store, PENDING while spooled, NULL if gone. */
static char *
job_state_now(const char *id)
{
	struct jobrow r;
	char *s;

	if (db == NULL && db_open(0) < 0)
		errx(EX_ERR, "%s", errmsg);
	if (!load_job(id, &r))
		return NULL;
	s = r.state;
	r.state = NULL;
	jobrow_free(&r);
	return s;
}

/*
 * Blocks until every job is final, or for at most timeout_ms when that is
 * not negative; returns the exit status of the worst, EX_ERR on timeout.
 */
static int
wait_jobs(char ids[][ID_LEN + 1], size_t n, long long timeout_ms)
{
	long long until = mono_ms() + timeout_ms;
	int worst = EX_OK, code;
	size_t i = 0;
	char *s;

	while (i < n) {
		if (timeout_ms >= 0 && mono_ms() >= until) {
			warnx("job %s has not ended after %lldms; it goes on", ids[i],
			    timeout_ms);
			return EX_ERR;
		}
		if ((s = job_state_now(ids[i])) == NULL)
			errx(EX_NOJOB, "job %s has disappeared", ids[i]);
		if (!jstate_final(s)) {
			free(s);
			usleep(100 * 1000);
			continue;
		}
		code = exit_for_state(s);
		if (code == EX_FAILED || (code == EX_CANCELLED && worst == EX_OK))
			worst = code;
		free(s);
		i++;
	}
	return worst;
}

static void
warn_no_daemon(const char *what)
{
	pid_t pid;

	if (!daemon_alive(&pid))
		warnx("no daemon is running for %s; %s until 'jobrun daemon' starts",
		    home, what);
}

/* A job's webhook deliveries, for show. */
static void
print_hooks(const char *id)
{
	sqlite3_stmt *st = db ? db_prep("SELECT " HOOK_COLS " FROM hooks WHERE"
	    " job = ? ORDER BY seq", "s", id) : NULL;
	int first = 1;

	while (db_row(st)) {
		if (first)
			printf("\nwebhooks:\n");
		first = 0;
		printf("  %-18s  %-4s  %-9s  %d attempt%s, last %s  %s\n",
		    sqlite3_column_text(st, 1), sqlite3_column_int(st, 2) ?
		    (const char *)sqlite3_column_text(st, 2) : "-",
		    sqlite3_column_text(st, 4), sqlite3_column_int(st, 5),
		    sqlite3_column_int(st, 5) == 1 ? "" : "s",
		    sqlite3_column_type(st, 6) == SQLITE_NULL ? "-" :
		    sqlite3_column_text(st, 7) ? (const char *)sqlite3_column_text(st,
		    7) : (const char *)sqlite3_column_text(st, 6),
		    sqlite3_column_text(st, 3));
	}
	db_done(st);
}

/* show --json of one job, to stdout. */
static void
print_job_json(const char *id)
{
	struct jobrow r;
	struct taskrow *t = NULL;
	struct buf b = { 0 };
	size_t n = 0, i;

	if (!load_job(id, &r))
		errx(EX_NOJOB, "no job matches '%s'", id);
	n = db_tasks(id, &t);
	json_job(&b, &r, t, n);
	puts(b.s);
	for (i = 0; i < n; i++)
		taskrow_free(&t[i]);
	free(t);
	free(b.s);
	jobrow_free(&r);
}

/* ---- submit */

/* Parses NAME=VALUE into l; returns -1 for a malformed one. */
static int
parse_input(struct kvlist *l, const char *s)
{
	const char *eq = strchr(s, '=');
	char *k;

	if (eq == NULL || eq == s)
		return -1;
	k = xasprintf("%.*s", (int)(eq - s), s);
	kv_set(l, k, eq + 1);
	free(k);
	return 0;
}

/*
 * submit --at: HH:MM (the next such time, local), or an ISO 8601 date and
 * time, local unless it ends in Z.  Returns ms since the epoch, or -1.
 */
static long long
parse_at(const char *s)
{
	static const char *fmts[] = { "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
		"%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", NULL };
	time_t now = time(NULL), t;
	struct tm tm;
	const char *end = NULL;
	size_t i;

	localtime_r(&now, &tm);
	if ((end = strptime(s, "%H:%M", &tm)) != NULL && *end == '\0' &&
	    strlen(s) <= 5) {
		tm.tm_sec = 0;
		tm.tm_isdst = -1;
		if ((t = mktime(&tm)) <= now)
			tm.tm_mday++, tm.tm_isdst = -1, t = mktime(&tm);
		return (long long)t * 1000;
	}
	for (i = 0; fmts[i]; i++) {
		memset(&tm, 0, sizeof(tm));
		if ((end = strptime(s, fmts[i], &tm)) == NULL)
			continue;
		if (strcmp(end, "Z") == 0)
			return (long long)timegm(&tm) * 1000;
		if (*end == '\0') {
			tm.tm_isdst = -1;
			return (long long)mktime(&tm) * 1000;
		}
	}
	return -1;
}

/*
 * A job of the same name and inputs that is still pending or running, in
 * the store or in the spool: a unique job's twin.  Its id goes to out.
 */
static int
submit_twin(const struct job *j, char out[ID_LEN + 1])
{
	struct strlist names = { 0 };
	struct buf in = { 0 }, sin;
	struct jobrow r;
	struct job *sj;
	char *id = NULL;
	size_t i;
	int own = db == NULL;	/* a command's, or the daemon's store */

	inputs_json(&in, &j->inputs);
	if (own == 0 || (db_open(0) == 0 && db)) {
		id = db_str("SELECT id FROM jobs WHERE name IS ? AND inputs = ? AND"
		    " parent IS NULL AND state NOT IN (?, ?, ?) ORDER BY seq"
		    " LIMIT 1", "sssss", j->name, in.s, JFINAL_NAMES);
		if (own)
			db_close();
	}
	spool_list(&names);
	for (i = 0; id == NULL && i < names.n; i++) {
		if (!spool_jobrow(names.v[i], &r, &sj))
			continue;
		memset(&sin, 0, sizeof(sin));
		if (sj)
			inputs_json(&sin, &sj->inputs);
		if (sj && ((j->name == NULL && sj->name == NULL) || (j->name &&
		    sj->name && strcmp(j->name, sj->name) == 0)) &&
		    strcmp(in.s, sin.s) == 0)
			id = xstrdup(r.id);
		free(sin.s);
		spec_free(sj);
		jobrow_free(&r);
	}
	strlist_free(&names);
	free(in.s);
	if (id)
		snprintf(out, ID_LEN + 1, "%s", id);
	free(id);
	return id != NULL;
}

/*
 * A schedule's twin: one of the same name and cron expression, in the
 * store (active or paused) or still in the spool.  Its id goes to out.
 */
static int
schedule_twin(const struct job *j, char out[ID_LEN + 1])
{
	struct strlist names = { 0 };
	struct job *sj;
	struct env e;
	char *id = NULL, *text;
	size_t i;
	int own = db == NULL;	/* a command's, or the daemon's store */

	if (own == 0 || (db_open(0) == 0 && db)) {
		id = db_str("SELECT id FROM schedules WHERE name IS ? AND cron = ?"
		    " ORDER BY seq LIMIT 1", "ss", j->name, j->cron);
		if (own)
			db_close();
	}
	spool_list(&names);
	for (i = 0; id == NULL && i < names.n; i++) {
		text = NULL;
		if (strstr(names.v[i], ".sched") == NULL ||
		    spool_read(names.v[i], &e, &text) < 0) {
			free(text);
			continue;
		}
		if ((sj = spool_job_of(&e, NULL)) != NULL && strcmp(e.cron, j->cron) == 0 &&
		    ((!j->name && !sj->name) || (j->name && sj->name &&
		    strcmp(j->name, sj->name) == 0)))
			id = xstrdup(e.id);
		spec_free(sj);
		env_free(&e);
		free(text);
	}
	strlist_free(&names);
	if (id)
		snprintf(out, ID_LEN + 1, "%s", id);
	free(id);
	return id != NULL;
}

/*
 * Serialises unique submits, so that two at once cannot both find no twin.
 * The daemon (nowait) does not wait for it: EWOULDBLOCK, and it says busy.
 */
static int
submit_lock(int nowait)
{
	char *dir = home_path("run"), *path = home_path("run/submit.lock");
	int fd;

	mkdir_p(dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    flock(fd, LOCK_EX | (nowait ? LOCK_NB : 0)) < 0) {
		if (fd >= 0)
			close(fd);
		fd = fail("%s: %s", path, strerror(errno));
	}
	free(dir);
	free(path);
	return fd;
}

/* What submit's command line asks for. */
struct subopt {
	int wait, json, unique;
	long long due;
	const char *cron, *file;
	struct kvlist inputs;		/* -i NAME=VALUE */
};

/* Fills o from the command line; returns 0, or the usage error's status. */
static int
submit_args(int argc, char *argv[], struct subopt *o)
{
	const char *why;
	struct cron cr;
	long long ms;
	int c;

	while ((c = opt_next(argc, argv)) != -1)
		switch (c) {
		case 'u': o->unique = 1; break;
		case 'w': o->wait = 1; break;
		case 'j': o->json = 1; break;
		case 'c':
			if (cron_parse(optarg, &cr, &why) < 0)
				return usage_error("submit", "--cron: invalid "
				    "expression '%s': %s", optarg, why);
			if (cron_next(&cr, now_ms()) < 0)
				return usage_error("submit", "--cron: '%s' never "
				    "fires (no such time in the next five years)",
				    optarg);
			o->cron = optarg;
			break;
		case 'i':
			if (parse_input(&o->inputs, optarg) < 0)
				return usage_error("submit", "-i takes NAME=VALUE, "
				    "not '%s'", optarg);
			break;
		case 'A':
			if ((o->due = parse_at(optarg)) < 0)
				return usage_error("submit", "--at takes HH:MM or "
				    "YYYY-MM-DDTHH:MM[:SS][Z], not '%s'", optarg);
			break;
		case 'I':
			if (units_duration(optarg, &ms, &why) < 0)
				return usage_error("submit", "--in takes a duration "
				    "such as 90s or 2h, not '%s' (%s)", optarg, why);
			o->due = now_ms() + ms;
			break;
		default:
			return usage_error("submit", NULL);
		}
	if (argc - optind != 1)
		return usage_error("submit", "expected one job file (or - for "
		    "standard input)");
	o->file = argv[optind];
	return 0;
}

/*
 * Spools a parsed job, unless it is unique and has a twin: then prints
 * the twin's id and returns EX_DUPLICATE.  The lock keeps two unique
 * submits from both finding no twin.
 */
static int
submit_spool(struct job *j, const struct subopt *o, const char *text,
    size_t len)
{
	char twin[ID_LEN + 1];
	int lock = -1;

	if ((o->unique || j->unique) && (lock = submit_lock(0)) < 0)
		errx(EX_ERR, "%s", errmsg);
	if (lock >= 0 && (j->cron ? schedule_twin(j, twin) : submit_twin(j, twin))) {
		if (o->json)
			printf("{\"id\":\"%s\",\"duplicate\":true}\n", twin);
		else
			printf("%s\n", twin);
		if (j->cron)
			warnx("schedule %s has the same name and cron expression; "
			    "not submitted", twin);
		else
			warnx("job %s of the same name and inputs is still pending "
			    "or running; not submitted", twin);
		close(lock);
		return EX_DUPLICATE;
	}
	if (spool_job(j, text, len, &o->inputs) < 0)
		errx(EX_ERR, "cannot spool the job: %s", errmsg);
	if (lock >= 0)
		close(lock);
	return EX_OK;
}

static int
cmd_submit(int argc, char *argv[])
{
	struct subopt o = { 0 };
	struct job *j = NULL;
	char *text = NULL, *errs, ids[1][ID_LEN + 1];
	size_t len;
	int rc;

	if ((rc = submit_args(argc, argv, &o)) != 0)
		goto out;
	rc = EX_INVALID;
	policy_load();
	if ((text = read_file_max(o.file, pol.max_job, &len)) == NULL) {
		char lim[UNITS_BUFSZ];

		if (errno == EFBIG)
			warnx("%s: the job file is over the %s limit that the daemon "
			    "sets (jobrun daemon --max-job-size)", o.file,
			    units_fmt_size(pol.max_job, lim, sizeof(lim)));
		else
			warnx("%s", errmsg);
		goto out;
	}
	if ((j = spec_parse(strcmp(o.file, "-") == 0 ? "<stdin>" : o.file, text,
	    len, &o.inputs, &pol, &errs)) == NULL) {
		fputs(errs, stderr);
		free(errs);
		goto out;
	}
	/* What the daemon will store: if it cannot be made, say so now. */
	if ((errs = spec_store_text(text, len, j)) == NULL) {
		warnx("%s: %s", o.file, errmsg);
		goto out;
	}
	free(errs);
	if (o.cron) {
		free(j->cron);
		j->cron = xstrdup(o.cron);
	}
	if (j->cron && (o.wait || o.due)) {
		rc = usage_error("submit", "a schedule (--cron or schedule:) runs "
		    "at its firings: it takes no --wait, --at or --in");
		goto out;
	}
	random_hex(j->id, ID_LEN);
	j->created = now_ms();
	j->due = o.due > j->created ? o.due : 0;
	if (j->wait_ms >= 0 && !o.wait && !j->cron)
		o.wait = 2;	/* the job file's wait: {timeout} */
	if ((rc = submit_spool(j, &o, text, len)) != EX_OK)
		goto out;
	if (!o.json || !o.wait) {
		printf(o.json ? "{\"id\":\"%s\"}\n" : "%s\n", j->id);
		fflush(stdout);
	}
	warn_no_daemon("the job waits in the spool");
	if (o.wait) {
		memcpy(ids[0], j->id, sizeof(ids[0]));
		rc = wait_jobs(ids, 1, o.wait == 1 ? -1 : j->wait_ms);
		if (o.json)
			print_job_json(j->id);
	}
out:
	spec_free(j);
	free(text);
	kv_free(&o.inputs);
	return rc;
}

/* ---- ls, show, logs */

/* "40%", "40% copying part 2" or "copying part 2": a job's progress, short. */
static char *
fmt_progress(const struct jobrow *r, char *out, size_t n)
{
	char pct[16] = "";
	int num = r->pmsg && r->pmsg[strspn(r->pmsg, "0123456789.")] == '\0';

	/* a task that only sends messages says nothing about a percentage */
	if (r->progress > 0 || (r->progress == 0 && (r->pmsg == NULL || num)))
		snprintf(pct, sizeof(pct), "%.0f%%", r->progress);
	snprintf(out, n, "%s%s%.40s", pct, *pct && r->pmsg && !num ? " " : "",
	    r->pmsg && !num ? r->pmsg : "");
	return out;
}

static void
print_ls_row(const struct jobrow *r)
{
	char t[32], tasks[32], p[64];

	snprintf(tasks, sizeof(tasks), "%d/%d", r->ndone, r->ntasks);
	printf("%-12s  %-24.24s  %-9s  %-5s  %-19s", r->id, r->name ? r->name : "-",
	    r->state, tasks, fmt_local(r->created, t, sizeof(t)));
	if (r->progress >= 0 || r->pmsg)
		printf("  %s", fmt_progress(r, p, sizeof(p)));
	putchar('\n');
}

static void
ls_emit(struct buf *b, int json, const struct jobrow *r)
{
	if (json) {
		json_job(b, r, NULL, 0);
		buf_add(b, ",");
	} else
		print_ls_row(r);
}

static int
cmd_ls(int argc, char *argv[])
{
	struct strlist names;
	struct jobrow r;
	struct buf b = { 0 };
	sqlite3_stmt *st;
	long limit = -1, shown = 0;
	size_t i;
	int c, json = 0;
	char *end;

	while ((c = opt_next(argc, argv)) != -1)
		switch (c) {
		case 'j': json = 1; break;
		case 'n':
			limit = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end || limit < 0)
				return usage_error("ls", "-n takes a count, not '%s'",
				    optarg);
			break;
		default:
			return usage_error("ls", NULL);
		}
	if (optind != argc)
		return usage_error("ls", "unexpected argument '%s'", argv[optind]);
	open_store();
	if (json)
		buf_add(&b, "[");
	else
		printf("%-12s  %-24s  %-9s  %-5s  %-19s  %s\n", "ID", "NAME", "STATE",
		    "TASKS", "CREATED", "PROGRESS");
	/* Spooled jobs are the newest of all. */
	spool_list(&names);
	for (i = names.n; i-- > 0 && (limit < 0 || shown < limit); ) {
		struct job *j;

		if (!spool_jobrow(names.v[i], &r, &j))
			continue;
		if (db && db_str("SELECT id FROM jobs WHERE id = ?", "s", r.id)) {
			jobrow_free(&r);	/* ingested meanwhile */
			spec_free(j);
			continue;
		}
		ls_emit(&b, json, &r);
		shown++;
		jobrow_free(&r);
		spec_free(j);
	}
	strlist_free(&names);
	st = db ? db_jobs("ORDER BY seq DESC LIMIT ?1", "I", limit < 0 ? -1 :
	    limit - shown) : NULL;
	while (db_row(st)) {
		jobrow_read(st, &r);
		ls_emit(&b, json, &r);
		jobrow_free(&r);
	}
	db_done(st);
	return json_list_print(&b, json);
}

static void
print_show(const struct jobrow *r, const struct taskrow *t, size_t n)
{
	char a[32], d[32], pg[64], *imp;
	size_t i;

	printf("id:         %s\n", r->id);
	printf("name:       %s\n", r->name ? r->name : "-");
	if (r->parent)
		printf("parent:     %s\n", r->parent);
	if (r->schedule)
		printf("schedule:   %s\n", r->schedule);
	if (db && (imp = db_str("SELECT imported FROM jobs WHERE id = ?", "s",
	    r->id)) != NULL) {
		printf("imported:   %s (an exported job; it does not run here)\n",
		    fmt_local(atoll(imp), a, sizeof(a)));
		free(imp);
	}
	if (r->description)
		printf("description: %s\n", r->description);
	printf("state:      %s\n", r->state);
	printf("created:    %s\n", fmt_local(r->created, a, sizeof(a)));
	if (r->due)
		printf("due:        %s\n", fmt_local(r->due, a, sizeof(a)));
	if (r->started)
		printf("started:    %s\n", fmt_local(r->started, a, sizeof(a)));
	if (r->completed)
		printf("completed:  %s (%s)\n", fmt_local(r->completed, a, sizeof(a)),
		    units_fmt_duration(r->completed - (r->started ? r->started :
		    r->created), d, sizeof(d)));
	if (r->error)
		printf("error:      %s\n", r->error);
	if (r->result)
		printf("result:     %s\n", r->result);
	if (r->progress >= 0 || r->pmsg)
		printf("progress:   %s\n", fmt_progress(r, pg, sizeof(pg)));
	printf("tasks:      %d/%d completed\n\n", r->ndone, r->ntasks);
	if (n == 0)
		return;
	printf("%3s  %-20s  %-9s  %-10s  %7s  %4s  %7s  %s\n", "#", "NAME", "STATE",
	    "QUEUE", "ATTEMPT", "EXIT", "TIME", "RESULT");
	for (i = 0; i < n; i++) {
		char ex[16] = "-", tm[32] = "-", res[48] = "", nm[64];
		size_t k;

		if (t[i].has_exit)
			snprintf(ex, sizeof(ex), "%d", t[i].exit_code);
		if (t[i].started)
			units_fmt_duration((t[i].completed ? t[i].completed :
			    now_ms()) - t[i].started, tm, sizeof(tm));
		if (t[i].subjob && !t[i].result)
			snprintf(res, sizeof(res), "subjob %s", t[i].subjob);
		else
			snprintf(res, sizeof(res), "%s", t[i].result ? t[i].result : "");
		for (k = 0; res[k]; k++)
			if (res[k] == '\n' || res[k] == '\t')
				res[k] = ' ';
		snprintf(nm, sizeof(nm), "%s%s", t[i].parent ? "  " : "",
		    t[i].name ? t[i].name : "-");
		printf("%3d  %-20.20s  %-9s  %-10.10s  %7d  %4s  %7s  %s\n", t[i].pos,
		    nm, t[i].state, t[i].queue ? t[i].queue : "", t[i].attempt, ex,
		    tm, res);
	}
	print_hooks(r->id);
	for (i = 0; i < n; i++)
		if (t[i].progress)
			printf("\ntask %d progress: %s (%s)", t[i].pos, t[i].progress,
			    fmt_local(t[i].progress_at, a, sizeof(a)));
	for (i = 0; i < n; i++)
		if (t[i].error)
			printf("\ntask %d error: %s", t[i].pos, t[i].error);
	for (i = 0; i < n; i++)
		if (t[i].log_error)
			printf("\ntask %d log: %s", t[i].pos, t[i].log_error);
	for (i = 0; i < n; i++)
		if (t[i].error || t[i].progress || t[i].log_error) {
			putchar('\n');
			break;
		}
}

static int show_schedule(const char *, int);

static int
cmd_show(int argc, char *argv[])
{
	struct jobrow r;
	struct taskrow *t;
	char id[ID_LEN + 1], *sid;
	size_t n, i;
	int c, json = 0, rc;

	while ((c = opt_next(argc, argv)) != -1)
		switch (c) {
		case 'j': json = 1; break;
		default: return usage_error("show", NULL);
		}
	if (argc - optind != 1)
		return usage_error("show", "expected one job id");
	open_store();
	if (db && is_hex(argv[optind]) && (sid = db_str("SELECT id FROM schedules"
	    " WHERE id LIKE ?1 || '%' AND (SELECT count(*) FROM schedules WHERE id"
	    " LIKE ?1 || '%') = 1 AND NOT EXISTS (SELECT 1 FROM jobs WHERE id LIKE"
	    " ?1 || '%')", "s", argv[optind])) != NULL) {
		show_schedule(sid, json);
		free(sid);
		return EX_OK;
	}
	if ((rc = resolve_id(argv[optind], id)) != 0)
		return rc;
	if (json) {
		print_job_json(id);
		return EX_OK;
	}
	if (!load_job(id, &r))
		errx(EX_NOJOB, "no job matches '%s'", id);
	n = db_tasks(id, &t);
	print_show(&r, t, n);
	for (i = 0; i < n; i++)
		taskrow_free(&t[i]);
	free(t);
	jobrow_free(&r);
	return EX_OK;
}

/*
 * Copies a task's log from *off to stdout; returns whether anything was
 * copied.  A log that does not exist yet is empty.
 */
static int log_wrote, log_nl = 1;	/* anything printed; ending in '\n' */

static int
log_copy(const char *id, int pos, off_t *off)
{
	char *path = home_path("logs/%s/%d.log", id, pos), chunk[65536];
	ssize_t n;
	int fd, any = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		while ((n = pread(fd, chunk, sizeof(chunk), *off)) > 0) {
			fwrite(chunk, 1, n, stdout);
			*off += n;
			log_wrote = 1;
			log_nl = chunk[n - 1] == '\n';
			any = 1;
		}
		close(fd);
	}
	free(path);
	fflush(stdout);
	return any;
}

static int
task_final(const char *state)
{
	return state_parse(tstate_names, state) >= 0 &&
	    (TFINAL & SB(state_parse(tstate_names, state)));
}

/* Whether the job is over, so that a task not yet started never will be. */
static int
job_over(const char *id)
{
	char *s = job_state_now(id);
	int over = s == NULL || jstate_final(s);

	free(s);
	return over;
}

/* Shows one task's log; with follow, until the task is done with it. */
static void
log_task(const char *id, const struct taskrow *t, int header, int follow)
{
	off_t off = 0;
	char *state;
	int done;

	/* Headers as tail(1) prints them: a blank line between logs. */
	if (header) {
		printf("%s%s==> %d %s <==\n", log_nl ? "" : "\n", log_wrote ?
		    "\n" : "", t->pos, t->name ? t->name : "");
		log_wrote = 1;
		log_nl = 1;
	}
	for (;;) {
		/* The state first: whatever was logged before it is in the file. */
		state = db ? db_str("SELECT state FROM tasks WHERE job = ? AND"
		    " pos = ?", "si", id, t->pos) : NULL;
		log_copy(id, t->pos, &off);
		done = !follow || (state && task_final(state)) ||
		    ((state_parse(tstate_names, state) == T_CREATED ||
		    state_parse(tstate_names, state) == T_PENDING) && job_over(id));
		free(state);
		if (done)
			break;
		usleep(200 * 1000);
	}
}

static int
cmd_logs(int argc, char *argv[])
{
	struct taskrow *t = NULL;
	char id[ID_LEN + 1], *end;
	size_t n, i, with = 0;
	long want = 0;
	int c, follow = 0, rc;

	while ((c = opt_next(argc, argv)) != -1)
		switch (c) {
		case 'f': follow = 1; break;
		default: return usage_error("logs", NULL);
		}
	if (argc - optind < 1 || argc - optind > 2)
		return usage_error("logs", "expected a job id and at most one task");
	open_store();
	if ((rc = resolve_id(argv[optind], id)) != 0)
		return rc;
	/* A job still in the spool has no task rows yet: wait for them. */
	while ((n = db_tasks(id, &t)) == 0 && follow && !job_over(id)) {
		usleep(200 * 1000);
		if (db == NULL)
			db_open(0);
	}
	if (argc - optind == 2) {
		const char *sel = argv[optind + 1];

		want = strtol(sel, &end, 10);
		for (i = 0; i < n; i++)
			if ((*end == '\0' && t[i].pos == want) ||
			    (t[i].name && strcmp(t[i].name, sel) == 0))
				break;
		if (i == n) {
			warnx("job %s has no task '%s' (give a position from 1 to "
			    "%zu, or a name)", id, sel, n);
			rc = EX_NOJOB;
		} else
			log_task(id, &t[i], 0, follow);
	} else {
		for (i = 0; i < n; i++) {
			char *p = home_path("logs/%s/%d.log", id, t[i].pos);

			with += access(p, F_OK) == 0;
			free(p);
		}
		for (i = 0; i < n; i++) {
			char *p = home_path("logs/%s/%d.log", id, t[i].pos);
			int has = access(p, F_OK) == 0;

			free(p);
			if (has || follow)
				log_task(id, &t[i], with > 1 || (follow && n > 1),
				    follow);
		}
	}
	for (i = 0; i < n; i++)
		taskrow_free(&t[i]);
	free(t);
	return rc;
}

static int request_check(const char *, const char *);

/* ---- cancel, stop, restart, wait */

/*
 * The engines of job id's queues, each once (NULL: the CLI's own), from
 * the "WHERE QUEUE" lines daemon -q Q:N@WHERE left in meta.
 */
static void
stop_engines(const char *id, struct strlist *where)
{
	char *map = db_str("SELECT value FROM meta WHERE key = 'engines'", NULL);
	char *line, *save, *sp;
	struct kvlist qe = { 0 };
	struct strlist qs = { 0 };
	const char *w;
	size_t i, k;

	for (line = map ? strtok_r(map, "\n", &save) : NULL; line; line =
	    strtok_r(NULL, "\n", &save))
		if ((sp = strchr(line, ' ')) != NULL) {
			*sp = '\0';
			kv_set(&qe, sp + 1, line);
		}
	db_strs(&qs, "SELECT DISTINCT coalesce(queue, '') FROM tasks WHERE"
	    " job = ?", "s", id);
	for (i = 0; i < qs.n; i++) {
		w = kv_get(&qe, qs.v[i]);
		for (k = 0; k < where->n; k++)
			if (w ? where->v[k] && strcmp(where->v[k], w) == 0 :
			    where->v[k] == NULL)
				break;
		if (k == where->n)
			strlist_add(where, w ? xstrdup(w) : NULL);
	}
	if (where->n == 0)
		strlist_add(where, NULL);
	strlist_free(&qs);
	kv_free(&qe);
	free(map);
}

/* stop returns once the job's containers are gone, as docker stop does. */
static int
stop_wait(const char *id, long long until)
{
	static char *daemon_cli;
	char *hid = home_path("run/home-id"), *h = read_file(hid, NULL), *out;
	char *name;
	struct strlist a, where = { 0 };
	size_t e;
	int gone = 0;

	snprintf(homeid, sizeof(homeid), "%s", h ? h : "");
	/* the daemon's runtime and CLI, not this command's defaults, read
	 * once: docker_bin keeps pointing at daemon_cli until the verb ends */
	if (daemon_cli == NULL) {
		name = db_str("SELECT value FROM meta WHERE key = 'rt'", NULL);
		daemon_cli = db_str("SELECT value FROM meta WHERE key = 'runtime'",
		    NULL);
		if (name && rt_select(name) == 0 && daemon_cli &&
		    !getenv("JOBRUN_DOCKER"))
			docker_bin = daemon_cli;
		free(name);
	}
	stop_engines(id, &where);
	rt->list(id, &a);
	while (!gone && mono_ms() < until) {
		for (e = 0, gone = 1; gone && e < where.n; e++) {
			out = NULL;
			if (rt_capture(a.v, where.v[e], &out) != 0 || !out || *out)
				gone = 0;
			free(out);
		}
		if (!gone)
			usleep(200000);
	}
	strlist_free(&a);
	strlist_free(&where);
	free(h);
	free(hid);
	return gone;
}

/*
 * Spools op for each job and, while a daemon runs, waits until the job is
 * final or, for restart, restarted (its restarts count went up).
 */
static int
request_jobs(const char *op, int argc, char *argv[], long long arg, long long wait_ms)
{
	char id[ID_LEN + 1], *s, *before;
	pid_t pid;
	int i, rc = EX_OK, r = 0, alive, restart = strcmp(op, "restart") == 0;
	int spooled = 0;
	long long until;

	open_store();
	alive = daemon_alive(&pid);
	for (i = 0; i < argc; i++) {
		if ((r = resolve_id(argv[i], id)) != 0) {
			rc = r;
			continue;
		}
		if (request_check(op, id) < 0) {
			warnx("%s", errmsg);
			rc = rc ? rc : EX_ERR;
			continue;
		}
		before = db ? db_str("SELECT restarts FROM jobs WHERE id = ?", "s",
		    id) : NULL;
		if (spool_req(op, id, arg, NULL) < 0)
			errx(EX_ERR, "cannot spool the request: %s", errmsg);
		spooled = 1;
		for (until = mono_ms() + wait_ms; alive && mono_ms() < until;
		    usleep(50000)) {
			s = restart ? db_str("SELECT restarts FROM jobs WHERE id = ?",
			    "s", id) : job_state_now(id);
			r = restart ? s && before && strcmp(s, before) != 0 :
			    s && jstate_final(s);
			free(s);
			if (r)
				break;
		}
		free(before);
		if (alive && r && strcmp(op, "stop") == 0)
			r = stop_wait(id, until);
		if (alive && !r) {
			warnx("job %s: the daemon has not done '%s' after %llds; it "
			    "will", id, op, wait_ms / 1000);
			rc = rc ? rc : EX_ERR;
		}
	}
	if (!alive && spooled)
		warn_no_daemon("the request waits in the spool");
	return rc;
}

/* Whether op makes sense for the job as it is now: 0, or -1 with errmsg. */
static int
request_check(const char *op, const char *id)
{
	struct jobrow r;
	struct env e;
	struct job *j = NULL;
	char *s = job_state_now(id), *sec, *p;
	int rc = 0;

	if (strcmp(op, "restart") != 0) {
		if (s && jstate_final(s))
			rc = fail("job %s is already %s", id, s);
		free(s);
		return rc;
	}
	if (state_parse(jstate_names, s) != J_FAILED &&
	    state_parse(jstate_names, s) != J_CANCELLED) {
		fail("job %s is %s; only a FAILED or CANCELLED job can be "
		    "restarted", id, s ? s : "unknown");
		free(s);
		return -1;
	}
	free(s);
	memset(&r, 0, sizeof(r));
	if (load_job(id, &r) && r.envelope && spool_parse(r.envelope, &e) == 0) {
		j = spool_job_of(&e, NULL);
		env_free(&e);
	}
	sec = home_path("secrets/%s", id);
	s = r.parent ? db_str("SELECT detached FROM jobs WHERE id = ?", "s", id) :
	    NULL;
	p = db ? db_str("SELECT imported FROM jobs WHERE id = ?", "s", id) : NULL;
	if (p) {
		rc = fail("job %s was imported; it does not run here", id);
	} else if (r.parent && !(s && atoi(s))) {
		rc = fail("job %s is a subjob of %s; restart that job", id,
		    r.parent);
	} else if (r.ntasks == 0) {
		rc = fail("job %s never ran: the daemon refused it (%s); fix the "
		    "job file and submit it again", id, r.error ? r.error : "?");
	} else if (j && j->secrets.n && access(sec, F_OK) < 0) {
		rc = fail("job %s had secrets, and they are gone (secrets/%s); "
		    "submit it again", id, id);
	}
	free(p);
	free(s);
	free(sec);
	spec_free(j);
	jobrow_free(&r);
	return rc;
}

static int
cmd_cancel(int argc, char *argv[])
{
	if (opt_next(argc, argv) != -1)
		return usage_error("cancel", NULL);
	if (optind >= argc)
		return usage_error("cancel", "expected at least one job id");
	return request_jobs("cancel", argc - optind, argv + optind, 0, 10000);
}

static int
cmd_stop(int argc, char *argv[])
{
	long long grace = 10000;
	const char *why;
	int c;

	while ((c = opt_next(argc, argv)) != -1)
		switch (c) {
		case 't':
			if (units_duration(optarg, &grace, &why) < 0 &&
			    (grace = strtoll(optarg, NULL, 10) * 1000,
			    strspn(optarg, "0123456789") != strlen(optarg)))
				return usage_error("stop", "-t takes seconds or a "
				    "duration such as 30s, not '%s'", optarg);
			break;
		default:
			return usage_error("stop", NULL);
		}
	if (optind >= argc)
		return usage_error("stop", "expected at least one job id");
	return request_jobs("stop", argc - optind, argv + optind, grace,
	    grace + 20000);
}

/* Whether the daemon has restarted the job since its restarts count was before. */
static int
restarted(const char *id, const char *before)
{
	char *now;
	int r;

	if (db == NULL && db_open(0) != 0)
		return 0;
	now = db ? db_str("SELECT restarts FROM jobs WHERE id = ?", "s", id) : NULL;
	r = now && (before == NULL || strcmp(now, before) != 0);
	free(now);
	return r;
}

static int
cmd_restart(int argc, char *argv[])
{
	char (*ids)[ID_LEN + 1], **before;
	int c, i, wait = 0, rc;

	while ((c = opt_next(argc, argv)) != -1)
		switch (c) {
		case 'w': wait = 1; break;
		default: return usage_error(argv[0], NULL);
		}
	if (optind >= argc)
		return usage_error(argv[0], "expected at least one job id");
	before = xcalloc(argc - optind, sizeof(*before));
	ids = xcalloc(argc - optind, sizeof(*ids));
	open_store();
	/* --wait needs to know each job's restarts count before the request */
	for (i = optind, rc = 0; wait && rc == 0 && i < argc; i++) {
		rc = resolve_id(argv[i], ids[i - optind]);
		before[i - optind] = db ? db_str("SELECT restarts FROM jobs WHERE"
		    " id = ?", "s", ids[i - optind]) : NULL;
	}
	if (rc == 0)
		rc = request_jobs("restart", argc - optind, argv + optind, 0, 10000);
	/* with no daemon yet, the restart is done when one comes */
	for (i = 0; rc == 0 && wait && i < argc - optind; i++)
		while (!restarted(ids[i], before[i]))
			usleep(100000);
	if (rc == 0 && wait)
		rc = wait_jobs(ids, argc - optind, -1);
	for (i = 0; i < argc - optind; i++)
		free(before[i]);
	free(before);
	free(ids);
	return rc;
}

static int
cmd_wait(int argc, char *argv[])
{
	char (*ids)[ID_LEN + 1];
	int i, n = 0, rc;

	if (opt_next(argc, argv) != -1)
		return usage_error("wait", NULL);
	if (optind >= argc)
		return usage_error("wait", "expected at least one job id");
	open_store();
	ids = xcalloc(argc - optind, sizeof(*ids));
	for (i = optind; i < argc; i++)
		if ((rc = resolve_id(argv[i], ids[n++])) != 0) {
			free(ids);
			return rc;
		}
	rc = wait_jobs(ids, n, -1);
	free(ids);
	return rc;
}

/* ---- the HTTP face */

/*
 * daemon --listen ADDR answers HTTP: health checks as Racetrack's job
 * wrapper has them (/live, /ready), Prometheus (/metrics), and a JSON job
 * API shaped like Tork's.  libmicrohttpd parses HTTP; only a daemon that
 * listens loads it (dlopen).  It runs no thread of its own: its epoll fd
 * is one more fd in the loop's poll, and its handler runs between two
 * turns of the loop, when no transaction is open, so it reads the store
 * through the daemon's own handle.  What a request changes goes through
 * the spool, as a command's would: a job POSTed is a spool file, a cancel
 * a request file, taken in on the next turn.  There is no authentication:
 * the address is loopback unless --listen names another.
 *
 * The calls go through mh (mh.MHD_run...), filled in by api_load.
 */
#define MHD_SONAME	"libmicrohttpd.so.12"
#define MHD_FUNCS \
	X(MHD_start_daemon) X(MHD_stop_daemon) X(MHD_run) \
	X(MHD_get_daemon_info) X(MHD_get_timeout) \
	X(MHD_create_response_from_buffer) \
	X(MHD_create_response_from_callback) X(MHD_add_response_header) \
	X(MHD_queue_response) X(MHD_destroy_response) \
	X(MHD_lookup_connection_value)
static struct {
#define X(f)	__typeof__(f) *f;
	MHD_FUNCS
#undef X
} mh;

static long long api_started;		/* s since the epoch: /live says it */
static int api_loopback;		/* it listens on a loopback address */

/*
 * libyaml's scanner takes time quadratic in the nesting of collections: a
 * POST of 80 KB of [[[[... held the daemon (and so every job) for 17 s.
 * A job needs a dozen levels; an event pass that stops at NEST_MAX comes
 * before the parse.  (Spool files are written by local users, whom this
 * does not guard against yet.)
 */
#define NEST_MAX	64

static int
api_too_deep(const char *text, size_t len)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0, deep = 0, end = 0;

	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (!deep && !end && yaml_parser_parse(&p, &ev)) {
		if (ev.type == YAML_SEQUENCE_START_EVENT ||
		    ev.type == YAML_MAPPING_START_EVENT)
			deep = ++depth > NEST_MAX;
		else if (ev.type == YAML_SEQUENCE_END_EVENT ||
		    ev.type == YAML_MAPPING_END_EVENT)
			depth--;
		end = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return deep;
}

static int
api_load(void)
{
	static int loaded;
#define X(f)	#f,
	static const char *const names[] = { MHD_FUNCS };
#undef X
#define X(f)	(void **)&mh.f,
	static void **const slots[] = { MHD_FUNCS };
#undef X

	return lib_load(&loaded, MHD_SONAME, names, slots, sizeof(names) /
	    sizeof(names[0]), "--listen needs libmicrohttpd", "libmicrohttpd12");
}

/*
 * --listen: PORT (on 127.0.0.1), HOST:PORT or [V6]:PORT, the host an
 * address or localhost.  Returns 0, or -1 with errmsg.
 */
static int
api_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	const char *colon = strrchr(s, ':'), *port = colon ? colon + 1 : s;
	char host[64];
	long p;
	char *end;

	memset(ss, 0, sizeof(*ss));
	p = strtol(port, &end, 10);
	if (!isdigit((unsigned char)*port) || *end || p > 65535)
		return fail("'%s' has no port from 0 to 65535 (PORT, HOST:PORT "
		    "or [ADDRESS]:PORT)", s);
	if (colon == NULL)
		snprintf(host, sizeof(host), "127.0.0.1");
	else if ((size_t)(colon - s) >= sizeof(host) || colon == s)
		return fail("'%s': the host is missing or too long (0.0.0.0:%ld "
		    "listens on every address)", s, p);
	else
		snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (*host == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = '\0';
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*v6);
		if (inet_pton(AF_INET6, host + 1, &v6->sin6_addr) == 1)
			return 0;
	} else {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)p);
		*len = sizeof(*v4);
		if (inet_pton(AF_INET, host, &v4->sin_addr) == 1)
			return 0;
	}
	return fail("'%s' is not an IP address (nor localhost)", host);
}

/* What one request asks and what it is answered. */
struct hreq {
	struct MHD_Connection *c;
	const char *method;
	char id[ID_LEN + 1];		/* /jobs/ID... */
	struct buf body;		/* what was POSTed */
	int big;			/* ... was over --max-job-size */
	long long t0;			/* monotonic ms: the headers came */
	int status;
	const char *type;		/* Content-Type of out */
	struct buf out;
	struct MHD_Response *resp;	/* instead of out: a file, say */
	char *location, *allow;		/* headers, when not NULL */
	int retry_after;		/* seconds, when not 0 */
};

static void
api_json(struct hreq *q, int status)
{
	q->status = status;
	q->type = "application/json";
	buf_add(&q->out, "\n");
}

/* {"message": ...} as Tork answers an error; returns the status. */
static int
api_error(struct hreq *q, int status, const char *fmt, ...)
{
	char msg[sizeof(errmsg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	free(q->out.s);
	memset(&q->out, 0, sizeof(q->out));
	buf_add(&q->out, "{");
	json_kstr(&q->out, "message", msg);
	json_end(&q->out, '}');
	api_json(q, status);
	return status;
}

static const char *
api_arg(struct hreq *q, const char *name)
{
	return mh.MHD_lookup_connection_value(q->c, MHD_GET_ARGUMENT_KIND, name);
}

/* A query argument that must be a number from lo to hi (def if absent). */
static int
api_num(struct hreq *q, const char *name, long lo, long hi, long def,
    long *out)
{
	const char *s = api_arg(q, name);
	char *end;

	*out = def;
	if (s == NULL)
		return 0;
	*out = strtol(s, &end, 10);
	if (!isdigit((unsigned char)*s) || *end || *out < lo || *out > hi)
		return api_error(q, 400, "%s takes a number from %ld to %ld",
		    name, lo, hi);
	return 0;
}

static int
api_live(struct hreq *q)
{
	buf_addf(&q->out, "{\"live\":true,\"deployment_timestamp\":%lld}",
	    api_started);
	api_json(q, 200);
	return 0;
}

/* Ready: the store takes writes and every engine answers. */
static int
api_ready(struct hreq *q)
{
	size_t e;
	int down = 0;
	char *why;

	for (e = 0; e < nengines; e++)
		down |= engines[e].down != 0;
	why = down ? db_str("SELECT value FROM meta WHERE key = 'engine_error'",
	    NULL) : NULL;
	if (db_broken)
		api_error(q, 503, "the store cannot be written: %s", db_brokenwhy);
	else if (down)
		api_error(q, 503, "the container engine does not answer: %s",
		    why ? why : "?");
	else {
		buf_add(&q->out, "{\"ready\":true}");
		api_json(q, 200);
	}
	free(why);
	return 0;
}

static int
api_metrics(struct hreq *q)
{
	db_metrics(&q->out, 1);
	q->status = 200;
	q->type = "text/plain; version=0.0.4";
	return 0;
}

/* GET /jobs?page=P&size=S: newest first, as Tork pages them. */
static int
api_jobs(struct hreq *q)
{
	struct jobrow r;
	sqlite3_stmt *st;
	long page, size;
	char *total;
	long long n;

	if (api_num(q, "page", 1, 1000000, 1, &page) ||
	    api_num(q, "size", 1, 100, 10, &size))
		return 0;
	total = db_str("SELECT coalesce(sum(n), 0) FROM counts WHERE"
	    " what = 'job'", NULL);
	n = total ? atoll(total) : 0;
	free(total);
	buf_add(&q->out, "{\"items\":[");
	st = db_jobs("ORDER BY seq DESC LIMIT ?1 OFFSET ?2", "iI", (int)size,
	    (long long)(page - 1) * size);
	while (db_row(st)) {
		jobrow_read(st, &r);
		json_job(&q->out, &r, NULL, 0);
		buf_add(&q->out, ",");
		jobrow_free(&r);
	}
	db_done(st);
	json_end(&q->out, ']');
	buf_addf(&q->out, ",\"number\":%ld,\"size\":%ld,\"totalPages\":%lld,"
	    "\"totalItems\":%lld}", page, size, (n + size - 1) / size, n);
	api_json(q, 200);
	return 0;
}

static int
api_job(struct hreq *q)
{
	struct jobrow r;
	struct taskrow *t = NULL;
	size_t n, i;

	if (!load_job(q->id, &r))
		return api_error(q, 404, "no job matches '%s'", q->id);
	n = db_tasks(q->id, &t);
	json_job(&q->out, &r, t, n);
	for (i = 0; i < n; i++)
		taskrow_free(&t[i]);
	free(t);
	jobrow_free(&r);
	api_json(q, 200);
	return 0;
}

/* The jobs that wait (PENDING or SCHEDULED), from the store's counts. */
static long long
api_waiting(void)
{
	char *s = db_str("SELECT coalesce(sum(n), 0) FROM counts WHERE what ="
	    " 'job' AND state IN (?, ?)", "ss", jstate_name(J_PENDING),
	    jstate_name(J_SCHEDULED));
	long long n = s ? atoll(s) : 0;

	free(s);
	return n;
}

/*
 * Spools j, unless it is unique and has a twin: answered 409 then, with
 * the twin's id as submit --json prints it.  The lock is submit's.
 */
static int
api_spool(struct hreq *q, struct job *j)
{
	struct kvlist none = { 0 };
	char twin[ID_LEN + 1], msg[128];
	int lock = -1, rc = 0;

	if (j->unique && (lock = submit_lock(1)) < 0) {
		q->retry_after = 1;
		return api_error(q, 503, "a unique submit is under way: %s; try "
		    "again", errmsg);
	}
	if (lock >= 0 && (j->cron ? schedule_twin(j, twin) : submit_twin(j,
	    twin))) {
		snprintf(msg, sizeof(msg), "%s %s of the same name and %s is still"
		    " there; not submitted", j->cron ? "schedule" : "job", twin,
		    j->cron ? "cron expression" : "inputs");
		buf_add(&q->out, "{");
		json_kstr(&q->out, "message", msg);
		json_kstr(&q->out, "id", twin);
		buf_add(&q->out, "\"duplicate\":true}");
		api_json(q, 409);
		rc = 409;
	} else if (spool_job(j, q->body.s, q->body.len, &none) < 0)
		rc = api_error(q, 503, "cannot spool the job: %s", errmsg);
	if (lock >= 0)
		close(lock);
	return rc;
}

/*
 * POST /jobs: the body is a job file (YAML, or JSON, which is YAML too),
 * checked as submit checks one and spooled as submit spools it.
 */
static int
api_submit(struct hreq *q)
{
	struct kvlist none = { 0 };
	struct job *j;
	char *errs, lim[UNITS_BUFSZ];
	long long waiting;

	if (max_pending && (waiting = api_waiting() + api_spooled) >=
	    max_pending) {
		q->retry_after = 1;
		return api_error(q, 429, "%lld jobs wait, and the daemon takes "
		    "at most %lld (daemon --max-pending); try again later",
		    waiting, max_pending);
	}
	if (q->big)
		return api_error(q, 413, "the job file is over the %s limit "
		    "(daemon --max-job-size)", units_fmt_size(pol.max_job, lim,
		    sizeof(lim)));
	if (q->body.len == 0)
		return api_error(q, 400, "no job file: POST one (YAML or JSON) "
		    "as the body");
	if (api_too_deep(q->body.s, q->body.len))
		return api_error(q, 400, "<request>: collections nested deeper "
		    "than %d levels", NEST_MAX);
	policy_quiet = 1;
	j = spec_parse("<request>", q->body.s, q->body.len, &none, &pol, &errs);
	policy_quiet = 0;
	if (j == NULL) {
		if (errs[0] && errs[strlen(errs) - 1] == '\n')
			errs[strlen(errs) - 1] = '\0';
		api_error(q, 400, "%s", errs);
		free(errs);
		return 400;
	}
	if ((errs = spec_store_text(q->body.s, q->body.len, j)) == NULL) {
		spec_free(j);
		return api_error(q, 400, "<request>: %s", errmsg);
	}
	free(errs);
	random_hex(j->id, ID_LEN);
	j->created = now_ms();
	if (api_spool(q, j) == 0) {
		api_spooled++;
		q->location = xasprintf("/jobs/%s", j->id);
		buf_add(&q->out, "{");
		json_kstr(&q->out, "id", j->id);
		json_end(&q->out, '}');
		api_json(q, 201);
	}
	spec_free(j);
	return 0;
}

/* PUT /jobs/ID/cancel and /restart: as the commands ask, by the spool. */
static int
api_request(struct hreq *q, const char *op)
{
	struct jobrow r;

	if (!load_job(q->id, &r))
		return api_error(q, 404, "no job matches '%s'", q->id);
	jobrow_free(&r);
	if (request_check(op, q->id) < 0)
		return api_error(q, 409, "%s", errmsg);
	if (spool_req(op, q->id, 0, NULL) < 0)
		return api_error(q, 503, "cannot spool the request: %s", errmsg);
	buf_add(&q->out, "{\"status\":\"OK\"}");
	api_json(q, 200);
	return 0;
}

static int
api_cancel(struct hreq *q)
{
	return api_request(q, "cancel");
}

static int
api_restart(struct hreq *q)
{
	return api_request(q, "restart");
}

/*
 * GET /jobs/ID/log[?task=POS|NAME]: what `jobrun logs` prints, read from
 * the log files as the client takes it, never whole into memory.
 */
struct hlog {
	struct strlist path, name;	/* of each task with a log */
	size_t i;			/* the task being sent */
	int fd;				/* its log, open; -1 before */
	int multi;			/* headers between logs, as tail(1) */
	int sent, nl;			/* anything sent; it ended in '\n' */
	char head[160];
	size_t hlen, hoff;
};

static ssize_t
api_log_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct hlog *l = cls;
	ssize_t n;

	(void)pos;
	while (l->i < l->path.n) {
		if (l->fd < 0) {
			if ((l->fd = open(l->path.v[l->i], O_RDONLY | O_CLOEXEC)) < 0) {
				l->i++;
				continue;
			}
			l->hlen = l->multi ? (size_t)snprintf(l->head,
			    sizeof(l->head), "%s%s==> %.100s <==\n", l->nl ? "" :
			    "\n", l->sent ? "\n" : "", l->name.v[l->i]) : 0;
			l->hoff = 0;
		}
		if (l->hoff < l->hlen) {
			n = (ssize_t)(max < l->hlen - l->hoff ? max :
			    l->hlen - l->hoff);
			memcpy(out, l->head + l->hoff, n);
			l->hoff += n;
			l->sent = l->nl = 1;
			return n;
		}
		while ((n = read(l->fd, out, max)) < 0 && errno == EINTR)
			;
		if (n > 0) {
			l->sent = 1;
			l->nl = out[n - 1] == '\n';
			return n;
		}
		close(l->fd);
		l->fd = -1;
		l->i++;
	}
	return MHD_CONTENT_READER_END_OF_STREAM;
}

static void
api_log_free(void *cls)
{
	struct hlog *l = cls;

	if (l->fd >= 0)
		close(l->fd);
	strlist_free(&l->path);
	strlist_free(&l->name);
	free(l);
}

static int
api_log(struct hreq *q)
{
	const char *sel = api_arg(q, "task");
	struct taskrow *t = NULL;
	struct hlog *l;
	struct jobrow r;
	size_t n, i, found = 0;
	char *p, *end;
	long want = sel ? strtol(sel, &end, 10) : 0;

	if (!load_job(q->id, &r))
		return api_error(q, 404, "no job matches '%s'", q->id);
	jobrow_free(&r);
	l = xcalloc(1, sizeof(*l));
	l->fd = -1;
	l->nl = 1;
	n = db_tasks(q->id, &t);
	for (i = 0; i < n; i++) {
		if (sel && !((*end == '\0' && t[i].pos == want) || (t[i].name &&
		    strcmp(t[i].name, sel) == 0)))
			continue;
		found++;
		p = home_path("logs/%s/%d.log", q->id, t[i].pos);
		if (access(p, F_OK) == 0) {
			strlist_add(&l->path, p);
			strlist_add(&l->name, xasprintf("%d %s", t[i].pos,
			    t[i].name ? t[i].name : ""));
		} else
			free(p);
	}
	for (i = 0; i < n; i++)
		taskrow_free(&t[i]);
	free(t);
	if (sel && found == 0) {
		api_log_free(l);
		return api_error(q, 404, "job %s has no task '%s' (give a "
		    "position from 1 to %zu, or a name)", q->id, sel, n);
	}
	l->multi = l->path.n > 1;
	q->resp = mh.MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 65536,
	    api_log_read, l, api_log_free);
	if (q->resp == NULL) {
		api_log_free(l);
		return api_error(q, 500, "cannot make the response");
	}
	q->status = 200;
	q->type = "text/plain; charset=utf-8";
	return 0;
}

/*
 * The routes: a path of fixed segments and ":id" (a job id, in full), and
 * the method that takes it.  A path that matches with another method is
 * answered 405, with the methods it takes.
 */
static const struct route {
	const char *method, *path;
	int (*fn)(struct hreq *);
} routes[] = {
	{ "GET", "/live", api_live },
	{ "GET", "/ready", api_ready },
	{ "GET", "/metrics", api_metrics },
	{ "GET", "/jobs", api_jobs },
	{ "POST", "/jobs", api_submit },
	{ "GET", "/jobs/:id", api_job },
	{ "PUT", "/jobs/:id/cancel", api_cancel },
	{ "PUT", "/jobs/:id/restart", api_restart },
	{ "GET", "/jobs/:id/log", api_log },
};

/* Whether url matches path; the id of ":id" into id. */
static int
api_match(const char *path, const char *url, char id[ID_LEN + 1])
{
	size_t n;

	while (*path && *url) {
		if (strncmp(path, ":id", 3) == 0) {
			n = strcspn(url, "/");
			if (n != ID_LEN || strspn(url, "0123456789abcdef") < n)
				return 0;
			memcpy(id, url, n);
			id[n] = '\0';
			path += 3;
			url += n;
			continue;
		}
		if (*path++ != *url++)
			return 0;
	}
	return *path == '\0' && (*url == '\0' || strcmp(url, "/") == 0);
}

static void
api_route(struct hreq *q, const char *url)
{
	const char *m = strcmp(q->method, "HEAD") == 0 ? "GET" : q->method;
	struct buf allow = { 0 };
	char shown[101];
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!api_match(routes[i].path, url, q->id))
			continue;
		if (strcmp(routes[i].method, m) == 0) {
			free(allow.s);
			routes[i].fn(q);
			return;
		}
		buf_addf(&allow, "%s%s", allow.len ? ", " : "", routes[i].method);
	}
	/* what the client sent, in messages: printable ASCII only */
	for (i = 0; url[i] && i < sizeof(shown) - 1; i++)
		shown[i] = url[i] > 0x20 && url[i] < 0x7f ? url[i] : '?';
	shown[i] = '\0';
	if (allow.len) {
		q->allow = buf_take(&allow);
		api_error(q, 405, "%s takes %s, not %.10s", shown, q->allow, m);
	} else if (strncmp(url, "/jobs/", 6) == 0 && strchr(url + 6, '/') == NULL)
		api_error(q, 404, "no job matches '%.40s' (ids are %d lowercase "
		    "hex digits, in full)", shown + 6, ID_LEN);
	else
		api_error(q, 404, "no such endpoint: %s", shown);
}

/*
 * What a browser could send on a web page's behalf is refused (403): a
 * request that changes something (POST, PUT) with an Origin or a
 * Sec-Fetch-Site other than none (a form posted across sites), and, on a
 * loopback address, any request for a Host that is not loopback (a DNS
 * name rebound to 127.0.0.1).  Scripts and curl send neither.  Returns 0,
 * or the status answered.
 */
static int
api_guard(struct hreq *q)
{
	const char *host = mh.MHD_lookup_connection_value(q->c, MHD_HEADER_KIND,
	    "Host");
	const char *origin = mh.MHD_lookup_connection_value(q->c,
	    MHD_HEADER_KIND, "Origin");
	const char *site = mh.MHD_lookup_connection_value(q->c, MHD_HEADER_KIND,
	    "Sec-Fetch-Site");
	size_t n;

	if ((strcmp(q->method, "POST") == 0 || strcmp(q->method, "PUT") == 0) &&
	    (origin || (site && strcmp(site, "none") != 0)))
		return api_error(q, 403, "a request from a web page (Origin or "
		    "Sec-Fetch-Site) may not change jobs");
	if (!api_loopback || host == NULL)
		return 0;
	n = host[0] == '[' ? strcspn(host, "]") + 1 : strcspn(host, ":");
	if ((n == 9 && strncmp(host, "localhost", 9) == 0) ||
	    (n == 5 && strncmp(host, "[::1]", 5) == 0) ||
	    (n >= 9 && n <= 15 && strncmp(host, "127.", 4) == 0 &&
	    strspn(host, "0123456789.") == n))
		return 0;
	return api_error(q, 403, "this daemon answers on a loopback address, "
	    "for Host localhost or 127.0.0.1, not another name");
}

/* A header's value for the log: logfmt-quoted, printable ASCII, cut short. */
static void
api_logval(struct buf *b, const char *s)
{
	size_t i;

	buf_add(b, "\"");
	for (i = 0; s && s[i] && i < 100; i++)
		if (s[i] == '"' || s[i] == '\\')
			buf_addf(b, "\\%c", s[i]);
		else if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			buf_add(b, "?");
		else
			buf_addn(b, &s[i], 1);
	buf_add(b, s && s[i] ? "...\"" : "\"");
}

static enum MHD_Result
api_answer(struct hreq *q, const char *url)
{
	const char *caller = mh.MHD_lookup_connection_value(q->c,
	    MHD_HEADER_KIND, "X-Caller-Name");
	struct MHD_Response *r;
	struct buf lb = { 0 };
	enum MHD_Result ok;
	char *body, ra[16];
	size_t n;

	if (api_guard(q) == 0)
		api_route(q, url);
	if ((r = q->resp) == NULL) {
		n = q->out.len;
		body = buf_take(&q->out);
		if ((r = mh.MHD_create_response_from_buffer(n, body,
		    MHD_RESPMEM_MUST_FREE)) == NULL)
			free(body);
	}
	if (r == NULL)
		return MHD_NO;
	mh.MHD_add_response_header(r, "Content-Type", q->type ? q->type :
	    "text/plain");
	if (q->location)
		mh.MHD_add_response_header(r, "Location", q->location);
	if (q->allow)
		mh.MHD_add_response_header(r, "Allow", q->allow);
	if (q->retry_after) {
		snprintf(ra, sizeof(ra), "%d", q->retry_after);
		mh.MHD_add_response_header(r, "Retry-After", ra);
	}
	ok = mh.MHD_queue_response(q->c, q->status, r);
	mh.MHD_destroy_response(r);
	buf_add(&lb, "method=");
	api_logval(&lb, q->method);
	buf_add(&lb, " path=");
	api_logval(&lb, url);
	buf_addf(&lb, " status=%d ms=%lld", q->status, mono_ms() - q->t0);
	if (caller) {
		buf_add(&lb, " caller=");
		api_logval(&lb, caller);
	}
	logf_(q->status >= 500 ? "warn" : "info", "http.request", "%s", lb.s);
	free(lb.s);
	return ok;
}

/* libmicrohttpd's handler: once for the headers, once per piece of body, once at the end. */
static enum MHD_Result
api_handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *data, size_t *size,
    void **cc)
{
	struct hreq *q = *cc;
	const char *cl;

	(void)cls;
	(void)version;
	if (q == NULL) {
		q = xcalloc(1, sizeof(*q));
		q->c = c;
		q->method = method;
		q->t0 = mono_ms();
		*cc = q;
		/* too big by its own account: answered before it is read */
		cl = mh.MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > (unsigned long long)pol.max_job) {
			q->big = 1;
			return api_answer(q, url);
		}
		return MHD_YES;
	}
	if (*size) {
		if (q->body.len + *size <= (size_t)pol.max_job)
			buf_addn(&q->body, data, *size);
		else
			q->big = 1;
		*size = 0;
		return MHD_YES;
	}
	return api_answer(q, url);
}

static void
api_done(void *cls, struct MHD_Connection *c, void **cc,
    enum MHD_RequestTerminationCode why)
{
	struct hreq *q = *cc;

	(void)cls;
	(void)c;
	(void)why;
	if (q == NULL)
		return;
	free(q->body.s);
	free(q->out.s);
	free(q->location);
	free(q->allow);
	free(q);
	*cc = NULL;
}

/* Connections at once: each may hold a body up to --max-job-size. */
#define API_CONNS	16

/*
 * Listens on --listen's address (the socket is the daemon's, so that a
 * port in use is a clear error at start-up); its URL goes to api_url.
 * Returns 0, or -1 with errmsg.
 */
static int
api_start(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char host[INET6_ADDRSTRLEN];
	const union MHD_DaemonInfo *di;
	int fd, on = 1;

	if (listen_addr == NULL)
		return 0;
	if (api_load() < 0 || api_addr(listen_addr, &ss, &len) < 0)
		return -1;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
	    sizeof(on)) < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    listen(fd, 64) < 0 || getsockname(fd, (struct sockaddr *)&ss,
	    &len) < 0) {
		fail("--listen %s: %s", listen_addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	httpd = mh.MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL, api_handle,
	    NULL, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)API_CONNS, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
	    MHD_OPTION_NOTIFY_COMPLETED, api_done, NULL, MHD_OPTION_END);
	if (httpd == NULL || (di = mh.MHD_get_daemon_info(httpd,
	    MHD_DAEMON_INFO_EPOLL_FD)) == NULL) {
		close(fd);
		return fail("--listen %s: libmicrohttpd does not start", listen_addr);
	}
	api_fd = di->epoll_fd;
	api_started = now_ms() / 1000;
	api_loopback = ss.ss_family == AF_INET6 ? IN6_IS_ADDR_LOOPBACK(
	    &((struct sockaddr_in6 *)&ss)->sin6_addr) : (ntohl(((struct
	    sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host,
		    sizeof(host));
		snprintf(api_url, sizeof(api_url), "http://[%s]:%u", host,
		    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host,
		    sizeof(host));
		snprintf(api_url, sizeof(api_url), "http://%s:%u", host,
		    ntohs(((struct sockaddr_in *)&ss)->sin_port));
	}
	return 0;
}

/* Answers what came in; the loop calls it when api_fd is readable. */
static void
api_run(void)
{
	if (httpd)
		mh.MHD_run(httpd);
}

/* ms until libmicrohttpd has something to time out, or wait if sooner. */
static int
api_wait(int wait)
{
	MHD_UNSIGNED_LONG_LONG t;

	if (httpd && mh.MHD_get_timeout(httpd, &t) == MHD_YES && (wait < 0 ||
	    t < (MHD_UNSIGNED_LONG_LONG)wait))
		return (int)t;
	return wait;
}

static void
api_stop(void)
{
	if (httpd)
		mh.MHD_stop_daemon(httpd);
	httpd = NULL;
	api_fd = -1;
}

/* ---- daemon, status */

/*
 * -q QUEUE:N[@WHERE]: the first colon followed by a count and then the
 * end or an @ ends the name, which may hold colons and @s itself.
 * Returns 0, or -1 with errmsg.
 */
static int
parse_qcap(const char *s)
{
	const char *colon, *why;
	char *end;
	long n = 0;
	int e = 0;
	size_t i;

	for (colon = strchr(s, ':'); colon; colon = strchr(colon + 1, ':')) {
		n = strtol(colon + 1, &end, 10);
		if (colon != s && isdigit((unsigned char)colon[1]) &&
		    (*end == '\0' || *end == '@'))
			break;
	}
	if (colon == NULL || n < 1 || n > 10000)
		return fail("-q takes QUEUE:N[@ENGINE], N from 1 to 10000, "
		    "not '%s'", s);
	if (*end == '@' && engine_where(end + 1, &why) < 0)
		return fail("-q %s: '%s' is not an engine: %s", s, end + 1, why);
	if (*end == '@' && (e = engine_add(end + 1)) < 0)
		return fail("-q %s: more than %d engines", s, ENGINES_MAX - 1);
	for (i = 0; i < nqcaps; i++)
		if (strlen(qcaps[i].name) == (size_t)(colon - s) &&
		    strncmp(qcaps[i].name, s, colon - s) == 0)
			return fail("-q %s: queue %s is given twice", s,
			    qcaps[i].name);
	if (*end == '@' && strncmp(end + 1, "unix://", 7) == 0)
		strlist_add(&engine_paths, xstrdup(end + 8));
	qcaps = xreallocarray(qcaps, nqcaps + 1, sizeof(*qcaps));
	qcaps[nqcaps].name = xasprintf("%.*s", (int)(colon - s), s);
	qcaps[nqcaps].eng = (size_t)e;
	qcaps[nqcaps++].cap = (int)n;
	return 0;
}

/*
 * daemon --allow-bind DIR: a directory that exists, kept as its real
 * path, and never one that holds the home or the engine's socket.
 */
static int
allow_bind(const char *dir)
{
	char *r = realpath(dir, NULL);
	const char *never;
	struct stat sb;

	if (r == NULL || stat(r, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		free(r);
		return usage_error("daemon", "--allow-bind %s: %s", dir, r ?
		    "not a directory" : strerror(errno));
	}
	if ((never = policy_never(r)) != NULL) {
		usage_error("daemon", "--allow-bind %s: never allowed: %s", r,
		    never);
		free(r);
		return EX_USAGE_;
	}
	strlist_add(&pol.binds, r);
	return 0;
}

/* Writes run/policy, for submit to check jobs against ahead. */
static int
daemon_policy(void)
{
	char *text = policy_text(&pol), *dir = home_path("run");
	int rc = write_file_atomic(dir, dir, "policy", text, strlen(text));

	free(text);
	free(dir);
	return rc;
}

/* The daemon's options into the globals; returns 0, or the usage error's status. */
static int
daemon_args(int argc, char *argv[])
{
	const char *why, *never, *network = getenv("JOBRUN_NETWORK");
	struct sockaddr_storage ss;
	socklen_t sslen;
	char *end;
	size_t i;
	int c;

	while ((c = opt_next(argc, argv)) != -1)
		switch (c) {
		case 'q':
			if (parse_qcap(optarg) < 0)
				return usage_error("daemon", "%s", errmsg);
			break;
		case 'N': network = optarg; break;
		case 'B':
			if ((c = allow_bind(optarg)) != 0)
				return c;
			break;
		case 'W':
			if (gram_netname(optarg, &why) < 0)
				return usage_error("daemon", "--allow-network: '%s' is "
				    "not a network name: %s", optarg, why);
			strlist_add(&pol.nets, xstrdup(optarg));
			break;
		case 'S':
			if (units_size(optarg, &pol.max_job, &why) < 0 ||
			    pol.max_job < 1024 || pol.max_job > (1LL << 30))
				return usage_error("daemon", "--max-job-size takes a "
				    "size from 1k to 1g, such as 8m, not '%s'", optarg);
			break;
		case 'M':
			if (*optarg == '\0' || optarg[strlen(optarg) - 1] == '/')
				return usage_error("daemon", "--metrics-file takes a "
				    "file name, not '%s'", optarg);
			metrics_file = optarg;
			break;
		case 'R':
			if (rt_select(optarg) < 0)
				return usage_error("daemon", "--runtime takes docker, "
				    "podman, swarm or shell, not '%s'", optarg);
			break;
		case 'C':
			if (swarm_constraint(optarg, &why) < 0)
				return usage_error("daemon", "--constraint %s: %s",
				    optarg, why);
			strlist_add(&constraints, xstrdup(optarg));
			break;
		case 'l':
			if (api_addr(optarg, &ss, &sslen) < 0)
				return usage_error("daemon", "--listen: %s", errmsg);
			listen_addr = optarg;
			break;
		case 'P':
			errno = 0;
			max_pending = strtoll(optarg, &end, 10);
			if (!isdigit((unsigned char)*optarg) || *end || errno ||
			    max_pending < 1)
				return usage_error("daemon", "--max-pending takes a "
				    "count of at least 1, not '%s'", optarg);
			break;
		case 'L':
			if (units_size(optarg, &log_max, &why) < 0 || log_max < 1024)
				return usage_error("daemon", "--log-max takes a size of "
				    "at least 1k, such as 10m, not '%s'", optarg);
			break;
		default: return usage_error("daemon", NULL);
		}
	if (optind != argc)
		return usage_error("daemon", "unexpected argument '%s'", argv[optind]);
	if (rt->direct && nengines > 1)
		return usage_error("daemon", "-q QUEUE:N@ENGINE: the shell "
		    "runtime runs tasks here, on no engine");
	if (constraints.n && rt->run != swarm_run)
		return usage_error("daemon", "--constraint places services: it "
		    "needs --runtime swarm");
	for (i = 0; i < pol.binds.n; i++)	/* -q may come after it */
		if ((never = policy_never(pol.binds.v[i])) != NULL)
			return usage_error("daemon", "--allow-bind %s: never "
			    "allowed: %s", pol.binds.v[i], never);
	if (network && *network && gram_netname(network, &why) < 0)
		return usage_error("daemon", "--network: '%s' is not a network "
		    "name: %s", network, why);
	if (!rt->netless && network && strcmp(network, "none") == 0)
		return usage_error("daemon", "--network none (or JOBRUN_NETWORK"
		    "=none): a swarm service cannot have no network; name an "
		    "overlay network, or none at all");
	pol.network = network && *network ? xstrdup(network) : NULL;
	pol.known = 1;
	return 0;
}

static int
cmd_daemon(int argc, char *argv[])
{
	char *dir, down[sizeof(errmsg)];
	int rc, ino;
	size_t e;

	if ((rc = daemon_args(argc, argv)) != 0)
		return rc;
	/*
	 * A log line is one write, not one per part: the buffer is empty
	 * between lines, so a child forked then has nothing to repeat.
	 */
	setvbuf(stderr, NULL, _IOLBF, 0);
	if ((defcap = (int)sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		defcap = 1;
	/* The pid file comes last: whoever sees it may signal or use us. */
	if (home_check() < 0 || daemon_setup_signals() < 0 || spool_init() < 0 ||
	    home_check() < 0 || daemon_lock() < 0 || db_open(1) < 0 ||
	    daemon_homeid() < 0 || (rc = rt_ping()) == 127 ||
	    daemon_policy() < 0 || fault_open() < 0 || api_start() < 0 ||
	    daemon_pidfile() < 0)
		errx(EX_ERR, "%s", errmsg);
	db_daemon = 1;
	dir = home_path("spool/new");
	if ((ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) >= 0 &&
	    inotify_add_watch(ino, dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
		close(ino);
		ino = -1;
	}
	free(dir);
	daemon_announce();
	/* a delivery cut short by the last daemon's end is tried again */
	db_exec("UPDATE hooks SET state = ? WHERE state = ?", "ss",
	    hstate_names[H_PENDING], hstate_names[H_SENDING]);
	snprintf(down, sizeof(down), "%s", rc ? errmsg : "");
	logf_("info", "daemon.start", "home=%s home_id=%s pid=%d runtime=%s",
	    home, homeid, (int)getpid(), strcmp(rt->cli, rt->name) ? rt->name :
	    docker_bin);
	if (httpd)
		logf_("info", "http.listen", "url=%s", api_url);
	db_exec("DELETE FROM meta WHERE key IN ('engine_down', 'engine_error')",
	    NULL);
#ifdef JOBRUN_CRASHTEST
	fp_armed = 1;
#endif
	if (rc != 0)		/* it reconciles once the engine is back */
		engine_lost(0, down);
	else
		sched_recover(0);
	for (e = 1; e < nengines; e++) {	/* asked without blocking */
		engines[e].reconciling = 1;
		engine_ping(e);
	}
	daemon_loop(ino);
#ifdef JOBRUN_CRASHTEST
	/* stopping: a crash in the last rm is one just before it (reconcile) */
	fp_armed = 0;
#endif
	rm_last();
	if (metrics_file) {
		daemon_meta("heartbeat", "%lld", now_ms());
		daemon_metrics(0);	/* the exporter must not see a dead daemon up */
	}
	logf_("info", "daemon.stop", "running=%zu", nruns);
	api_stop();
	db_close();
	return EX_OK;
}

static char *
meta(const char *key)
{
	return db ? db_str("SELECT value FROM meta WHERE key = ?", "s", key) : NULL;
}

/* What status shows, from the daemon's rows in meta (NULL: not there). */
struct status {
	pid_t pid;
	int alive;
	char *started, *beat, *runtime, *queues, *defcap, *down, *downwhy;
	char *listen;			/* the HTTP face's URL, or "" */
	char *engines;			/* "WHERE QUEUE" lines, or "" */
	long long fault_at;		/* run/fault: since when, or 0 */
	char *fault;			/* ... what */
};

/* What run/fault says (see fault_note), into d. */
static void
status_fault(struct status *d)
{
	char *path = home_path("run/fault"), *text = read_file(path, NULL), *p;
	size_t n;

	free(path);
	if (text && (d->fault_at = strtoll(text, &p, 10)) > 0 && *p == ' ') {
		for (n = strlen(++p); n > 0 && (p[n - 1] == ' ' ||
		    p[n - 1] == '\n'); n--)
			;
		d->fault = xasprintf("%.*s", (int)n, p);
	} else
		d->fault_at = 0;
	free(text);
}

/*
 * The queues that run on an engine of their own, as status prints them:
 * JSON ("engines":{"QUEUE":"WHERE",...}) into b, or text when b is NULL.
 */
static void
status_engines(struct buf *b, const char *map)
{
	char *m = xstrdup(map ? map : ""), *line, *save, *q;

	if (b)
		buf_add(b, ",\"engines\":{");
	for (line = strtok_r(m, "\n", &save); line; line = strtok_r(NULL, "\n",
	    &save)) {
		if ((q = strchr(line, ' ')) == NULL)
			continue;
		*q++ = '\0';
		if (b == NULL)
			printf("engine:    queue %s runs on %s\n", q, line);
		else
			json_kstr(b, q, line);
	}
	if (b)
		json_end(b, '}');
	free(m);
}

static void
status_json(const struct status *d)
{
	struct buf b = { 0 };
	sqlite3_stmt *st;

	buf_add(&b, "{");
	json_kstr(&b, "home", home);
	buf_addf(&b, "\"daemon\":{\"running\":%s,", d->alive ? "true" : "false");
	if (d->alive) {
		json_kint(&b, "pid", d->pid);
		json_time(&b, "startedAt", d->started ? atoll(d->started) : 0);
		json_time(&b, "heartbeatAt", d->beat ? atoll(d->beat) : 0);
		json_kstr(&b, "runtime", d->runtime);
		json_kstr(&b, "listen", d->listen && *d->listen ? d->listen : NULL);
		buf_addf(&b, "\"engine\":{\"reachable\":%s,", d->down ? "false" :
		    "true");
		json_time(&b, "downSince", d->down ? atoll(d->down) : 0);
		json_kstr(&b, "error", d->downwhy);
		json_end(&b, '}');
		status_engines(&b, d->engines);
		buf_addf(&b, ",\"store\":{\"writable\":%s,", d->fault ? "false" :
		    "true");
		json_time(&b, "since", d->fault_at);
		json_kstr(&b, "error", d->fault);
		json_end(&b, '}');
		buf_add(&b, ",");
	}
	json_end(&b, '}');
	buf_add(&b, ",\"queues\":[");
	st = d->alive ? db_queues() : NULL;
	while (db_row(st)) {
		buf_add(&b, "{");
		json_kstr(&b, "name", (const char *)sqlite3_column_text(st, 0));
		json_kint(&b, "running", sqlite3_column_int(st, 1));
		json_kint(&b, "pending", sqlite3_column_int(st, 2));
		json_end(&b, '}');
		buf_add(&b, ",");
	}
	db_done(st);
	json_end(&b, ']');
	json_end(&b, '}');
	puts(b.s);
	free(b.s);
}

static void
status_text(const struct status *d)
{
	char up[32], age[32], t[40];
	sqlite3_stmt *st;

	printf("home:      %s\n", home);
	if (!d->alive) {
		printf("daemon:    not running; start one with 'jobrun daemon'\n");
		return;
	}
	printf("daemon:    running, pid %d, up %s, heartbeat %s ago\n",
	    (int)d->pid, units_fmt_duration(d->started ? now_ms() -
	    atoll(d->started) : 0, up, sizeof(up)), units_fmt_duration(d->beat ?
	    now_ms() - atoll(d->beat) : 0, age, sizeof(age)));
	printf("runtime:   %s\n", d->runtime ? d->runtime : "?");
	if (d->listen && *d->listen)
		printf("http:      %s\n", d->listen);
	if (d->down)
		printf("engine:    unreachable since %s (%s): %s\n", fmt_local(
		    atoll(d->down), t, sizeof(t)), units_fmt_duration(now_ms() -
		    atoll(d->down), up, sizeof(up)), d->downwhy ? d->downwhy : "?");
	else if (d->runtime && strcmp(d->runtime, "shell") == 0)
		printf("engine:    none (the shell runtime runs tasks here)\n");
	else
		printf("engine:    answers\n");
	status_engines(NULL, d->engines);
	if (d->fault)
		printf("store:     since %s (%s): %s\n", fmt_local(d->fault_at, t,
		    sizeof(t)), units_fmt_duration(now_ms() - d->fault_at, up,
		    sizeof(up)), d->fault);
	printf("queues:    %s%sother queues %s at once\n", d->queues ?
	    d->queues : "", d->queues && *d->queues ? "; " : "", d->defcap ?
	    d->defcap : "?");
	printf("\n%-16s %8s %8s\n", "QUEUE", tstate_name(T_RUNNING),
	    tstate_name(T_PENDING));
	st = db_queues();
	while (db_row(st))
		printf("%-16s %8d %8d\n", sqlite3_column_text(st, 0),
		    sqlite3_column_int(st, 1), sqlite3_column_int(st, 2));
	db_done(st);
}

/*
 * Whether the daemon is alive and can run jobs, and what it does: exit 0
 * only when it is and the engine answers it, so that cron or systemd can
 * use this as a health check.
 */
static int
cmd_status(int argc, char *argv[])
{
	struct status d = { 0 };
	char *rtname;
	int c, json;

	if ((c = args_json("status", argc, argv, &json)) != 0)
		return c;
	open_store();
	if ((d.alive = daemon_alive(&d.pid))) {
		d.started = meta("started");
		d.beat = meta("heartbeat");
		d.runtime = meta("runtime");
		/* a runtime that is not its CLI by name (swarm, docker's) */
		if ((rtname = meta("rt")) && rt_select(rtname) == 0 &&
		    strcmp(rt->cli, rt->name) != 0) {
			free(d.runtime);
			d.runtime = rtname;
		} else
			free(rtname);
		d.queues = meta("queues");
		d.defcap = meta("defcap");
		d.down = meta("engine_down");
		d.downwhy = meta("engine_error");
		d.listen = meta("listen");
		d.engines = meta("engines");
		status_fault(&d);
	}
	if (json)
		status_json(&d);
	else
		status_text(&d);
	free(d.started);
	free(d.beat);
	free(d.runtime);
	free(d.queues);
	free(d.defcap);
	free(d.downwhy);
	free(d.listen);
	free(d.engines);
	free(d.fault);
	c = d.alive && d.down == NULL && d.fault == NULL ? EX_OK : EX_ERR;
	free(d.down);
	return c;
}

/* ---- schedules, prune */

/* A schedule's id from a unique prefix, in the store or the spool. */
static int
resolve_schedule(const char *prefix, char out[ID_LEN + 1])
{
	struct strlist names = { 0 }, found = { 0 };
	sqlite3_stmt *st;
	char *like = xasprintf("%s%%", prefix), *dash;
	size_t i;

	if (*prefix == '\0' || !is_hex(prefix) || strlen(prefix) > ID_LEN) {
		warnx("'%s' is not a schedule id", prefix);
		free(like);
		return EX_NOJOB;
	}
	st = db ? db_prep("SELECT id FROM schedules WHERE id LIKE ?", "s", like) :
	    NULL;
	while (db_row(st))
		strlist_add(&found, col_str(st, 0));
	db_done(st);
	spool_list(&names);
	for (i = 0; i < names.n; i++)
		if (strstr(names.v[i], ".sched") && (dash = strchr(names.v[i], '-')) &&
		    strncmp(dash + 1, prefix, strlen(prefix)) == 0 && found.n == 0)
			strlist_add(&found, xasprintf("%.*s", ID_LEN, dash + 1));
	strlist_free(&names);
	free(like);
	if (found.n != 1) {
		warnx(found.n ? "'%s' matches more than one schedule" :
		    "no schedule matches '%s'", prefix);
		strlist_free(&found);
		return EX_NOJOB;
	}
	snprintf(out, ID_LEN + 1, "%s", found.v[0]);
	strlist_free(&found);
	return 0;
}

static void
print_schedule_row(sqlite3_stmt *st, int json, struct buf *b)
{
	char n[32], l[32];

	if (json) {
		buf_add(b, "{");
		json_kstr(b, "id", (const char *)sqlite3_column_text(st, 0));
		json_kstr(b, "name", (const char *)sqlite3_column_text(st, 1));
		json_kstr(b, "cron", (const char *)sqlite3_column_text(st, 2));
		json_kstr(b, "state", (const char *)sqlite3_column_text(st, 3));
		json_time(b, "nextAt", sqlite3_column_int64(st, 4));
		json_time(b, "lastAt", sqlite3_column_int64(st, 5));
		json_kstr(b, "lastJobId", (const char *)sqlite3_column_text(st, 6));
		json_kint(b, "runs", sqlite3_column_int(st, 7));
		json_kint(b, "skipped", sqlite3_column_int(st, 8));
		json_end(b, '}');
		buf_add(b, ",");
		return;
	}
	printf("%-12s  %-20.20s  %-16s  %-6s  %-19s  %-19s  %5d %5d\n",
	    sqlite3_column_text(st, 0), sqlite3_column_text(st, 1) ?
	    (const char *)sqlite3_column_text(st, 1) : "-",
	    sqlite3_column_text(st, 2), sqlite3_column_text(st, 3),
	    sqlite3_column_int64(st, 4) && state_parse(sstate_names, (const char *)
	    sqlite3_column_text(st, 3)) == S_ACTIVE ?
	    fmt_local(sqlite3_column_int64(st, 4), n, sizeof(n)) : "-",
	    sqlite3_column_int64(st, 5) ? fmt_local(sqlite3_column_int64(st, 5),
	    l, sizeof(l)) : "-", sqlite3_column_int(st, 7),
	    sqlite3_column_int(st, 8));
}

#define SCHED_COLS "id, name, cron, state, next_at, last_at, last_job, runs," \
	" skipped"

/* The cron schedules, with their next firing (local time). */
static int
cmd_schedules(int argc, char *argv[])
{
	struct buf b = { 0 };
	sqlite3_stmt *st;
	int c, json;

	if ((c = args_json("schedules", argc, argv, &json)) != 0)
		return c;
	open_store();
	if (json)
		buf_add(&b, "[");
	else
		printf("%-12s  %-20s  %-16s  %-6s  %-19s  %-19s  %5s %5s\n", "ID",
		    "NAME", "CRON", "STATE", "NEXT", "LAST", "RUNS", "SKIPS");
	st = db ? db_prep("SELECT " SCHED_COLS " FROM schedules ORDER BY seq",
	    NULL) : NULL;
	while (db_row(st))
		print_schedule_row(st, json, &b);
	db_done(st);
	return json_list_print(&b, json);
}

/* schedule pause|resume|rm ID...: spooled for the daemon, as cancel is. */
static int
cmd_schedule(int argc, char *argv[])
{
	static const char *const ops[] = { "pause", "resume", "rm", NULL };
	char id[ID_LEN + 1], op[32], *st;
	long long until;
	pid_t pid;
	int i, k, rc = EX_OK, r, alive;

	if (opt_next(argc, argv) != -1)
		return usage_error("schedule", NULL);
	for (k = 0; optind < argc && ops[k] && strcmp(ops[k], argv[optind]); k++)
		;
	if (optind >= argc || ops[k] == NULL)
		return usage_error("schedule", "expected pause, resume or rm");
	if (optind + 1 >= argc)
		return usage_error("schedule", "expected at least one schedule id");
	snprintf(op, sizeof(op), "schedule.%s", ops[k]);
	open_store();
	alive = daemon_alive(&pid);
	for (i = optind + 1; i < argc; i++) {
		if ((r = resolve_schedule(argv[i], id)) != 0) {
			rc = r;
			continue;
		}
		if (spool_req(op, id, 0, NULL) < 0)
			errx(EX_ERR, "cannot spool the request: %s", errmsg);
		for (until = mono_ms() + 10000; alive && mono_ms() < until;
		    usleep(50000)) {
			st = db ? db_str("SELECT state FROM schedules WHERE id = ?",
			    "s", id) : NULL;
			r = k == 2 ? st == NULL : state_parse(sstate_names, st) ==
			    (k ? S_ACTIVE : S_PAUSED);
			free(st);
			if (r)
				break;
		}
	}
	if (!alive)
		warn_no_daemon("the request waits in the spool");
	return rc;
}

/* show of a schedule: what it runs, when, and its recent runs. */
static int
show_schedule(const char *id, int json)
{
	struct buf b = { 0 };
	sqlite3_stmt *st;
	char t[32];
	int found = 0;

	st = db_prep("SELECT " SCHED_COLS " FROM schedules WHERE id = ?", "s", id);
	if (db_row(st)) {
		found = 1;
		if (json) {
			print_schedule_row(st, 1, &b);
			b.s[--b.len] = '\0';	/* the row's comma */
			b.len--;		/* and its closing brace */
			buf_add(&b, ",\"recentRuns\":[");
		} else {
			printf("schedule:   %s\nname:       %s\ncron:       %s\n"
			    "state:      %s\n", id, sqlite3_column_text(st, 1) ?
			    (const char *)sqlite3_column_text(st, 1) : "-",
			    sqlite3_column_text(st, 2), sqlite3_column_text(st, 3));
			if (sqlite3_column_int64(st, 4) && state_parse(sstate_names,
			    (const char *)sqlite3_column_text(st, 3)) == S_ACTIVE)
				printf("next:       %s\n", fmt_local(
				    sqlite3_column_int64(st, 4), t, sizeof(t)));
			printf("runs:       %d (%d skipped)\n\nrecent runs:\n",
			    sqlite3_column_int(st, 7), sqlite3_column_int(st, 8));
		}
	}
	db_done(st);
	if (!found)
		return 0;
	st = db_prep("SELECT id, state, created FROM jobs WHERE schedule = ?"
	    " ORDER BY seq DESC LIMIT 10", "s", id);
	while (db_row(st))
		if (json) {
			buf_add(&b, "{");
			json_kstr(&b, "id", (const char *)sqlite3_column_text(st, 0));
			json_kstr(&b, "state", (const char *)sqlite3_column_text(st, 1));
			json_time(&b, "createdAt", sqlite3_column_int64(st, 2));
			json_end(&b, '}');
			buf_add(&b, ",");
		} else
			printf("  %s  %-9s  %s\n", sqlite3_column_text(st, 0),
			    sqlite3_column_text(st, 1), fmt_local(
			    sqlite3_column_int64(st, 2), t, sizeof(t)));
	db_done(st);
	if (json) {
		json_end(&b, ']');
		buf_add(&b, "}");
		puts(b.s);
		free(b.s);
	}
	return 1;
}

static int prune_request(const char *, long long);

/*
 * Deletes ended jobs.  Only the daemon writes the store: while one runs it
 * gets a request; else prune takes the home's lock and does it itself.
 */
static int
cmd_prune(int argc, char *argv[])
{
	const char *state = NULL, *why;
	long long older = 0;
	pid_t pid;
	int c, n;

	while ((c = opt_next(argc, argv)) != -1)
		switch (c) {
		case 'o':
			if (units_duration(optarg, &older, &why) < 0)
				return usage_error("prune", "--older-than takes a "
				    "duration such as 168h or 30m, not '%s' (%s)",
				    optarg, why);
			break;
		case 's':
			state = optarg;
			if (!jstate_final(state))
				return usage_error("prune", "--state takes %s, %s or "
				    "%s, not '%s'", JFINAL_NAMES, optarg);
			break;
		default:
			return usage_error("prune", NULL);
		}
	if (optind != argc)
		return usage_error("prune", "unexpected argument '%s'", argv[optind]);
	if (!daemon_alive(&pid)) {
		log_quiet = 1;
		if (home_check() < 0 || spool_init() < 0 || daemon_lock() < 0 ||
		    db_open(1) < 0)
			errx(EX_ERR, "%s", errmsg);
		if ((n = jobs_prune("completed", state, now_ms() - older)) < 0)
			errx(EX_ERR, "prune: %s", errmsg);
		printf("deleted %d job%s\n", n, n == 1 ? "" : "s");
		return EX_OK;
	}
	return prune_request(state, older);
}

/*
 * prune while a daemon runs: the request, then up to 10 s until the jobs
 * it will delete are gone.
 */
static int
prune_request(const char *state, long long older)
{
	struct strlist ids = { 0 };
	long long until;
	size_t i, left = 0;
	char *s;

	open_store();
	prune_ids("completed", state, now_ms() - older, &ids);
	if (spool_req("prune", "-", older, state) < 0)
		errx(EX_ERR, "cannot spool the request: %s", errmsg);
	for (until = mono_ms() + 10000; mono_ms() < until; usleep(50000)) {
		for (i = 0, left = 0; i < ids.n; i++) {
			s = db_str("SELECT 1 FROM jobs WHERE id = ?", "s", ids.v[i]);
			left += s != NULL;
			free(s);
		}
		if (left == 0)
			break;
	}
	printf("deleted %zu job%s\n", ids.n - left, ids.n - left == 1 ? "" : "s");
	strlist_free(&ids);
	if (left) {
		warnx("the daemon has not deleted %zu of them after 10s; it will",
		    left);
		return EX_ERR;
	}
	return EX_OK;
}

/* ---- export, import, metrics */

/*
 * libarchive is loaded when export or import needs it, not at every start:
 * with what it links (libxml2, ICU, libstdc++, the compressors) it is 13
 * of the 20 libraries that each submit would otherwise load.  Its
 * functions are called through arc, filled by arc_load.
 */
#define ARC_SONAME	"libarchive.so.13"
#define ARC_FUNCS \
	X(archive_entry_free) \
	X(archive_entry_new) \
	X(archive_entry_pathname) \
	X(archive_entry_set_filetype) \
	X(archive_entry_set_mtime) \
	X(archive_entry_set_pathname) \
	X(archive_entry_set_perm) \
	X(archive_entry_set_size) \
	X(archive_entry_size) \
	X(archive_error_string) \
	X(archive_read_data) \
	X(archive_read_free) \
	X(archive_read_new) \
	X(archive_read_next_header) \
	X(archive_read_open_filename) \
	X(archive_read_support_filter_all) \
	X(archive_read_support_format_tar) \
	X(archive_write_add_filter_gzip) \
	X(archive_write_close) \
	X(archive_write_data) \
	X(archive_write_free) \
	X(archive_write_header) \
	X(archive_write_new) \
	X(archive_write_open_filename) \
	X(archive_write_set_format_pax_restricted)

static struct {
#define X(f)	__typeof__(&f) f;
	ARC_FUNCS
#undef X
} arc;

static int
arc_load(void)
{
	static int loaded;
#define X(f)	#f,
	static const char *const names[] = { ARC_FUNCS };
#undef X
#define X(f)	(void **)&arc.f,
	static void **const slots[] = { ARC_FUNCS };
#undef X

	return lib_load(&loaded, ARC_SONAME, names, slots, sizeof(names) /
	    sizeof(names[0]), "export and import need libarchive", "libarchive13");
}

/* One file into the archive, under jobrun-ID/. */
static int
ar_put(struct archive *a, const char *id, const char *name, const char *data,
    size_t len)
{
	struct archive_entry *e = arc.archive_entry_new();
	char *path = xasprintf("jobrun-%s/%s", id, name);
	int rc = 0;

	arc.archive_entry_set_pathname(e, path);
	arc.archive_entry_set_size(e, (la_int64_t)len);
	arc.archive_entry_set_filetype(e, AE_IFREG);
	arc.archive_entry_set_perm(e, 0600);
	arc.archive_entry_set_mtime(e, time(NULL), 0);
	if (arc.archive_write_header(a, e) != ARCHIVE_OK ||
	    (len && arc.archive_write_data(a, data, len) != (la_ssize_t)len))
		rc = fail("%s", arc.archive_error_string(a));
	arc.archive_entry_free(e);
	free(path);
	return rc;
}

/* The job's logs, logs/N.log, into the archive. */
static int
ar_logs(struct archive *a, const char *id)
{
	char *dir = home_path("logs/%s", id), *p, *text, *name;
	struct dirent *d;
	size_t len;
	int rc = 0;
	DIR *dp = opendir(dir);

	while (rc == 0 && dp && (d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.' || strstr(d->d_name, ".log") == NULL)
			continue;
		p = xasprintf("%s/%s", dir, d->d_name);
		if ((text = read_file(p, &len)) != NULL) {
			name = xasprintf("logs/%s", d->d_name);
			rc = ar_put(a, id, name, text, len);
			free(name);
		}
		free(text);
		free(p);
	}
	if (dp)
		closedir(dp);
	free(dir);
	return rc;
}

/* The archive's files, one after another; 0, or -1 with errmsg. */
static int
export_write(struct archive *a, const char *id)
{
	struct taskrow *t = NULL;
	struct buf js = { 0 };
	struct jobrow r;
	struct env e;
	char *rows = db_str(rows_sql, "s", id), *meta_;
	size_t n, i;
	int rc;

	db_job(id, &r);
	n = db_tasks(id, &t);
	json_job(&js, &r, t, n);
	buf_add(&js, "\n");
	meta_ = xasprintf("{\"format\":\"jobrun-export\",\"version\":1,"
	    "\"jobrun\":\"%s\",\"id\":\"%s\",\"exportedAt\":%lld}\n",
	    JOBRUN_VERSION, id, now_ms());
	rc = ar_put(a, id, "export.json", meta_, strlen(meta_));
	if (rc == 0)
		rc = ar_put(a, id, "job.json", js.s, js.len);
	if (rc == 0 && rows)
		rc = ar_put(a, id, "rows.json", rows, strlen(rows));
	if (rc == 0 && r.envelope && spool_parse(r.envelope, &e) == 0) {
		rc = ar_put(a, id, "job.yaml", e.source, strlen(e.source));
		env_free(&e);
	}
	if (rc == 0)
		rc = ar_logs(a, id);
	for (i = 0; i < n; i++)
		taskrow_free(&t[i]);
	free(t);
	jobrow_free(&r);
	free(js.s);
	free(rows);
	free(meta_);
	return rc;
}

/*
 * export: the job's record (show --json), its rows (for import), its job
 * file as the store keeps it (secrets cut out) and its logs, in one
 * .tar.gz: to a file, or with -o - to standard output.
 */
static int
cmd_export(int argc, char *argv[])
{
	char id[ID_LEN + 1], *st, *out;
	struct archive *a;
	int c, rc;

	out = NULL;
	while ((c = opt_next(argc, argv)) != -1)
		switch (c) {
		case 'o': out = optarg; break;
		default: return usage_error("export", NULL);
		}
	if (argc - optind != 1)
		return usage_error("export", "expected one job id");
	open_store();
	if ((rc = resolve_id(argv[optind], id)) != 0)
		return rc;
	st = db ? db_str("SELECT state FROM jobs WHERE id = ?", "s", id) : NULL;
	if (st == NULL || !jstate_final(st)) {
		warnx("job %s is %s; export it once it has ended", id, st ? st :
		    "still in the spool");
		free(st);
		return EX_ERR;
	}
	free(st);
	if (arc_load() < 0) {
		warnx("%s", errmsg);
		return EX_ERR;
	}
	out = out ? xstrdup(out) : xasprintf("jobrun-%s.tar.gz", id);
	a = arc.archive_write_new();
	arc.archive_write_add_filter_gzip(a);
	arc.archive_write_set_format_pax_restricted(a);
	rc = arc.archive_write_open_filename(a, strcmp(out, "-") ? out : NULL) !=
	    ARCHIVE_OK ? fail("%s: %s", out, arc.archive_error_string(a)) :
	    export_write(a, id);
	if (arc.archive_write_close(a) != ARCHIVE_OK && rc == 0)
		rc = fail("%s: %s", out, arc.archive_error_string(a));
	arc.archive_write_free(a);
	if (rc == 0 && strcmp(out, "-"))
		printf("%s\n", out);
	else if (rc < 0) {
		warnx("%s", errmsg);
		if (strcmp(out, "-"))
			unlink(out);
	}
	free(out);
	return rc < 0 ? EX_ERR : EX_OK;
}

/* What import takes from an archive: nothing is written where the archive says. */
struct imported {
	char *meta, *rows;
	struct strlist lognames, logs;	/* "N.log" and its text */
};

static void
imported_free(struct imported *im)
{
	free(im->meta);
	free(im->rows);
	strlist_free(&im->lognames);
	strlist_free(&im->logs);
}

static int
ar_read(const char *file, struct imported *im)
{
	struct archive *a;
	struct archive_entry *e;
	const char *path, *base;
	char *buf;
	la_int64_t size;
	int rc = 0;

	memset(im, 0, sizeof(*im));
	if (arc_load() < 0)
		return -1;
	a = arc.archive_read_new();
	arc.archive_read_support_filter_all(a);
	arc.archive_read_support_format_tar(a);
	if (arc.archive_read_open_filename(a, strcmp(file, "-") ? file : NULL,
	    65536) != ARCHIVE_OK)
		rc = fail("%s: not a jobrun export: %s", file,
		    arc.archive_error_string(a));
	while (rc == 0 && (rc = arc.archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		path = arc.archive_entry_pathname(e);
		size = arc.archive_entry_size(e);
		base = (base = strchr(path, '/')) ? base + 1 : path;
		if (size < 0 || size > 1LL << 30) {
			rc = fail("%s: %s is too large", file, path);
			break;
		}
		buf = xcalloc(1, (size_t)size + 1);
		if (arc.archive_read_data(a, buf, (size_t)size) != (la_ssize_t)size) {
			free(buf);
			rc = fail("%s: %s", file, arc.archive_error_string(a));
			break;
		}
		if (strcmp(base, "export.json") == 0)
			im->meta = buf;
		else if (strcmp(base, "rows.json") == 0)
			im->rows = buf;
		else if (strncmp(base, "logs/", 5) == 0 && base[5] && strspn(base +
		    5, "0123456789") == strlen(base + 5) - 4 && strcmp(base +
		    strlen(base) - 4, ".log") == 0) {
			strlist_add(&im->lognames, xstrdup(base + 5));
			strlist_add(&im->logs, buf);
		} else
			free(buf);
	}
	if (rc == ARCHIVE_EOF)
		rc = 0;
	else if (rc != 0 && rc != -1)
		rc = fail("%s: not a jobrun export: %s", file,
		    arc.archive_error_string(a));
	arc.archive_read_free(a);
	if (rc == 0 && (im->meta == NULL || strstr(im->meta, "\"jobrun-export\"")
	    == NULL || im->rows == NULL))
		rc = fail("%s: not a jobrun export (no export.json or rows.json)", file);
	return rc;
}

/*
 * The id of the job in an archive, if it is one this home can take: a
 * well-formed id, an ended job, not here already.  NULL after a warning.
 */
static char *
import_check(const char *file, const struct imported *im)
{
	char *id, *st, *here;
	int mem = 0, ok;

	open_store();
	if (db == NULL && (mem = 1) && db_open_memory() < 0)
		errx(EX_ERR, "%s", errmsg);
	id = db_str("SELECT json_extract(?, '$.job.id')", "s", im->rows);
	st = db_str("SELECT json_extract(?, '$.job.state')", "s", im->rows);
	here = id && !mem ? db_str("SELECT 1 FROM jobs WHERE id = ?", "s", id) :
	    NULL;
	ok = id && strlen(id) == ID_LEN && is_hex(id) && st && jstate_final(st);
	if (!ok)
		warnx("%s: the job in it is not one jobrun can show", file);
	else if (here)
		warnx("job %s is in this home already", id);
	if (mem)
		db_close();
	if (!ok || here) {
		free(id);
		id = NULL;
	}
	free(st);
	free(here);
	return id;
}

/* The rows into the store: by the daemon if one runs, else under its lock. */
static int
import_rows(const char *id, const char *rows)
{
	long long until;
	pid_t pid;
	char *p = NULL;

	if (!daemon_alive(&pid)) {
		if (home_check() < 0 || spool_init() < 0 || daemon_lock() < 0 ||
		    (db_close(), db_open(1)) < 0 || db_begin() < 0 ||
		    db_import(rows, id) < 0 || db_commit() < 0)
			errx(EX_ERR, "%s", errmsg);	/* no commit: nothing stays */
		return EX_OK;
	}
	if (spool_reqd("import", id, 0, NULL, rows) < 0)
		errx(EX_ERR, "cannot spool the request: %s", errmsg);
	for (until = mono_ms() + 10000; p == NULL && mono_ms() < until;
	    usleep(50000)) {
		if (db == NULL)
			db_open(0);
		p = db ? db_str("SELECT 1 FROM jobs WHERE id = ?", "s", id) : NULL;
	}
	if (p == NULL) {
		warnx("the daemon has not imported job %s after 10s", id);
		return EX_ERR;
	}
	free(p);
	return EX_OK;
}

/*
 * import: a job exported elsewhere, for inspection here (show, logs, ls);
 * it never runs.  Logs go in place first (nothing is written where the
 * archive's names say), then the rows.
 */
static int
cmd_import(int argc, char *argv[])
{
	struct imported im;
	char *id, *dir;
	size_t i;
	int rc = EX_OK;

	if (opt_next(argc, argv) != -1 || argc - optind != 1)
		return usage_error("import", argc - optind != 1 ? "expected one "
		    "archive (or - for standard input)" : NULL);
	if (ar_read(argv[optind], &im) < 0) {
		warnx("%s", errmsg);
		imported_free(&im);
		return EX_ERR;
	}
	if ((id = import_check(argv[optind], &im)) == NULL) {
		imported_free(&im);
		return EX_ERR;
	}
	dir = home_path("logs/%s", id);
	mkdir_p(dir);
	for (i = 0; rc == EX_OK && i < im.logs.n; i++)
		if (put_file(dir, im.lognames.v[i], im.logs.v[i], 0600) < 0) {
			warnx("%s", errmsg);
			rc = EX_ERR;
		}
	free(dir);
	if (rc == EX_OK)
		rc = import_rows(id, im.rows);
	if (rc == EX_OK)
		printf("%s\n", id);
	free(id);
	imported_free(&im);
	return rc;
}

/* The store in Prometheus' text format, for a scrape or a cron job. */
static int
cmd_metrics(int argc, char *argv[])
{
	struct buf b = { 0 };
	pid_t pid;

	if (opt_next(argc, argv) != -1)
		return usage_error("metrics", NULL);
	if (optind != argc)
		return usage_error("metrics", "unexpected argument '%s'",
		    argv[optind]);
	open_store();
	if (db == NULL) {	/* an empty home: the same names, all zero */
		if (db_open_memory() < 0)
			errx(EX_ERR, "%s", errmsg);
	}
	db_metrics(&b, daemon_alive(&pid));
	fputs(b.s, stdout);
	free(b.s);
	return EX_OK;
}

static int cmd_help(int, char *[]);

/* ----------------------------------------------------------------- top -- */

/*
 * jobrun top: a live view of the store, read-only like ls.  Every frame is
 * drawn into a grid of cells, which --once prints as text and the curses
 * view puts on screen: one drawing path for both.  The store is read again
 * only when SQLite's data_version, the spool directory or the daemon's lock
 * changed, or a key changed what is shown; in between, the loop sleeps in
 * poll(2), waking each second for the clock, so an idle top costs next to
 * nothing.  Only the jobs on screen are read: the list is paged by jobs.seq
 * (keyset, not OFFSET), and the totals come from the store's counts.
 * Jobs still in the spool come first, as in ls.
 */

/*
 * ncurses is loaded (dlopen) by the live view only: the other verbs, and
 * top --once, do without it.  Its calls, and the variables it keeps
 * (COLS, LINES, stdscr), go through cu by these macros; curses.h's own
 * macros (getch, erase, move ...) end in them too.
 */
#define CU_SONAME	"libncursesw.so.6"
#define CU_SYMS \
	X(COLS) X(LINES) X(stdscr) X(cbreak) X(curs_set) X(delscreen) X(endwin) \
	X(has_colors) X(init_pair) X(keypad) X(newterm) X(nodelay) X(noecho) \
	X(nonl) X(set_escdelay) X(start_color) X(tigetstr) X(use_default_colors) \
	X(waddnstr) X(wattrset) X(werase) X(wgetch) X(wmove) X(wrefresh)
static struct {
#define X(f)	__typeof__(f) *m_##f;
	CU_SYMS
#undef X
} cu;
#define COLS	(*cu.m_COLS)
#define LINES	(*cu.m_LINES)
#define stdscr	(*cu.m_stdscr)
#define cbreak	(*cu.m_cbreak)
#define curs_set	(*cu.m_curs_set)
#define delscreen	(*cu.m_delscreen)
#define endwin	(*cu.m_endwin)
#define has_colors	(*cu.m_has_colors)
#define init_pair	(*cu.m_init_pair)
#define keypad	(*cu.m_keypad)
#define newterm	(*cu.m_newterm)
#define nodelay	(*cu.m_nodelay)
#define noecho	(*cu.m_noecho)
#define nonl	(*cu.m_nonl)
#define set_escdelay	(*cu.m_set_escdelay)
#define start_color	(*cu.m_start_color)
#define tigetstr	(*cu.m_tigetstr)
#define use_default_colors	(*cu.m_use_default_colors)
#define waddnstr	(*cu.m_waddnstr)
#define wattrset	(*cu.m_wattrset)
#define werase	(*cu.m_werase)
#define wgetch	(*cu.m_wgetch)
#define wmove	(*cu.m_wmove)
#define wrefresh	(*cu.m_wrefresh)

static int
cu_load(void)
{
	static int loaded;
#define X(f)	#f,
	static const char *const names[] = { CU_SYMS };
#undef X
#define X(f)	(void **)&cu.m_##f,
	static void **const slots[] = { CU_SYMS };
#undef X

	return lib_load(&loaded, CU_SONAME, names, slots, sizeof(names) /
	    sizeof(names[0]), "top needs ncurses", "libncursesw6");
}

enum { TV_JOBS, TV_TASKS, TV_LOG, TV_HELP };
/* Colours; a cell's attribute is one of these, or'ed with TA_*. */
enum { TC_NONE, TC_RUN, TC_DONE, TC_FAIL, TC_STOP, TC_WAIT, TC_DIM };
#define TA_REV		0x40	/* the selection, the column titles */
#define TA_BOLD		0x80
#define TA_COLOR	0x3f

#define TOP_MINW	40	/* below this, a message instead of the view */
#define TOP_MINH	8
#define TOP_LOGTAIL	(256 * 1024)	/* the log pane reads this much at most */

struct top_cell {
	char c[4];			/* one character, UTF-8 */
	unsigned char n;		/* bytes in c; 0: right half of a wide one */
	unsigned char a;		/* TC_* | TA_* */
};

struct top_job {			/* a row of the jobs list */
	char id[ID_LEN + 1];
	char *name, *state, *note;	/* note: a progress message, or the error */
	long long seq;			/* 0: still in the spool */
	long long created, started, completed, due;
	int ntasks, ndone, pct;		/* pct: -1 when no task reported a number */
};

struct top_task {			/* a row of the task view */
	struct taskrow r;
	char *progress;
	int tries;			/* 1 + retry.limit; 0 unknown, -1 composite */
};

struct top_col {			/* a column of a list */
	const char *title;
	int w, flex, keep;		/* short of room, the lowest keep goes */
};

/* The state filter's steps and the totals' order; 0 is no filter. */
static const int top_states[] = { -1, J_RUNNING, J_PENDING, J_SCHEDULED,
	J_COMPLETED, J_FAILED, J_CANCELLED };
#define TOP_NSTATES	(sizeof(top_states) / sizeof(top_states[0]))

static const char *
top_state_name(size_t i)
{
	return i && i < TOP_NSTATES ? jstate_name(top_states[i]) : NULL;
}

struct top {
	int once, utf8, color, w, h, view, quit;
	int back, hback;		/* where Esc leaves the log pane, the help */
	long long delay_ms;
	struct top_cell *grid;
	/* when to read again */
	sqlite3_stmt *dvst;		/* PRAGMA data_version */
	long long dv;
	struct timespec spool_mt;
	int dirty;
	/* the header */
	int alive;
	pid_t pid;
	long long beat, counts[TOP_NSTATES], total, nmatch;
	long long dbc[TOP_NSTATES];
	char *runtime;
	long long down, fault_at;	/* the engine away, the store unwritable */
	char *fault;
	struct buf queues;
	/* the jobs list: spooled jobs (sp), then the store's from seq_top down */
	struct top_job *sp, *rows;
	size_t nsp, skip, nrows;
	long long seq_top;		/* 0: from the newest */
	int sel, more;
	char selid[ID_LEN + 1];		/* keep the selection on this job */
	char filter[64];
	size_t state;			/* the state filter, in top_states */
	/* the task view and the log pane */
	char job[ID_LEN + 1];
	struct jobrow jr;
	struct job *spec;
	struct top_task *tasks;
	size_t ntasks;
	int tsel, ttop, lpos, lback;
	char *lname, *lstate, *ltext;
	off_t lsize;
	struct top_line { const char *s; size_t n; } *dl;	/* ltext, wrapped */
	size_t ndl;
	int dlw;			/* the width it was wrapped to */
	/* the two bottom lines */
	int prompt;			/* '/', 'c' or 'r' while asking */
	char input[64], target[ID_LEN + 1], tname[64], msg[256];
};

static volatile sig_atomic_t top_sig;

static void
top_on_signal(int sig)
{
	top_sig = sig;
}

/* ---- the grid */

/*
 * The next character of s (len bytes): returns how many bytes it takes and
 * sets *cw to its width in columns (0: dropped) and *sub to a replacement
 * for what cannot be shown as it is (controls, invalid UTF-8), else 0.
 */
static size_t
top_glyph(const struct top *t, const char *s, size_t len, int *cw, char *sub)
{
	unsigned char ch = *s;
	mbstate_t ms;
	wchar_t wc;
	size_t n;

	*cw = 1;
	*sub = 0;
	if (ch < 0x80 || !t->utf8) {
		if (ch == '\t' || ch == '\n' || ch == '\r')
			*sub = ' ';
		else if (ch < 0x20 || ch >= 0x7f)
			*sub = '?';
		return 1;
	}
	memset(&ms, 0, sizeof(ms));
	n = mbrtowc(&wc, s, len, &ms);
	if (n == (size_t)-1 || n == (size_t)-2 || n == 0 || n > 4) {
		*sub = '?';
		return 1;
	}
	if ((*cw = wcwidth(wc)) < 0)
		*sub = '?';
	if (*cw < 0 || *cw > 2)
		*cw = 1;
	return n;
}

/* Bytes of s (len bytes) that fit in w columns. */
static size_t
top_fit(const struct top *t, const char *s, size_t len, int w)
{
	size_t off = 0, n;
	int cw, used = 0;
	char sub;

	while (off < len) {
		n = top_glyph(t, s + off, len - off, &cw, &sub);
		if (used + cw > w)
			break;
		used += cw;
		off += n;
	}
	return off;
}

/* Writes len bytes of s at (y, x) in at most maxw columns; returns the columns used. */
static int
top_putn(struct top *t, int y, int x, int maxw, int a, const char *s, size_t len)
{
	struct top_cell *c;
	size_t off = 0, n;
	int cw, used = 0;
	char sub;

	if (y < 0 || y >= t->h || x < 0 || x >= t->w)
		return 0;
	if (maxw > t->w - x)
		maxw = t->w - x;
	while (off < len && s[off]) {
		n = top_glyph(t, s + off, len - off, &cw, &sub);
		off += n;
		if (cw == 0 || used + cw > maxw) {
			if (cw == 0)
				continue;
			break;
		}
		c = &t->grid[y * t->w + x + used];
		if (c->n == 0 && x + used > 0)	/* the right half of a wide one */
			memcpy(c[-1].c, " ", c[-1].n = 1);
		if (sub)
			memcpy(c->c, &sub, c->n = 1);
		else
			memcpy(c->c, s + off - n, c->n = n);
		c->a = a;
		if (cw == 2) {
			c[1].n = 0;
			c[1].a = a;
		} else if (x + used + 1 < t->w && c[1].n == 0)
			memcpy(c[1].c, " ", c[1].n = 1);
		used += cw;
	}
	return used;
}

static int
top_put(struct top *t, int y, int x, int maxw, int a, const char *s)
{
	return s ? top_putn(t, y, x, maxw, a, s, strlen(s)) : 0;
}

static int
top_putf(struct top *t, int y, int x, int maxw, int a, const char *fmt, ...)
{
	va_list ap;
	char s[512];

	va_start(ap, fmt);
	vsnprintf(s, sizeof(s), fmt, ap);
	va_end(ap);
	return top_put(t, y, x, maxw, a, s);
}

/* Adds the TA_* bits in a to columns [x0, x1) of line y. */
static void
top_attr(struct top *t, int y, int x0, int x1, int a)
{
	for (; y >= 0 && y < t->h && x0 < x1 && x0 < t->w; x0++)
		t->grid[y * t->w + x0].a |= a;
}

static void
top_clear(struct top *t)
{
	size_t i;

	for (i = 0; i < (size_t)t->w * t->h; i++) {
		t->grid[i].c[0] = ' ';
		t->grid[i].n = 1;
		t->grid[i].a = 0;
	}
}

/* For --once: the frame as text, without trailing blanks. */
static void
top_print(const struct top *t)
{
	struct buf b = { 0 };
	const struct top_cell *c;
	int y, x;

	for (y = 0; y < t->h; y++) {
		for (x = 0; x < t->w; x++) {
			c = &t->grid[y * t->w + x];
			buf_addn(&b, c->c, c->n);
		}
		while (b.len > 0 && b.s[b.len - 1] == ' ')
			b.s[--b.len] = '\0';
		buf_add(&b, "\n");
	}
	fputs(b.s, stdout);
	free(b.s);
}

static attr_t
top_cattr(const struct top *t, int a)
{
	attr_t r = 0;

	if (a & TA_REV)
		r |= A_REVERSE;
	if (a & TA_BOLD)
		r |= A_BOLD;
	if ((a & TA_COLOR) == TC_DIM)
		r |= A_DIM;
	else if (t->color && (a & TA_COLOR))
		r |= COLOR_PAIR(a & TA_COLOR);
	return r;
}

/* Puts the frame on screen, a run of cells of one attribute at a time. */
static void
top_paint(const struct top *t)
{
	const struct top_cell *c;
	struct buf b = { 0 };
	int y, x, x0, a;

	for (y = 0; y < t->h; y++) {
		move(y, 0);
		/* (not the last cell of the screen: writing it may scroll) */
		for (x = 0; x < t->w - (y == t->h - 1); x = x0) {
			a = t->grid[y * t->w + x].a;
			b.len = 0;
			for (x0 = x; x0 < t->w - (y == t->h - 1); x0++) {
				c = &t->grid[y * t->w + x0];
				if (c->a != a)
					break;
				buf_addn(&b, c->c, c->n);
			}
			attrset(top_cattr(t, a));
			if (b.len)
				addnstr(b.s, (int)b.len);
		}
	}
	attrset(A_NORMAL);
	free(b.s);
	refresh();
}

/*
 * Lays out columns in w: drops the columns with the lowest keep until the
 * rest fits, then shares what is left among the flexible ones.  Sets x[i]
 * and cw[i] (0: dropped).
 */
static void
top_layout(const struct top_col *col, int n, int w, int *x, int *cw)
{
	int i, used, flex, low;

	for (i = 0; i < n; i++)
		cw[i] = col[i].w;
	for (;;) {
		for (i = 0, used = -1, flex = 0; i < n; i++)
			if (cw[i]) {
				used += cw[i] + 1;
				flex += col[i].flex;
			}
		if (used <= w)
			break;
		for (i = 0, low = -1; i < n; i++)
			if (cw[i] && (low < 0 || col[i].keep < col[low].keep))
				low = i;
		cw[low] = 0;
	}
	for (i = 0, w -= used, used = 0; i < n; i++) {
		if (cw[i] && flex > 0)
			cw[i] += w * col[i].flex / flex;
		x[i] = used;
		if (cw[i])
			used += cw[i] + 1;
	}
}

/* ---- reading the store */

static void
top_rows_free(struct top_job **v, size_t *n)
{
	size_t i;

	for (i = 0; i < *n; i++) {
		free((*v)[i].name);
		free((*v)[i].state);
		free((*v)[i].note);
	}
	free(*v);
	*v = NULL;
	*n = 0;
}

/* Where a job state is in top_states; 0 for none of them. */
static size_t
top_state(const char *s)
{
	size_t i;

	for (i = 1; s && i < TOP_NSTATES; i++)
		if (strcmp(s, top_state_name(i)) == 0)
			return i;
	return 0;
}

/* A progress report that is a number from 0 to 100 ("42", "42.5%"), or -1. */
static int
top_pct(const char *s)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0')
		return -1;
	v = strtod(s, &end);
	while (end != s && (*end == '%' || *end == ' '))
		end++;
	return end == s || *end || !(v >= 0 && v <= 100) ? -1 : (int)v;
}

/*
 * A job's tasks done and its progress: the mean over its top-level tasks,
 * a finished one counting 100 and one that reported nothing 0, once any
 * reported a number; the note is the latest message a running task
 * reported, else the job's error.
 */
static void
top_job_progress(struct top_job *j, const char *error)
{
	sqlite3_stmt *st;
	const char *state, *prog;
	long long at, last = -1;
	int ntop = 0, sum = 0, nums = 0, p, done;

	j->pct = -1;
	st = db_prep("SELECT parent, state, progress, progress_at FROM tasks"
	    " WHERE job = ? AND (parent = 0 OR progress IS NOT NULL)", "s", j->id);
	while (db_row(st)) {
		state = (const char *)sqlite3_column_text(st, 1);
		prog = (const char *)sqlite3_column_text(st, 2);
		at = sqlite3_column_int64(st, 3);
		p = top_pct(prog);
		done = state_parse(tstate_names, state) == T_COMPLETED ||
		    state_parse(tstate_names, state) == T_SKIPPED;
		if (sqlite3_column_int(st, 0) == 0) {
			ntop++;
			j->ndone += done;
			sum += done ? 100 : p >= 0 ? p : 0;
			nums += p >= 0;
		}
		if (prog && p < 0 && state_parse(tstate_names, state) == T_RUNNING &&
		    at > last) {
			free(j->note);
			j->note = xstrdup(prog);
			last = at;
		}
	}
	db_done(st);
	if (nums)
		j->pct = sum / ntop;
	if (j->note == NULL && error)
		j->note = xstrdup(error);
}

static void
top_job_read(sqlite3_stmt *st, struct top_job *j)
{
	const unsigned char *id = sqlite3_column_text(st, 1);

	memset(j, 0, sizeof(*j));
	j->seq = sqlite3_column_int64(st, 0);
	snprintf(j->id, sizeof(j->id), "%s", id ? (const char *)id : "");
	j->name = col_str(st, 2);
	j->state = col_str(st, 3);
	j->created = sqlite3_column_int64(st, 4);
	j->started = sqlite3_column_int64(st, 5);
	j->completed = sqlite3_column_int64(st, 6);
	j->ntasks = sqlite3_column_int(st, 7);
	j->due = sqlite3_column_int64(st, 9);
	top_job_progress(j, (const char *)sqlite3_column_text(st, 8));
}

static void
top_bind(sqlite3_stmt *st, const char *name, const char *s, long long v)
{
	int i = sqlite3_bind_parameter_index(st, name);

	if (i > 0 && s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else if (i > 0)
		sqlite3_bind_int64(st, i, v);
}

/*
 * A query on jobs that passes the filters: sql, the filters' WHERE, then
 * tail, which may use :seq and :lim.  The id filter is a prefix range, the
 * state filter an equality, so that both can use an index.
 */
static sqlite3_stmt *
top_prep(const struct top *t, const char *sql, const char *tail, long long seq,
    long long lim)
{
	struct buf b = { 0 };
	sqlite3_stmt *st;
	char hi[sizeof(t->filter) + 1];

	buf_add(&b, sql);
	buf_add(&b, " WHERE 1");
	if (top_state_name(t->state))
		buf_add(&b, " AND state = :st");
	if (*t->filter)
		buf_add(&b, " AND (instr(lower(name), lower(:q))"
		    " OR (id >= :q AND id < :hi))");
	buf_add(&b, tail);
	st = db ? db_prep(b.s, NULL) : NULL;
	free(b.s);
	if (st == NULL)
		return NULL;
	snprintf(hi, sizeof(hi), "%sg", t->filter);
	top_bind(st, ":st", top_state_name(t->state), 0);
	top_bind(st, ":q", t->filter, 0);
	top_bind(st, ":hi", hi, 0);
	top_bind(st, ":seq", NULL, seq);
	top_bind(st, ":lim", NULL, lim);
	return st;
}

/* Whether a spooled job passes the filters, as top_prep's WHERE would. */
static int
top_match(const struct top *t, const struct jobrow *r)
{
	if (top_state_name(t->state) && strcmp(r->state,
	    top_state_name(t->state)))
		return 0;
	return *t->filter == '\0' ||
	    strncmp(r->id, t->filter, strlen(t->filter)) == 0 ||
	    (r->name && strcasestr(r->name, t->filter));
}

/* The jobs still in the spool (counted in the totals) that pass the filters. */
static void
top_spool_load(struct top *t)
{
	struct strlist names;
	struct top_job *s;
	struct jobrow r;
	struct job *j;
	size_t i;
	char *in;

	top_rows_free(&t->sp, &t->nsp);
	spool_list(&names);
	for (i = names.n; i-- > 0; ) {		/* newest first */
		if (!spool_jobrow(names.v[i], &r, &j))
			continue;
		spec_free(j);
		/* ingested meanwhile? */
		in = db ? db_str("SELECT id FROM jobs WHERE id = ?", "s", r.id) : NULL;
		if (in == NULL) {
			t->counts[top_state(r.state)]++;
			t->total++;
		}
		if (in == NULL && top_match(t, &r)) {
			t->sp = xreallocarray(t->sp, t->nsp + 1, sizeof(*t->sp));
			s = &t->sp[t->nsp++];
			memset(s, 0, sizeof(*s));
			snprintf(s->id, sizeof(s->id), "%s", r.id);
			s->name = xstrdup(r.name);
			s->state = xstrdup(r.state);
			s->created = r.created;
			s->due = r.due;
			s->ntasks = r.ntasks;
			s->pct = -1;
		}
		free(in);
		jobrow_free(&r);
	}
	strlist_free(&names);
}

/* "default 1/4 +2   gpu 0/1": per queue, running/cap and pending. */
static void
top_queues_load(struct top *t)
{
	struct kvlist cap = { 0 };
	sqlite3_stmt *st;
	char *caps = meta("queues"), *defcap = meta("defcap"), *w, *c, *save;
	const char *q, *k;
	size_t i;

	free(t->queues.s);
	memset(&t->queues, 0, sizeof(t->queues));
	for (w = caps ? strtok_r(caps, " ", &save) : NULL; w;
	    w = strtok_r(NULL, " ", &save))
		if ((c = strrchr(w, ':')) != NULL) {
			*c = '\0';
			kv_set(&cap, w, c + 1);
		}
	st = db_queues();
	while (db_row(st)) {
		q = (const char *)sqlite3_column_text(st, 0);
		k = kv_get(&cap, q);
		buf_addf(&t->queues, "%s%s %d/%s", t->queues.len ? "   " : "", q,
		    sqlite3_column_int(st, 1), k && *k ? k : defcap ? defcap : "?");
		if (sqlite3_column_int(st, 2))
			buf_addf(&t->queues, " +%d", sqlite3_column_int(st, 2));
		kv_set(&cap, q, "");		/* shown */
	}
	db_done(st);
	for (i = 0; i < cap.n; i++)		/* the idle ones with a cap */
		if (*cap.v[i].val)
			buf_addf(&t->queues, "%s%s 0/%s", t->queues.len ? "   " : "",
			    cap.v[i].key, cap.v[i].val);
	kv_free(&cap);
	free(caps);
	free(defcap);
}

/* The store's totals by state, from its counts (a few rows). */
static void
top_totals_load(struct top *t)
{
	sqlite3_stmt *st;

	memset(t->dbc, 0, sizeof(t->dbc));
	st = db_prep("SELECT state, n FROM counts WHERE what = 'job'", NULL);
	while (db_row(st))
		t->dbc[top_state((const char *)sqlite3_column_text(st, 0))] +=
		    sqlite3_column_int64(st, 1);
	db_done(st);
}

/* The header: the daemon's heartbeat and runtime, the queues, the totals. */
static void
top_head_load(struct top *t)
{
	char *beat;
	size_t i;
	struct status d = { 0 };

	free(t->runtime);
	t->runtime = meta("runtime");
	beat = meta("heartbeat");
	t->beat = beat ? atoll(beat) : 0;
	free(beat);
	beat = meta("engine_down");
	t->down = beat ? atoll(beat) : 0;
	free(beat);
	free(t->fault);
	status_fault(&d);
	t->fault = d.fault;
	t->fault_at = d.fault_at;
	top_queues_load(t);
	if (db)
		top_totals_load(t);
	memcpy(t->counts, t->dbc, sizeof(t->counts));
	for (i = 0, t->total = 0; i < TOP_NSTATES; i++)
		t->total += t->counts[i];
}

/* Rows of the list on screen: the lines between the header and the bottom. */
static int
top_page(const struct top *t)
{
	int n = t->h - 6 - (t->view == TV_TASKS);

	return n > 1 ? n : 1;
}

static int
top_shown(const struct top *t)
{
	return (int)t->nrows < top_page(t) ? (int)t->nrows : top_page(t);
}

/* Keeps the selection on the job it was on, if still on screen. */
static void
top_select(struct top *t)
{
	int i, shown = top_shown(t);

	for (i = 0; *t->selid && i < shown; i++)
		if (strcmp(t->rows[i].id, t->selid) == 0) {
			t->sel = i;
			break;
		}
	if (t->sel >= shown)
		t->sel = shown - 1;
	if (t->sel < 0)
		t->sel = 0;
	snprintf(t->selid, sizeof(t->selid), "%s", shown ? t->rows[t->sel].id : "");
}

/*
 * The rows on screen, and one more to tell whether there are more: the
 * spooled jobs from skip on, then the store's from seq_top down.
 */
static void
top_jobs_load(struct top *t)
{
	sqlite3_stmt *st = NULL;
	size_t want = top_page(t) + 1, n = 0, i;
	long long from;

	top_rows_free(&t->rows, &t->nrows);
	t->rows = xcalloc(want, sizeof(*t->rows));
	if (t->skip > t->nsp)
		t->skip = t->nsp;
	for (i = t->skip; i < t->nsp && n < want; i++, n++) {
		t->rows[n] = t->sp[i];
		t->rows[n].name = xstrdup(t->sp[i].name);
		t->rows[n].state = xstrdup(t->sp[i].state);
	}
	from = t->skip < t->nsp || t->seq_top == 0 ? LLONG_MAX : t->seq_top;
	if (n < want && (st = top_prep(t, "SELECT seq, id, name, state, created,"
	    " started, completed, ntasks, error, due FROM jobs", " AND seq <= :seq"
	    " ORDER BY seq DESC LIMIT :lim", from, want - n)) == NULL && db)
		snprintf(t->msg, sizeof(t->msg), "%.200s", errmsg);
	while (db_row(st))
		top_job_read(st, &t->rows[n++]);
	db_done(st);
	st = NULL;
	t->nrows = n;
	t->more = n == want;
	t->nmatch = t->nsp;
	if ((*t->filter || t->state) && (st = top_prep(t,
	    "SELECT count(*) FROM jobs", "", 0, 0)) != NULL && db_row(st))
		t->nmatch += sqlite3_column_int64(st, 0);
	db_done(st);
	top_select(t);
}

/* Moves the list k rows down: row k becomes the first (k < nrows). */
static void
top_down(struct top *t, size_t k)
{
	if (k == 0 || k >= t->nrows)
		return;
	if (t->rows[k].seq == 0)		/* still a spooled one */
		t->skip += k;
	else {
		t->skip = t->nsp;
		t->seq_top = t->rows[k].seq;
	}
	t->selid[0] = '\0';
	t->dirty = 1;
}

/* Moves the list k rows up, as far as the newest job. */
static void
top_up(struct top *t, size_t k)
{
	sqlite3_stmt *st = NULL;
	long long seq = 0;
	size_t m = 0;

	if (t->skip >= t->nsp && t->seq_top) {
		st = top_prep(t, "SELECT seq FROM jobs", " AND seq > :seq"
		    " ORDER BY seq LIMIT :lim", t->seq_top, k);
		while (db_row(st)) {
			seq = sqlite3_column_int64(st, 0);
			m++;
		}
		db_done(st);
		t->seq_top = m == k ? seq : 0;
		k -= m;
	}
	t->skip = t->skip > k ? t->skip - k : 0;
	t->selid[0] = '\0';
	t->dirty = 1;
}

/* The last page of the list, the oldest job selected. */
static void
top_end(struct top *t)
{
	sqlite3_stmt *st;
	size_t page = top_page(t), m = 0;
	long long seq = 0;

	st = top_prep(t, "SELECT seq FROM jobs", " ORDER BY seq LIMIT :lim", 0,
	    page);
	while (db_row(st)) {
		seq = sqlite3_column_int64(st, 0);
		m++;
	}
	db_done(st);
	if (m == page) {
		t->skip = t->nsp;
		t->seq_top = seq;
	} else {
		t->seq_top = 0;
		t->skip = t->nsp > page - m ? t->nsp - (page - m) : 0;
	}
	t->sel = page - 1;
	t->selid[0] = '\0';
	t->dirty = 1;
}

/* Back to the top of the list, the newest job selected. */
static void
top_home(struct top *t)
{
	t->skip = 0;
	t->seq_top = 0;
	t->sel = 0;
	t->selid[0] = '\0';
	t->dirty = 1;
}

static void
top_tasks_free(struct top *t)
{
	size_t i;

	for (i = 0; i < t->ntasks; i++) {
		taskrow_free(&t->tasks[i].r);
		free(t->tasks[i].progress);
	}
	free(t->tasks);
	t->tasks = NULL;
	t->ntasks = 0;
	jobrow_free(&t->jr);
}

/* How many attempts each task has, from the job's spec (parsed once). */
static void
top_tries(struct top *t)
{
	const struct task *k;
	struct env e;
	size_t i;

	if (t->spec == NULL && t->jr.envelope &&
	    spool_parse(t->jr.envelope, &e) == 0) {
		t->spec = spool_job_of(&e, NULL);
		env_free(&e);
	}
	for (i = 0; t->spec && i < t->ntasks; i++)
		if ((k = task_at(t->spec, t->tasks[i].r.pos)) != NULL)
			t->tasks[i].tries = is_composite(k) ? -1 : 1 +
			    (k->retry.limit > 0 ? k->retry.limit : 0);
}

/* The task view's job and tasks; back to the list if the job is gone. */
static void
top_tasks_load(struct top *t)
{
	struct taskrow *tr = NULL;
	sqlite3_stmt *st;
	size_t i, n;
	int pos;

	top_tasks_free(t);
	if (!load_job(t->job, &t->jr)) {
		snprintf(t->msg, sizeof(t->msg), "job %s is gone", t->job);
		t->view = TV_JOBS;
		t->dirty = 1;
		return;
	}
	n = db ? db_tasks(t->job, &tr) : 0;
	t->tasks = xcalloc(n, sizeof(*t->tasks));
	for (i = 0; i < n; i++)
		t->tasks[i].r = tr[i];
	free(tr);
	t->ntasks = n;
	st = db ? db_prep("SELECT pos, progress FROM tasks WHERE job = ? AND"
	    " progress IS NOT NULL", "s", t->job) : NULL;
	while (db_row(st)) {
		pos = sqlite3_column_int(st, 0);
		for (i = 0; i < n; i++)
			if (t->tasks[i].r.pos == pos && !t->tasks[i].progress)
				t->tasks[i].progress = col_str(st, 1);
	}
	db_done(st);
	top_tries(t);
}

static void
top_log_free(struct top *t)
{
	free(t->ltext);
	free(t->lname);
	free(t->lstate);
	free(t->dl);
	t->ltext = t->lname = t->lstate = NULL;
	t->dl = NULL;
	t->ndl = 0;
	t->dlw = 0;
}

/* Reads the tail of the log pane's log, TOP_LOGTAIL bytes at most. */
static void
top_log_read(struct top *t, int fd, off_t size)
{
	off_t from = size > TOP_LOGTAIL ? size - TOP_LOGTAIL : 0;
	ssize_t n;
	char *nl;

	free(t->ltext);
	free(t->dl);
	t->dl = NULL;
	t->ltext = xcalloc(size - from + 1, 1);
	if ((n = pread(fd, t->ltext, size - from, from)) < 0)
		n = 0;
	t->ltext[n] = '\0';
	while (n-- > 0)			/* a NUL would end the text */
		if (t->ltext[n] == '\0')
			t->ltext[n] = ' ';
	t->lsize = size;
	/* a cut line is no line */
	if (from > 0 && (nl = strchr(t->ltext, '\n')) != NULL)
		memmove(t->ltext, nl + 1, strlen(nl + 1) + 1);
}

/* The log pane's task, and its log again if it changed size. */
static void
top_log_load(struct top *t)
{
	char *path = home_path("logs/%s/%d.log", t->job, t->lpos);
	struct stat sb;
	int fd;

	free(t->lname);
	free(t->lstate);
	t->lname = db ? db_str("SELECT name FROM tasks WHERE job = ? AND pos = ?",
	    "si", t->job, t->lpos) : NULL;
	t->lstate = db ? db_str("SELECT state FROM tasks WHERE job = ? AND"
	    " pos = ?", "si", t->job, t->lpos) : NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0 && fstat(fd, &sb) == 0 &&
	    (t->ltext == NULL || sb.st_size != t->lsize))
		top_log_read(t, fd, sb.st_size);
	if (fd >= 0)
		close(fd);
	free(path);
}

/* Whether the log pane's log changed size since it was read. */
static int
top_log_grew(const struct top *t)
{
	char *path = home_path("logs/%s/%d.log", t->job, t->lpos);
	struct stat sb;
	off_t size = stat(path, &sb) == 0 ? sb.st_size : -1;

	free(path);
	return size != t->lsize;
}

static void
top_load(struct top *t)
{
	top_head_load(t);
	top_spool_load(t);
	if (t->view == TV_TASKS)
		top_tasks_load(t);
	else if (t->view == TV_LOG)
		top_log_load(t);
	if (t->view == TV_JOBS)
		top_jobs_load(t);
}

/*
 * Reads again if anything changed since the last look: the store (its
 * data_version), the spool, the daemon, the log on screen; or if a key
 * asked for it.  Returns whether it did.
 */
static int
top_refresh(struct top *t)
{
	struct stat sb;
	long long dv = -1;
	int changed = t->dirty, alive, rc;
	pid_t pid;
	char *p;

	if (db == NULL) {			/* 1: still no database */
		if ((rc = db_open(0)) < 0)
			snprintf(t->msg, sizeof(t->msg), "%.200s", errmsg);
		changed |= rc == 0;
	}
	if (db && t->dvst == NULL)
		t->dvst = db_prep("PRAGMA data_version", NULL);
	if (db_row(t->dvst))
		dv = sqlite3_column_int64(t->dvst, 0);
	if (t->dvst)
		sqlite3_reset(t->dvst);		/* no read transaction left open */
	p = home_path("spool/new");
	if (stat(p, &sb) == 0 && (sb.st_mtim.tv_sec != t->spool_mt.tv_sec ||
	    sb.st_mtim.tv_nsec != t->spool_mt.tv_nsec)) {
		t->spool_mt = sb.st_mtim;
		changed = 1;
	}
	free(p);
	alive = daemon_alive(&pid);
	if (dv != t->dv || alive != t->alive || pid != t->pid ||
	    (t->view == TV_LOG && top_log_grew(t)))
		changed = 1;
	t->dv = dv;
	t->alive = alive;
	t->pid = pid;
	t->dirty = 0;
	if (changed)
		top_load(t);
	return changed;
}

/* ---- drawing */

static const char *const top_labels[] = { "all", "running", "pending",
	"scheduled", "completed", "failed", "cancelled" };

static const struct top_col top_jcols[] = {
	{ "ID", ID_LEN, 0, 9 }, { "NAME", 10, 3, 8 }, { "STATE", 9, 0, 9 },
	{ "TASKS", 13, 0, 5 }, { "PROGRESS", 8, 2, 4 }, { "AGE", 5, 0, 6 },
	{ "TIME", 5, 0, 3 },
};
#define TOP_NJCOLS	(int)(sizeof(top_jcols) / sizeof(top_jcols[0]))

static const struct top_col top_tcols[] = {
	{ "#", 4, 0, 9 }, { "NAME", 10, 2, 8 }, { "STATE", 9, 0, 9 },
	{ "QUEUE", 8, 0, 3 }, { "TRY", 5, 0, 4 }, { "EXIT", 4, 0, 5 },
	{ "TIME", 6, 0, 6 }, { "RESULT", 10, 3, 7 },
};
#define TOP_NTCOLS	(int)(sizeof(top_tcols) / sizeof(top_tcols[0]))

static const char *const top_keys[] = {
	[TV_JOBS] = "q quit  ? help  Enter tasks  l log  / filter  s state  "
	    "c cancel  r restart  j/k/PgUp/PgDn/g/G move",
	[TV_TASKS] = "q quit  ? help  Esc back  Enter/l log  c cancel  "
	    "r restart  j/k/PgUp/PgDn/g/G move",
	[TV_LOG] = "q quit  ? help  Esc back  j/k/PgUp/PgDn scroll  g top  "
	    "G follow",
	[TV_HELP] = "any key back  q quit",
};

static const char *const top_help[] = {
	"jobs list",
	"  Up/Down j/k  move      PgUp/PgDn  a page    g/G Home/End  first/last",
	"  Enter        the job's tasks       l          the log of its running",
	"                                                (or latest) task",
	"  /            filter by name or id prefix (Enter applies, Esc clears)",
	"  s            cycle the state filter: all, running, pending, scheduled,",
	"               completed, failed, cancelled",
	"  c / r        cancel / restart the job (asks y/n first)",
	"task view",
	"  Up/Down j/k  move      Enter or l the selected task's log",
	"  Esc          back to the jobs      c / r      cancel / restart the job",
	"log pane",
	"  follows the log as it grows; Up/Down PgUp/PgDn scroll back, G follows",
	"everywhere",
	"  ?  this help           q  quit     (the store is read again when it",
	"                                      changes, every -d SECONDS at most)",
};

/* A job's or a task's state, by name (the task names hold the job's). */
static int
top_sattr(const char *s)
{
	if (s == NULL)
		return TC_NONE;
	switch (state_parse(tstate_names, s)) {
	case T_RUNNING: return TC_RUN | TA_BOLD;
	case T_COMPLETED: return TC_DONE;
	case T_FAILED: return TC_FAIL | TA_BOLD;
	case T_CANCELLED: return TC_STOP;
	case T_SKIPPED: return TC_DIM;
	default: return TC_WAIT;
	}
}

static char *
top_dur(long long ms, char *buf)
{
	return units_fmt_duration(ms, buf, UNITS_BUFSZ);
}

/* Line 0: the daemon and the clock; 1: the queues; 2: the totals. */
static void
top_draw_head(struct top *t)
{
	char clock[16], age[UNITS_BUFSZ];
	time_t now = time(NULL);
	long long since = t->beat ? now_ms() - t->beat : 0;
	struct tm tm;
	int x, w = t->w - 10;
	size_t i;

	localtime_r(&now, &tm);
	strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	top_put(t, 0, t->w - 8, 8, TA_BOLD, clock);
	x = top_put(t, 0, 0, w, TA_BOLD, "jobrun top  ");
	if (!t->alive)
		x += top_put(t, 0, x, w - x, TC_FAIL | TA_BOLD,
		    "no daemon is running");
	else {
		x += top_putf(t, 0, x, w - x, TC_DONE | TA_BOLD, "daemon %d",
		    (int)t->pid);
		x += top_putf(t, 0, x, w - x, since > 10000 ? TC_FAIL : TC_NONE,
		    ", heartbeat %s ago", top_dur(since, age));
		if (t->down)
			x += top_putf(t, 0, x, w - x, TC_FAIL | TA_BOLD,
			    ", engine unreachable for %s", top_dur(now_ms() -
			    t->down, age));
		else
			x += top_putf(t, 0, x, w - x, 0, ", %s", t->runtime ?
			    t->runtime : "?");
		if (t->fault)
			x += top_putf(t, 0, x, w - x, TC_FAIL | TA_BOLD,
			    ", paused for %s: %s", top_dur(now_ms() -
			    t->fault_at, age), t->fault);
	}
	top_put(t, 0, x + 2, w - x - 2, TC_DIM, home);
	x = top_put(t, 1, 0, t->w, TA_BOLD, "queues  ");
	top_put(t, 1, x, t->w - x, 0, t->queues.len ? t->queues.s : "-");
	x = top_putf(t, 2, 0, t->w, TA_BOLD, "%lld job%s ", t->total,
	    t->total == 1 ? "" : "s");
	for (i = 1; i < TOP_NSTATES; i++)
		if (t->counts[i])
			x += top_putf(t, 2, x, t->w - x, top_sattr(top_state_name(i)),
			    " %lld %s", t->counts[i], top_labels[i]);
}

/* Column titles on line y, in reverse video. */
static void
top_draw_titles(struct top *t, int y, const struct top_col *col, int n,
    const int *x, const int *cw)
{
	int i;

	for (i = 0; i < n; i++)
		top_put(t, y, x[i], cw[i], TA_BOLD, col[i].title);
	top_attr(t, y, 0, t->w, TA_REV);
}

/* "[###--] 3/5" in w columns; the bar goes first when short of room. */
static void
top_draw_bar(struct top *t, int y, int x, int w, int done, int n)
{
	char num[32];
	int len = snprintf(num, sizeof(num), "%d/%d", done, n);
	int bw = w - len - 3, fill, i;

	if (bw >= 3 && n > 0) {
		fill = done >= n ? bw : done * bw / n;
		top_put(t, y, x, 1, 0, "[");
		for (i = 0; i < bw; i++)
			top_put(t, y, x + 1 + i, 1, i < fill ? TC_DONE : TC_DIM,
			    i < fill ? "#" : "-");
		top_put(t, y, x + bw + 1, 1, 0, "]");
		x += bw + 3;
		w -= bw + 3;
	}
	top_put(t, y, x, w, 0, num);
}

static void
top_draw_job(struct top *t, int y, const struct top_job *j, const int *x,
    const int *cw)
{
	char a[UNITS_BUFSZ], d[UNITS_BUFSZ];
	long long now = now_ms();
	int px = 0;

	top_put(t, y, x[0], cw[0], 0, j->id);
	top_put(t, y, x[1], cw[1], 0, j->name ? j->name : "-");
	top_put(t, y, x[2], cw[2], top_sattr(j->state), j->state);
	top_draw_bar(t, y, x[3], cw[3], j->ndone, j->ntasks);
	if (j->pct >= 0)
		px = top_putf(t, y, x[4], cw[4], TC_RUN, "%d%% ", j->pct);
	if (j->due > now && state_parse(jstate_names, j->state) == J_SCHEDULED)
		top_putf(t, y, x[4], cw[4], TC_WAIT, "due in %s",
		    top_dur(j->due - now, d));
	else
		top_put(t, y, x[4] + px, cw[4] - px, state_parse(jstate_names,
		    j->state) == J_FAILED ? TC_FAIL : 0, j->note);
	top_put(t, y, x[5], cw[5], 0, top_dur(now - j->created, a));
	top_put(t, y, x[6], cw[6], 0, j->started ? top_dur((j->completed ?
	    j->completed : now) - j->started, d) : "-");
}

static void
top_draw_jobs(struct top *t)
{
	int x[TOP_NJCOLS], cw[TOP_NJCOLS], y, shown = top_shown(t);

	top_layout(top_jcols, TOP_NJCOLS, t->w, x, cw);
	top_draw_titles(t, 3, top_jcols, TOP_NJCOLS, x, cw);
	for (y = 0; y < shown; y++)
		top_draw_job(t, 4 + y, &t->rows[y], x, cw);
	if (shown == 0)
		top_put(t, 5, 2, t->w - 2, TC_DIM, *t->filter || t->state ?
		    "no job matches the filter" : db ? "no jobs yet" :
		    "no jobs yet (no database: no daemon ever ran in this home)");
	else if (!t->once)
		top_attr(t, 4 + t->sel, 0, t->w, TA_REV);
}

/* The task view's line 3: the job. */
static void
top_draw_jobline(struct top *t, int y)
{
	const struct jobrow *r = &t->jr;
	char c[32], d[UNITS_BUFSZ];
	int x;

	x = top_putf(t, y, 0, t->w, TA_BOLD, "job %s  ", t->job);
	x += top_putf(t, y, x, t->w - x, 0, "%s  ", r->name ? r->name : "-");
	x += top_put(t, y, x, t->w - x, top_sattr(r->state), r->state);
	x += top_putf(t, y, x, t->w - x, 0, "  %d/%d tasks  created %s",
	    r->ndone, r->ntasks, fmt_local(r->created, c, sizeof(c)));
	if (r->started)
		x += top_putf(t, y, x, t->w - x, 0, "  %s %s", r->completed ?
		    "took" : "running for", top_dur((r->completed ? r->completed :
		    now_ms()) - r->started, d));
	if (r->error)
		top_putf(t, y, x, t->w - x, TC_FAIL, "  error: %s", r->error);
	else if (r->result)
		top_putf(t, y, x, t->w - x, 0, "  result: %s", r->result);
}

/* RESULT: the error, else a running task's progress, else the result. */
static void
top_draw_result(struct top *t, int y, int x, int w, const struct top_task *k)
{
	const struct taskrow *r = &k->r;
	int p = top_pct(k->progress);

	if (r->error)
		top_put(t, y, x, w, TC_FAIL, r->error);
	else if (k->progress && state_parse(tstate_names, r->state) == T_RUNNING) {
		if (p >= 0)
			top_putf(t, y, x, w, TC_RUN, "%d%%", p);
		else
			top_put(t, y, x, w, TC_RUN, k->progress);
	} else if (r->result)
		top_put(t, y, x, w, 0, r->result);
	else if (r->subjob)
		top_putf(t, y, x, w, TC_DIM, "subjob %s", r->subjob);
}

static void
top_draw_task(struct top *t, int y, const struct top_task *k, const int *x,
    const int *cw)
{
	const struct taskrow *r = &k->r;
	char s[32], d[UNITS_BUFSZ];
	int ind = r->parent && cw[1] > 4 ? 2 : 0;

	top_putf(t, y, x[0], cw[0], 0, "%d", r->pos);
	top_put(t, y, x[1] + ind, cw[1] - ind, 0, r->name ? r->name : "-");
	top_put(t, y, x[2], cw[2], top_sattr(r->state), r->state);
	top_put(t, y, x[3], cw[3], 0, r->queue ? r->queue : "-");
	if (k->tries < 0)			/* its children run, not it */
		snprintf(s, sizeof(s), "-");
	else if (k->tries)
		snprintf(s, sizeof(s), "%d/%d", r->attempt, k->tries);
	else
		snprintf(s, sizeof(s), "%d", r->attempt);
	top_put(t, y, x[4], cw[4], 0, s);
	snprintf(s, sizeof(s), r->has_exit ? "%d" : "-", r->exit_code);
	top_put(t, y, x[5], cw[5], r->has_exit && r->exit_code ? TC_FAIL : 0, s);
	top_put(t, y, x[6], cw[6], 0, r->started ? top_dur((r->completed ?
	    r->completed : now_ms()) - r->started, d) : "-");
	top_draw_result(t, y, x[7], cw[7], k);
}

static void
top_draw_tasks(struct top *t)
{
	int x[TOP_NTCOLS], cw[TOP_NTCOLS], y, page = top_page(t);

	top_draw_jobline(t, 3);
	top_layout(top_tcols, TOP_NTCOLS, t->w, x, cw);
	top_draw_titles(t, 4, top_tcols, TOP_NTCOLS, x, cw);
	if (t->tsel < t->ttop)
		t->ttop = t->tsel;
	if (t->tsel >= t->ttop + page)
		t->ttop = t->tsel - page + 1;
	for (y = 0; y < page && t->ttop + y < (int)t->ntasks; y++)
		top_draw_task(t, 5 + y, &t->tasks[t->ttop + y], x, cw);
	if (t->ntasks == 0)
		top_put(t, 6, 2, t->w - 2, TC_DIM, "no tasks yet: the job waits "
		    "in the spool for a daemon to take it in");
	else if (!t->once)
		top_attr(t, 5 + t->tsel - t->ttop, 0, t->w, TA_REV);
}

/* Cuts the log pane's text into screen lines, once per text and width. */
static void
top_log_wrap(struct top *t)
{
	const char *s = t->ltext ? t->ltext : "", *nl;
	size_t len, k;

	if (t->dl && t->dlw == t->w)
		return;
	free(t->dl);
	t->dl = NULL;
	t->ndl = 0;
	t->dlw = t->w;
	for (; *s; s = nl + 1) {
		len = (nl = strchr(s, '\n')) ? (size_t)(nl - s) : strlen(s);
		do {
			if ((k = top_fit(t, s, len, t->w)) == 0 && len)
				k = 1;
			t->dl = xreallocarray(t->dl, t->ndl + 1, sizeof(*t->dl));
			t->dl[t->ndl].s = s;
			t->dl[t->ndl++].n = k;
			s += k;
			len -= k;
		} while (len > 0);
		if (nl == NULL)
			break;
	}
}

/* The log pane: the last lines that fit, or lback lines before them. */
static void
top_draw_log(struct top *t)
{
	int y, page = top_page(t), nd;
	size_t first;

	top_log_wrap(t);
	nd = (int)t->ndl;
	if (t->lback > nd - page)
		t->lback = nd > page ? nd - page : 0;
	first = nd > page + t->lback ? (size_t)(nd - page - t->lback) : 0;
	for (y = 0; y < page && first + y < t->ndl; y++)
		top_putn(t, 4 + y, 0, t->w, 0, t->dl[first + y].s,
		    t->dl[first + y].n);
	if (t->ltext == NULL)
		top_put(t, 5, 2, t->w - 2, TC_DIM, "no log yet");
	top_putf(t, 3, 0, t->w, TA_BOLD, "log of job %s task %d %s (%s)  %s",
	    t->job, t->lpos, t->lname ? t->lname : "", t->lstate ? t->lstate :
	    "?", t->lback ? "scrolled back" : "following");
	top_attr(t, 3, 0, t->w, TA_REV);
}

static void
top_draw_help(struct top *t)
{
	size_t i;

	for (i = 0; i < sizeof(top_help) / sizeof(top_help[0]); i++)
		top_put(t, 3 + i, 0, t->w, top_help[i][0] == ' ' ? 0 : TA_BOLD,
		    top_help[i]);
}

/* "KEY what  KEY what": the keys in bold, the whole line in reverse video. */
static void
top_draw_keys(struct top *t, int y, const char *keys)
{
	const char *p = keys, *end, *sp;
	int x = 0;

	while (*p && x < t->w) {
		if ((end = strstr(p, "  ")) == NULL)
			end = p + strlen(p);
		if ((sp = memchr(p, ' ', end - p)) == NULL)
			sp = end;
		x += top_putn(t, y, x, t->w - x, TA_BOLD, p, sp - p);
		x += top_putn(t, y, x, t->w - x, 0, sp, end - sp);
		if (*end) {
			x += top_put(t, y, x, t->w - x, 0, "  ");
			end += 2;
		}
		p = end;
	}
	top_attr(t, y, 0, t->w, TA_REV);
}

/* The status line (a question, a message or the filters) and the keys. */
static void
top_draw_bottom(struct top *t)
{
	const char *keys = top_keys[t->view];
	int y = t->h - 2, x;

	if (t->prompt == '/') {
		x = top_put(t, y, 0, t->w, TA_BOLD, "filter (name or id prefix): ");
		top_putf(t, y, x, t->w - x, 0, "%s_", t->input);
		keys = "Enter apply  Esc clear  Backspace erase";
	} else if (t->prompt) {
		top_putf(t, y, 0, t->w, TC_WAIT | TA_BOLD, "%s job %s (%s)? y/n",
		    t->prompt == 'c' ? "Cancel" : "Restart", t->target, t->tname);
		keys = "y yes  n no";
	} else if (*t->msg)
		top_put(t, y, 0, t->w, TA_BOLD, t->msg);
	else if (*t->filter || t->state)
		top_putf(t, y, 0, t->w, 0, "filter: %s%s%s%s: %lld job%s",
		    top_labels[t->state], *t->filter ? ", \"" : "", t->filter,
		    *t->filter ? "\"" : "", t->nmatch, t->nmatch == 1 ? "" : "s");
	top_draw_keys(t, t->h - 1, keys);
}

static void
top_draw(struct top *t)
{
	top_clear(t);
	if (t->w < TOP_MINW || t->h < TOP_MINH) {
		top_put(t, 0, 0, t->w, TC_FAIL | TA_BOLD, "terminal too small");
		top_putf(t, 1, 0, t->w, 0, "%dx%d; top needs %dx%d", t->w, t->h,
		    TOP_MINW, TOP_MINH);
		top_put(t, 2, 0, t->w, 0, "q quits");
		return;
	}
	top_draw_head(t);
	if (t->view == TV_JOBS)
		top_draw_jobs(t);
	else if (t->view == TV_TASKS)
		top_draw_tasks(t);
	else if (t->view == TV_LOG)
		top_draw_log(t);
	else
		top_draw_help(t);
	top_draw_bottom(t);
}

/* ---- keys */

/* Asks before cancelling (op 'c') or restarting ('r') job id. */
static void
top_ask(struct top *t, int op, const char *id, const char *name,
    const char *state)
{
	if (id == NULL || *id == '\0')
		return;
	if (op == 'c' && state && jstate_final(state)) {
		snprintf(t->msg, sizeof(t->msg), "job %s is already %s", id, state);
		return;
	}
	t->prompt = op;
	snprintf(t->target, sizeof(t->target), "%s", id);
	snprintf(t->tname, sizeof(t->tname), "%s", name ? name : "-");
}

/* Spools the request asked for, as the cancel verb does. */
static void
top_act(struct top *t)
{
	const char *op = t->prompt == 'c' ? "cancel" : "restart";

	if (spool_req(op, t->target, 0, NULL) < 0)
		snprintf(t->msg, sizeof(t->msg), "cannot spool the %s request: %.200s",
		    op, errmsg);
	else
		snprintf(t->msg, sizeof(t->msg), "%s of job %s requested%s", op,
		    t->target, t->alive ? "" : "; no daemon is running: the "
		    "request waits in the spool");
}

static void
top_key_prompt(struct top *t, int ch)
{
	size_t n = strlen(t->input);

	if (t->prompt != '/') {
		if (ch == 'y' || ch == 'Y')
			top_act(t);
		else
			snprintf(t->msg, sizeof(t->msg), "nothing done");
		t->prompt = 0;
		return;
	}
	if (ch == 27 || ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		snprintf(t->filter, sizeof(t->filter), "%s", ch == 27 ? "" :
		    t->input);
		t->prompt = 0;
		top_home(t);
	} else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		while (n > 0 && (t->input[--n] & 0xc0) == 0x80)
			;			/* a whole UTF-8 character */
		t->input[n] = '\0';
	} else if (ch >= 0x20 && ch < 0x100 && ch != 0x7f &&
	    n + 1 < sizeof(t->input)) {
		t->input[n] = (char)ch;
		t->input[n + 1] = '\0';
	}
}

/* Opens the log pane on task pos of job id; pos 0: its running or latest task. */
static void
top_log_open(struct top *t, const char *id, int pos)
{
	char *s;

	if (pos == 0 && db && (s = db_str("SELECT pos FROM tasks WHERE job = ?"
	    " AND started IS NOT NULL ORDER BY state = ? DESC, started DESC,"
	    " pos DESC LIMIT 1", "ss", id, tstate_name(T_RUNNING))) != NULL) {
		pos = atoi(s);
		free(s);
	}
	if (pos == 0) {
		snprintf(t->msg, sizeof(t->msg), "no task of job %s has started "
		    "yet", id);
		return;
	}
	if (id != t->job)
		snprintf(t->job, sizeof(t->job), "%s", id);
	top_log_free(t);
	t->lsize = -1;
	t->lpos = pos;
	t->lback = 0;
	t->back = t->view;
	t->view = TV_LOG;
	t->dirty = 1;
}

/* The jobs list's moves; returns whether ch was one. */
static int
top_move(struct top *t, int ch)
{
	int page = top_page(t), shown = top_shown(t);

	switch (ch) {
	case KEY_DOWN: case 'j':
		if (t->sel + 1 < shown)
			t->sel++;
		else if (t->more)
			top_down(t, 1);
		break;
	case KEY_UP: case 'k':
		if (t->sel > 0)
			t->sel--;
		else
			top_up(t, 1);
		break;
	case KEY_NPAGE: case ' ':
		if (t->more)
			top_down(t, page);
		else
			t->sel = shown - 1;
		break;
	case KEY_PPAGE:
		if (t->skip == 0 && t->seq_top == 0)
			t->sel = 0;
		else
			top_up(t, page);
		break;
	case 'g': case KEY_HOME: top_home(t); break;
	case 'G': case KEY_END: top_end(t); break;
	default:
		return 0;
	}
	/* (top_down and top_up leave the selection where it is on screen) */
	if (t->sel >= 0 && t->sel < shown && *t->selid)
		snprintf(t->selid, sizeof(t->selid), "%s", t->rows[t->sel].id);
	return 1;
}

static void
top_key_jobs(struct top *t, int ch)
{
	const struct top_job *j = top_shown(t) ? &t->rows[t->sel] : NULL;

	if (top_move(t, ch) || j == NULL)
		return;
	switch (ch) {
	case '\n': case '\r': case KEY_ENTER: case KEY_RIGHT:
		snprintf(t->job, sizeof(t->job), "%s", j->id);
		spec_free(t->spec);
		t->spec = NULL;
		t->tsel = t->ttop = 0;
		t->view = TV_TASKS;
		t->dirty = 1;
		break;
	case 'l':
		top_log_open(t, j->id, 0);
		break;
	case 'c': case 'r':
		top_ask(t, ch, j->id, j->name, j->state);
		break;
	}
}

static void
top_key_tasks(struct top *t, int ch)
{
	int page = top_page(t);

	switch (ch) {
	case KEY_DOWN: case 'j': t->tsel++; break;
	case KEY_UP: case 'k': t->tsel--; break;
	case KEY_NPAGE: case ' ': t->tsel += page; break;
	case KEY_PPAGE: t->tsel -= page; break;
	case 'g': case KEY_HOME: t->tsel = 0; break;
	case 'G': case KEY_END: t->tsel = (int)t->ntasks - 1; break;
	case 27: case KEY_LEFT: case 'h': case KEY_BACKSPACE: case 127:
		top_tasks_free(t);
		t->view = TV_JOBS;
		t->dirty = 1;
		break;
	case '\n': case '\r': case KEY_ENTER: case 'l':
		if (t->ntasks)
			top_log_open(t, t->job, t->tasks[t->tsel].r.pos);
		break;
	case 'c': case 'r':
		top_ask(t, ch, t->job, t->jr.name, t->jr.state);
		break;
	}
	if (t->tsel >= (int)t->ntasks)
		t->tsel = (int)t->ntasks - 1;
	if (t->tsel < 0)
		t->tsel = 0;
}

static void
top_key_log(struct top *t, int ch)
{
	int page = top_page(t);

	switch (ch) {
	case KEY_UP: case 'k': t->lback++; break;
	case KEY_DOWN: case 'j': t->lback--; break;
	case KEY_PPAGE: t->lback += page; break;
	case KEY_NPAGE: case ' ': t->lback -= page; break;
	case 'g': case KEY_HOME: t->lback = INT_MAX / 2; break;
	case 'G': case KEY_END: t->lback = 0; break;
	case 27: case KEY_LEFT: case 'h': case KEY_BACKSPACE: case 127:
		top_log_free(t);
		t->view = t->back;
		t->dirty = 1;
		break;
	}
	if (t->lback < 0)
		t->lback = 0;
}

/* The filter keys: / asks for a text, s cycles the states, Esc clears both. */
static void
top_filter_key(struct top *t, int ch)
{
	if (ch == '/') {
		t->prompt = '/';
		snprintf(t->input, sizeof(t->input), "%s", t->filter);
		return;
	}
	if (ch == 's')
		t->state = (t->state + 1) % TOP_NSTATES;
	else {
		t->filter[0] = '\0';
		t->state = 0;
	}
	top_home(t);
}

static void
top_resize(struct top *t, int w, int h)
{
	t->w = w > 0 ? w : 1;
	t->h = h > 0 ? h : 1;
	free(t->grid);
	t->grid = xcalloc((size_t)t->w * t->h, sizeof(*t->grid));
	t->dirty = 1;
}

static void
top_key(struct top *t, int ch)
{
	if (ch == KEY_RESIZE) {
		top_resize(t, COLS, LINES);
		return;
	}
	if (t->prompt) {
		top_key_prompt(t, ch);
		return;
	}
	t->msg[0] = '\0';
	if (ch == 'q' || ch == 'Q')
		t->quit = 1;
	else if (t->w < TOP_MINW || t->h < TOP_MINH)
		return;
	else if (t->view == TV_HELP) {
		t->view = t->hback;
		t->dirty = 1;
	} else if (ch == '?') {
		t->hback = t->view;
		t->view = TV_HELP;
	} else if (t->view == TV_JOBS && (ch == '/' || ch == 's' || ch == 27))
		top_filter_key(t, ch);
	else if (t->view == TV_JOBS)
		top_key_jobs(t, ch);
	else if (t->view == TV_TASKS)
		top_key_tasks(t, ch);
	else
		top_key_log(t, ch);
}

/* ---- the loop */

/*
 * Reads the store when it changed, every delay_ms at most, and draws when
 * that or a key changed anything, or the clock's second did; sleeps in
 * poll(2) in between.  Until q, or a signal (whose handler only sets
 * top_sig, so that the terminal is restored here).
 */
static int
top_loop(struct top *t)
{
	struct pollfd pfd;
	long long next = 0, sec = -1, wait;
	int ch, drawn = 0;

	while (!top_sig && !t->quit) {
		if (t->dirty || mono_ms() >= next) {
			if (top_refresh(t))
				drawn = 0;
			next = mono_ms() + t->delay_ms;
		}
		if (!drawn || now_ms() / 1000 != sec) {
			sec = now_ms() / 1000;
			top_draw(t);
			top_paint(t);
			drawn = 1;
		}
		wait = next - mono_ms();
		if (wait > 1000 - now_ms() % 1000)
			wait = 1000 - now_ms() % 1000;
		pfd.fd = STDIN_FILENO;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, wait > 0 ? (int)wait : 0) < 0 && errno != EINTR)
			return fail("poll: %s", strerror(errno));
		if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))
			break;			/* the terminal is gone */
		while ((ch = getch()) != ERR) {
			top_key(t, ch);
			if (t->dirty)		/* the next key acts on what is shown */
				top_refresh(t);
			drawn = 0;
		}
	}
	return 0;
}

static void
top_colors(struct top *t)
{
	static const short fg[] = { [TC_RUN] = COLOR_CYAN,
		[TC_DONE] = COLOR_GREEN, [TC_FAIL] = COLOR_RED,
		[TC_STOP] = COLOR_MAGENTA, [TC_WAIT] = COLOR_YELLOW };
	const char *no = getenv("NO_COLOR");
	short i, bg = -1;

	if ((no && *no) || !has_colors() || start_color() == ERR)
		return;
	if (use_default_colors() == ERR)
		bg = COLOR_BLACK;
	for (i = TC_RUN; i <= TC_WAIT; i++)
		init_pair(i, fg[i], bg);
	t->color = 1;
}

/* The live view, on the terminal; returns an exit status. */
static int
top_run(struct top *t)
{
	struct sigaction sa;
	SCREEN *scr;
	char *ca;
	int rc;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		warnx("top needs a terminal; 'jobrun top --once' prints one frame");
		return EX_ERR;
	}
	/* before newterm, which leaves handlers it finds in place */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = top_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (cu_load() < 0) {
		warnx("%s", errmsg);
		return EX_ERR;
	}
	if ((scr = newterm(NULL, stdout, stdin)) == NULL) {
		warnx("cannot use the terminal (TERM=%s)", getenv("TERM") ?
		    getenv("TERM") : "");
		return EX_ERR;
	}
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	set_escdelay(25);
	top_colors(t);
	top_resize(t, COLS, LINES);
	rc = top_loop(t);
	/* a terminal with no alternate screen (linux) is left blank */
	ca = tigetstr("rmcup");
	if (ca == NULL || ca == (char *)-1) {
		erase();
		refresh();
	}
	endwin();
	delscreen(scr);
	if (rc < 0) {
		warnx("%s", errmsg);
		return EX_ERR;
	}
	return top_sig ? 128 + top_sig : EX_OK;
}

/* --once: one frame as text, $COLUMNS x $LINES, else the terminal's or 80x24. */
static int
top_once(struct top *t)
{
	const char *c = getenv("COLUMNS"), *l = getenv("LINES");
	struct winsize ws;
	int tty, w, h;

	tty = isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0
	    && ws.ws_col > 0 && ws.ws_row > 0;
	w = c && atoi(c) > 0 ? atoi(c) : tty ? ws.ws_col : 80;
	h = l && atoi(l) > 0 ? atoi(l) : tty ? ws.ws_row : 24;
	top_resize(t, w < 1000 ? w : 1000, h < 1000 ? h : 1000);
	top_refresh(t);
	top_draw(t);
	top_print(t);
	return EX_OK;
}

static void
top_free(struct top *t)
{
	db_done(t->dvst);
	top_rows_free(&t->rows, &t->nrows);
	top_rows_free(&t->sp, &t->nsp);
	top_tasks_free(t);
	top_log_free(t);
	spec_free(t->spec);
	free(t->grid);
	free(t->runtime);
	free(t->fault);
	free(t->queues.s);
}

static int
cmd_top(int argc, char *argv[])
{
	struct top t;
	double d;
	char *end;
	int c, rc;

	memset(&t, 0, sizeof(t));
	t.delay_ms = 500;
	t.dv = -2;
	while ((c = opt_next(argc, argv)) != -1)
		switch (c) {
		case 'd':
			d = strtod(optarg, &end);
			if (*optarg == '\0' || *end || !(d >= 0.1 && d <= 3600))
				return usage_error("top", "-d takes seconds from 0.1 "
				    "to 3600, not '%s'", optarg);
			t.delay_ms = (long long)(d * 1000);
			break;
		case 'o': t.once = 1; break;
		default: return usage_error("top", NULL);
		}
	if (optind != argc)
		return usage_error("top", "unexpected argument '%s'", argv[optind]);
	/* after strtod: the decimal point stays the C locale's */
	setlocale(LC_CTYPE, "");
	t.utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	open_store();
	rc = t.once ? top_once(&t) : top_run(&t);
	top_free(&t);
	db_close();
	return rc;
}

/* ---------------------------------------------------------------- main -- */

/*
 * The verbs.  Each entry owns its options: the parser (opt_next), the
 * usage line and the help (jobrun help VERB, jobrun VERB --help) are made
 * from it, so that they cannot disagree.
 */
#define O_SHORT	0x1	/* -c as well as, or instead of, --long */
#define O_MANY	0x2	/* may be given again: [-c ARG]... */
#define O_OR	0x4	/* one of a group with the next: [--a X | --b Y] */

struct opt {
	int c;			/* what opt_next returns for it */
	const char *lng;	/* --lng, or NULL */
	const char *arg;	/* its argument's name, or NULL: a flag */
	unsigned flags;
	const char *help;
};

/*
 * swarm-step MODE HOMEID ...: the swarm runtime's helper, which the daemon
 * (and stop) start as another runtime's CLI; not for people, and not in
 * the help.  Its modes are the operations of swarm_run's comment.
 */
static int
cmd_swarm_step(int argc, char *argv[])
{
	const char *m = argc > 3 ? argv[1] : "", *h = argc > 3 ? argv[2] : "";

	prctl(PR_SET_PDEATHSIG, SIGKILL);	/* the daemon's own children do */
	rt_select("swarm");
	docker_bin = argc > 3 ? argv[3] : docker_bin;	/* not JOBRUN_DOCKER */
	if (strcmp(m, "run") == 0 && argc >= 8)
		return swarm_step_run(h, argv[4], argv[5], argv[6], argv + 7,
		    argc - 7);
	if (strcmp(m, "follow") == 0 && argc == 7)
		return swarm_step_follow(argv[4], argv[5], argv[6]);
	if (strcmp(m, "inspect") == 0 && argc == 5)
		return swarm_step_inspect(argv[4]);
	if (strcmp(m, "list") == 0 && argc <= 5)
		return swarm_step_list(h, argc == 5 ? argv[4] : NULL);
	if (strcmp(m, "rm") == 0)
		return swarm_rm(h, argv + 4, argc - 4, 0);
	warnx("swarm-step: the swarm runtime's helper; see jobrun(1), RUNTIMES");
	return EX_USAGE_;
}

static const struct opt submit_opts[] = {
	{ 'w', "wait", NULL, 0, "wait for the job to end; exit by its state" },
	{ 'j', "json", NULL, 0, "print {\"id\":ID} (with --wait, the job)" },
	{ 'u', "unique", NULL, 0, "refuse a twin (same name and inputs) "
	    "pending or running" },
	{ 'A', "at", "TIME", O_OR, "keep the job SCHEDULED until TIME" },
	{ 'I', "in", "DURATION", O_OR, "... or for DURATION" },
	{ 'c', "cron", "EXPR", 0, "spool a schedule that starts the job at "
	    "each firing" },
	{ 'i', "input", "NAME=VALUE", O_SHORT | O_MANY, "set an input" },
	{ 0 }
};
static const struct opt daemon_opts[] = {
	{ 'q', "queue", "QUEUE:N[@ENGINE]", O_SHORT | O_MANY, "run at most N "
	    "tasks of QUEUE at once (others: one per CPU), on ENGINE (a host URL "
	    "or context)" },
	{ 'N', "network", "NAME", 0, "the network of containers that name none "
	    "(JOBRUN_NETWORK)" },
	{ 'M', "metrics-file", "PATH", 0, "write the metrics to PATH every 5s" },
	{ 'L', "log-max", "SIZE", 0, "cut each task's log at SIZE" },
	{ 'B', "allow-bind", "DIR", O_MANY, "let jobs bind-mount what is under "
	    "DIR" },
	{ 'W', "allow-network", "NAME", O_MANY, "let jobs join network NAME" },
	{ 'S', "max-job-size", "SIZE", 0, "refuse job files larger than SIZE "
	    "(4m)" },
	{ 'R', "runtime", "NAME", 0, "run tasks with docker (the default), "
	    "podman, swarm (services), or shell (processes here, no engine)" },
	{ 'C', "constraint", "QUEUE:EXPR", O_MANY, "under swarm, place QUEUE's "
	    "tasks on nodes where EXPR holds (node.labels.gpu==true)" },
	{ 'l', "listen", "ADDR", 0, "answer HTTP on ADDR: PORT (on 127.0.0.1), "
	    "HOST:PORT or [V6]:PORT" },
	{ 'P', "max-pending", "N", 0, "POST /jobs answers 429 while N jobs wait" },
	{ 0 }
};
static const struct opt json_opts[] = {
	{ 'j', "json", NULL, 0, "print JSON" },
	{ 0 }
};
static const struct opt ls_opts[] = {
	{ 'j', "json", NULL, 0, "print JSON" },
	{ 'n', NULL, "N", O_SHORT, "the newest N jobs only" },
	{ 0 }
};
static const struct opt logs_opts[] = {
	{ 'f', "follow", NULL, O_SHORT, "go on printing until the job ends" },
	{ 0 }
};
static const struct opt stop_opts[] = {
	{ 't', NULL, "GRACE", O_SHORT, "SIGKILL after GRACE (10s)" },
	{ 0 }
};
static const struct opt wait_opts[] = {
	{ 'w', "wait", NULL, 0, "wait for the jobs to end; exit by their state" },
	{ 0 }
};
static const struct opt top_opts[] = {
	{ 'd', NULL, "SECONDS", O_SHORT, "look for changes every SECONDS (0.5)" },
	{ 'o', "once", NULL, 0, "print the view once and exit" },
	{ 0 }
};
static const struct opt prune_opts[] = {
	{ 'o', "older-than", "DURATION", 0, "only jobs that ended longer ago" },
	{ 's', "state", "STATE", 0, "only jobs in STATE" },
	{ 0 }
};
static const struct opt export_opts[] = {
	{ 'o', NULL, "FILE", O_SHORT, "write to FILE (JOBID.tar.gz)" },
	{ 0 }
};

static const struct verb {
	const char *name;
	int (*fn)(int, char *[]);
	const struct opt *opts;		/* NULL: none */
	const char *operands;
	const char *about;		/* NULL: a helper, not in the help */
} verbs[] = {
	{ "submit", cmd_submit, submit_opts, "FILE|-",
	    "check a job file, spool it and print its id" },
	{ "daemon", cmd_daemon, daemon_opts, "",
	    "run the spooled jobs, one container per task (foreground)" },
	{ "ls", cmd_ls, ls_opts, "", "list jobs, newest first" },
	{ "show", cmd_show, json_opts, "ID", "show a job and its tasks" },
	{ "logs", cmd_logs, logs_opts, "ID [TASK]",
	    "print what a job's containers wrote" },
	{ "cancel", cmd_cancel, NULL, "ID...",
	    "cancel jobs and kill their containers" },
	{ "stop", cmd_stop, stop_opts, "ID...",
	    "stop jobs: SIGTERM, then SIGKILL after GRACE (10s)" },
	{ "restart", cmd_restart, wait_opts, "ID...",
	    "run a FAILED or CANCELLED job again from where it stopped" },
	{ "retry", cmd_restart, wait_opts, "ID...", "the same as restart" },
	{ "wait", cmd_wait, NULL, "ID...",
	    "wait for jobs to end; exit by their state" },
	{ "status", cmd_status, json_opts, "",
	    "is the daemon alive, and what is it running?" },
	{ "top", cmd_top, top_opts, "", "watch jobs and tasks live (q quits)" },
	{ "schedules", cmd_schedules, json_opts, "",
	    "list the cron schedules with their next run" },
	{ "schedule", cmd_schedule, NULL, "pause|resume|rm ID...",
	    "pause, resume or remove cron schedules" },
	{ "prune", cmd_prune, prune_opts, "", "delete ended jobs with their logs" },
	{ "export", cmd_export, export_opts, "ID",
	    "write a job's record and logs to a .tar.gz" },
	{ "import", cmd_import, NULL, "FILE",
	    "read an exported job back, to look at" },
	{ "metrics", cmd_metrics, NULL, "",
	    "print the store's metrics, Prometheus style" },
	{ "help", cmd_help, NULL, "[VERB]", "show this help, or one verb's" },
	{ "swarm-step", cmd_swarm_step, NULL, "MODE HOMEID ...", NULL },
};
#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static const struct verb *verb;		/* the one this process runs */

static const struct verb *
find_verb(const char *name)
{
	size_t i;

	for (i = 0; i < NVERBS; i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

/* An option as the usage line shows it: -c ARG, or --long ARG. */
static void
opt_name(struct buf *b, const struct opt *o)
{
	if (o->flags & O_SHORT)
		buf_addf(b, "-%c", o->c);
	else
		buf_addf(b, "--%s", o->lng);
	if (o->arg)
		buf_addf(b, " %s", o->arg);
}

/* "VERB [OPTIONS] OPERANDS", made from the table. */
static char *
verb_usage(const struct verb *v)
{
	const struct opt *o;
	struct buf b = { 0 };
	int in_or = 0;

	buf_add(&b, v->name);
	for (o = v->opts; o && o->c; o++) {
		buf_add(&b, in_or ? " | " : " [");
		opt_name(&b, o);
		if (!(in_or = (o->flags & O_OR) != 0))
			buf_add(&b, o->flags & O_MANY ? "]..." : "]");
	}
	if (*v->operands)
		buf_addf(&b, " %s", v->operands);
	return buf_take(&b);
}

static void
verb_help(const struct verb *v, FILE *f)
{
	const struct opt *o;
	struct buf b = { 0 };
	const char *about = v->about ? v->about : "a helper the daemon runs";
	char *u = verb_usage(v);

	fprintf(f, "usage: jobrun %s\n%s%s\n", u, about,
	    about[strlen(about) - 1] == '?' ? "" : ".");
	for (o = v->opts; o && o->c; o++) {
		if ((o->flags & O_SHORT) && o->lng)
			buf_addf(&b, "-%c, --%s", o->c, o->lng);
		else
			opt_name(&b, o);
		if ((o->flags & O_SHORT) && o->lng && o->arg)
			buf_addf(&b, " %s", o->arg);
		fprintf(f, "  %-24s %s\n", b.s, o->help);
		free(buf_take(&b));
	}
	fprintf(f, "See jobrun(1).\n");
	free(u);
}

/*
 * getopt_long over the running verb's options (built from its table
 * once); --help prints the verb's help and exits 0.
 */
static int
opt_next(int argc, char *argv[])
{
	static struct option lo[16];
	static char so[32];
	const struct opt *o;
	size_t n = 0, k = 0;
	int c;

	if (lo[0].name == NULL) {
		for (o = verb->opts; o && o->c; o++) {
			if (o->lng)
				lo[n++] = (struct option){ o->lng, o->arg ?
				    required_argument : no_argument, NULL, o->c };
			if (o->flags & O_SHORT) {
				so[k++] = (char)o->c;
				if (o->arg)
					so[k++] = ':';
			}
		}
		lo[n] = (struct option){ "help", no_argument, NULL, 0x100 };
	}
	if ((c = getopt_long(argc, argv, so, lo, NULL)) == 0x100) {
		verb_help(verb, stdout);
		exit(EX_OK);
	}
	return c;
}

static void
usage(FILE *f)
{
	char *u;
	size_t i;

	fprintf(f, "usage: jobrun [--home DIR] VERB [ARGS]\n"
	    "       jobrun --help | --version\n\n");
	/* verb and arguments on one line, what it does indented under them */
	for (i = 0; i < NVERBS; i++) {
		if (verbs[i].about == NULL)
			continue;
		u = verb_usage(&verbs[i]);
		fprintf(f, "  %s\n      %s\n", u, verbs[i].about);
		free(u);
	}
	fprintf(f, "\nIds may be shortened to any unique prefix.  Exit status: 0 ok "
	    "or COMPLETED, 1 error,\n2 usage, 3 invalid job file, 4 FAILED, "
	    "5 CANCELLED, 6 no such job, 7 a unique\njob's twin is pending or "
	    "running.  See jobrun(1) and jobrun-job(5).\n");
}

static int
usage_error(const char *name, const char *fmt, ...)
{
	const struct verb *v = find_verb(name);
	va_list ap;
	char *u = v ? verb_usage(v) : xstrdup(name);

	if (fmt) {
		fprintf(stderr, "jobrun: ");
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fprintf(stderr, "usage: jobrun %s\n", u);
	free(u);
	return EX_USAGE_;
}

static int
cmd_help(int argc, char *argv[])
{
	const struct verb *v;

	if (opt_next(argc, argv) != -1)
		return usage_error("help", NULL);
	if (optind == argc) {
		usage(stdout);
		return EX_OK;
	}
	if (optind + 1 < argc)
		return usage_error("help", "unexpected argument '%s'",
		    argv[optind + 1]);
	if ((v = find_verb(argv[optind])) == NULL) {
		warnx("no verb '%s'; try 'jobrun --help'", argv[optind]);
		return EX_USAGE_;
	}
	verb_help(v, stdout);
	return EX_OK;
}

/* --home, else JOBRUN_HOME, else $XDG_STATE_HOME/jobrun, made absolute. */
static char *
find_home(const char *opt)
{
	const char *e = opt ? opt : getenv("JOBRUN_HOME");
	char *h, cwd[PATH_MAX];

	if (e && *e)
		h = xstrdup(e);
	else if ((e = getenv("XDG_STATE_HOME")) && *e == '/')
		h = xasprintf("%s/jobrun", e);
	else if ((e = getenv("HOME")) && *e)
		h = xasprintf("%s/.local/state/jobrun", e);
	else
		errx(EX_ERR, "cannot tell where the jobrun home is: set JOBRUN_HOME");
	if (*h != '/' && getcwd(cwd, sizeof(cwd))) {
		char *abs = xasprintf("%s/%s", cwd, h);

		free(h);
		h = abs;
	}
	return h;
}

int
main(int argc, char *argv[])
{
	const struct verb *v;
	const char *opt_home = NULL;
	int i;

	umask(077);	/* jobs may carry secrets */
	if (getenv("JOBRUN_DOCKER") && *getenv("JOBRUN_DOCKER"))
		docker_bin = getenv("JOBRUN_DOCKER");
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--home") == 0) {
			if (i + 1 == argc) {
				warnx("--home needs a directory");
				usage(stderr);
				return EX_USAGE_;
			}
			opt_home = argv[++i];
		}
		else if (strncmp(argv[i], "--home=", 7) == 0)
			opt_home = argv[i] + 7;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return EX_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("jobrun %s\n", JOBRUN_VERSION);
			return EX_OK;
		} else {
			warnx("unknown option '%s'", argv[i]);
			usage(stderr);
			return EX_USAGE_;
		}
	}
	if (i == argc) {
		usage(stderr);
		return EX_USAGE_;
	}
	if ((v = find_verb(argv[i])) == NULL) {
		warnx("no verb '%s'; try 'jobrun --help'", argv[i]);
		return EX_USAGE_;
	}
	/* the swarm helper has no home: its daemon's may be --home's */
	if (v->fn != cmd_swarm_step)
		home = find_home(opt_home);
	verb = v;
	return v->fn(argc - i, argv + i);
}
