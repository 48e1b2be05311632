#!/bin/bash
# The HTTP face: `daemon --listen ADDR` answers GET /live, /ready and /metrics,
# and a JSON job API shaped like Tork's: POST /jobs (a job file as the body:
# 201 and the id; the same refusal as submit, as 400; 413 over --max-job-size;
# 429 while --max-pending jobs wait), GET /jobs (pages), GET /jobs/ID,
# PUT /jobs/ID/cancel and /restart (409 when the job's state does not allow
# it), GET /jobs/ID/log; 404 and 405 for what is not there; every request is
# logged with its caller (X-Caller-Name), quoted so that no header or path
# can forge a log line.  Bad --listen and --max-pending values are usage
# errors; a port in use stops the daemon at start.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker
command -v curl >/dev/null || BAIL_OUT "no curl (t/setup installs it)"

cd "$T" || BAIL_OUT "cd $T"
NL=$'\n'

req() { # METHOD PATH [CURL-ARGS...]: sets CODE, BODY and HDRS (headers, no CRs)
	CODE=$(curl -s -o "$T/body" -D "$T/hdrs" -w '%{http_code}' -X "$1" "${@:3}" "$URL$2")
	BODY=$(cat "$T/body")
	HDRS=$(tr -d '\r' <"$T/hdrs")
}
header() { # NAME: the value of header NAME in the last answer
	sed -n "s/^$1: //Ip" <<<"$HDRS" | head -n 1
}
logged() { # REGEX: lines of the daemon's log that match
	grep -cE "$1" "$T/daemon.log"
}

# ---------------------------------------------------------------- bad options
for bad in "127.0.0.1:99999|no port from 0 to 65535" "foo:80|'foo' is not an IP address" \
	":80|the host is missing" "8080x|no port"; do
	run "$JOBRUN" daemon --listen "${bad%%|*}"
	is "$RC" 2 "--listen ${bad%%|*} is a usage error (exit 2)"
	like "$ERR" "--listen: .*${bad#*|}" "... saying why"
done
run "$JOBRUN" daemon --max-pending 0
is "$RC" 2 "--max-pending 0 is a usage error"
like "$ERR" "--max-pending takes a count of at least 1, not '0'" "... saying so"
run "$JOBRUN" help daemon
like "$OUT" "--listen ADDR.*--max-pending N" "help daemon lists --listen and --max-pending"

# A port in use: hooksink holds one.
"$TD/hooksink" "$T/busy.port" "$T/busy.log" 2>>"$T/busy.err" &
BUSY=$!
wait_for -t 10 test -s "$T/busy.port" || BAIL_OUT "hooksink did not start"
run "$JOBRUN" daemon --listen "$(cat "$T/busy.port")"
kill "$BUSY" 2>/dev/null
is "$RC" 1 "a port in use: the daemon exits 1 at start"
like "$ERR" "--listen $(cat "$T/busy.port"): Address already in use" "... saying so"

# ---------------------------------------------------------------- health
start_daemon -q default:1 --listen 0 --max-pending 2 --max-job-size 2k || BAIL_OUT "daemon"
run "$JOBRUN" status --json
URL=$(jq -r '.daemon.listen // empty' <<<"$OUT")
like "$URL" '^http://127\.0\.0\.1:[0-9]+$' "status --json: where it listens (port 0: one the kernel picked, on loopback)"
run "$JOBRUN" status
like "$OUT" "${NL}http: +$URL$NL" "status says it too"
grep -q "event=http.listen url=$URL" "$T/daemon.log"
ok $? "the daemon logs it (http.listen)"

