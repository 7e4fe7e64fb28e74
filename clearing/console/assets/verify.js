// crossclear regulator console: verification in the regulator's own
// browser. It mirrors regulator/verify (crossclear verify): with nothing
// but the published keys it checks the latest checkpoint's signed note
// (Ed25519, WebCrypto), that the checkpoint extends the last one this
// browser trusted (RFC 6962 consistency proof; kept in localStorage), and
// for each report on the page its bundle: the logged entry's inclusion
// proof up to the checkpoint's root, each file's SHA-256, size and
// signature against the entry, and that the JSON report says what its
// entry says. Nothing from the server is parsed as HTML. Its words come
// from the page, in the reader's language (data-words: the names of the
// checks, the verdicts and what a failed check found, with {placeholders}).
"use strict";

// words are the page's; say fills a message's placeholders.
let words = {};
const say = (key, args = {}) => (words[key] || key).replace(/\{(\w+)\}/g, (m, k) => (k in args ? String(args[k]) : m));

// when writes a time this browser kept (ISO 8601) as the page's language
// writes times.
function when(iso) {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const two = (n) => String(n).padStart(2, "0");
  const m = t.getUTCMonth() + 1, d = t.getUTCDate();
  return say("datetime", { y: t.getUTCFullYear(), m, mm: two(m), d, dd: two(d), hh: two(t.getUTCHours()), mi: two(t.getUTCMinutes()) });
}

document.addEventListener("DOMContentLoaded", () => {
  const panel = document.getElementById("verify");
  if (panel) verifyPage(panel);
});

// Failure is an error naming the check that failed (a key of words).
class Failure extends Error {
  constructor(check, detail) {
    super(say(check) + ": " + detail);
    this.check = check;
  }
}

const utf8 = new TextEncoder();

