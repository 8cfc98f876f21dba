// check_playground.js URL SCREENSHOT.png — the `toolformer serve` playground in headless Chromium
// (Debian's, driven by puppeteer-core): load the page, submit the prompt already in it (a model that
// calls the Calculator), wait for the stream's end, then the call chip must show the tool, its input
// and the result, the text must go on after it, the counters must be filled, no console error, no
// request leave the server; a screenshot is saved. Prints "ok"; exits 1 with the failures.
'use strict';
const {openPage} = require('./browser');

const [url, shot] = process.argv.slice(2);
const failures = [];
const check = (ok, what) => { if (!ok) failures.push(what); };

(async () => {
    const {browser, page, errors, outside} = await openPage(url, {width: 1100, height: 700});
    try {
        await page.goto(url, {waitUntil: 'load'});
        await page.$eval('#max_tokens', (e) => { e.value = '30'; });
        await page.$eval('#api_top_k', (e) => { e.value = '1'; });
        await page.click('#go');
        await page.waitForFunction(() => document.getElementById('status').dataset.done, {timeout: 60000});
        const status = await page.$eval('#status', (e) => e.textContent);
        check(status.startsWith('done'), 'status: ' + status);
        const chips = await page.$$eval('#out .chip', (cs) => cs.map((c) => ({tool: c.dataset.tool, input: c.dataset.input,
            result: c.dataset.result, text: c.textContent})));
        check(chips.length === 1, `${chips.length} call chips`);
        if (chips.length) {
            check(chips[0].tool === 'Calculator', 'chip tool ' + chips[0].tool);
            check(chips[0].input === '12 + 30', 'chip input ' + chips[0].input);
            check(chips[0].result === '42', 'chip result ' + chips[0].result);
            check(chips[0].text.includes('42'), 'chip shows ' + chips[0].text);
        }
        const out = await page.$eval('#out', (e) => e.textContent);
        check(out.includes(' 42 fruits'), 'the text after the call: ' + out);
        await new Promise((r) => setTimeout(r, 500));  // the counters refresh after the stream
        const counters = await page.$$eval('#counters tr', (rs) => rs.map((r) => r.textContent));
        check(counters.some((c) => c.startsWith('tool calls') && c.includes('Calculator')), 'counters: ' + counters.join(' | '));
        check(errors.length === 0, 'console errors: ' + errors.join(' | '));
        check(outside.length === 0, 'requests outside the server: ' + outside.join(' '));
        await page.screenshot({path: shot, fullPage: true});
    } finally {
        await browser.close();
    }
    if (failures.length) {
        console.error('playground: ' + failures.join('\n  '));
        process.exit(1);
    }
    console.log('ok');
})().catch((e) => { console.error(e); process.exit(1); });
