#!/bin/bash
# jobrun top, driven inside tmux (send-keys to type, capture-pane to read):
# usage errors; --once on an empty home and on a home with jobs; no daemon
# (it says so, spooled jobs show); a running job turning COMPLETED with no
# key pressed; Enter shows the tasks with their results, children indented;
# the log pane follows a task's log; / filters by name and id prefix, s by
# state; c then y cancels a running job; r asks and spools a restart request;
# resizing to 60x15, below the minimum and back; q, SIGINT and SIGTERM leave
# the terminal as it was; NO_COLOR and TERM=xterm, xterm-256color, screen,
# linux; progress reports (written into the store by hand, daemon stopped).
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker
command -v tmux >/dev/null 2>&1 || skip_all "no tmux (run sh t/setup)"

cd "$T" || BAIL_OUT "cd $T"
NL=$'\n'

# One tmux server for this test, on its own socket, killed at exit.
SOCK=jobrun-t0300-$$-${T##*.}
tm() { tmux -L "$SOCK" "$@"; }
trap '_st=$?; tm kill-server >/dev/null 2>&1; rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK"
	(exit $_st); _cleanup' EXIT

# top_start NAME [W H [ENV...]]: a session running `jobrun top` in a shell
# that printed a marker first and says how top exited.
top_start() {
	local name=$1 w=${2:-100} h=${3:-30}
	shift 3 2>/dev/null || shift $#
	tm new-session -d -s "$name" -x "$w" -y "$h" \
		"env $* JOBRUN_HOME='$JOBRUN_HOME' sh -c 'trap : INT; echo before-top-$name; \
		\"$JOBRUN\" top -d 0.2 2>>\"$T/top-$name.err\"; echo top-exited-\$?; \
		exec sleep 600'"
}
cap() { tm capture-pane -p -t "$1"; }                 # SESSION: the screen as text
has() { [[ $(cap "$1") =~ $2 ]]; }                    # SESSION REGEX (for wait_for)
hasnt() { ! [[ $(cap "$1") =~ $2 ]]; }
keys() { tm send-keys -t "$@"; sleep 0.4; }          # SESSION KEY...
top_pid() { pgrep -f -n -- "$JOBRUN top -d 0.2"; }
width_ok() { # SESSION W: no line wider than W
	local l
	while IFS= read -r l; do [ "${#l}" -le "$2" ] || return 1; done < <(cap "$1")
}

# ---------------------------------------------------------------- usage
run "$JOBRUN" --help
like "$OUT" "${NL}  top \[-d SECONDS\] \[--once\]${NL} +watch jobs and tasks live" "--help lists top"
run "$JOBRUN" help top
is "$RC/$OUT" "0/usage: jobrun top [-d SECONDS] [--once]${NL}watch jobs and tasks live (q quits).${NL}  -d SECONDS               look for changes every SECONDS (0.5)${NL}  --once                   print the view once and exit${NL}See jobrun(1)." \
	"help top: its usage, and what each option does"
run "$JOBRUN" top -d x
is "$RC" 2 "top -d x: usage error (exit 2)"
like "$ERR" "usage: jobrun top \[-d SECONDS\] \[--once\]" "top -d x: the usage line"
run "$JOBRUN" top extra
is "$RC" 2 "top extra: exit 2"
run "$JOBRUN" top -d 0
is "$RC" 2 "top -d 0: exit 2"
run "$JOBRUN" top --bogus
is "$RC" 2 "top --bogus: exit 2"
# ncurses is loaded by the live view only; without it, top says so
printf 'dlopen libncursesw\n' >"$T/inject"
# (not top_start: a shell between would lose the preload, which unsets itself)
tm new-session -d -s noncurses -x 100 -y 30 \
	"env JOBRUN_INJECT='$T/inject' LD_PRELOAD='$TD/inject.so' JOBRUN_HOME='$JOBRUN_HOME' \
	ASAN_OPTIONS='${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0' \
	'$JOBRUN' top -d 0.2 2>>'$T/noncurses.err'; echo top-exited-\$?; exec sleep 600"
wait_for has noncurses 'top-exited-1'
ok $? "top without ncurses exits 1" || diag "$(cap noncurses)"
like "$(cat "$T/noncurses.err")" "top needs ncurses, but libncursesw\.so\.6 cannot be loaded: .*\(on Debian: apt-get install libncursesw6\)" \
	"... saying what is missing and how to get it"
tm kill-session -t noncurses
unlike "$(LD_DEBUG=files "$JOBRUN" top --once 2>&1 >/dev/null)" "libncurses" \
	"top --once does not load ncurses"
run "$JOBRUN" top </dev/null
is "$RC" 1 "top with no terminal: exit 1"
like "$ERR" "needs a terminal.*--once" "top with no terminal: says to use --once"

# ---------------------------------------------------------------- --once, empty home
COLUMNS= LINES= run "$JOBRUN" top --once
is "$RC" 0 "--once on an empty home: exit 0"
mapfile -t lines <<<"$OUT"
is "${#lines[@]}" 24 "--once: 24 lines when stdout is not a terminal"
like "${lines[0]}" "^jobrun top +no daemon is running +$JOBRUN_HOME +[0-9]{2}:[0-9]{2}:[0-9]{2}\$" \
	"--once: line 1 says no daemon runs, the home and the clock"
like "$OUT" "${NL}0 jobs${NL}" "--once: 0 jobs"
like "$OUT" "no jobs yet" "--once: says there are no jobs yet"
like "${lines[23]}" "^q quit +\? help +Enter tasks" "--once: the bottom line shows the keys"
long=0
for l in "${lines[@]}"; do [ "${#l}" -le 80 ] || long=1; done
is "$long" 0 "--once: 80 columns"
COLUMNS=60 LINES=15 run "$JOBRUN" top --once
mapfile -t lines <<<"$OUT"
is "${#lines[@]}/$RC" "15/0" "--once with COLUMNS=60 LINES=15: 15 lines"
long=0
for l in "${lines[@]}"; do [ "${#l}" -le 60 ] || long=1; done
is "$long" 0 "--once with COLUMNS=60: no line is wider"
[ ! -e "$JOBRUN_HOME/jobrun.db" ] && [ ! -e "$JOBRUN_HOME/spool" ]
ok $? "--once created nothing in the home"

# ---------------------------------------------------------------- no daemon
cat >quick.yaml <<'EOF'
name: quick one
tasks:
  - name: only
    image: jobrun-test:latest
    run: echo quick
EOF
spooled_id=$(submit quick.yaml)
top_start nodaemon
wait_for -t 10 has nodaemon "no daemon is running"
ok $? "no daemon: the header says so"
like "$(cap nodaemon)" "$spooled_id +quick one +PENDING" "no daemon: a spooled job shows, PENDING"
like "$(cap nodaemon)" "1 job +1 pending" "no daemon: counted in the totals"

# ---------------------------------------------------------------- live: RUNNING turns COMPLETED
start_daemon -q default:4 || BAIL_OUT "the daemon does not start"
wait_for -t 10 has nodaemon "daemon $DAEMON_PID, heartbeat"
ok $? "the header sees the daemon start (pid, heartbeat) with no key pressed"
wait_for -t 20 has nodaemon "$spooled_id +quick one +COMPLETED"
ok $? "the spooled job turns COMPLETED on screen"
keys nodaemon q
wait_for -t 5 has nodaemon "top-exited-0"
ok $? "q: top exits 0"
like "$(cap nodaemon)" "^before-top-nodaemon${NL}top-exited-0" "q: the terminal is as it was (the alternate screen is gone)"
unlike "$(cap nodaemon)" "jobrun top" "q: nothing of top is left on screen"

cat >results.yaml <<'EOF'
name: with results
tasks:
  - name: first
    image: jobrun-test:latest
    var: one
    run: |
      echo hello from first
      echo -n result-one > $TORK_OUTPUT
  - name: fan
    parallel:
      tasks:
        - name: child-a
          image: jobrun-test:latest
          run: echo -n from-a > $TORK_OUTPUT
        - name: child-b
          image: jobrun-test:latest
          run: echo b
  - name: slow
    image: jobrun-test:latest
    run: |
      for i in 1 2 3 4 5 6; do echo tick $i; sleep 0.5; done
      echo -n all-ticked > $TORK_OUTPUT
EOF
top_start main
wait_for -t 10 has main "ID +NAME +STATE +TASKS"
ok $? "main view: the column titles"
rid=$(submit results.yaml)
wait_for -t 20 has main "$rid +with results +RUNNING"
ok $? "the new job shows RUNNING, with no key pressed"
wait_for -t 30 has main "$rid +with results +COMPLETED +\[#+\] 3/3"
ok $? "it turns COMPLETED, tasks 3/3, with no key pressed"

# ---------------------------------------------------------------- task view
keys main g Enter
wait_for -t 5 has main "job $rid +with results +COMPLETED +3/3 tasks"
ok $? "Enter: the task view, with the job's line"
s=$(cap main)
like "$s" "#  +NAME +STATE +QUEUE +TRY +EXIT +TIME +RESULT" "task view: the column titles"
like "$s" "${NL}1 +first +COMPLETED +default +1/1 +0 +[0-9.]+m?s +result-one" "task view: task 1 with its result"
like "$s" "${NL}2 +fan +COMPLETED" "task view: the parallel task"
like "$s" "${NL}[0-9]+ {4,}  child-a +COMPLETED .*from-a" "task view: child-a indented under it, with its result"
like "$s" "${NL}[0-9]+ {4,}  child-b +COMPLETED" "task view: child-b indented too"
like "$s" "slow +COMPLETED .*all-ticked" "task view: the last task's result"
like "$s" "(^|$NL)q quit +\? help +Esc back" "task view: the bottom line shows its keys"

# ---------------------------------------------------------------- log pane
keys main Enter
wait_for -t 5 has main "log of job $rid task 1 first \(COMPLETED\)"
ok $? "Enter on a task: the log pane"
like "$(cap main)" "${NL}hello from first${NL}" "log pane: the task's output"
keys main '?' x Escape
wait_for -t 5 has main "job $rid +with results"
ok $? "? x Esc: the help, back to the log pane, back to the task view"
keys main Escape
wait_for -t 5 has main "ID +NAME +STATE +TASKS"
ok $? "Esc: back to the jobs"

# the log pane follows a running task's log
cat >ticker.yaml <<'EOF'
name: ticker
tasks:
  - name: tick
    image: jobrun-test:latest
    run: |
      for i in 1 2 3 4 5 6 7 8; do echo tick-$i; sleep 0.5; done
EOF
tid=$(submit ticker.yaml)
wait_for -t 20 has main "$tid +ticker +RUNNING"
ok $? "ticker: RUNNING"
keys main g l
wait_for -t 5 has main "log of job $tid task 1 tick \(RUNNING\) +following"
ok $? "l on a running job: the log pane of its running task"
wait_for -t 20 has main "tick-8"
ok $? "log pane: follows the log as it grows (tick-8 shows with no key pressed)"
s=$(cap main)
like "$s" "tick-1${NL}tick-2${NL}" "log pane: the lines in order"
wait_for -t 10 has main "log of job $tid task 1 tick \(COMPLETED\)"
ok $? "log pane: the task's state is kept up to date"
keys main Escape

# ---------------------------------------------------------------- filters
keys main / t i c k
like "$(cap main)" "filter \(name or id prefix\): tick_" "/: the prompt shows what is typed"
keys main Enter
wait_for -t 5 has main "filter: all, \"tick\": 1 job"
ok $? "/ tick Enter: the filter applies"
s=$(cap main)
like "$s" "$tid +ticker" "filter by name: the matching job"
unlike "$s" "$rid|$spooled_id" "filter by name: no other job"
keys main / Escape
wait_for -t 5 has main "$rid +with results"
ok $? "/ Esc: the filter is cleared, all jobs again"
keys main / "${rid:0:5}" Enter
wait_for -t 5 has main "\"${rid:0:5}\": 1 job"
ok $? "filter by id prefix: one job"
unlike "$(cap main)" "$tid" "filter by id prefix: not the others"
keys main / Escape

# ---------------------------------------------------------------- cancel
cat >sleeper.yaml <<'EOF'
name: sleeper
tasks:
  - name: nap
    image: jobrun-test:latest
    run: |
      echo napping
      sleep 60
EOF
job_containers() { "$DOCKER" ps -aq --filter "label=jobrun.job=$1"; }
no_containers() { [ -z "$(job_containers "$1")" ]; }
sid=$(submit sleeper.yaml)
wait_for -t 20 eval '[ "$(task_field "$sid" 1 state)" = RUNNING ] && ! no_containers "$sid"'
ok $? "sleeper: runs in its container"
keys main s
wait_for -t 5 has main "filter: running: 1 job"
ok $? "s: the state filter (running)"
like "$(cap main)" "$sid +sleeper +RUNNING" "s: the running job"
unlike "$(cap main)" "$rid" "s: not the completed ones"
keys main s s s s s s
wait_for -t 5 hasnt main "filter:"
ok $? "s six times more: all states again"
keys main g c
like "$(cap main)" "Cancel job $sid \(sleeper\)\? y/n" "c: asks first"
like "$(cap main)" "(^|$NL)y yes +n no" "c: the bottom line shows y/n"
keys main n
like "$(cap main)" "nothing done" "n: nothing done"
is "$(job_state "$sid")" RUNNING "n: the job still runs"
keys main c y
wait_for -t 15 job_is "$sid" CANCELLED
ok $? "c y: the job is CANCELLED"
wait_for -t 10 no_containers "$sid"
ok $? "c y: its container is gone"
wait_for -t 5 has main "$sid +sleeper +CANCELLED"
ok $? "c y: the list shows it CANCELLED"
keys main g c
like "$(cap main)" "job $sid is already CANCELLED" "c on a final job: says so, asks nothing"

# ---------------------------------------------------------------- restart (the same request as `jobrun restart`)
keys main g r
like "$(cap main)" "Restart job $sid \(sleeper\)\? y/n" "r: asks first"
keys main y
like "$(cap main)" "restart of job $sid requested" "r y: the request is spooled"
restarted() { grep -qs "event=job.restart job=$sid" "$T/daemon.log"; }
wait_for -t 10 restarted
ok $? "r y: the daemon restarted the job (job.restart in its log)"
wait_for -t 10 has main "$sid +sleeper +RUNNING"
ok $? "r y: the list shows it RUNNING again"
"$JOBRUN" cancel "$sid" >/dev/null 2>&1
wait_for -t 15 has main "$sid +sleeper +CANCELLED"
ok $? "cancelled again from the command line: the list follows"

# ---------------------------------------------------------------- resize
tm resize-window -t main -x 60 -y 15
sleep 1
s=$(cap main)
like "$s" "^jobrun top +daemon" "60x15: still drawing the header"
like "$s" "ID +NAME +STATE" "60x15: the column titles"
like "$s" "$sid +sleeper +CANCELLED" "60x15: the jobs"
width_ok main 60
ok $? "60x15: nothing wider than 60 columns"
tm resize-window -t main -x 30 -y 6
wait_for -t 5 has main "terminal too small"
ok $? "30x6: a message, no crash"
tm resize-window -t main -x 100 -y 30
wait_for -t 5 has main "ID +NAME +STATE +TASKS +PROGRESS +AGE +TIME"
ok $? "back to 100x30: the full view again"
hasnt main "top-exited"
ok $? "resizing: top still runs"
keys main '?'
like "$(cap main)" "filter by name or id prefix" "?: the help"
keys main x
wait_for -t 5 has main "ID +NAME +STATE +TASKS"
ok $? "any key leaves the help"
keys main q
wait_for -t 5 has main "top-exited-0"
ok $? "q after resizing: exits 0"

# ---------------------------------------------------------------- signals
top_start sigterm
wait_for -t 10 has sigterm "ID +NAME"
pid=$(top_pid)
kill -TERM "$pid" 2>/dev/null
wait_for -t 5 has sigterm "top-exited-143"
ok $? "SIGTERM: top exits 143"
like "$(cap sigterm)" "^before-top-sigterm${NL}top-exited-143" "SIGTERM: the terminal is restored"
top_start sigint
wait_for -t 10 has sigint "ID +NAME"
keys sigint C-c
wait_for -t 5 has sigint "top-exited-130"
ok $? "^C (SIGINT): top exits 130"
like "$(cap sigint)" "^before-top-sigint${NL}top-exited-130" "^C: the terminal is restored"

# ---------------------------------------------------------------- colours and terminals
colored() { tm capture-pane -e -p -t "$1" | grep -q $'\e\\[[0-9;]*3[1-6]m'; }
top_start colour 100 30
wait_for -t 10 has colour "$sid +sleeper +CANCELLED"
colored colour
ok $? "colour: states are coloured"
keys colour q
top_start nocolour 100 30 NO_COLOR=1
wait_for -t 10 has nocolour "$sid +sleeper +CANCELLED"
! colored nocolour
ok $? "NO_COLOR: no colour"
keys nocolour q
wait_for -t 5 has nocolour "top-exited-0"
ok $? "NO_COLOR: exits 0"
for term in xterm xterm-256color screen linux; do
	top_start "term-$term" 80 24 "TERM=$term"
	wait_for -t 10 has "term-$term" "$sid +sleeper +CANCELLED"
	ok $? "TERM=$term: draws the jobs"
	keys "term-$term" Enter
	keys "term-$term" l
	keys "term-$term" Escape Escape '?' x
	tm resize-window -t "term-$term" -x 60 -y 15
	sleep 0.5
	keys "term-$term" q
	wait_for -t 5 has "term-$term" "top-exited-0"
	ok $? "TERM=$term: keys, resize, q: exits 0"
done
crashed=$(cat "$T"/top-*.err 2>/dev/null)
is "$crashed" "" "nothing on top's stderr in any session"

# ---------------------------------------------------------------- --once with jobs
wait_for -t 20 job_final "$tid"
COLUMNS=120 LINES=20 run "$JOBRUN" top --once
is "$RC" 0 "--once with jobs: exit 0"
mapfile -t lines <<<"$OUT"
is "${#lines[@]}" 20 "--once: LINES=20 lines"
like "${lines[0]}" "^jobrun top +daemon $DAEMON_PID, heartbeat [0-9.]+m?s ago, docker +$JOBRUN_HOME " "--once: the daemon line"
like "${lines[2]}" "^4 jobs +3 completed +1 cancelled\$" "--once: the totals by state"
like "${lines[3]}" "^ID +NAME +STATE +TASKS +PROGRESS +AGE +TIME\$" "--once: the column titles"
like "${lines[4]}" "^$sid +sleeper +CANCELLED +\[-+\] 0/1 " "--once: the newest job first"
like "${lines[5]}" "^$tid +ticker +COMPLETED +\[#+\] 1/1 " "--once: then the one before"
like "${lines[6]}" "^$rid +with results +COMPLETED +\[#+\] 3/3 " "--once: and so on"
like "${lines[7]}" "^$spooled_id +quick one +COMPLETED" "--once: the oldest last"
is "${lines[8]}" "" "--once: then blank lines"

# ---------------------------------------------------------------- progress (written by hand: the daemon is stopped)
if command -v sqlite3 >/dev/null 2>&1; then
	stop_daemon
	sq() { sqlite3 -cmd '.timeout 5000' "$JOBRUN_HOME/jobrun.db" "$@"; }
	sq "UPDATE tasks SET progress = '40', progress_at = 1 WHERE job = '$sid'"
	sq "UPDATE jobs SET state = 'RUNNING' WHERE id = '$tid';
	    UPDATE tasks SET state = 'RUNNING', progress = 'uploading parts', progress_at = 2 WHERE job = '$tid'"
	COLUMNS=120 LINES=20 run "$JOBRUN" top --once
	like "$OUT" "$sid +sleeper +CANCELLED +\[-+\] 0/1 +40% " "progress: a number shows as a percentage"
	like "$OUT" "$tid +ticker +RUNNING +\[-+\] 0/1 +uploading parts " "progress: a running task's message"
	like "$OUT" "no daemon is running" "no daemon again: --once says so"
	top_start progress 100 30
	wait_for -t 10 has progress "$tid +ticker +RUNNING"
	keys progress g j Enter
	wait_for -t 5 has progress "${NL}1 +tick +RUNNING .*uploading parts"
	ok $? "progress: the task view shows the message"
	keys progress q

	# paging through 100 jobs (a home filled by hand: the same schema)
	H2=$T/home2
	mkdir -m 700 "$H2"
	sqlite3 "$JOBRUN_HOME/jobrun.db" .schema | grep -v sqlite_ | sqlite3 "$H2/jobrun.db"
	sqlite3 "$H2/jobrun.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
	    INSERT INTO jobs(seq, id, name, state, envelope, created, started, completed, ntasks)
	    SELECT i, printf('aa%010d', i), 'page-job-' || i, CASE WHEN i % 10 = 0 THEN 'FAILED' ELSE 'COMPLETED' END,
	    '{}', 1700000000000 + i, 1700000000000 + i, 1700000000000 + i + 5, 1 FROM n"
	first_row() { cap paging | sed -n 5p; }
	JOBRUN_HOME=$H2 top_start paging 100 30
	wait_for -t 10 has paging "100 jobs +90 completed +10 failed"
	ok $? "paging: 100 jobs"
	like "$(first_row)" "^aa0000000100 +page-job-100 +FAILED" "paging: the newest first"
	keys paging G c
	like "$(cap paging)" "(^|$NL)aa0000000001 +page-job-1 .*job aa0000000001 is already COMPLETED" \
		"G: the last page, the oldest job shown and selected"
	keys paging g c
	like "$(first_row)" "^aa0000000100 " "g: the first page again"
	like "$(cap paging)" "job aa0000000100 is already FAILED" "g: the newest job selected"
	keys paging NPage
	like "$(first_row)" "^aa0000000076 +page-job-76 " "PgDn: a page down (24 rows)"
	keys paging k
	like "$(first_row)" "^aa0000000077 " "k on the first row: one row up"
	keys paging PPage
	like "$(first_row)" "^aa0000000100 " "PgUp: back to the top"
	keys paging j j j c
	like "$(cap paging)" "job aa0000000097 is already" "j j j: the fourth job selected"
	for ((i = 0; i < 25; i++)); do tm send-keys -t paging j; done
	sleep 0.5
	like "$(first_row)" "^aa0000000095 " "j past the last row: the list scrolls"
	keys paging s s s s s
	wait_for -t 5 has paging "filter: failed: 10 jobs"
	ok $? "s five times: failed only, 10 jobs"
	like "$(first_row)" "^aa0000000100 +page-job-100 +FAILED" "the state filter starts at the top"
	like "$(cap paging)" "${NL}aa0000000010 +page-job-10 +FAILED" "all 10 on one page"
	keys paging q
else
	skip 17 "no sqlite3 command"
fi

# a delayed job, still in the spool: SCHEDULED, and when it is due
did=$(submit --in 2h quick.yaml)
COLUMNS=120 LINES=20 run "$JOBRUN" top --once
like "$OUT" "${NL}$did +quick one +SCHEDULED +\[-+\] 0/1 +due in 1h5[0-9]m " "a delayed job: SCHEDULED, due in 2h"
like "$OUT" "${NL}5 jobs .* 1 scheduled " "a delayed job: counted as scheduled"

done_testing
