// pnyx Record page: check an entry's inclusion proof in the reader's browser.
//
// Fetches the entry text and its inclusion proof from the public JSON API (not from the page),
// recomputes the leaf hash SHA-256(0x00 || entry) with WebCrypto, folds the proof as in
// RFC 9162 section 2.1.3.2 and compares the result with the checkpoint root shown on the page.
// Our own code; no dependencies. WebCrypto needs a secure context (HTTPS, or localhost).
"use strict";

(function () {
  const button = document.getElementById("browser-check");
  const out = document.getElementById("browser-result");
  const rootEl = document.getElementById("checkpoint-root");
  if (!button || !out || !rootEl) {
    return;
  }
  if (!window.isSecureContext || !window.crypto || !window.crypto.subtle) {
    out.textContent =
      "Your browser cannot run this check here: WebCrypto needs a secure context " +
      "(HTTPS or localhost). `pnyx ledger verify` checks the log offline.";
    return;
  }
  button.hidden = false;

  function b64decode(text) {
    const bin = atob(text);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) {
      bytes[i] = bin.charCodeAt(i);
    }
    return bytes;
  }

  function b64encode(bytes) {
    let bin = "";
    for (const b of bytes) {
      bin += String.fromCharCode(b);
    }
    return btoa(bin);
  }

  function equal(a, b) {
    if (a.length !== b.length) {
      return false;
    }
    let diff = 0;
    for (let i = 0; i < a.length; i++) {
      diff |= a[i] ^ b[i];
    }
    return diff === 0;
  }

  async function sha256(...parts) {
    const total = parts.reduce((n, p) => n + p.length, 0);
    const buf = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      buf.set(p, at);
      at += p.length;
    }
    return new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
  }

  const leafHash = (data) => sha256(Uint8Array.of(0x00), data);
  const nodeHash = (left, right) => sha256(Uint8Array.of(0x01), left, right);

  // RFC 9162 2.1.3.2; BigInt so that indexes past 2^31 shift correctly.
  async function rootFromProof(leaf, index, size, proof) {
    if (index < 0n || index >= size) {
      throw new Error(`index ${index} is outside the tree of size ${size}`);
    }
    let fn = index;
    let sn = size - 1n;
    let r = leaf;
    for (const [i, p] of proof.entries()) {
      if (p.length !== 32) {
        throw new Error(`proof hash ${i} has ${p.length} bytes, not 32`);
      }
      if (sn === 0n) {
        throw new Error("the proof is longer than the tree is deep");
      }
      if ((fn & 1n) === 1n || fn === sn) {
        r = await nodeHash(p, r);
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    if (sn !== 0n) {
      throw new Error("the proof is shorter than the tree is deep");
    }
    return r;
  }

  async function getJson(url) {
    const response = await fetch(url, { headers: { accept: "application/json" }, cache: "no-store" });
    if (!response.ok) {
      throw new Error(`${url} answered HTTP ${response.status}`);
    }
    return response.json();
  }

  function show(ok, message) {
    out.dataset.result = ok ? "ok" : "fail";
    out.textContent = message;
  }

  async function check() {
    const index = BigInt(button.dataset.index);
    const size = BigInt(button.dataset.size);
    const root = b64decode(rootEl.textContent.trim());
    const entries = await getJson(`/api/v1/log/entries?start=${index}&end=${index + 1n}`);
    if (BigInt(entries.start) !== index || entries.entries.length !== 1) {
      throw new Error(`the API did not return entry ${index}`);
    }
    const proof = await getJson(`/api/v1/log/proof/inclusion?index=${index}&size=${size}`);
    if (BigInt(proof.index) !== index || BigInt(proof.size) !== size) {
      throw new Error(`the API returned a proof for entry ${proof.index} in size ${proof.size}`);
    }
    const leaf = await leafHash(new TextEncoder().encode(entries.entries[0]));
    const computed = await rootFromProof(leaf, index, size, proof.proof.map(b64decode));
    if (!equal(computed, root)) {
      show(
        false,
        `Check failed: mismatch. The entry and the ${proof.proof.length}-hash proof fold to ` +
          `${b64encode(computed)}, but the checkpoint's root hash is ${b64encode(root)}.`,
      );
      return;
    }
    show(
      true,
      `Entry ${index}: verified in your browser. Its leaf hash ${b64encode(leaf)} and the ` +
        `${proof.proof.length}-hash proof fold to the checkpoint's root hash ${b64encode(root)}.`,
    );
  }

  button.addEventListener("click", () => {
    button.disabled = true;
    out.dataset.result = "running";
    out.textContent = "Checking…";
    check()
      .catch((err) => show(false, `Check failed: ${err.message}`))
      .finally(() => {
        button.disabled = false;
      });
  });
})();
