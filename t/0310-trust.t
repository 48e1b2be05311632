#!/bin/bash
# The trust boundary (issue 10): nothing a job file, the spool or the home
# says reaches the host unchecked.
#
#  - argv: every field that reaches docker's command line is checked against
#    its grammar at submit (exit 3, FILE:LINE:COL), an evaluated image once
#    more when the task starts, and the image comes after `--`;
#  - host policy: bind sources only under daemon --allow-bind, never /, the
#    engine's socket or the home; networks beyond none and the daemon's own
#    only by --allow-network; checked at submit (run/policy) and again at
#    ingest, where the daemon's word wins and a refused job is FAILED;
#  - secrets: never on an argv (ps watched while the task runs), refused in
#    cmd and in variables the docker CLI reads itself, and redacted longest
#    match first;
#  - ingest parity: the CR case, a job the daemon refuses is FAILED, never
#    in spool/bad;
#  - ownership: a home another user owns or others can write is refused, a
#    spool file's submitter is its owner, a forged uid is refused;
#  - limits: job file size (submit and ingest), tasks per job, each's list,
#    an evaluated value, a task's output.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"
IMG=jobrun-test:latest

refused() { # FILE WANT-ERR DESC: submit FILE exits 3 with exactly WANT-ERR
	run "$JOBRUN" submit "$1"
	is "$RC" 3 "$3: submit exits 3"
	is "$ERR" "$2" "$3: the error names file:line:col, the field and why"
	is "$(spooled)" 0 "$3: nothing spooled"
}
job() { # NAME FIELD-LINES...: a one-task job file NAME.yaml with these lines
	local f=$1; shift
	{
		printf 'name: %s\ntasks:\n  - name: t\n' "$f"
		printf '    %s\n' "$@"
	} >"$f.yaml"
}

# ---------------------------------------------------------------- argv: each field
job image "image: \"--volume=/:/hostroot\"" 'cmd: ["alpine:latest", "cat", "/hostroot/etc/hostname"]'
refused image.yaml "image.yaml:4:12: tasks[0].image: '--volume=/:/hostroot' is not an image reference: it starts with '-'" \
	"an option as the image"
job image2 "image: \"$IMG --privileged\""
refused image2.yaml "image2.yaml:4:12: tasks[0].image: '$IMG --privileged' is not an image reference: it contains whitespace" \
	"an image with a space and an option"
job env "image: $IMG" 'env: {"--privileged": x}'
refused env.yaml "env.yaml:5:11: tasks[0].env: '--privileged' is not a variable name: it starts with '-'" \
	"an option as an env name"
job env2 "image: $IMG" 'env: {"A=B": x}'
refused env2.yaml "env2.yaml:5:11: tasks[0].env: 'A=B' is not a variable name: it contains '='" \
	"an env name with '='"
job net "image: $IMG" 'networks: ["container:other"]'
refused net.yaml "net.yaml:5:16: tasks[0].networks: 'container:other' is not a network name: it contains a character other than letters, digits, '_', '.' and '-'" \
	"another container's network namespace"
job net2 "image: $IMG" 'networks: ["--network=host"]'
refused net2.yaml "net2.yaml:5:16: tasks[0].networks: '--network=host' is not a network name: it starts with '-'" \
	"an option as a network"
job gpus "image: $IMG" 'gpus: "all,--privileged"'
refused gpus.yaml "gpus.yaml:5:11: tasks[0].gpus: 'all,--privileged' is not a gpus value: it is not 'all', a count or 'device=' followed by device ids" \
	"an option after gpus"
job workdir "image: $IMG" 'workdir: "--privileged"'
refused workdir.yaml "workdir.yaml:5:14: tasks[0].workdir: '--privileged' is not an absolute path: it does not start with '/'" \
	"an option as the workdir"
job workdir2 "image: $IMG" 'workdir: "/a/../../etc"'
refused workdir2.yaml "workdir2.yaml:5:14: tasks[0].workdir: '/a/../../etc' is not an absolute path: a path component is '..'" \
	"a workdir with '..'"
job vol "image: $IMG" 'volumes: ["/data:/etc"]'
refused vol.yaml "vol.yaml:5:15: tasks[0].volumes: '/data:/etc' is not an absolute path: it contains ':'" \
	"a volume target with a second mount in it"
job target "image: $IMG" 'mounts: [{type: tmpfs, target: "/x/./y"}]'
refused target.yaml "target.yaml:5:14: tasks[0].mounts[0]: target '/x/./y' is not an absolute path: a path component is '.'" \
	"a mount target with '.'"
