"""The training loop's parts: input checks, callbacks, progress display, metrics."""
