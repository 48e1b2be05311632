#!/bin/bash
# Two daemons with different homes on one engine never touch each other's
# containers (the labels carry the home's identity).
#
# Home A is lib.sh's ($JOBRUN_HOME, start_daemon, ...); home B ($T/homeB) is
# managed here, reached with --home, and torn down by this script's EXIT trap
# (its daemon, containers, volumes) before lib.sh's cleanup runs.  A runs a long
# task; B starts, is killed and restarted (recovery, which removes B's stray
# containers), cancels its own job; A is restarted too.  Through all of that
# each home's container survives the other's actions and A's job completes.
# Long tasks wait for gate files in their /tork mount rather than sleeping.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"
HB=$T/homeB
mkdir -m 700 "$HB"
B_PID=

# ---------------------------------------------------------------- home B
JB=("$JOBRUN" --home "$HB")	# jobrun in home B
b_alive() {
	[ -n "$B_PID" ] && _alive "$B_PID"
}
b_home_id() {
	local id
	id=$(cat "$HB/run/home-id" 2>/dev/null) || return 1
	[[ $id =~ ^[0-9a-f]{8}$ ]] || return 1
	echo "$id"
}
b_ready() { # B's daemon runs, has written its pid and holds its lock
	[ "$(cat "$HB/run/daemon.pid" 2>/dev/null)" = "$B_PID" ] &&
		! flock -n "$HB/run/lock" true 2>/dev/null
}
start_b() { # start home B's daemon; 1 when it dies or is not ready within 10s
	echo "--- start_b" >>"$T/daemonB.log"
	"$JOBRUN" --home "$HB" daemon </dev/null >>"$T/daemonB.log" 2>&1 &
	B_PID=$!
	local end=$((SECONDS + 10))
	while [ "$SECONDS" -le "$end" ]; do
		if ! b_alive; then
			diag "start_b: home B's daemon exited at start:" "$(tail -n 20 "$T/daemonB.log")"
			B_PID=
			return 1
		fi
		b_ready && return 0
		sleep 0.05
	done
	diag "start_b: home B's daemon not ready after 10s:" "$(tail -n 20 "$T/daemonB.log")"
	return 1
}
_reap_b() { # SECS: wait for B's daemon (SIGKILL after SECS); its exit status
	local end=$((SECONDS + $1)) st
	while b_alive && [ "$SECONDS" -lt "$end" ]; do sleep 0.05; done
	b_alive && kill -KILL "$B_PID" 2>/dev/null
	wait "$B_PID" 2>/dev/null
	st=$?
	B_PID=
	return $st
}
stop_b() {
	[ -n "$B_PID" ] || return 0
	kill -TERM "$B_PID" 2>/dev/null
	_reap_b 10
}
kill_b() {
	[ -n "$B_PID" ] || return 0
	{ kill -KILL "$B_PID"; _reap_b 10; } 2>/dev/null
}
_cleanup_b() {
	local id ids vols
	b_alive && stop_b
	if id=$(b_home_id); then
		ids=$("$DOCKER" ps -aq --filter "label=jobrun.home=$id" 2>/dev/null)
		# shellcheck disable=SC2086
		[ -n "$ids" ] && "$DOCKER" rm -f -v $ids >/dev/null 2>&1
		ids=$("$DOCKER" ps -aq --filter "name=^jobrun-$id-" 2>/dev/null)
		# shellcheck disable=SC2086
		[ -n "$ids" ] && "$DOCKER" rm -f -v $ids >/dev/null 2>&1
		vols=$("$DOCKER" volume ls -q --filter "name=jobrun-$id-" 2>/dev/null | grep "^jobrun-$id-")
		# shellcheck disable=SC2086
		[ -n "$vols" ] && "$DOCKER" volume rm -f $vols >/dev/null 2>&1
	fi
	if [ "$_tap_failed" -gt 0 ] && [ -s "$T/daemonB.log" ]; then
		diag "last lines of daemonB.log:" "$(tail -n 30 "$T/daemonB.log")"
	fi
	# files written by containers as root into B's /tork mounts
	[ -z "${JOBRUN_TEST_KEEP:-}" ] && ! rm -rf "$HB" 2>/dev/null &&
		"$DOCKER" run --rm --network none -v "$T:/x" jobrun-test:latest rm -rf /x/homeB >/dev/null 2>&1
	return 0
}
# shellcheck disable=SC2154 # _st is set in the trap itself
trap '_st=$?; _cleanup_b; (exit $_st); _cleanup' EXIT

