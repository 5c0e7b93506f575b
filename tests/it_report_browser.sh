#!/usr/bin/env bash
# it_report_browser.sh - the validation report in a real browser (issues 6 and 15).
#
# Usage: it_report_browser.sh [LEADWATCH_BINARY]   (CTest passes the binary;
# the report is written by the benchmark program, bench_report DIR, which
# renders the simulator's 2-year, 8-input demo exactly as `leadwatch report`
# does - with a planted break: the playlists effect is switched off from day
# 560, 2025-07-14.)
#
# Steps:
#   1. bench_report writes report.html / .md / .slack.txt / .json into a temp
#      directory (twice: the second run compares with the first, so every
#      section has content).  report.slack.txt must be Slack mrkdwn (no
#      Markdown headings, tables or **bold**) and say when playlists stopped
#      leading.
#   2. Static checks: report.html < 2 MB; `tidy -e -q` reports no errors and
#      no warnings; no src=, url( or http(s) reference other than the SVG
#      namespace.
#   3. Headless Chromium (Debian `chromium`) driven over the Chrome DevTools
#      Protocol on --remote-debugging-pipe (fd 3/4, NUL-separated JSON), by
#      a small node script embedded below.  The pipe transport needs no
#      WebSocket and no npm package, so the test works offline; network is
#      also cut with --host-resolver-rules so nothing can leave the machine
#      even if a request were made.  At 1280 px (desktop) and at 390 px (a
#      phone, mobile emulation) the script loads the file:// URL, opens every
#      <details>, and asserts on what is displayed: every shown chart
#      (svg.lw-chart) has .lw-plot areas with positive size; no chart is
#      wider than the viewport and the page does not scroll sideways; chart
#      text is >= 11 px on screen (each <text>'s computed font-size times the
#      chart's scale, rendered width / viewBox width); one edge section and
#      one <details> per headline line; a glossary; the headline of the
#      planted break's edge says "stopped leading ... on DATE" with DATE
#      within 30 days of the break.  It saves a full-page screenshot per
#      width and requires it not blank (>= 2% of pixels not near-white,
#      decoded from the PNG with zlib), then prints to PDF (>= 2 pages).
#      Throughout: no console error / uncaught exception / Log error entry,
#      no request other than file:, data: or about:.
#   4. Artefacts land in $LW_BINARY_DIR/report-browser/ (report files,
#      report-full.png, report-phone.png, report.pdf).  With LW_UPDATE_DOCS=1
#      the tops of the pages (statistics collapsed) are also saved as
#      docs/report-demo.png and docs/report-demo-phone.png (the README's).
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
for f in report.html report.md report.json report.slack.txt; do
  [ -s "$OUT/$f" ] || fail "$f missing or empty"
done
cp "$OUT"/report.* "$ART/"
# the planted break of the demo (bench_report.c: the playlists effect is switched
# off from day 560 of a window starting 2024-01-01)
BREAK_EDGE="playlists_created->listening_minutes"
BREAK_DATE=$(date -u -d "2024-01-01 + 560 days" +%F)
# report.slack.txt is Slack mrkdwn: no Markdown headings, tables or **bold**
if grep -n -E '^#|^\||\*\*' "$OUT/report.slack.txt" >"$WORK/slack.txt"; then
  head -5 "$WORK/slack.txt" >&2
  fail "report.slack.txt carries Markdown that Slack shows literally"
fi
grep -q -F "stopped leading listening minutes on" "$OUT/report.slack.txt" ||
  fail "report.slack.txt does not state when playlists stopped leading"

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

const [chromium, htmlPath, fullPng, phonePng, pdfPath, breakEdge, breakDate, docPng, docPhonePng] =
  process.argv.slice(2);
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

// Decode a Chromium screenshot PNG (8-bit RGB/RGBA, not interlaced) and return the
// share of pixels that are not near-white: a blank page scores ~0.
function inkShare(png) {
  const zlib = require('zlib');
  let off = 8, w = 0, h = 0, ct = 0;
  const idat = [];
  while (off < png.length) {
    const len = png.readUInt32BE(off), type = png.toString('latin1', off + 4, off + 8);
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      w = data.readUInt32BE(0); h = data.readUInt32BE(4); ct = data[9];
      if (data[8] !== 8 || data[12] !== 0) throw new Error('unexpected PNG format');
    } else if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const bpp = ct === 6 ? 4 : ct === 2 ? 3 : 0;
  if (!bpp) throw new Error('unexpected PNG colour type ' + ct);
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = w * bpp;
  let prev = Buffer.alloc(stride), ink = 0;
  for (let y = 0; y < h; y++) {
    const f = raw[y * (stride + 1)], line = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? line[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
      let v = 0;
      if (f === 1) v = a; else if (f === 2) v = b; else if (f === 3) v = (a + b) >> 1;
      else if (f === 4) { const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v = pa <= pb && pa <= pc ? a : pb <= pc ? b : c; }
      line[i] = (line[i] + v) & 255;
    }
    for (let x = 0; x < w; x++) {
      const k = x * bpp;
      if (line[k] < 235 || line[k + 1] < 235 || line[k + 2] < 235) ink++;
    }
    prev = line;
  }
  return ink / (w * h);
}

