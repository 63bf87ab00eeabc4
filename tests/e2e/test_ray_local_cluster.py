"""scripts/ray_local_cluster.py without Ray: resources, the two `ray start` commands, and `stop` ending this
cluster's processes and nothing else. Fast and in-process; the cluster itself runs in test_distributed.py."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e import harness

cluster = harness.load_cluster_script()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("CPU=8,GPU=1", (8, 1)), ("cpu=4", (4, 0)), (" CPU=2 , GPU=0 ", (2, 0)), ("GPU=2,CPU=16", (16, 2))],
    ids=["both", "no-gpu", "spaces", "any-order"],
)
def test_parse_resources(text, expected):
    assert cluster.parse_resources(text, "--head") == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("GPU=1", "needs CPU=<n>"),
        ("CPU=0,GPU=1", "needs CPU=<n>"),
        ("CPU=x", "'CPU=x' is not CPU=<n>"),
        ("CPU=8,TPU=1", "'TPU=1' is not CPU=<n>"),
        ("CPU8", "'CPU8' is not CPU=<n>"),
    ],
    ids=["no-cpu", "zero-cpu", "not-a-number", "unknown-resource", "no-equals"],
)
def test_bad_resources_name_the_flag(text, message):
    with pytest.raises(ValueError, match=rf"^--worker: .*{message}"):
        cluster.parse_resources(text, "--worker")


def commands(tmp_path: Path) -> list[list[str]]:
    specs = {"head": cluster.NodeSpec(8, 1, 2**30), "worker": cluster.NodeSpec(4, 2, 2**29)}
    return cluster.node_commands("ray", specs, tmp_path, list(range(30000, 30000 + cluster.PORTS_NEEDED)))


def flags(cmd: list[str]) -> dict[str, str]:
    return dict(arg.split("=", 1) if "=" in arg else (arg, "") for arg in cmd[2:])


def test_head_and_worker_commands(tmp_path):
    head, worker = (flags(c) for c in commands(tmp_path))
    assert head["--port"] == "30000" and worker["--address"] == "127.0.0.1:30000"  # the worker joins the head
    assert "--head" in head and "--head" not in worker and "--block" in head and "--block" in worker
    assert head["--include-dashboard"] == "false"
    assert (head["--temp-dir"], worker["--temp-dir"]) == (str(tmp_path / "head"), str(tmp_path / "worker"))
    assert (head["--num-cpus"], head["--num-gpus"], head["--object-store-memory"]) == ("8", "1", str(2**30))
    assert (worker["--num-cpus"], worker["--num-gpus"], worker["--object-store-memory"]) == ("4", "2", str(2**29))


def test_no_port_is_given_twice(tmp_path):
    used = []
    for cmd in commands(tmp_path):
        for name, value in flags(cmd).items():
            if name == "--worker-port-list":
                assert len(value.split(",")) == cluster.WORKER_PORTS_PER_NODE
                used += value.split(",")
            elif name.endswith("-port") or name == "--port":
                used.append(value)
    assert len(used) == len(set(used)) == cluster.PORTS_NEEDED


def test_too_few_ports_refused(tmp_path):
    specs = {"head": cluster.NodeSpec(8, 1, 2**30), "worker": cluster.NodeSpec(8, 1, 2**30)}
    with pytest.raises(ValueError, match="distinct ports"):
        cluster.node_commands("ray", specs, tmp_path, [30000] * cluster.PORTS_NEEDED)


def test_free_ports_are_distinct():
    answers = iter([5, 5, 6, 5, 7])
    assert cluster.free_ports(3, bind=lambda: next(answers)) == [5, 6, 7]
    real = cluster.free_ports(4)
    assert len(set(real)) == 4 and all(1024 <= p < 65536 for p in real)


def test_cluster_pids_are_this_clusters_only(tmp_path, monkeypatch):
    d = tmp_path / "zt"
    table = {
        1: (0, "init"),
        10: (1, "bash"),  # this process's ancestors: the command that called stop
        11: (10, f"python ray_local_cluster.py stop --temp-dir {d}"),
        20: (1, f"ray start --block --temp-dir={d}/head --num-cpus=8"),
        21: (20, f"raylet --raylet_socket_name={d}/head/session_1/sockets/raylet"),
        22: (21, "ray::vLLMHttpServer"),
        23: (22, "VLLM::EngineCore"),  # names no folder: found as a descendant
        30: (1, f"gcs_server --log_dir={d}/worker/session_1/logs"),
        40: (1, "raylet --raylet_socket_name=/tmp/ray/session_2/sockets/raylet"),  # another cluster
        41: (40, "ray::WorkerDict"),
        50: (1, f"watchdog.sh {d} -- make test-distributed"),  # names the temp dir, not a node's folder
        60: (1, "sleep 100"),  # a root of ours by pid (cluster.json)
    }
    monkeypatch.setattr(cluster.os, "getpid", lambda: 11)
    assert cluster.cluster_pids(table, d, roots=[60, 999]) == {20, 21, 22, 23, 30, 60}
    table[11] = (10, f"ray start --temp-dir={d}/head")  # even when it looks like ours, never itself
    assert 11 not in cluster.cluster_pids(table, d)


def test_read_processes_parses_stat_and_skips_zombies(tmp_path):
    rows = [(7, "7 (ray::Worker (x)) S 3 7 7", b"ray::Worker\0--x\0"), (8, "8 (sh) R 7 8 8", b"sh\0"),
            (6, "6 (done) Z 3 6 6", b"")]  # fmt: skip
    for pid, stat, cmd in rows:
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "stat").write_text(stat)
        (tmp_path / str(pid) / "cmdline").write_bytes(cmd)
    (tmp_path / "self").mkdir()
    (tmp_path / "9").mkdir()  # ended meanwhile: no files
    assert cluster.read_processes(tmp_path) == {7: (3, "ray::Worker --x"), 8: (7, "sh")}


def _sleeper(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", *args])


def test_stop_ends_the_recorded_and_marked_processes_only(tmp_path):
    d = tmp_path / "zt"
    (d / "head").mkdir(parents=True)
    root, marked, bystander = _sleeper(), _sleeper(f"{d}/worker/session_1/logs"), _sleeper(str(d))
    try:
        (d / cluster.STATE_FILE).write_text(json.dumps({"pids": {"head": root.pid}}))
        cluster.stop(d, grace_s=1)
        time.sleep(0.2)
        assert root.poll() is not None and marked.wait(timeout=10) is not None
        assert bystander.poll() is None
        assert not (d / cluster.STATE_FILE).exists()
    finally:
        for proc in (root, marked, bystander):
            proc.kill()
            proc.wait()


def test_start_refuses_a_recorded_cluster(tmp_path):
    (tmp_path / cluster.STATE_FILE).write_text("{}")
    with pytest.raises(RuntimeError, match=r"cluster\.json: a cluster is recorded there; `stop --temp-dir"):
        cluster.start(tmp_path, {})


def test_bad_resources_exit_1_before_ray_starts(tmp_path, capsys):
    assert cluster.main(["start", "--temp-dir", str(tmp_path / "zt"), "--head", "CPU=8,TPU=1"]) == 1
    assert "ray_local_cluster: --head: 'TPU=1' is not CPU=<n>" in capsys.readouterr().err
    assert not (tmp_path / "zt").exists()


def test_export_line_joins_with_token_auth():
    line = cluster.export_line(cluster.Cluster(address="192.0.2.2:6390", temp_dir="/x"))
    assert line == "export RAY_ADDRESS=192.0.2.2:6390 RAY_AUTH_MODE=token"


ORPHAN_MAKER = """
import os, subprocess, sys, time
mid = subprocess.Popen([sys.executable, "-c", "import subprocess, sys; "
                        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); print(p.pid)"],
                       stdout=subprocess.PIPE, text=True)
orphan = int(mid.stdout.readline())
mid.wait()  # the orphan's parent is gone
time.sleep(0.5)
print(open(f"/proc/{orphan}/stat").read().rsplit(")", 1)[1].split()[1], flush=True)
os.kill(orphan, 9)
"""


def test_a_node_adopts_its_orphans():
    """A `ray start` process is made its node's child subreaper: a grandchild whose parent died (a vLLM engine whose
    Ray worker was killed) becomes its child, so it stays in the tree that `stop` and the memory meter walk."""

    def orphans_parent(**kwargs) -> tuple[int, int]:
        proc = subprocess.Popen([sys.executable, "-c", ORPHAN_MAKER], stdout=subprocess.PIPE, text=True, **kwargs)
        out, _ = proc.communicate(timeout=60)
        return proc.pid, int(out.split()[-1])

    node, parent = orphans_parent(preexec_fn=cluster._adopt_orphans)
    assert parent == node
    plain, parent = orphans_parent()
    assert parent != plain  # without it the orphan leaves the tree (to init or an outer subreaper)
