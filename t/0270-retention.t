#!/bin/bash
# Retention: autoDelete: {after: D} deletes a COMPLETED job (rows, logs) that
# long after it completed, never a FAILED or CANCELLED one; jobrun prune
# [--older-than D] [--state S] deletes ended jobs on demand, through the
# daemon or, without one, by itself under the home's lock, never a job that
# is still RUNNING; daemon --log-max SIZE caps each task log with one note.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"

listed() { # ID: true when ls --json lists the job
	"$JOBRUN" ls --json -n 100000 | jq -e --arg i "$1" 'any(.[]; .id == $i)' >/dev/null
}
gone() { # ID: the job is deleted: show exits 6, ls does not list it, logs/ID is gone
	"$JOBRUN" show "$1" >/dev/null 2>&1
	[ $? = 6 ] && ! listed "$1" && [ ! -e "$JOBRUN_HOME/logs/$1" ]
}
njobs() { "$JOBRUN" ls --json -n 100000 | jq length; }
nstate() { "$JOBRUN" ls --json -n 100000 | jq --arg s "$1" '[.[] | select(.state == $s)] | length'; }
ms_of() { date -d "$1" +%s%3N; }
usage_err() { # REGEX DESC: the last run exited 2 and its stderr starts with REGEX
	like "$RC $ERR" "^2 $1" "$2"
}
setup_ok() { # STATUS DESC: a precondition, not a check: silent when met, "not ok" when not
	[ "$1" = 0 ] || fail "setup: $2"
}

cat >ok.yaml <<'EOF2'
name: keepme
tasks:
  - image: jobrun-test:latest
    run: echo -n kept > $TORK_OUTPUT
EOF2
cat >auto.yaml <<'EOF2'
name: autodel
autoDelete:
  after: 2s
tasks:
  - image: jobrun-test:latest
    run: |
      echo a line for the log
      echo -n bye > $TORK_OUTPUT
EOF2
cat >autofail.yaml <<'EOF2'
name: autofail
autoDelete:
  after: 2s
tasks:
  - image: jobrun-test:latest
    run: echo failing; exit 5
EOF2
cat >autocancel.yaml <<'EOF2'
name: autocancel
autoDelete:
  after: 2s
tasks:
  - image: jobrun-test:latest
    cmd: [sleep, "60"]
EOF2
cat >fail.yaml <<'EOF2'
name: failing
tasks:
  - image: jobrun-test:latest
    run: exit 2
EOF2
cat >long.yaml <<'EOF2'
name: long
tasks:
  - image: jobrun-test:latest
    cmd: [sleep, "60"]
EOF2
cat >big.yaml <<'EOF2'
name: big
tasks:
  - image: jobrun-test:latest
    run: |
      yes "$(printf '%099d' 7)" | head -n 1000
      echo -n printed > $TORK_OUTPUT
EOF2
cat >small.yaml <<'EOF2'
name: small
tasks:
  - image: jobrun-test:latest
    run: |
      for i in 1 2 3 4 5 6 7 8 9 10; do echo "small line $i"; done
EOF2

# ---------------------------------------------------------------- usage errors
run "$JOBRUN" prune --state RUNNING
usage_err "jobrun: --state takes COMPLETED, FAILED or CANCELLED, not 'RUNNING'" "prune --state RUNNING: a usage error (exit 2) saying which states it takes"
run "$JOBRUN" prune --state bogus
usage_err "jobrun: --state takes COMPLETED, FAILED or CANCELLED, not 'bogus'" "prune --state bogus: exit 2"
run "$JOBRUN" prune --older-than x
usage_err "jobrun: --older-than takes a duration such as 168h or 30m, not 'x'" "prune --older-than x: exit 2, saying it takes a duration"
run "$JOBRUN" prune extra
usage_err "jobrun: unexpected argument 'extra'"$'\n'"usage: jobrun prune" "prune takes no argument (exit 2)"
run "$JOBRUN" daemon --log-max 10
usage_err "jobrun: --log-max takes a size of at least 1k, such as 10m, not '10'" "daemon --log-max 10 (too small): exit 2, saying the least size"
run "$JOBRUN" daemon --log-max lots
usage_err "jobrun: --log-max takes a size of at least 1k, such as 10m, not 'lots'" "daemon --log-max lots: exit 2"
cat >badauto.yaml <<'EOF2'
name: badauto
autoDelete:
  after: soon
