#!/usr/bin/env bash
# Prints sanitizer reports (TSan/ASan log_path files) readably: first each report whole, demangled and without
# addresses, then a condensed copy (the accesses' first frames, the tests that had started and not finished) so
# that the tail of a long CI log still says what raced and where.
#   scripts/sanitizer-report.sh TEST_LOG REPORT...
set -euo pipefail
log="$1"
shift
# Drops build ids and module+offset addresses, demangles, and cuts very long lines.
clean() {
    sed -E 's/ \(BuildId: [0-9a-f]+\)//; s/ \([^ ()]+\+0x[0-9a-f]+\)$//; s#/[^ ]*/(Sources|Tests)/#\1/#' "$1" |
        swift demangle --simplified |
        cut -c1-240
}
# Each report is cleaned once (demangling is the slow part) and kept beside it for the condensed copy.
for report in "$@"; do
    echo "=== sanitizer report $report"
    clean "$report" > "$report.clean"
    cat "$report.clean"
done
echo "=== condensed (accesses' first frames; thread creation stacks left out)"
for report in "$@"; do
    awk '
        /^    #[0-9]+ / { if (shown < limit) print substr($0, 1, 160); shown++; next }
        /^  Thread T/ { limit = 0; shown = 0; print substr($0, 1, 160); next }
        /^  Location/ { limit = 3; shown = 0; print substr($0, 1, 160); next }
        /^[A-Z=]/ || /^  [A-Z]/ { limit = 10; shown = 0; print substr($0, 1, 160); next }
    ' "$report.clean"
done
echo "=== tests started and not finished when the report was written"
sed -nE 's/^[^A-Za-z]*(Test|Suite) (.*) started\.$/+ \1 \2/p; s/^[^A-Za-z]*(Test|Suite) (.*) (passed|failed|skipped)( after.*|\.)$/- \1 \2/p' "$log" |
    awk '$1 == "+" { sub(/^\+ /, ""); open[$0] = 1; next } { sub(/^- /, ""); delete open[$0] } END { for (n in open) print "  " n }'
