#!/bin/bash
# {{ expressions }} end to end (issue 3), through the real binary and engine:
# Tork's documentation examples for inputs, conditional tasks (if -> SKIPPED),
# expressions with functions, outputs between tasks and defaults; expressions
# in env, cmd, image, queue, name, var, pre/post and the job's output
# (-> result); -i overriding an input an `if` reads; run-time evaluation
# errors (the task FAILED with the message, the daemon unharmed); and
# submit-time syntax errors at the exact FILE:LINE:COL of the bad token.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"
NL=$'\n'

# ================================================================ submit time
# One file with a syntax error in many evaluated fields: every one is reported,
# one line each, at the line and column of the offending token in the file
# (the quote of a quoted scalar is not part of its text; escapes like '' and
# \" take two columns in the file but one character in the value).
cat >syntax.yaml <<'EOF'
name: syntax errors
output: "result {{ 1 + }}"
tasks:
  - image: "{{ upper( }}"
    if: "{{ inputs.a == }}"
    cmd: [echo, "{{ ) }}"]
  - image: jobrun-{{ 1 + }}
    queue: '{{ inputs.q ?? }}'
    name: "step {{ 2 * }}"
    env:
      OK: "{{ 1 + 1 }}"
      BAD: "{{ [1, 2 }}"
  - image: jobrun-test
    if: '{{ ''yes'' == }}'
    name: "{{ \"a\" + }}"
  - image: jobrun-test
    if: |
      {{ true && }}
    pre:
      - image: jobrun-test
        cmd: [echo, "ok", "{{ len( }}"]
EOF
run "$JOBRUN" submit syntax.yaml
is "$RC" 3 "syntax errors: exit 3"
is "$OUT" "" "syntax errors: nothing on stdout"
is "$(count_files "$JOBRUN_HOME/spool/new")+$(count_files "$JOBRUN_HOME/spool/tmp")" "0+0" \
	"syntax errors: nothing spooled"
has_line() { # WANT DESC: ERR has the line WANT
	if printf '%s\n' "$ERR" | grep -qxF -- "$1"; then
		pass "$2"
	else
		fail "$2"
		diag "no line '$1' in:" "$ERR"
	fi
}
has_line "syntax.yaml:2:24: output: unexpected token '}}'" "syntax: job output"
has_line "syntax.yaml:4:23: tasks[0].image: unexpected token '}}'" "syntax: image (double-quoted)"
has_line "syntax.yaml:5:25: tasks[0].if: unexpected token '}}'" "syntax: if"
has_line "syntax.yaml:6:21: tasks[0].cmd: unexpected token ')'" "syntax: a cmd item in a flow list"
has_line "syntax.yaml:7:26: tasks[1].image: unexpected token '}}'" "syntax: image (plain scalar, text before the {{)"
like "$ERR" "(^|$NL)syntax\\.yaml:8:28: tasks\\[1\\]\\.queue: [^$NL]+" "syntax: queue (single-quoted)"
has_line "syntax.yaml:9:24: tasks[1].name: unexpected token '}}'" "syntax: task name"
like "$ERR" "(^|$NL)syntax\\.yaml:12:22: tasks\\[1\\]\\.env\\.BAD: [^$NL]+" "syntax: env value (unclosed array)"
unlike "$ERR" "env\\.OK" "syntax: a valid env value next to a bad one is not reported"
has_line "syntax.yaml:14:24: tasks[2].if: unexpected token '}}'" \
	"syntax: column counts the file's '' (an escaped quote in a single-quoted scalar) as 2"
has_line "syntax.yaml:15:23: tasks[2].name: unexpected token '}}'" \
	"syntax: column counts the file's \\\" (an escaped quote in a double-quoted scalar) as 2"
has_line "syntax.yaml:18:18: tasks[3].if: unexpected token '}}'" \
	"syntax: a literal block scalar (if: |) reports the line and column of the content"
has_line "syntax.yaml:21:36: tasks[3].pre[0].cmd: unexpected token '}}'" "syntax: a cmd item of a pre task"
is "$(printf '%s\n' "$ERR" | wc -l | tr -d ' ')" 12 "syntax: 12 problems, one line each"

