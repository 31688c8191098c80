#!/usr/bin/env python3
"""Scores kith's identity resolution on FEBRL through the command line, as a
user would: import with a mapping file, export the crosswalk, compare the
pairs of records given one customer with the truth.

    python3 bench/febrl/score.py [--data ../shared/data/febrl] [--kith target/release/kith]
"""
import argparse, csv, itertools, os, subprocess, sys, tempfile, time
from collections import defaultdict

def pairs_from_links(path):
    by_customer = defaultdict(list)
    with open(path) as f:
        for row in csv.DictReader(f):
            by_customer[row["customer_id"]].append(row["key"])
    out = set()
    for recs in by_customer.values():
        for a, b in itertools.combinations(sorted(recs), 2):
            out.add((a, b))
    return out

def truth(path):
    with open(path) as f:
        return {tuple(sorted((r["rec_id_1"], r["rec_id_2"]))) for r in csv.DictReader(f)}

def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--data", default=os.path.join(here, "..", "..", "..", "shared", "data", "febrl"))
    ap.add_argument("--kith", default="target/release/kith")
    args = ap.parse_args()
    print("| set | mapping | records | seconds | predicted pairs | true pairs | precision | recall | F1 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in ["febrl1", "febrl2"]:
        for mapping in ["febrl.toml", "febrl-no-id.toml"]:
            with tempfile.TemporaryDirectory() as tmp:
                db = os.path.join(tmp, "db")
                t = time.time()
                subprocess.run([args.kith, "--db", db, "import", "--mapping", os.path.join(here, mapping),
                                "--rejects", os.path.join(tmp, "rejects.csv"), os.path.join(args.data, name + ".csv")],
                               check=True, capture_output=True)
                secs = time.time() - t
                links = os.path.join(tmp, "links.csv")
                with open(links, "w") as f:
                    subprocess.run([args.kith, "--db", db, "export", "links"], check=True, stdout=f)
                pred = pairs_from_links(links)
                true = truth(os.path.join(args.data, name + "_links.csv"))
                tp = len(pred & true)
                p = tp / len(pred) if pred else 0.0
                r = tp / len(true) if true else 0.0
                f1 = 2 * p * r / (p + r) if p + r else 0.0
                n = sum(1 for _ in open(os.path.join(args.data, name + ".csv"))) - 1
                print(f"| {name} | {mapping} | {n} | {secs:.1f} | {len(pred)} | {len(true)} | {p:.4f} | {r:.4f} | {f1:.4f} |")
                sys.stdout.flush()

if __name__ == "__main__":
    main()
