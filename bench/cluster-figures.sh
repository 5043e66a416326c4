#!/usr/bin/env bash
# The figures of a whispeer cluster on Redis, in one command, each table a
# whispeer-bench run of its own (so that each can be rerun alone):
#
#   1. 1 → 1 and 1 → 100 across two nodes (publisher on node A,
#      subscribers on node B), beside whispeer on one node and Centrifugo
#      on one node and as two nodes on one Redis;
#   2. fan-out with 1, 2 and 3 nodes sharing the subscribers;
#   3. durable QoS 1 publishes with the redis store, beside XADD pipelined
#      to Redis directly (rueidis), both on Redis fsyncing every second.
#
# RUNS (3), DURATION (3s), SUBS (fan-out subscribers of table 2, 300) and
# OUT (the prefix of the .jsonl and .md files, results/cluster) may be set;
# arguments go to every whispeer-bench run, e.g. -whispeer-bin ./whispeer.
# Centrifugo is skipped with a message when its binary is missing: go
# install github.com/centrifugal/centrifugo/v6@v6.9.1.
set -euo pipefail
cd "$(dirname "$0")"
runs=${RUNS:-3}
duration=${DURATION:-3s}
subs=${SUBS:-300}
out=${OUT:-results/cluster}
mkdir -p "$(dirname "$out")"
go build -o "${TMPDIR:-/tmp}/whispeer-bench-cluster" ./cmd/whispeer-bench
extra=("$@")
bench() { "${TMPDIR:-/tmp}/whispeer-bench-cluster" -runs "$runs" -duration "$duration" "${extra[@]}" "$@"; }

bench -workloads throughput,fanout \
	-targets whispeer-tcp,whispeer-tcp-x2,whispeer-json-ws,whispeer-json-ws-x2,centrifugo,centrifugo-redis-x2 \
	-out "$out-across.jsonl" -md "$out-across.md"
bench -workloads fanout -subs "$subs" \
	-targets whispeer-tcp,whispeer-tcp-n1,whispeer-tcp-n2,whispeer-tcp-n3 \
	-out "$out-scale.jsonl" -md "$out-scale.md"
bench -workloads durable \
	-targets whispeer-durable-redis,redis \
	-out "$out-durable.jsonl" -md "$out-durable.md"
rm -f "${TMPDIR:-/tmp}/whispeer-bench-cluster"
