#!/bin/bash
# What a task asks of its containers, end to end through the real engine:
# mounts (volume shared by pre and main and removed after, bind of a host
# dir both ways, tmpfs) and their validation; files in /tork; the default
# workdir; networks over the daemon's --network; gpus (main container only)
# and tags; registry credentials in a docker config of the task's own,
# outside /tork, with the password redacted; env values off the docker
# command line; and the job's wait: {timeout} making submit block.
#
# A wrapper (JOBRUN_DOCKER) runs the real docker CLI; for each `docker run`
# it records, under $W, by container name:
#   argv.NAME     the arguments, one a line
#   dc.NAME       $DOCKER_CONFIG (empty when unset)
#   config.NAME   a copy of $DOCKER_CONFIG/config.json, mode.NAME its mode
# and it drops --gpus=... (there is no GPU here) before exec'ing docker.
. "$(dirname "$0")/lib.sh"
need_jobrun
need_docker

cd "$T" || BAIL_OUT "cd $T"
NL=$'\n'
REAL_DOCKER=$(command -v "$DOCKER") || BAIL_OUT "no $DOCKER in PATH"
W=$T/wrap
mkdir "$W"
cat >"$T/docker-wrapper" <<EOF
#!/bin/bash
# docker, recording each run (see t/0140-containers.t)
W='$W'
REAL='$REAL_DOCKER'
EOF
cat >>"$T/docker-wrapper" <<'EOF'
if [ "$1" = run ]; then
	name=unnamed.$$
	for a in "$@"; do case $a in --name=*) name=${a#--name=} ;; esac; done
	printf '%s\n' "$@" >"$W/argv.$name"
	printf '%s' "${DOCKER_CONFIG:-}" >"$W/dc.$name"
	if [ -n "${DOCKER_CONFIG:-}" ] && [ -e "$DOCKER_CONFIG/config.json" ]; then
		cp "$DOCKER_CONFIG/config.json" "$W/config.$name"
		stat -c %a "$DOCKER_CONFIG/config.json" >"$W/mode.$name"
	fi
	args=()
	for a in "$@"; do case $a in --gpus=*) ;; *) args+=("$a") ;; esac; done
	exec "$REAL" "${args[@]}"
fi
exec "$REAL" "$@"
EOF
chmod +x "$T/docker-wrapper"
export JOBRUN_DOCKER=$T/docker-wrapper

argv() { # JOB POS STEP: the recorded docker run arguments of that container (attempt 1)
	cat "$W/argv.jobrun-$hid-$1-$2-1-$3" 2>/dev/null
}
has_arg() { # JOB POS STEP ARG: the container got exactly ARG
	argv "$1" "$2" "$3" | grep -qxF -- "$4"
}
log_of() { # JOB POS
	"$JOBRUN" logs "$1" "$2" 2>/dev/null
}
invalid() { # FILE WANT-ERR DESC: submit FILE fails with exit 3 and exactly WANT-ERR
	run "$JOBRUN" submit "$1"
	is "$RC" 3 "$3: submit exits 3"
	is "$ERR" "$2" "$3: the error names file:line:col and the path"
}

# The host dir for the bind mount is beside the home (the home itself is
# never allowed), and the daemon allows it with --allow-bind; files the
# container writes there as root are removed at exit either way (lib.sh).
HOSTDIR=$T/bind
mkdir -m 777 "$HOSTDIR"
printf 'from the host' >"$HOSTDIR/in.txt"

# ---------------------------------------------------------------- validation
cat >bad-type.yaml <<'EOF'
name: bad type
tasks:
  - name: t
    image: jobrun-test:latest
    run: "true"
    mounts:
      - type: nfs
        target: /x
EOF
cat >bad-target.yaml <<'EOF'
name: relative target
tasks:
  - name: t
    image: jobrun-test:latest
    run: "true"
    mounts:
      - type: tmpfs
        target: /ok
      - type: volume
        target: data
EOF
cat >bad-bind.yaml <<'EOF'
name: bind without source
tasks:
  - name: t
    image: jobrun-test:latest
    run: "true"
    mounts:
      - type: bind
        target: /x
