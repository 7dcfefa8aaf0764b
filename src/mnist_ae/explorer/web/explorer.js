// The latent-space explorer: code planes drawn on canvases, every code decoded in the browser by
// the models' own decoders (exported to ONNX, run by onnxruntime-web). `window.explorer` exposes
// the panels and timings to the tests (tests/test_explorer.py drive it with Playwright).
"use strict";

const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];  // matplotlib's tab10, as the figures
const SIDE = 28;
const STRIP_STEPS = 10;
const HOVER_PX = 7;  // a dot this close to the pointer is the one hovered
const explorer = { ready: false, error: null, loadMs: null, panels: [] };
window.explorer = explorer;

function say(text, isError = false) {
  const el = document.getElementById("status");
  el.textContent = text;
  el.classList.toggle("error", isError);
}

function fail(where, error) {
  const text = `${where}: ${error && error.message ? error.message : error}`;
  explorer.error = text;
  document.body.dataset.error = text;
  say(text, true);
}

async function fetchArray(url, Type) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Type(await response.arrayBuffer());
}

// Grey pixels (values in [0, 1], or 0-255 when `bytes`) into a 28 x 28 canvas; the exact
// values drawn are kept on the canvas (`pixels`) for the tests.
function paint(canvas, pixels, bytes = false) {
  const ctx = canvas.getContext("2d", { willReadFrequently: true });  // the tests read it back
  const image = ctx.createImageData(SIDE, SIDE);
  for (let i = 0; i < SIDE * SIDE; i++) {
    const v = bytes ? pixels[i] : Math.round(255 * Math.min(1, Math.max(0, pixels[i])));
    image.data[4 * i] = image.data[4 * i + 1] = image.data[4 * i + 2] = v;
    image.data[4 * i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  canvas.pixels = Float32Array.from(pixels, (v) => (bytes ? v / 255 : v));
}

function element(tag, attributes = {}, parent = null) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) {
    if (k === "text") el.textContent = v; else el.setAttribute(k, v);
  }
  if (parent) parent.appendChild(el);
  return el;
}

function digitCanvas(parent, cls) {
  return element("canvas", { width: SIDE, height: SIDE, class: `digit ${cls}` }, parent);
}

// One ONNX session; runs are queued (a session takes one run at a time).
class Decoder {
  constructor(session, dim) {
    this.session = session;
    this.dim = dim;
    this.queue = Promise.resolve();
  }

  // `codes`: an array of codes (each `dim` numbers); resolves to one Float32Array of 784 per code.
  decode(codes) {
    const flat = new Float32Array(codes.length * this.dim);
    codes.forEach((c, i) => flat.set(c, i * this.dim));
    const job = this.queue.then(async () => {
      const input = new ort.Tensor("float32", flat, [codes.length, this.dim]);
      const out = await this.session.run({ [this.session.inputNames[0]]: input });
      const data = out[this.session.outputNames[0]].data;
      return codes.map((_, i) => data.subarray(i * SIDE * SIDE, (i + 1) * SIDE * SIDE));
    });
    this.queue = job.catch(() => {});
    return job;
  }
}

class Panel {
  constructor(spec, data, decoder, codes, plane) {
    Object.assign(this, { spec, data, decoder, codes, plane, dim: spec.dim, n: data.n });
    this.code = null;         // the code last asked for (pointer, pin or sliders)
    this.pinned = null;
    this.hovered = -1;
    this.ends = [];           // interpolation end points (test indices)
    this.pending = null;      // newest code waiting while a decode runs
    this.busy = false;
    this.decodes = 0;         // decodes drawn
    this.latencies = [];      // ms from the pointer event to the decoded image on screen
    this.byDigit = Array.from({ length: 10 }, () => []);
    for (let i = 0; i < this.n; i++) this.byDigit[data.labels[i]].push(i);
    this.build();
    this.resetView();
  }

  // --- geometry: plane <-> screen (CSS pixels of the canvas) and plane <-> code ----------
  resetView() {
    const [x0, x1, y0, y1] = this.spec.view;
    this.view = { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2,
                  s: Math.min(this.width / (x1 - x0), this.height / (y1 - y0)) };
    this.redraw();
  }

  toScreen(x, y) {
    const { cx, cy, s } = this.view;
    return [this.width / 2 + (x - cx) * s, this.height / 2 - (y - cy) * s];
  }

  toPlane(px, py) {
    const { cx, cy, s } = this.view;
    return [cx + (px - this.width / 2) / s, cy - (py - this.height / 2) / s];
  }

