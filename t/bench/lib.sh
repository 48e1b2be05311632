# t/bench/lib.sh: what the benchmarks of t/bench share (sourced, bash only).
# shellcheck shell=bash
#
#   bench_init NAME     a scratch dir $B (mktemp -d), removed at exit, also after
#                       ^C, with everything a case started in it: daemons
#                       (stop_daemon), containers labelled jobrun.home=ID of every
#                       home under $B and jobrun.bench=$TAG, tmux servers, and
#                       whatever a case adds to CLEANUP (commands, run first)
#   new_home NAME       a fresh JOBRUN_HOME=$B/home-NAME (exported)
#   start_daemon ARGS   `jobrun daemon ARGS` in the background: DAEMON_PID; waits
#                       until it holds its lock; ready_daemon waits until
#                       `jobrun status` says it runs and the engine answers
#   timeit CMD...       T_US = wall time of CMD in microseconds (output dropped)
#   in_order R A B      runs A then B when R is odd, B then A when it is even:
#                       paired runs, interleaved, neither always first
#   cpu_ticks PID       utime + stime of PID (fields 14 and 15 of /proc/PID/stat)
#   cpu_ns PID          its run time in ns from /proc/PID/schedstat (finer)
#   rss_kb PID          VmRSS of PID in kB
#   stats FILE          "median min max n" of the numbers in FILE (one a line)
#   cell FILE UNIT      "MEDIAN (n=N, MIN–MAX)" in UNIT: ms (from us), s (from
#                       us), mb (from kB), pct, num, int
#   ratio A B           A/B to 3 significant digits ("-" when B is 0)
#   table_head; row MEASURE JOBRUN REFERENCE RATIO GOAL
#                       one Markdown table per case
#
# Every script that sources this file asserts nothing about times: it prints
# figures next to references measured in the same run, and exits 0 unless its
# setup fails (die).

# shellcheck disable=SC2317 # (cleanup and friends are called from traps)
# shellcheck disable=SC2034 # (variables used by the scripts that source this)

set -u
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
JOBRUN=${JOBRUN:-$ROOT/jobrun}
DOCKER=${DOCKER:-docker}
IMAGE=jobrun-test:latest
HZ=$(getconf CLK_TCK)
export JOBRUN_NETWORK=none
unset JOBRUN_DOCKER

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; } # progress, on stderr: stdout is the report
posint() { # VAR...: each must be a positive integer
	local v
	for v; do
		case ${!v} in
		'' | *[!0-9]* | 0*) die "$v must be a positive integer, not '${!v}'" ;;
		esac
	done
}
need_jobrun() { [ -x "$JOBRUN" ] || die "$JOBRUN is not built (run make jobrun)"; }
need_docker() {
	"$DOCKER" version >/dev/null 2>&1 || die "no Docker engine answers '$DOCKER version' (run sh t/setup)"
	"$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1 || die "no image $IMAGE (run sh t/setup)"
}
need() { # CMD...: each must be installed
	local c
	for c; do command -v "$c" >/dev/null 2>&1 || die "$c is missing (apt-get install $c)"; done
}
[ -n "${EPOCHREALTIME:-}" ] || die "bash 5 is needed (\$EPOCHREALTIME)"

