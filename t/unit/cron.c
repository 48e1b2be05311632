/*
 * Table-driven TAP tests for vendor/cron.c.
 *
 * Parse rows give the sets an expression yields, one field after the
 * other (second minute hour day-of-month month day-of-week, a "*" after
 * a day field that counts as unrestricted), or the exact error.  Next
 * rows and sequences give times as "YYYY-MM-DD HH:MM:SS[.mmm] [+-HHMM]",
 * UTC when there is no offset; a sequence asks for each firing in turn,
 * starting from the one before, so it also checks "strictly after".
 * Zones are POSIX TZ strings, so no tzdata is needed.  Sweeps compare
 * cron_next with a brute-force search, minute by minute (or second by
 * second), that applies the rules of cron.h in their plainest form.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define MAXSEQ		8

#define UTC	"UTC0"
#define US	"EST5EDT,M3.2.0,M11.1.0"
#define EU	"CET-1CEST,M3.5.0,M10.5.0/3"
/* Old Brazil: clocks change at midnight, southern summer. */
#define BR	"BRT3BRST,M10.3.0/0,M2.3.0/0"
/* Lord Howe Island: summer time is 30 minutes ahead. */
#define LH	"LHST-10:30LHDT-11,M10.1.0,M4.1.0"

struct pcase {
	const char	*expr;
	const char	*want;		/* the sets, NULL for an error */
	const char	*err;
};

#define P(e, w)		{ e, w, NULL }
#define E(e, m)		{ e, NULL, m }

struct ncase {
	const char	*tz;
	const char	*expr;
	const char	*after;
	const char	*want;		/* NULL: none (-1) */
};

struct scase {
	const char	*tz;
	const char	*expr;
	const char	*from;
	const char	*want[MAXSEQ];
};

struct sweep {
	const char	*tz;
	long long	 at;		/* an offset change, s since the epoch */
	int		 step;		/* 60 or 1 */
};

#define ALL	"0 0-59 0-23 1-31* 1-12 0-6*"

