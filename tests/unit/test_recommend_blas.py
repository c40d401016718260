"""Requests run BLAS on one thread, and the previous setting comes back after the last one."""

from __future__ import annotations

import threading

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from p13n.domain.recommend.blas import single_threaded_blas


def _threads() -> set[int]:
    return {int(i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"}


def test_inside_a_request_blas_has_one_thread_and_after_it_the_setting_is_back() -> None:
    with threadpool_limits(2, user_api="blas"):
        assert _threads() == {2}
        with single_threaded_blas():
            assert _threads() == {1}
            a = np.ones((50, 40), dtype=np.float32)
            assert float((a @ np.ones(40, dtype=np.float32))[0]) == 40.0
        assert _threads() == {2}


def test_overlapping_requests_keep_one_thread_until_the_last_one_leaves() -> None:
    with threadpool_limits(2, user_api="blas"):
        first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
        seen: list[set[int]] = []

        def first() -> None:
            with single_threaded_blas():
                first_in.set()
                second_in.wait(5)
            first_out.set()

        def second() -> None:
            first_in.wait(5)
            with single_threaded_blas():
                second_in.set()
                first_out.wait(5)
                seen.append(_threads())  # the first request left; this one is still inside

        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert seen == [{1}]
        assert _threads() == {2}


def test_an_error_inside_still_restores_the_setting() -> None:
    with threadpool_limits(2, user_api="blas"):
        try:
            with single_threaded_blas():
                raise ValueError("boom")
        except ValueError:
            pass
        assert _threads() == {2}