function b64(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function toB64(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function same(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

// RFC 6962 hashing, as regulator/merklelog's Hasher.
const leafHash = (data) => sha256(concat(new Uint8Array([0]), data));
const nodeHash = (l, r) => sha256(concat(new Uint8Array([1]), l, r));

// inclusionRoot is the root an inclusion proof leads to (RFC 9162
// 2.1.3.2); index and size are BigInts.
async function inclusionRoot(index, size, leaf, proof) {
  if (index >= size) throw new Error(say("leaf_beyond", { leaf: index, size }));
  let fn = index, sn = size - 1n, r = leaf;
  for (const p of proof) {
    if (sn === 0n) throw new Error(say("proof_too_long"));
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n; sn >>= 1n;
  }
  if (sn !== 0n) throw new Error(say("proof_too_short"));
  return r;
}

// verifyConsistency checks that the tree of size1 (root1) is a prefix of
// the tree of size2 (root2) (RFC 9162 2.1.4.2); sizes are BigInts.
async function verifyConsistency(size1, size2, proof, root1, root2) {
  if (size1 > size2) throw new Error(say("size_beyond", { size: size1, beyond: size2 }));
  if (size1 === size2) {
    if (proof.length !== 0 || !same(root1, root2)) throw new Error(say("two_roots", { size: size1 }));
    return;
  }
  if (size1 === 0n) return;
  if (proof.length === 0) throw new Error(say("proof_empty"));
  let path = proof;
  if ((size1 & (size1 - 1n)) === 0n) path = [root1, ...proof]; // a complete subtree: its root starts the path
  let fn = size1 - 1n, sn = size2 - 1n;
  while ((fn & 1n) === 1n) { fn >>= 1n; sn >>= 1n; }
  let fr = path[0], sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) throw new Error(say("proof_too_long"));
    if ((fn & 1n) === 1n || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n; sn >>= 1n;
  }
  if (sn !== 0n) throw new Error(say("proof_too_short"));
  if (!same(fr, root1)) throw new Error(say("proof_older_root"));
  if (!same(sr, root2)) throw new Error(say("proof_newer_root"));
}

// noteVerifier parses a note verifier key "name+hash+base64(0x01||key)"
// and checks its hash, as golang.org/x/mod/sumdb/note does.
async function noteVerifier(vkey) {
  const [name, hash] = vkey.split("+", 2);
  const data = b64(vkey.slice((name + hash).length + 2));
  if (!name || !/^[0-9a-f]{8}$/.test(hash || "") || data.length !== 33 || data[0] !== 1) {
    throw new Error(say("not_vkey", { key: vkey }));
  }
  const sum = await sha256(concat(utf8.encode(name + "\n"), data));
  if (hex(sum.slice(0, 4)) !== hash) throw new Error(say("key_hash", { name }));
  const pub = await crypto.subtle.importKey("raw", data.slice(1), { name: "Ed25519" }, false, ["verify"]);
  return { name, hash, pub };
}

// openCheckpoint checks a signed checkpoint note: every signature by one
// of the log's keys verifies and there is at least one; the body names the
// log's origin. It returns {origin, size (BigInt), root, note}.
async function openCheckpoint(note, keys, verifiers) {
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw new Failure("checkpoint_signature", say("not_note"));
  const text = note.slice(0, split + 1);
  const msg = utf8.encode(text);
  let verified = 0;
  for (const line of note.slice(split + 2).split("\n")) {
    if (line === "") continue;
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m) throw new Failure("checkpoint_signature", say("bad_signature_line"));
    const sig = b64(m[2]);
    const v = verifiers.find((v) => v.name === m[1] && v.hash === hex(sig.slice(0, 4)));
    if (!v) continue; // a witness's cosignature, or a key this page does not know
    if (!(await crypto.subtle.verify({ name: "Ed25519" }, v.pub, sig.slice(4), msg))) {
      throw new Failure("checkpoint_signature", say("signature_fails", { name: v.name }));
    }
    verified++;
  }
  if (verified === 0) throw new Failure("checkpoint_signature", say("no_known_signature"));
  const lines = text.split("\n");
  if (lines.length < 4 || !/^[0-9]+$/.test(lines[1])) throw new Failure("checkpoint_signature", say("not_checkpoint"));
  const root = b64(lines[2]);
  if (root.length !== 32) throw new Failure("checkpoint_signature", say("bad_root"));
  if (lines[0] !== keys.origin) throw new Failure("checkpoint_origin", say("other_origin", { log: lines[0], origin: keys.origin }));
  return { origin: lines[0], size: BigInt(lines[1]), root, note };
}

// fileVerifier checks a detached file signature as messages/signing does:
// Ed25519 over the bytes, or ECDSA P-256 (ASN.1) over their SHA-256.
async function verifyFileSignature(fileKeys, data, sig) {
  const k = fileKeys.find((k) => k.key === sig.key && k.version === sig.version);
  if (!k) throw new Error(say("unknown_file_key", { key: sig.key, version: sig.version }));
  if (k.algorithm !== sig.algorithm) throw new Error(say("other_algorithm", { key: k.key, version: k.version, algorithm: k.algorithm, claimed: sig.algorithm }));
  const der = b64(k.public_key_pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""));
  const value = b64(sig.signature);
  let ok;
  if (k.algorithm === "ed25519") {
    const pub = await crypto.subtle.importKey("spki", der, { name: "Ed25519" }, false, ["verify"]);
    ok = await crypto.subtle.verify({ name: "Ed25519" }, pub, value, data);
  } else if (k.algorithm === "ecdsa-p256") {
    const pub = await crypto.subtle.importKey("spki", der, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
    ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, pub, ecdsaRaw(value), data);
  } else {
    throw new Error(say("unknown_algorithm", { algorithm: k.algorithm }));
  }
  if (!ok) throw new Error(say("file_signature_fails", { key: k.key, version: k.version }));
}

// ecdsaRaw turns an ASN.1 ECDSA signature into the r||s WebCrypto takes.
function ecdsaRaw(der) {
  let at = 2;
  if (der[1] & 0x80) at += der[1] & 0x7f;
  const out = new Uint8Array(64);
  for (const half of [0, 1]) {
    if (der[at] !== 0x02) throw new Error(say("not_ecdsa"));
    let len = der[at + 1];
    let v = der.slice(at + 2, at + 2 + len);
    at += 2 + len;
    while (v.length > 32 && v[0] === 0) v = v.slice(1);
    if (v.length > 32) throw new Error(say("not_p256"));
    out.set(v, half * 32 + 32 - v.length);
  }
  return out;
}

