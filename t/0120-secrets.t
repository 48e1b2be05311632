#!/bin/bash
# Secrets (issue 3, "Done when"): a job's `secrets:` values, and the values of
# env variables whose names contain SECRET, PASSWORD or ACCESS_KEY, are never
# shown.  The job below echoes a secret (through {{ secrets.X }} in env) and a
# DB_PASSWORD, and writes both to $TORK_OUTPUT.  Then every file under the home
# (binary ones too), every show/ls/logs output and the daemon's log are grepped
# for both values:
#   - before the daemon takes the job in, the secret is in the spool file only;
#   - while the job runs, only in secrets/JOBID (mode 0600);
#   - after it ended, nowhere, and secrets/JOBID is gone;
#   - the docker command line never holds it (values go through the
#     environment of the docker CLI, as --env NAME).
# The second task of the job waits for a file the test drops into its /tork
# directory, so that the "while it runs" checks happen at a known moment.
# shellcheck disable=SC2009,SC2016 # (ps -eo args is what is checked; eval strings expand later)
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"
NL=$'\n'
SECRET=S3cr3t-Val-8472q
PASSWORD=Pw-Literal-5531z
LEAK=Lk-Name-Secret-77x

# files under the home (relative, sorted) whose bytes contain $1
files_with() { grep -rlaF -- "$1" "$JOBRUN_HOME" 2>/dev/null | sed "s|^$JOBRUN_HOME/||" | sort; }

cat >secrets.yaml <<EOF
name: secrets job
secrets:
  api_key: $SECRET
tasks:
  - name: use the secret
    var: echoed
    image: jobrun-test:latest
    env:
      API_KEY: "{{ secrets.api_key }}"
      BEARER: "Bearer {{ secrets.api_key }}"
      DB_PASSWORD: $PASSWORD
      PLAIN: visible-value
    run: |
      echo "key=\$API_KEY"
      echo "\$BEARER"
      echo "pw=\$DB_PASSWORD"
      echo "plain=\$PLAIN"
      echo "twice \$API_KEY\$API_KEY end"
      printf '%s' "\$API_KEY" | md5sum | cut -c1-32
      printf '%s' "\$DB_PASSWORD" | md5sum | cut -c1-32
      printf 'out %s %s' "\$API_KEY" "\$DB_PASSWORD" > \$TORK_OUTPUT
  - name: hold
    image: jobrun-test:latest
    env:
      API_KEY: "{{ secrets.api_key }}"
      DB_PASSWORD: $PASSWORD
    run: |
      echo waiting
      while [ ! -e /tork/go ]; do sleep 0.1; done
      echo "done \$API_KEY \$DB_PASSWORD"
EOF

