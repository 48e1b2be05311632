#!/bin/bash
# Unique jobs: `submit --unique` (or `unique: true` in the job file) refuses a
# job of the same name and inputs as one still PENDING, SCHEDULED or RUNNING,
# in the spool or in the store: it prints the twin's id on stdout ({"id":..,
# "duplicate":true} with --json), says why on stderr and exits 7.  Other
# inputs, a finished twin, or a submit without --unique are accepted; a bad
# `unique:` is an invalid job file; unique submits at once find one twin; the
# daemon's log names the submitting uid.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"
ID='^[0-9a-f]{12}$'
DUP='of the same name and inputs is still pending or running; not submitted'

# The daemon names who asked by the spool file's owner, as the kernel says:
# here, us (a caller that claims another uid is refused: t/0310).
CALLER=$(id -u)
as_caller() { "$@"; }

cat >u.yaml <<'EOF'
name: unique job
inputs:
  x: "1"
tasks:
  - name: sleep
    image: jobrun-test:latest
    run: sleep 60
EOF
# same name and inputs, other tasks; unique in the file
cat >file-unique.yaml <<'EOF'
name: unique job
unique: true
inputs:
  x: "1"
tasks:
  - name: other
    image: jobrun-test:latest
    run: echo another body
EOF
cat >file-not-unique.yaml <<'EOF'
name: unique job
unique: false
inputs:
  x: "1"
tasks:
  - name: other
    image: jobrun-test:latest
    run: sleep 60
EOF
cat >bad-unique.yaml <<'EOF'
name: unique job
unique: maybe
tasks:
  - image: jobrun-test:latest
    run: "true"
EOF
cat >noinputs.yaml <<'EOF'
name: inputs by -i
tasks:
  - image: jobrun-test:latest
    run: sleep 60
EOF
cat >race.yaml <<'EOF'
name: race
tasks:
  - image: jobrun-test:latest
    run: sleep 60
EOF
cat >quick.yaml <<'EOF'
name: quick
unique: true
tasks:
  - image: jobrun-test:latest
    run: echo -n done > $TORK_OUTPUT
EOF
cat >failing.yaml <<'EOF'
name: failing
unique: true
tasks:
  - image: jobrun-test:latest
    run: exit 1
EOF
cat >later.yaml <<'EOF'
name: later
tasks:
  - image: jobrun-test:latest
    run: "true"
EOF

# ---------------------------------------------------------------- invalid
run "$JOBRUN" submit bad-unique.yaml
is "$RC" 3 "unique: maybe: an invalid job file (exit 3)"
is "$ERR" "bad-unique.yaml:2:9: unique: must be true or false" "... the error names file:line:col"
is "$(spooled)" 0 "... nothing was spooled"

# ---------------------------------------------------------------- twins in the spool (no daemon yet)
a=$(submit --unique u.yaml)
like "$a" "$ID" "spool: the first --unique submit is accepted"
run "$JOBRUN" submit --unique u.yaml
is "$RC" 7 "spool: the same job again with --unique exits 7"
is "$OUT" "$a" "spool: ... and prints the twin's id on stdout"
is "$ERR" "jobrun: job $a $DUP" "spool: ... and says why on stderr"
is "$(spooled)" 1 "spool: ... and spools nothing"

run "$JOBRUN" submit --unique --json u.yaml
is "$RC/$OUT" "7/{\"id\":\"$a\",\"duplicate\":true}" "spool: --json: exit 7, {\"id\":ID,\"duplicate\":true}"

run "$JOBRUN" submit --unique -i x=1 u.yaml
is "$RC/$OUT" "7/$a" "spool: -i x=1 (the file's own value): the same inputs, a twin"

run "$JOBRUN" submit file-unique.yaml
is "$RC/$OUT" "7/$a" "spool: unique: true in the file, same name and inputs: exit 7 with the twin's id"
is "$ERR" "jobrun: job $a $DUP" "spool: ... and the same message"

run "$JOBRUN" submit --unique -i x=2 u.yaml
b=$OUT
is "$RC" 0 "spool: other inputs (-i x=2): accepted"
like "$b" "$ID" "spool: ... with an id of its own" && isnt "$b" "$a" "spool: ... not the twin's"
unlike "$ERR" "$DUP" "spool: ... no duplicate message"
run "$JOBRUN" submit --unique --json -i x=3 u.yaml
like "$RC/$OUT" '^0/\{"id":"[0-9a-f]{12}"\}$' "spool: --json, accepted: {\"id\":ID} without duplicate"

run "$JOBRUN" submit u.yaml
notuniq=$OUT
is "$RC" 0 "spool: the same job without --unique: accepted"
isnt "$notuniq" "$a" "spool: ... as a new job"
run "$JOBRUN" submit file-not-unique.yaml
notuniq2=$OUT
is "$RC" 0 "spool: unique: false in the file: accepted"

# Inputs are a mapping: their order does not make them different.
i1=$(submit --unique -i a=1 -i b=2 noinputs.yaml)
like "$i1" "$ID" "order: -i a=1 -i b=2 accepted"
run "$JOBRUN" submit --unique -i b=2 -i a=1 noinputs.yaml
is "$RC/$OUT" "7/$i1" "order: -i b=2 -i a=1 (the same inputs in another order): a twin, exit 7"
run "$JOBRUN" submit --unique -i a=1 -i b=3 noinputs.yaml
is "$RC" 0 "order: -i a=1 -i b=3: other inputs, accepted"