static const struct pcase parses[] = {
	/* the plain forms */
	P("* * * * *", ALL),
	P("0 0 * * *", "0 0 0 1-31* 1-12 0-6*"),
	P("5 4 3 2 1", "0 5 4 3 2 1"),
	P("59 23 31 12 6", "0 59 23 31 12 6"),
	P("00 05 01 01 00", "0 0 5 1 1 0"),
	P("1,2,3 * * * *", "0 1-3 0-23 1-31* 1-12 0-6*"),
	P("5-5 * * * *", "0 5 0-23 1-31* 1-12 0-6*"),
	P("0-59 0-23 1-31 1-12 0-6", "0 0-59 0-23 1-31 1-12 0-6"),
	P("0 0 1,15 * *", "0 0 0 1,15 1-12 0-6*"),
	/* steps */
	P("*/15 * * * *", "0 0,15,30,45 0-23 1-31* 1-12 0-6*"),
	P("*/1 * * * *", ALL),
	P("*/60 * * * *", "0 0 0-23 1-31* 1-12 0-6*"),
	P("0 */24 * * *", "0 0 0 1-31* 1-12 0-6*"),
	P("0 */5 * * *", "0 0 0,5,10,15,20 1-31* 1-12 0-6*"),
	P("0/5 * * * *",
	    "0 0,5,10,15,20,25,30,35,40,45,50,55 0-23 1-31* 1-12 0-6*"),
	P("3/20 * * * *", "0 3,23,43 0-23 1-31* 1-12 0-6*"),
	P("10-20/5 * * * *", "0 10,15,20 0-23 1-31* 1-12 0-6*"),
	P("0-59/30 * * * *", "0 0,30 0-23 1-31* 1-12 0-6*"),
	P("5-5/2 * * * *", "0 5 0-23 1-31* 1-12 0-6*"),
	P("1-5,10,*/20 * * * *", "0 0-5,10,20,40 0-23 1-31* 1-12 0-6*"),
	P("0 0 5/10 * *", "0 0 0 5,15,25 1-12 0-6*"),
	P("0 0 * */4 *", "0 0 0 1-31* 1,5,9 0-6*"),
	P("0 0 * * */2", "0 0 0 1-31* 1-12 0,2,4,6*"),
	P("0 0 * * 1/2", "0 0 0 1-31* 1-12 1,3,5"),
	P("0 0 * * 7/2", "0 0 0 1-31* 1-12 0"),
	/* names */
	P("0 9-17 * * MON-FRI", "0 0 9-17 1-31* 1-12 1-5"),
	P("0 0 1 JAN,jul *", "0 0 0 1 1,7 0-6*"),
	P("0 0 * jan-MAR *", "0 0 0 1-31* 1-3 0-6*"),
	P("0 0 * Feb/3 *", "0 0 0 1-31* 2,5,8,11 0-6*"),
	P("0 0 * * sun", "0 0 0 1-31* 1-12 0"),
	P("0 0 * * SAT,SUN", "0 0 0 1-31* 1-12 0,6"),
	P("0 0 * * mon-fri/2", "0 0 0 1-31* 1-12 1,3,5"),
	P("0 0 * * Fri-Sun", "0 0 0 1-31* 1-12 0,5-6"),
	P("0 0 * * SUN-SUN", "0 0 0 1-31* 1-12 0"),
	P("0 0 * * SUN-TUE", "0 0 0 1-31* 1-12 0-2"),
	P("0 0 * JAN-DEC SUN-SAT", "0 0 0 1-31* 1-12 0-6"),
	/* day of week 7 */
	P("0 0 * * 7", "0 0 0 1-31* 1-12 0"),
	P("0 0 * * 5-7", "0 0 0 1-31* 1-12 0,5-6"),
	P("0 0 * * 0-7", "0 0 0 1-31* 1-12 0-6"),
	P("0 0 * * 0,7", "0 0 0 1-31* 1-12 0"),
	/* which day fields count as "*" */
	P("0 0 ? * MON", "0 0 0 1-31* 1-12 1"),
	P("0 0 1 * ?", "0 0 0 1 1-12 0-6*"),
	P("0 0 ? * ?", "0 0 0 1-31* 1-12 0-6*"),
	P("0 0 */2 * FRI", "0 0 0 1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31*"
	    " 1-12 5"),
	P("0 0 ?/10 * *", "0 0 0 1,11,21,31* 1-12 0-6*"),
	P("0 0 1-31 * FRI", "0 0 0 1-31 1-12 5"),
	P("0 0 13 * FRI", "0 0 0 13 1-12 5"),
	P("0 0 1,* * 1", "0 0 0 1-31 1-12 1"),
	/* six fields */
	P("*/2 * * * * *", "0,2,4,6,8,10,12,14,16,18,20,22,24,26,28,30,32,34,"
	    "36,38,40,42,44,46,48,50,52,54,56,58 0-59 0-23 1-31* 1-12 0-6*"),
	P("30 0 12 * * *", "30 0 12 1-31* 1-12 0-6*"),
	P("0-59 * * * * *", "0-59 0-59 0-23 1-31* 1-12 0-6*"),
	P("15,45 */30 9 1 JAN MON", "15,45 0,30 9 1 1 1"),
	/* macros */
	P("@yearly", "0 0 0 1 1 0-6*"),
	P("@annually", "0 0 0 1 1 0-6*"),
	P("@monthly", "0 0 0 1 1-12 0-6*"),
	P("@weekly", "0 0 0 1-31* 1-12 0"),
	P("@daily", "0 0 0 1-31* 1-12 0-6*"),
	P("@midnight", "0 0 0 1-31* 1-12 0-6*"),
	P("@hourly", "0 0 0-23 1-31* 1-12 0-6*"),
	P("@DAILY", "0 0 0 1-31* 1-12 0-6*"),
	P("  @Hourly \t", "0 0 0-23 1-31* 1-12 0-6*"),
	/* blanks */
	P("  0   0\t*  *  *  ", "0 0 0 1-31* 1-12 0-6*"),
	P("0 0 * * *\n", "0 0 0 1-31* 1-12 0-6*"),

	/* the number of fields */
	E("", "empty expression"),
	E(" \t ", "empty expression"),
	E("*", "expected 5 or 6 fields, got 1"),
	E("* * * *", "expected 5 or 6 fields, got 4"),
	E("* * * * * * *", "expected 5 or 6 fields, got 7"),
	E("0 0 * * * 2025 x", "expected 5 or 6 fields, got 7"),
	/* out of range, naming the field as written */
	E("60 * * * *", "field 1 (minute): 60 is out of range 0-59"),
	E("* 24 * * *", "field 2 (hour): 24 is out of range 0-23"),
	E("* * 0 * *", "field 3 (day of month): 0 is out of range 1-31"),
	E("* * 32 * *", "field 3 (day of month): 32 is out of range 1-31"),
	E("* * * 0 *", "field 4 (month): 0 is out of range 1-12"),
	E("* * * 13 *", "field 4 (month): 13 is out of range 1-12"),
	E("* * * * 8", "field 5 (day of week): 8 is out of range 0-7"),
	E("60 * * * * *", "field 1 (second): 60 is out of range 0-59"),
	E("0 60 * * * *", "field 2 (minute): 60 is out of range 0-59"),
	E("0 0 24 * * *", "field 3 (hour): 24 is out of range 0-23"),
	E("0 0 0 32 * *", "field 4 (day of month): 32 is out of range 1-31"),
	E("0 0 0 * 13 *", "field 5 (month): 13 is out of range 1-12"),
	E("0 0 0 * * 8", "field 6 (day of week): 8 is out of range 0-7"),
	E("1-60 * * * *", "field 1 (minute): 60 is out of range 0-59"),
	E("0 20-24 * * *", "field 2 (hour): 24 is out of range 0-23"),
	E("99999999999999999999 * * * *",
	    "field 1 (minute): 9999999999999999... is out of range 0-59"),
	/* empty list items */
	E("1,,2 * * * *", "field 1 (minute): empty list item"),
	E(",1 * * * *", "field 1 (minute): empty list item"),
	E("1, * * * *", "field 1 (minute): empty list item"),
	E("0 0 * * MON,", "field 5 (day of week): empty list item"),
	E(", * * * *", "field 1 (minute): empty list item"),
	/* steps */
	E("*/0 * * * *", "field 1 (minute): step 0 is out of range 1-60"),
	E("0 0-23/0 * * *", "field 2 (hour): step 0 is out of range 1-24"),
	E("*/61 * * * *", "field 1 (minute): step 61 is out of range 1-60"),
	E("0 */25 * * *", "field 2 (hour): step 25 is out of range 1-24"),
	E("0 0 * * */8", "field 5 (day of week): step 8 is out of range 1-7"),
	E("*/ * * * *", "field 1 (minute): missing step after '/'"),
	E("*/x * * * *", "field 1 (minute): unexpected 'x'"),
	E("*/2/3 * * * *", "field 1 (minute): unexpected '/'"),
	E("*/-1 * * * *", "field 1 (minute): unexpected '-'"),
	/* reversed ranges */
	E("5-2 * * * *", "field 1 (minute): range 5-2 is reversed"),
	E("0 23-1 * * *", "field 2 (hour): range 23-1 is reversed"),
	E("0 0 * DEC-JAN *", "field 4 (month): range DEC-JAN is reversed"),
	E("0 0 * * FRI-MON", "field 5 (day of week): range FRI-MON is reversed"),
	E("0 0 * * 7-1", "field 5 (day of week): range 7-1 is reversed"),
	E("0 0 * * 5-0", "field 5 (day of week): range 5-0 is reversed"),
	/* names */
	E("0 0 * * MONDAY", "field 5 (day of week): unknown name 'MONDAY'"),
	E("0 0 * JANUARY *", "field 4 (month): unknown name 'JANUARY'"),
	E("0 0 * * FOO", "field 5 (day of week): unknown name 'FOO'"),
	E("0 0 * * * x", "field 6 (day of week): unknown name 'x'"),
	E("0 0 * * MO", "field 5 (day of week): unknown name 'MO'"),
	E("MON * * * *", "field 1 (minute): unexpected 'M'"),
	E("0 0 JAN * *", "field 3 (day of month): unexpected 'J'"),
	E("0 0 * MON *", "field 4 (month): unknown name 'MON'"),
	/* junk */
	E("5x * * * *", "field 1 (minute): unexpected 'x'"),
	E("1-2-3 * * * *", "field 1 (minute): unexpected '-'"),
	E("1- * * * *", "field 1 (minute): missing value after '-'"),
	E("0 0 * * MON-", "field 5 (day of week): missing value after '-'"),
	E("1-,2 * * * *", "field 1 (minute): missing value after '-'"),
	E("-1 * * * *", "field 1 (minute): unexpected '-'"),
	E("+1 * * * *", "field 1 (minute): unexpected '+'"),
	E("1.5 * * * *", "field 1 (minute): unexpected '.'"),
	E("1;2 * * * *", "field 1 (minute): unexpected ';'"),
	E("*-5 * * * *", "field 1 (minute): unexpected '-'"),
	E("** * * * *", "field 1 (minute): unexpected '*'"),
	E("0 0 * * /2", "field 5 (day of week): unexpected '/'"),
	E("1\001 * * * *", "field 1 (minute): unexpected byte 0x01"),
	E("0 0 * * 1\xc3\xa9", "field 5 (day of week): unexpected byte 0xc3"),
	E("? * * * *", "field 1 (minute): unexpected '?'"),
	E("0 ? * * *", "field 2 (hour): unexpected '?'"),
	E("0 0 * ? *", "field 4 (month): unexpected '?'"),
	E("0 0 L * *", "field 3 (day of month): unexpected 'L'"),
	E("0 0 1W * *", "field 3 (day of month): unexpected 'W'"),
	E("0 0 * * 5L", "field 5 (day of week): unexpected 'L'"),
	E("0 0 * * 5#3", "field 5 (day of week): unexpected '#'"),
	E("0 0 * * 1,2x", "field 5 (day of week): unexpected 'x'"),
	/* macros */
	E("@every 5m", "unknown macro '@every'"),
	E("@reboot", "unknown macro '@reboot'"),
	E("@", "unknown macro '@'"),
	E("@dailyx", "unknown macro '@dailyx'"),
	E("@daily *", "unexpected text after @daily"),
	E("@hourly @hourly", "unexpected text after @hourly"),
	E("@averyveryverylongmacroname",
	    "unknown macro '@averyveryverylongma...'"),
	E("0 @daily * * *", "field 2 (hour): unexpected '@'"),
};

