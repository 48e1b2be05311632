/*
 * TAP tests for vendor/http.c, against servers forked from this process.
 *
 * A server is a child that accepts one connection on a listener made
 * here and does what its mode says.  It sends back what it read through
 * a pipe only after it has answered: a large request would otherwise
 * fill the pipe while the client waits for its status, and neither
 * would move.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define LONGTIME	5000	/* ms, for exchanges that should work */
#define BIG		(1024 * 1024)
#define PAUSE		'\a'	/* in a reply: the server waits 50 ms here */
#define NOSPACE		"url has a space or control character in it"

enum mode {
	REPLY,		/* read the request, send the reply, hang up */
	SILENT,		/* read the request, never answer */
	NOREAD,		/* accept, never read */
	HANGUP,		/* accept, hang up at once */
	EARLY,		/* send the reply, then read the request */
};

struct server {
	enum mode	 mode;
	pid_t		 pid;
	int		 port;
	int		 rfd;		/* what the child read comes here */
	char		 url[64];
	char		*req;		/* filled by finish() */
	size_t		 reqlen;
};

struct badurl {
	const char	*url;
	const char	*err;
};

static const struct badurl badurls[] = {
	{ "127.0.0.1:80/x", "url must start with http://" },
	{ "ftp://127.0.0.1/x", "url must start with http://" },
	{ " http://127.0.0.1/", "url must start with http://" },
	{ "http:/127.0.0.1/", "url must start with http://" },
	{ "https://127.0.0.1/x", "https is not supported: use http://" },
	{ "HTTPS://127.0.0.1/x", "https is not supported: use http://" },
	{ "http://", "url has no host" },
	{ "http:///x", "url has no host" },
	{ "http://:80/x", "url has no host" },
	{ "http://?x", "url has no host" },
	{ "http://[]/", "url has no host" },
	{ "http://127.0.0.1:70000/", "bad port in url" },
	{ "http://127.0.0.1:0/", "bad port in url" },
	{ "http://127.0.0.1:/", "bad port in url" },
	{ "http://127.0.0.1:8a/", "bad port in url" },
	{ "http://127.0.0.1:-80/", "bad port in url" },
	{ "http://127.0.0.1:000080/", "bad port in url" },
	{ "http://::1/", "url has no host" },
	{ "http://[::1]x/", "bad port in url" },
	{ "http://[::1/", "url has an unclosed [" },
	{ "http://a b/", NOSPACE },
	{ "http://127.0.0.1/a b", NOSPACE },
	{ "http://127.0.0.1/\tx", NOSPACE },
	{ "http://127.0.0.1/x\n", NOSPACE },
	{ "http://127.0.0.1/\x7f", NOSPACE },
	{ "http://user:pw@127.0.0.1/",
	    "url with a user name is not supported" },
};

static const struct badurl badhdrs[] = {
	{ "X-A: b\r\nX-Injected: 1", "header has a CR or LF in it" },
	{ "X-A: b\nX-Injected: 1", "header has a CR or LF in it" },
	{ "X-A: b\r", "header has a CR or LF in it" },
	{ "X-A: a\001b", "header has a control character in it" },
	{ "NoColon", "header is not \"Name: value\"" },
	{ ": no name", "header is not \"Name: value\"" },
	{ "Bad Name: x", "header is not \"Name: value\"" },
	{ "X-A : x", "header is not \"Name: value\"" },
	{ "Host: evil.example", "header Host is set by http_post" },
	{ "content-length: 5", "header Content-Length is set by http_post" },
	{ "Connection: keep-alive", "header Connection is set by http_post" },
	{ "Transfer-Encoding: chunked",
	    "header Transfer-Encoding is set by http_post" },
};

static int	 ntest, nfail;

/* Write s as a C string literal, so odd bytes and '#' stay out of TAP. */
static void
quote(const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i;

	putchar('"');
	for (i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] >= 0x7f || p[i] == '#' ||
		    p[i] == '"' || p[i] == '\\')
			printf("\\x%02x", p[i]);
		else
			putchar(p[i]);
	putchar('"');
}

