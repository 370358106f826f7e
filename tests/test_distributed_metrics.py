"""Sample weights and epoch-wide metrics under MPI: N processes report what one process reports."""

import numpy as np
import pytest

from .test_distributed import arrays, needs_mpi, run


@needs_mpi
@pytest.mark.parametrize("ranks", [2, 3])
def test_weighted_training_and_stateful_metrics_match_one_process(tmp_path, ranks):
    single, multi = tmp_path / "single", tmp_path / "multi"
    single.mkdir(), multi.mkdir()
    run("weighted", single)
    run("weighted", multi, ranks)
    one = arrays(single / "rank-0.npz")
    assert {"history_precision", "history_auc", "evaluate_auc", "evaluate_mae"} <= set(one)
    for rank in range(ranks):
        many = arrays(multi / f"rank-{rank}.npz")
        assert set(many) == set(one)
        for key in one:
            # Weights to float64 round-off; every log (loss, accuracy, precision, AUC, MAE) the global one.
            np.testing.assert_allclose(many[key], one[key], rtol=1e-6, atol=1e-9, err_msg=f"rank {rank} {key}")
