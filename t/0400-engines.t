#!/bin/bash
# Several engines (daemon -q QUEUE:N@ENGINE): a queue's tasks run on a second
# dockerd of the test's own, its other queues on the usual one.  Everything of
# such a task (run, logs, retry, timeout, cancel, stop, each, reattach after a
# crash, the engine going away) talks to that engine, and one engine that goes
# away holds up its own queues only.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker
cd "$T" || BAIL_OUT "cd $T"
d2_init
ok $? "a second dockerd answers on its own socket, with the test image"

mine() { # ENGINE-CMD: names of this home's containers on that engine
	local id
	id=$(home_id) || return 0
	"$@" ps -a --filter "label=jobrun.home=$id" --format '{{.Names}}' 2>/dev/null
}
none_on_d2() { [ -z "$(mine d2)" ]; }

# ---------------------------------------------------------------- bad -q
for bad in 'two:2@tcp:/x' 'two:2@a b' 'two:2@-ctx' 'two:2@' 'two:2@ftp://h' \
	"two:2@unix://rel/sock" "two:2@$(printf 'c%.0s' {1..300})"; do
	run "$JOBRUN" daemon -q "$bad"
	is "$RC" 2 "daemon -q '${bad:0:24}': exit 2 (usage)"
	like "$ERR" "jobrun: -q .*is not an engine: " "... saying it is not an engine, and why"
done
run "$JOBRUN" daemon -q 'two:0@ctx'
like "$RC/$ERR" "^2/jobrun: -q takes QUEUE:N\[@ENGINE\], N from 1 to 10000, not 'two:0@ctx'" \
	"a bad count with an engine: exit 2, the form in the message"
run "$JOBRUN" daemon -q two:1 -q "two:2@$SOCK"
like "$RC/$ERR" "^2/jobrun: -q two:2@$SOCK: queue two is given twice" "a queue given twice: exit 2"
for order in 1 2; do
	if [ $order = 1 ]; then
		run "$JOBRUN" daemon --allow-bind "$D" -q "two:2@$SOCK"
	else
		run "$JOBRUN" daemon -q "two:2@$SOCK" --allow-bind "$D"
	fi
	like "$RC/$ERR" "^2/jobrun: --allow-bind $D: never allowed: it is or holds the socket of an engine of -q" \
		"--allow-bind of the directory of an engine's socket ($order of 2 orders): exit 2"
done
daemon_alive
isnt $? 0 "no daemon started from a bad -q"

# ---------------------------------------------------------------- a queue on d2
start_daemon -q "two:2@$SOCK" -q "a:b:3"
ok $? "a daemon starts with -q two:2@$SOCK (and a queue name with a colon)"
run "$JOBRUN" status --json
is "$(jq -r '.daemon.engines.two' <<<"$OUT")" "$SOCK" "status --json: .daemon.engines names the queue's engine"
run "$JOBRUN" status
like "$OUT" "queue two runs on $SOCK" "status says where queue two runs"
like "$OUT" "queues: +two:2 a:b:3;" "... and the caps, the colon name whole"

# gate_yaml's task 1 on queue two, its task 2 on the usual engine
gate_yaml | sed '0,/^    image:/s//    queue: two\n&/' >gate.yaml
grep -c 'queue: two' gate.yaml | grep -qx 1 || BAIL_OUT "gate.yaml: $(cat gate.yaml)"
id=$(submit gate.yaml)
wait_for gate_started "$id"
ok $? "a task of queue two runs"
like "$(mine d2)" "^jobrun-[0-9a-f]{8}-$id-1-1-0$" "... in a container on the second engine"
is "$(mine "$DOCKER")" "" "... and none on the usual one"
gate_release "$id"
RUN_TIMEOUT=30 run "$JOBRUN" wait "$id"
is "$RC/$(task_field "$id" 1 result)/$(task_field "$id" 2 result)" 0/one/two \
	"the job completes: task 1's output read back from d2, task 2 ran on the usual engine"
like "$("$JOBRUN" logs "$id" 1)" "started.*ended" "its log is the d2 container's output"
wait_for -t 15 none_on_d2
ok $? "the finished container is removed from d2"
unlike "$(cat "$T/daemon.log")" "event=engine.down" "no engine was ever found down"