req GET /live
is "$CODE" 200 "GET /live: 200"
is "$(jq -r .live <<<"$BODY")" true "... live: true"
now=$(date +%s)
ts=$(jq -r .deployment_timestamp <<<"$BODY")
ok $(( ts <= now && ts > now - 120 ? 0 : 1 )) "... deployment_timestamp: when the daemon started ($ts, now $now)"
is "$(header Content-Type)" application/json "... as JSON"
HEAD=$(curl -s -I "$URL/live" | tr -d '\r')
like "$HEAD" "^HTTP/1.1 200" "HEAD /live: 200"
req GET /ready
is "$CODE $BODY" '200 {"ready":true}' "GET /ready: 200, ready"
req GET /metrics
is "$CODE" 200 "GET /metrics: 200"
like "$(header Content-Type)" "^text/plain; version=0.0.4" "... Prometheus' text format"
like "$BODY" "${NL}jobrun_up 1$NL" "... jobrun_up 1"
run "$JOBRUN" metrics
is "$(grep '^# TYPE' <<<"$BODY")" "$(grep '^# TYPE' <<<"$OUT")" "... the same metrics as 'jobrun metrics'"

# ---------------------------------------------------------------- submit
cat >hello.yaml <<'EOF'
name: hello over http
secrets:
  token: s3cr3t-http-token
tasks:
  - name: say
    image: jobrun-test:latest
    env:
      TOKEN: '{{ secrets.token }}'
    run: echo "hello $([ "$TOKEN" = s3cr3t-http-token ] && echo with token)"; printf one > $TORK_OUTPUT
  - name: again
    image: jobrun-test:latest
    run: echo second task
EOF
req POST /jobs --data-binary @hello.yaml -H 'X-Caller-Name: ci "bot"'
is "$CODE" 201 "POST /jobs: 201"
ID=$(jq -r .id <<<"$BODY")
like "$ID" '^[0-9a-f]{12}$' "... with the job's id"
is "$(header Location)" "/jobs/$ID" "... and its Location"
wait_for job_is "$ID" COMPLETED
ok $? "the job runs to COMPLETED"
req GET "/jobs/$ID"
is "$CODE" 200 "GET /jobs/ID: 200"
is "$(jq -r '[.id, .name, .state, (.tasks | length), .tasks[0].result] | join("|")' <<<"$BODY")" \
	"$ID|hello over http|COMPLETED|2|one" "... the job as show --json has it"
run "$JOBRUN" show --json "$ID"
is "$(jq -S . <<<"$BODY")" "$(jq -S . <<<"$OUT")" "... the same JSON as show --json"
req GET "/jobs/$ID/log"
is "$CODE" 200 "GET /jobs/ID/log: 200"
is "$BODY" "==> 1 say <==${NL}hello with token$NL$NL==> 2 again <==${NL}second task" \
	"... every task's log, with headers as 'jobrun logs' prints them"
run "$JOBRUN" logs "$ID"
is "$BODY" "$OUT" "... the same text as 'jobrun logs'"
req GET "/jobs/$ID/log?task=again"
is "$CODE $BODY" "200 second task" "?task=NAME: that task's log alone"
req GET "/jobs/$ID/log?task=2"
is "$CODE $BODY" "200 second task" "?task=POS: the same"
req GET "/jobs/$ID/log?task=9"
is "$CODE" 404 "?task= with no such task: 404"
like "$(jq -r .message <<<"$BODY")" "job $ID has no task '9'" "... saying so"

