// crossclear console: the little that needs a browser. Every page works
// without it; no inline script anywhere (the CSP forbids it).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Forms that change something important ask first.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (ev) => {
      if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
    });
  }
  const upload = document.getElementById("upload");
  if (upload) enhanceUpload(upload);
});

// enhanceUpload sends a dropped or chosen file as the raw body and shows
// the pacs.002 answer as a table, without leaving the page.
function enhanceUpload(form) {
  const zone = document.getElementById("dropzone");
  const input = document.getElementById("file");
  const status = document.getElementById("upload-status");
  const answer = document.getElementById("answer");
  const send = async (file) => {
    status.textContent = "Uploading " + file.name + "…";
    answer.replaceChildren();
    try {
      const res = await fetch(form.action, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": form.dataset.csrf, "Accept": "application/json", "Content-Type": "application/xml" },
        body: file,
      });
      const body = await res.json();
      if (!res.ok) {
        status.textContent = file.name + " was refused: " + body.error;
        status.className = "error";
        return;
      }
      status.textContent = file.name + " received.";
      status.className = "notice";
      answer.replaceChildren(...renderAnswer(body));
    } catch (err) {
      status.textContent = "The upload failed: " + err;
      status.className = "error";
    }
  };
  zone.addEventListener("dragover", (ev) => { ev.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (ev) => {
    ev.preventDefault();
    zone.classList.remove("over");
    if (ev.dataTransfer.files.length > 0) send(ev.dataTransfer.files[0]);
  });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (input.files.length > 0) send(input.files[0]);
  });
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

// renderAnswer builds the answer's heading and table with textContent
// only: nothing from the server is parsed as HTML.
function renderAnswer(r) {
  const f = r.file;
  const h = el("h2", f.message + " " + f.msg_id + ": " + f.status + " — " + f.accepted + " accepted, " + f.rejected + " rejected" +
    (f.pending ? ", " + f.pending + " held for review" : ""));
  const table = el("table", undefined, "answer");
  const head = el("tr");
  for (const t of ["#", "End-to-end id", "UETR", "Status", "Reason", "Message"]) head.append(el("th", t));
  table.append(el("thead"));
  table.tHead.append(head);
  const body = el("tbody");
  for (const t of r.transactions || []) {
    const row = el("tr", undefined, "tx-" + t.status);
    const e = t.error || {};
    for (const v of [t.index, t.end_to_end_id, t.uetr, t.status, e.reason || "", e.message || ""]) row.append(el("td", v));
    body.append(row);
  }
  table.append(body);
  return [h, table];
}
