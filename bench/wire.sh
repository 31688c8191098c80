#!/usr/bin/env bash
# Wire-protocol throughput and latency: redis-benchmark against `kith serve`
# (ENTITY.GET) and against redis-server (GET of values of the same size), on
# the same machine, 50 connections, without pipelining and with -P 16.
#
#   bench/wire.sh [PERSONS]   (default 100000)
#   KITH_WORKERS=N bench/wire.sh   (kith's worker threads; default: one less than the CPUs)
#   KITH_REPLY_CACHE_MIB=N bench/wire.sh   (kith's reply cache; default 256, 0: off)
#
# Needs redis-server and redis-tools. Prints CSV rows and a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
PERSONS=${1:-100000}
REQUESTS=${REQUESTS:-1000000}
DIR=${KITH_BENCH_DIR:-target/kith-bench}/wire-$PERSONS
KPORT=7393
RPORT=7394
cargo build --release --quiet
if [ ! -d "$DIR" ]; then
    ./target/release/kith --db "$DIR" generate --persons "$PERSONS" --seed 42 --interactions 0 >/dev/null
fi
MAXID=$(./target/release/kith --db "$DIR" stats --json | python3 -c 'import json,sys; s=json.load(sys.stdin); print(sum(s["entities"].values()))')
# Value size: the median JSON size of an entity.
VALUE=$(for i in 1 50 500 5000; do ./target/release/kith --db "$DIR" get $i --json 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); d.pop("relationships"); print(len(json.dumps(d,separators=(",",":"))))'; done | sort -n | sed -n 2p)
./target/release/kith --db "$DIR" serve --listen 127.0.0.1:$KPORT --idle-timeout 0 --reply-cache-mib "${KITH_REPLY_CACHE_MIB:-256}" ${KITH_WORKERS:+--workers $KITH_WORKERS} 2>/dev/null &
KPID=$!
redis-server --port $RPORT --save "" --appendonly no >/dev/null &
RPID=$!
trap 'kill $KPID $RPID 2>/dev/null || true' EXIT
sleep 2
# Every key redis-benchmark will ask for holds a value of the same size.
python3 -c "
import sys
v = 'x' * $VALUE
w = sys.stdout.write
for i in range($MAXID):
    k = 'key:%012d' % i
    w('*3\r\n\$3\r\nSET\r\n\$%d\r\n%s\r\n\$%d\r\n%s\r\n' % (len(k), k, len(v), v))
" | redis-cli -p $RPORT --pipe >/dev/null
# Warm kith's reply cache the way a running service's would be.
redis-benchmark -p $KPORT -n "$REQUESTS" -c 50 -P 16 -r "$MAXID" -q ENTITY.GET __rand_int__ >/dev/null
echo "kith workers: ${KITH_WORKERS:-the default}; reply cache: ${KITH_REPLY_CACHE_MIB:-256} MiB"
echo "machine: $(nproc) CPU, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); commit $(git rev-parse --short HEAD); $PERSONS persons ($MAXID entities); value ~$VALUE bytes; $REQUESTS requests, 50 connections"
echo "server,pipeline,rps,avg_ms,p50_ms,p95_ms,p99_ms,max_ms"
for P in 1 16; do
    k=$(redis-benchmark -p $KPORT -n "$REQUESTS" -c 50 -P $P -r "$MAXID" --csv ENTITY.GET __rand_int__ | tail -1)
    r=$(redis-benchmark -p $RPORT -n "$REQUESTS" -c 50 -P $P -r "$MAXID" --csv GET key:__rand_int__ | tail -1)
    echo "kith,$P,$(echo "$k" | cut -d, -f2- | tr -d '"' | cut -d, -f1,2,4,5,6,7)"
    echo "redis,$P,$(echo "$r" | cut -d, -f2- | tr -d '"' | cut -d, -f1,2,4,5,6,7)"
done