tasks:
  - image: jobrun-test:latest
    run: "true"
EOF2
run "$JOBRUN" submit badauto.yaml
like "$RC $(spooled) $ERR" "^3 0 badauto\\.yaml:3:10: autoDelete\\.after: " "autoDelete.after that is no duration: exit 3, FILE:LINE:COL: autoDelete.after: ..."

run "$JOBRUN" prune
is "$RC $OUT" "0 deleted 0 jobs" "prune on an empty home, no daemon: exit 0, deleted 0 jobs"

start_daemon --log-max 4k || BAIL_OUT "the daemon does not start"

# ---------------------------------------------------------------- autoDelete
# The FAILED and CANCELLED ones end first: when the COMPLETED one goes, their
# time is up too.
af=$(submit autofail.yaml)
ac=$(submit autocancel.yaml)
run "$JOBRUN" wait "$af"
setup_ok $(( RC != 4 )) "the autoDelete job that fails is FAILED"
wait_for eval '[ "$(task_field "$ac" 1 state)" = RUNNING ]'
run "$JOBRUN" cancel "$ac"
wait_for job_is "$ac" CANCELLED
setup_ok $? "the autoDelete job that is cancelled is CANCELLED"
sleep 0.5
ad=$(submit auto.yaml)
keep=$(submit ok.yaml)
run "$JOBRUN" wait "$ad" "$keep"
setup_ok "$RC" "the autoDelete job and a plain one COMPLETED"
adone=$(ms_of "$(job_json "$ad" .completedAt)")
[ -d "$JOBRUN_HOME/logs/$ad" ]
setup_ok $? "the autoDelete job has its logs/ID at first"
wait_for -t 20 gone "$ad"
ok $? "autoDelete after 2s: the COMPLETED job is deleted (show: exit 6, not in ls, logs/ID gone)"
tgone=$(date +%s%3N)
ok $(( tgone - adone >= 2000 ? 0 : 1 )) "... no sooner than 2 s after it completed ($(( tgone - adone )) ms)"
run "$JOBRUN" logs "$ad"
is "$RC" 6 "logs of the deleted job: exit 6"
grep -q "event=job.delete job=$ad" "$T/daemon.log"
ok $? "the daemon logs event=job.delete for it"
is "$(job_state "$af")" FAILED "the FAILED job with the same autoDelete stays"
[ -d "$JOBRUN_HOME/logs/$af" ]
ok $? "... with its logs"
is "$(job_state "$ac")" CANCELLED "the CANCELLED one stays too"
is "$(job_state "$keep")" COMPLETED "a COMPLETED job without autoDelete stays"
sleep 5.5	# one more expiry pass
listed "$af"
ok $? "the FAILED one is still listed one pass later"

# ---------------------------------------------------------------- --log-max
bg=$(submit big.yaml)
sm=$(submit small.yaml)
run "$JOBRUN" wait "$bg" "$sm"
setup_ok "$RC" "a task printing 100 KB and a small one COMPLETED under --log-max 4k"
is "$(task_field "$bg" 1 result)" printed "the big task ran to its end"
"$JOBRUN" logs "$bg" >big.log
total=$(wc -c <big.log)
is "$(grep -c 'jobrun: this log reached --log-max' big.log)" 1 "its log has one --log-max note"
like "$(tail -n 1 big.log)" '^\[jobrun: this log reached --log-max 4K?[^]]*\]$' "... as its last line"
body=$(grep -v 'jobrun: this log reached --log-max' big.log | wc -c)
ok $(( body >= 3072 && body <= 4608 ? 0 : 1 )) "the log keeps about 4 KB of the 100 KB ($body bytes; $total with the note)"
grep -v 'jobrun: this log reached --log-max' big.log | head -n 1 | grep -qx '0*7'
ok $? "... from the start of the output"
run "$JOBRUN" logs "$sm"
is "$(grep -c '^small line' <<<"$OUT")" 10 "a small log is whole"
unlike "$OUT" "log-max" "... with no note"

