// The page: wires the drawing pad, the two inference locations and the result panel.
import config from "../config.js";
import { Api } from "./api.js";
import { BrowserModel } from "./browser-model.js";
import { answerFrom, barLabel, inputMismatch, onnxUrl } from "./contract.js";
import { DrawingPad } from "./drawing-pad.js";
import { FeedbackPanel } from "./feedback.js";
import { EmptyDrawing, preprocessRGBA } from "./preprocess.js";

const $ = (id) => document.getElementById(id);
const api = new Api(config);
const browserModel = new BrowserModel(config);
const pad = new DrawingPad($("pad"));
const feedback = new FeedbackPanel($("feedback"), api);
const ui = {
  error: $("error"),
  prediction: $("prediction"),
  confidence: $("confidence"),
  latency: $("latency"),
  modelInput: $("model-input"),
  announcer: $("announcer"),
  number: $("number"),
  numberLatency: $("number-latency"),
  digitList: $("digit-list"),
  boxes: $("boxes"),
  answeredBy: $("answered-by"),
  compare: $("compare"),
  compareList: $("compare-list"),
};
const NOT_A_DIGIT_MESSAGE = "That doesn't look like a digit";
let sequence = 0; // answers to an older drawing are ignored
let debounce = null;
// The served versions (from /api/models): their metadata is the model contract.
let served = { production: null, versions: [] };
let barLabels = null;

const inferenceLocation = () => document.querySelector('input[name="location"]:checked').value;
const numberMode = () => $("number-mode").checked;
const comparing = () => $("compare-mode").checked && served.versions.length > 1;
const metadataOf = (version) =>
  (served.versions.find((v) => v.version === version) || served.production || {}).metadata;

/** One bar per label of the version that answered (rebuilt if a version has other labels). */
function buildBars(labels) {
  if (barLabels && barLabels.join() === labels.join()) return;
  barLabels = labels;
  const bars = $("bars");
  bars.replaceChildren(...labels.map((label, i) => {
    const item = document.createElement("li");
    const shown = barLabel(label);
    item.innerHTML = `<span class="bar-label"></span>
      <span class="bar-track"><span class="bar-fill"></span></span>
      <span class="bar-value">–</span>`;
    item.querySelector(".bar-label").textContent = shown;
    item.dataset.testid = `prob-${/^[0-9]$/.test(label) ? label : label.replaceAll("_", "-")}`;
    item.dataset.index = String(i);
    item.setAttribute("aria-label", `probability of ${shown === "none" ? "not a digit" : label}`);
    return item;
  }));
}

function showError(message) {
  ui.error.textContent = message;
  ui.error.hidden = !message;
}

function announce(text) {
  ui.announcer.textContent = text;
}

function percent(p) {
  return `${(100 * p).toFixed(p >= 0.9995 || p < 0.0005 ? 0 : 1)}%`;
}

function resetResult() {
  ui.prediction.textContent = "";
  ui.prediction.classList.remove("not-a-digit");
  ui.answeredBy.textContent = "";
  ui.compareList.replaceChildren();
  ui.confidence.textContent = "–";
  ui.latency.textContent = "–";
  for (const item of document.querySelectorAll("#bars li")) {
    item.querySelector(".bar-fill").style.width = "0%";
    item.querySelector(".bar-value").textContent = "–";
    item.dataset.value = "";
    item.classList.remove("top");
  }
  ui.modelInput.getContext("2d").clearRect(0, 0, 28, 28);
  ui.number.textContent = "";
  ui.numberLatency.textContent = "–";
  ui.digitList.replaceChildren();
  drawBoxes([]);
  feedback.show(null);
}

function drawModelInput(canvas, input) {
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(28, 28);
  const flat = Array.isArray(input) ? input.flat() : input;
  for (let i = 0; i < 784; i++) {
    const v = Math.round(255 * flat[i]);
    image.data.set([v, v, v, 255], 4 * i);
  }
  ctx.putImageData(image, 0, 0);
}

/** Digit boxes over the pad; ``scale`` maps the posted drawing's pixels to CSS px. */
function drawBoxes(digits, scale = 1) {
  const canvas = ui.boxes;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(canvas.clientWidth * ratio);
  canvas.height = Math.round(canvas.clientHeight * ratio);
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  ctx.lineWidth = 2;
  ctx.font = "bold 14px system-ui, sans-serif";
  for (const { box, digit, confidence } of digits) {
    const [x, y, w, h] = box.map((v) => v * scale);
    ctx.strokeStyle = digit === null ? "#b3261e" : confidence >= 0.8 ? "#1a7f37" : "#b35900";
    ctx.fillStyle = ctx.strokeStyle;
    ctx.strokeRect(x - 3, y - 3, w + 6, h + 6);
    const text = digit === null ? "? not a digit" : `${digit} · ${percent(confidence)}`;
    ctx.fillText(text, x - 3, Math.max(14, y - 7));
  }
}

