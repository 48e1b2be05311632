#!/bin/bash
# Failing tasks: a non-zero exit fails the task and the job, later tasks never
# run; retry.limit; a task that succeeds on a retry; timeouts; an image that
# does not exist; the exit codes of submit --wait and wait.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"
ID='^[0-9a-f]{12}$'
NL=$'\n'

ms() { date +%s%3N; }

cat >exit3.yaml <<'EOF'
name: exit 3 job
tasks:
  - name: first
    image: jobrun-test:latest
    run: echo first ran
  - name: failing
    image: jobrun-test:latest
    run: |
      echo about to fail
      exit 3
  - name: third
    image: jobrun-test:latest
    run: echo third ran
  - name: fourth
    image: jobrun-test:latest
    cmd: [echo, fourth ran]
EOF

cat >retry.yaml <<'EOF'
name: retry job
tasks:
  - name: always fails
    image: jobrun-test:latest
    retry:
      limit: 2
    run: |
      echo attempt line
      exit 7
  - name: never
    image: jobrun-test:latest
    run: echo never
EOF

cat >timeout.yaml <<'EOF'
name: timeout job
tasks:
  - name: sleeper
    image: jobrun-test:latest
    timeout: 3s
    run: |
      echo sleeping
      sleep 30
EOF

cat >noimage.yaml <<'EOF'
name: no image job
tasks:
  - name: bad image
    image: jobrun-test-no-such-image:never
    run: echo never
EOF

cat >ok.yaml <<'EOF'
name: ok job
tasks:
  - name: ok
    image: jobrun-test:latest
    run: echo -n fine > $TORK_OUTPUT
EOF

cat >slow.yaml <<'EOF'
name: slow job
tasks:
  - name: slow
    image: jobrun-test:latest
    run: sleep 60
EOF

start_daemon || BAIL_OUT "the daemon does not start"

# ---------------------------------------------------------------- exit 3
# (submitted together; they run side by side)
e3=$(submit exit3.yaml)
rt=$(submit retry.yaml)
t0=$(ms)
to=$(submit timeout.yaml)
ni=$(submit noimage.yaml)
like "$e3 $rt $to $ni" "^[0-9a-f]{12} [0-9a-f]{12} [0-9a-f]{12} [0-9a-f]{12}\$" "four jobs submitted"

wait_for -t 40 job_final "$e3"
ok $? "exit 3: the job ends"
is "$(job_state "$e3")" FAILED "exit 3: the job is FAILED"
is "$(task_field "$e3" 1 state)" COMPLETED "exit 3: task 1 COMPLETED"
is "$(task_field "$e3" 2 state)" FAILED "exit 3: task 2 FAILED"
is "$(task_field "$e3" 2 exitCode)" 3 "exit 3: task 2 exitCode 3"
is "$(task_field "$e3" 2 error)" "exit code 3" "exit 3: task 2 error 'exit code 3'"
jerr=$(job_json "$e3" '.error // empty')
like "$jerr" "exit code 3" "exit 3: the job's error mentions 'exit code 3'"
is "$(job_json "$e3" '[.tasks[2,3].state] | join(",")')" "CREATED,CREATED" "exit 3: tasks 3 and 4 stay CREATED"
is "$(job_json "$e3" '[.tasks[2,3] | has("startedAt")] | any')" false "exit 3: tasks 3 and 4 never started"
[ ! -e "$JOBRUN_HOME/logs/$e3/3.log" ] && [ ! -e "$JOBRUN_HOME/logs/$e3/4.log" ]
ok $? "exit 3: tasks 3 and 4 have no log file"
run "$JOBRUN" logs "$e3" 3
is "$RC/$OUT" "0/" "exit 3: logs ID 3 prints nothing"
run "$JOBRUN" logs "$e3" 2
is "$OUT" "about to fail" "exit 3: the failing task's output is in its log"
run "$JOBRUN" logs "$e3"
unlike "$OUT" "third ran|fourth ran" "exit 3: nothing from tasks 3 and 4 in the job's logs"

