#!/bin/bash
# The failpoint walk: the daemon crashes once at every durable step of a
# workload and loses nothing.
#
# ./jobrun-crashtest (make crashtest) is the daemon with failpoints: with
# JOBRUN_FAILPOINTS=FILE it kills itself with SIGKILL at the first durable
# step (a commit, a spool unlink, a child started, a container's exit seen)
# not yet listed in FILE, listing it first ("Failpoints" in jobrun.c).  The
# test starts it again after every crash until one runs the whole workload
# through, tidies up (no container left) and stops on SIGTERM without one:
#   46 one-task jobs with a result, 20 two-task jobs whose second task reads
#   the first one's output, 8 jobs whose task fails twice (retry.limit 1),
#   and a cron schedule firing every 4 s, paused after its third job;
# then checks: the walk ended, each crash at a new step; no job lost (every
# one final, with its result or its error, none twice); no step's container
# started twice and none for an attempt the store does not have (docker
# events); no container or volume left; PRAGMA integrity_check ok; the
# spool empty.  It prints the number of failpoints walked, by kind.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker
CRASH=$ROOT/jobrun-crashtest
[ -x "$CRASH" ] || BAIL_OUT "$CRASH is not built (run make crashtest)"
command -v sqlite3 >/dev/null || BAIL_OUT "sqlite3 is missing (run sh t/setup)"

cd "$T" || BAIL_OUT "cd $T"
FP=$T/failpoints
WALK_MAX=${WALK_MAX:-900}	# seconds: the walk is cut short after this

one() { # I
	write_file "one$1.yaml" <<EOF
name: one $1
tasks:
  - name: one
    image: jobrun-test:latest
    run: printf %s one-$1 > \$TORK_OUTPUT
EOF
}
two() { # I
	write_file "two$1.yaml" <<EOF
name: two $1
tasks:
  - name: first
    var: v
    image: jobrun-test:latest
    run: printf %s two-$1 > \$TORK_OUTPUT
  - name: second
    image: jobrun-test:latest
    env:
      V: "{{ tasks.v }}"
    run: printf %s "\$V!" > \$TORK_OUTPUT
EOF
}
bad() { # I
	write_file "bad$1.yaml" <<EOF
name: bad $1
tasks:
  - name: bad
    image: jobrun-test:latest
    retry:
      limit: 1
    run: echo failing $1; exit 3
EOF
}
write_file cron.yaml >/dev/null <<'EOF'
name: cron walk
tasks:
  - name: tick
    image: jobrun-test:latest
    run: printf %s tick > $TORK_OUTPUT
EOF

# ---------------------------------------------------------------- the workload
declare -A want	# id -> what the job must end as
for i in $(seq 46); do id=$(submit "$(one "$i")") && want[$id]="COMPLETED one-$i"; done
for i in $(seq 20); do id=$(submit "$(two "$i")") && want[$id]="COMPLETED two-$i!"; done
for i in $(seq 8); do id=$(submit "$(bad "$i")") && want[$id]="FAILED exit code 3"; done
sid=$(submit --cron '*/4 * * * * *' "$T/cron.yaml")
is "${#want[@]}" 74 "74 jobs and a schedule spooled before any daemon runs"

# Every container start of this machine's engine, filtered by name later: a
# step's container name says home, job, task, attempt and step.
"$DOCKER" events --filter event=start --format '{{.Actor.Attributes.name}}' >"$T/starts" 2>/dev/null &
EVENTS_PID=$!
at_exit 'kill $EVENTS_PID 2>/dev/null'
probe=jobrun-walkprobe-$$
"$DOCKER" run --rm --network none --name "$probe" jobrun-test:latest true >/dev/null 2>&1
wait_for grep -qx "$probe" "$T/starts"
ok $? "docker events sees container starts"

# ---------------------------------------------------------------- the walk
jobs_json() { "$JOBRUN" ls --json 2>/dev/null; }
paused=
walk_done() { # all jobs final, the schedule paused after 3 firings, and the
	# daemon's tidying done (its rms and sweep reach failpoints too: a crash
	# there is one more step of the walk, not the end of it)
	local js ncron
	js=$(jobs_json) || return 1
	ncron=$(jq '[.[] | select(.name == "cron walk")] | length' <<<"$js")
	if [ -z "$paused" ] && [ "$ncron" -ge 3 ]; then
		"$JOBRUN" schedule pause "$sid" >/dev/null 2>&1 && paused=1
	fi
	[ -n "$paused" ] || return 1
	[ "$("$JOBRUN" schedules --json | jq -r '.[0].state')" = PAUSED ] || return 1
	[ "$(jq '[.[] | select(.state != "COMPLETED" and .state != "FAILED" and .state != "CANCELLED")] | length' <<<"$js")" = 0 ] &&
		no_containers_left
}
walk_daemon() { # the crash-test daemon, in a subshell that passes SIGTERM on
	# and writes the daemon's exit status to $T/rc (so bash reports no
	# "Killed" job on stderr); DAEMON_PID is the subshell's
	rm -f "$T/rc"
	(
		trap 'kill -TERM $p 2>/dev/null' TERM
		JOBRUN_FAILPOINTS=$FP "$CRASH" daemon -q default:2 </dev/null >>"$T/daemon.log" 2>&1 &
		p=$!
		while :; do wait $p; rc=$?; kill -0 $p 2>/dev/null || break; done
		echo $rc >"$T/rc"
	) 2>/dev/null &
	DAEMON_PID=$!
}
crashes=0 other=0 start=$SECONDS finished=
while [ $((SECONDS - start)) -lt "$WALK_MAX" ]; do
	echo "--- walk: start $((crashes + 1))" >>"$T/daemon.log"
	walk_daemon
	k=0 stopped=
	while _alive "$DAEMON_PID"; do
		sleep 0.02
		k=$((k + 1))
		# the work is done: SIGTERM.  A daemon may still reach a new
		# failpoint before it stops (an rm, a sweep): that crash is one
		# more step, and the next daemon goes on.
		if [ $((k % 25)) = 0 ] && walk_done; then
			stopped=1
			kill -TERM "$DAEMON_PID"
			break
		fi
	done
	wait "$DAEMON_PID"
	rc=$(cat "$T/rc" 2>/dev/null)
	DAEMON_PID=
	if [ -n "$stopped" ] && [ "$rc" = 0 ]; then finished=1; break; fi
	if [ "$rc" = 137 ]; then crashes=$((crashes + 1)); else other=$((other + 1)); diag "daemon exited $rc"; break; fi
