#!/bin/bash
# Delayed jobs: submit --in DURATION and --at TIME keep a job SCHEDULED until
# it is due, then it runs; a time in the past runs at once; cancel works on a
# SCHEDULED job; bad times are usage errors; a delayed job survives a restart.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"
cat >one.yaml <<'EOF2'
name: delayed
tasks:
  - image: jobrun-test:latest
    run: echo -n ran > $TORK_OUTPUT
EOF2

# ---------------------------------------------------------------- usage errors
for bad in "25:99" "tomorrow" "2026-13-01T00:00"; do
	run "$JOBRUN" submit --at "$bad" one.yaml
	is "$RC" 2 "--at '$bad': a usage error (exit 2)"
done
like "$ERR" "--at takes HH:MM or YYYY-MM-DDTHH:MM" "... saying what --at takes"
run "$JOBRUN" submit --in 5parsecs one.yaml
is "$RC" 2 "--in '5parsecs': a usage error (exit 2)"
is "$(spooled)" 0 "nothing was spooled by the bad ones"

start_daemon

# ---------------------------------------------------------------- --in
t0=$(date +%s%3N)
a=$(submit --in 3s one.yaml)
wait_for eval '[ "$(job_state "$a")" = SCHEDULED ]'
ok $? "--in 3s: the job is SCHEDULED"
run "$JOBRUN" ls
like "$OUT" "$a +delayed +SCHEDULED" "ls shows it SCHEDULED"
due=$(job_json "$a" '.dueAt')
like "$due" "^[0-9]{4}-[0-9]{2}-[0-9]{2}T" "show --json has its dueAt ($due)"
run "$JOBRUN" wait "$a"
is "$RC" 0 "it completes"
started=$(job_json "$a" '.startedAt | sub("\\.[0-9]+Z$"; "Z") | fromdate')
ok $(( started * 1000 >= t0 + 2000 ? 0 : 1 )) "it started no sooner than it was due (started $started, submitted $t0 ms)"
is "$(task_field "$a" 1 result)" ran "its task ran"

# ---------------------------------------------------------------- --at in the past, --at HH:MM
b=$(submit --at 2020-01-01T00:00:00Z one.yaml)
run "$JOBRUN" wait "$b"
is "$RC" 0 "--at a time in the past: runs at once"
c=$(submit --at "$(date -d '+2 hours' +%H:%M)" one.yaml)
wait_for eval '[ "$(job_state "$c")" = SCHEDULED ]'
ok $? "--at HH:MM two hours ahead: SCHEDULED"
cdue=$(job_json "$c" '.dueAt | sub("\\.[0-9]+Z$"; "Z") | fromdate')
now=$(date +%s)
ok $(( cdue > now + 3600 && cdue <= now + 7200 ? 0 : 1 )) "... due in about two hours"

# ---------------------------------------------------------------- restart and cancel
kill_daemon
start_daemon
is "$(job_state "$c")" SCHEDULED "after a daemon restart it is still SCHEDULED"
run "$JOBRUN" cancel "$c"
is "$RC" 0 "a SCHEDULED job can be cancelled"
is "$(job_state "$c")" CANCELLED "... and is CANCELLED"

done_testing