static const struct ncase nexts[] = {
	/* strictly after, to the millisecond */
	{ UTC, "* * * * *", "2025-01-01 00:00:00", "2025-01-01 00:01:00" },
	{ UTC, "* * * * *", "2025-01-01 00:00:59.999", "2025-01-01 00:01:00" },
	{ UTC, "* * * * *", "2025-01-01 00:00:00.001", "2025-01-01 00:01:00" },
	{ UTC, "* * * * * *", "2025-01-01 00:00:00", "2025-01-01 00:00:01" },
	{ UTC, "* * * * * *", "2025-01-01 00:00:00.999", "2025-01-01 00:00:01" },
	{ UTC, "0 0 * * *", "2025-01-01 00:00:00", "2025-01-02 00:00:00" },
	{ UTC, "0 0 * * *", "2024-12-31 23:59:59.999", "2025-01-01 00:00:00" },
	{ UTC, "30 8 * * *", "2025-06-15 08:29:59", "2025-06-15 08:30:00" },
	{ UTC, "30 8 * * *", "2025-06-15 08:30:00", "2025-06-16 08:30:00" },
	/* rollovers */
	{ UTC, "0 0 1 1 *", "2025-01-01 00:00:00", "2026-01-01 00:00:00" },
	{ UTC, "59 23 31 12 *", "2025-06-01 00:00:00", "2025-12-31 23:59:00" },
	{ UTC, "59 23 31 12 *", "2025-12-31 23:59:00", "2026-12-31 23:59:00" },
	{ UTC, "* * * * *", "2025-12-31 23:59:30", "2026-01-01 00:00:00" },
	{ UTC, "*/2 * * * * *", "2025-12-31 23:59:59", "2026-01-01 00:00:00" },
	{ UTC, "0 0 31 * *", "2025-01-31 00:00:00", "2025-03-31 00:00:00" },
	{ UTC, "0 0 31 * *", "2025-04-01 00:00:00", "2025-05-31 00:00:00" },
	{ UTC, "0 12 * * *", "2025-02-28 13:00:00", "2025-03-01 12:00:00" },
	{ UTC, "0 12 * * *", "2024-02-28 13:00:00", "2024-02-29 12:00:00" },
	{ UTC, "0 0 1 * *", "2025-01-31 12:00:00", "2025-02-01 00:00:00" },
	{ UTC, "0 0 1 * *", "2025-12-01 00:00:00", "2026-01-01 00:00:00" },
	{ UTC, "0 0 28-31 * *", "2025-02-28 00:00:00", "2025-03-28 00:00:00" },
	{ UTC, "0 0 28-31 * *", "2024-02-28 00:00:00", "2024-02-29 00:00:00" },
	/* leap days, and days that never come */
	{ UTC, "0 0 29 2 *", "2025-03-01 00:00:00", "2028-02-29 00:00:00" },
	{ UTC, "0 0 29 2 *", "2024-02-29 00:00:00", "2028-02-29 00:00:00" },
	{ UTC, "0 0 29 2 *", "2024-02-28 23:59:59", "2024-02-29 00:00:00" },
	{ UTC, "0 0 29 2 *", "2095-03-01 00:00:00", "2096-02-29 00:00:00" },
	{ UTC, "0 0 29 2 *", "2096-03-01 00:00:00", NULL },	/* 2100 */
	{ UTC, "0 0 29 2 *", "2099-03-02 00:00:00", "2104-02-29 00:00:00" },
	{ UTC, "0 0 29 2 *", "2399-03-01 00:00:00", "2400-02-29 00:00:00" },
	{ UTC, "0 0 30 2 *", "2025-01-01 00:00:00", NULL },
	{ UTC, "0 0 31 2 *", "2025-01-01 00:00:00", NULL },
	{ UTC, "0 0 31 4,6,9,11 *", "2025-01-01 00:00:00", NULL },
	{ UTC, "0 0 30 2 ?", "2025-01-01 00:00:00", NULL },
	{ UTC, "0 0 30 2 MON", "2025-01-01 00:00:00", "2025-02-03 00:00:00" },
	{ UTC, "0 0 30 2,3 *", "2025-01-01 00:00:00", "2025-03-30 00:00:00" },
	/* the five-year horizon */
	{ UTC, "0 0 1 1 *", "2020-06-01 00:00:00", "2021-01-01 00:00:00" },
	{ UTC, "0 0 13 * FRI", "2025-01-10 00:00:00", "2025-01-13 00:00:00" },
	/* steps and lists */
	{ UTC, "0/5 * * * *", "2025-01-01 00:07:00", "2025-01-01 00:10:00" },
	{ UTC, "3/20 * * * *", "2025-01-01 00:44:00", "2025-01-01 01:03:00" },
	{ UTC, "10-20/5 * * * *", "2025-01-01 00:21:00", "2025-01-01 01:10:00" },
	{ UTC, "1-5,10,*/20 * * * *", "2025-01-01 00:05:00",
	    "2025-01-01 00:10:00" },
	{ UTC, "0 0 * FEB/3 *", "2025-03-01 00:00:00", "2025-05-01 00:00:00" },
	{ UTC, "0 0 5/10 * *", "2025-01-25 00:00:00", "2025-02-05 00:00:00" },
	/* six fields */
	{ UTC, "*/2 * * * * *", "2025-01-01 00:00:00", "2025-01-01 00:00:02" },
	{ UTC, "*/2 * * * * *", "2025-01-01 00:00:01.5", "2025-01-01 00:00:02" },
	{ UTC, "15,45 * * * * *", "2025-01-01 00:00:20", "2025-01-01 00:00:45" },
	{ UTC, "15,45 * * * * *", "2025-01-01 00:00:45", "2025-01-01 00:01:15" },
	{ UTC, "0 0/5 * * * *", "2025-01-01 00:07:00", "2025-01-01 00:10:00" },
	{ UTC, "30 0 12 * * *", "2025-01-01 12:00:30", "2025-01-02 12:00:30" },
	{ UTC, "59 59 23 31 12 *", "2025-01-01 00:00:00", "2025-12-31 23:59:59" },
	/* names and days (2025-01-01 is a Wednesday) */
	{ UTC, "0 9-17 * * MON-FRI", "2025-01-03 17:00:00",
	    "2025-01-06 09:00:00" },
	{ UTC, "0 9-17 * * MON-FRI", "2025-01-06 09:30:00",
	    "2025-01-06 10:00:00" },
	{ UTC, "0 0 * * SUN", "2025-01-01 00:00:00", "2025-01-05 00:00:00" },
	{ UTC, "0 0 * * 7", "2025-01-01 00:00:00", "2025-01-05 00:00:00" },
	{ UTC, "0 0 * * 0", "2025-01-05 00:00:00", "2025-01-12 00:00:00" },
	{ UTC, "0 0 * * FRI-SUN", "2025-01-05 00:00:00", "2025-01-10 00:00:00" },
	{ UTC, "0 0 * * 1/2", "2025-01-01 00:00:00", "2025-01-03 00:00:00" },
	{ UTC, "0 0 1 JAN,JUL *", "2025-02-01 00:00:00", "2025-07-01 00:00:00" },
	{ UTC, "0 0 1 jul *", "2025-07-01 00:00:00", "2026-07-01 00:00:00" },
	/* Vixie's rule: both day fields restricted means either will do */
	{ UTC, "0 0 13 * FRI", "2025-01-01 00:00:00", "2025-01-03 00:00:00" },
	{ UTC, "0 0 13 * FRI", "2025-01-13 00:00:00", "2025-01-17 00:00:00" },
	{ UTC, "0 0 * * FRI", "2025-01-10 00:00:00", "2025-01-17 00:00:00" },
	{ UTC, "0 0 13 * *", "2025-01-03 00:00:00", "2025-01-13 00:00:00" },
	{ UTC, "0 0 */2 * FRI", "2025-01-03 00:00:00", "2025-01-17 00:00:00" },
	{ UTC, "0 0 1-31 * FRI", "2025-01-03 00:00:00", "2025-01-04 00:00:00" },
	{ UTC, "0 0 ? * FRI", "2025-01-03 00:00:00", "2025-01-10 00:00:00" },
	{ UTC, "0 0 13 * ?", "2025-01-03 00:00:00", "2025-01-13 00:00:00" },
	{ UTC, "0 0 1 * MON", "2025-01-01 00:00:00", "2025-01-06 00:00:00" },
	{ UTC, "0 0 1 * MON", "2025-01-27 00:00:00", "2025-02-01 00:00:00" },
	/* macros */
	{ UTC, "@yearly", "2025-05-05 00:00:00", "2026-01-01 00:00:00" },
	{ UTC, "@annually", "2025-12-31 23:59:59", "2026-01-01 00:00:00" },
	{ UTC, "@monthly", "2025-12-15 00:00:00", "2026-01-01 00:00:00" },
	{ UTC, "@weekly", "2025-01-01 00:00:00", "2025-01-05 00:00:00" },
	{ UTC, "@daily", "2025-01-01 12:00:00", "2025-01-02 00:00:00" },
	{ UTC, "@midnight", "2025-01-01 00:00:00", "2025-01-02 00:00:00" },
	{ UTC, "@hourly", "2025-01-01 12:00:00", "2025-01-01 13:00:00" },
	/* before 1970, and around the epoch */
	{ UTC, "0 0 1 1 *", "1969-12-31 12:00:00", "1970-01-01 00:00:00" },
	{ UTC, "0 0 1 1 *", "1960-06-15 00:00:00", "1961-01-01 00:00:00" },
	{ UTC, "* * * * * *", "1969-12-31 23:59:59.999", "1970-01-01 00:00:00" },
	{ UTC, "0 0 29 2 *", "1899-03-01 00:00:00", "1904-02-29 00:00:00" },
	{ UTC, "0 0 29 2 *", "1897-01-01 00:00:00", NULL },	/* 1900 */
	{ UTC, "0 0 1 1 *", "9999-06-01 00:00:00", "10000-01-01 00:00:00" },
	/* local time, away from any change */
	{ US, "0 9 * * *", "2025-01-15 12:00:00 -0500", "2025-01-16 09:00:00 -0500" },
	{ US, "0 9 * * *", "2025-07-15 12:00:00 -0400", "2025-07-16 09:00:00 -0400" },
	{ EU, "0 9 * * *", "2025-07-15 12:00:00 +0200", "2025-07-16 09:00:00 +0200" },
	{ US, "0 0 1 1 *", "2025-12-31 23:30:00 -0500", "2026-01-01 00:00:00 -0500" },
	/* the gap ends at start: a fixed time in it fires now */
	{ US, "30 2 * * *", "2025-03-09 01:59:59.500 -0500",
	    "2025-03-09 03:00:00 -0400" },
	{ US, "30 2 * * *", "2025-03-09 03:00:00 -0400",
	    "2025-03-10 02:30:00 -0400" },
	{ US, "0 3 * * *", "2025-03-09 01:59:59.500 -0500",
	    "2025-03-09 03:00:00 -0400" },
	{ US, "30 * * * *", "2025-03-09 01:59:59.500 -0500",
	    "2025-03-09 03:30:00 -0400" },
	{ US, "0 1 * * *", "2025-03-09 01:59:59.500 -0500",
	    "2025-03-10 01:00:00 -0400" },
	{ EU, "30 2 * * *", "2025-03-30 01:59:59 +0100",
	    "2025-03-30 03:00:00 +0200" },
	/* a date that falls in the gap; next year it exists */
	{ US, "30 2 9 3 *", "2025-03-01 00:00:00 -0500",
	    "2025-03-09 03:00:00 -0400" },
	{ US, "30 2 9 3 *", "2025-03-09 03:00:00 -0400",
	    "2026-03-09 02:30:00 -0400" },
	{ EU, "30 2 30 3 *", "2025-03-01 00:00:00 +0100",
	    "2025-03-30 03:00:00 +0200" },
	{ EU, "30 2 30 3 *", "2025-03-30 03:00:00 +0200",
	    "2026-03-30 02:30:00 +0200" },
	/* start in the second pass of a repeated hour */
	{ US, "45 1 * * *", "2025-11-02 01:10:00 -0500",
	    "2025-11-03 01:45:00 -0500" },
	{ US, "10 1 * * *", "2025-11-02 01:05:00 -0500",
	    "2025-11-03 01:10:00 -0500" },
	{ US, "10 * * * *", "2025-11-02 01:05:00 -0500",
	    "2025-11-02 01:10:00 -0500" },
	{ US, "* 1 * * *", "2025-11-02 01:05:00 -0500",
	    "2025-11-03 01:00:00 -0500" },
	{ EU, "* 2 * * *", "2025-10-26 02:58:00 +0200",
	    "2025-10-26 02:59:00 +0200" },
	{ EU, "* 2 * * *", "2025-10-26 02:59:00 +0200",
	    "2025-10-27 02:00:00 +0100" },
	{ EU, "* 2 * * *", "2025-10-26 02:30:00 +0100",
	    "2025-10-27 02:00:00 +0100" },
	{ EU, "0 2 * * *", "2025-10-26 02:00:00 +0100",
	    "2025-10-27 02:00:00 +0100" },
	/* start in the first pass: the second pass can come first */
	{ US, "5 * * * *", "2025-11-02 01:50:00 -0400",
	    "2025-11-02 01:05:00 -0500" },
	{ US, "55 * * * *", "2025-11-02 01:50:00 -0400",
	    "2025-11-02 01:55:00 -0400" },
	{ US, "5 1 * * *", "2025-11-02 01:50:00 -0400",
	    "2025-11-03 01:05:00 -0500" },
	{ US, "0 2 * * *", "2025-11-02 01:50:00 -0400",
	    "2025-11-02 02:00:00 -0500" },
	{ EU, "15 * * * *", "2025-10-26 02:20:00 +0200",
	    "2025-10-26 02:15:00 +0100" },
};

