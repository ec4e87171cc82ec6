"""Run inside a fresh interpreter on an unpacked function package, as Lambda would.

``python -s coldstart.py TASK_ROOT EVENTS_JSON LAUNCH_EPOCH``: puts TASK_ROOT first on
sys.path (Lambda's /var/task), imports the handler module (which loads the model, as in
Lambda's init phase), invokes it with each event of the list in turn and prints one JSON
line: the seconds the interpreter, the import and the first event took, the responses,
every module file loaded from outside the package and the standard library (there must be
none) and the package's source files it imported (the build compiles those). Standard
library only: it must not need the repository.
"""

import json
import sys
import sysconfig
import time

started = time.perf_counter()
interpreter_s = time.time() - float(sys.argv[3])  # the parent's clock when it launched us
task_root, event_path = sys.argv[1], sys.argv[2]
sys.path.insert(0, task_root)

from backend import lambda_function  # noqa: E402  (after the path, as Lambda's bootstrap)

loaded = time.perf_counter()
with open(event_path) as handle:
    events = json.load(handle)
responses = [lambda_function.handler(events[0], None)]
answered = time.perf_counter()
responses += [lambda_function.handler(event, None) for event in events[1:]]

stdlib = (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])
files = sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())} - {""})
outside = [f for f in files if not f.startswith((task_root, *stdlib)) and f != __file__]
root = task_root.rstrip("/") + "/"
package_modules = [f[len(root):] for f in files if f.startswith(root) and f.endswith(".py")]
print(json.dumps({"python": sys.version.split()[0], "interpreter_s": interpreter_s,
                  "import_and_load_s": loaded - started,
                  "first_prediction_s": answered - loaded, "responses": responses,
                  "outside_package": outside, "package_modules": package_modules}))
