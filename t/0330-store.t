#!/bin/bash
# The store fails under the daemon, by kind (jobrun(1), DAEMON LOG and
# CAVEATS):
#   busy     another program holds its write lock: the daemon waits, says so
#            (store.busy, store.free), and goes on with nothing lost;
#   full     the home's disk: the daemon pauses (store.fault, status says
#            why, its container runs on) and, once there is room again,
#            finishes the job as after a crash, no step run twice;
#   constraint  a job file taken in twice meets its own row: one job;
#   corrupt  a damaged jobrun.db: neither the daemon nor a command uses it,
#            and both say which file and what to do.
# The home is a small tmpfs of its own, so that it can be filled.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker
command -v sqlite3 >/dev/null || skip_all "no sqlite3 command (run sh t/setup)"

cd "$T" || BAIL_OUT "cd $T"
if mount -t tmpfs -o size=6m,mode=0700 jobrun-test "$JOBRUN_HOME" 2>/dev/null; then
	at_exit 'umount -l "$JOBRUN_HOME"'
	small=1
else
	small=
fi

gate_yaml >gate.yaml
cat >noisy.yaml <<'EOF'
name: noisy
tasks:
  - name: two megabytes of log
    image: jobrun-test:latest
    run: |
      printf noisy > $TORK_OUTPUT
      i=0
      while [ $i -lt 40000 ]; do
        echo "line $i of a log that is much too long for its disk"
        i=$((i + 1))
      done
EOF
moves() { # ID POS STATE: how many times the daemon logged that move
	grep -c "event=task.state job=$1 task=$2 state=$3\$" "$T/daemon.log"
}

start_daemon --listen 0
ok $? "the daemon starts"
URL=$("$JOBRUN" status --json | jq -r '.daemon.listen // empty')

# ---------------------------------------------------------------- busy
# The first task ends while sqlite3 holds the write lock for 14 s, past
# the 10 s that one try waits.
busy=$(submit gate.yaml)
wait_for gate_started "$busy"
ok $? "a job runs"
(echo 'BEGIN IMMEDIATE;'; sleep 14; echo 'COMMIT;') | sqlite3 "$JOBRUN_HOME/jobrun.db" &
holder=$!
sleep 0.5
gate_release "$busy"
wait_for -t 13 grep -q 'level=warn event=store.busy waited=' "$T/daemon.log"
ok $? "the daemon says it waits for the store (store.busy)"
daemon_alive
ok $? "... and lives"
is "$(task_field "$busy" 1 state)" RUNNING "meanwhile the store still has the task RUNNING"
wait "$holder"
RUN_TIMEOUT=30 run "$JOBRUN" wait "$busy"
is "$RC" 0 "once the lock is let go, the job completes"
is "$(task_field "$busy" 1 result)/$(task_field "$busy" 2 result)" one/two \
	"... both tasks with their results"
like "$(grep 'event=store.free' "$T/daemon.log")" 'waited=1[0-9]s' \
	"the daemon says when the store is free again, and how long it waited"
is "$(moves "$busy" 1 COMPLETED)/$(moves "$busy" 2 COMPLETED)" 1/1 \
	"each task's move to COMPLETED is logged once"

