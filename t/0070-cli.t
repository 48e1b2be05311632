#!/bin/bash
# The reading commands and the command line: ls (plain, --json, -n), show (plain,
# --json with Tork's field names), ids by unique prefix (ambiguous -> exit 6),
# logs (by position, by name, headers, -f), usage errors (exit 2), --home, and
# a second daemon on the same home.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"
NL=$'\n'
TIME='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'

cat >two.yaml <<'EOF'
name: two tasks
description: a job with two tasks that both log
tasks:
  - name: alpha
    image: jobrun-test:latest
    run: echo A
  - name: beta
    image: jobrun-test:latest
    var: b
    run: |
      echo B
      echo -n beta-result > $TORK_OUTPUT
EOF
cat >fail.yaml <<'EOF'
name: failing
tasks:
  - name: boom
    image: jobrun-test:latest
    run: |
      echo C
      exit 1
EOF
cat >one.yaml <<'EOF'
name: one task
tasks:
  - name: gamma
    image: jobrun-test:latest
    cmd: [echo, C]
EOF
cat >tiny.yaml <<'EOF'
name: tiny
tasks:
  - image: jobrun-test:latest
    cmd: ["true"]
EOF

start_daemon || BAIL_OUT "the daemon does not start"

j1=$(submit two.yaml)
j2=$(submit fail.yaml)
j3=$(submit one.yaml)
RUN_TIMEOUT=40 run "$JOBRUN" wait "$j1" "$j2" "$j3"
is "$RC" 4 "three jobs ran (one FAILED)"

# ---------------------------------------------------------------- ls
run "$JOBRUN" ls
is "$RC" 0 "ls exits 0"
mapfile -t lines <<<"$OUT"
like "${lines[0]}" '^ID +NAME +STATE +TASKS +CREATED +PROGRESS *$' "ls: the header"
is "${#lines[@]}" 4 "ls: a header and three rows"
D='[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}(:[0-9]{2})?'
like "${lines[1]:-}" "^$j3 +one task +COMPLETED +1/1 +$D *\$" "ls: row 1 is the newest job (COMPLETED 1/1)"
like "${lines[2]:-}" "^$j2 +failing +FAILED +0/1 +$D *\$" "ls: row 2 (FAILED 0/1)"
like "${lines[3]:-}" "^$j1 +two tasks +COMPLETED +2/2 +$D *\$" "ls: row 3 is the oldest (COMPLETED 2/2)"

run "$JOBRUN" ls --json
is "$RC" 0 "ls --json exits 0"
is "$(jq -r 'type' <<<"$OUT")" array "ls --json: a JSON array"
is "$(jq -r 'map(.id) | join(" ")' <<<"$OUT")" "$j3 $j2 $j1" "ls --json: newest first"
is "$(jq -r 'map(.name) | join(",")' <<<"$OUT")" "one task,failing,two tasks" "ls --json: names"
is "$(jq -r 'map(.state) | join(",")' <<<"$OUT")" "COMPLETED,FAILED,COMPLETED" "ls --json: states"
is "$(jq -r --arg re "^$TIME\$" 'map(.createdAt | test($re)) | all' <<<"$OUT")" true "ls --json: createdAt in RFC 3339 UTC with ms"
is "$(jq -r 'map(.createdAt) | . == (sort | reverse)' <<<"$OUT")" true "ls --json: createdAt descending"
is "$(jq -r 'map(has("tasks")) | any' <<<"$OUT")" false "ls --json: no 'tasks' in the objects"

run "$JOBRUN" ls -n 1
is "$RC" 0 "ls -n 1 exits 0"
is "$(wc -l <<<"$OUT")" 2 "ls -n 1: the header and one row"
like "$OUT" "${NL}$j3 " "ls -n 1: the newest job"
run "$JOBRUN" ls --json -n 2
is "$(jq -r 'map(.id) | join(" ")' <<<"$OUT")" "$j3 $j2" "ls --json -n 2: the two newest"

