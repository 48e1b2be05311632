#!/bin/bash
# Jobs run end to end through the real docker engine: Tork's hello, outputs and
# pre/post/volumes examples; inputs and -i; {{ job.id }} / {{ job.name }}; cmd,
# entrypoint, workdir; resource limits reach the container; env values reach it
# verbatim; $JOBRUN_OUTPUT; a multi-line result; a JSON job on stdin.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"
NL=$'\n'

# ---------------------------------------------------------------- job files
cat >inputs.yaml <<'EOF'
name: inputs job
inputs:
  x: from-file
  y: kept
tasks:
  - name: read inputs
    image: jobrun-test:latest
    env:
      X: "{{ inputs.x }}"
      Y: "{{inputs.y}}"
      XY: "<{{ inputs.x }}|{{ inputs.y }}>"
    run: printf '%s;%s;%s' "$X" "$Y" "$XY" > $TORK_OUTPUT
EOF

cat >jobvars.yaml <<'EOF'
name: job vars job
tasks:
  - name: id and name
    image: jobrun-test:latest
    env:
      ID: "{{ job.id }}"
      N: "{{ job.name }}"
      BOTH: "{{ job.name }}/{{ job.id }}"
    run: printf '%s;%s;%s' "$ID" "$N" "$BOTH" > $TORK_OUTPUT
EOF

# Each task here writes its observation to the log (or its result).
cat >container.yaml <<'EOF'
name: container job
tasks:
  - name: cmd only
    image: jobrun-test:latest
    cmd: [echo, -n, hi]
  - name: entrypoint and cmd
    image: jobrun-test:latest
    entrypoint: [/bin/echo]
    cmd: [from, the, entrypoint]
  - name: entrypoint with run
    image: jobrun-test:latest
    entrypoint: [cat]
    run: echo this script is printed, not run
  - name: default workdir with run
    image: jobrun-test:latest
    run: pwd > $TORK_OUTPUT
  - name: workdir with run
    image: jobrun-test:latest
    workdir: /etc
    run: pwd > $TORK_OUTPUT
  - name: workdir with cmd
    image: jobrun-test:latest
    workdir: /bin
    cmd: [pwd]
EOF

# cgroup v2 (memory.max, cpu.max) or v1 (memory/memory.limit_in_bytes, cpu/cpu.cfs_*)
cat >limits.yaml <<'EOF'
name: limits job
tasks:
  - name: limited
    image: jobrun-test:latest
    limits:
      cpus: "0.5"
      memory: 64m
    run: |
      cd /sys/fs/cgroup
      if [ -f memory.max ]; then cat memory.max; else cat memory/memory.limit_in_bytes; fi
      if [ -f cpu.max ]; then cat cpu.max; else echo "$(cat cpu/cpu.cfs_quota_us) $(cat cpu/cpu.cfs_period_us)"; fi
  - name: unlimited
    image: jobrun-test:latest
    run: |
      cd /sys/fs/cgroup
      if [ -f memory.max ]; then cat memory.max; else cat memory/memory.limit_in_bytes; fi
      if [ -f cpu.max ]; then cat cpu.max; else echo "$(cat cpu/cpu.cfs_quota_us) $(cat cpu/cpu.cfs_period_us)"; fi
EOF

cat >env.yaml <<'EOF'
name: env job
tasks:
  - name: env verbatim
    image: jobrun-test:latest
    env:
      PLAIN: 'a b  c "quoted" $HOME `x` =y; z'
      EMPTY: ""
      UNI: "h\u00e9llo"
    run: |
      printf '%s|%s|%s|%s' "$PLAIN" "${EMPTY-unset}" "$UNI" "$(env | grep -c '^EMPTY=$')" > $TORK_OUTPUT
  - name: output variables
    image: jobrun-test:latest
    run: |
      echo "TORK_OUTPUT=$TORK_OUTPUT JOBRUN_OUTPUT=$JOBRUN_OUTPUT"
      echo -n via-jobrun-output > "$JOBRUN_OUTPUT"
  - name: multi-line result
    image: jobrun-test:latest
    var: ml
    run: printf 'line 1\nline 2\n\n  line 4\n' > $TORK_OUTPUT
  - name: multi-line var in env
    image: jobrun-test:latest
    env:
      ML: "{{ tasks.ml }}"
    run: printf '%s' "$ML" > $TORK_OUTPUT
  - name: a long log
    image: jobrun-test:latest
    run: seq 1 100000
