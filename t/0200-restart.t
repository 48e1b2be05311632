#!/bin/bash
# restart (alias retry): a FAILED or CANCELLED job runs again from the first
# task that did not complete.  Completed tasks keep their results and do not
# run again; the restarted task's attempts go on counting and its retry.limit
# counts afresh; a restarted parallel/each task runs all its children again;
# --wait exits like wait.  Refused: a RUNNING or COMPLETED job (exit 1), an
# unknown id (exit 6), a job whose secrets are gone (exit 1); usage errors
# (exit 2).  The daemon's log line for a restart names the caller's uid.
#
# Tasks read flags from a bind-mounted host dir, so that a task fails before
# the restart and passes after it.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"
ID='^[0-9a-f]{12}$'
NL=$'\n'

# The daemon names who asked by the spool file's owner, as the kernel says:
# here, us (a caller that claims another uid is refused: t/0310).
CALLER=$(id -u) AS_CALLER=(env)

# Beside the home, allowed by --allow-bind: what containers write there as
# root goes at exit (lib.sh).
B=$T/bind
mkdir -m 777 "$B"
flag() { printf '%s\n' "$2" >"$B/$1"; } # NAME VALUE

cat >three.yaml <<EOF
name: restartable
tasks:
  - name: one
    var: one
    image: jobrun-test:latest
    run: |
      echo one ran
      echo -n one-result > \$TORK_OUTPUT
  - name: two
    var: two
    image: jobrun-test:latest
    retry:
      limit: 1
    mounts:
      - type: bind
        source: $B
        target: /b
    env:
      ONE: "{{ tasks.one }}"
    run: |
      echo "two sees \$ONE"
      [ "\$(cat /b/two)" = pass ] || exit 5
      echo -n "two-\$ONE" > \$TORK_OUTPUT
  - name: three
    image: jobrun-test:latest
    env:
      TWO: "{{ tasks.two }}"
    run: |
      echo three ran
      echo -n "three-\$TWO" > \$TORK_OUTPUT
EOF

cat >sleepy.yaml <<EOF
name: sleepy
tasks:
  - name: first
    image: jobrun-test:latest
    run: echo first ran
  - name: sleeps
    image: jobrun-test:latest
    mounts:
      - type: bind
        source: $B
        target: /b
    run: |
      echo sleeps ran
      case \$(cat /b/sleepy) in sleep) sleep 60 ;; 3) sleep 3 ;; esac
EOF

cat >par.yaml <<EOF
name: fan out
tasks:
  - name: first
    image: jobrun-test:latest
    run: echo first ran
  - name: fan
    parallel:
      tasks:
        - name: good child
          image: jobrun-test:latest
          run: echo good child ran
        - name: flaky child
          image: jobrun-test:latest
          mounts:
            - type: bind
              source: $B
              target: /b
          run: |
            echo flaky child ran
            [ "\$(cat /b/par)" = pass ] || exit 4
  - name: items
    each:
      list: "{{ [1, 2] }}"
      task:
        name: item
        image: jobrun-test:latest
        env:
          ITEM: "{{ item.value }}"
        run: echo item \$ITEM
EOF

cat >each.yaml <<EOF
name: each fails
tasks:
  - name: items
    each:
      list: "{{ ['a', 'b'] }}"
      task:
        name: item
        image: jobrun-test:latest
        mounts:
          - type: bind
            source: $B
            target: /b
        env:
          ITEM: "{{ item.value }}"
        run: |
          echo item \$ITEM
          [ "\$ITEM" = a ] || [ "\$(cat /b/each)" = pass ] || exit 6
EOF

cat >secret.yaml <<EOF
name: with secrets
secrets:
  token: s3cret-t0ken
tasks:
  - name: fails
    image: jobrun-test:latest
    mounts:
      - type: bind
        source: $B
        target: /b
    env:
      TOKEN: "{{ secrets.token }}"
    run: |
      [ "\$(cat /b/sec)" = pass ] || exit 1
      [ "\$TOKEN" = s3cret-t0ken ] && echo -n token-seen > \$TORK_OUTPUT
