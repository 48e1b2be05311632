/*
 * hooksink - a tiny HTTP server that end-to-end tests send webhooks to.
 *
 * usage: t/hooksink PORTFILE LOGFILE [STATUS...]
 *
 * Listens on 127.0.0.1 at a port the kernel picks, writes that port and
 * a newline to PORTFILE (whole or not at all: a temp file renamed into
 * place), then serves one connection at a time until killed.  Each
 * request is appended to LOGFILE as one line of JSON, on disk before
 * the answer leaves, so a client that has its answer finds its line:
 *
 *   {"t":1700000000123,"method":"POST","path":"/x?y=1",
 *    "headers":{"host":"127.0.0.1:4242","content-type":"...",...},
 *    "body":"{\"a\":1}"}
 *
 * t is the time the request was read, in ms since the epoch.  Header
 * names are lower-cased; the values of a repeated header are joined by
 * ", ".  The body is a JSON string; bytes that are not UTF-8 become
 * U+FFFD.  The STATUS list answers the requests in order and its last
 * entry every request after (none: 200).  "sleep" logs the request,
 * answers nothing for 10 s, then hangs up.  A request it cannot parse
 * (no Content-Length is fine; chunked is not) is answered 400, logged
 * on stderr only, and takes no STATUS.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define HEADMAX		65536
#define BODYMAX		(256 * 1024 * 1024)
#define MAXHDRS		100
#define SLEEPSECS	10
/* A client that stalls mid-request must not wedge the sink for good. */
#define IOSECS		10

struct req {
	char		*head;		/* request line and headers, cut up */
	char		*method, *target;
	char		*name[MAXHDRS], *value[MAXHDRS];
	int		 nhdr;
	char		*body;
	size_t		 bodylen;
	long long	 t;
};

static const struct {
	int		 code;
	const char	*reason;
} reasons[] = {
	{ 100, "Continue" }, { 200, "OK" }, { 201, "Created" },
	{ 202, "Accepted" }, { 204, "No Content" }, { 400, "Bad Request" },
	{ 401, "Unauthorized" }, { 403, "Forbidden" }, { 404, "Not Found" },
	{ 408, "Request Timeout" }, { 413, "Content Too Large" },
	{ 429, "Too Many Requests" }, { 500, "Internal Server Error" },
	{ 501, "Not Implemented" }, { 502, "Bad Gateway" },
	{ 503, "Service Unavailable" }, { 504, "Gateway Timeout" },
};

static void
usage(void)
{
	fprintf(stderr, "usage: hooksink PORTFILE LOGFILE "
	    "[STATUS|sleep ...]\n");
	exit(2);
}

static const char *
reason(int code)
{
	size_t	i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == code)
			return reasons[i].reason;
	return "Status";
}

static void
answer(int fd, int code)
{
	dprintf(fd, "HTTP/1.1 %d %s\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n", code, reason(code));
}

/* Offset just past the blank line that ends the head, or 0. */
static size_t
headend(const char *b, size_t n)
{
	const char	*p;

	for (p = b; (p = memchr(p, '\n', (size_t)(b + n - p))) != NULL; p++) {
		if (p + 1 < b + n && p[1] == '\n')
			return (size_t)(p + 2 - b);
		if (p + 2 < b + n && p[1] == '\r' && p[2] == '\n')
			return (size_t)(p + 3 - b);
	}
	return 0;
}

static void
chomp(char *s)
{
	size_t	n = strlen(s);

	while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == ' ' ||
	    s[n - 1] == '\t'))
		s[--n] = '\0';
}

static const char *
header(const struct req *r, const char *name)
{
	int	i;

	for (i = 0; i < r->nhdr; i++)
		if (strcmp(r->name[i], name) == 0)
			return r->value[i];
	return NULL;
}