static int
ok(int cond, const char *desc)
{
	ntest++;
	if (!cond)
		nfail++;
	printf("%sok %d - %s\n", cond ? "" : "not ", ntest, desc);
	return cond;
}

static void
checkint(const char *desc, long long got, long long want)
{
	if (!ok(got == want, desc))
		printf("# got %lld expected %lld\n", got, want);
}

static void
checkstr(const char *desc, const char *got, const char *want)
{
	if (ok(strcmp(got, want) == 0, desc))
		return;
	printf("# got ");
	quote(got, strlen(got));
	printf(" expected ");
	quote(want, strlen(want));
	putchar('\n');
}

/* rc -1 with the message want. */
static void
checkfail(const char *desc, int rc, const char *err, const char *want)
{
	char	buf[HTTP_ERRSZ + 32];

	snprintf(buf, sizeof(buf), "%d %s", rc, err);
	checkstr(desc, buf, want);
}

static long long
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void
writeall(int fd, const char *p, size_t n)
{
	ssize_t	w;

	for (; n > 0; p += w, n -= (size_t)w)
		if ((w = write(fd, p, n)) <= 0)
			return;
}

/* What a client sent: the head, then Content-Length bytes of body. */
static char *
readreq(int fd, size_t *lenp)
{
	size_t	 cap = 4096, len = 0, want = SIZE_MAX;
	char	*buf = malloc(cap), *e, *cl;
	ssize_t	 n;

	while (buf != NULL && len < want) {
		if (len == cap && (buf = realloc(buf, cap *= 2)) == NULL)
			break;
		if ((n = read(fd, buf + len, cap - len)) <= 0)
			break;
		len += (size_t)n;
		if (want != SIZE_MAX ||
		    (e = memmem(buf, len, "\r\n\r\n", 4)) == NULL)
			continue;
		want = (size_t)(e + 4 - buf);
		if ((cl = memmem(buf, want, "\r\nContent-Length: ", 18)))
			want += strtoul(cl + 18, NULL, 10);
	}
	*lenp = len;
	return buf;
}

/* A reply, with a pause wherever it has a PAUSE. */
static void
sendreply(int fd, const char *s)
{
	size_t	n;

	while (*s != '\0') {
		n = strcspn(s, (char[]){ PAUSE, '\0' });
		writeall(fd, s, n);
		s += n;
		if (*s == PAUSE) {
			usleep(50000);
			s++;
		}
	}
}

static void __attribute__((noreturn))
child(int lfd, int wfd, enum mode mode, const char *reply)
{
	char	*req = NULL;
	size_t	 len = 0;
	int	 fd;

	signal(SIGPIPE, SIG_IGN);
	alarm(20);	/* whatever goes wrong, no child outlives the test */
	if ((fd = accept(lfd, NULL, NULL)) == -1)
		_exit(1);
	if (mode == HANGUP)
		_exit(0);
	if (mode == EARLY) {
		sendreply(fd, reply);
		shutdown(fd, SHUT_WR);
	}
	if (mode != NOREAD)
		req = readreq(fd, &len);
	if (mode == SILENT || mode == NOREAD)
		for (;;)
			pause();
	if (mode == REPLY)
		sendreply(fd, reply);
	close(fd);
	writeall(wfd, req, len);
	_exit(0);
}

static int
listener(int *port)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		perror("listener");
		exit(2);
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
start(struct server *s, enum mode mode, const char *reply)
{
	int	lfd, p[2];

	memset(s, 0, sizeof(*s));
	s->mode = mode;
	lfd = listener(&s->port);
	if (listen(lfd, 8) == -1 || pipe(p) == -1) {
		perror("start");
		exit(2);
	}
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
	fflush(stdout);
	if ((s->pid = fork()) == -1) {
		perror("fork");
		exit(2);
	}
	if (s->pid == 0) {
		close(p[0]);
		child(lfd, p[1], mode, reply);
	}
	close(lfd);
	close(p[1]);
	s->rfd = p[0];
}

