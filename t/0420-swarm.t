#!/bin/bash
# daemon --runtime swarm: each step a service of one replica on a one-node
# swarm (a dockerd of the test's own, so that the usual engine is left as it
# was).  Tork's keys (run, cmd, env, secrets, files, outputs, each, retry,
# timeout, cancel, stop), --constraint per queue, what it refuses, a crash,
# and no service, config or container left behind.
JOBRUN_TEST_RUNTIME=swarm
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker
cd "$T" || BAIL_OUT "cd $T"
d2_init
ok $? "a second dockerd answers on its own socket, with the test image"

# ---------------------------------------------------------------- bad options
run "$JOBRUN" daemon --constraint 'gpu:node.labels.gpu==true'
like "$RC/$ERR" "^2/jobrun: --constraint places services: it needs --runtime swarm" \
	"--constraint without --runtime swarm: exit 2"
for bad in gpu 'gpu:==x' 'node.role==manager' 'gpu:node role==x' 'gpu:node.role==' \
	'gpu:node.role==a;b'; do
	run "$JOBRUN" daemon --runtime swarm --constraint "$bad"
	like "$RC/$ERR" "^2/jobrun: --constraint $bad: " "--constraint '$bad': exit 2, and why"
done

run "$JOBRUN" daemon --runtime swarm --network none
like "$RC/$ERR" "^2/jobrun: --network none \(or JOBRUN_NETWORK=none\): a swarm service cannot have no network" \
	"--network none under swarm: exit 2 (a service would be on a bridge)"
unset JOBRUN_NETWORK	# lib.sh's none: refused, as above
run "$JOBRUN" swarm-step nosuch 01234567
like "$RC/$ERR" "^2/jobrun: swarm-step: the swarm runtime's helper" "swarm-step, the helper, run wrongly: exit 2"
run "$JOBRUN" --help
unlike "$OUT" "swarm-step" "... and it is not in the help"

# ---------------------------------------------------------------- not a swarm
export DOCKER_HOST=$SOCK
start_daemon
ok $? "a swarm daemon starts on an engine that is no swarm manager"
run "$JOBRUN" status
like "$RC/$OUT" "^1/.*engine: +unreachable .*swarm manager" \
	"status: exit 1, the engine is no swarm manager, and it says so"
stop_daemon

# a port of its own: 2377, swarm's, may be another swarm's on this host
port=$((20000 + RANDOM % 20000))
d2 swarm init --advertise-addr "127.0.0.1:$port" --listen-addr "127.0.0.1:$port" >/dev/null 2>&1 ||
	diag "swarm init: $(d2 swarm init --advertise-addr "127.0.0.1:$port" --listen-addr "127.0.0.1:$port" 2>&1)"
is "$(d2 info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}')" "active true" \
	"the second dockerd is a one-node swarm, its manager"

mine() { # WHAT: this home's services, configs or containers (ps) on d2
	local id
	id=$(home_id) || return 0
	case $1 in
	ps) d2 ps -a --filter "label=jobrun.home=$id" --format '{{.Names}}' ;;
	*) d2 "$1" ls --filter "label=jobrun.home=$id" --format '{{.Name}}' ;;
	esac 2>/dev/null
}
none_left() { [ -z "$(mine service)$(mine config)$(mine ps)" ]; }
services() { mine service | wc -l; }

start_daemon --constraint 'placed:node.role==manager' --constraint 'nowhere:node.labels.jobrun-none==yes' \
	-q nowhere:1
ok $? "daemon --runtime swarm starts on the swarm's manager"
run "$JOBRUN" status --json
is "$RC/$(jq -r '.daemon.runtime' <<<"$OUT")" 0/swarm "status: runtime swarm, the engine answers, exit 0"

# ---------------------------------------------------------------- Tork's keys
cat >tork.yaml <<'EOF'
name: tork on a swarm
secrets:
  TOKEN: s3cr3t-sw4rm-t0ken
