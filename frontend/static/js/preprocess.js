// Turning a drawing into the model's input: the browser twin of backend/preprocess.py.
//
//   pixels (RGBA) -> one channel (alpha of a transparent canvas, else luminance)
//                 -> box-reduce to at most WORK_PIXELS -> ink (0..1) -> crop to ink
//                 -> longest side 20 px -> pad to 28x28 -> centre of mass to (14, 14)
//                 -> model input (28x28 float32, 0..1)
//
// Every step mirrors the Python function of the same name, with the same constants and the
// same rounding; tests/vectors/preprocess.json holds shared vectors that both must reproduce.
// Change both, or neither.

export const FRAME = 28;
export const BOX = 20;
export const CENTRE = 14.0;
export const MIN_CONTRAST = 0.1;
export const NOISE_FLOOR = 0.1;
export const WORK_PIXELS = 256 * 256;

export class EmptyDrawing extends Error {
  constructor(message = "the drawing is empty: draw a digit first") {
    super(message);
    this.name = "EmptyDrawing";
  }
}

// An image is {data: Float64Array (row-major), width, height}.
const image = (data, width, height) => ({ data, width, height });

function median(values) {
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function border(data, width, height) {
  const out = [];
  for (let x = 0; x < width; x++) out.push(data[x]);
  for (let x = 0; x < width; x++) out.push(data[(height - 1) * width + x]);
  for (let y = 1; y < height - 1; y++) out.push(data[y * width]);
  for (let y = 1; y < height - 1; y++) out.push(data[y * width + width - 1]);
  return out;
}

/** RGBA bytes -> {channel: Uint8Array, kind}: alpha if anything is transparent, else luma. */
export function inkChannel(rgba, width, height) {
  const n = width * height;
  const channel = new Uint8Array(n);
  let transparent = false;
  for (let i = 0; i < n; i++) {
    if (rgba[4 * i + 3] < 255) { transparent = true; break; }
  }
  if (transparent) {
    for (let i = 0; i < n; i++) channel[i] = rgba[4 * i + 3];
    return { channel, kind: "alpha" };
  }
  for (let i = 0; i < n; i++) {
    // Pillow's convert("L"): ITU-R 601 luma in 16-bit fixed point, exactly.
    channel[i] = (rgba[4 * i] * 19595 + rgba[4 * i + 1] * 38470 + rgba[4 * i + 2] * 7471
      + 0x8000) >>> 16;
  }
  return { channel, kind: "luminance" };
}

/** The smallest power of two f with ceil(h/f) * ceil(w/f) <= WORK_PIXELS. */
export function reductionFactor(height, width, workPixels = WORK_PIXELS) {
  let factor = 1;
  while (Math.ceil(height / factor) * Math.ceil(width / factor) > workPixels) factor *= 2;
  return factor;
}

/** Mean of each factor x factor block (edge blocks average the pixels they have). */
export function boxReduce(channel, width, height, factor) {
  const w = Math.ceil(width / factor);
  const h = Math.ceil(height / factor);
  const sums = new Float64Array(w * h);
  const counts = new Float64Array(w * h);
  for (let y = 0; y < height; y++) {
    const row = Math.floor(y / factor) * w;
    for (let x = 0; x < width; x++) {
      const i = row + Math.floor(x / factor);
      sums[i] += channel[y * width + x];
      counts[i] += 1;
    }
  }
  for (let i = 0; i < w * h; i++) sums[i] /= counts[i];
  return image(sums, w, h);
}

/** Channel levels 0..255 at the working size -> ink in 0..1; throws EmptyDrawing. */
export function inkFromChannel({ data, width, height }, kind) {
  const n = width * height;
  const ink = new Float64Array(n);
  if (kind === "alpha") {
    ink.set(data);
  } else {
    const background = median(border(data, width, height));
    for (let i = 0; i < n; i++) {
      ink[i] = Math.max(0, background > 127.5 ? background - data[i] : data[i] - background);
    }
  }
  let contrast = 0;
  for (let i = 0; i < n; i++) contrast = Math.max(contrast, ink[i]);
  if (contrast < MIN_CONTRAST * 255) throw new EmptyDrawing();
  for (let i = 0; i < n; i++) {
    ink[i] /= contrast;
    if (ink[i] < NOISE_FLOOR) ink[i] = 0;
  }
  return image(ink, width, height);
}

/** RGBA bytes (e.g. ImageData.data) -> ink at the working size; throws EmptyDrawing. */
export function inkFromRGBA(rgba, width, height) {
  const { channel, kind } = inkChannel(rgba, width, height);
  const factor = reductionFactor(height, width);
  return inkFromChannel(boxReduce(channel, width, height, factor), kind);
}

function inkBounds({ data, width, height }) {
  let top = height, bottom = -1, left = width, right = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (data[y * width + x] !== 0) {
        if (y < top) top = y;
        if (y > bottom) bottom = y;
        if (x < left) left = x;
        if (x > right) right = x;
      }
    }
  }
  return bottom < 0 ? null : { top, bottom, left, right };
}