# ---------------------------------------------------------------- Tork-style jobs on d2
cat >tork.yaml <<'EOF'
name: tork on two
defaults:
  queue: two
tasks:
  - name: first
    image: jobrun-test:latest
    run: printf first > $TORK_OUTPUT
  - name: fan
    each:
      list: "{{ sequence(1, 4) }}"
      task:
        image: jobrun-test:latest
        env:
          ITEM: "{{ item.value }}"
        run: printf "item-$ITEM" > $TORK_OUTPUT
EOF
id=$(submit tork.yaml)
RUN_TIMEOUT=60 run "$JOBRUN" wait "$id"
is "$RC/$(job_state "$id")" 0/COMPLETED "a job whose defaults.queue is two completes (each: 3 tasks on d2)"
like "$(job_json "$id" '[.tasks[].result] | join(" ")')" "item-1.*item-2.*item-3" "... with each item's output"

cat >fails.yaml <<'EOF'
name: fails on two
tasks:
  - name: three times
    image: jobrun-test:latest
    queue: two
    retry:
      limit: 2
    run: exit 3
EOF
id=$(submit fails.yaml)
RUN_TIMEOUT=60 run "$JOBRUN" wait "$id"
is "$RC/$(job_state "$id")/$(task_field "$id" 1 attempt)/$(task_field "$id" 1 exitCode)" 4/FAILED/3/3 \
	"retry on d2: three attempts, exit code 3 read from there"

cat >slow.yaml <<'EOF'
name: slow on two
tasks:
  - name: times out
    image: jobrun-test:latest
    queue: two
    timeout: 1s
    run: sleep 60
EOF
id=$(submit slow.yaml)
RUN_TIMEOUT=40 run "$JOBRUN" wait "$id"
like "$RC/$(job_state "$id")/$(task_field "$id" 1 error)" "^4/FAILED/timed out after 1s" \
	"timeout on d2: the container is killed there"
wait_for -t 15 none_on_d2
ok $? "... and removed"

cat >long.yaml <<'EOF'
name: long on two
tasks:
  - name: sleeps
    image: jobrun-test:latest
    queue: two
    run: |
      echo up
      trap 'echo got TERM; exit 0' TERM
      sleep 60 & wait
EOF
id=$(submit long.yaml)
wait_for eval '[ -n "$(mine d2)" ] && [[ $("$JOBRUN" logs "$id" 1 2>/dev/null) =~ up ]]'
ok $? "a long task runs on d2"
run "$JOBRUN" cancel "$id"
is "$RC/$(job_state "$id")" 0/CANCELLED "cancel: CANCELLED"
wait_for -t 15 none_on_d2
ok $? "... its container on d2 is gone"

id=$(submit long.yaml)
wait_for eval '[ -n "$(mine d2)" ] && [[ $("$JOBRUN" logs "$id" 1 2>/dev/null) =~ up ]]'
RUN_TIMEOUT=30 run "$JOBRUN" stop -t 5 "$id"
is "$RC/$(job_state "$id")" 0/CANCELLED "stop -t 5: CANCELLED"
is "$(mine d2)" "" "stop returned once the container on d2 was gone"
like "$("$JOBRUN" logs "$id" 1)" "got TERM" "... having sent it SIGTERM there"

# ---------------------------------------------------------------- a crash
id=$(submit gate.yaml)
wait_for gate_started "$id"
kill_daemon
is $? 137 "the daemon is killed (SIGKILL) while a task runs on d2"
start_daemon -q "two:2@$SOCK"
ok $? "a new daemon starts"
wait_for grep -q "event=task.reattach job=$id task=1 attempt=1" "$T/daemon.log"
ok $? "it reattaches to the container on d2 (task.reattach)"
gate_release "$id"
RUN_TIMEOUT=30 run "$JOBRUN" wait "$id"
is "$RC/$(task_field "$id" 1 attempt)/$(task_field "$id" 1 result)" 0/1/one \
	"the job completes, task 1 in its first attempt"
