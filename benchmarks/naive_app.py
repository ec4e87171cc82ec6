"""A faithful re-creation of the tutorial backend this project replaces, for the benchmark only.

As in the tutorial: the Flask development server, the canvas data URL as the raw body, the
decoded PNG written to a shared output.png, read back with imageio, inverted, resized to
28x28, then ``model.predict`` per request and a plain-text answer. (The tutorial's model
expected black-on-white input and its own preprocessing; what matters here is the cost of
each step, not its accuracy.) Never use this for anything else.

    python benchmarks/naive_app.py PORT MODEL_DIR WORK_DIR
"""

import base64
import os
import re
import sys

import imageio.v2 as imageio
import keras
import numpy as np
from flask import Flask, request
from PIL import Image

port, model_dir, work_dir = int(sys.argv[1]), sys.argv[2], sys.argv[3]
os.chdir(work_dir)
app = Flask(__name__)
model = keras.saving.load_model(os.path.join(model_dir, "model.keras"))


def convert_image(img_data):
    img_str = re.search(rb"base64,(.*)", img_data).group(1)
    with open("output.png", "wb") as output:
        output.write(base64.b64decode(img_str))


@app.route("/predict/", methods=["GET", "POST"])
def predict():
    img_data = request.get_data()
    convert_image(img_data)
    x = imageio.imread("output.png", pilmode="L")
    x = np.invert(x)
    x = np.asarray(Image.fromarray(x).resize((28, 28)))
    x = x.reshape(1, 28, 28, 1).astype("float32") / 255.0
    out = model.predict(x)
    return np.array_str(np.argmax(out, axis=1))


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=port)