# ---------------------------------------------------------------- helpers
gated() { # NAME RESULT: a one-task job file that waits for gates go1 and go2
	write_file "$1.yaml" <<EOF
name: $1
tasks:
  - name: $1
    image: jobrun-test:latest
    run: |
      gate() {
        i=0
        while [ ! -e /tork/\$1 ] && [ \$i -lt 400 ]; do sleep 0.1; i=\$((i + 1)); done
        [ -e /tork/\$1 ] || { echo "gate \$1 never opened"; exit 99; }
      }
      echo "start $1"
      gate go1
      echo "mid $1"
      gate go2
      printf %s "$2" > \$TORK_OUTPUT
      echo "end $1"
EOF
}
open_gate() { # HOME ID GATE
	local d
	for d in "$1/work/$2"/*/; do
		[ -d "$d" ] && : >"$d$3"
	done
}
log_has() { # HOME ID REGEX: the job's log (task 1) matches
	[[ $("$JOBRUN" --home "$1" logs "$2" 1 2>/dev/null) =~ $3 ]]
}
cid_of() { # JOB: the id of job JOB's running container (either home)
	"$DOCKER" ps -q --no-trunc --filter "label=jobrun.job=$1" 2>/dev/null
}
label_of() { # CONTAINER-ID LABEL
	"$DOCKER" inspect -f "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null
}
gone() { # NAME: no container of that name (for wait_for)
	[ -z "$("$DOCKER" ps -aq --filter "name=^$1\$" 2>/dev/null)" ]
}
b_has_no_containers() {
	[ -z "$("$DOCKER" ps -aq --filter "label=jobrun.home=$(b_home_id)" 2>/dev/null)" ]
}

gated ja "result A" >/dev/null
gated jb "result B" >/dev/null
cat >quick.yaml <<'EOF'
name: quick
tasks:
  - name: quick
    image: jobrun-test:latest
    run: printf done > $TORK_OUTPUT
EOF

# ---------------------------------------------------------------- both homes run a task
start_daemon
ok $? "home A's daemon starts"
ja=$(submit ja.yaml)
wait_for log_has "$JOBRUN_HOME" "$ja" "start ja"
ok $? "A's job runs"

start_b
ok $? "home B's daemon starts"
run "${JB[@]}" submit jb.yaml
jb=$OUT
like "$jb" '^[0-9a-f]{12}$' "B's job is submitted (with --home)"
wait_for log_has "$HB" "$jb" "start jb"
ok $? "B's job runs"

hida=$(home_id)
hidb=$(b_home_id)
like "$hida $hidb" '^[0-9a-f]{8} [0-9a-f]{8}$' "both homes have an 8-hex id"
isnt "$hida" "$hidb" "the two home ids differ"
ca=$(cid_of "$ja")
cb=$(cid_of "$jb")
like "$ca $cb" '^[0-9a-f]{64} [0-9a-f]{64}$' "each job has one running container"
is "$(label_of "$ca" jobrun.home)" "$hida" "A's container is labelled jobrun.home=A's id"
is "$(label_of "$cb" jobrun.home)" "$hidb" "B's container is labelled jobrun.home=B's id"
like "$("$DOCKER" inspect -f '{{.Name}}' "$ca")" "^/jobrun-$hida-$ja-" "A's container's name carries A's id"
like "$("$DOCKER" inspect -f '{{.Name}}' "$cb")" "^/jobrun-$hidb-$jb-" "B's container's name carries B's id"

# ---------------------------------------------------------------- B is killed and restarted
kill_b
is $? 137 "B's daemon dies of SIGKILL"
# A leftover of a finished attempt of B's, for B's recovery to remove.
stray=jobrun-$hidb-000000000000-1-1-0
"$DOCKER" create --name "$stray" --label "jobrun.home=$hidb" --label jobrun.job=000000000000 \
	--label jobrun.task=1 --label jobrun.attempt=1 --network none jobrun-test:latest true >/dev/null
ok $? "a stray container of home B exists"
start_b
ok $? "B's daemon starts again (recovery)"
wait_for -t 15 gone "$stray"
ok $? "B's recovery removed B's stray container"
open_gate "$HB" "$jb" go1
wait_for -t 15 log_has "$HB" "$jb" "mid jb"
ok $? "B reattached to its own running container"
is "$(cid_of "$ja")" "$ca" "A's container survived B's recovery"
like "$("${JB[@]}" logs "$ja" 2>&1)" "no job matches '$ja'" "B's logs does not know A's job"

# ---------------------------------------------------------------- A is killed and restarted
kill_daemon
is $? 137 "A's daemon dies of SIGKILL"
start_daemon
ok $? "A's daemon starts again (recovery)"
open_gate "$JOBRUN_HOME" "$ja" go1
wait_for -t 15 log_has "$JOBRUN_HOME" "$ja" "mid ja"
ok $? "A reattached to its own running container"
is "$(cid_of "$jb")" "$cb" "B's container survived A's recovery"

# ---------------------------------------------------------------- B cancels
run "${JB[@]}" cancel "$ja"
is "$RC" 6 "B cannot cancel A's job (exit 6)"
is "$ERR" "jobrun: no job matches '$ja'" "... no job matches in B"
run "${JB[@]}" cancel "$jb"
is "$RC" 0 "B cancels its own job"
is "$("${JB[@]}" show --json "$jb" | jq -r .state)" CANCELLED "B's job is CANCELLED"
wait_for -t 15 b_has_no_containers
ok $? "B's containers are gone"
is "$(cid_of "$ja")" "$ca" "A's container survived B's cancel"
is "$(job_state "$ja")" RUNNING "A's job is still RUNNING"

run "${JB[@]}" submit --wait quick.yaml
is "$RC" 0 "B still runs jobs"
jq_=$("${JB[@]}" ls --json)
is "$(jq -r '[.[].id] | sort | join(" ")' <<<"$jq_")" "$(printf '%s\n' "$jb" "$OUT" | sort | tr '\n' ' ' | sed 's/ $//')" \
	"B's ls --json lists only B's two jobs"
run "${JB[@]}" ls
unlike "$OUT" "$ja" "B's ls does not show A's job"
run "$JOBRUN" ls
unlike "$OUT" "$jb" "A's ls does not show B's job"

# ---------------------------------------------------------------- A completes normally
open_gate "$JOBRUN_HOME" "$ja" go2
RUN_TIMEOUT=30 run "$JOBRUN" wait "$ja"
is "$RC" 0 "A's job completes"
is "$(task_field "$ja" 1 result)/$(task_field "$ja" 1 attempt)" "result A/1" \
	"A's task has its result, on attempt 1"
like "$("$JOBRUN" logs "$ja" 1)" "start ja.*mid ja.*end ja" "A's log has all its lines"
wait_for -t 15 no_containers_left
ok $? "A's containers are gone"

stop_b
is $? 0 "B's daemon exits 0 on SIGTERM"
stop_daemon
is $? 0 "A's daemon exits 0 on SIGTERM"
done_testing