// Everything the report promises at one viewport width.
async function checkWidth(s, W, pngPath, docPng) {
  await send('Emulation.setDeviceMetricsOverride',
    { width: W, height: 900, deviceScaleFactor: 1, mobile: W < 600 }, s);
  const loaded = waitFor('Page.loadEventFired', 30000);
  const nav = await send('Page.navigate', { url: 'file://' + path.resolve(htmlPath) }, s);
  if (nav.errorText) throw new Error('navigation failed: ' + nav.errorText);
  await loaded;
  await sleep(500); // late requests and console messages, if any, arrive now
  // open every <details>, so the statistics charts are measured too
  const probe = await send('Runtime.evaluate', { returnByValue: true, expression: `(() => {
      document.querySelectorAll('details').forEach((d) => { d.open = true; });
      const shown = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
      const all = [...document.querySelectorAll('svg.lw-chart')];
      const charts = all.filter(shown);
      // on-screen font size of every chart text: its computed size in viewBox
      // units times the drawing's scale (rendered width / viewBox width)
      let minFont = Infinity, minText = '', texts = 0, overflow = 0;
      for (const c of charts) {
        const vb = c.viewBox.baseVal, r = c.getBoundingClientRect();
        const scale = vb && vb.width ? r.width / vb.width : 1;
        for (const t of c.querySelectorAll('text')) {
          if (!t.textContent.trim()) continue;
          const px = parseFloat(getComputedStyle(t).fontSize) * scale;
          texts++;
          if (px < minFont) { minFont = px; minText = t.textContent.slice(0, 40); }
        }
        if (r.right > document.documentElement.clientWidth + 1) overflow++;
      }
      const lines = [...document.querySelectorAll('#headline li.lw-edge-line')].map((li) => ({
        from: li.dataset.from, to: li.dataset.to, verdict: li.dataset.verdict,
        text: li.textContent }));
      return {
        charts: charts.length, hidden: all.length - charts.length,
        chartsWithoutPlot: charts.filter((c) => !c.querySelector('.lw-plot')).length,
        plots: charts.flatMap((c) => [...c.querySelectorAll('.lw-plot')]).map((el) => {
          const r = el.getBoundingClientRect();
          return [r.width, r.height];
        }),
        texts, minFont, minText, overflow, lines,
        pageOverflow: document.documentElement.scrollWidth > document.documentElement.clientWidth + 1,
        edges: document.querySelectorAll('section.lw-edge').length,
        details: document.querySelectorAll('section.lw-edge details').length,
        glossary: document.querySelectorAll('#glossary dt').length,
        height: Math.ceil(document.documentElement.scrollHeight),
        title: document.title,
      };
    })()` }, s);
  const r = probe.result.value;
  const tag = `${W}px: `;
  if (r.charts < 3) problems.push(tag + `only ${r.charts} charts shown`);
  if (r.chartsWithoutPlot) problems.push(tag + `${r.chartsWithoutPlot} charts without a .lw-plot area`);
  const empty = r.plots.filter(([w, h]) => !(w > 0 && h > 0));
  if (empty.length) problems.push(tag + `${empty.length} of ${r.plots.length} plot areas are empty`);
  if (r.edges === 0 || r.edges !== r.lines.length)
    problems.push(tag + `${r.edges} edge sections for ${r.lines.length} headline lines`);
  if (r.details !== r.edges) problems.push(tag + `${r.details} <details> for ${r.edges} edges`);
  if (r.glossary < 5) problems.push(tag + `glossary has ${r.glossary} terms`);
  if (!(r.minFont >= 11)) problems.push(tag + `chart text at ${r.minFont.toFixed(2)} px ("${r.minText}")`);
  if (r.overflow) problems.push(tag + `${r.overflow} charts wider than the viewport`);
  if (r.pageOverflow) problems.push(tag + 'the page scrolls sideways');
  // the planted break: the edge's headline says it stopped leading and on which date
  if (breakEdge) {
    const [bf, bt] = breakEdge.split('->');
    const line = r.lines.find((l) => l.from === bf && l.to === bt);
    const m = line && line.text.match(/stopped leading .* on (\d{4}-\d{2}-\d{2})/);
    if (!line) problems.push(tag + `no headline for ${breakEdge}`);
    else if (!m) problems.push(tag + `headline of ${breakEdge} states no stop date: "${line.text}"`);
    else {
      const days = Math.abs(Date.parse(m[1]) - Date.parse(breakDate)) / 86400000;
      if (days > 30) problems.push(tag + `headline date ${m[1]} is ${days} days from the break ${breakDate}`);
    }
  }
  const shot = await send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true,
    clip: { x: 0, y: 0, width: W, height: r.height, scale: 1 } }, s);
  const png = Buffer.from(shot.data, 'base64');
  fs.writeFileSync(pngPath, png);
  const ink = inkShare(png);
  if (ink < 0.02) problems.push(tag + `screenshot is blank (${(ink * 100).toFixed(2)}% ink)`);
  if (docPng) {
    // the README's picture: the top of the page, <details> closed as a reader first sees it
    await send('Runtime.evaluate', { expression:
      "document.querySelectorAll('details').forEach((d) => { d.open = false; })" }, s);
    const top = await send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true,
      clip: { x: 0, y: 0, width: W, height: Math.min(r.height, W < 600 ? 2400 : 2000), scale: 1 } }, s);
    fs.writeFileSync(docPng, Buffer.from(top.data, 'base64'));
  }
  return { width: W, charts: r.charts, hiddenVariants: r.hidden, texts: r.texts,
    minFontPx: +r.minFont.toFixed(2), height: r.height, inkPercent: +(ink * 100).toFixed(1),
    breakHeadline: breakEdge ? (r.lines.find((l) => `${l.from}->${l.to}` === breakEdge) || {}).text : null };
}

