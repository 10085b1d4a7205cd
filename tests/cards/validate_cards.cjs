#!/usr/bin/env node
// Parse Adaptive Cards with Microsoft's own JavaScript renderer (the `adaptivecards` npm package) and report
// every parse and validation event, the way a Teams client would meet them; then draw each card with the same
// renderer in a real browser (Debian's Chromium through playwright-core) and report what a person would read.
//
// stdin:  a JSON list of {"name": "...", "card": {...}}
// stdout: {"renderer": "<version>", "maxVersion": "1.5",
//          "elementTypes": [...], "actionTypes": [...],   // what the renderer knows at card version 1.5
//          "results": [{"name", "version", "events": [{"phase", "event", "message", "source"}],
//                       "parsedTypes": [...],   // every element the renderer would draw (fallbacks in place)
//                       "shown": {"texts": [...], "facts": [[title, value], ...], "buttons": [...],
//                                 "choices": [...]}}],   // drawn text, with every Action.ShowCard opened in turn
//          "drawError": "..."}                            // set (and "shown" null) when no browser could start
//
// Run from the repo root (node resolves `adaptivecards` and `playwright-core` from ./node_modules). CHROMIUM names
// the browser (default /usr/bin/chromium).
"use strict";

// The package's "main" (lib/) is ES modules without file extensions, which Node cannot load; the UMD bundle in
// dist/ is the same code built for browsers and loads fine in Node for parsing and validation (no DOM needed).
const AC = require("adaptivecards/dist/adaptivecards.js");
const rendererVersion = require("adaptivecards/package.json").version;

const MAX_VERSION = AC.Versions.v1_5;

// Cards (including the inline cards of Action.ShowCard) may not claim a newer version than Teams renders.
AC.SerializableObject.defaultMaxVersion = MAX_VERSION;

// The parts of Teams' host config that validation looks at (from the Adaptive Cards designer's Teams host config).
const TEAMS_HOST_CONFIG = new AC.HostConfig({
    supportsInteractivity: true,
    actions: { maxActions: 6 },
    adaptiveCard: { allowCustomStyle: false },
});

function knownTypes(registry) {
    const names = [];
    for (let i = 0; i < registry.getItemCount(); i++) {
        const item = registry.getItemAt(i);
        if (item.schemaVersion.compareTo(MAX_VERSION) <= 0) {
            names.push(item.typeName);
        }
    }
    return names.sort();
}

function describe(source) {
    if (!source || typeof source.getJsonTypeName !== "function") {
        return null;
    }
    const id = source.id ? `#${source.id}` : "";
    return source.getJsonTypeName() + id;
}

function validate(card) {
    const events = [];
    const record = (event) =>
        events.push({
            phase: AC.ValidationPhase[event.phase],
            event: AC.ValidationEvent[event.event],
            message: event.message,
            source: describe(event.source),
        });
    try {
        const adaptiveCard = new AC.AdaptiveCard();
        adaptiveCard.hostConfig = TEAMS_HOST_CONFIG;
        adaptiveCard.maxVersion = MAX_VERSION;
        const context = new AC.SerializationContext(MAX_VERSION);
        // What the renderer will draw: an element it does not know (a Teams chart) is replaced by its fallback.
        const parsedTypes = [];
        context.onParseElement = (element) => parsedTypes.push(element.getJsonTypeName());
        adaptiveCard.parse(card, context);
        for (let i = 0; i < context.eventCount; i++) {
            record(context.getEventAt(i));
        }
        for (const event of adaptiveCard.validateProperties().validationEvents) {
            record(event);
        }
        return { version: adaptiveCard.version ? adaptiveCard.version.toString() : null, events, parsedTypes };
    } catch (error) {
        events.push({ phase: "Exception", event: "Exception", message: String(error && error.stack), source: null });
        return { version: null, events, parsedTypes: [] };
    }
}

// Runs in the page: draw each card and read back, element by element, the text a person sees.
function drawInPage(cards) {
    const AC = window.AdaptiveCards;
    const hostConfig = new AC.HostConfig({
        supportsInteractivity: true,
        actions: { maxActions: 6 },
        adaptiveCard: { allowCustomStyle: false },
    });
    const textOf = (node) => (node ? node.textContent : "");
    function read(root, shown) {
        for (const row of root.querySelectorAll("table.ac-factset tr")) {
            shown.facts.push([textOf(row.querySelector(".ac-fact-title")), textOf(row.querySelector(".ac-fact-value"))]);
        }
        for (const block of root.querySelectorAll(".ac-textBlock")) {
            shown.texts.push(textOf(block));
        }
        for (const button of root.querySelectorAll("button.ac-pushButton")) {
            shown.buttons.push(textOf(button));
        }
        for (const label of root.querySelectorAll(".ac-choiceSetInput-expanded label, select option")) {
            shown.choices.push(textOf(label));
        }
    }
    return cards.map((card) => {
        const shown = { texts: [], facts: [], buttons: [], choices: [] };
        const adaptiveCard = new AC.AdaptiveCard();
        adaptiveCard.hostConfig = hostConfig;
        adaptiveCard.parse(card, new AC.SerializationContext(AC.Versions.v1_5));
        const element = adaptiveCard.render();
        if (!element) {
            return shown;
        }
        document.body.appendChild(element);
        read(element, shown);
        // An Action.ShowCard's card is drawn only once its button is pressed: press each, as a person would.
        for (const toggle of Array.from(element.querySelectorAll("button[aria-expanded]"))) {
            toggle.click();
            read(element, shown);
        }
        element.remove();
        return shown;
    });
}

async function draw(cards) {
    const path = require("path");
    const { chromium } = require("playwright-core");
    const browser = await chromium.launch({
        executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
    });
    try {
        const page = await browser.newPage();
        await page.setContent("<!doctype html><html><body></body></html>");
        await page.addScriptTag({ path: path.join(path.dirname(require.resolve("adaptivecards/package.json")),
                                                  "dist", "adaptivecards.js") });
        return await page.evaluate(drawInPage, cards);
    } finally {
        await browser.close();
    }
}

async function main(input) {
    const cards = JSON.parse(input);
    const results = cards.map(({ name, card }) => ({ name, ...validate(card), shown: null }));
    let drawError = null;
    try {
        const shown = await draw(cards.map(({ card }) => card));
        shown.forEach((item, i) => (results[i].shown = item));
    } catch (error) {
        drawError = String(error && error.message ? error.message : error);
    }
    process.stdout.write(
        JSON.stringify({
            renderer: rendererVersion,
            maxVersion: MAX_VERSION.toString(),
            elementTypes: knownTypes(AC.GlobalRegistry.elements),
            actionTypes: knownTypes(AC.GlobalRegistry.actions),
            results,
            drawError,
        })
    );
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () =>
    main(input).catch((error) => {
        process.stderr.write(String(error && error.stack));
        process.exit(1);
    })
);
