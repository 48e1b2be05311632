#!/bin/bash
# stop [-t GRACE]: a running container gets SIGTERM (its trap runs and logs),
# then SIGKILL after GRACE (10s by default) if it ignores TERM; the job is
# CANCELLED with error "stopped (SIGTERM, then SIGKILL after Ns)", its later
# tasks never run, and stop returns once its containers are gone.  cancel, by
# contrast, kills at once (no trap).  A spooled job can be stopped before the
# daemon runs (with its -t).  Errors: a finished job (exit 1), an unknown id
# (exit 6), usage (exit 2).  The daemon's log lines for a stop and a cancel
# name the caller's uid.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"
NL=$'\n'

# The daemon names who asked by the spool file's owner, as the kernel says:
# here, us (a caller that claims another uid is refused: t/0310).
CALLER=$(id -u) AS_CALLER=(env)

ms() { date +%s%3N; }
running_containers() { "$DOCKER" ps -q --filter "label=jobrun.job=$1"; }
ready() { # ID: task 1 runs and has logged "ready"
	[ "$(task_field "$1" 1 state)" = RUNNING ] &&
		grep -q ready "$JOBRUN_HOME/logs/$1/1.log" 2>/dev/null
}

cat >trap.yaml <<'EOF'
name: traps TERM
tasks:
  - name: trapper
    image: jobrun-test:latest
    run: |
      trap 'echo got TERM; exit 3' TERM
      echo ready
      sleep 60 & wait
  - name: after
    image: jobrun-test:latest
    run: echo after ran
EOF
cat >ignore.yaml <<'EOF'
name: ignores TERM
tasks:
  - name: ignorer
    image: jobrun-test:latest
    run: |
      trap '' TERM
      echo ready
      sleep 60 & wait
      echo still here
EOF
cat >ok.yaml <<'EOF'
name: ok
tasks:
  - image: jobrun-test:latest
    run: echo ok
EOF

# ---------------------------------------------------------------- usage
run "$JOBRUN" stop
is "$RC" 2 "usage: stop with no id exits 2"
like "$ERR" "expected at least one job id" "usage: ... and says so"
run "$JOBRUN" stop -t soon 0123456789ab
is "$RC" 2 "usage: -t soon exits 2"
like "$ERR" "-t takes seconds or a duration such as 30s, not 'soon'" "usage: ... saying what -t takes"
run "$JOBRUN" stop -t -1 0123456789ab
is "$RC" 2 "usage: -t -1 exits 2"

# ---------------------------------------------------------------- a spooled job (no daemon)
sp=$(submit trap.yaml)
run "$JOBRUN" stop -t 3 "$sp"
is "$RC" 0 "spooled: stop with no daemon exits 0 (the request is spooled)"
like "$ERR" "no daemon is running for $JOBRUN_HOME" "spooled: ... saying no daemon runs"

start_daemon -q default:8 || BAIL_OUT "the daemon does not start"
wait_for -t 15 job_final "$sp"
ok $? "spooled: the job ends once the daemon starts"
is "$(job_state "$sp")" CANCELLED "spooled: it is CANCELLED"
is "$(job_json "$sp" .error)" "stopped (SIGTERM, then SIGKILL after 3s)" "spooled: its error names the -t 3 given"
[ ! -e "$JOBRUN_HOME/logs/$sp/1.log" ]
ok $? "spooled: its task never ran"

run "$JOBRUN" stop 0123456789ab
is "$RC/$ERR" "6/jobrun: no job matches '0123456789ab'" "unknown: stop of an unknown id exits 6"

# ---------------------------------------------------------------- SIGTERM, a trap, the default grace
id=$(submit trap.yaml)
wait_for -t 20 ready "$id"
ok $? "trap: the task runs"
t0=$(ms)
RUN_TIMEOUT=40 run "${AS_CALLER[@]}" "$JOBRUN" stop "$id"
el=$(($(ms) - t0))
is "$RC/$OUT/$ERR" "0//" "trap: stop exits 0, prints nothing"
is "$(running_containers "$id")" "" "trap: when stop returns, no container of the job runs"
ok $((el < 9000 ? 0 : 1)) "trap: the trap exits at once: stop does not wait the 10 s grace ($el ms)"
is "$(job_state "$id")" CANCELLED "trap: the job is CANCELLED"
is "$(job_json "$id" .error)" "stopped (SIGTERM, then SIGKILL after 10s)" "trap: its error says so, with the default 10s"
is "$(job_json "$id" '[.tasks[].state] | join(",")')" CANCELLED,CANCELLED "trap: both tasks CANCELLED"
is "$("$JOBRUN" logs "$id" 1)" "ready${NL}got TERM" "trap: the container got SIGTERM (its trap logged 'got TERM')"
[ ! -e "$JOBRUN_HOME/logs/$id/2.log" ]
ok $? "trap: the later task never ran"
run "$JOBRUN" wait "$id"
is "$RC" 5 "trap: wait exits 5 (CANCELLED)"
line=$(grep "job=$id state=CANCELLED" "$T/daemon.log")
like "$line" "error=\"stopped \\(SIGTERM, then SIGKILL after 10s\\)\" uid=$CALLER\$" \
	"trap: the daemon's line for the stop ends with uid=$CALLER"

