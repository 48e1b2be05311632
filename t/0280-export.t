#!/bin/bash
# export writes an ended job's record, rows, job file and logs into one .tar.gz;
# import reads it back into another home, read-only: show, logs and ls work,
# it never runs, restart is refused.  Bad archives and running jobs are refused.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker
[ -f "$TD/inject.so" ] || BAIL_OUT "$TD/inject.so is not built (run make t/inject.so)"

cd "$T" || BAIL_OUT "cd $T"
cat >job.yaml <<'EOF2'
name: exported
secrets:
  token: sekrit-4711
tasks:
  - name: first
    var: first
    image: jobrun-test:latest
    run: |
      echo "first says hello"
      echo "token is $TOKEN"
      echo -n one > $TORK_OUTPUT
    env:
      TOKEN: "{{ secrets.token }}"
  - name: second
    image: jobrun-test:latest
    env:
      FIRST: "{{ tasks.first }}"
    run: echo "second saw $FIRST"; exit 3
EOF2
cat >slow.yaml <<'EOF2'
name: slow
tasks:
  - image: jobrun-test:latest
    run: sleep 30
EOF2

start_daemon
a=$(submit job.yaml)
run "$JOBRUN" wait "$a"
is "$RC" 4 "the job to export ends FAILED"

# ---------------------------------------------------------------- export
run "$JOBRUN" export -o "$T/a.tar.gz" "${a:0:6}"
is "$RC" 0 "export -o FILE of an ended job (by prefix) exits 0"
is "$OUT" "$T/a.tar.gz" "... and prints the archive's name"
files=$(tar tzf "$T/a.tar.gz" | sort | tr '\n' ' ')
is "$files" "jobrun-$a/export.json jobrun-$a/job.json jobrun-$a/job.yaml jobrun-$a/logs/1.log jobrun-$a/logs/2.log jobrun-$a/rows.json " \
	"the archive holds export.json, job.json, job.yaml, rows.json and one log per task"
mkdir x && tar xzf a.tar.gz -C x
is "$(jq -r '.format + " " + (.version|tostring) + " " + .id' "x/jobrun-$a/export.json")" "jobrun-export 1 $a" \
	"export.json names the format, its version and the job"
"$JOBRUN" show --json "$a" >show.json
is "$(jq -S 'del(.tasks[].progress)' "x/jobrun-$a/job.json")" "$(jq -S 'del(.tasks[].progress)' show.json)" \
	"job.json is what show --json prints"
like "$(cat "x/jobrun-$a/logs/1.log")" "first says hello" "logs/1.log is task 1's log"
like "$(cat "x/jobrun-$a/logs/2.log")" "second saw one" "logs/2.log is task 2's log"
grep -rqa sekrit-4711 x; ok $(( $? == 0 )) "the secret is nowhere in the archive"
like "$(cat "x/jobrun-$a/logs/1.log")" 'token is \[REDACTED\]' "... its log has it redacted"

(cd "$T" && "$JOBRUN" export "$a" >/dev/null)
[ -s "$T/jobrun-$a.tar.gz" ]; ok $? "without -o it writes jobrun-ID.tar.gz in the current directory"
"$JOBRUN" export -o - "$a" >stdout.tar.gz
is "$(tar tzf stdout.tar.gz | wc -l | tr -d ' ')" 6 "-o - writes the archive to standard output"

s=$(submit slow.yaml)
wait_for eval '[ "$(job_state "$s")" = RUNNING ]'
run "$JOBRUN" export -o "$T/s.tar.gz" "$s"
is "$RC" 1 "export of a RUNNING job exits 1"
like "$ERR" "is RUNNING; export it once it has ended" "... saying why"
[ ! -e "$T/s.tar.gz" ]; ok $? "... and writes no archive"
"$JOBRUN" cancel "$s" >/dev/null 2>&1
run "$JOBRUN" export -o "$T/n.tar.gz" ffffffffffff
is "$RC" 6 "export of an unknown id exits 6"
run "$JOBRUN" export
is "$RC" 2 "export without an id is a usage error"
run "$JOBRUN" export -o /nonexistent/dir/a.tar.gz "$a"
is "$RC" 1 "export to a directory that does not exist exits 1"
like "$ERR" "/nonexistent/dir/a.tar.gz" "... naming the file"

# libarchive is loaded by export and import only: the other verbs do not
# load it, nor the libraries it needs (libxml2, ICU, libstdc++ ...).
unlike "$(ldd "$JOBRUN" 2>&1)" "libarchive" "jobrun is not linked with libarchive"
like "$(LD_DEBUG=files "$JOBRUN" export -o "$T/d.tar.gz" "$a" 2>&1 >/dev/null)" "file=libarchive\.so\.13 " \
	"export loads it"
sl=$(LD_DEBUG=files "$JOBRUN" submit "$T/slow.yaml" 2>"$T/ld.err")
# (not libstdc++: a SAN=1 build's ASan runtime needs it)
unlike "$(cat "$T/ld.err")" "libarchive|libxml2|libicu" "submit loads neither it nor what it needs"
# nor SQLite (its relocations alone cost submit a millisecond), nor ncurses
unlike "$(ldd "$JOBRUN" 2>&1)" "libsqlite3" "jobrun is not linked with SQLite"
unlike "$(cat "$T/ld.err")" "libsqlite3" "submit does not load SQLite"
unlike "$(cat "$T/ld.err")" "libncurses|libtinfo" "submit does not load ncurses"
# (a SAN=1 build loads the sanitizers' runtimes and what they need too)
san='^$'
[[ $(ldd "$JOBRUN") =~ libasan ]] && san='file=lib(asan|ubsan|stdc\+\+|gcc_s|m)\.'
is "$(grep -o 'file=[^ ]*' "$T/ld.err" | grep -Ev "$san" | sort -u | tr '\n' ' ')" \
	"file=libc.so.6 file=libyaml-0.so.2 " "submit loads libc and libyaml, nothing else"