EOF

cat >ok.yaml <<'EOF'
name: ok
tasks:
  - image: jobrun-test:latest
    run: echo ok
EOF

cat >nodaemon.yaml <<EOF
name: restarted without a daemon
tasks:
  - name: flaky
    image: jobrun-test:latest
    mounts:
      - type: bind
        source: $B
        target: /b
    run: |
      echo flaky ran
      [ "\$(cat /b/nd)" = pass ] || exit 2
EOF

# ---------------------------------------------------------------- usage
run "$JOBRUN" restart
is "$RC" 2 "usage: restart with no id exits 2"
like "$ERR" "expected at least one job id" "usage: ... and says so"
run "$JOBRUN" retry --bogus 0123456789ab
is "$RC" 2 "usage: retry with an unknown option exits 2"

start_daemon -q default:8 --allow-bind "$B" || BAIL_OUT "the daemon does not start"
run "$JOBRUN" restart 0123456789ab
is "$RC" 6 "unknown: restart of an unknown id exits 6"
is "$ERR" "jobrun: no job matches '0123456789ab'" "unknown: 'no job matches'"

# ---------------------------------------------------------------- a FAILED job
flag two fail
id=$(submit three.yaml)
like "$id" "$ID" "failed: submitted"
RUN_TIMEOUT=40 run "$JOBRUN" wait "$id"
is "$RC" 4 "failed: task two fails twice (retry.limit 1): the job FAILED"
is "$(job_json "$id" '[.tasks[] | .state + ":" + (.attempt | tostring)] | join(",")')" \
	"COMPLETED:1,FAILED:2,CREATED:0" "failed: one COMPLETED, two FAILED after 2 attempts, three never ran"

okid=$(submit --wait ok.yaml)
run "$JOBRUN" restart "$okid"
is "$RC" 1 "completed: restart of a COMPLETED job exits 1"
is "$ERR" "jobrun: job $okid is COMPLETED; only a FAILED or CANCELLED job can be restarted" \
	"completed: ... saying only FAILED or CANCELLED jobs can"

# restart as another uid, still failing: two more attempts (limit 1 counts afresh)
RUN_TIMEOUT=20 run "${AS_CALLER[@]}" "$JOBRUN" restart "$id"
is "$RC/$OUT/$ERR" "0//" "restart: exits 0, prints nothing"
RUN_TIMEOUT=40 run "$JOBRUN" wait "$id"
is "$RC" 4 "restart: two fails again: wait exits 4"
is "$(task_field "$id" 2 attempt)" 4 "restart: retry.limit counts afresh: attempts 3 and 4 ran (attempt 4)"
is "$(job_json "$id" '[.tasks[] | .state] | join(",")')" "COMPLETED,FAILED,CREATED" \
	"restart: one stays COMPLETED, two FAILED, three CREATED"
line=$(grep "event=job.restart job=$id " "$T/daemon.log")
like "$line" "^time=[^ ]+ level=info event=job\.restart job=$id task=2 uid=$CALLER\$" \
	"restart: the daemon logs job.restart from task 2 with uid=$CALLER"

# now it passes: retry (the alias) --wait
flag two pass
RUN_TIMEOUT=40 run "$JOBRUN" retry --wait "$id"
is "$RC" 0 "retry --wait: two passes, exit 0 (COMPLETED)"
is "$(job_state "$id")" COMPLETED "retry --wait: the job is COMPLETED"
is "$(job_json "$id" '[.tasks[] | .state + ":" + (.attempt | tostring)] | join(",")')" \
	"COMPLETED:1,COMPLETED:5,COMPLETED:1" "retry --wait: one still attempt 1, two attempt 5, three attempt 1"