grep -qE 'event=http.request method="POST" path="/jobs" status=201 ms=[0-9]+ caller="ci \\"bot\\""' "$T/daemon.log"
ok $? "the request is logged: method, path, status, time, caller (quotes escaped)"
req GET "/x%0Aevent=forged%22"
is "$CODE" 404 "an unknown path: 404"
is "$(logged '^event=forged')" 0 "... a newline in the path does not make a log line"
is "$(logged 'path="/x\?event=forged\\""')" 1 "... it is logged as ? inside the quoted path"
for f in "$T/daemon.log" "$JOBRUN_HOME"/spool/*/* "$T/body"; do
	[ -f "$f" ] && grep -l s3cr3t-http-token "$f"
done >"$T/leaks"
is "$(cat "$T/leaks")" "" "the secret is in no log, spool file or answer"
req GET "/jobs/$ID"
unlike "$BODY" s3cr3t-http-token "... nor in GET /jobs/ID"

# Refusals: the same message as submit, the file named <request>.
cat >bad.yaml <<'EOF'
name: bad
tasks:
  - name: a
    imag: jobrun-test:latest
EOF
run "$JOBRUN" submit bad.yaml
is "$RC" 3 "submit refuses a bad file (exit 3)"
req POST /jobs --data-binary @bad.yaml
is "$CODE" 400 "POST /jobs of the same file: 400"
is "$(jq -r .message <<<"$BODY")" "${ERR//bad.yaml/<request>}" "... with submit's message"
req POST /jobs --data-binary ''
is "$CODE" 400 "an empty body: 400"
like "$(jq -r .message <<<"$BODY")" "no job file" "... saying so"
head -c 3000 /dev/zero | tr '\0' x >big.yaml
req POST /jobs --data-binary @big.yaml
is "$CODE" 413 "a body over --max-job-size: 413"
like "$(jq -r .message <<<"$BODY")" "over the 2K limit \(daemon --max-job-size\)" "... saying so"
is "$(count_files "$JOBRUN_HOME/spool/bad")" 0 "nothing refused reaches spool/bad"

# What libyaml would take seconds over is refused before it parses.
{ printf 'name: deep\nx: '; head -c 1000 /dev/zero | tr '\0' '['; } >deep.yaml
t0=$(date +%s%N)
req POST /jobs --data-binary @deep.yaml
t1=$(date +%s%N)
is "$CODE" 400 "a body of 1,000 nested [: 400"
like "$(jq -r .message <<<"$BODY")" "collections nested deeper than 64 levels" "... saying so"
note "answered in $(( (t1 - t0) / 1000000 )) ms"
req GET /live
is "$CODE" 200 "... and the daemon answers on"

# A bind source: the host's files are not described to an HTTP caller.
mkdir -m 700 private
cat >bind.yaml <<EOF
name: bind
tasks:
  - name: a
    image: jobrun-test:latest
    run: "true"
    mounts:
      - type: bind
        source: $T/private/nothere
        target: /x
EOF
run "$JOBRUN" submit bind.yaml
like "$ERR" "nothere: No such file or directory" "submit says a bind source is missing"
req POST /jobs --data-binary @bind.yaml
is "$CODE" 400 "POST /jobs of the same file: 400"
like "$(jq -r .message <<<"$BODY")" "$T/private/nothere may not be bound \(jobrun daemon --allow-bind DIR\)" \
	"... saying only that it may not be bound"
unlike "$BODY" "No such file" "... not whether it exists"

# A web page's request, or one for another host name, is refused.
req POST /jobs --data-binary @hello.yaml -H 'Origin: https://evil.example' -H 'Content-Type: text/plain'
is "$CODE" 403 "POST with an Origin (a form posted by a web page): 403"
like "$(jq -r .message <<<"$BODY")" "a request from a web page" "... saying so"
req PUT "/jobs/$ID/cancel" -H 'Sec-Fetch-Site: cross-site'
is "$CODE" 403 "PUT with Sec-Fetch-Site: cross-site: 403"
req GET /jobs -H 'Host: evil.example:80'
is "$CODE" 403 "GET for Host evil.example (a rebound DNS name) on loopback: 403"
req GET /live -H 'Host: localhost'
is "$CODE" 200 "GET for Host localhost: 200"

# ---------------------------------------------------------------- pages
cat >ok.yaml <<'EOF'
name: ok
tasks:
  - name: a
    image: jobrun-test:latest
    run: "true"
EOF
ids=()
for i in 1 2 3; do
	ids+=("$(submit ok.yaml)")
done
wait_for eval "job_final ${ids[2]}"
req GET "/jobs?size=2"
is "$CODE" 200 "GET /jobs?size=2: 200"
is "$(jq -r '[.items[].id] | join(" ")' <<<"$BODY")" "${ids[2]} ${ids[1]}" "... the newest two, newest first"
is "$(jq -r '[.number, .size, .totalPages, .totalItems] | join(" ")' <<<"$BODY")" "1 2 2 4" \
	"... page 1 of 2, 4 jobs in all"
req GET "/jobs?size=2&page=2"
is "$(jq -r '[.items[].id] | join(" ")' <<<"$BODY")" "${ids[0]} $ID" "page=2: the next two"
req GET "/jobs"
is "$(jq -r '.items | length' <<<"$BODY") $(jq -r .size <<<"$BODY")" "4 10" "no size: 10 a page"
req GET "/jobs?size=0"
is "$CODE" 400 "size=0: 400"
like "$(jq -r .message <<<"$BODY")" "size takes a number from 1 to 100" "... saying so"
req GET "/jobs?page=x"
is "$CODE" 400 "page=x: 400"

# ---------------------------------------------------------------- cancel, restart, 429
gate_yaml >gate.yaml
req POST /jobs --data-binary @gate.yaml
G=$(jq -r .id <<<"$BODY")
wait_for gate_started "$G"
ok $? "a job POSTed runs"
{ echo "unique: true"; cat gate.yaml; } >gate-unique.yaml
flock "$JOBRUN_HOME/run/submit.lock" sleep 2 &
LOCKER=$!
wait_for eval '! flock -n "$JOBRUN_HOME/run/submit.lock" true'
t0=$(date +%s%N)
req POST /jobs --data-binary @gate-unique.yaml
t1=$(date +%s%N)
is "$CODE $(header Retry-After)" "503 1" "a unique POST while a submit holds run/submit.lock: 503, Retry-After: 1"
ok $(( (t1 - t0) < 2000000000 ? 0 : 1 )) "... at once: the daemon does not wait for the lock"
wait "$LOCKER"
req POST /jobs --data-binary @gate-unique.yaml
is "$CODE" 409 "POST /jobs of a unique job whose twin runs: 409"
is "$(jq -r '[.id, .duplicate, .message] | join("|")' <<<"$BODY")" \
	"$G|true|job $G of the same name and inputs is still there; not submitted" "... with the twin's id, as submit --json"
# Four POSTs at once while nothing waits: two are taken, two are not.
curl -s --no-progress-meter --parallel --parallel-immediate -w '%{http_code}\n' -X POST \
	--data-binary @ok.yaml -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
	"$URL/jobs" "$URL/jobs" "$URL/jobs" "$URL/jobs" >codes 2>"$T/curl.err"
is "$(sort codes | uniq -c | awk '{print $2 "x" $1}' | xargs)" "201x2 429x2" \
	"4 POSTs at once with --max-pending 2: 2 taken, 2 answered 429"
wait_for eval '[ "$(jq -r .totalItems <<<"$(curl -s "$URL/jobs")")" -ge 1 ] && spool_empty'
read -r p2 p1 < <(curl -s "$URL/jobs?size=2" | jq -r '[.items[].id] | join(" ")')
wait_for eval "job_is $p2 PENDING"
req POST /jobs --data-binary @hello.yaml
is "$CODE" 429 "POST /jobs while 2 jobs wait (--max-pending 2): 429"
like "$(jq -r .message <<<"$BODY")" "2 jobs wait, and the daemon takes at most 2 \(daemon --max-pending\)" "... saying so"
is "$(header Retry-After)" 1 "... Retry-After: 1"
req GET "/jobs?size=1"
is "$(jq -r '.items[0].id' <<<"$BODY")" "$p2" "... and the job was not spooled"
req PUT "/jobs/$p2/cancel"
is "$CODE $BODY" '200 {"status":"OK"}' "PUT /jobs/ID/cancel of a PENDING job: 200"
wait_for job_is "$p2" CANCELLED
ok $? "... it is CANCELLED"
req PUT "/jobs/$G/cancel"
is "$CODE" 200 "PUT /jobs/ID/cancel of a RUNNING job: 200"
wait_for job_is "$G" CANCELLED
ok $? "... it is CANCELLED"
wait_for no_containers_left
ok $? "... and its container is gone"
req PUT "/jobs/$G/cancel"
is "$CODE" 409 "cancel of a CANCELLED job: 409"
is "$(jq -r .message <<<"$BODY")" "job $G is already CANCELLED" "... saying so"
wait_for job_is "$p1" COMPLETED
req PUT "/jobs/$G/restart"
is "$CODE $BODY" '200 {"status":"OK"}' "PUT /jobs/ID/restart of a CANCELLED job: 200"
wait_for eval '! job_is "$G" CANCELLED'
ok $? "... it is restarted"
wait_for compgen -G "$JOBRUN_HOME/work/$G/1.[2-9].*/hold"
gate_release "$G"
wait_for job_is "$G" COMPLETED
ok $? "... and runs to COMPLETED"
req PUT "/jobs/$G/restart"
is "$CODE" 409 "restart of a COMPLETED job: 409"
like "$(jq -r .message <<<"$BODY")" "only a FAILED or CANCELLED job can be restarted" "... saying so"