/* Collects what the server read (NUL-terminated) and reaps it. */
static void
finish(struct server *s)
{
	size_t	 cap = 4096;
	ssize_t	 n;

	if (s->mode == SILENT || s->mode == NOREAD)
		kill(s->pid, SIGKILL);
	s->req = malloc(cap);
	for (;;) {
		if (s->reqlen + 1 == cap)
			s->req = realloc(s->req, cap *= 2);
		if ((n = read(s->rfd, s->req + s->reqlen,
		    cap - 1 - s->reqlen)) <= 0)
			break;
		s->reqlen += (size_t)n;
	}
	s->req[s->reqlen] = '\0';
	close(s->rfd);
	waitpid(s->pid, NULL, 0);
}

static void
done(struct server *s)
{
	free(s->req);
	s->req = NULL;
}

/* One POST to a fresh server that answers reply; returns the status. */
static int
post(struct server *s, const char *path, const char *const *hdrs,
    const char *body, size_t len, const char *reply, char *err)
{
	char	url[128];
	int	rc;

	start(s, REPLY, reply);
	snprintf(url, sizeof(url), "%s%s", s->url, path);
	rc = http_post(url, hdrs, body, len, LONGTIME, err, HTTP_ERRSZ);
	finish(s);
	return rc;
}

/* Whether the head of the request has this line. */
static int
hasline(const struct server *s, const char *line)
{
	char	 want[256];
	char	*end = strstr(s->req, "\r\n\r\n");

	snprintf(want, sizeof(want), "\r\n%s\r\n", line);
	return end != NULL && memmem(s->req, (size_t)(end + 2 - s->req),
	    want, strlen(want)) != NULL;
}

static void
checkline(const char *desc, const struct server *s, const char *line)
{
	if (ok(hasline(s, line), desc))
		return;
	printf("# no line ");
	quote(line, strlen(line));
	printf(" in ");
	quote(s->req, s->reqlen < 400 ? s->reqlen : 400);
	putchar('\n');
}

static void
statuses(void)
{
	static const struct {
		const char	*reply;
		int		 want;
	} cases[] = {
		{ "HTTP/1.1 200 OK\r\n\r\n", 200 },
		{ "HTTP/1.1 204 No Content\r\n\r\n", 204 },
		{ "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno\n",
		    404 },
		{ "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\n\r\n",
		    429 },
		{ "HTTP/1.1 500 Internal Server Error\r\n\r\n", 500 },
		{ "HTTP/1.1 503 Service Unavailable\r\n\r\n", 503 },
		{ "HTTP/1.0 200 OK\r\n\r\n", 200 },
		{ "HTTP/1.1 201\r\n\r\n", 201 },
		{ "HTTP/1.1 202 Accepted\n\n", 202 },
		{ "HTTP/1.1 599 Odd\r\n\r\n", 599 },
		{ "HTTP/1.1 101 Switching Protocols\r\n\r\n", 101 },
		{ "HTTP/1.1 2\a01 Created\r\n\a\r\n", 201 },
		{ "HTTP/1.1 203 No CRLF at the end", 203 },
		{ "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", 200 },
		{ "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n\a"
		    "HTTP/1.1 206 Partial\r\n\r\n", 206 },
	};
	struct server	 s;
	char		 desc[160], err[HTTP_ERRSZ] = "untouched";
	size_t		 i;
	int		 rc;

	for (i = 0; i < NELEM(cases); i++) {
		rc = post(&s, "/", NULL, "{}", 2, cases[i].reply, err);
		snprintf(desc, sizeof(desc), "status %d from %.*s",
		    cases[i].want, (int)strcspn(cases[i].reply, "\r\n\a"),
		    cases[i].reply);
		checkint(desc, rc, cases[i].want);
		done(&s);
	}
	checkstr("err is left alone on success", err, "untouched");
}

