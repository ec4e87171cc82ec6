// Calls to the backend through the proxy (config.apiBase, "/api" by default), turning every
// failure into an ApiError with a message a person can act on.

export class ApiError extends Error {
  constructor(message, { status = 0, code = "network_error" } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

const FRIENDLY = {
  502: "The prediction server cannot be reached (502). It may be restarting: try again in a moment.",
  503: "The prediction server is not ready (503). Try again in a moment.",
  504: "The prediction server took too long to answer (504).",
};

const CLIENT_ID_KEY = "mnist-client-id";

/** A random id this browser keeps, so that it always meets the same model version. */
function clientId() {
  try {
    let id = localStorage.getItem(CLIENT_ID_KEY);
    if (!id) {
      id = crypto.randomUUID();
      localStorage.setItem(CLIENT_ID_KEY, id);
    }
    return id;
  } catch {
    return null; // storage disabled: the server routes each request by weight
  }
}

export class Api {
  constructor({ apiBase, requestTimeoutMs }) {  // frontend/static/config.js
    this.base = apiBase.replace(/\/$/, "");
    this.timeoutMs = requestTimeoutMs;
    this.clientId = clientId();
  }

  async request(path, options = {}) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    let response;
    try {
      response = await fetch(this.base + path, { ...options, signal: controller.signal });
    } catch (error) {
      if (error.name === "AbortError") {
        throw new ApiError(
          `The prediction server did not answer within ${this.timeoutMs / 1000} s.`,
          { code: "timeout" },
        );
      }
      throw new ApiError("The prediction server cannot be reached. Check your connection.");
    } finally {
      clearTimeout(timer);
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!response.ok) {
      const detail = body && body.error ? body.error : {};
      const message = detail.message || FRIENDLY[response.status]
        || `The server answered ${response.status}.`;
      throw new ApiError(message, { status: response.status, code: detail.code || "http_error" });
    }
    if (body === null) {
      throw new ApiError("The server's answer was not JSON.", { status: response.status, code: "bad_response" });
    }
    return body;
  }

  /** ``version``: pin one served version (for comparisons); else the server routes. */
  predict(dataUrl, { number = false, version = null } = {}) {
    const headers = { "Content-Type": "application/json" };
    if (this.clientId) headers["X-Client-Id"] = this.clientId;
    if (version) headers["X-Model-Version"] = version;
    return this.request(number ? "/predict/number" : "/predict", {
      method: "POST",
      headers,
      body: JSON.stringify({ image: dataUrl, return_input: true }),
    });
  }

  /** A visitor's answer to one reading (js/feedback.js); retried ids store nothing new. */
  sendFeedback(body) {
    return this.request("/feedback", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  }

  undoFeedback(id) {
    return this.request(`/feedback/${encodeURIComponent(id)}`, { method: "DELETE" });
  }

  /** The served versions: role, weight and metadata (the model contract) of each. */
  models() {
    return this.request("/models");
  }
}
