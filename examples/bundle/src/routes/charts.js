export function histogram(values, lo, hi, bins) {
  const width = (hi - lo) / bins;
  const counts = new Array(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)))] += 1;
  const max = Math.max(1, ...counts);
  return counts
    .map((c, i) => `<div title="${lo + i * width}–${lo + (i + 1) * width}: ${c}" class="bar" style="width:${(100 * c) / max}%"></div>`)
    .join('');
}