/** The words for one reading: the digit, or the not-a-digit message. */
const readingText = ({ digit }) => (digit === null ? NOT_A_DIGIT_MESSAGE : String(digit));

function showDigit(result, roundTripMs) {
  const { digit, confidence, probabilities, input, timing_ms: timing } = result;
  const version = result.model && result.model.version;
  buildBars((metadataOf(version) || {}).labels || probabilities.map((_, i) => String(i)));
  ui.prediction.textContent = readingText(result);
  ui.prediction.classList.toggle("not-a-digit", digit === null);
  ui.confidence.textContent = percent(confidence);
  ui.latency.textContent =
    `round trip ${roundTripMs.toFixed(0)} ms · inference ${timing.inference.toFixed(2)} ms` +
    (result.where === "browser" ? " (in this browser)" : " (server)");
  ui.answeredBy.textContent = version ? `read by version ${version}` : "";
  const best = probabilities.indexOf(Math.max(...probabilities));
  document.querySelectorAll("#bars li").forEach((item, i) => {
    item.querySelector(".bar-fill").style.width = `${(100 * probabilities[i]).toFixed(1)}%`;
    item.querySelector(".bar-value").textContent = percent(probabilities[i]);
    item.dataset.value = String(probabilities[i]);
    item.classList.toggle("top", i === best);
  });
  drawModelInput(ui.modelInput, input);
  feedback.show({ input, predicted: digit, version, mode: "digit" });
  announce(digit === null ? `${NOT_A_DIGIT_MESSAGE}.`
    : `The model reads ${digit}, ${percent(confidence)} confident.`);
}

/** The same drawing read by every served version, side by side. */
function showComparison(results) {
  ui.compareList.replaceChildren(...results.map(({ version, role, result }) => {
    const item = document.createElement("li");
    item.dataset.testid = `compare-${role}`;
    const name = document.createElement("span");
    name.className = "compare-version";
    name.textContent = `${role} ${version}`;
    const reading = document.createElement("strong");
    reading.textContent = readingText(result);
    const confidence = document.createElement("span");
    confidence.textContent = percent(result.confidence);
    item.append(name, reading, confidence);
    return item;
  }));
}

function showNumber(result, roundTripMs, scale) {
  ui.number.textContent = result.number;
  ui.numberLatency.textContent =
    `round trip ${roundTripMs.toFixed(0)} ms · inference ${result.timing_ms.inference.toFixed(2)} ms`;
  const count = result.digits.length;
  const select = (i) => {
    ui.digitList.querySelectorAll("li").forEach((li, j) => {
      li.classList.toggle("selected", i === j);
      li.querySelector("button").setAttribute("aria-pressed", String(i === j));
    });
    const d = result.digits[i];
    feedback.show({ input: d.input, predicted: d.digit, version: result.model.version,
      mode: "number", label: `Digit ${i + 1} of ${count}` });
  };
  ui.digitList.replaceChildren(...result.digits.map((d, i) => {
    const item = document.createElement("li");
    // Each digit is a button: choosing one lets the visitor say whether it was read right.
    const choose = document.createElement("button");
    choose.type = "button";
    choose.dataset.testid = `number-digit-${i}-choose`;
    choose.setAttribute("aria-label", `digit ${i + 1} of ${count}: answer about this one`);
    const preview = document.createElement("canvas");
    preview.width = preview.height = 28;
    preview.setAttribute("aria-hidden", "true");
    drawModelInput(preview, d.input);
    const text = document.createElement("span");
    text.textContent = d.digit === null ? "? not a digit" : `${d.digit} · ${percent(d.confidence)}`;
    item.dataset.testid = `number-digit-${i}`;
    item.classList.toggle("not-a-digit", d.digit === null);
    choose.append(preview, text);
    choose.addEventListener("click", () => select(i));
    item.append(choose);
    return item;
  }));
  if (count) select(0);
  drawBoxes(result.digits, scale);
  const unreadable = result.digits.filter((d) => d.digit === null).length;
  announce(`The model reads the number ${result.number.split("").join(" ")}` +
    (unreadable ? `; ${unreadable} piece${unreadable > 1 ? "s are" : " is"} not a digit.` : "."));
}

async function predictInBrowser(drawing) {
  const pixels = drawing.getContext("2d").getImageData(0, 0, drawing.width, drawing.height);
  const started = performance.now();
  const input = preprocessRGBA(pixels.data, pixels.width, pixels.height);
  const preprocessed = performance.now();
  const probabilities = await browserModel.predict(input);
  const inferred = performance.now();
  const { metadata } = served.production;
  return {
    where: "browser",
    ...answerFrom(metadata.labels, probabilities),
    input,
    model: { name: metadata.name, version: metadata.version },
    timing_ms: { preprocess: preprocessed - started, inference: inferred - preprocessed },
  };
}

