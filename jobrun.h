/*
 * jobrun.h - the types every section of jobrun.c shares.
 */
#ifndef JOBRUN_H
#define JOBRUN_H

#include <stddef.h>
#include <sys/types.h>

#define JOBRUN_VERSION	"0.1.0"
#define ID_LEN		12	/* hex characters in a job id */
#define HOMEID_LEN	8	/* hex characters in a home id */

/* Exit statuses, documented in jobrun(1). */
enum {
	EX_OK = 0,
	EX_ERR = 1,		/* I/O, database, docker, daemon already running */
	EX_USAGE_ = 2,		/* bad command line */
	EX_INVALID = 3,		/* job file rejected, nothing spooled */
	EX_FAILED = 4,		/* job ended FAILED */
	EX_CANCELLED = 5,	/* job ended CANCELLED */
	EX_NOJOB = 6,		/* no job matches the id, or more than one does */
	EX_DUPLICATE = 7	/* submit --unique: a twin is pending or running */
};

/* Job states, Tork's names.  SCHEDULED is kept for delayed jobs. */
enum jstate { J_PENDING, J_SCHEDULED, J_RUNNING, J_COMPLETED, J_FAILED, J_CANCELLED };
/* Task states. */
enum tstate { T_CREATED, T_PENDING, T_SCHEDULED, T_RUNNING, T_COMPLETED, T_FAILED,
	T_CANCELLED, T_SKIPPED };
/* A webhook delivery's states: due, being sent, and how it ended. */
enum hstate { H_PENDING, H_SENDING, H_DELIVERED, H_FAILED };
/* A cron schedule's states. */
enum sstate { S_ACTIVE, S_PAUSED };

struct kv {
	char *key, *val;
	int line, col;			/* where the value is in the job file */
};
struct kvlist {
	struct kv *v;
	size_t n;
};
struct strlist {
	char **v;
	size_t n;
};

/* One container to run: a task's main container, or one of its pre/post. */
struct step {
	char *name, *image, *run, *workdir;
	struct strlist cmd, entrypoint;
	struct kvlist env;
	int line, col;			/* where it starts in the job file */
};

struct steplist {
	struct step *v;
	size_t n;
};

/* initialDelay * scalingFactor^(attempt-1) between attempts (Tork's README). */
struct retry {
	int limit;
	long long initial_ms;		/* -1 until set */
	double scaling;			/* 0 until set */
};
struct limits {
	char *cpus;
	long long memory;
};

struct task;
struct job;

struct tasklist {
	struct task *v;
	size_t n;
};

/* each: the task runs once per element of the evaluated list. */
struct each {
	char *list, *var;		/* var names the item; default "item" */
	int concurrency;		/* 0: all at once */
	struct tasklist task;		/* exactly one */
};

/* mounts: volume (a named volume per task), bind (a host path), tmpfs. */
struct mount {
	char *type, *source, *target;
};
struct mountlist {
	struct mount *v;
	size_t n;
};

/* A container run beside the task's own, in whose network it runs. */
struct sidecar {
	struct step c;			/* first, so that step_fields apply */
	struct { char *path; int port; long long timeout_ms; } probe;
};
struct sidecarlist {
	struct sidecar *v;
	size_t n;
};

struct task {
	struct step c;			/* the main container */
	struct sidecarlist sidecars;
	struct mountlist mounts;
	struct kvlist files;		/* path in /tork -> content */
	struct strlist networks, tags;
	char *gpus;
	struct { char *username, *password; } registry;
	struct tasklist parallel;	/* composite tasks: one of these three */
	struct each *each;
	struct job *subjob;
	char *description, *var, *queue, *if_;
	int var_line, var_col;
	int priority;			/* -1 until set, by the task or defaults */
	struct retry retry;		/* limit -1 until set */
	struct limits limits;
	long long timeout_ms;		/* -1 until set */
	struct strlist volumes;		/* container paths, one named volume each */
	struct steplist pre, post;
};

/* webhooks: an HTTP POST of the job (or task) on an event. */
struct webhook {
	char *url, *event, *if_;	/* url, headers and if are evaluated */
	struct kvlist headers;
};
struct webhooklist {
	struct webhook *v;
	size_t n;
};

/* A parsed, validated job file plus what submit added to it. */
struct job {
	char id[ID_LEN + 1];
	char *file;			/* the name it was submitted as */
	char *name, *description;
	long long created;		/* ms since the epoch */
	long long due;			/* submit --at/--in: not before; 0 now */
	struct kvlist inputs, secrets;
	size_t (*secret_at)[2];		/* byte ranges of the secrets' values */
	size_t nsecret_at;		/* in the job file */
	struct task defaults;		/* only retry, limits, timeout, queue, priority */
	char *output;			/* the job's result, an expression */
	int detached;			/* a subjob: its task does not wait */
	long long wait_ms;		/* wait.timeout: submit waits; -1 no */
	struct strlist tags;
	int unique;			/* refuse a twin still pending or running */
	char *cron;			/* schedule.cron: a schedule, not a job */
	long long autodelete_ms;	/* autoDelete.after; -1 never */
	struct webhooklist webhooks;
	struct task *tasks;
	size_t ntasks;
};

#endif
