/*
 * t/bench/floor.c: the floor of a durable submit (t/bench/submit times it
 * next to `jobrun submit`).  What jobrun's write_file_atomic does and nothing
 * else: create a file in TMPDIR (O_EXCL, mode 0600), write a small text, fsync
 * it, close, rename it into NEWDIR, fsync NEWDIR.  Exec'd once per call, as
 * jobrun is; linked only with libc.
 *
 *	floor TMPDIR NEWDIR NAME
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* about the size of a spooled one-task job (~250 bytes) */
static const char text[] =
    "{\"jobrun\":1,\"op\":\"submit\",\"id\":\"000000000000\","
    "\"created\":1700000000000,\"file\":\"job.yaml\",\"uid\":0,"
    "\"inputs\":{},\"secrets\":{},\"source\":\"name: bench\\ntasks:\\n"
    "  - name: nothing\\n    image: jobrun-test:latest\\n"
    "    cmd: [true]\\n\"}\n";

int
main(int argc, char *argv[])
{
	char tmp[4096], dst[4096];
	size_t off = 0, len = sizeof(text) - 1;
	ssize_t n;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: floor TMPDIR NEWDIR NAME\n");
		return 2;
	}
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", argv[1], argv[3]);
	snprintf(dst, sizeof(dst), "%s/%s", argv[2], argv[3]);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		perror(tmp);
		return 1;
	}
	while (off < len) {
		if ((n = write(fd, text + off, len - off)) < 0) {
			perror(tmp);
			return 1;
		}
		off += n;
	}
	if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, dst) < 0) {
		perror(dst);
		return 1;
	}
	if ((fd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fsync(fd) < 0) {
		perror(argv[2]);
		return 1;
	}
	close(fd);
	return 0;
}
