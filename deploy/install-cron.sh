#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Install (or, with --remove, remove) tradetrail's two scheduled jobs in the calling user's
# crontab, without sudo: the seed's daily audit summary at 00:00 and the AI training sync
# at 02:00 (SPEC 7). Every line it writes ends with a "# tradetrail:JOB" marker; running it
# again replaces those lines, so there is always exactly one entry per job, and lines it
# did not write are kept as they are.
#
# Two ways to run a job (--mode):
#   http (default)  curl -fsS -X POST -H @HEADER_FILE URL/api/cron/daily-summary and
#                   URL/api/ai/train: the running server does the work, records the job
#                   events and hands notifications to its delivery worker. The X-Cron-Auth
#                   header lives in a 0600 file (default
#                   ${XDG_CONFIG_HOME:-~/.config}/tradetrail/cron-auth.header), (re)written
#                   from $TRADETRAIL_CRON_SECRET when set, so the secret appears neither
#                   in the crontab nor on curl's command line (ps).
#   cli             tradetrail summary --date yesterday --notify and tradetrail feedback sync
#                   run against the data directory directly: no server and no secret needed.
# Cron runs jobs in the host's local time: on a host that is not on UTC, give the UTC times
# with --summary-at / --sync-at. If cron starts these jobs, switch the server's own
# scheduler off for them (schedule_daily_summary = off, schedule_feedback_sync = off in
# tradetrail.conf), or the summary is sent twice. See docs/OPERATIONS.md.
#
# Tests and unusual hosts: CRONTAB=/path/to/command replaces the crontab program (it must
# accept `-l` and a file argument), and --file PATH edits a plain file instead.
set -eu

prog=install-cron.sh
usage() {
    cat <<EOF
usage: $prog [--remove] [--mode http|cli] [--url URL] [--header-file PATH]
             [--bin PATH] [--data DIR] [--log PATH] [--summary-at 'M H * * *']
             [--sync-at 'M H * * *'] [--file PATH] [--dry-run]

Installs the tradetrail daily summary (00:00) and training sync (02:00) in the user's
crontab; running it again leaves one entry per job; --remove takes them out.
  --mode http        call the server with curl (default); --url default http://127.0.0.1:8080
  --mode cli         run 'tradetrail summary --date yesterday --notify' (the day that just
                     ended) and 'tradetrail feedback sync'
  --header-file P    X-Cron-Auth header file (http mode; created from \$TRADETRAIL_CRON_SECRET)
  --bin P / --data D the tradetrail program and data directory (cli mode)
  --log P            where job output goes (default \$XDG_STATE_HOME/tradetrail/cron.log)
  --file P           edit the crontab-format file P instead of the user's crontab
  --dry-run          print the resulting crontab instead of installing it
Environment: CRONTAB (crontab command, default crontab), TRADETRAIL_CRON_SECRET.
EOF
}

die() {
    echo "$prog: $*" >&2
    exit 2
}

# Quote a word for /bin/sh (cron runs the line with sh); '%' is special to cron and must
# be escaped in the command part of a line (crontab(5)).
shq() {
    printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" | sed 's/%/\\%/g'
}

check_schedule() {
    # Five fields of digits, '*', ',', '-', '/'; the server's parser checks the rest.
    printf '%s\n' "$1" | grep -Eq '^[0-9*,/-]+( [0-9*,/-]+){4}$' ||
        die "not a 5-field cron schedule: '$1'"
}

action=install
mode=http
url=http://127.0.0.1:8080
state_home=${XDG_STATE_HOME:-${HOME:-/tmp}/.local/state}
config_home=${XDG_CONFIG_HOME:-${HOME:-/tmp}/.config}
header_file=$config_home/tradetrail/cron-auth.header
bin=
data=
log=$state_home/tradetrail/cron.log
summary_at='0 0 * * *'
sync_at='0 2 * * *'
file=
dry_run=0