job pre "image: $IMG" 'pre: [{image: "-v/:/h", run: "true"}]'
refused pre.yaml "pre.yaml:5:19: tasks[0].pre[0].image: '-v/:/h' is not an image reference: it starts with '-'" \
	"an option as a pre step's image"
job side "image: $IMG" "sidecars: [{image: $IMG, workdir: rel}]"
refused side.yaml "side.yaml:5:53: tasks[0].sidecars[0].workdir: 'rel' is not an absolute path: it does not start with '/'" \
	"a sidecar's relative workdir"

# ---------------------------------------------------------------- host policy at submit (never allowed)
mkdir -m 700 "$T/allowed" "$T/other"
ln -s /etc "$T/allowed/etc-link"
job root "image: $IMG" 'mounts: [{type: bind, source: /, target: /host}]'
refused root.yaml "root.yaml:5:14: tasks[0].mounts[0]: binding / is never allowed: / is the whole host" \
	"a bind of /"
sock=$(realpath /var/run/docker.sock)
job sock "image: $IMG" 'mounts: [{type: bind, source: /var/run/docker.sock, target: /s}]'
refused sock.yaml "sock.yaml:5:14: tasks[0].mounts[0]: binding $sock is never allowed: it is or holds the container engine's socket (root on the host)" \
	"a bind of the docker socket"
job sockdir "image: $IMG" "mounts: [{type: bind, source: $(dirname "$sock"), target: /s}]"
refused sockdir.yaml "sockdir.yaml:5:14: tasks[0].mounts[0]: binding $(dirname "$sock") is never allowed: it is or holds the container engine's socket (root on the host)" \
	"a bind of the directory holding the docker socket"
mkdir -p "$JOBRUN_HOME/secrets"
job home "image: $IMG" "mounts: [{type: bind, source: $JOBRUN_HOME/secrets, target: /s}]"
refused home.yaml "home.yaml:5:14: tasks[0].mounts[0]: binding $JOBRUN_HOME/secrets is never allowed: it holds or is inside the jobrun home (secrets, database)" \
	"a bind of the home's secrets"
job homeup "image: $IMG" "mounts: [{type: bind, source: $T, target: /s}]"
refused homeup.yaml "homeup.yaml:5:14: tasks[0].mounts[0]: binding $T is never allowed: it holds or is inside the jobrun home (secrets, database)" \
	"a bind of a directory holding the home"

# ---------------------------------------------------------------- the daemon's policy
run "$JOBRUN" daemon --allow-bind /
is "$RC" 2 "daemon --allow-bind / is a usage error"
like "$ERR" "^jobrun: --allow-bind /: never allowed: / is the whole host" "... saying it is never allowed"
run "$JOBRUN" daemon --allow-bind "$T/none"
is "$RC" 2 "daemon --allow-bind of a missing directory is a usage error"
run "$JOBRUN" daemon --allow-network "container:x"
is "$RC" 2 "daemon --allow-network with a bad name is a usage error"
run "$JOBRUN" daemon --max-job-size 10
is "$RC" 2 "daemon --max-job-size under 1k is a usage error"

# Submitted while no daemon ever ran: submit knows no policy yet, so the
# daemon decides at ingest, and its refusal is a FAILED job with the reason.
job other "image: $IMG" "mounts: [{type: bind, source: $T/other, target: /o}]" 'cmd: ["true"]'
early=$(submit other.yaml)
like "$early" '^[0-9a-f]{12}$' "before any daemon: a bind outside any allowed dir is spooled"
job hostnet "image: $IMG" 'networks: [host]' 'cmd: ["true"]'
early2=$(submit hostnet.yaml)
start_daemon --allow-bind "$T/allowed" || BAIL_OUT "the daemon does not start"
is "$(cat "$JOBRUN_HOME/run/policy")" "max-job-size 4194304${NL:=$'\n'}network none${NL}allow-bind $T/allowed" \
	"the daemon writes its policy to run/policy"
wait_for job_is "$early" FAILED
ok $? "ingest: the daemon refuses the bind the policy does not allow: the job is FAILED"
like "$(job_json "$early" .error)" "^other\.yaml:[0-9]+:[0-9]+: tasks\[0\]\.mounts\[0\]: $T/other is not under a directory the daemon allows \(jobrun daemon --allow-bind DIR\)$" \
	"... show says which rule refused it"
