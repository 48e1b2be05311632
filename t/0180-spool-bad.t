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
wait_for eval '[ "$(count_files "$JOBRUN_HOME/spool/bad")" = 2 ]'
ok $? "both unreadable spool files are kept in spool/bad"
is "$(spooled)" 0 "... and gone from spool/new"
lines=$(grep -c 'event=spool.reject' "$T/daemon.log")
is "$lines" 2 "each is one spool.reject line in the daemon log"
unlike "$(grep -A1 'event=spool.reject' "$T/daemon.log" | grep -v 'time=' | grep -v '^--$')" "." \
	"... with no continuation line"
printf 'name: ok\ntasks:\n  - image: jobrun-test:latest\n    cmd: ["true"]\n' >ok.yaml
id=$(submit ok.yaml)
run "$JOBRUN" wait "$id"
is "$RC" 0 "the daemon goes on running jobs"
daemon_alive
ok $? "... and is alive"
done_testing
