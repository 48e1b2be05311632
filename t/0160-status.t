#!/bin/bash
# jobrun status: a health check.  Exit 0 only while a daemon runs; it shows
# the pid, uptime, heartbeat age, runtime, the queue caps, and per queue the
# running and pending tasks.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"

run "$JOBRUN" status
is "$RC" 1 "no daemon: status exits 1"
like "$OUT" "daemon: +not running; start one with 'jobrun daemon'" "no daemon: says so, and what to do"
run "$JOBRUN" status --json
is "$RC/$(jq -c '{home, daemon, queues}' <<<"$OUT")" \
	"1/{\"home\":\"$JOBRUN_HOME\",\"daemon\":{\"running\":false},\"queues\":[]}" \
	"no daemon: status --json says so, exit 1"

run "$JOBRUN" status extra
is "$RC" 2 "status takes no argument (exit 2)"

start_daemon -q q2:1 -q default:3
cat >busy.yaml <<'EOF2'
name: busy
tasks:
  - image: jobrun-test:latest
    queue: q2
    cmd: [sleep, "4"]
EOF2
a=$(submit busy.yaml)
b=$(submit busy.yaml)
wait_for eval '[ "$(task_field "$a" 1 state)" = RUNNING ]'
ok $? "a task of q2 runs"

run "$JOBRUN" status
is "$RC" 0 "with a daemon: status exits 0"
like "$OUT" "daemon: +running, pid $DAEMON_PID, up [0-9.]+(ms|s), heartbeat [0-9.]+(ms|s) ago" \
	"it shows the pid, the uptime and the heartbeat age"
like "$OUT" "runtime: +docker" "it shows the runtime"
like "$OUT" "queues: +q2:1 default:3; other queues [0-9]+ at once" "it shows the queue caps"
like "$OUT" "q2 +1 +1" "q2: one running, one pending (cap 1)"
like "$OUT" "engine: +answers" "the engine answers"
run "$JOBRUN" status --json
is "$RC" 0 "status --json exits 0"
is "$(jq -r '[.daemon.running, .daemon.pid, .daemon.runtime, .daemon.engine.reachable,
	(.daemon.startedAt | test("^[0-9-]+T[0-9:.]+Z$")), (.daemon.heartbeatAt | length > 0)] | join(" ")' <<<"$OUT")" \
	"true $DAEMON_PID docker true true true" "status --json: running, pid, runtime, engine reachable, times"
is "$(jq -c '.queues[] | select(.name == "q2")' <<<"$OUT")" '{"name":"q2","running":1,"pending":1}' \
	"status --json: q2, one running, one pending"

# The heartbeat goes on: its age stays small while the daemon lives.
sleep 3
run "$JOBRUN" status
like "$OUT" "heartbeat ([0-9]+ms|[0-4]\\.[0-9]s) ago" "the heartbeat is refreshed (under 5s old, refreshed every 2s)"

run "$JOBRUN" wait "$a" "$b"
is "$RC" 0 "both jobs complete"
stop_daemon
run "$JOBRUN" status
is "$RC" 1 "after the daemon stopped: exit 1 again"

done_testing
