#!/usr/bin/env bash
# it_report_browser.sh - the validation report in a real browser (issue 6).
#
# Usage: it_report_browser.sh [LEADWATCH_BINARY]   (CTest passes the binary;
# it is not used yet: `leadwatch report` is not wired into the CLI, so the
# report is written by the benchmark program, bench_report DIR, which renders
# the simulator's 2-year, 8-input demo exactly as the command will.)
#
# Steps:
#   1. bench_report writes report.html / .md / .json into a temp directory
#      (twice: the second run compares with the first, so every section has
#      content).
#   2. Static checks: report.html < 2 MB; `tidy -e -q` reports no errors and
#      no warnings; no src=, url( or http(s) reference other than the SVG
#      namespace.
#   3. Headless Chromium (Debian `chromium`) driven over the Chrome DevTools
#      Protocol on --remote-debugging-pipe (fd 3/4, NUL-separated JSON), by
#      a small node script embedded below.  The pipe transport needs no
#      WebSocket and no npm package, so the test works offline; network is
#      also cut with --host-resolver-rules so nothing can leave the machine
#      even if a request were made.  The script loads the file:// URL and
#      asserts: no console error / uncaught exception / Log error entry; no
#      request other than file:, data: or about:; every chart (svg.lw-chart)
#      has a drawing area (.lw-plot) with positive width and height from
#      getBoundingClientRect; one <section class="lw-edge"> per headline
#      line.  It saves a full-page PNG screenshot and prints the page to PDF
#      (print CSS must produce pages).
#   4. Artefacts land in $LW_BINARY_DIR/report-browser/ (report files,
#      report-full.png, report.pdf).  With LW_UPDATE_DOCS=1 the top of the
#      page is also saved as docs/report-demo.png (the README screenshot).
#
# Chromium and tidy come from scripts/install-deps --test when missing.
set -euo pipefail

SRC=${LW_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${LW_BINARY_DIR:-$PWD}
DEMO="$BIN/bench_report"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

fail() { echo "it_report_browser: FAIL: $*" >&2; exit 1; }

[ -x "$DEMO" ] || fail "$DEMO not built (cmake --build ... --target bench_report)"
if [ ! -x "$CHROMIUM" ] || ! command -v tidy >/dev/null || ! command -v node >/dev/null; then
  echo "it_report_browser: installing chromium/tidy via scripts/install-deps --test"
  "$SRC/scripts/install-deps" --test --extra nodejs || fail "cannot install chromium, tidy, node"
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
ART="$BIN/report-browser"
rm -rf "$ART"
mkdir -p "$ART"

# 1. the report
OUT="$WORK/out"
HTML=$("$DEMO" "$OUT" | tail -n 1)
[ "$HTML" = "$OUT/report.html" ] || fail "bench_report printed '$HTML', expected $OUT/report.html"
for f in report.html report.md report.json; do
  [ -s "$OUT/$f" ] || fail "$f missing or empty"
done
cp "$OUT"/report.* "$ART/"

# 2. static checks
size=$(stat -c %s "$HTML")
[ "$size" -lt $((2 * 1024 * 1024)) ] || fail "report.html is $size bytes (limit 2 MB)"
if ! tidy -e -q "$HTML" >"$WORK/tidy.txt" 2>&1; then
  cat "$WORK/tidy.txt" >&2
  fail "tidy reported problems"
fi
if grep -n -E 'src=|url\(|https?://' "$HTML" | grep -v -E 'xmlns="http://www\.w3\.org/2000/svg"' \
    >"$WORK/refs.txt"; then
  head -5 "$WORK/refs.txt" >&2
  fail "report.html references external resources"
fi
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["schema"]=="leadwatch.report/1"; assert d["analysis"]["schema"]=="leadwatch.analysis/1"' \
  "$OUT/report.json" || fail "report.json is not valid"

# 3. the browser
cat >"$WORK/cdp.js" <<'EOF'
// Minimal Chrome DevTools Protocol client over --remote-debugging-pipe.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const [chromium, htmlPath, fullPng, pdfPath, docPng] = process.argv.slice(2);
// the profile lives under the test's temp directory, which the shell removes
const profile = fs.mkdtempSync(path.join(process.env.LW_PROFILE_ROOT || os.tmpdir(), 'chromium-'));
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-extensions', '--mute-audio', '--hide-scrollbars',
  '--host-resolver-rules=MAP * ~NOTFOUND', `--user-data-dir=${profile}`,
  '--remote-debugging-pipe', 'about:blank'];