# Six unique submits of one job at once: one is accepted, five find it.
for k in 1 2 3 4 5 6; do
	( "$JOBRUN" submit --unique race.yaml >"$T/race.$k.out" 2>/dev/null; echo $? >"$T/race.$k.rc" ) &
done
wait
rcs=$(cat "$T"/race.*.rc | sort | tr '\n' ' ')
is "$rcs" "0 7 7 7 7 7 " "race: six unique submits at once: one exits 0, five exit 7"
is "$(sort -u "$T"/race.*.out | wc -l)" 1 "race: ... and all six print the same id"
is "$("$JOBRUN" ls --json | jq '[.[] | select(.name == "race")] | length')" 1 "race: ... one race job exists"

# ---------------------------------------------------------------- twins in the store
start_daemon -q default:16 || BAIL_OUT "the daemon does not start"
wait_for -t 20 job_is "$a" RUNNING
ok $? "store: the first job runs"
wait_for -t 10 eval '[ "$(spooled)" = 0 ]'
ok $? "store: the spool is empty"
run "$JOBRUN" submit --unique u.yaml
is "$RC/$OUT" "7/$a" "store: a RUNNING twin: exit 7 with its id"
is "$ERR" "jobrun: job $a $DUP" "store: ... and the message"
t0=$SECONDS
RUN_TIMEOUT=20 run "$JOBRUN" submit --unique --wait u.yaml
is "$RC/$OUT" "7/$a" "store: --unique --wait on a running twin: exit 7 with its id"
ok $((SECONDS - t0 < 15 ? 0 : 1)) "store: ... at once, without waiting for the twin"

s=$(submit --unique --in 1h later.yaml)
like "$s" "$ID" "scheduled: a delayed unique job is accepted"
wait_for -t 10 job_is "$s" SCHEDULED
ok $? "scheduled: it is SCHEDULED in the store"
run "$JOBRUN" submit --unique later.yaml
is "$RC/$OUT" "7/$s" "scheduled: a SCHEDULED twin: exit 7 with its id"

# finished twins: COMPLETED, FAILED, CANCELLED
q1=$(submit --wait quick.yaml)
is "$(job_state "$q1")" COMPLETED "finished: the quick job COMPLETED"
run "$JOBRUN" submit --wait quick.yaml
isnt "$OUT" "$q1" "finished: a COMPLETED twin does not count: a new job"
is "$RC/$(job_state "$OUT")" 0/COMPLETED "finished: ... which runs"
f1=$(submit --wait failing.yaml)
is "$(job_state "$f1")" FAILED "finished: the failing job FAILED"
run "$JOBRUN" submit failing.yaml
is "$RC" 0 "finished: a FAILED twin does not count: accepted"
isnt "$OUT" "$f1" "finished: ... as a new job"

RUN_TIMEOUT=30 run "$JOBRUN" cancel "$a" "$notuniq" "$notuniq2" "$s"
is "$RC" 0 "cancelled: the x=1 twins and the delayed job are cancelled"
run "$JOBRUN" submit --unique u.yaml
d=$OUT
is "$RC" 0 "cancelled: with the twins CANCELLED, the unique job is accepted"
like "$d" "$ID" "cancelled: ... with a new id" && isnt "$d" "$a" "cancelled: ... not the old one"
run "$JOBRUN" submit --unique later.yaml
is "$RC" 0 "cancelled: the delayed job CANCELLED: accepted again"

# ---------------------------------------------------------------- uid in the daemon's log
u=$(as_caller "$JOBRUN" submit --unique -i x=9 u.yaml 2>/dev/null)
like "$u" "$ID" "uid: submitted as uid $CALLER"
wait_for -t 10 grep -q "event=job.state job=$u state=PENDING" "$T/daemon.log"
line=$(grep "event=job.state job=$u state=PENDING" "$T/daemon.log")
like "$line" " uid=$CALLER\$" "uid: the daemon's line for the submitted job ends with uid=$CALLER"
wait_for -t 10 job_is "$u" RUNNING
line=$(grep "event=job.state job=$u state=RUNNING" "$T/daemon.log")
like "$line" "job=$u state=RUNNING\$" "uid: a line no request caused (the job starts) has no uid"

# ---------------------------------------------------------------- clean up
# shellcheck disable=SC2046
RUN_TIMEOUT=30 run "$JOBRUN" cancel $("$JOBRUN" ls --json |
	jq -r '.[] | select(.state == "PENDING" or .state == "RUNNING" or .state == "SCHEDULED") | .id')
# (a quick one may end between ls and cancel: cancel's status says nothing)
all_final() { "$JOBRUN" ls --json | jq -e '[.[] | select(.state == "PENDING" or .state == "RUNNING" or .state == "SCHEDULED")] | length == 0' >/dev/null; }
wait_for -t 20 all_final
ok $? "every job still running is cancelled"
stop_daemon
is $? 0 "the daemon exits 0"
done_testing
