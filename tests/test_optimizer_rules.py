"""Every built-in optimizer against an independent float64 implementation of its published rule.

The references below are written from the papers and Keras 3's documented
formulas, in plain float64 NumPy, sharing nothing with framework.optimizers.
Each optimizer runs 200 steps in float32 through `apply` (what training
calls) on a fixed quadratic and on a small softmax model; the whole
trajectory must match the reference to float32 tolerance.
"""

import math

import numpy as np
import pytest

import framework as fw
from framework import layers
from framework.errors import InvalidArgumentError
from framework.testing import check_optimizer

STEPS = 200


# -- the published rules, float64 ---------------------------------------------
def ref_sgd(lr, momentum=0.0, nesterov=False):
    def step(w, g, s, t, lr_t):
        if momentum == 0.0:
            return w - lr_t * g
        s["v"] = momentum * s.get("v", 0.0) - lr_t * g
        return w + (momentum * s["v"] - lr_t * g if nesterov else s["v"])
    return step


def ref_adagrad(initial=0.1, eps=1e-7):
    def step(w, g, s, t, lr_t):
        s["h"] = s.get("h", initial) + g * g
        return w - lr_t * g / np.sqrt(s["h"] + eps)
    return step


def ref_rmsprop(rho=0.9, momentum=0.0, eps=1e-7, centered=False):
    def step(w, g, s, t, lr_t):
        s["s"] = rho * s.get("s", 0.0) + (1 - rho) * g * g
        denominator = s["s"] + eps
        if centered:
            s["a"] = rho * s.get("a", 0.0) + (1 - rho) * g
            denominator = s["s"] - s["a"] ** 2 + eps
        increment = lr_t * g / np.sqrt(denominator)
        if momentum > 0:
            s["u"] = momentum * s.get("u", 0.0) + increment
            increment = s["u"]
        return w - increment
    return step


def ref_adam(b1=0.9, b2=0.999, eps=1e-7, amsgrad=False):
    # Kingma & Ba, Algorithm 1, with epsilon-hat (Keras's placement); AMSGrad: Reddi et al.
    def step(w, g, s, t, lr_t):
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        v = s["v"]
        if amsgrad:
            s["vhat"] = np.maximum(s.get("vhat", 0.0), s["v"])
            v = s["vhat"]
        alpha = lr_t * math.sqrt(1 - b2**t) / (1 - b1**t)
        return w - alpha * s["m"] / (np.sqrt(v) + eps)
    return step


def ref_nadam(b1=0.9, b2=0.999, eps=1e-7):
    # Dozat 2016 with Keras's momentum schedule mu_t = b1 (1 - 0.5 * 0.96^t).
    def mu(t):
        return b1 * (1 - 0.5 * 0.96**t)

    def step(w, g, s, t, lr_t):
        product = math.prod(mu(i) for i in range(1, t + 1))
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        m_hat = mu(t + 1) * s["m"] / (1 - product * mu(t + 1)) + (1 - mu(t)) * g / (1 - product)
        v_hat = s["v"] / (1 - b2**t)
        return w - lr_t * m_hat / (np.sqrt(v_hat) + eps)
    return step


CASES = {
    "sgd": (lambda: fw.optimizers.SGD(0.05), ref_sgd(0.05), 0.05),
    "momentum": (lambda: fw.optimizers.Momentum(0.02), ref_sgd(0.02, 0.9), 0.02),
    "nesterov": (lambda: fw.optimizers.Nesterov(0.02), ref_sgd(0.02, 0.9, nesterov=True), 0.02),
    "sgd_nesterov_0.5": (lambda: fw.optimizers.SGD(0.05, momentum=0.5, nesterov=True),
                         ref_sgd(0.05, 0.5, nesterov=True), 0.05),
    "adagrad": (lambda: fw.optimizers.AdaGrad(0.1), ref_adagrad(), 0.1),
    # RMSprop steps by ~sign(g) where s has decayed to ~0: with epsilon=1e-7
    # float32 and float64 then part ways (a float64 run of the same code
    # matches to 1e-13 until then; see the float64 test below). A larger
    # epsilon keeps the float32 comparison well posed.
    "rmsprop": (lambda: fw.optimizers.RMSprop(0.01, epsilon=1e-3), ref_rmsprop(eps=1e-3), 0.01),
    # Centered: s - a^2 cancels where the gradient barely varies; a larger
    # epsilon keeps that well conditioned enough to compare float32 with float64.
    "rmsprop_centered_momentum": (lambda: fw.optimizers.RMSprop(0.005, rho=0.8, momentum=0.5, epsilon=1e-3,
                                                                centered=True),
                                  ref_rmsprop(0.8, 0.5, eps=1e-3, centered=True), 0.005),
    "adam": (lambda: fw.optimizers.Adam(0.01), ref_adam(), 0.01),
    "amsgrad": (lambda: fw.optimizers.get("amsgrad"), ref_adam(amsgrad=True), 0.001),
    "adamw": (lambda: fw.optimizers.AdamW(0.01, weight_decay=0.1), ref_adam(), 0.01),
    "nadam": (lambda: fw.optimizers.Nadam(0.01), ref_nadam(), 0.01),
}
DECAY = {"adamw": 0.1}