async function main() {
  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId: s } = await send('Target.attachToTarget', { targetId, flatten: true });
  await send('Page.enable', {}, s);
  await send('Runtime.enable', {}, s);
  await send('Log.enable', {}, s);
  await send('Network.enable', {}, s);
  const desk = await checkWidth(s, 1280, fullPng, docPng);
  const phone = await checkWidth(s, 390, phonePng, docPhonePng);
  await send('Emulation.setDeviceMetricsOverride',
    { width: 1200, height: 900, deviceScaleFactor: 1, mobile: false }, s);
  const pdf = await send('Page.printToPDF', { printBackground: true, preferCSSPageSize: true }, s);
  const pdfBytes = Buffer.from(pdf.data, 'base64');
  fs.writeFileSync(pdfPath, pdfBytes);
  const pages = (pdfBytes.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
  if (pages < 2) problems.push(`print produced ${pages} pages`);

  const external = requests.filter((u) => !/^(file|data|about):/.test(u));
  if (external.length) problems.push(`external requests: ${external.join(', ')}`);
  if (consoleErrors.length) problems.push(`console errors: ${consoleErrors.join(' | ')}`);
  console.log(JSON.stringify({ desk, phone, requests: requests.length, external: external.length,
    consoleErrors: consoleErrors.length, pdfPages: pages }));
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

DOC_PNG=()
if [ "${LW_UPDATE_DOCS:-0}" = 1 ]; then
  DOC_PNG=("$SRC/docs/report-demo.png" "$SRC/docs/report-demo-phone.png")
fi
if ! LW_PROFILE_ROOT="$WORK" node "$WORK/cdp.js" "$CHROMIUM" "$HTML" "$ART/report-full.png" \
    "$ART/report-phone.png" "$ART/report.pdf" "$BREAK_EDGE" "$BREAK_DATE" "${DOC_PNG[@]}" \
    >"$WORK/cdp.out"; then
  cat "$WORK/cdp.out"
  fail "browser checks"
fi
cat "$WORK/cdp.out"
for png in report-full.png report-phone.png; do
  [ -s "$ART/$png" ] || fail "no screenshot $png"
  head -c 8 "$ART/$png" | od -An -tx1 | grep -q '89 50 4e 47' || fail "$png is not a PNG"
done
echo "it_report_browser: OK ($size bytes; artefacts in $ART)"
