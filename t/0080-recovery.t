#!/bin/bash
# Killing the daemon with SIGKILL while tasks run, then starting it again,
# loses no job: every job still ends in a final state with its real result.
#
# The long tasks here do not sleep for a guessed time: each waits for "gate"
# files that the test creates in its /tork mount (the host directory
# $JOBRUN_HOME/work/JOB/...), so a container is provably still running when the
# daemon dies, and ends exactly when the test lets it.  A gate never opened
# makes the task exit 99 after 40s, so no task can pass by accident.
#
#   (a) SIGKILL with two tasks running, two pending behind `-q default:2`, a
#       three-task job mid-way and a task in its pre container; the containers survive; the next daemon
#       reattaches (their later output reaches the log), keeps the queue cap,
#       and every task ends once, on attempt 1, with its real result.
#   (b) containers that exit while no daemon runs: their exit code (7, 0) and
#       result are collected by the next daemon.
#   (c) SIGKILL, then jobs and cancel requests spooled while no daemon runs:
#       all processed after the restart.
#   (d) SIGTERM while a task runs: exit 0 at once, the container keeps
#       running, the next daemon reattaches and the job completes.
#   (e) after each recovery no container (nor volume) of this home is left,
#       leftovers of finished attempts included.
#   (f) a task whose timeout runs out while no daemon runs is timed out as
#       soon as the next daemon starts: the deadline counts from its start.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"
NL=$'\n'

