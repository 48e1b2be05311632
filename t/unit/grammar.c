/*
 * Table-driven TAP tests for vendor/grammar.c.
 *
 * Each table row is one test.  A row with why == NULL must be accepted
 * and leave *why alone; any other row must be refused with exactly that
 * phrase, which must also read as the end of a sentence: non-empty,
 * starting lowercase, no trailing period.  Rows too long to spell out
 * (the length limits) are built in lengths().
 */
#include <stdio.h>
#include <string.h>

#include "grammar.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#define HEX32	"0123456789abcdef0123456789ABCDEF"
#define SHA	"sha256:" HEX32 "0123456789abcdef0123456789abcdef"

struct gcase {
	const char	*in;
	const char	*why;		/* NULL: must be accepted */
};

struct ucase {
	const char	*path;
	const char	*dir;
	int		 want;
};

#define OK(s)		{ s, NULL }
#define NO(s, w)	{ s, w }

#define W_EMPTY		"it is empty"
#define W_DASH		"it starts with '-'"
#define W_SPACE		"it contains whitespace"
#define W_CTRL		"it contains a control character"
#define W_NONASCII	"it contains a non-ASCII character"
#define W_REFCHAR	"it contains a character never found in an image " \
			    "reference"
#define W_UPPER		"uppercase letters are not allowed in a " \
			    "repository name"
#define W_PCHAR		"a path component may only contain a-z, 0-9, " \
			    "'.', '_' and '-'"
#define W_PSTART	"a path component starts with a separator"
#define W_PEND		"a path component ends with a separator"
#define W_PRUN		"a path component has separators other than " \
			    "'.', '_', '__' or dashes in a row"
#define W_HCHAR		"a registry host may only contain letters, " \
			    "digits, '-' and '.'"
#define W_HEMPTYC	"a registry host has an empty component"
#define W_HDASH		"a registry host component starts or ends " \
			    "with '-'"
#define W_TCHAR		"a tag may only contain letters, digits, '_', " \
			    "'.' and '-'"
#define W_ACHAR		"a digest algorithm may only contain letters, " \
			    "digits, '+', '.', '_' and '-'"
#define W_APART		"each part of a digest algorithm starts with " \
			    "a letter"
#define W_HEX		"a digest may only contain hex digits after " \
			    "the ':'"
#define W_HEXLEN	"a digest has at least 32 hex digits"
#define W_ENVCHAR	"it contains a character other than letters, " \
			    "digits and '_'"
#define W_NETCHAR	"it contains a character other than letters, " \
			    "digits, '_', '.' and '-'"
#define W_GPUS		"it is not 'all', a count or 'device=' " \
			    "followed by device ids"
#define W_DEVCHAR	"a device id may only contain letters, digits " \
			    "and '-'"

