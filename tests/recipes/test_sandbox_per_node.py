"""Multi-node: the sandbox shares a node's cores among the agent-loop workers on that node, not all of them."""

import pytest
import ray

from tir_rollout.agent_loop import workers_on_this_node


@pytest.mark.parametrize(
    "nodes, me, workers, expected",
    [
        (["a"], "a", 8, 8),  # one node: every worker is here
        (["a", "b"], "a", 8, 4),  # verl's round-robin over two nodes
        (["a", "b", "c"], "a", 8, 3),  # workers 0, 3, 6
        (["a", "b", "c"], "c", 8, 2),  # workers 2, 5
        (["a", "b", "c", "d"], "d", 2, 1),  # more nodes than workers: never 0
    ],
)
def test_workers_on_this_node_follow_verls_round_robin(monkeypatch, nodes, me, workers, expected):
    cluster = [{"NodeID": n, "Alive": True, "Resources": {"CPU": 64.0}} for n in nodes]
    cluster.append({"NodeID": "dead", "Alive": False, "Resources": {"CPU": 64.0}})  # not counted
    monkeypatch.setattr(ray, "is_initialized", lambda: True)
    monkeypatch.setattr(ray, "nodes", lambda: cluster)
    monkeypatch.setattr(ray, "get_runtime_context", lambda: type("Ctx", (), {"get_node_id": lambda self: me})())
    assert workers_on_this_node(workers) == expected


def test_outside_ray_all_workers_count(monkeypatch):
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    assert workers_on_this_node(8) == 8
