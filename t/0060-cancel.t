#!/bin/bash
# cancel: a running job (its container is killed and removed, unfinished tasks
# become CANCELLED); a job still in the spool (never runs); a job already final
# (exit 1); by id prefix; an unknown id (exit 6); a job cancelled while its
# `docker run` is still starting the container.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"

ms() { date +%s%3N; }
job_containers() { "$DOCKER" ps -aq --filter "label=jobrun.job=$1"; }
no_containers() { [ -z "$(job_containers "$1")" ]; }

cat >sleep.yaml <<'EOF'
name: sleeper
tasks:
  - name: sleep
    image: jobrun-test:latest
    run: |
      echo going to sleep
      sleep 60
  - name: second
    image: jobrun-test:latest
    run: echo second ran
  - name: third
    image: jobrun-test:latest
    cmd: [echo, third ran]
EOF
cat >ok.yaml <<'EOF'
name: ok job
tasks:
  - name: ok
    image: jobrun-test:latest
    run: echo ok ran
EOF
cat >fail.yaml <<'EOF'
name: failing job
tasks:
  - name: fail
    image: jobrun-test:latest
    run: exit 1
EOF

# ---------------------------------------------------------------- a PENDING job (no daemon yet)
pend=$(submit ok.yaml)
like "$pend" '^[0-9a-f]{12}$' "pending: submitted with no daemon"
run "$JOBRUN" cancel "$pend"
is "$RC" 0 "pending: cancel with no daemon exits 0 (the request is spooled)"
like "$ERR" "no daemon is running for $JOBRUN_HOME" "pending: cancel says no daemon runs"
is "$OUT" "" "pending: cancel prints nothing on stdout"

# (one task at a time: a job can wait for a slot in the queue)
start_daemon -q default:1 || BAIL_OUT "the daemon does not start"
wait_for -t 15 job_final "$pend"
ok $? "pending: the job ends once the daemon starts"
is "$(job_state "$pend")" CANCELLED "pending: the job is CANCELLED"
is "$(task_field "$pend" 1 state)" CANCELLED "pending: its task is CANCELLED"
is "$(job_json "$pend" '.tasks[0] | has("startedAt")')" false "pending: its task never started"
[ ! -e "$JOBRUN_HOME/logs/$pend/1.log" ]
ok $? "pending: its task has no log file"
run "$JOBRUN" logs "$pend"
is "$RC/$OUT" "0/" "pending: logs prints nothing"

# ---------------------------------------------------------------- a RUNNING job
id=$(submit sleep.yaml)
wait_for -t 20 eval '[ "$(task_field "$id" 1 state)" = RUNNING ] && ! no_containers "$id" &&
	grep -q "going to sleep" "$JOBRUN_HOME/logs/$id/1.log"'
ok $? "running: the task runs in its container"
# a job waiting for a slot in the queue (ingested, PENDING)
queued=$(submit ok.yaml)
wait_for -t 10 eval '[ "$(task_field "$queued" 1 state)" = PENDING ]'
ok $? "queued: a second job waits for the queue's only slot (task PENDING)"
is "$(job_state "$queued")" PENDING "queued: the job is PENDING"
RUN_TIMEOUT=20 run "$JOBRUN" cancel "$queued"
is "$RC/$OUT$ERR" "0/" "queued: cancel exits 0 and prints nothing"
is "$(job_state "$queued")/$(task_field "$queued" 1 state)" "CANCELLED/CANCELLED" "queued: job and task CANCELLED"
is "$(job_state "$id")/$(task_field "$id" 1 state)" "RUNNING/RUNNING" "queued: the running job is not affected"

t0=$(ms)
RUN_TIMEOUT=20 run "$JOBRUN" cancel "$id"
el=$(($(ms) - t0))
is "$RC" 0 "running: cancel exits 0"
[ "$el" -lt 10500 ]
ok $? "running: cancel returns within 10 s (${el} ms)"
is "$OUT$ERR" "" "running: cancel prints nothing"
is "$(job_state "$id")" CANCELLED "running: the job is CANCELLED when cancel returns"
is "$(job_json "$id" '[.tasks[].state] | join(",")')" "CANCELLED,CANCELLED,CANCELLED" \
	"running: the running task and the later ones are CANCELLED"
like "$(job_json "$id" '.completedAt // empty')" '^[0-9-]+T[0-9:.]+Z$' "running: the job has a completedAt"
wait_for -t 10 no_containers "$id"
ok $? "running: its container is gone" || diag "$(docker ps -a --filter "label=jobrun.job=$id")"
[ ! -e "$JOBRUN_HOME/logs/$id/2.log" ] && [ ! -e "$JOBRUN_HOME/logs/$id/3.log" ]
ok $? "running: the later tasks never ran (no log)"
run "$JOBRUN" logs "$id" 1
is "$OUT" "going to sleep" "running: the cancelled task's log is kept"
run "$JOBRUN" wait "$id"
is "$RC" 5 "running: wait exits 5 (CANCELLED)"