# Scalars over several lines: the position is where the token is in the file,
# past the indentation a block or a quoted scalar strips from its value (and
# columns count characters, like libyaml's, not bytes).
cat >multiline.yaml <<'EOF'
name: multi-line expressions
tasks:
  - image: jobrun-test
    if: |
      {{ true
         && }}
  - image: jobrun-test
    cmd:
      - >
        {{ 1 +
        }}
  - image: jobrun-test
    name: "{{ 1
      + }}"
    env:
      A: "{{ 'é' + }}"
      C: "{{ 1 \
        + }}"
EOF
run "$JOBRUN" submit multiline.yaml
is "$RC" 3 "multi-line syntax errors: exit 3"
has_line "multiline.yaml:6:13: tasks[0].if: unexpected token '}}'" "syntax: second line of a literal block scalar"
has_line "multiline.yaml:11:9: tasks[1].cmd: unexpected token '}}'" "syntax: second line of a folded block scalar"
has_line "multiline.yaml:14:9: tasks[2].name: unexpected token '}}'" "syntax: second line of a double-quoted scalar"
has_line "multiline.yaml:16:21: tasks[2].env.A: unexpected token '}}'" "syntax: a non-ASCII character counts as one column"
has_line "multiline.yaml:18:11: tasks[2].env.C: unexpected token '}}'" "syntax: after an escaped line break in a double-quoted scalar"

# ================================================================ run time: job files
# Tork's inputs example (jobs page) and its message example (tasks page).
cat >inputs.yaml <<'EOF'
name: mov to mp4
inputs:
  source: https://example.com/path/to/video.mov
  message: hello world
tasks:
  - name: convert the video to mp4
    image: alpine:3.18.3
    env:
      SOURCE_URL: '{{ inputs.source }}'
    run: |
      echo ffmpeg -i $SOURCE_URL /tmp/output.mp4
  - name: say something
    image: ubuntu:mantic
    env:
      MESSAGE: '{{ inputs.message }}'
    run: |
      echo $MESSAGE
EOF

# Tork's conditional example as written: run is 'false', the only task is skipped.
cat >cond-doc.yaml <<'EOF'
name: example job
inputs:
  run: 'false'
tasks:
  - name: say something
    if: "{{ inputs.run == 'true' }}"
    image: ubuntu:mantic
    run: |
      echo "this should not execute"
EOF

cat >cond.yaml <<'EOF'
name: conditional job
inputs:
  run: "yes"
tasks:
  - name: runs when yes
    if: "{{ inputs.run == 'yes' }}"
    image: jobrun-test:latest
    run: echo -n ran > $TORK_OUTPUT
  - name: runs when no
    if: "{{ inputs.run == 'no' }}"
    image: jobrun-test:latest
    run: echo -n ran-no > $TORK_OUTPUT
  - name: a padded literal false
    if: "  false  "
    image: jobrun-test:latest
    run: echo -n should not run > $TORK_OUTPUT
  - name: False is not false
    if: "{{ 'False' }}"
    var: flag
    image: jobrun-test:latest
    run: echo -n go > $TORK_OUTPUT
  - name: on an earlier output
    if: "{{ tasks.flag == 'go' && len(inputs.run) > 0 }}"
    image: jobrun-test:latest
    run: echo -n after-go > $TORK_OUTPUT
  - name: the last task, skipped when yes
    if: "{{ inputs.run != 'yes' }}"
    image: jobrun-test:latest
    run: echo -n last > $TORK_OUTPUT
EOF

# Functions, reaching the container through env and cmd, checked in its log.
cat >funcs.yaml <<'EOF'
name: functions job
inputs:
  csv: "a,b,c"
  n: "6"
