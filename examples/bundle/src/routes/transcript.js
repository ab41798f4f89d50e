import { marked } from 'marked';
import { histogram } from './charts.js';

const SPEAKERS = ['ana', 'bo', 'chen'];

export default function transcript(meetings) {
  const lines = meetings.slice(0, 40).map((m, i) => `**${SPEAKERS[i % 3]}**: ${m.topic}, ${m.minutes} minutes planned.`);
  const words = lines.map((l) => l.split(/\s+/).length);
  return `<h1>Transcript</h1><div class="transcript">${marked.parse(lines.join('\n\n'))}</div>` + histogram(words, 0, 20, 4);
}
