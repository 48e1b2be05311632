#!/bin/bash
# Composite tasks through the real engine: parallel (concurrent, bound by its queue's
# cap, one failure fails it and cancels its siblings and their subjobs), each
# (item.value/item.index, each.var, each.concurrency, an empty list, a list that is
# not a list, a failure cancelling the waiting items), subjob (inputs/secrets/name
# evaluated in the parent, output -> the task's result, linkage both ways, failure,
# detached, cancelling either side), subjobs inside each and parallel, children's
# var flowing to later tasks; and the submit-time rules for composite tasks.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"
NL=$'\n'
L="[^$NL]*"            # any text within one line

# ---------------------------------------------------------------- helpers
# ms of an RFC 3339 time with milliseconds, in jq
JQ_MS='def ms: (.[0:19] + "Z" | fromdateiso8601) * 1000 + (.[20:23] | tonumber);'
jq_ms() { # ID FILTER: job_json with the ms function defined
	job_json "$1" "$JQ_MS $2"
}
children() { # ID PARENT-POS [FIELD]: the children's FIELD (default position), comma-joined
	job_json "$1" "[.tasks[] | select(.parent == $2) | .${3:-position} | tostring] | join(\",\")"
}
# the largest number of intervals (startedAt, completedAt) of PARENT's children that
# overlap at any instant
max_overlap() { # ID PARENT-POS
	jq_ms "$1" "[.tasks[] | select(.parent == $2 and .startedAt and .completedAt)
		| {s: (.startedAt | ms), e: (.completedAt | ms)}] as \$v
		| [\$v[] | .s as \$t | [\$v[] | select(.s <= \$t and \$t < .e)] | length] | max // 0"
}
running_of() { # ID: number of this job's containers running now
	"$DOCKER" ps -q --filter "label=jobrun.home=$hid" --filter "name=^jobrun-$hid-$1-" | wc -l
}
containers_of() { # ID: names of this job's containers, running or not
	"$DOCKER" ps -aq --filter "label=jobrun.home=$hid" --filter "name=^jobrun-$hid-$1-"
}
no_containers_of() { # ID...: true when none of these jobs has a container left
	local id
	for id in "$@"; do [ -z "$(containers_of "$id")" ] || return 1; done
}
all_final() { # ID...: every (non-empty) id is COMPLETED, FAILED or CANCELLED
	local id
	for id in "$@"; do [ -z "$id" ] || job_final "$id" || return 1; done
}
is_id() { [[ ${1:-} =~ ^[0-9a-f]{12}$ ]]; }
sub_of() { # ID POS: the subjobId of task POS (a position, not an index)
	job_json "$1" ".tasks[] | select(.position == $2) | .subjobId // empty"
}
pos_field() { # ID POS FIELD: a field of the task at position POS
	job_json "$1" ".tasks[] | select(.position == $2) | .$3 // empty"
}

# ---------------------------------------------------------------- job files
# parallel in queue trio (cap 3): three 2 s children run together; a subjob child;
# the next top-level task starts after the parallel task completes.
cat >par.yaml <<'EOF'
name: par
tasks:
  - name: p
    parallel:
      tasks:
        - name: c1
          image: jobrun-test:latest
          queue: trio
          run: sleep 2
        - name: c2
          image: jobrun-test:latest
          queue: trio
          run: sleep 2
        - name: c3
          image: jobrun-test:latest
          queue: trio
          run: sleep 2
        - name: c4 subjob
          subjob:
            name: par child
            output: "{{ tasks.o }}"
            tasks:
              - name: o
                var: o
                image: jobrun-test:latest
                queue: wide
                run: echo -n from-par-subjob > $TORK_OUTPUT
  - name: after
    image: jobrun-test:latest
    run: echo -n after > $TORK_OUTPUT
EOF

# parallel in queue one (cap 1): its children take turns; one is skipped (if false)
cat >solo.yaml <<'EOF'
name: solo
tasks:
  - name: p
    parallel:
      tasks:
        - {name: s1, image: "jobrun-test:latest", queue: one, run: sleep 1}
        - {name: s2, image: "jobrun-test:latest", queue: one, run: sleep 1}
        - {name: s3, image: "jobrun-test:latest", queue: one, run: sleep 1}
        - {name: skipped, if: "{{ 1 > 2 }}", image: "jobrun-test:latest", queue: one, run: exit 1}