# ---------------------------------------------------------------- prune with a daemon
fl=$(submit fail.yaml)
run "$JOBRUN" wait "$fl"
setup_ok $(( RC != 4 )) "another job FAILED"
lg=$(submit long.yaml)
wait_for eval '[ "$(job_state "$lg")" = RUNNING ]'
setup_ok $? "a long job is RUNNING"
n0=$(njobs)
run "$JOBRUN" prune --older-than 1h
is "$RC $OUT" "0 deleted 0 jobs" "prune --older-than 1h: exit 0, deletes nothing recent"
is "$(njobs)" "$n0" "... all $n0 jobs are there"
[ "$(nstate FAILED)" = 2 ]
setup_ok $? "two FAILED jobs"
run "$JOBRUN" prune --state FAILED
is "$RC $OUT" "0 deleted 2 jobs" "prune --state FAILED: exit 0, deleted 2 jobs"
is "$(nstate FAILED)" 0 "no FAILED job left"
gone "$af" && gone "$fl"
ok $? "... both gone, with their logs"
is "$(job_state "$keep")" COMPLETED "the COMPLETED ones stay"
is "$(job_state "$ac")" CANCELLED "the CANCELLED one stays"
nfin=$(( $(nstate COMPLETED) + $(nstate CANCELLED) ))
run "$JOBRUN" prune
is "$RC $OUT" "0 deleted $nfin jobs" "prune: exit 0, deleted $nfin jobs (every ended one)"
is "$(njobs)" 1 "one job left"
is "$(job_state "$lg")" RUNNING "... the RUNNING one, never deleted"
gone "$keep" && gone "$ac" && gone "$bg"
ok $? "the ended ones are gone, with their logs"
grep -q "event=jobs.prune deleted=$nfin" "$T/daemon.log"
ok $? "the daemon logs event=jobs.prune deleted=$nfin"

# ---------------------------------------------------------------- prune without a daemon
c2=$(submit ok.yaml)
f2=$(submit fail.yaml)
run "$JOBRUN" wait "$c2" "$f2"
setup_ok $(( RC != 4 )) "one more COMPLETED and one more FAILED job"
kill_daemon	# (the long job stays RUNNING in the store)
[ "$(job_state "$lg")" = RUNNING ]
setup_ok $? "the daemon is gone (killed); the long job is still RUNNING in the store"
run "$JOBRUN" prune --older-than 1h
is "$RC $OUT $(spooled)" "0 deleted 0 jobs 0" "no daemon: prune --older-than 1h exits 0, deletes nothing recent (and spools nothing)"
run "$JOBRUN" prune --state COMPLETED
is "$RC $OUT $(spooled)" "0 deleted 1 job 0" "no daemon: prune --state COMPLETED exits 0, deleted 1 job (itself: nothing spooled)"
gone "$c2"
ok $? "... the COMPLETED one"
is "$(job_state "$f2")" FAILED "... not the FAILED one"
run "$JOBRUN" prune
is "$RC $OUT $(spooled)" "0 deleted 1 job 0" "no daemon: prune exits 0, deleted 1 job"
gone "$f2"
ok $? "... the FAILED one"
is "$(job_state "$lg")" RUNNING "the RUNNING job is still there"
start_daemon --log-max 4k
ok $? "a daemon starts after prune: it let go of the home's lock"
run "$JOBRUN" cancel "$lg"
wait_for job_is "$lg" CANCELLED
setup_ok $? "the long job can still be cancelled"

done_testing