static void
request(void)
{
	const char *const	 hdrs[] = { "X-Token: abc 123", "X-Empty:",
	    NULL };
	const char		*body = "{\"a\":1,\"b\":\"\\u00e9\"}";
	struct server		 s;
	char			 want[512], line[64], err[HTTP_ERRSZ] = "";
	int			 rc;

	rc = post(&s, "/hook?x=1&y=2", hdrs, body, strlen(body),
	    "HTTP/1.1 200 OK\r\n\r\n", err);
	checkint("request: 200", rc, 200);
	snprintf(want, sizeof(want), "POST /hook?x=1&y=2 HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%d\r\nX-Token: abc 123\r\nX-Empty:\r\n"
	    "Content-Type: application/json\r\nUser-Agent: jobrun\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	    s.port, strlen(body), body);
	checkstr("request as received, byte for byte", s.req, want);
	ok(strncmp(s.req, "POST /hook?x=1&y=2 HTTP/1.1\r\n", 29) == 0,
	    "request line");
	snprintf(line, sizeof(line), "Host: 127.0.0.1:%d", s.port);
	checkline("Host has the port", &s, line);
	snprintf(line, sizeof(line), "Content-Length: %zu", strlen(body));
	checkline("Content-Length", &s, line);
	checkline("Content-Type defaults to JSON", &s,
	    "Content-Type: application/json");
	checkline("custom header as given", &s, "X-Token: abc 123");
	checkline("custom header with no value", &s, "X-Empty:");
	checkline("User-Agent", &s, "User-Agent: jobrun");
	checkline("Connection: close", &s, "Connection: close");
	checkstr("body", strstr(s.req, "\r\n\r\n") + 4, body);
	done(&s);
}

static void
overrides(void)
{
	const char *const	 hdrs[] = { "content-type: text/plain",
	    "User-Agent: hook/2", NULL };
	struct server		 s;
	char			 err[HTTP_ERRSZ] = "";

	post(&s, "/", hdrs, "hi", 2, "HTTP/1.1 200 OK\r\n\r\n", err);
	checkline("caller's Content-Type is sent", &s,
	    "content-type: text/plain");
	ok(!hasline(&s, "Content-Type: application/json"),
	    "and the default is not");
	checkline("caller's User-Agent is sent", &s, "User-Agent: hook/2");
	ok(!hasline(&s, "User-Agent: jobrun"), "and the default is not");
	done(&s);
}

/* What the request line and Host are for a url. */
static void
paths(void)
{
	static const struct {
		const char	*fmt;	/* %d: the port */
		const char	*line;
	} cases[] = {
		{ "http://127.0.0.1:%d", "POST / HTTP/1.1" },
		{ "http://127.0.0.1:%d/", "POST / HTTP/1.1" },
		{ "http://127.0.0.1:%d?x=1", "POST /?x=1 HTTP/1.1" },
		{ "http://127.0.0.1:%d/a/b#frag", "POST /a/b HTTP/1.1" },
		{ "http://127.0.0.1:%d#frag", "POST / HTTP/1.1" },
		{ "HTTP://127.0.0.1:%d/up", "POST /up HTTP/1.1" },
		{ "http://localhost:%d/l", "POST /l HTTP/1.1" },
	};
	struct server	 s;
	char		 url[128], desc[160], host[64], err[HTTP_ERRSZ];
	size_t		 i;
	int		 rc;

	for (i = 0; i < NELEM(cases); i++) {
		start(&s, REPLY, "HTTP/1.1 200 OK\r\n\r\n");
		snprintf(url, sizeof(url), cases[i].fmt, s.port);
		rc = http_post(url, NULL, NULL, 0, LONGTIME, err, sizeof(err));
		finish(&s);
		snprintf(desc, sizeof(desc), "%.*sPORT%s sends %s",
		    (int)strcspn(cases[i].fmt, "%"), cases[i].fmt,
		    strstr(cases[i].fmt, "%d") + 2, cases[i].line);
		if (!ok(rc == 200 && strncmp(s.req, cases[i].line,
		    strlen(cases[i].line)) == 0, desc)) {
			printf("# rc %d err %s got ", rc, rc == -1 ? err : "");
			quote(s.req, strcspn(s.req, "\r"));
			putchar('\n');
		}
		done(&s);
	}
	start(&s, REPLY, "HTTP/1.1 200 OK\r\n\r\n");
	snprintf(url, sizeof(url), "http://localhost:%d/", s.port);
	http_post(url, NULL, NULL, 0, LONGTIME, err, sizeof(err));
	finish(&s);
	snprintf(host, sizeof(host), "Host: localhost:%d", s.port);
	checkline("Host is the url's", &s, host);
	checkline("no body: Content-Length: 0", &s, "Content-Length: 0");
	checkint("no body: nothing after the head", s.reqlen,
	    strstr(s.req, "\r\n\r\n") + 4 - s.req);
	done(&s);
}

static void
timeout(enum mode mode, int ms, size_t len, const char *what)
{
	struct server	 s;
	char		 err[HTTP_ERRSZ] = "", want[64], desc[160];
	char		*body = calloc(1, len + 1);
	long long	 t0, dt;
	int		 rc;

	start(&s, mode, NULL);
	t0 = now();
	rc = http_post(s.url, NULL, body, len, ms, err, sizeof(err));
	dt = now() - t0;
	finish(&s);
	if (ms % 1000 == 0)
		snprintf(want, sizeof(want), "-1 timed out after %ds",
		    ms / 1000);
	else
		snprintf(want, sizeof(want), "-1 timed out after %dms", ms);
	snprintf(desc, sizeof(desc), "%s: times out", what);
	checkfail(desc, rc, err, want);
	/* Slack for a loaded machine, not for a lax client. */
	snprintf(desc, sizeof(desc), "%s: after %d ms, not before and "
	    "not much after", what, ms);
	if (!ok(dt >= ms - 5 && dt <= ms + 1000, desc))
		printf("# took %lld ms\n", dt);
	done(&s);
	free(body);
}

/*
 * A listener whose queue is full drops further SYNs, which is the
 * nearest a test gets to a host that never answers.  Linux lets a
 * backlog of 0 hold one connection.
 */
static void
connecttimeout(void)
{
	char		 err[HTTP_ERRSZ] = "", url[64];
	long long	 t0, dt;
	int		 lfd, port, fill[4], i, rc;
	struct sockaddr_in	 sin;

	lfd = listener(&port);
	listen(lfd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	for (i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(fill[i], (struct sockaddr *)&sin, sizeof(sin));
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	t0 = now();
	rc = http_post(url, NULL, "{}", 2, 300, err, sizeof(err));
	dt = now() - t0;
	checkfail("connect to a full queue times out", rc, err,
	    "-1 timed out after 300ms");
	if (!ok(dt >= 295 && dt <= 1300, "connect: after 300 ms"))
		printf("# took %lld ms\n", dt);
	for (i = 0; i < 4; i++)
		close(fill[i]);
	close(lfd);
}

static void
refused(void)
{
	char	err[HTTP_ERRSZ] = "", url[64];
	int	fd, port, rc;

	/* Bound but not listening: nothing will take the port meanwhile. */
	fd = listener(&port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", port);
	rc = http_post(url, NULL, "{}", 2, LONGTIME, err, sizeof(err));
	checkfail("closed port: connection refused", rc, err,
	    "-1 connection refused");
	snprintf(url, sizeof(url), "http://localhost:%d/x", port);
	rc = http_post(url, NULL, "{}", 2, LONGTIME, err, sizeof(err));
	checkfail("closed port by name: refused at every address", rc, err,
	    "-1 connection refused");
	close(fd);
}

static void
urls(void)
{
	char	err[HTTP_ERRSZ], desc[160], want[160];
	size_t	i;
	int	rc;

	for (i = 0; i < NELEM(badurls); i++) {
		strcpy(err, "");
		rc = http_post(badurls[i].url, NULL, "{}", 2, LONGTIME, err,
		    sizeof(err));
		/* Numbered: the url itself may hold a newline or a '#'. */
		snprintf(desc, sizeof(desc), "bad url %zu: %s", i,
		    badurls[i].err);
		snprintf(want, sizeof(want), "-1 %s", badurls[i].err);
		checkfail(desc, rc, err, want);
	}
}

static void
headers(void)
{
	const char	*hdrs[3];
	char		 err[HTTP_ERRSZ], desc[160], url[64], want[160];
	size_t		 i;
	int		 fd, port, rc;

	/* Checked before connecting: a closed port would say "refused". */
	fd = listener(&port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	for (i = 0; i < NELEM(badhdrs); i++) {
		hdrs[0] = "X-Fine: yes";
		hdrs[1] = badhdrs[i].url;
		hdrs[2] = NULL;
		rc = http_post(url, hdrs, "{}", 2, LONGTIME, err, sizeof(err));
		snprintf(desc, sizeof(desc), "header %zu rejected: %s", i,
		    badhdrs[i].err);
		snprintf(want, sizeof(want), "-1 %s", badhdrs[i].err);
		checkfail(desc, rc, err, want);
	}
	close(fd);
}

static void
garbage(void)
{
	static const struct badurl cases[] = {
		{ "garbage\r\n\r\n", "bad status line" },
		{ "HTTP/1.1 600 Nope\r\n\r\n", "bad status line" },
		{ "HTTP/1.1 099 Low\r\n\r\n", "bad status line" },
		{ "HTTP/1.1 2000 Long\r\n\r\n", "bad status line" },
		{ "HTTP/1.1 20 Short\r\n\r\n", "bad status line" },
		{ "HTTP/1.1  200 Space\r\n\r\n", "bad status line" },
		{ "http/1.1 200 ok\r\n\r\n", "bad status line" },
		{ "SSH-2.0-OpenSSH_9.2\r\n", "bad status line" },
		{ "HTTP/1.1 100 Continue\r\n\r\nnonsense\r\n",
		    "bad status line" },
		{ "", "connection closed without a response" },
		{ "HTTP/1.1 100 Continue\r\n", "connection closed without a "
		    "response" },
	};
	struct server	 s;
	char		 err[HTTP_ERRSZ], desc[160], want[160], *junk;
	size_t		 i;
	int		 rc;

	for (i = 0; i < NELEM(cases); i++) {
		strcpy(err, "");
		rc = post(&s, "/", NULL, "{}", 2, cases[i].url, err);
		snprintf(desc, sizeof(desc), "reply %zu (%.*s): %s", i,
		    (int)strcspn(cases[i].url, "\r\n"), cases[i].url,
		    cases[i].err);
		snprintf(want, sizeof(want), "-1 %s", cases[i].err);
		checkfail(desc, rc, err, want);
		done(&s);
	}
	junk = malloc(4000);
	memset(junk, 'x', 3999);
	junk[3999] = '\0';
	rc = post(&s, "/", NULL, "{}", 2, junk, err);
	checkfail("a 4000-byte line: too long", rc, err,
	    "-1 response line too long");
	done(&s);
	free(junk);
}

static void
big(void)
{
	struct server	 s;
	char		 err[HTTP_ERRSZ] = "", line[64], *body, *got;
	size_t		 i;
	int		 rc;

	body = malloc(BIG);
	for (i = 0; i < BIG; i++)	/* every byte value, NUL too */
		body[i] = (char)(i * 7 % 256);
	rc = post(&s, "/big", NULL, body, BIG, "HTTP/1.1 200 OK\r\n\r\n",
	    err);
	checkint("1 MB body: 200", rc, 200);
	snprintf(line, sizeof(line), "Content-Length: %d", BIG);
	checkline("1 MB body: Content-Length", &s, line);
	got = strstr(s.req, "\r\n\r\n") + 4;
	ok(s.reqlen - (size_t)(got - s.req) == BIG &&
	    memcmp(got, body, BIG) == 0, "1 MB body: delivered intact");
	done(&s);

	/* A peer that hangs up mid-body must not raise SIGPIPE. */
	start(&s, HANGUP, NULL);
	rc = http_post(s.url, NULL, body, BIG, LONGTIME, err, sizeof(err));
	finish(&s);
	checkint("server hangs up mid-body: -1, and we live", rc, -1);
	done(&s);

	start(&s, EARLY, "HTTP/1.1 413 Content Too Large\r\n\r\n");
	rc = http_post(s.url, NULL, body, BIG, LONGTIME, err, sizeof(err));
	finish(&s);
	checkint("server answers before the body is read: its status",
	    rc, 413);
	done(&s);
	free(body);
}

static void
misc(void)
{
	char	err[HTTP_ERRSZ], small[5] = "XXXX", url[64];
	int	fd, port, rc;

	fd = listener(&port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	rc = http_post(url, NULL, "{}", 2, 0, err, sizeof(err));
	checkfail("timeout 0 is refused", rc, err,
	    "-1 timeout must be positive");
	rc = http_post(url, NULL, "{}", 2, -5, err, sizeof(err));
	checkfail("negative timeout is refused", rc, err,
	    "-1 timeout must be positive");
	rc = http_post(url, NULL, NULL, 5, LONGTIME, err, sizeof(err));
	checkfail("NULL body with a length", rc, err, "-1 no body");
	rc = http_post(NULL, NULL, "{}", 2, LONGTIME, err, sizeof(err));
	checkfail("NULL url", rc, err, "-1 no url");
	checkint("NULL err is fine", http_post(url, NULL, "{}", 2,
	    LONGTIME, NULL, 0), -1);
	rc = http_post("https://x/", NULL, "{}", 2, LONGTIME, small,
	    sizeof(small));
	checkfail("err is cut to errlen", rc, small, "-1 http");
	strcpy(small, "XXXX");
	http_post("https://x/", NULL, "{}", 2, LONGTIME, small, 0);
	checkstr("errlen 0 writes nothing", small, "XXXX");
	close(fd);
}

static void
ipv6(void)
{
	struct sockaddr_in6	 sin6;
	char			 err[HTTP_ERRSZ] = "", url[64];
	int			 fd, cfd, rc;
	pid_t			 pid;
	socklen_t		 len = sizeof(sin6);

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin6,
	    sizeof(sin6)) == -1 || listen(fd, 1) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin6, &len) == -1) {
		printf("ok %d # skip no IPv6 loopback\n", ++ntest);
		if (fd != -1)
			close(fd);
		return;
	}
	snprintf(url, sizeof(url), "http://[::1]:%d/six",
	    ntohs(sin6.sin6_port));
	fflush(stdout);
	if ((pid = fork()) == 0) {
		alarm(20);
		cfd = accept(fd, NULL, NULL);
		free(readreq(cfd, &(size_t){ 0 }));
		writeall(cfd, "HTTP/1.1 200 OK\r\n\r\n", 19);
		_exit(0);
	}
	close(fd);
	rc = http_post(url, NULL, "{}", 2, LONGTIME, err, sizeof(err));
	waitpid(pid, NULL, 0);
	if (!ok(rc == 200, "[::1]:port works"))
		printf("# got %d %s\n", rc, err);
}

static int
nfds(void)
{
	DIR	*d;
	int	 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

int
main(void)
{
	int	fds = nfds();

	/* The default, so that a missing MSG_NOSIGNAL kills the test. */
	signal(SIGPIPE, SIG_DFL);
	statuses();
	request();
	overrides();
	paths();
	timeout(SILENT, 500, 2, "silent server");
	timeout(SILENT, 1000, 2, "silent server, 1 s");
	timeout(NOREAD, 300, 8 * BIG, "server that never reads 8 MB");
	connecttimeout();
	refused();
	urls();
	headers();
	garbage();
	big();
	misc();
	ipv6();
	checkint("no descriptor leaked", nfds(), fds);
	/* A trailing plan: a crash before here is then a failure too. */
	printf("1..%d\n", ntest);
	if (nfail > 0)
		printf("# failed %d of %d\n", nfail, ntest);
	return nfail > 0;
}
