import _ from 'lodash';
import { histogram } from './charts.js';

export default function analytics(meetings) {
  const byHost = _.countBy(meetings, 'host');
  const minutes = _.map(meetings, 'minutes');
  const rows = _.map(_.toPairs(byHost), ([host, n]) => `<tr><td>${host}</td><td>${n}</td></tr>`).join('');
  return `<h1>Analytics</h1><table>${rows}</table>` + histogram(minutes, 15, 90, 5);
}