EOF
cat >bad-bind-rel.yaml <<'EOF'
name: bind with a relative source
tasks:
  - name: t
    image: jobrun-test:latest
    run: "true"
    mounts:
      - type: bind
        source: srv/media
        target: /x
EOF
cat >bad-volume.yaml <<'EOF'
name: volume with source
tasks:
  - name: t
    image: jobrun-test:latest
    run: "true"
    mounts:
      - type: volume
        source: /srv
        target: /x
EOF
cat >bad-composite.yaml <<'EOF'
name: composite with mounts
tasks:
  - name: p
    mounts:
      - type: tmpfs
        target: /x
    parallel:
      tasks:
        - name: a
          image: jobrun-test:latest
          run: "true"
EOF
cat >bad-file-slash.yaml <<'EOF'
name: file with a slash
tasks:
  - name: t
    image: jobrun-test:latest
    run: "true"
    files:
      ok.txt: fine
      sub/a.txt: nope
EOF
cat >bad-file-dots.yaml <<'EOF'
name: file named ..
tasks:
  - name: t
    image: jobrun-test:latest
    run: "true"
    files:
      "..": nope
EOF

invalid bad-type.yaml "bad-type.yaml:7:9: tasks[0].mounts[0]: type must be volume, bind or tmpfs" \
	"mount type nfs"
invalid bad-target.yaml "bad-target.yaml:9:9: tasks[0].mounts[1]: needs an absolute 'target'" \
	"a relative mount target"
invalid bad-bind.yaml "bad-bind.yaml:7:9: tasks[0].mounts[0]: a bind mount needs an absolute 'source'" \
	"a bind mount without source"
invalid bad-bind-rel.yaml "bad-bind-rel.yaml:7:9: tasks[0].mounts[0]: a bind mount needs an absolute 'source'" \
	"a bind mount with a relative source"
invalid bad-volume.yaml "bad-volume.yaml:7:9: tasks[0].mounts[0]: a volume mount has no 'source'" \
	"a volume mount with a source"
invalid bad-composite.yaml "bad-composite.yaml:5:7: tasks[0]: a parallel task sets no 'mounts'" \
	"a parallel task with mounts"
run "$JOBRUN" submit bad-file-slash.yaml
is "$RC" 3 "files: a name with a slash: submit exits 3"
like "$ERR" "^bad-file-slash\.yaml:7:7: tasks\[0\][.:a-z ]*'sub/a\.txt' must be a plain file name" \
	"files: a name with a slash: the error names file:line:col, the path and the name"
run "$JOBRUN" submit bad-file-dots.yaml
is "$RC" 3 "files: a name '..': submit exits 3"
like "$ERR" "^bad-file-dots\.yaml:7:7: tasks\[0\][.:a-z ]*'\.\.' must be a plain file name" \
	"files: a name '..': the error names file:line:col, the path and the name"
is "$(spooled)" 0 "no rejected job was spooled"

# ---------------------------------------------------------------- job files
cat >mounts.yaml <<EOF
name: mounts job
tasks:
  - name: all three mounts
    image: jobrun-test:latest
    mounts:
      - type: volume
        target: /shared
      - type: bind
        source: $HOSTDIR
        target: /host
      - type: tmpfs
        target: /scratch
    pre:
      - name: write into the volume
        image: jobrun-test:latest
        run: echo -n from-pre > /shared/data
    run: |
      printf '%s|%s' "\$(cat /shared/data)" "\$(cat /host/in.txt)" > \$TORK_OUTPUT
      echo -n from-container > /host/out.txt
      mount | grep ' on /scratch '
  - name: a new volume for another task
    image: jobrun-test:latest
    mounts:
      - type: volume
        target: /shared
    run: |
      if [ -e /shared/data ]; then echo -n seen; else echo -n fresh; fi > \$TORK_OUTPUT
EOF

cat >files.yaml <<'EOF'
name: files job
tasks:
  - name: files with run
    image: jobrun-test:latest
    files:
      a.txt: "hello"
      raw.txt: "{{ inputs.x }}"
    pre:
      - name: pre looks for the file
        image: jobrun-test:latest
        run: if [ -e /tork/a.txt ]; then echo pre-sees-it; else echo pre-not; fi
    run: |
      printf '%s|%s|%s|%s' "$(cat /tork/a.txt)" "$(cat ./a.txt)" "$(pwd)" "$(cat raw.txt)" > $TORK_OUTPUT
  - name: files without run
    image: jobrun-test:latest
    files:
      b.txt: "hi"
    cmd: [sh, -c, 'pwd; cat b.txt']
  - name: no files, no run
    image: jobrun-test:latest
    cmd: [pwd]
