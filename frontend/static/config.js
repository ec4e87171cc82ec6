// Where the page finds the backend and its files. The defaults suit the usual setup: nginx
// serves this page and proxies /api/ to the backend on the same origin. For a split
// deployment, point apiBase at the backend's origin (e.g. "https://api.example.com"), and
// allow that origin in the backend's CORS_ORIGINS and in nginx's Content-Security-Policy.
export default {
  apiBase: "/api",
  // Longer than nginx's PROXY_READ_TIMEOUT (serving.env), so a slow answer arrives as
  // nginx's JSON 504 rather than a silent abort (tests/test_limits.py checks the order).
  requestTimeoutMs: 10000,
  debounceMs: 250,
  // Where nginx serves the model folders: <modelsBase>/<name>/<version>/<the ONNX file>, all
  // three taken from the version's metadata.json.
  modelsBase: "models",
  ortBase: "static/vendor/onnxruntime-web/",
};
