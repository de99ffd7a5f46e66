"""pytest plugin for tests/aws-clients/moto-parity: records each moto test's outcome and the AWS operations it
called through botocore, and bounds every test's time. Writes JSON to $MOTO_PARITY_OUT at the end of the run:
{nodeid: {"outcome": "passed"|"failed"|"skipped", "operations": ["iam:CreateUser", ...], "error": "..."}}."""
import json, os, signal

import botocore.client

_results = {}
_current = {"id": None}
_real_call = botocore.client.BaseClient._make_api_call
TEST_SECONDS = int(os.environ.get("MOTO_PARITY_TEST_SECONDS", "120"))


def _recording_call(self, operation_name, api_params):
    test = _current["id"]
    if test is not None:
        service = self.meta.service_model.endpoint_prefix
        _results.setdefault(test, {"outcome": None, "operations": [], "error": ""})
        name = f"{service}:{operation_name}"
        if name not in _results[test]["operations"]:
            _results[test]["operations"].append(name)
    return _real_call(self, operation_name, api_params)


botocore.client.BaseClient._make_api_call = _recording_call


class _TestTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise _TestTimeout(f"the test ran longer than {TEST_SECONDS} s")


def pytest_runtest_setup(item):
    _current["id"] = item.nodeid
    _results.setdefault(item.nodeid, {"outcome": None, "operations": [], "error": ""})
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TEST_SECONDS)


def pytest_runtest_teardown(item, nextitem):
    signal.alarm(0)


def pytest_runtest_logreport(report):
    entry = _results.setdefault(report.nodeid, {"outcome": None, "operations": [], "error": ""})
    # A test's outcome is its call phase's, unless setup or teardown failed or it was skipped in setup.
    if report.when == "call" or report.outcome in ("failed", "skipped") and entry["outcome"] in (None, "passed"):
        if report.failed and entry["outcome"] == "failed":
            return
        entry["outcome"] = report.outcome
        if report.failed:
            text = report.longreprtext or ""
            lines = [l for l in text.splitlines() if l.startswith("E ")]
            entry["error"] = "\n".join(lines[-6:])[:2000] if lines else text[-2000:]


def pytest_sessionfinish(session, exitstatus):
    out = os.environ.get("MOTO_PARITY_OUT")
    if out:
        with open(out, "w") as f:
            json.dump(_results, f, indent=1, sort_keys=True)