# ---------------------------------------------------------------- not there
req GET /jobs/000000000000
is "$CODE" 404 "GET /jobs/ID of no job: 404"
is "$(jq -r .message <<<"$BODY")" "no job matches '000000000000'" "... saying so"
req PUT /jobs/000000000000/cancel
is "$CODE" 404 "PUT /jobs/ID/cancel of no job: 404"
req GET /jobs/abc
is "$CODE" 404 "GET /jobs/abc (not an id): 404"
like "$(jq -r .message <<<"$BODY")" "ids are 12 lowercase hex digits, in full" "... saying what an id is"
req DELETE /jobs
is "$CODE" 405 "DELETE /jobs: 405"
is "$(header Allow)" "GET, POST" "... Allow: GET, POST"
req POST "/jobs/$ID/cancel"
is "$CODE $(header Allow)" "405 PUT" "POST /jobs/ID/cancel: 405, Allow: PUT"
req GET /nope
is "$CODE" 404 "an unknown endpoint: 404"

# ---------------------------------------------------------------- the engine away
stop_daemon
is "$?" 0 "the daemon stops on SIGTERM (exit 0)"
cat >docker-down <<EOF
#!/bin/sh
# docker, but down while $T/down exists
if [ -e '$T/down' ]; then
	echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2
	exit 1
fi
exec '$(command -v "$DOCKER")' "\$@"
EOF
chmod +x docker-down
: >down
JOBRUN_DOCKER=$T/docker-down start_daemon --listen 0 || BAIL_OUT "daemon"
URL=$("$JOBRUN" status --json | jq -r '.daemon.listen // empty')
wait_for grep -q 'event=engine.down' "$T/daemon.log"
req GET /ready
is "$CODE" 503 "GET /ready while the engine is down: 503"
like "$(jq -r .message <<<"$BODY")" "the container engine does not answer: cannot reach the container engine" "... saying why"
req GET /live
is "$CODE" 200 "... GET /live: 200 all the same"
rm -f down
wait_for -t 30 eval 'req GET /ready; [ "$CODE" = 200 ]'
ok $? "once the engine answers, /ready: 200"
stop_daemon

# ---------------------------------------------------------------- no --listen
start_daemon || BAIL_OUT "daemon"
run "$JOBRUN" status --json
is "$(jq -r '.daemon.listen' <<<"$OUT")" null "without --listen: status --json has no listen"
run "$JOBRUN" status
unlike "$OUT" "${NL}http:" "... and status says nothing of it"
stop_daemon

done_testing