run "$JOBRUN" wait "$early"
is "$RC" 4 "... wait exits 4"
run "$JOBRUN" restart "$early"
is "$RC" 1 "... restart refuses it (exit 1)"
like "$ERR" "^jobrun: job $early never ran: the daemon refused it \(.*\); fix the job file and submit it again$" "... saying why"
run "$JOBRUN" ls
like "$OUT" "$early +other\.yaml +FAILED" "... ls lists it FAILED, by its file's name"
wait_for job_is "$early2" FAILED
like "$(job_json "$early2" .error)" "network 'host' is not allowed: the daemon runs containers on 'none' \(jobrun daemon --allow-network host\)" \
	"ingest: a network the daemon does not allow: FAILED, saying so"
is "$(count_files "$JOBRUN_HOME/spool/bad")" 0 "... and nothing went to spool/bad"

# Now submit knows the policy: the same jobs are refused ahead.
run "$JOBRUN" submit other.yaml
is "$RC" 3 "submit, with run/policy: a bind outside the allowed dirs exits 3"
like "$ERR" "tasks\[0\]\.mounts\[0\]: $T/other is not under a directory the daemon allows" "... naming the rule"
run "$JOBRUN" submit hostnet.yaml
is "$RC" 3 "submit: networks [host] without --allow-network host exits 3"
job link "image: $IMG" "mounts: [{type: bind, source: $T/allowed/etc-link, target: /e}]"
run "$JOBRUN" submit link.yaml
is "$RC" 3 "a symbolic link under an allowed dir that leads out of it is refused"
like "$ERR" "tasks\[0\]\.mounts\[0\]: /etc is not under a directory the daemon allows" "... by where it leads"

printf 'from the host' >"$T/allowed/in.txt"
job ok "image: $IMG" "mounts: [{type: bind, source: $T/allowed, target: /a}]" 'run: cat /a/in.txt > $TORK_OUTPUT'
okid=$(submit ok.yaml)
RUN_TIMEOUT=30 run "$JOBRUN" wait "$okid"
is "$RC/$(task_field "$okid" 1 result)" "0/from the host" "a bind under --allow-bind runs"

# ---------------------------------------------------------------- secrets never on argv
SECRET=Tr0ub4dor-3-argv-check
SECRET_RE='T[r]0ub4dor-3-argv-check'	# matches the secret, not this grep
cat >sec-cmd.yaml <<EOF
name: secret in cmd
secrets:
  pw: $SECRET
tasks:
  - image: $IMG
    cmd: ["echo", "{{ secrets.pw }}"]
EOF
refused sec-cmd.yaml "sec-cmd.yaml:6:19: tasks[0].cmd: a secret here would be on docker's command line, which ps shows to every user: pass it in env (env: {PW: '{{ secrets.pw }}'}) and use \$PW in run or sh -c" \
	"a secret in cmd"
cat >sec-image.yaml <<EOF
name: secret in image
secrets:
  pw: $SECRET
tasks:
  - image: "$IMG{{ secrets.pw }}"
    cmd: ["true"]
EOF
run "$JOBRUN" submit sec-image.yaml
is "$RC" 3 "a secret in image: submit exits 3"
cat >sec-path.yaml <<EOF
name: secret in PATH
secrets:
  pw: $SECRET
tasks:
  - image: $IMG
    env:
      PATH: "/bin:{{ secrets.pw }}"
    cmd: ["true"]
EOF
refused sec-path.yaml "sec-path.yaml:7:13: tasks[0].env.PATH: the docker CLI reads PATH itself, so it goes on its command line, where ps shows it to every user: no secret in it" \
	"a secret in a variable the docker CLI reads itself"

# The same secret through env, watched with ps while the task runs.
cat >sec-env.yaml <<EOF
name: secret in env
secrets:
  pw: $SECRET
tasks:
  - image: $IMG
    env:
      PW: "{{ secrets.pw }}"
    entrypoint: ["sh", "-c"]
    cmd: ['echo -n "\$PW" > \$TORK_OUTPUT; sleep 3']
EOF
sid=$(submit sec-env.yaml)
wait_for job_is "$sid" RUNNING
seen=0 args=
for _ in $(seq 20); do
	a=$(ps -eo args)
	n=$(printf '%s\n' "$a" | grep -c -- "$SECRET_RE")
	seen=$((seen + n))
	args=$(printf '%s\n' "$a" | grep -- "docker run --name=jobrun-.*-$sid-" | head -n 1)
	[ -n "$args" ] && break
	sleep 0.1
