// crossclear console: the little that needs a browser. Every page works
// without it; no inline script anywhere (the CSP forbids it). Its words
// come from the page, in the session's language: the upload form's data-
// attributes (messages with {name} placeholders) and a <template> of the
// answer table's head.
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
  const say = (msg, args) => msg.replace(/\{(\w+)\}/g, (m, k) => (k in args ? String(args[k]) : m));
  const words = form.dataset;
  const send = async (file) => {
    status.textContent = say(words.uploading, { name: file.name });
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
        status.textContent = say(words.refused, { name: file.name, error: body.error });
        status.className = "error";
        return;
      }
      status.textContent = say(words.received, { name: file.name });
      status.className = "notice";
      answer.replaceChildren(...renderAnswer(body, words, say));
    } catch (err) {
      status.textContent = say(words.failed, { error: err });
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
function renderAnswer(r, words, say) {
  const f = r.file;
  const h = el("h2", f.message + " " + f.msg_id + ": " + f.status + " — " + say(words.summary, f) +
    (f.pending ? say(words.pending, f) : ""));
  const table = el("table", undefined, "answer");
  table.append(el("thead"));
  table.tHead.append(document.getElementById("answer-head").content.cloneNode(true));
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