tasks:
  - name: functions in env
    image: jobrun-test:latest
    env:
      UP: "{{ upper(job.name) }}"
      LEN: '{{ len("hello world") }}'
      JOINED: "{{ join(split(inputs.csv, ','), '-') }}"
      COUNT: "{{ len(split(inputs.csv, ',')) }}"
      SEQ: "{{ sequence(1, 4) }}"
      JSON: "{{ toJSON({'k': [1, 'x']}) }}"
      MATH: "{{ int(inputs.n) * 7 }} {{ 2 ** 10 }} {{ 7 / 2 }} {{ 17 % 5 }} {{ (1 + 2) * 3 - 4 }}"
      TERN: "{{ len(inputs.csv) > 3 ? 'long' : 'short' }}/{{ int(inputs.n) < 5 ? 'small' : 'big' }}"
    run: |
      for v in UP LEN JOINED COUNT SEQ JSON MATH TERN; do
        eval "printf '%s=%s\n' $v \"\$$v\""
      done
  - name: functions in cmd
    image: jobrun-test:latest
    cmd: [echo, "{{ lower('ABC') }}", "{{ 6 * 7 }}", "n={{ len(sequence(1, 11)) }}", "{{ repeat('ab', 3) }}"]
EOF

# Outputs between tasks (var + tasks.X inside larger expressions); the job's output.
cat >outputs.yaml <<'EOF'
name: outputs job
output: "total={{ int(tasks.count) + len(fromJSON(tasks.info).n) }}, {{ tasks.final }}"
tasks:
  - name: produce a number
    var: count
    image: jobrun-test:latest
    run: echo -n 5 > $TORK_OUTPUT
  - name: produce json
    var: info
    image: jobrun-test:latest
    run: echo -n '{"who":"ann","n":[1,2,3]}' > $TORK_OUTPUT
  - name: consume both
    var: final
    image: jobrun-test:latest
    env:
      DOUBLE: "{{ int(tasks.count) * 2 }}"
      MIX: "n={{ tasks.count }}, next={{ int(tasks.count) + 1 }}, who={{ upper(fromJSON(tasks.info).who) }}, len={{ len(fromJSON(tasks.info).n) }}"
    run: printf '%s|%s' "$DOUBLE" "$MIX" > $TORK_OUTPUT
EOF

# Expressions in image, queue, name (with an earlier task's output), pre and post.
cat >fields.yaml <<'EOF'
name: fields job
inputs:
  repo: alpine
  tag: "3.18.3"
  lane: fast
tasks:
  - name: "build {{ upper(inputs.lane) }} #{{ 1 + 1 }}"
    var: v
    image: "{{ inputs.repo }}:{{ inputs.tag }}"
    queue: "{{ inputs.lane }}-lane"
    run: |
      echo main
      echo -n out1 > $TORK_OUTPUT
    pre:
      - name: "pre {{ inputs.lane }}"
        image: "{{ inputs.repo }}:latest"
        env:
          P: "{{ upper(inputs.lane) }}"
        run: echo "pre $P"
    post:
      - image: "{{ 'ubuntu' }}:mantic"
        cmd: [echo, "post {{ 2 * 21 }}"]
  - name: "{{ job.name }}-{{ tasks.v }}"
    image: jobrun-test:latest
    run: "true"
EOF

# var is evaluated too (as in Tork): the output lands under the evaluated name.
cat >var.yaml <<'EOF'
name: var job
inputs:
  vn: dyn
tasks:
  - name: set an evaluated var
    var: "{{ inputs.vn }}"
    image: jobrun-test:latest
    run: echo -n produced > $TORK_OUTPUT
  - name: read it
    image: jobrun-test:latest
    env:
      V: "{{ tasks['dyn'] ?? 'missing' }}"
    run: echo -n "$V" > $TORK_OUTPUT
EOF

# Tork's defaults example, with a short timeout so that it runs quickly here
# (only the last task lives by it).
cat >defaults.yaml <<'EOF'
name: defaults job
defaults:
  retry:
    limit: 1
  limits:
    cpus: 1
    memory: 64m
  timeout: 2s
  queue: highcpu
  priority: 3
tasks:
  - name: inherits all but the timeout
    timeout: 1m
    image: jobrun-test:latest
    run: |
      cd /sys/fs/cgroup
      if [ -f memory.max ]; then cat memory.max; else cat memory/memory.limit_in_bytes; fi
  - name: its own values win
    queue: default
    priority: 7
    timeout: 1m
    limits:
      memory: 32m
    image: jobrun-test:latest
    run: |
      sleep 2.5
      cd /sys/fs/cgroup
      if [ -f memory.max ]; then cat memory.max; else cat memory/memory.limit_in_bytes; fi
  - name: inherited retry and timeout
    image: jobrun-test:latest
    run: |
      echo attempt
      sleep 30
