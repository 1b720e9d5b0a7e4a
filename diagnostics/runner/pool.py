"""One run's thread pool: checks run on it, their results come back on the calling thread."""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor

from diagnostics.types import CheckResult, Outcome

logger = logging.getLogger(__name__)

# What a submitted check does with its results once they are in (on the calling thread).
Then = Callable[[list[CheckResult]], None]


def crashed_result(check: str, subject: str, error: Exception) -> CheckResult:
    """The inconclusive result that stands in for a check that raised."""
    return CheckResult(
        check=check,
        subject=subject,
        outcome=Outcome.INCONCLUSIVE,
        summary=f"The {check} check could not run: {type(error).__name__}: {error}",
        details={"reason": "check_error", "error": f"{type(error).__name__}: {error}"},
    )


class CheckPool:
    """One run's pool, pending checks and callbacks; callbacks run on the calling thread.

    `submit` starts a check on the pool; `drain` waits for every check (including those that
    callbacks submit meanwhile), reports each result to `on_result` and hands it to its `then`.
    """

    def __init__(self, *, max_workers: int, on_result: Callable[[CheckResult], None] | None):
        self.pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="diagnose")
        self.pending: dict[Future, Then] = {}
        self.on_result = on_result
        # Finished checks, in the order they finished: `drain` takes them one at a time, at a
        # constant cost (waiting on every pending future at each wake-up cost O(pending)).
        self.finished: queue.SimpleQueue[Future] = queue.SimpleQueue()

    def submit(
        self,
        check: str,
        subject: str,
        work: Callable[[], CheckResult | list[CheckResult]],
        then: Then,
    ) -> None:
        def guarded() -> list[CheckResult]:
            try:
                produced = work()
            except Exception as error:  # a bug in one check must not sink the run
                logger.exception("%s check for %s crashed", check, subject)
                return [crashed_result(check, subject, error)]
            return produced if isinstance(produced, list) else [produced]

        future = self.pool.submit(guarded)
        self.pending[future] = then
        future.add_done_callback(self.finished.put)

    def emit(self, results: Iterable[CheckResult]) -> None:
        """Report results to `on_result`; a failing callback is logged, never raised."""
        if self.on_result is None:
            return
        for result in results:
            try:
                self.on_result(result)
            except Exception:
                logger.exception("on_result callback failed")

    def drain(self) -> None:
        while self.pending:
            future = self.finished.get()
            then = self.pending.pop(future)
            results = future.result()
            self.emit(results)
            then(results)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
