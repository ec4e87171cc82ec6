// The in-browser mode: the production version's ONNX file (as its metadata.json names it)
// run by onnxruntime-web (WebAssembly), whose files are served from this origin
// (static/vendor/onnxruntime-web/), never a CDN.

export class BrowserModel {
  constructor({ ortBase }) {  // frontend/static/config.js
    this.ortBase = new URL(ortBase, document.baseURI).href;
    this.modelUrl = null;
    this.session = null;
    this.loading = null;
  }

  /** Use the model at ``url`` (a new version drops the session of the old one). */
  use(url) {
    const absolute = new URL(url, document.baseURI).href;
    if (absolute !== this.modelUrl) {
      this.modelUrl = absolute;
      this.session = null;
      this.loading = null;
    }
  }

  load() {
    if (!this.modelUrl) {
      return Promise.reject(new Error("The in-browser model is not known yet: the server has not said which version serves."));
    }
    if (!this.loading) {
      this.loading = this._load().catch((error) => {
        this.loading = null; // let a later attempt try again
        throw new Error(`The in-browser model could not be loaded: ${error.message}`);
      });
    }
    return this.loading;
  }

  async _load() {
    const ort = await import(`${this.ortBase}ort.wasm.min.mjs`);
    ort.env.wasm.wasmPaths = this.ortBase;
    // One thread: no SharedArrayBuffer (cross-origin isolation) needed, and a 28x28 CNN
    // takes well under a millisecond anyway.
    ort.env.wasm.numThreads = 1;
    this.ort = ort;
    this.session = await ort.InferenceSession.create(this.modelUrl, {
      executionProviders: ["wasm"],
      graphOptimizationLevel: "all",
    });
    return this.session;
  }

  /** Float32Array(784) model input -> the probability of each of the version's labels. */
  async predict(input) {
    const session = await this.load();
    const tensor = new this.ort.Tensor("float32", input, [1, 28, 28, 1]);
    const outputs = await session.run({ [session.inputNames[0]]: tensor });
    return Array.from(outputs[session.outputNames[0]].data);
  }
}
