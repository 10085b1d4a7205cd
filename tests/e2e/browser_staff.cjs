// Drives the Agents Playground's web page in Debian's Chromium (playwright-core), as a member of staff would.
// Usage: node browser_staff.cjs PLAYGROUND_URL SCREENSHOT_DIR   (run by tests/e2e/test_browser.py)
// Prints one JSON line per step: {step, ok, text} where text is what the newest bot card shows.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const [url, shots] = process.argv.slice(2);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function report(step, fields) {
  process.stdout.write(JSON.stringify({ step, ...fields }) + '\n');
}

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'thinkfirst-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ARGS, viewport: { width: 1280, height: 900 },
  });
  try {
    // Nothing leaves the machine: the UI asks a CDN for fonts, and the test must not depend on the internet.
    await context.route('**/*', (route) => {
      const host = new URL(route.request().url()).hostname;
      return ['127.0.0.1', 'localhost'].includes(host) ? route.continue() : route.abort();
    });
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(15000);
    await page.goto(url);
    const box = page.locator('div[role="textbox"][data-lexical-editor="true"]');
    await box.waitFor();

    const cards = page.locator('.fai-OutputCard .ac-adaptiveCard');
    async function send(text) {
      await box.click();
      await page.keyboard.type(text);
      await page.keyboard.press('Enter');
    }
    async function cardWith(text) {
      const card = cards.filter({ hasText: text }).last();
      await card.waitFor();
      await card.scrollIntoViewIfNeeded();
      return card;
    }
    async function shot(card, name) {
      // The whole bubble, so the picture shows the card as Teams frames it.
      const bubble = card.locator('xpath=ancestor::*[contains(@class,"fai-OutputCard")][1]');
      await bubble.screenshot({ path: path.join(shots, name) });
    }

    // 1. Report a concern: type "report", see the categories, press one, see the next question.
    await send('report');
    let card = await cardWith('What would you like to report?');
    await shot(card, 'report-dialog.png');
    await card.getByRole('radio', { name: 'Cyberbullying or harassment of a pupil' }).check();
    await card.getByRole('button', { name: 'Next' }).click();
    card = await cardWith('Who is involved?');
    report('report', { ok: true, text: await card.innerText() });
    await send('cancel');
    await cardWith('What would you like to do?');

    // 2. Can I ...? typed as a question: the verdict with the policy's words.
    await send('Can I give my personal mobile number to a parent?');
    card = await cardWith('What the policy says');
    await shot(card, 'can-i-verdict.png');
    report('can_i', { ok: true, text: await card.innerText() });

    // 3. Policy and acknowledgement: "policy" shows the running campaign's card (the test started one).
    await send('policy');
    card = await cardWith('Acknowledge');
    await card.getByRole('button', { name: 'Acknowledge', exact: true }).click();
    card = await cardWith('I have read and understood');
    await shot(card, 'policy-acknowledgement.png');
    await card.getByRole('button', { name: /I have read and understood/ }).click();
    card = await cardWith('Acknowledged on');
    report('acknowledge', { ok: true, text: await card.innerText() });

  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((error) => {
  report('error', { ok: false, text: String(error && error.stack || error) });
  process.exit(1);
});
