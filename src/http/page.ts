import { createHash } from 'node:crypto';
import type { StatusSnapshot } from './status-model.js';

/**
 * JSON that is safe inside an HTML `<script>` element: `<`, `>` and `&` as
 * \u escapes, so a field holding `</script>` or `<!--` cannot end the
 * element, and U+2028/2029 escaped for old parsers. JSON.parse gives back
 * the exact strings.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * The status page: a static shell, the snapshot at load time as inert JSON,
 * and a script that draws it and redraws on every Server-Sent Event from
 * `/events`. The script only ever sets `textContent` and attributes (never
 * innerHTML): event fields are tenant input and are shown as text.
 */
export function renderPage(snapshot: StatusSnapshot): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>am-handlers status</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d232a; background: #fafbfc; }
  h1 { font-size: 1.3rem; margin: 0 0 .3rem; } h2 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
  table { border-collapse: collapse; width: 100%; background: #fff; }
  th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #e3e6ea; vertical-align: top; }
  th { background: #f0f2f5; font-weight: 600; }
  td.mono, .mono { font-family: ui-monospace, monospace; font-size: 12px; word-break: break-all; }
  .badge { display: inline-block; padding: 0 .45rem; border-radius: .6rem; font-size: 12px; font-weight: 600; }
  .OK, .ready, .live { background: #d8f3dc; color: #1b5e20; }
  .FAILED, .TIMED_OUT, .not-ready, .offline { background: #fde2e1; color: #a4161a; }
  .REJECTED, .CANCELLED, .STALE, .reconnecting { background: #fff3cd; color: #7a5b00; }
  .bar { width: 9rem; height: .6rem; background: #e3e6ea; border-radius: .3rem; overflow: hidden; display: inline-block; vertical-align: middle; margin-right: .4rem; }
  .bar > span { display: block; height: 100%; background: #2d6cdf; }
  .empty { color: #777; font-style: italic; }
  #reasons { color: #a4161a; margin: .2rem 0; padding-left: 1.2rem; }
</style>
</head>
<body>
<h1>am-handlers <span id="instance" class="mono"></span></h1>
<div>state <span id="state" class="badge"></span> <span id="ready" class="badge"></span>
  updates <span id="connection" class="badge reconnecting">connecting</span>
  queued <span id="queued"></span> · totals <span id="totals"></span></div>
<ul id="reasons"></ul>
<h2>In flight</h2>
<table id="in-flight"><thead><tr><th>sliver</th><th>type</th><th>operation</th><th>running for</th><th>progress</th><th>playbook / task</th><th>host</th></tr></thead><tbody></tbody></table>
<h2>Recent results</h2>
<table id="results"><thead><tr><th>finished</th><th>sliver</th><th>type</th><th>operation</th><th>outcome</th><th>duration</th><th>message</th></tr></thead><tbody></tbody></table>
<h2>Recent drift</h2>
<table id="drift"><thead><tr><th>detected</th><th>sliver</th><th>type</th><th>observed</th><th>differences</th><th>repair</th></tr></thead><tbody></tbody></table>
<h2>Partitions</h2>
<table id="partitions"><thead><tr><th>partition</th><th>fetching</th><th>lag</th><th>uncommitted</th><th>ledgers</th></tr></thead><tbody></tbody></table>
<h2>Recent dead letters</h2>
<table id="dead-letters"><thead><tr><th>at</th><th>source</th><th>reason</th></tr></thead><tbody></tbody></table>
<script type="application/json" id="initial">${scriptJson(snapshot)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

/** The page's only script: draws a snapshot and redraws on each Server-Sent Event. Static: allowed by its hash. */
const PAGE_SCRIPT = `
(function () {
  'use strict';
  var current = JSON.parse(document.getElementById('initial').textContent);
  function text(el, value) { el.textContent = value == null ? '' : String(value); return el; }
  function cell(row, value, cls) { var td = text(document.createElement('td'), value); if (cls) td.className = cls; row.appendChild(td); return td; }
  function badge(value, cls) { var s = text(document.createElement('span'), value); s.className = 'badge ' + (cls || value); return s; }
  function time(ms) { return new Date(ms).toLocaleTimeString(); }
  function secs(ms) { return (ms / 1000).toFixed(1) + ' s'; }
  function fill(id, rows, columns, draw, empty) {
    var body = document.querySelector('#' + id + ' tbody');
    while (body.firstChild) body.removeChild(body.firstChild);
    if (rows.length === 0) { var tr = body.insertRow(); var td = cell(tr, empty, 'empty'); td.colSpan = columns; return; }
    rows.forEach(function (r) { var tr = document.createElement('tr'); draw(tr, r); body.appendChild(tr); });
  }
  function progress(tr, p) {
    var td = document.createElement('td');
    if (p) {
      var bar = document.createElement('span'); bar.className = 'bar';
      var inner = document.createElement('span');
      inner.style.width = p.taskCount ? Math.min(100, Math.round(100 * (p.taskIndex - 1) / p.taskCount)) + '%' : '0%'; // tasks done before this one
      bar.appendChild(inner); td.appendChild(bar);
      td.appendChild(document.createTextNode('task ' + p.taskIndex + (p.taskCount ? ' of ' + p.taskCount : '')));
    } else td.appendChild(document.createTextNode('starting'));
    td.className = 'progress'; tr.appendChild(td);
  }
  function draw(s) {
    current = s;
    text(document.getElementById('instance'), s.instance);
    var st = document.getElementById('state'); text(st, s.state);
    var rd = document.getElementById('ready'); text(rd, s.ready ? 'ready' : 'not ready'); rd.className = 'badge ' + (s.ready ? 'ready' : 'not-ready');
    text(document.getElementById('queued'), s.queued);
    text(document.getElementById('totals'), Object.keys(s.totals).map(function (k) { return k + ' ' + s.totals[k]; }).join(', ') || 'none yet');
    var reasons = document.getElementById('reasons');
    while (reasons.firstChild) reasons.removeChild(reasons.firstChild);
    s.reasons.forEach(function (r) { reasons.appendChild(text(document.createElement('li'), r)); });
    fill('in-flight', s.inFlight, 7, function (tr, r) {
      tr.setAttribute('data-event-id', r.eventId);
      cell(tr, r.sliverId, 'mono sliver'); cell(tr, r.resourceType); cell(tr, r.operation);
      cell(tr, secs(s.generatedAt - r.startedAt)); progress(tr, r.progress);
      cell(tr, r.progress ? (r.progress.step ? '#' + r.progress.step + ' ' : '') + r.progress.playbook + ' / ' + r.progress.task : '', 'task');
      cell(tr, r.progress ? r.progress.host : '', 'host');
    }, 'nothing running');
    fill('results', s.results, 7, function (tr, r) {
      tr.setAttribute('data-event-id', r.eventId);
      cell(tr, time(r.finishedAt)); cell(tr, r.sliverId, 'mono sliver'); cell(tr, r.resourceType); cell(tr, r.operation);
      var o = document.createElement('td'); o.className = 'outcome'; o.appendChild(badge(r.outcome)); if (r.replayed) o.appendChild(document.createTextNode(' (replayed)')); tr.appendChild(o);
      cell(tr, secs(r.durationMs)); cell(tr, r.message, 'message');
    }, 'no results yet');
    fill('drift', s.drift || [], 6, function (tr, r) {
      tr.setAttribute('data-sliver-id', r.sliverId);
      cell(tr, time(r.detectedAt)); cell(tr, r.sliverId, 'mono sliver'); cell(tr, r.resourceType);
      var o = document.createElement('td'); o.className = 'observed'; o.appendChild(badge(r.observed, r.observed === 'EXISTS' ? 'STALE' : 'FAILED')); tr.appendChild(o);
      cell(tr, r.differences.join('; '), 'differences'); cell(tr, r.repair || '', 'repair');
    }, 'no drift seen');
    fill('partitions', s.partitions, 5, function (tr, r) {
      cell(tr, r.partition); var f = document.createElement('td'); f.appendChild(badge(r.paused ? 'paused' : 'fetching', r.paused ? 'reconnecting' : 'live')); tr.appendChild(f);
      cell(tr, r.lag == null ? '?' : r.lag, 'lag'); cell(tr, r.uncommitted); cell(tr, r.ledgersRestored ? 'restored' : 'restoring');
    }, 'no partitions owned');
    fill('dead-letters', s.deadLetters, 3, function (tr, r) {
      cell(tr, time(r.at)); cell(tr, r.topic + '/' + r.partition + '@' + r.offset, 'mono'); cell(tr, r.reason, 'reason');
    }, 'none');
  }
  draw(current);
  var conn = document.getElementById('connection');
  if (!window.EventSource) { text(conn, 'not supported'); return; }
  var source = new EventSource('events');
  source.onopen = function () { text(conn, 'live'); conn.className = 'badge live'; };
  source.onerror = function () { text(conn, 'reconnecting'); conn.className = 'badge reconnecting'; };
  source.onmessage = function (e) { draw(JSON.parse(e.data)); };
})();
`;

/** `script-src` of the page's Content-Security-Policy: this exact script and nothing else runs. */
export const PAGE_SCRIPT_SOURCE = `'sha256-${createHash('sha256').update(PAGE_SCRIPT).digest('base64')}'`;