export function cropToInk(ink) {
  const bounds = inkBounds(ink);
  if (!bounds) throw new EmptyDrawing();
  const width = bounds.right - bounds.left + 1;
  const height = bounds.bottom - bounds.top + 1;
  const out = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      out[y * width + x] = ink.data[(y + bounds.top) * ink.width + x + bounds.left];
    }
  }
  return image(out, width, height);
}

/** Python's round_half_up(): floor(x + 0.5), identical in both languages. */
export const roundHalfUp = (value) => Math.floor(value + 0.5);

/** (sizeOut x sizeIn) weights of anti-aliased linear resampling (Pillow's BILINEAR). */
export function resampleWeights(sizeIn, sizeOut) {
  const scale = sizeIn / sizeOut;
  const stretch = Math.max(scale, 1.0);
  const weights = new Float64Array(sizeOut * sizeIn);
  for (let i = 0; i < sizeOut; i++) {
    const centre = (i + 0.5) * scale;
    let total = 0;
    for (let j = 0; j < sizeIn; j++) {
      const w = Math.max(0, 1 - Math.abs(j + 0.5 - centre) / stretch);
      weights[i * sizeIn + j] = w;
      total += w;
    }
    for (let j = 0; j < sizeIn; j++) weights[i * sizeIn + j] /= total;
  }
  return weights;
}

export function scaleToBox(ink, box = BOX) {
  const { data, width, height } = ink;
  const longest = Math.max(width, height);
  const newHeight = Math.max(1, roundHalfUp((height * box) / longest));
  const newWidth = Math.max(1, roundHalfUp((width * box) / longest));
  const wy = resampleWeights(height, newHeight);
  const wx = resampleWeights(width, newWidth);
  // (wy @ ink) @ wx.T, in the order numpy evaluates it.
  const rows = new Float64Array(newHeight * width);
  for (let i = 0; i < newHeight; i++) {
    for (let y = 0; y < height; y++) {
      const w = wy[i * height + y];
      if (w === 0) continue;
      for (let x = 0; x < width; x++) rows[i * width + x] += w * data[y * width + x];
    }
  }
  const out = new Float64Array(newHeight * newWidth);
  for (let i = 0; i < newHeight; i++) {
    for (let j = 0; j < newWidth; j++) {
      let sum = 0;
      for (let x = 0; x < width; x++) sum += rows[i * width + x] * wx[j * width + x];
      out[i * newWidth + j] = sum;
    }
  }
  return image(out, newWidth, newHeight);
}

export function padToFrame(ink, frame = FRAME) {
  const out = new Float64Array(frame * frame);
  const top = (frame - ink.height) >> 1;
  const left = (frame - ink.width) >> 1;
  for (let y = 0; y < ink.height; y++) {
    for (let x = 0; x < ink.width; x++) {
      out[(y + top) * frame + x + left] = ink.data[y * ink.width + x];
    }
  }
  return image(out, frame, frame);
}

export function centreOfMass({ data, width, height }) {
  let total = 0, rowMoment = 0, colMoment = 0;
  for (let y = 0; y < height; y++) {
    let rowSum = 0;
    for (let x = 0; x < width; x++) rowSum += data[y * width + x];
    rowMoment += rowSum * y;
    total += rowSum;
  }
  for (let x = 0; x < width; x++) {
    let colSum = 0;
    for (let y = 0; y < height; y++) colSum += data[y * width + x];
    colMoment += colSum * x;
  }
  return [rowMoment / total, colMoment / total];
}

const clamp = (value, low, high) => Math.max(low, Math.min(high, value));

/** Whole-pixel shift of the centre of mass to (CENTRE, CENTRE), keeping all ink in frame. */
/** Half-up rounding after snapping to 1e-6 px: see whole_pixel_shift in preprocess.py. */
export function wholePixelShift(offset) {
  return roundHalfUp(Math.round(offset * 1e6) / 1e6);
}

export function centreByMass(framed, centre = CENTRE) {
  const frame = framed.width;
  const [cy, cx] = centreOfMass(framed);
  const bounds = inkBounds(framed);
  const dy = clamp(wholePixelShift(centre - cy), -bounds.top, frame - 1 - bounds.bottom);
  const dx = clamp(wholePixelShift(centre - cx), -bounds.left, frame - 1 - bounds.right);
  const out = new Float64Array(frame * frame);
  for (let y = 0; y < frame; y++) {
    const sy = y - dy;
    if (sy < 0 || sy >= frame) continue;
    for (let x = 0; x < frame; x++) {
      const sx = x - dx;
      if (sx >= 0 && sx < frame) out[y * frame + x] = framed.data[sy * frame + sx];
    }
  }
  return image(out, frame, frame);
}

/** Ink image of any size -> Float32Array(784), the model input (row-major 28x28, 0..1). */
export function normaliseInk(ink) {
  const framed = centreByMass(padToFrame(scaleToBox(cropToInk(ink))));
  return Float32Array.from(framed.data, (v) => Math.min(1, Math.max(0, v)));
}

/** RGBA drawing -> model input; throws EmptyDrawing. */
export function preprocessRGBA(rgba, width, height) {
  return normaliseInk(inkFromRGBA(rgba, width, height));
}
