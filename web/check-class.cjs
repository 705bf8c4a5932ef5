// The class's browser test driver (tests/test_class_serve.py and scripts/bench --browsers run it):
// Debian's Chromium, headless, through playwright-core, opens student pages of `scripts/class serve`
// and does what a student does: waits for the prompt, types into the terminal, clicks a slide's
// "Type it", reloads. It asserts nothing itself; it reports what the page showed, as JSON.
//
//   node web/check-class.cjs '{"chromium": "/usr/bin/chromium", "profile": "dir", "out": "report.json",
//     "students": [{"url": "http://.../s/SECRET", "actions": [["prompt"], ["type", "kubectl get pods\n"],
//                   ["wait", "cs198-terminal"], ["slide", 16], ["typeIt", 0], ["check", "deployed", 120],
//                   ["reload"], ["read"], ["shot", "file.png"], ["echo", 20]]}]}'
"use strict";
const fs = require("fs");
const path = require("path");
const { chromium } = require("playwright-core");

const config = JSON.parse(process.argv[2]);
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                       "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"];
const PROMPT = "workshop$";  // the line's trailing space is not in the DOM

const screen = page => page.evaluate(() => {
  const rows = document.querySelector("#terminal .xterm-rows");
  return rows ? [...rows.children].map(r => r.textContent.replace(/\u00a0/g, " ").trimEnd()).join("\n") : "";
});
const state = page => page.evaluate(() => ({
  status: document.getElementById("status").textContent,
  kind: document.body.dataset.terminal || "",
  checks: [...document.querySelectorAll("#checks li")].map(li => ({ step: li.dataset.step, done: li.className === "done", text: li.textContent })),
  commands: [...document.querySelectorAll("#slide-commands .slide-command")].map(r => r.innerText),
}));

async function waitFor(page, test, timeout, what) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const found = await test();
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await page.waitForTimeout(50);
  }
}

async function typeKeys(page, text) {
  await page.click("#terminal");
  for (const ch of text) await page.keyboard.type(ch === "\n" ? "\r" : ch);
}

async function student(browser, plan) {
  const report = { url: plan.url, steps: [], errors: [] };
  const context = await browser.newContext({ viewport: { width: 1500, height: 900 } });
  const page = await context.newPage();
  page.on("pageerror", e => report.errors.push(String(e)));
  const opened = Date.now();
  const answer = await page.goto(plan.url, { waitUntil: "domcontentloaded" });
  report.httpStatus = answer.status();
  report.body = (await page.evaluate(() => document.body.innerText)).slice(0, 300);
  try {
    for (const [kind, arg, extra] of plan.actions) {
      const began = Date.now();
      const step = { kind, arg };
      if (kind === "prompt") {
        await waitFor(page, async () => (await screen(page)).includes(PROMPT), arg || 90000, "the prompt");
        step.ms = Date.now() - opened;
        // the server's share: from the WebSocket open to the shell's first bytes (the page marks both)
        step.serverMs = await page.evaluate(() => {
          const [open] = performance.getEntriesByName("tty-open"), [output] = performance.getEntriesByName("tty-output");
          return open && output ? output.startTime - open.startTime : null;
        });
      } else if (kind === "status") {
        step.found = await waitFor(page, async () => { const s = await state(page); return s.kind === arg ? s : null; }, extra || 60000, `status ${arg}`);
      } else if (kind === "type") {
        await typeKeys(page, arg);
      } else if (kind === "wait") {
        // a long line wraps at the terminal's width: look in the screen with its line breaks taken out too
        await waitFor(page, async () => { const s = await screen(page); return s.includes(arg) || s.replace(/\n/g, "").includes(arg); },
                      extra || 60000, JSON.stringify(arg));
      } else if (kind === "slide") {
        await page.frameLocator("#lecture").locator("body").waitFor();
        await page.evaluate(n => { document.getElementById("lecture").contentWindow.location.hash = "#slide-" + n; }, arg);
        await waitFor(page, async () => (await state(page)).commands.length > 0, 10000, "the slide's commands");
        step.commands = (await state(page)).commands;
      } else if (kind === "typeIt") {
        await page.locator("#slide-commands button.type-it").nth(arg).click();
      } else if (kind === "check") {
        await waitFor(page, async () => (await state(page)).checks.some(c => c.step === arg && c.done), (extra || 120) * 1000, `check ${arg}`);
      } else if (kind === "read") {
        step.screen = await screen(page);
      } else if (kind === "reload") {
        await page.reload({ waitUntil: "domcontentloaded" });
      } else if (kind === "shot") {
        await page.screenshot({ path: arg });
      } else if (kind === "echo") {
        // keystroke to echo: type a character, time until it is on screen; arg times
        step.echo = [];
        await page.click("#terminal");
        for (let i = 0; i < arg; i++) {
          const ch = "abcdefghijklmnopqrstuvwxyz"[i % 26];
          const before = await screen(page);
          const t0 = Date.now();
          await page.keyboard.type(ch);
          await waitFor(page, async () => (await screen(page)) !== before, 10000, "an echo");
          step.echo.push(Date.now() - t0);
        }
        await page.keyboard.press("Control+U");
      }
      step.seconds = (Date.now() - began) / 1000;
      report.steps.push(step);
    }
  } catch (error) {
    report.failed = String(error.message || error);
  }
  report.screen = await screen(page).catch(() => "");
  report.state = await state(page).catch(() => null);
  await context.close();
  return report;
}

async function main() {
  const browser = await chromium.launch({ executablePath: config.chromium, args: CHROMIUM_ARGS, headless: true });
  try {
    const reports = await Promise.all(config.students.map(plan => student(browser, plan)));
    fs.writeFileSync(config.out, JSON.stringify({ students: reports }, null, 1));
  } finally {
    await browser.close();
  }
}
main().catch(error => { console.error(String(error.stack || error)); process.exit(1); });