# ---------------------------------------------------------------- show
run "$JOBRUN" show "$j1"
is "$RC" 0 "show exits 0"
like "$OUT" "$j1" "show: the id"
like "$OUT" "two tasks" "show: the name"
like "$OUT" "COMPLETED" "show: the state"
like "$OUT" "${NL} *1 +alpha +COMPLETED" "show: a row for task 1 (position, name, state)"
like "$OUT" "${NL} *2 +beta +COMPLETED" "show: a row for task 2"
like "$OUT" "beta-result" "show: task 2's result"
run "$JOBRUN" show "$j2"
like "$OUT" "FAILED" "show (failed): the state"
like "$OUT" "exit code 1" "show (failed): the error"

JOBKEYS='["id","name","description","state","createdAt","startedAt","completedAt","error","inputs","position","taskCount","completedTasks","tasks"]'
TASKKEYS='["position","name","state","queue","priority","attempt","createdAt","startedAt","completedAt","exitCode","result","error","var"]'
run "$JOBRUN" show --json "$j1"
is "$RC" 0 "show --json exits 0"
js=$OUT
is "$(jq -r '.id + "|" + .name + "|" + .description + "|" + .state' <<<"$js")" \
	"$j1|two tasks|a job with two tasks that both log|COMPLETED" "show --json: id, name, description, state"
is "$(jq -r --argjson k "$JOBKEYS" 'keys - $k | join(",")' <<<"$js")" "" \
	"show --json: only the contract's (Tork's) job field names"
is "$(jq -r --argjson k "$TASKKEYS" '[.tasks[] | keys[]] | unique - $k | join(",")' <<<"$js")" "" \
	"show --json: only the contract's (Tork's) task field names"
is "$(jq -r --arg re "^$TIME\$" '[.createdAt, .startedAt, .completedAt] | map(test($re)) | all' <<<"$js")" true \
	"show --json: createdAt, startedAt, completedAt in RFC 3339 UTC with ms"
is "$(jq -r 'has("error")' <<<"$js")" false "show --json: no 'error' on a COMPLETED job"
is "$(jq -r '.tasks | length' <<<"$js")" 2 "show --json: two tasks"
is "$(jq -r '[.tasks[] | "\(.position) \(.name) \(.state) \(.exitCode)"] | join(",")' <<<"$js")" \
	"1 alpha COMPLETED 0,2 beta COMPLETED 0" "show --json: tasks[].position, name, state, exitCode"
is "$(jq -r '.tasks[0] | has("result")' <<<"$js")" false "show --json: no 'result' when the task wrote none"
is "$(jq -r '.tasks[1].result + " " + .tasks[1].var' <<<"$js")" "beta-result b" "show --json: result and var"
is "$(jq -r '[.tasks[] | has("error")] | any' <<<"$js")" false "show --json: no 'error' on completed tasks"
is "$(jq -r --arg re "^$TIME\$" '[.tasks[] | .createdAt, .startedAt, .completedAt] | map(test($re)) | all' <<<"$js")" true \
	"show --json: the tasks' times in RFC 3339 UTC with ms"

run "$JOBRUN" show --json "$j2"
is "$(jq -r '.state + "|" + .tasks[0].state + "|" + .tasks[0].error + "|" + (.tasks[0].exitCode | tostring)' <<<"$OUT")" \
	"FAILED|FAILED|exit code 1|1" "show --json (failed): state, task state, task error, exitCode"
like "$(jq -r '.error // empty' <<<"$OUT")" "exit code 1" "show --json (failed): the job's error"
is "$(jq -r --argjson k "$JOBKEYS" 'keys - $k | join(",")' <<<"$OUT")" "" \
	"show --json (failed): only the contract's job field names"

run "$JOBRUN" show 0123456789ab
is "$RC" 6 "show of an unknown id exits 6"
is "$ERR" "jobrun: no job matches '0123456789ab'" "show of an unknown id: 'no job matches'"

