#!/usr/bin/env bash
# Soak: the kill -9 integration test (tests/it_kafka_kill.sh) with many more
# rounds: ROUNDS (default 200) SIGKILLs at random points while consuming a
# live stream, a check after every kill that Kafka's committed offsets are
# not ahead of the store's, and at the end the exact reference series.
# About 4 s per round (the mock cluster's join delay dominates); the stream
# stays within the mock's 5 MiB per partition, so it is spread over the rounds.
#   usage: bench/soak_kafka_kill.sh [BUILD_DIR] [ROUNDS] [SEED]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
export KILL_ROUNDS=${2:-200}
[ -n "${3:-}" ] && export KILL_SEED=$3
export LW_SOURCE_DIR=$root
exec bash "$root/tests/it_kafka_kill.sh" "$build/leadwatch"