static const struct scase seqs[] = {
	/* US, clocks forward: 02:00-02:59 EST do not exist on 2025-03-09 */
	{ US, "30 2 * * *", "2025-03-08 00:00:00 -0500", {
	    "2025-03-08 02:30:00 -0500", "2025-03-09 03:00:00 -0400",
	    "2025-03-10 02:30:00 -0400" } },
	{ US, "0 2 * * *", "2025-03-08 00:00:00 -0500", {
	    "2025-03-08 02:00:00 -0500", "2025-03-09 03:00:00 -0400",
	    "2025-03-10 02:00:00 -0400" } },
	{ US, "30 * * * *", "2025-03-09 00:45:00 -0500", {
	    "2025-03-09 01:30:00 -0500", "2025-03-09 03:30:00 -0400",
	    "2025-03-09 04:30:00 -0400" } },
	{ US, "*/20 * * * *", "2025-03-09 01:30:00 -0500", {
	    "2025-03-09 01:40:00 -0500", "2025-03-09 03:00:00 -0400",
	    "2025-03-09 03:20:00 -0400" } },
	{ US, "0,30 2,3 * * *", "2025-03-09 00:00:00 -0500", {
	    "2025-03-09 03:00:00 -0400", "2025-03-09 03:30:00 -0400",
	    "2025-03-10 02:00:00 -0400" } },
	{ US, "*/15 2 * * *", "2025-03-09 00:00:00 -0500", {
	    "2025-03-09 03:00:00 -0400", "2025-03-10 02:00:00 -0400",
	    "2025-03-10 02:15:00 -0400" } },
	{ US, "0 */2 * * *", "2025-03-09 00:30:00 -0500", {
	    "2025-03-09 03:00:00 -0400", "2025-03-09 04:00:00 -0400",
	    "2025-03-09 06:00:00 -0400" } },
	{ US, "*/30 * * * * *", "2025-03-09 01:59:00 -0500", {
	    "2025-03-09 01:59:30 -0500", "2025-03-09 03:00:00 -0400",
	    "2025-03-09 03:00:30 -0400" } },
	{ US, "0 30 2 * * *", "2025-03-09 00:00:00 -0500", {
	    "2025-03-09 03:00:00 -0400", "2025-03-10 02:30:00 -0400" } },
	/* US, clocks back: 01:00-01:59 repeat on 2025-11-02 */
	{ US, "30 1 * * *", "2025-11-01 12:00:00 -0400", {
	    "2025-11-02 01:30:00 -0400", "2025-11-03 01:30:00 -0500" } },
	{ US, "30 * * * *", "2025-11-02 00:00:00 -0400", {
	    "2025-11-02 00:30:00 -0400", "2025-11-02 01:30:00 -0400",
	    "2025-11-02 01:30:00 -0500", "2025-11-02 02:30:00 -0500" } },
	{ US, "0 * * * *", "2025-11-02 00:30:00 -0400", {
	    "2025-11-02 01:00:00 -0400", "2025-11-02 01:00:00 -0500",
	    "2025-11-02 02:00:00 -0500" } },
	{ US, "*/20 * * * *", "2025-11-02 01:50:00 -0400", {
	    "2025-11-02 01:00:00 -0500", "2025-11-02 01:20:00 -0500",
	    "2025-11-02 01:40:00 -0500", "2025-11-02 02:00:00 -0500" } },
	{ US, "*/30 1 * * *", "2025-11-02 00:00:00 -0400", {
	    "2025-11-02 01:00:00 -0400", "2025-11-02 01:30:00 -0400",
	    "2025-11-03 01:00:00 -0500" } },
	{ US, "0 */20 * * * *", "2025-11-02 01:45:00 -0400", {
	    "2025-11-02 01:00:00 -0500", "2025-11-02 01:20:00 -0500",
	    "2025-11-02 01:40:00 -0500", "2025-11-02 02:00:00 -0500" } },
	{ US, "@hourly", "2025-11-02 00:00:00 -0400", {
	    "2025-11-02 01:00:00 -0400", "2025-11-02 01:00:00 -0500",
	    "2025-11-02 02:00:00 -0500" } },
	{ US, "@daily", "2025-11-01 12:00:00 -0400", {
	    "2025-11-02 00:00:00 -0400", "2025-11-03 00:00:00 -0500" } },
	/* Europe, clocks forward: 02:00-02:59 CET do not exist on 2025-03-30 */
	{ EU, "30 2 * * *", "2025-03-29 12:00:00 +0100", {
	    "2025-03-30 03:00:00 +0200", "2025-03-31 02:30:00 +0200" } },
	{ EU, "15 * * * *", "2025-03-30 01:00:00 +0100", {
	    "2025-03-30 01:15:00 +0100", "2025-03-30 03:15:00 +0200",
	    "2025-03-30 04:15:00 +0200" } },
	{ EU, "0 2-4 * * *", "2025-03-30 00:00:00 +0100", {
	    "2025-03-30 03:00:00 +0200", "2025-03-30 04:00:00 +0200",
	    "2025-03-31 02:00:00 +0200" } },
	/* Europe, clocks back: 02:00-02:59 repeat on 2025-10-26 */
	{ EU, "30 2 * * *", "2025-10-25 12:00:00 +0200", {
	    "2025-10-26 02:30:00 +0200", "2025-10-27 02:30:00 +0100" } },
	{ EU, "*/30 * * * *", "2025-10-26 01:45:00 +0200", {
	    "2025-10-26 02:00:00 +0200", "2025-10-26 02:30:00 +0200",
	    "2025-10-26 02:00:00 +0100", "2025-10-26 02:30:00 +0100",
	    "2025-10-26 03:00:00 +0100" } },
	{ EU, "0 */2 * * *", "2025-10-26 01:00:00 +0200", {
	    "2025-10-26 02:00:00 +0200", "2025-10-26 04:00:00 +0100" } },
	{ EU, "0 0 * * * *", "2025-10-26 01:30:00 +0200", {
	    "2025-10-26 02:00:00 +0200", "2025-10-26 02:00:00 +0100",
	    "2025-10-26 03:00:00 +0100" } },
	/* changes at midnight: the day still matches */
	{ BR, "0 0 * * *", "2025-10-18 12:00:00 -0300", {
	    "2025-10-19 01:00:00 -0200", "2025-10-20 00:00:00 -0200" } },
	{ BR, "0 0 * * SUN", "2025-10-18 12:00:00 -0300", {
	    "2025-10-19 01:00:00 -0200", "2025-10-26 00:00:00 -0200" } },
	{ BR, "0 0 19 10 *", "2025-10-01 00:00:00 -0300", {
	    "2025-10-19 01:00:00 -0200", "2026-10-19 00:00:00 -0200" } },
	{ BR, "30 23 * * *", "2026-02-14 12:00:00 -0200", {
	    "2026-02-14 23:30:00 -0200", "2026-02-15 23:30:00 -0300" } },
	{ BR, "30 * * * *", "2026-02-14 22:45:00 -0200", {
	    "2026-02-14 23:30:00 -0200", "2026-02-14 23:30:00 -0300",
	    "2026-02-15 00:30:00 -0300" } },
	{ BR, "0 0 * * *", "2026-02-14 12:00:00 -0200", {
	    "2026-02-15 00:00:00 -0300", "2026-02-16 00:00:00 -0300" } },
	/* half-hour summer time */
	{ LH, "15 2 * * *", "2025-10-04 12:00:00 +1030", {
	    "2025-10-05 02:30:00 +1100", "2025-10-06 02:15:00 +1100" } },
	{ LH, "*/20 * * * *", "2025-10-05 01:50:00 +1030", {
	    "2025-10-05 02:40:00 +1100", "2025-10-05 03:00:00 +1100" } },
	{ LH, "45 1 * * *", "2025-04-05 12:00:00 +1100", {
	    "2025-04-06 01:45:00 +1100", "2025-04-07 01:45:00 +1030" } },
	{ LH, "*/20 * * * *", "2025-04-06 01:30:00 +1100", {
	    "2025-04-06 01:40:00 +1100", "2025-04-06 01:40:00 +1030",
	    "2025-04-06 02:00:00 +1030" } },
};

