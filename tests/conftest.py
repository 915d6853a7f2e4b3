"""Shared fixtures and the CI policy.

Dataset tests read the SEQLAB_DATA mirror (the ``shared_data`` fixture, which marks them
``data``) and skip, saying why, without it. Locally a missing mirror, oracle package
(``pytest.importorskip``) or C compiler skips with its reason; with ``CI`` set (CI sets
``CI=true``) every such skip, of a test or of a whole module, fails the run instead, so that
CI never passes by checking less. Only an explicit ``skip``/``skipif`` marker still skips there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def data_root() -> Path | None:
    root = os.environ.get("SEQLAB_DATA")
    if root and Path(root).is_dir():
        return Path(root)
    # a checkout beside ../shared (this workplace's and CI's layout)
    guess = Path(__file__).resolve().parents[2] / "shared" / "data"
    return guess if guess.is_dir() else None


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")


def _ci_failure(reason: str) -> str:
    return (f"CI is set: this would have been skipped ({reason}); CI must run it. Install the "
            "test extra (pip install -e .[test]), a C compiler, and point SEQLAB_DATA at the "
            "dataset mirror.")


def _skip_reason(longrepr) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # (path, line, "Skipped: ...")
        return str(longrepr[2])
    return str(longrepr)


def pytest_collection_modifyitems(config, items):
    for item in items:  # every dataset test carries the marker (-m data / -m "not data")
        if "shared_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.data)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if (in_ci() and report.skipped and not hasattr(report, "wasxfail")
            and item.get_closest_marker("skip") is None
            and item.get_closest_marker("skipif") is None):
        report.outcome = "failed"
        report.longrepr = _ci_failure(_skip_reason(report.longrepr))


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped:  # a module-level importorskip skips the whole module
        report.outcome = "failed"
        report.longrepr = _ci_failure(_skip_reason(report.longrepr))


@pytest.fixture
def shared_data():
    """Path of the dataset mirror; skips the test with a reason if there is none."""
    root = data_root()
    if root is None:
        pytest.skip("dataset mirror not found: set SEQLAB_DATA to a copy of shared/data")
    return root


@pytest.fixture(autouse=True)
def _few_threads():
    """Tests run beside other jobs on 2 cores; keep torch from oversubscribing them."""
    try:
        import torch
    except ImportError:  # classical tests do not need torch
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
