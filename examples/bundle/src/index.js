import { marked } from 'marked';
import { sampleMeetings, upcoming, when } from './meetings.js';
import './styles.css';

const now = Date.UTC(2026, 0, 15, 9);
const meetings = sampleMeetings(now, 120);

function esc(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
}

function listPage() {
  return upcoming(meetings, now)
    .map(
      (m) =>
        `<div class="meeting"><time>${esc(when(m.start, now))}</time>` +
        `<div>${esc(m.topic)}${marked.parseInline(m.notes)}</div><span>${m.minutes} min</span></div>`,
    )
    .join('');
}

// Route-based code splitting: each heavy page is its own chunk, loaded on first visit.
const routes = {
  '#/analytics': () => import(/* webpackChunkName: "analytics" */ './routes/analytics.js'),
  '#/transcript': () => import(/* webpackChunkName: "transcript" */ './routes/transcript.js'),
};

async function render(root) {
  const load = routes[location.hash];
  root.innerHTML = load ? (await load()).default(meetings, now) : listPage();
}

if (typeof document !== 'undefined') {
  const root = document.getElementById('app');
  addEventListener('hashchange', () => render(root));
  render(root);
}
