/**
 * The stylesheet of the HTML report, inlined into the page's <style> (the page loads nothing). Kept apart from
 * the markup so that the page's look can be read and changed in one place.
 */

export const CSS = `
:root{--fg:#1f2328;--muted:#59636e;--border:#d1d9e0;--soft:#f6f8fa;--good:#1a7f37;--good-bg:#dafbe1;--bad:#cf222e;--bad-bg:#ffebe9;--warn:#7d4e00;--warn-bg:#fff8c5;--warn-line:#d4a72c;--link:#0969da}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:#fff;color:var(--fg);font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans","Liberation Sans",sans-serif}
main{max-width:1180px;margin:0 auto;padding:36px 28px 72px}
a{color:var(--link);text-decoration:none}a:hover{text-decoration:underline}
h1{font-size:30px;line-height:1.2;margin:0 0 6px;letter-spacing:-.01em}
h2{font-size:21px;margin:44px 0 14px;padding-bottom:6px;border-bottom:1px solid var(--border)}
h3{font-size:18px;margin:0 0 6px}
h4{font-size:14px;margin:18px 0 8px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
p{margin:8px 0}
.meta,.muted{color:var(--muted)}.small{font-size:12px}
.summary{font-size:16px;max-width:900px}
.headline{display:flex;flex-wrap:wrap;align-items:baseline;gap:6px 18px;margin:22px 0;padding:18px 22px;border:1px solid var(--border);border-radius:10px;background:var(--soft)}
.headline .factor{font-size:42px;font-weight:700;line-height:1;font-variant-numeric:tabular-nums}
.headline .ci{font-size:16px;color:var(--muted);font-variant-numeric:tabular-nums}
.headline .label{flex-basis:100%;color:var(--fg)}
nav.toc{display:flex;flex-wrap:wrap;gap:6px 14px;font-size:13.5px;padding:10px 0;border-top:1px solid var(--border);border-bottom:1px solid var(--border)}
.warnings{margin:22px 0;padding:14px 18px;border:1px solid var(--warn-line);border-left:6px solid #bf8700;border-radius:8px;background:var(--warn-bg)}
.warnings h2{margin:0 0 6px;padding:0;border:0;font-size:17px;color:var(--warn)}
.warnings ul{margin:4px 0 0;padding-left:20px}
.table-wrap{overflow-x:auto;margin:10px 0}
table{border-collapse:collapse;width:100%;font-size:13.5px;font-variant-numeric:tabular-nums}
th,td{padding:7px 9px;border-bottom:1px solid var(--border);text-align:left;vertical-align:top}
thead th{background:var(--soft);font-weight:600;white-space:nowrap;border-bottom:2px solid var(--border)}
tbody th{font-weight:600}
.num{text-align:right;white-space:nowrap}
table.verdict td.scenario{font-weight:600;border-right:1px solid var(--border);background:#fff}
table.verdict tr.first td{border-top:2px solid var(--border)}
td.contestant{white-space:nowrap}
.ratio{display:block;font-size:12px;margin-top:2px;font-weight:600}
.ratio.better{color:var(--good)}.ratio.worse{color:var(--bad)}.ratio.even,.ratio.muted{color:var(--muted);font-weight:400}
tr.status-incorrect td:not(.scenario),tr.status-failed td:not(.scenario){background:#fff6f5}
tr.status-saturated td:not(.scenario){background:#fffcea}
tr.hypothesis-supported td{background:#f3fbf4}tr.hypothesis-rejected td{background:#fff6f5}
tr.status-incorrect td.num,tr.status-saturated td.num,tr.status-failed td.num,tr.status-skipped td.num{color:var(--muted)}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600;white-space:nowrap;line-height:1.6}
.badge.correct{background:var(--good-bg);color:#116329}.badge.bad{background:var(--bad-bg);color:var(--bad)}
.badge.warn{background:var(--warn-bg);color:var(--warn);border:1px solid #eed888}.badge.unchecked{background:var(--soft);color:var(--muted);border:1px solid var(--border)}
td .badge{white-space:normal;border-radius:6px;max-width:190px;line-height:1.35;padding:2px 8px}
.failure{font-size:12px;color:var(--bad);margin-top:3px;max-width:320px;white-space:normal}
.skipped{font-size:12px;color:var(--muted);margin-top:3px;max-width:320px;white-space:normal}
.nm{color:#8c959f}.nowrap{white-space:nowrap}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:7px}
.beyond{display:block;font-size:11px;color:var(--muted)}
td.thin{background:#fffcea}
.chips{display:flex;flex-wrap:wrap;gap:6px}
.chip{display:inline-block;padding:2px 10px;border:1px solid var(--border);border-radius:999px;font-size:12.5px;background:var(--soft)}
article.scenario{margin:26px 0 36px;padding:22px 24px;border:1px solid var(--border);border-radius:10px}
.pair{display:flex;flex-wrap:wrap;gap:8px 28px;align-items:flex-start}.pair>figure{flex:1 1 560px;max-width:660px}.pair>div{flex:1 1 340px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:20px}
figure{margin:14px 0}
figcaption{font-size:13.5px;font-weight:600;margin-bottom:6px}
svg.chart{display:block;width:100%;height:auto;max-width:100%}
svg.chart text{font-family:inherit;font-size:12px;fill:#3d444d}
svg.chart text.axis-title{font-size:12.5px;fill:#57606a;font-weight:600}
svg.chart text.group{font-weight:600;fill:#1f2328}
svg.chart text.value{fill:#1f2328;font-size:11.5px}
svg.chart .axis{stroke:#8c959f;stroke-width:1}
svg.chart .grid{stroke:#eaeef2;stroke-width:1}
svg.chart .sep{stroke:#eaeef2;stroke-width:1}
svg.chart .reference{stroke:#24292f;stroke-width:1.2;stroke-dasharray:3 3}
svg.chart .whisker{stroke:#24292f;stroke-width:1.4;fill:none}
.note{font-size:12.5px;color:var(--muted)}
.callout{padding:10px 14px;border-radius:8px;margin:12px 0}
.callout.warn{background:var(--warn-bg);border:1px solid var(--warn-line)}
.callout.bad{background:var(--bad-bg);border:1px solid #ffcecb}
.callout.ceiling{border:1px dashed var(--line,#d0d7de)}
.callout ul{margin:6px 0 0;padding-left:20px}
ul.settings,ul.thresholds{list-style:none;margin:0;padding:0}
ul.settings li{padding:1px 4px;border-radius:4px;white-space:nowrap}
li.differs{background:var(--warn-bg)}
ul.thresholds li{margin:4px 0;font-size:13.5px}
code{font-family:ui-monospace,SFMono-Regular,"SF Mono",Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px;background:var(--soft);padding:1px 5px;border-radius:4px}
code.cmd{word-break:break-all}
dl.env{display:grid;grid-template-columns:max-content 1fr;gap:6px 24px;margin:0;font-size:14px}
dl.env dt{color:var(--muted)}dl.env dd{margin:0}
footer{margin-top:48px;font-size:12.5px;color:var(--muted)}
@media (max-width:900px){.charts{grid-template-columns:1fr}}
@media print{main{max-width:none;padding:0}article.scenario,figure,tr{break-inside:avoid}}
`;
