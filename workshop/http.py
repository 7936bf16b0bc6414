"""Ask the app for its page, patiently: a freshly started container needs a moment."""

from __future__ import annotations

import time
import urllib.error
import urllib.request


def get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    """Request ``url`` once.

    Args:
        url: an ``http://`` address.
        timeout: seconds to wait for the answer.

    Returns:
        (HTTP status code, body decoded as UTF-8). A 4xx or 5xx answer is returned, not raised.

    Raises:
        OSError: when no HTTP answer comes back (refused, reset, empty reply, time-out).
    """
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def wait_for_body(url: str, timeout: float = 30.0, interval: float = 0.1) -> str:
    """Request ``url`` until it answers 200, and return the body.

    Right after ``docker run -d`` the published port is open (docker-proxy holds it) but
    the app is not yet listening, so the first requests get a reset or an empty reply.

    Args:
        url: an ``http://`` address.
        timeout: seconds to keep trying.
        interval: seconds between attempts.

    Returns:
        The body of the first 200 answer (str).

    Raises:
        TimeoutError: when no 200 came back within ``timeout``; the message names the last error.
    """
    deadline = time.monotonic() + timeout
    last = "no attempt made"
    while time.monotonic() < deadline:
        try:
            status, body = get(url)
            if status == 200:
                return body
            last = f"HTTP {status}: {body[:200]}"
        except OSError as error:
            last = f"{type(error).__name__}: {error}"
        time.sleep(interval)
    raise TimeoutError(f"{url} did not answer 200 within {timeout:g} s (last: {last})")


def expect_body(url: str, expected: str, timeout: float = 30.0) -> str:
    """Wait for ``url`` to answer 200, check its body, and print it.

    Args:
        url: an ``http://`` address.
        expected: the exact body the app must return.
        timeout: seconds to keep trying, as :func:`wait_for_body`.

    Returns:
        The body (str), equal to ``expected``.

    Raises:
        TimeoutError: as :func:`wait_for_body`.
        AssertionError: when the body differs from ``expected``.
    """
    body = wait_for_body(url, timeout=timeout)
    print(f"{url} -> {body}")
    if body != expected:
        raise AssertionError(f"{url} answered {body!r}, expected {expected!r}")
    return body
