"""Progress display: a tqdm bar per epoch (verbose=1) or one line per epoch (verbose=2).

Where standard output is not a terminal (a log file, CI), verbose=1 prints
the one line per epoch of verbose=2: a bar that cannot redraw itself would
leave a 0% line and a 100% line for every epoch.
"""

import sys
import time

from framework.training.callbacks import Callback


def format_logs(logs):
    return " - ".join(f"{key}: {value:.4f}" for key, value in logs.items())


class ProgressBar(Callback):
    # The logs it gets may be a `BatchLogs`: it reads them only when it redraws,
    # so a GPU waits for the running loss a few times a second, not every step.
    reads_batch_logs_lazily = True

    def __init__(self, verbose):
        super().__init__()
        self.verbose = verbose
        self.bar = None
        self.shown = 0.0  # time.monotonic() of the last logs shown

    def on_train_begin(self, logs=None):
        self.lines = self.verbose == 2 or not _is_terminal(sys.stdout)

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()
        if not self.lines:
            from tqdm.auto import tqdm  # imported when first shown: keeps `import framework` light

            self.bar = tqdm(
                total=self.params["steps"],
                desc=f"Epoch {epoch + 1}/{self.params['epochs']}",
                unit="batch",
                file=sys.stdout,
                dynamic_ncols=True,
            )

    def on_train_batch_end(self, batch, logs=None):
        if self.bar is not None:
            self.bar.update(1)
            now = time.monotonic()
            if now - self.shown >= self.bar.mininterval:  # tqdm redraws at most this often (0.1 s)
                self.shown = now
                self.bar.set_postfix(logs, refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        if self.bar is not None:
            self.bar.set_postfix(logs, refresh=False)
            self.bar.close()
            self.bar = None
        elif self.lines:
            seconds = time.perf_counter() - self.start
            print(f"Epoch {epoch + 1}/{self.params['epochs']} - {seconds:.2f}s - {format_logs(logs)}", flush=True)

    def on_train_end(self, logs=None):
        if self.bar is not None:  # training stopped mid-epoch
            self.bar.close()
            self.bar = None


def _is_terminal(stream):
    if "ipykernel" in sys.modules:  # a notebook: tqdm.auto draws a widget there
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False