EOF

cat >networks.yaml <<'EOF'
name: networks job
tasks:
  - name: host network
    image: jobrun-test:latest
    networks: [host]
    pre:
      - name: pre on the host network too
        image: jobrun-test:latest
        run: hostname
    run: |
      printf '%s|%s' "$(hostname)" "$(wc -l < /proc/net/dev)" > $TORK_OUTPUT
  - name: the daemon's network
    image: jobrun-test:latest
    run: |
      ip -o link | awk -F': ' '{printf "%s,", $2}' > $TORK_OUTPUT
EOF

cat >gpus.yaml <<'EOF'
name: gpus job
tags: [nightly, gpu]
tasks:
  - name: on a gpu
    image: jobrun-test:latest
    gpus: all
    tags: [video, ml]
    pre:
      - name: before
        image: jobrun-test:latest
        run: echo pre
    post:
      - name: after
        image: jobrun-test:latest
        run: echo post
    run: echo main
EOF

PW='s3cr3t-Pa55w0rd'
cat >registry.yaml <<EOF
name: registry hub job
secrets:
  pw: $PW
tasks:
  - name: hub image
    image: jobrun-test:latest
    registry:
      username: u
      password: "{{ secrets.pw }}"
    env:
      SHOW: "{{ secrets.pw }}"
    pre:
      - name: pre gets the credentials too
        image: jobrun-test:latest
        run: echo pre
    run: |
      echo "pw=\$SHOW"
      l=\$(ls -A /tork | tr '\n' ' ')
      printf '%s|%s' "\$l" "\$(env | grep -c DOCKER_CONFIG)" > \$TORK_OUTPUT
EOF
cat >registry-private.yaml <<EOF
name: registry private job
secrets:
  pw: $PW
tasks:
  - name: private image
    image: registry.example.com/x/y
    registry:
      username: u
      password: "{{ secrets.pw }}"
    run: "true"
EOF

# docker.io/library/jobrun-test is the local jobrun-test image; an image
# named docker.io/... is Docker Hub's, whose credentials the docker CLI looks
# up under https://index.docker.io/v1/, not under docker.io.
cat >registry-dockerio.yaml <<EOF
name: registry docker.io job
secrets:
  pw: $PW
tasks:
  - name: docker.io image
    image: docker.io/library/jobrun-test:latest
    registry:
      username: u
      password: "{{ secrets.pw }}"
    run: echo -n ran > \$TORK_OUTPUT
EOF

# Names jobrun uses itself in /tork, and a mount target holding docker's
# option separator: either rejected at submit, or taken as they are.
cat >file-entrypoint.yaml <<'EOF'
name: a file named entrypoint
tasks:
  - name: t
    image: jobrun-test:latest
    files:
      entrypoint: "echo the file, not the script"
    run: echo the run script
EOF
cat >file-stdout.yaml <<'EOF'
name: a file named stdout
tasks:
  - name: t
    image: jobrun-test:latest
    files:
      stdout: "preset by a file"
    run: "true"
EOF
cat >mount-colon.yaml <<'EOF'
name: a mount target with a colon
tasks:
  - name: t
    image: jobrun-test:latest
    mounts:
      - type: volume
        target: "/x:ro"
    run: touch '/x:ro/f' && echo -n writable > $TORK_OUTPUT
EOF

cat >envs.yaml <<'EOF'
name: env job
tasks:
  - name: env values
    image: jobrun-test:latest
    env:
      MYVAR: "value-not-on-the-cmdline"
      PATH: "/usr/sbin:/usr/bin:/sbin:/bin:/custom"
      DOCKER_HINT: "hint-on-the-cmdline"
    run: printf '%s|%s|%s' "$MYVAR" "$PATH" "$DOCKER_HINT" > $TORK_OUTPUT
EOF

cat >wait-ok.yaml <<'EOF'
name: wait ok
wait:
  timeout: 30s