# ---------------------------------------------------------------- already final
okid=$(submit ok.yaml)
failid=$(submit fail.yaml)
RUN_TIMEOUT=40 run "$JOBRUN" wait "$okid" "$failid"
is "$RC" 4 "final: one COMPLETED and one FAILED job"
# the queued job never got the slot, though the slot has been free since
[ ! -e "$JOBRUN_HOME/logs/$queued/1.log" ] && [ "$(job_json "$queued" '.tasks[0] | has("startedAt")')" = false ]
ok $? "queued: the cancelled job never ran"
run "$JOBRUN" cancel "$okid"
is "$RC" 1 "final: cancel of a COMPLETED job exits 1"
is "$ERR" "jobrun: job $okid is already COMPLETED" "final: 'jobrun: job ID is already COMPLETED'"
is "$(job_state "$okid")" COMPLETED "final: the job stays COMPLETED"
run "$JOBRUN" cancel "$failid"
is "$RC" 1 "final: cancel of a FAILED job exits 1"
is "$ERR" "jobrun: job $failid is already FAILED" "final: 'jobrun: job ID is already FAILED'"
run "$JOBRUN" cancel "$id"
is "$RC" 1 "final: cancel of a CANCELLED job exits 1"
is "$ERR" "jobrun: job $id is already CANCELLED" "final: 'jobrun: job ID is already CANCELLED'"

# ---------------------------------------------------------------- by prefix; unknown ids
id2=$(submit sleep.yaml)
wait_for -t 20 eval '[ "$(task_field "$id2" 1 state)" = RUNNING ] && ! no_containers "$id2"'
ok $? "prefix: the job runs"
p=${id2:0:7}
is "$("$JOBRUN" ls --json | jq -r --arg p "$p" '[.[] | select(.id | startswith($p))] | length')" 1 \
	"prefix: '$p' matches one job"
RUN_TIMEOUT=20 run "$JOBRUN" cancel "$p"
is "$RC" 0 "prefix: cancel by a unique prefix exits 0"
is "$(job_state "$id2")" CANCELLED "prefix: the job is CANCELLED"
wait_for -t 10 no_containers "$id2"
ok $? "prefix: its container is gone"

run "$JOBRUN" cancel 0123456789ab
is "$RC" 6 "unknown: cancel of an unknown id exits 6"
is "$ERR" "jobrun: no job matches '0123456789ab'" "unknown: 'no job matches'"
run "$JOBRUN" cancel xyz
is "$RC" 6 "unknown: cancel of a non-hex id exits 6"

# two ids: one running, one unknown; the known one is still cancelled
id3=$(submit sleep.yaml)
wait_for -t 20 eval '[ "$(task_field "$id3" 1 state)" = RUNNING ] && ! no_containers "$id3"'
RUN_TIMEOUT=20 run "$JOBRUN" cancel 0123456789ab "$id3"
is "$RC" 6 "two ids, one unknown: exit 6"
wait_for -t 10 job_is "$id3" CANCELLED
ok $? "two ids, one unknown: the known job is cancelled anyway"
wait_for -t 10 no_containers "$id3"
ok $? "two ids: its container is gone"

# ---------------------------------------------------------------- cancel while the container starts
# JOBRUN_DOCKER names a wrapper whose `docker run` starts 2 s late (a slow image
# pull, say), and says on files when it is invoked and when it really starts.  The job is cancelled
# while the wrapper waits: afterwards no container of the job may run, at the
# latest once no `docker run` for it is left.
stop_daemon
cat >slow-docker <<EOF
#!/bin/sh
if [ "\$1" = run ]; then
	echo invoked >>"$T/slow-docker.invoked"
	sleep 2
	echo started >>"$T/slow-docker.runs"
fi
exec $DOCKER "\$@"
EOF
chmod +x slow-docker
cat >cmd-sleep.yaml <<'EOF'
name: cmd sleeper
tasks:
  - name: sleep
    image: jobrun-test:latest
    cmd: [sleep, "30"]
EOF
JOBRUN_DOCKER=$T/slow-docker start_daemon
ok $? "slow start: a daemon restarts with a slow docker"
daemon_alive || BAIL_OUT "the daemon does not run"
hid=$(home_id)
id4=$(submit cmd-sleep.yaml)
wait_for -t 10 test -s "$T/slow-docker.invoked"
ok $? "slow start: the daemon ran 'docker run' for the task"
no_containers "$id4" && [ ! -e "$T/slow-docker.runs" ]
ok $? "slow start: no container yet"
RUN_TIMEOUT=20 run "$JOBRUN" cancel "$id4"
is "$RC/$(job_state "$id4")" "0/CANCELLED" "slow start: cancel exits 0, the job is CANCELLED"
starting() { pgrep -f -- "jobrun-$hid-$id4-" >/dev/null; }
settled() { ! starting && [ -z "$("$DOCKER" ps -q --filter "label=jobrun.job=$id4")" ]; }
wait_for -t 6 settled
ok $? "slow start: within 6 s no container of the cancelled job runs, and none is being started" ||
	diag "$("$DOCKER" ps -a --filter "label=jobrun.job=$id4" --format '{{.Names}} {{.Status}}')" \
		"$(pgrep -af -- "jobrun-$hid-$id4-")"
wait_for -t 20 no_containers "$id4"
ok $? "slow start: eventually no container of the job is left at all"

done_testing