# ---------------------------------------------------------------- id prefixes
# Submit tiny jobs until two ids share their first character.
ids=("$j1" "$j2" "$j3")
amb=
for ((i = 0; i < 17; i++)); do
	for x in "${ids[@]}"; do
		for y in "${ids[@]}"; do
			[ "$x" != "$y" ] && [ "${x:0:1}" = "${y:0:1}" ] && amb=${x:0:1}
		done
	done
	[ -n "$amb" ] && break
	ids+=("$(submit tiny.yaml)")
done
isnt "$amb" "" "two job ids share a first character ('$amb')"
# shellcheck disable=SC2068
RUN_TIMEOUT=40 run "$JOBRUN" wait ${ids[@]}
is "$RC" 4 "the tiny jobs ran"
matching=()
for x in "${ids[@]}"; do [ "${x:0:1}" = "$amb" ] && matching+=("$x"); done
run "$JOBRUN" show "$amb"
is "$RC" 6 "show by an ambiguous prefix exits 6"
like "$ERR" "^jobrun: '$amb' matches more than one job: " "ambiguous: 'jobrun: 'X' matches more than one job: ...'"
listed=0
for x in "${matching[@]}"; do [[ $ERR == *"$x"* ]] && listed=$((listed + 1)); done
is "$listed" "${#matching[@]}" "ambiguous: the message lists the ${#matching[@]} matching ids"
is "$OUT" "" "ambiguous: nothing on stdout"
for verb in logs wait cancel; do
	run "$JOBRUN" $verb "$amb"
	is "$RC" 6 "$verb by an ambiguous prefix exits 6"
done
# the shortest unique prefix of j1
for ((n = 1; n <= 12; n++)); do
	p=${j1:0:n} c=0
	for x in "${ids[@]}"; do [ "${x:0:n}" = "$p" ] && c=$((c + 1)); done
	[ "$c" = 1 ] && break
done
run "$JOBRUN" show --json "$p"
is "$RC/$(jq -r .id <<<"$OUT" 2>/dev/null)" "0/$j1" "show by a unique prefix ('$p')"
run "$JOBRUN" logs "$p" 1
is "$RC/$OUT" "0/A" "logs by a unique prefix"
run "$JOBRUN" show "${j1}0"
is "$RC" 6 "an id one character too long exits 6"

# ---------------------------------------------------------------- logs
run "$JOBRUN" logs "$j1" 1
is "$RC/$OUT" "0/A" "logs ID 1: task 1's log"
run "$JOBRUN" logs "$j1" 2
is "$OUT" "B" "logs ID 2: task 2's log"
run "$JOBRUN" logs "$j1" alpha
is "$RC/$OUT" "0/A" "logs ID NAME: by name"
run "$JOBRUN" logs "$j1" beta
is "$OUT" "B" "logs ID NAME: the other task by name"
run "$JOBRUN" logs "$j1"
is "$RC" 0 "logs ID exits 0"
like "$OUT" "^==> 1 alpha <==${NL}A${NL}${NL}?==> 2 beta <==${NL}B\$" "logs ID: both logs, each under '==> N NAME <=='"
run "$JOBRUN" logs "$j3"
is "$OUT" "C" "logs ID: no header when only one task logged"
run "$JOBRUN" logs "$j1" 9
is "$RC" 6 "logs ID 9 (no such task) exits 6"
isnt "$ERR" "" "logs ID 9: a message on stderr"
is "$OUT" "" "logs ID 9: nothing on stdout"
run "$JOBRUN" logs "$j1" 0
is "$RC" 6 "logs ID 0 exits 6"
run "$JOBRUN" logs "$j1" gamma
is "$RC" 6 "logs ID NAME of no task of this job exits 6"
run "$JOBRUN" logs 0123456789ab
is "$RC" 6 "logs of an unknown job exits 6"

