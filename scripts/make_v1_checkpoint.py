"""Write tests/data/v1_mlp.h5 and v1_mlp_expected.npz: a real format_version 1 checkpoint.

Run once, with the code of format_version 1 (commit f137fa9), so that later
versions of the loader are tested against a file they did not write:

    python scripts/make_v1_checkpoint.py

The .npz keeps the inputs and the predictions the model gave when saved.
"""

import pathlib

import numpy as np

import framework as fw
from framework import layers

DATA = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data"


def main():
    fw.set_seed(10)
    rng = np.random.default_rng(10)
    x = rng.random((64, 6)).astype("float32")
    y = rng.integers(0, 3, 64)
    model = fw.Sequential([layers.Affine(8), layers.ReLU(), layers.Affine(3)], name="v1_mlp")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    DATA.mkdir(exist_ok=True)
    model.save(DATA / "v1_mlp.h5")
    np.savez(DATA / "v1_mlp_expected.npz", x=x, y=y, predictions=model.predict(x, verbose=0))


if __name__ == "__main__":
    main()
