// The model contract on the page: what a version's metadata.json says its outputs mean.
// Mirrors ModelContract.answer in backend/contract.py, so the in-browser mode answers exactly
// as the server does: a label that is a digit is that digit; any other label ("not_a_digit")
// means the model could not read a digit, and the label is the reason.

import { BOX, CENTRE, FRAME } from "./preprocess.js";

export function answerFrom(labels, probabilities) {
  let best = 0;
  probabilities.forEach((p, i) => { if (p > probabilities[best]) best = i; });
  const label = labels[best];
  const digit = /^[0-9]$/.test(label) ? Number(label) : null;
  const answer = { digit, confidence: probabilities[best], probabilities };
  if (digit === null) answer.reason = label;
  return answer;
}

/** How a label is shown on a bar: the digit, or "none" for a not-a-digit class. */
export const barLabel = (label) => (/^[0-9]$/.test(label) ? label : "none");

/** The URL of a version's in-browser (ONNX) model, as metadata.json names its file. */
export function onnxUrl(modelsBase, metadata) {
  return `${modelsBase.replace(/\/$/, "")}/${metadata.name}/${metadata.version}/${metadata.files.onnx}`;
}

/** Why this page cannot run a version in the browser (its input differs), or null. */
export function inputMismatch(metadata) {
  const input = metadata.input || {};
  const shape = JSON.stringify(input.shape);
  if (shape !== JSON.stringify([FRAME, FRAME, 1])) return `input shape ${shape}`;
  if ("box" in input && input.box !== BOX) return `box ${input.box}`;
  if ("centre_of_mass" in input && input.centre_of_mass !== CENTRE) {
    return `centre of mass ${input.centre_of_mass}`;
  }
  return null;
}
