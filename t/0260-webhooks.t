#!/bin/bash
# Webhooks: webhooks: [{url, event, headers, if}] POST the job (and task) as
# JSON on job.StateChange (the default), task.StateChange, job.Progress and
# task.Progress; url, headers and if are evaluated (inputs, secrets), secrets
# are redacted from the body and never kept in the home; 429 and 5xx are
# retried with backoff (1 s, 2 s, 4 s, 8 s) up to 5 attempts, 4xx is not; an
# attempt times out after 5 s without holding up the scheduler; every attempt
# is recorded and shown.  Checked against t/hooksink on 127.0.0.1.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"
NL=$'\n'
[ -x "$TD/hooksink" ] || BAIL_OUT "t/hooksink is not built (make t/hooksink)"

# ---------------------------------------------------------------- sinks
SINKS=
sinks_kill() { # (keeps $? for _cleanup)
	local st=$?
	# shellcheck disable=SC2086
	[ -n "$SINKS" ] && kill $SINKS 2>/dev/null
	return $st
}
trap 'sinks_kill; _cleanup' EXIT
sink() { # NAME [STATUS...]: start a hooksink logging to $T/NAME.log; sets PORT and SINK_PID
	rm -f "$T/$1.port"
	"$TD/hooksink" "$T/$1.port" "$T/$1.log" "${@:2}" 2>>"$T/$1.err" &
	SINK_PID=$!
	SINKS="$SINKS $SINK_PID"
	wait_for -t 10 test -s "$T/$1.port" || BAIL_OUT "hooksink $1 did not start"
	PORT=$(cat "$T/$1.port")
	touch "$T/$1.log"
}
reqs() { # NAME [PATH]: number of requests sink NAME got (at PATH)
	jq -c --arg p "${2:-}" 'select($p == "" or .path == $p)' "$T/$1.log" | grep -c .
}
bodies() { # NAME PATH JQ: JQ applied to the parsed body of each request to PATH
	jq -r --arg p "$2" "select(.path == \$p) | .body | fromjson | $3" "$T/$1.log"
}
hooks() { # ID [JQ]: the job's webhooks (show --json), filtered
	job_json "$1" ".webhooks${2:-}"
}
hooks_settled() { # ID N: N deliveries recorded, none still PENDING or SENDING
	[ "$(hooks "$1" ' | length')" -ge "$2" ] &&
		[ "$(hooks "$1" ' | map(select(.state == "PENDING" or .state == "SENDING")) | length')" = 0 ]
}
hook_is() { # ID N STATE: delivery N (0-based) of the job is in STATE
	[ "$(hooks "$1" "[$2].state // empty")" = "$3" ]
}
ms_of() { date -d "$1" +%s%3N; }
refused() { # RC REGEX DESC: the last run exited RC, left nothing in the spool, and its stderr starts with REGEX
	like "$RC $(spooled) $ERR" "^$1 0 $2" "$3"
}
setup_ok() { # STATUS DESC: a precondition, not a check: silent when met, "not ok" when not
	[ "$1" = 0 ] || fail "setup: $2"
}

# One hook, fired once: when the job completed.
onehook() { # NAME URL: write NAME.yaml
	cat >"$1.yaml" <<EOF2
name: $1
webhooks:
  - url: $2
    if: "{{ job.State == 'COMPLETED' }}"
tasks:
  - image: jobrun-test:latest
    run: echo -n ok > \$TORK_OUTPUT
EOF2
}

# ---------------------------------------------------------------- bad input
cat >bad1.yaml <<'EOF2'
name: bad1
webhooks:
  - url: https://example.com/hook
tasks:
  - image: jobrun-test:latest
    run: "true"
EOF2
run "$JOBRUN" submit bad1.yaml
refused 3 "bad1\\.yaml:3:10: webhooks\\[0\\]\\.url: 'https://example\\.com/hook' must start with http:// \\(jobrun speaks plain HTTP only\\)$" \
	"a url that is not http://: exit 3, FILE:LINE:COL: saying it must start with http://"
cat >bad2.yaml <<'EOF2'
name: bad2
webhooks:
  - url: http://127.0.0.1:9/x
    event: job.Finished
tasks:
  - image: jobrun-test:latest
    run: "true"
EOF2
run "$JOBRUN" submit bad2.yaml
refused 3 "bad2\\.yaml:4:12: webhooks\\[0\\]\\.event: 'job\\.Finished' is not an event: use job\\.StateChange, job\\.Progress, task\\.StateChange, task\\.Progress$" \
	"an unknown event: exit 3, naming the events there are"
cat >bad3.yaml <<'EOF2'
name: bad3
webhooks:
  - event: job.StateChange
    headers:
      X-A: b
tasks:
  - image: jobrun-test:latest
    run: "true"
EOF2
run "$JOBRUN" submit bad3.yaml
refused 3 "bad3\\.yaml:3:5: webhooks\\[0\\]: missing required field 'url'$" "a webhook without url: exit 3, saying url is missing"

start_daemon || BAIL_OUT "the daemon does not start"

# ---------------------------------------------------------------- the sinks and their jobs
SECRET=s3cr3t-9f2c1e77
sink a;              PA=$PORT
sink b 503 200;      PB=$PORT
sink c 500;          PC=$PORT
sink d 404;          PD=$PORT
sink q 429 200;      PQ=$PORT
sink f;              PF=$PORT; kill "$SINK_PID"; wait "$SINK_PID" 2>/dev/null	# a closed port

cat >a.yaml <<EOF2
name: hooked
inputs:
  x: from-the-file
  port: "$PA"
secrets:
  token: $SECRET
webhooks:
  - url: http://127.0.0.1:$PA/job
    headers:
      X-In: "{{ inputs.x }}"
      Authorization: "Bearer {{ secrets.token }}"
  - url: http://127.0.0.1:$PA/done
    event: job.StateChange
    if: "{{ job.State == 'COMPLETED' }}"
  - url: "http://127.0.0.1:{{ inputs.port }}/task"
    event: task.StateChange
    if: "{{ task.State == 'COMPLETED' }}"
  - url: http://127.0.0.1:$PA/tprog
    event: task.Progress
  - url: http://127.0.0.1:$PA/jprog
    event: job.Progress
tasks:
  - name: leak
    image: jobrun-test:latest
    env:
      TOK: "{{ secrets.token }}"
    run: echo -n "tok=\$TOK" > \$TORK_OUTPUT
  - name: slowish
    image: jobrun-test:latest
    run: |
      echo 50 > \$TORK_PROGRESS
      sleep 2
      echo -n done > \$TORK_OUTPUT
EOF2
onehook b "http://127.0.0.1:$PB/b"
onehook c "http://127.0.0.1:$PC/c"
onehook d "http://127.0.0.1:$PD/d"
onehook q "http://127.0.0.1:$PQ/q"
onehook f "http://127.0.0.1:$PF/f"

A=$(submit -i x=from-the-cli a.yaml)
B=$(submit b.yaml)
C=$(submit c.yaml)
D=$(submit d.yaml)
Q=$(submit q.yaml)
F=$(submit f.yaml)
run "$JOBRUN" wait "$A" "$B" "$C" "$D" "$Q" "$F"
setup_ok "$RC" "the six jobs with webhooks COMPLETED"

# ---------------------------------------------------------------- a server that does not answer
sink e sleep;        PE=$PORT
onehook e "http://127.0.0.1:$PE/e"
E=$(submit e.yaml)
wait_for -t 30 eval '[ "$(reqs e)" -ge 1 ]'
ok $? "the silent server got the request"
te=$(jq -r .t "$T/e.log" | head -n 1)
cat >plain.yaml <<'EOF2'
name: plain
tasks:
  - image: jobrun-test:latest
    run: echo -n meanwhile > $TORK_OUTPUT
EOF2
P=$(submit plain.yaml)
run "$JOBRUN" wait "$P"
is "$RC" 0 "a job submitted while the server hangs COMPLETED"
is "$(hooks "$E" '[0].log | length')" 0 "... before the hanging attempt ended (the scheduler is not blocked)"
pdone=$(ms_of "$(job_json "$P" .completedAt)")
ok $(( pdone < te + 5000 ? 0 : 1 )) "... $(( pdone - te )) ms after the hook was sent, less than its 5 s timeout"

# ---------------------------------------------------------------- job.StateChange, headers, secrets
wait_for -t 30 hooks_settled "$A" 8
ok $? "job A: its deliveries are all done"
is "$(hooks "$A" ' | map(.state) | unique | join(",")')" DELIVERED "job A: every delivery DELIVERED"
is "$(bodies a /job .job.state | sort | paste -sd' ' -)" "COMPLETED PENDING RUNNING" \
	"job.StateChange: posts for PENDING, RUNNING and COMPLETED"
is "$(bodies a /job .event | sort -u)" job.StateChange "... each with event job.StateChange"
is "$(bodies a /job .job.id | sort -u)" "$A" "... each with the job's id"
is "$(bodies a /job '.job.name + " " + .job.inputs.x' | sort -u)" "hooked from-the-cli" "... its name and inputs, as show --json has them"
is "$(bodies a /job 'has("task")' | sort -u)" false "... and no task"
bodies a /job '.job.createdAt' | grep -Eqv '^[0-9]{4}-[0-9]{2}-[0-9]{2}T'
ok $(( ! $? )) "... with createdAt times"
is "$(jq -r 'select(.path == "/job") | .method' "$T/a.log" | sort -u)" POST "they are POSTs"
is "$(jq -r 'select(.path == "/job") | .headers["content-type"]' "$T/a.log" | sort -u)" application/json "with Content-Type: application/json"
is "$(jq -r 'select(.path == "/job") | .headers["x-in"]' "$T/a.log" | sort -u)" from-the-cli "the header from {{ inputs.x }} has the input's value"
is "$(jq -r 'select(.path == "/job") | .headers.authorization' "$T/a.log" | sort -u)" "Bearer $SECRET" "the header from {{ secrets.token }} has the secret's value"
is "$(reqs a /done)" 1 "if: job.State == 'COMPLETED': one post"
is "$(bodies a /done .job.state)" COMPLETED "... of the COMPLETED job"
is "$(bodies a /done .job.completedTasks)" 2 "... that says both tasks are done"
bj=$(jq -c 'select(.path == "/done") | .body | fromjson | .job' "$T/a.log")
sj=$("$JOBRUN" show --json "$A")
is "$(jq -n --argjson b "$bj" '$b | [has("id", "name", "state", "createdAt", "startedAt", "completedAt", "taskCount", "completedTasks", "inputs")] | all')" true \
	"... with the job's id, name, state, times, task counts and inputs"
is "$(jq -n --argjson b "$bj" --argjson s "$sj" '$b == ($s | with_entries(select(.key as $k | $b | has($k))))')" true \
	"... each field as show --json has it"

# task.StateChange through a url evaluated from the inputs
is "$(reqs a /task)" 2 "task.StateChange if task.State == 'COMPLETED': one post per task"
is "$(bodies a /task '"\(.event) \(.task.position) \(.task.state) \(.task.jobId) \(.job.id)"' | sort | paste -sd'|' -)" \
	"task.StateChange 1 COMPLETED $A $A|task.StateChange 2 COMPLETED $A $A" "... with event, task position, state, job id and the job"
is "$(bodies a /task 'select(.task.position == 1) | .task.name + " " + .task.result')" "leak tok=[REDACTED]" \
	"the task's result in the body has the secret [REDACTED]"
is "$(bodies a /task 'select(.task.position == 2) | .task.result')" "done" "task 2's result"

# progress events
ok $(( $(reqs a /tprog) >= 1 ? 0 : 1 )) "task.Progress: posted"
is "$(bodies a /tprog '"\(.event) \(.task.position) \(.task.progress)"' | sort -u | head -n 1)" "task.Progress 2 50" \
	"... with the task's position and its progress"
ok $(( $(reqs a /jprog) >= 1 ? 0 : 1 )) "job.Progress: posted"
is "$(bodies a /jprog '.event + " " + .job.id' | sort -u)" "job.Progress $A" "... with the job"

# the secret: sent in the header, kept nowhere
jq -r .body "$T/a.log" | grep -qF "$SECRET"
ok $(( ! $? )) "no body had the secret"
leaks=$(grep -rlF "$SECRET" "$JOBRUN_HOME" 2>/dev/null)
is "$leaks" "" "the secret is in no file under JOBRUN_HOME"
grep -qF "$SECRET" "$T/daemon.log"
ok $(( ! $? )) "the secret is not in the daemon's log"
hooks "$A" | grep -qF "$SECRET"
ok $(( ! $? )) "show --json does not show it"
run "$JOBRUN" show "$A"
like "$OUT" "${NL}webhooks:${NL}" "show lists the webhooks"
like "$OUT" "${NL} +job\\.StateChange +- +DELIVERED +1 attempt, last 200 +http://127\\.0\\.0\\.1:$PA/job" \
	"... each with event, state, attempts, last status and url"
like "$OUT" "${NL} +task\\.StateChange +1 +DELIVERED +1 attempt, last 200 +http://127\\.0\\.0\\.1:$PA/task" \
	"... a task's with its position and its evaluated url"

# ---------------------------------------------------------------- 503, then 200
wait_for -t 20 hook_is "$B" 0 DELIVERED
ok $? "503 then 200: DELIVERED"
is "$(hooks "$B" '[0] | "\(.attempts) \(.status) \(.log | length)"')" "2 200 2" "... at attempt 2, status 200, 2 log lines"
like "$(hooks "$B" '[0].log[0]')" '^[0-9]{4}-[0-9-]+T[0-9:.]+Z 503$' "... log line 1: its time and 503"
like "$(hooks "$B" '[0].log[1]')" '^[0-9]{4}-[0-9-]+T[0-9:.]+Z 200$' "... log line 2: its time and 200"
is "$(reqs b)" 2 "the server got 2 requests"
is "$(jq -r .body "$T/b.log" | sort -u | grep -c .)" 1 "... with the same body"
gap=$(jq -s '.[1].t - .[0].t' "$T/b.log")
ok $(( gap >= 900 ? 0 : 1 )) "... the retry at least 1 s later ($gap ms)"
run "$JOBRUN" show "$B"
like "$OUT" "${NL} +job\\.StateChange +- +DELIVERED +2 attempts, last 200 +http://127\\.0\\.0\\.1:$PB/b" "show: '2 attempts, last 200'"

wait_for -t 20 hook_is "$Q" 0 DELIVERED
ok $? "429 then 200: retried and DELIVERED"
is "$(hooks "$Q" '[0].attempts')" 2 "... at attempt 2"

# ---------------------------------------------------------------- 404
wait_for -t 20 hook_is "$D" 0 FAILED
ok $? "404: FAILED"
is "$(hooks "$D" '[0] | "\(.attempts) \(.status) \(.log | length)"')" "1 404 1" "... after 1 attempt, status 404 (not retried)"

# ---------------------------------------------------------------- connection refused
wait_for -t 20 eval '[ "$(hooks "$F" "[0].log | length")" -ge 1 ]'
ok $? "a closed port: an attempt is recorded"
is "$(hooks "$F" '[0].error')" "connection refused" "... with error 'connection refused'"
like "$(hooks "$F" '[0].log[0]')" 'Z connection refused$' "... in its log line"
run "$JOBRUN" show "$F"
like "$OUT" "${NL} +job\\.StateChange +- +[A-Z]+ +[0-9] attempts?, last connection refused +http://127\\.0\\.0\\.1:$PF/f" "show: 'last connection refused'"

# ---------------------------------------------------------------- the timeout
wait_for -t 20 eval '[ "$(hooks "$E" "[0].log | length")" -ge 1 ]'
ok $? "the silent server: the attempt ended"
is "$(hooks "$E" '[0].error')" "timed out after 5s" "... with error 'timed out after 5s'"
l0=$(hooks "$E" '[0].log[0]')
like "$l0" 'Z timed out after 5s$' "... in its log line"
tend=$(ms_of "${l0%% *}")
ok $(( tend - te >= 4500 ? 0 : 1 )) "... $(( tend - te )) ms after the request reached the server (5 s)"
is "$(hooks "$E" '[0].state')" PENDING "... and it is to be tried again (attempt 1 of 5)"

# ---------------------------------------------------------------- 500 always: 5 attempts, backoff
wait_for -t 40 hook_is "$C" 0 FAILED
ok $? "500 always: FAILED in the end"
is "$(hooks "$C" '[0] | "\(.attempts) \(.status) \(.log | length)"')" "5 500 5" "... after 5 attempts, status 500, 5 log lines"
is "$(reqs c)" 5 "the server got 5 requests"
gaps=$(jq -s '[range(1; length) as $i | .[$i].t - .[$i - 1].t] | map(tostring) | join(" ")' -r "$T/c.log")
read -r g1 g2 g3 g4 <<<"$gaps"
ok $(( ${g1:-0} >= 900 && ${g2:-0} >= 1800 && ${g3:-0} >= 3600 && ${g4:-0} >= 7200 ? 0 : 1 )) \
	"the gaps grow: 1 s, 2 s, 4 s, 8 s at least (got $gaps ms)"
ok $(( ${g2:-0} > ${g1:-0} && ${g3:-0} > ${g2:-0} && ${g4:-0} > ${g3:-0} ? 0 : 1 )) "... each longer than the one before"
run "$JOBRUN" show "$C"
like "$OUT" "${NL} +job\\.StateChange +- +FAILED +5 attempts, last 500 +http://127\\.0\\.0\\.1:$PC/c" "show: 'FAILED  5 attempts, last 500'"
grep -q "event=webhook.attempt hook=[0-9]* attempt=5 status=500 state=FAILED" "$T/daemon.log"
ok $? "the daemon logs the last attempt (event=webhook.attempt ... state=FAILED)"

# nothing more after the end
sleep 2
is "$(reqs c)" 5 "500: no 6th attempt"
is "$(reqs d)" 1 "404: never tried again"
is "$(reqs b)" 2 "503/200: not sent again once DELIVERED"

# ---------------------------------------------------------------- a task that fails the job
sink f
cat >fails.yaml <<EOF2
name: fails
webhooks:
  - url: http://127.0.0.1:$PORT/failed
    event: task.StateChange
    if: "{{ task.State == 'FAILED' }}"
    headers:
      X-Good: "yes"
      X-Bad: "{{ int('not a number') }}"
tasks:
  - image: jobrun-test:latest
    run: exit 2
EOF2
fid=$(submit fails.yaml)
"$JOBRUN" wait "$fid" >/dev/null 2>&1
wait_for -t 15 hooks_settled "$fid" 1
setup_ok $? "the FAILED task's delivery settled"
is "$(bodies f /failed '.task.state + " " + .job.state + " " + (.job.error // "")')" \
	"FAILED FAILED task 1 (task 1): exit code 2" \
	"task FAILED: one post, and its body shows the job FAILED with its error too"
is "$(jq -r 'select(.path == "/failed") | .headers["x-good"] + " " + (.headers["x-bad"] // "absent")' "$T/f.log")" \
	"yes absent" "a header that cannot be evaluated is left out, the others sent"
like "$(cat "$T/daemon.log")" "event=webhook.header job=$fid header=X-Bad error=" \
	"... and the daemon says so (event=webhook.header)"

done_testing
