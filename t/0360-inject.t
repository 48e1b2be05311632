#!/bin/bash
# Writes and syncs that fail: t/inject.so (LD_PRELOAD) makes write or
# fsync return EIO or ENOSPC on the files named in a control file, while
# it exists (usage at the top of t/inject.c).  Each fault is said where
# the user looks, nothing is lost, and work goes on once it is gone:
#   store EIO     a task ends while the store cannot be written: the daemon
#                 pauses (store.fault kind=io, status), its container runs
#                 on; after, the job completes, the task run once;
#   store ENOSPC  a job spooled meanwhile waits in the spool (spool.retry),
#                 then runs;
#   log EIO, log ENOSPC
#                 the task's log is cut: its record says why (logError,
#                 show), the job completes with its result;
#   fsync EIO     of the metrics file: metrics.write says so, the file is
#                 written again once fsync works;
#   submit ENOSPC the spool cannot take the job: submit exits 1 saying why,
#                 and leaves no file behind.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker
INJ=$TD/inject.so
[ -x "$INJ" ] || [ -f "$INJ" ] || BAIL_OUT "$INJ is not built (run make t/inject.so)"

cd "$T" || BAIL_OUT "cd $T"
CTL=$T/inject COUNT=$T/injected
# The daemon of a SAN=1 build has ASan's runtime linked in; it must not
# insist on being first in the list of preloaded libraries.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

inject() { # LINE...: faults on (one control line per argument)
	printf '%s\n' "count $COUNT" "$@" >"$CTL.tmp" && mv "$CTL.tmp" "$CTL"
}
cured() { rm -f "$CTL"; }
injected() { # ERE: how many failed calls ("ERRNO CALL PATH" lines) match ERE
	local n
	n=$(grep -cE -- "$1" "$COUNT" 2>/dev/null)
	echo "${n:-0}"
}

gate_yaml >gate.yaml
cat >talk.yaml <<'EOF'
name: talk
tasks:
  - name: talks
    image: jobrun-test:latest
    run: |
      printf said > $TORK_OUTPUT
      i=0
      while [ $i -lt 200 ]; do echo "line $i"; i=$((i + 1)); done
EOF
moves() { grep -c "event=task.state job=$1 task=$2 state=$3\$" "$T/daemon.log"; }

mkdir "$T/metrics"
JOBRUN_INJECT=$CTL LD_PRELOAD=$INJ start_daemon --metrics-file "$T/metrics/jobrun.prom"
ok $? "the daemon starts with t/inject.so preloaded"

# ---------------------------------------------------------------- store EIO
job=$(submit gate.yaml)
wait_for gate_started "$job"
ok $? "a job runs"
inject "jobrun.db EIO write"
gate_release "$job"
wait_for -t 20 grep -q 'level=error event=store.fault kind=io error="disk I/O error" paused=yes' "$T/daemon.log"
ok $? "the task ends, the store cannot be written (EIO): the daemon says so (store.fault kind=io), and pauses"
n=$(injected '^EIO (p?write(64)?|writev) .*/jobrun\.db')
[ "$n" -gt 0 ]
ok $? "... as writes to the store failed with EIO ($n calls)"
daemon_alive
ok $? "the daemon lives"
run "$JOBRUN" status
is "$RC" 1 "status exits 1 meanwhile"
like "$OUT" "store: +since .*: the store cannot be written: disk I/O error" "... and says why"
is "$(task_field "$job" 1 state)" RUNNING "the store still has the task RUNNING"
cured
wait_for -t 20 grep -q 'level=info event=store.ok paused=' "$T/daemon.log"
ok $? "once writes work again, the daemon goes on (store.ok)"
RUN_TIMEOUT=30 run "$JOBRUN" wait "$job"
is "$RC" 0 "the job completes"
is "$(task_field "$job" 1 result)/$(task_field "$job" 1 attempt)/$(moves "$job" 1 COMPLETED)" one/1/1 \
	"... with its result, on attempt 1, its move to COMPLETED logged once"
run "$JOBRUN" status
is "$RC" 0 "status exits 0 again"

# ---------------------------------------------------------------- store ENOSPC at ingest
inject "jobrun.db ENOSPC write"
late=$(submit gate.yaml)
wait_for -t 20 grep -q "level=warn event=spool.retry file=[^ ]*$late[^ ]* error=\"database or disk is full\"" "$T/daemon.log"
ok $? "a job spooled while the store is full waits in the spool (spool.retry says why)"
is "$(spooled)" 1 "... its file is kept"
daemon_alive
ok $? "the daemon lives"
cured
wait_for -t 30 gate_started "$late"
ok $? "once there is room, the job is taken in and runs"
gate_release "$late"
RUN_TIMEOUT=30 run "$JOBRUN" wait "$late"
is "$RC/$(task_field "$late" 1 result)" 0/one "... and completes with its result"

# ---------------------------------------------------------------- logs
for e in EIO:"Input/output error" ENOSPC:"No space left on device"; do
	errno=${e%%:*} msg=${e#*:}
	inject "/logs/ $errno write"
	said=$(submit talk.yaml)
	RUN_TIMEOUT=30 run "$JOBRUN" wait "$said"
	is "$RC/$(task_field "$said" 1 result)" 0/said "log $errno: the job completes with its result"
	cured
	is "$(task_field "$said" 1 logError)" "log truncated: $msg" "... its task's record says the log was cut, and why (logError)"
	like "$("$JOBRUN" show "$said")" "task 1 log: log truncated: $msg" "... show says it"
	grep -q "event=task.log job=$said task=1 error=\"log truncated: $msg\"" "$T/daemon.log"
	ok $? "... and the daemon's log (task.log)"
done
daemon_alive
ok $? "the daemon lives"

# ---------------------------------------------------------------- fsync
wait_for -t 10 test -s "$T/metrics/jobrun.prom"
ok $? "the daemon writes its metrics file"
inject "jobrun.prom EIO sync"
wait_for -t 15 grep -q 'level=error event=metrics.write error=".*jobrun\.prom\.tmp: Input/output error"' "$T/daemon.log"
ok $? "an fsync that fails (EIO) is said (metrics.write), not taken for a write that worked"
[ "$(injected '^EIO f(data)?sync .*jobrun\.prom')" -gt 0 ]
ok $? "... as fsync failed"
ls -A "$T/metrics" | grep -q '\.tmp$'
is $? 1 "... and no temporary file is left"
cured
newer() { [ "$(stat -c %Y "$T/metrics/jobrun.prom")" -gt "$1" ]; }
before=$(stat -c %Y "$T/metrics/jobrun.prom")
wait_for -t 15 newer "$before"
ok $? "once fsync works, the file is written again"
daemon_alive
ok $? "the daemon lives"

# ---------------------------------------------------------------- submit
printf '%s\n' "/spool/ ENOSPC write" >"$CTL"
n=$(count_files "$JOBRUN_HOME/spool/new")
run env JOBRUN_INJECT="$CTL" LD_PRELOAD="$INJ" "$JOBRUN" submit gate.yaml
cured
is "$RC" 1 "submit exits 1 when the spool's disk is full"
like "$ERR" "^jobrun: .*/spool/tmp/[^ ]*: No space left on device" "... and says which file, and why"
is "$(count_files "$JOBRUN_HOME/spool/new")/$(count_files "$JOBRUN_HOME/spool/tmp")" "$n/0" "... and leaves no file behind"

stop_daemon
is $? 0 "the daemon stops on SIGTERM"
done_testing
