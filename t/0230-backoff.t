#!/bin/bash
# Retry with backoff: retry: {limit, initialDelay, scalingFactor} on a task or
# under defaults: attempt k+1 starts no sooner than
# initialDelay * scalingFactor^(k-1) after attempt k failed.  Bad values are
# rejected at submit (exit 3, file:line:col).  The wait survives a daemon
# restart; a job waiting for its retry can be cancelled or stopped, and the
# retry never runs.
#
# Each attempt logs the host's uptime (/proc/uptime: one clock for host and
# containers) as it starts and just before it fails.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"

# ---------------------------------------------------------------- bad values
bad() { # RETRY-LINE WANT-ERR-REGEX DESC
	printf 'name: bad retry\ntasks:\n  - image: jobrun-test:latest\n    run: "true"\n    retry:\n      limit: 1\n      %s\n' "$1" >bad.yaml
	run "$JOBRUN" submit bad.yaml
	is "$RC" 3 "$3: submit exits 3"
	like "$ERR" "$2" "$3: the error names file:line:col, the field and the value"
}
F='must be a number from 1 to 100, such as 2 or 1\.5'
bad "scalingFactor: 0.5" "^bad\.yaml:7:22: tasks\[0\]\.retry\.scalingFactor: $F, not '0\.5'\$" "scalingFactor 0.5"
bad "scalingFactor: 0" "^bad\.yaml:7:22: tasks\[0\]\.retry\.scalingFactor: $F, not '0'\$" "scalingFactor 0"
bad "scalingFactor: 101" "^bad\.yaml:7:22: tasks\[0\]\.retry\.scalingFactor: $F, not '101'\$" "scalingFactor 101"
bad "scalingFactor: fast" "^bad\.yaml:7:22: tasks\[0\]\.retry\.scalingFactor: $F, not 'fast'\$" "scalingFactor fast"
bad "initialDelay: soon" "^bad\.yaml:7:21: tasks\[0\]\.retry\.initialDelay: invalid duration 'soon'" "initialDelay soon"
bad "initialDelay: -1s" "^bad\.yaml:7:21: tasks\[0\]\.retry\.initialDelay: invalid duration '-1s'" "initialDelay -1s"
bad "initialDelay: 5" "^bad\.yaml:7:21: tasks\[0\]\.retry\.initialDelay: invalid duration '5'" "initialDelay 5 (no unit)"
cat >bad-defaults.yaml <<'EOF'
name: bad defaults
defaults:
  retry:
    scalingFactor: 0.5
tasks:
  - image: jobrun-test:latest
    run: "true"
EOF
run "$JOBRUN" submit bad-defaults.yaml
is "$RC" 3 "defaults.retry.scalingFactor 0.5: submit exits 3"
like "$ERR" "^bad-defaults\.yaml:4:20: defaults\.retry\.scalingFactor: $F, not '0\.5'\$" \
	"defaults.retry.scalingFactor 0.5: the error names the field under defaults"
is "$(spooled)" 0 "no rejected job was spooled"
n=0
for v in "scalingFactor: 1" "scalingFactor: 100" "scalingFactor: 1.5" "initialDelay: 0s" "initialDelay: 1500ms"; do
	printf 'name: good retry\ntasks:\n  - image: jobrun-test:latest\n    run: "true"\n    retry:\n      limit: 1\n      %s\n' "$v" >good.yaml
	"$JOBRUN" submit good.yaml >/dev/null 2>&1 && n=$((n + 1))
done
is "$n" 5 "scalingFactor 1, 100, 1.5 and initialDelay 0s, 1500ms are accepted"

# ---------------------------------------------------------------- the delays
# ATTEMPT lines: "start UPTIME" and "end UPTIME"
cat >scaled.yaml <<'EOF'
name: scaled
tasks:
  - name: fails
    image: jobrun-test:latest
    retry:
      limit: 2
      initialDelay: 1s
      scalingFactor: 3
    run: |
      read up _ </proc/uptime; echo "start $up"
      read up _ </proc/uptime; echo "end $up"
      exit 1
EOF
cat >defaults.yaml <<'EOF'
name: defaults
defaults:
  retry:
    limit: 2
    initialDelay: 1s
    scalingFactor: 1.5
tasks:
  - name: fails
    image: jobrun-test:latest
    run: |
      read up _ </proc/uptime; echo "start $up"
      read up _ </proc/uptime; echo "end $up"
      exit 1
EOF
cat >long.yaml <<'EOF'
name: long wait
tasks:
  - name: fails once
    image: jobrun-test:latest
    retry:
      limit: 1
      initialDelay: 30s
    run: |
      echo attempt
      exit 1
  - name: never
    image: jobrun-test:latest
    run: echo never
EOF
cat >persist.yaml <<'EOF'
name: persist
tasks:
  - name: fails
    image: jobrun-test:latest
    retry:
      limit: 1
      initialDelay: 4s
    run: |
      read up _ </proc/uptime; echo "start $up"
      read up _ </proc/uptime; echo "end $up"
      exit 1
EOF