done
secs=$((SECONDS - start))
ok "$([ -n "$finished" ]; echo $?)" "the walk ended: a daemon ran the rest of the work through without a crash, and stopped on SIGTERM with exit 0 ($crashes crashes, ${secs}s)"
is "$other" 0 "every daemon that ended did so at a failpoint (SIGKILL)"
lines=$(grep -c . "$FP")
is "$lines" "$crashes" "each crash was at a step not crashed at before" ||
	diag "the last failpoints:" "$(tail -n 3 "$FP")"
[ "$crashes" -ge 800 ]
ok $? "the walk crossed at least 800 failpoints ($crashes)"
kinds=$(cut -d' ' -f1 "$FP" | grep . | sort | uniq -c | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }')
diag "walked $crashes failpoints in ${secs}s ($kinds)"
for k in commit spawn exit unlink; do
	grep -q "^$k " "$FP"
	ok $? "failpoints of kind '$k' were walked"
done

# ---------------------------------------------------------------- nothing lost
js=$(jobs_json)
ncron=$(jq '[.[] | select(.name == "cron walk")] | length' <<<"$js")
is "$(jq length <<<"$js")" $((74 + ncron)) "the store has the 74 jobs and the $ncron the schedule made, none twice"
[ "$ncron" -ge 3 ]
ok $? "the schedule fired at least 3 times ($ncron)"
wrong=0
for id in "${!want[@]}"; do
	st=${want[$id]%% *} what=${want[$id]#* }
	got=$(jq -r --arg id "$id" '.[] | select(.id == $id) | .state' <<<"$js")
	if [ "$got" != "$st" ]; then wrong=$((wrong + 1)); diag "job $id: $got, not $st"; continue; fi
	if [ "$st" = COMPLETED ]; then
		n=$(job_json "$id" '.tasks | length')
		r=$(task_field "$id" "$n" result)
		[ "$r" = "$what" ] || { wrong=$((wrong + 1)); diag "job $id: result '$r', not '$what'"; }
	else
		e=$(job_json "$id" .error) a=$(task_field "$id" 1 attempt)
		case $e in *"$what"*) ;; *) wrong=$((wrong + 1)); diag "job $id: error '$e'" ;; esac
		[ "$a" = 2 ] || { wrong=$((wrong + 1)); diag "job $id: attempt $a, not 2"; }
	fi
done
is "$wrong" 0 "every job ended as it would have without a crash: result, error and attempts"
bad=$(jq -r '.[] | select(.name == "cron walk" and .state != "COMPLETED") | .id' <<<"$js")
is "$bad" "" "every job of the schedule completed"

# ---------------------------------------------------------------- nothing twice
hid=$(home_id)
no_containers_left
ok $? "no container of this home is left" || diag "$(containers all)"
is "$(volumes)" "" "no volume of this home is left"
grep "^jobrun-$hid-" "$T/starts" | sort >"$T/started"
is "$(uniq -d "$T/started")" "" "no step's container started twice"
# each started name is jobrun-HID-JOB-TASK-ATTEMPT-STEP: the attempt must be one
# the store counted for that task
past=0
while IFS=- read -r _ _ job pos attempt _; do
	rec=$(task_field "$job" "$pos" attempt)
	[ "$attempt" -le "${rec:-0}" ] || { past=$((past + 1)); diag "$job task $pos: attempt $attempt started, the store has ${rec:-none}"; }
done < <(sort -u "$T/started")
is "$past" 0 "no container ran for an attempt the store does not have"
# one start per step: 46 + 2 x 20 + 2 attempts x 8 + one per firing
is "$(wc -l <"$T/started" | tr -d ' ')" $((46 + 2 * 20 + 2 * 8 + ncron)) \
	"docker events saw one start per step of the workload, no more, no fewer"

is "$(sqlite3 "$JOBRUN_HOME/jobrun.db" 'PRAGMA integrity_check')" ok "PRAGMA integrity_check: ok"
is "$(spooled)" 0 "the spool is empty" || diag "$(ls -la "$JOBRUN_HOME/spool/new")"
is "$(count_files "$JOBRUN_HOME/spool/bad")" 0 "nothing went to spool/bad"
done_testing
