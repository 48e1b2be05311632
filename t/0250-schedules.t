#!/bin/bash
# Cron schedules: a job file with schedule: {cron} (or submit --cron EXPR)
# becomes a schedule; each firing makes an ordinary job linked to it
# (scheduleId; show SCHEDID lists its recent runs).  jobrun schedules lists
# them; schedule pause|resume|rm.  A firing while the last run still goes on
# is skipped and logged; a daemon that was down over several firings makes
# one catch-up run, not one per missed firing.  Bad crons are refused.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"
NL=$'\n'

# jobs of schedule S, oldest first, as JSON (from ls --json)
runs_json() {
	"$JOBRUN" ls --json -n 1000 | jq -c --arg s "$1" '[.[] | select(.scheduleId == $s)] | sort_by(.createdAt)'
}
nruns() { runs_json "$1" | jq length; }
# a field of schedule S in `schedules --json`
sched_field() {
	"$JOBRUN" schedules --json | jq -r --arg s "$1" ".[] | select(.id == \$s) | .$2 // empty"
}
ms_of() { # an RFC 3339 time with milliseconds -> ms since the epoch
	date -d "$1" +%s%3N
}
refused() { # RC REGEX DESC: the last run exited RC, left nothing in the spool, and its stderr starts with REGEX
	like "$RC $(spooled) $ERR" "^$1 0 $2" "$3"
}
setup_ok() { # STATUS DESC: a precondition, not a check: silent when met, "not ok" when not
	[ "$1" = 0 ] || fail "setup: $2"
}

cat >tick.yaml <<'EOF2'
name: tick
secrets:
  token: zz-tick-secret-4711
schedule:
  cron: "*/2 * * * * *"
tasks:
  - image: jobrun-test:latest
    env:
      TOK: "{{ secrets.token }}"
    run: echo "log $TOK"; echo -n "tock $TOK" > $TORK_OUTPUT
EOF2
cat >plain.yaml <<'EOF2'
name: plain
tasks:
  - image: jobrun-test:latest
    run: echo -n plain > $TORK_OUTPUT
EOF2
cat >slow.yaml <<'EOF2'
name: slowtick
schedule:
  cron: "*/2 * * * * *"
tasks:
  - image: jobrun-test:latest
    queue: slow
    cmd: [sleep, "5"]
EOF2

# ---------------------------------------------------------------- bad input
cat >badcron.yaml <<'EOF2'
name: badcron
schedule:
  cron: "*/2 * * *"
tasks:
  - image: jobrun-test:latest
    run: "true"
EOF2
run "$JOBRUN" submit badcron.yaml
refused 3 "badcron\\.yaml:3:9: schedule\\.cron: invalid cron expression '\\*/2 \\* \\* \\*': " \
	"an invalid cron in the file: exit 3, FILE:LINE:COL: schedule.cron: naming the expression"
cat >nocron.yaml <<'EOF2'
name: nocron
schedule: {}
tasks:
  - image: jobrun-test:latest
    run: "true"
EOF2
run "$JOBRUN" submit nocron.yaml
refused 3 "nocron\\.yaml:2:11: schedule: missing required field 'cron'$" "schedule: without cron: exit 3, FILE:LINE:COL: saying cron is missing"
cat >never.yaml <<'EOF2'
name: never
schedule:
  cron: "0 0 30 2 *"
tasks:
  - image: jobrun-test:latest
    run: "true"
EOF2
run "$JOBRUN" submit never.yaml
refused 3 "never\\.yaml:3:9: schedule\\.cron: '0 0 30 2 \\*' never fires \\(no such time in the next five years\\)$" \
	"a cron that never fires (30 February) in the file: exit 3, FILE:LINE:COL: saying so"
run "$JOBRUN" submit --cron '0 0 31 4 *' plain.yaml
refused 2 "jobrun: --cron: '0 0 31 4 \\*' never fires" "--cron that never fires (31 April): exit 2"
run "$JOBRUN" submit --cron 'bad' plain.yaml
refused 2 "jobrun: --cron: invalid expression 'bad'" "--cron 'bad': a usage error (exit 2) naming the expression"
run "$JOBRUN" submit --cron '61 * * * * *' plain.yaml
refused 2 "jobrun: --cron: invalid expression '61 " "--cron with second 61: exit 2"
run "$JOBRUN" submit --cron '*/2 * * * * *' --wait plain.yaml
refused 2 "jobrun: a schedule \\(--cron or schedule:\\) runs at its firings: it takes no --wait, --at or --in" \
	"--cron with --wait: exit 2, a schedule takes no --wait"
