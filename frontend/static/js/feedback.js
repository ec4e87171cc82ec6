// "Right" / "Wrong — it was _" for one reading: sends nothing until the visitor presses a
// button (or a digit key), then offers an undo for as long as the server allows it.

/** The 28×28 model input as rows of numbers in 0..1, what POST /feedback takes. */
export function inputRows(input) {
  const flat = Array.isArray(input) ? input.flat() : Array.from(input);
  const rows = [];
  for (let r = 0; r < 28; r++) {
    rows.push(flat.slice(28 * r, 28 * r + 28)
      .map((v) => Math.round(10000 * Math.min(1, Math.max(0, v))) / 10000));
  }
  return rows;
}

const readingText = (digit) => (digit === null ? "not a digit" : String(digit));

export class FeedbackPanel {
  /** ``root``: the panel's element (index.html #feedback); ``api``: js/api.js's Api. */
  constructor(root, api) {
    this.root = root;
    this.api = api;
    this.question = root.querySelector("[data-feedback-question]");
    this.status = root.querySelector("[data-feedback-status]");
    this.undoButton = root.querySelector("[data-feedback-undo]");
    this.buttons = [...root.querySelectorAll("button[data-answer]")];
    this.reading = null; // {input, predicted, version, mode, label}
    this.stored = null; // {id, timer}
    for (const button of this.buttons) {
      button.addEventListener("click", () => this.answer(button.dataset.answer));
    }
    this.undoButton.addEventListener("click", () => this.undo());
  }

  /** A new reading to answer (null: none, the panel hides). */
  show(reading) {
    this.forgetUndo();
    this.reading = reading;
    this.root.hidden = !reading;
    if (!reading) return;
    this.question.textContent = `${reading.label ? `${reading.label}: ` : ""}` +
      `the model read ${readingText(reading.predicted)}. Is that right?`;
    this.status.textContent = "";
    this.setEnabled(true);
  }

  get answerable() {
    return Boolean(this.reading) && !this.stored && !this.root.hidden;
  }

  /** ``choice``: "right" or a digit "0".."9". */
  async answer(choice) {
    if (!this.answerable) return;
    const { predicted } = this.reading;
    if (choice === "right" && predicted === null) {
      this.status.textContent = "Pick the digit it was.";
      return;
    }
    const corrected = choice === "right" ? predicted : Number(choice);
    const body = {
      id: crypto.randomUUID(),
      input: inputRows(this.reading.input),
      predicted,
      corrected,
      model_version: this.reading.version,
      mode: this.reading.mode,
    };
    this.setEnabled(false);
    this.status.textContent = "Saving…";
    try {
      const answer = await this.api.sendFeedback(body);
      const said = corrected === predicted ? `right (${corrected})` : `it was ${corrected}`;
      this.status.textContent = `Saved: "${said}", with the 28×28 image, the reading ` +
        `(${readingText(predicted)}), version ${body.model_version} and the time.`;
      this.offerUndo(body.id, answer.undo_seconds);
    } catch (error) {
      this.status.textContent = `Not saved: ${error.message}`;
      this.setEnabled(true);
    }
  }

  offerUndo(id, seconds) {
    // A second less than the server allows, so a click in time is never refused.
    const shownMs = Math.max(1, seconds - 1) * 1000;
    this.stored = { id, timer: setTimeout(() => this.forgetUndo(), shownMs) };
    this.undoButton.hidden = false;
  }

  forgetUndo() {
    if (this.stored) clearTimeout(this.stored.timer);
    this.stored = null;
    this.undoButton.hidden = true;
  }

  async undo() {
    if (!this.stored) return;
    const { id } = this.stored;
    this.forgetUndo();
    try {
      await this.api.undoFeedback(id);
      this.status.textContent = "Removed: nothing about this drawing is kept.";
      this.setEnabled(true);
    } catch (error) {
      this.status.textContent = `Could not undo: ${error.message}`;
    }
  }

  setEnabled(on) {
    for (const button of this.buttons) button.disabled = !on;
  }
}