/* Around each offset change the sweeps look at. */
static const struct sweep sweeps[] = {
	{ US, 1741503600, 60 },		/* 2025-03-09 07:00Z, forward */
	{ US, 1762063200, 60 },		/* 2025-11-02 06:00Z, back */
	{ EU, 1743296400, 60 },		/* 2025-03-30 01:00Z, forward */
	{ EU, 1761440400, 60 },		/* 2025-10-26 01:00Z, back */
	{ BR, 1760842800, 60 },		/* 2025-10-19 03:00Z, forward */
	{ BR, 1771120800, 60 },		/* 2026-02-15 02:00Z, back */
	{ LH, 1759591800, 60 },		/* 2025-10-04 15:30Z, forward */
	{ LH, 1743951600, 60 },		/* 2025-04-05 15:00Z, back */
	{ US, 1741503600, 1 },
	{ US, 1762063200, 1 },
	{ EU, 1761440400, 1 },
};

static const char *const sweepmin[] = {
	"* * * * *", "*/7 * * * *", "30 * * * *", "0 * * * *",
	"30 2 * * *", "0 2 * * *", "*/15 2 * * *", "30 1 * * *",
	"* 1,2 * * *", "0 */2 * * *", "0 0 * * *", "30 23 * * *",
	"0,30 0-3 * * *", "45 1 * * SUN", "5 2 * * MON", "15 0 * * *",
	"0 0 * * SUN", "10 23 * * SAT",
};