run "$JOBRUN" submit --cron '*/2 * * * * *' --at 23:59 plain.yaml
refused 2 ".*it takes no --wait, --at or --in" "--cron with --at: exit 2"
run "$JOBRUN" submit --in 1h tick.yaml
refused 2 ".*it takes no --wait, --at or --in" "schedule: in the file with --in: exit 2"
run "$JOBRUN" schedule bogus 0123456789ab
refused 2 "jobrun: expected pause, resume or rm" "schedule bogus ID: a usage error (exit 2) naming the operations"
run "$JOBRUN" schedule pause
refused 2 "jobrun: expected at least one schedule id" "schedule pause without an id: exit 2"
run "$JOBRUN" schedules extra
refused 2 "jobrun: unexpected argument 'extra'"$'\n'"usage: jobrun schedules" "schedules takes no argument (exit 2)"
run "$JOBRUN" schedules
is "$RC" 0 "schedules on an empty home: exit 0"
like "$OUT" "^ID +NAME +CRON +STATE +NEXT +LAST +RUNS +SKIPS$" "... just the header"
run "$JOBRUN" schedules --json
is "$OUT" "[]" "schedules --json on an empty home: []"

start_daemon -q slow:10 || BAIL_OUT "the daemon does not start"

run "$JOBRUN" schedule pause deadbeef0123
refused 6 "jobrun: no schedule matches 'deadbeef0123'$" "schedule pause of an unknown id: exit 6, saying no schedule matches"

# ---------------------------------------------------------------- every 2 s, and skip
t0=$(date +%s%3N)
run "$JOBRUN" submit tick.yaml
is "$RC" 0 "submit of a job file with schedule: exits 0"
S=$OUT
like "$S" '^[0-9a-f]{12}$' "... and prints the schedule id"
L=$(submit slow.yaml)
like "$L" '^[0-9a-f]{12}$' "the slow schedule (a 5 s task every 2 s) is in too"

wait_for -t 10 eval '[ -n "$(sched_field "$S" state)" ]'
ok $? "the daemon took the schedule in"
run "$JOBRUN" schedules
like "$OUT" "(^|$NL)$S +tick +\\*/2 \\* \\* \\* \\* \\* +ACTIVE +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} " \
	"schedules lists it: id, name, cron, ACTIVE, its next run"
like "$(sched_field "$S" nextAt)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "schedules --json has its nextAt"

# THE check of issue 4: fires at least twice, each firing a separate job.
wait_for -t 20 eval '[ "$(nruns "$S")" -ge 2 ]'
ok $? "the every-2-s schedule fired at least twice"
wait_for -t 20 eval '[ "$(runs_json "$S" | jq "[.[] | select(.state == \"COMPLETED\")] | length")" -ge 2 ]'
ok $? "... and two of its runs COMPLETED"
R=$(runs_json "$S")
r1=$(jq -r '.[0].id' <<<"$R")
r2=$(jq -r '.[1].id' <<<"$R")
like "$r1 $r2" '^[0-9a-f]{12} [0-9a-f]{12}$' "two runs with job ids ($r1 $r2)"
isnt "$r1" "$r2" "each firing is a job of its own"
is "$(job_json "$r1" .scheduleId)" "$S" "show --json of run 1 has scheduleId"
is "$(job_json "$r2" .scheduleId)" "$S" "show --json of run 2 has scheduleId"
is "$(job_json "$r1" .name)" tick "run 1 is named after the schedule's job"
is "$(task_field "$r1" 1 result)" "tock [REDACTED]" "run 1's task ran, with the schedule's secret (redacted)"
run "$JOBRUN" logs "$r1"
is "$OUT" "log [REDACTED]" "run 1's log has the secret redacted"
leaks=$(grep -rlF zz-tick-secret-4711 "$JOBRUN_HOME" | grep -v "^$JOBRUN_HOME/secrets/")
is "$leaks" "" "while the schedule is active its secret is nowhere in the home but under secrets/"
gap=$(( $(ms_of "$(jq -r '.[1].createdAt' <<<"$R")") - $(ms_of "$(jq -r '.[0].createdAt' <<<"$R")") ))
ok $(( gap >= 500 ? 0 : 1 )) "the two runs were made at separate firings (${gap} ms apart)"
c1=$(ms_of "$(jq -r '.[0].createdAt' <<<"$R")")
ok $(( c1 >= t0 ? 0 : 1 )) "the first run came after the submit"
run "$JOBRUN" show "$r1"
like "$OUT" "(^|$NL)schedule: +$S($NL|$)" "show of a run names its schedule"

run "$JOBRUN" show "$S"
is "$RC" 0 "show SCHEDID exits 0"
like "$OUT" "^schedule: +$S"$'\n'"name: +tick"$'\n'"cron: +\\*/2 \\* \\* \\* \\* \\*"$'\n'"state: +ACTIVE" \
	"show SCHEDID: the schedule, its name, cron and state"