EOF

cat >json-job.json <<'EOF'
{"name": "json stdin job",
 "inputs": {"who": "json"},
 "tasks": [
   {"name": "from json", "image": "jobrun-test:latest",
    "env": {"WHO": "{{ inputs.who }}"},
    "run": "echo -n \"hello $WHO\" > $TORK_OUTPUT"},
   {"name": "cmd from json", "image": "jobrun-test:latest", "cmd": ["echo", "json cmd"]}
 ]}
EOF

# ---------------------------------------------------------------- run them all
start_daemon || BAIL_OUT "the daemon does not start"
wait_for -t 5 home_id
ok $? "the daemon wrote run/home-id"
hid=$(home_id)

hello=$(submit "$TD/jobs/hello.yaml")
outputs=$(submit "$TD/jobs/outputs.yaml")
prepost=$(submit "$TD/jobs/prepost.yaml")
in_default=$(submit inputs.yaml)
in_over=$(submit -i x=from-option -i z=unused inputs.yaml)
jobvars=$(submit jobvars.yaml)
container=$(submit container.yaml)
limits=$(submit limits.yaml)
envjob=$(submit env.yaml)
run "$JOBRUN" submit - <json-job.json
is "$RC" 0 "submit - reads a JSON job from stdin"
json=$OUT
all="$hello $outputs $prepost $in_default $in_over $jobvars $container $limits $envjob $json"
n=0
for id in $all; do [[ $id =~ ^[0-9a-f]{12}$ ]] && n=$((n + 1)); done
is "$n" 10 "ten jobs submitted" || diag "$(cat "$T/submit.err" 2>/dev/null)"

# shellcheck disable=SC2086
RUN_TIMEOUT=45 run "$JOBRUN" wait $all
is "$RC" 0 "wait: every job COMPLETED"

# ---------------------------------------------------------------- hello
is "$(job_state "$hello")" COMPLETED "hello: COMPLETED"
is "$(job_json "$hello" '[.tasks[].state] | join(",")')" "COMPLETED,COMPLETED" "hello: both tasks COMPLETED"
is "$(job_json "$hello" '[.tasks[].exitCode] | join(",")')" "0,0" "hello: both exitCode 0"
is "$(job_json "$hello" '[.tasks[] | has("result")] | any')" false \
	"hello: no result key (the tasks wrote to stdout, not \$TORK_OUTPUT)"
is "$(job_json "$hello" 'has("error")')" false "hello: no error key on a completed job"
is "$(job_json "$hello" '[.tasks[].name] | join(",")')" "say hello,say goodbye" "hello: task names"
run "$JOBRUN" logs "$hello" 1
is "$OUT" "hello world" "hello: task 1 logged 'hello world'"
run "$JOBRUN" logs "$hello" 2
is "$OUT" "bye world" "hello: task 2 logged 'bye world'"

# ---------------------------------------------------------------- outputs
is "$(job_state "$outputs")" COMPLETED "outputs: COMPLETED"
is "$(task_field "$outputs" 1 result)" "hello world" "outputs: task 1 result is what it wrote to \$TORK_OUTPUT"
is "$(task_field "$outputs" 1 var)" "val1" "outputs: task 1 shows its var"
run "$JOBRUN" logs "$outputs" 2
is "$OUT" "hello world" "outputs: task 2 logged {{ tasks.val1 }} passed in env"
is "$(job_json "$outputs" '.tasks[1] | has("result")')" false "outputs: task 2 has no result"

# ---------------------------------------------------------------- pre/post/volumes
is "$(job_state "$prepost")" COMPLETED "prepost: COMPLETED"
is "$(task_field "$prepost" 1 result)" "HELLO WORLD" \
	"prepost: the main container read the pre task's file from the shared volume"
run "$JOBRUN" logs "$prepost" 1
like "$OUT" "(^|$NL)HELLO WORLD\$" "prepost: the post task read the main container's file (its output is in the log)"
no_leftovers() {
	[ -z "$("$DOCKER" ps -aq --filter "name=^jobrun-$hid-$prepost-")" ] &&
		[ -z "$("$DOCKER" volume ls -q --filter "name=jobrun-$hid-$prepost-")" ]
}
wait_for -t 15 no_leftovers
ok $? "prepost: no container and no volume jobrun-$hid-$prepost-* remains" ||
	diag "$("$DOCKER" ps -a --filter "name=jobrun-$hid-" --format '{{.Names}} {{.Status}}')" \
		"$("$DOCKER" volume ls -q --filter "name=jobrun-$hid-")"

