#!/bin/bash
# submit rejects bad job files with exit 3 and one `FILE:LINE:COL: PATH: message` line
# per problem on stderr, and spools nothing.  No daemon, no docker needed.
#
# Positions (1-based) follow libyaml's marks:
#   unknown field            -> the key
#   missing required field   -> the mapping (its first key, or '{' in flow style)
#   bad value (type, range, duration, size, expression, duplicate var) -> the value
#   not a job                -> 1:1
# PATH is the dotted path with 0-based indexes (tasks[1].env.A).  Where the contract
# leaves the message (or the position) open, the regex below accepts any text.
. "$(dirname "$0")/lib.sh"
need_jobrun

cd "$T" || BAIL_OUT "cd $T"
L="[^"$'\n'"]*"        # any text within one line

nothing_spooled() { # DESC
	is "$(count_files "$JOBRUN_HOME/spool/new")+$(count_files "$JOBRUN_HOME/spool/tmp")" "0+0" \
		"$1: nothing spooled"
}
# bad_is FILE 'exact stderr' DESC [SUBMIT-ARGS...] <content
# bad_like FILE 'regex for the whole stderr (anchored)' DESC [SUBMIT-ARGS...] <content
_bad() {
	local how=$1 f=$2 want=$3 desc=$4
	shift 4
	[ "$f" = - ] || cat >"$f"
	if [ "$f" = - ]; then run "$JOBRUN" submit "$@" -; else run "$JOBRUN" submit "$@" "$f"; fi
	is "$RC" 3 "$desc: exit 3"
	if [ "$how" = is ]; then
		is "$ERR" "$want" "$desc: error message"
	else
		like "$ERR" "^$want\$" "$desc: error message"
	fi
	is "$OUT" "" "$desc: nothing on stdout"
	nothing_spooled "$desc"
}
bad_is() { _bad is "$@"; }
bad_like() { _bad like "$@"; }

# ---------------------------------------------------------------- required fields
bad_is m-image.yaml "m-image.yaml:6:5: tasks[1]: missing required field 'image'" \
	"missing image" <<'EOF'
name: missing image
tasks:
  - name: ok
    image: jobrun-test
    run: "true"
  - name: no image
    run: "true"
EOF

bad_is m-pre-image.yaml "m-pre-image.yaml:6:9: tasks[0].pre[0]: missing required field 'image'" \
	"missing image in a pre task" <<'EOF'
name: x
tasks:
  - image: jobrun-test
    run: "true"
    pre:
      - run: "true"
EOF

bad_like no-tasks.yaml "no-tasks.yaml:1:1: $L" "no tasks key" <<'EOF'
name: no tasks
description: there is nothing to run
EOF

# ---------------------------------------------------------------- unknown keys
bad_like u-job.yaml "u-job.yaml:2:1: ([^ ]+: )?unknown field 'colour'" \
	"unknown key at job level" <<'EOF'
name: x
colour: blue
tasks:
  - image: jobrun-test
EOF

bad_is u-task.yaml "u-task.yaml:5:5: tasks[0]: unknown field 'imagee'" \
	"unknown key at task level" <<'EOF'
name: x
tasks:
  - name: a
    image: jobrun-test
    imagee: jobrun-test
EOF

bad_is u-retry.yaml "u-retry.yaml:5:7: tasks[0].retry: unknown field 'limits'" \
	"unknown key in retry" <<'EOF'
name: x
tasks:
  - image: jobrun-test
    retry:
      limits: 2
EOF

# ---------------------------------------------------------------- tasks list
bad_like empty-list.yaml "empty-list.yaml:2:(1|8): tasks: must not be empty" \
	"empty task list" <<'EOF'
name: x
tasks: []
EOF

bad_like not-list.yaml "not-list.yaml:2:(1|8): tasks: $L" "tasks not a list" <<'EOF'
name: x
tasks: hello
EOF

bad_like map-list.yaml "map-list.yaml:(2:1|3:3): tasks: $L" "tasks a mapping" <<'EOF'
name: x
tasks:
  image: jobrun-test
EOF

# ---------------------------------------------------------------- malformed YAML
bad_is malformed.yaml "malformed.yaml:3:13: mapping values are not allowed in this context" \
	"malformed YAML" <<'EOF'
name: x
tasks:
  - image: a: b
EOF

bad_like unterminated.yaml "unterminated.yaml:4:1: found unexpected end of stream$L" \
	"unterminated quoted string" <<'EOF'
name: x
tasks:
  - image: "jobrun-test
EOF

# ---------------------------------------------------------------- wrong types
bad_like t-name.yaml "t-name.yaml:1:7: name: $L" "job name is a list" <<'EOF'
name: [a, b]
tasks:
  - image: jobrun-test
EOF

bad_like t-prio.yaml "t-prio.yaml:4:15: tasks\\[0\\]\\.priority: $L" 'priority: "high"' <<'EOF'
name: x
tasks:
  - image: jobrun-test
    priority: "high"
EOF

