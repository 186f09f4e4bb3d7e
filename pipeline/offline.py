"""Offline mode for the Hugging Face hub, switched on only while a model loads.

Every model this tool loads is a local folder (`local_files_only=True`); offline mode makes sure
no library quietly reaches the network on the way. It is scoped, not set at import time, so
importing `pipeline` leaves the caller's environment as it was.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

OFFLINE_VARIABLE = "HF_HUB_OFFLINE"


@contextmanager
def offline_hub() -> Iterator[None]:
    """Within the block, the hub is offline (`HF_HUB_OFFLINE=1`); afterwards the variable and
    huggingface_hub's own flag (read once at its import) are as they were."""
    import huggingface_hub.constants as hub

    previous_variable = os.environ.get(OFFLINE_VARIABLE)
    previous_flag = hub.HF_HUB_OFFLINE
    os.environ[OFFLINE_VARIABLE] = "1"
    hub.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        hub.HF_HUB_OFFLINE = previous_flag
        if previous_variable is None:
            os.environ.pop(OFFLINE_VARIABLE, None)
        else:
            os.environ[OFFLINE_VARIABLE] = previous_variable