  // The code of a plane point: itself, or the PCA's inverse `mean + point @ components`.
  planeToCode(x, y) {
    const pca = this.spec.pca;
    if (!pca) return [x, y];
    return pca.mean.map((m, d) => m + x * pca.components[0][d] + y * pca.components[1][d]);
  }

  codeToPlane(code) {
    const pca = this.spec.pca;
    if (!pca) return [code[0], code[1]];
    const dot = (row) => row.reduce((sum, c, d) => sum + c * (code[d] - pca.mean[d]), 0);
    return [dot(pca.components[0]), dot(pca.components[1])];
  }

  pointCode(i) { return Array.from(this.codes.subarray(i * this.dim, (i + 1) * this.dim)); }

  // Where a plane point is in the window (for the tests' pointer moves).
  clientPoint(x, y) {
    const rect = this.canvas.getBoundingClientRect();
    const [px, py] = this.toScreen(x, y);
    return { x: rect.left + px, y: rect.top + py };
  }

  // --- the page ----------------------------------------------------------------------------
  build() {
    const card = element("section", { class: "panel", id: `panel-${this.spec.name}` },
                         document.getElementById("panels"));
    element("h2", { text: this.spec.title }, card);
    const row = element("div", { class: "row" }, card);
    const left = element("div", {}, row);
    this.canvas = element("canvas", { class: "plane" }, left);
    element("div", { class: "axes", text: `x: ${this.spec.axes[0]}   y: ${this.spec.axes[1]}` }, left);
    const side = element("div", { class: "side" }, row);
    element("div", { class: "caption", text: "decoded at the pointer" }, side);
    this.decoded = digitCanvas(side, "decoded");
    this.codeText = element("div", { class: "caption code" }, side);
    this.hoverBox = element("div", { class: "hover" }, side);
    this.hoverText = element("div", { class: "caption label", text: "hover a dot" }, this.hoverBox);
    const pair = element("div", { class: "pair" }, this.hoverBox);
    this.testImage = digitCanvas(pair, "small test-image");
    this.reconstruction = digitCanvas(pair, "small reconstruction");
    element("div", { class: "caption", text: "test image | reconstruction" }, this.hoverBox);
    this.errorText = element("div", { class: "error" }, card);
    // One slider per code number: for a PCA plane, the code a point maps back to.
    const box = element("div", { class: "sliders" }, card);
    this.sliders = this.spec.ranges.map(([lo, hi], d) => {
      const label = element("label", { text: `z${d + 1}` }, box);
      const input = element("input", { type: "range", min: lo, max: hi, step: (hi - lo) / 1000,
                                       value: (lo + hi) / 2, "data-dim": d }, label);
      input.addEventListener("input", (ev) => this.slide(d, Number(input.value), ev.timeStamp));
      return input;
    });
    const strip = element("div", { class: "strip" }, card);
    this.stripText = element("div", { class: "caption", text: "click two dots to interpolate between them" }, strip);
    const images = element("div", { class: "images" }, strip);
    this.strip = Array.from({ length: STRIP_STEPS }, () => digitCanvas(images, "step"));

    const dpr = window.devicePixelRatio || 1;
    this.width = this.canvas.clientWidth;
    this.height = this.canvas.clientHeight;
    this.canvas.width = Math.round(this.width * dpr);
    this.canvas.height = Math.round(this.height * dpr);
    this.ctx = this.canvas.getContext("2d");
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.listen();
  }