tasks:
  - name: out
    image: jobrun-test:latest
    var: a
    queue: placed
    env:
      GREETING: hello
      TOKEN: "{{ secrets.TOKEN }}"
    files:
      note.txt: from a file
    pre:
      - name: before
        image: jobrun-test:latest
        run: echo pre ran
    post:
      - name: after
        image: jobrun-test:latest
        run: echo post ran
    run: |
      echo "$GREETING in $(pwd)"
      cat note.txt; echo
      echo "token=$TOKEN"
      echo to-stderr >&2
      sleep 2
      printf "out-$GREETING\nline two" > $TORK_OUTPUT
  - name: argv
    image: jobrun-test:latest
    entrypoint: [printf]
    cmd: ["%s-%s\n", "argv", "form"]
  - name: fan
    each:
      list: "{{ sequence(1, 4) }}"
      task:
        image: jobrun-test:latest
        env:
          ITEM: "{{ item.value }}"
        run: printf "i$ITEM" > $TORK_OUTPUT
  - name: uses
    image: jobrun-test:latest
    env:
      A: "{{ tasks.a }}"
    run: printf "got-$A" | head -n 1 > $TORK_OUTPUT
EOF
id=$(submit tork.yaml)
wait_for -t 30 eval '[ "$(task_field "$id" 1 state)" = RUNNING ]'
# (a pattern that is not the secret: grep's own command line would be)
found=$(grep -l 's3cr3t-sw4rm-t0ke[n]' /proc/[0-9]*/cmdline 2>/dev/null | head -n 3)
is "$found" "" "the secret is on no process's command line while its task runs"
RUN_TIMEOUT=60 run "$JOBRUN" wait "$id"
is "$RC/$(job_state "$id")" 0/COMPLETED "a Tork job completes on the swarm"
is "$(task_field "$id" 1 result)" "out-hello
line two" "outputs: \$TORK_OUTPUT comes back through the log, whole"
is "$(job_json "$id" '.tasks[] | select(.name == "uses") | .result')" got-out-hello \
	"... and is passed on by an expression"
like "$(job_json "$id" '[.tasks[].result] | join(" ")')" "i1 i2 i3" "each: one service per item"
log1=$("$JOBRUN" logs "$id" 1)
like "$log1" "pre ran.*hello in /tork.*from a file.*token=\[REDACTED\].*post ran" \
	"pre, run (in /tork, with its files), post; the secret redacted"
like "$log1" "to-stderr" "... and what the step wrote to stderr (in no set order with stdout)"
unlike "$log1" "jobrun-[0-9a-f]{32}|line two|out-hello" "the framed result is cut out of the log"
is "$("$JOBRUN" logs "$id" 2)" "argv-form" "entrypoint and cmd: exec'd as they are"
wait_for -t 20 none_left
ok $? "no service, config or container is left of a completed job"

# ---------------------------------------------------------------- results, env
printf '#!/bin/sh\ntouch %s/pwned\nexec docker "$@"\n' "$T" >"$T/evil"
chmod +x "$T/evil"
cat >edges.yaml <<EOF
name: edges
tasks:
  - name: frames
    image: jobrun-test:latest
    env:
      JOBRUN_DOCKER: $T/evil
      JOBRUN_MARK: not-the-mark
    run: |
      printf 'no newline, '; sleep 1; printf 'then more\n'
      echo
      printf '\nfirst\n\n\nlast' > \$TORK_OUTPUT
  - name: big
    image: jobrun-test:latest
    run: head -c 1100000 /dev/zero | tr '\\\\0' x > \$TORK_OUTPUT
EOF
cat >empty.yaml <<EOF
name: empty file
tasks:
  - name: empty file
    image: jobrun-test:latest
    files:
      empty.txt: ""
    run: "true"
EOF
e=$(submit empty.yaml)
id=$(submit edges.yaml)
RUN_TIMEOUT=60 run "$JOBRUN" wait "$id" "$e"
[ ! -e "$T/pwned" ]
ok $? "a job's env JOBRUN_DOCKER is never the helper's CLI: nothing of the job ran on the host"
is "$(task_field "$id" 1 state)/$("$JOBRUN" show --json "$id" | jq -j '.tasks[0].result' | od -c | tr -s ' ')" \
	"COMPLETED/$(printf '\nfirst\n\n\nlast' | od -c | tr -s ' ')" \
	"a result with empty lines and no newline at its end comes back byte for byte (a job's JOBRUN_MARK changes nothing)"