EOF

cat >own-retry.yaml <<'EOF'
name: own retry
defaults:
  retry:
    limit: 1
tasks:
  - name: no retries of its own
    retry:
      limit: 0
    image: jobrun-test:latest
    run: exit 3
EOF

# Run-time evaluation errors: valid syntax, but the evaluation fails.
cat >err-env.yaml <<'EOF'
name: eval error in env
tasks:
  - name: fine
    image: jobrun-test:latest
    run: echo -n fine > $TORK_OUTPUT
  - name: bad add
    image: jobrun-test:latest
    env:
      OK: "{{ 1 + 1 }}"
      X: "{{ 'v' + 1 }}"
    run: echo never
  - name: never
    image: jobrun-test:latest
    run: echo never
EOF
cat >err-cmd.yaml <<'EOF'
name: eval error in cmd
tasks:
  - name: bad int
    image: jobrun-test:latest
    cmd: [echo, "{{ int('x') }}"]
EOF
cat >err-if.yaml <<'EOF'
name: eval error in if
tasks:
  - name: bad division
    if: "{{ 1 / 0 }}"
    image: jobrun-test:latest
    run: echo never
EOF
cat >err-image.yaml <<'EOF'
name: eval error in image
tasks:
  - name: unknown name
    image: "{{ nosuch.x }}"
    run: echo never
EOF
cat >err-name.yaml <<'EOF'
name: eval error in name
tasks:
  - name: "{{ upper(1) }}"
    image: jobrun-test:latest
    run: echo never
EOF

# ================================================================ run time: submit and run
sub() { # [OPTS] FILE: submit, print the id
	submit "$@" || diag "submit $* failed: $(tail -n 3 "$T/submit.err")"
}
inputs=$(sub inputs.yaml)
conddoc=$(sub cond-doc.yaml)
condyes=$(sub cond.yaml)
condno=$(sub -i run=no cond.yaml)
funcs=$(sub funcs.yaml)
outputs=$(sub outputs.yaml)
fields=$(sub fields.yaml)
varjob=$(sub var.yaml)
defaults=$(sub defaults.yaml)
ownretry=$(sub own-retry.yaml)
errenv=$(sub err-env.yaml)
errcmd=$(sub err-cmd.yaml)
errif=$(sub err-if.yaml)
errimage=$(sub err-image.yaml)
errname=$(sub err-name.yaml)
ids=("$inputs" "$conddoc" "$condyes" "$condno" "$funcs" "$outputs" "$fields" "$varjob"
	"$defaults" "$ownretry" "$errenv" "$errcmd" "$errif" "$errimage" "$errname")
n=0
for id in "${ids[@]}"; do [[ $id =~ ^[0-9a-f]{12}$ ]] && n=$((n + 1)); done
is "$n" "${#ids[@]}" "every job file is accepted at submit"

start_daemon -q default:4 -q highcpu:2 -q fast-lane:2 || BAIL_OUT "the daemon did not start"
all_final() {
	local id
	for id in "${ids[@]}"; do job_final "$id" || return 1; done
}
wait_for -t 45 all_final
ok $? "every job ends" || for id in "${ids[@]}"; do diag "$id: $(job_state "$id")"; done

states() { job_json "$1" '[.tasks[].state] | join(",")'; }

# ---------------------------------------------------------------- inputs
is "$(states "$inputs")" "COMPLETED,COMPLETED" "inputs (Tork docs): both tasks COMPLETED"
run "$JOBRUN" logs "$inputs" 1
is "$OUT" "ffmpeg -i https://example.com/path/to/video.mov /tmp/output.mp4" \
	"inputs: {{ inputs.source }} reached the container through env"
run "$JOBRUN" logs "$inputs" 2
is "$OUT" "hello world" "inputs: {{ inputs.message }} reached the container through env"