bad_like t-prio10.yaml "t-prio10.yaml:4:15: tasks\\[0\\]\\.priority: $L" 'priority: 10' <<'EOF'
name: x
tasks:
  - image: jobrun-test
    priority: 10
EOF

bad_like t-retry.yaml "t-retry.yaml:5:14: tasks\\[0\\]\\.retry\\.limit: $L" 'retry.limit: 11' <<'EOF'
name: x
tasks:
  - image: jobrun-test
    retry:
      limit: 11
EOF

bad_like t-env.yaml "t-env.yaml:4:10: tasks\\[0\\]\\.env: $L" "env not a map" <<'EOF'
name: x
tasks:
  - image: jobrun-test
    env: FOO=bar
EOF

bad_like t-cmd.yaml "t-cmd.yaml:4:10: tasks\\[0\\]\\.cmd: $L" "cmd not a list" <<'EOF'
name: x
tasks:
  - image: jobrun-test
    cmd: echo hi
EOF

bad_like t-inputs.yaml "t-inputs.yaml:2:9: inputs: $L" "inputs not a map" <<'EOF'
name: x
inputs: [a, b]
tasks:
  - image: jobrun-test
EOF

# ---------------------------------------------------------------- durations and sizes
# (a hint may follow the contract's message)
bad_like b-dur.yaml "b-dur.yaml:4:14: tasks\\[0\\]\\.timeout: invalid duration '5 parsecs'( $L)?" \
	"bad duration" <<'EOF'
name: x
tasks:
  - image: jobrun-test
    timeout: 5 parsecs
EOF

bad_like b-size.yaml "b-size.yaml:5:15: tasks\\[0\\]\\.limits\\.memory: ${L}'lots'$L" \
	"bad size" <<'EOF'
name: x
tasks:
  - image: jobrun-test
    limits:
      memory: lots
EOF

# ---------------------------------------------------------------- vars and expressions
bad_is dup-var.yaml "dup-var.yaml:6:10: tasks[1].var: duplicate var 'x' (also set at 4:10)" \
	"duplicate var" <<'EOF'
name: x
tasks:
  - image: jobrun-test
    var: x
  - image: jobrun-test
    var: x
EOF

bad_like undef-input.yaml "undef-input.yaml:5:10: tasks\\[0\\]\\.env\\.A: ${L}inputs\\.x$L" \
	"undefined {{ inputs.x }}" <<'EOF'
name: x
tasks:
  - image: jobrun-test
    env:
      A: "{{ inputs.x }}"
EOF

bad_like undef-var.yaml "undef-var.yaml:5:10: tasks\\[0\\]\\.env\\.A: ${L}tasks\\.y$L" \
	"{{ tasks.y }} before any task sets var y" <<'EOF'
name: x
tasks:
  - image: jobrun-test
    env:
      A: "{{ tasks.y }}"
  - image: jobrun-test
    var: y
EOF

bad_like self-var.yaml "self-var.yaml:6:10: tasks\\[0\\]\\.env\\.A: ${L}tasks\\.y$L" \
	"{{ tasks.y }} in the task that sets y" <<'EOF'
name: x
tasks:
  - image: jobrun-test
    var: y
    env:
      A: "{{ tasks.y }}"
EOF

bad_like exprsyntax.yaml "exprsyntax.yaml:5:18: tasks\\[0\\]\\.env\\.A: unexpected token '}}'" \
	"expression syntax error (line:col of the token)" <<'EOF'
name: x
tasks:
  - image: jobrun-test
    env:
      A: "{{ 1 + }}"
EOF

bad_like exprunterminated.yaml "exprunterminated.yaml:4:10: tasks\\[0\\]\\.if: unterminated '\\{\\{'" \
	"unterminated {{ in if" <<'EOF'
name: x
tasks:
  - image: jobrun-test
    if: "{{ true"
EOF

bad_like exprcmd.yaml "exprcmd.yaml:4:21: tasks\\[0\\]\\.cmd: unknown function 'nosuch'" \
	"unknown function in cmd" <<'EOF'
name: x
tasks:
  - image: jobrun-test
    cmd: [echo, "{{ nosuch(1) }}"]
EOF

bad_like secretalias.yaml "secretalias.yaml:4:3: secrets: 't' must be written out, not an anchor or an alias" \
	"a secret that is an alias" <<'EOF'
name: x
inputs: {a: &v shared}
secrets:
  t: *v
tasks:
  - image: jobrun-test
EOF

# ---------------------------------------------------------------- not a job at all
run "$JOBRUN" submit nosuch.yaml
is "$RC" 3 "a missing file: exit 3"
is "$ERR" "jobrun: nosuch.yaml: No such file or directory" "a missing file: 'jobrun: FILE: strerror'"
nothing_spooled "a missing file"

mkdir -p adir
run "$JOBRUN" submit adir
is "$RC" 3 "a directory: exit 3"
like "$ERR" "^jobrun: adir: $L\$" "a directory: 'jobrun: FILE: reason'"

