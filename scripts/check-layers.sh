#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The layering check (docs/ARCHITECTURE.md, STYLE.md), in the spirit of curl's checksrc:
# fails when a file includes a header of a higher layer (util < core < store < ledger <
# domain, jobs, notify < cli, server), when server/ and cli/ include each other's
# headers or anything of src/ other than src/util/ (front/ holds what both share, and
# includes neither), or when a third-party library is included outside the one place that
# wraps it. Quoted includes are resolved as the compiler does: the including file's
# folder, then include/, src/, the top folder, cli/, server/.
# Usage: scripts/check-layers.sh [FILE...]   (default: every C file of src, cli, server,
# front)
#        scripts/check-layers.sh --objects BUILD_DIR
#   checks the calls instead, in the library's object files: a function a file calls must
#   be defined in its own layer or below (a public tt_* function of domain/ called by the
#   store is as much a way up as an #include).
set -eu
cd "$(dirname "$0")/.."

if [ "${1:-}" = --objects ]; then
    objs=$(find "${2:?--objects needs the build folder}/CMakeFiles/tt_objects.dir/src" \
        -name '*.o' | sort)
    [ -n "$objs" ] || { echo "check-layers: no library objects under $2" >&2; exit 1; }
    # "D layer file symbol" for each definition, "U layer file symbol" for each call.
    { nm -A --defined-only $objs | awk '$(NF-1) ~ /^[TDBR]$/ { print "D", $1, $NF }'
      nm -A -u $objs | awk '{ print "U", $1, $NF }'; } |
        sed 's#^\([DU]\) .*/src/\([a-z]*\)/\([a-z_0-9]*\)\.c\.o:[0-9a-f]* #\1 \2 \2/\3.c #' |
        awk '
        function rank(l) {
            return l == "util" ? 1 : l == "core" ? 2 : l == "store" ? 3 : l == "ledger" ? 4 : 5
        }
        $1 == "D" { def[$4] = $3; lay[$4] = $2; next }
        { use[++n] = $0 }
        END {
            for (i = 1; i <= n; i++) {
                split(use[i], u, " ")
                if ((u[4] in def) && rank(lay[u[4]]) > rank(u[2])) {
                    printf "check-layers: src/%s calls %s, defined in src/%s: %s is below %s\n",
                        u[3], u[4], def[u[4]], u[2], lay[u[4]] > "/dev/stderr"
                    bad = 1
                }
            }
            exit bad
        }'
    exit $?
fi

# The rank of a path's layer; empty for a path outside the layered tree.
rank() {
    case $1 in
    include/*) echo 0 ;;
    src/util/*) echo 1 ;;
    src/core/*) echo 2 ;;
    src/store/*) echo 3 ;;
    src/ledger/*) echo 4 ;;
    src/domain/* | src/jobs/* | src/notify/*) echo 5 ;;
    cli/* | server/* | front/*) echo 6 ;;
    *) echo "" ;;
    esac
}

# Where a quoted include resolves, or the name as written when nothing holds it.
resolve() {
    for dir in "$(dirname "$1")" include src . cli server; do
        if [ -f "$dir/$2" ]; then
            echo "$dir/$2" | sed 's#^\./##'
            return
        fi
    done
    echo "$2"
}

# The folder (layer) of a path, for messages: src/core, cli, ...
layer() {
    case $1 in
    src/*) echo "$1" | cut -d/ -f1-2 ;;
    *) echo "$1" | cut -d/ -f1 ;;
    esac
}

if [ $# -gt 0 ]; then
    files=$*
else
    files=$(git ls-files 'src/*.[ch]' 'cli/*.[ch]' 'server/*.[ch]' 'front/*.[ch]' 2>/dev/null ||
        find src cli server front -name '*.[ch]' 2>/dev/null)
fi

bad=0
report() {
    echo "check-layers: $*" >&2
    bad=1
}

for f in $files; do
    r=$(rank "$f")
    [ -n "$r" ] || continue
    # Quoted includes: the direction of the layers.
    grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | while IFS= read -r line; do
        n=${line%%:*}
        name=$(echo "$line" | sed 's/^[^"]*"\([^"]*\)".*/\1/')
        target=$(resolve "$f" "$name")
        t=$(rank "$target")
        [ -n "$t" ] || continue
        case $f in
        cli/* | server/* | front/*)
            case $target in
            include/* | src/util/*) ;;
            front/*) ;;
            cli/* | server/*)
                if [ "$(layer "$f")" = front ]; then
                    echo "$f:$n: includes $target: front/ serves cli/ and server/ and" \
                        "includes neither"
                elif [ "$(layer "$target")" != "$(layer "$f")" ]; then
                    echo "$f:$n: includes $target: server/ and cli/ never include each" \
                        "other's headers (move what both need into the library or src/util/)"
                fi
                ;;
            *)
                echo "$f:$n: includes $target: front ends include only tradetrail.h and" \
                    "src/util/ headers"
                ;;
            esac
            ;;
        *)
            if [ "$t" -gt "$r" ]; then
                echo "$f:$n: includes $target: $(layer "$f") is below $(layer "$target")" \
                    "(offer a hook or an observer instead, see src/ledger/ledger.h)"
            fi
            ;;
        esac
    done
    # Angle includes: each third-party library behind one file or folder.
    grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*<' "$f" | while IFS= read -r line; do
        n=${line%%:*}
        name=$(echo "$line" | sed 's/^[^<]*<\([^>]*\)>.*/\1/')
        case $name in
        openssl/*) [ "$f" = src/core/crypto.c ] || echo "$f:$n: <$name>: only src/core/crypto.c includes OpenSSL" ;;
        sqlite3.h) case $f in src/store/sqlite*) ;; *) echo "$f:$n: <$name>: only src/store/sqlite*.[ch] include SQLite" ;; esac ;;
        libpq-fe.h | libpq/* | postgresql/*) case $f in src/store/postgres*) ;; *) echo "$f:$n: <$name>: only src/store/postgres*.[ch] include libpq" ;; esac ;;
        libpq-fe.h) case $f in src/store/postgres*) ;; *) echo "$f:$n: <$name>: only src/store/postgres*.[ch] include libpq" ;; esac ;;
        microhttpd.h) case $f in server/*) ;; *) echo "$f:$n: <$name>: only server/ includes libmicrohttpd" ;; esac ;;
        zstd.h) [ "$f" = src/jobs/archive.c ] || echo "$f:$n: <$name>: only src/jobs/archive.c includes libzstd" ;;
        yaml.h) [ "$f" = src/domain/yaml.c ] || echo "$f:$n: <$name>: only src/domain/yaml.c includes libyaml" ;;
        curl/*) echo "CURL $f:$n" ;;
        esac
    done
done >"${TMPDIR:-/tmp}/check-layers.$$" 2>&1 || true

out="${TMPDIR:-/tmp}/check-layers.$$"
trap 'rm -f "$out"' EXIT
# libcurl: one transport file shared by every outgoing request.
curl_files=$(sed -n 's/^CURL \([^:]*\):.*/\1/p' "$out" | sort -u)
if [ "$(echo "$curl_files" | grep -c .)" -gt 1 ]; then
    for c in $curl_files; do
        report "$c: includes libcurl: one transport file serves every outgoing request" \
            "(libcurl is included by: $(echo $curl_files))"
    done
fi
grep -v '^CURL ' "$out" | while IFS= read -r msg; do
    echo "check-layers: $msg" >&2
done
if grep -qv '^CURL ' "$out"; then
    bad=1
fi
exit $bad