done
for _ in $(seq 15); do seen=$((seen + $(ps -eo args | grep -c -- "$SECRET_RE"))); sleep 0.1; done
isnt "$args" "" "the task's docker run is seen by ps"
is "$seen" 0 "ps shows the secret on no argv while the task runs (0 occurrences in 35 looks)"
like "$args" " --env=PW --entrypoint=sh -- $IMG -c " "the value goes by name (--env=PW), and -- comes before the image"
RUN_TIMEOUT=30 run "$JOBRUN" wait "$sid"
is "$RC/$(task_field "$sid" 1 result)" "0/[REDACTED]" "... and the container had it in its environment (its output redacted)"

# A secret that reaches cmd some other way (here an input of the same value)
# is caught when the task starts.
cat >sec-indirect.yaml <<EOF
name: indirect
secrets:
  pw: $SECRET
inputs:
  x: none
tasks:
  - image: $IMG
    cmd: ["echo", "{{ inputs.x }}"]
EOF
iid=$(submit -i "x=$SECRET" sec-indirect.yaml)
RUN_TIMEOUT=30 run "$JOBRUN" wait "$iid"
is "$RC" 4 "a secret that reaches cmd through an input: the job FAILED"
is "$(task_field "$iid" 1 error)" "cmd: holds a secret, which would be on docker's command line where ps shows it to every user; pass it in env and use \$NAME in run or sh -c" \
	"... saying why, before any docker run"

# entrypoint is not evaluated, so only a secret written out in it can be
# there: that too fails the task before docker runs.
cat >sec-ep.yaml <<EOF
name: secret written in entrypoint
secrets:
  pw: $SECRET
tasks:
  - image: $IMG
    entrypoint: ["sh", "-c", "echo $SECRET"]
EOF
pid_=$(submit sec-ep.yaml)
RUN_TIMEOUT=30 run "$JOBRUN" wait "$pid_"
is "$RC/$(task_field "$pid_" 1 error)" "4/entrypoint: holds a secret, which would be on docker's command line where ps shows it to every user; pass it in env and use \$NAME in run or sh -c" \
	"a secret written out in entrypoint: FAILED before docker runs, saying why"
is "$(grep -c "task.step job=$pid_" "$T/daemon.log")" 0 "... no step was started"

# An image a template makes is checked once evaluated.
cat >eval-image.yaml <<EOF
name: evaluated image
inputs:
  img: "$IMG"
tasks:
  - image: "{{ inputs.img }}"
    cmd: ["true"]
EOF
eid=$(submit -i 'img=--privileged' eval-image.yaml)
RUN_TIMEOUT=30 run "$JOBRUN" wait "$eid"
is "$RC" 4 "an evaluated image that is an option: FAILED"
is "$(task_field "$eid" 1 error)" "image: '--privileged' is not an image reference: it starts with '-'" "... saying why"

# Redaction: the longest secret wins ("pass" would leave "word123").
cat >longest.yaml <<EOF
name: longest
secrets:
  a: pass
  b: password123
tasks:
  - image: $IMG
    run: echo "x password123 y pass z"
EOF
lid=$(submit longest.yaml)
RUN_TIMEOUT=30 run "$JOBRUN" wait "$lid"
run "$JOBRUN" logs "$lid"
is "$OUT" "x [REDACTED] y [REDACTED] z" "redaction replaces the longest match first"

# ---------------------------------------------------------------- ingest parity: the CR case
printf 'name: cr\nsecrets:\n  pw: |\n    Cr-Secret-71\r  other: x\ntasks:\n  - image: %s\n    env:\n      PW: "{{ secrets.pw }}"\n    run: echo -n "[$PW]" | tr -d "\\n" > $TORK_OUTPUT\n' "$IMG" >cr.yaml
crid=$(submit cr.yaml)
like "$crid" '^[0-9a-f]{12}$' "a block-scalar secret ending in a bare CR: submit exits 0"
RUN_TIMEOUT=30 run "$JOBRUN" wait "$crid"
is "$RC" 0 "... and the daemon runs it (COMPLETED, not in spool/bad)"
is "$(count_files "$JOBRUN_HOME/spool/bad")" 0 "... spool/bad is empty"
is "$(task_field "$crid" 1 result)" "[[REDACTED]]" "... the container got the secret (redacted in the result)"
is "$(sqlite3 "$JOBRUN_HOME/jobrun.db" "SELECT count(*) FROM jobs WHERE envelope LIKE '%Cr-Secret-71%'")" 0 \
	"... and the stored job text has it cut out"

