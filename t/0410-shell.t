#!/bin/bash
# daemon --runtime shell: tasks as processes of the daemon's user, no engine.
# Tork's keys as for containers (run, cmd, env, secrets, outputs, each, pre and
# post, files, retry, timeout, cancel, stop), what it refuses (sidecars, volumes,
# mounts, an engine), the step's process group gone when it ends, a crash.
JOBRUN_TEST_RUNTIME=shell
. "$(dirname "$0")/lib.sh"
need_jobrun
cd "$T" || BAIL_OUT "cd $T"
M=$$	# sleep 6N.$M: a mark in the command lines of this test's sleeps
procs() { pgrep -f -- "$1" >/dev/null; }
no_procs() { ! procs "$1"; }

run "$JOBRUN" daemon --runtime nosuch
like "$RC/$ERR" "^2/jobrun: --runtime takes docker, podman, swarm or shell, not 'nosuch'" \
	"an unknown runtime: exit 2, the four named"
run "$JOBRUN" daemon --runtime shell -q "b:1@unix:///run/x.sock"
like "$RC/$ERR" "^2/jobrun: -q QUEUE:N@ENGINE: the shell runtime runs tasks here" \
	"an engine with --runtime shell: exit 2"

start_daemon
ok $? "daemon --runtime shell starts (no engine needed)"
run "$JOBRUN" status --json
is "$RC/$(jq -r .daemon.runtime <<<"$OUT")" 0/shell "status: runtime shell, exit 0"
run "$JOBRUN" status
like "$OUT" "engine: +none \(the shell runtime runs tasks here\)" "status: no engine, and why"

cat >tork.yaml <<'EOF'
name: tork in a shell
secrets:
  TOKEN: s3cr3t-t0ken-value
tasks:
  - name: out
    image: alpine:3.18.3
    var: a
    env:
      GREETING: hello
      TOKEN: "{{ secrets.TOKEN }}"
    files:
      note.txt: from a file
    pre:
      - name: before
        image: alpine:3.18.3
        run: echo pre ran
    post:
      - name: after
        image: alpine:3.18.3
        run: echo post ran
    run: |
      echo "$GREETING in $(pwd)"
      cat note.txt
      echo "token=$TOKEN"
      printf "out-$GREETING" > $TORK_OUTPUT
  - name: argv
    image: x
    entrypoint: [printf]
    cmd: ["%s-%s", "argv", "form"]
  - name: fan
    each:
      list: "{{ sequence(1, 4) }}"
      task:
        image: x
        env:
          ITEM: "{{ item.value }}"
        run: printf "i$ITEM" > $TORK_OUTPUT
  - name: uses
    image: x
    env:
      A: "{{ tasks.a }}"
    run: printf "got-$A" > $TORK_OUTPUT
EOF
id=$(submit tork.yaml)
RUN_TIMEOUT=30 run "$JOBRUN" wait "$id"
is "$RC/$(job_state "$id")" 0/COMPLETED "a Tork job completes"
is "$(task_field "$id" 1 result)/$(job_json "$id" '.tasks[] | select(.name == "uses") | .result')" out-hello/got-out-hello \
	"outputs: TORK_OUTPUT read back, and passed on by an expression"
like "$(job_json "$id" '[.tasks[].result] | join(" ")')" "i1 i2 i3" "each: one process per item"
log1=$("$JOBRUN" logs "$id" 1)
like "$log1" "pre ran.*hello in $JOBRUN_HOME/work/$id/1\.1\.[0-9]+.*from a file.*post ran" \
	"pre, run (in the step's directory, with its files), post"
like "$log1" "token=\[REDACTED\]" "a secret is redacted from the log"
unlike "$log1" "s3cr3t" "... and does not appear"
is "$("$JOBRUN" logs "$id" 2)" "argv-form" "entrypoint and cmd: exec'd as argv"

# ---------------------------------------------------------------- #!, PATH, registry
mkdir -p "$T/bin"
printf '#!/bin/sh\necho "mytool ran with $1"\n' >"$T/bin/mytool"
chmod +x "$T/bin/mytool"
cat >more.yaml <<EOF
name: more
tasks:
  - name: shebang
    image: x
    run: |
      #!/bin/bash
      echo "bash=\${BASH_VERSION:+yes}"
  - name: own PATH
    image: x
    env:
      PATH: $T/bin:/usr/bin:/bin
    cmd: [mytool, arg1]
  - name: registry
    image: private.example/x:1
    registry:
      username: u
      password: pw-never-written
    run: echo "dc=\${DOCKER_CONFIG:-none}"
EOF
id=$(submit more.yaml)
RUN_TIMEOUT=30 run "$JOBRUN" wait "$id"
is "$RC" 0 "a job with a #! script, a PATH of its own and registry credentials completes"
is "$("$JOBRUN" logs "$id" 1)" "bash=yes" "a script's #! line is heeded (it ran under bash)"
is "$("$JOBRUN" logs "$id" 2)" "mytool ran with arg1" "cmd is found in the step's own PATH"
is "$("$JOBRUN" logs "$id" 3)" "dc=none" \
	"registry: no DOCKER_CONFIG (no credentials written) for a step of the shell runtime"

# ---------------------------------------------------------------- retry, timeout
cat >fails.yaml <<'EOF'
name: fails
tasks:
  - name: three times
    image: x
    retry:
      limit: 2
    run: exit 3
