// The teacher's board: reads board.json every few seconds and redraws the table.
"use strict";
const base = location.pathname.replace(/\/$/, "");

function cell(row, text, tag) {
  const td = document.createElement(tag || "td");
  td.textContent = text;
  row.appendChild(td);
}

async function refresh() {
  try {
    const answer = await fetch(base + "/board.json", { cache: "no-store" });
    if (!answer.ok) throw new Error("the server said " + answer.status);
    const board = await answer.json();
    const head = document.querySelector("#board thead");
    const body = document.querySelector("#board tbody");
    head.replaceChildren();
    body.replaceChildren();
    const top = document.createElement("tr");
    board.head.slice(0, 5).concat(["CHECKS", "TERMINAL"]).forEach(h => cell(top, h, "th"));
    head.appendChild(top);
    for (const row of board.rows) {
      const tr = document.createElement("tr");
      row.slice(0, 5).forEach(text => cell(tr, text));
      cell(tr, String(board.checks[row[0]] || 0));
      cell(tr, row[5]);
      if (row[5] !== "ready") tr.className = "stuck";
      body.appendChild(tr);
    }
    document.getElementById("summary").textContent = board.summary;
  } catch (error) {
    document.getElementById("summary").textContent = "cannot read the board: " + error.message;
  }
  setTimeout(refresh, 3000);   // one read at a time
}
refresh();
