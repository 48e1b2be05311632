# t/lib.sh — sourced (bash) by every t/NNNN-topic.t.  Prints TAP, gives each test a
# fresh JOBRUN_HOME in its own temp dir, starts/stops a daemon there, and cleans up
# the containers and volumes of that home at exit.  Tests may run in parallel.
#
#   . "$(dirname "$0")/lib.sh"
#   need_jobrun; need_docker            # bail out / skip_all when missing
#   run "$JOBRUN" submit "$TD/jobs/hello.yaml"
#   is "$RC" 0 "submit exits 0"; like "$OUT" '^[0-9a-f]{12}$' "prints an id"
#   start_daemon; wait_for job_is "$OUT" COMPLETED; ok $? "job completes"
#   done_testing
#
# Variables: TD (the t/ dir), ROOT (repo), JOBRUN (absolute ./jobrun), T (this test's
# temp dir, removed at exit unless JOBRUN_TEST_KEEP=1), JOBRUN_HOME=$T/home (exported,
# created empty), JOBRUN_NETWORK=none (exported), DAEMON_PID, RC/OUT/ERR (from run).
# JSON is read with jq (t/setup installs it).

set -u

TD=$(cd "$(dirname "$0")" && pwd -P)
ROOT=$(dirname "$TD")
JOBRUN=$ROOT/jobrun
T=$(mktemp -d "${TMPDIR:-/tmp}/jobrun-t.$(basename "$0" .t).XXXXXX") || { echo "Bail out! mktemp failed"; exit 255; }
T=$(cd "$T" && pwd -P)
JOBRUN_HOME=$T/home
mkdir -m 700 "$JOBRUN_HOME"
export JOBRUN_HOME
export JOBRUN_NETWORK=none
unset JOBRUN_DOCKER
# JOBRUN_TEST_RUNTIME=podman: the daemons run with --runtime podman, and the
# helpers below ask podman (t/0390 runs some of the tests so).
: "${JOBRUN_TEST_RUNTIME:=docker}"
if [ "$JOBRUN_TEST_RUNTIME" = podman ]; then
	DOCKER=podman
	# podman raises root's containers' nofile and nproc limits to values
	# that a sandboxed host may refuse (runc: "error setting rlimits"):
	# ask for less, unless the caller has a containers.conf of its own.
	if [ -z "${CONTAINERS_CONF:-}" ]; then
		printf '[containers]\ndefault_ulimits = ["nofile=16384:16384", "nproc=16384:16384"]\n' >"$T/containers.conf"
		export CONTAINERS_CONF=$T/containers.conf
	fi
fi
: "${DOCKER:=docker}"
DAEMON_PID=
# shellcheck disable=SC2034 # RC OUT ERR TD are for the sourcing test
RC='' OUT='' ERR=''

# ------------------------------------------------------------------ TAP
_tap_n=0 _tap_failed=0 _tap_planned=

