#!/usr/bin/env bash
# The storage engines side by side, in one run, on the same data: for each
# engine a bank is generated (load rate, peak RSS, disk size), reopened
# (time), read (get, lookup, neighbours, household, context: p50/p99, with
# the same store's engine alone as the floor for get, lookup and
# neighbours), and source records are imported through identity resolution
# (records/s, peak RSS, disk size).
#
#   bench/engines.sh [PERSONS] [RECORDS]      (defaults 100000 and 100000)
#   ENGINES="sled redb" bench/engines.sh      (a subset)
#   OPS=200000 bench/engines.sh               (timed reads per workload)
#
# Writes one JSON line per measurement to target/kith-bench/engines.jsonl
# and prints a markdown table. docs/engines.md holds the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
PERSONS=${1:-100000}
RECORDS=${2:-100000}
OPS=${OPS:-200000}
ENGINES=${ENGINES:-sled fjall redb}
ROOT=${KITH_BENCH_DIR:-target/kith-bench}/engines
OUT=$ROOT/engines.jsonl
K=./target/release/kith
cargo build --release --quiet
mkdir -p "$ROOT"
: >"$OUT"
COMMIT=$(git rev-parse --short HEAD)

# Runs a command under /usr/bin/time; prints "seconds peak_rss_kb".
timed() {
    local log
    log=$(mktemp)
    /usr/bin/time -f "%e %M" -o "$log" "$@" >/dev/null
    cat "$log"
    rm -f "$log"
}

RECFILE=$ROOT/records-$RECORDS.csv
if [ ! -f "$RECFILE" ]; then
    $K generate-records --records "$RECORDS" --out "$RECFILE" >/dev/null
fi

for E in $ENGINES; do
    DB=$ROOT/bank-$E
    rm -rf "$DB"
    read -r secs rss < <(timed $K --db "$DB" --engine "$E" generate --persons "$PERSONS" --seed 42 --interactions 1)
    disk=$(du -sb "$DB" | cut -f1)
    read -r reopen _ < <(timed $K --db "$DB" stats)
    echo "{\"engine\":\"$E\",\"commit\":\"$COMMIT\",\"what\":\"generate\",\"persons\":$PERSONS,\"seconds\":$secs,\"peak_rss_kb\":$rss,\"disk_bytes\":$disk,\"reopen_stats_seconds\":$reopen}" >>"$OUT"
    for W in get lookup neighbours household context; do
        line=$($K --db "$DB" bench --workload "$W" --ops "$OPS" --warmup 20000 --baseline --json)
        echo "{\"engine\":\"$E\",\"commit\":\"$COMMIT\",\"what\":\"read\",\"bench\":$line}" >>"$OUT"
    done
    IDB=$ROOT/import-$E
    rm -rf "$IDB"
    read -r secs rss < <(timed $K --db "$IDB" --engine "$E" import --mapping bench/records/records.toml "$RECFILE")
    disk=$(du -sb "$IDB" | cut -f1)
    echo "{\"engine\":\"$E\",\"commit\":\"$COMMIT\",\"what\":\"import\",\"records\":$RECORDS,\"seconds\":$secs,\"peak_rss_kb\":$rss,\"disk_bytes\":$disk}" >>"$OUT"
done

python3 - "$OUT" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
engines = []
for r in rows:
    if r["engine"] not in engines:
        engines.append(r["engine"])
print(f"commit {rows[0]['commit']}\n")
print("| engine | generate persons/s | peak RSS MB | disk MB | reopen + stats s | import records/s | import peak RSS MB | import disk MB |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for e in engines:
    g = next(r for r in rows if r["engine"] == e and r["what"] == "generate")
    i = next((r for r in rows if r["engine"] == e and r["what"] == "import"), None)
    imp = (f"{i['records']/i['seconds']:,.0f} | {i['peak_rss_kb']/1024:,.0f} | {i['disk_bytes']/1e6:,.0f}"
           if i else "— | — | —")
    print(f"| {e} | {g['persons']/g['seconds']:,.0f} | {g['peak_rss_kb']/1024:,.0f} | {g['disk_bytes']/1e6:,.0f} | {g['reopen_stats_seconds']} | {imp} |")
print()
print("| engine | workload | p50 µs | p99 µs | floor p50 µs | kith / floor at p50 |")
print("| --- | --- | --- | --- | --- | --- |")
for e in engines:
    for r in rows:
        if r["engine"] != e or r["what"] != "read":
            continue
        b = r["bench"]
        fl = b.get("floor_raw_engine")
        fl50 = f"{fl['p50_us']:.2f}" if fl else "—"
        ratio = f"{b['p50_ratio_to_floor']:.2f}x" if fl else "—"
        print(f"| {e} | {b['workload']} | {b['latency']['p50_us']:.2f} | {b['latency']['p99_us']:.2f} | {fl50} | {ratio} |")
EOF
