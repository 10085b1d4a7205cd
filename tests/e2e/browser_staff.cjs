// Drives the Agents Playground's web page in Debian's Chromium (playwright-core), as a member of staff would.
// Usage: node browser_staff.cjs PLAYGROUND_URL SCREENSHOT_DIR DETAILS   (run by tests/e2e/test_browser.py)
// Prints one JSON line per step: {step, ok, text} where text is what the newest bot card shows.
// The page shows only what the bot sends after it opens (posts made before are not loaded), so the report whose
// alert is photographed is made here, in the page. Opening a conversation in the page for the first time makes
// the Playground send that conversation's install events, so the bot may greet there again: expected noise.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const [url, shots, details] = process.argv.slice(2);
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

    // Choice lists of more than 4 options are radio buttons plus Next; shorter ones are buttons.
    async function pick(question, label) {
      const card = await cardWith(question);
      await card.getByRole('radio', { name: label, exact: true }).check();
      await card.getByRole('button', { name: 'Next' }).click();
    }
    async function press(question, label) {
      const card = await cardWith(question);
      await card.getByRole('button', { name: label, exact: true }).click();
    }

    // 1. Report a concern, all of it in the page: categories, who, where, link, when, the details in words,
    //    evidence, danger, who knows, then the summary's Send report. The alert goes to Safeguarding (step 4).
    await send('report');
    let card = await cardWith('What would you like to report?');
    await shot(card, 'report-dialog.png');
    await pick('What would you like to report?', 'Cyberbullying or harassment of a pupil');
    card = await cardWith('Who is involved?');
    report('report', { ok: true, text: await card.innerText() });
    await pick('Who is involved?', 'A pupil');
    await pick('Where did it happen?', 'Instagram');
    await press('Is there a link to the post or page?', 'Skip');
    await pick('When did it happen', 'Today');
    await page.locator('.fai-OutputCard').filter({ hasText: 'What happened? Please describe it' }).last().waitFor();
    await send(details);
    await press('Do you have evidence?', 'Skip');
    await press('Is a child in danger right now?', 'No');
    await press('Has anyone been told already?', 'No');
    await press('Nothing has been sent yet.', 'Send report');
    card = await cardWith('Your report is saved');
    report('confirmation', { ok: true, text: await card.innerText() });

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

    // 4. The alert, as the Safeguarding channel shows it: switch conversations in the left-hand list. A channel
    //    post is a .fui-Card[role=group] holding the card (no .fai-OutputCard there).
    await page.getByRole('treeitem', { name: 'Villiers Safeguarding Leads - Safeguarding' }).click();
    card = page.locator('.ac-adaptiveCard').filter({ hasText: 'Safeguarding report' }).last();
    await card.waitFor();
    await card.getByRole('button', { name: 'Claim' }).waitFor();  // fully drawn
    const post = card.locator('xpath=ancestor::*[@role="group" and contains(@class,"fui-Card")][1]');
    await post.scrollIntoViewIfNeeded();
    await post.screenshot({ path: path.join(shots, 'alert-card.png') });
    report('alert', { ok: true, text: await card.innerText() });

  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((error) => {
  report('error', { ok: false, text: String(error && error.stack || error) });
  process.exit(1);
});
