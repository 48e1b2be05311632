#!/bin/bash
# The state machine (issue 11): every move of a job or task is logged once,
# in order, by the one function that makes it; a job whose tasks are all
# skipped still says COMPLETED; a task stays RUNNING through its post steps;
# cancelled tasks are logged too.  (t/lib.sh fails any test whose daemon
# logs event=state.illegal.)
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"
IMG=jobrun-test:latest
moves() { # ID [TASK]: the states the daemon logged for a job (or task), in order
	if [ $# -eq 1 ]; then
		grep -o "event=job.state job=$1 state=[A-Z]*" "$T/daemon.log" | sed 's/.*state=//' | paste -sd' ' -
	else
		grep -o "event=task.state job=$1 task=$2 state=[A-Z]*" "$T/daemon.log" | sed 's/.*state=//' | paste -sd' ' -
	fi
}

cat >skipped.yaml <<EOF
name: all skipped
tasks:
  - if: "false"
    image: $IMG
    cmd: ["true"]
  - if: "{{ 1 > 2 }}"
    image: $IMG
    cmd: ["true"]
EOF
cat >post.yaml <<EOF
name: post
tasks:
  - image: $IMG
    pre: [{image: $IMG, run: "sleep 1"}]
    run: echo -n main > \$TORK_OUTPUT
    post: [{image: $IMG, run: "sleep 3"}]
EOF
cat >long.yaml <<EOF
name: long
tasks:
  - image: $IMG
    run: sleep 60
  - image: $IMG
    cmd: ["true"]
EOF

start_daemon || BAIL_OUT "the daemon does not start"
sk=$(submit skipped.yaml)
RUN_TIMEOUT=30 run "$JOBRUN" wait "$sk"
is "$RC/$(job_state "$sk")" 0/COMPLETED "every task skipped: the job COMPLETED"
wait_for eval '[ "$(moves "$sk")" = "PENDING COMPLETED" ]'
is "$(moves "$sk")" "PENDING COMPLETED" "... and the daemon logs PENDING, then COMPLETED"
is "$(moves "$sk" 1)/$(moves "$sk" 2)" SKIPPED/SKIPPED "... each task's SKIPPED logged once"

pid=$(submit post.yaml)
wait_for -t 30 eval '[ "$(task_field "$pid" 1 result)" = main ]'
ok $? "post: the main container has written its result"
st=$(task_field "$pid" 1 state)
is "$st" RUNNING "post: while its post step runs the task is RUNNING (not SCHEDULED again)"
RUN_TIMEOUT=30 run "$JOBRUN" wait "$pid"
is "$RC" 0 "post: the job COMPLETED"
is "$(moves "$pid" 1)" "PENDING SCHEDULED RUNNING COMPLETED" "post: the task's moves, each logged once, in order"
is "$(moves "$pid")" "PENDING RUNNING COMPLETED" "post: the job's moves"

lid=$(submit long.yaml)
wait_for job_is "$lid" RUNNING
wait_for eval '[ "$(task_field "$lid" 1 state)" = RUNNING ]'
run "$JOBRUN" cancel "$lid"
is "$RC" 0 "cancel: exit 0"
wait_for job_is "$lid" CANCELLED
ok $? "cancel: the job is CANCELLED"
wait_for eval '[ "$(moves "$lid" 2)" = "CANCELLED" ]'
is "$(moves "$lid" 1)|$(moves "$lid" 2)" "PENDING SCHEDULED RUNNING CANCELLED|CANCELLED" \
	"cancel: the running task and the one not reached are both logged CANCELLED"
is "$(moves "$lid")" "PENDING RUNNING CANCELLED" "cancel: the job's moves"
run "$JOBRUN" restart "$lid"
wait_for eval '[ "$(moves "$lid" 2 | awk "{print \$NF}")" = CREATED ] || [ "$(moves "$lid" 1 | wc -w)" -gt 4 ]'
like "$(moves "$lid" 1)" "CANCELLED CREATED PENDING" "restart: the cancelled task goes back to CREATED, then PENDING"
like "$(moves "$lid")" "CANCELLED PENDING" "restart: the job goes back to PENDING"
run "$JOBRUN" cancel "$lid"
wait_for job_is "$lid" CANCELLED
grep -q 'event=state.illegal' "$T/daemon.log"
ok $(( ! $? )) "no illegal move was logged"

done_testing