/** Every served version's reading of one drawing, each pinned by its version. */
async function predictEveryVersion(dataUrl) {
  return Promise.all(served.versions.map(async ({ version, role }) => ({
    version, role, result: await api.predict(dataUrl, { version }),
  })));
}

async function predict() {
  clearTimeout(debounce);
  const id = ++sequence;
  if (pad.isEmpty) {
    resetResult();
    showError("");
    return;
  }
  const drawing = pad.render();
  const number = numberMode();
  const started = performance.now();
  document.body.classList.add("busy");
  try {
    let result;
    let comparison = null;
    if (number) {
      result = await api.predict(drawing.toDataURL("image/png"), { number: true });
    } else if (inferenceLocation() === "browser") {
      result = await predictInBrowser(drawing);
    } else if (comparing()) {
      comparison = await predictEveryVersion(drawing.toDataURL("image/png"));
      result = comparison[0].result;
    } else {
      result = await api.predict(drawing.toDataURL("image/png"));
    }
    if (id !== sequence) return;
    showError("");
    const roundTrip = performance.now() - started;
    if (number) showNumber(result, roundTrip, pad.canvas.clientWidth / drawing.width);
    else showDigit(result, roundTrip);
    if (comparison) showComparison(comparison);
  } catch (error) {
    if (id !== sequence) return;
    if (error instanceof EmptyDrawing) {
      resetResult();
      showError("");
      return;
    }
    resetResult();
    showError(error.message);
    announce(`Error: ${error.message}`);
  } finally {
    if (id === sequence) document.body.classList.remove("busy");
  }
}

function schedulePredict() {
  clearTimeout(debounce);
  debounce = setTimeout(predict, config.debounceMs);
}

async function loadModelInfo() {
  const info = $("model-info");
  try {
    const models = await api.models();
    served = {
      production: models.versions.find((v) => v.role === "production"),
      versions: models.versions,
    };
    const { metadata } = served.production;
    buildBars(metadata.labels);
    const mismatch = inputMismatch(metadata);
    if (mismatch) {
      $("mode-browser").disabled = true;
      showError(`In-browser mode is off: version ${metadata.version} expects ${mismatch}, ` +
        "which this page's preprocessing does not make.");
    } else {
      browserModel.use(onnxUrl(config.modelsBase, metadata));
    }
    const candidate = models.versions.find((v) => v.role === "candidate");
    info.textContent = `Model ${metadata.name} · version ${metadata.version} · ` +
      `${(100 * metadata.test_accuracy).toFixed(2)}% on the MNIST test set · ${models.runtime} runtime` +
      (candidate ? ` · candidate ${candidate.version} serves ${(100 * candidate.weight).toFixed(0)}%` : "");
    $("compare-toggle").hidden = models.versions.length < 2;
  } catch (error) {
    info.textContent = "Model information unavailable: the prediction server cannot be reached.";
    setTimeout(loadModelInfo, 5000);
  }
}

function setNumberMode(on) {
  document.body.classList.toggle("number-mode", on);
  $("digit-result").hidden = on;
  $("number-result").hidden = !on;
  $("location-switch").disabled = on; // numbers are read on the server
  ui.compare.hidden = on || !comparing();
  $("pad-hint").textContent = on ? "Write several digits side by side" : "Draw a digit here";
  pad.clear();
  resetResult();
  showError("");
  requestAnimationFrame(() => pad.resize());
}

function bindControls() {
  $("undo").addEventListener("click", () => pad.undo());
  $("clear").addEventListener("click", () => pad.clear());
  $("predict").addEventListener("click", predict);
  $("number-mode").addEventListener("change", (e) => setNumberMode(e.target.checked));
  for (const radio of document.querySelectorAll('input[name="location"]')) {
    radio.addEventListener("change", () => {
      if (inferenceLocation() === "browser") browserModel.load().catch((e) => showError(e.message));
      predict();
    });
  }
  $("compare-mode").addEventListener("change", () => {
    ui.compare.hidden = !comparing();
    predict();
  });
  pad.addEventListener("change", () => {
    document.body.classList.toggle("has-ink", !pad.isEmpty);
    if (pad.isEmpty) predict(); // clears at once, and sends nothing
    else schedulePredict();
  });
  document.addEventListener("keydown", (event) => {
    const typing = event.target.matches("input[type=text], textarea");
    if (typing) return;
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
      event.preventDefault();
      pad.undo();
    } else if (event.key === "Delete" || event.key === "Backspace") {
      event.preventDefault();
      pad.clear();
    } else if (event.key === "Enter" && !event.target.matches("button, input")) {
      event.preventDefault();
      predict();
    } else if (/^[0-9]$/.test(event.key) && !event.ctrlKey && !event.metaKey && !event.altKey
               && feedback.answerable) {
      event.preventDefault();
      feedback.answer(event.key); // "it was <digit>" for the reading shown
    }
  });
}

bindControls();
resetResult();
loadModelInfo();
