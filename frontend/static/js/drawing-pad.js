// A drawing surface for mouse, touch and pen (Pointer Events), with a stroke history.
//
// Strokes are kept as points in CSS pixels, so the canvas can be redrawn crisply at any
// device pixel ratio, after an undo, or at another size. What is sent for recognition is
// rendered separately at 1 CSS px per pixel on a transparent background: the same pixels for
// every screen, and small enough to post quickly.

// MNIST strokes are ~2.5 px in a 28 px frame whose digit is 20 px tall: ~1/11 of the
// digit's height. A digit drawn to fill ~75% of the pad gets the same proportion.
const STROKE_FRACTION_OF_HEIGHT = 0.07;
const RENDER_SCALE = 0.5;

export class DrawingPad extends EventTarget {
  constructor(canvas, { ink = "#111" } = {}) {
    super();
    this.canvas = canvas;
    this.ink = ink;
    this.strokes = [];
    this.current = null;
    this.pointerId = null;
    this._bind();
    this.resize();
    new ResizeObserver(() => this.resize()).observe(canvas);
  }

  get isEmpty() {
    return this.strokes.length === 0 && !this.current;
  }

  get lineWidth() {
    return Math.max(2, this.canvas.clientHeight * STROKE_FRACTION_OF_HEIGHT);
  }

  resize() {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.round(this.canvas.clientWidth * ratio);
    const height = Math.round(this.canvas.clientHeight * ratio);
    if (width && height && (this.canvas.width !== width || this.canvas.height !== height)) {
      this.canvas.width = width;
      this.canvas.height = height;
      this.redraw();
    }
  }

  _point(event) {
    // Relative to the drawable area, inside the canvas's border.
    const rect = this.canvas.getBoundingClientRect();
    return [event.clientX - rect.left - this.canvas.clientLeft,
            event.clientY - rect.top - this.canvas.clientTop];
  }

  _bind() {
    const c = this.canvas;
    c.addEventListener("pointerdown", (event) => {
      if (this.pointerId !== null || (event.pointerType === "mouse" && event.button !== 0)) return;
      event.preventDefault();
      c.focus({ preventScroll: true });
      c.setPointerCapture(event.pointerId);
      this.pointerId = event.pointerId;
      this.current = [this._point(event)];
      this.redraw();
    });
    c.addEventListener("pointermove", (event) => {
      if (event.pointerId !== this.pointerId) return;
      event.preventDefault();
      const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
      for (const e of events.length ? events : [event]) this.current.push(this._point(e));
      this.redraw();
    });
    const finish = (event) => {
      if (event.pointerId !== this.pointerId) return;
      this.pointerId = null;
      const stroke = this.current;
      this.current = null;
      if (stroke && event.type !== "pointercancel") {
        this.strokes.push(stroke);
        this.dispatchEvent(new Event("change"));
      }
      this.redraw();
    };
    c.addEventListener("pointerup", finish);
    c.addEventListener("pointercancel", finish);
  }

  undo() {
    if (!this.strokes.length) return false;
    this.strokes.pop();
    this.redraw();
    this.dispatchEvent(new Event("change"));
    return true;
  }

  clear() {
    const hadInk = this.strokes.length > 0;
    this.strokes = [];
    this.current = null;
    this.redraw();
    if (hadInk) this.dispatchEvent(new Event("change"));
  }

  _paint(ctx, scale, colour) {
    ctx.save();
    ctx.scale(scale, scale);
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.lineWidth = this.lineWidth;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    const all = this.current ? [...this.strokes, this.current] : this.strokes;
    for (const stroke of all) {
      if (stroke.length === 1) {
        ctx.beginPath();
        ctx.arc(stroke[0][0], stroke[0][1], this.lineWidth / 2, 0, 2 * Math.PI);
        ctx.fill();
        continue;
      }
      ctx.beginPath();
      ctx.moveTo(...stroke[0]);
      for (const point of stroke.slice(1)) ctx.lineTo(...point);
      ctx.stroke();
    }
    ctx.restore();
  }

  redraw() {
    const ctx = this.canvas.getContext("2d");
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this._paint(ctx, this.canvas.width / Math.max(1, this.canvas.clientWidth), this.ink);
    this.dispatchEvent(new Event("redraw"));
  }

  /**
   * The drawing for recognition: black ink on a transparent background, at ``scale`` pixels
   * per CSS px whatever the screen. Half scale still gives a digit 5-7 times the model's
   * 20 px, in a quarter of the pixels to send, decode and scan.
   */
  render(scale = RENDER_SCALE) {
    const out = document.createElement("canvas");
    out.width = Math.max(1, Math.round(this.canvas.clientWidth * scale));
    out.height = Math.max(1, Math.round(this.canvas.clientHeight * scale));
    this._paint(out.getContext("2d", { willReadFrequently: true }), scale, "#000");
    return out;
  }
}