EOF
id=$(submit fails.yaml)
RUN_TIMEOUT=30 run "$JOBRUN" wait "$id"
is "$RC/$(task_field "$id" 1 attempt)/$(task_field "$id" 1 exitCode)" 4/3/3 \
	"retry: three attempts, the exit status is the step's own"
[ -e "$JOBRUN_HOME/logs/$id/1.log" ]
isnt $? 0 "a task that printed nothing has no log file (made at the first output)"
run "$JOBRUN" logs "$id" 1
is "$RC/$OUT" 0/ "... and logs shows it empty, exit 0"

sed "s/MARK/$M/" >slow.yaml <<'EOF'
name: slow
tasks:
  - name: times out
    image: x
    timeout: 1s
    run: sleep 61.MARK
EOF
id=$(submit slow.yaml)
RUN_TIMEOUT=30 run "$JOBRUN" wait "$id"
like "$RC/$(task_field "$id" 1 error)" "^4/timed out after 1s" "timeout: FAILED, timed out"
wait_for -t 5 no_procs "sleep 61.$M"
ok $? "... its process is killed"

# ---------------------------------------------------------------- cancel, stop, leftovers
sed "s/MARK/$M/" >long.yaml <<'EOF'
name: long
tasks:
  - name: sleeps
    image: x
    run: |
      trap 'echo got TERM; exit 0' TERM
      echo up
      sleep 62.MARK & wait
EOF
up() { [[ $("$JOBRUN" logs "$1" 1 2>/dev/null) =~ up ]]; }
id=$(submit long.yaml)
wait_for up "$id"
ok $? "a long task runs"
run "$JOBRUN" cancel "$id"
is "$RC/$(job_state "$id")" 0/CANCELLED "cancel: CANCELLED"
wait_for -t 5 no_procs "sleep 62.$M"
ok $? "... its process group is killed"

id=$(submit long.yaml)
wait_for up "$id"
RUN_TIMEOUT=30 run "$JOBRUN" stop -t 5 "$id"
is "$RC/$(job_state "$id")" 0/CANCELLED "stop -t 5: CANCELLED"
wait_for -t 5 eval '[[ $("$JOBRUN" logs "$id" 1) =~ "got TERM" ]]'
ok $? "... the step got SIGTERM first, and could say so"
wait_for -t 5 no_procs "sleep 62.$M"
ok $? "... nothing of it is left"

sed "s/MARK/$M/" >bg.yaml <<'EOF'
name: leaves a child
tasks:
  - name: forks
    image: x
    run: |
      sleep 63.MARK &
      echo forked
EOF
id=$(submit bg.yaml)
RUN_TIMEOUT=30 run "$JOBRUN" wait "$id"
is "$RC" 0 "a task that leaves a background process completes"
wait_for -t 5 no_procs "sleep 63.$M"
ok $? "... and the process it left is killed with its group, as a container's would be"

# ---------------------------------------------------------------- refused
refused() { # WHAT TASK-LINES...: a one-task job with those lines fails, saying so
	local what=$1 id
	shift
	printf 'name: refused\ntasks:\n  - name: t\n    image: x\n' >refused.yaml
	printf '    %s\n' "$@" >>refused.yaml
	id=$(submit refused.yaml)
	RUN_TIMEOUT=30 run "$JOBRUN" wait "$id"
	is "$RC/$(task_field "$id" 1 error)" "4/the shell runtime (daemon --runtime shell) $what" \
		"the task fails: $what"
}
refused "runs no sidecars" "sidecars:" "  - name: db" "    image: x" "    run: sleep 5" "run: true"
refused "runs no mounts" "mounts:" "  - type: volume" "    target: /data" "run: true"
refused "runs no volumes" "volumes: [/data]" "run: true"
refused "needs run, cmd or entrypoint: an image's own command is not known"

# ---------------------------------------------------------------- a crash
sed "s/MARK/$M/" >gate.yaml <<'EOF'
name: gate
secrets:
  PW: pa55-MARK-word
tasks:
  - name: waits
    image: x
    env:
      PW: "{{ secrets.PW }}"
    run: |
      touch hold
      echo started
      i=0
      while [ -e hold ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
      printf done > $TORK_OUTPUT
EOF
id=$(submit gate.yaml)
wait_for gate_started "$id"
ok $? "a task runs"
# (grep exits 2 when some /proc file cannot be read: its output says)
is "$(grep -l -- "pa55-$M-word" /proc/[0-9]*/cmdline 2>/dev/null)" "" \
	"its secret is on no process's command line"
grep -q -- "pa55-$M-word" /proc/[0-9]*/environ 2>/dev/null
is $? 0 "... but in its environment"
kill_daemon
is $? 137 "the daemon is killed (SIGKILL)"
start_daemon
ok $? "a new daemon starts"
wait_for -t 10 eval '[ "$(ls -d "$JOBRUN_HOME/work/$id"/1.* 2>/dev/null | wc -l)" -ge 1 ] && [ "$(grep -c started <("$JOBRUN" logs "$id" 1))" = 2 ]'
ok $? "the step runs again (a process cannot be reattached)"
gate_release "$id"
RUN_TIMEOUT=30 run "$JOBRUN" wait "$id"
is "$RC/$(task_field "$id" 1 result)" 0/done "the job completes"

stop_daemon
is $? 0 "the daemon stops on SIGTERM"
no_procs "sleep 6[0-9]\.$M"
ok $? "no process of this test's tasks is left"
done_testing
