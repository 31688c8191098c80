#!/usr/bin/env python3
"""Scores kith's identity resolution on FEBRL through the command line, as a
user would: import with a mapping file, export the crosswalk, compare the
pairs of records given one customer with the truth.

    python3 bench/febrl/score.py [--data ../shared/data/febrl] [--kith target/release/kith]
"""
import argparse
import json, csv, itertools, os, subprocess, sys, tempfile, time
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

def write_truth(records_csv, links_csv, out):
    parent = {}
    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    with open(links_csv) as f:
        for r in csv.DictReader(f):
            parent[find(r["rec_id_1"])] = find(r["rec_id_2"])
    with open(records_csv) as f, open(out, "w", newline="") as o:
        w = csv.writer(o)
        w.writerow(["entity_id", "system", "key"])
        for r in csv.DictReader(f):
            w.writerow([find(r["rec_id"]), "febrl", r["rec_id"]])

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
                # The truth as kith evaluate reads it: entity_id,system,key,
                # the records of one person sharing an entity (FEBRL's pairs,
                # closed transitively).
                truth_csv = os.path.join(tmp, "truth.csv")
                write_truth(os.path.join(args.data, name + ".csv"),
                            os.path.join(args.data, name + "_links.csv"), truth_csv)
                out = subprocess.run([args.kith, "--db", db, "evaluate", "--truth", truth_csv, "--json", "--limit", "0"],
                                     check=True, capture_output=True, text=True).stdout
                ev = json.loads(out)
                # Cross-check with the crosswalk, pair by pair.
                links = os.path.join(tmp, "links.csv")
                with open(links, "w") as f:
                    subprocess.run([args.kith, "--db", db, "export", "links"], check=True, stdout=f)
                pred = pairs_from_links(links)
                true = truth(os.path.join(args.data, name + "_links.csv"))
                assert ev["predicted_pairs"] == len(pred) and ev["true_positives"] == len(pred & true), (ev, len(pred))
                n = sum(1 for _ in open(os.path.join(args.data, name + ".csv"))) - 1
                print(f"| {name} | {mapping} | {n} | {secs:.1f} | {ev['predicted_pairs']} | {ev['true_pairs']} | "
                      f"{ev['precision']:.4f} | {ev['recall']:.4f} | {ev['f1']:.4f} |")
                sys.stdout.flush()

if __name__ == "__main__":
    main()