bad_is list.yaml "list.yaml:1:1: a job must be a mapping with a 'tasks' list" \
	"a YAML list" <<'EOF'
- image: jobrun-test
EOF

bad_is scalar.yaml "scalar.yaml:1:1: a job must be a mapping with a 'tasks' list" \
	"a YAML scalar" <<'EOF'
hello
EOF

bad_is empty.yaml "empty.yaml:1:1: a job must be a mapping with a 'tasks' list" \
	"an empty file" </dev/null

# ---------------------------------------------------------------- several problems
cat >two.yaml <<'EOF'
name: x
tasks:
  - name: a
    run: "true"
  - name: b
    image: jobrun-test
    timeout: forever
EOF
run "$JOBRUN" submit two.yaml
is "$RC" 3 "two problems: exit 3"
like "$ERR" "^two\\.yaml:3:5: tasks\\[0\\]: missing required field 'image'
two\\.yaml:7:14: tasks\\[1\\]\\.timeout: invalid duration 'forever'( $L)?\$" \
	"two problems: one line each, in file order"
nothing_spooled "two problems"

# ---------------------------------------------------------------- JSON and stdin
bad_is bad.json "bad.json:4:5: tasks[0]: missing required field 'image'" "JSON job file" <<'EOF'
{
  "name": "json job",
  "tasks": [
    {"name": "a", "run": "true"}
  ]
}
EOF

bad_is - "<stdin>:3:13: mapping values are not allowed in this context" \
	"malformed YAML on stdin" <<'EOF'
name: x
tasks:
  - image: a: b
EOF

# ---------------------------------------------------------------- usage errors
cat >good.yaml <<'EOF'
name: good
tasks:
  - image: jobrun-test
    env:
      A: "{{ inputs.x }}"
EOF
run "$JOBRUN" submit -i novalue good.yaml
is "$RC" 2 "-i without '=' is a usage error (exit 2)"
isnt "$ERR" "" "-i without '=': a message on stderr"
nothing_spooled "-i without '='"

run "$JOBRUN" submit
is "$RC" 2 "submit without FILE is a usage error (exit 2)"
nothing_spooled "submit without FILE"

# ---------------------------------------------------------------- accepted files
# From here on jobs are spooled (no daemon runs, they just wait).
ID='^[0-9a-f]{12}$'
run "$JOBRUN" submit -i x=1 good.yaml
is "$RC" 0 "-i x=1 defines inputs.x: exit 0"
like "$OUT" "$ID" "-i x=1: prints an id"
is "$(spooled)" 1 "-i x=1: spooled"

cat >good.json <<'EOF'
{
  "name": "json job",
  "inputs": {"x": "1"},
  "tasks": [
    {"name": "a", "image": "jobrun-test", "run": "echo -n $A", "env": {"A": "{{ inputs.x }}"}},
    {"name": "b", "image": "jobrun-test", "cmd": ["echo", "hi"]}
  ]
}
EOF
run "$JOBRUN" submit good.json
is "$RC" 0 "a JSON job file is accepted"
like "$OUT" "$ID" "JSON: prints an id"
is "$(spooled)" 2 "JSON: spooled"

run "$JOBRUN" submit - <"$TD/jobs/outputs.yaml"
is "$RC" 0 "'-' reads the job from stdin"
like "$OUT" "$ID" "stdin: prints an id"
is "$(spooled)" 3 "stdin: spooled"

for f in hello outputs prepost; do
	run "$JOBRUN" submit "$TD/jobs/$f.yaml"
	is "$RC" 0 "t/jobs/$f.yaml is valid"
done

cat >every-key.yaml <<'EOF'
name: every key
description: uses every key this issue handles
inputs:
  greeting: hello
tasks:
  - name: first
    description: sets var v
    image: jobrun-test
    run: |
      echo -n "$G $ID $N" > $TORK_OUTPUT
    env:
      G: "{{ inputs.greeting }}"
      ID: "{{ job.id }}"
      N: "{{ job.name }}"
      PLAIN: no expression here
    var: v
    queue: default
    priority: 9
    retry:
      limit: 10
    timeout: 1h30m
    limits:
      cpus: "0.5"
      memory: 512m
    volumes:
      - /data
    workdir: /data
    pre:
      - name: before
        image: jobrun-test
        run: echo pre
        env:
          X: "1"
        workdir: /tmp
    post:
      - name: after
        image: jobrun-test
        cmd: [echo, post]
        entrypoint: [/bin/sh, -c]
  - name: second
    image: jobrun-test
    entrypoint: [/bin/echo]
    cmd: [hello]
    env:
      V: "{{ tasks.v }}"
    timeout: 300ms
    limits:
      memory: 1g
  - image: jobrun-test
    timeout: 45m
    priority: 0
    retry: {limit: 0}
    limits: {memory: "1048576"}
EOF
run "$JOBRUN" submit every-key.yaml
is "$RC" 0 "a job using every handled key is accepted"
isnt "$RC" 3 "every-key: not rejected as invalid" || diag "$ERR"

done_testing