tasks:
  - name: short
    image: jobrun-test:latest
    run: sleep 1; echo -n done > $TORK_OUTPUT
EOF
cat >wait-fail.yaml <<'EOF'
name: wait fail
wait:
  timeout: 30s
tasks:
  - name: fails
    image: jobrun-test:latest
    run: exit 3
EOF
cat >wait-short.yaml <<'EOF'
name: wait short
wait:
  timeout: 1s
tasks:
  - name: sleeps
    image: jobrun-test:latest
    run: sleep 5; echo -n late > $TORK_OUTPUT
EOF

# ---------------------------------------------------------------- run them
start_daemon -q default:8 --allow-bind "$HOSTDIR" --allow-network host ||
	BAIL_OUT "the daemon does not start"
wait_for -t 5 home_id || BAIL_OUT "no run/home-id"
hid=$(home_id)

mounts=$(submit mounts.yaml)
files=$(submit files.yaml)
networks=$(submit networks.yaml)
gpus=$(submit gpus.yaml)
reg=$(submit registry.yaml)
regp=$(submit registry-private.yaml)
envs=$(submit envs.yaml)
regd=$(submit registry-dockerio.yaml)
n=0
for id in $mounts $files $networks $gpus $reg $regp $envs $regd; do [[ $id =~ ^[0-9a-f]{12}$ ]] && n=$((n + 1)); done
is "$n" 8 "eight jobs submitted (tags, gpus, networks, registry, mounts and files accepted)" ||
	diag "$(cat "$T/submit.err" 2>/dev/null)"

edge() { # NAME FILE: submit FILE; its id, or "rejected" when submit exits 3
	local id st
	id=$("$JOBRUN" submit "$2" 2>"$T/$1.err"); st=$?
	if [ "$st" = 3 ]; then echo rejected; elif [ "$st" = 0 ]; then echo "$id"; else echo "error $st"; fi
}
fent=$(edge fent file-entrypoint.yaml)
fout=$(edge fout file-stdout.yaml)
mcolon=$(edge mcolon mount-colon.yaml)

# ---------------------------------------------------------------- wait: {timeout}
ms() { echo $(($(date +%s%N) / 1000000)); }
t0=$(ms)
run "$JOBRUN" submit wait-ok.yaml
t1=$(ms)
wok=$OUT
is "$RC" 0 "wait: {timeout: 30s}: submit without --wait exits 0 for a job that completes"
like "$wok" '^[0-9a-f]{12}$' "... and prints the job's id"
is "$(job_state "$wok")" COMPLETED "... and returns only once the job has COMPLETED"
[ $((t1 - t0)) -ge 1000 ]; ok $? "... after the task's 1 s sleep ($((t1 - t0)) ms)"

run "$JOBRUN" submit wait-fail.yaml
wfail=$OUT
is "$RC" 4 "wait: {timeout: 30s}: submit exits 4 for a job that fails"
is "$(job_state "$wfail")" FAILED "... which is FAILED when submit returns"

t0=$(ms)
run "$JOBRUN" submit wait-short.yaml
t1=$(ms)
wshort=$OUT
is "$RC" 1 "wait: {timeout: 1s} on a 5 s job: submit exits 1"
el=$((t1 - t0))
[ "$el" -ge 900 ] && [ "$el" -lt 3500 ]; ok $? "... after about 1 s ($el ms)"
like "$ERR" "job $wshort .*not ended" "... with a message naming the job"
like "$(job_state "$wshort")" '^(PENDING|SCHEDULED|RUNNING)$' "... which is not over yet"

# ---------------------------------------------------------------- the rest end
# shellcheck disable=SC2086
RUN_TIMEOUT=45 run "$JOBRUN" wait $mounts $files $networks $gpus $reg $envs $regd $wshort
is "$RC" 0 "every job but the private-registry one COMPLETED" ||
	for id in $mounts $files $networks $gpus $reg $envs $regd $wshort; do
		diag "$id: $(job_json "$id" '[.state, (.tasks[] | .state + " " + (.error // ""))] | join("; ")')"
	done
RUN_TIMEOUT=30 run "$JOBRUN" wait "$regp"
is "$RC" 4 "the job whose image is in an unreachable registry FAILED"
is "$(task_field "$wshort" 1 result)" late "wait: {timeout: 1s}: the job still completed, with its result"

