/**
 * The HTML report: one self-contained page per LabReport (or one page for a set of reports) that opens offline in
 * any browser and can be mailed or archived as a single file. Nothing is loaded from anywhere — the CSS is inline,
 * a Content-Security-Policy forbids every fetch and every script, and the charts are inline SVG.
 *
 * This module assembles the page: header, headline, warnings, table of contents, the sections (html-summary.ts,
 * html-scenario.ts, and here the cold starts, the run time, contestants, method, environment and what was not
 * measured), and the page around them.
 */
import { CSS } from './css.js';
import { stripChart } from './html-charts.js';
import { contestantColours, escapeHtml as esc, swatch, valueHtml } from './html-parts.js';
import { hypothesesSection, overviewSection, verdictSection } from './html-summary.js';
import { scenarioSection } from './html-scenario.js';
import { NOT_MEASURED, formatFactor, formatSetting, formatSignificant, formatSpread } from './format.js';
import type { LabReport } from './model.js';
import { environmentFacts, hypothesisVerdict, timingSummary } from './rows.js';
import { figure } from './svg-plot.js';

function coldStartSection(report: LabReport, colours: ReadonlyMap<string, string>): string {
  if (report.cold_starts.length === 0) return '';
  const rows = report.cold_starts.map(
    (c) =>
      `<tr><td class="contestant">${swatch(colours, c.contestant)}${esc(c.contestant)}</td><td class="num">${Math.max(c.to_healthy_ms.length, c.to_first_correct_ms.length)}</td><td class="num">${valueHtml(formatSpread(c.to_healthy_ms))}</td><td class="num">${valueHtml(formatSpread(c.to_first_correct_ms))}</td></tr>`,
  );
  const hasValues = report.cold_starts.some((c) => c.to_healthy_ms.length + c.to_first_correct_ms.length > 0);
  return `<section id="cold-starts"><h2>Cold starts</h2>
<p class="lead">Spawn of a fresh process → first healthy answer, and → first correct response; one point per process.</p>
${hasValues ? figure('Cold starts (lower is better)', stripChart(colours, report.cold_starts)) : ''}
<div class="table-wrap"><table class="compact"><thead><tr><th>Contestant</th><th class="num">Processes</th><th class="num">To healthy: median (min–max)</th><th class="num">To first correct: median (min–max)</th></tr></thead><tbody>${rows.join('')}</tbody></table></div></section>`;
}

function runTimeSection(report: LabReport): string {
  if (report.timing == null) return '';
  const { line, rows } = timingSummary(report.timing);
  const body = rows.map(
    (r) =>
      `<tr><td>${esc(r.phase)}</td><td class="num">${valueHtml(r.time)}</td><td class="num">${valueHtml(r.share)}</td><td>${esc(r.byContestant)}</td></tr>`,
  );
  return `<section id="run-time"><h2>Run time</h2>
<p class="lead">${esc(line)}</p>
<div class="table-wrap"><table class="compact"><thead><tr><th>Phase</th><th class="num">Wall time</th><th class="num">Share</th><th>By contestant</th></tr></thead><tbody>${body.join('')}</tbody></table></div></section>`;
}

function contestantsSection(report: LabReport, colours: ReadonlyMap<string, string>): string {
  const differ = new Set(report.settings_differ.map((d) => d.key));
  const rows = report.contestants.map((c) => {
    const settings = Object.entries(c.settings);
    const settingsHtml =
      settings.length === 0
        ? valueHtml(NOT_MEASURED)
        : `<ul class="settings">${settings
            .map(
              ([k, v]) =>
                `<li${differ.has(k) ? ' class="differs" title="differs between contestants"' : ''}><code>${esc(k)}</code> = ${esc(formatSetting(v))}${differ.has(k) ? ' <span class="badge warn">differs</span>' : ''}</li>`,
            )
            .join('')}</ul>`;
    return `<tr><td class="contestant">${swatch(colours, c.name)}<strong>${esc(c.name)}</strong></td><td>${c.baseline ? '<span class="badge unchecked">baseline</span>' : 'contestant'}</td><td><code class="cmd">${esc(c.how)}</code></td><td>${settingsHtml}</td><td>${c.resources_sampled ? 'yes' : '<span class="muted">no (given as a URL)</span>'}</td></tr>`;
  });
  let differHtml = '';
  if (report.settings_differ.length > 0) {
    const items = report.settings_differ.map(
      (d) =>
        `<li><code>${esc(d.key)}</code>: ${Object.entries(d.values)
          .map(([name, v]) => `${esc(name)} = <strong>${esc(formatSetting(v))}</strong>`)
          .join(', ')}</li>`,
    );
    differHtml = `<div class="callout warn"><strong>Settings that differ between contestants</strong> — read the comparison with care:<ul>${items.join('')}</ul></div>`;
  }
  return `<section id="contestants"><h2>Contestants</h2>${differHtml}
<div class="table-wrap"><table><thead><tr><th>Contestant</th><th>Role</th><th>How it was run</th><th>Settings</th><th>Resources sampled</th></tr></thead><tbody>${rows.join('')}</tbody></table></div></section>`;
}

