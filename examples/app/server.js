// The example API the load tests in examples/artillery/ run against: a stand-in for a meetings
// product (auth, meetings, search) with a WebSocket channel for live messages.
// It binds to 127.0.0.1 only and has one dependency, `ws` (see examples/artillery/make.sh).
//
// Routes (latencies are server-side delays, times LATENCY_FACTOR; ~3 % of requests take a slow path):
//   GET  /health                 liveness, ~1 ms
//   POST /api/auth/login         {email, password} -> {token}, 60-120 ms (password hashing)
//   GET  /api/auth/me            needs `Authorization: Bearer <token>`, 10-30 ms; 401 without it
//   GET  /api/meetings           a page of 20 meetings, 25-70 ms
//   GET  /api/meetings/:id       one meeting, 15-45 ms; 404 for ids outside 1..500
//   POST /api/meetings           creates a meeting, 40-100 ms -> 201
//   GET  /api/search?q=...       full-text search, 40-120 ms; HTTP 500 with probability ERROR_RATE
//   WS   /ws                     echoes every message back after 3-20 ms
//
// Env: PORT (8787), ERROR_RATE (0.005 = 0.5 % of searches fail), LATENCY_FACTOR (1.0; 1.3 makes a
// "regressed" build that is 30 % slower).
'use strict';
const http = require('http');
const crypto = require('crypto');

let WebSocketServer;
try {
  ({ WebSocketServer } = require('ws'));
} catch (e) {
  console.error('examples/app/server.js needs the `ws` package: put its node_modules on NODE_PATH');
  process.exit(2);
}

const HOST = '127.0.0.1';
const PORT = Number(process.env.PORT || 8787);
const ERROR_RATE = Number(process.env.ERROR_RATE ?? 0.005);
const FACTOR = Number(process.env.LATENCY_FACTOR || 1);
for (const [name, v] of [['PORT', PORT], ['ERROR_RATE', ERROR_RATE], ['LATENCY_FACTOR', FACTOR]]) {
  if (!Number.isFinite(v) || v < 0) {
    console.error(`${name} must be a non-negative number`);
    process.exit(2);
  }
}

const TAIL_PROBABILITY = 0.03;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A delay uniform in [lo, hi] ms; a few requests take a slow path (a cache miss, a GC pause)
// 1.5-3x as long, which is what gives real services their p99 tail.
function work(lo, hi) {
  let ms = lo + Math.random() * (hi - lo);
  if (Math.random() < TAIL_PROBABILITY) ms *= 1.5 + Math.random() * 1.5;
  return sleep(ms * FACTOR);
}

function send(res, code, body) {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function readJson(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  if (chunks.length === 0) return {};
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

const sessions = new Set();
const TOPICS = ['roadmap', 'hiring', 'budget', 'launch', 'retro', 'design review', 'standup'];

function meeting(id) {
  return {
    id,
    title: `${TOPICS[id % TOPICS.length]} #${id}`,
    organizationId: 1 + (id % 7),
    status: id % 5 === 0 ? 'scheduled' : 'completed',
    durationMinutes: 15 + (id % 4) * 15,
    participants: 2 + (id % 9),
  };
}

async function route(req, res, url) {
  const path = url.pathname;
  if (req.method === 'GET' && path === '/health') {
    return send(res, 200, { status: 'ok' });
  }
  if (req.method === 'POST' && path === '/api/auth/login') {
    const body = await readJson(req);
    await work(60, 120);
    if (!body.email || !body.password) return send(res, 400, { error: 'email and password are required' });
    const token = crypto.randomBytes(16).toString('hex');
    sessions.add(token);
    return send(res, 200, { token, user: { email: body.email } });
  }
  if (req.method === 'GET' && path === '/api/auth/me') {
    await work(10, 30);
    const token = (req.headers.authorization || '').replace(/^Bearer /, '');
    if (!sessions.has(token)) return send(res, 401, { error: 'not signed in' });
    return send(res, 200, { user: { id: 42, organizationId: 1 } });
  }
  if (req.method === 'GET' && path === '/api/meetings') {
    await work(25, 70);
    const page = Math.max(1, Number(url.searchParams.get('page')) || 1);
    const items = Array.from({ length: 20 }, (_, i) => meeting((page - 1) * 20 + i + 1));
    return send(res, 200, { page, items });
  }
  if (req.method === 'POST' && path === '/api/meetings') {
    const body = await readJson(req);
    await work(40, 100);
    return send(res, 201, { ...meeting(500 + Math.floor(Math.random() * 1000)), title: body.title || 'untitled' });
  }
  const one = /^\/api\/meetings\/(\d+)$/.exec(path);
  if (req.method === 'GET' && one) {
    await work(15, 45);
    const id = Number(one[1]);
    if (id < 1 || id > 500) return send(res, 404, { error: 'no such meeting' });
    return send(res, 200, meeting(id));
  }
  if (req.method === 'GET' && path === '/api/search') {
    await work(40, 120);
    if (Math.random() < ERROR_RATE) return send(res, 500, { error: 'search backend timed out' });
    const q = (url.searchParams.get('q') || '').toLowerCase();
    const hits = Array.from({ length: 40 }, (_, i) => meeting(i * 3 + 1)).filter((m) => m.title.includes(q));
    return send(res, 200, { q, total: hits.length, hits: hits.slice(0, 10) });
  }
  return send(res, 404, { error: 'not found' });
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, `http://${HOST}`);
  route(req, res, url).catch((err) => {
    if (!res.headersSent) send(res, err instanceof SyntaxError ? 400 : 500, { error: String(err.message || err) });
  });
});

const wss = new WebSocketServer({ server, path: '/ws' });
wss.on('connection', (socket) => {
  socket.on('message', async (data) => {
    await work(3, 20);
    if (socket.readyState === socket.OPEN) socket.send(data.toString());
  });
});

server.keepAliveTimeout = 5000;
server.listen(PORT, HOST, () => {
  console.log(`example app on http://${HOST}:${PORT} error_rate=${ERROR_RATE} latency_factor=${FACTOR} pid=${process.pid}`);
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    wss.clients.forEach((c) => c.terminate());
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 500).unref();
  });
}
