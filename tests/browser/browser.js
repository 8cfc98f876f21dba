// browser.js — what the browser checks share: headless Chromium (Debian's, driven by puppeteer-core)
// with one page that records what must not happen on it (console errors and warnings, uncaught
// exceptions, requests that leave the page's origin).
'use strict';
const path = require('path');
const puppeteer = require(path.resolve('node_modules/puppeteer-core'));

// Launches Chromium ($CHROMIUM or /usr/bin/chromium) and opens a page of viewport {width, height}.
// errors collects the console's errors and warnings and the page's uncaught exceptions; outside, the
// URL of every request that does not start with origin. The caller closes browser (in a finally).
async function openPage(origin, viewport) {
    const browser = await puppeteer.launch({
        executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
    });
    try {
        const page = await browser.newPage();
        await page.setViewport(viewport);
        const errors = [], outside = [];
        page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warn') errors.push(m.text()); });
        page.on('pageerror', (e) => errors.push(String(e)));
        page.on('request', (r) => { if (!r.url().startsWith(origin)) outside.push(r.url()); });
        return {browser, page, errors, outside};
    } catch (e) {
        await browser.close();
        throw e;
    }
}

module.exports = {openPage};