static const struct gcase images[] = {
	/* plain names, tags and digests */
	OK("alpine"),
	OK("alpine:latest"),
	OK("alpine:3.18.3"),
	OK("ubuntu:mantic"),
	OK("library/alpine"),
	OK("jobrun-test:latest"),
	OK("a"),
	OK("0"),
	OK("a:A"),
	OK("a:_"),
	OK("a:Tag_1.2-rc.3"),
	OK("a:v1.2"),
	OK("x@" SHA),
	OK("x:tag@" SHA),
	OK("x@sha256:" HEX32),
	OK("x@sha256:" HEX32 "0"),
	OK("x@sha512+b64.v1_x-y:" HEX32),
	OK("x@A1:" HEX32),
	OK("library/alpine:3.19@" SHA),
	/* separators */
	OK("a__b"),
	OK("a---b"),
	OK("a-b"),
	OK("a_b"),
	OK("a.b"),
	OK("a.b_c__d-e--f"),
	OK("my.app"),
	OK("a/b/c/d/e"),
	OK("a-b/c_d/e.f"),
	/* domains */
	OK("docker.io/library/alpine:3.19"),
	OK("localhost:5000/team/app:v1.2"),
	OK("localhost/app"),
	OK("localhost"),
	OK("localhost:5000"),
	OK("registry.example.com/a/b/c"),
	OK("[::1]:5000/x"),
	OK("[::1]/x"),
	OK("[fe80::1:AbCd]:443/x/y:z"),
	OK("127.0.0.1:5000/x"),
	OK("127.0.0.1/x"),
	OK("example.com:0/x"),
	OK("Foo/bar"),
	OK("Registry.Example.COM/team/app"),
	OK("my-registry--1.example/x"),
	OK("a.b/c"),
	OK("a:1/b"),
	OK("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
	/* empty and option-like */
	NO("", W_EMPTY),
	NO("-x", W_DASH),
	NO("--volume=/:/hostroot", W_DASH),
	NO("-", W_DASH),
	NO("--privileged", W_DASH),
	/* case */
	NO("Alpine", W_UPPER),
	NO("alpinE:latest", W_UPPER),
	NO("library/Alpine", W_UPPER),
	NO("example.com/Team/app", W_UPPER),
	/* tags */
	NO("alpine:", "the tag is empty"),
	NO(":tag", "the name is empty"),
	NO("alpine::x", W_TCHAR),
	NO("a:-tag", "a tag starts with '.' or '-'"),
	NO("a:.tag", "a tag starts with '.' or '-'"),
	NO("a:b:c", W_TCHAR),
	NO("a:t+g", W_TCHAR),
	NO("a:[x]", W_TCHAR),
	NO("a:tag/b", "a port may only contain digits"),
	/* slashes */
	NO("a//b", "the name contains '//'"),
	NO("a/", "the name ends with '/'"),
	NO("/a", "the name starts with '/'"),
	NO("/", "the name starts with '/'"),
	NO("localhost//x", "the name contains '//'"),
	NO("example.com/", "the name ends with '/'"),
	/* bytes that never belong */
	NO("a b", W_SPACE),
	NO("a\tb", W_SPACE),
	NO("a\nb", W_SPACE),
	NO("alpine ", W_SPACE),
	NO(" alpine", W_SPACE),
	NO("a\rb", W_SPACE),
	NO("a\001b", W_CTRL),
	NO("a\177b", W_CTRL),
	NO("caf\xc3\xa9", W_NONASCII),
	NO("alpine;rm", W_REFCHAR),
	NO("$(x)", W_REFCHAR),
	NO("`x`", W_REFCHAR),
	NO("a|b", W_REFCHAR),
	NO("a&b", W_REFCHAR),
	NO("a>b", W_REFCHAR),
	NO("a'b", W_REFCHAR),
	NO("a\"b", W_REFCHAR),
	NO("a=b", W_REFCHAR),
	NO("a,b", W_REFCHAR),
	NO("a\\b", W_REFCHAR),
	NO("~a", W_REFCHAR),
	NO("*", W_REFCHAR),
	/* path components */
	NO("a_", W_PEND),
	NO("_a", W_PSTART),
	NO("a-", W_PEND),
	NO(".a", W_PSTART),
	NO("a.", W_PEND),
	NO("a.-b", W_PRUN),
	NO("a..b", W_PRUN),
	NO("a___b", W_PRUN),
	NO("a-_b", W_PRUN),
	NO("a._b", W_PRUN),
	NO("a_-b", W_PRUN),
	NO("a+b", W_PCHAR),
	NO("a/b+c", W_PCHAR),
	NO("[ab]/x", W_PCHAR),
	NO("a/b:c/d", W_PCHAR),
	NO("a/-b", W_PSTART),
	NO("a/b_", W_PEND),
	/* domains */
	NO("a_b.c/d", W_HCHAR),
	NO("Foo_x/bar", W_HCHAR),
	NO("-a.b/c", W_DASH),
	NO("a.-b/c", W_HDASH),
	NO("a-.b/c", W_HDASH),
	NO("a..b/c", W_HEMPTYC),
	NO(".a/b", W_HEMPTYC),
	NO("a./b", W_HEMPTYC),
	NO(":5000/x", "the registry host is empty"),
	NO("localhost:/x", "the port is empty"),
	NO("localhost:50a/x", "a port may only contain digits"),
	NO("localhost:5000:1/x", "a port may only contain digits"),
	NO("[::1/x", "an IPv6 address lacks its closing ']'"),
	NO("[]:5000/x", "an IPv6 address is empty"),
	NO("[::g]/x", "an IPv6 address may only contain hex digits and ':'"),
	NO("[::1]x/y", "an IPv6 address in brackets may only be followed "
	    "by a port"),
	NO("a[::1]:5/x", W_HCHAR),
	NO("[::1]", W_PCHAR),
	/* digests */
	NO("x@sha256:short", W_HEX),
	NO("x@:" HEX32, "the digest algorithm is empty"),
	NO("a@b", "a digest has the form algorithm:hex"),
	NO("x@", "the digest is empty"),
	NO("@" SHA, "the name is empty"),
	NO("x@sha256:" HEX32 "@", W_HEX),
	NO("x@sha256:abc", W_HEXLEN),
	NO("x@sha256:0123456789abcdef0123456789abcde", W_HEXLEN),
	NO("x@sha256:" HEX32 "g", W_HEX),
	NO("x@256:" HEX32, W_APART),
	NO("x@sha+:" HEX32, "a digest algorithm ends with a separator"),
	NO("x@sha++b:" HEX32, W_APART),
	NO("x@sha+1:" HEX32, W_APART),
	NO("x@sha/256:" HEX32, W_ACHAR),
	NO("x@sha[:" HEX32, W_ACHAR),
	NO("x:@" SHA, "the tag is empty"),
	NO("x@" SHA ":tag", W_HEX),
};

static const struct gcase envnames[] = {
	OK("A"),
	OK("_"),
	OK("PATH"),
	OK("http_proxy"),
	OK("_X1"),
	OK("a1_B2"),
	OK("__"),
	NO("", W_EMPTY),
	NO("1A", "it starts with a digit"),
	NO("9", "it starts with a digit"),
	NO("-e", W_DASH),
	NO("A=B", "it contains '='"),
	NO("=", "it contains '='"),
	NO("A-B", W_ENVCHAR),
	NO("A.B", W_ENVCHAR),
	NO("A B", W_SPACE),
	NO("A\n", W_SPACE),
	NO("A\033", W_CTRL),
	NO("\xc3\x84", W_NONASCII),
	NO("A$B", W_ENVCHAR),
};

static const struct gcase netnames[] = {
	OK("host"),
	OK("none"),
	OK("bridge"),
	OK("my-net.1"),
	OK("a"),
	OK("0"),
	OK("Net_2"),
	OK("a.b_c-d"),
	NO("", W_EMPTY),
	NO("container:x", W_NETCHAR),
	NO("-x", W_DASH),
	NO("a b", W_SPACE),
	NO("a/b", W_NETCHAR),
	NO(".x", "it starts with neither a letter nor a digit"),
	NO("_x", "it starts with neither a letter nor a digit"),
	NO("a\tb", W_SPACE),
	NO("a\001", W_CTRL),
	NO("n\xc3\xa9t", W_NONASCII),
	NO("a,b", W_NETCHAR),
};

static const struct gcase paths[] = {
	OK("/"),
	OK("/a"),
	OK("/data"),
	OK("/var/lib/jobrun"),
	OK("/a b/c"),
	OK("/..."),
	OK("/.a/..b/b.."),
	OK("/a.b/c-d_e"),
	OK("/caf\xc3\xa9/\xe2\x82\xac"),
	OK("/a=b/@x/$y/~z"),
	OK("/-v"),
	NO("", W_EMPTY),
	NO("a", "it does not start with '/'"),
	NO("./a", "it does not start with '/'"),
	NO("-v", "it does not start with '/'"),
	NO("~/x", "it does not start with '/'"),
	NO("/a:/b", "it contains ':'"),
	NO("/a:ro", "it contains ':'"),
	NO("/a,b", "it contains ','"),
	NO("/a\nb", W_CTRL),
	NO("/a\tb", W_CTRL),
	NO("/a\177", W_CTRL),
	NO("/a\033[0m", W_CTRL),
	NO("//", "it ends with '/'"),
	NO("/a/", "it ends with '/'"),
	NO("//a", "it contains '//'"),
	NO("/a//b", "it contains '//'"),
	NO("/.", "a path component is '.'"),
	NO("/a/./b", "a path component is '.'"),
	NO("/..", "a path component is '..'"),
	NO("/a/..", "a path component is '..'"),
	NO("/a/../b", "a path component is '..'"),
};

static const struct gcase gpus[] = {
	OK("all"),
	OK("1"),
	OK("2"),
	OK("10"),
	OK("9999"),
	OK("device=0"),
	OK("device=0,1"),
	OK("device=0,1,2,3"),
	OK("device=GPU-3a23c669-1f69-c64e-cf85-44e9b07e7a2a"),
	OK("device=GPU-3a23c669-1f69-c64e-cf85-44e9b07e7a2a,1"),
	OK("device=a-"),
	NO("", W_EMPTY),
	NO("0", "a count is at least 1"),
	NO("01", "a count has no leading zero"),
	NO("10000", "a count is at most 9999"),
	NO("99999999999999999999", "a count is at most 9999"),
	NO("-1", W_DASH),
	NO("+1", W_GPUS),
	NO("1.5", "a count may only contain digits"),
	NO("1 ", "a count may only contain digits"),
	NO("ALL", W_GPUS),
	NO("all,device=0", W_GPUS),
	NO("count=1", W_GPUS),
	NO("driver=nvidia", W_GPUS),
	NO("\"device=0,1\"", W_GPUS),
	NO("device=", "the device list is empty"),
	NO("device=0,", "a device id is empty"),
	NO("device=,0", "a device id is empty"),
	NO("device=0,,1", "a device id is empty"),
	NO("device=-1", "a device id starts with '-'"),
	NO("device=0,-a", "a device id starts with '-'"),
	NO("device=0 1", W_SPACE),
	NO("device=0;1", W_DEVCHAR),
	NO("device=_0", W_DEVCHAR),
	NO("device=0\n", W_SPACE),
	NO("device=0,capabilities=x", W_DEVCHAR),
};

static const struct ucase unders[] = {
	{ "/data", "/data", 1 },
	{ "/data/x", "/data", 1 },
	{ "/data/x/y", "/data", 1 },
	{ "/database", "/data", 0 },
	{ "/data.old/x", "/data", 0 },
	{ "/dat", "/data", 0 },
	{ "/", "/data", 0 },
	{ "/other/data", "/data", 0 },
	{ "/", "/", 1 },
	{ "/a", "/", 1 },
	{ "/a/b", "/", 1 },
	{ "/a/b", "/a/b", 1 },
	{ "/a/bc", "/a/b", 0 },
	{ "/a", "/a/b", 0 },
	{ NULL, "/", 0 },
	{ "/a", NULL, 0 },
};

static int	 ntest, nfail;

/* Write s as a C string literal, so odd bytes and '#' stay out of TAP. */
static void
quote(const char *s)
{
	const unsigned char	*p;

	if (s == NULL) {
		printf("NULL");
		return;
	}
	putchar('"');
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p >= 0x7f || *p == '#' || *p == '"' ||
		    *p == '\\')
			printf("\\x%02x", *p);
		else
			putchar(*p);
	putchar('"');
}