function listSection(id: string, title: string, items: readonly string[]): string {
  const body =
    items.length > 0
      ? `<ul>${items.map((m) => `<li>${esc(m)}</li>`).join('')}</ul>`
      : `<p>${valueHtml(NOT_MEASURED)}</p>`;
  return `<section id="${id}"><h2>${esc(title)}</h2>${body}</section>`;
}

function environmentSection(report: LabReport): string {
  const rows = environmentFacts(report).map(([k, v]) => `<dt>${esc(k)}</dt><dd>${valueHtml(v)}</dd>`);
  return `<section id="on-what"><h2>On what</h2><dl class="env">${rows.join('')}</dl></section>`;
}

function reportBody(report: LabReport): string {
  const colours = contestantColours(report);
  const headline =
    report.headline === null
      ? ''
      : `<div class="headline"><span class="factor">${esc(formatFactor(report.headline.factor))}</span><span class="ci">95% CI [${esc(formatSignificant(report.headline.ci95[0]))}, ${esc(formatSignificant(report.headline.ci95[1]))}]</span><span class="label">${esc(report.headline.label)}</span></div>`;
  const warnings =
    report.warnings.length === 0
      ? ''
      : `<section class="warnings" id="warnings" role="alert"><h2>⚠ Warning${report.warnings.length > 1 ? 's' : ''} — read before quoting any figure</h2><ul>${report.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></section>`;
  const overview = overviewSection(report, colours);
  const coldStarts = coldStartSection(report, colours);
  const runTime = runTimeSection(report);
  const toc: [string, string][] = [['verdict', 'Verdict']];
  if (report.hypotheses.length > 0) toc.push(['hypotheses', 'Hypotheses']);
  if (overview !== '') toc.push(['overview', 'Across scenarios']);
  if (report.scenarios.length > 0) toc.push(['scenarios', 'Scenarios']);
  if (coldStarts !== '') toc.push(['cold-starts', 'Cold starts']);
  if (runTime !== '') toc.push(['run-time', 'Run time']);
  toc.push(
    ['contestants', 'Contestants'],
    ['how', 'How'],
    ['on-what', 'On what'],
    ['not-measured', 'Not measured here'],
  );
  const env = report.environment;
  return `<header>
<h1>${esc(report.title)}</h1>
<p class="meta">Suite <strong>${esc(report.suite)}</strong> · generated ${esc(report.generated_at)} · pitlane ${esc(env.pitlane_version)}${env.git_commit !== null ? ` (${esc(env.git_commit)})` : ''} · ${esc(env.cpu_model)}, ${env.cores} cores</p>
</header>
${headline}
<p class="summary">${esc(report.summary)}</p>
${warnings}
<nav class="toc">${toc.map(([id, label]) => `<a href="#${id}">${esc(label)}</a>`).join('')}</nav>
${verdictSection(report, colours)}
${hypothesesSection(report)}
${overview}
${report.scenarios.length > 0 ? `<section id="scenarios"><h2>Scenarios</h2>${report.scenarios.map((s, i) => scenarioSection(s, i, colours)).join('\n')}</section>` : ''}
${coldStarts}
${runTime}
${contestantsSection(report, colours)}
${listSection('how', 'How', report.method)}
${environmentSection(report)}
${listSection('not-measured', 'Not measured here', report.not_measured)}
<footer>Generated by pitlane ${esc(env.pitlane_version)} from the ${esc(report.suite)} suite. Times are medians unless stated; ratios carry 95% bootstrap intervals over paired repeats; ${NOT_MEASURED} means not measured.</footer>
`;
}

