"""Build the Lambda function package: ``python -m serverless.build`` (``make serverless-package``).

The zip holds the backend (the same code gunicorn serves), its serving requirements as
manylinux wheels for Lambda's Python runtime, serving.env and one model version from the
registry (production unless ``--version`` names another), with a registry.json that serves
only it. Built reproducibly: pinned wheels, sorted entries, fixed timestamps, hash-based
bytecode; the same inputs give the same bytes and the same CodeSha256.

Lambda limits a function to 250 MiB unzipped (262,144,000 bytes), layers included, and a zip
sent straight to its API to 50 MiB; larger zips go through S3, as serverless.yml does. The
build refuses a package over the unzipped limit and prints both sizes.

Lambda's /var/task is read-only, so Python can never cache the bytecode it compiles there:
without it every cold start compiles each module it imports (0.7–0.9 s here: make
bench-serverless). With the runtime's Python at hand (``runtime_python``), the build runs the
package once on a few representative requests and ships bytecode (hash-checked against its
source, so never stale) for exactly the modules that run imported; the run also proves the
package answers.
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from backend.contract import read_contract
from backend.registry import Registry, open_store, write_registry

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "build" / "serverless"
# The runtime the function is created with (deploy/serverless/template.yaml reads the
# manifest): Amazon Linux 2023, glibc 2.34, which LiteRT's manylinux_2_27 wheels need.
RUNTIME = "python3.13"
ARCHITECTURE = "x86_64"
GLIBC_MINOR = 34
UNZIPPED_LIMIT = 262_144_000  # bytes: Lambda's limit for the unpacked function and layers
DIRECT_UPLOAD_LIMIT = 52_428_800  # bytes: a zip sent in the API call; larger ones via S3
# Serving requirements a function does not run: gunicorn (Lambda calls the app), the
# database libraries (feedback is off without a database).
NOT_IN_FUNCTION = {"gunicorn", "sqlalchemy", "alembic", "psycopg"}
# Files of the wheels the function never loads, each checked by the package test (the app
# imports and predicts without them): LiteRT's GPU accelerator, its CompiledModel runtime
# (the backend uses the Interpreter), NPU compiler plugins and command-line tools; OpenCV's
# Haar cascades; the libraries' own test suites; console scripts (bin/, for the build host);
# type stubs, C headers and NumPy's Fortran wrapper generator (for developers, never loaded);
# Pillow's AVIF and WebP codecs and its font renderer: the backend opens PNG and JPEG only
# (AVIF and WebP are refused, 415, by their signatures) and draws no text, and Pillow treats
# a codec it cannot load as one it does not have.
PRUNE = (
    "PIL/_avif.*", "pillow.libs/libavif-*",
    "PIL/_webp.*", "pillow.libs/libwebp*", "pillow.libs/libsharpyuv-*",
    "PIL/_imagingft.*", "pillow.libs/libfreetype-*", "pillow.libs/libharfbuzz-*",
    "pillow.libs/libbrotli*",
    "bin/*",
    "*.pyi",
    "numpy/_core/include/*",
    "numpy/f2py/*",
    "ai_edge_litert/libLiteRtWebGpuAccelerator.so",
    "ai_edge_litert/libLiteRt.so",
    "ai_edge_litert/vendors/*",
    "ai_edge_litert/tools/*",
    "cv2/data/*",
    "*/tests/*",
)
# The backend without what only the database path or the CLIs need.
BACKEND_EXCLUDE = ("*/__pycache__/*", "backend/feedback/migrations/*", "backend/Dockerfile",
                   "backend/requirements*.txt")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # zip's epoch: the same bytes on every build


@dataclass(frozen=True)
class Manifest:
    model: str
    model_version: str
    runtime: str
    architecture: str
    zip_name: str
    zipped_bytes: int
    unzipped_bytes: int
    pruned_bytes: int
    bytecode_modules: int  # modules shipped compiled (0: no runtime Python at build time)
    code_sha256: str  # base64 of the zip's SHA-256, as Lambda reports CodeSha256
    s3_key: str  # where serverless.yml uploads it: a new package is a new key

    @property
    def fits(self) -> bool:
        return self.unzipped_bytes <= UNZIPPED_LIMIT


def requirement_lines() -> list[str]:
    """backend/requirements.txt without NOT_IN_FUNCTION, plus serverless/requirements.txt."""
    lines = []
    for path in (REPO / "backend" / "requirements.txt", REPO / "serverless" / "requirements.txt"):
        for raw in path.read_text().splitlines():
            line = raw.split("#", 1)[0].strip()
            if not line or line.startswith("-r"):
                continue
            name = line.split("==")[0].split("[")[0].strip().lower()
            if name not in NOT_IN_FUNCTION:
                lines.append(line)
    return lines


def platform_args(architecture: str = ARCHITECTURE) -> list[str]:
    """Every manylinux tag the runtime's glibc accepts, newest first."""
    tags = [f"manylinux_2_{minor}_{architecture}" for minor in range(GLIBC_MINOR, 16, -1)]
    tags.append(f"manylinux2014_{architecture}")
    return [arg for tag in tags for arg in ("--platform", tag)]


