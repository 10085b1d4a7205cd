// Show details, as a lead sees it in the Agents Playground's page (run by tests/e2e/details_screenshot.py).
// Usage: node details_screenshot.cjs PLAYGROUND_URL OUT.png EVIDENCE_DIR
// Talks to its caller in lines: it prints one JSON line per step ({step, ...}) and reads one line from stdin when
// told to wait (the case's reference, once the reporter has sent the report).
//   1. evidence: draws the reporter's two files in Chromium: a screenshot of a (made-up) group chat as a PNG, and
//      the same chat printed to a PDF; prints their paths.
//   2. ready: opens the page and the Safeguarding channel (the page only shows what the bot sends after it opens).
//   3. reads the reference; presses Show details on that alert, as Tom (the Playground's user, a deputy DSL).
//   4. opens Tom's chat with the bot and waits for the details card and the files' words; reads a line (sent once
//      the caller has seen every message reach the page), then photographs them (shot) and prints what the page
//      drew after the card for each message: its words, any picture, any card.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');
const { chromium } = require('playwright-core');

const [url, out, evidenceDir] = process.argv.slice(2);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ADDRESS = 'https://www.instagram.com/direct/t/17843065219904412/';  // made up
const lines = readline.createInterface({ input: process.stdin });
const waiting = [];
const queued = [];
lines.on('line', (line) => (waiting.length ? waiting.shift()(line) : queued.push(line)));

function report(step, fields) {
  process.stdout.write(JSON.stringify({ step, ...fields }) + '\n');
}

function nextLine() {
  return queued.length ? Promise.resolve(queued.shift()) : new Promise((resolve) => waiting.push(resolve));
}

function twoDigits(n) {
  return String(n).padStart(2, '0');
}

