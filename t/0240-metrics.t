#!/bin/bash
# jobrun metrics: the store in Prometheus' text format.  It passes promtool,
# says jobrun_up 1 only while a daemon runs, counts jobs and tasks by state
# as the store has them, counts started/failed/retried task attempts, keeps a
# cumulative task duration histogram, and works on an empty home (all zero).
# daemon --metrics-file PATH rewrites the same text every few seconds, whole
# (renamed into place: no half file, no temp file left), mode 0644.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"

have_promtool=0
command -v promtool >/dev/null 2>&1 && have_promtool=1
promtool_ok() { # FILE: promtool check metrics FILE (skipped without promtool)
	local out
	if [ "$have_promtool" = 0 ]; then
		skip 1 "promtool is not installed (t/setup installs it)"
		return
	fi
	out=$(promtool check metrics <"$1" 2>&1)
	ok $? "$2" || diag "$out"
}
setup_ok() { # STATUS DESC: a precondition, not a check: silent when met, "not ok" when not
	[ "$1" = 0 ] || fail "setup: $2"
}
metric() { # TEXT NAME{LABELS}: the value of one sample (empty when absent)
	printf '%s\n' "$1" | awk -v n="$2" '$1 == n { print $2; exit }'
}
# Every sample line (not comments) of TEXT, the heartbeat left out: it moves.
samples() {
	printf '%s\n' "$1" | grep -v '^#' | grep -v '^jobrun_daemon_heartbeat_timestamp_seconds '
}

# ---------------------------------------------------------------- usage errors
run "$JOBRUN" metrics extra
like "$RC $ERR" "^2 .*usage: jobrun metrics" "metrics takes no argument (exit 2, its usage)"
run "$JOBRUN" metrics --json
like "$RC $ERR" "^2 .*usage: jobrun metrics" "metrics takes no option (exit 2, its usage)"
run "$JOBRUN" daemon --metrics-file ''
like "$RC $ERR" "^2 jobrun: --metrics-file takes a file name, not ''" "daemon --metrics-file '': a usage error (exit 2) saying what it takes"
run "$JOBRUN" daemon --metrics-file "$T/"
like "$RC $ERR" "^2 jobrun: --metrics-file takes a file name, not '$T/'" "daemon --metrics-file DIR/: a usage error (exit 2)"

# ---------------------------------------------------------------- an empty home
run "$JOBRUN" metrics
is "$RC" 0 "an empty home: metrics exits 0"
printf '%s\n' "$OUT" >empty.prom
promtool_ok empty.prom "an empty home: promtool check metrics passes"
is "$(metric "$OUT" jobrun_up)" 0 "an empty home: jobrun_up 0"
is "$(metric "$OUT" 'jobrun_jobs{state="COMPLETED"}')" 0 "an empty home: jobrun_jobs{state=COMPLETED} 0"
is "$(samples "$OUT" | grep -c '^jobrun_jobs{state="[A-Z]*"} 0$')" 6 "an empty home: all six job states named, each 0"
is "$(samples "$OUT" | grep -c '^jobrun_tasks{state="[A-Z]*"} 0$')" 8 "an empty home: all eight task states named, each 0"
is "$(metric "$OUT" jobrun_tasks_started_total)" 0 "an empty home: jobrun_tasks_started_total 0"
is "$(metric "$OUT" jobrun_task_duration_seconds_count)" 0 "an empty home: jobrun_task_duration_seconds_count 0"
is "$(samples "$OUT" | awk '$2 != 0' | wc -l)" 0 "an empty home: every sample is 0"
run "$JOBRUN" metrics
is "$RC:$(count_files "$JOBRUN_HOME")" 0:0 "metrics on an empty home exits 0 and writes nothing there"

# ---------------------------------------------------------------- a daemon with a metrics file
mkdir -m 755 prom
MF=$T/prom/jobrun.prom
start_daemon --metrics-file "$MF" || BAIL_OUT "the daemon does not start"

cat >ok.yaml <<'EOF2'
name: fine
tasks:
  - image: jobrun-test:latest
    run: echo -n fine > $TORK_OUTPUT
EOF2
cat >bad.yaml <<'EOF2'
name: flaky
tasks:
  - image: jobrun-test:latest
    run: exit 3
    retry:
      limit: 1
EOF2
cat >slow.yaml <<'EOF2'
name: slow
tasks:
  - image: jobrun-test:latest
    queue: slowq
    cmd: [sleep, "30"]
EOF2
a=$(submit ok.yaml)
b=$(submit bad.yaml)
run "$JOBRUN" wait "$a"
setup_ok $(( RC != 0 )) "the good job COMPLETED"
run "$JOBRUN" wait "$b"
setup_ok $(( RC != 4 )) "the flaky job FAILED"
[ "$(task_field "$b" 1 attempt)" = 2 ]
setup_ok $? "... after 2 attempts (retry.limit 1)"

run "$JOBRUN" metrics
is "$RC" 0 "with a daemon: metrics exits 0"
M=$OUT
printf '%s\n' "$M" >two.prom
promtool_ok two.prom "with jobs: promtool check metrics passes"
is "$(metric "$M" jobrun_up)" 1 "jobrun_up 1 while the daemon runs"
beat=$(metric "$M" jobrun_daemon_heartbeat_timestamp_seconds)
now=$(date +%s)
awk -v b="$beat" -v n="$now" 'BEGIN { exit !(b > n - 60 && b < n + 60) }'
ok $? "jobrun_daemon_heartbeat_timestamp_seconds is now, in seconds ($beat)"

