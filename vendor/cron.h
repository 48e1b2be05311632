/*
 * cron - parse cron expressions and find when they next fire.
 *
 * An expression has five fields, minute hour day-of-month month
 * day-of-week, or six with a leading seconds field as robfig/cron (and
 * so Harbor's job service) has it; with five the second is 0.  Fields
 * are separated by blanks.  A field is a comma-separated list of items:
 *
 *	*	every value
 *	n	one value
 *	a-b	a range, a <= b
 *
 * and any of them may be followed by "/n", a step: every n-th value of
 * the item, counted from its first.  A lone value with a step, "a/n",
 * runs to the end of the field (Quartz's and Tork's "0/5").  A step
 * may be as long as its field (60 for minutes) but not 0.  Months may
 * be written JAN-DEC and days of the week SUN-SAT, in any case, also
 * in ranges (SUN ending a range is 7, so FRI-SUN works); day of the
 * week 7 is Sunday as 0 is.  "?" is "*" in the two day fields (Quartz).
 * The macros @yearly (@annually), @monthly, @weekly, @daily (@midnight)
 * and @hourly, in any case, stand for "0 0 1 1 *", "0 0 1 * *",
 * "0 0 * * 0", "0 0 * * *" and "0 * * * *"; @every and @reboot are not
 * supported.  Anything else is an error: a wrong number of fields, an
 * empty list item, a value out of range, a range that runs backwards
 * (5-2), any other character.
 *
 * Days are matched as by Vixie cron and cronie: if either day field
 * begins with "*" or "?" (so a stepped "*" too), a day must match both
 * fields; otherwise it matches when either does, so "0 0 13 * FRI" is
 * every 13th and every Friday.  (robfig/cron differs for a stepped "*",
 * which it counts as a restriction.)
 */
#ifndef CRON_H
#define CRON_H

#include <stdint.h>

#define CRON_MDAYSTAR	0x01	/* day of month began with * or ? */
#define CRON_WDAYSTAR	0x02	/* day of week began with * or ? */

/* Bit n set: the schedule fires at value n of that field. */
struct cron {
	uint64_t	sec;		/* 0-59 */
	uint64_t	min;		/* 0-59 */
	uint32_t	hour;		/* 0-23 */
	uint32_t	mday;		/* 1-31 */
	uint16_t	mon;		/* 1-12 */
	uint8_t		wday;		/* 0-6, Sunday 0 */
	uint8_t		flags;		/* CRON_MDAYSTAR, CRON_WDAYSTAR */
};

/*
 * Parse expr into *c.  Returns 0, or -1 leaving *c untouched and, if
 * why is not NULL, pointing *why at a message that names the field as
 * it stands in expr, such as "field 2 (hour): 24 is out of range 0-23".
 * The message lives in a per-thread buffer that the next failing call
 * overwrites.
 */
int	 cron_parse(const char *expr, struct cron *c, const char **why);

/*
 * The first firing strictly after after_ms (milliseconds since the
 * epoch), or -1 if there is none within five years (as for
 * "0 0 30 2 *") or after_ms is outside the years 1 to 9999.
 *
 * Times are local: the zone is the process's, TZ included, as
 * localtime_r sees it (call tzset after changing TZ).  Where the
 * offset from UTC changes, the rules depend on the hour field.  A
 * schedule whose hours are all 24 ("0 * * * *", "* * * * *") fires
 * every hour or more often: it fires at every instant whose local
 * time matches, so it skips local times that do not exist and fires
 * twice at those that repeat ("30 * * * *" fires at 01:30 EDT, 01:30
 * EST and 02:30 EST when US clocks go back, at 01:30 EST and 03:30 EDT
 * when they go forward).  Any other schedule ("30 2 * * *", also
 * one every other hour) keeps to its times of day as Vixie cron and cronie do:
 *
 *	- times it matches in a gap (02:00-02:59 when US clocks go
 *	  forward) fire once, at the first instant after the gap
 *	  (03:00 EDT);
 *	- times that repeat fire only the first time (01:30 EDT, not
 *	  01:30 EST, when US clocks go back).
 *
 * Offset changes are taken to be more than two days apart, as they
 * are in practice.
 */
long long	 cron_next(const struct cron *c, long long after_ms);

#endif
