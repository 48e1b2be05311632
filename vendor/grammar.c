/*
 * grammar - check untrusted strings against the grammar of the docker
 * CLI argument they become.
 *
 * Hand-written scanners rather than regex(3): the grammars are small,
 * the POSIX classes follow the locale, and a scanner can say which rule
 * a string breaks.  Character classes are spelled out in ASCII for the
 * same reason.  Strings are looked at in place, as pointer and length,
 * and never copied.
 */
#include <stddef.h>
#include <string.h>

#include "grammar.h"

/* distribution/reference's NameTotalLengthMax */
#define NAME_MAX_LEN	255
#define TAG_MAX_LEN	128
#define DIGEST_MIN_HEX	32
#define ENV_MAX_LEN	255
#define NET_MAX_LEN	64
#define PATH_MAX_LEN	4095
#define GPU_MAX_DIGITS	4

static int
fail(const char **why, const char *msg)
{
	if (why != NULL)
		*why = msg;
	return -1;
}

static int
isdig(int c)
{
	return c >= '0' && c <= '9';
}

static int
islow(int c)
{
	return c >= 'a' && c <= 'z';
}

static int
isupp(int c)
{
	return c >= 'A' && c <= 'Z';
}

static int
isalph(int c)
{
	return islow(c) || isupp(c);
}

static int
isalnm(int c)
{
	return isalph(c) || isdig(c);
}

