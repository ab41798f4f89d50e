"""Writes a JMeter JTL in the default CSV columns of JMeter 5.x (header row, `,`), or the XML
variant with `--xml`: four labels, lognormal elapsed times, one failure in 200. Seeded: the same
arguments give the same bytes. Usage: jtl_stream_gen.py SAMPLES [--xml] > results.jtl"""
import random
import sys

samples = int(sys.argv[1])
xml = "--xml" in sys.argv[2:]
rnd = random.Random(20261126)
out = sys.stdout
labels = ["GET /api/meetings", "GET /api/search", "POST /api/login", "GET /api/me"]
if xml:
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n<testResults version="1.2">\n')
else:
    out.write("timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,"
              "failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect\n")
for i in range(samples):
    elapsed = int(rnd.lognormvariate(3.6, 0.35))
    ok = rnd.random() >= 0.005
    code, message = (200, "OK") if ok else (500, "Internal Server Error")
    ts = 1764158400000 + i * 2
    thread = f"Thread Group 1-{i % 50 + 1}"
    size = rnd.randint(300, 2400)
    if xml:
        out.write(f'<httpSample t="{elapsed}" it="0" lt="{max(elapsed - 1, 0)}" ct="1" ts="{ts}" '
                  f's="{"true" if ok else "false"}" lb="{labels[i % 4]}" rc="{code}" rm="{message}" '
                  f'tn="{thread}" dt="text" by="{size}" sby="120" ng="50" na="50"/>\n')
    else:
        out.write(f"{ts},{elapsed},{labels[i % 4]},{code},{message},{thread},text,"
                  f"{'true' if ok else 'false'},,{size},120,50,50,http://127.0.0.1:8787/api,"
                  f"{max(elapsed - 1, 0)},0,1\n")
if xml:
    out.write("</testResults>\n")
