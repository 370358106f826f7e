"""Built-in backends: ``numpy`` (default) and ``cupy`` (NVIDIA GPUs)."""