# -f: a task printing a line every 0.3 s, then a second task
cat >ticker.yaml <<'EOF'
name: ticker
tasks:
  - name: tick
    image: jobrun-test:latest
    run: |
      for i in 1 2 3 4 5 6 7 8; do echo "tick $i"; sleep 0.3; done
  - name: after
    image: jobrun-test:latest
    run: echo after ticking
EOF
tk=$(submit ticker.yaml)
timeout -k 5 40 "$JOBRUN" logs -f "$tk" >"$T/follow.out" 2>"$T/follow.err" &
fpid=$!
wait_for -t 20 grep -q "tick 1" "$T/follow.out"
ok $? "logs -f: the first line shows up"
st=$(job_state "$tk")
snap=$(cat "$T/follow.out")
is "$st" RUNNING "logs -f: ... while the job still runs"
unlike "$snap" "tick 8" "logs -f: ... before the task printed its last line"
_alive "$fpid"
ok $? "logs -f keeps running while the job runs"
wait_for -t 20 job_final "$tk"
ok $? "logs -f: the ticker job ends"
wait_for -t 5 eval '! _alive '"$fpid"
ok $? "logs -f exits once the job has ended"
wait "$fpid"
is "$?" 0 "logs -f exits 0"
want="==> 1 tick <==${NL}tick 1${NL}tick 2${NL}tick 3${NL}tick 4${NL}tick 5${NL}tick 6${NL}tick 7${NL}tick 8${NL}${NL}?==> 2 after <==${NL}after ticking"
like "$(cat "$T/follow.out")" "^$want\$" "logs -f: every line, in order, under headers"
run "$JOBRUN" logs -f "$tk" 1
is "$RC" 0 "logs -f of a finished job's task returns at once"
like "$OUT" "^tick 1${NL}.*tick 8\$" "logs -f ID 1: the whole log"

# ---------------------------------------------------------------- VERB --help
# Usage lines and help come from the one verb table: jobrun --help, jobrun
# help VERB and jobrun VERB --help say the same, and each option of a verb
# is in jobrun(1).
run "$JOBRUN" --help
all=$OUT
verbs=$(sed -n 's/^  \([a-z]*\).*/\1/p' <<<"$all")
is "$(wc -w <<<"$verbs")" 19 "--help lists the 19 verbs"
for v in $verbs; do
	line=$(grep -m1 "^  $v\( \|\$\)" <<<"$all" | sed 's/^  //')
	run "$JOBRUN" "$v" --help
	is "$RC/$(head -n 1 <<<"$OUT")" "0/usage: jobrun $line" "$v --help: exit 0, the usage line of --help"
	is "$OUT" "$("$JOBRUN" help "$v")" "$v --help says what help $v says"
	missing=
	for o in $(grep -o -- '-\{1,2\}[a-z][a-z-]*' <<<"$line"); do
		grep -q "^\.\(It \|Op \|Oo \)\?Fl ${o#-}\b\|Fl ${o#-} " "$ROOT/man/jobrun.1" || missing="$missing $o"
	done
	is "$missing" "" "$v: each of its options is in jobrun(1)"
done
run "$JOBRUN" ls --bogus
like "$ERR" "usage: jobrun ls \[--json\] \[-n N\]\$" "a usage error shows the same usage line"