is "$(task_field "$id" 1 result)" one-result "completed task: one keeps its result"
is "$(task_field "$id" 2 result)" two-one-result "completed task: two saw {{ tasks.one }} after the restart"
is "$(task_field "$id" 3 result)" three-two-one-result "three saw {{ tasks.two }}"
is "$("$JOBRUN" logs "$id" 1)" "one ran" "completed task: one did not run again (its line once)"
is "$("$JOBRUN" logs "$id" 2 | grep -c 'two sees one-result')" 5 "two: one log line per attempt (5)"
is "$(job_json "$id" '.completedTasks')" 3 "the job has 3 completed tasks"
is "$(job_json "$id" '.error // "none"')" none "the job's error is gone"
run "$JOBRUN" restart "$id"
is "$RC" 1 "restart of the now COMPLETED job exits 1"

# ---------------------------------------------------------------- a CANCELLED job
# From here on the daemon's `docker rm` (with which it kills a cancelled
# container, and removes each finished one, in the background) takes 2 s, as
# on a busy engine: a restart comes while the first run's containers still
# exist and their `docker run` has not returned, as it can anyway.
stop_daemon
cat >slow-rm-docker <<EOF
#!/bin/sh
[ "\$1" = rm ] && sleep 2
exec $DOCKER "\$@"
EOF
chmod +x slow-rm-docker
JOBRUN_DOCKER=$T/slow-rm-docker start_daemon -q default:8 --allow-bind "$B" || BAIL_OUT "the daemon does not restart"
flag sleepy sleep
cid=$(submit sleepy.yaml)
wait_for -t 20 eval '[ "$(task_field "$cid" 2 state)" = RUNNING ] && grep -q "sleeps ran" "$JOBRUN_HOME/logs/$cid/2.log"'
ok $? "cancelled: task 2 runs"
run "$JOBRUN" restart "$cid"
is "$RC" 1 "running: restart of a RUNNING job exits 1"
is "$ERR" "jobrun: job $cid is RUNNING; only a FAILED or CANCELLED job can be restarted" \
	"running: ... saying only FAILED or CANCELLED jobs can"
is "$(job_state "$cid")" RUNNING "running: the job runs on"
RUN_TIMEOUT=20 run "$JOBRUN" cancel "$cid"
is "$RC/$(job_state "$cid")" 0/CANCELLED "cancelled: cancel exits 0, the job is CANCELLED"
flag sleepy 3	# the restarted task runs 3 s, past the cancelled attempt's end
RUN_TIMEOUT=40 run "$JOBRUN" restart --wait "${cid:0:8}"
is "$RC" 0 "cancelled: restart --wait by prefix exits 0 (COMPLETED)"
is "$(job_json "$cid" '[.tasks[] | .state + ":" + (.attempt | tostring)] | join(",")')" \
	"COMPLETED:1,COMPLETED:2" "cancelled: first kept (attempt 1), the cancelled task ran again (attempt 2)"
is "$("$JOBRUN" logs "$cid" 1)" "first ran" "cancelled: first did not run again"
is "$("$JOBRUN" logs "$cid" 2)" "sleeps ran${NL}sleeps ran" "cancelled: the cancelled task ran twice"

# ---------------------------------------------------------------- parallel and each
# (children are told by name: a restart may give them new positions)
flag par fail
pid=$(submit par.yaml)
RUN_TIMEOUT=40 run "$JOBRUN" wait "$pid"
is "$RC" 4 "parallel: the flaky child fails the job"
failed_at=$(job_json "$pid" .completedAt)
flag par pass
RUN_TIMEOUT=40 run "$JOBRUN" restart --wait "$pid"
is "$RC" 0 "parallel: restart --wait exits 0"
is "$(job_json "$pid" '[.tasks[] | .name + ":" + .state] | sort | join(",")')" \
	"fan:COMPLETED,first:COMPLETED,flaky child:COMPLETED,good child:COMPLETED,item:COMPLETED,item:COMPLETED,items:COMPLETED" \
	"parallel: every task and child COMPLETED, once each"
is "$("$JOBRUN" logs "$pid" 1)" "first ran" "parallel: the completed first task did not run again"
is "$(job_json "$pid" '.tasks[] | select(.name == "good child") | .startedAt > "'"$failed_at"'"')" true \
	"parallel: the restarted parallel task ran its good child again (started after the failure at $failed_at)"