/* Long inputs are shown by length, not spelled out. */
static void
show(const char *s)
{
	if (s != NULL && strlen(s) > 72)
		printf("<%zu bytes, ending ...%s>", strlen(s),
		    s + strlen(s) - 8);
	else
		quote(s);
}

static void
result(int ok)
{
	ntest++;
	if (!ok)
		nfail++;
	printf("%sok %d - ", ok ? "" : "not ", ntest);
}

/* Reads as the end of "VALUE is not an image reference: <why>". */
static int
phrase(const char *why)
{
	size_t	n;

	if (why == NULL || (n = strlen(why)) == 0)
		return 0;
	return why[0] >= 'a' && why[0] <= 'z' && why[n - 1] != '.' &&
	    why[n - 1] != ' ';
}

static void
check(const char *what, int (*fn)(const char *, const char **),
    const char *in, const char *want)
{
	const char	*untouched = "untouched", *why = untouched;
	int		 rc, ok;

	rc = fn(in, &why);
	if (want == NULL)
		ok = rc == 0 && why == untouched;
	else
		ok = rc == -1 && why != untouched && phrase(why) &&
		    strcmp(why, want) == 0;
	result(ok);
	printf("%s ", what);
	show(in);
	printf(" -> ");
	if (want == NULL)
		printf("ok\n");
	else {
		quote(want);
		putchar('\n');
	}
	if (ok)
		return;
	printf("# got %d ", rc);
	quote(why == untouched ? "(why untouched)" : why);
	putchar('\n');
}

