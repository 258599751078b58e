#!/usr/bin/env bash
# Instructions per operation on keycard's hot paths, counted by callgrind, against the committed
# baseline keycard/benches/instructions.txt: fails when one grew by more than the tolerance.
# Counts do not depend on the machine's load, so this can run in CI where a time cannot.
#
#     keycard/benches/instructions.sh            # check (what .ci/run does)
#     keycard/benches/instructions.sh --update   # write the counts measured now as the baseline
#
# TOLERANCE_PCT (default 3) is the growth allowed. A count that fell by more than it is reported
# too, so that the baseline follows improvements (update it in the commit that makes them).
# The counts belong to a toolchain, the dependency versions in Cargo.lock and a CPU kind (ring
# and glibc choose their code by the CPU valgrind reports): update the baseline with any of
# those, in its own commit, saying why. About 30 s on 2 cores once the example is built.
set -euo pipefail
cd "$(dirname "$0")/../.."

baseline=keycard/benches/instructions.txt
tolerance=${TOLERANCE_PCT:-3}
update=false
[[ "${1:-}" == "--update" ]] && update=true

command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install -y valgrind)" >&2; exit 1; }

cargo build --release --locked -p keycard --example instructions
bin="${CARGO_TARGET_DIR:-target}/release/examples/instructions"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Total instructions of one run of `bin mode n`.
total() {
  valgrind --tool=callgrind --callgrind-out-file="$work/out" "$bin" "$1" "$2" >/dev/null 2>"$work/log" ||
    { cat "$work/log" >&2; exit 1; }
  awk '/^totals:/ { print $2 }' "$work/out"
}

printf '%-24s %8s %14s %14s %9s\n' mode n baseline measured change
failed=0
new_baseline="$work/baseline"
grep '^#' "$baseline" >"$new_baseline" || true
while read -r mode n expected _; do
  [[ -z "$mode" || "$mode" == \#* ]] && continue
  per_op=$(( ($(total "$mode" "$n") - $(total "$mode" 0)) / n ))
  change=$(awk -v a="$per_op" -v b="$expected" 'BEGIN { printf "%+.2f%%", (a - b) * 100 / b }')
  verdict=$(awk -v a="$per_op" -v b="$expected" -v t="$tolerance" \
    'BEGIN { d = (a - b) * 100 / b; print (d > t ? "GREW" : (d < -t ? "fell: update the baseline" : "ok")) }')
  printf '%-24s %8s %14s %14s %9s  %s\n' "$mode" "$n" "$expected" "$per_op" "$change" "$verdict"
  [[ "$verdict" == GREW ]] && failed=1
  printf '%-24s %6s %10s\n' "$mode" "$n" "$per_op" >>"$new_baseline"
done <"$baseline"

if $update; then
  cp "$new_baseline" "$baseline"
  echo "baseline written to $baseline"
  exit 0
fi
if (( failed )); then
  echo "instruction counts grew by more than ${tolerance}% (see GREW above); if that is intended, run $0 --update and say why in the commit" >&2
  exit 1
fi
echo "instruction counts within ${tolerance}% of $baseline"