class Reference:
    """The float64 run of a rule over named parameters, with Keras's base options."""

    def __init__(self, rule, lr, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 schedule=None):
        self.rule, self.lr, self.schedule = rule, lr, schedule
        self.wd, self.clipnorm, self.clipvalue, self.global_clipnorm = weight_decay, clipnorm, clipvalue, global_clipnorm
        self.state, self.t = {}, 0

    def step(self, params, grads):
        self.t += 1
        lr_t = self.schedule(self.t - 1) if self.schedule else self.lr
        if self.clipvalue is not None:
            grads = {k: np.clip(g, -self.clipvalue, self.clipvalue) for k, g in grads.items()}
        if self.clipnorm is not None:
            grads = {k: g * self.clipnorm / max(np.linalg.norm(g), self.clipnorm) for k, g in grads.items()}
        if self.global_clipnorm is not None:
            total = math.sqrt(sum(np.sum(g * g) for g in grads.values()))
            grads = {k: g * self.global_clipnorm / max(total, self.global_clipnorm) for k, g in grads.items()}
        out = {}
        for key, w in params.items():
            if self.wd:
                w = w - lr_t * self.wd * w
            out[key] = self.rule(w, grads[key], self.state.setdefault(key, {}), self.t, lr_t)
        return out


# -- a fixed quadratic -----------------------------------------------------------
_rng = np.random.default_rng(42)
CURVATURE = {"q/W": _rng.uniform(0.5, 3.0, (3, 4)), "q/b": _rng.uniform(0.5, 3.0, 4)}
CENTER = {"q/W": _rng.standard_normal((3, 4)), "q/b": _rng.standard_normal(4)}
START = {"q/W": _rng.standard_normal((3, 4)), "q/b": _rng.standard_normal(4)}


def quadratic_grads(params):
    """Gradient of 0.5 * sum(h (w - c)^2): h (w - c), in the params' own dtype."""
    return {k: (CURVATURE[k].astype(p.dtype) * (p - CENTER[k].astype(p.dtype))) for k, p in params.items()}


def run_quadratic(optimizer, reference, backend):
    params = {k: backend.asarray(v.astype(np.float32)) for k, v in START.items()}
    exact = {k: v.copy() for k, v in START.items()}
    ours, theirs = [], []
    for _ in range(STEPS):
        host = {k: backend.to_numpy(v) for k, v in params.items()}
        optimizer.apply(params, {k: backend.asarray(g) for k, g in quadratic_grads(host).items()})
        exact = reference.step(exact, quadratic_grads(exact))
        ours.append({k: np.array(backend.to_numpy(v)) for k, v in params.items()})
        theirs.append(exact)
    return ours, theirs


def assert_trajectories_match(ours, theirs, lr):
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for key in a:
            assert a[key].dtype == np.float32, f"{key} became {a[key].dtype} at step {step}"
            # float32 rounding, carried through 200 steps: relative 1e-4, and
            # absolute a small fraction of one step's size.
            np.testing.assert_allclose(a[key], b[key], rtol=1e-4, atol=2e-4 * max(lr, 0.01) + 1e-5,
                                       err_msg=f"{key} at step {step + 1}")


@pytest.mark.parametrize("name", CASES)
def test_200_steps_on_a_quadratic_follow_the_published_rule(name, backend):
    make, rule, lr = CASES[name]
    optimizer = make()
    ours, theirs = run_quadratic(optimizer, Reference(rule, lr, weight_decay=DECAY.get(name)), backend)
    assert optimizer.iterations == STEPS
    assert_trajectories_match(ours, theirs, lr)
    # It did move towards the minimum, so the comparison is not of two standing runs.
    before = sum(np.sum((START[k] - CENTER[k]) ** 2) for k in START)
    after = sum(np.sum((ours[-1][k] - CENTER[k]) ** 2) for k in START)
    assert after < 0.9 * before


