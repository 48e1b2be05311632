#!/bin/bash
# submit spools a job while no daemon runs; a daemon started later runs it; wait
# and submit --wait report the final state by exit code; --json output.
. "$(dirname "$0")/lib.sh"
need_jobrun

ID='^[0-9a-f]{12}$'
NL=$'\n'
cd "$T" || BAIL_OUT "cd $T"
cat >ok.yaml <<'EOF'
name: ok job
tasks:
  - name: greet
    image: jobrun-test:latest
    run: echo -n hi > $TORK_OUTPUT
EOF
cat >fail.yaml <<'EOF'
name: failing job
tasks:
  - name: fail
    image: jobrun-test:latest
    run: exit 3
  - name: never
    image: jobrun-test:latest
    run: "true"
EOF

# ---------------------------------------------------------------- no daemon
run "$JOBRUN" submit ok.yaml
is "$RC" 0 "submit without a daemon exits 0"
like "$OUT" "$ID" "stdout is only a 12-hex job id"
id=$OUT
is "$ERR" "jobrun: no daemon is running for $JOBRUN_HOME; the job waits in the spool until 'jobrun daemon' starts" \
	"stderr says the job waits for a daemon"
is "$(count_files "$JOBRUN_HOME/spool/new")" 1 "one file in spool/new"
is "$(count_files "$JOBRUN_HOME/spool/tmp")" 0 "nothing left in spool/tmp"
is "$(stat -c %a "$JOBRUN_HOME/spool/new")" 700 "spool/new is private (umask 077)"
f=$(ls "$JOBRUN_HOME/spool/new" | head -n 1)
is "$(stat -c %a "$JOBRUN_HOME/spool/new/$f")" 600 "the spooled file is private"

run "$JOBRUN" ls
is "$RC" 0 "ls exits 0"
like "$OUT" "^ID +NAME +STATE +TASKS +CREATED" "ls prints its header"
like "$OUT" "(^|$NL)$id +ok job +PENDING +0/1 " "ls lists the spooled job as PENDING"

run "$JOBRUN" ls --json
is "$RC" 0 "ls --json exits 0"
is "$(jq -r 'length' <<<"$OUT")" 1 "ls --json: one job"
is "$(jq -r '.[0].id + " " + .[0].state' <<<"$OUT")" "$id PENDING" "ls --json: the job, PENDING"

run "$JOBRUN" submit --json ok.yaml
is "$RC" 0 "submit --json exits 0"
is "$(jq -r 'keys | join(",")' <<<"$OUT")" "id" "submit --json prints an object with only 'id'"
like "$(jq -r .id <<<"$OUT")" "$ID" "... a 12-hex id"
id2=$(jq -r .id <<<"$OUT")
isnt "$id2" "$id" "each submit gets a new id"

run "$JOBRUN" submit - <ok.yaml
is "$RC" 0 "submit - (stdin) exits 0"
like "$OUT" "$ID" "submit - prints an id"
id3=$OUT
is "$(spooled)" 3 "three jobs spooled"

run "$JOBRUN" ls -n 2
is "$(grep -c PENDING <<<"$OUT")" 2 "ls -n 2 shows two jobs"

# ---------------------------------------------------------------- a daemon drains the spool
if ! have_docker; then
	note "no Docker engine or no jobrun-test image: skipping the daemon part (run sh t/setup)"
	done_testing
	exit 0
fi
start_daemon
ok $? "the daemon starts"

RUN_TIMEOUT=60 run "$JOBRUN" wait "$id"
is "$RC" 0 "wait ID exits 0 once the job COMPLETED"
is "$(job_state "$id")" COMPLETED "show --json: COMPLETED"
is "$(task_field "$id" 1 result)" hi "the task's result is what it wrote to \$TORK_OUTPUT"
RUN_TIMEOUT=60 run "$JOBRUN" wait "$id2" "$id3"
is "$RC" 0 "wait ID ID exits 0 when both COMPLETED"
wait_for -t 10 spool_empty
ok $? "the daemon emptied spool/new"

run "$JOBRUN" wait "${id:0:6}"
is "$RC" 0 "wait accepts a unique id prefix"

run "$JOBRUN" wait 000000000000
is "$RC" 6 "wait on an unknown id exits 6"
is "$ERR" "jobrun: no job matches '000000000000'" "... with 'no job matches'"

# ---------------------------------------------------------------- with a daemon: --wait, --json
RUN_TIMEOUT=60 run "$JOBRUN" submit --wait ok.yaml
is "$RC" 0 "submit --wait exits 0 for a COMPLETED job"
like "$OUT" "$ID" "submit --wait prints only the id"
is "$ERR" "" "no 'no daemon' message while a daemon runs"

RUN_TIMEOUT=60 run "$JOBRUN" submit --wait fail.yaml
is "$RC" 4 "submit --wait exits 4 for a FAILED job"
like "$OUT" "$ID" "... and prints the id"
fid=$OUT
is "$(job_state "$fid")" FAILED "the job is FAILED"
is "$(task_field "$fid" 1 error)" "exit code 3" "task 1 error: 'exit code 3'"
is "$(task_field "$fid" 1 exitCode)" 3 "task 1 exitCode: 3"
is "$(task_field "$fid" 2 state)" CREATED "task 2 never ran: CREATED"

run "$JOBRUN" wait "$fid"
is "$RC" 4 "wait on a FAILED job exits 4"
run "$JOBRUN" wait "$id" "$fid"
is "$RC" 4 "wait COMPLETED FAILED exits 4 (worst state)"

RUN_TIMEOUT=60 run "$JOBRUN" submit --wait --json ok.yaml
is "$RC" 0 "submit --wait --json exits 0"
is "$(jq -r '.state' <<<"$OUT")" COMPLETED "submit --wait --json prints the final job"
is "$(jq -r '.tasks[0].result' <<<"$OUT")" hi "... with its tasks"
like "$(jq -r '.id' <<<"$OUT")" "$ID" "... and its id"

stop_daemon
is $? 0 "the daemon exits 0 on SIGTERM"

done_testing