EOF

# a failing child (in its own queue pf, so that every sibling runs when it fails)
cat >pfail.yaml <<'EOF'
name: pfail
tasks:
  - name: p
    parallel:
      tasks:
        - name: bad
          image: jobrun-test:latest
          queue: pf
          run: sleep 3; exit 3
        - name: slow1
          image: jobrun-test:latest
          queue: pf
          run: sleep 40
        - name: slow2
          image: jobrun-test:latest
          queue: pf
          run: sleep 40
        - name: slow subjob
          subjob:
            name: pfail child
            tasks:
              - name: long
                image: jobrun-test:latest
                queue: pf
                run: sleep 40
  - name: never
    image: jobrun-test:latest
    run: echo -n ran > $TORK_OUTPUT
EOF

# a child failing after its retry
cat >pretry.yaml <<'EOF'
name: pretry
tasks:
  - name: p
    parallel:
      tasks:
        - name: flaky
          image: jobrun-test:latest
          retry:
            limit: 1
          run: exit 4
        - name: fine
          image: jobrun-test:latest
          run: "true"
EOF

cat >each.yaml <<'EOF'
name: each
tasks:
  - name: seq
    each:
      list: "{{ sequence(1, 5) }}"
      task:
        name: "item {{ item.index }}"
        image: jobrun-test:latest
        env:
          V: "{{ item.value }}"
          I: "{{ item.index }}"
        run: |
          echo "v=$V i=$I"
          echo -n "$V/$I" > $TORK_OUTPUT
  - name: named var
    each:
      var: x
      list: '{{ ["a", "b"] }}'
      task:
        name: "x {{ x.value }}"
        image: jobrun-test:latest
        env:
          V: "{{ x.value }}-{{ x.index }}"
        run: echo -n "$V" > $TORK_OUTPUT
  - name: empty
    each:
      list: "{{ [] }}"
      task:
        image: jobrun-test:latest
        run: exit 1
  - name: last
    image: jobrun-test:latest
    run: echo -n last > $TORK_OUTPUT
EOF

# each.concurrency 2 in queue wide (cap 8): never more than 2 at once
cat >econc.yaml <<'EOF'
name: econc
tasks:
  - name: e
    each:
      list: "{{ sequence(0, 5) }}"
      concurrency: 2
      task:
        name: "c{{ item.value }}"
        image: jobrun-test:latest
        queue: wide
        run: sleep 3
EOF

cat >notlist.yaml <<'EOF'
name: notlist
tasks:
  - name: e
    each:
      list: "{{ 5 }}"
      task:
        image: jobrun-test:latest
        run: "true"
EOF

# item 0 fails (after its retry); the items waiting behind concurrency 1 never start
cat >efail.yaml <<'EOF'
name: efail
tasks:
  - name: e
    each:
      list: "{{ [10, 11, 12, 13] }}"
      concurrency: 1
      task:
        name: "f{{ item.index }}"
        image: jobrun-test:latest
        retry:
          limit: 1
        run: exit 5
EOF

# a parallel child's var used by a later top-level task
cat >varflow.yaml <<'EOF'
name: varflow
tasks:
  - name: p
    parallel:
      tasks:
        - name: producer
          image: jobrun-test:latest
          var: pa
          run: echo -n from-par > $TORK_OUTPUT
  - name: use
    image: jobrun-test:latest
    env:
      P: "{{ tasks.pa }}"
    run: echo -n "got $P" > $TORK_OUTPUT
EOF

cat >sub.yaml <<'EOF'
name: sub parent
secrets:
  s: sekrit-0130