// A member of staff's screenshot of a pupils' group chat in a desktop browser: the address bar and the clock show
// the site, time and date, as the policy asks. Every name and message is made up.
function chatHtml(taken) {
  const time = `${twoDigits(taken.getHours())}:${twoDigits(taken.getMinutes())}`;
  const date = `${twoDigits(taken.getDate())}/${twoDigits(taken.getMonth() + 1)}/${taken.getFullYear()}`;
  const at = (minutesBefore) => {
    const moment = new Date(taken.getTime() - minutesBefore * 60 * 1000);
    return `${twoDigits(moment.getHours())}:${twoDigits(moment.getMinutes())}`;
  };
  const messages = [
    ['j4ke.m_', at(26), 'who added jamie to this chat'],
    ['lily_b.x', at(25), 'lol nobody wants him here'],
    ['j4ke.m_', at(23), 'jamie ur so weird just leave the group'],
    ['tia.r0se', at(22), 'everyone block him'],
    ['lily_b.x', at(22), 'dont sit with him tmrw either'],
  ];
  const bubbles = messages.map(([who, at, text]) => `
    <div class="msg"><div class="avatar">${who[0].toUpperCase()}</div>
      <div><div class="who">${who} <span>${at}</span></div><div class="bubble">${text}</div></div></div>`).join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>Instagram • Chats</title><style>
    body { margin: 0; font: 15px/1.4 "DejaVu Sans", Arial, sans-serif; background: #d9dde3; }
    .window { width: 900px; background: #fff; }
    .tabs { background: #dee1e6; padding: 8px 12px 0; font-size: 13px; }
    .tab { display: inline-block; background: #fff; border-radius: 8px 8px 0 0; padding: 7px 16px; }
    .bar { display: flex; gap: 10px; align-items: center; padding: 7px 12px; border-bottom: 1px solid #ddd; }
    .url { flex: 1; background: #f1f3f4; border-radius: 14px; padding: 6px 14px; color: #202124; font-size: 14px; }
    .chat { padding: 14px 22px 10px; min-height: 395px; }
    .title { font-weight: bold; font-size: 17px; padding-bottom: 10px; border-bottom: 1px solid #eee; }
    .title span { font-weight: normal; color: #737373; font-size: 13px; }
    .msg { display: flex; gap: 10px; margin: 12px 0; }
    .avatar { width: 34px; height: 34px; border-radius: 50%; background: #c7c2e8; text-align: center;
      line-height: 34px; font-weight: bold; color: #3d3a63; flex: none; }
    .who { font-size: 12px; color: #555; } .who span { color: #999; }
    .bubble { background: #efefef; border-radius: 16px; padding: 7px 13px; display: inline-block; margin-top: 2px; }
    .taskbar { background: #1f2430; color: #e8e8e8; font-size: 12px; text-align: right; padding: 5px 14px; }
  </style></head><body><div class="window" id="window">
    <div class="tabs"><span class="tab">Instagram • Chats</span></div>
    <div class="bar"><span>&#8592; &#8594; &#8635;</span>
      <span class="url">${ADDRESS}</span></div>
    <div class="chat"><div class="title">yr5 squad <span>· 9 members</span></div>${bubbles}</div>
    <div class="taskbar">${time}&nbsp;&nbsp;${date}</div></div></body></html>`;
}

async function makeEvidence(context) {
  const page = await context.newPage();
  try {
    const taken = new Date(Date.now() - 40 * 60 * 1000);
    await page.setViewportSize({ width: 900, height: 600 });
    await page.setContent(chatHtml(taken));
    const png = path.join(evidenceDir, 'screenshot.png');
    await page.locator('#window').screenshot({ path: png });
    const pdf = path.join(evidenceDir, 'chat.pdf');
    await page.pdf({  // printed as a browser prints a page: the date and title above, the address below
      path: pdf, format: 'A4', printBackground: true, displayHeaderFooter: true,
      margin: { top: '16mm', bottom: '16mm', left: '10mm', right: '10mm' },
      headerTemplate: '<div style="font-size:8px;width:100%;padding:0 10mm"><span class="date"></span>'
        + '<span style="float:right" class="title"></span></div>',
      footerTemplate: `<div style="font-size:8px;width:100%;padding:0 10mm">${ADDRESS}`
        + '<span style="float:right"><span class="pageNumber"></span>/<span class="totalPages"></span></span></div>',
    });
    const stamp = `${taken.getFullYear()}-${twoDigits(taken.getMonth() + 1)}-${twoDigits(taken.getDate())} at `
      + `${twoDigits(taken.getHours())}.${twoDigits(taken.getMinutes())}`;
    report('evidence', { png, pdf, taken: stamp });
  } finally {
    await page.close();
  }
}

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'thinkfirst-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ARGS, viewport: { width: 1280, height: 900 },
  });
  try {
    await context.route('**/*', (route) => {  // nothing leaves the machine (the UI asks a CDN for fonts)
      const target = new URL(route.request().url());
      return ['127.0.0.1', 'localhost'].includes(target.hostname) || ['data:', 'blob:'].includes(target.protocol)
        ? route.continue() : route.abort();
    });
    await makeEvidence(context);

    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(60000);
    await page.goto(url);
    await page.locator('div[role="textbox"][data-lexical-editor="true"]').first().waitFor();
    await page.getByRole('treeitem', { name: 'Villiers Safeguarding Leads - Safeguarding' }).click();
    report('ready', {});

    // 3. The reporter has sent the report: press Show details on its alert in the channel.
    const ref = (await nextLine()).trim();
    const alert = page.locator('.ac-adaptiveCard').filter({ hasText: `Safeguarding report ${ref}` }).last();
    await alert.waitFor();
    await alert.getByRole('button', { name: 'Show details' }).click();
    await page.waitForTimeout(2000);  // the invoke's answer replaces the card
    report('pressed', { text: await alert.innerText() });

    // 4. Tom's chat with the bot: the details card, then each file. The Playground shows a message's text and each
    //    of its attachments as separate messages, so a file is two rows: its words, then what the page makes of it.
    await page.getByRole('treeitem', { name: /Personal Chat/ }).click();
    const bubbles = page.locator('.fai-OutputCard');
    const details = bubbles.filter({ hasText: 'Reported by' }).filter({ hasText: ref }).last();
    await details.waitFor();
    const files = [1, 2].map((n) => bubbles.filter({ hasText: `${ref}, evidence ${n} of 2` }).last());
    for (const file of files) await file.waitFor();
    await page.setViewportSize({ width: 1280, height: 3200 });  // the card and the files at once
    // The message list is the nearest ancestor holding both the card and a file; its children are the messages.
    const cardRow = await details.evaluateHandle((node) => {
      let row = node;
      while (row.parentElement && !/evidence \d+ of 2/.test(row.parentElement.innerText)) row = row.parentElement;
      return row;
    });
    await nextLine();  // the caller has seen every message of Show details reach the page
    await page.waitForTimeout(2000);  // anything the page draws for the attachments settles
    // From the first message of Show details (the card, or a file's words if one overtook it) to the last.
    const clip = await cardRow.evaluate((row, reference) => {
      const list = row.parentElement;
      const first = [...list.children].find((child) => child.innerText.includes(reference)).getBoundingClientRect();
      const last = list.lastElementChild.getBoundingClientRect();
      const box = list.getBoundingClientRect();
      return { x: box.x, y: first.y, width: box.width, height: last.bottom - first.y + 12 };
    }, ref);
    await page.screenshot({ path: out, clip });
    const after = await cardRow.evaluate((row, reference) => {  // what the page drew for each message
      const list = [...row.parentElement.children];
      return list.slice(list.findIndex((child) => child.innerText.includes(reference))).map((child) => ({
        text: child.innerText,
        images: [...child.querySelectorAll('img')].filter((img) => img.naturalWidth > 40).map((img) => img.src.slice(0, 30)),
        cards: child.querySelectorAll('.ac-adaptiveCard').length,
      }));
    }, ref);
    report('shot', { out, clip, rows: after });
  } finally {
    lines.close();
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((error) => {
  report('error', { text: String(error && error.stack || error) });
  process.exit(1);
});