like "$OUT" "recent runs:.*$r1 +COMPLETED" "... and lists run 1 among its recent runs"
like "$OUT" "recent runs:.*$r2 +COMPLETED" "... and run 2"
run "$JOBRUN" show --json "$S"
is "$RC" 0 "show --json SCHEDID exits 0"
is "$(jq -r '.id + " " + .cron + " " + .state' <<<"$OUT")" "$S */2 * * * * * ACTIVE" "show --json SCHEDID: id, cron, state"
jq -e --arg a "$r1" --arg b "$r2" '[.recentRuns[].id] | index($a) != null and index($b) != null' <<<"$OUT" >/dev/null
ok $? "show --json SCHEDID: recentRuns has both runs"
is "$(jq '.runs >= 2' <<<"$OUT")" true "show --json SCHEDID: runs >= 2"
is "$(jq -r .lastJobId <<<"$OUT")" "$(jq -r '.recentRuns[0].id' <<<"$OUT")" "lastJobId is the newest recent run"
run "$JOBRUN" show "${S:0:8}"
like "$OUT" "^schedule: +$S" "show takes a schedule id prefix"

# The slow schedule: runs never overlap; the firings in between are skipped.
wait_for -t 20 eval '[ "$(sched_field "$L" skipped)" -ge 1 ]'
ok $? "a firing while the last run goes on is skipped (SKIPS > 0)"
overlap=0 end=$((SECONDS + 6))
while [ "$SECONDS" -lt "$end" ]; do
	n=$(runs_json "$L" | jq '[.[] | select(.state == "PENDING" or .state == "SCHEDULED" or .state == "RUNNING")] | length')
	[ "${n:-0}" -gt 1 ] && overlap=1
	sleep 0.2