static const char *
parsehead(struct req *r)
{
	char	*h = r->head, *line, *v, *p;

	line = strsep(&h, "\n");
	chomp(line);
	r->method = strsep(&line, " ");
	r->target = strsep(&line, " ");
	if (*r->method == '\0' || r->target == NULL || *r->target == '\0' ||
	    line == NULL || strncmp(line, "HTTP/1.", 7) != 0)
		return "bad request line";
	while ((line = strsep(&h, "\n")) != NULL) {
		chomp(line);
		if (*line == '\0')
			continue;
		if ((v = strchr(line, ':')) == NULL || v == line)
			return "bad header line";
		if (r->nhdr == MAXHDRS)
			return "too many headers";
		*v++ = '\0';
		for (p = line; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		r->name[r->nhdr] = line;
		r->value[r->nhdr++] = v + strspn(v, " \t");
	}
	return NULL;
}

static int
readall(int fd, char *p, size_t n)
{
	ssize_t	r;

	while (n > 0) {
		if ((r = read(fd, p, n)) > 0) {
			p += r;
			n -= (size_t)r;
		} else if (r == 0 || errno != EINTR)
			return -1;
	}
	return 0;
}

static const char *
readbody(int fd, struct req *r, const char *extra, size_t nextra)
{
	const char	*cl = header(r, "content-length"), *ex;
	char		*end;
	size_t		 n = 0;

	if (header(r, "transfer-encoding") != NULL)
		return "Transfer-Encoding is not supported";
	if (cl != NULL) {
		errno = 0;
		n = (size_t)strtoull(cl, &end, 10);
		if (!isdigit((unsigned char)*cl) || *end != '\0' ||
		    errno != 0 || n > BODYMAX)
			return "bad Content-Length";
	}
	if ((r->body = malloc(n + 1)) == NULL)
		return "out of memory";
	r->bodylen = n;
	if (nextra > n)
		nextra = n;
	memcpy(r->body, extra, nextra);
	/* curl asks before a large body, and would wait a second. */
	ex = header(r, "expect");
	if (nextra < n && ex != NULL && strcasecmp(ex, "100-continue") == 0)
		answer(fd, 100);
	if (readall(fd, r->body + nextra, n - nextra) == -1)
		return "client hung up or stalled before the body ended";
	return NULL;
}

static const char *
readreq(int fd, struct req *r)
{
	struct timespec	 ts;
	const char	*msg;
	char		*buf;
	size_t		 len = 0, hl;
	ssize_t		 n;

	if ((buf = malloc(HEADMAX)) == NULL)
		return "out of memory";
	while ((hl = headend(buf, len)) == 0 && len < HEADMAX) {
		if ((n = read(fd, buf + len, HEADMAX - len)) > 0)
			len += (size_t)n;
		else if (n == 0 || errno != EINTR)
			break;
	}
	if (hl == 0)
		msg = len == HEADMAX ? "head too large" :
		    "client hung up or stalled before the head ended";
	else if ((r->head = strndup(buf, hl)) == NULL)
		msg = "out of memory";
	else if ((msg = parsehead(r)) == NULL)
		msg = readbody(fd, r, buf + hl, len - hl);
	free(buf);
	clock_gettime(CLOCK_REALTIME, &ts);
	r->t = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
	return msg;
}

/* Length of the valid UTF-8 sequence at p, or 0. */
static size_t
utf8len(const unsigned char *p, size_t n)
{
	static const unsigned	 least[] = { 0, 0, 0x80, 0x800, 0x10000 };
	unsigned		 cp;
	size_t			 len, i;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0)
		len = 2;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3;
	else if ((p[0] & 0xf8) == 0xf0)
		len = 4;
	else
		return 0;
	if (len > n)
		return 0;
	cp = p[0] & (0x7f >> len);
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms and surrogates are not UTF-8 either. */
	if (cp < least[len] || (cp >= 0xd800 && cp <= 0xdfff) ||
	    cp > 0x10ffff)
		return 0;
	return len;
}

