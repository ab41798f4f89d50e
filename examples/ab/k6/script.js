// The k6 half of the same-job A/B (README, "Same-job A/B"): one short constant-arrival-rate run
// against BASE_URL. make.sh runs it against the base's server and the head's in turn.
import http from 'k6/http';
import { check } from 'k6';

export const options = {
  scenarios: {
    api: {
      executor: 'constant-arrival-rate',
      rate: 20,
      timeUnit: '1s',
      duration: '4s',
      preAllocatedVUs: 10,
      maxVUs: 20,
    },
  },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
};

export default function () {
  const r = http.get(`${__ENV.BASE_URL}/api/meetings`);
  check(r, { 'meetings is 200': (x) => x.status === 200 });
}