# ---------------------------------------------------------------- inputs
is "$(task_field "$in_default" 1 result)" "from-file;kept;<from-file|kept>" \
	"inputs: {{ inputs.x }} from the file, with and without blanks, inside text"
is "$(task_field "$in_over" 1 result)" "from-option;kept;<from-option|kept>" \
	"-i x=VALUE overrides the file's input"
is "$(job_json "$in_over" '.inputs.x')" "from-option" "show --json: inputs.x is the overridden value"
is "$(job_json "$in_over" '.inputs.z')" "unused" "show --json: -i z=... adds an input"

# ---------------------------------------------------------------- job.id, job.name
is "$(task_field "$jobvars" 1 result)" "$jobvars;job vars job;job vars job/$jobvars" \
	"{{ job.id }} and {{ job.name }} in env"

# ---------------------------------------------------------------- cmd, entrypoint, workdir
is "$(job_state "$container")" COMPLETED "container job: COMPLETED"
run "$JOBRUN" logs "$container" 1
is "$OUT" "hi" "cmd: [echo, -n, hi] without run logs 'hi'"
run "$JOBRUN" logs "$container" 2
is "$OUT" "from the entrypoint" "entrypoint: [/bin/echo] + cmd: the entrypoint runs with cmd as arguments"
run "$JOBRUN" logs "$container" 3
is "$OUT" "echo this script is printed, not run" "entrypoint: [cat] + run: the entrypoint replaces 'sh -c' and gets the script"
is "$(task_field "$container" 4 result)" "/tork" "run without workdir runs in /tork"
is "$(task_field "$container" 5 result)" "/etc" "workdir: /etc with run runs in /etc"
run "$JOBRUN" logs "$container" 6
is "$OUT" "/bin" "workdir: /bin with cmd runs in /bin"

# ---------------------------------------------------------------- limits
run "$JOBRUN" logs "$limits" 1
is "$OUT" "67108864${NL}50000 100000" "limits: memory 64m and cpus 0.5 reached the container's cgroup"
run "$JOBRUN" logs "$limits" 2
lim2=$OUT
unlike "$lim2" "^67108864$NL" "no limits: the memory limit is not 64m"
unlike "$lim2" "${NL}50000 100000\$" "no limits: the cpu quota is not 0.5"

# ---------------------------------------------------------------- env, JOBRUN_OUTPUT, multi-line
is "$(task_field "$envjob" 1 result)" 'a b  c "quoted" $HOME `x` =y; z||héllo|1' \
	"env values reach the container verbatim (an empty value is set, not dropped)"
run "$JOBRUN" logs "$envjob" 2
is "$OUT" "TORK_OUTPUT=/tork/stdout JOBRUN_OUTPUT=/tork/stdout" "TORK_OUTPUT and JOBRUN_OUTPUT are /tork/stdout"
is "$(task_field "$envjob" 2 result)" "via-jobrun-output" "what a task writes to \$JOBRUN_OUTPUT is its result"
is "$(job_json "$envjob" '.tasks[2].result | @json')" '"line 1\nline 2\n\n  line 4\n"' \
	"a multi-line result is kept byte for byte"
is "$(job_json "$envjob" '.tasks[3].result | @json')" '"line 1\nline 2\n\n  line 4\n"' \
	"a multi-line {{ tasks.VAR }} reaches a later task's env byte for byte"
"$JOBRUN" logs "$envjob" 5 >"$T/long.log"
is "$(cksum <"$T/long.log")" "$(seq 1 100000 | cksum)" "a 100000-line log is kept whole"

# ---------------------------------------------------------------- JSON from stdin
is "$(job_json "$json" .name)" "json stdin job" "JSON on stdin: the job's name"
is "$(task_field "$json" 1 result)" "hello json" "JSON on stdin: inputs and env work"
run "$JOBRUN" logs "$json" 2
is "$OUT" "json cmd" "JSON on stdin: cmd works"

# ---------------------------------------------------------------- nothing left behind
wait_for -t 15 eval '[ -z "$(containers all)" ] && [ -z "$(volumes)" ]'
ok $? "no container and no volume of this home remains after all jobs" ||
	diag "$(containers all)" "$(volumes)"

stop_daemon
is $? 0 "the daemon exits 0 on SIGTERM"

done_testing
