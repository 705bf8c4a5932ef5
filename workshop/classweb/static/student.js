// A student's page: the lecture (the exported slides, in a frame of the same origin), a live terminal
// (xterm.js over a WebSocket to the class server, which runs `kubectl exec` into the student's
// terminal pod), the current slide's commands to type with one click, and the student's step checks.
"use strict";
const base = location.pathname.replace(/\/$/, "");
const statusLine = document.getElementById("status");
const term = new Terminal({ cursorBlink: true, fontSize: 14, scrollback: 3000, convertEol: false });
const fit = new FitAddon.FitAddon();
term.loadAddon(fit);
term.open(document.getElementById("terminal"));
fit.fit();

// The lecture (46 players) loads once the terminal is up, or after 3 s: a prompt first, on a busy laptop.
function loadLecture() {
  const frame = document.getElementById("lecture");
  if (!frame.src) frame.src = frame.dataset.src + location.hash;
}
setTimeout(loadLecture, 3000);

let socket = null;
let retry = 500;
let final = false;
const encoder = new TextEncoder();

function say(text, kind) {
  statusLine.textContent = text;
  statusLine.className = "status " + (kind || "");
  document.body.dataset.terminal = kind || "";
}

function send(object) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(object));
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${scheme}//${location.host}${base}/tty?cols=${term.cols}&rows=${term.rows}`;
  socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  socket.onopen = () => performance.mark("tty-open");
  socket.onmessage = event => {
    if (typeof event.data !== "string") {
      if (!performance.getEntriesByName("tty-output").length) performance.mark("tty-output");
      term.write(new Uint8Array(event.data));
      return;
    }
    const message = JSON.parse(event.data);
    if (message.error) {
      final = true;
      say(message.error, "error");
    } else if (message.status === "connected") {
      retry = 500;
      say("connected: your shell in " + document.body.dataset.namespace, "ready");
      loadLecture();
      send({ resize: [term.cols, term.rows] });
    } else if (message.status) {
      say(message.status, "waiting");
    }
  };
  socket.onclose = () => {
    if (final) return;
    say("connection lost: reconnecting to the same shell...", "waiting");
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 8000);
  };
}

term.onData(data => {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(encoder.encode(data));
});
window.addEventListener("resize", () => {
  fit.fit();
  send({ resize: [term.cols, term.rows] });
});

// The slide on screen in the lecture frame, and its commands: a Kubernetes box's command goes into the
// terminal typed but not run (Enter is the student's), as the deck types it; a Docker box says why not.
let boxes = {};
fetch("/lecture/boxes.json").then(r => r.json()).then(found => { boxes = found; shownSlide = ""; });
let shownSlide = "";

function currentSlide(doc) {
  return doc.querySelector("section.slide.current") || doc.querySelector("section.slide");
}

function showCommands() {
  const frame = document.getElementById("lecture");
  const doc = frame.contentDocument;
  if (!doc) return;
  const slide = currentSlide(doc);
  const key = slide ? slide.id + Object.keys(boxes).length : "";
  if (!slide || key === shownSlide) return;
  shownSlide = key;
  const list = document.getElementById("slide-commands");
  list.replaceChildren();
  for (const figure of slide.querySelectorAll("figure.box")) {
    const command = figure.querySelector(".command");
    if (!command) continue;
    const needs = boxes[figure.dataset.box] || [];
    const row = document.createElement("div");
    row.className = "slide-command";
    const code = document.createElement("code");
    code.textContent = command.innerText;
    if (needs.includes("docker")) {
      const note = document.createElement("span");
      note.className = "small";
      note.textContent = "Docker: a recording of the teacher's machine (your terminal has no Docker)";
      row.append(code, note);
    } else {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "type-it";
      button.textContent = "Type it";
      button.title = "put this command into your terminal; press Enter to run it";
      button.addEventListener("click", () => { send({ input: command.innerText }); term.focus(); });
      row.append(button, code);
    }
    list.appendChild(row);
  }
}
setInterval(showCommands, 400);

async function refreshChecks() {   // one poll at a time: the next is planned when this one has ended
  try {
    const answer = await fetch(base + "/state.json", { cache: "no-store" });
    if (!answer.ok) return;
    const state = await answer.json();
    const list = document.getElementById("checks");
    list.replaceChildren();
    for (const check of state.checks) {
      const item = document.createElement("li");
      item.className = check.done ? "done" : "todo";
      item.dataset.step = check.step;
      item.textContent = `${check.done ? "\u2713" : "\u25cb"} slide ${check.slide}: ${check.what}`;
      item.title = check.found;
      list.appendChild(item);
    }
    if (!state.terminal.ready && !final && document.body.dataset.terminal !== "ready") {
      say("your terminal: " + state.terminal.why, "waiting");
    }
  } catch (error) { /* the next round tries again */ }
  setTimeout(refreshChecks, 3000);
}
refreshChecks();
connect();
