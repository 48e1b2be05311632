#!/bin/bash
# A spool file the daemon cannot read is kept in spool/bad (never deleted),
# logged on one line, and the daemon goes on with the other jobs.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"
start_daemon
mkdir -p "$JOBRUN_HOME/spool/new"
printf '{"jobrun":1,"op":"submit","id":"0123456789ab","source":"tasks: []\\nbogus: 1\\n"}\n' \
	>"$JOBRUN_HOME/spool/new/.x" &&
	mv "$JOBRUN_HOME/spool/new/.x" "$JOBRUN_HOME/spool/new/0000000000001-0123456789ab.job"
printf 'not json at all {\n' >"$JOBRUN_HOME/spool/new/0000000000002-deadbeef.req"
wait_for eval '[ "$(count_files "$JOBRUN_HOME/spool/bad")" = 1 ]'
ok $? "the unreadable spool file is kept in spool/bad"
is "$(spooled)" 0 "... and both are gone from spool/new"
lines=$(grep -c 'event=spool.reject' "$T/daemon.log")
is "$lines" 1 "it is one spool.reject line in the daemon log"
# A job envelope whose job the daemon refuses is no file in spool/bad but
# a FAILED job with the reason, which ls, show and wait tell.
is "$(job_state 0123456789ab)" FAILED "a readable envelope with an invalid job is recorded FAILED"
like "$(job_json 0123456789ab .error)" "unknown field 'bogus'" "... its error says why"
run "$JOBRUN" wait 0123456789ab
is "$RC" 4 "... and wait exits 4 for it"
unlike "$(grep -A1 'event=spool.reject' "$T/daemon.log" | grep -v 'time=' | grep -v '^--$')" "." \
	"... with no continuation line"
printf 'name: ok\ntasks:\n  - image: jobrun-test:latest\n    cmd: ["true"]\n' >ok.yaml
id=$(submit ok.yaml)
run "$JOBRUN" wait "$id"
is "$RC" 0 "the daemon goes on running jobs"
daemon_alive
ok $? "... and is alive"

# A store that is busy past the daemon's 10 s timeout is not the file's
# fault: the file stays in spool/new and goes in once the store is free.
# Held 30 s: the daemon may first wait 10 s on it for its heartbeat, then
# 10 s for the file.
if command -v sqlite3 >/dev/null 2>&1; then
	(echo 'BEGIN IMMEDIATE;'; sleep 30; echo 'COMMIT;') | sqlite3 "$JOBRUN_HOME/jobrun.db" &
	holder=$!
	sleep 0.5
	id2=$(submit ok.yaml)
	wait_for -t 28 grep -q "event=spool.retry file=[0-9]*-$id2.job" "$T/daemon.log"
	ok $? "a busy store: the daemon says it will try the file again (spool.retry)"
	is "$(count_files "$JOBRUN_HOME/spool/bad")" 1 "... and does not put it in spool/bad"
	wait "$holder"
	RUN_TIMEOUT=40 run "$JOBRUN" wait "$id2"
	is "$RC" 0 "once the store is free the job goes in and completes"
	is "$(grep -c "event=spool.retry file=[0-9]*-$id2.job" "$T/daemon.log")" 1 \
		"... the retry said once, not once per try"
else
	skip 4 "no sqlite3 command to hold the store busy"
fi
done_testing
