#!/bin/bash
# Faults of the docker CLI and the engine: the daemon refuses to start when the
# engine does not answer (and leaves running tasks alone when it does so after
# a crash); a `docker run` that fails with 125 fails its task with docker's
# message; a retry gets past a fault injected only on the first attempt; a
# crash before a container was created or started runs that step again in the
# same attempt; a docker CLI that dies while its container runs on does not
# decide the task's outcome.
#
# The faults come from a wrapper (JOBRUN_DOCKER) that runs the real docker CLI
# unless a file in $T/faults says otherwise:
#   faults/unreachable       every command fails as if dockerd were down
#   faults/run-fail.KEY      `docker run` of a container whose environment has
#                            INJECT=KEY fails with exit 125 and docker's message;
#                            the file holds how many more times ("always": all)
#   faults/run-hang.KEY      the next such `docker run` hangs before creating its
#                            container; run-create-hang.KEY: after creating it,
#                            before starting it (both write faults/hanging.KEY)
#   faults/hold.CMD          every `docker CMD` (inspect, ps) waits while this
#                            file exists (and writes faults/holding.CMD);
#                            run-hold.KEY: the same for such a `docker run`
#   faults/fail.CMD          the next N `docker CMD` (N in the file) fail as
#                            if dockerd were down
#   faults/noop.CMD          the next N `docker CMD` do nothing and exit 0
# and that logs each call ("CMD [KEY]") to $T/faults/calls.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"
REAL_DOCKER=$(command -v "$DOCKER") || BAIL_OUT "no $DOCKER in PATH"
F=$T/faults
mkdir "$F"
cat >"$T/docker-wrapper" <<EOF
#!/bin/bash
# docker, with faults injected on demand (see t/0100-docker-faults.t)
F='$F'
REAL='$REAL_DOCKER'
EOF
cat >>"$T/docker-wrapper" <<'EOF'
key=
for a in "$@"; do
	# jobrun hands env values over in the CLI's environment (--env=NAME)
	case $a in --env=INJECT) key=$INJECT ;; *INJECT=*) key=${a#*INJECT=} ;; esac
done
echo "$1${key:+ $key}" >>"$F/calls"
hold() { # FILE: wait while FILE exists (at most 2 minutes)
	echo $$ >"$F/holding.${1#hold.}"
	i=0
	while [ -e "$F/$1" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
	rm -f "$F/holding.${1#hold.}"
}
[ -e "$F/hold.$1" ] && hold "hold.$1"
[ "$1" = run ] && [ -n "$key" ] && [ -e "$F/run-hold.$key" ] && hold "run-hold.$key"
if [ -e "$F/noop.$1" ] && [ "$(cat "$F/noop.$1")" -gt 0 ]; then
	echo $(($(cat "$F/noop.$1") - 1)) >"$F/noop.$1"
	exit 0
fi
if [ -e "$F/fail.$1" ] && [ "$(cat "$F/fail.$1")" -gt 0 ]; then
	echo $(($(cat "$F/fail.$1") - 1)) >"$F/fail.$1"
	echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2
	exit 1
fi
if [ -e "$F/unreachable" ]; then
	echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2
	exit 1
fi
if [ "$1" = run ] && [ -n "$key" ] && [ -e "$F/run-fail.$key" ]; then
	n=$(cat "$F/run-fail.$key")
	if [ "$n" = always ] || [ "$n" -gt 0 ]; then
		[ "$n" = always ] || echo $((n - 1)) >"$F/run-fail.$key"
		echo "docker: Error response from daemon: injected fault." >&2
		echo "See 'docker run --help'." >&2
		exit 125
	fi
fi
if [ "$1" = run ] && [ -n "$key" ]; then
	if [ -e "$F/run-hang.$key" ]; then
		# the CLI hangs before it creates the container
		rm -f "$F/run-hang.$key"
		echo $$ >"$F/hanging.$key"
		exec sleep 300
	fi
	if [ -e "$F/run-create-hang.$key" ]; then
		# the CLI creates the container, then hangs before starting it
		rm -f "$F/run-create-hang.$key"
		args=()
		for a in "${@:2}"; do [ "$a" = --sig-proxy=false ] || args+=("$a"); done
		"$REAL" create "${args[@]}" >/dev/null || exit 125
		echo $$ >"$F/hanging.$key"
		exec sleep 300
	fi
	echo $$ >"$F/pid.$key"	# the docker CLI's pid (exec keeps it)
fi
exec "$REAL" "$@"
EOF
chmod +x "$T/docker-wrapper"
export JOBRUN_DOCKER=$T/docker-wrapper

calls() { # CMD [KEY]: how many times the wrapper ran `docker CMD` (for KEY)
	grep -cx "$*" "$F/calls" 2>/dev/null
}
job() { # NAME KEY RETRY: a one-task job file whose container has INJECT=KEY
	write_file "$1.yaml" <<EOF
name: $1
tasks:
  - name: $1
    image: jobrun-test:latest
    env:
      INJECT: $2
    retry:
      limit: $3
    run: printf %s 'result $1' > \$TORK_OUTPUT
EOF
}
log_has() { # ID REGEX
	[[ $("$JOBRUN" logs "$1" 1 2>/dev/null) =~ $2 ]]
}

job ok0 none 0 >/dev/null
job fail always 0 >/dev/null
job once once 1 >/dev/null
job twice twice 1 >/dev/null
job h1 h1 1 >/dev/null
job h2 h2 1 >/dev/null
write_file h3.yaml >/dev/null <<'EOF'
name: h3
tasks:
  - name: h3
    image: jobrun-test:latest
    env:
      INJECT: h3
    cmd: ["/no/such/program"]
EOF
cat >k1.yaml <<'EOF'
name: k1
tasks:
  - name: k1
    image: jobrun-test:latest
    env:
      INJECT: k1
    run: |
      echo start
      i=0
      while [ ! -e /tork/go ] && [ $i -lt 400 ]; do sleep 0.1; i=$((i + 1)); done
      [ -e /tork/go ] || { echo "gate never opened"; exit 99; }
      printf k1 > $TORK_OUTPUT
      echo end
EOF
cat >k3.yaml <<'EOF'
name: k3
tasks:
  - name: k3
    image: jobrun-test:latest
    env:
      INJECT: k3
    run: |
      echo start
      i=0
      while [ ! -e /tork/go ] && [ $i -lt 400 ]; do sleep 0.1; i=$((i + 1)); done
      printf k3 > $TORK_OUTPUT
EOF
sed 's/k3/k4/g' k3.yaml >k4.yaml
cat >sc.yaml <<'EOF'
name: sc
tasks:
  - name: with a sidecar
    image: jobrun-test:latest
    sidecars:
      - name: side
        image: jobrun-test:latest
        env:
          INJECT: sc
        cmd: [sleep, "60"]
    run: printf sc > $TORK_OUTPUT
EOF
for q in q1 q2; do
	cat >$q.yaml <<EOF
name: $q
tasks:
  - name: $q
    image: jobrun-test:latest
    queue: other
    run: printf $q > \$TORK_OUTPUT
EOF
done
cat >gated.yaml <<'EOF'
name: gated
tasks:
  - name: gated
    image: jobrun-test:latest
    run: |
      echo start
      i=0
      while [ ! -e /tork/go ] && [ $i -lt 400 ]; do sleep 0.1; i=$((i + 1)); done
      [ -e /tork/go ] || { echo "gate never opened"; exit 99; }
      printf gated > $TORK_OUTPUT
      echo end
EOF

# ---------------------------------------------------------------- the engine does not answer
JOBRUN_DOCKER=$T/no-such-docker RUN_TIMEOUT=20 run "$JOBRUN" daemon
is "$RC" 1 "the daemon exits 1 when the docker command does not exist"
like "$ERR" "cannot run '$T/no-such-docker' \(exit 127\); is it installed\?" "... saying so"

# An engine that is down (stopped, restarting) is waited for: the daemon
# starts, takes jobs in, starts no task until the engine answers.
ok0=$(submit ok0.yaml)
: >"$F/unreachable"
start_daemon
ok $? "a daemon starts though the engine does not answer"
wait_for grep -q 'level=warn event=engine.down error="cannot reach the container engine' "$T/daemon.log"
ok $? "... and says the engine is down (engine.down)"
run "$JOBRUN" status
is "$RC" 1 "status exits 1 while the engine is down"
like "$OUT" "engine: +unreachable since [0-9-]+ [0-9:]+ \([0-9.]+m?s\): cannot reach the container engine" \
	"... and says since when, and why"
run "$JOBRUN" status --json
is "$(jq -r '[.daemon.running, .daemon.engine.reachable, (.daemon.engine.downSince | length > 0)] | join(" ")' <<<"$OUT")" \
	"true false true" "status --json: running, engine not reachable, since a time"
COLUMNS=160 LINES=10 run "$JOBRUN" top --once
like "$(head -n 1 <<<"$OUT")" "daemon [0-9]+, heartbeat .*, engine unreachable for [0-9]" \
	"top says so in its header"
wait_for -t 10 eval '[ "$(calls version)" -ge 3 ]'
ok $? "the daemon asks the engine again and again"
is "$(calls run)/$(job_state "$ok0")" 0/PENDING "... takes the job in and starts no container"
rm -f "$F/unreachable"
wait_for -t 20 grep -q 'level=info event=engine.up down=' "$T/daemon.log"
ok $? "once the engine answers, the daemon says so (engine.up)"
RUN_TIMEOUT=30 run "$JOBRUN" wait "$ok0"
is "$RC/$(task_field "$ok0" 1 result)/$(task_field "$ok0" 1 attempt)" "0/result ok0/1" \
	"the job completes, on attempt 1"
run "$JOBRUN" status
is "$RC" 0 "status exits 0 again"
like "$OUT" "engine: +answers" "... the engine answers"
COLUMNS=160 LINES=10 run "$JOBRUN" top --once
unlike "$(head -n 1 <<<"$OUT")" "unreachable" "... and top no longer says it is not"

# ---------------------------------------------------------------- `docker run` fails with 125
echo always >"$F/run-fail.always"
fail=$(submit fail.yaml)
RUN_TIMEOUT=30 run "$JOBRUN" wait "$fail"
is "$RC" 4 "a job whose docker run fails with 125 is FAILED (wait exits 4)"
is "$(task_field "$fail" 1 state)" FAILED "its task is FAILED"
is "$(task_field "$fail" 1 error)" "docker: Error response from daemon: injected fault." \
	"the task's error is docker's message"
like "$(job_json "$fail" .error)" "docker: Error response from daemon: injected fault\.$" \
	"the job's error ends with docker's message"
is "$(task_field "$fail" 1 attempt)" 1 "one attempt (retry limit 0)"
is "$(calls run always)" 1 "docker run was tried once"

# ---------------------------------------------------------------- a retry gets past one fault
echo 1 >"$F/run-fail.once"
once=$(submit once.yaml)
RUN_TIMEOUT=30 run "$JOBRUN" wait "$once"
is "$RC" 0 "with retry limit 1 and one injected fault, the job completes"
is "$(task_field "$once" 1 attempt)" 2 "... on attempt 2"
is "$(task_field "$once" 1 result)" "result once" "... with its result"
is "$(task_field "$once" 1 error)" "" "... and no error left on the task"
is "$(calls run once)" 2 "docker run was called twice"

echo 2 >"$F/run-fail.twice"
twice=$(submit twice.yaml)
RUN_TIMEOUT=30 run "$JOBRUN" wait "$twice"
is "$RC" 4 "with retry limit 1 and two faults, the job is FAILED"
is "$(task_field "$twice" 1 attempt)" 2 "... after 2 attempts"
is "$(task_field "$twice" 1 error)" "docker: Error response from daemon: injected fault." \
	"... with docker's message as the error"

# ---------------------------------------------------------------- the daemon dies before its container starts
# h1's `docker run` hangs before creating the container, h2's after creating
# it: a crash then leaves no container, or one that never started.  The next
# daemon must run h1's step again, and start h2's container (not remove it:
# its start may be on its way), both in the same attempt.
: >"$F/run-hang.h1"
: >"$F/run-create-hang.h2"
h1=$(submit h1.yaml)
h2=$(submit h2.yaml)
wait_for test -s "$F/hanging.h1" && wait_for test -s "$F/hanging.h2"
ok $? "h1's docker run hangs before creating its container, h2's after creating it"
is "$("$DOCKER" ps -a --filter "label=jobrun.job=$h2" --format '{{.State}}')" created \
	"h2's container exists, not started"
is "$("$DOCKER" ps -aq --filter "label=jobrun.job=$h1")" "" "h1 has no container"
kill_daemon
is $? 137 "the daemon dies of SIGKILL"
# shellcheck disable=SC2016
wait_for -t 5 eval '! _alive "$(cat "$F/hanging.h1")" && ! _alive "$(cat "$F/hanging.h2")"'
ok $? "the docker CLI children died with the daemon"
start_daemon
ok $? "a new daemon starts"
RUN_TIMEOUT=30 run "$JOBRUN" wait "$h1" "$h2"
is "$RC" 0 "h1 and h2 complete"
for j in h1 h2; do
	is "$(task_field "${!j}" 1 result)/$(task_field "${!j}" 1 attempt)" "result $j/1" \
		"$j has its result, on attempt 1 (the restart did not use up its retry)"
done
is "$(calls run h1)" 2 "h1's docker run was called again by the new daemon"
is "$(calls run h2)" 1 "h2's was not"
grep -q "event=task.start job=$h2 task=1 attempt=1 step=0 container=jobrun-" "$T/daemon.log"
ok $? "... the new daemon started h2's container (task.start)"
is "$(calls start)" 1 "... with one docker start"
wait_for -t 15 no_containers_left
ok $? "no container of this home is left"

# h3's docker run hangs after creating a container that cannot start (no such
# program): after the crash, the next daemon's start fails, and so does the
# task, with the engine's reason, in that attempt.
: >"$F/run-create-hang.h3"
h3=$(submit h3.yaml)
wait_for test -s "$F/hanging.h3"
ok $? "h3's docker run hangs after creating its container"
kill_daemon
is $? 137 "the daemon dies of SIGKILL"
start_daemon
ok $? "a new daemon starts"
RUN_TIMEOUT=30 run "$JOBRUN" wait "$h3"
is "$RC/$(job_state "$h3")/$(task_field "$h3" 1 attempt)" 4/FAILED/1 \
	"h3 fails, on attempt 1"
like "$(task_field "$h3" 1 error)" "^Error response from daemon: .*/no/such/program" \
	"... with the engine's reason for not starting it"
is "$(calls start)" 2 "... after one docker start"
grep -q "level=warn event=task.start job=$h3 task=1 attempt=1 step=0 error=\"Error response from daemon: " "$T/daemon.log"
ok $? "the daemon logs the start that failed (task.start)"
wait_for -t 15 no_containers_left
ok $? "no container of this home is left"

# ---------------------------------------------------------------- the docker CLI dies, its container does not
# The CLI of a running container is killed (as the OOM killer, or an engine
# that drops the attach connection, would): the container runs on, so its
# exit is still to come; the CLI's status (137) is not the container's.
k1=$(submit k1.yaml)
wait_for log_has "$k1" start && wait_for test -s "$F/pid.k1"
ok $? "k1 runs"
kill -KILL "$(cat "$F/pid.k1")"
ok $? "its docker CLI is killed"
# shellcheck disable=SC2016
wait_for -t 5 eval '! _alive "$(cat "$F/pid.k1")"'
ok $? "... and is gone"
is "$("$DOCKER" ps --filter "label=jobrun.job=$k1" --format '{{.State}}')" running \
	"k1's container still runs"
for d in "$JOBRUN_HOME/work/$k1"/*/; do [ -d "$d" ] && : >"$d/go"; done
RUN_TIMEOUT=30 run "$JOBRUN" wait "$k1"
is "$RC" 0 "k1 completes"
is "$(task_field "$k1" 1 result)/$(task_field "$k1" 1 exitCode)/$(task_field "$k1" 1 attempt)" "k1/0/1" \
	"k1 has its container's result and exit code 0, on attempt 1"
like "$("$JOBRUN" logs "$k1" 1)" "end" "k1's log has what the container printed after its CLI died"
wait_for -t 15 no_containers_left
ok $? "no container of this home is left"

# ---------------------------------------------------------------- no engine call stops the daemon
# The daemon asks the engine things (did this container die? start this
# sidecar) in children that its loop watches: while an answer hangs, other
# jobs run to the end.
k3=$(submit k3.yaml)
wait_for log_has "$k3" start && wait_for test -s "$F/pid.k3"
ok $? "k3 runs"
: >"$F/hold.inspect"
kill -KILL "$(cat "$F/pid.k3")"
wait_for test -s "$F/holding.inspect"
ok $? "k3's docker CLI dies; the daemon asks the engine about its container, and the answer hangs"
q1=$(submit q1.yaml)
RUN_TIMEOUT=30 run "$JOBRUN" wait "$q1"
is "$RC/$(task_field "$q1" 1 result)" 0/q1 "another job runs to the end meanwhile"
[ -e "$F/holding.inspect" ]; ok $? "... while that answer still hangs"
rm -f "$F/hold.inspect"
for d in "$JOBRUN_HOME/work/$k3"/*/; do [ -d "$d" ] && : >"$d/go"; done
RUN_TIMEOUT=30 run "$JOBRUN" wait "$k3"
is "$RC/$(task_field "$k3" 1 result)/$(task_field "$k3" 1 attempt)" 0/k3/1 \
	"once it comes, k3 is followed to its end: its result, on attempt 1"

: >"$F/run-hold.sc"
sc=$(submit sc.yaml)
wait_for test -s "$F/holding.run-hold.sc"
ok $? "the start of a sidecar hangs"
q2=$(submit q2.yaml)
RUN_TIMEOUT=30 run "$JOBRUN" wait "$q2"
is "$RC/$(task_field "$q2" 1 result)" 0/q2 "another job runs to the end meanwhile"
is "$(task_field "$sc" 1 state)" SCHEDULED "... while the sidecar's task waits for it"
rm -f "$F/run-hold.sc"
RUN_TIMEOUT=30 run "$JOBRUN" wait "$sc"
is "$RC/$(task_field "$sc" 1 result)" 0/sc "once the sidecar runs, so does its task"
wait_for -t 15 no_containers_left
ok $? "no container of this home is left"

# ---------------------------------------------------------------- the listing at start-up fails
# A new daemon learns what the last one left from one listing of this home's
# containers; until it has it, nothing new starts.
gated=$(submit gated.yaml)
wait_for log_has "$gated" start
ok $? "a task runs"
kill_daemon
is $? 137 "the daemon dies of SIGKILL"
ok0b=$(submit ok0.yaml)
echo 2 >"$F/fail.ps"
: >"$F/calls"
start_daemon
ok $? "a new daemon starts though its listing of containers fails"
wait_for -t 20 grep -q 'event=task.reattach.*job='"$gated" "$T/daemon.log"
ok $? "... and follows the running task once a listing succeeds"
is "$(grep -c 'event=daemon.reconcile.*retry=2s' "$T/daemon.log")" 2 \
	"each failed listing is logged, and tried again 2s later"
RUN_TIMEOUT=30 run "$JOBRUN" wait "$ok0b"
is "$RC" 0 "a job spooled meanwhile completes"
is "$(grep -nx -e ps -e 'run none' "$F/calls" | cut -d: -f2 | tr '\n' ' ')" "ps ps ps run none " \
	"... started only after the third listing"
for d in "$JOBRUN_HOME/work/$gated"/*/; do [ -d "$d" ] && : >"$d/go"; done
RUN_TIMEOUT=30 run "$JOBRUN" wait "$gated"
is "$RC/$(task_field "$gated" 1 result)/$(task_field "$gated" 1 attempt)" 0/gated/1 \
	"the followed task completes, on attempt 1"

# ---------------------------------------------------------------- the engine goes away under a task
# Its docker CLI loses the engine: the daemon finds the engine down, puts
# the task back to PENDING, and runs it again once the engine is back, the
# lost attempt not counted against retry.limit (0 here).
k4=$(submit k4.yaml)
wait_for log_has "$k4" start && wait_for test -s "$F/pid.k4"
ok $? "k4 runs"
: >"$F/unreachable"
kill -KILL "$(cat "$F/pid.k4")"
wait_for grep -q "event=task.requeue job=$k4 task=1 attempt=1 reason=engine" "$T/daemon.log"
ok $? "its CLI dies and the engine does not answer: the task is put back (task.requeue)"
grep -q 'event=engine.down' "$T/daemon.log"
ok $? "... the engine said down"
is "$(job_state "$k4")/$(task_field "$k4" 1 state)/$(task_field "$k4" 1 error)" RUNNING/PENDING/ \
	"the task waits, PENDING, with no error"
rm -f "$F/unreachable"
wait_for -t 20 eval '[ "$(task_field "$k4" 1 attempt)" = 2 ] && log_has "$k4" "start.*start"'
ok $? "once the engine is back, the task starts again (attempt 2)"
for d in "$JOBRUN_HOME/work/$k4"/*/; do [ -d "$d" ] && : >"$d/go"; done
RUN_TIMEOUT=30 run "$JOBRUN" wait "$k4"
is "$RC/$(task_field "$k4" 1 result)" 0/k4 "it completes: the lost attempt did not use up retry.limit 0"
wait_for -t 15 no_containers_left
ok $? "no container of this home is left (the first attempt's was removed)"

# ---------------------------------------------------------------- restart while the engine is down
gated=$(submit gated.yaml)
wait_for log_has "$gated" start
ok $? "a task runs"
kill_daemon
is $? 137 "the daemon dies of SIGKILL"
: >"$F/unreachable"
start_daemon
ok $? "a new daemon starts while the engine does not answer"
wait_for grep -q 'event=engine.down' "$T/daemon.log"
ok $? "... and waits for it"
is "$(job_state "$gated")/$(task_field "$gated" 1 state)" RUNNING/RUNNING \
	"the running task is left as it was (not failed)"
rm -f "$F/unreachable"
wait_for -t 20 grep -q "event=task.reattach job=$gated" "$T/daemon.log"
ok $? "with the engine back, the daemon follows the task again"
for d in "$JOBRUN_HOME/work/$gated"/*/; do [ -d "$d" ] && : >"$d/go"; done
RUN_TIMEOUT=30 run "$JOBRUN" wait "$gated"
is "$RC" 0 "the task that ran across it all completes"
is "$(task_field "$gated" 1 result)/$(task_field "$gated" 1 attempt)" "gated/1" \
	"... with its result, on attempt 1"
wait_for -t 15 no_containers_left
ok $? "no container of this home is left"

# ---------------------------------------------------------------- an rm fails, or removes nothing
# Finished attempts' containers go in batch rms.  One that fails is logged,
# and once no step runs the daemon lists its containers and removes those
# no attempt owns (a sweep).  So it does (at most once a minute) after rms
# that exited 0, as the engine may keep what it said it removed.
stop_daemon
is $? 0 "the daemon exits 0 on SIGTERM"
cleanups() { grep -c 'event=daemon.cleanup containers=1' "$T/daemon.log"; }
n=$(cleanups)
: >"$F/calls"
start_daemon
echo 1 >"$F/noop.rm"
q3=$(submit q1.yaml)
RUN_TIMEOUT=30 run "$JOBRUN" wait "$q3"
is "$RC" 0 "a job completes; the rm of its container does nothing but exits 0"
wait_for -t 15 no_containers_left
ok $? "... the sweep that follows removes the container" || diag "$(containers all)"
is "$(grep -x -e run -e rm -e ps "$F/calls" | tr '\n' ' ')" "ps run rm ps rm " \
	"... with one listing, then one rm (after the listing at start-up)"
is "$(cleanups)" $((n + 1)) "... and says so (daemon.cleanup containers=1)"

echo 1 >"$F/fail.rm"
q4=$(submit q2.yaml)
RUN_TIMEOUT=30 run "$JOBRUN" wait "$q4"
is "$RC" 0 "another job completes; the rm of its container fails"
wait_for grep -q "level=warn event=container.rm error=\"'$T/docker-wrapper rm' of 1 containers exited 1\" sweep=idle" "$T/daemon.log"
ok $? "the failed rm is logged (container.rm, its exit status)"
wait_for -t 15 no_containers_left
ok $? "... and a sweep within the minute removes the container" || diag "$(containers all)"
is "$(cleanups)" $((n + 2)) "... and says so"

stop_daemon
is $? 0 "the daemon exits 0 on SIGTERM"
done_testing
