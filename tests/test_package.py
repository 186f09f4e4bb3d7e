"""Importing the package is free of side effects on the caller's process."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import REPO

# Imports every module of the package in a fresh interpreter (the test process itself runs with
# offline variables set by conftest) and prints whether os.environ changed.
IMPORT_ALL = """
import importlib, os, pkgutil
before = dict(os.environ)
import pipeline
for module in pkgutil.walk_packages(pipeline.__path__, "pipeline."):
    importlib.import_module(module.name)
changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))
print(changed)
"""


def test_importing_pipeline_leaves_the_environment_unchanged():
    environment = {k: v for k, v in os.environ.items() if not k.endswith("_OFFLINE")}
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_offline_mode_is_scoped_to_model_loading(monkeypatch):
    import huggingface_hub.constants as hub

    from pipeline.offline import offline_hub

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", False)
    with offline_hub():
        assert os.environ["HF_HUB_OFFLINE"] == "1" and hub.HF_HUB_OFFLINE is True
    assert "HF_HUB_OFFLINE" not in os.environ and hub.HF_HUB_OFFLINE is False