# ---------------------------------------------------------------- mounts
is "$(task_field "$mounts" 1 result)" "from-pre|from the host" \
	"mounts: the main container read the pre task's file from the volume and the host's file from the bind mount"
is "$(cat "$HOSTDIR/out.txt" 2>/dev/null)" from-container "mounts: what the container wrote into the bind mount is on the host"
like "$(log_of "$mounts" 1)" "(^|$NL)tmpfs on /scratch type tmpfs" "mounts: 'mount' inside shows tmpfs at /scratch"
is "$(task_field "$mounts" 2 result)" fresh "mounts: another task's volume at the same target is a new one"
vol=$(argv "$mounts" 1 1 | sed -n 's|^--volume=\(jobrun-[^:]*\):/shared$|\1|p')
like "$vol" "^jobrun-$hid-$mounts-" "mounts: the main container got a volume of this job at /shared"
has_arg "$mounts" 1 0 "--volume=$vol:/shared"
ok $? "mounts: the pre container got the same volume"
has_arg "$mounts" 1 1 "--volume=$HOSTDIR:/host"
ok $? "mounts: the bind mount is passed as --volume=SOURCE:TARGET"
vol_gone() { [ -z "$("$DOCKER" volume ls -q --filter "name=jobrun-$hid-$mounts-")" ]; }
wait_for -t 15 vol_gone
ok $? "mounts: no volume of the job is left (docker volume ls)" ||
	diag "$("$DOCKER" volume ls -q --filter "name=jobrun-$hid-$mounts-")"

# ---------------------------------------------------------------- files, workdir
is "$(task_field "$files" 1 result)" "hello|hello|/tork|{{ inputs.x }}" \
	"files: a.txt is /tork/a.txt and ./a.txt with run, in /tork; the contents are not evaluated"
is "$(log_of "$files" 1)" pre-not "files: the pre container does not get the files"
is "$(log_of "$files" 2)" "/tork${NL}hi" "workdir: /tork by default when files is set without run"
is "$(log_of "$files" 3)" "/" "workdir: the image's (/) without files and run"

# ---------------------------------------------------------------- networks
is "$(task_field "$networks" 1 result)" "$(hostname)|$(wc -l </proc/net/dev)" \
	"networks: [host]: the container has the host's hostname and interfaces"
is "$(log_of "$networks" 1)" "$(hostname)" "networks: the pre container is on the host network too"
has_arg "$networks" 1 1 --network=host
ok $? "networks: [host] is passed as --network=host"
is "$(argv "$networks" 1 1 | grep -c -- '^--network')" 1 "networks: ... and the daemon's --network none is not"
is "$(task_field "$networks" 2 result)" "lo," "no networks: the daemon's --network none applies (only lo)"

# ---------------------------------------------------------------- gpus, tags
has_arg "$gpus" 1 1 --gpus=all
ok $? "gpus: all: the main container gets --gpus=all"
is "$(argv "$gpus" 1 0 | grep -c -- '^--gpus\|^--name=')/$(argv "$gpus" 1 2 | grep -c -- '^--gpus\|^--name=')" 1/1 \
	"gpus: the pre and post containers do not"
is "$(log_of "$gpus" 1)" "pre${NL}main${NL}post" "gpus, tags: the task ran, pre, main and post"

# ---------------------------------------------------------------- registry
want_auth=$(printf '%s' "u:$PW" | base64 -w0)
is "$(jq -c . "$W/config.jobrun-$hid-$reg-1-1-1" 2>/dev/null)" \
	"{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"$want_auth\"}}}" \
	"registry: a Docker Hub image: the docker config has base64(u:PASSWORD) for index.docker.io"
is "$(cat "$W/mode.jobrun-$hid-$reg-1-1-1" 2>/dev/null)" 600 "registry: the config is owner-only (0600)"
is "$(jq -c . "$W/config.jobrun-$hid-$reg-1-1-0" 2>/dev/null)" \
	"{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"$want_auth\"}}}" \
	"registry: the pre container's docker run gets it too"
is "$(jq -c . "$W/config.jobrun-$hid-$regp-1-1-0" 2>/dev/null)" \
	"{\"auths\":{\"registry.example.com\":{\"auth\":\"$want_auth\"}}}" \
	"registry: an image of registry.example.com: the config is for that host"
