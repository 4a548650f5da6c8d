#!/usr/bin/env bash
# Bounded fuzzing of the Rust core: each cargo-fuzz target for FUZZ_SECONDS (default 45 s),
# starting from the committed seeds (examples/*.sse with chunking prefixes) and the local corpus.
# Exits non-zero when a target crashes (panic, failed assertion, sanitizer report, timeout or
# out-of-memory); the reproducer is left in fuzz/artifacts/<target>/.
#
# cargo-fuzz needs nightly-only rustc flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain accept
# them. Installs cargo-fuzz when it is missing.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
export RUSTC_BOOTSTRAP=1 CARGO_TERM_COLOR=never
seconds="${FUZZ_SECONDS:-45}"
jobs_flag=()
if [ -n "${FUZZ_NICE:-}" ]; then jobs_flag=(nice -n "$FUZZ_NICE"); fi

command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
"${jobs_flag[@]}" cargo fuzz build

status=0
for target in framer usage; do
  mkdir -p "corpus/$target"
  dict=()
  if [ "$target" = usage ]; then dict=(-dict=usage.dict); fi
  echo "== fuzz $target for ${seconds}s"
  if ! "${jobs_flag[@]}" cargo fuzz run "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "${dict[@]}" 2>"corpus/$target.log"; then
    tail -n 60 "corpus/$target.log"
    echo "!! fuzz target $target failed; reproducer in fuzz/artifacts/$target/" >&2
    status=1
  else
    grep -E "^(Done |stat::number_of_executed_units|stat::peak_rss_mb)|^#[0-9]+[[:space:]]+DONE" \
      "corpus/$target.log" || true
  fi
done
exit "$status"
