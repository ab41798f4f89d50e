import _ from 'lodash';
import dayjs from 'dayjs';
import relativeTime from 'dayjs/plugin/relativeTime.js';

dayjs.extend(relativeTime);

const TOPICS = ['Sprint planning', 'Design review', 'Incident retro', 'Hiring sync', 'Roadmap', 'Customer call'];
const HOSTS = ['ana', 'bo', 'chen', 'dara', 'eli', 'fay'];

export function sampleMeetings(now, count) {
  return _.range(count).map((i) => ({
    id: i + 1,
    topic: TOPICS[i % TOPICS.length],
    host: HOSTS[(i * 7) % HOSTS.length],
    start: now + (i - count / 2) * 3600 * 1000 * 5,
    minutes: 15 + ((i * 13) % 75),
    notes: `**${TOPICS[i % TOPICS.length]}** with _${HOSTS[(i * 7) % HOSTS.length]}_: ${(i * 31) % 9} action items`,
  }));
}

export function upcoming(meetings, now) {
  return _.chain(meetings)
    .filter((m) => m.start >= now)
    .sortBy('start')
    .take(20)
    .value();
}

export function when(start, now) {
  return dayjs(start).from(dayjs(now));
}
