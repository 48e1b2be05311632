/*
 * t/bench/cputime.c: runs CMD and writes to OUT the CPU that CMD's own
 * process used (utime + stime, fields 14 and 15 of /proc/PID/stat, in clock
 * ticks), not counting its children: the dispatcher's own cost when CMD is
 * xargs starting `docker run`s.  It waits for CMD's exit without reaping it
 * (waitid WNOWAIT), so the zombie's counters can still be read.
 *
 *	cputime OUT CMD [ARG]...	exits as CMD does
 */
#include <sys/types.h>
#include <sys/wait.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	char path[64], buf[4096], *p;
	unsigned long long ut = 0, st = 0;
	siginfo_t si;
	FILE *f;
	pid_t pid;
	int status, n;

	if (argc < 3) {
		fprintf(stderr, "usage: cputime OUT CMD [ARG]...\n");
		return 2;
	}
	if ((pid = fork()) < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, pid, &si, WEXITED | WNOWAIT) < 0) {
		perror("waitid");
		return 1;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n > 0 ? n : 0] = '\0';
		fclose(f);
		/* after "(comm) ": state is field 3, utime 14, stime 15 */
		if ((p = strrchr(buf, ')')) != NULL)
			sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			    "%llu %llu", &ut, &st);
	}
	if ((f = fopen(argv[1], "w")) != NULL) {
		fprintf(f, "%llu\n", ut + st);
		fclose(f);
	}
	if (waitpid(pid, &status, 0) < 0)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