done
is "$overlap" 0 "never two runs of the slow schedule going at once"
grep -q "event=schedule\\.skip schedule=$L" "$T/daemon.log"
ok $? "the daemon log has event=schedule.skip for it"
run "$JOBRUN" schedules
like "$(grep "^$L " <<<"$OUT")" "^$L +slowtick +.* +[0-9]+ +[1-9][0-9]*$" "schedules shows its SKIPS"
run "$JOBRUN" schedule pause "$L"
is "$RC" 0 "schedule pause of the slow one"
# Every two runs: the later started after the earlier ended.
# (times are all "YYYY-MM-DDTHH:MM:SS.mmmZ": they compare as strings)
runs_json "$L" | jq -e '[.[] | select(.startedAt != null)] | . as $r | length >= 2 and
	([range(1; length) | $r[.].startedAt >= ($r[. - 1].completedAt // "9999")] | all)' >/dev/null
ok $? "the slow schedule made 2 runs or more, each started after the one before ended"

# ---------------------------------------------------------------- pause, resume
run "$JOBRUN" schedule pause "$S"
is "$RC" 0 "schedule pause exits 0"
is "$(sched_field "$S" state)" PAUSED "the schedule is PAUSED when pause returns"
run "$JOBRUN" schedules
like "$OUT" "(^|$NL)$S +tick +\\*/2 \\* \\* \\* \\* \\* +PAUSED +- " "schedules: PAUSED, no next run"
sleep 1	# a run that had just fired is not counted as one made while paused
n0=$(nruns "$S") runs0=$(sched_field "$S" runs)
sleep 4.5
is "$(nruns "$S")" "$n0" "no new run over 4.5 s while paused"
is "$(sched_field "$S" runs)" "$runs0" "its runs count stays ($runs0)"
run "$JOBRUN" schedule resume "${S:0:6}"
is "$RC" 0 "schedule resume (by an id prefix) exits 0"
is "$(sched_field "$S" state)" ACTIVE "the schedule is ACTIVE again"
wait_for -t 10 eval '[ "$(nruns "$S")" -gt "$n0" ]'
ok $? "resumed, it fires again"

# ---------------------------------------------------------------- submit --cron
run "$JOBRUN" submit --cron '0 0 1 1 *' plain.yaml
is "$RC" 0 "submit --cron EXPR FILE exits 0"
Y=$OUT
like "$Y" '^[0-9a-f]{12}$' "... printing a schedule id"
wait_for -t 10 eval '[ -n "$(sched_field "$Y" state)" ]'
ok $? "the daemon took it in"
is "$(sched_field "$Y" cron)" "0 0 1 1 *" "its cron is the --cron one"
is "$(sched_field "$Y" name)" plain "its name is the job file's"
run "$JOBRUN" schedules
like "$OUT" "(^|$NL)$Y +plain +0 0 1 1 \\* +ACTIVE +$(( $(date +%Y) + 1 ))-01-01 00:00:00 +- +0 +0" \
	"schedules: its next run is next New Year, never run yet"

# ---------------------------------------------------------------- rm
n1=$(nruns "$S")
run "$JOBRUN" schedule rm "$S" "$Y" "$L"
is "$RC" 0 "schedule rm of three schedules exits 0"
run "$JOBRUN" schedules --json
is "$OUT" "[]" "schedules --json is empty after rm"
run "$JOBRUN" schedules
is "$(grep -c . <<<"$OUT")" 1 "schedules lists nothing but its header"
n2=$(nruns "$S")
ok $(( n2 >= n1 ? 0 : 1 )) "the removed schedule's jobs stay ($n2 of them)"
is "$(job_json "$r1" .state)" COMPLETED "its first run is still there"
wait_for -t 20 eval '[ "$(runs_json "$S" | jq "map(select(.state != \"COMPLETED\")) | length")" = 0 ]'
setup_ok $? "its runs all COMPLETED"
leaks=$(grep -rlF zz-tick-secret-4711 "$JOBRUN_HOME")
is "$leaks" "" "once it is removed and its runs are over, its secret is in no file under the home"
sleep 3
is "$(nruns "$S")" "$n2" "no run after rm (3 s)"
run "$JOBRUN" show "$S"
is "$RC" 6 "show of a removed schedule: exit 6"
run "$JOBRUN" schedule resume "$S"
is "$RC" 6 "schedule resume of a removed schedule: exit 6"
# the slow schedule's last run may still go on
for id in $(runs_json "$L" | jq -r '.[] | select(.state == "RUNNING" or .state == "PENDING") | .id'); do
	"$JOBRUN" cancel "$id" >/dev/null 2>&1
done

# ---------------------------------------------------------------- one catch-up run
# A schedule whose firings are four seconds in a row, then none for a
# minute: the daemon is stopped before the first and started after the
# last; it must make one run for the lot, not four.
b=$(date +%s)
secs=$(for k in 6 7 8 9; do echo $(( (b + k) % 60 )); done | sort -n | paste -sd, -)
cat >burst.yaml <<EOF2
name: burst
schedule:
  cron: "$secs * * * * *"
tasks:
  - image: jobrun-test:latest
    run: echo -n caught > \$TORK_OUTPUT
EOF2
C=$(submit burst.yaml)
wait_for -t 4 eval '[ -n "$(sched_field "$C" state)" ]'
ok $? "the burst schedule ($secs * * * * *) is in"
stop_daemon
[ "$(nruns "$C")" = 0 ]
setup_ok $? "the daemon stopped before its first firing"
while [ "$(date +%s)" -le $((b + 10)) ]; do sleep 0.2; done
start_daemon -q slow:10
wait_for -t 15 eval '[ "$(nruns "$C")" -ge 1 ]'
ok $? "restarted after its four firings, the daemon makes a catch-up run"
sleep 3
is "$(nruns "$C")" 1 "... exactly one, not one per missed firing"
is "$(sched_field "$C" runs)" 1 "schedules: runs 1"
# (a burst would hide behind the skip rule: its later firings skipped)
is "$(sched_field "$C" skipped)" 0 "schedules: skipped 0 (no burst of missed firings)"
grep -q "event=schedule\\.skip schedule=$C" "$T/daemon.log"
ok $(( ! $? )) "the daemon log has no schedule.skip for it"
cj=$(runs_json "$C" | jq -r '.[0].id')
run "$JOBRUN" wait "$cj"
is "$RC" 0 "the catch-up run completes"
is "$(task_field "$cj" 1 result)" caught "... having run its task"
nx=$(ms_of "$(sched_field "$C" nextAt)")
ok $(( nx >= (b + 60) * 1000 ? 0 : 1 )) "its next firing is a minute on, not a missed one"

# ---------------------------------------------------------------- unique schedules
run "$JOBRUN" submit --unique --cron '0 5 * * *' plain.yaml
U=$OUT
is "$RC" 0 "submit --unique --cron: the first is taken"
run "$JOBRUN" submit --unique --cron '0 5 * * *' plain.yaml
is "$RC $OUT" "7 $U" "the same name and cron again: exit 7, the first schedule's id on stdout"
like "$ERR" "schedule $U has the same name and cron expression; not submitted" "... and why on stderr"
run "$JOBRUN" submit --unique --json --cron '0 5 * * *' plain.yaml
is "$(jq -r '.id + " " + (.duplicate|tostring)' <<<"$OUT")" "$U true" "--json: {id, duplicate: true}"
run "$JOBRUN" submit --unique --cron '0 6 * * *' plain.yaml
is "$RC" 0 "another cron expression: a schedule of its own"
V=$OUT
run "$JOBRUN" submit --cron '0 5 * * *' plain.yaml
is "$RC" 0 "without --unique a twin is taken"
W=$OUT
"$JOBRUN" schedule rm "$U" "$V" "$W" >/dev/null 2>&1
run "$JOBRUN" submit --unique --cron '0 5 * * *' plain.yaml
is "$RC" 0 "once removed, --unique takes it again"

done_testing