like "$(task_field "$regp" 1 error)" "registry\.example\.com" "registry: the private image's task failed pulling it"
is "$(jq -c . "$W/config.jobrun-$hid-$regd-1-1-0" 2>/dev/null)" \
	"{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"$want_auth\"}}}" \
	"registry: an image written docker.io/...: the config is keyed as Docker Hub's, where the CLI looks"
dc=$(cat "$W/dc.jobrun-$hid-$reg-1-1-1" 2>/dev/null)
tork=$(argv "$reg" 1 1 | sed -n 's|^--volume=\(.*\):/tork$|\1|p')
like "$dc" "^/" "registry: DOCKER_CONFIG is set for the docker CLI"
[ -n "$tork" ] && case $dc/ in "$tork"/*) false ;; esac
ok $? "registry: DOCKER_CONFIG ($dc) is not inside the container's /tork ($tork)"
is "$(task_field "$reg" 1 result)" "entrypoint |0" \
	"registry: the container sees no config in /tork and no DOCKER_CONFIG"
is "$(log_of "$reg" 1)" "pre${NL}pw=[REDACTED]" "registry: the password echoed by the task is [REDACTED] in its log"
wait_for -t 15 test ! -e "$dc/config.json"
ok $? "registry: the config is removed once the job is over"
leaks=$(grep -rlF -- "$PW" "$W" "$T/daemon.log")
is "$leaks" "" "registry: the password is on no docker command line and not in the daemon's log"
all_out=$(for id in $reg $regp; do
	"$JOBRUN" logs "$id" 1; "$JOBRUN" show "$id"; "$JOBRUN" show --json "$id"
done 2>&1)
unlike "$all_out" "$PW" "registry: the password is in no logs/show output"

# ---------------------------------------------------------------- names jobrun uses itself
for j in fent fout mcolon; do
	[ "${!j}" = rejected ] || RUN_TIMEOUT=30 run "$JOBRUN" wait "${!j}"
done
if [ "$fent" = rejected ]; then
	like "$(cat "$T/fent.err")" "entrypoint" "files: a file named entrypoint is rejected at submit"
else
	is "$(log_of "$fent" 1)" "the run script" "files: a file named entrypoint does not replace the run script"
fi
if [ "$fout" = rejected ]; then
	like "$(cat "$T/fout.err")" "stdout" "files: a file named stdout is rejected at submit"
else
	is "$(job_json "$fout" '.tasks[0].result // "none"')" none \
		"files: a file named stdout is not the result of a task that wrote none"
fi
if [ "$mcolon" = rejected ]; then
	like "$(cat "$T/mcolon.err")" "target" "mounts: a target with ':' is rejected at submit"
else
	is "$(task_field "$mcolon" 1 result)" writable \
		"mounts: a target '/x:ro' is a path, not a volume with docker's :ro option" ||
		diag "$(log_of "$mcolon" 1)"
fi

# ---------------------------------------------------------------- env on the command line
is "$(task_field "$envs" 1 result)" "value-not-on-the-cmdline|/usr/sbin:/usr/bin:/sbin:/bin:/custom|hint-on-the-cmdline" \
	"env: the container gets every value"
has_arg "$envs" 1 0 --env=MYVAR
ok $? "env: an ordinary variable is passed as --env=NAME"
argv "$envs" 1 0 | grep -qF value-not-on-the-cmdline
isnt "$?" 0 "env: ... and its value is not on the docker command line"
has_arg "$envs" 1 0 --env=PATH=/usr/sbin:/usr/bin:/sbin:/bin:/custom
ok $? "env: PATH is passed with its value (--env=PATH=...)"
has_arg "$envs" 1 0 --env=DOCKER_HINT
ok $? "env: a DOCKER_* name the docker CLI does not read is passed as --env=NAME too"

# shellcheck disable=SC2016
wait_for -t 15 eval '[ -z "$(containers all)" ] && [ -z "$(volumes)" ]'
ok $? "no container and no volume of this home remains" || diag "$(containers all)" "$(volumes)"

stop_daemon
is $? 0 "the daemon exits 0 on SIGTERM"
done_testing
