#!/bin/bash
# Queue caps (daemon -q NAME:N, and the online-CPU default for queues not named)
# bound the number of containers running at once; when a slot frees, the pending
# task of highest priority starts first, equal priorities in submission order.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"

# job QUEUE SECONDS [PRIORITY]: a one-task job file on stdout
job() {
	printf 'name: %s-%s\ntasks:\n  - name: sleep\n    image: jobrun-test:latest\n    queue: %s\n    priority: %s\n    run: sleep %s\n' \
		"$1" "$2" "$1" "${3:-0}" "$2"
}
job q2 1.5 >q2.yaml
job default 1 >default.yaml
job q3 1 >q3.yaml

# max_running IDS...: poll `docker ps` every 0.1 s until every job is final; print
# the largest number of this home's containers seen running at once (and the
# number of polls, as "MAX POLLS")
max_running() {
	local hid max=0 n polls=0 end=$((SECONDS + 45)) want
	hid=$(home_id) || { echo "0 0"; return; }
	want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
	while [ "$SECONDS" -lt "$end" ]; do
		n=$("$DOCKER" ps -q --filter "label=jobrun.home=$hid" | wc -l)
		polls=$((polls + 1))
		[ "$n" -gt "$max" ] && max=$n
		# every 5th poll (one ls, not one show per job): are they all final?
		if [ $((polls % 5)) = 0 ] && [ "$("$JOBRUN" ls --json 2>/dev/null | jq -r \
			'[.[] | select(.state == "COMPLETED" or .state == "FAILED" or .state == "CANCELLED") | .id] | sort | .[]' |
			grep -xF -f <(printf '%s\n' "$@") | tr '\n' ' ')" = "$want" ]; then
			break
		fi
		sleep 0.1
	done
	echo "$max $polls"
}
all_completed() { # IDS...
	local id
	for id in "$@"; do [ "$(job_state "$id")" = COMPLETED ] || return 1; done
}

start_daemon -q q2:2 -q default:1 || BAIL_OUT "the daemon does not start"
wait_for -t 5 home_id
ok $? "the daemon is up (run/home-id written)"

# ---------------------------------------------------------------- q2:2
ids=()
for i in 1 2 3 4 5 6; do ids+=("$(submit q2.yaml)"); done
read -r max polls < <(max_running "${ids[@]}")
note "q2: $polls polls"
is "$max" 2 "-q q2:2: at most 2 of 6 q2 tasks run at once, and 2 do"
all_completed "${ids[@]}"
ok $? "-q q2:2: all 6 jobs COMPLETED"
is "$(job_json "${ids[0]}" '.tasks[0].queue')" q2 "show --json: the task's queue"

# ---------------------------------------------------------------- default:1
ids=()
for i in 1 2 3; do ids+=("$(submit default.yaml)"); done
read -r max polls < <(max_running "${ids[@]}")
is "$max" 1 "-q default:1: never 2 default tasks at once"
all_completed "${ids[@]}"
ok $? "-q default:1: all 3 jobs COMPLETED"
# the same, told by the database: each task started after the previous one ended
ordered=$(for id in "${ids[@]}"; do job_json "$id" '.tasks[0] | .startedAt + " " + .completedAt'; done |
	sort | awk 'prev != "" && $1 < prev { bad = 1 } { prev = $2 } END { print bad ? "overlap" : "serial" }')
is "$ordered" serial "-q default:1: startedAt/completedAt of the 3 tasks do not overlap"

# ---------------------------------------------------------------- queues are separate
# q2 (cap 2) and default (cap 1) side by side: 3 at once
ids=()
for i in 1 2; do ids+=("$(submit q2.yaml)"); done
for i in 1 2; do ids+=("$(submit default.yaml)"); done
read -r max polls < <(max_running "${ids[@]}")
is "$max" 3 "q2:2 and default:1 together run 3 tasks at once, not more"

# ---------------------------------------------------------------- a queue not named: nproc
ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)
if [ "$ncpu" -le 4 ]; then
	ids=()
	for ((i = 0; i < ncpu + 2; i++)); do ids+=("$(submit q3.yaml)"); done
	read -r max polls < <(max_running "${ids[@]}")
	is "$max" "$ncpu" "a queue not named gets a cap of the online CPUs ($ncpu)"
else
	skip 1 "$ncpu CPUs: too many containers to check the default cap"
fi

# ---------------------------------------------------------------- priority
cat >blocker.yaml <<'EOF'
name: blocker
tasks:
  - name: block
    image: jobrun-test:latest
    run: sleep 2
EOF
blocker=$(submit blocker.yaml)
wait_for -t 20 eval '[ "$(task_field "$blocker" 1 state)" = RUNNING ] && [ -n "$(containers)" ]'
ok $? "priority: the blocker runs"
job default 0.2 1 >low.yaml
job default 0.2 9 >high.yaml
a=$(submit low.yaml)
b=$(submit low.yaml)
c=$(submit high.yaml)
is "$(job_state "$blocker")/$(task_field "$blocker" 1 state)" "RUNNING/RUNNING" \
	"priority: A, B and C were submitted while the blocker still ran"
RUN_TIMEOUT=40 run "$JOBRUN" wait "$blocker" "$a" "$b" "$c"
is "$RC" 0 "priority: all four jobs COMPLETED"
st() { task_field "$1" 1 startedAt; }
bend=$(task_field "$blocker" 1 completedAt)
sa=$(st "$a") sb=$(st "$b") sc=$(st "$c")
note "blocker ended $bend; started: A $sa, B $sb, C $sc"
like "$sa $sb $sc" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z [0-9-]+T[0-9:.]+Z [0-9-]+T[0-9:.]+Z$' "priority: three startedAt times"
[[ $sc < $sa && $sc < $sb ]]
ok $? "priority: C (priority 9) started before A and B (priority 1)"
[[ $sa < $sb ]]
ok $? "priority: A started before B (same priority: submission order)"
[[ ! $sc < $bend ]]
ok $? "priority: C started after the blocker ended (cap 1)"
is "$(task_field "$c" 1 priority)" 9 "show --json: the task's priority"

done_testing
