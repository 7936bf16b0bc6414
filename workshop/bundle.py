"""The offline classroom bundle: ``prepare --save BUNDLE`` and ``prepare --load BUNDLE``.

An instructor with internet writes a folder (copy it to a USB stick or a file share)::

    BUNDLE/images.tar     every image the course needs (docker save)
    BUNDLE/wheels/        a pip wheelhouse with the course's Python dependencies (the app's and
                          the hardened image's), downloaded inside the base image so the
                          wheels fit its Python and platform
    BUNDLE/gitlab-ci-local.tar.gz  the pinned gitlab-ci-local and its node modules
    BUNDLE/manifest.json  what is inside, and the requirements the wheels satisfy

On a machine with no internet, ``prepare --load BUNDLE`` loads the images and then adds one
layer to the base image: the wheelhouse in ``/opt/workshop/wheels`` and an ``/etc/pip.conf``
that tells pip to install from it and never to ask an index. The result keeps the tag
``python:3.13-slim`` and carries the label ``workshop.offline``.

Why the base image and not the Dockerfile: the learner's Dockerfile stays exactly as the
chapters teach it (``RUN pip install -r requirements.txt``, no build arguments, no second
Dockerfile, nothing to remove when the room has internet again), and ``docker build`` works
with its RUN steps cut off from every network (``--network none``). The price: in that room,
``pip install`` in a container installs only what the wheelhouse holds; ``docker pull
python:3.13-slim`` (or ``prepare`` with internet) restores the plain image.
"""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import docker
import docker.errors

from workshop import images, settings
from workshop.paths import ROOT

IMAGES_TAR = "images.tar"
#: The pinned gitlab-ci-local with its node modules (the local pipeline: chapters 03, 04, 08, 09).
TOOLS_TAR = "gitlab-ci-local.tar.gz"
TOOLS_DIR = ROOT / "tools" / "gitlab-ci-local"
WHEELS = "wheels"
MANIFEST = "manifest.json"
#: Where the wheelhouse lives inside the classroom base image.
IMAGE_WHEELS = "/opt/workshop/wheels"
#: Label on the classroom base image; its value is the bundle's creation time.
OFFLINE_LABEL_KEY = "workshop.offline"
#: Where the course keeps requirement files (the app's, and e.g. the hardened image's) and
#: Dockerfiles, relative to ROOT; ``build/`` and tools are left out.
REQUIREMENT_GLOBS = ["app/requirements*.txt", "notebooks/**/requirements*.txt"]
DOCKERFILE_GLOBS = ["Dockerfile", "notebooks/**/Dockerfile", "solutions/*/Dockerfile"]


def _found(patterns: list[str]) -> list[Path]:
    paths: list[Path] = []
    for pattern in patterns:
        paths += [p for p in sorted(ROOT.glob(pattern)) if p.is_file() and p not in paths]
    return paths


PIP_CONF = f"[global]\nfind-links = {IMAGE_WHEELS}\nno-index = true\n"


class BundleError(RuntimeError):
    """The bundle could not be written or loaded; the message says why and what to do."""


@dataclass(frozen=True)
class Manifest:
    """What a bundle holds.

    Attributes:
        images: image references saved in ``images.tar``.
        wheels: wheel file names in ``wheels/``.
        requirements: the requirement lines the wheels satisfy.
        created: ISO 8601 time the bundle was written (UTC).
    """

    images: list[str]
    wheels: list[str]
    requirements: list[str]
    created: str


def course_images(dockerfiles: list[Path] | None = None) -> list[str]:
    """Return every image the course builds on: the base images and each Dockerfile's FROM.

    Args:
        dockerfiles: Dockerfiles to read; None means every one the course has (DOCKERFILE_GLOBS).

    Returns:
        Image references, without duplicates, base images first.
    """
    found = list(images.BASE_IMAGES)
    stages: set[str] = set()
    for path in dockerfiles or _found(DOCKERFILE_GLOBS):
        if not path.exists():
            continue
        for match in re.finditer(
            r"^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", path.read_text(), re.I | re.M
        ):
            ref, stage = match.group(1), match.group(2)
            if ref not in stages and "$" not in ref and ref not in found:
                found.append(ref)
            if stage:
                stages.add(stage)
    return found


def requirement_lines(files: list[Path] | None = None) -> list[str]:
    """Return the requirement lines (comments and blanks dropped) of the course's requirement
    files: ``files``, or every one REQUIREMENT_GLOBS finds (the app's, the hardened image's)."""
    lines = []
    for path in files or _found(REQUIREMENT_GLOBS):
        for line in path.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line and line not in lines:
                lines.append(line)
    return lines