static const char *const sweepsec[] = {
	"*/7 * * * * *", "30 */5 * * * *", "0 0 * * * *", "0 30 2 * * *",
	"*/20 * 1,2 * * *", "59 59 * * * *",
};

static int	 ntest, nfail;

/*
 * Print s on one TAP line: control characters escaped, and in a
 * description '#' too, which would start a directive.
 */
static void
tapstr(const char *s, int desc)
{
	for (; *s != '\0'; s++) {
		if (*s == '\n')
			fputs("\\n", stdout);
		else if (*s == '\t')
			fputs("\\t", stdout);
		else if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			printf("\\x%02x", (unsigned char)*s);
		else if (*s == '#' && desc)
			fputs("\\#", stdout);
		else
			putchar(*s);
	}
}

static void
ok(int cond, const char *desc, const char *got, const char *want)
{
	ntest++;
	if (!cond)
		nfail++;
	printf("%s %d - ", cond ? "ok" : "not ok", ntest);
	tapstr(desc, 1);
	putchar('\n');
	if (cond)
		return;
	fputs("# got      ", stdout);
	tapstr(got ? got : "(null)", 0);
	fputs("\n# expected ", stdout);
	tapstr(want ? want : "(null)", 0);
	putchar('\n');
}

static void
okstr(const char *got, const char *want, const char *desc)
{
	ok(got != NULL && want != NULL ? strcmp(got, want) == 0 :
	    got == want, desc, got, want);
}

static void
settz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* "YYYY-MM-DD HH:MM:SS[.mmm] [+-HHMM]" as ms since the epoch. */
static long long
ms(const char *s)
{
	struct tm	tm;
	char		sign = '+';
	int		frac = 0, off = 0, n;
	const char	*p;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%d-%d-%d %d:%d:%d%n", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6) {
		fprintf(stderr, "bad time in a test: %s\n", s);
		exit(2);
	}
	p = s + n;
	if (*p == '.')
		frac = atoi(++p);
	if ((p = strchr(p, ' ')) != NULL)
		sscanf(p, " %c%d", &sign, &off);
	tm.tm_year -= 1900;
	tm.tm_mon--;
	off = (off / 100 * 60 + off % 100) * 60;
	return ((long long)timegm(&tm) - (sign == '-' ? -off : off)) * 1000 +
	    frac;
}

/* t in the test's own notation, in the local zone. */
static const char *
fmt(long long t, char *buf, size_t n)
{
	struct tm	tm;
	time_t		tt;
	size_t		len;
	long long	sec = t / 1000 - (t % 1000 < 0);

	if (t == -1)
		return "none";
	tt = (time_t)sec;
	localtime_r(&tt, &tm);
	len = strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
	if (t - sec * 1000 != 0)
		len += snprintf(buf + len, n - len, ".%03lld", t - sec * 1000);
	strftime(buf + len, n - len, " %z", &tm);
	return buf;
}

/* A set as "0,5-7,9", consecutive values joined into ranges. */
static size_t
fmtset(uint64_t set, int lo, int hi, char *buf, size_t n)
{
	size_t	len = 0;
	int	v, end;

	buf[0] = '\0';
	for (v = lo; v <= hi; v++) {
		if (!(set & 1ULL << v))
			continue;
		for (end = v; end < hi && set & 1ULL << (end + 1); end++)
			;
		len += snprintf(buf + len, n - len, "%s%d", len ? "," : "", v);
		if (end > v)
			len += snprintf(buf + len, n - len, "-%d", end);
		v = end;
	}
	return len;
}

