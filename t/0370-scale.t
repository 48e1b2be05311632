#!/bin/bash
# Scale: job files go into the store in batches (a transaction per 2,000
# files, a savepoint per file), the store keeps its own counts by state and
# queue (status, top and metrics read those), and finished containers are
# removed in batches (a task costs about one docker call).
#   (a) 2,300 spooled jobs, across a batch boundary, with a job the daemon
#       refuses, a job that ends as it comes in and a cancel request among
#       them: every one is in the store, each as it should be;
#   (b) the counts equal what counting the rows says, after ingest, moves,
#       cancels and a prune; status and metrics show them;
#   (c) a store whose counts an older jobrun never kept (no counts table,
#       user_version 0) reads right, and the daemon fills them in;
#   (d) 40 jobs on a queue of 4: fewer than one `docker rm` per two tasks
#       (each task one `docker run`), and no container left (what an rm
#       left, the daemon's idle sweep removes);
#   (e) a daemon stopped just after a job ended leaves none of its
#       containers behind.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker
command -v sqlite3 >/dev/null 2>&1 || skip_all "sqlite3 is missing"

cd "$T" || BAIL_OUT "cd $T"
N=2300
DB=$JOBRUN_HOME/jobrun.db

# counts that differ from counting the rows, one per line (none: consistent)
counts_off() {
	sqlite3 "$DB" "
	WITH c AS (SELECT what, queue, state, n FROM counts WHERE n != 0),
	r AS (SELECT 'job' what, '' queue, state, count(*) n FROM jobs GROUP BY state
	      UNION ALL SELECT 'task', coalesce(queue, ''), state, count(*) FROM tasks
	      GROUP BY 2, 3)
	SELECT * FROM (SELECT * FROM c EXCEPT SELECT * FROM r)
	UNION ALL SELECT * FROM (SELECT * FROM r EXCEPT SELECT * FROM c);"
}

# ------------------------------------------------------------------ (a)
cat >hold.yaml <<'EOF'
name: holder
tasks:
  - name: holds
    image: jobrun-test:latest
    queue: hold
    run: |
      echo started
      sleep 300
EOF
cat >wait.yaml <<'EOF'
name: waiter
tasks:
  - name: waits
    image: jobrun-test:latest
    queue: hold
    cmd: ["true"]
EOF
cat >skip.yaml <<'EOF'
name: skipped
tasks:
  - name: never
    if: "false"
    image: jobrun-test:latest
    cmd: ["true"]
EOF
start_daemon -q hold:1
holder=$(submit hold.yaml)
wait_for eval '[[ $("$JOBRUN" logs "$holder" 1 2>/dev/null) =~ started ]]'
ok $? "the holder runs, so that the queue's other jobs wait"
stop_daemon

