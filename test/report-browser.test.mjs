// The HTML report in a real headless browser (Debian's chromium, driven by playwright-core): it loads with no
// console or page error, fetches nothing but itself, shows every contestant and scenario, draws its charts, and
// a hostile contestant name stays text. Screenshots are left in /tmp/pitlane-report-*.png for people to look at.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { renderHtmlReport } from '../dist/lab/report/html-page.js';
import { CHROMIUM_ARGS } from './helpers.mjs';

const CHROMIUM = '/usr/bin/chromium';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const fixture = (name) =>
  JSON.parse(readFileSync(new URL(`./fixtures/lab-report-${name}.json`, import.meta.url), 'utf8'));

let dir;
let context;

before(async () => {
  assert.ok(
    existsSync(CHROMIUM),
    `${CHROMIUM} is missing: the HTML report is tested in a real browser; run \`apt-get install -y chromium\``,
  );
  dir = mkdtempSync(join(tmpdir(), 'pitlane-report-'));
  context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
  });
});

after(async () => {
  await context?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** Opens the rendered report from a file and records what the page did. */
async function open(name, report) {
  const file = join(dir, `${name}.html`);
  writeFileSync(file, renderHtmlReport(report));
  const url = pathToFileURL(file).href;
  const page = await context.newPage();
  const problems = [];
  const requests = [];
  const dialogs = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning')
      problems.push(`console ${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('request', (req) => requests.push(req.url()));
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.goto(url, { waitUntil: 'load' });
  return { page, url, problems, requests, dialogs };
}

for (const name of ['http', 'pipelines']) {
  test(`the ${name} report in chromium: no errors, no network, every name visible, charts, a screenshot`, async () => {
    const report = fixture(name);
    const { page, url, problems, requests } = await open(name, report);
    try {
      assert.deepEqual(problems, []);
      assert.deepEqual(requests, [url], 'the page requests nothing but itself');

      const text = await page.locator('body').innerText();
      for (const c of report.contestants) assert.ok(text.includes(c.name), `contestant ${c.name} visible`);
      for (const s of report.scenarios) {
        assert.ok(
          await page.locator('h3', { hasText: s.name }).first().isVisible(),
          `scenario ${s.name} visible`,
        );
      }
      for (const w of report.warnings) assert.ok(text.includes(w), 'warning visible');

      const charts = page.locator('svg.chart');
      const count = await charts.count();
      assert.ok(count > 0, 'charts drawn');
      if (name === 'http') assert.ok(count >= 10, `the HTTP report has its charts (${count})`);
      for (let i = 0; i < count; i++) {
        const box = await charts.nth(i).boundingBox();
        assert.ok(box !== null && box.width > 200 && box.height > 100, `chart ${i} has a size`);
      }
      // Nothing overflows the page sideways.
      const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
      assert.ok(overflow <= 0, `page is ${overflow}px wider than the window`);
      const scrolling = await page.evaluate(
        "[...document.querySelectorAll('.table-wrap')].filter((e) => e.scrollWidth > e.clientWidth + 1).length",
      );
      assert.equal(scrolling, 0, 'every table fits at 1280 px');

      const shot = join(dir, `${name}.png`);
      await page.screenshot({ path: shot, fullPage: true });
      const png = readFileSync(shot);
      assert.ok(png.subarray(0, 8).equals(PNG_SIGNATURE), 'a PNG');
      assert.ok(png.length > 10 * 1024, `a non-trivial PNG (${png.length} bytes)`);
      copyFileSync(shot, `/tmp/pitlane-report-${name}.png`);
    } finally {
      await page.close();
    }
  });
}

test('a contestant named <script> stays text in the browser', async () => {
  const report = fixture('http');
  const evil = '<script>alert(1)</script><img src=x onerror=alert(2)>';
  report.contestants[0].name = evil;
  for (const s of report.scenarios) {
    for (const row of s.rows) if (row.contestant === 'node') row.contestant = evil;
    for (const r of s.ratios) r.contestant = evil;
  }
  report.warnings.push(evil);
  const { page, url, problems, requests, dialogs } = await open('hostile', report);
  try {
    assert.deepEqual(dialogs, [], 'no script ran');
    assert.deepEqual(problems, []);
    assert.deepEqual(requests, [url], 'the injected <img> was not loaded');
    assert.equal(await page.locator('script, img').count(), 0);
    assert.ok((await page.locator('body').innerText()).includes(evil), 'the name is shown as text');
  } finally {
    await page.close();
  }
});