# ---------------------------------------------------------------- cancel: no SIGTERM first
cid=$(submit trap.yaml)
wait_for -t 20 ready "$cid"
ok $? "cancel: the task runs"
RUN_TIMEOUT=20 run "${AS_CALLER[@]}" "$JOBRUN" cancel "$cid"
is "$RC/$(job_state "$cid")" 0/CANCELLED "cancel: exits 0, the job is CANCELLED"
like "$(grep "job=$cid state=CANCELLED" "$T/daemon.log")" "job=$cid state=CANCELLED uid=$CALLER\$" \
	"cancel: the daemon's line for the cancel ends with uid=$CALLER"
wait_for -t 10 eval '[ -z "$(running_containers "$cid")" ]'
sleep 0.5
is "$("$JOBRUN" logs "$cid" 1)" "ready" "cancel: killed at once, the trap never ran (no 'got TERM')"
is "$(job_json "$cid" '.error // "none"')" none "cancel: no 'stopped' error"

# ---------------------------------------------------------------- TERM ignored: SIGKILL after -t
ig=$(submit ignore.yaml)
wait_for -t 20 ready "$ig"
ok $? "-t 2: the TERM-ignoring task runs"
t0=$(ms)
RUN_TIMEOUT=40 run "$JOBRUN" stop -t 2 "${ig:0:6}"
el=$(($(ms) - t0))
is "$RC" 0 "-t 2: stop (by prefix) exits 0"
ok $((el >= 1500 && el < 12000 ? 0 : 1)) "-t 2: it took the grace, >= 1.5 s and < 12 s ($el ms)"
is "$(running_containers "$ig")" "" "-t 2: when stop returns, no container of the job runs"
is "$(job_json "$ig" .error)" "stopped (SIGTERM, then SIGKILL after 2s)" "-t 2: the error says 2s"
is "$("$JOBRUN" logs "$ig" 1)" "ready" "-t 2: the task did not end on its own"

# a sub-second grace is not cut short
ig2=$(submit ignore.yaml)
wait_for -t 20 ready "$ig2"
t0=$(ms)
RUN_TIMEOUT=40 run "$JOBRUN" stop -t 1900ms "$ig2"
el=$(($(ms) - t0))
is "$RC" 0 "-t 1900ms: stop exits 0"
ok $((el >= 1800 ? 0 : 1)) "-t 1900ms: SIGKILL no sooner than 1.9 s after SIGTERM (took $el ms)"

# the default grace, 10 s
ig3=$(submit ignore.yaml)
wait_for -t 20 ready "$ig3"
t0=$(ms)
RUN_TIMEOUT=50 run "$JOBRUN" stop "$ig3"
el=$(($(ms) - t0))
is "$RC" 0 "default: stop exits 0"
ok $((el >= 9000 && el < 30000 ? 0 : 1)) "default: the TERM-ignoring task was killed after about 10 s ($el ms)"
is "$(running_containers "$ig3")" "" "default: when stop returns, no container of the job runs"

# ---------------------------------------------------------------- two at once, finished jobs
a=$(submit trap.yaml)
b=$(submit ignore.yaml)
wait_for -t 20 eval 'ready "$a" && ready "$b"'
ok $? "two: both jobs run"
t0=$(ms)
RUN_TIMEOUT=40 run "$JOBRUN" stop -t 2 "$a" "$b"
el=$(($(ms) - t0))
is "$RC" 0 "two: stop -t 2 A B exits 0"
is "$(job_state "$a")/$(job_state "$b")" CANCELLED/CANCELLED "two: both CANCELLED"
is "$(running_containers "$a")$(running_containers "$b")" "" "two: no container of either runs"
is "$("$JOBRUN" logs "$a" 1)" "ready${NL}got TERM" "two: the trapping one got SIGTERM"
ok $((el >= 1500 ? 0 : 1)) "two: the ignoring one took its 2 s grace ($el ms)"

okid=$(submit --wait ok.yaml)
run "$JOBRUN" stop "$okid"
is "$RC/$ERR" "1/jobrun: job $okid is already COMPLETED" "finished: stop of a COMPLETED job exits 1 with a message"
run "$JOBRUN" stop "$id"
is "$RC/$ERR" "1/jobrun: job $id is already CANCELLED" "finished: stop of a CANCELLED job exits 1 with a message"
is "$(job_json "$id" .error)" "stopped (SIGTERM, then SIGKILL after 10s)" "finished: the stopped job is unchanged"

stop_daemon
is $? 0 "the daemon exits 0"
done_testing
