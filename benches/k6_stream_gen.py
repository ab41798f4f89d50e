"""Writes a k6 `--out json` stream shaped like k6 v1.1.0's: Metric lines once per metric, then
seven Point lines per HTTP request, in k6's key order and tag set. Seeded: the same arguments give
the same bytes. Usage: k6_stream_gen.py REQUESTS > stream.ndjson"""
import json
import random
import sys
from datetime import datetime, timedelta, timezone

requests = int(sys.argv[1])
rnd = random.Random(20261126)
out = sys.stdout
metrics = [
    ("http_reqs", "counter", "default"),
    ("http_req_duration", "trend", "time"),
    ("http_req_waiting", "trend", "time"),
    ("http_req_sending", "trend", "time"),
    ("http_req_receiving", "trend", "time"),
    ("http_req_failed", "rate", "default"),
    ("data_received", "counter", "data"),
]
for name, kind, contains in metrics:
    out.write(json.dumps({"type": "Metric", "data": {"name": name, "type": kind, "contains": contains,
                         "thresholds": [], "submetrics": None}, "metric": name}, separators=(",", ":")) + "\n")
start = datetime(2026, 11, 26, 12, 0, 0, tzinfo=timezone(timedelta(hours=1)))
routes = ["/api/meetings", "/api/meetings/42", "/api/search?q=standup", "/api/auth/me"]
for i in range(requests):
    t = (start + timedelta(microseconds=i * 3333)).isoformat()
    route = routes[i % len(routes)]
    failed = rnd.random() < 0.005
    status = "500" if failed else "200"
    tags = {"expected_response": "false" if failed else "true", "group": "", "method": "GET",
            "name": "http://127.0.0.1:8787" + route, "proto": "HTTP/1.1", "scenario": "default",
            "status": status, "url": "http://127.0.0.1:8787" + route}
    waiting = rnd.lognormvariate(3.6, 0.35)
    sending = rnd.uniform(0.005, 0.05)
    receiving = rnd.uniform(0.02, 0.4)
    values = [("http_reqs", 1), ("http_req_duration", round(waiting + sending + receiving, 6)),
              ("http_req_waiting", round(waiting, 6)), ("http_req_sending", round(sending, 6)),
              ("http_req_receiving", round(receiving, 6)), ("http_req_failed", 1 if failed else 0),
              ("data_received", rnd.randint(300, 2400))]
    for name, value in values:
        out.write(json.dumps({"metric": name, "type": "Point", "data": {"time": t, "value": value, "tags": tags}},
                             separators=(",", ":")) + "\n")
