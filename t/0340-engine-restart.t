#!/bin/bash
# A real engine goes away under a running task.  The test starts a dockerd
# of its own (its own socket, data root and containerd), runs a daemon on
# it, kills that dockerd with SIGKILL while a task runs, and starts it
# again.  The daemon says the engine is down, puts the task back without
# counting the attempt, and runs it again once the engine answers
# (jobrun(1), FAULTS).
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker
cd "$T" || BAIL_OUT "cd $T"
d2_init
ok $? "a dockerd of this test's own answers on its socket, with the test image"
export DOCKER_HOST=$SOCK

cat >gate.yaml <<'EOF'
name: gate
tasks:
  - name: waits
    image: jobrun-test:latest
    retry:
      limit: 0
    run: |
      echo start
      i=0
      while [ ! -e /tork/go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
      printf done > $TORK_OUTPUT
EOF
log_has() { # ID REGEX
	[[ $("$JOBRUN" logs "$1" 1 2>/dev/null) =~ $2 ]]
}

start_daemon
ok $? "a daemon starts on that engine"
id=$(submit gate.yaml)
wait_for -t 30 log_has "$id" start
ok $? "a task runs"
d2_kill
ok $? "the engine is killed (SIGKILL to dockerd and its containerd)"
wait_for -t 30 grep -q "event=task.requeue job=$id task=1 attempt=1 reason=engine" "$T/daemon.log"
ok $? "the daemon puts the task back (task.requeue)"
like "$(grep 'event=engine.down' "$T/daemon.log")" 'level=warn event=engine.down error=".+"' \
	"... having said the engine is down, and why (engine.down)"
is "$(job_state "$id")/$(task_field "$id" 1 state)/$(task_field "$id" 1 error)" RUNNING/PENDING/ \
	"the task waits, PENDING, with no error"
run "$JOBRUN" status
is "$RC" 1 "status exits 1 while the engine is away"
like "$OUT" "engine: +unreachable since" "... and says so"
daemon_alive
ok $? "the daemon lives"

d2_start
ok $? "the engine is started again"
wait_for -t 40 grep -q 'event=engine.up' "$T/daemon.log"
ok $? "the daemon finds it back (engine.up)"
wait_for -t 30 eval '[ "$(task_field "$id" 1 attempt)" = 2 ] && [ "$(task_field "$id" 1 state)" = RUNNING ]'
ok $? "the task runs again, as attempt 2"
for d in "$JOBRUN_HOME/work/$id"/*/; do [ -d "$d" ] && : >"$d/go"; done
RUN_TIMEOUT=40 run "$JOBRUN" wait "$id"
is "$RC/$(task_field "$id" 1 result)" 0/done "it completes with its result: the lost attempt did not use up retry.limit 0"
wait_for -t 15 no_containers_left
ok $? "no container of this home is left on that engine"
run "$JOBRUN" status
is "$RC" 0 "status exits 0 again"
stop_daemon
is $? 0 "the daemon stops on SIGTERM"
done_testing
