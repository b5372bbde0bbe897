"""GraphDeviceTimer's bookkeeping, with its CUDA steps replaced by a fake
GPU: one graph per config, one flushes-only graph shared by all and replayed
once per ``baseline_every`` measurements, and the subtraction."""

from __future__ import annotations

import pytest

from helion_hybrid.timing import GraphDeviceTimer

FLUSH_MS = 0.07


class FakeGraph:
    def __init__(self, flushes: int, kernel_ms: float) -> None:
        self.flushes = flushes
        self.kernel_ms = kernel_ms
        self.replays = 0


class FakeGpuTimer(GraphDeviceTimer):
    """Capture records what a body queued; a replay costs its flushes and kernels."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.graphs: list[FakeGraph] = []
        self.drift_ms = 0.0  # added to every flush from now on: the GPU's clocks moving
        self._queued: list[float] | None = None

    def _allocate(self) -> None:
        self._cache = "fake buffer"

    def _warm(self, call: object) -> None:
        pass

    def _flush(self) -> None:
        assert self._queued is not None, "a flush outside a capture"
        self._queued.append(-1.0)

    def _graph_of(self, body):
        self._queued = []
        body()
        queued, self._queued = self._queued, None
        graph = FakeGraph(sum(1 for q in queued if q < 0), sum(q for q in queued if q >= 0))
        self.graphs.append(graph)
        return graph

    def _replay_ms(self, graph: FakeGraph) -> float:
        graph.replays += 1
        return graph.flushes * (FLUSH_MS + self.drift_ms) + graph.kernel_ms

    def kernel(self, ms: float):
        return lambda: self._queued.append(ms)


def test_device_time_is_the_kernel_graph_less_the_flushes_per_call():
    timer = FakeGpuTimer(calls_per_graph=20)
    assert timer.measure("a", timer.kernel(0.0066)) == pytest.approx(0.0066)
    assert timer.measure("b", timer.kernel(0.19)) == pytest.approx(0.19)


def test_each_config_is_captured_once_and_the_flushes_graph_is_shared():
    timer = FakeGpuTimer(calls_per_graph=20, baseline_every=16)
    for _ in range(3):
        for key, ms in (("a", 0.01), ("b", 0.02)):
            timer.measure(key, timer.kernel(ms))
    kernel_graphs = [g for g in timer.graphs if g.kernel_ms > 0]
    flush_graphs = [g for g in timer.graphs if g.kernel_ms == 0]
    assert len(kernel_graphs) == 2 and [g.replays for g in kernel_graphs] == [3, 3]
    assert len(flush_graphs) == 1 and flush_graphs[0].flushes == 20
    assert flush_graphs[0].replays == 1  # 6 measurements, one baseline replay per 16


def test_the_baseline_is_measured_again_every_baseline_every_measurements():
    timer = FakeGpuTimer(calls_per_graph=10, baseline_every=4)
    call = timer.kernel(0.05)
    for _ in range(9):
        timer.measure("a", call)
    flushes = next(g for g in timer.graphs if g.kernel_ms == 0)
    assert flushes.replays == 3  # measurements 1, 5 and 9
    timer.drift_ms = 0.001  # slower flushes: measurements read high until the baseline follows
    assert [round(timer.measure("a", call), 6) for _ in range(4)] == [0.051, 0.051, 0.051, 0.05]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"calls_per_graph": 0}, ValueError),
        ({"replays": -1}, ValueError),
        ({"baseline_every": 0}, ValueError),
        ({"baseline_every": 2.5}, TypeError),
        ({"replays": True}, TypeError),
    ],
)
def test_bad_settings_are_refused(kwargs, error):
    with pytest.raises(error, match=next(iter(kwargs))):
        GraphDeviceTimer(**kwargs)


def test_fewer_calls_per_graph_measure_the_same_kernel_with_their_own_graph():
    timer = FakeGpuTimer(calls_per_graph=20)
    call = timer.kernel(0.3)
    assert timer.measure("a", call, calls=4) == pytest.approx(0.3)
    assert timer.measure("a", call) == pytest.approx(0.3)
    assert timer.measure("a", call, calls=4) == pytest.approx(0.3)
    kernel_graphs = sorted((g.flushes, g.replays) for g in timer.graphs if g.kernel_ms > 0)
    assert kernel_graphs == [(4, 2), (20, 1)]
    with pytest.raises(ValueError, match="calls"):
        timer.measure("a", call, calls=0)


def test_more_calls_than_the_default_are_capped_at_it():
    timer = FakeGpuTimer(calls_per_graph=20)
    call = timer.kernel(0.0066)
    assert timer.measure("a", call, calls=300) == pytest.approx(0.0066)
    assert timer.measure("a", call) == pytest.approx(0.0066)  # the same graph
    assert sorted((g.flushes, g.replays) for g in timer.graphs if g.kernel_ms > 0) == [(20, 2)]