  redraw() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.draw(); });
  }

  draw() {
    const ctx = this.ctx;
    ctx.clearRect(0, 0, this.width, this.height);
    ctx.globalAlpha = 0.55;
    const { cx, cy, s } = this.view;
    const w2 = this.width / 2, h2 = this.height / 2;
    for (let digit = 0; digit < 10; digit++) {  // one colour change per digit, not per dot
      ctx.fillStyle = COLOURS[digit];
      for (const i of this.byDigit[digit]) {
        const px = w2 + (this.plane[2 * i] - cx) * s, py = h2 - (this.plane[2 * i + 1] - cy) * s;
        if (px >= -2 && px <= this.width + 2 && py >= -2 && py <= this.height + 2) ctx.fillRect(px - 1, py - 1, 2.2, 2.2);
      }
    }
    ctx.globalAlpha = 1;
    const mark = (x, y, colour, radius) => {
      const [px, py] = this.toScreen(x, y);
      ctx.strokeStyle = colour; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(px, py, radius, 0, 2 * Math.PI); ctx.stroke();
    };
    if (this.ends.length) {
      const pts = this.ends.map((i) => [this.plane[2 * i], this.plane[2 * i + 1]]);
      if (pts.length === 2) {
        ctx.strokeStyle = "#000"; ctx.lineWidth = 1.5; ctx.beginPath();
        ctx.moveTo(...this.toScreen(...pts[0])); ctx.lineTo(...this.toScreen(...pts[1])); ctx.stroke();
      }
      pts.forEach(([x, y]) => mark(x, y, "#000", 6));
    }
    if (this.hovered >= 0) mark(this.plane[2 * this.hovered], this.plane[2 * this.hovered + 1], "#333", 5);
    if (this.pinned) mark(...this.codeToPlane(this.pinned), "#b00020", 7);
    if (this.code) {
      const [px, py] = this.toScreen(...this.codeToPlane(this.code));
      ctx.strokeStyle = "#000"; ctx.lineWidth = 1; ctx.beginPath();
      ctx.moveTo(px - 8, py); ctx.lineTo(px + 8, py); ctx.moveTo(px, py - 8); ctx.lineTo(px, py + 8); ctx.stroke();
    }
  }

  nearest(px, py) {
    let best = -1, bestD = HOVER_PX * HOVER_PX;
    for (let i = 0; i < this.n; i++) {
      const [sx, sy] = this.toScreen(this.plane[2 * i], this.plane[2 * i + 1]);
      const d = (sx - px) ** 2 + (sy - py) ** 2;
      if (d < bestD) { bestD = d; best = i; }
    }
    return best;
  }

  listen() {
    const local = (ev) => { const r = this.canvas.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; };
    let drag = null;
    this.canvas.addEventListener("pointerdown", (ev) => {
      drag = { start: local(ev), last: local(ev), moved: false };
      this.canvas.setPointerCapture(ev.pointerId);
    });
    this.canvas.addEventListener("pointermove", (ev) => {
      const [px, py] = local(ev);
      if (drag) {
        const [lx, ly] = drag.last;
        drag.moved = drag.moved || Math.hypot(px - drag.start[0], py - drag.start[1]) > 3;
        if (drag.moved) {
          this.view.cx -= (px - lx) / this.view.s;
          this.view.cy += (py - ly) / this.view.s;
          drag.last = [px, py];
          this.redraw();
          return;
        }
      }
      this.hover(this.nearest(px, py));
      this.pointer = this.toPlane(px, py);
      this.request(this.planeToCode(...this.pointer), ev.timeStamp);
    });
    this.canvas.addEventListener("pointerup", (ev) => {
      const click = drag && !drag.moved;
      drag = null;
      if (!click) return;
      const [px, py] = local(ev);
      const i = this.nearest(px, py);
      if (i >= 0) this.pick(i);
      else { this.pinned = this.planeToCode(...this.toPlane(px, py)); this.request(this.pinned, ev.timeStamp); }
    });
    this.canvas.addEventListener("pointerleave", (ev) => {
      drag = null;
      this.hover(-1);
      if (this.pinned) this.request(this.pinned, ev.timeStamp);
    });
    this.canvas.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      const [px, py] = local(ev);
      const [x, y] = this.toPlane(px, py);
      this.view.s *= Math.pow(1.2, -ev.deltaY / 100);
      // keep the plane point under the pointer where it is
      this.view.cx = x - (px - this.width / 2) / this.view.s;
      this.view.cy = y + (py - this.height / 2) / this.view.s;
      this.redraw();
    }, { passive: false });
    this.canvas.addEventListener("dblclick", () => this.resetView());
  }

  // --- decoding ------------------------------------------------------------------------------
  // Decode `code` for the big image; while a decode runs only the newest request waits.
  request(code, eventTime) {
    this.code = code;
    this.sliders.forEach((input, d) => { input.value = code[d]; });
    this.redraw();
    this.pending = { code, eventTime };
    if (!this.busy) this.draining = this.drain();
    return this.draining;  // resolves once the newest code is drawn
  }

  async drain() {
    this.busy = true;
    while (this.pending) {
      const { code, eventTime } = this.pending;
      this.pending = null;
      try {
        const [pixels] = await this.decoder.decode([code]);
        paint(this.decoded, pixels);
        this.decoded.code = Float32Array.from(code);
        this.decodes += 1;
        this.decoded.dataset.decodes = String(this.decodes);
        this.latencies.push(performance.now() - eventTime);
        const shown = code.slice(0, 8).map((v) => v.toFixed(3)).join(", ");
        this.codeText.textContent = `code (${shown}${code.length > 8 ? `, … ${code.length - 8} more` : ""})`;
      } catch (error) {
        this.errorText.textContent = `decoding failed: ${error.message || error}`;
        fail(`decoding failed in ${this.spec.name}`, error);
      }
    }
    this.busy = false;
  }

  slide(d, value, eventTime) {
    const code = (this.code || this.planeToCode(this.view.cx, this.view.cy)).slice();
    code[d] = value;
    this.request(code, eventTime);
  }

  async hover(i) {
    if (i === this.hovered) return;
    this.hovered = i;
    this.redraw();
    if (i < 0) return;
    const label = this.data.labels[i];
    this.hoverText.textContent = `test image #${i}: digit ${label}`;
    this.hoverBox.dataset.index = String(i);
    this.hoverBox.dataset.label = String(label);
    paint(this.testImage, this.data.images.subarray(i * SIDE * SIDE, (i + 1) * SIDE * SIDE), true);
    try {
      const [pixels] = await this.decoder.decode([this.pointCode(i)]);  // decoder(encoder(x)): its reconstruction
      if (this.hovered === i) { paint(this.reconstruction, pixels); this.reconstruction.dataset.index = String(i); }
    } catch (error) {
      fail(`decoding failed in ${this.spec.name}`, error);
    }
  }

  async pick(i) {
    this.ends = this.ends.length === 1 ? [this.ends[0], i] : [i];
    this.redraw();
    if (this.ends.length < 2) {
      this.stripText.textContent = `from test image #${i} (digit ${this.data.labels[i]}): click a second dot`;
      return;
    }
    const [a, b] = this.ends.map((k) => this.pointCode(k));
    const codes = Array.from({ length: STRIP_STEPS }, (_, k) => {
      const t = k / (STRIP_STEPS - 1);
      return a.map((v, d) => (1 - t) * v + t * b[d]);
    });
    try {
      const images = await this.decoder.decode(codes);
      images.forEach((pixels, k) => { paint(this.strip[k], pixels); this.strip[k].code = Float32Array.from(codes[k]); });
      const [ia, ib] = this.ends;
      this.stripText.textContent = `#${ia} (digit ${this.data.labels[ia]}) → #${ib} (digit ${this.data.labels[ib]}): ` +
        `${STRIP_STEPS} codes on the straight line between theirs`;
      this.stripText.dataset.ends = `${ia},${ib}`;
    } catch (error) {
      fail(`decoding failed in ${this.spec.name}`, error);
    }
  }
}