/* The inside of a JSON string. */
static void
jesc(FILE *f, const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s, *end = p + n;
	size_t			 k;

	while (p < end) {
		k = 1;
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\r')
			fputs("\\r", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else if ((k = utf8len(p, (size_t)(end - p))) > 0)
			fwrite(p, 1, k, f);
		else {
			fputs("\\ufffd", f);
			k = 1;
		}
		p += k;
	}
}

static void
jstr(FILE *f, const char *s)
{
	putc('"', f);
	jesc(f, s, strlen(s));
	putc('"', f);
}

static void
jheaders(FILE *f, const struct req *r)
{
	int	i, j, k, sep = 0;

	putc('{', f);
	for (i = 0; i < r->nhdr; i++) {
		for (j = 0; j < i && strcmp(r->name[j], r->name[i]) != 0; j++)
			;
		if (j < i)	/* joined to the first one already */
			continue;
		fprintf(f, "%s", sep++ ? "," : "");
		jstr(f, r->name[i]);
		fputs(":\"", f);
		for (k = i; k < r->nhdr; k++)
			if (strcmp(r->name[k], r->name[i]) == 0) {
				if (k > i)
					fputs(", ", f);
				jesc(f, r->value[k], strlen(r->value[k]));
			}
		putc('"', f);
	}
	putc('}', f);
}

/* One line, in one write, synced: readers never see half of it. */
static void
logreq(const char *path, const struct req *r)
{
	FILE	*f;
	char	*s = NULL;
	size_t	 n = 0, off;
	ssize_t	 w;
	int	 fd;

	if ((f = open_memstream(&s, &n)) == NULL)
		err(1, "open_memstream");
	fprintf(f, "{\"t\":%lld,\"method\":", r->t);
	jstr(f, r->method);
	fputs(",\"path\":", f);
	jstr(f, r->target);
	fputs(",\"headers\":", f);
	jheaders(f, r);
	fputs(",\"body\":\"", f);
	jesc(f, r->body, r->bodylen);
	fputs("\"}\n", f);
	if (fclose(f) != 0)
		err(1, "log line");
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd == -1)
		err(1, "%s", path);
	for (off = 0; off < n; off += (size_t)w)
		if ((w = write(fd, s + off, n - off)) == -1)
			err(1, "%s", path);
	if (fsync(fd) == -1 || close(fd) == -1)
		err(1, "%s", path);
	free(s);
}

static void
freereq(struct req *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* Serves one connection; whether it was a request that took a STATUS. */
static int
serve(int fd, const char *logfile, const char *status)
{
	struct timeval	 tv = { IOSECS, 0 };
	struct req	 r;
	const char	*msg;

	memset(&r, 0, sizeof(r));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if ((msg = readreq(fd, &r)) != NULL) {
		warnx("bad request: %s", msg);
		answer(fd, 400);
		freereq(&r);
		return 0;
	}
	logreq(logfile, &r);
	if (strcmp(status, "sleep") == 0)
		sleep(SLEEPSECS);
	else
		answer(fd, atoi(status));
	freereq(&r);
	return 1;
}

static void
writeport(const char *path, int port)
{
	char	 tmp[4096];
	FILE	*f;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		errx(1, "%s: name too long", path);
	if ((f = fopen(tmp, "w")) == NULL)
		err(1, "%s", tmp);
	fprintf(f, "%d\n", port);
	if (fflush(f) != 0 || fsync(fileno(f)) == -1 || fclose(f) != 0)
		err(1, "%s", tmp);
	if (rename(tmp, path) == -1)
		err(1, "rename %s", tmp);
}

static int
listener(int *port)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 64) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		err(1, "listen on 127.0.0.1");
	*port = ntohs(sin.sin_port);
	return fd;
}

int
main(int argc, char *argv[])
{
	char	*end;
	long	 code;
	int	 i, lfd, fd, port, n = 0, nstatus = argc - 3;

	if (argc < 3)
		usage();
	for (i = 3; i < argc; i++) {
		code = strtol(argv[i], &end, 10);
		if (strcmp(argv[i], "sleep") != 0 && (*end != '\0' ||
		    end == argv[i] || code < 100 || code > 599))
			usage();
	}
	/* A client that hangs up early must not kill the sink. */
	signal(SIGPIPE, SIG_IGN);
	lfd = listener(&port);
	writeport(argv[1], port);
	for (;;) {
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			err(1, "accept");
		}
		n += serve(fd, argv[2], nstatus == 0 ? "200" :
		    argv[3 + (n < nstatus ? n : nstatus - 1)]);
		close(fd);
	}
}
