#!/usr/bin/env python3
"""Side by side: kith against Kùzu (embedded graph database) on the same graph
and the same queries, in one run.

    pip install kuzu
    python3 bench/kuzu_compare.py --db target/kith-bench/bank-100000-i10 [--n 2000]

Queries (each run once per start id, the same ids for both):
  two-hop    every node within 2 hops over MEMBER_OF, OWNS, SPOUSE_OF, GUARANTEES (either direction)
  household  the person's household(s), the members, and each member's accounts with balances

kith runs in-process (`kith bench --ids FILE --json`); Kùzu runs in-process
through its Python API with prepared statements (Python's call overhead is
part of what a Python service would pay; it is measured and printed).
"""
import argparse, json, os, random, shutil, statistics, subprocess, sys, time

KINDS = ["MEMBER_OF", "OWNS", "SPOUSE_OF", "GUARANTEES"]

def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--kith", default="target/release/kith")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--work", default=None, help="scratch directory (default: DB + '-kuzu')")
    args = ap.parse_args()
    import kuzu

    work = args.work or args.db.rstrip("/") + "-kuzu"
    csv_dir = os.path.join(work, "csv")
    kdb = os.path.join(work, "kuzu.db")
    if not os.path.exists(os.path.join(csv_dir, "edges.csv")):
        os.makedirs(work, exist_ok=True)
        subprocess.run([args.kith, "--db", args.db, "export-graph", "--out", csv_dir], check=True)
    fresh = not os.path.exists(kdb)
    t = time.time()
    db = kuzu.Database(kdb)
    conn = kuzu.Connection(db)
    if fresh:
        conn.execute("CREATE NODE TABLE Entity(id INT64, kind STRING, product STRING, balance DOUBLE, PRIMARY KEY(id))")
        conn.execute("CREATE REL TABLE Rel(FROM Entity TO Entity, kind STRING)")
        conn.execute(f"COPY Entity FROM '{csv_dir}/nodes.csv' (HEADER=true)")
        conn.execute(f"COPY Rel FROM '{csv_dir}/edges.csv' (HEADER=true)")
        print(f"loaded Kùzu in {time.time() - t:.1f} s", file=sys.stderr)
    persons = [int(line.split(",")[0]) for line in open(os.path.join(csv_dir, "nodes.csv")) if ",person," in line]
    random.seed(7)
    ids = random.sample(persons, min(args.n, len(persons)))
    ids_file = os.path.join(work, "ids.txt")
    with open(ids_file, "w") as f:
        f.write("\n".join(map(str, ids)) + "\n")

    kinds = "[" + ",".join(f"'{k}'" for k in KINDS) + "]"
    queries = {
        "two-hop": conn.prepare(
            f"MATCH (a:Entity {{id: $id}})-[r:Rel*1..2 (e, n | WHERE e.kind IN {kinds})]-(c:Entity) "
            "WHERE c.id <> $id RETURN DISTINCT c.id"),
        "household": conn.prepare(
            "MATCH (p:Entity {id: $id})-[:Rel {kind: 'MEMBER_OF'}]->(h:Entity)<-[:Rel {kind: 'MEMBER_OF'}]-(m:Entity) "
            "OPTIONAL MATCH (m)-[:Rel {kind: 'OWNS'}]->(a:Entity) RETURN h.id, m.id, a.id, a.product, a.balance"),
    }
    # Python's own call overhead: the cheapest query Kùzu can answer.
    noop = conn.prepare("RETURN $id")
    rows = []
    for name, q in queries.items():
        for i in ids[:200]:  # warm-up
            conn.execute(q, {"id": i}).get_all()
        lat = []
        sizes = []
        for i in ids:
            t = time.perf_counter()
            res = conn.execute(q, {"id": i}).get_all()
            lat.append((time.perf_counter() - t) * 1e6)
            sizes.append(len(res))
        kith = json.loads(subprocess.run(
            [args.kith, "--db", args.db, "bench", "--workload", name, "--ids", ids_file,
             "--ops", str(len(ids)), "--warmup", "0", "--json"],
            check=True, capture_output=True, text=True).stdout)
        rows.append((name, kith["latency"], statistics.median(lat), pct(lat, 0.99), statistics.mean(sizes)))
    over = []
    for i in ids:
        t = time.perf_counter()
        conn.execute(noop, {"id": i}).get_all()
        over.append((time.perf_counter() - t) * 1e6)
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"commit {head}; database {args.db}; {len(ids)} start ids; Kùzu {kuzu.__version__}")
    print("| query | kith p50 µs | kith p99 µs | Kùzu p50 µs | Kùzu p99 µs | Kùzu rows/query | kith faster (p50) | kith faster (p99) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, k, kp50, kp99, size in rows:
        print(f"| {name} | {k['p50_us']:.1f} | {k['p99_us']:.1f} | {kp50:.1f} | {kp99:.1f} | {size:.1f} | "
              f"{kp50 / k['p50_us']:.1f}x | {kp99 / k['p99_us']:.1f}x |")
    print(f"Kùzu call overhead through Python (RETURN $id): p50 {statistics.median(over):.1f} µs, p99 {pct(over, 0.99):.1f} µs")

if __name__ == "__main__":
    main()
