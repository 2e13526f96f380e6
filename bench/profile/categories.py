# SPDX-License-Identifier: Apache-2.0
"""Where the server's CPU goes under single-event appends, by part of the append path: reads
`perf script` output of `tradetrail serve` (perf record -g, DWARF call graphs) and puts each
sample in the first category one of its stack frames matches, in the order below, so that
e.g. the SQLite query of the token check counts as auth, not as SQLite. With the server's
measured CPU per append it prints microseconds per append for each category; the table in
docs/PERFORMANCE.md is its output. Usage: categories.py PERF_SCRIPT_TXT [CPU_US_PER_APPEND]
"""

import collections
import re
import sys

# The fast path's own functions (server/fastpath.c; most are static, hence the anchors).
FASTPATH = (r"^loop$|^serve$|^on_ready$|^accept_all$|^take_done$|^send_rest$|^finish$|"
            r"^put_answer$|^put_results$|^put_failure$|^submit$|^prepare$|^sweep$|"
            r"^unlink_conn$|^free_graves$|^close_conn$|^hand_off")

# (category, regular expression over function names, or a tuple of them that must each
# match a frame); the first category matched wins.
CATEGORIES = [
    ("auth: token lookup (tt_token_authenticate, a SQLite read transaction when the token is "
     "not cached) and the commit group's revocation check (tti_token_still_valid)",
     r"tt_token_check|tt_token_authenticate|tti_token_still_valid|tt_token_recheck"),
    ("commit: WAL checkpoint (sqlite_checkpoint.c, on its own thread; wal_hook past the limit)",
     r"sqlite3_wal_checkpoint|wal_hook"),
    ("commit: fdatasync of the WAL", r"fdatasync"),
    ("commit: WAL frames, FTS5 segment flush, COMMIT", r"sq_commit"),
    ("insert: event row, indexes, FTS5 rows, leaf hash, tiles, head",
     r"insert_event|write_batch|flush_tile|append_one|begin_write|read_head|write_head|"
     r"commit_batch"),
    ("JSON parse and metadata normal form (tt_events_parse_body)", r"tt_events_parse_body"),
    # The append fast path (server/fastpath.c): its system calls and its own work. A tuple
    # needs each of its expressions to match a frame of the sample.
    ("fast path: recv of the requests (a peek, then the same bytes read)",
     (r"^recv|__libc_recv", FASTPATH)),
    ("fast path: send of the answers", (r"send", FASTPATH)),
    ("fast path: epoll_wait (includes sleeping and waking)", (r"epoll_wait", r"^loop$")),
    ("fast path: accept, epoll_ctl, eventfd, close", (r"accept|epoll_ctl|eventfd|close",
                                                      FASTPATH)),
    ("fast path: recognising the request (srv_fp_parse)", r"srv_fp_parse"),
    ("fast path: the rest (answers, connection state)", FASTPATH),
    ("checks in the sequencer (check_batch; before the single-pass parse: validation and "
     "metadata normal form again)", r"check_batch|validate_all|check_normalized"),
    ("queue and wake-ups (append_async, done callbacks, MHD_resume_connection, futex)",
     r"tt_ledger_append_async|complete_async|srv_defer_done|MHD_resume_connection|"
     r"on_appended|pthread_cond|futex|^committer$|^lead$"),
    ("answer: metrics, result JSON, MHD response", r"append_finish|srv_defer_finish|srv_json|"
     r"MHD_queue_response|MHD_create_response"),
    ("routing, per-request state, body collection", r"on_request|dispatch|on_completed|^srv_"),
    ("MHD: epoll_wait (includes sleeping and waking threads)", r"epoll_wait"),
    ("MHD: sendmsg of the answers", r"sendmsg|__send|writev"),
    ("MHD: recv of the requests", r"recv"),
    ("MHD: epoll_ctl (suspend / resume), eventfd, accept", r"epoll_ctl|eventfd|accept"),
    ("MHD: connection memory pool reset (memset)", r"memset"),
    ("MHD: connection state machine, header parsing", r"libmicrohttpd"),
]
COMPILED = [(name, [re.compile(r) for r in (rx if isinstance(rx, tuple) else (rx,))])
            for name, rx in CATEGORIES]
FRAME = re.compile(r"^\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)$")


def samples(path):
    """Each sample's stack, leaf first, as function names (the library's file name when
    the function has no symbol)."""
    frames = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.strip():
                if frames:
                    yield frames
                frames = []
                continue
            m = FRAME.match(line)
            if m:
                sym = re.sub(r"\+0x[0-9a-f]+$", "", m.group(1))
                if sym == "[unknown]":
                    sym = m.group(2).rsplit("/", 1)[-1]
                frames.append(sym)
    if frames:
        yield frames


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: categories.py PERF_SCRIPT_TXT [CPU_US_PER_APPEND]")
    cpu = float(sys.argv[2]) if len(sys.argv) == 3 else 0.0
    count = collections.Counter()
    total = 0
    for frames in samples(sys.argv[1]):
        total += 1
        for name, rxs in COMPILED:
            if all(any(rx.search(f) for f in frames) for rx in rxs):
                count[name] += 1
                break
        else:
            count["other"] += 1
    if total == 0:
        sys.exit("no samples")
    print("| part of the append path | share of server CPU | µs per append |")
    print("| --- | ---: | ---: |")
    for name, _ in CATEGORIES + [("other", None)]:
        n = count.get(name, 0)
        us = f"{n / total * cpu:.1f}" if cpu else "—"
        print(f"| {name} | {n / total:.1%} | {us} |")
    print(f"| total ({total} samples) | 100 % | {cpu:.1f} |" if cpu else f"| total ({total} samples) | 100 % | — |")


if __name__ == "__main__":
    main()