# ---------------------------------------------------------------- usage errors
usage_is_2() { # DESC ARGS...
	local desc=$1
	shift
	run "$JOBRUN" "$@"
	is "$RC" 2 "$desc: exit 2"
	like "$ERR" "(^|$NL)usage: jobrun " "$desc: a usage line on stderr"
	is "$OUT" "" "$desc: nothing on stdout"
}
usage_is_2 "show without ID" show
usage_is_2 "show with two ids" show "$j1" "$j2"
usage_is_2 "logs without ID" logs
usage_is_2 "logs with three arguments" logs "$j1" 1 2
usage_is_2 "cancel without ID" cancel
usage_is_2 "wait without ID" wait
usage_is_2 "submit without FILE" submit
usage_is_2 "ls with an argument" ls "$j1"
usage_is_2 "ls --bogus" ls --bogus
usage_is_2 "ls -n without N" ls -n
usage_is_2 "ls -n abc" ls -n abc
usage_is_2 "show --bogus" show --bogus "$j1"
usage_is_2 "logs -z" logs -z "$j1"
usage_is_2 "cancel --bogus" cancel --bogus "$j1"
usage_is_2 "wait --bogus" wait --bogus "$j1"
usage_is_2 "daemon --bogus" daemon --bogus
usage_is_2 "daemon -q without a cap" daemon -q default
usage_is_2 "--home after the verb" ls --home "$JOBRUN_HOME"
is "$(job_state "$j1")" COMPLETED "the job is untouched by the usage errors (cancel --bogus)"

# ---------------------------------------------------------------- --home
run env -u JOBRUN_HOME "$JOBRUN" --home "$JOBRUN_HOME" ls --json
is "$RC" 0 "--home DIR ls (no JOBRUN_HOME) exits 0"
is "$(jq -r 'map(.id) | join(" ")' <<<"$OUT")" "$("$JOBRUN" ls --json | jq -r 'map(.id) | join(" ")')" \
	"--home DIR ls: the jobs of that home, as with JOBRUN_HOME"
is "$(jq -r 'length' <<<"$OUT")" "$((${#ids[@]} + 1))" "--home DIR ls: all ${#ids[@]} + 1 jobs"
run env JOBRUN_HOME="$T/elsewhere" "$JOBRUN" --home "$JOBRUN_HOME" show --json "$j1"
is "$RC/$(jq -r .id <<<"$OUT" 2>/dev/null)" "0/$j1" "--home DIR wins over JOBRUN_HOME"
run env JOBRUN_HOME="$T/elsewhere" "$JOBRUN" --home "$JOBRUN_HOME" logs "$j1" 2
is "$OUT" "B" "--home DIR logs"
mkdir -m 700 "$T/home2"
run env -u JOBRUN_HOME "$JOBRUN" --home "$T/home2" submit one.yaml
is "$RC" 0 "--home DIR2 submit exits 0"
h2=$OUT
is "$ERR" "jobrun: no daemon is running for $T/home2; the job waits in the spool until 'jobrun daemon' starts" \
	"--home DIR2 submit: no daemon for DIR2"
is "$(count_files "$T/home2/spool/new")" 1 "--home DIR2 submit: spooled in DIR2"
run env -u JOBRUN_HOME "$JOBRUN" --home "$T/home2" ls --json
is "$(jq -r '.[0].id + " " + .[0].state' <<<"$OUT")" "$h2 PENDING" "--home DIR2 ls: the job, PENDING"
run "$JOBRUN" show "$h2"
is "$RC" 6 "the job of DIR2 is not in JOBRUN_HOME"

# ---------------------------------------------------------------- a second daemon
RUN_TIMEOUT=10 run "$JOBRUN" daemon
is "$RC" 1 "a second daemon on the same home exits 1"
is "$ERR" "jobrun: a daemon is already running for $JOBRUN_HOME (pid $DAEMON_PID)" \
	"a second daemon: 'a daemon is already running for HOME (pid N)'"
RUN_TIMEOUT=10 run env -u JOBRUN_HOME "$JOBRUN" --home "$JOBRUN_HOME" daemon -q default:1
is "$RC" 1 "a second daemon via --home exits 1 too"
like "$ERR" "already running" "a second daemon via --home: 'already running'"
daemon_alive
ok $? "the first daemon still runs"
is "$(cat "$JOBRUN_HOME/run/daemon.pid")" "$DAEMON_PID" "run/daemon.pid still names the first daemon"
RUN_TIMEOUT=40 run "$JOBRUN" submit --wait one.yaml
is "$RC" 0 "the first daemon still runs jobs"

done_testing