like "$(LD_DEBUG=files "$JOBRUN" ls 2>&1 >/dev/null)" "file=libsqlite3\.so\.0 " \
	"ls loads it"
"$JOBRUN" cancel "$sl" >/dev/null 2>&1
printf 'dlopen libsqlite3\n' >"$T/inject"
run env JOBRUN_INJECT="$T/inject" LD_PRELOAD="$TD/inject.so" \
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
	"$JOBRUN" ls
is "$RC" 1 "ls exits 1 when SQLite cannot be loaded"
like "$ERR" "^jobrun: the store needs SQLite, but libsqlite3\.so\.0 cannot be loaded: .*\(on Debian: apt-get install libsqlite3-0\)" \
	"... saying what is missing and how to get it"
printf 'dlopen libarchive\n' >"$T/inject"
# (a SAN=1 build's ASan runtime must not insist on coming first)
run env JOBRUN_INJECT="$T/inject" LD_PRELOAD="$TD/inject.so" \
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
	"$JOBRUN" export -o "$T/e.tar.gz" "$a"
is "$RC" 1 "export exits 1 when libarchive cannot be loaded"
like "$ERR" "^jobrun: export and import need libarchive, but libarchive\.so\.13 cannot be loaded: .*\(on Debian: apt-get install libarchive13\)" \
	"... saying what is missing and how to get it"
[ ! -e "$T/e.tar.gz" ]; ok $? "... and writes no archive"

# ---------------------------------------------------------------- import, no daemon
OTHER=$T/other
mkdir -m 700 "$OTHER"
run env JOBRUN_HOME="$OTHER" "$JOBRUN" import "$T/a.tar.gz"
is "$RC" 0 "import into an empty home with no daemon exits 0 (it takes the lock itself)"
is "$OUT" "$a" "... and prints the job's id"
run env JOBRUN_HOME="$OTHER" "$JOBRUN" show "$a"
is "$RC" 0 "show of the imported job exits 0"
like "$OUT" "imported: .*does not run here" "show says it was imported"
like "$OUT" "state: +FAILED" "... with its state"
like "$OUT" "1 +first +COMPLETED .* one" "... its first task's result"
like "$OUT" "task 2 error: exit code 3" "... and its second task's error"
is "$(env JOBRUN_HOME="$OTHER" "$JOBRUN" show --json "$a" | jq -S 'del(.tasks[].progress)')" \
	"$(jq -S 'del(.tasks[].progress)' show.json)" "show --json of the import is the original's"
run env JOBRUN_HOME="$OTHER" "$JOBRUN" logs "$a" 2
like "$OUT" "second saw one" "logs of the import"
run env JOBRUN_HOME="$OTHER" "$JOBRUN" ls
like "$OUT" "$a +exported +FAILED +1/2" "ls lists it"
run env JOBRUN_HOME="$OTHER" "$JOBRUN" restart "$a"
is "$RC" 1 "restart of an imported job exits 1"
like "$ERR" "was imported; it does not run here" "... saying why"
run env JOBRUN_HOME="$OTHER" "$JOBRUN" import "$T/a.tar.gz"
is "$RC" 1 "importing the same job again exits 1"
like "$ERR" "is in this home already" "... saying why"

# ---------------------------------------------------------------- import through the daemon
third=$T/third
mkdir -m 700 "$third"
env JOBRUN_HOME="$third" "$JOBRUN" daemon 2>"$T/third.log" &
tpid=$!
wait_for test -s "$third/run/daemon.pid"
run env JOBRUN_HOME="$third" "$JOBRUN" import - <"$T/a.tar.gz"
is "$RC" 0 "import - (standard input) while a daemon runs exits 0"
is "$(env JOBRUN_HOME="$third" "$JOBRUN" show --json "$a" | jq -r .state)" FAILED "the daemon put it in its store"
like "$(cat "$T/third.log")" "event=job.import job=$a uid=$(id -u)" "the daemon logged the import with the caller's uid"
sleep 1
is "$(env JOBRUN_HOME="$third" "$JOBRUN" show --json "$a" | jq -r '.tasks[1].attempt')" 1 \
	"the daemon did not run the imported job"
kill "$tpid"; wait "$tpid" 2>/dev/null

# ---------------------------------------------------------------- bad archives
run "$JOBRUN" import /etc/passwd
is "$RC" 1 "import of a file that is no archive exits 1"
like "$ERR" "/etc/passwd: not a jobrun export" "... saying so"
mkdir -p junk/d && echo hi >junk/d/readme && tar czf junk.tar.gz -C junk d
run "$JOBRUN" import junk.tar.gz
is "$RC" 1 "import of a tar.gz that is no jobrun export exits 1"
like "$ERR" "not a jobrun export" "... saying so"
run "$JOBRUN" import "$T/missing.tar.gz"
is "$RC" 1 "import of a missing file exits 1"
run "$JOBRUN" import
is "$RC" 2 "import without a file is a usage error"

done_testing