is "$("$JOBRUN" logs "$id" 1 | od -c | tr -s ' ')" "$(printf 'no newline, then more\n\n' | od -c | tr -s ' ')" \
	"... its log: a line printed in two parts whole, its empty line kept, the frame cut out"
like "$(task_field "$id" 2 state)/$(task_field "$id" 2 error)" 'FAILED/the task wrote more than 1048576 bytes to \$TORK_OUTPUT' \
	"a result over 1 MiB: FAILED, as under docker"
like "$(task_field "$e" 1 state)/$(task_field "$e" 1 error)" \
	"FAILED/the swarm runtime \(daemon --runtime swarm\) carries files of 1 byte to 1000 KiB, as swarm configs: not empty.txt \(0 bytes\)" \
	"an empty file (no swarm config can hold it): FAILED, and why"

# ---------------------------------------------------------------- the helper
hid=$(home_id)
mkdir -p "$T/w1"
svc=jobrun-$hid-hand-1-1-0
run "$JOBRUN" swarm-step run "$hid" docker "$T/w1" "$svc" - --label=jobrun.job=hand -- jobrun-test:latest echo first
is "$RC/$OUT" "0/first" "swarm-step run: creates the service, prints its output, exits with its status"
run "$JOBRUN" swarm-step run "$hid" docker "$T/w1" "$svc" - --label=jobrun.job=hand -- jobrun-test:latest echo second
is "$RC/$OUT" "0/first" \
	"... run again with the service there (a helper that died with its daemon made it): followed, not made again"
run "$JOBRUN" swarm-step list "$hid" docker hand
is "$RC/$OUT" "0/$svc exited" "swarm-step list JOB: NAME STATE"
run "$JOBRUN" swarm-step inspect "$hid" docker "$svc"
is "$RC/$OUT" "0/exited 0" "swarm-step inspect: STATE EXIT"
run "$JOBRUN" swarm-step rm "$hid" docker "$svc"
run "$JOBRUN" swarm-step inspect "$hid" docker "$svc"
like "$RC/$ERR" "^1/jobrun: swarm: no service $svc" "swarm-step rm removes it; inspect then exits 1"

# ---------------------------------------------------------------- failures
cat >fails.yaml <<'EOF'
name: fails
tasks:
  - name: bad
    image: jobrun-test:latest
    retry:
      limit: 1
    run: echo trying; exit 3
EOF
cat >slow.yaml <<'EOF'
name: slow
tasks:
  - name: slow
    image: jobrun-test:latest
    timeout: 2s
    run: echo sleeping; sleep 60
EOF
cat >noimage.yaml <<'EOF'
name: no image
tasks:
  - name: x
    image: jobrun-test:nosuchtag
    run: "true"
EOF
cat >sidecar.yaml <<'EOF'
name: sidecar
tasks:
  - name: x
    image: jobrun-test:latest
    sidecars:
      - name: db
        image: jobrun-test:latest
        run: sleep 60
    run: "true"
EOF
a=$(submit fails.yaml) b=$(submit slow.yaml) c=$(submit noimage.yaml) d=$(submit sidecar.yaml)
RUN_TIMEOUT=60 run "$JOBRUN" wait "$a" "$b" "$c" "$d"
is "$(job_state "$a")/$(task_field "$a" 1 attempt)/$(task_field "$a" 1 exitCode)" FAILED/2/3 \
	"retry: a task that exits 3 is tried twice, then FAILED with exit code 3"
is "$("$JOBRUN" logs "$a" | grep -c trying)" 2 "... each attempt's output in the log"
is "$(job_state "$b")/$(job_json "$b" .error)" "FAILED/task 1 (slow): timed out after 2s" \
	"timeout: FAILED, timed out"