# ------------------------------------------------------------------ scratch, cleanup
B='' TAG='' DAEMON_PID='' TMUX_SOCK=''
CLEANUP=()
alive() { # PID: running and not a zombie
	local s
	s=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$s" ] && [ "${s%% *}" != Z ]
}
stop_daemon() {
	[ -n "$DAEMON_PID" ] || return 0
	local end=$((SECONDS + 15))
	kill -TERM "$DAEMON_PID" 2>/dev/null
	while alive "$DAEMON_PID" && [ "$SECONDS" -lt "$end" ]; do sleep 0.05; done
	alive "$DAEMON_PID" && kill -KILL "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
}
rm_containers() { # docker ps filter...: force-remove the matching containers
	local ids
	ids=$("$DOCKER" ps -aq "$@" 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || "$DOCKER" rm -f -v $ids >/dev/null 2>&1
}
home_id() { # HOME: its home-id, the label of its containers
	local id
	id=$(cat "$1/run/home-id" 2>/dev/null) || return 1
	[[ $id =~ ^[0-9a-f]{8}$ ]] || return 1
	echo "$id"
}
clean_home() { # HOME: removes the containers and volumes of the home
	local id vols
	id=$(home_id "$1") || return 0
	rm_containers --filter "label=jobrun.home=$id"
	rm_containers --filter "name=^jobrun-$id-"
	vols=$("$DOCKER" volume ls -q --filter "name=jobrun-$id-" 2>/dev/null | grep "^jobrun-$id-")
	# shellcheck disable=SC2086
	[ -z "$vols" ] || "$DOCKER" volume rm -f $vols >/dev/null 2>&1
}
drop_home() { # HOME: stops nothing; removes its containers and the directory
	clean_home "$1"
	rm -rf "$1"
}
cleanup() {
	local st=$? h c
	trap - EXIT INT TERM
	for c in "${CLEANUP[@]}"; do eval "$c" >/dev/null 2>&1; done
	[ -z "$TMUX_SOCK" ] || tmux -L "$TMUX_SOCK" kill-server >/dev/null 2>&1
	stop_daemon
	if [ -n "$B" ] && [ -d "$B" ]; then
		rm_containers --filter "label=jobrun.bench=$TAG"
		for h in "$B"/home-*; do [ -d "$h" ] && clean_home "$h"; done
		if ! rm -rf "$B" 2>/dev/null; then
			# files written into /tork mounts by containers running as another user
			"$DOCKER" run --rm --network none -v "$B:/x" "$IMAGE" sh -c 'rm -rf /x/*' >/dev/null 2>&1
			rm -rf "$B"
		fi
	fi
	exit "$st"
}
bench_init() { # NAME
	B=$(mktemp -d "${TMPDIR:-/tmp}/jobrun-bench-$1.XXXXXX") || die "mktemp failed"
	B=$(cd "$B" && pwd -P)
	TAG=${B##*.}
	trap cleanup EXIT
	trap 'echo >&2; echo "bench: interrupted" >&2; exit 130' INT
	trap 'exit 143' TERM
}
new_home() { # NAME
	export JOBRUN_HOME=$B/home-$1
	rm -rf "$JOBRUN_HOME"
	mkdir -m 700 "$JOBRUN_HOME" || die "cannot make $JOBRUN_HOME"
}

# ------------------------------------------------------------------ daemon
start_daemon() { # ARGS...: jobrun daemon ARGS in $JOBRUN_HOME, log in $JOBRUN_HOME.log
	"$JOBRUN" daemon "$@" </dev/null >>"$JOBRUN_HOME.log" 2>&1 &
	DAEMON_PID=$!
	local end=$((SECONDS + 15))
	until [ "$(cat "$JOBRUN_HOME/run/daemon.pid" 2>/dev/null)" = "$DAEMON_PID" ] &&
		! flock -n "$JOBRUN_HOME/run/lock" true 2>/dev/null; do
		alive "$DAEMON_PID" || { tail -n 20 "$JOBRUN_HOME.log" >&2; die "the daemon exited at start"; }
		[ "$SECONDS" -lt "$end" ] || { tail -n 20 "$JOBRUN_HOME.log" >&2; die "the daemon is not ready after 15s"; }
		sleep 0.05
	done
}
ready_daemon() { # until `jobrun status` exits 0 (daemon alive, engine answers)
	local end=$((SECONDS + 30))
	until "$JOBRUN" status >/dev/null 2>&1; do
		alive "$DAEMON_PID" || { tail -n 20 "$JOBRUN_HOME.log" >&2; die "the daemon died"; }
		[ "$SECONDS" -lt "$end" ] || { "$JOBRUN" status >&2; die "jobrun status fails after 30s"; }
		sleep 0.1
	done
}
settle() { # PID [MAX_S]: until PID used no CPU tick for 0.5 s (at most MAX_S, 20)
	local a b end=$((SECONDS + ${2:-20}))
	a=$(cpu_ticks "$1")
	while [ "$SECONDS" -lt "$end" ]; do
		sleep 0.5
		b=$(cpu_ticks "$1")
		[ "$a" = "$b" ] && return 0
		a=$b
	done
	return 1
}
job_state() { # ID: the job's state from the store
	sqlite3 -readonly "$JOBRUN_HOME/jobrun.db" "SELECT state FROM jobs WHERE id = '$1'" 2>/dev/null
}
wait_state() { # ID STATE [MAX_S]: until the job is in STATE
	local end=$((SECONDS + ${3:-60}))
	until [ "$(job_state "$1")" = "$2" ]; do
		[ "$SECONDS" -lt "$end" ] || die "job $1 is not $2 after ${3:-60}s (it is '$(job_state "$1")')"
		sleep 0.1
	done
}

# ------------------------------------------------------------------ /proc
cpu_ticks() { # PID: utime + stime in clock ticks (fields 14, 15)
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'
}
cpu_ns() { # PID: run time in ns (schedstat), or nothing
	cut -d' ' -f1 "/proc/$1/schedstat" 2>/dev/null
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# ------------------------------------------------------------------ clock, order
T_US=0
timeit() { # CMD...: T_US = its wall time; returns its status
	local t0 t1 st
	t0=${EPOCHREALTIME/[.,]/}
	"$@" >/dev/null 2>&1
	st=$?
	t1=${EPOCHREALTIME/[.,]/}
	T_US=$((t1 - t0))
	return $st
}
now_us() { echo "${EPOCHREALTIME/[.,]/}"; }
in_order() { # R A B
	if (($1 % 2)); then "$2"; "$3"; else "$3"; "$2"; fi
}

# ------------------------------------------------------------------ stats, table
calc() { awk "BEGIN { printf \"%s\", $* }" </dev/null; } # calc 'sprintf("%.2f", 1/3)'
stats() { # FILE: "median min max n"
	sort -g "$1" 2>/dev/null | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan nan nan 0"; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.6f %.6f %.6f %d\n", m, v[1], v[NR], NR }'
}
median() { local s; s=$(stats "$1"); echo "${s%% *}"; }
fmt() { # UNIT VALUE
	case $1 in
	ms) calc "sprintf(\"%.2f ms\", $2 / 1000)" ;;
	s) calc "sprintf(\"%.3f s\", $2 / 1e6)" ;;
	mb) calc "sprintf(\"%.1f MB\", $2 / 1024)" ;;
	pct) calc "sprintf(\"%.2f %%\", $2)" ;;
	num) calc "sprintf(\"%.2f\", $2)" ;;
	int) calc "sprintf(\"%d\", $2)" ;;
	*) echo "$2" ;;
	esac
}
fmt_bare() { local f; f=$(fmt "$@"); echo "${f%% *}"; } # without the unit
cell() { # FILE UNIT: "MEDIAN (n=N, MIN–MAX)"
	local med min max n
	read -r med min max n < <(stats "$1")
	[ "$n" != 0 ] || { echo "- (n=0)"; return; }
	if [ "$n" = 1 ]; then
		echo "$(fmt "$2" "$med") (n=1)"
	else
		echo "$(fmt "$2" "$med") (n=$n, $(fmt_bare "$2" "$min")–$(fmt_bare "$2" "$max"))"
	fi
}
ratio() { # A B
	calc "($2 > 0) ? sprintf(\"%.3g\", $1 / $2) : \"-\""
}
mratio() { # FILE_A FILE_B: ratio of the medians ("-" when one has none)
	if [ -s "$1" ] && [ -s "$2" ]; then ratio "$(median "$1")" "$(median "$2")"; else echo -; fi
}
table_head() {
	echo "| measure | jobrun (median, n, min–max) | reference | ratio | goal |"
	echo "|---|---:|---|---:|---|"
}
row() { printf '| %s | %s | %s | %s | %s |\n' "$@"; }

machine() { # the lines above every report
	local server driver
	server=$("$DOCKER" version --format '{{.Server.Version}}' 2>/dev/null)
	driver=$("$DOCKER" info --format '{{.Driver}}' 2>/dev/null)
	echo "$(date -u +%Y-%m-%dT%H:%M:%SZ); $(nproc) CPUs, $(uname -sr)," \
		"docker server ${server:-?} (${driver:-?}); $("$JOBRUN" --version 2>/dev/null)" \
		"at $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?'); load $(cut -d' ' -f1-3 /proc/loadavg)"
}
put() { # FILE EXPR: appends the value of the awk EXPR to FILE, one a line
	calc "sprintf(\"%.6f\\n\", $2)" >>"$1"
}