# ---------------------------------------------------------------- helpers
# gated NAME RESULT EXIT RETRY [EXTRA-TASK-YAML]: a one-task job that logs
# "start NAME on HOSTNAME", waits for gate go1, logs "mid NAME", waits for go2,
# writes RESULT to $TORK_OUTPUT, logs "end NAME" and exits EXIT.
gated_task() { # NAME RESULT EXIT RETRY INDENT
	sed -e "s/^/$5/" -e "s|@NAME@|$1|g" -e "s|@RESULT@|$2|g" -e "s|@EXIT@|$3|g" \
		-e "s|@RETRY@|$4|g" <<'EOF'
- name: @NAME@
  image: jobrun-test:latest
  retry:
    limit: @RETRY@
  run: |
    gate() {
      i=0
      while [ ! -e /tork/$1 ] && [ $i -lt 400 ]; do sleep 0.1; i=$((i + 1)); done
      [ -e /tork/$1 ] || { echo "gate $1 of @NAME@ never opened"; exit 99; }
    }
    echo "start @NAME@ on $(hostname)"
    gate go1
    echo "mid @NAME@"
    gate go2
    printf %s "@RESULT@" > $TORK_OUTPUT
    echo "end @NAME@"
    exit @EXIT@
EOF
}
gated() { # NAME RESULT [EXIT [RETRY]]: print the path of a one-task gated job file
	{
		printf 'name: %s\ntasks:\n' "$1"
		gated_task "$1" "$2" "${3:-0}" "${4:-1}" "  "
	} | write_file "$1.yaml"
}
quick() { # NAME RESULT: print the path of a one-task job that just writes RESULT
	write_file "$1.yaml" <<EOF
name: $1
tasks:
  - name: $1
    image: jobrun-test:latest
    retry:
      limit: 1
    run: |
      echo "start $1 on \$(hostname)"
      printf %s "$2" > \$TORK_OUTPUT
EOF
}
open_gate() { # ID GATE: create GATE in every /tork mount of job ID
	local d
	for d in "$JOBRUN_HOME/work/$1"/*/; do
		[ -d "$d" ] && : >"$d$2"
	done
}
task_log() { # ID POS: the task's log, as `jobrun logs` prints it
	"$JOBRUN" logs "$1" "$2" 2>/dev/null
}
log_has() { # ID POS REGEX: true when the task's log matches REGEX (for wait_for)
	[[ $(task_log "$1" "$2") =~ $3 ]]
}
task_is() { # ID POS STATE
	[ "$(task_field "$1" "$2" state)" = "$3" ]
}
hosts_in_log() { # ID POS NAME: how many containers logged "start NAME on HOST"
	task_log "$1" "$2" | sed -n "s/^start $3 on //p" | sort -u | wc -l
}
no_containers() { # true when this home has no container at all (for wait_for)
	[ -z "$(containers all)" ]
}
running_ids() { # ids of this home's running containers, sorted
	"$DOCKER" ps -q --no-trunc --filter "label=jobrun.home=$(home_id)" 2>/dev/null | sort
}
running_of() { # ID: names of the running containers of job ID
	"$DOCKER" ps --filter "label=jobrun.job=$1" --format '{{.Names}}' 2>/dev/null
}
exited_of() { # ID: true when job ID has a container and all of them have exited
	local all ex
	all=$("$DOCKER" ps -aq --filter "label=jobrun.job=$1" 2>/dev/null)
	ex=$("$DOCKER" ps -aq --filter "label=jobrun.job=$1" --filter status=exited 2>/dev/null)
	[ -n "$all" ] && [ "$all" = "$ex" ]
}
check_done() { # ID POS STATE RESULT NAME DESC: final state, result, attempt 1, one container
	is "$(task_field "$1" "$2" state)/$(task_field "$1" "$2" result)/$(task_field "$1" "$2" attempt)" \
		"$3/$4/1" "$6: $3 with result '$4', on attempt 1"
	is "$(hosts_in_log "$1" "$2" "$5")" 1 "$6: its log shows one container (the task ran once)"
}

# ---------------------------------------------------------------- (a) SIGKILL mid-flight
# a1 has a volume too, so that recovery must also remove a volume.
{
	printf 'name: a1\ntasks:\n'
	gated_task a1 "result a1" 0 1 "  "
	printf '    volumes:\n      - /data\n'
} | write_file a1.yaml >/dev/null
gated a2 "result a2" >/dev/null
quick a3 "result a3" >/dev/null
quick a4 "result a4" >/dev/null
# A three-task job on its own queue, stopped in its second task; each task
# passes its result on (var), and may retry twice: a restart that burns an
# attempt shows as attempt 2.
{
	printf 'name: multi\ntasks:\n'
	cat <<'EOF'
  - name: m1
    image: jobrun-test:latest
    queue: other
    var: v1
    retry:
      limit: 2
    run: |
      echo "start m1 on $(hostname)"
      printf one > $TORK_OUTPUT
EOF
	# shellcheck disable=SC2016 # $V1 is for the container's shell
	gated_task m2 'two:$V1' 0 2 "  "
	cat <<'EOF'
    queue: other
    var: v2
    env:
      V1: "{{ tasks.v1 }}"
EOF
	cat <<'EOF'
  - name: m3
    image: jobrun-test:latest
    queue: other
    retry:
      limit: 2
    env:
      V2: "{{ tasks.v2 }}"
    run: |
      echo "start m3 on $(hostname)"
      printf "three:$V2" > $TORK_OUTPUT
EOF
} | write_file multi.yaml >/dev/null

# A task with a pre and a post container sharing a volume, stopped in its pre.
write_file prepost.yaml >/dev/null <<'EOF'
name: prepost
tasks:
  - name: pp
    image: jobrun-test:latest
    queue: prepost
    retry:
      limit: 2
    volumes:
      - /shared
    pre:
      - name: pp-pre
        image: jobrun-test:latest
        run: |
          echo "start pp-pre on $(hostname)"
          i=0
          while [ ! -e /tork/go1 ] && [ $i -lt 400 ]; do sleep 0.1; i=$((i + 1)); done
          [ -e /tork/go1 ] || { echo "gate go1 of pp-pre never opened"; exit 99; }
          printf from-pre > /shared/x
          echo "end pp-pre"
    run: |
      echo "start pp on $(hostname)"
      printf "main:$(cat /shared/x)" > $TORK_OUTPUT
    post:
      - name: pp-post
        image: jobrun-test:latest
        run: |
          echo "start pp-post on $(hostname)"
          echo "post saw $(cat /shared/x)"
EOF

# Queue caps are explicit, so that the test does not depend on the CPU count.
caps="-q default:2 -q other:2 -q prepost:1"
# shellcheck disable=SC2086
start_daemon $caps
ok $? "(a) the daemon starts with -q default:2"
a1=$(submit a1.yaml)
a2=$(submit a2.yaml)
a3=$(submit a3.yaml)
a4=$(submit a4.yaml)
m=$(submit multi.yaml)
pp=$(submit prepost.yaml)
like "$a1 $a2 $a3 $a4 $m $pp" '^[0-9a-f]{12}( [0-9a-f]{12}){5}$' "(a) six jobs submitted"

wait_for log_has "$a1" 1 "start a1 on" && wait_for log_has "$a2" 1 "start a2 on" &&
	wait_for log_has "$m" 2 "start m2 on" && wait_for log_has "$pp" 1 "start pp-pre on"
ok $? "(a) a1, a2, the multi job's task 2 and pp's pre container are running"
is "$(task_field "$m" 1 state)/$(task_field "$m" 1 result)" "COMPLETED/one" \
	"(a) the multi job's task 1 completed before the crash"
is "$(task_field "$a3" 1 state) $(task_field "$a4" 1 state)" "PENDING PENDING" \
	"(a) a3 and a4 wait behind the default queue's cap of 2"
before=$(running_ids)
is "$(wc -l <<<"$before")" 4 "(a) four containers of this home run"

kill_daemon
is $? 137 "(a) the daemon dies of SIGKILL"
is "$(running_ids)" "$before" "(a) the same four containers still run after the daemon died"
is "$(job_state "$a1")" RUNNING "(a) show still works without a daemon: a1 is RUNNING"

# shellcheck disable=SC2086
start_daemon $caps
ok $? "(a) a new daemon starts"
open_gate "$a1" go1
open_gate "$a2" go1
open_gate "$m" go1
wait_for -t 20 log_has "$a1" 1 "mid a1" && wait_for -t 20 log_has "$a2" 1 "mid a2" &&
	wait_for -t 20 log_has "$m" 2 "mid m2"
ok $? "(a) what the containers print after the restart reaches their logs (reattached)"
# The new daemon follows a1 and a2: they still hold both slots of the queue.
is "$(task_field "$a3" 1 state) $(task_field "$a4" 1 state)" "PENDING PENDING" \
	"(a) reattached tasks count against the queue cap: a3 and a4 still wait"
is "$(running_ids)" "$before" "(a) the reattached containers are the ones started before the crash"
open_gate "$a1" go2
open_gate "$a2" go2
open_gate "$m" go2
open_gate "$pp" go1

RUN_TIMEOUT=40 run "$JOBRUN" wait "$a1" "$a2" "$a3" "$a4" "$m" "$pp"
is "$RC" 0 "(a) every job ends COMPLETED (wait exits 0)"
for j in a1 a2 a3 a4; do
	check_done "${!j}" 1 COMPLETED "result $j" "$j" "(a) $j"
done
check_done "$m" 1 COMPLETED one m1 "(a) multi task 1"
check_done "$m" 2 COMPLETED two:one m2 "(a) multi task 2"
check_done "$m" 3 COMPLETED three:two:one m3 "(a) multi task 3"
check_done "$pp" 1 COMPLETED main:from-pre pp "(a) pp (killed in its pre container)"
is "$(hosts_in_log "$pp" 1 pp-pre) $(hosts_in_log "$pp" 1 pp-post)" "1 1" \
	"(a) pp's pre and post containers ran once each"
like "$(task_log "$pp" 1)" "end pp-pre.*start pp on.*post saw from-pre" \
	"(a) pp's pre, main and post containers ran in order, sharing the volume"
for j in a1 a2; do
	log=$(task_log "${!j}" 1)
	like "$log" "(^|$NL)start $j on [^$NL]*$NL(.*$NL)?mid $j$NL(.*$NL)?end $j($NL|\$)" \
		"(a) $j's log has its lines from before and after the restart, in order"
done
like "$(task_log "$m" 2)" "mid m2.*end m2" "(a) multi task 2's log has the lines it printed after the restart"
unlike "$(task_log "$a1" 1)$(task_log "$a2" 1)$(task_log "$m" 2)$(task_log "$pp" 1)" "never opened" \
	"(a) no task hit a gate's timeout"

wait_for -t 15 no_containers
ok $? "(e) after recovery no container of this home is left"
is "$(volumes)" "" "(e) ... nor a volume (a1's /data, pp's /shared)"

# ---------------------------------------------------------------- (b) exit while no daemon runs
gated b7 "result b7" 7 0 >/dev/null
gated b0 "result b0" 0 0 >/dev/null
b7=$(submit b7.yaml)
b0=$(submit b0.yaml)
wait_for log_has "$b7" 1 "start b7 on" && wait_for log_has "$b0" 1 "start b0 on"
ok $? "(b) b7 and b0 are running"
kill_daemon
is $? 137 "(b) the daemon dies of SIGKILL"
for j in b7 b0; do
	open_gate "${!j}" go1
	open_gate "${!j}" go2
done
wait_for -t 20 exited_of "$b7" && wait_for -t 20 exited_of "$b0"
ok $? "(b) both containers exit while no daemon runs (docker ps -a: exited)"
is "$("$DOCKER" inspect -f '{{.State.ExitCode}}' "$("$DOCKER" ps -aq --filter "label=jobrun.job=$b7")" 2>&1)" 7 \
	"(b) b7's container exited with 7"
is "$(job_state "$b7") $(job_state "$b0")" "RUNNING RUNNING" "(b) nobody recorded it yet"
# Let the wall clock pass the second in which they printed their last lines,
# so that a daemon which would only fetch what they print from its own start
# on (say `docker logs --since` the restart) misses those lines.
fin=$("$DOCKER" inspect -f '{{.State.FinishedAt}}' "$("$DOCKER" ps -aq --filter "label=jobrun.job=$b0")")
fin=$(date -d "${fin% UTC}" +%s) || fin=$(date +%s)  # (podman ends it in " UTC")
# shellcheck disable=SC2016
wait_for -t 5 eval '[ "$(date +%s)" -ge $((fin + 2)) ]'

start_daemon
ok $? "(b) a new daemon starts"
RUN_TIMEOUT=30 run "$JOBRUN" wait "$b7"
is "$RC" 4 "(b) b7 ends FAILED (wait exits 4)"
is "$(task_field "$b7" 1 exitCode)" 7 "(b) b7's task has the container's exit code 7"
is "$(task_field "$b7" 1 error)" "exit code 7" "(b) b7's task error is 'exit code 7'"
is "$(task_field "$b7" 1 attempt)" 1 "(b) b7 ran once"
RUN_TIMEOUT=30 run "$JOBRUN" wait "$b0"
is "$RC" 0 "(b) b0 ends COMPLETED"
check_done "$b0" 1 COMPLETED "result b0" b0 "(b) b0"
is "$(task_field "$b0" 1 exitCode)" 0 "(b) b0's exitCode is 0"
like "$(task_log "$b0" 1)" "mid b0"$'\n'"end b0" "(b) b0's log has what it printed while no daemon ran"
like "$(task_log "$b7" 1)" "end b7" "(b) so has b7's"
wait_for -t 15 no_containers
ok $? "(e) the exited containers are removed once collected"

# ---------------------------------------------------------------- (c) spool filled while no daemon runs
gated c1 "result c1" 0 0 >/dev/null
quick c2 "result c2" >/dev/null
quick c3 "result c3" >/dev/null
quick c4 "result c4" >/dev/null
c1=$(submit c1.yaml)
wait_for log_has "$c1" 1 "start c1 on"
ok $? "(c) c1 is running"
kill_daemon
is $? 137 "(c) the daemon dies of SIGKILL"
c2=$(submit c2.yaml)
c3=$(submit c3.yaml)
c4=$(submit c4.yaml)
run "$JOBRUN" cancel "$c4"
is "$RC" 0 "(c) cancel of a spooled job without a daemon exits 0"
run "$JOBRUN" cancel "$c1"
is "$RC" 0 "(c) cancel of the running c1 without a daemon exits 0"
is "$(spooled)" 5 "(c) three jobs and two cancel requests wait in spool/new"
# Leftovers of finished attempts, as a crash between an attempt's end and the
# removal of its containers leaves them: one exited, one still running.
hid=$(home_id)
"$DOCKER" create --name "jobrun-$hid-$a1-1-1-0" --label "jobrun.home=$hid" \
	--label "jobrun.job=$a1" --label jobrun.task=1 --label jobrun.attempt=1 \
	--network none jobrun-test:latest true >/dev/null
"$DOCKER" run -d --name "jobrun-$hid-$b0-1-1-0" --label "jobrun.home=$hid" \
	--label "jobrun.job=$b0" --label jobrun.task=1 --label jobrun.attempt=1 \
	--network none jobrun-test:latest sleep 60 >/dev/null
is "$(containers all | wc -l)" 3 "(c) c1's container and two leftovers exist"

start_daemon
ok $? "(c) a new daemon starts"
RUN_TIMEOUT=30 run "$JOBRUN" wait "$c2" "$c3"
is "$RC" 0 "(c) the jobs spooled while no daemon ran complete"
check_done "$c2" 1 COMPLETED "result c2" c2 "(c) c2"
check_done "$c3" 1 COMPLETED "result c3" c3 "(c) c3"
wait_for -t 15 job_final "$c1"
is "$(job_state "$c1")/$(task_field "$c1" 1 state)" CANCELLED/CANCELLED \
	"(c) c1, running across the crash, is CANCELLED by the spooled request"
is "$(job_state "$c4")/$(task_field "$c4" 1 state)" CANCELLED/CANCELLED \
	"(c) c4, cancelled while spooled, is CANCELLED"
is "$(task_field "$c4" 1 startedAt)$(task_log "$c4" 1)" "" "(c) c4's task never started"
wait_for -t 10 spool_empty
ok $? "(c) spool/new is empty"
wait_for -t 15 no_containers
ok $? "(e) c1's container and the leftovers of finished attempts are removed"

# ---------------------------------------------------------------- (d) SIGTERM
gated d1 "result d1" >/dev/null
d1=$(submit d1.yaml)
wait_for log_has "$d1" 1 "start d1 on"
ok $? "(d) d1 is running"
cont=$(running_of "$d1")
t0=$SECONDS
stop_daemon
is $? 0 "(d) the daemon exits 0 on SIGTERM"
ok $((SECONDS - t0 > 3)) "(d) ... promptly (within 3s, took $((SECONDS - t0))s)"
is "$(running_of "$d1")" "$cont" "(d) d1's container keeps running"
start_daemon
ok $? "(d) a new daemon starts"
open_gate "$d1" go1
wait_for -t 20 log_has "$d1" 1 "mid d1"
ok $? "(d) the new daemon follows the container's output"
open_gate "$d1" go2
RUN_TIMEOUT=30 run "$JOBRUN" wait "$d1"
is "$RC" 0 "(d) d1 completes"
check_done "$d1" 1 COMPLETED "result d1" d1 "(d) d1"
wait_for -t 15 no_containers
ok $? "(e) no container is left"

# ---------------------------------------------------------------- (f) a timeout runs out while no daemon runs
write_file f1.yaml >/dev/null <<'EOF'
name: f1
tasks:
  - name: f1
    image: jobrun-test:latest
    timeout: 4s
    run: |
      echo "start f1 on $(hostname)"
      i=0
      while [ ! -e /tork/go1 ] && [ $i -lt 400 ]; do sleep 0.1; i=$((i + 1)); done
      echo "end f1"
EOF
f1=$(submit f1.yaml)
wait_for log_has "$f1" 1 "start f1 on"
ok $? "(f) f1 (timeout 4s) is running"
kill_daemon
is $? 137 "(f) the daemon dies of SIGKILL"
# Wait while no daemon runs until f1's time is up (5s after its start).
# shellcheck disable=SC2034 # used in the eval below
started=$(date -d "$(task_field "$f1" 1 startedAt)" +%s%3N) || started=$(date +%s%3N)
# shellcheck disable=SC2016
wait_for -t 10 eval '[ "$(date +%s%3N)" -ge $((started + 5000)) ]'
is "$(running_of "$f1" | wc -l)" 1 "(f) f1's container still runs past its timeout"
restart=$(date +%s%3N)
start_daemon
ok $? "(f) a new daemon starts"
RUN_TIMEOUT=20 run "$JOBRUN" wait "$f1"
is "$RC" 4 "(f) f1 ends FAILED"
# (the contract says 'timed out after 2s' for 2s; the binary writes '4.0s': both pass)
like "$(task_field "$f1" 1 error)" '^timed out after 4(\.0)?s$' "(f) f1's task timed out after 4s"
done_at=$(date -d "$(task_field "$f1" 1 completedAt)" +%s%3N)
ok $((done_at - restart > 3000)) "(f) ... as soon as the daemon restarted, not 4s later ($((done_at - restart))ms)"
wait_for -t 15 no_containers
ok $? "(e) f1's container is removed"

stop_daemon
is $? 0 "the daemon exits 0 on SIGTERM"
done_testing
