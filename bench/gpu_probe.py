"""Timing diagnostics: the GPU's current clocks, power and temperature
through NVML (the ``nvidia-ml-py`` package; reads only, never changes a
setting), and an event timer that also times the stages around each call."""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable


class ClockReader:
    """Current SM / memory clock (MHz), power (W), temperature (C) and the
    active clock-event (throttle) reason bits of GPU ``index``. Every field is
    None where NVML is missing or refuses the query."""

    def __init__(self, index: int = 0) -> None:
        self._nvml: Any = None
        self._handle: Any = None
        try:
            import pynvml

            pynvml.nvmlInit()
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            self._nvml = pynvml
        except Exception as error:  # no NVML: report nothing rather than fail the study
            self.error = f"{type(error).__name__}: {error}"
        else:
            self.error = None

    def _query(self, name: str, *args: Any) -> Any:
        function = getattr(self._nvml, name, None)
        if function is None:
            return None
        try:
            return function(self._handle, *args)
        except Exception:
            return None

    def read(self) -> dict[str, Any]:
        if self._nvml is None:
            return {"sm_mhz": None, "mem_mhz": None, "power_w": None, "temp_c": None, "reasons": None}
        nvml = self._nvml
        power = self._query("nvmlDeviceGetPowerUsage")
        reasons = self._query("nvmlDeviceGetCurrentClocksEventReasons")
        if reasons is None:
            reasons = self._query("nvmlDeviceGetCurrentClocksThrottleReasons")
        return {
            "sm_mhz": self._query("nvmlDeviceGetClockInfo", nvml.NVML_CLOCK_SM),
            "mem_mhz": self._query("nvmlDeviceGetClockInfo", nvml.NVML_CLOCK_MEM),
            "power_w": power / 1000.0 if power is not None else None,
            "temp_c": self._query("nvmlDeviceGetTemperature", nvml.NVML_TEMPERATURE_GPU),
            "reasons": reasons,
        }


def probed_event_samples(call: Callable[[], object], repetitions: int) -> tuple[list[float], dict[str, float]]:
    """helion_hybrid's in-search event timer with extra events around each
    stage, to see where time goes on the GPU: ``flush_us`` (L2 flush),
    ``cover_us`` (flush end to the timed region's start: the spin kernel,
    longer if the host was late), ``timed_us`` (the timed region, what the
    search records) and ``host_us`` (CPU time to queue one repetition).
    Returns the timed samples in ms and the medians of those stages."""
    import torch
    from triton import runtime

    from helion_hybrid.timing import _LAUNCH_COVER_CYCLES

    driver = runtime.driver.active
    cache = driver.get_empty_cache_for_benchmark()
    marks = [[torch.cuda.Event(enable_timing=True) for _ in range(4)] for _ in range(repetitions)]
    host = []
    for before_flush, after_flush, start, end in marks:
        queued_from = time.perf_counter()
        before_flush.record()
        driver.clear_cache(cache)
        after_flush.record()
        torch.cuda._sleep(_LAUNCH_COVER_CYCLES)
        start.record()
        call()
        end.record()
        host.append((time.perf_counter() - queued_from) * 1e6)
    torch.cuda.synchronize()
    timed = [float(m[2].elapsed_time(m[3])) for m in marks]
    stages = {
        "flush_us": statistics.median(1000 * m[0].elapsed_time(m[1]) for m in marks),
        "cover_us": statistics.median(1000 * m[1].elapsed_time(m[2]) for m in marks),
        "timed_us": 1000 * statistics.median(timed),
        "host_us": statistics.median(host),
    }
    return timed, stages
