/*
 * grammar - check untrusted strings against the grammar of the docker
 * CLI argument they become.
 *
 * Every string from a job file that reaches docker's argv passes one of
 * these checkers first, so that nothing a job file says can turn into
 * an option ("-v", "--privileged"), a second value hidden behind a
 * separator docker splits on, or a name docker would read differently.
 * The grammars are deliberately no wider than docker's own and in places
 * narrower.  Checking is purely lexical: no lookups, no file system.
 *
 * Each gram_NAME returns 0 when s is in the grammar and leaves *why
 * alone.  Otherwise it returns -1 and, if why is not NULL, points *why
 * at a short static phrase that completes "VALUE is not an image
 * reference: <why>", such as "it starts with '-'" or "a tag has at most
 * 128 characters": lowercase, no trailing period.  A NULL s is taken as
 * the empty string, which no grammar contains.  Byte values are those
 * of ASCII; "letter" and "digit" mean ASCII letters and digits only.
 */
#ifndef GRAMMAR_H
#define GRAMMAR_H

/*
 * A Docker image reference, exactly as github.com/distribution/reference
 * parses it (reference.go, regexp.go):
 *
 *	reference	:= name [ ":" tag ] [ "@" digest ]
 *	name		:= [ domain "/" ] path
 *	domain		:= host [ ":" port ]
 *	host		:= domain-name | "[" [0-9A-Fa-f:]+ "]"
 *	domain-name	:= dcomp ( "." dcomp )*	(IPv4 too)
 *	dcomp		:= [A-Za-z0-9] [ [A-Za-z0-9-]* [A-Za-z0-9] ]
 *	port		:= [0-9]+
 *	path		:= pcomp ( "/" pcomp )*
 *	pcomp		:= [a-z0-9]+ ( separator [a-z0-9]+ )*
 *	separator	:= "." | "_" | "__" | "-"+
 *	tag		:= [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
 *	digest		:= algorithm ":" [0-9A-Fa-f]{32,}
 *	algorithm	:= acomp ( [+._-] acomp )*
 *	acomp		:= [A-Za-z] [A-Za-z0-9]*
 *
 * The part before the first "/" is the domain only when the name has a
 * "/" and that part contains "." or ":" or an uppercase letter, or is
 * "localhost" (docker's own rule); otherwise it is the first path
 * component.  So "a_b.c/d" is refused (domain "a_b.c"), "Foo/bar" is
 * accepted (domain "Foo") and "Alpine" is refused (uppercase path).
 * The name, domain and path together, is at most 255 characters; docker
 * itself may refuse a slightly shorter one, as it counts the implied
 * "docker.io/library/" too.  A digest's algorithm and length are not
 * checked beyond the grammar above (docker rejects "foo:<32 hex>").
 * A bare 64-digit hex name is accepted; docker reads it as an image ID.
 * Accepted: alpine  alpine:3.18.3  library/alpine  a__b  a---b
 * docker.io/library/alpine:3.19  localhost:5000/team/app:v1.2
 * [::1]:5000/x  127.0.0.1:5000/x  x:tag@sha256:<64 hex>
 */
int	 gram_image(const char *s, const char **why);

/*
 * An environment variable name, as docker --env NAME=VALUE needs it:
 * [A-Za-z_][A-Za-z0-9_]*, at most 255 characters.
 */
int	 gram_envname(const char *s, const char **why);

/*
 * A Docker network name for --network: [A-Za-z0-9][A-Za-z0-9_.-]*, at
 * most 64 characters.  "host", "none" and "bridge" pass; the
 * "container:NAME" mode and anything with a "/" or ":" do not.
 */
int	 gram_netname(const char *s, const char **why);

/*
 * An absolute path that docker's --volume SRC:DST, --tmpfs DST and
 * --workdir take literally: it starts with "/", is at most 4095 bytes,
 * holds no byte below 0x20 and no 0x7f, no ":" and no "," (docker
 * splits options on them), no empty component (no "//", no trailing
 * "/") and no component "." or "..".  The path "/" itself is valid.
 * Other bytes, UTF-8 included, are allowed.
 */
int	 gram_abspath(const char *s, const char **why);

/*
 * docker --gpus, restricted to one of:
 *
 *	"all"
 *	[1-9][0-9]{0,3}				a count, 1 to 9999
 *	"device=" id ( "," id )*		id := [A-Za-z0-9][A-Za-z0-9-]*
 *
 * for example "device=0,1" or "device=GPU-3a23c669-1f69-c64e-cf85-
 * 44e9b07e7a2a".  Note that docker reads --gpus as one CSV record, so a
 * list of more than one id reaches it intact only inside double quotes:
 * pass "\"device=0,1\"" in argv.
 */
int	 gram_gpus(const char *s, const char **why);

/*
 * 1 when path is dir or lies below it, else 0: lexically, path equals
 * dir or starts with dir and then "/"; dir "/" holds every absolute
 * path.  So /data/x is under /data but /database is not.  Both are
 * assumed valid by gram_abspath; NULL for either gives 0.
 */
int	 gram_under(const char *path, const char *dir);

#endif