# ---------------------------------------------------------------- full
if [ -n "$small" ]; then
	full=$(submit gate.yaml)
	wait_for gate_started "$full"
	ok $? "a job runs in a home on a 6 MB disk"
	dd if=/dev/zero of="$JOBRUN_HOME/filler" bs=64k 2>/dev/null
	[ "$(df --output=avail "$JOBRUN_HOME" | tail -n 1)" -eq 0 ]
	ok $? "the disk is full"
	gate_release "$full"
	wait_for -t 20 grep -q 'level=error event=store.fault kind=full error="database or disk is full" paused=yes' \
		"$T/daemon.log"
	ok $? "the daemon cannot record that the task ended: it says so (store.fault), and pauses"
	daemon_alive
	ok $? "... and lives"
	run "$JOBRUN" status
	is "$RC" 1 "status exits 1 meanwhile"
	like "$OUT" "store: +since [0-9-]+ [0-9:]+ \\([0-9.]+m?s\\): the store cannot be written: database or disk is full; the daemon waits \\(make room on the home's disk\\)" \
		"... and says why, and what to do"
	run "$JOBRUN" status --json
	is "$(jq -r '.daemon.store | [.writable, .error] | join("/")' <<<"$OUT")" \
		"false/the store cannot be written: database or disk is full; the daemon waits (make room on the home's disk)" \
		"status --json says the same"
	COLUMNS=200 LINES=10 run "$JOBRUN" top --once
	like "$(head -n 1 <<<"$OUT")" "daemon [0-9]+, .*, paused for [0-9.]+m?s: the store cannot be written: database or disk is full" \
		"top says so in its header"
	is "$(task_field "$full" 1 state)" RUNNING "the store still has the task RUNNING"
	has_containers all
	ok $? "its container is kept"
	code=$(curl -s -o "$T/ready" -w '%{http_code}' "$URL/ready")
	is "$code $(jq -r .message "$T/ready")" "503 the store cannot be written: database or disk is full" \
		"GET /ready (daemon --listen): 503, and why"
	code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/live")
	is "$code" 200 "GET /live: 200, the daemon answers while it waits"
	code=$(curl -s -o "$T/post" -w '%{http_code}' --data-binary @gate.yaml "$URL/jobs")
	like "$code $(jq -r .message "$T/post")" "^503 cannot spool the job: " \
		"POST /jobs: 503, the spool cannot be written either"
	rm -f "$JOBRUN_HOME/filler"
	wait_for -t 20 grep -q 'level=info event=store.ok paused=' "$T/daemon.log"
	ok $? "with room again, the daemon goes on (store.ok)"
	RUN_TIMEOUT=30 run "$JOBRUN" wait "$full"
	is "$RC" 0 "the job completes"
	is "$(task_field "$full" 1 result)/$(task_field "$full" 1 attempt)/$(task_field "$full" 2 result)" \
		one/1/two "... task 1 with its result, on attempt 1 (not run again), then task 2"
	is "$(moves "$full" 1 COMPLETED)" 1 "task 1's move to COMPLETED is logged once"
	wait_for -t 15 no_containers_left
	ok $? "no container of this home is left"
	is "$(sqlite3 "$JOBRUN_HOME/jobrun.db" 'PRAGMA integrity_check')" ok "the store is whole"
	run "$JOBRUN" status
	is "$RC" 0 "status exits 0 again"

	# A task's log fills the disk: the rest of its output is dropped and
	# its record says so; the daemon goes on, and runs the next job once
	# there is room.
	dd if=/dev/zero of="$JOBRUN_HOME/filler" bs=64k 2>/dev/null
	truncate -s -256k "$JOBRUN_HOME/filler"
	noisy=$(submit noisy.yaml)
	wait_for -t 30 grep -q "event=task.log job=$noisy task=1 error=\"log truncated: No space left on device\"" \
		"$T/daemon.log"
	ok $? "a task's log fills the disk: the daemon says so (task.log)"
	rm -f "$JOBRUN_HOME/filler"
	RUN_TIMEOUT=40 run "$JOBRUN" wait "$noisy"
	is "$RC/$(task_field "$noisy" 1 result)" 0/noisy "with room again, the job completes with its result"
	is "$(task_field "$noisy" 1 logError)" "log truncated: No space left on device" \
		"its task's record says the log was cut, and why (logError)"
	like "$("$JOBRUN" show "$noisy")" "task 1 log: log truncated: No space left on device" "show says it too"
	daemon_alive
	ok $? "the daemon lives"
	after=$(submit gate.yaml)
	wait_for gate_started "$after" && gate_release "$after"
	RUN_TIMEOUT=30 run "$JOBRUN" wait "$after"
	is "$RC" 0 "the next job runs"
else
	skip 27 "cannot mount a tmpfs here (not root?)"
fi

# ---------------------------------------------------------------- constraint
# A job file ingested again (a crash between the commit and the unlink)
# meets the job's own row: the id is unique, so it is not a second job.
stop_daemon
is $? 0 "the daemon stops on SIGTERM"
again=$(submit gate.yaml)
cp -p "$JOBRUN_HOME"/spool/new/*"$again"* "$T/"
start_daemon
wait_for gate_started "$again" && gate_release "$again"
RUN_TIMEOUT=30 run "$JOBRUN" wait "$again"
is "$RC" 0 "a job completes"
njobs=$("$JOBRUN" ls --json | jq length)
cp -p "$T"/*"$again"*.job "$JOBRUN_HOME/spool/new/"
wait_for -t 10 spool_empty
ok $? "its file, spooled again, is taken in"
is "$("$JOBRUN" ls --json | jq length)/$(job_state "$again")" "$njobs/COMPLETED" \
	"... as the job it already is: no second job, its state as it was"
is "$(moves "$again" 1 RUNNING)" 1 "its task ran once"
stop_daemon
is $? 0 "the daemon stops on SIGTERM"

# ---------------------------------------------------------------- corrupt
cp "$JOBRUN_HOME/jobrun.db" "$T/saved.db"
rm -f "$JOBRUN_HOME/jobrun.db-wal" "$JOBRUN_HOME/jobrun.db-shm"
printf 'this is no database %.0s' 1 2 3 4 5 | dd of="$JOBRUN_HOME/jobrun.db" conv=notrunc 2>/dev/null
cp "$JOBRUN_HOME/jobrun.db" "$T/damaged.db"
RUN_TIMEOUT=20 run "$JOBRUN" daemon
is "$RC" 1 "a daemon does not start on a damaged store (exit 1)"
like "$ERR" "^jobrun: $JOBRUN_HOME/jobrun\\.db: file is not a database; it is damaged: keep a copy, and recover it with 'sqlite3 jobrun\\.db \\.recover' or move it away" \
	"... and says which file, and what to do"
run "$JOBRUN" ls
is "$RC" 1 "ls on a damaged store exits 1"
like "$ERR" "jobrun\\.db: file is not a database; it is damaged" "... saying so"
cmp -s "$JOBRUN_HOME/jobrun.db" "$T/damaged.db"
ok $? "the damaged file is left as it was"
cp "$T/saved.db" "$JOBRUN_HOME/jobrun.db"
start_daemon
ok $? "with the store put back, a daemon starts"
is "$(job_state "$busy")" COMPLETED "... and the jobs are there"
stop_daemon
done_testing
