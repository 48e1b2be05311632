#!/bin/bash
# The binary is built, describes itself, rejects unknown verbs; the man pages lint clean.
. "$(dirname "$0")/lib.sh"

[ -x "$JOBRUN" ]; ok $? "./jobrun is built"
need_jobrun

NL=$'\n'
VERBS="submit daemon ls show logs cancel stop restart retry wait status top schedules schedule prune export import metrics help"

run "$JOBRUN" --help
is "$RC" 0 "--help exits 0"
for v in $VERBS; do
	like "$OUT" "(^|[[:space:]])$v([[:space:]]|$)" "--help lists '$v'"
done
like "$OUT" 'submit \[--wait\] \[--json\] \[--unique\] \[--at TIME \| --in DURATION \| --cron EXPR\] \[-i NAME=VALUE\]\.\.\. FILE\|-' "--help has submit's usage line"

run "$JOBRUN" help
is "$RC" 0 "help exits 0"
like "$OUT" 'daemon \[-q QUEUE:N\[@ENGINE\]\]\.\.\. \[--network NAME\]' "help has daemon's usage line"

run "$JOBRUN" help submit
is "$RC" 0 "help submit exits 0"
like "$OUT" 'jobrun (\[--home DIR\] )?submit \[--wait\] \[--json\] \[--unique\] \[--at TIME \| --in DURATION \| --cron EXPR\] \[-i NAME=VALUE\]\.\.\. FILE\|-' \
	"help submit prints submit's usage"
unlike "$OUT" 'ls \[--json\] \[-n N\]' "help submit is about submit only"

for v in daemon ls show logs cancel stop restart retry wait status schedules schedule prune export import metrics; do
	run "$JOBRUN" help "$v"
	is "$RC" 0 "help $v exits 0"
	like "$OUT" "jobrun (\\[--home DIR\\] )?$v( |\$|$NL)" "help $v prints its usage"
done

run "$JOBRUN" help frobnicate
is "$RC" 2 "help of an unknown verb exits 2"

run "$JOBRUN" --version
is "$RC" 0 "--version exits 0"
like "$OUT" '^jobrun [0-9]+\.[0-9]+' "--version prints 'jobrun X.Y...'"

run "$JOBRUN" frobnicate
is "$RC" 2 "an unknown verb exits 2"
like "$ERR" 'frobnicate' "... and names it on stderr"
is "$OUT" "" "... with nothing on stdout"

run "$JOBRUN" submit --frobnicate "$TD/jobs/hello.yaml"
is "$RC" 2 "an unknown option exits 2"
like "$ERR" 'frobnicate' "... and names it on stderr"

run "$JOBRUN" show
is "$RC" 2 "a missing argument exits 2"
isnt "$ERR" "" "... with a message on stderr"

run "$JOBRUN" --home
is "$RC" 2 "--home without DIR exits 2"

# Man pages: mandoc -T lint -W warning prints nothing.
for page in man/jobrun.1 man/jobrun-job.5; do
	if [ ! -e "$ROOT/$page" ]; then
		skip 2 "$page is not written yet"
	elif ! command -v mandoc >/dev/null; then
		skip 2 "mandoc is not installed (run sh t/setup)"
	else
		out=$(cd "$ROOT" && mandoc -T lint -W warning "$page" 2>&1)
		is "$out" "" "$page: mandoc -T lint -W warning is clean"
		out=$(cd "$ROOT" && MANWIDTH=80 mandoc -T utf8 "$page" 2>&1)
		ok $? "$page renders"
	fi
done

done_testing