plan() { # N: print the plan up front
	_tap_planned=$1
	echo "1..$1"
}
done_testing() { # [N]: print the plan at the end (checks the count when N is given)
	if [ $# -gt 0 ] && [ "$1" != "$_tap_n" ]; then
		diag "planned $1 tests but ran $_tap_n"
		_tap_failed=$((_tap_failed + 1))
	fi
	_tap_planned=$_tap_n
	echo "1..$_tap_n"
}
diag() { # MSG...: diagnostics on stderr, each argument (and each line) as a '# ' line
	printf '%s\n' "$@" | sed 's/^/# /' >&2
}
note() { # MSG...: comment lines on stdout (shown by prove -v)
	printf '%s\n' "$@" | sed 's/^/# /'
}
_tap_result() { # STATUS DESC
	_tap_n=$((_tap_n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $_tap_n - $2"
	else
		_tap_failed=$((_tap_failed + 1))
		echo "not ok $_tap_n - $2"
		local caller="${BASH_SOURCE[2]:-$0}" line="${BASH_LINENO[1]:-?}"
		diag "  Failed test '$2'" "  at ${caller##*/} line $line."
	fi
	return "$1"
}
ok() { # EXIT-STATUS DESC: passes when EXIT-STATUS is 0 (e.g. `[ -f x ]; ok $? "x exists"`)
	local st=$1; shift
	case $st in ''|*[!0-9]*) diag "ok: first argument must be an exit status, got '$st'"; st=1 ;; esac
	_tap_result "$st" "$*"
}
pass() { _tap_result 0 "$*"; }  # DESC
fail() { _tap_result 1 "$*"; }  # DESC
is() { # GOT WANT DESC: string equality
	if [ "$1" == "$2" ]; then
		_tap_result 0 "$3"
	else
		_tap_result 1 "$3"
		diag "         got: '$1'" "    expected: '$2'"
		return 1
	fi
}
isnt() { # GOT UNWANTED DESC
	if [ "$1" != "$2" ]; then
		_tap_result 0 "$3"
	else
		_tap_result 1 "$3"
		diag "         got: '$1'" "    expected: anything else"
		return 1
	fi
}
like() { # GOT REGEX DESC: bash ERE match (anchor it yourself; '.' matches newlines too)
	if [[ $1 =~ $2 ]]; then
		_tap_result 0 "$3"
	else
		_tap_result 1 "$3"
		diag "                  '$1'" "    doesn't match '$2'"
		return 1
	fi
}
unlike() { # GOT REGEX DESC
	if ! [[ $1 =~ $2 ]]; then
		_tap_result 0 "$3"
	else
		_tap_result 1 "$3"
		diag "                  '$1'" "          matches '$2'"
		return 1
	fi
}
skip() { # N REASON: record N skipped tests
	local i
	for ((i = 0; i < $1; i++)); do
		_tap_n=$((_tap_n + 1))
		echo "ok $_tap_n # skip $2"
	done
}
skip_all() { # REASON: skip the whole script (only before any test ran)
	echo "1..0 # SKIP $*"
	_tap_planned=0
	exit 0
}
BAIL_OUT() { # REASON: stop the whole run
	echo "Bail out! $*"
	exit 255
}

# ------------------------------------------------------------------ commands
run() { # CMD...: run CMD (timeout RUN_TIMEOUT, default 60s); set RC, OUT, ERR
	# stdin is the caller's: `run "$JOBRUN" submit - <file`.  OUT/ERR lose their
	# final newline, like $(...).
	timeout -k 5 "${RUN_TIMEOUT:-60}" "$@" >"$T/.out" 2>"$T/.err"
	RC=$?
	# shellcheck disable=SC2034
	OUT=$(cat "$T/.out")
	# shellcheck disable=SC2034
	ERR=$(cat "$T/.err")
	[ "$RC" = 124 ] && diag "run: timed out after ${RUN_TIMEOUT:-60}s: $*"
	return 0
}
wait_for() { # [-t SECS] CMD...: poll CMD every 0.1s until it succeeds (default 30s);
	# on timeout print a diagnostic and return 1: `wait_for job_is $id COMPLETED; ok $? ...`
	local secs=30
	if [ "${1:-}" = -t ]; then secs=$2; shift 2; fi
	local end=$((SECONDS + secs))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$SECONDS" -ge "$end" ] && break
		sleep 0.1
	done
	diag "wait_for: timed out after ${secs}s waiting for: $*"
	return 1
}
write_file() { # NAME: write stdin to $T/NAME, print its path
	mkdir -p "$(dirname "$T/$1")"
	cat >"$T/$1"
	printf '%s\n' "$T/$1"
}
gate_yaml() { # print a job whose task 1 writes "one", logs "started" and waits
	# (at most 60s) until gate_release; task 2 writes "two"
	cat <<'EOF'
name: gate
tasks:
  - name: waits
    image: jobrun-test:latest
    run: |
      printf one > $TORK_OUTPUT
      touch /tork/hold
      echo started
      i=0
      while [ -e /tork/hold ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
      echo ended
  - name: after
    image: jobrun-test:latest
    run: printf two > $TORK_OUTPUT
EOF
}
gate_started() { # ID: task 1 of a gate_yaml job logged "started" (for wait_for)
	[[ $("$JOBRUN" logs "$1" 1 2>/dev/null) =~ started ]]
}
gate_release() { # ID: let task 1 of a gate_yaml job end
	rm -f "$JOBRUN_HOME/work/$1"/1.*/hold
}
count_files() { # DIR: number of entries in DIR (0 when DIR is missing)
	local n=0 f
	for f in "$1"/* "$1"/.[!.]*; do [ -e "$f" ] && n=$((n + 1)); done
	echo "$n"
}
spooled() { # number of job files waiting in spool/new
	count_files "$JOBRUN_HOME/spool/new"
}
spool_empty() { # true when no job file waits in spool/new (for wait_for)
	[ "$(spooled)" = 0 ]
}

# ------------------------------------------------------------------ jobs
submit() { # [OPTS...] FILE: submit, print the id; returns submit's exit status
	"$JOBRUN" submit "$@" 2>>"$T/submit.err"
}
job_json() { # ID [JQ-FILTER]: `show --json ID`, filtered by jq (raw output)
	local out
	out=$("$JOBRUN" show --json "$1" 2>/dev/null) || return 1
	printf '%s\n' "$out" | jq -r "${2:-.}"
}
job_state() { # ID: the job's state (PENDING, RUNNING, COMPLETED, ...)
	job_json "$1" .state
}
task_field() { # ID POS FIELD: a field of task POS (1-based), e.g. task_field $id 1 result
	job_json "$1" ".tasks[$(($2 - 1))].$3 // empty"
}
job_is() { # ID STATE: true when the job is in STATE (for wait_for)
	[ "$(job_state "$1")" = "$2" ]
}
job_final() { # ID: true when the job is COMPLETED, FAILED or CANCELLED
	case $(job_state "$1") in COMPLETED|FAILED|CANCELLED) return 0 ;; esac
	return 1
}
home_id() { # the 8-hex id of this home (the daemon writes run/home-id), or nothing
	local id
	id=$(cat "$JOBRUN_HOME/run/home-id" 2>/dev/null) || return 1
	[[ $id =~ ^[0-9a-f]{8}$ ]] || return 1
	echo "$id"
}
containers() { # [all]: names of this home's containers (running ones unless 'all')
	local id a=
	id=$(home_id) || return 0
	[ "${1:-}" = all ] && a=-a
	"$DOCKER" ps $a --filter "label=jobrun.home=$id" --format '{{.Names}}' 2>/dev/null
}
has_containers() { # [all]: true when this home has containers (for wait_for)
	[ -n "$(containers "$@")" ]
}
no_containers_left() { # true when this home has no container at all (for wait_for)
	[ -z "$(containers all)" ]
}
volumes() { # names of this home's volumes
	local id
	id=$(home_id) || return 0
	"$DOCKER" volume ls -q --filter "name=jobrun-$id-" 2>/dev/null | grep "^jobrun-$id-"
}

# ------------------------------------------------------------------ daemon
_alive() { # PID: running and not a zombie
	local s
	s=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$s" ] && [ "${s%% *}" != Z ]
}
daemon_alive() { # true while the daemon started by start_daemon runs
	[ -n "$DAEMON_PID" ] && _alive "$DAEMON_PID"
}
_lock_held() {
	[ -e "$JOBRUN_HOME/run/lock" ] || return 1
	command -v flock >/dev/null || return 0
	! flock -n "$JOBRUN_HOME/run/lock" true 2>/dev/null
}
start_daemon() { # [ARGS...]: start `jobrun daemon ARGS` (stderr >> $T/daemon.log); wait
	# up to 10s until run/daemon.pid names it and run/lock is held.  Returns 1 (with
	# the log as diagnostics) when it died or never got ready.
	if daemon_alive; then diag "start_daemon: a daemon already runs (pid $DAEMON_PID)"; return 1; fi
	echo "--- start_daemon $*" >>"$T/daemon.log"
	"$JOBRUN" daemon --runtime "$JOBRUN_TEST_RUNTIME" "$@" </dev/null >>"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	local end=$((SECONDS + 10))
	while [ "$SECONDS" -le "$end" ]; do
		if ! _alive "$DAEMON_PID"; then
			wait "$DAEMON_PID"
			diag "start_daemon: the daemon exited with status $? at start; its log:"
			diag "$(tail -n 20 "$T/daemon.log")"
			DAEMON_PID=
			return 1
		fi
		if [ "$(cat "$JOBRUN_HOME/run/daemon.pid" 2>/dev/null)" = "$DAEMON_PID" ] && _lock_held; then
			return 0
		fi
		sleep 0.05
	done
	diag "start_daemon: not ready after 10s (no run/daemon.pid with pid $DAEMON_PID, or run/lock not held); log:"
	diag "$(tail -n 20 "$T/daemon.log")"
	return 1
}
_reap_daemon() { # SECS: wait for the daemon to end, return its exit status (SIGKILL after SECS)
	local end=$((SECONDS + $1)) st
	while _alive "$DAEMON_PID" && [ "$SECONDS" -lt "$end" ]; do sleep 0.05; done
	if _alive "$DAEMON_PID"; then
		diag "daemon (pid $DAEMON_PID) still runs after $1s; killing it"
		kill -KILL "$DAEMON_PID" 2>/dev/null
	fi
	wait "$DAEMON_PID" 2>/dev/null
	st=$?
	DAEMON_PID=
	return $st
}
stop_daemon() { # SIGTERM the daemon, wait (10s, then SIGKILL); returns its exit status
	[ -n "$DAEMON_PID" ] || return 0
	kill -TERM "$DAEMON_PID" 2>/dev/null
	_reap_daemon 10
}
kill_daemon() { # SIGKILL the daemon (a crash), wait for it; returns 137 normally
	[ -n "$DAEMON_PID" ] || return 0
	# (stderr off: bash would print "Killed" when it reaps the job)
	{ kill -KILL "$DAEMON_PID"; _reap_daemon 10; } 2>/dev/null
}

# ------------------------------------------------------------------ requirements
need_jobrun() { # bail out of the whole run when ./jobrun is not built
	[ -x "$JOBRUN" ] || BAIL_OUT "$JOBRUN is not built (run make)"
}
have_docker() { # true when a Docker engine answers and the test image exists
	"$DOCKER" version >/dev/null 2>&1 &&
		"$DOCKER" image inspect jobrun-test:latest >/dev/null 2>&1
}
need_docker() { # skip_all (before any test ran) unless have_docker
	"$DOCKER" version >/dev/null 2>&1 ||
		skip_all "no Docker engine answers 'docker version' (run sh t/setup)"
	"$DOCKER" image inspect jobrun-test:latest >/dev/null 2>&1 ||
		skip_all "no image jobrun-test:latest (run sh t/setup)"
}
command -v jq >/dev/null 2>&1 || BAIL_OUT "jq is missing (run sh t/setup)"

# ------------------------------------------------------------------ a second engine
# d2_init: a dockerd of the test's own (t/0340, t/0400; skip_all unless root
# with a dockerd) on SOCK (unix://$D/sock), its data root and containerd under
# D, started with the test image loaded, and stopped and removed at exit;
# returns 1 (with its log as diagnostics) when it does not answer.  d2 CMD...
# asks it; d2_start (waits until it answers), d2_kill (SIGKILL to dockerd and
# its containerd: the engine dies) and d2_stop.
d2_init() {
	[ "$(id -u)" = 0 ] || skip_all "starting a dockerd of its own needs root"
	command -v dockerd >/dev/null || skip_all "no dockerd"
	# short: containerd's socket goes under the exec root (108 bytes at most)
	D=$(mktemp -d /tmp/jr-d2.XXXXXX) || BAIL_OUT "mktemp"
	SOCK=unix://$D/sock
	at_exit d2_stop
	if ! d2_start || ! "$DOCKER" save jobrun-test:latest | d2 load >/dev/null; then
		diag "$(tail -n 20 "$T/dockerd2.log" 2>/dev/null)"
		return 1
	fi
}
d2() { "$DOCKER" -H "$SOCK" "$@"; }
d2_start() {
	# in a subshell: not a job of this shell, which would report its kill
	(setsid dockerd --host="$SOCK" --data-root="$D/root" --exec-root="$D/x" \
		--pidfile="$D/pid" --storage-driver=vfs --iptables=false --bridge=none \
		</dev/null >>"$T/dockerd2.log" 2>&1 &)
	wait_for -t 30 eval 'd2 version >/dev/null 2>&1'
}
d2_kill() {
	pkill -KILL -f -- "dockerd --host=$SOCK"
	pkill -KILL -f -- "containerd --config $D/"
	wait_for -t 10 eval '! pgrep -f -- "dockerd --host=$SOCK|containerd --config $D/" >/dev/null'
	# a dead process no one reaps would pass for a live one
	rm -f "$D/pid" "$D/x/containerd/containerd.pid"
}
d2_stop() {
	local pid m ids id
	if id=$(home_id) && d2 version >/dev/null 2>&1; then
		ids=$(d2 ps -aq --filter "label=jobrun.home=$id" 2>/dev/null)
		# shellcheck disable=SC2086
		[ -n "$ids" ] && d2 rm -f -v $ids >/dev/null 2>&1
	fi
	pid=$(cat "$D/pid" 2>/dev/null) && kill -TERM "$pid" 2>/dev/null
	wait_for -t 15 eval '! kill -0 "$pid" 2>/dev/null'
	pkill -KILL -f -- "$D/" 2>/dev/null
	sleep 0.5
	for m in $(awk -v d="$D/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount -l "$m"
	done
	rm -rf "$D"
}

# ------------------------------------------------------------------ cleanup
_at_exit=()
at_exit() { # CMD: eval CMD at exit, after the containers are gone (say, umount)
	_at_exit+=("$1")
}
_rm_f() { # ID...: remove containers at once (podman's rm -f waits 10s for a running one)
	if [ "$DOCKER" = podman ]; then
		podman rm -f -v --time=0 "$@" >/dev/null 2>&1
	else
		"$DOCKER" rm -f -v "$@" >/dev/null 2>&1
	fi
}
_cleanup() {
	local st=$? id ids vols
	trap - EXIT
	if daemon_alive; then stop_daemon || true; fi
	# A test that printed no plan (and did not skip_all) died early: make that visible.
	if [ -z "$_tap_planned" ] && [ "$st" = 0 ]; then st=1; fi
	# Whatever the test checked, an illegal state move (a bug the daemon
	# logs and refuses), an SQL error of jobrun's own (store.error) or a
	# sanitizer's report fails it.
	if [ -s "$T/daemon.log" ] && grep -qE 'event=state\.illegal|event=store\.error|runtime error:|Sanitizer' "$T/daemon.log"; then
		diag "the daemon logged a bug:" "$(grep -E 'event=state\.illegal|event=store\.error|runtime error:|Sanitizer' "$T/daemon.log" | head -n 5)"
		[ "$st" = 0 ] && st=1
	fi
	# a child of the daemon's own binary (the swarm helper) reports in a task's log
	if [ -d "$JOBRUN_HOME/logs" ] && grep -rqE 'runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer' "$JOBRUN_HOME/logs"; then
		diag "a task's log holds a sanitizer's report:" "$(grep -rhE 'runtime error:|ERROR: [A-Za-z]+Sanitizer' "$JOBRUN_HOME/logs" | head -n 5)"
		[ "$st" = 0 ] && st=1
	fi
	if [ "$_tap_failed" -gt 0 ] || [ "$st" != 0 ]; then
		[ -s "$T/daemon.log" ] && diag "last lines of daemon.log:" "$(tail -n 30 "$T/daemon.log")"
		[ "$_tap_failed" -gt 0 ] && [ "$st" = 0 ] && st=1
	fi
	if id=$(home_id) && "$DOCKER" version >/dev/null 2>&1; then
		# Twice, a second apart: a create that a killed docker CLI had
		# asked for may still finish after the first pass.
		for pass in 1 2; do
			[ "$pass" = 2 ] && sleep 1
			ids=$("$DOCKER" ps -aq --filter "label=jobrun.home=$id" 2>/dev/null)
			# shellcheck disable=SC2086
			[ -n "$ids" ] && _rm_f $ids
			ids=$("$DOCKER" ps -aq --filter "name=^jobrun-$id-" 2>/dev/null)
			# shellcheck disable=SC2086
			[ -n "$ids" ] && _rm_f $ids
		done
		vols=$(volumes)
		# shellcheck disable=SC2086
		[ -n "$vols" ] && "$DOCKER" volume rm -f $vols >/dev/null 2>&1
	fi
	for cmd in "${_at_exit[@]}"; do eval "$cmd" || true; done
	if [ -n "${JOBRUN_TEST_KEEP:-}" ]; then
		diag "kept $T"
	elif ! rm -rf "$T" 2>/dev/null && "$DOCKER" version >/dev/null 2>&1; then
		# files written by containers as root into /tork mounts
		"$DOCKER" run --rm --network none -v "$T:/x" jobrun-test:latest rm -rf /x/home /x/bind >/dev/null 2>&1
		rm -rf "$T"
	fi
	exit "$st"
}
trap _cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