/** The page around report bodies: self-contained, no network, no script. */
function htmlPage(title: string, version: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="pitlane ${esc(version)}">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body}</main>
</body>
</html>
`;
}

/**
 * The whole report as one self-contained HTML page: no network access, no script, charts as inline SVG.
 * Every piece of text from the report is escaped; `null` figures read "—" (not measured).
 */
export function renderHtmlReport(report: LabReport): string {
  return htmlPage(report.title, report.environment.pitlane_version, reportBody(report));
}

/** One suite of a report set: its report, or why it has none. */
export interface ReportSetEntry {
  readonly name: string;
  readonly report: LabReport | null;
  /** Link to the suite's own report page, relative to the set's page. */
  readonly href: string | null;
  readonly failure: string | null;
  readonly minutes: number;
}

/**
 * Several suites' reports on one self-contained page (the default suite of `npm start`): a summary table with
 * each suite's headline and warnings count, then every report in full, its ids prefixed so links stay inside it
 * and its headings one level down.
 */
export function renderHtmlReportSet(
  title: string,
  intro: string,
  entries: readonly ReportSetEntry[],
): string {
  const version = entries.find((e) => e.report !== null)?.report?.environment.pitlane_version ?? '';
  const env = entries.find((e) => e.report !== null)?.report?.environment;
  const rows = entries.map((e) => {
    const h = e.report?.headline;
    const headline =
      h === null || h === undefined
        ? NOT_MEASURED
        : `${esc(formatFactor(h.factor))} <span class="muted small">[${esc(formatSignificant(h.ci95[0]))}, ${esc(formatSignificant(h.ci95[1]))}] ${esc(h.label)}</span>`;
    const hyp = e.report?.hypotheses ?? [];
    const verdicts = hyp.length === 0 ? '' : hyp.map((x) => esc(hypothesisVerdict(x.verdict))).join(', ');
    const status =
      e.failure !== null
        ? `<span class="badge bad">failed</span> <span class="small">${esc(e.failure)}</span>`
        : `${e.report?.warnings.length ?? 0} warning(s)`;
    return `<tr><td><a href="#suite-${esc(e.name)}">${esc(e.name)}</a>${e.href !== null ? ` <span class="small">(<a href="${esc(e.href)}">own page</a>)</span>` : ''}</td><td>${headline}</td><td>${verdicts === '' ? NOT_MEASURED : verdicts}</td><td>${status}</td><td class="num">${e.minutes.toFixed(1)} min</td></tr>`;
  });
  const sections = entries.map((e) => {
    const inner =
      e.report === null
        ? `<h2>${esc(e.name)}</h2><p class="callout bad">This suite did not run: ${esc(e.failure ?? 'unknown')}</p>`
        : nestedBody(reportBody(e.report), `${e.name}-`);
    return `<section class="suite" id="suite-${esc(e.name)}">${inner}</section>`;
  });
  const body = `<header>
<h1>${esc(title)}</h1>
<p class="meta">generated ${esc(new Date().toISOString())}${env !== undefined ? ` · pitlane ${esc(env.pitlane_version)}${env.git_commit !== null ? ` (${esc(env.git_commit)})` : ''} · ${esc(env.cpu_model)}, ${env.cores} cores` : ''}</p>
</header>
<p class="summary">${esc(intro)}</p>
<section id="suites"><h2>Suites</h2><div class="table-wrap"><table><thead><tr><th>Suite</th><th>Headline</th><th>Hypotheses</th><th>Status</th><th class="num">Took</th></tr></thead><tbody>${rows.join('')}</tbody></table></div></section>
${sections.join('\n')}
`;
  return htmlPage(title, version, body);
}

/** A report body placed inside a page of several: ids prefixed (links follow), headings one level down. */
function nestedBody(html: string, prefix: string): string {
  return html
    .replace(/ id="(?!hatch")/g, ` id="${prefix}`)
    .replace(/ href="#/g, ` href="#${prefix}`)
    .replace(/<(\/?)h([1-5])\b/g, (_m, slash: string, level: string) => `<${slash}h${Number(level) + 1}`);
}