static int
ishex(int c)
{
	return isdig(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Go's \w. */
static int
isword(int c)
{
	return isalnm(c) || c == '_';
}

static int
inset(int c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

/*
 * Why c is not allowed, for the bytes every grammar here refuses, or
 * other when c is one of the rest.
 */
static const char *
badchar(unsigned char c, const char *other)
{
	if (c == ' ' || (c >= '\t' && c <= '\r'))
		return "it contains whitespace";
	if (c < 0x20 || c == 0x7f)
		return "it contains a control character";
	if (c >= 0x80)
		return "it contains a non-ASCII character";
	return other;
}

static int
hasupper(const char *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (isupp((unsigned char)p[i]))
			return 1;
	return 0;
}

/* Image references. */

/* Every byte that can occur anywhere in a reference. */
static int
isrefchar(int c)
{
	return isalnm(c) || inset(c, "._-/:@[]+");
}

/* dcomp ( "." dcomp )*, that is a host name or an IPv4 address. */
static const char *
domainname(const char *p, size_t n)
{
	size_t	i, start;

	if (n == 0)
		return "the registry host is empty";
	for (i = 0; i < n; i++)
		if (!isalnm((unsigned char)p[i]) && p[i] != '-' && p[i] != '.')
			return "a registry host may only contain letters, "
			    "digits, '-' and '.'";
	for (start = 0; start <= n; start = i + 1) {
		for (i = start; i < n && p[i] != '.'; i++)
			;
		if (i == start)
			return "a registry host has an empty component";
		if (p[start] == '-' || p[i - 1] == '-')
			return "a registry host component starts or ends "
			    "with '-'";
	}
	return NULL;
}

/* host [":" port], where host may be an IPv6 address in brackets. */
static const char *
domain(const char *p, size_t n)
{
	const char	*end = p + n, *hend, *rb, *q, *msg;

	if (n > 0 && *p == '[') {
		if ((rb = memchr(p, ']', n)) == NULL)
			return "an IPv6 address lacks its closing ']'";
		if (rb == p + 1)
			return "an IPv6 address is empty";
		for (q = p + 1; q < rb; q++)
			if (!ishex((unsigned char)*q) && *q != ':')
				return "an IPv6 address may only contain hex "
				    "digits and ':'";
		hend = rb + 1;
		if (hend < end && *hend != ':')
			return "an IPv6 address in brackets may only be "
			    "followed by a port";
	} else {
		if ((hend = memchr(p, ':', n)) == NULL)
			hend = end;
		if ((msg = domainname(p, (size_t)(hend - p))) != NULL)
			return msg;
	}
	if (hend == end)
		return NULL;
	if (++hend == end)
		return "the port is empty";
	for (q = hend; q < end; q++)
		if (!isdig((unsigned char)*q))
			return "a port may only contain digits";
	return NULL;
}

/* The part before the first '/' is a domain by docker's rule. */
static int
isdomain(const char *p, size_t n)
{
	return memchr(p, '.', n) != NULL || memchr(p, ':', n) != NULL ||
	    (n == 9 && memcmp(p, "localhost", 9) == 0) || hasupper(p, n);
}

/*
 * [a-z0-9]+ (separator [a-z0-9]+)*.  Case is checked last, so that a
 * name that is only wrong in case is told so.
 */
static const char *
pathcomp(const char *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (!isalnm((unsigned char)p[i]) && !inset(p[i], "._-"))
			return "a path component may only contain a-z, 0-9, "
			    "'.', '_' and '-'";
	if (!isalnm((unsigned char)p[0]))
		return "a path component starts with a separator";
	i = 0;
	for (;;) {
		while (i < n && isalnm((unsigned char)p[i]))
			i++;
		if (i == n)
			break;
		if (p[i] == '.')
			i++;
		else if (p[i] == '_')
			i += (i + 1 < n && p[i + 1] == '_') ? 2 : 1;
		else
			while (i < n && p[i] == '-')
				i++;
		if (i == n)
			return "a path component ends with a separator";
		if (!isalnm((unsigned char)p[i]))
			return "a path component has separators other than "
			    "'.', '_', '__' or dashes in a row";
	}
	if (hasupper(p, n))
		return "uppercase letters are not allowed in a repository "
		    "name";
	return NULL;
}

static const char *
name(const char *p, size_t n)
{
	const char	*end = p + n, *slash, *c, *msg;

	if (n == 0)
		return "the name is empty";
	if (*p == '/')
		return "the name starts with '/'";
	if (end[-1] == '/')
		return "the name ends with '/'";
	slash = memchr(p, '/', n);
	if (slash != NULL && isdomain(p, (size_t)(slash - p))) {
		if ((msg = domain(p, (size_t)(slash - p))) != NULL)
			return msg;
		p = slash + 1;
	}
	for (; p < end; p = c + 1) {
		if ((c = memchr(p, '/', (size_t)(end - p))) == NULL)
			c = end;
		if (c == p)
			return "the name contains '//'";
		if ((msg = pathcomp(p, (size_t)(c - p))) != NULL)
			return msg;
	}
	if (n > NAME_MAX_LEN)
		return "a name has at most 255 characters";
	return NULL;
}

static const char *
tag(const char *p, size_t n)
{
	size_t	i;

	if (n == 0)
		return "the tag is empty";
	for (i = 0; i < n; i++)
		if (!isword((unsigned char)p[i]) && p[i] != '.' && p[i] != '-')
			return "a tag may only contain letters, digits, '_', "
			    "'.' and '-'";
	if (!isword((unsigned char)p[0]))
		return "a tag starts with '.' or '-'";
	if (n > TAG_MAX_LEN)
		return "a tag has at most 128 characters";
	return NULL;
}

/* acomp ( [+._-] acomp )*, acomp := [A-Za-z] [A-Za-z0-9]* */
static const char *
algorithm(const char *p, size_t n)
{
	size_t	i;

	if (n == 0)
		return "the digest algorithm is empty";
	for (i = 0; i < n; i++)
		if (!isalnm((unsigned char)p[i]) && !inset(p[i], "+._-"))
			return "a digest algorithm may only contain letters, "
			    "digits, '+', '.', '_' and '-'";
	for (i = 0; i < n; i++) {
		if (!isalph((unsigned char)p[i]))
			return "each part of a digest algorithm starts with "
			    "a letter";
		while (i + 1 < n && isalnm((unsigned char)p[i + 1]))
			i++;
		/* p[i + 1], if any, is a separator: skip it. */
		if (++i == n - 1)
			return "a digest algorithm ends with a separator";
	}
	return NULL;
}

static const char *
digest(const char *p)
{
	const char	*colon, *q, *msg;

	if (*p == '\0')
		return "the digest is empty";
	if ((colon = strchr(p, ':')) == NULL)
		return "a digest has the form algorithm:hex";
	if ((msg = algorithm(p, (size_t)(colon - p))) != NULL)
		return msg;
	for (q = colon + 1; *q != '\0'; q++)
		if (!ishex((unsigned char)*q))
			return "a digest may only contain hex digits after "
			    "the ':'";
	if (q - (colon + 1) < DIGEST_MIN_HEX)
		return "a digest has at least 32 hex digits";
	return NULL;
}

int
gram_image(const char *s, const char **why)
{
	const char	*p, *at, *end, *base, *colon, *msg;

	if (s == NULL || *s == '\0')
		return fail(why, "it is empty");
	if (*s == '-')
		return fail(why, "it starts with '-'");
	for (p = s; *p != '\0'; p++)
		if (!isrefchar((unsigned char)*p))
			return fail(why, badchar((unsigned char)*p,
			    "it contains a character never found in an image "
			    "reference"));
	/* Neither name nor tag has an '@', and a digest has no '/'. */
	if ((at = strchr(s, '@')) == NULL)
		at = p;
	end = at;
	/* A tag starts at the first ':' after the last '/'. */
	for (base = p = s; p < end; p++)
		if (*p == '/')
			base = p + 1;
	if ((colon = memchr(base, ':', (size_t)(end - base))) != NULL)
		end = colon;
	if ((msg = name(s, (size_t)(end - s))) != NULL)
		return fail(why, msg);
	if (colon != NULL &&
	    (msg = tag(colon + 1, (size_t)(at - colon - 1))) != NULL)
		return fail(why, msg);
	if (*at == '@' && (msg = digest(at + 1)) != NULL)
		return fail(why, msg);
	return 0;
}

int
gram_envname(const char *s, const char **why)
{
	const char	*p;

	if (s == NULL || *s == '\0')
		return fail(why, "it is empty");
	if (*s == '-')
		return fail(why, "it starts with '-'");
	if (isdig((unsigned char)*s))
		return fail(why, "it starts with a digit");
	for (p = s; *p != '\0'; p++) {
		if (*p == '=')
			return fail(why, "it contains '='");
		if (!isword((unsigned char)*p))
			return fail(why, badchar((unsigned char)*p,
			    "it contains a character other than letters, "
			    "digits and '_'"));
	}
	if (p - s > ENV_MAX_LEN)
		return fail(why, "it is longer than 255 characters");
	return 0;
}

int
gram_netname(const char *s, const char **why)
{
	const char	*p;

	if (s == NULL || *s == '\0')
		return fail(why, "it is empty");
	if (*s == '-')
		return fail(why, "it starts with '-'");
	for (p = s; *p != '\0'; p++)
		if (!isalnm((unsigned char)*p) && !inset(*p, "_.-"))
			return fail(why, badchar((unsigned char)*p,
			    "it contains a character other than letters, "
			    "digits, '_', '.' and '-'"));
	if (!isalnm((unsigned char)*s))
		return fail(why, "it starts with neither a letter nor a "
		    "digit");
	if (p - s > NET_MAX_LEN)
		return fail(why, "it is longer than 64 characters");
	return 0;
}

int
gram_abspath(const char *s, const char **why)
{
	const char	*p, *c;
	size_t		 n;

	if (s == NULL || *s == '\0')
		return fail(why, "it is empty");
	if (*s != '/')
		return fail(why, "it does not start with '/'");
	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return fail(why, "it contains a control character");
		if (*p == ':')
			return fail(why, "it contains ':'");
		if (*p == ',')
			return fail(why, "it contains ','");
	}
	if (p - s > PATH_MAX_LEN)
		return fail(why, "it is longer than 4095 bytes");
	if (s[1] == '\0')
		return 0;
	if (p[-1] == '/')
		return fail(why, "it ends with '/'");
	/* Each component follows a '/'. */
	for (p = s + 1; ; p = c + 1) {
		if ((c = strchr(p, '/')) == NULL)
			c = p + strlen(p);
		n = (size_t)(c - p);
		if (n == 0)
			return fail(why, "it contains '//'");
		if (n == 1 && p[0] == '.')
			return fail(why, "a path component is '.'");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return fail(why, "a path component is '..'");
		if (*c == '\0')
			return 0;
	}
}

int
gram_gpus(const char *s, const char **why)
{
	const char	*p, *id;

	if (s == NULL || *s == '\0')
		return fail(why, "it is empty");
	if (*s == '-')
		return fail(why, "it starts with '-'");
	if (strcmp(s, "all") == 0)
		return 0;
	if (isdig((unsigned char)*s)) {
		for (p = s; isdig((unsigned char)*p); p++)
			;
		if (*p != '\0')
			return fail(why, "a count may only contain digits");
		if (*s == '0')
			return fail(why, p - s == 1 ? "a count is at least 1" :
			    "a count has no leading zero");
		if (p - s > GPU_MAX_DIGITS)
			return fail(why, "a count is at most 9999");
		return 0;
	}
	if (strncmp(s, "device=", 7) != 0)
		return fail(why, "it is not 'all', a count or 'device=' "
		    "followed by device ids");
	p = s + 7;
	if (*p == '\0')
		return fail(why, "the device list is empty");
	for (;;) {
		id = p;
		while (isalnm((unsigned char)*p) || *p == '-')
			p++;
		if (p == id)
			return fail(why, *p == ',' || *p == '\0' ?
			    "a device id is empty" : badchar((unsigned char)*p,
			    "a device id may only contain letters, digits "
			    "and '-'"));
		if (*id == '-')
			return fail(why, "a device id starts with '-'");
		if (*p == '\0')
			return 0;
		if (*p != ',')
			return fail(why, badchar((unsigned char)*p,
			    "a device id may only contain letters, digits "
			    "and '-'"));
		p++;
	}
}

int
gram_under(const char *path, const char *dir)
{
	size_t	n;

	if (path == NULL || dir == NULL)
		return 0;
	if (strcmp(dir, "/") == 0)
		return *path == '/';
	n = strlen(dir);
	return strncmp(path, dir, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/');
}
