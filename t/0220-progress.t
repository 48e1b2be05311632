#!/bin/bash
# Progress: a task writes a number (0-100) or a short message to
# $TORK_PROGRESS or $JOBRUN_PROGRESS; the daemon reads it while the task runs
# and when its step ends.  show prints "progress:" (the job's: the mean over
# its top-level tasks, a completed task counting 100) and "task N progress:
# VALUE (time)"; ls has a PROGRESS column; show --json has the job's
# "progress" and "progressMessage" and each task's "progress" and
# "progressAt".  Only the first line counts; secrets are redacted; a job
# that reports nothing shows no progress.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"
TIME='[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}'
RFC='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$'
SECRET=hunter2-pr0gress

# The running task goes on when the test creates files in a bind-mounted dir.
B=$T/bind
mkdir -m 777 "$B"

cat >steps.yaml <<EOF
name: progress job
secrets:
  pw: $SECRET
tasks:
  - name: quick
    image: jobrun-test:latest
    run: echo 30 > \$TORK_PROGRESS
  - name: reporter
    image: jobrun-test:latest
    mounts:
      - type: bind
        source: $B
        target: /b
    env:
      PW: "{{ secrets.pw }}"
    run: |
      echo 40 > \$TORK_PROGRESS
      while [ ! -e /b/step1 ]; do sleep 0.1; done
      echo "copying part 2" > \$JOBRUN_PROGRESS
      while [ ! -e /b/step2 ]; do sleep 0.1; done
      printf 'sending with %s\nsecond line\n' "\$PW" > \$TORK_PROGRESS
      while [ ! -e /b/step3 ]; do sleep 0.1; done
EOF
cat >message.yaml <<EOF
name: message only
tasks:
  - name: talker
    image: jobrun-test:latest
    mounts:
      - type: bind
        source: $B
        target: /b
    run: |
      echo "warming up" > \$TORK_PROGRESS
      while [ ! -e /b/msg ]; do sleep 0.1; done
EOF
cat >fast.yaml <<'EOF'
name: fast
tasks:
  - name: writes and fails
    image: jobrun-test:latest
    run: |
      printf '75\nnot this line\n' > $TORK_PROGRESS
      exit 1
EOF
cat >silent.yaml <<'EOF'
name: silent
tasks:
  - name: says nothing
    image: jobrun-test:latest
    run: echo hi
EOF

start_daemon --allow-bind "$B" || BAIL_OUT "the daemon does not start"
ls_row() { "$JOBRUN" ls 2>/dev/null | grep "^$1 "; }
show_has() { "$JOBRUN" show "$1" 2>/dev/null | grep -qxF -- "$2"; }

# ---------------------------------------------------------------- nothing reported
s=$(submit --wait silent.yaml)
is "$(job_state "$s")" COMPLETED "silent: the job COMPLETED"
unlike "$("$JOBRUN" show "$s")" "progress" "silent: show prints no progress"
like "$(ls_row "$s")" "^$s +silent +COMPLETED +1/1 +$TIME\$" "silent: ls shows no progress in its row"
is "$(job_json "$s" '[has("progress"), has("progressMessage"), (.tasks[0] | has("progress"), has("progressAt"))] | map(tostring) | join(",")')" \
	false,false,false,false "silent: show --json has no progress keys"
run "$JOBRUN" ls
like "$OUT" '^ID +NAME +STATE +TASKS +CREATED +PROGRESS' "ls has a PROGRESS column"

# ---------------------------------------------------------------- read when the step ends
f=$(submit fast.yaml)
RUN_TIMEOUT=30 run "$JOBRUN" wait "$f"
is "$RC" 4 "fast: the job FAILED"
is "$(task_field "$f" 1 progress)" 75 "fast: written just before the task ended, the value is read (its first line only)"
is "$(job_json "$f" .progress)" 75 "fast: the job's progress is 75 (the failed task did not complete)"
like "$(task_field "$f" 1 progressAt)" "$RFC" "fast: progressAt is a time"

