// A stand-in for an API instrumented like the OpenMeet API (prometheus-metrics.ts): it simulates
// database queries and cache lookups on a timer and serves them on /metrics in the Prometheus text
// exposition format 0.0.4. Node only, no dependencies, 127.0.0.1 only.
//
//   db_query_duration_ms   histogram, label `operation`; most queries take 5–60 ms
//   cache_hits_total       counter, label `type`
//   cache_misses_total     counter, label `type`; the hit ratio is about 85 %
//
// Run: PORT=4000 node app.js
'use strict';
const http = require('http');

const PORT = Number(process.env.PORT || 4000);
const HOST = '127.0.0.1';
const TICK_MS = 20;

// A fixed-seed PRNG (mulberry32) so that every run simulates the same workload shape.
let seed = 0x5eed1234;
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
// Log-normal query time, median ~20 ms: 5–60 ms for ~90 % of queries, a tail to ~200 ms.
function queryMs() {
  const u1 = random() || 1e-12;
  const u2 = random();
  const normal = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  return Math.exp(Math.log(20) + 0.65 * normal);
}

const BUCKETS_MS = [1, 2.5, 5, 10, 25, 50, 75, 100, 150, 200];
const OPERATIONS = ['select', 'insert', 'update'];
const CACHE_TYPES = ['session', 'event', 'user'];

const histograms = new Map(OPERATIONS.map((op) => [op, { b: BUCKETS_MS.map(() => 0), sum: 0, count: 0 }]));
const cache = new Map(CACHE_TYPES.map((t) => [t, { hits: 0, misses: 0 }]));

function tick() {
  for (let i = 0; i < 3; i++) {
    const op = OPERATIONS[random() < 0.7 ? 0 : random() < 0.6 ? 1 : 2];
    const ms = queryMs();
    const h = histograms.get(op);
    BUCKETS_MS.forEach((le, j) => { if (ms <= le) h.b[j]++; });
    h.sum += ms;
    h.count++;
  }
  for (let i = 0; i < 5; i++) {
    const c = cache.get(CACHE_TYPES[Math.floor(random() * CACHE_TYPES.length)]);
    if (random() < 0.85) c.hits++; else c.misses++;
  }
}
setInterval(tick, TICK_MS);

function renderMetrics() {
  const out = [
    '# HELP db_query_duration_ms Database query duration in milliseconds',
    '# TYPE db_query_duration_ms histogram',
  ];
  for (const [op, h] of histograms) {
    BUCKETS_MS.forEach((le, j) => out.push(`db_query_duration_ms_bucket{operation="${op}",le="${le}"} ${h.b[j]}`));
    out.push(`db_query_duration_ms_bucket{operation="${op}",le="+Inf"} ${h.count}`);
    out.push(`db_query_duration_ms_sum{operation="${op}"} ${h.sum}`);
    out.push(`db_query_duration_ms_count{operation="${op}"} ${h.count}`);
  }
  out.push('# HELP cache_hits_total Cache lookups that found the key', '# TYPE cache_hits_total counter');
  for (const [type, c] of cache) out.push(`cache_hits_total{type="${type}"} ${c.hits}`);
  out.push('# HELP cache_misses_total Cache lookups that missed', '# TYPE cache_misses_total counter');
  for (const [type, c] of cache) out.push(`cache_misses_total{type="${type}"} ${c.misses}`);
  return out.join('\n') + '\n';
}

http
  .createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(renderMetrics());
    } else if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
    } else {
      res.writeHead(404);
      res.end();
    }
  })
  .listen(PORT, HOST, () => console.log(`app on http://${HOST}:${PORT}/metrics`));
