/**
 * The page at `/`: static markup and style only. Everything from the traffic arrives as JSON
 * and is put in by app.js as text, so nothing here is ever built from a key or a name.
 */

import { createHash } from 'node:crypto';

const STYLE = `
:root { --bg: #f4f5f7; --panel: #fff; --line: #dde1e6; --text: #1d2329; --dim: #6a737d; --accent: #c6302b; --bad: #b3261e; --ok: #2e7d32; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font: 13px/1.35 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }
header { display: flex; align-items: baseline; gap: 12px; padding: 8px 16px; background: #24292f; color: #fff; }
header h1 { margin: 0; font-size: 16px; color: #ff6b5e; }
header .title { font-weight: 600; }
header .dim { color: #b5bcc4; }
#status { margin-left: auto; font-size: 12px; padding: 1px 8px; border-radius: 9px; background: #57606a; }
#status.live { background: var(--ok); }
#status.stale { background: var(--bad); }
main { padding: 10px 16px 16px; }
.tiles { display: flex; gap: 10px; margin-bottom: 10px; }
.tile { flex: 1 1 0; min-width: 0; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; }
.tile.x2 { flex-grow: 1.6; }
.tile .label { color: var(--dim); font-size: 11px; text-transform: uppercase; letter-spacing: .03em; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.tile .value { font-size: 19px; font-weight: 600; font-variant-numeric: tabular-nums; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.tile.rate .value { color: var(--accent); }
.grid { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 10px; }
.wide { grid-column: span 2; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px 8px; min-width: 0; }
.panel h2 { margin: 0 0 4px; font-size: 13px; }
.panel h2 .dim { font-weight: normal; }
.scroll { max-height: 262px; overflow-y: auto; }
.dim { color: var(--dim); }
#chart { height: 190px; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 12px; }
th { position: sticky; top: 0; background: var(--panel); text-align: left; color: var(--dim); font-weight: 500; border-bottom: 1px solid var(--line); padding: 2px 4px; white-space: nowrap; }
td { padding: 2px 4px; border-bottom: 1px solid #f0f2f4; white-space: nowrap; }
th.n, td.n { text-align: right; }
th.grow { width: 100%; }
td.grow { max-width: 0; overflow: hidden; text-overflow: ellipsis; }
td.cut { max-width: 120px; overflow: hidden; text-overflow: ellipsis; }
td.k { font-family: "DejaVu Sans Mono", ui-monospace, monospace; }
td.empty { color: var(--dim); font-style: italic; }
td.bad, .tile .value.bad { color: var(--bad); }
ul#warnings { margin: 0; padding-left: 18px; color: var(--bad); }
ul#warnings li.none { color: var(--dim); list-style: none; margin-left: -18px; }
@media (max-width: 1000px) { .grid { grid-template-columns: minmax(0, 1fr); } .wide { grid-column: auto; } .tiles { flex-wrap: wrap; } .tile { flex-basis: 22%; } }
`;

/**
 * A table's head: titles, those ending in `#` right-aligned (numbers) with the `#` dropped, the
 * one ending in `*` taking the width left (its cells cut with an ellipsis). Classes only: the
 * CSP refuses style attributes.
 */
function head(cols: string[]): string {
  const cells = cols.map((c) => {
    const cls = c.endsWith('#') ? ' class="n"' : c.endsWith('*') ? ' class="grow"' : '';
    return `<th${cls}>${cls === '' ? c : c.slice(0, -1)}</th>`;
  });
  return `<thead><tr>${cells.join('')}</tr></thead>`;
}

function tile(id: string, label: string, cls = ''): string {
  return `<div class="tile${cls ? ' ' + cls : ''}"><div class="label">${label}</div><div id="${id}" class="value">–</div></div>`;
}

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>redis-tap</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="uplot.css">
<style>${STYLE}</style>
</head>
<body>
<header><h1>redis-tap</h1><span id="title" class="title"></span><span id="source" class="dim"></span><span id="status">connecting</span></header>
<main>
<section class="tiles">
${tile('rate', 'commands/s', 'rate')}
${tile('commands', 'commands')}
${tile('errors', 'errors')}
${tile('slow', 'slow requests')}
${tile('conns', 'connections open / all', 'x2')}
${tile('latency', 'latency p50 / p99', 'x2')}
${tile('drops', 'drops')}
${tile('gaps', 'gaps')}
</section>
<div class="grid">
<section class="panel wide"><h2>Commands/s, last hour <span class="dim">(UTC)</span></h2><div id="chart"></div></section>
<section class="panel"><h2>Drops and gaps</h2><table><tbody id="loss-body"></tbody></table></section>
<section class="panel"><h2>Commands <span class="dim">(latency percentiles)</span></h2><div class="scroll"><table>${head(['command*', 'count#', 'share#', 'errors#', 'p50#', 'p99#', 'max#'])}<tbody id="commands-body"></tbody></table></div></section>
<section class="panel"><h2>Hot keys <span id="hotkeys-note" class="dim"></span></h2><div class="scroll"><table>${head(['key*', 'count#', 'bytes#'])}<tbody id="hotkeys-body"></tbody></table></div></section>
<section class="panel"><h2>Clients by application</h2><div class="scroll"><table>${head(['application*', 'IPs', 'conns#', 'cmds#', 'share#', 'errors#', 'mean lat#'])}<tbody id="apps-body"></tbody></table></div></section>
<section class="panel wide"><h2>Slow requests</h2><div class="scroll"><table>${head(['time (UTC)', 'client', 'latency#', 'kind', 'command*'])}<tbody id="slow-body"></tbody></table></div></section>
<section class="panel"><h2>Warnings</h2><ul id="warnings"></ul></section>
</div>
</main>
<script src="uplot.js"></script>
<script src="app.js"></script>
</body>
</html>
`;

/**
 * Scripts only from this server, the one style block by its hash (uPlot sizes its elements
 * through the style property, which CSP leaves alone), data only from this origin.
 */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  `style-src 'self' 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
