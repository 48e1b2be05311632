#!/bin/bash
# --runtime podman: the tests of t/ that run Tork-style jobs (a run with
# outputs, pre/post and volumes; failures, retry and timeout; cancel;
# reattach after a crash) run again, whole, with
# every daemon on `--runtime podman` and the helpers asking podman
# (JOBRUN_TEST_RUNTIME=podman, t/lib.sh): each passes when all its
# assertions do; an each: task and a parallel: one run too (t/0130, whole,
# would take the suite 45 s more).  Then what differs: a batch rm that names a container
# already gone still removes the others (podman's rm removes nothing then,
# unless --ignore), and a workdir the image lacks fails the task with
# podman's reason (docker makes the directory).  No container of any of it
# is left in podman's store.
export JOBRUN_TEST_RUNTIME=podman	# lib.sh: DOCKER=podman, a CONTAINERS_CONF
. "$(dirname "$0")/lib.sh"
need_jobrun
command -v podman >/dev/null || skip_all "podman is not installed (run sh t/setup)"
podman image exists jobrun-test:latest 2>/dev/null ||
	skip_all "podman has no image jobrun-test:latest (run sh t/setup)"

cd "$T" || BAIL_OUT "cd $T"
NL=$'\n'

# ---------------------------------------------------------------- the tests, again
for t in 0030-run 0040-fail 0060-cancel 0080-recovery; do
	out=$(bash "$TD/$t.t" 2>&1)
	rc=$?
	n=$(grep -c '^ok ' <<<"$out")
	bad=$(grep -c '^not ok ' <<<"$out")
	is "$rc/$bad" 0/0 "$t.t with --runtime podman: its $n assertions pass" ||
		diag "$(grep -E -A4 '^not ok|^Bail out' <<<"$out" | head -n 40)"
done

# ---------------------------------------------------------------- each, parallel
cat >each.yaml <<'EOF'
name: each and parallel
tasks:
  - name: fan out
    each:
      list: '{{ [1, 2, 3] }}'
      concurrency: 2
      task:
        name: 'item {{ item.index }}'
        image: jobrun-test:latest
        env:
          ITEM: '{{ item.value }}'
        run: echo "item $ITEM"
  - name: side by side
    parallel:
      tasks:
        - name: p1
          image: jobrun-test:latest
          run: echo p1
        - name: p2
          image: jobrun-test:latest
          run: echo p2
EOF
start_daemon || BAIL_OUT "daemon"
e=$(submit each.yaml)
RUN_TIMEOUT=60 run "$JOBRUN" wait "$e"
is "$RC" 0 "an each: of 3 and a parallel: of 2 run to COMPLETED under podman"
run "$JOBRUN" logs "$e"
is "$(grep -cE '^(item [123]|p[12])$' <<<"$OUT")" 5 "... every item and branch logged its line"

# A sidecar: podman removes it only with the container that joined its
# network (rm --depend).  And variables podman itself reads (CONTAINER_HOST
# would send it to another engine) reach the container, not podman.
cat >side.yaml <<'EOF'
name: sidecar
tasks:
  - name: main
    image: jobrun-test:latest
    env:
      CONTAINER_HOST: tcp://127.0.0.1:1
      PODMAN_USERNS: auto
    sidecars:
      - name: web
        image: jobrun-test:latest
        run: mkdir -p /www && echo ok-from-sidecar > /www/health && exec httpd -f -p 8080 -h /www
        probe: {path: /health, port: 8080, timeout: 20s}
    run: wget -q -O - http://localhost:8080/health; echo "host=$CONTAINER_HOST userns=$PODMAN_USERNS"
EOF
sc=$(submit side.yaml)
RUN_TIMEOUT=60 run "$JOBRUN" wait "$sc"
is "$RC" 0 "a task with a sidecar runs to COMPLETED under podman"
run "$JOBRUN" logs "$sc"
like "$OUT" "(^|$NL)ok-from-sidecar${NL}host=tcp://127.0.0.1:1 userns=auto\$" \
	"... it reached the sidecar, and CONTAINER_HOST and PODMAN_USERNS reached it, not podman"
wait_for -t 30 no_containers_left
ok $? "... the sidecar and the task's container are removed"
is "$(grep -c 'event=container.rm' "$T/daemon.log")" 0 "... by rms that all exited 0"
stop_daemon

# ---------------------------------------------------------------- what differs
cat >one.yaml <<'EOF'
name: one
tasks:
  - name: a
    image: jobrun-test:latest
    run: echo one
EOF
cat >long.yaml <<'EOF'
name: long
tasks:
  - name: a
    image: jobrun-test:latest
    run: sleep 60
EOF
start_daemon -q default:3 || BAIL_OUT "daemon"
long=$(submit long.yaml)
wait_for job_is "$long" RUNNING
a=$(submit one.yaml)
b=$(submit one.yaml)
RUN_TIMEOUT=60 run "$JOBRUN" wait "$a" "$b"
is "$RC" 0 "two jobs COMPLETED under podman (a third runs on)"
hid=$(home_id)
# While a step runs, finished containers wait up to RM_WAIT (10 s) for one
# batch rm, and no idle sweep can come: one of the two goes first, by hand.
podman rm -f --time=0 "jobrun-$hid-$a-1-1-0" >/dev/null
wait_for -t 30 eval '[ -z "$(podman ps -aq --filter "label=jobrun.job=$b")" ]'
ok $? "the batch rm that names the one already gone removes the other"
is "$(job_state "$long")" RUNNING "... while a step still ran (so no sweep did it)"
is "$(grep -cE 'event=container\.rm|event=daemon\.cleanup containers=[1-9]' "$T/daemon.log")" 0 \
	"... no failed rm, no sweep"
run "$JOBRUN" cancel "$long"
is "$RC" 0 "the long job is cancelled"

cat >nowd.yaml <<'EOF'
name: nowd
tasks:
  - name: a
    image: jobrun-test:latest
    workdir: /no/such/dir
    cmd: [pwd]
EOF
c=$(submit nowd.yaml)
RUN_TIMEOUT=60 run "$JOBRUN" wait "$c"
is "$RC" 4 "a workdir the image lacks: the job FAILED (docker would make it)"
run "$JOBRUN" logs "$c"
like "$OUT" 'workdir "/no/such/dir" does not exist' "... and the log has podman's reason"
stop_daemon
is "$?" 0 "the daemon stops (exit 0)"
is "$(podman ps -a --filter label=jobrun.home --format '{{.Names}} {{.ListContainer.State}}')" "" \
	"no container of any jobrun home is left in podman's store"

done_testing
