// The in-browser mode: models/cnn-mnist/model.onnx run by onnxruntime-web (WebAssembly),
// whose files are served from this origin (static/vendor/onnxruntime-web/), never a CDN.

export class BrowserModel {
  constructor({ ortBase = "static/vendor/onnxruntime-web/", modelUrl = "models/cnn-mnist/model.onnx" } = {}) {
    this.ortBase = new URL(ortBase, document.baseURI).href;
    this.modelUrl = new URL(modelUrl, document.baseURI).href;
    this.session = null;
    this.loading = null;
  }

  load() {
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

  /** Float32Array(784) model input -> Float32Array(10) probabilities. */
  async predict(input) {
    const session = await this.load();
    const tensor = new this.ort.Tensor("float32", input, [1, 28, 28, 1]);
    const outputs = await session.run({ [session.inputNames[0]]: tensor });
    return Array.from(outputs[session.outputNames[0]].data);
  }
}