# ---------------------------------------------------------------- conditions
is "$(job_state "$conddoc")" COMPLETED "if (Tork docs): a job whose only task is skipped is COMPLETED"
is "$(states "$conddoc")" SKIPPED "if (Tork docs): inputs.run 'false' != 'true': the task is SKIPPED"
is "$(job_json "$conddoc" '.tasks[0] | has("exitCode")')" false "if (Tork docs): a SKIPPED task ran no container"

is "$(job_state "$condyes")" COMPLETED "if: the job COMPLETED although its last task was skipped"
is "$(states "$condyes")" "COMPLETED,SKIPPED,SKIPPED,COMPLETED,COMPLETED,SKIPPED" \
	"if: == 'yes' runs, == 'no' is skipped, padded 'false' skipped, 'False' runs, tasks.X works, last skipped"
is "$(job_json "$condyes" '[.tasks[] | .result // "-"] | join(",")')" "ran,-,-,go,after-go,-" \
	"if: only the tasks that ran have results"
run "$JOBRUN" logs "$condyes" 2
is "$OUT" "" "if: a SKIPPED task has an empty log"

is "$(job_json "$condno" .inputs.run)" no "-i run=no: show --json has the overridden input"
is "$(states "$condno")" "SKIPPED,COMPLETED,SKIPPED,COMPLETED,COMPLETED,COMPLETED" \
	"-i run=no flips the if of the first, second and last tasks"
is "$(job_json "$condno" '[.tasks[] | .result // "-"] | join(",")')" "-,ran-no,-,go,after-go,last" \
	"-i run=no: results"
is "$(job_state "$condno")" COMPLETED "-i run=no: COMPLETED"

# ---------------------------------------------------------------- functions
is "$(states "$funcs")" "COMPLETED,COMPLETED" "functions: both tasks COMPLETED"
run "$JOBRUN" logs "$funcs" 1
flog=$OUT
like "$flog" "(^|$NL)UP=FUNCTIONS JOB($NL|\$)" "functions: upper(job.name)"
like "$flog" "(^|$NL)LEN=11($NL|\$)" "functions: len(\"hello world\") (Tork docs)"
like "$flog" "(^|$NL)JOINED=a-b-c($NL|\$)" "functions: join(split(csv, ','), '-')"
like "$flog" "(^|$NL)COUNT=3($NL|\$)" "functions: len(split(...))"
like "$flog" "(^|$NL)SEQ=\\[1,2,3\\]($NL|\$)" "functions: sequence(1, 4) excludes the stop (printed as JSON)"
like "$flog" "(^|$NL)JSON=\\{$NL  \"k\": \\[$NL    1,$NL    \"x\"$NL  \\]$NL\\}($NL|\$)" \
	"functions: toJSON is expr-lang's indented JSON, newlines and all, through env"
like "$flog" "(^|$NL)MATH=42 1024 3\\.5 2 5($NL|\$)" "functions: * ** / % and parentheses"
like "$flog" "(^|$NL)TERN=long/big($NL|\$)" "functions: ternaries"
run "$JOBRUN" logs "$funcs" 2
is "$OUT" "abc 42 n=10 ababab" "functions: lower, arithmetic, len(sequence), repeat in cmd items"

# ---------------------------------------------------------------- outputs between tasks, job output
is "$(states "$outputs")" "COMPLETED,COMPLETED,COMPLETED" "outputs: all COMPLETED"
is "$(task_field "$outputs" 3 result)" "10|n=5, next=6, who=ANN, len=3" \
	"outputs: tasks.X inside larger expressions (int(), fromJSON().field, text around)"
is "$(job_json "$outputs" '.result // empty')" "total=8, 10|n=5, next=6, who=ANN, len=3" \
	"output: the job's output expression is its result"
is "$(job_json "$inputs" 'has("result")')" false "output: a job without output has no result"