# jobs and tasks by state, as the store has them
ls_json=$("$JOBRUN" ls --json)
for s in PENDING SCHEDULED RUNNING COMPLETED FAILED CANCELLED; do
	want=$(printf '%s\n' "$ls_json" | jq --arg s "$s" '[.[] | select(.state == $s)] | length')
	is "$(metric "$M" "jobrun_jobs{state=\"$s\"}")" "$want" "jobrun_jobs{state=$s} is $want, as ls --json says"
done
is "$(metric "$M" 'jobrun_jobs{state="COMPLETED"}')" 1 "one job COMPLETED"
is "$(metric "$M" 'jobrun_jobs{state="FAILED"}')" 1 "one job FAILED"
is "$(metric "$M" 'jobrun_tasks{state="COMPLETED"}')" 1 "one task COMPLETED"
is "$(metric "$M" 'jobrun_tasks{state="FAILED"}')" 1 "one task FAILED"
is "$(metric "$M" jobrun_tasks_started_total)" 3 "jobrun_tasks_started_total 3 (1 + 2 attempts)"
is "$(metric "$M" jobrun_tasks_retried_total)" 1 "jobrun_tasks_retried_total 1"
is "$(metric "$M" jobrun_tasks_failed_total)" 1 "jobrun_tasks_failed_total 1 (retries spent)"

# the histogram: buckets non-decreasing, +Inf equal to _count, _count the ended tasks
buckets=$(printf '%s\n' "$M" | awk '/^jobrun_task_duration_seconds_bucket\{/ { print $2 }')
nb=$(printf '%s\n' "$buckets" | grep -c .)
ok $(( nb >= 2 ? 0 : 1 )) "the histogram has buckets ($nb)"
printf '%s\n' "$buckets" | awk 'NR > 1 && $1 < prev { bad = 1 } { prev = $1 } END { exit bad }'
ok $? "the buckets are cumulative (never decreasing): $(tr '\n' ' ' <<<"$buckets")"
cnt=$(metric "$M" jobrun_task_duration_seconds_count)
is "$cnt" 2 "jobrun_task_duration_seconds_count 2: the two tasks that ended"
is "$(metric "$M" 'jobrun_task_duration_seconds_bucket{le="+Inf"}')" "$cnt" "the +Inf bucket equals _count"
sum=$(metric "$M" jobrun_task_duration_seconds_sum)
awk -v s="$sum" 'BEGIN { exit !(s > 0) }'
ok $? "jobrun_task_duration_seconds_sum is above 0 ($sum)"
le=$(printf '%s\n' "$M" | sed -n 's/^jobrun_task_duration_seconds_bucket{le="\([0-9.e+]*\)"}.*/\1/p' | tr '\n' ' ')
tr ' ' '\n' <<<"${le% }" | sort -g -c 2>/dev/null
ok $? "the bucket bounds ascend ($le)"

# a running task shows in its queue
c=$(submit slow.yaml)
wait_for eval '[ "$(task_field "$c" 1 state)" = RUNNING ]'
setup_ok $? "a slow task runs"
run "$JOBRUN" metrics
is "$(metric "$OUT" 'jobrun_queue_running{queue="slowq"}')" 1 "jobrun_queue_running{queue=slowq} 1"
is "$(metric "$OUT" 'jobrun_queue_pending{queue="slowq"}')" 0 "jobrun_queue_pending{queue=slowq} 0"
is "$(metric "$OUT" 'jobrun_jobs{state="RUNNING"}')" 1 "jobrun_jobs{state=RUNNING} 1"
run "$JOBRUN" cancel "$c"
wait_for job_is "$c" CANCELLED
setup_ok $? "the slow job is cancelled"

# ---------------------------------------------------------------- the metrics file
# Rewritten every 5 s: within a generous 15 s it has the same samples as
# `jobrun metrics` (the heartbeat aside).
same_as_metrics() {
	[ -f "$MF" ] || return 1
	[ "$(samples "$(cat "$MF")")" = "$(samples "$("$JOBRUN" metrics)")" ]
}
wait_for -t 15 same_as_metrics
ok $? "--metrics-file: the file has the same samples as 'jobrun metrics'"
is "$(stat -c %a "$MF")" 644 "the file is mode 0644"
promtool_ok "$MF" "the file passes promtool check metrics"
is "$(ls -A prom)" jobrun.prom "no temp file is left next to it"
# Replaced, never rewritten in place: a new inode each time, and a reader
# polling it never sees a half-written file.
ino1=$(stat -c %i "$MF")
halves=0 reads=0 end=$((SECONDS + 7))
while [ "$SECONDS" -lt "$end" ]; do
	txt=$(cat "$MF" 2>/dev/null)
	reads=$((reads + 1))
	case $txt in *'jobrun_task_duration_seconds_count '[0-9]*) ;; *) halves=$((halves + 1)) ;; esac
	sleep 0.02
done
ino2=$(stat -c %i "$MF")
isnt "$ino2" "$ino1" "after 7 s the file is a new one (renamed into place)"
is "$halves" 0 "none of $reads reads saw a partial file"
is "$(ls -A prom)" jobrun.prom "still no temp file left"

# ---------------------------------------------------------------- the daemon gone
stop_daemon
run "$JOBRUN" metrics
is "$RC" 0 "without a daemon: metrics exits 0"
is "$(metric "$OUT" jobrun_up)" 0 "jobrun_up 0 once the daemon stopped"
is "$(metric "$OUT" 'jobrun_jobs{state="COMPLETED"}')" 1 "the store's counts are still there"
is "$(metric "$OUT" jobrun_tasks_started_total)" 4 "jobrun_tasks_started_total 4 (with the slow one)"

done_testing