like "$("$JOBRUN" logs "$id" 1)" "started.*ended" "... its log whole across the crash"

# ---------------------------------------------------------------- d2 goes away
cat >quick.yaml <<'EOF'
name: quick
tasks:
  - name: here
    image: jobrun-test:latest
    run: printf here > $TORK_OUTPUT
EOF
cat >there.yaml <<'EOF'
name: there
tasks:
  - name: there
    image: jobrun-test:latest
    queue: two
    run: |
      echo up
      sleep 2
      printf there > $TORK_OUTPUT
EOF
t1=$(submit there.yaml)
wait_for eval '[[ $("$JOBRUN" logs "$t1" 1 2>/dev/null) =~ up ]]'
d2_kill
ok $? "d2 is killed while a task runs on it"
wait_for -t 30 grep -q "event=task.requeue job=$t1 task=1 attempt=1 reason=engine" "$T/daemon.log"
ok $? "its task goes back to PENDING (task.requeue)"
like "$(grep 'event=engine.down' "$T/daemon.log")" "event=engine.down error=\".+\" engine=$SOCK" \
	"engine.down names d2"
t2=$(submit there.yaml)
q=$(submit quick.yaml)
RUN_TIMEOUT=30 run "$JOBRUN" wait "$q"
is "$RC/$(job_state "$q")" 0/COMPLETED "a job of the usual engine completes meanwhile"
is "$(job_state "$t2")/$(task_field "$t2" 1 state)" PENDING/PENDING "a new job of queue two waits"
run "$JOBRUN" status
is "$RC" 1 "status exits 1 while d2 is away"
like "$OUT" "engine: +unreachable since .*$SOCK: " "... and names it"
run "$JOBRUN" status --json
is "$(jq -r '.daemon.engine.reachable' <<<"$OUT")" false "status --json: not reachable"
grep -v 'queue: two' long.yaml >long0.yaml
l0=$(submit long0.yaml)
wait_for eval '[[ $("$JOBRUN" logs "$l0" 1 2>/dev/null) =~ up ]]'
RUN_TIMEOUT=20 run "$JOBRUN" stop -t 1 "$l0"
is "$RC/$(job_state "$l0")" 0/CANCELLED "stop of a job of the usual engine: it waits on its own engine, not on d2"

d2_start
ok $? "d2 is started again"
wait_for -t 40 grep -q "event=engine.up down=[0-9]*s engine=$SOCK" "$T/daemon.log"
ok $? "the daemon finds it back (engine.up)"
RUN_TIMEOUT=40 run "$JOBRUN" wait "$t1" "$t2"
is "$RC/$(task_field "$t1" 1 result)/$(task_field "$t2" 1 result)" 0/there/there \
	"both jobs of queue two complete"
is "$(task_field "$t1" 1 attempt)" 2 "... the lost one in its second attempt"
run "$JOBRUN" status
is "$RC" 0 "status exits 0 again"
unlike "$OUT" "unreachable" "... no engine unreachable"

stop_daemon
is $? 0 "the daemon stops on SIGTERM"

# ---------------------------------------------------------------- a context
CTX=jr-d2-$$
"$DOCKER" context create "$CTX" --docker "host=$SOCK" >/dev/null 2>&1
ok $? "a docker context names d2"
at_exit '"$DOCKER" context rm -f "$CTX" >/dev/null 2>&1'
start_daemon -q "ctx:1@$CTX"
ok $? "a daemon starts with -q ctx:1@$CTX"
sed 's/queue: two/queue: ctx/' there.yaml >ctx.yaml
id=$(submit ctx.yaml)
wait_for eval '[[ $("$JOBRUN" logs "$id" 1 2>/dev/null) =~ up ]]'
like "$(mine d2)" "-$id-1-1-0" "a task of queue ctx runs on d2, reached through the context"
RUN_TIMEOUT=30 run "$JOBRUN" wait "$id"
is "$RC/$(task_field "$id" 1 result)" 0/there "... and completes"
stop_daemon
is $? 0 "the daemon stops on SIGTERM"
is "$(mine d2)$(mine "$DOCKER")" "" "no container of this home is left on either engine"
done_testing
