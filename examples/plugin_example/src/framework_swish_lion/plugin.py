"""The plugin module named by the entry point: it registers, nothing else."""

import framework as fw

from framework_swish_lion.lion import Lion
from framework_swish_lion.swish import Swish


@fw.hookimpl
def register_layers(register):
    register(Swish)  # by class name: "Swish", the name checkpoints store


@fw.hookimpl
def register_optimizers(register):
    # "Lion"; lookups ignore case, so compile(optimizer="lion") works
    register(Lion)
