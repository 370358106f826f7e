"""An example plugin for dlfs-framework: the `Swish` layer and the `Lion` optimizer.

Installing the package registers both (entry point ``swish-lion`` in the
group ``framework``): ``layers.get("Swish")``, ``compile(optimizer="lion")``.
"""

from framework_swish_lion.lion import Lion
from framework_swish_lion.swish import Swish

__all__ = ["Swish", "Lion"]
__version__ = "0.1.0"
