// The ratio chart: an SVG we draw ourselves (log scale, target marks), rendered to PNG with headless Chromium when present.
import { existsSync, writeFileSync } from 'node:fs';

const escapeXml = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A horizontal bar per targeted metric: the median ratio peer-signal / reference on a log axis, 1× in the middle.
 * Rows are `{ label, better, medianRatio, target, targetText, verdict }`, `target` a number.
 */
export function ratioChartSvg(rows, { title, subtitle }) {
  const width = 960;
  const rowHeight = 46;
  const top = 84;
  const left = 300;
  const right = 200;
  const plotWidth = width - left - right;
  const height = top + rows.length * rowHeight + 56;
  const values = rows.flatMap((row) => [row.medianRatio, row.target]).filter((v) => Number.isFinite(v) && v > 0);
  const lo = Math.min(0.1, ...values.map((v) => v / 1.5));
  const hi = Math.max(10, ...values.map((v) => v * 1.5));
  const x = (v) => left + ((Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))) * plotWidth;
  const ticks = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100].filter((t) => t >= lo && t <= hi);
  const parts = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="24" y="32" font-size="20" font-weight="bold" fill="#1f2328">${escapeXml(title)}</text>`,
    `<text x="24" y="56" font-size="13" fill="#57606a">${escapeXml(subtitle)}</text>`,
  );
  const plotBottom = top + rows.length * rowHeight;
  for (const t of ticks) {
    const tx = x(t).toFixed(1);
    parts.push(
      `<line x1="${tx}" y1="${top - 6}" x2="${tx}" y2="${plotBottom}" stroke="${t === 1 ? '#57606a' : '#d0d7de'}" stroke-width="${t === 1 ? 1.5 : 1}"/>`,
      `<text x="${tx}" y="${plotBottom + 20}" font-size="12" text-anchor="middle" fill="#57606a">${t}×</text>`,
    );
  }
  parts.push(
    `<text x="${left + plotWidth / 2}" y="${plotBottom + 42}" font-size="12" text-anchor="middle" fill="#57606a">peer-signal / reference (median of per-repetition ratios, log scale); the black tick is the target</text>`,
  );
  rows.forEach((row, i) => {
    const y = top + i * rowHeight;
    const mid = y + rowHeight / 2;
    const ratio = row.medianRatio;
    const color = row.verdict === 'PASS' ? '#1a7f37' : row.verdict === 'MISS' ? '#cf222e' : '#8c959f';
    parts.push(
      `<text x="${left - 12}" y="${mid - 3}" font-size="14" text-anchor="end" fill="#1f2328">${escapeXml(row.label)}</text>`,
      `<text x="${left - 12}" y="${mid + 13}" font-size="11" text-anchor="end" fill="#57606a">${row.better} is better</text>`,
    );
    if (Number.isFinite(ratio) && ratio > 0) {
      const x0 = Math.min(x(1), x(ratio));
      const x1 = Math.max(x(1), x(ratio));
      parts.push(`<rect x="${x0.toFixed(1)}" y="${mid - 11}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="22" rx="3" fill="${color}" fill-opacity="0.85"/>`);
    }
    if (row.target !== undefined) {
      const tx = x(row.target).toFixed(1);
      parts.push(`<line x1="${tx}" y1="${mid - 17}" x2="${tx}" y2="${mid + 17}" stroke="#1f2328" stroke-width="2.5"/>`);
    }
    const label = `${Number.isFinite(ratio) ? ratio.toFixed(2) + '×' : 'n/a'}  ${row.targetText ?? ''}  ${row.verdict}`;
    parts.push(`<text x="${width - right + 14}" y="${mid + 5}" font-size="13" font-weight="bold" fill="${color}">${escapeXml(label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Renders `svg` to `pngPath`; returns false (keeping only the SVG) when Chromium or playwright-core is missing. */
export async function renderPng(svg, pngPath, { executablePath = '/usr/bin/chromium', timeoutMs = 60_000 } = {}) {
  if (!existsSync(executablePath)) return { ok: false, reason: `${executablePath} not found` };
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    return { ok: false, reason: 'playwright-core is not installed' };
  }
  let browser;
  const deadline = new Promise((_, reject) => setTimeout(() => reject(new Error(`rendering took over ${timeoutMs} ms`)), timeoutMs).unref());
  try {
    await Promise.race([
      (async () => {
        browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: timeoutMs });
        const page = await browser.newPage({ deviceScaleFactor: 2, viewport: { width: 1000, height: 800 } });
        // about:blank and inline content only: nothing is fetched from anywhere.
        await page.setContent(`<!doctype html><html><body style="margin:0;background:#fff">${svg}</body></html>`);
        await page.locator('svg').screenshot({ path: pngPath, omitBackground: false });
      })(),
      deadline,
    ]);
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: error.message.split('\n')[0] };
  } finally {
    await browser?.close().catch(() => {});
  }
}

export function writeSvg(svg, path) {
  writeFileSync(path, svg + '\n');
}