@pytest.mark.parametrize("name", CASES)
def test_in_float64_the_rule_is_exact(name, backend, float64):
    """Same computation in float64: agreement to rounding, with Keras's default epsilon too."""
    make, rule, lr = CASES[name]
    optimizer = make()
    if name == "rmsprop":  # Keras's default epsilon
        optimizer, rule = fw.optimizers.RMSprop(0.01), ref_rmsprop()
    reference = Reference(rule, lr, weight_decay=DECAY.get(name))
    params = {k: backend.asarray(v.copy()) for k, v in START.items()}
    exact = {k: v.copy() for k, v in START.items()}
    for step in range(50):
        optimizer.apply(params, {k: backend.asarray(g) for k, g in quadratic_grads(exact).items()})
        exact = reference.step(exact, quadratic_grads(exact))
        for key in exact:
            np.testing.assert_allclose(backend.to_numpy(params[key]), exact[key], rtol=1e-10, atol=1e-12,
                                       err_msg=f"{key} at step {step + 1}")


# -- a small softmax model --------------------------------------------------------
X = _rng.standard_normal((24, 5))
T = _rng.integers(0, 3, 24)
W0, B0 = 0.3 * _rng.standard_normal((5, 3)), 0.1 * _rng.standard_normal(3)


def model_grads(params):
    """Softmax cross-entropy of x W + b, mean over the batch, in float64 (written here, not the framework's)."""
    logits = X @ params["affine/W"] + params["affine/b"]
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(T)), T] -= 1.0
    p /= len(T)
    return {"affine/W": X.T @ p, "affine/b": p.sum(axis=0)}


@pytest.mark.parametrize("name", CASES)
def test_200_steps_of_a_small_model_follow_the_published_rule(name, backend):
    make, rule, lr = CASES[name]
    model = fw.Sequential([layers.Affine(3), layers.SoftmaxWithLoss()])
    model.compile(optimizer=make())
    model.build((None, 5))
    model.set_weights([W0, B0])
    reference = Reference(rule, lr, weight_decay=DECAY.get(name))
    exact = {"affine/W": W0.copy(), "affine/b": B0.copy()}
    x32 = X.astype(np.float32)
    for step in range(STEPS):
        model.train_on_batch(x32, T)
        exact = reference.step(exact, model_grads(exact))
        if step % 20 == 19:
            W, b = model.get_weights()
            assert W.dtype == b.dtype == np.float32
            np.testing.assert_allclose(W, exact["affine/W"], rtol=1e-4, atol=1e-5, err_msg=f"W at step {step + 1}")
            np.testing.assert_allclose(b, exact["affine/b"], rtol=1e-4, atol=1e-5, err_msg=f"b at step {step + 1}")
    assert not np.allclose(model.get_weights()[0], W0, atol=1e-3)


# -- the base options -------------------------------------------------------------
OPTIONS = [
    {"clipnorm": 0.5}, {"clipvalue": 0.2}, {"global_clipnorm": 0.7}, {"weight_decay": 0.05},
    {"clipnorm": 0.5, "weight_decay": 0.05},
]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "+".join(o))
@pytest.mark.parametrize("name", ["sgd", "momentum", "adam", "rmsprop"])
def test_clipping_and_weight_decay_follow_keras(name, options, backend):
    make, rule, lr = CASES[name]
    optimizer = type(make()).from_config({**make().get_config(), **options})
    assert optimizer.get_config() == {**make().get_config(), **options}
    ours, theirs = run_quadratic(optimizer, Reference(rule, lr, **options), backend)
    assert_trajectories_match(ours, theirs, lr)


def test_clipping_changes_the_steps_and_leaves_the_layers_gradients_alone(backend):
    params = {"a": backend.asarray(np.zeros(3, dtype=np.float32))}
    grad = backend.asarray(np.array([3.0, 4.0, 0.0], dtype=np.float32))
    fw.optimizers.SGD(1.0, clipnorm=1.0).apply(params, {"a": grad})
    np.testing.assert_allclose(backend.to_numpy(params["a"]), [-0.6, -0.8, 0.0], rtol=1e-6)
    np.testing.assert_array_equal(backend.to_numpy(grad), [3.0, 4.0, 0.0])