# ---------------------------------------------------------------- spooled, no daemon yet
run "$JOBRUN" submit secrets.yaml
is "$RC" 0 "submit: exit 0"
id=$OUT
like "$id" '^[0-9a-f]{12}$' "submit: prints an id"
spoolf=$(cd "$JOBRUN_HOME" && ls spool/new/*"$id"*.job 2>/dev/null)
is "$(files_with "$SECRET")" "$spoolf" "spooled: the secret is in the spool file only"
is "$(stat -c %a "$JOBRUN_HOME/$spoolf" 2>/dev/null)" 600 "spooled: the spool file is mode 0600"
for how in "show $id" "show --json $id" "ls" "ls --json"; do
	# shellcheck disable=SC2086
	run "$JOBRUN" $how
	is "$RC" 0 "spooled, no store yet: '$how' exits 0" || diag "$ERR"
	like "$OUT" "$id" "spooled: '$how' shows the job"
	unlike "$OUT$ERR" "$SECRET|$PASSWORD" "spooled: '$how' shows neither value" || diag "$OUT"
done

# ---------------------------------------------------------------- while the job runs
start_daemon || BAIL_OUT "the daemon did not start"
holding() { [ "$(task_field "$id" 2 state)" = RUNNING ] && grep -q waiting "$JOBRUN_HOME/logs/$id/2.log" 2>/dev/null; }
wait_for -t 30 holding
ok $? "the second task runs and waits" || BAIL_OUT "the job did not get to its second task"

is "$(stat -c %a "$JOBRUN_HOME/secrets/$id" 2>/dev/null)" 600 "running: secrets/$id exists, mode 0600"
is "$(stat -c %a "$JOBRUN_HOME/secrets" 2>/dev/null)" 700 "running: the secrets directory is mode 0700"
during=$(files_with "$SECRET")
unlike "$during" "(^|$NL)(jobrun\\.db|logs/|spool/)" \
	"running: the secret is in no database, log or spool file"
is "$during" "secrets/$id" "running: the secret is in secrets/$id and nowhere else (no raw \$TORK_OUTPUT left behind)"
unlike "$(files_with "$PASSWORD")" "(^|$NL)(logs/|secrets/)" "running: the password is in no log"

# the docker CLI of the waiting task
dargs=$(ps -eo args | grep -F "jobrun.job=$id" | grep -F -- ' run ' | grep -v grep)
isnt "$dargs" "" "running: ps shows the task's 'docker run' command line" ||
	diag "$(ps -eo args | grep docker)"
unlike "$dargs" "$SECRET" "running: the secret is not on docker's command line"
unlike "$dargs" "$PASSWORD" "running: the password is not on docker's command line"
like "$dargs" "(^| )--env[= ]API_KEY( |\$)" "running: docker gets --env API_KEY, without a value"
run "$JOBRUN" logs "$id" 2
is "$OUT" waiting "running: logs of the waiting task"

# let it finish
touch "$JOBRUN_HOME/work/$id/2.1.0/go" 2>/dev/null ||
	for d in "$JOBRUN_HOME/work/$id"/2.*; do touch "$d/go"; done
wait_for -t 30 job_final "$id"
is "$(job_state "$id")" COMPLETED "the job COMPLETED"
wait_for -t 10 eval '[ ! -e "$JOBRUN_HOME/secrets/$id" ]'
ok $? "ended: secrets/$id is gone"

# ---------------------------------------------------------------- what the task saw, what is shown
run "$JOBRUN" logs "$id" 1
smd5=$(printf '%s' "$SECRET" | md5sum | cut -c1-32)
pmd5=$(printf '%s' "$PASSWORD" | md5sum | cut -c1-32)
is "$OUT" "key=[REDACTED]
Bearer [REDACTED]
pw=[REDACTED]
plain=visible-value
twice [REDACTED][REDACTED] end
$smd5
$pmd5" "log: each value is [REDACTED], other text kept; the container got the real values (md5)"
is "$(task_field "$id" 1 result)" "out [REDACTED] [REDACTED]" "result: both values [REDACTED]"
run "$JOBRUN" logs "$id" 2
is "$OUT" "waiting${NL}done [REDACTED] [REDACTED]" "log of the second task: [REDACTED]"

# ---------------------------------------------------------------- grep everything
for how in "show $id" "show --json $id" "ls" "ls --json" "logs $id" "logs $id 1" "logs $id 2"; do
	# shellcheck disable=SC2086
	run "$JOBRUN" $how
	is "$RC" 0 "'$how' exits 0"
	unlike "$OUT$ERR" "$SECRET" "'$how' does not show the secret"
	unlike "$OUT$ERR" "$PASSWORD" "'$how' does not show the password"
done
run "$JOBRUN" logs "$id"
like "$OUT" "\\[REDACTED\\]" "logs: shows [REDACTED]"

unlike "$(cat "$T/daemon.log")" "$SECRET" "the daemon's log does not have the secret"
unlike "$(cat "$T/daemon.log")" "$PASSWORD" "the daemon's log does not have the password"

is "$(files_with "$SECRET")" "" "ended: no file under the home holds the secret (grep -rla)"
pwfiles=$(files_with "$PASSWORD")
unlike "$pwfiles" "(^|$NL)(logs/|secrets/|spool/|work/)" \
	"ended: the password is in no log, spool or work file"
# An env value written out in the job file is part of the job's text, which
# the daemon keeps (jobrun-job(5), SECRETS: use secrets: for values that must
# not be stored): the store is the one place it may be.
like "${pwfiles:-jobrun.db}" "^(jobrun\.db(-wal)?($NL|$))+$" \
	"ended: the only files holding a PASSWORD env value are jobrun.db (its job text)"

# ---------------------------------------------------------------- secrets in other evaluated fields
# A secret quoted in a task's name, in the job's output and in an evaluation error.
cat >leaky.yaml <<EOF
name: leaky fields
secrets:
  k: $LEAK
output: "token={{ secrets.k }}"
tasks:
  - name: "call with {{ secrets.k }}"
    image: jobrun-test:latest
    run: echo -n ok > \$TORK_OUTPUT
EOF
cat >leaky-error.yaml <<EOF
name: leaky error
secrets:
  k: $LEAK
tasks:
  - name: parse it
    image: jobrun-test:latest
    env:
      N: "{{ int(secrets.k) }}"
    run: "true"
EOF
l1=$(submit leaky.yaml)
l2=$(submit leaky-error.yaml)
wait_for -t 30 eval 'job_final "$l1" && job_final "$l2"'
ok $? "the leaky jobs end"
is "$(job_state "$l1")" COMPLETED "leaky fields: COMPLETED"
is "$(task_field "$l1" 1 name)" "call with [REDACTED]" "a secret in a task's name is [REDACTED] in show --json"
is "$(job_json "$l1" '.result // empty')" "token=[REDACTED]" "a secret in the job's output is [REDACTED] in its result"
is "$(job_state "$l2")" FAILED "leaky error: FAILED"
is "$(task_field "$l2" 1 error)" 'env.N: int: cannot parse "[REDACTED]"' "a secret in an evaluation error is [REDACTED]"
for x in "$l1" "$l2"; do
	for how in "show $x" "show --json $x" "ls" "ls --json" "logs $x"; do
		# shellcheck disable=SC2086
		run "$JOBRUN" $how
		unlike "$OUT$ERR" "$LEAK" "leaky: '$how' does not show the secret"
	done
done
unlike "$(cat "$T/daemon.log")" "$LEAK" "leaky: the daemon's log does not have the secret"
# l2 FAILED: its secrets stay in their store, for a restart, until a prune.
is "$(files_with "$LEAK")" "secrets/$l2" "leaky: no file under the home holds the secret but the FAILED job's secrets store"
is "$(stat -c %a "$JOBRUN_HOME/secrets/$l2" 2>/dev/null)" 600 "... which is mode 0600"
run "$JOBRUN" prune --state FAILED
is "$RC" 0 "prune the FAILED job"
wait_for eval '[ -z "$(files_with "$LEAK")" ]'
ok $? "... and its secrets store goes with it"

# ---------------------------------------------------------------- non-ASCII text
# The stored job text must still be the job, without the secret, when the file
# has a non-ASCII character before the secrets block, or in a secret's value.
U1=Utf-Before-9931k
U2='pässwörd-4417ü'
cat >utf8-before.yaml <<EOF
name: café job
secrets:
  k: $U1
tasks:
  - name: uses it
    image: jobrun-test:latest
    env:
      K: "{{ secrets.k }}"
    run: echo "k=\$K"
EOF
cat >utf8-value.yaml <<EOF
name: utf8 value
secrets:
  k: $U2
tasks:
  - name: uses it
    image: jobrun-test:latest
    env:
      K: "{{ secrets.k }}"
    run: echo "k=\$K"
EOF
u1=$(submit utf8-before.yaml)
u2=$(submit utf8-value.yaml)
ended_or_rejected() { job_final "$1" || [ "$(count_files "$JOBRUN_HOME/spool/bad")" != 0 ]; }
wait_for -t 30 eval 'ended_or_rejected "$u1" && ended_or_rejected "$u2"'
is "$(count_files "$JOBRUN_HOME/spool/bad")" 0 "non-ASCII: the daemon rejects neither job" ||
	diag "$(grep spool.reject "$T/daemon.log")"
is "$(job_state "$u1")" COMPLETED "non-ASCII before the secrets: the job COMPLETED"
is "$(job_json "$u1" .name)" "café job" "non-ASCII before the secrets: its name"
run "$JOBRUN" logs "$u1"
is "$OUT" "k=[REDACTED]" "non-ASCII before the secrets: the log is redacted"
is "$(job_state "$u2")" COMPLETED "non-ASCII in a secret's value: the job COMPLETED"
run "$JOBRUN" logs "$u2"
is "$OUT" "k=[REDACTED]" "non-ASCII in a secret's value: the log is redacted"
is "$(files_with "$U1")" "" "non-ASCII before the secrets: no file under the home holds the secret"
is "$(files_with "$U2")" "" "non-ASCII in a secret's value: no file under the home holds the secret"
is "$(files_with 4417)" "" "non-ASCII in a secret's value: no file under the home holds its tail"

daemon_alive
ok $? "the daemon still runs"
stop_daemon
is $? 0 "the daemon exits 0 on SIGTERM"

done_testing
