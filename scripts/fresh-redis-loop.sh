#!/usr/bin/env bash
# Runs the whole test suite against N freshly started redis-servers in a
# row (default 5), each on a free port with its own random hash seed, so
# that a test depending on the order of a Redis hash or set shows up.
# Usage: bash scripts/fresh-redis-loop.sh [N] [cargo test args...]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
shift || true
command -v redis-server >/dev/null 2>&1 || bash scripts/test.sh --no-run >/dev/null

for run in $(seq "$runs"); do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  dir=$(mktemp -d)
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  for _ in $(seq 50); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  echo "== run $run of $runs: fresh redis-server on port $port"
  status=0
  GATE_REDIS_URL="redis://127.0.0.1:$port/0" bash scripts/test.sh "$@" || status=$?
  kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
  rm -rf "$dir"
  if [ "$status" -ne 0 ]; then
    echo "== run $run of $runs failed"
    exit "$status"
  fi
done
echo "== $runs runs against fresh redis-servers passed"