const proc = spawn(chromium, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
let stderr = '';
proc.stderr.on('data', (d) => { stderr += d; });
const toBrowser = proc.stdio[3], fromBrowser = proc.stdio[4];

let nextId = 1;
const pending = new Map();
const listeners = [];
let buf = Buffer.alloc(0);
fromBrowser.on('data', (chunk) => {
  buf = Buffer.concat([buf, chunk]);
  let z;
  while ((z = buf.indexOf(0)) >= 0) {
    const msg = JSON.parse(buf.subarray(0, z).toString('utf8'));
    buf = buf.subarray(z + 1);
    if (msg.id && pending.has(msg.id)) {
      const { resolve, reject, method } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) reject(new Error(`${method}: ${JSON.stringify(msg.error)}`));
      else resolve(msg.result);
    } else if (msg.method) {
      for (const l of listeners) l(msg);
    }
  }
});
function send(method, params = {}, sessionId) {
  const id = nextId++;
  const msg = { id, method, params };
  if (sessionId) msg.sessionId = sessionId;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, method });
    toBrowser.write(JSON.stringify(msg) + '\0');
  });
}
function waitFor(method, ms) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${method}`)), ms);
    listeners.push((m) => { if (m.method === method) { clearTimeout(t); resolve(m.params); } });
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const problems = [], requests = [], consoleErrors = [];
listeners.push((m) => {
  const p = m.params || {};
  if (m.method === 'Network.requestWillBeSent') requests.push(p.request.url);
  if (m.method === 'Runtime.consoleAPICalled' && (p.type === 'error' || p.type === 'assert'))
    consoleErrors.push('console.' + p.type + ': ' + (p.args || []).map((a) => a.value).join(' '));
  if (m.method === 'Runtime.exceptionThrown')
    consoleErrors.push('exception: ' + JSON.stringify(p.exceptionDetails.text));
  if (m.method === 'Log.entryAdded' && p.entry.level === 'error')
    consoleErrors.push('log: ' + p.entry.text + (p.entry.url ? ' ' + p.entry.url : ''));
});

async function main() {
  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId: s } = await send('Target.attachToTarget', { targetId, flatten: true });
  await send('Page.enable', {}, s);
  await send('Runtime.enable', {}, s);
  await send('Log.enable', {}, s);
  await send('Network.enable', {}, s);
  const W = 1200;
  await send('Emulation.setDeviceMetricsOverride',
    { width: W, height: 900, deviceScaleFactor: 1, mobile: false }, s);
  const loaded = waitFor('Page.loadEventFired', 30000);
  const nav = await send('Page.navigate', { url: 'file://' + path.resolve(htmlPath) }, s);
  if (nav.errorText) throw new Error('navigation failed: ' + nav.errorText);
  await loaded;
  await sleep(500); // late requests and console messages, if any, arrive now

  const probe = await send('Runtime.evaluate', { returnByValue: true, expression: `(() => {
      const charts = [...document.querySelectorAll('svg.lw-chart')];
      return {
        charts: charts.length,
        chartsWithoutPlot: charts.filter((c) => !c.querySelector('.lw-plot')).length,
        plots: [...document.querySelectorAll('.lw-plot')].map((el) => {
          const r = el.getBoundingClientRect();
          return [r.width, r.height];
        }),
        edges: document.querySelectorAll('section.lw-edge').length,
        headline: document.querySelectorAll('#headline li.lw-edge-line').length,
        height: Math.ceil(document.documentElement.scrollHeight),
        title: document.title,
      };
    })()` }, s);
  const r = probe.result.value;
  if (r.charts < 3) problems.push(`only ${r.charts} charts`);
  if (r.chartsWithoutPlot) problems.push(`${r.chartsWithoutPlot} charts without a .lw-plot area`);
  const empty = r.plots.filter(([w, h]) => !(w > 0 && h > 0));
  if (empty.length) problems.push(`${empty.length} of ${r.plots.length} plot areas are empty`);
  if (r.edges === 0 || r.edges !== r.headline)
    problems.push(`${r.edges} edge sections for ${r.headline} headline lines`);

  const shot = await send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true,
    clip: { x: 0, y: 0, width: W, height: r.height, scale: 1 } }, s);
  fs.writeFileSync(fullPng, Buffer.from(shot.data, 'base64'));
  if (docPng) {
    const top = await send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true,
      clip: { x: 0, y: 0, width: W, height: Math.min(r.height, 2000), scale: 1 } }, s);
    fs.writeFileSync(docPng, Buffer.from(top.data, 'base64'));
  }
  const pdf = await send('Page.printToPDF', { printBackground: true, preferCSSPageSize: true }, s);
  const pdfBytes = Buffer.from(pdf.data, 'base64');
  fs.writeFileSync(pdfPath, pdfBytes);
  const pages = (pdfBytes.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
  if (pages < 2) problems.push(`print produced ${pages} pages`);

  const external = requests.filter((u) => !/^(file|data|about):/.test(u));
  if (external.length) problems.push(`external requests: ${external.join(', ')}`);
  if (consoleErrors.length) problems.push(`console errors: ${consoleErrors.join(' | ')}`);
  console.log(JSON.stringify({ title: r.title, charts: r.charts, plots: r.plots.length,
    edges: r.edges, height: r.height, requests: requests.length, external: external.length,
    consoleErrors: consoleErrors.length, pdfPages: pages,
    pngBytes: fs.statSync(fullPng).size }));
  await send('Browser.close').catch(() => {});
}

const watchdog = setTimeout(() => {
  console.error('cdp: timeout\n' + stderr.slice(-2000));
  proc.kill('SIGKILL');
  process.exit(1);
}, 90000);
const exited = new Promise((r) => proc.once('exit', r));
main().then(async () => {
  clearTimeout(watchdog);
  proc.kill();
  await exited;
  if (problems.length) { console.error('cdp: ' + problems.join('\ncdp: ')); process.exit(1); }
  process.exit(0);
}, (e) => {
  console.error('cdp: ' + e.message + '\n' + stderr.slice(-2000));
  proc.kill('SIGKILL');
  process.exit(1);
});
EOF

DOC_PNG=""
if [ "${LW_UPDATE_DOCS:-0}" = 1 ]; then DOC_PNG="$SRC/docs/report-demo.png"; fi
if ! LW_PROFILE_ROOT="$WORK" node "$WORK/cdp.js" "$CHROMIUM" "$HTML" "$ART/report-full.png" "$ART/report.pdf" $DOC_PNG \
    >"$WORK/cdp.out"; then
  cat "$WORK/cdp.out"
  fail "browser checks"
fi
cat "$WORK/cdp.out"
[ -s "$ART/report-full.png" ] || fail "no screenshot"
head -c 8 "$ART/report-full.png" | od -An -tx1 | grep -q '89 50 4e 47' || fail "screenshot is not a PNG"
echo "it_report_browser: OK ($size bytes; artefacts in $ART)"