// get fetches a path of this console, waiting out the gateway's rate
// limit when it answers 429.
async function get(url) {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (res.status === 429 && attempt < 5) {
      const wait = Number(res.headers.get("Retry-After")) || 1;
      await new Promise((r) => setTimeout(r, wait * 1000));
      continue;
    }
    if (!res.ok) {
      let why = res.statusText;
      try { why = (await res.json()).error; } catch (_) { /* not JSON */ }
      throw new Error(say("fetch_failed", { url, status: res.status, error: why }));
    }
    return res;
  }
}

// The last checkpoint this browser trusted, per log.
const storeKey = (origin) => "crossclear.checkpoint " + origin;

function lastSeen(origin) {
  try {
    const s = JSON.parse(localStorage.getItem(storeKey(origin)));
    return s && { size: BigInt(s.size), root: b64(s.root), at: s.at };
  } catch (_) {
    return null;
  }
}

function remember(cp) {
  localStorage.setItem(storeKey(cp.origin), JSON.stringify({ size: cp.size.toString(), root: toB64(cp.root), at: new Date().toISOString() }));
}

// checkConsistency holds the latest checkpoint to the one this browser
// saw last: the same tree at the same size, or a tree that extends it.
// It returns what to tell.
async function checkConsistency(prefix, cp) {
  const last = lastSeen(cp.origin);
  if (!last) return say("tofu", { origin: cp.origin });
  if (cp.size === last.size) {
    if (!same(cp.root, last.root)) throw new Failure("log_consistency", say("forked", { size: last.size, at: when(last.at) }));
    return say("same", { at: when(last.at) });
  }
  if (cp.size < last.size) throw new Failure("log_consistency", say("backwards", { seen: last.size, at: when(last.at), size: cp.size }));
  const res = await get(prefix + "/v1/proofs/consistency?from=" + last.size + "&to=" + cp.size);
  const proof = (await res.json()).hashes.map(b64);
  try {
    await verifyConsistency(last.size, cp.size, proof, last.root, cp.root);
  } catch (err) {
    throw new Failure("log_consistency", say("not_extended", { size: cp.size, seen: last.size, at: when(last.at) }) + " (" + err.message + ")");
  }
  return say("extends", { size: last.size, at: when(last.at) });
}

// verifyReport checks one report's bundle against the trusted checkpoint.
async function verifyReport(prefix, id, keys, verifiers, cp) {
  const res = await get(prefix + "/v1/reports/" + encodeURIComponent(id) + "/bundle?tree_size=" + cp.size);
  const b = await res.json();
  const bcp = await openCheckpoint(b.checkpoint, keys, verifiers);
  if (bcp.size !== cp.size || !same(bcp.root, cp.root)) {
    throw new Failure("checkpoint", say("other_checkpoint"));
  }
  let entry;
  try {
    entry = JSON.parse(b.entry);
  } catch (err) {
    throw new Failure("log_entry", say("entry_not_json", { error: err.message }));
  }
  if (entry.id !== id || b.report !== id) throw new Failure("log_entry", say("other_entry", { id: entry.id }));
  if (BigInt(b.inclusion.tree_size) !== cp.size) throw new Failure("inclusion_proof", say("proof_other_size", { size: b.inclusion.tree_size, want: cp.size }));
  const root = await inclusionRoot(BigInt(b.leaf_index), cp.size, await leafHash(utf8.encode(b.entry)), b.inclusion.hashes.map(b64))
    .catch((err) => { throw new Failure("inclusion_proof", err.message); });
  if (!same(root, cp.root)) throw new Failure("inclusion_proof", say("not_included", { size: cp.size, leaf: b.leaf_index }));
  if ((b.files || []).length !== entry.files.length) throw new Failure("file_hashes", say("file_count", { files: (b.files || []).length, want: entry.files.length }));
  for (const ef of entry.files) {
    const f = b.files.find((f) => f.format === ef.format);
    if (!f) throw new Failure("file_hashes", say("file_missing", { format: ef.format }));
    const content = b64(f.content);
    const sum = hex(await sha256(content));
    if (sum !== ef.sha256 || content.length !== ef.size || f.name !== ef.name) {
      throw new Failure("file_hashes", say("altered", { name: f.name, sum, want: ef.sha256 }));
    }
    await verifyFileSignature(keys.file_keys, content, f.signature).catch((err) => { throw new Failure("file_signature", f.name + ": " + err.message); });
  }
  const json = b.files.find((f) => f.format === "json");
  let r;
  try {
    r = JSON.parse(new TextDecoder().decode(b64(json.content)));
  } catch (err) {
    throw new Failure("report_content", say("report_not_json"));
  }
  for (const k of ["id", "jurisdiction", "kind", "period", "seq", "nil"]) {
    if (r[k] !== entry[k]) throw new Failure("report_content", say("report_differs", { field: k, got: r[k], want: entry[k] }));
  }
  return entry;
}

