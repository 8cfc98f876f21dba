// check_report.js PAGE.html SCREENSHOT.png RUN_DIR — opens a `toolformer report` page in headless
// Chromium (Debian's, driven by puppeteer-core): no console error, no request leaves the file, every
// chart has its marks (bars counted per chart against the run's JSON files), and a full-page screenshot.
'use strict';
const fs = require('fs');
const path = require('path');
const {openPage} = require('./browser');

const [page_path, shot, run] = process.argv.slice(2);
const failures = [];
let passed = 0;
function check(ok, what) {
    if (ok) passed++;
    else failures.push(what);
}
const json = (name) => JSON.parse(fs.readFileSync(path.join(run, name), 'utf8'));
const lines = (name) => fs.readFileSync(path.join(run, name), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));

(async () => {
    const {browser, page, errors, outside} = await openPage('file:', {width: 1000, height: 800});
    try {
        await page.goto('file://' + path.resolve(page_path), {waitUntil: 'load'});
        const charts = await page.$$eval('svg.chart', (svgs) => svgs.map((s) => ({
            id: s.id,
            kind: s.dataset.chart,
            bars: s.querySelectorAll('rect.bar').length,
            sum: [...s.querySelectorAll('rect.bar')].reduce((a, r) => a + Number(r.dataset.value), 0),
            lines: [...s.querySelectorAll('polyline.raw')].map((p) => p.points.numberOfItems),
            width: s.getBoundingClientRect().width,
        })));
        const byId = Object.fromEntries(charts.map((c) => [c.id, c]));
        check(errors.length === 0, 'console errors: ' + errors.join(' | '));
        check(outside.length === 0, 'requests outside the file: ' + outside.join(' '));
        check(charts.length > 0, 'no chart on the page');
        for (const c of charts) check(c.width > 300, `chart ${c.id} is not laid out (width ${c.width})`);
        // the funnel: a bar per count of each tool in each round's summary (candidates, no result, over
        // the time limit, executed, displaced, kept; a summary without a count draws no bar for it)
        const summaries = fs.readdirSync(run).filter((n) => n.endsWith('.summary.json')).sort();
        check(summaries.length > 0, 'the run has no annotate summary');
        let scored = 0, drawn = 0;
        for (const s of summaries) {
            const round = s.slice(0, -'.summary.json'.length), sum = json(s);
            const f = byId['funnel-' + round];
            const keys = ['candidates', 'no_result', 'timed_out', 'executed', 'displaced', 'kept'];
            const want = sum.tools.reduce((a, tool) => a + keys.filter((k) => typeof tool[k] === 'number').length, 0);
            check(f && f.bars === want, `funnel-${round}: ${f && f.bars} bars, the summary has ${want} counts`);
            // the histograms: every scored call of the round, kept or rejected, counted once
            for (const d of lines(round + '.jsonl')) scored += d.calls.length;
            scored += lines(round + '.rejected.jsonl').length;
            for (const c of charts) if (c.id.startsWith(`scores-${round}-`)) { drawn += c.sum; check(c.bars > 0, `${c.id} has no bar`); }
        }
        check(drawn === scored, `the histograms hold ${drawn} calls, the files ${scored}`);
        const compares = fs.readdirSync(run).filter((n) => n.startsWith('compare_') && n.endsWith('.json'));
        for (const n of compares) check(byId['seed-' + n] && byId['seed-' + n].bars === 6, `seed-${n}: not 6 bars`);
        const evals = fs.readdirSync(run).filter((n) => /^eval_.+_[^_]+\.json$/.test(n));
        check(byId['eval-accuracy'] && byId['eval-accuracy'].bars === evals.length,
              `eval-accuracy: ${byId['eval-accuracy'] && byId['eval-accuracy'].bars} bars for ${evals.length} eval files`);
        const ppl = fs.readdirSync(run).filter((n) => n.startsWith('ppl_') && n.endsWith('.json'));
        check(byId['ppl'] && byId['ppl'].bars === ppl.length, `ppl: not ${ppl.length} bars`);
        const logs = fs.readdirSync(run).filter((n) => n.endsWith('.log.jsonl')).sort();
        const curves = byId['loss-curves'];
        check(curves && curves.lines.length === logs.length, `loss-curves: ${curves && curves.lines.length} curves for ${logs.length} logs`);
        logs.forEach((n, i) => {
            const steps = lines(n).filter((l) => 'loss' in l).length;
            check(curves && curves.lines[i] === steps, `loss-curves: ${n} has ${steps} steps, the curve ${curves && curves.lines[i]} points`);
        });
        // the samples open without a script
        const opened = await page.$$eval('details', (ds) => { ds.forEach((d) => { d.open = true; }); return ds.filter((d) => d.querySelector('mark')).length; });
        check(opened > 0, 'no sampled call shows its text with the call marked');
        await page.screenshot({path: shot, fullPage: true});
        check(fs.statSync(shot).size > 10000, 'the screenshot is empty');
        const bars = charts.reduce((a, c) => a + c.bars, 0);
        console.log(`browser: ${charts.length} charts, ${bars} bars, ${errors.length} console errors; screenshot ${shot}`);
    } finally {
        await browser.close();
    }
    for (const f of failures) console.log('FAIL: ' + f);
    console.log(`browser: ${passed} passed, ${failures.length} failed`);
    process.exit(failures.length ? 1 : 0);
})().catch((e) => { console.log('FAIL: ' + (e && e.stack || e)); process.exit(1); });
