"""Fuzz the checkpoint loader: mutate valid checkpoints, load each in a limited subprocess.

    python scripts/fuzz_checkpoints.py --seconds 600        # as long as asked
    python scripts/fuzz_checkpoints.py --count 300 --seed 1  # a fixed, reproducible run

Each mutated file (bytes or HDF5 structure) must either be refused with
`CheckpointError` or load as exactly the model it was made from (a mutation
of a byte nobody reads). Anything else (another exception, a crash, a hang,
a model that differs) is a finding: the file is copied to
``tests/data/fuzz_regressions/`` with a ``.json`` note of what happened, and
`tests/test_checkpoint_fuzz.py` loads that corpus on every run.

Files are loaded in batches by one worker process each (``--worker``), under
a memory limit (RLIMIT_AS) and a time limit, so the whole run costs a few
interpreter starts, not one per file. The test suite imports this module.
"""

import argparse
import hashlib
import json
import os
import pathlib
import random
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "fuzz_regressions"
MEMORY_LIMIT = 3 * 2**30  # bytes of address space per worker: shape bombs meet MemoryError, not the OOM killer
BATCH_TIMEOUT = 300.0  # seconds per batch: generous, a hang is what it catches


# -- the seeds: valid checkpoints, and what loading them must give --------------------------
def fingerprint(model):
    """sha256 of everything a checkpoint restores: config, weights and layer state, compile settings,
    optimizer and training state."""
    from framework import serialization

    digest = hashlib.sha256()
    training = serialization.training_config(model) if model.compiled else None
    random_states = [layer.get_random_state() for layer in model.layers]  # Dropout's place in its stream
    digest.update(json.dumps([model.get_config(), training, random_states], sort_keys=True).encode())
    for array in model.get_weights():  # params and state (moving statistics)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    if model.compiled:
        state = model.optimizer.get_state()
        digest.update(json.dumps([state["iterations"], model.epochs_done, model.shuffle_seed]).encode())
        for slot in sorted(state["slots"]):
            for key in sorted(state["slots"][slot]):
                digest.update(f"{slot}/{key}".encode())
                digest.update(state["slots"][slot][key].tobytes())
    return digest.hexdigest()


def make_seeds(folder, keras=False):
    """Write valid checkpoints into `folder`; return {path: fingerprint of loading it}.

    `keras` adds a file of the ``keras_h5`` interop format. It is off by
    default because Keras's files carry no checksums: damaged bytes inside a
    weight load as other weights, which this fuzzer counts as a finding
    though no loader could see it. With ``--keras``, look for crashes and
    hangs, not for those. (HDF5 can spin forever reading a string attribute
    whose global heap is damaged, found with seed 21; that format reads its
    string attributes in a child process with a deadline, so such a file is
    refused in bounded time.)
    """
    import numpy as np

    import framework as fw
    from framework import layers

    rng = np.random.default_rng(0)
    x, y = rng.random((32, 5)).astype("float32"), rng.integers(0, 3, 32)
    fw.set_seed(0)
    trained = fw.Sequential([layers.Affine(6), layers.ReLU(), layers.Affine(3)], name="seed")
    trained.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    trained.fit(x, y, epochs=1, batch_size=8, verbose=0)
    plain = fw.Sequential([layers.Affine(4), layers.Sigmoid(), layers.Affine(2), layers.SoftmaxWithLoss()])
    plain.build((None, 3))
    # Layer state (moving statistics, a dropout stream), an activation and a regularizer in the config.
    stateful = fw.Sequential([layers.Dense(6, activation="tanh", kernel_regularizer=fw.regularizers.L2(1e-3)),
                              layers.BatchNormalization(), layers.Dropout(0.25), layers.Affine(3)], name="stateful")
    stateful.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    stateful.fit(x, y, epochs=1, batch_size=8, verbose=0)
    folder = pathlib.Path(folder)
    seeds = {}
    layout = fw.Sequential([layers.Dense(6, activation="relu"), layers.Dense(3)], name="keras_layout")
    layout.build((None, 5))
    models = [("trained.h5", trained), ("uncompiled.h5", plain), ("stateful.h5", stateful)]
    for name, model in models + ([("keras.h5", layout)] if keras else []):
        model.save(folder / name, format="keras_h5" if name == "keras.h5" else None)
        seeds[str(folder / name)] = fingerprint(fw.load_model(folder / name))
    return seeds