function show(el, ok, text) {
  el.textContent = text;
  el.className = "verdict " + (ok ? "ok" : "bad");
}

function checkItem(list, ok, text) {
  const li = document.createElement("li");
  li.className = ok ? "ok" : "bad";
  li.textContent = text;
  list.append(li);
}

async function verifyPage(panel) {
  try {
    words = JSON.parse(panel.dataset.words);
  } catch (_) { /* the keys stand in for the words */ }
  const prefix = panel.dataset.prefix;
  const status = document.getElementById("verify-status");
  const checks = document.getElementById("checkpoint-checks");
  const rows = [...document.querySelectorAll("#reports tr[data-report]")];
  const fail = (err) => {
    panel.classList.add("bad");
    show(status, false, say("not_verified", { error: err.message }));
    for (const row of rows) show(row.querySelector(".verdict"), false, say("untrusted"));
  };
  if (!window.crypto || !crypto.subtle) {
    fail(new Failure("browser", say("no_webcrypto")));
    return;
  }
  status.textContent = say("verifying");
  let keys, verifiers, cp;
  try {
    keys = await (await get(prefix + "/v1/keys")).json();
    if (keys.schema !== "crossclear/regulator-keys/v1" || !keys.origin || !(keys.checkpoint_keys || []).length) {
      throw new Failure("published_keys", say("not_keys"));
    }
    verifiers = await Promise.all(keys.checkpoint_keys.map(noteVerifier)).catch((err) => { throw new Failure("published_keys", err.message); });
    const note = await (await get(prefix + "/v1/checkpoint")).text();
    cp = await openCheckpoint(note, keys, verifiers);
    checkItem(checks, true, say("signed", { size: cp.size, origin: keys.origin }));
    if (BigInt(panel.dataset.treeSize) > cp.size) {
      throw new Failure("log_consistency", say("page_beyond", { page: panel.dataset.treeSize, size: cp.size }));
    }
    checkItem(checks, true, await checkConsistency(prefix, cp));
  } catch (err) {
    checkItem(checks, false, err.message);
    fail(err);
    return;
  }
  remember(cp);
  // No report withheld: where the page lists every report of a kind (no
  // period chosen), the verified entries' numbers follow each other down
  // the page, from 1 on the first page — crossclear verify's sequence
  // check, within what this page shows.
  const whole = panel.dataset.period === "";
  let first = panel.dataset.after === "";
  let last = {};
  let failed = 0;
  for (const row of rows) {
    const cell = row.querySelector(".verdict");
    cell.textContent = say("row_verifying");
    try {
      const e = await verifyReport(prefix, row.dataset.report, keys, verifiers, cp);
      if (whole) {
        const want = e.kind in last ? last[e.kind] + 1 : first ? 1 : e.seq;
        last[e.kind] = e.seq;
        if (e.seq !== want) throw new Failure("report_sequence", say("missing", { kind: say(e.kind), want, seq: e.seq }));
      }
      show(cell, true, say("row_ok", { leaf: row.dataset.leaf, size: cp.size, files: e.files.length }));
    } catch (err) {
      failed++;
      show(cell, false, say("row_failed", { error: err.message }));
      if (err.check !== "report_sequence") { last = {}; first = false; } // this row's number is unknown
    }
  }
  panel.classList.add(failed ? "bad" : "ok");
  show(status, failed === 0, failed === 0 ? say("ok", { n: rows.length }) : say("failed", { failed, total: rows.length }));
}