static void
table(const char *what, int (*fn)(const char *, const char **),
    const struct gcase *c, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		check(what, fn, c[i].in, c[i].why);
}

/* s followed by n copies of c, then tail; into buf of size bufsz. */
static const char *
build(char *buf, size_t bufsz, const char *s, int c, size_t n,
    const char *tail)
{
	size_t	sl = strlen(s), tl = strlen(tail);

	if (sl + n + tl >= bufsz) {
		fprintf(stderr, "build: buffer too small\n");
		return "";
	}
	memcpy(buf, s, sl);
	memset(buf + sl, c, n);
	memcpy(buf + sl + n, tail, tl + 1);
	return buf;
}

/* Exactly at each length limit, and one past it. */
static void
lengths(void)
{
	static char	 b[8192];
	size_t		 i;

	/* Tags: 128 characters, name not counted. */
	check("image", gram_image, build(b, sizeof(b), "a:", 'x', 128, ""),
	    NULL);
	check("image", gram_image, build(b, sizeof(b), "a:", 'x', 129, ""),
	    "a tag has at most 128 characters");
	check("image", gram_image, build(b, sizeof(b), "a:_", '-', 127, ""),
	    NULL);

	/* Names: 255 characters, domain included, tag and digest not. */
	check("image", gram_image, build(b, sizeof(b), "", 'a', 255, ""),
	    NULL);
	check("image", gram_image, build(b, sizeof(b), "", 'a', 256, ""),
	    "a name has at most 255 characters");
	check("image", gram_image, build(b, sizeof(b), "", 'a', 255,
	    ":latest@" SHA), NULL);
	check("image", gram_image, build(b, sizeof(b), "", 'a', 256,
	    ":latest"), "a name has at most 255 characters");
	check("image", gram_image, build(b, sizeof(b), "example.com/", 'a',
	    243, ""), NULL);
	check("image", gram_image, build(b, sizeof(b), "example.com/", 'a',
	    244, ""), "a name has at most 255 characters");
	/* 127 times "a/", then "bc": 256 characters of short components. */
	for (i = 0; i < 127; i++)
		memcpy(b + 2 * i, "a/", 2);
	memcpy(b + 254, "bc", 3);
	check("image", gram_image, b, "a name has at most 255 characters");
	b[255] = '\0';
	check("image", gram_image, b, NULL);

	/* Digests: at least 32 hex digits, no upper bound. */
	check("image", gram_image, build(b, sizeof(b), "x@sha256:", 'f', 31,
	    ""), "a digest has at least 32 hex digits");
	check("image", gram_image, build(b, sizeof(b), "x@sha256:", 'f', 32,
	    ""), NULL);
	check("image", gram_image, build(b, sizeof(b), "x@sha256:", 'F', 4000,
	    ""), NULL);

	/* Environment names: 255. */
	check("envname", gram_envname, build(b, sizeof(b), "", 'E', 255, ""),
	    NULL);
	check("envname", gram_envname, build(b, sizeof(b), "", 'E', 256, ""),
	    "it is longer than 255 characters");

	/* Network names: 64. */
	check("netname", gram_netname, build(b, sizeof(b), "n", '-', 63, ""),
	    NULL);
	check("netname", gram_netname, build(b, sizeof(b), "n", '-', 64, ""),
	    "it is longer than 64 characters");

	/* Paths: 4095 bytes. */
	check("abspath", gram_abspath, build(b, sizeof(b), "/", 'p', 4094,
	    ""), NULL);
	check("abspath", gram_abspath, build(b, sizeof(b), "/", 'p', 4095,
	    ""), "it is longer than 4095 bytes");
	/* "/ab" then 2046 times "/a": 4095 bytes; one more "/a" is 4097. */
	memcpy(b, "/ab", 3);
	for (i = 0; i < 2047; i++)
		memcpy(b + 3 + 2 * i, "/a", 2);
	b[3 + 2 * 2047] = '\0';
	check("abspath", gram_abspath, b, "it is longer than 4095 bytes");
	b[3 + 2 * 2046] = '\0';
	check("abspath", gram_abspath, b, NULL);

	/* Device lists have no length limit of their own. */
	build(b, sizeof(b), "device=0", ',', 0, "");
	for (i = 1; i < 500; i++)
		memcpy(b + strlen(b), ",1", 3);
	check("gpus", gram_gpus, b, NULL);
}