# gaps LOG: the gaps, in ms, between each attempt's end and the next one's start
gaps() {
	awk '/^start /{ if (e != "") printf "%s%d", sep, ($2 - e) * 1000 + 0.5; sep = " " } /^end /{ e = $2 }' "$1"
}
retry_lines() { # JOB: the daemon's task.retry lines, "attempt=N delay=Dms" each
	grep "event=task.retry job=$1 " "$T/daemon.log" | sed 's/.* \(attempt=[0-9]* delay=[0-9]*ms\).*/\1/' | paste -sd' '
}

start_daemon -q default:8 || BAIL_OUT "the daemon does not start"
sc=$(submit scaled.yaml)
df=$(submit defaults.yaml)
lc=$(submit long.yaml)
ls=$(submit long.yaml)
RUN_TIMEOUT=40 run "$JOBRUN" wait "$sc" "$df"
is "$RC" 4 "scaled, defaults: both jobs FAILED in the end"
is "$(task_field "$sc" 1 attempt)/$(task_field "$df" 1 attempt)" 3/3 "scaled, defaults: 3 attempts each (limit 2)"

read -r g1 g2 rest <<<"$(gaps "$JOBRUN_HOME/logs/$sc/1.log")"
note "scaled: gaps ${g1:-?} ms, ${g2:-?} ms"
ok $(( ${g1:-0} >= 900 ? 0 : 1 )) "scaled: attempt 2 started >= 0.9 s after attempt 1 failed (${g1:-?} ms; initialDelay 1s)"
ok $(( ${g2:-0} >= 2700 ? 0 : 1 )) "scaled: attempt 3 started >= 2.7 s after attempt 2 failed (${g2:-?} ms; 1s * 3)"
is "${rest:-}" "" "scaled: no fourth attempt"
is "$(retry_lines "$sc")" "attempt=2 delay=1000ms attempt=3 delay=3000ms" \
	"scaled: the daemon logs the delays 1000ms and 3000ms"

read -r g1 g2 rest <<<"$(gaps "$JOBRUN_HOME/logs/$df/1.log")"
note "defaults: gaps ${g1:-?} ms, ${g2:-?} ms"
ok $(( ${g1:-0} >= 900 ? 0 : 1 )) "defaults: attempt 2 started >= 0.9 s after attempt 1 failed (${g1:-?} ms)"
ok $(( ${g2:-0} >= 1350 ? 0 : 1 )) "defaults: attempt 3 started >= 1.35 s after attempt 2 failed (${g2:-?} ms; 1s * 1.5)"
is "$(retry_lines "$df")" "attempt=2 delay=1000ms attempt=3 delay=1500ms" \
	"defaults: the daemon logs the delays 1000ms and 1500ms"

# ---------------------------------------------------------------- waiting for a retry: cancel, stop
wait_for -t 20 eval 'grep -q "event=task.retry job=$lc " "$T/daemon.log" && grep -q "event=task.retry job=$ls " "$T/daemon.log"'
ok $? "long: both jobs wait 30 s for their retry"
is "$(job_state "$lc")/$(task_field "$lc" 1 state)/$(task_field "$lc" 1 attempt)" RUNNING/PENDING/1 \
	"long: the job RUNNING, its task PENDING after attempt 1"
RUN_TIMEOUT=20 run "$JOBRUN" cancel "$lc"
is "$RC/$(job_state "$lc")" 0/CANCELLED "long: cancel while it waits: exit 0, CANCELLED"
t0=$SECONDS
RUN_TIMEOUT=40 run "$JOBRUN" stop -t 5 "$ls"
is "$RC/$(job_state "$ls")" 0/CANCELLED "long: stop while it waits: exit 0, CANCELLED"
ok $((SECONDS - t0 < 15 ? 0 : 1)) "long: stop returned without waiting for the retry"
is "$(job_json "$ls" .error)" "stopped (SIGTERM, then SIGKILL after 5s)" "long: the stopped job's error"

# ---------------------------------------------------------------- the wait survives a daemon restart
ps=$(submit persist.yaml)
wait_for -t 20 grep -q "event=task.retry job=$ps " "$T/daemon.log"
ok $? "persist: attempt 1 failed, the retry waits 4 s"
kill_daemon
start_daemon -q default:8 || BAIL_OUT "the daemon does not restart"
RUN_TIMEOUT=40 run "$JOBRUN" wait "$ps"
is "$RC/$(task_field "$ps" 1 attempt)" 4/2 "persist: after a daemon restart attempt 2 ran, and the job FAILED"
read -r g1 rest <<<"$(gaps "$JOBRUN_HOME/logs/$ps/1.log")"
ok $(( ${g1:-0} >= 3600 ? 0 : 1 )) "persist: attempt 2 started >= 3.6 s after attempt 1 failed, across the restart (${g1:-?} ms)"

# the jobs that waited never ran their retry
sleep 1
is "$(grep -c attempt "$JOBRUN_HOME/logs/$lc/1.log")/$(grep -c attempt "$JOBRUN_HOME/logs/$ls/1.log")" 1/1 \
	"long: the cancelled and the stopped job never ran attempt 2"
is "$(task_field "$lc" 1 attempt)/$(task_field "$ls" 1 attempt)" 1/1 "long: their tasks stay at attempt 1"

stop_daemon
is $? 0 "the daemon exits 0"
done_testing