def install_wheels(target: Path) -> None:
    python_version = RUNTIME.removeprefix("python")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(requirement_lines()) + "\n")
    try:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-compile",
                        "--disable-pip-version-check", "--only-binary=:all:",
                        *platform_args(), "--python-version", python_version,
                        "--implementation", "cp", "--target", str(target),
                        "-r", handle.name], check=True)
    finally:
        Path(handle.name).unlink()


def prune(root: Path) -> int:
    """Remove PRUNE's files; the bytes removed."""
    removed = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if any(fnmatch.fnmatch(relative, pattern) for pattern in PRUNE):
            removed += path.stat().st_size
            path.unlink()
    return removed


def copy_backend(root: Path) -> None:
    for path in sorted((REPO / "backend").rglob("*")):
        relative = path.relative_to(REPO).as_posix()
        if path.is_file() and not any(fnmatch.fnmatch(relative, p) for p in BACKEND_EXCLUDE):
            destination = root / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
    shutil.copyfile(REPO / "serving.env", root / "serving.env")


def copy_model(root: Path, models_dir: Path, version: str | None) -> tuple[str, str]:
    """One version's metadata and LiteRT file, and a registry that serves it alone."""
    store = open_store(models_dir)
    version = version or store.registry.production
    source = store.version_dir(version)
    contract = read_contract(source)
    destination = root / "models" / store.registry.model / version
    destination.mkdir(parents=True)
    for name in ("metadata.json", contract.file_for("litert")):
        shutil.copyfile(source / name, destination / name)
    write_registry(root / "models", Registry(model=store.registry.model, production=version))
    return store.registry.model, version


def warm_up_events() -> list[tuple[dict, int]]:
    """What a function usually answers, each with the status it must get: canvas PNGs (file
    and data URL), a JPEG photo, a number, the model list, a preflight, a bad request."""
    import io

    from PIL import Image, ImageDraw

    from serverless.events import http_api_event

    def drawing(mode: str, strokes: list[tuple[int, int, int, int]], fmt: str) -> bytes:
        image = Image.new(mode, (200, 140), (0, 0, 0, 0) if mode == "RGBA" else "white")
        pen = ImageDraw.Draw(image)
        for stroke in strokes:
            pen.line(stroke, fill="black", width=12)
        buffer = io.BytesIO()
        image.save(buffer, fmt)
        return buffer.getvalue()

    one = drawing("RGBA", [(100, 20, 100, 120)], "PNG")
    photo = drawing("RGB", [(100, 20, 100, 120)], "JPEG")
    eleven = drawing("RGBA", [(60, 20, 60, 120), (140, 20, 140, 120)], "PNG")
    data_url = "data:image/png;base64," + base64.b64encode(one).decode()
    png, jpeg = {"Content-Type": "image/png"}, {"Content-Type": "image/jpeg"}
    return [
        (http_api_event("POST", "/predict", one, png, base64_encoded=True), 200),
        (http_api_event("POST", "/predict", json.dumps({"image": data_url}),
                        {"Content-Type": "application/json"}), 200),
        (http_api_event("POST", "/predict", photo, jpeg, base64_encoded=True), 200),
        (http_api_event("POST", "/predict/number", eleven, png, base64_encoded=True), 200),
        (http_api_event("GET", "/models"), 200),
        (http_api_event("OPTIONS", "/predict", None, {
            "Origin": "https://page.example", "Access-Control-Request-Method": "POST"}), 200),
        (http_api_event("POST", "/predict", "{", {"Content-Type": "application/json"}), 400),
    ]


# Run by the runtime's Python in the package's root: relative names, so no build folder is
# written into the bytecode and two builds give the same bytes.
_COMPILE = """
import importlib.util, py_compile, sys
for source in sys.argv[1:]:
    py_compile.compile(source, cfile=importlib.util.cache_from_source(source), dfile=source,
                       doraise=True, invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
"""