/* Things a table row cannot say. */
static void
misc(void)
{
	static int (*const fns[])(const char *, const char **) = {
		gram_image, gram_envname, gram_netname, gram_abspath,
		gram_gpus,
	};
	static const char *const names[] = {
		"image", "envname", "netname", "abspath", "gpus",
	};
	size_t		 i;

	for (i = 0; i < NELEM(fns); i++)
		check(names[i], fns[i], NULL, W_EMPTY);
	for (i = 0; i < NELEM(fns); i++) {
		result(fns[i]("-", NULL) == -1);
		printf("%s accepts a NULL why\n", names[i]);
	}
}

int
main(void)
{
	size_t	i;

	table("image", gram_image, images, NELEM(images));
	table("envname", gram_envname, envnames, NELEM(envnames));
	table("netname", gram_netname, netnames, NELEM(netnames));
	table("abspath", gram_abspath, paths, NELEM(paths));
	table("gpus", gram_gpus, gpus, NELEM(gpus));
	lengths();
	for (i = 0; i < NELEM(unders); i++) {
		result(gram_under(unders[i].path, unders[i].dir) ==
		    unders[i].want);
		printf("under ");
		quote(unders[i].path);
		printf(" in ");
		quote(unders[i].dir);
		printf(" -> %d\n", unders[i].want);
		if (gram_under(unders[i].path, unders[i].dir) !=
		    unders[i].want)
			printf("# got %d\n", !unders[i].want);
	}
	misc();
	/* A trailing plan: a crash before here is then a failure too. */
	printf("1..%d\n", ntest);
	if (nfail > 0)
		printf("# failed %d of %d\n", nfail, ntest);
	return nfail > 0;
}
