"""The reference a user would write: read a JTL CSV with Python's csv module and compute the
p95/p99 of `elapsed` (exact, nearest-rank on the sorted values) and the error rate from `success`.
Usage: jtl_stream_ref.py results.jtl"""
import csv
import math
import sys

elapsed = []
failed = 0
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    for row in csv.DictReader(f):
        elapsed.append(int(row["elapsed"]))
        failed += row["success"] != "true"
elapsed.sort()
rank = lambda q: elapsed[max(0, math.ceil(q * len(elapsed)) - 1)]
print(f"all.p95 {rank(0.95):.3f} ms")
print(f"all.p99 {rank(0.99):.3f} ms")
print(f"all.error_rate {100 * failed / len(elapsed):.3f} %")
