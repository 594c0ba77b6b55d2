// The confusion matrix as a self-contained SVG (row-normalised shading, counts in cells).
import type { Metrics } from './metrics.js';

/** Text escaped for SVG/XML. */
export const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

export function confusionSvg(m: Metrics, title = ''): string {
  const k = m.labels.length;
  const cell = 56,
    left = 90,
    top = 70 + (title ? 20 : 0);
  const width = left + k * cell + 80,
    height = top + k * cell + 50;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  if (title) parts.push(`<text x="${width / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`);
  parts.push(
    `<text x="${width / 2}" y="${top - 40}" text-anchor="middle">WA ${(100 * m.wa).toFixed(1)}%  UA ${(100 * m.ua).toFixed(1)}%  n = ${m.n}</text>`,
  );
  parts.push(`<text x="${left + (k * cell) / 2}" y="${top - 22}" text-anchor="middle" font-style="italic">predicted</text>`);
  parts.push(
    `<text x="14" y="${top + (k * cell) / 2}" text-anchor="middle" font-style="italic" transform="rotate(-90 14 ${top + (k * cell) / 2})">true</text>`,
  );
  for (let j = 0; j < k; j++)
    parts.push(`<text x="${left + j * cell + cell / 2}" y="${top - 6}" text-anchor="middle">${esc(m.labels[j])}</text>`);
  for (let i = 0; i < k; i++) {
    const row = m.confusion[i].reduce((a, b) => a + b, 0) || 1;
    parts.push(`<text x="${left - 6}" y="${top + i * cell + cell / 2 + 4}" text-anchor="end">${esc(m.labels[i])}</text>`);
    for (let j = 0; j < k; j++) {
      const f = m.confusion[i][j] / row;
      const shade = Math.round(255 - 200 * f);
      const fill = i === j ? `rgb(${shade},${Math.round(255 - 120 * f)},${shade})` : `rgb(255,${shade},${shade})`;
      parts.push(`<rect x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="${fill}" stroke="#999"/>`);
      parts.push(
        `<text x="${left + j * cell + cell / 2}" y="${top + i * cell + cell / 2 + 4}" text-anchor="middle">${m.confusion[i][j]}</text>`,
      );
    }
    parts.push(
      `<text x="${left + k * cell + 8}" y="${top + i * cell + cell / 2 + 4}">${Number.isNaN(m.recall[i]) ? 'n/a' : (100 * m.recall[i]).toFixed(0) + '%'}</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
