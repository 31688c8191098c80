#!/usr/bin/env python3
"""Order independence as a user checks it: import one file in its own order
and in N shuffled orders, export the crosswalk each time, and compare the
customers as sets of record keys.

    python3 bench/febrl/shuffles.py [--data ../shared/data/febrl/febrl2.csv]
        [--mapping bench/febrl/febrl.toml] [--shuffles 10] [--kith target/release/kith]

Prints, for each shuffle, how many records sit in a customer that differs
from the original order's; exits 1 when any does.
"""
import argparse, csv, os, random, subprocess, sys, tempfile
from collections import defaultdict

def partition(kith, mapping, path, tmp, tag):
    db = os.path.join(tmp, "db-" + tag)
    subprocess.run([kith, "--db", db, "import", "--mapping", mapping, path],
                   check=True, stdout=subprocess.DEVNULL)
    out = os.path.join(tmp, "links-" + tag + ".csv")
    with open(out, "w") as f:
        subprocess.run([kith, "--db", db, "export", "links"], check=True, stdout=f)
    groups = defaultdict(set)
    with open(out) as f:
        for row in csv.DictReader(f):
            groups[row["customer_id"]].add((row["system"], row["key"]))
    return {frozenset(g) for g in groups.values()}

def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=os.path.join(root, "..", "shared", "data", "febrl", "febrl2.csv"))
    p.add_argument("--mapping", default=os.path.join(here, "febrl.toml"))
    p.add_argument("--shuffles", type=int, default=10)
    p.add_argument("--kith", default=os.path.join(root, "target", "release", "kith"))
    args = p.parse_args()
    with open(args.data, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        original = partition(args.kith, args.mapping, args.data, tmp, "0")
        where = {r: g for g in original for r in g}
        for seed in range(1, args.shuffles + 1):
            shuffled = body[:]
            random.Random(seed).shuffle(shuffled)
            path = os.path.join(tmp, f"shuffled-{seed}.csv")
            with open(path, "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(header)
                w.writerows(shuffled)
            got = partition(args.kith, args.mapping, path, tmp, str(seed))
            moved = {r for g in got - original for r in g}
            print(f"shuffle {seed}: {len(got)} customers, {len(moved)} records in a different customer")
            for r in sorted(moved)[:10]:
                print("   ", r[1], "was with", sorted(k for _, k in where[r])[:6])
            bad += bool(moved)
    print(f"{args.shuffles - bad} of {args.shuffles} shuffles gave the same customers")
    sys.exit(1 if bad else 0)

main()