static const char *
fmtcron(const struct cron *c, char *buf, size_t n)
{
	size_t	len;

	len = fmtset(c->sec, 0, 59, buf, n);
	buf[len++] = ' ';
	len += fmtset(c->min, 0, 59, buf + len, n - len);
	buf[len++] = ' ';
	len += fmtset(c->hour, 0, 23, buf + len, n - len);
	buf[len++] = ' ';
	len += fmtset(c->mday, 1, 31, buf + len, n - len);
	len += snprintf(buf + len, n - len, "%s ",
	    c->flags & CRON_MDAYSTAR ? "*" : "");
	len += fmtset(c->mon, 1, 12, buf + len, n - len);
	buf[len++] = ' ';
	len += fmtset(c->wday, 0, 6, buf + len, n - len);
	snprintf(buf + len, n - len, "%s",
	    c->flags & CRON_WDAYSTAR ? "*" : "");
	return buf;
}

static void
checkparse(const struct pcase *pc)
{
	struct cron	 c;
	const char	*why = NULL;
	char		 desc[256], buf[512];
	int		 rc;

	memset(&c, 0, sizeof(c));
	rc = cron_parse(pc->expr, &c, &why);
	snprintf(desc, sizeof(desc), "parse '%s' -> %s", pc->expr,
	    pc->want != NULL ? pc->want : pc->err);
	if (pc->want != NULL)
		okstr(rc == 0 ? fmtcron(&c, buf, sizeof(buf)) : why,
		    pc->want, desc);
	else
		okstr(rc == -1 ? why : fmtcron(&c, buf, sizeof(buf)),
		    pc->err, desc);
}

static int
mustparse(const char *expr, struct cron *c)
{
	const char	*why;

	if (cron_parse(expr, c, &why) == 0)
		return 0;
	ok(0, expr, why, "parsed");
	return -1;
}

static void
checknext(const struct ncase *nc)
{
	struct cron	 c;
	char		 desc[256], got[64], want[64];
	long long	 t, w;

	settz(nc->tz);
	if (mustparse(nc->expr, &c) == -1)
		return;
	t = cron_next(&c, ms(nc->after));
	w = nc->want != NULL ? ms(nc->want) : -1;
	snprintf(desc, sizeof(desc), "%s '%s' after %s -> %s",
	    strcmp(nc->tz, UTC) == 0 ? "UTC" : nc->tz, nc->expr,
	    nc->after, nc->want != NULL ? nc->want : "none");
	ok(t == w, desc, fmt(t, got, sizeof(got)), fmt(w, want, sizeof(want)));
}

static void
checkseq(const struct scase *sc)
{
	struct cron	 c;
	char		 desc[256], got[64], want[64];
	long long	 t, w, after;
	int		 i;

	settz(sc->tz);
	if (mustparse(sc->expr, &c) == -1)
		return;
	after = ms(sc->from);
	for (i = 0; i < MAXSEQ && sc->want[i] != NULL; i++) {
		t = cron_next(&c, after);
		w = ms(sc->want[i]);
		snprintf(desc, sizeof(desc), "%s '%s' firing %d after %s -> %s",
		    sc->tz, sc->expr, i + 1, sc->from, sc->want[i]);
		ok(t == w, desc, fmt(t, got, sizeof(got)),
		    fmt(w, want, sizeof(want)));
		after = w;
	}
}

/* Does wall time n (local time counted as if UTC) match c? */
static int
matches(const struct cron *c, long long n)
{
	struct tm	tm;
	time_t		tt = (time_t)n;
	int		md, wd;

	gmtime_r(&tt, &tm);
	if (!(c->sec & 1ULL << tm.tm_sec) || !(c->min & 1ULL << tm.tm_min) ||
	    !(c->hour & 1U << tm.tm_hour) || !(c->mon & 1U << (tm.tm_mon + 1)))
		return 0;
	md = (c->mday >> tm.tm_mday) & 1;
	wd = (c->wday >> tm.tm_wday) & 1;
	if (c->flags & (CRON_MDAYSTAR | CRON_WDAYSTAR))
		return md && wd;
	return md || wd;
}

static long long
wallof(long long t)
{
	struct tm	tm;
	time_t		tt = (time_t)t;

	localtime_r(&tt, &tm);
	return (long long)timegm(&tm);
}

/*
 * The rules of cron.h, instant by instant: the first firing after
 * after (in s) and no later than after + span, or -1.
 */
static long long
brute(const struct cron *c, long long after, long long span, int step)
{
	long long	t, w, wp, prev, d;
	int		fixed = (c->hour & 0xffffff) != 0xffffff, rep;

	t = (after / step + 1) * step;
	for (prev = wallof(t - step); t <= after + span; t += step) {
		w = wallof(t);
		wp = prev + step;
		prev = w;
		/* A gap just ended at t: fixed times in it fire at t. */
		for (; fixed && wp < w; wp += step)
			if (matches(c, wp))
				return t;
		if (!matches(c, w))
			continue;
		/*
		 * A fixed time fires the first time its wall time shows.
		 * The zones here change by whole minutes.
		 */
		for (rep = 0, d = 60; fixed && !rep && d <= 3 * 3600; d += 60)
			rep = wallof(t - d) == w;
		if (!rep)
			return t;
	}
	return -1;
}

/* Does cron_next agree with brute at every start near the change? */
static void
checksweep(const struct sweep *sw, const char *expr)
{
	struct cron	 c;
	char		 desc[256], got[64], want[64];
	long long	 after, t, b, span, bad = 0, gt = 0, bt = 0;
	int		 n = 0, k, failed = 0;

	settz(sw->tz);
	if (mustparse(expr, &c) == -1)
		return;
	span = sw->step == 1 ? 3 * 3600 : 2 * 86400;
	for (k = -13; k <= 13; k++, n++) {
		/* every 13.5 minutes, or 13.5 s, at odd seconds and ms */
		after = (sw->at + k * (sw->step == 1 ? 13 : 13 * 60 + 30) +
		    (k & 1)) * 1000 + 250 * (k & 3);
		/* and just before the change itself */
		if (k == 0)
			after--;
		t = cron_next(&c, after);
		b = brute(&c, after / 1000, span, sw->step);
		if (b == -1 ? t != -1 && t <= after + span * 1000 :
		    t != b * 1000) {
			failed = 1;
			bad = after;
			gt = t;
			bt = b == -1 ? -1 : b * 1000;
			break;
		}
	}
	snprintf(desc, sizeof(desc), "%s '%s' agrees with brute force at %d "
	    "starts around %s", sw->tz, expr, n, fmt(sw->at * 1000, got,
	    sizeof(got)));
	if (!failed) {
		ok(1, desc, NULL, NULL);
		return;
	}
	ok(0, desc, fmt(gt, got, sizeof(got)), fmt(bt, want, sizeof(want)));
	printf("# after %s\n", fmt(bad, got, sizeof(got)));
}