def test_only_one_clipping_option():
    with pytest.raises(InvalidArgumentError, match=r"only one of clipnorm, clipvalue and global_clipnorm"):
        fw.optimizers.Adam(clipnorm=1.0, clipvalue=0.5)


def test_a_plugin_optimizer_written_before_the_options_gets_them():
    from framework_swish_lion import Lion

    lion = Lion(learning_rate=0.1, clipvalue=0.5)
    assert lion.get_config()["clipvalue"] == 0.5
    assert type(lion).from_config(lion.get_config()).get_config() == lion.get_config()
    w = np.array([1.0, -1.0])
    # clipvalue bounds the gradient, which cannot change Lion's sign step; weight
    # decay through the base class would: Lion keeps its own weight_decay.
    lion.apply({"w": w}, {"w": np.array([10.0, 0.25])})
    np.testing.assert_allclose(w, [0.9, -1.1])
    decayed = Lion(learning_rate=0.1, weight_decay=0.5)
    w = np.array([1.0])
    decayed.apply({"w": w}, {"w": np.array([1.0])})
    np.testing.assert_allclose(w, [1.0 - 0.1 * (1.0 + 0.5)])  # decayed once, not twice


# -- hyperparameters ------------------------------------------------------------
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize(
    "make",
    [
        lambda v: fw.optimizers.SGD(learning_rate=v),
        lambda v: fw.optimizers.SGD(momentum=v),
        lambda v: fw.optimizers.Adam(beta_1=v),
        lambda v: fw.optimizers.Adam(beta_2=v),
        lambda v: fw.optimizers.Adam(epsilon=v),
        lambda v: fw.optimizers.RMSprop(rho=v),
        lambda v: fw.optimizers.AdaGrad(epsilon=v),
        lambda v: fw.optimizers.Nadam(learning_rate=v),
        lambda v: fw.optimizers.AdamW(weight_decay=v),
        lambda v: fw.optimizers.SGD(clipnorm=v),
    ],
)
def test_non_finite_hyperparameters_are_refused(make, bad):
    with pytest.raises(InvalidArgumentError, match=r"must be (finite|in)"):
        make(bad)


def test_setting_the_learning_rate_is_checked():
    optimizer = fw.optimizers.SGD(0.1)
    with pytest.raises(InvalidArgumentError, match=r"learning_rate must be finite, got learning_rate=nan"):
        optimizer.learning_rate = math.nan
    assert optimizer.learning_rate == 0.1
    scheduled = fw.optimizers.SGD(fw.schedules.InverseSqrtDecay(0.1))
    with pytest.raises(InvalidArgumentError, match=r"comes from the schedule"):
        scheduled.learning_rate = 0.5


def test_names():
    assert type(fw.optimizers.get("amsgrad")) is fw.optimizers.Adam and fw.optimizers.get("amsgrad").amsgrad
    for name, cls in [("adagrad", fw.optimizers.AdaGrad), ("RMSprop", fw.optimizers.RMSprop),
                      ("adamw", fw.optimizers.AdamW), ("nadam", fw.optimizers.Nadam),
                      ("momentum", fw.optimizers.Momentum), ("nesterov", fw.optimizers.Nesterov)]:
        assert type(fw.optimizers.get(name)) is cls
    assert fw.optimizers.Nesterov().nesterov and not fw.optimizers.Momentum().nesterov
    assert fw.optimizers.AdamW().get_config()["weight_decay"] == 0.004
    with pytest.raises(InvalidArgumentError, match="AdamW: weight_decay must be a number, got weight_decay=None"):
        fw.optimizers.AdamW(weight_decay=None)


# -- the conformance kit, on NumPy and on the strict backend -----------------------
KIT = [
    fw.optimizers.SGD(0.1, momentum=0.9, nesterov=True, clipnorm=1.0),
    fw.optimizers.Momentum(0.1),
    fw.optimizers.Nesterov(0.1, weight_decay=0.01),
    fw.optimizers.AdaGrad(0.1),
    fw.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    fw.optimizers.Adam(0.01, amsgrad=True, global_clipnorm=2.0),
    fw.optimizers.AdamW(0.01),
    fw.optimizers.Nadam(0.01, clipvalue=0.5),
    fw.optimizers.SGD(fw.schedules.CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=2)),
]


@pytest.mark.parametrize("optimizer", KIT, ids=lambda o: type(o).__name__)
def test_check_optimizer(optimizer, backend):
    check_optimizer(optimizer)
