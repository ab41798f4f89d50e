#!/usr/bin/env python3
"""Writes the generated half of the example page into OUT (deterministic, fixed seed):
img/logo.png, img/hero.png (the LCP image, ~200 KB), img/meeting-0..11.png (thumbnails,
~18 KB each) and vendor.js (~180 KB unminified stand-in for a UI framework whose start-up work
makes ~250 ms of total blocking time under Lighthouse's mobile CPU throttling), so the
repository holds no binaries or generated code. The sizes are tuned so the page's mobile
performance score lands in the 80s: the LCP hero image and the blocking start-up keep it under 90."""
import os
import random
import struct
import sys
import zlib

out = sys.argv[1]
os.makedirs(os.path.join(out, "img"), exist_ok=True)
rnd = random.Random(7)


def png(path, w, h, noisy):
    """An RGB PNG: a colour gradient where a `noisy` fraction of bytes is random, so it compresses
    only partly, like a photo."""
    base = [rnd.randrange(256) for _ in range(3)]
    raw = bytearray()
    for y in range(h):
        raw.append(0)
        for x in range(w):
            for c in range(3):
                v = (base[c] + x * (c + 1) + y * (3 - c)) % 256
                raw.append(rnd.randrange(256) if rnd.random() < noisy else v)

    def chunk(tag, data):
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    data += chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


png(os.path.join(out, "img", "logo.png"), 40, 40, 0.0)
png(os.path.join(out, "img", "hero.png"), 720, 240, 0.005)
for i in range(12):
    png(os.path.join(out, "img", f"meeting-{i}.png"), 96, 64, 0.15)

parts = ["/* vendor.js: generated stand-in for a UI framework bundle */", "var vendor = {};"]
for i in range(1000):
    word = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(50))
    parts.append(
        f"vendor.h{i} = function (x) {{ var s = '{word}'; "
        f"for (var k = 0; k < s.length; k++) {{ x = (x * 31 + s.charCodeAt(k)) | 0; }} return x; }};"
    )
parts.append(
    "vendor.escape = function (s) { return String(s).replace(/[&<>\"]/g, function (c) "
    "{ return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '\"': '&quot;'}[c]; }); };"
)
parts.append(
    "(function () { var acc = 0; for (var r = 0; r < 12; r++) { for (var i = 0; i < 1000; i++) "
    "{ acc ^= vendor['h' + i](i + r); } } vendor.ready = acc; })();"
)
with open(os.path.join(out, "vendor.js"), "w") as f:
    f.write("\n".join(parts) + "\n")

for root, _, files in sorted(os.walk(out)):
    for name in sorted(files):
        p = os.path.join(root, name)
        print(f"{os.path.getsize(p):>9}  {os.path.relpath(p, out)}")