# A job file is UTF-8 text throughout: libyaml reads only the first
# document, and a bad byte after it could not travel in the spool's JSON.
printf 'name: two docs\ntasks: [{image: %s, cmd: ["true"]}]\n...\n\327\n' "$IMG" >notutf8.yaml
refused notutf8.yaml "notutf8.yaml:4:1: a job file is UTF-8 text: this is not UTF-8" "a byte that is not UTF-8 after the first document"
printf 'name: nul\ntasks: [{image: %s, cmd: ["true"]}]\n...\n\000\n' "$IMG" >nul.yaml
refused nul.yaml "nul.yaml:4:1: a job file is UTF-8 text: this is a NUL byte" "a NUL byte after the first document"
printf 'name: "\355\240\200"\ntasks: [{image: %s, cmd: ["true"]}]\n' "$IMG" >surrogate.yaml
refused surrogate.yaml "surrogate.yaml:1:8: a job file is UTF-8 text: this is not UTF-8" "an encoded UTF-16 surrogate"

# ---------------------------------------------------------------- ownership
# A spool file's submitter is its owner: one that claims another uid is
# refused (here a client in a user namespace that maps uid 4242 onto us).
if unshare --user --map-user=4242 --map-group=4242 true 2>/dev/null; then
	fid=$(unshare --user --map-user=4242 --map-group=4242 "$JOBRUN" submit "$TD/jobs/hello.yaml" 2>/dev/null)
	wait_for job_is "$fid" FAILED
	ok $? "a spool file that claims uid 4242 but is ours: the job is FAILED"
	is "$(job_json "$fid" .error)" "the spool file says uid 4242, but uid $(id -u) wrote it" "... saying so"
	like "$(grep "job=$fid state=FAILED" "$T/daemon.log")" " uid=$(id -u)\$" "... and the log names the owner's uid, not the claimed one"
else
	skip 3 "no user namespaces here"
fi
# A spool file owned by another user is not taken (kept in spool/bad).
if [ "$(id -u)" = 0 ]; then
	printf '{"jobrun":1,"op":"submit","id":"00000000f0e1","created":1,"source":"tasks:\\n  - image: %s\\n    cmd: [\\"true\\"]\\n"}\n' "$IMG" >"$JOBRUN_HOME/spool/tmp/f"
	chown 65534 "$JOBRUN_HOME/spool/tmp/f"
	mv "$JOBRUN_HOME/spool/tmp/f" "$JOBRUN_HOME/spool/new/0000000000001-00000000f0e1.job"
	wait_for eval '[ "$(count_files "$JOBRUN_HOME/spool/bad")" = 1 ]'
	ok $? "a spool file owned by uid 65534 goes to spool/bad"
	like "$(grep event=spool.reject "$T/daemon.log")" "spooled by uid 65534, not by uid 0 whose home this is" "... logged with both uids"
	run "$JOBRUN" show 00000000f0e1
	is "$RC" 6 "... and no job of it exists"
else
	skip 3 "not root: cannot make a file another user owns"
fi
ln -s /etc/passwd "$JOBRUN_HOME/spool/new/0000000000002-00000000f0e2.job"
wait_for eval '[ "$(count_files "$JOBRUN_HOME/spool/bad")" -ge 1 ] && ! [ -L "$JOBRUN_HOME/spool/new/0000000000002-00000000f0e2.job" ]'
ok $? "a symbolic link in spool/new is not followed (moved to spool/bad)"
stop_daemon

# The home: ours alone, or refused with the path and the fix.
chmod 770 "$JOBRUN_HOME"
run "$JOBRUN" daemon
is "$RC" 1 "a group-writable home: the daemon refuses to start"
is "$ERR" "jobrun: $JOBRUN_HOME can be written by its group (mode 0770); a home must be its user's alone: chmod go-w $JOBRUN_HOME" \
	"... naming the path and the fix"