# ---------------------------------------------------------------- while it runs
id=$(submit steps.yaml)
wait_for -t 20 eval '[ "$(task_field "$id" 2 progress)" = 40 ]'
ok $? "running: the task's 40 is read while it runs"
is "$(job_state "$id")" RUNNING "running: the job still runs"
is "$(task_field "$id" 1 progress)" 30 "running: the completed task keeps the 30 it wrote"
is "$(job_json "$id" .progress)" 70 "running: the job's progress is the mean of 100 (completed) and 40: 70"
run "$JOBRUN" show "$id"
like "$OUT" $'\nprogress: +70%\n' "running: show prints 'progress:   70%'"
like "$OUT" $'\ntask 1 progress: 30 \\('"$TIME"$'\\)\n' "running: show prints 'task 1 progress: 30 (time)'"
like "$OUT" $'\ntask 2 progress: 40 \\('"$TIME"$'\\)' "running: show prints 'task 2 progress: 40 (time)'"
like "$(ls_row "$id")" "^$id +progress job +RUNNING +1/2 +$TIME +70%\$" "running: ls shows 70%"
is "$("$JOBRUN" ls --json | jq --arg id "$id" '.[] | select(.id == $id) | .progress')" 70 "running: ls --json has progress 70"
at1=$(task_field "$id" 2 progressAt)
like "$at1" "$RFC" "running: task 2 has a progressAt"

touch "$B/step1"
wait_for -t 15 eval '[ "$(task_field "$id" 2 progress)" = "copying part 2" ]'
ok $? "message: 'copying part 2' written to \$JOBRUN_PROGRESS is read"
is "$(job_json "$id" '.progress, .progressMessage' | paste -sd'|')" "50|copying part 2" \
	"message: --json: the job's progress 50 (a message counts 0), progressMessage 'copying part 2'"
show_has "$id" "progress:   50% copying part 2"
ok $? "message: show prints 'progress:   50% copying part 2'"
like "$(ls_row "$id")" " +50% copying part 2\$" "message: ls shows '50% copying part 2'"
at2=$(task_field "$id" 2 progressAt)
ok $([[ "$at2" > "$at1" ]] && echo 0 || echo 1) "message: progressAt moved on ($at1 -> $at2)"

touch "$B/step2"
wait_for -t 15 eval '[ "$(task_field "$id" 2 progress)" = "sending with [REDACTED]" ]'
ok $? "secret: the value written with a secret is read, the secret [REDACTED], only the first line"
show_has "$id" "progress:   50% sending with [REDACTED]"
ok $? "secret: show prints the redacted message"
all=$("$JOBRUN" show "$id"; "$JOBRUN" show --json "$id"; "$JOBRUN" ls; "$JOBRUN" ls --json)
unlike "$all" "$SECRET" "secret: show, show --json, ls and ls --json never print the secret"
touch "$B/step3"
RUN_TIMEOUT=30 run "$JOBRUN" wait "$id"
is "$RC" 0 "done: the job COMPLETED"
is "$(job_json "$id" .progress)" 100 "done: the job's progress is 100"
like "$(ls_row "$id")" " +100%( .*)?\$" "done: ls shows 100%"
is "$(task_field "$id" 2 progress)" "sending with [REDACTED]" "done: the task keeps its last value"
grep -qF -- "$SECRET" "$T/daemon.log"
isnt $? 0 "secret: not in the daemon's log either"
like "$(grep "event=task.progress job=$id task=2 " "$T/daemon.log" | paste -sd'|')" \
	'progress="40"\|.*progress="copying part 2"\|.*progress="sending with \[REDACTED\]"$' \
	"the daemon logs each new value (task.progress)"

# ---------------------------------------------------------------- a message only
m=$(submit message.yaml)
wait_for -t 20 eval '[ "$(task_field "$m" 1 progress)" = "warming up" ]'
ok $? "message only: read"
show_has "$m" "progress:   warming up"
ok $? "message only: show prints the message with no percentage"
like "$(ls_row "$m")" "^$m +message only +RUNNING +0/1 +$TIME +warming up\$" "message only: ls shows 'warming up'"
is "$(job_json "$m" '.progressMessage')" "warming up" "message only: progressMessage"
touch "$B/msg"
RUN_TIMEOUT=30 run "$JOBRUN" wait "$m"
is "$RC" 0 "message only: the job COMPLETED"

stop_daemon
is $? 0 "the daemon exits 0"
done_testing