# -- mutations ---------------------------------------------------------------------------------
def _bytes_mutation(data, rng):
    data = bytearray(data)
    kind = rng.choice(["flip", "random", "zero", "truncate", "insert", "huge"])
    at = rng.randrange(len(data))
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif kind == "random":
        data[at:at + rng.randint(1, 64)] = rng.randbytes(rng.randint(1, 64))
    elif kind == "zero":
        span = rng.randint(1, 512)
        data[at:at + span] = bytes(len(data[at:at + span]))
    elif kind == "truncate":
        del data[at:]
    elif kind == "insert":
        start = rng.randrange(len(data))
        data[at:at] = data[start:start + rng.randint(1, 256)]
    else:  # a size or offset field set to something absurd
        data[at:at + 8] = rng.choice([2**40, 2**63 - 1, 2**64 - 1, 0]).to_bytes(8, "little")
    return bytes(data), kind


def _json_edit(value, rng):
    """Change one leaf of a parsed JSON value in place (the digest is left as it was)."""
    parent, key = None, None
    node = value
    for _ in range(rng.randint(1, 6)):
        children = list(node.items()) if isinstance(node, dict) else list(enumerate(node)) if isinstance(node, list) else []
        if not children:
            break
        parent, (key, node) = node, rng.choice(children)
    if parent is None:
        return
    choice = rng.choice(["number", "string", "delete", "null", "nest"])
    if choice == "delete":
        del parent[key]
    else:
        parent[key] = {"number": rng.choice([0, -1, 1.5, 2**40, 1e308]), "string": "x" * rng.randint(0, 3),
                       "null": None, "nest": [node]}[choice]


def _structure_mutation(path, rng):
    import h5py
    import numpy as np

    with h5py.File(path, "r+") as file:
        objects = []
        file.visit(objects.append)
        kind = rng.choice(["del_attr", "del_object", "reshape", "link", "attr_type", "json", "version", "compress"])
        target = file[rng.choice(objects)] if objects else file
        if kind == "del_attr":
            holder = rng.choice([file, target])
            if len(holder.attrs):
                del holder.attrs[rng.choice(list(holder.attrs))]
        elif kind == "del_object" and objects:
            del file[rng.choice(objects)]
        elif kind in ("reshape", "compress") and isinstance(target, h5py.Dataset):
            attrs = dict(target.attrs)
            name, parent = target.name, target.parent
            del file[name]
            if kind == "reshape":
                shape = tuple(rng.randint(0, 9) for _ in range(rng.randint(0, 3)))
                new = parent.create_dataset(name, data=np.ones(shape, dtype=rng.choice(["<f4", "<f8", "<i4", ">f4"])))
            else:
                new = parent.create_dataset(name, data=np.zeros((64, 64), "<f4"), compression="gzip")
            new.attrs.update(attrs)
        elif kind == "link" and isinstance(target, h5py.Dataset):
            name = target.name
            other = rng.choice(objects)
            del file[name]
            file[name] = rng.choice([h5py.SoftLink("/" + other), h5py.ExternalLink("/etc/hostname", "/x")])
        elif kind == "attr_type":
            name = rng.choice(list(file.attrs) or ["model_config"])
            file.attrs[name] = rng.choice([np.int64(7), np.arange(3.0), "text", np.bytes_(b"\xff" * 9)])
        elif kind == "json":
            name = rng.choice([n for n in ("model_config", "training_config", "checksums") if n in file.attrs]
                              or ["model_config"])
            if name in file.attrs:
                value = json.loads(bytes(file.attrs[name]))
                _json_edit(value, rng)
                file.attrs[name] = np.bytes_(json.dumps(value).encode())
        elif kind == "version":
            file.attrs["format_version"] = np.int64(rng.choice([0, 1, 3, -1, 2**62]))
    return kind


def mutate(seed_path, out_path, rng):
    """Write a mutation of `seed_path` to `out_path`; returns the mutation's kind."""
    data = pathlib.Path(seed_path).read_bytes()
    if rng.random() < 0.5:
        data, kind = _bytes_mutation(data, rng)
        pathlib.Path(out_path).write_bytes(data)
        return "bytes:" + kind
    pathlib.Path(out_path).write_bytes(data)
    try:
        return "structure:" + _structure_mutation(out_path, rng)
    except Exception as exc:  # h5py refused the edit: keep the file as the edit left it
        return f"structure:failed-edit({type(exc).__name__})"


