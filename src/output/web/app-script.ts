/**
 * The page's script, served as /app.js: plain browser JavaScript kept as a string so that `tsc`
 * alone ships it (no bundler, nothing downloaded). Every value from the traffic (keys, command
 * lines, client and application names) reaches the page through textContent only.
 * (No template literals or `${` inside: this is a template literal itself.)
 */
export const APP_JS = String.raw`(function () {
  'use strict';
  var HOUR_S = 3600;
  /** No event for this long: the stream is stalled (the server went away or is stuck). */
  var STALE_MS = 5000;
  var xs = [];
  var ys = [];
  var chart = null;
  var lastEventMs = 0;

  function $(id) { return document.getElementById(id); }

  function num(n) { return n === null || n === undefined ? 'n/a' : Math.round(n).toLocaleString('en-US'); }
  function rate(n) { return n >= 100 ? num(n) : n.toFixed(1); }
  function pct(share) { return (share * 100).toFixed(1) + '%'; }
  function dur(us) {
    if (us < 1000) return Math.round(us) + 'us';
    if (us < 1e6) return (us / 1000).toFixed(us < 10000 ? 2 : 1) + 'ms';
    return (us / 1e6).toFixed(2) + 's';
  }
  function bytes(n) {
    if (n === null || n === undefined) return 'n/a';
    if (n < 1024) return n + ' B';
    if (n < 1048576) return (n / 1024).toFixed(1) + ' KiB';
    if (n < 1073741824) return (n / 1048576).toFixed(1) + ' MiB';
    return (n / 1073741824).toFixed(2) + ' GiB';
  }
  function utcTime(sec) { return new Date(sec * 1000).toISOString().slice(11, 23); }
  function short(n) {
    if (n >= 1e6) return (n / 1e6).toFixed(n >= 1e7 ? 0 : 1) + 'M';
    if (n >= 1e3) return (n / 1e3).toFixed(n >= 1e4 ? 0 : 1) + 'k';
    return String(Math.round(n * 10) / 10);
  }

  /** Sets an element's text (never its markup) and, optionally, whether it is marked bad. */
  function text(id, value, bad) {
    var el = $(id);
    el.textContent = value;
    if (bad !== undefined) el.classList.toggle('bad', bad);
  }

  /** One row per item; cells(item) gives [text, className] pairs. The full text is also the tooltip. */
  function fill(id, items, cells, emptyText) {
    var body = $(id);
    var rows = items.map(function (item) {
      var tr = document.createElement('tr');
      cells(item).forEach(function (c) {
        var td = document.createElement('td');
        td.textContent = c[0];
        td.title = c[0];
        if (c[1]) td.className = c[1];
        tr.appendChild(td);
      });
      return tr;
    });
    if (rows.length === 0) {
      var tr = document.createElement('tr');
      var td = document.createElement('td');
      td.colSpan = body.parentNode.querySelectorAll('th').length || 2;
      td.className = 'empty';
      td.textContent = emptyText;
      tr.appendChild(td);
      rows.push(tr);
    }
    body.replaceChildren.apply(body, rows);
  }

  function makeChart() {
    var el = $('chart');
    chart = new uPlot({
      width: el.clientWidth,
      height: el.clientHeight,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'); },
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } } },
      axes: [{}, { size: 56, values: function (u, vals) { return vals.map(short); } }],
      series: [{}, { label: 'commands/s', stroke: '#c6302b', fill: 'rgba(198,48,43,0.10)', width: 1.5, points: { show: false } }],
    }, [xs, ys], el);
    window.addEventListener('resize', function () { chart.setSize({ width: el.clientWidth, height: el.clientHeight }); });
  }

  function addRate(r) {
    if (r.full) { xs = []; ys = []; }
    r.samples.forEach(function (s) { xs.push(s[0] / 1000); ys.push(s[1]); });
    var cutoff = xs.length > 0 ? xs[xs.length - 1] - HOUR_S : 0;
    var drop = 0;
    while (drop < xs.length && xs[drop] < cutoff) drop++;
    if (drop > 0) { xs = xs.slice(drop); ys = ys.slice(drop); }
    if (chart !== null) chart.setData([xs, ys]);
    return ys.length > 0 ? ys[ys.length - 1] : null;
  }

  function renderTiles(v, now) {
    var t = v.totals;
    text('rate', now === null ? '–' : rate(now));
    text('commands', num(t.commands));
    text('errors', num(t.errors), t.errors > 0);
    text('slow', num(t.slowRequests), t.slowRequests > 0);
    text('conns', num(t.openConnections) + ' / ' + num(t.connections));
    $('latency').title = 'p90 ' + dur(v.latencyUs.p90) + ', p99.9 ' + dur(v.latencyUs.p999) + ', max ' + dur(v.latencyUs.max) + ', mean ' + dur(v.latencyUs.mean);
    text('latency', dur(v.latencyUs.p50) + ' / ' + dur(v.latencyUs.p99));
    var drops = (t.kernelDrops || 0) + (t.interfaceDrops || 0) + (t.shedFrames || 0);
    text('drops', t.kernelDrops === null && t.shedFrames === 0 ? 'n/a' : num(drops), drops > 0);
    text('gaps', num(t.gaps) + (t.gaps > 0 ? ' (' + bytes(t.gapBytes) + ')' : ''), t.gaps > 0);
  }

  function renderLoss(t) {
    var rows = [
      ['kernel drops', t.kernelDrops === null ? 'n/a' : num(t.kernelDrops), t.kernelDrops > 0],
      ['interface drops', t.interfaceDrops === null ? 'n/a' : num(t.interfaceDrops), t.interfaceDrops > 0],
      ['shed (analysis behind)', num(t.shedFrames), t.shedFrames > 0],
      ['gaps in TCP streams', num(t.gaps) + ' (' + bytes(t.gapBytes) + ')', t.gaps > 0],
      ['unanswered requests', num(t.unanswered), t.unanswered > 0],
      ['protocol violations', num(t.violations), t.violations > 0],
      ['unparsed bytes', bytes(t.unparsedBytes), t.unparsedBytes > 0],
      ['truncated records', num(t.truncatedRecords), t.truncatedRecords > 0],
    ];
    fill('loss-body', rows, function (r) { return [[r[0], ''], [r[1], r[2] ? 'n bad' : 'n']]; }, '');
  }

  function render(v) {
    lastEventMs = Date.now();
    var now = addRate(v.rate);
    document.title = 'redis-tap: ' + v.title;
    text('title', v.title);
    var ports = v.source.ports.length === 1 ? 'port ' + v.source.ports[0] : 'ports ' + v.source.ports.join(', ');
    text('source', (v.source.kind === 'live' ? 'live capture' : 'capture file') + ', ' + ports + ', ' + v.span.seconds.toFixed(1) + ' s of traffic');
    renderTiles(v, now);
    renderLoss(v.totals);
    fill('commands-body', v.commands, function (c) {
      return [[c.name, 'k grow'], [num(c.count), 'n'], [pct(c.share), 'n'], [num(c.errors), c.errors > 0 ? 'n bad' : 'n'],
        [dur(c.latencyUs.p50), 'n'], [dur(c.latencyUs.p99), 'n'], [dur(c.latencyUs.max), 'n']];
    }, 'no commands yet');
    text('hotkeys-note', v.hotKeysExact ? '(exact)' : '(estimates, each at most ' + num(v.hotKeysErrorBound) + ' high)');
    fill('hotkeys-body', v.hotKeys, function (k) { return [[k.key, 'k grow'], [num(k.count), 'n'], [bytes(k.bytes), 'n']]; }, 'no keys yet');
    fill('apps-body', v.apps, function (a) {
      var ips = a.ips.slice(0, 2).join(', ') + (a.ips.length > 2 ? ' +' + (a.ips.length - 2) : '');
      return [[a.name, 'grow'], [ips, 'cut'], [num(a.connections), 'n'], [num(a.commands), 'n'], [pct(a.share), 'n'],
        [num(a.errors), a.errors > 0 ? 'n bad' : 'n'], [dur(a.meanLatencyUs), 'n']];
    }, 'no clients yet');
    fill('slow-body', v.slow, function (s) {
      return [[utcTime(s.ts), ''], [s.client, ''], [dur(s.latencyUs), 'n'], [s.blocking ? 'blocking' : 'slow', ''], [s.command, 'k grow']];
    }, 'none at or above the threshold');
    var items = v.warnings.map(function (w) { var li = document.createElement('li'); li.textContent = w; return li; });
    if (items.length === 0) { var li = document.createElement('li'); li.className = 'none'; li.textContent = 'none'; items.push(li); }
    $('warnings').replaceChildren.apply($('warnings'), items);
  }

  function status(label, cls) { var el = $('status'); el.textContent = label; el.className = cls; }

  function connect() {
    var es = new EventSource('api/events');
    es.onmessage = function (e) {
      try { render(JSON.parse(e.data)); status('live', 'live'); } catch (err) { status('bad data: ' + err, 'stale'); }
    };
    es.onerror = function () { status('reconnecting', 'stale'); };
  }

  makeChart();
  connect();
  setInterval(function () {
    if (lastEventMs > 0 && Date.now() - lastEventMs > STALE_MS) status('no update for ' + Math.round((Date.now() - lastEventMs) / 1000) + ' s', 'stale');
  }, 1000);
})();
`;
