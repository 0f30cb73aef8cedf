"""pydantic's plugin loader stood in for while plugins are disabled (``faas_gitops.no_plugins``).

Each case runs in a fresh interpreter: whether ``importlib.metadata`` is loaded depends on
everything imported before, and this test process has imported everything.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

#: Builds a model (pydantic asks its plugin loader then) and prints what it loaded.
_BUILD = """
import sys
import faas_gitops, pydantic

class Model(pydantic.BaseModel):
    x: int

assert Model(x=1).x == 1
loader = sys.modules["pydantic.plugin._loader"]
print("importlib.metadata" in sys.modules, type(loader).__name__)
"""


def build_a_model(disable_plugins: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    if disable_plugins is not None:
        env["PYDANTIC_DISABLE_PLUGINS"] = disable_plugins
    done = subprocess.run(
        [sys.executable, "-c", _BUILD], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_with_plugins_disabled_by_default_a_model_builds_without_importlib_metadata() -> None:
    assert build_a_model(None) == "False _Loader"


def test_with_plugins_enabled_in_the_environment_pydantics_own_loader_is_used() -> None:
    assert build_a_model("") == "True module"


def test_asking_the_stand_in_for_anything_else_loads_the_real_loader_in_its_place() -> None:
    code = (
        "import sys, faas_gitops\n"
        "from pydantic.plugin import _loader\n"
        "print(_loader.PYDANTIC_ENTRY_POINT_GROUP, type(sys.modules[_loader.__name__]).__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["pydantic", "module"]
