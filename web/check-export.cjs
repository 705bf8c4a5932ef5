// The export's browser test driver (tests/test_export_html.py runs it): Debian's Chromium,
// headless, through playwright-core, opens an exported site from file:// and reports what it saw
// as JSON. It asserts nothing itself; the test compares the report with the deck.
//
//   node web/check-export.cjs '{"site": ".../index.html", "profile": "fresh dir", "shots": "dir",
//                               "shotSlides": [2, 3], "out": "report.json"}'
"use strict";
const fs = require("fs");
const path = require("path");
const { chromium } = require("playwright-core");

const config = JSON.parse(process.argv[2]);
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                       "--disable-component-update", "--disable-sync", "--no-first-run"];

async function visible(page) {
  // What the current slide shows: read from the DOM, only the parts that are rendered.
  return page.evaluate(() => {
    const shown = [...document.querySelectorAll("section.slide")].filter(s => s.offsetParent !== null);
    const slide = shown[0];
    if (!slide) return { shown: [] };
    const rect = slide.querySelector("h1") ? slide.querySelector("h1").getBoundingClientRect() : null;
    return {
      shown: shown.map(s => s.id),
      hash: location.hash,
      counter: slide.querySelector(".counter").innerText,
      title: slide.querySelector("h1") ? slide.querySelector("h1").innerText : "",
      titleOnScreen: !!rect && rect.width > 0 && rect.top >= 0 && rect.top < window.innerHeight,
      text: slide.innerText,
      commands: [...slide.querySelectorAll("figure.box .command")].map(c => c.innerText),
      notes: [...slide.querySelectorAll(".no-recording")].map(n => n.innerText),
      files: [...slide.querySelectorAll("figure.file pre")].map(p => p.innerText),
      players: [...slide.querySelectorAll("div.player")].map(p => ({
        cast: p.dataset.cast, state: p.dataset.state, duration: Number(p.dataset.duration || 0),
        markers: Number(p.dataset.markers || 0),
        terminal: p.querySelector(".ap-term") ? p.querySelector(".ap-term").innerText : "",
        width: p.getBoundingClientRect().width, height: p.getBoundingClientRect().height,
      })),
    };
  });
}

async function settled(page) {
  // Every player on the current slide has loaded its recording or failed.
  await page.waitForFunction(() => [...document.querySelectorAll("section.slide.current div.player")]
    .every(p => p.dataset.state === "loaded" || p.dataset.state === "error"), null, { timeout: 15000 });
  await page.waitForTimeout(150);              // the poster frame is drawn after metadata
}

async function main() {
  const report = { consoleErrors: [], pageErrors: [], requests: [], slides: [], back: [], shots: [] };
  const context = await chromium.launchPersistentContext(config.profile, {
    executablePath: config.chromium || "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1,
  });
  try {
    const page = context.pages()[0] || await context.newPage();
    page.on("console", m => { if (m.type() === "error" || m.type() === "warning") report.consoleErrors.push(`${m.type()}: ${m.text()}`); });
    page.on("pageerror", e => report.pageErrors.push(String(e)));
    page.on("request", r => { if (!/^(file|data|blob):/.test(r.url())) report.requests.push(r.url()); });
    page.on("requestfailed", r => report.pageErrors.push(`failed to load ${r.url()}: ${r.failure().errorText}`));
    const url = "file://" + path.resolve(config.site);
    await page.goto(url, { waitUntil: "load" });
    report.total = await page.evaluate(() => document.querySelectorAll("section.slide").length);
    report.allPlayers = await page.evaluate(() => document.querySelectorAll("div.player").length);
    await page.waitForFunction(() => [...document.querySelectorAll("div.player")]
      .every(p => p.dataset.state === "loaded" || p.dataset.state === "error"), null, { timeout: 30000 });
    // Forward through every slide with the Right arrow, as a presenter would.
    for (let n = 1; n <= report.total; n++) {
      if (n > 1) await page.keyboard.press("ArrowRight");
      await page.waitForFunction(k => location.hash === "#slide-" + k, n, { timeout: 5000 }).catch(() => {});
      await settled(page);
      const seen = await visible(page);
      seen.expected = n;
      if ((config.shotSlides || []).includes(n)) {
        const file = path.join(config.shots, `slide-${String(n).padStart(2, "0")}.png`);
        await page.screenshot({ path: file, fullPage: true });
        report.shots.push(file);
      }
      report.slides.push(seen);
    }
    await page.keyboard.press("ArrowRight");       // past the last slide: stays there
    await page.waitForTimeout(200);
    report.pastEnd = (await visible(page)).hash;
    for (let n = report.total - 1; n >= 1; n--) {
      await page.keyboard.press("ArrowLeft");
      await page.waitForFunction(k => location.hash === "#slide-" + k, n, { timeout: 5000 }).catch(() => {});
      report.back.push((await visible(page)).hash);
    }
    // Arrows still change slides after a click into a player (the player keeps its other keys).
    const first = report.slides.find(s => s.players.length);
    if (first) {
      await page.goto(url + "#slide-" + first.expected);
      await settled(page);
      const box = page.locator("section.slide.current div.player").first();
      await box.click();
      report.clickedPlayerPlays = await page.evaluate(() => document.activeElement !== document.body);
      await page.keyboard.press("ArrowRight");
      report.afterPlayerArrow = { from: first.expected, hash: (await visible(page)).hash };
      // The step buttons jump to the recording's markers.
      await page.goto(url + "#slide-" + first.expected);
      await settled(page);
      const boxId = await page.evaluate(() => {
        // note where each seek lands (the recordings are short: playing on ends them at once)
        const id = document.querySelector("section.slide.current figure.box").id;
        const player = window.workshopPlayers[id];
        const seek = player.seek;
        window.seekLandings = [];
        player.seek = async target => {
          const done = await seek(target);
          window.seekLandings.push({ target, time: await player.getCurrentTime() });
          return done;
        };
        return id;
      });
      await page.locator(`#${boxId} button.step`).first().click();
      await page.waitForFunction(() => window.seekLandings.length > 0, null, { timeout: 5000 }).catch(() => {});
      report.afterStep = await page.evaluate(id => ({ id, landings: window.seekLandings }), boxId);
    }
  } finally {
    await context.close();
  }
  fs.writeFileSync(config.out, JSON.stringify(report, null, 1));
}

main().catch(error => { console.error(String(error && error.stack || error)); process.exit(1); });