def _run(command: list[str], what: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BundleError(
            f"{what} failed (exit status {result.returncode}):\n{result.stderr[-2000:]}"
        )
    return result.stdout


def save(bundle: Path, label: str | None = None) -> Manifest:
    """Write the bundle: the course's images and a wheelhouse for the app's dependencies.

    The images must be present (``prepare`` makes them so). The wheels are downloaded by pip
    inside the base image, in a throwaway container carrying the workshop's label.

    Args:
        bundle: the folder to write (created; existing bundle files are replaced).
        label: the workshop label for the download container; None reads the settings.

    Returns:
        The Manifest written to ``bundle/manifest.json``.

    Raises:
        BundleError: when an image is missing, ``docker save`` fails, or pip cannot download.
    """
    label = label or settings.load().label
    refs = course_images()
    client = docker.from_env()
    try:
        for ref in refs:
            try:
                client.images.get(ref)
            except docker.errors.ImageNotFound:
                raise BundleError(
                    f"image {ref} is not on this machine; run python -m workshop prepare first"
                ) from None
    finally:
        client.close()
    bundle = bundle.resolve()
    wheels = bundle / WHEELS
    wheels.mkdir(parents=True, exist_ok=True)
    for old in wheels.glob("*.whl"):
        old.unlink()
    _run(["docker", "save", "-o", str(bundle / IMAGES_TAR), *refs], "docker save")
    requirements = requirement_lines()
    with tempfile.TemporaryDirectory(prefix="workshop-bundle-") as tmp:
        req = Path(tmp) / "requirements.txt"
        req.write_text("\n".join(requirements) + "\n")
        _run(
            [
                "docker", "run", "--rm", "--label", label,
                "-v", f"{wheels}:/wheels", "-v", f"{req}:/requirements.txt:ro",
                images.BASE_IMAGES[0],
                "python", "-m", "pip", "download", "--no-cache-dir", "--disable-pip-version-check",
                "-d", "/wheels", "-r", "/requirements.txt",
            ],
            "pip download (inside the base image)",
        )  # fmt: skip
    if (TOOLS_DIR / "node_modules").is_dir():
        with tarfile.open(bundle / TOOLS_TAR, "w:gz") as tar:
            tar.add(TOOLS_DIR / "node_modules", arcname="node_modules")
    manifest = Manifest(
        images=refs,
        wheels=sorted(p.name for p in wheels.glob("*.whl")),
        requirements=requirements,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    (bundle / MANIFEST).write_text(json.dumps(manifest.__dict__, indent=2) + "\n")
    return manifest


def read_manifest(bundle: Path) -> Manifest:
    """Read ``bundle/manifest.json``.

    Raises:
        BundleError: when the folder is not a bundle (files missing or unreadable).
    """
    try:
        data = json.loads((bundle / MANIFEST).read_text())
        manifest = Manifest(**data)
    except (OSError, ValueError, TypeError) as error:
        raise BundleError(
            f"{bundle} is not a workshop bundle ({error}); write one with "
            "python -m workshop prepare --save BUNDLE on a machine with internet"
        ) from None
    if not (bundle / IMAGES_TAR).is_file():
        raise BundleError(f"{bundle / IMAGES_TAR} is missing; write the bundle again")
    return manifest


def classroom_base(client: docker.DockerClient, bundle: Path, manifest: Manifest) -> str:
    """Add the wheelhouse and pip's offline configuration to the base image, keeping its tag.

    Built with every network cut off (``network_mode="none"``); the layer only copies files.

    Args:
        client: a connected docker SDK client.
        bundle: the bundle folder (its ``wheels/``).
        manifest: the bundle's manifest (its creation time becomes the label's value).

    Returns:
        The base image reference that now carries the wheelhouse.

    Raises:
        BundleError: when the build fails.
    """
    base = images.BASE_IMAGES[0]
    with tempfile.TemporaryDirectory(prefix="workshop-classroom-") as tmp:
        context = Path(tmp)
        (context / "wheels").mkdir()
        for wheel in (bundle / WHEELS).glob("*.whl"):
            (context / "wheels" / wheel.name).write_bytes(wheel.read_bytes())
        (context / "pip.conf").write_text(PIP_CONF)
        (context / "Dockerfile").write_text(
            f"FROM {base}\n"
            f"COPY wheels/ {IMAGE_WHEELS}/\n"
            "COPY pip.conf /etc/pip.conf\n"
            f'LABEL {OFFLINE_LABEL_KEY}="{manifest.created}"\n'
        )
        try:
            client.images.build(path=str(context), tag=base, network_mode="none", rm=True)
        except (docker.errors.BuildError, docker.errors.APIError) as error:
            raise BundleError(f"could not add the wheelhouse to {base}: {error}") from None
    return base


def load(bundle: Path) -> Manifest:
    """Load a bundle into the engine: its images, then the wheelhouse into the base image.

    Works with no network at all. Loading the same bundle twice gives the same result.

    Args:
        bundle: a folder written by :func:`save`.

    Returns:
        The bundle's Manifest.

    Raises:
        BundleError: when the folder is not a bundle or ``docker load`` fails.
    """
    bundle = bundle.resolve()
    manifest = read_manifest(bundle)
    _run(["docker", "load", "-i", str(bundle / IMAGES_TAR)], "docker load")
    tools = bundle / TOOLS_TAR
    if tools.is_file() and not (TOOLS_DIR / "node_modules").is_dir():
        with tarfile.open(tools) as tar:
            # The "data" filter refuses links and paths that leave TOOLS_DIR (Python >= 3.10.12).
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(TOOLS_DIR, **safe)
    client = docker.from_env()
    try:
        classroom_base(client, bundle, manifest)
    finally:
        client.close()
    return manifest