while [ $# -gt 0 ]; do
    case $1 in
    --remove) action=remove ;;
    --mode) [ $# -ge 2 ] || die "--mode needs a value"; mode=$2; shift ;;
    --url) [ $# -ge 2 ] || die "--url needs a value"; url=${2%/}; shift ;;
    --header-file) [ $# -ge 2 ] || die "--header-file needs a value"; header_file=$2; shift ;;
    --bin) [ $# -ge 2 ] || die "--bin needs a value"; bin=$2; shift ;;
    --data) [ $# -ge 2 ] || die "--data needs a value"; data=$2; shift ;;
    --log) [ $# -ge 2 ] || die "--log needs a value"; log=$2; shift ;;
    --summary-at) [ $# -ge 2 ] || die "--summary-at needs a value"; summary_at=$2; shift ;;
    --sync-at) [ $# -ge 2 ] || die "--sync-at needs a value"; sync_at=$2; shift ;;
    --file) [ $# -ge 2 ] || die "--file needs a value"; file=$2; shift ;;
    --dry-run) dry_run=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
    esac
    shift
done

case $mode in http | cli) ;; *) die "--mode must be http or cli" ;; esac
check_schedule "$summary_at"
check_schedule "$sync_at"
crontab_cmd=${CRONTAB:-crontab}
nl='
'
cr=$(printf '\r')

tmp=$(mktemp "${TMPDIR:-/tmp}/tradetrail-cron.XXXXXX")
trap 'rm -f "$tmp" "$tmp.new"' EXIT HUP INT TERM

# The current table. `crontab -l` fails when the user has none yet: that is an empty one.
if [ -n "$file" ]; then
    if [ -f "$file" ]; then cat "$file" >"$tmp"; else : >"$tmp"; fi
else
    command -v "$crontab_cmd" >/dev/null 2>&1 ||
        die "no crontab command ($crontab_cmd); install cron, or use --file PATH"
    "$crontab_cmd" -l >"$tmp" 2>/dev/null || : >"$tmp"
fi

# Everything but our own lines (the marker, and the header comment we add).
grep -v -e '# tradetrail:' -e '^# tradetrail jobs' "$tmp" >"$tmp.new" || true

if [ "$action" = install ]; then
    if [ "$mode" = http ]; then
        command -v curl >/dev/null 2>&1 || echo "$prog: warning: curl not found in PATH" >&2
        secret=${TRADETRAIL_CRON_SECRET:-}
        if [ -n "$secret" ]; then
            case $secret in *"$nl"* | *"$cr"*) die "TRADETRAIL_CRON_SECRET holds a line break" ;; esac
            if [ "$dry_run" = 0 ]; then
                # WARNING: the secret goes only into this 0600 file, never into the crontab;
                # written beside and renamed, so a rotation never leaves half a header.
                mkdir -p "$(dirname "$header_file")"
                (umask 077 && printf 'X-Cron-Auth: %s\n' "$secret" >"$header_file.tmp")
                mv -f "$header_file.tmp" "$header_file"
            fi
        elif [ ! -f "$header_file" ]; then
            die "set TRADETRAIL_CRON_SECRET (the server's cron_secret) or create $header_file"
        fi
        curl_cmd="curl -fsS -m 600 -X POST -H @$(shq "$header_file")"
        summary_cmd="$curl_cmd $(shq "$url/api/cron/daily-summary")"
        sync_cmd="$curl_cmd $(shq "$url/api/ai/train")"
    else
        [ -n "$bin" ] || bin=$(command -v tradetrail 2>/dev/null) ||
            die "tradetrail not found in PATH; give --bin PATH"
        base=$(shq "$bin")
        [ -z "$data" ] || base="$base --data $(shq "$data")"
        # At 00:00 the day to report is the one that just ended, as the scheduler does.
        summary_cmd="$base summary --date yesterday --notify"
        sync_cmd="$base feedback sync"
    fi
    [ "$dry_run" = 1 ] || mkdir -p "$(dirname "$log")"
    redirect=">> $(shq "$log") 2>&1"
    {
        echo "# tradetrail jobs (deploy/install-cron.sh; remove with --remove)"
        echo "$summary_at $summary_cmd $redirect # tradetrail:daily-summary"
        echo "$sync_at $sync_cmd $redirect # tradetrail:feedback-sync"
    } >>"$tmp.new"
fi

if [ "$dry_run" = 1 ]; then
    cat "$tmp.new"
elif [ -n "$file" ]; then
    cat "$tmp.new" >"$file"
else
    "$crontab_cmd" "$tmp.new"
fi

if [ "$action" = install ]; then
    echo "$prog: installed daily-summary ($summary_at) and feedback-sync ($sync_at), mode $mode" >&2
else
    echo "$prog: removed the tradetrail entries" >&2
fi