tasks:
  - name: make
    image: jobrun-test:latest
    var: word
    run: echo -n hello > $TORK_OUTPUT
  - name: sj
    var: sjout
    subjob:
      name: "child of {{ job.name }}"
      inputs:
        w: "{{ tasks.word }}-x"
      secrets:
        k: "{{ secrets.s }}"
      output: "{{ tasks.up }}"
      tasks:
        - name: upper
          image: jobrun-test:latest
          var: up
          env:
            W: "{{ inputs.w }}"
          run: echo -n "$W" | tr a-z A-Z > $TORK_OUTPUT
        - name: secret
          image: jobrun-test:latest
          env:
            K: "{{ secrets.k }}"
          run: if [ "$K" = sekrit-0130 ]; then echo -n yes; else echo -n no; fi > $TORK_OUTPUT
  - name: after
    image: jobrun-test:latest
    env:
      R: "{{ tasks.sjout }}"
    run: echo -n "after $R" > $TORK_OUTPUT
EOF

cat >subfail.yaml <<'EOF'
name: subfail
tasks:
  - name: sj
    subjob:
      name: failing child
      tasks:
        - name: boom
          image: jobrun-test:latest
          run: exit 7
  - name: never
    image: jobrun-test:latest
    run: "true"
EOF

cat >det.yaml <<'EOF'
name: det
tasks:
  - name: sj
    subjob:
      name: detached child
      detached: true
      tasks:
        - name: slow
          image: jobrun-test:latest
          run: sleep 5; echo -n done > $TORK_OUTPUT
  - name: next
    image: jobrun-test:latest
    run: echo -n next > $TORK_OUTPUT
EOF

cat >long-sub.yaml <<'EOF'
name: long sub
tasks:
  - name: sj
    subjob:
      name: long child
      tasks:
        - name: long
          image: jobrun-test:latest
          run: sleep 60
EOF

cat >eachsub.yaml <<'EOF'
name: eachsub
tasks:
  - name: e
    each:
      list: '{{ ["p", "q"] }}'
      task:
        name: "sub {{ item.value }}"
        subjob:
          name: "each child {{ item.value }}"
          inputs:
            v: "{{ item.value }}{{ item.index }}"
          output: "{{ tasks.o }}"
          tasks:
            - name: echo
              image: jobrun-test:latest
              var: o
              env:
                V: "{{ inputs.v }}"
              run: echo -n "got $V" > $TORK_OUTPUT
EOF

# ---------------------------------------------------------------- submit-time rules
nothing_spooled() {
	is "$(count_files "$JOBRUN_HOME/spool/new")+$(count_files "$JOBRUN_HOME/spool/tmp")" "0+0" \
		"$1: nothing spooled"
}
# bad FILE 'regex for the whole stderr' DESC <content
bad() {
	cat >"$1"
	run "$JOBRUN" submit "$1"
	is "$RC" 3 "$3: exit 3"
	like "$ERR" "^$2\$" "$3: error message" || true
	nothing_spooled "$3"
}

bad v-image.yaml "v-image.yaml:4:12: tasks\\[0\\]: a parallel task sets no 'image'" \
	"parallel with image" <<'EOF'
name: v
tasks:
  - name: p
    image: jobrun-test:latest
    parallel:
      tasks:
        - {image: "jobrun-test:latest", run: "true"}
EOF
bad v-two.yaml "v-two.yaml:3:5: tasks\\[0\\]: a task has at most one of parallel, each and subjob" \
	"parallel and each in one task" <<'EOF'
name: v
tasks:
  - name: two
    parallel:
      tasks:
        - {image: "jobrun-test:latest", run: "true"}
    each:
      list: "{{ [1] }}"
      task: {image: "jobrun-test:latest", run: "true"}
EOF
bad v-nest.yaml "v-nest.yaml:6:11: tasks\\[0\\]\\.parallel\\.tasks\\[0\\]: a parallel task cannot be inside a parallel or each task" \
	"parallel inside parallel" <<'EOF'
name: v
tasks:
  - name: outer
    parallel:
      tasks:
        - name: inner
          parallel:
            tasks:
              - {image: "jobrun-test:latest", run: "true"}
EOF
bad v-nest2.yaml "v-nest2.yaml:7:9: tasks\\[0\\]\\.each\\.task: an? each task cannot be inside a parallel or each task" \
	"each inside each" <<'EOF'
name: v
tasks:
  - name: outer
    each:
      list: "{{ [1] }}"
      task:
        each:
          list: "{{ [1] }}"
          task: {image: "jobrun-test:latest", run: "true"}
EOF
bad v-nolist.yaml "v-nolist.yaml:5:7: tasks\\[0\\]\\.each: missing required field 'list'" \
	"each without list" <<'EOF'
