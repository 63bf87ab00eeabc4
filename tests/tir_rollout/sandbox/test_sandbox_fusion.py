"""The SandboxFusion client against a small fake of the /run_code protocol on 127.0.0.1 (stdlib http.server)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tir_rollout.sandbox import make_executor

OK = {
    "status": "Success",
    "compile_result": None,
    "files": {},
    "run_result": {"status": "Finished", "execution_time": 0.01, "return_code": 0, "stdout": "42\n", "stderr": ""},
}


def _run(status, code, stdout="", stderr="", top="Success"):
    return {
        "status": top,
        "compile_result": None,
        "files": {},
        "run_result": {
            "status": status,
            "execution_time": 0.02,
            "return_code": code,
            "stdout": stdout,
            "stderr": stderr,
        },
    }


class FakeSandboxFusion:
    """Answers by the snippet's text: 'TIMEOUT', 'FAIL', 'SANDBOX_ERROR', 'HTTP500', 'BIG', 'SLOW', else OK."""

    def __init__(self, failures_before_ok: int = 0) -> None:
        self.requests: list[dict] = []
        self.failures_left = failures_before_ok
        self.active = self.max_active = 0
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake.lock:
                    if len(fake.requests) < 200:  # bounded
                        fake.requests.append(dict(body, path=self.path))
                    fake.active += 1
                    fake.max_active = max(fake.max_active, fake.active)
                try:
                    status, answer = fake.answer(body["code"])
                    data = json.dumps(answer).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    with fake.lock:
                        fake.active -= 1

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/run_code"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, code: str) -> tuple[int, dict]:
        if "HTTP500" in code or "SANDBOX_ERROR" in code:
            with self.lock:
                failing = self.failures_left > 0
                self.failures_left -= 1
            if failing:
                return (
                    (500, {"detail": "boom"})
                    if "HTTP500" in code
                    else (200, {"status": "SandboxError", "message": "pod lost"})
                )
        if "TIMEOUT" in code:
            return 200, _run("TimeLimitExceeded", None, top="Failed")
        if "FAIL" in code:
            return 200, _run("Finished", 1, stderr="Traceback...\nZeroDivisionError: division by zero\n", top="Failed")
        if "WEIRD" in code:
            return 200, {"status": "Failed", "compile_result": None, "run_result": None}
        if "BIG" in code:
            return 200, _run("Finished", 0, stdout="z" * 200_000)
        if "SLOW" in code:
            time.sleep(0.2)
        return 200, OK

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    server = FakeSandboxFusion(failures_before_ok=2)
    yield server
    server.close()


def client(url, **sf):
    return make_executor({"backend": "sandbox_fusion", "sandbox_fusion": {"url": url, **sf}})


CASES = [
    ("finished_ok", "print(6 * 7)", "ok", "42\n", False),
    ("time_limit", "TIMEOUT", "timeout", "", False),
    ("raised", "FAIL", "error", "", False),
    ("output_over_the_cap", "BIG", "ok", "z" * 65536, True),  # 200 KB on one line: the head, status ok
]


@pytest.mark.parametrize(("code", "status", "stdout", "truncated"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_maps_the_protocol_to_exec_result(fake, code, status, stdout, truncated):
    res = client(fake.url).run(code, timeout=7)
    assert (res.status, res.stdout, res.truncated, res.isolation) == (status, stdout, truncated, "sandbox_fusion")
    sent = fake.requests[-1]
    assert (sent["path"], sent["code"], sent["language"], sent["run_timeout"]) == ("/run_code", code, "python", 7)
    assert "compile_timeout" in sent and sent["memory_limit_MB"] == 4096


@pytest.mark.parametrize("trigger", ["HTTP500", "SANDBOX_ERROR"])
def test_retries_with_backoff_then_succeeds(fake, trigger):
    t0 = time.monotonic()
    res = client(fake.url, retries=3).run(trigger)
    assert (res.status, res.stdout) == ("ok", "42\n")
    assert len(fake.requests) == 3  # two failures, then the answer
    assert time.monotonic() - t0 >= 0.25 + 0.5  # back-off 0.25 s, then 0.5 s


def test_gives_up_with_an_error_result_not_an_exception(fake):
    res = client(fake.url, retries=1).run("HTTP500")
    assert res.status == "sandbox_error" and "after 2 attempts" in res.stderr and "HTTP 500" in res.stderr
    assert len(fake.requests) == 2


def test_global_concurrency_limit_holds(fake):
    ex = client(fake.url, max_concurrency=2)
    results = ex.run_batch(["SLOW"] * 6, concurrency=6)
    assert [r.status for r in results] == ["ok"] * 6
    assert fake.max_active == 2


def test_health_check_passes_on_a_healthy_service(fake):
    client(fake.url).health_check()
    assert fake.requests[-1]["code"] == "print(6 * 7)"


def test_health_check_fails_fast_with_the_url_when_the_service_is_down():
    server = FakeSandboxFusion()
    url = server.url
    server.close()  # nothing listens on that port now
    t0 = time.monotonic()
    with pytest.raises(
        RuntimeError, match=r"sandbox\.sandbox_fusion\.url=http://127\.0\.0\.1:\d+/run_code.*not reachable"
    ):
        client(url).health_check()
    assert time.monotonic() - t0 < 5
    res = client(url, retries=0).run("print(1)")
    assert res.status == "sandbox_error" and "refused" in res.stderr.lower()


async def test_async_form_works_on_the_fake(fake):
    res = await client(fake.url).run_async("print(6 * 7)")
    assert res.stdout == "42\n"


def test_big_output_keeps_its_head_and_says_it_was_cut(fake):
    res = client(fake.url).run("BIG")
    assert res.status == "ok" and res.truncated and len(res.stdout) == 65536
    assert "only the first 65536 bytes are kept" in res.stderr


def test_a_status_that_is_no_outcome_of_the_code_is_a_sandbox_error(fake):
    res = client(fake.url).run("WEIRD")
    assert res.status == "sandbox_error" and "'Failed'" in res.stderr
