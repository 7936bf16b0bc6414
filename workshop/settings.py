"""Names and ports the course uses, with the seed tutorial's defaults.

Every value can be overridden from the environment with a ``WORKSHOP_`` prefix
(``WORKSHOP_HOST_PORT=8081``), so the test suite and a learner whose port 80 is taken can
run the course side by side without collisions. The prefix keeps unrelated variables that
happen to be called ``HOST_PORT`` or ``CONTAINER_NAME`` from steering the course. Inside a
chapter the values are exported under their plain names (``$HOST_PORT``), the names the
pipeline's ``variables:`` use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

#: Every image, container and network the workshop creates carries this label
#: (``key=value``), so clean-up can find them and nothing else.
LABEL_KEY = "workshop.course"
LABEL_VALUE = "flask-docker-gitlab"
LABEL = f"{LABEL_KEY}={LABEL_VALUE}"

#: The defaults, from the seed tutorial: image ``pyapp``, container
#: ``pyappcontainer``, published on host port 80; the app listens on 8080.
DEFAULTS = {
    "IMAGE_NAME": "pyapp",
    "CONTAINER_NAME": "pyappcontainer",
    "HOST_PORT": "80",
    "APP_PORT": "8080",
    "WORKSHOP_LABEL": LABEL,
}
#: Prefix of the environment variables that override DEFAULTS.
PREFIX = "WORKSHOP_"


def override_name(key: str) -> str:
    """Return the variable that overrides ``key`` (``HOST_PORT`` -> ``WORKSHOP_HOST_PORT``)."""
    return key if key.startswith(PREFIX) else PREFIX + key


@dataclass(frozen=True)
class Settings:
    """The course's names and ports.

    Attributes:
        image_name: tag of the app's image (str).
        container_name: name of the deployed container (str).
        host_port: TCP port on the host that publishes the app (int, 1-65535).
        app_port: TCP port used when the app runs directly on the host (int).
        label: the workshop's Docker label, ``key=value`` (str).
    """

    image_name: str
    container_name: str
    host_port: int
    app_port: int
    label: str

    @property
    def labels(self) -> dict[str, str]:
        """The label as a dict for the docker SDK, ``{"workshop.course": "flask-docker-gitlab"}``"""
        key, _, value = self.label.partition("=")
        return {key: value}

    def as_env(self) -> dict[str, str]:
        """Return the settings as environment variables (``HOST_PORT`` and so on)."""
        return {
            "IMAGE_NAME": self.image_name,
            "CONTAINER_NAME": self.container_name,
            "HOST_PORT": str(self.host_port),
            "APP_PORT": str(self.app_port),
            "WORKSHOP_LABEL": self.label,
        }


def _port(name: str, value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise ValueError(f"{name} must be a TCP port number, got {value!r}") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"{name} must be between 1 and 65535, got {port}")
    return port


def load(environ: dict[str, str] | None = None) -> Settings:
    """Read the settings from ``WORKSHOP_*`` variables in ``environ``, falling back to DEFAULTS.

    Args:
        environ: a mapping of environment variables; ``None`` means ``os.environ``.

    Returns:
        Settings with every value filled in.

    Raises:
        ValueError: when ``WORKSHOP_HOST_PORT`` or ``WORKSHOP_APP_PORT`` is not a port number
            from 1 to 65535.
    """
    env = os.environ if environ is None else environ
    values = {key: env.get(override_name(key)) or default for key, default in DEFAULTS.items()}
    return Settings(
        image_name=values["IMAGE_NAME"],
        container_name=values["CONTAINER_NAME"],
        host_port=_port("WORKSHOP_HOST_PORT", values["HOST_PORT"]),
        app_port=_port("WORKSHOP_APP_PORT", values["APP_PORT"]),
        label=values["WORKSHOP_LABEL"],
    )


def export(environ: dict[str, str] | None = None) -> Settings:
    """Load the settings and write them into ``os.environ`` so ``%%bash`` cells see them.

    Args:
        environ: where to read overrides from; ``None`` means ``os.environ``.

    Returns:
        The Settings that were exported.

    Raises:
        ValueError: as :func:`load`.
    """
    settings = load(environ)
    os.environ.update(settings.as_env())
    return settings
