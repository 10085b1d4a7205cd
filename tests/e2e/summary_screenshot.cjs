// Photographs the summary card in the Agents Playground's page: opens the "Head and governors" channel, posts
// "@ThinkFirst summary" (picking the mention from the editor's list) and screenshots the bot's reply.
// Usage: node summary_screenshot.cjs PLAYGROUND_URL OUT.png   (run by tests/e2e/summary_screenshot.py)
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const [url, out] = process.argv.slice(2);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'thinkfirst-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ARGS, viewport: { width: 1280, height: 900 },
  });
  try {
    await context.route('**/*', (route) => {  // nothing leaves the machine (the UI asks a CDN for fonts)
      const host = new URL(route.request().url()).hostname;
      return ['127.0.0.1', 'localhost'].includes(host) ? route.continue() : route.abort();
    });
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(60000);
    await page.goto(url);
    await page.getByRole('treeitem', { name: /Head and governors/ }).click();
    await page.getByText("Hello, I'm ThinkFirst").first().waitFor();  // the install greeting, then it is quiet
    await page.waitForTimeout(1500);
    await page.locator('div[role="textbox"][data-lexical-editor="true"]').first().click();
    await page.keyboard.type('@Think');
    await page.waitForTimeout(1500);  // the mention list opens under the editor
    await page.getByText('ThinkFirst', { exact: true }).last().click();  // the mention picker's entry
    await page.keyboard.type(' summary');
    await page.getByRole('button', { name: 'Post' }).click();
    const card = page.locator('.ac-adaptiveCard').filter({ hasText: 'Termly summary' }).last();
    await card.waitFor();
    await page.setViewportSize({ width: 1280, height: 3400 });  // the whole card at once
    await page.waitForTimeout(3000);  // the charts animate in
    const post = card.locator('xpath=ancestor::*[@role="group" and contains(@class,"fui-Card")][1]');
    await post.scrollIntoViewIfNeeded();
    await post.screenshot({ path: out });
    process.stdout.write(`summary card written to ${out}\n`);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack || error) + '\n');
  process.exit(1);
});
