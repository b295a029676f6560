"""How the test command (`pytest -n 2 --dist loadscope`, see the Makefile) shares the tests out."""

from __future__ import annotations

from typing import Any

import pytest

#: Tests that must run in one process, in file order: each CLI module's tests build on one market,
#: and the secrets test (tests/cli/test_zz_secrets.py) reads what every CLI test printed.
ONE_PROCESS = "tests/cli/"


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: without it, the tests run in one process
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Whenever tests are shared out (`-n N`, whatever `--dist`), a worker takes a whole test module,
    and all of tests/cli/ goes to one worker: shared out one by one, they would fail."""
    if config.getvalue("dist") == "each":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return ONE_PROCESS if nodeid.startswith(ONE_PROCESS) else super()._split_scope(nodeid)

    return Scheduling(config, log)
