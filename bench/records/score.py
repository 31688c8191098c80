#!/usr/bin/env python3
"""Identity resolution at scale, through the command line as a user runs it:
generate FEBRL-like records with known truth (`kith generate-records`),
import them with bench/records/records.toml, export the crosswalk, and
report the import rate, the peak RSS of the import, and pairwise precision,
recall and F1 against the truth (the `person` column).

    python3 bench/records/score.py [--records 1000000] [--kith target/release/kith] [--dir DIR] [--cache-mib 512] [--mapping bench/records/records.toml] [--messy]

With --messy the records carry shared family and role mailboxes, mobiles,
twins, care homes, mistyped national ids, aliases and former family names,
mailing addresses, and the employers as organization records
(`kith generate-records --messy`), imported with bench/records/messy.toml,
then the employments with bench/records/messy-employment.toml;
the report adds the false merges of two records whose national ids differ
by more than a typo (not one digit apart): the wrong merges that matter most,
and the pairs of a person's and an organization's record in one customer.

The generated file and database are kept under --dir (default
target/kith-bench/records) so that a run can be inspected afterwards.
"""
import argparse, csv, itertools, os, resource, subprocess, sys, time
from collections import defaultdict

def pairs(groups):
    out = set()
    for recs in groups.values():
        for a, b in itertools.combinations(sorted(recs), 2):
            out.add((a, b))
    return out

def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--kith", default="target/release/kith")
    ap.add_argument("--dir", default="target/kith-bench/records")
    ap.add_argument("--cache-mib", type=int, default=512)
    ap.add_argument("--mapping", default=None)
    ap.add_argument("--messy", action="store_true")
    args = ap.parse_args()
    if args.mapping is None:
        args.mapping = os.path.join(here, "messy.toml" if args.messy else "records.toml")
    tag = "messy-" if args.messy else ""
    os.makedirs(args.dir, exist_ok=True)
    data = os.path.join(args.dir, f"records-{tag}{args.records}-{args.seed}.csv")
    jobs = os.path.join(args.dir, f"employment-{args.records}-{args.seed}.csv")
    if not os.path.exists(data) or (args.messy and not os.path.exists(jobs)):
        subprocess.run([args.kith, "generate-records", "--records", str(args.records),
                        "--seed", str(args.seed), "--out", data]
                       + (["--messy", "--employment", jobs] if args.messy else []), check=True)
    db = os.path.join(args.dir, f"db-{tag}{args.records}")
    subprocess.run(["rm", "-rf", db], check=True)
    t = time.time()
    imp = subprocess.run([args.kith, "--db", db, "import", "--cache-mib", str(args.cache_mib),
                          "--mapping", args.mapping,
                          "--rejects", os.path.join(args.dir, "rejects.csv"), data],
                         check=True, capture_output=True, text=True)
    secs = time.time() - t
    rss_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(imp.stdout.strip())
    if args.messy:
        # The employers' employees, related to them (never merged into them).
        emp = subprocess.run([args.kith, "--db", db, "import", "--mapping",
                              os.path.join(here, "messy-employment.toml"),
                              "--rejects", os.path.join(args.dir, "rejects-employment.csv"), jobs],
                             check=True, capture_output=True, text=True)
        print(emp.stdout.strip())
    links = os.path.join(args.dir, "links.csv")
    with open(links, "w") as f:
        subprocess.run([args.kith, "--db", db, "export", "links"], check=True, stdout=f)
    truth, pred = defaultdict(list), defaultdict(list)
    person, ssn = {}, {}
    with open(data) as f:
        for row in csv.DictReader(f):
            truth[row["person"]].append(row["rec_id"])
            person[row["rec_id"]], ssn[row["rec_id"]] = row["person"], row["soc_sec_id"]
    with open(links) as f:
        for row in csv.DictReader(f):
            pred[row["customer_id"]].append(row["key"])
    t_pairs, p_pairs = pairs(truth), pairs(pred)
    tp = len(t_pairs & p_pairs)
    p = tp / len(p_pairs) if p_pairs else 0.0
    r = tp / len(t_pairs) if t_pairs else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    print("| records | seconds | records/s | peak RSS MiB | predicted pairs | true pairs | precision | recall | F1 |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.records} | {secs:.0f} | {args.records / secs:.0f} | {rss_mib:.0f} | {len(p_pairs)} | {len(t_pairs)} | {p:.4f} | {r:.4f} | {f1:.4f} |")
    def typo_apart(x, y):
        return len(x) == len(y) and sum(a != b for a, b in zip(x, y)) == 1
    false = [(a, b) for a, b in p_pairs - t_pairs]
    id_conflicts = [(a, b) for a, b in false
                    if ssn[a] and ssn[b] and ssn[a] != ssn[b] and not typo_apart(ssn[a], ssn[b])]
    print(f"false merges: {len(false)} pairs; of them with national ids that differ by more than one digit: {len(id_conflicts)}")
    org = lambda r: person[r].startswith("org-")
    mixed = [(a, b) for a, b in p_pairs if org(a) != org(b)]
    print(f"person and organization records in one customer: {len(mixed)} pairs")
    for a, b in id_conflicts[:10]:
        print(f"  {a} (person {person[a]}, id {ssn[a]}) with {b} (person {person[b]}, id {ssn[b]})")

if __name__ == "__main__":
    main()