run "$JOBRUN" submit "$TD/jobs/hello.yaml"
is "$RC" 1 "... and submit refuses to spool there"
chmod 700 "$JOBRUN_HOME"
if [ "$(id -u)" = 0 ]; then
	chown 65534 "$JOBRUN_HOME/spool"
	run "$JOBRUN" daemon
	is "$RC" 1 "a home whose spool another user owns: the daemon refuses to start"
	is "$ERR" "jobrun: $JOBRUN_HOME/spool belongs to uid 65534, not to uid 0 who runs jobrun; a home must be its user's alone: chown 0 $JOBRUN_HOME/spool, or use another --home" \
		"... naming the path and the fix"
	chown 0 "$JOBRUN_HOME/spool"
	chown 65534 "$JOBRUN_HOME"
	run "$JOBRUN" daemon
	is "$RC" 1 "a home another user owns: the daemon refuses to start"
	like "$ERR" "^jobrun: $JOBRUN_HOME belongs to uid 65534, not to uid 0 who runs jobrun" "... naming it"
	run "$JOBRUN" submit "$TD/jobs/hello.yaml"
	is "$RC/$(count_files "$JOBRUN_HOME/spool/new")" 1/0 "... and submit spools nothing there"
	chown 0 "$JOBRUN_HOME"
else
	skip 5 "not root: cannot chown"
fi

# ---------------------------------------------------------------- limits
{ printf 'name: big\ntasks:\n  - image: %s\n    cmd: ["true"]\n' "$IMG"; head -c 5000000 /dev/zero | tr '\0' '#' | fold -w 100 | sed 's/^/# /'; } >big.yaml
run "$JOBRUN" submit big.yaml
is "$RC" 3 "a 5 MB job file: submit exits 3"
is "$ERR" "jobrun: big.yaml: the job file is over the 4M limit that the daemon sets (jobrun daemon --max-job-size)" \
	"... naming the limit"
start_daemon --max-job-size 8m || BAIL_OUT "the daemon does not restart"
bid=$(submit big.yaml)
like "$bid" '^[0-9a-f]{12}$' "with daemon --max-job-size 8m it is taken"
RUN_TIMEOUT=30 run "$JOBRUN" wait "$bid"
is "$RC" 0 "... and runs"
stop_daemon
bid2=$(submit big.yaml)
start_daemon --max-job-size 1m || BAIL_OUT "the daemon does not restart"
wait_for job_is "$bid2" FAILED
ok $? "spooled under 8m, taken in by a daemon of 1m: FAILED"
like "$(job_json "$bid2" .error)" "^the job file is [0-9]+ bytes, over the daemon's limit of 1M \(jobrun daemon --max-job-size\)$" \
	"... saying why"
{ printf 'name: many\ntasks:\n'; for i in $(seq 1001); do printf '  - image: %s\n    cmd: ["true"]\n' "$IMG"; done; } >many.yaml
run "$JOBRUN" submit many.yaml
is "$RC" 3 "1001 tasks: submit exits 3"
is "$ERR" "many.yaml:3:3: tasks: 1001 tasks; a job has at most 1000, nested ones included" "... naming the limit"
cat >limits.yaml <<EOF
name: limits
tasks:
  - name: big output
    image: $IMG
    run: head -c 1048577 /dev/zero > \$TORK_OUTPUT
  - name: never
    image: $IMG
    cmd: ["true"]
EOF
oid=$(submit limits.yaml)
RUN_TIMEOUT=30 run "$JOBRUN" wait "$oid"
is "$RC" 4 "a task writing 1 MiB + 1 byte to \$TORK_OUTPUT: FAILED"
is "$(task_field "$oid" 1 error)" "the task wrote more than 1048576 bytes to \$TORK_OUTPUT, the limit of a result" "... saying so"
cat >each.yaml <<EOF
name: each too long
tasks:
  - name: many
    each:
      list: "{{ 1..10001 }}"
      task:
        image: $IMG
        cmd: ["true"]
EOF
xid=$(submit each.yaml)
RUN_TIMEOUT=30 run "$JOBRUN" wait "$xid"
is "$RC/$(task_field "$xid" 1 error)" "4/each.list: 10001 elements, over the limit of 10000" "an each list of 10001: FAILED, saying so"
cat >value.yaml <<EOF
name: value too long
tasks:
  - image: $IMG
    env:
      V: "{{ repeat('x', 1048577) }}"
    cmd: ["true"]
EOF
vid=$(submit value.yaml)
RUN_TIMEOUT=30 run "$JOBRUN" wait "$vid"
is "$RC/$(task_field "$vid" 1 error)" "4/env.V: the value is 1048577 bytes, over the limit of 1048576" \
	"an evaluated value over 1 MiB: FAILED, saying so"

done_testing