name: v
tasks:
  - name: e
    each:
      task: {image: "jobrun-test:latest", run: "true"}
EOF
bad v-notask.yaml "v-notask.yaml:5:7: tasks\\[0\\]\\.each: missing required field 'task'" \
	"each without task" <<'EOF'
name: v
tasks:
  - name: e
    each:
      list: "{{ [1] }}"
EOF
bad v-subjob.yaml "v-subjob.yaml:5:7: tasks\\[0\\]\\.subjob: missing required field 'tasks'" \
	"subjob without tasks" <<'EOF'
name: v
tasks:
  - name: s
    subjob:
      name: x
EOF
bad v-retry.yaml "v-retry.yaml:7:14: tasks\\[0\\]\\.retry\\.limit: must be between 0 and 10, not 11" \
	"retry.limit 11" <<'EOF'
name: v
tasks:
  - name: t
    image: jobrun-test:latest
    run: "true"
    retry:
      limit: 11
EOF
bad v-prio.yaml "v-prio.yaml:5:15: tasks\\[0\\]\\.priority: must be between 0 and 9, not 10" \
	"priority 10" <<'EOF'
name: v
tasks:
  - name: t
    image: jobrun-test:latest
    priority: 10
    run: "true"
EOF
# Each field a composite task may not set, on a subjob, an each and a parallel task.
for k in run cmd env queue pre post volumes retry limits timeout; do
	case $k in
	run) l='run: "true"' c=10 ;;
	cmd) l='cmd: [a]' c=10 ;;
	env) l='env: {A: b}' c=10 ;;
	queue) l='queue: q' c=12 ;;
	pre) l='pre: [{image: x, run: y}]' c=10 ;;
	post) l='post: [{image: x, run: y}]' c=11 ;;
	volumes) l='volumes: [/a]' c=14 ;;
	retry) l='retry: {limit: 1}' c=12 ;;
	limits) l='limits: {cpus: "1"}' c=13 ;;
	timeout) l='timeout: 5s' c=14 ;;
	esac
	bad "v-s-$k.yaml" "v-s-$k.yaml:4:$c: tasks\\[0\\]: a subjob task sets no '$k'" "subjob with $k" \
		< <(printf 'name: v\ntasks:\n  - name: s\n    %s\n    subjob:\n      tasks:\n        - {image: x, run: y}\n' "$l")
done
bad v-e-run.yaml "v-e-run.yaml:4:10: tasks\\[0\\]: an? each task sets no 'run'" "each with run" \
	< <(printf 'name: v\ntasks:\n  - name: e\n    run: "true"\n    each:\n      list: "{{ [1] }}"\n      task: {image: x, run: y}\n')
bad v-p-timeout.yaml "v-p-timeout.yaml:4:14: tasks\\[0\\]: a parallel task sets no 'timeout'" "parallel with timeout" \
	< <(printf 'name: v\ntasks:\n  - name: p\n    timeout: 5s\n    parallel:\n      tasks:\n        - {image: x, run: y}\n')
# a subjob is a job of its own: its tasks follow the rules of a job's tasks
bad v-subimg.yaml "v-subimg.yaml:6:11: tasks\\[0\\]\\.subjob\\.tasks\\[0\\]: missing required field 'image'" \
	"subjob task without image" <<'EOF'
name: v
tasks:
  - name: s
    subjob:
      tasks:
        - name: noimg
          run: "true"
EOF

# What is allowed: defaults (retry, queue, timeout, limits) do not count as a
# composite task's own; name, var, if and priority on it; retry.limit 0 and
# priority 9; a subjob in a parallel; a parallel inside a subjob inside a parallel.
cat >allowed.yaml <<'EOF'
name: allowed
defaults:
  retry: {limit: 2}
  queue: dq
  timeout: 10s
  limits: {cpus: "1"}
tasks:
  - name: p
    var: pv
    if: "true"
    priority: 9
    parallel:
      tasks:
        - {image: "jobrun-test:latest", run: "true", retry: {limit: 0}}
        - name: s
          subjob:
            tasks:
              - name: inner
                parallel:
                  tasks:
                    - {image: "jobrun-test:latest", run: "true"}