def compile_bytecode(root: Path, python: str) -> int:
    """Bytecode for the modules the warm-up requests import; how many."""
    from serverless.local import LocalFunction

    events, statuses = zip(*warm_up_events(), strict=True)
    with tempfile.TemporaryDirectory(prefix="lambda-warm-up-") as tmp:
        run = LocalFunction(root, python, Path(tmp) / "env").cold_start(list(events))
    got = tuple(r["statusCode"] for r in run.responses)
    if got != statuses:
        raise SystemExit(f"the package answers {got}, not {statuses}: {run.responses}")
    subprocess.run([python, "-c", _COMPILE, *run.package_modules], cwd=root, check=True)
    return len(run.package_modules)


def write_zip(root: Path, zip_path: Path) -> None:
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), FIXED_TIME)
            info.external_attr = 0o644 << 16  # readable by the runtime's user, nothing more
            info.compress_type = zipfile.ZIP_DEFLATED
            with path.open("rb") as source, archive.open(info, "w") as target:
                shutil.copyfileobj(source, target, 1 << 20)


def build(out: Path = DEFAULT_OUT, models_dir: Path = REPO / "models",
          version: str | None = None) -> Manifest:
    """Build the zip and its manifest.json in ``out``; refuses a package over Lambda's limit."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lambda-package-") as tmp:
        root = Path(tmp)
        install_wheels(root)
        pruned = prune(root)
        copy_backend(root)
        model, model_version = copy_model(root, models_dir, version)
        python = runtime_python()
        compiled = compile_bytecode(root, python) if python else 0
        unzipped = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        zip_path = out / f"function-{model_version}.zip"
        write_zip(root, zip_path)
    digest = hashlib.sha256(zip_path.read_bytes())
    manifest = Manifest(model=model, model_version=model_version, runtime=RUNTIME,
                        architecture=ARCHITECTURE, zip_name=zip_path.name,
                        zipped_bytes=zip_path.stat().st_size, unzipped_bytes=unzipped,
                        pruned_bytes=pruned, bytecode_modules=compiled,
                        code_sha256=base64.b64encode(digest.digest()).decode(),
                        s3_key=f"{model}/{model_version}/{digest.hexdigest()[:16]}.zip")
    (out / "manifest.json").write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    if not manifest.fits:
        raise SystemExit(f"{zip_path.name}: {unzipped:,} bytes unzipped, over Lambda's "
                         f"{UNZIPPED_LIMIT:,}")
    return manifest


def report(manifest: Manifest) -> str:
    mib = 1 << 20
    upload = "direct upload" if manifest.zipped_bytes <= DIRECT_UPLOAD_LIMIT else "upload via S3"
    return (f"{manifest.zip_name}: model {manifest.model_version}, {manifest.runtime} "
            f"{manifest.architecture}\n"
            f"  zipped   {manifest.zipped_bytes / mib:6.1f} MiB ({manifest.zipped_bytes:,} bytes;"
            f" {upload}, limit {DIRECT_UPLOAD_LIMIT / mib:.0f} MiB direct)\n"
            f"  unzipped {manifest.unzipped_bytes / mib:6.1f} MiB "
            f"({manifest.unzipped_bytes:,} bytes; limit {UNZIPPED_LIMIT / mib:.0f} MiB, "
            f"{manifest.pruned_bytes / mib:.1f} MiB pruned)\n"
            f"  bytecode {manifest.bytecode_modules} modules"
            f"{'' if manifest.bytecode_modules else f' (no {RUNTIME} to compile with)'}\n"
            f"  CodeSha256 {manifest.code_sha256}")


def runtime_python() -> str | None:
    """An interpreter of the runtime's Python version for local checks, or None.

    $SERVERLESS_PYTHON, else pythonX.Y on PATH (when it runs: a pyenv shim may not), else a
    pyenv installation of that version.
    """
    name = RUNTIME
    candidates = [os.environ.get("SERVERLESS_PYTHON"), shutil.which(name),
                  *sorted(glob.glob(os.path.expanduser(
                      f"~/.pyenv/versions/{name.removeprefix('python')}*/bin/{name}")))]
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2])"],
                               capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == str(
                tuple(int(n) for n in name.removeprefix("python").split("."))):
            return candidate
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--models", type=Path, default=REPO / "models")
    parser.add_argument("--version", help="the model version to package (default production)")
    args = parser.parse_args(argv)
    print(report(build(args.out, args.models, args.version)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