# ---------------------------------------------------------------- retry.limit 2, always failing
wait_for -t 40 job_final "$rt"
ok $? "retry: the job ends"
is "$(job_state "$rt")" FAILED "retry: the job is FAILED"
is "$(task_field "$rt" 1 attempt)" 3 "retry: limit 2 makes 3 attempts"
is "$(task_field "$rt" 1 exitCode)" 7 "retry: exitCode 7"
is "$(task_field "$rt" 1 error)" "exit code 7" "retry: error 'exit code 7'"
run "$JOBRUN" logs "$rt" 1
is "$OUT" "attempt line${NL}attempt line${NL}attempt line" "retry: the log has the line of each of the 3 attempts"
is "$(task_field "$rt" 2 state)" CREATED "retry: the next task stays CREATED"

# ---------------------------------------------------------------- timeout
wait_for -t 25 job_final "$to"
ok $? "timeout: the job ends"
t1=$(ms)
is "$(job_state "$to")" FAILED "timeout: the job is FAILED"
# the contract writes 'timed out after 2s' for a 2s timeout; the binary prints the
# duration with one decimal ('1.0s').  Either is accepted; nothing else.
like "$(task_field "$to" 1 error)" '^timed out after 3(\.0)?s$' "timeout: task error 'timed out after 3s'"
like "$(job_json "$to" '.error // empty')" 'timed out after 3(\.0)?s' "timeout: the job's error mentions it"
el=$((t1 - t0))
[ "$el" -lt 15000 ]
ok $? "timeout: the 30 s sleep was cut short (ended ${el} ms after submit)"
job_containers() { "$DOCKER" ps -aq --filter "label=jobrun.job=$1"; }
wait_for -t 10 eval '[ -z "$(job_containers "$to")" ]'
ok $? "timeout: the container is gone"
run "$JOBRUN" logs "$to"
is "$OUT" "sleeping" "timeout: what the task printed before the kill is in its log"

# ---------------------------------------------------------------- no such image
wait_for -t 30 job_final "$ni"
ok $? "no such image: the job ends"
is "$(job_state "$ni")" FAILED "no such image: the job is FAILED"
nerr=$(task_field "$ni" 1 error)
isnt "$nerr" "" "no such image: the task has an error"
like "$nerr" '[Ee]rror|[Uu]nable|denied|not found|[Nn]o such|does not exist|pull' \
	"no such image: the error is docker's complaint"
unlike "$nerr" "$NL" "no such image: the error is one line"
unlike "$nerr" '^exit code' "no such image: not a bare 'exit code N'"
like "$(job_json "$ni" '.error // empty')" '.+' "no such image: the job has an error too"

# ---------------------------------------------------------------- submit --wait exit codes
RUN_TIMEOUT=40 run "$JOBRUN" submit --wait ok.yaml
is "$RC" 0 "submit --wait: exit 0 for COMPLETED"
like "$OUT" "$ID" "submit --wait: prints only the id"
okid=$OUT

RUN_TIMEOUT=40 run "$JOBRUN" submit --wait exit3.yaml
is "$RC" 4 "submit --wait: exit 4 for FAILED"
like "$OUT" "$ID" "submit --wait (FAILED): prints only the id"
failid=$OUT

run "$JOBRUN" submit --wait nosuch.yaml
is "$RC" 3 "submit --wait: exit 3 for a missing file"
printf 'name: x\ntasks:\n  - name: a\n    run: "true"\n' >invalid.yaml
run "$JOBRUN" submit --wait invalid.yaml
is "$RC" 3 "submit --wait: exit 3 for an invalid job"
is "$OUT" "" "submit --wait (invalid): nothing on stdout"

# CANCELLED: cancel from another process while submit --wait waits
timeout -k 5 60 "$JOBRUN" submit --wait slow.yaml >"$T/sw.out" 2>"$T/sw.err" &
swpid=$!
wait_for -t 10 grep -qE "$ID" "$T/sw.out"
ok $? "submit --wait prints the id while it waits"
cid=$(head -n 1 "$T/sw.out")
wait_for -t 20 eval '[ "$(task_field "$cid" 1 state)" = RUNNING ] && [ -n "$(job_containers "$cid")" ]'
ok $? "the slow job runs"
_alive "$swpid"
ok $? "submit --wait still waits while the job runs"
run "$JOBRUN" cancel "$cid"
is "$RC" 0 "cancel (from another process) exits 0"
wait_for -t 15 eval '! _alive '"$swpid"
ok $? "submit --wait returns once the job is cancelled"
wait "$swpid"
is "$?" 5 "submit --wait: exit 5 for CANCELLED"
is "$(head -n 1 "$T/sw.out")" "$cid" "submit --wait (CANCELLED): printed only the id"

