// Copy the onnxruntime-web files the page loads (WebAssembly backend only) from node_modules
// into static/vendor/, so that nginx serves them from our own origin.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const frontend = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(frontend, "node_modules", "onnxruntime-web", "dist");
const target = join(frontend, "static", "vendor", "onnxruntime-web");
const FILES = ["ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"];

const { version } = JSON.parse(
  readFileSync(join(frontend, "node_modules", "onnxruntime-web", "package.json"), "utf8"),
);
rmSync(target, { recursive: true, force: true });
mkdirSync(target, { recursive: true });
for (const file of FILES) copyFileSync(join(source, file), join(target, file));
writeFileSync(join(target, "VERSION"), `onnxruntime-web ${version}\n`);
console.log(`onnxruntime-web ${version}: ${FILES.join(", ")} -> static/vendor/onnxruntime-web/`);