async function main() {
  if (location.protocol === "file:") {
    fail("cannot run from a file", "browsers refuse WebAssembly from file:// pages: run `bash run.sh explore` and open its URL");
    return;
  }
  if (typeof ort === "undefined") {
    fail("decoding failed", "onnxruntime-web (ort/ort.wasm.min.js) did not load: rebuild the site");
    return;
  }
  const spec = await (await fetch("data.json")).json();
  const data = { n: spec.n, images: await fetchArray(spec.images, Uint8Array), labels: await fetchArray(spec.labels, Uint8Array) };
  document.getElementById("legend").innerHTML = COLOURS.map((c, d) => `<span><i style="background:${c}"></i>${d}</span>`).join("");
  ort.env.wasm.wasmPaths = new URL(spec.ort.path, location.href).href;  // import() needs a full URL
  ort.env.wasm.numThreads = 1;  // a threaded runtime needs a cross-origin-isolated page; one image is small work
  say(`loading ${spec.panels.length} decoders…`);
  for (const p of spec.panels) {
    let session;
    try {
      session = await ort.InferenceSession.create(p.decoder, { executionProviders: ["wasm"] });
    } catch (error) {
      fail(`decoding failed: cannot load ${p.decoder}`, error);
      return;
    }
    const codes = await fetchArray(p.codes, Float32Array);
    const plane = await fetchArray(p.plane, Float32Array);
    explorer.panels.push(new Panel(p, data, new Decoder(session, p.dim), codes, plane));
  }
  // A first image in every panel: the code at the centre of its view.
  await Promise.all(explorer.panels.map((panel) => panel.request(panel.planeToCode(panel.view.cx, panel.view.cy),
                                                                   performance.now())));
  if (explorer.error) return;
  explorer.loadMs = performance.now();
  explorer.ready = true;
  document.body.dataset.ready = "1";
  const notes = spec.notes.length ? ` (${spec.notes.join("; ")})` : "";
  say(`${spec.panels.length} models, ${spec.n} test codes each; ready in ${Math.round(explorer.loadMs)} ms${notes}`);
}

main().catch((error) => fail("loading failed", error));