# ---------------------------------------------------------------- image, queue, name, pre/post
is "$(states "$fields")" "COMPLETED,COMPLETED" "fields: the evaluated image ran (both tasks COMPLETED)"
is "$(task_field "$fields" 1 name)" "build FAST #2" "name: evaluated, shown by show --json"
is "$(task_field "$fields" 1 queue)" "fast-lane" "queue: evaluated, shown by show --json"
is "$(task_field "$fields" 2 name)" "fields job-out1" "name: may use an earlier task's output"
run "$JOBRUN" show "$fields"
like "$OUT" "build FAST #2" "name: show (plain) prints the evaluated name"
unlike "$OUT" "\\{\\{" "name: show (plain) prints no {{"
run "$JOBRUN" logs "$fields" 1
is "$OUT" "pre FAST${NL}main${NL}post 42" "pre/post: image, env and cmd evaluated"

# ---------------------------------------------------------------- var
is "$(task_field "$varjob" 1 var)" dyn "var: evaluated ({{ inputs.vn }} -> dyn)"
is "$(task_field "$varjob" 2 result)" produced "var: the output is under the evaluated name"

# ---------------------------------------------------------------- defaults
is "$(states "$defaults")" "COMPLETED,COMPLETED,FAILED" "defaults: states"
is "$(job_json "$defaults" '[.tasks[].queue] | join(",")')" "highcpu,default,highcpu" \
	"defaults: queue inherited; a task's own queue wins"
is "$(job_json "$defaults" '[.tasks[].priority] | join(",")')" "3,7,3" \
	"defaults: priority inherited; a task's own priority wins"
run "$JOBRUN" logs "$defaults" 1
is "$OUT" 67108864 "defaults: limits.memory 64m reached the container"
run "$JOBRUN" logs "$defaults" 2
is "$OUT" 33554432 "defaults: a task's own limits.memory (32m) wins"
is "$(task_field "$defaults" 2 attempt)" 1 "defaults: own timeout 1m wins (a 2.5s task passes in 1 attempt; the default is 2s)"
like "$(task_field "$defaults" 3 error)" '^timed out after 2(\.0)?s$' "defaults: timeout 2s inherited"
is "$(task_field "$defaults" 3 attempt)" 2 "defaults: retry.limit 1 inherited (2 attempts)"
run "$JOBRUN" logs "$defaults" 3
is "$OUT" "attempt${NL}attempt" "defaults: the log shows the 2 attempts"
is "$(task_field "$ownretry" 1 attempt)" 1 "defaults: a task's own retry.limit 0 wins over the default 1"
is "$(task_field "$ownretry" 1 error)" "exit code 3" "defaults: own retry: exit code 3"

# ---------------------------------------------------------------- run-time errors
is "$(job_state "$errenv")" FAILED "eval error in env: the job FAILED"
is "$(states "$errenv")" "COMPLETED,FAILED,CREATED" "eval error in env: the task before ran, the one after never"
is "$(task_field "$errenv" 2 error)" "env.X: cannot add string and int" \
	"eval error in env: the task's error names the field and the reason"
is "$(job_json "$errenv" .error)" "task 2 (bad add): env.X: cannot add string and int" \
	"eval error in env: the job's error"
is "$(job_json "$errenv" '.tasks[1] | has("exitCode")')" false "eval error in env: no container ran"
is "$(task_field "$errcmd" 1 state)" FAILED "eval error in cmd: FAILED"
is "$(task_field "$errcmd" 1 error)" 'cmd: int: cannot parse "x"' "eval error in cmd: int('x')"
is "$(task_field "$errif" 1 state)" FAILED "eval error in if: FAILED (not skipped, not run)"
is "$(task_field "$errif" 1 error)" "if: division by zero" "eval error in if: 1 / 0"
is "$(job_state "$errif")" FAILED "eval error in if: the job FAILED"
is "$(task_field "$errimage" 1 error)" "image: unknown name 'nosuch'" "eval error in image: unknown name"
is "$(task_field "$errname" 1 error)" "name: upper: expected a string, got int" "eval error in name"
is "$(job_state "$errname")" FAILED "eval error in name: the job FAILED"

daemon_alive
ok $? "the daemon survived every evaluation error"
id=$(submit "$TD/jobs/hello.yaml")
wait_for -t 20 job_final "$id"
is "$(job_state "$id")" COMPLETED "a job submitted after the errors still runs"

stop_daemon
is $? 0 "the daemon exits 0 on SIGTERM"

done_testing