# N copies of one spooled job, by name in submission order; job 1,500's
# cancel comes right after it, the refused job at 1,000, the skipped at 2,100.
one=$(submit wait.yaml)
src=$(ls "$JOBRUN_HOME"/spool/new/*-"$one".job)
skipped=$(submit skip.yaml)
mkdir stage
t0=1700000000000
awk -v n="$N" -v t0="$t0" -v dir="$T/stage" '
	{ text = text $0 }
	END {
		srand(7)
		for (i = 1; i <= n; i++) {
			id = sprintf("%06x%06x", int(rand() * 16777215), i)
			s = text
			sub(/"id":"[0-9a-f]+"/, "\"id\":\"" id "\"", s)
			sub(/"created":[0-9]+/, "\"created\":" (t0 + 10 * i), s)
			f = sprintf("%s/%013d-%s.job", dir, t0 + 10 * i, id)
			printf "%s", s > f
			close(f)
			print id > (dir "/ids")
		}
	}' "$src"
rm -f "$src"
ids=$T/stage/ids
is "$(wc -l <"$ids")" "$N" "$N job files are made"
victim=$(sed -n 1500p "$ids")
printf '{"jobrun":1,"op":"cancel","job":"%s","uid":0,"arg":0}' "$victim" \
	>"stage/$((t0 + 15005))-c0ffee01.req"
printf '{"jobrun":1,"op":"submit","id":"0123456789ab","source":"tasks: []\\nbogus: 1\\n"}' \
	>"stage/$((t0 + 10005))-0123456789ab.job"
sk=$(ls "$JOBRUN_HOME"/spool/new/*-"$skipped".job)
mv "$sk" "stage/$((t0 + 21005))-$skipped.job"
rm "stage/ids"
mv stage/* "$JOBRUN_HOME/spool/new/"
is "$(spooled)" $((N + 3)) "$((N + 3)) files wait in the spool"

start_daemon -q hold:1
wait_for -t 120 spool_empty
ok $? "the daemon takes them all in"
is "$(sqlite3 "$DB" "SELECT count(*) FROM jobs WHERE name = 'waiter'")" "$N" \
	"all $N jobs are in the store"
is "$(count_files "$JOBRUN_HOME/spool/bad")" 0 "none went to spool/bad"
is "$(job_state 0123456789ab)" FAILED "the refused job is FAILED"
like "$(job_json 0123456789ab .error)" "unknown field 'bogus'" "... saying why"
is "$(job_state "$victim")" CANCELLED "the job cancelled by a request after it is CANCELLED"
is "$(job_state "$skipped")" COMPLETED "the job whose every task is skipped COMPLETED as it came in"
is "$(job_state "$(sqlite3 "$DB" "SELECT id FROM jobs WHERE name = 'waiter' ORDER BY seq LIMIT 1")")" \
	PENDING "the first of them waits, PENDING"
is "$(grep -c 'event=store.error' "$T/daemon.log")" 0 "no store error is logged"
is "$(grep -c 'event=job.state job=[0-9a-f]* state=PENDING' "$T/daemon.log")" "$((N + 2))" \
	"one PENDING line per job taken in (and the holder's, and the skipped one's)"

# ------------------------------------------------------------------ (b)
is "$(counts_off)" "" "the counts equal the rows, after ingest"
is "$(sqlite3 "$DB" "SELECT n FROM counts WHERE what = 'task' AND queue = 'hold' AND state = 'PENDING'")" \
	$((N - 1)) "counts: $((N - 1)) tasks PENDING on queue hold"
run "$JOBRUN" status --json
is "$(jq -r '.queues[] | select(.name == "hold") | "\(.running) \(.pending)"' <<<"$OUT")" \
	"1 $((N - 1))" "status --json: queue hold, 1 running, $((N - 1)) pending" || diag "$OUT"
run "$JOBRUN" metrics
like "$OUT" "jobrun_jobs\{state=\"PENDING\"\} $((N - 1))"$'\n' "metrics: $((N - 1)) jobs PENDING"
like "$OUT" "jobrun_tasks\{state=\"CANCELLED\"\} 1"$'\n' "metrics: 1 task CANCELLED"

# cancel 300 of them and let the holder go: moves, then a prune (deletes)
sqlite3 "$DB" "SELECT id FROM jobs WHERE name = 'waiter' AND state = 'PENDING' ORDER BY seq DESC LIMIT 300" >cancel.ids
while read -r id; do "$JOBRUN" cancel "$id" >/dev/null 2>&1; done <cancel.ids
wait_for -t 60 eval '[ "$(sqlite3 "$DB" "SELECT count(*) FROM jobs WHERE state = '"'CANCELLED'"'")" = 301 ]'
ok $? "300 more cancels go through"
is "$(counts_off)" "" "the counts equal the rows, after 300 cancels"
run "$JOBRUN" prune --state CANCELLED --older-than 0s
wait_for -t 30 eval '[ "$(sqlite3 "$DB" "SELECT count(*) FROM jobs WHERE state = '"'CANCELLED'"'")" = 0 ]'
ok $? "the cancelled jobs are pruned" || diag "$OUT $ERR"
is "$(counts_off)" "" "the counts equal the rows, after a prune"
stop_daemon

# ------------------------------------------------------------------ (c)
sqlite3 "$DB" "DROP TRIGGER jobs_in; DROP TRIGGER jobs_out; DROP TRIGGER jobs_move;
	DROP TRIGGER tasks_in; DROP TRIGGER tasks_out; DROP TRIGGER tasks_move;
	DROP TABLE counts; PRAGMA user_version = 0;
	INSERT INTO jobs(id, name, state, envelope, created, ntasks)
	VALUES('feedfacecafe', 'old', 'COMPLETED', '{}', 1, 0);"
run "$JOBRUN" metrics
like "$OUT" "jobrun_jobs\{state=\"PENDING\"\} $((N - 301))"$'\n' \
	"a store without counts: metrics counts the rows" || diag "$ERR"
like "$OUT" "jobrun_jobs\{state=\"COMPLETED\"\} 2"$'\n' "... the old job too"
start_daemon -q hold:1
is "$(sqlite3 "$DB" "PRAGMA user_version")" 1 "the daemon brings the store to version 1"
is "$(counts_off)" "" "... its counts filled in from the rows"
is "$(sqlite3 "$DB" "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'")" 6 \
	"... and kept from now on (6 triggers)"
"$JOBRUN" cancel "$holder" >/dev/null
"$JOBRUN" cancel "$(sqlite3 "$DB" "SELECT id FROM jobs WHERE state = 'PENDING' ORDER BY seq LIMIT 1")" >/dev/null
wait_for -t 60 job_is "$holder" CANCELLED
ok $? "the holder is cancelled" || diag "$(job_json "$holder")"
is "$(counts_off)" "" "the counts equal the rows after more moves"
# the rest is not run: the queue is emptied by a cancel of each
sqlite3 "$DB" "SELECT id FROM jobs WHERE state = 'PENDING'" | while read -r id; do
	"$JOBRUN" cancel "$id" >/dev/null 2>&1
done
wait_for -t 120 eval '[ "$(sqlite3 "$DB" "SELECT count(*) FROM jobs WHERE state IN ('"'PENDING','RUNNING'"')")" = 0 ]'
ok $? "every job is final"
is "$(counts_off)" "" "the counts equal the rows at the end"
wait_for no_containers_left
ok $? "no container is left" || diag "$(containers all)"
stop_daemon

# ------------------------------------------------------------------ (d)
cat >count-docker <<EOF
#!/bin/sh
echo "\$1" >>"$T/docker.calls"
exec "$DOCKER" "\$@"
EOF
chmod +x count-docker
: >docker.calls
cat >quick.yaml <<'EOF'
name: quick
tasks:
  - name: q
    image: jobrun-test:latest
    cmd: ["true"]
EOF
JOBRUN_DOCKER=$T/count-docker start_daemon -q default:4
: >quick.ids
for i in $(seq 40); do submit quick.yaml >>quick.ids; done
last=$(tail -1 quick.ids)
fails=0
while read -r id; do
	"$JOBRUN" wait "$id" >/dev/null 2>&1 || fails=$((fails + 1))
done <quick.ids
is "$fails" 0 "40 jobs on a queue of 4 COMPLETED"
wait_for no_containers_left
ok $? "... and no container of theirs is left" ||
	diag "$("$DOCKER" ps -a --filter "label=jobrun.home=$(home_id)" --format '{{.Names}} {{.Status}}')" \
	"$(grep -c . docker.calls) calls: $(sort docker.calls | uniq -c | tr '\n' ' ')"
runs=$(grep -cx run docker.calls)
rms=$(grep -cx rm docker.calls)
is "$runs" 40 "one docker run per task"
[ "$rms" -ge 1 ] && [ "$rms" -lt 20 ]
ok $? "fewer docker rm calls than one per two tasks ($rms for 40)" || diag "$(sort docker.calls | uniq -c)"

# ------------------------------------------------------------------ (e)
cat >long.yaml <<'EOF'
name: long
tasks:
  - name: l
    image: jobrun-test:latest
    run: sleep 30
EOF
long=$(submit long.yaml)
wait_for eval '[ "$(job_state "$long")" = RUNNING ]'
quick=$(submit quick.yaml)
"$JOBRUN" wait "$quick" >/dev/null 2>&1
stop_daemon
is "$("$DOCKER" ps -aq --filter "label=jobrun.job=$quick")" "" \
	"a daemon stopped as a job ended leaves none of its containers" ||
	diag "$("$DOCKER" ps -a --filter "label=jobrun.job=$quick")"
JOBRUN_DOCKER=$T/count-docker start_daemon -q default:4
"$JOBRUN" cancel "$long" >/dev/null
wait_for -t 30 no_containers_left
ok $? "the long one's container goes once it is cancelled, and a restarted daemon leaves none" ||
	diag "$("$DOCKER" ps -a --filter "label=jobrun.home=$(home_id)" --format '{{.Names}} {{.Status}}')"
stop_daemon

done_testing