is "$(job_state "$c")" FAILED "an image the swarm does not have: FAILED"
like "$(job_json "$c" .error)" "task rejected: No such image: jobrun-test:nosuchtag" \
	"... with the swarm's reason"
is "$(job_state "$d")/$(job_json "$d" .error)" \
	"FAILED/task 1 (x): the swarm runtime (daemon --runtime swarm) runs no sidecars" \
	"sidecars: refused, and why"
wait_for -t 20 none_left
ok $? "no service, config or container is left of failed and timed-out jobs"

# ---------------------------------------------------------------- cancel, stop
cat >long.yaml <<'EOF'
name: long
tasks:
  - name: long
    image: jobrun-test:latest
    run: |
      trap 'echo got TERM; exit 143' TERM
      echo started
      sleep 60 & wait
EOF
a=$(submit long.yaml) b=$(submit long.yaml)
wait_for -t 30 eval '[[ $("$JOBRUN" logs "$a" 2>/dev/null) =~ started && $("$JOBRUN" logs "$b" 2>/dev/null) =~ started ]]'
ok $? "two long tasks run as services"
is "$(services)" 2 "... two services"
run "$JOBRUN" cancel "$a"
is "$RC/$(job_state "$a")" 0/CANCELLED "cancel: CANCELLED"
wait_for -t 30 eval '[ -z "$(mine service | grep -- "-$a-")" ]'
ok $? "... and its service is removed"
run "$JOBRUN" stop -t 1 "$b"
is "$RC/$(job_state "$b")" 0/CANCELLED "stop: CANCELLED"
is "$(job_json "$b" .error)" "stopped (SIGTERM, then SIGKILL after 10s)" \
	"... with the service's own grace, 10 s, whatever -t says"
is "$(d2 ps --filter "label=jobrun.job=$b" --format '{{.Names}}')" "" \
	"... and it returned once the task's container was gone, not only its service"
wait_for -t 10 eval '[[ $("$JOBRUN" logs "$b") =~ "got TERM" ]]'
ok $? "... the task got SIGTERM through the wrapper (its trap ran)"

# ---------------------------------------------------------------- constraints
sed 's/^    image:/    queue: nowhere\n&/' long.yaml >nowhere.yaml
a=$(submit nowhere.yaml)
wait_for -t 30 eval '[[ $("$JOBRUN" logs "$a" 2>/dev/null) =~ "no suitable node" ]]'
ok $? "a queue's --constraint no node meets: the log says no node suits"
like "$(mine service)" "-$a-1-1-0" "... and its service waits"
is "$(d2 service inspect --format '{{json .Spec.TaskTemplate.Placement.Constraints}}' "$(mine service)")" \
	'["node.labels.jobrun-none==yes"]' "... with the queue's constraint"
run "$JOBRUN" cancel "$a"
is "$RC/$(job_state "$a")" 0/CANCELLED "cancel of a task no node takes"

# ---------------------------------------------------------------- a crash
cat >crash.yaml <<'EOF'
name: crash
tasks:
  - name: c
    image: jobrun-test:latest
    run: |
      echo before
      sleep 4
      echo after
      printf done > $TORK_OUTPUT
EOF
id=$(submit crash.yaml)
wait_for -t 30 eval '[[ $("$JOBRUN" logs "$id" 2>/dev/null) =~ before ]]'
kill_daemon
is $? 137 "the daemon is killed (SIGKILL) while a service runs"
pgrep -f "swarm-step run" >/dev/null
isnt $? 0 "... its helpers died with it"
start_daemon --constraint 'placed:node.role==manager'
ok $? "a new daemon starts"
RUN_TIMEOUT=60 run "$JOBRUN" wait "$id"
is "$RC/$(job_state "$id")/$(task_field "$id" 1 result)" 0/COMPLETED/done \
	"the service is found again, followed to its end, its result read"
like "$("$JOBRUN" logs "$id")" "before.*after" "... and what it printed after the crash is logged"
wait_for -t 20 none_left
ok $? "no service, config or container is left after all this"
stop_daemon
done_testing
