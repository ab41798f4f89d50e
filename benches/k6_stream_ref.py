"""The reference a user would write: stream a k6 `--out json` file line by line with json.loads and
compute http_req_duration's p95/p99 (exact, nearest-rank on the sorted values) and the
http_req_failed rate. Usage: k6_stream_ref.py stream.ndjson"""
import json
import math
import sys

durations = []
failed = total = 0
with open(sys.argv[1], encoding="utf-8") as f:
    for line in f:
        d = json.loads(line)
        if d.get("type") != "Point":
            continue
        name = d["metric"]
        if name == "http_req_duration":
            durations.append(d["data"]["value"])
        elif name == "http_req_failed":
            total += 1
            failed += d["data"]["value"]
durations.sort()
rank = lambda q: durations[max(0, math.ceil(q * len(durations)) - 1)]
print(f"http_req_duration.p95 {rank(0.95):.3f} ms")
print(f"http_req_duration.p99 {rank(0.99):.3f} ms")
print(f"http_req_failed.rate {100 * failed / total:.3f} %")