is "$(job_json "$pid" '.tasks[] | select(.name == "flaky child") | .startedAt > "'"$failed_at"'"')" true \
	"parallel: ... and its flaky child"
is "$(job_json "$pid" '[.tasks[] | select(.name == "good child" or .name == "flaky child") | .error // empty] | join(",")')" "" \
	"parallel: no child has an error"

flag each fail
eid=$(submit each.yaml)
RUN_TIMEOUT=40 run "$JOBRUN" wait "$eid"
is "$RC" 4 "each: item b fails the job"
failed_at=$(job_json "$eid" .completedAt)
flag each pass
RUN_TIMEOUT=40 run "$JOBRUN" restart --wait "$eid"
is "$RC" 0 "each: restart --wait exits 0"
is "$(job_json "$eid" '[.tasks[] | select(.parent) | .state] | join(",")')" COMPLETED,COMPLETED \
	"each: the job has two children, both COMPLETED"
is "$(job_json "$eid" '[.tasks[] | select(.parent) | .startedAt > "'"$failed_at"'"] | join(",")')" true,true \
	"each: both items ran again, item a too (started after the failure)"

# ---------------------------------------------------------------- secrets
# A FAILED job keeps its secrets in their store (0600), so that a restart
# runs with them; they go once it COMPLETED.
flag sec fail
sid=$(submit secret.yaml)
RUN_TIMEOUT=30 run "$JOBRUN" wait "$sid"
is "$RC" 4 "secrets: the job FAILED"
is "$(stat -c %a "$JOBRUN_HOME/secrets/$sid" 2>/dev/null)" 600 "secrets: a FAILED job's secrets stay in secrets/ID, mode 0600"
flag sec pass
RUN_TIMEOUT=30 run "$JOBRUN" restart --wait "$sid"
is "$RC" 0 "secrets: restart --wait exits 0 (COMPLETED)"
is "$(task_field "$sid" 1 result)/$(task_field "$sid" 1 attempt)" token-seen/2 \
	"secrets: the restarted task had the secret in its env"
wait_for eval '[ ! -e "$JOBRUN_HOME/secrets/$sid" ]'
ok $? "secrets: ... and once COMPLETED they are gone"
flag sec fail
sid=$(submit secret.yaml)
RUN_TIMEOUT=30 run "$JOBRUN" wait "$sid"
rm -f "$JOBRUN_HOME/secrets/$sid"
run "$JOBRUN" restart "$sid"
is "$RC" 1 "secrets gone: restart exits 1"
like "$ERR" "^jobrun: job $sid had secrets, and they are gone.*submit it again" "secrets gone: ... saying so"
is "$(job_state "$sid")/$(task_field "$sid" 1 attempt)" FAILED/1 "secrets gone: the job stays FAILED and did not run again"

# ---------------------------------------------------------------- restart --wait while no daemon runs
flag nd fail
nid=$(submit nodaemon.yaml)
RUN_TIMEOUT=30 run "$JOBRUN" wait "$nid"
is "$RC" 4 "no daemon: the job FAILED"
stop_daemon
flag nd pass
run "$JOBRUN" restart "$nid"
is "$RC" 0 "no daemon: restart exits 0 (the request is spooled)"
like "$ERR" "no daemon is running for $JOBRUN_HOME" "no daemon: ... saying no daemon runs"
# restart --wait before the daemon starts: it must wait for the restarted run
( RUN_TIMEOUT=40 run "$JOBRUN" restart --wait "$nid"; echo "$RC" >"$T/rw.rc" ) &
rw=$!
sleep 1
start_daemon -q default:8 --allow-bind "$B" || BAIL_OUT "the daemon does not restart"
wait "$rw"
is "$(cat "$T/rw.rc")" 0 "no daemon: restart --wait waits for the restarted run and exits 0 (COMPLETED)"
is "$(job_state "$nid")/$(task_field "$nid" 1 attempt)" COMPLETED/2 "no daemon: the job ran again and COMPLETED"

stop_daemon
is $? 0 "the daemon exits 0"
done_testing