# ---------------------------------------------------------------- wait
run "$JOBRUN" wait "$okid"
is "$RC" 0 "wait COMPLETED: 0"
run "$JOBRUN" wait "$failid"
is "$RC" 4 "wait FAILED: 4"
run "$JOBRUN" wait "$cid"
is "$RC" 5 "wait CANCELLED: 5"
run "$JOBRUN" wait "$okid" "$failid"
is "$RC" 4 "wait COMPLETED FAILED: 4"
run "$JOBRUN" wait "$failid" "$okid"
is "$RC" 4 "wait FAILED COMPLETED: 4"
run "$JOBRUN" wait "$okid" "$cid"
is "$RC" 5 "wait COMPLETED CANCELLED: 5"
run "$JOBRUN" wait "$cid" "$failid"
is "$RC" 4 "wait CANCELLED FAILED: 4 (FAILED is worst)"
run "$JOBRUN" wait "$okid" "$cid" "$failid" "$okid"
is "$RC" 4 "wait with all three states: 4"
run "$JOBRUN" wait 0123456789ab
is "$RC" 6 "wait on an unknown id: 6"
is "$ERR" "jobrun: no job matches '0123456789ab'" "wait on an unknown id: 'no job matches'"
run "$JOBRUN" wait "$okid" 0123456789ab
is "$RC" 6 "wait on a known and an unknown id: 6"

# wait blocks until a running job ends
sid=$(submit ok.yaml)
RUN_TIMEOUT=40 run "$JOBRUN" wait "$sid"
is "$RC/$(job_state "$sid")" "0/COMPLETED" "wait on a fresh job returns once it COMPLETED"

# ---------------------------------------------------------------- success on a retry
# Nothing a container can see survives from one attempt to the next (fresh /tork,
# fresh volumes), so the test tells each container its attempt: JOBRUN_DOCKER names
# a pass-through wrapper that adds --env=JR_ATTEMPT=A, A taken from the
# jobrun.attempt=A label of `docker run`.
stop_daemon
is $? 0 "the daemon exits 0 on SIGTERM"
cat >docker-attempt <<EOF
#!/bin/sh
if [ "\$1" = run ]; then
	shift
	a=
	for x in "\$@"; do
		case \$x in *jobrun.attempt=*) a=\${x##*jobrun.attempt=} ;; esac
	done
	exec $DOCKER run --env=JR_ATTEMPT="\$a" "\$@"
fi
exec $DOCKER "\$@"
EOF
chmod +x docker-attempt
cat >flaky.yaml <<'EOF'
name: flaky job
tasks:
  - name: flaky
    image: jobrun-test:latest
    retry:
      limit: 3
    run: |
      echo "attempt $JR_ATTEMPT"
      [ "$JR_ATTEMPT" -ge 2 ] || exit 1
      echo -n "ok on $JR_ATTEMPT" > $TORK_OUTPUT
  - name: after
    image: jobrun-test:latest
    run: echo -n after > $TORK_OUTPUT
EOF
# (a second daemon in the same home: it must replace run/daemon.pid)
JOBRUN_DOCKER=$T/docker-attempt start_daemon
ok $? "a daemon restarts in the same home (here with JOBRUN_DOCKER)"
daemon_alive || BAIL_OUT "the daemon does not run"
RUN_TIMEOUT=40 run "$JOBRUN" submit --wait flaky.yaml
fl=$OUT
is "$RC" 0 "a task failing on attempt 1 and passing on attempt 2: the job COMPLETED"
is "$(task_field "$fl" 1 state)" COMPLETED "retry success: the task is COMPLETED"
is "$(task_field "$fl" 1 attempt)" 2 "retry success: on attempt 2"
is "$(task_field "$fl" 1 result)" "ok on 2" "retry success: the result is the second attempt's"
is "$(job_json "$fl" '.tasks[0] | has("error")')" false "retry success: no error left on the task"
is "$(task_field "$fl" 1 exitCode)" 0 "retry success: exitCode 0"
run "$JOBRUN" logs "$fl" 1
is "$OUT" "attempt 1${NL}attempt 2" "retry success: the log has both attempts"
is "$(task_field "$fl" 2 result)" after "retry success: the next task ran"

wait_for -t 15 eval '[ -z "$(containers all)" ] && [ -z "$(volumes)" ]'
ok $? "no container and no volume of this home remains" || diag "$(containers all)"

done_testing
