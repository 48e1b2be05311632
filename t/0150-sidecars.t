#!/bin/bash
# sidecars: containers beside a task, sharing its network (localhost), with an
# HTTP probe that must answer before the task starts; a probe that never
# answers fails the attempt after its timeout; sidecars go with the attempt;
# sidecars survive a daemon restart; validation.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"

cat >web.yaml <<'EOF'
name: sidecar web
tasks:
  - name: client
    image: jobrun-test:latest
    sidecars:
      - name: web
        image: jobrun-test:latest
        # the health page appears only after a second: the probe must wait for it
        run: mkdir -p /www; (sleep 1; echo ok-from-sidecar > /www/health) & exec httpd -f -p 8080 -h /www
        probe: {path: /health, port: 8080, timeout: 20s}
      - name: second
        image: jobrun-test:latest
        run: mkdir -p /w2 && echo two > /w2/x && httpd -f -p 8081 -h /w2
    run: wget -q -O - http://localhost:8080/health; wget -q -O - http://localhost:8081/x
EOF

cat >deaf.yaml <<'EOF'
name: sidecar deaf
tasks:
  - name: never starts
    image: jobrun-test:latest
    sidecars:
      - name: mute
        image: jobrun-test:latest
        cmd: [sleep, "60"]
        probe: {port: 9, timeout: 2s}
    run: echo should-not-run
EOF

cat >bad.yaml <<'EOF'
name: bad sidecars
tasks:
  - image: jobrun-test:latest
    sidecars:
      - name: no image
        run: "true"
      - image: jobrun-test:latest
        probe: {path: /x}
  - parallel:
      tasks: [{image: jobrun-test:latest}]
    sidecars:
      - image: jobrun-test:latest
EOF

# ---------------------------------------------------------------- validation
run "$JOBRUN" submit bad.yaml
is "$RC" 3 "bad sidecars: exit 3"
like "$ERR" "bad.yaml:5:9: tasks\\[0\\]\\.sidecars\\[0\\]: missing required field 'image'" \
	"a sidecar needs an image"
like "$ERR" "bad.yaml:8:16: tasks\\[0\\]\\.sidecars\\[1\\]: probe: missing required field 'port'" \
	"a probe needs a port"
like "$ERR" "tasks\\[1\\]: a parallel task sets no 'sidecars'" "a composite task has no sidecars"

start_daemon -q default:4

# ---------------------------------------------------------------- a probe that answers
web=$(submit web.yaml)
deaf=$(submit deaf.yaml)
run "$JOBRUN" wait "$web"
is "$RC" 0 "the job with sidecars completes"
run "$JOBRUN" logs "$web"
like "$OUT" "ok-from-sidecar" "the task reached the first sidecar on localhost, after its probe answered"
like "$OUT" "two" "... and the second sidecar, in the same network"
started=$(job_json "$web" '.tasks[0].startedAt')
ok $? "the task has a start time ($started)"

# ---------------------------------------------------------------- a probe that never answers
run "$JOBRUN" wait "$deaf"
is "$RC" 4 "a sidecar whose probe never answers fails the job"
like "$(task_field "$deaf" 1 error)" "^sidecars\\[0\\] mute: no answer on port 9 within 2s$" \
	"... with an error naming the sidecar, the port and the timeout"
run "$JOBRUN" logs "$deaf"
unlike "$OUT" "should-not-run" "... and the task's own container never ran"

# ---------------------------------------------------------------- nothing left behind
wait_for -t 20 eval '[ -z "$(containers all)" ]'
ok $? "the sidecars are removed with their attempt" || diag "$(containers all)"

# ---------------------------------------------------------------- across a restart
cat >slow.yaml <<'EOF'
name: sidecar restart
tasks:
  - name: slow client
    image: jobrun-test:latest
    sidecars:
      - name: web
        image: jobrun-test:latest
        run: mkdir -p /www && echo still-here > /www/x && httpd -f -p 8080 -h /www
        probe: {path: /x, port: 8080}
    run: sleep 3; wget -q -O - http://localhost:8080/x
EOF
slow=$(submit slow.yaml)
wait_for -t 20 eval '[ "$(task_field "$slow" 1 state)" = RUNNING ]'
ok $? "the task runs beside its sidecar"
kill_daemon
start_daemon -q default:4
run "$JOBRUN" wait "$slow"
is "$RC" 0 "after a daemon restart the task completes"
run "$JOBRUN" logs "$slow" 1
like "$OUT" "still-here" "... still reaching its sidecar"
wait_for -t 20 eval '[ -z "$(containers all)" ]'
ok $? "nothing of this home is left" || diag "$(containers all)"

done_testing
