#!/usr/bin/env python3
"""FEBRL with each address written as one line, as many sources send it,
imported through `[split_address]` (bench/febrl/febrl-address-line.toml) and
scored beside the same records with their address columns (febrl.toml):
pairwise precision, recall and F1, and how often the split gave back the
original house number, suburb, state and postcode.

    python3 bench/febrl/address_line.py [--data ../shared/data/febrl] [--kith target/release/kith]
"""
import argparse, csv, itertools, json, os, subprocess, tempfile
from collections import defaultdict

ap = argparse.ArgumentParser()
ap.add_argument("--data", default="../shared/data/febrl")
ap.add_argument("--kith", default="target/release/kith")
args = ap.parse_args()
here = os.path.dirname(os.path.abspath(__file__))

def score(kith, db, links):
    out = subprocess.run([kith, "--db", db, "export", "links"], capture_output=True, text=True, check=True).stdout
    by = defaultdict(list)
    for r in csv.DictReader(out.splitlines()):
        by[r["customer_id"]].append(r["key"])
    pred = {p for v in by.values() for p in itertools.combinations(sorted(v), 2)}
    truth = {tuple(sorted((r["rec_id_1"], r["rec_id_2"]))) for r in csv.DictReader(open(links))}
    tp = len(pred & truth)
    p, r = tp / max(len(pred), 1), tp / len(truth)
    return p, r, 2 * p * r / max(p + r, 1e-9)

with tempfile.TemporaryDirectory() as tmp:
    for name in ["febrl1", "febrl2"]:
        rows = list(csv.DictReader(open(os.path.join(args.data, name + ".csv"))))
        line_csv = os.path.join(tmp, name + "-line.csv")
        with open(line_csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["rec_id", "given_name", "surname", "address", "date_of_birth", "soc_sec_id"])
            for r in rows:
                street = " ".join(x for x in [r["street_number"], r["address_1"], r["address_2"]] if x.strip())
                tail = " ".join(x for x in [r["suburb"], r["state"], r["postcode"]] if x.strip())
                w.writerow([r["rec_id"], r["given_name"], r["surname"],
                            ", ".join(x for x in [street, tail] if x), r["date_of_birth"], r["soc_sec_id"]])
        links = os.path.join(args.data, name + "_links.csv")
        for label, mapping, data in [("address columns", "febrl.toml", os.path.join(args.data, name + ".csv")),
                                     ("one address line", "febrl-address-line.toml", line_csv)]:
            db = os.path.join(tmp, f"{name}-{mapping}")
            subprocess.run([args.kith, "--db", db, "import", "--mapping", os.path.join(here, mapping), data],
                           capture_output=True, check=True)
            p, r, f1 = score(args.kith, db, links)
            print(f"{name}, {label}: precision {p:.4f} recall {r:.4f} F1 {f1:.4f}")
        # What the split gave back, field by field.
        ok, tot = defaultdict(int), defaultdict(int)
        for r in rows:
            j = json.loads(subprocess.run([args.kith, "--db", db, "lookup", "febrl", r["rec_id"], "--record", "--json"],
                                          capture_output=True, check=True).stdout)
            for attr, col in [("house_number", "street_number"), ("city", "suburb"), ("region", "state"), ("postal_code", "postcode")]:
                if r[col].strip():
                    tot[attr] += 1
                    ok[attr] += str(j["attrs"].get(attr, "")).lower() == r[col].strip().lower()
        print(f"{name}, split fields recovered: " + ", ".join(f"{a} {ok[a]}/{tot[a]}" for a in tot))
