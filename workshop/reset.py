"""Return the machine to a clean state, or to the start of a chapter: ``python -m workshop reset``.

Only what the workshop created is touched, and it is recognised by the label in the settings
(``WORKSHOP_LABEL``, ``key=value``, matched exactly): containers, images, networks and volumes
carrying it (containers and tagged images also named from the settings, since a container
inherits its image's labels); host processes whose pid files the chapters wrote to
``build/run/`` and whose environment carries the same label (a chapter's shell cells inherit
``$WORKSHOP_LABEL``).
The base image ``python:3.13-slim`` (real or the local stand-in) is never removed: every
chapter needs it and it does not carry the workshop's label.

Build products in the working folder (executed notebooks, logs, pipeline state, image tars)
carry no label, and every run in this folder shares them, so they are removed only for the
course's own label (a learner's reset), never for a test run's label.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors

from workshop import images, settings, standin
from workshop.paths import ROOT

#: Untracked build products the course writes in the working folder, relative to ROOT.
ARTIFACTS = [
    "build/notebooks",
    "build/run",
    "build/timings.json",
    "build/pipeline",
    ".gitlab-ci-local",
]
#: Image tar artifacts the pipeline writes at the top of the working folder.
ARTIFACT_GLOBS = ["*.tar", "*.tar.gz"]


@dataclass
class Report:
    """What a reset did.

    Attributes:
        removed: one line per object or file removed (``"container pyappcontainer"``).
        kept: one line per workshop object left in place, with the reason.
    """

    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def _filters(label: str) -> dict[str, str]:
    if "=" not in label:
        raise ValueError(f"WORKSHOP_LABEL must be key=value, got {label!r}")
    return {"label": label}


def _protected(image) -> bool:  # noqa: ANN001 - docker.models.images.Image
    """True for the base images, by tag: never removed (the stand-in's children inherit its
    label, so the label alone does not tell the stand-in)."""
    tags = set(image.tags or [])
    return bool(tags & set(images.BASE_IMAGES)) or (
        (image.labels or {}).get(standin.STANDIN_LABEL_KEY) in tags
    )


def derived(name: str, prefix: str) -> bool:
    """True when ``name`` is ``prefix`` or ``prefix-something``: how the course names things."""
    return name == prefix or name.startswith(prefix + "-")


def _repository(tag: str) -> str:
    """``pyapp:latest`` -> ``pyapp``; ``host:5000/pyapp:1`` -> ``host:5000/pyapp``."""
    head, sep, tail = tag.rpartition(":")
    return head if sep and "/" not in tail else tag


def reset_docker(
    client: docker.DockerClient,
    label: str,
    report: Report,
    container_name: str | None = None,
    image_name: str | None = None,
) -> None:
    """Remove every container, image, network and volume carrying ``label``.

    A container inherits the labels of its image, so a container someone started from a
    workshop image carries the label too; with ``container_name`` given, only containers
    named from it (``NAME`` or ``NAME-...``, as every chapter names them) count as the
    workshop's. Likewise ``image_name`` for tagged images. Images are removed without force,
    children before parents; one still used by a container the workshop did not create is
    kept and reported.

    Args:
        client: a connected docker SDK client.
        label: ``key=value``; only objects with exactly this label are touched.
        report: collects what was removed or kept.
        container_name: the settings' container name; None accepts any name.
        image_name: the settings' image name; None accepts any tag.

    Raises:
        ValueError: when ``label`` is not ``key=value``.
        docker.errors.DockerException: when the engine does not answer.
    """
    filters = _filters(label)
    for container in client.containers.list(all=True, filters=filters):
        if container_name and not derived(container.name, container_name):
            report.kept.append(
                f"container {container.name} (carries the label from its image, but its name "
                f"does not derive from {container_name})"
            )
            continue
        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            continue  # removed meanwhile (a --rm container that ended)
        report.removed.append(f"container {container.name}")
    pending = []
    for image in client.images.list(all=True, filters=filters):
        if _protected(image):
            report.kept.append(f"image {', '.join(image.tags)} (base image)")
        elif (
            image_name
            and image.tags
            and not any(derived(_repository(t), image_name) for t in image.tags)
        ):
            report.kept.append(
                f"image {', '.join(image.tags)} (labelled, but not named from {image_name})"
            )
        else:
            pending.append(image)
    while pending:
        progress, errors = [], {}
        for image in pending:
            try:
                # By tag: one image often has several (identical builds under different
                # names), and removing it by id then needs force, which would also take
                # an image a foreign container still uses. The last untag deletes it.
                for reference in image.tags or [image.id]:
                    client.images.remove(reference, noprune=False)
                progress.append(image)
                report.removed.append(f"image {', '.join(image.tags) or image.short_id}")
            except docker.errors.NotFound:
                progress.append(image)  # went with a removed child's parent chain
            except docker.errors.APIError as error:
                errors[image.id] = error.explanation or str(error)
        pending = [i for i in pending if i not in progress]
        if not progress:
            for image in pending:
                report.kept.append(
                    f"image {', '.join(image.tags) or image.short_id} ({errors.get(image.id)})"
                )
            break
    for network in client.networks.list(filters=filters):
        network.remove()
        report.removed.append(f"network {network.name}")
    for volume in client.volumes.list(filters=filters):
        volume.remove(force=True)
        report.removed.append(f"volume {volume.name}")


def process_label(pid: int) -> str | None:
    """Return the ``WORKSHOP_LABEL`` in process ``pid``'s environment, or None (gone, or unset)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for item in environ:
        if item.startswith(b"WORKSHOP_LABEL="):
            return item.split(b"=", 1)[1].decode(errors="replace")
    return None


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def stop_processes(run_dir: Path, label: str, report: Report, timeout: float = 5.0) -> None:
    """Stop the host processes the chapters started (pid files in ``run_dir``) that carry ``label``.

    A pid file whose process is gone is removed; one whose process lives without the label
    (another run's, or a recycled pid) is left alone.

    Args:
        run_dir: the folder of ``*.pid`` files (``build/run``).
        label: ``key=value``; the process's ``WORKSHOP_LABEL`` must equal it.
        report: collects what was stopped or kept.
        timeout: seconds to wait after SIGTERM before SIGKILL.
    """
    for pidfile in sorted(run_dir.glob("*.pid")):
        try:
            pid = int(pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        if not _alive(pid):
            pidfile.unlink(missing_ok=True)
            report.removed.append(f"stale pid file {pidfile.name}")
            continue
        if process_label(pid) != label:
            report.kept.append(f"process {pid} ({pidfile.name}): not started with this label")
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        pidfile.unlink(missing_ok=True)
        report.removed.append(f"process {pid} ({pidfile.name})")


def _pid_alive(pidfile: Path) -> bool:
    try:
        return _alive(int(pidfile.read_text().split()[0]))
    except (OSError, ValueError, IndexError):
        return False


def _tracked(root: Path, path: Path) -> bool:
    """True when git tracks ``path`` (never delete a tracked file); False outside a repository."""
    result = subprocess.run(
        ["git", "-C", str(root), "ls-files", "--error-unmatch", str(path.relative_to(root))],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def remove_artifacts(root: Path, report: Report) -> None:
    """Delete the course's untracked build products under ``root`` (ARTIFACTS, ARTIFACT_GLOBS).

    Args:
        root: the working folder.
        report: collects what was removed, ``"file PATH"`` or ``"folder PATH"`` (relative to root).
    """
    paths = [root / rel for rel in ARTIFACTS]
    for pattern in ARTIFACT_GLOBS:
        paths += sorted(root.glob(pattern))
    for path in paths:
        if not path.exists() or (path.is_file() and _tracked(root, path)):
            continue
        if path == root / "build/run":
            # Keep the pid files of live processes stop_processes left alone (another run's).
            for item in sorted(path.iterdir()):
                live = item.suffix == ".pid" and _pid_alive(item)
                if not live and item.is_file():
                    item.unlink()
                    report.removed.append(f"file {item.relative_to(root)}")
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
            report.removed.append(f"folder {path.relative_to(root)}")
        else:
            path.unlink()
            report.removed.append(f"file {path.relative_to(root)}")


def reset(
    conf: settings.Settings | None = None,
    root: Path = ROOT,
    client: docker.DockerClient | None = None,
) -> Report:
    """Remove everything the workshop created under the settings' label.

    Args:
        conf: settings (their ``label`` decides what is ours); None loads them.
        root: the working folder (``build/run`` pid files, artifacts).
        client: a docker SDK client; None connects with ``docker.from_env()``.

    Returns:
        A Report of what was removed and kept.

    Raises:
        ValueError: when the label is not ``key=value``.
        docker.errors.DockerException: when the engine does not answer.
    """
    conf = conf or settings.load()
    report = Report()
    own = client is None
    client = client or docker.from_env()
    try:
        stop_processes(root / "build/run", conf.label, report)
        reset_docker(client, conf.label, report, conf.container_name, conf.image_name)
    finally:
        if own:
            client.close()
    if conf.label == settings.LABEL:
        remove_artifacts(root, report)
    return report


def chapters_before(chapter: str, folder: Path | None = None) -> list[Path]:
    """Return the chapters before ``chapter`` (``"03"`` or ``"3"``), in course order.

    Raises:
        ValueError: when no chapter has that number.
    """
    from workshop import notebooks

    all_chapters = notebooks.course_notebooks(folder) if folder else notebooks.course_notebooks()
    number = chapter.zfill(2)
    if not any(p.name.startswith(number + "-") for p in all_chapters):
        names = ", ".join(p.name[:2] for p in all_chapters)
        raise ValueError(f"there is no chapter {chapter!r}; the chapters are {names}")
    return [p for p in all_chapters if p.name[:2] < number]


def leaves(path: Path) -> list[str]:
    """Return what a chapter promises to leave behind (``metadata.workshop.leaves``)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    return list(nb.metadata.get("workshop", {}).get("leaves", []))


def to_chapter(chapter: str, print_fn=print) -> int:  # noqa: ANN001
    """Reset, then run the earlier chapters that leave something behind, so ``chapter`` can start.

    Args:
        chapter: the chapter number to start (``"03"``).
        print_fn: where progress lines go.

    Returns:
        0 on success, 1 when an earlier chapter failed.

    Raises:
        ValueError: when there is no such chapter.
    """
    from workshop import notebooks

    earlier = chapters_before(chapter)
    for line in reset().removed:
        print_fn(f"removed {line}")
    for path in earlier:
        promised = leaves(path)
        if not promised:
            print_fn(f"ok      {path.name} leaves nothing behind; skipped")
            continue
        result = notebooks.execute(path)
        if result.error:
            print_fn(f"FAIL    {path.name}: {result.error[-1500:]}")
            return 1
        print_fn(f"ok      {path.name} ran; it leaves {', '.join(promised)}")
    print_fn(f"Ready for chapter {chapter.zfill(2)}.")
    return 0