EOF
run "$JOBRUN" submit allowed.yaml
is "$RC" 0 "allowed composite tasks: submit exits 0" || diag "$ERR"
rm -f "$JOBRUN_HOME"/spool/new/*        # never run

# ---------------------------------------------------------------- run them
start_daemon -q default:6 -q trio:3 -q one:1 -q wide:8 -q pf:5 || BAIL_OUT "the daemon does not start"
wait_for -t 5 home_id
ok $? "the daemon is up (run/home-id written)"
hid=$(home_id)

# ---------------------------------------------------------------- caps, watched live
# Phase 1: the jobs whose timing is measured, alone on the engine.
par=$(submit par.yaml)
solo=$(submit solo.yaml)
econc=$(submit econc.yaml)
n=0
for id in $par $solo $econc; do is_id "$id" && n=$((n + 1)); done
is "$n" 3 "three timed jobs submitted" || diag "$(cat "$T/submit.err")"

# Poll docker until solo and econc end: the largest number of each one's containers
# running at once.
max_solo=0 max_econc=0 polls=0 end=$((SECONDS + 40))
while [ "$SECONDS" -lt "$end" ]; do
	a=$(running_of "$solo") b=$(running_of "$econc")
	[ "$a" -gt "$max_solo" ] && max_solo=$a
	[ "$b" -gt "$max_econc" ] && max_econc=$b
	polls=$((polls + 1))
	if [ $((polls % 5)) = 0 ] && all_final "$solo" "$econc" "$par"; then break; fi
	sleep 0.1
done
note "caps: $polls polls"
is "$max_solo" 1 "parallel in a queue of cap 1: never two of its containers at once (and one runs)"
is "$max_econc" 2 "each.concurrency 2: never more than 2 of its containers at once (and 2 run)"

# Phase 2: everything else at once.
pfail=$(submit pfail.yaml)
pretry=$(submit pretry.yaml)
each=$(submit each.yaml)
notlist=$(submit notlist.yaml)
efail=$(submit efail.yaml)
sub=$(submit sub.yaml)
subfail=$(submit subfail.yaml)
det=$(submit det.yaml)
cancelp=$(submit long-sub.yaml)
cancelc=$(submit long-sub.yaml)
eachsub=$(submit eachsub.yaml)
n=0
for id in $pfail $pretry $each $notlist $efail $sub $subfail $det $cancelp $cancelc $eachsub; do
	is_id "$id" && n=$((n + 1))
done
is "$n" 11 "eleven more jobs submitted" || diag "$(cat "$T/submit.err")"
varflow=$(submit varflow.yaml)
ok $? "a parallel child's var can be used by a later task: submit exits 0" ||
	diag "$(tail -n 1 "$T/submit.err")"

# ---------------------------------------------------------------- cancel the parent of a running subjob
wait_for -t 30 eval '[ "$(running_of "$(sub_of "$cancelp" 1)")" -gt 0 ]'
ok $? "long sub: the subjob's container runs"
csub=$(sub_of "$cancelp" 1)
is "$(pos_field "$cancelp" 1 state)" RUNNING "long sub: its task is RUNNING while the subjob runs"
is "$(job_state "$cancelp")" RUNNING "long sub: the parent job is RUNNING while its subjob runs"
is "$(job_state "$csub")" RUNNING "long sub: the subjob is RUNNING"
run "$JOBRUN" cancel "$cancelp"
is "$RC" 0 "cancel the parent: exit 0"
wait_for -t 15 job_is "$cancelp" CANCELLED
ok $? "cancel the parent: it is CANCELLED"
wait_for -t 15 job_is "$csub" CANCELLED
ok $? "cancel the parent: its subjob is CANCELLED"
is "$(pos_field "$cancelp" 1 state)" CANCELLED "cancel the parent: the subjob task is CANCELLED"
is "$(job_json "$csub" '.tasks[0].state')" CANCELLED "cancel the parent: the subjob's task is CANCELLED"
wait_for -t 15 no_containers_of "$cancelp" "$csub"
ok $? "cancel the parent: no container of the parent or the subjob remains" ||
	diag "$(containers all)"

# ---------------------------------------------------------------- cancel a running subjob itself
wait_for -t 30 eval '[ "$(running_of "$(sub_of "$cancelc" 1)")" -gt 0 ]'
ok $? "cancelled child: the subjob's container runs"
ksub=$(sub_of "$cancelc" 1)
run "$JOBRUN" cancel "$ksub"
is "$RC" 0 "cancel the subjob: exit 0"
wait_for -t 15 job_is "$cancelc" FAILED
ok $? "cancel the subjob: the parent job FAILED"
is "$(job_state "$ksub")" CANCELLED "cancel the subjob: it is CANCELLED"
is "$(pos_field "$cancelc" 1 state)" FAILED "cancel the subjob: the parent's subjob task FAILED"
like "$(pos_field "$cancelc" 1 error)" "^subjob $ksub CANCELLED" "cancel the subjob: the task's error names it"
wait_for -t 15 no_containers_of "$ksub"
ok $? "cancel the subjob: its container is gone"

# ---------------------------------------------------------------- wait for the rest
wait_for -t 40 all_final "$par" "$pfail" "$pretry" "$each" "$notlist" "$efail" "$sub" "$subfail" \
	"$det" "$eachsub" "$varflow"
ok $? "every job ended"

# ---------------------------------------------------------------- parallel
is "$(job_state "$par")" COMPLETED "par: COMPLETED"
is "$(pos_field "$par" 1 state)" COMPLETED "par: the parallel task COMPLETED"
is "$(children "$par" 1)" "3,4,5,6" "par: the children are rows of their own, after the job's last task"
is "$(children "$par" 1 state)" "COMPLETED,COMPLETED,COMPLETED,COMPLETED" "par: every child COMPLETED"
is "$(children "$par" 1 name)" "c1,c2,c3,c4 subjob" "par: the children's names"
spread=$(jq_ms "$par" '[.tasks[] | select(.parent == 1 and .queue == "trio") | .startedAt | ms] | max - min')
ok "$([ -n "$spread" ] && [ "$spread" -lt 2000 ]; echo $?)" "par: the three sleepers started within 2 s of each other (one after another would be 2 s apart) ($spread ms)"
is "$(max_overlap "$par" 1)" 4 "par: all four children ran at the same time"
took=$(jq_ms "$par" '.tasks[] | select(.position == 1) | (.completedAt | ms) - (.startedAt | ms)')
# (that they overlapped is max_overlap's to show: no bound on time here,
# which a loaded machine or a sanitizer build could break)
ok "$([ -n "$took" ] && [ "$took" -ge 2000 ]; echo $?)" \
	"par: the parallel task lasted at least its 2 s children ($took ms)"
ok "$(jq_ms "$par" '([.tasks[] | select(.position == 2) | .startedAt | ms][0]) >= ([.tasks[] | select(.parent == 1) | .completedAt | ms] | max)' | grep -qx true; echo $?)" \
	"par: the next top-level task started after every child completed"
is "$(pos_field "$par" 2 result)" after "par: the next top-level task ran"
psub=$(sub_of "$par" 6)
ok "$(is_id "$psub"; echo $?)" "par: the subjob child has a subjobId"
is "$(pos_field "$par" 6 result)" from-par-subjob "par: the subjob child's result is its subjob's output"
is "$(job_json "$psub" .parentId)" "$par" "par: the subjob's parentId is the job"

run "$JOBRUN" show "$solo"
like "$OUT" "(^|$NL)  2    s1 " "plain show: a child is listed indented under its parent"
is "$(job_state "$solo")" COMPLETED "solo: COMPLETED"
is "$(children "$solo" 1 state)" "COMPLETED,COMPLETED,COMPLETED,SKIPPED" "solo: a child whose if is false is SKIPPED, the others COMPLETED"
is "$(max_overlap "$solo" 1)" 1 "solo: no two children's run times overlap"

# ---------------------------------------------------------------- parallel failure
is "$(job_state "$pfail")" FAILED "pfail: the job FAILED"
like "$(job_json "$pfail" .error)" "^task 3 \\(bad\\): exit code 3\$" "pfail: the job's error names the failed child"
is "$(pos_field "$pfail" 1 state)" FAILED "pfail: the parallel task FAILED"
is "$(pos_field "$pfail" 3 state)" FAILED "pfail: the failing child FAILED"
is "$(pos_field "$pfail" 3 exitCode)" 3 "pfail: the failing child's exit code"
is "$(pos_field "$pfail" 4 state),$(pos_field "$pfail" 5 state),$(pos_field "$pfail" 6 state)" \
	"CANCELLED,CANCELLED,CANCELLED" "pfail: the running siblings (and the subjob sibling) are CANCELLED"
ok "$([ -n "$(pos_field "$pfail" 4 startedAt)" ] && [ -n "$(pos_field "$pfail" 5 startedAt)" ]; echo $?)" \
	"pfail: the cancelled siblings had started"
is "$(pos_field "$pfail" 2 startedAt)" "" "pfail: the next top-level task never started"
pfsub=$(sub_of "$pfail" 6)
ok "$(is_id "$pfsub"; echo $?)" "pfail: the subjob sibling had started its subjob"
wait_for -t 10 job_is "$pfsub" CANCELLED
ok $? "pfail: the sibling's subjob is CANCELLED"
wait_for -t 15 no_containers_of "$pfail" "$pfsub"
ok $? "pfail: no container of the job or of the sibling's subjob remains" ||
	diag "$(containers all)"

is "$(job_state "$pretry")" FAILED "pretry: a child failing after its retry fails the job"
is "$(pos_field "$pretry" 2 attempt)" 2 "pretry: the child ran twice (retry.limit 1)"
is "$(pos_field "$pretry" 2 error)" "exit code 4" "pretry: the child's error"
is "$(pos_field "$pretry" 1 state)" FAILED "pretry: the parallel task FAILED"

# ---------------------------------------------------------------- each
is "$(job_state "$each")" COMPLETED "each: COMPLETED"
is "$(children "$each" 1 name)" "item 0,item 1,item 2,item 3" \
	"each: one child per element of sequence(1, 5), named with item.index"
is "$(children "$each" 1 result)" "1/0,2/1,3/2,4/3" "each: item.value and item.index reach the env"
is "$(children "$each" 1)" "5,6,7,8" "each: the children come after the job's last task"
logs=
for p in $(children "$each" 1 | tr , ' '); do
	run "$JOBRUN" logs "$each" "$p"
	logs="$logs$OUT;"
done
is "$logs" "v=1 i=0;v=2 i=1;v=3 i=2;v=4 i=3;" "each: every child's log"
is "$(children "$each" 2 name)" "x a,x b" "each.var x: {{ x.value }} in the name"
is "$(children "$each" 2 result)" "a-0,b-1" "each.var x: {{ x.value }} and {{ x.index }} in the env"
is "$(pos_field "$each" 3 state)" COMPLETED "each over an empty list: COMPLETED at once"
is "$(children "$each" 3)" "" "each over an empty list: no children"
is "$(pos_field "$each" 4 result)" last "each: the task after the each tasks ran"

is "$(job_state "$econc")" COMPLETED "econc: COMPLETED"
is "$(children "$econc" 1 state)" "COMPLETED,COMPLETED,COMPLETED,COMPLETED,COMPLETED" "econc: all 5 children COMPLETED"
is "$(max_overlap "$econc" 1)" 2 "econc: at most (and at some point) 2 children overlap in time"

is "$(job_state "$notlist")" FAILED "each.list not a list: the job FAILED"
like "$(job_json "$notlist" .error)" "each\\.list" "each.list not a list: the job's error says each.list"
like "$(pos_field "$notlist" 1 error)" "^each\\.list: " "each.list not a list: the task's error starts with each.list:"

is "$(job_state "$efail")" FAILED "efail: a failing each item fails the job"
is "$(children "$efail" 1 state)" "FAILED,CANCELLED,CANCELLED,CANCELLED" \
	"efail: the items waiting behind concurrency 1 are CANCELLED"
is "$(children "$efail" 1 attempt)" "2,0,0,0" "efail: the first item ran twice (retry), the others never"
is "$(pos_field "$efail" 1 state)" FAILED "efail: the each task FAILED"

# ---------------------------------------------------------------- var through children
is "$(job_state "$varflow")" COMPLETED "varflow: COMPLETED"
is "$(pos_field "$varflow" 2 result)" "got from-par" "varflow: {{ tasks.pa }} of a parallel child reaches a later task"

# ---------------------------------------------------------------- subjob
is "$(job_state "$sub")" COMPLETED "sub: COMPLETED"
ssub=$(sub_of "$sub" 2)
ok "$(is_id "$ssub"; echo $?)" "sub: the subjob task has a subjobId"
is "$(job_json "$ssub" .parentId)" "$sub" "sub: the subjob's show --json has parentId"
is "$(job_json "$ssub" .name)" "child of sub parent" "sub: the subjob's name is evaluated in the parent"
is "$(job_json "$ssub" .inputs.w)" "hello-x" "sub: the subjob's input comes from an earlier task's var"
is "$(job_state "$ssub")" COMPLETED "sub: the subjob COMPLETED"
is "$(job_json "$ssub" .result)" HELLO-X "sub: the subjob's result is its output"
is "$(task_field "$ssub" 2 result)" yes "sub: the subjob's secret was evaluated from the parent's secrets"
is "$(pos_field "$sub" 2 result)" HELLO-X "sub: the subjob's output is the task's result"
is "$(pos_field "$sub" 3 result)" "after HELLO-X" "sub: the task's var carries the subjob's output to a later task"
run "$JOBRUN" show "$ssub"
like "$OUT" "(^|$NL)parent: +$sub($NL|\$)" "sub: plain show of the subjob names its parent"
run "$JOBRUN" ls --json
is "$(printf '%s' "$OUT" | jq -r --arg id "$ssub" '[.[] | select(.id == $id)] | length')" 1 "sub: the subjob is in ls"

is "$(job_state "$subfail")" FAILED "subfail: a failing subjob fails the parent job"
fsub=$(sub_of "$subfail" 1)
is "$(job_state "$fsub")" FAILED "subfail: the subjob FAILED"
is "$(pos_field "$subfail" 1 state)" FAILED "subfail: the subjob task FAILED"
like "$(pos_field "$subfail" 1 error)" "^subjob $fsub FAILED${L}exit code 7" "subfail: the task's error names the subjob and its error"
is "$(pos_field "$subfail" 2 startedAt)" "" "subfail: the next task never started"

is "$(job_state "$det")" COMPLETED "detached: the parent COMPLETED"
dsub=$(sub_of "$det" 1)
ok "$(is_id "$dsub"; echo $?)" "detached: the task has a subjobId"
is "$(pos_field "$det" 2 result)" next "detached: the next task ran"
is "$(job_json "$dsub" .parentId)" "$det" "detached: the subjob's parentId"
wait_for -t 20 job_is "$dsub" COMPLETED
ok $? "detached: the subjob completes on its own"
dtook=$(jq_ms "$det" '.tasks[0] | (.completedAt | ms) - (.startedAt | ms)')
ok "$([ -n "$dtook" ] && [ "$dtook" -lt 1000 ]; echo $?)" "detached: the subjob task completed at once ($dtook ms)"
a=$(job_json "$det" .completedAt) b=$(job_json "$dsub" .completedAt)
ok "$([ -n "$a" ] && [[ $a < $b ]]; echo $?)" "detached: the parent completed ($a) before its subjob ($b)"

is "$(job_state "$eachsub")" COMPLETED "eachsub: COMPLETED"
is "$(children "$eachsub" 1 result)" "got p0,got q1" "eachsub: each child's result is its subjob's output (item in inputs)"
ok "$([ -n "$(job_json "$eachsub" '.startedAt // empty')" ]; echo $?)" "eachsub: the job has a startedAt (it ran)"
e1=$(job_json "$eachsub" '[.tasks[] | select(.parent == 1) | .subjobId][0] // empty')
is "$(job_json "$e1" .parentId)" "$eachsub" "eachsub: the child's subjob has the job as parentId"
is "$(job_json "$e1" .name)" "each child p" "eachsub: the subjob's name uses item.value"

wait_for -t 15 eval '[ -z "$(containers)" ]'
ok $? "no container of this home runs at the end" || diag "$(containers)"

stop_daemon
is $? 0 "the daemon exits 0 on SIGTERM"

done_testing