# -- loading in a limited worker ---------------------------------------------------------------
def _worker(list_file):
    """Load every file listed in `list_file`; print one JSON line per file, as soon as it is done."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    # Bounded CPU too: a worker left behind by a killed run does not spin for ever.
    resource.setrlimit(resource.RLIMIT_CPU, (int(BATCH_TIMEOUT) + 10, int(BATCH_TIMEOUT) + 10))
    import framework as fw
    from framework.errors import CheckpointError

    for path in pathlib.Path(list_file).read_text().splitlines():
        try:
            result = {"outcome": "loaded", "fingerprint": fingerprint(fw.load_model(path))}
        except CheckpointError as exc:
            result = {"outcome": "CheckpointError", "error": str(exc)[:300]}
        except BaseException as exc:  # a finding: anything but CheckpointError
            result = {"outcome": type(exc).__name__, "error": str(exc)[:300]}
        print(json.dumps({"path": path, **result}), flush=True)


def load_batch(paths, timeout=BATCH_TIMEOUT, worker=None):
    """{path: result} for `paths`, loaded by workers; a crash or hang is the result of the file it hit.

    `worker`: the command that loads a list of files (default: this script's ``--worker``).
    """
    worker = worker or [sys.executable, __file__, "--worker"]
    results, pending = {}, list(paths)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", FRAMEWORK_BACKEND="numpy")
    env.pop("FRAMEWORK_PLUGINS", None)
    while pending:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
            listing.write("\n".join(map(str, pending)))
        try:
            run = subprocess.run([*worker, listing.name], capture_output=True, text=True, timeout=timeout, env=env,
                                 cwd=ROOT)
            stdout, failure = run.stdout, None if run.returncode == 0 else f"exit status {run.returncode}"
            stderr = run.stderr
        except subprocess.TimeoutExpired as exc:
            stdout, failure, stderr = exc.stdout or "", f"no answer within {timeout:.0f} s", ""
            stdout = stdout.decode() if isinstance(stdout, bytes) else stdout
        finally:
            os.unlink(listing.name)
        for line in stdout.splitlines():
            if line.startswith("{"):
                result = json.loads(line)
                results[result.pop("path")] = result
        pending = [p for p in pending if str(p) not in results]
        if pending and failure:  # the first unanswered file took the worker down
            results[str(pending[0])] = {"outcome": "crash", "error": f"{failure}: {stderr[-300:]}"}
            pending = pending[1:]
        elif pending:
            raise RuntimeError(f"the fuzz worker answered for no file; stderr: {stderr[-500:]}")
    return results


def acceptable(result, expected):
    return result["outcome"] == "CheckpointError" or (result["outcome"] == "loaded"
                                                       and result["fingerprint"] == expected)


def keep(path, result, expected, note, corpus=CORPUS):
    """Copy a finding into the regression corpus, with what it should have done."""
    corpus.mkdir(parents=True, exist_ok=True)
    data = pathlib.Path(path).read_bytes()
    name = hashlib.sha256(data).hexdigest()[:16]
    (corpus / f"{name}.h5").write_bytes(data)
    (corpus / f"{name}.json").write_text(json.dumps({"expected_fingerprint": expected, "found": result,
                                                     "mutation": note}, indent=1) + "\n")
    return corpus / f"{name}.h5"


def fuzz(count=None, seconds=None, seed=0, batch=150, corpus=CORPUS, log=print, keras=False):
    """Run `count` mutations (or as many as fit in `seconds`); return the findings' paths in `corpus`."""
    rng = random.Random(seed)
    findings, done, start = [], 0, time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fuzz-checkpoints-") as folder:
        seeds = make_seeds(pathlib.Path(folder), keras=keras)
        while (count is None or done < count) and (seconds is None or time.monotonic() - start < seconds):
            size = batch if count is None else min(batch, count - done)
            made = {}
            for i in range(size):
                source = rng.choice(sorted(seeds))
                out = pathlib.Path(folder) / f"m{done + i}.h5"
                made[str(out)] = (source, mutate(source, out, rng))
            results = load_batch(list(made))
            for path, (source, note) in made.items():
                if not acceptable(results[path], seeds[source]):
                    findings.append(keep(path, results[path], seeds[source], note, corpus))
                    log(f"finding: {note} -> {results[path]}")
                os.unlink(path)
            done += size
            log(f"{done} mutations, {len(findings)} findings, {time.monotonic() - start:.0f} s")
    return findings


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, help="fuzz for this long")
    parser.add_argument("--count", type=int, help="fuzz this many mutations")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock)")
    parser.add_argument("--keras", action="store_true",
                        help="also mutate a file of the keras_h5 format (no checksums: expect silent weight changes)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.worker)
        return 0
    if args.seconds is None and args.count is None:
        parser.error("give --seconds N or --count N")
    seed = args.seed if args.seed is not None else time.time_ns() % 2**32
    print(f"seed {seed}")
    findings = fuzz(count=args.count, seconds=args.seconds, seed=seed, keras=args.keras)
    print(f"{len(findings)} findings" + "".join(f"\n  {path}" for path in findings))
    return 1 if findings else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
