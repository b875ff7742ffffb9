# Shared by the bench/*.sh scripts (sourced, not run): a release build, the binary's path,
# a scratch folder removed on exit, and the median of numbers on stdin.
cargo build --release --quiet
QP="${CARGO_TARGET_DIR:-$PWD/target}/release/queueprim"
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