/* A small deterministic generator, so that runs are alike. */
static unsigned
rnd(unsigned n)
{
	static unsigned long long	s = 0x2545f4914f6cdd1dULL;

	s = s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)(s >> 33) % n;
}

static int
rndfield(char *buf, size_t n, int lo, int hi)
{
	int	a = lo + (int)rnd(hi - lo + 1), b = lo + (int)rnd(hi - lo + 1);
	int	st = 1 + (int)rnd(hi - lo + 1), x;

	if (a > b) {
		x = a;
		a = b;
		b = x;
	}
	switch (rnd(8)) {
	case 0:
	case 1:
		return snprintf(buf, n, "*");
	case 2:
		return snprintf(buf, n, "*/%d", st);
	case 3:
		return snprintf(buf, n, "%d", a);
	case 4:
		return snprintf(buf, n, "%d-%d", a, b);
	case 5:
		return snprintf(buf, n, "%d-%d/%d", a, b, st);
	case 6:
		return snprintf(buf, n, "%d/%d", a, st);
	default:
		return snprintf(buf, n, "%d,%d", a, b);
	}
}

/* Random five-field expressions in UTC against brute force. */
static void
checkrandom(int count)
{
	static const int	 lo[] = { 0, 0, 1, 1, 0 }, hi[] = { 59, 23, 31,
				    12, 6 };
	struct cron		 c;
	char			 expr[128], desc[256], got[64], want[64];
	const char		*why;
	long long		 after = 0, t = 0, b = 0, span = 10 * 86400;
	int			 i, f, len, bad = -1;

	settz(UTC);
	for (i = 0; i < count && bad == -1; i++) {
		for (len = 0, f = 0; f < 5; f++) {
			len += rndfield(expr + len, sizeof(expr) - len,
			    lo[f], hi[f]);
			expr[len++] = ' ';
		}
		expr[len - 1] = '\0';
		if (cron_parse(expr, &c, &why) == -1) {
			ok(0, expr, why, "parsed");
			return;
		}
		after = (1704067200LL + rnd(3 * 365) * 86400LL +
		    rnd(86400)) * 1000 + rnd(1000);
		t = cron_next(&c, after);
		b = brute(&c, after / 1000, span, 60);
		if (b == -1 ? t != -1 && t <= after + span * 1000 :
		    t != b * 1000)
			bad = i;
	}
	snprintf(desc, sizeof(desc), "%d random expressions agree with brute "
	    "force in UTC", count);
	if (bad == -1) {
		ok(1, desc, NULL, NULL);
		return;
	}
	ok(0, desc, fmt(t, got, sizeof(got)), fmt(b * 1000, want,
	    sizeof(want)));
	printf("# expression '%s' after %s\n", expr, fmt(after, got,
	    sizeof(got)));
}

/* Things a table row cannot say. */
static void
misc(void)
{
	struct cron	 c, keep;
	const char	*why = "untouched";
	char		 buf[512];

	okstr(cron_parse("61 * * * *", &c, NULL) == -1 ? "-1" : "0", "-1",
	    "parse accepts a NULL why");
	cron_parse("* * * * *", &c, &why);
	okstr(why, "untouched", "parse leaves why alone on success");
	memset(&keep, 0x5a, sizeof(keep));
	c = keep;
	cron_parse("0 0 * * MON-FOO", &c, &why);
	ok(memcmp(&c, &keep, sizeof(c)) == 0, "a failed parse leaves the "
	    "cron untouched", "changed", "untouched");
	c = keep;
	cron_parse("@bogus", &c, &why);
	ok(memcmp(&c, &keep, sizeof(c)) == 0, "a failed macro leaves the "
	    "cron untouched", "changed", "untouched");
	cron_parse("* * * * 9", &c, &why);
	cron_parse("* 25 * * *", &c, NULL);
	okstr(why, "field 2 (hour): 25 is out of range 0-23",
	    "the message is overwritten by the next failure");
	cron_parse("", &c, &why);
	cron_parse("* 25 * * *", &c, NULL);
	okstr(why, "empty expression", "a static message survives the next "
	    "failure");
	cron_parse("@daily", &c, NULL);
	okstr(fmtcron(&c, buf, sizeof(buf)), "0 0 0 1-31* 1-12 0-6*",
	    "parse with a NULL why still parses");

	settz(UTC);
	cron_parse("* * * * *", &c, NULL);
	okstr(cron_next(&c, 0x7fffffffffffffffLL) == -1 ? "-1" : "other", "-1",
	    "next after LLONG_MAX is none");
	okstr(cron_next(&c, -0x7fffffffffffffffLL - 1) == -1 ? "-1" : "other",
	    "-1", "next after LLONG_MIN is none");
	okstr(cron_next(&c, ms("10000-01-01 00:00:00")) == -1 ? "-1" : "other",
	    "-1", "next after the year 9999 is none");
	memset(&c, 0, sizeof(c));
	okstr(cron_next(&c, 0) == -1 ? "-1" : "other", "-1",
	    "an empty schedule never fires");
}

static void
speed(const char *tz, const char *expr)
{
	struct cron	c;
	struct timespec	t0, t1;
	long long	after = 1735689600000LL, t;	/* 2025-01-01 */
	double		secs;
	int		i, n = 20000;

	settz(tz);
	cron_parse(expr, &c, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		t = cron_next(&c, after);
		after = t == -1 ? 1735689600000LL : t;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("# speed: %.0f cron_next calls/s for '%s' in %s\n", n / secs,
	    expr, tz);
}

int
main(void)
{
	size_t	i, j;

	for (i = 0; i < NELEM(parses); i++)
		checkparse(&parses[i]);
	for (i = 0; i < NELEM(nexts); i++)
		checknext(&nexts[i]);
	for (i = 0; i < NELEM(seqs); i++)
		checkseq(&seqs[i]);
	for (i = 0; i < NELEM(sweeps); i++) {
		if (sweeps[i].step == 60)
			for (j = 0; j < NELEM(sweepmin); j++)
				checksweep(&sweeps[i], sweepmin[j]);
		else
			for (j = 0; j < NELEM(sweepsec); j++)
				checksweep(&sweeps[i], sweepsec[j]);
	}
	checkrandom(200);
	misc();
	speed(US, "*/15 9-17 * * MON-FRI");
	speed(US, "*/2 * * * * *");
	speed(EU, "30 2 * * *");
	speed(UTC, "0 0 29 2 *");
	speed(UTC, "0 0 30 2 *");
	/* A trailing plan: a crash before here is then a failure too. */
	printf("1..%d\n", ntest);
	if (nfail > 0)
		printf("# failed %d of %d\n", nfail, ntest);
	return nfail > 0;
}
