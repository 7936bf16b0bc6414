"""Build a local stand-in for ``python:3.13-slim`` from Debian packages.

Used when no container registry can be reached (offline classrooms, this project's CI).
Debian trixie ships Python 3.13, so ``debootstrap --variant=minbase trixie`` plus
``python3``, ``python3-pip`` and ``python-is-python3`` gives ``python`` and ``pip`` on PATH.
The result is arranged the way the official slim images are (no apt lists or package
cache in the layer, no documentation), carries this machine's CA bundle so pip works
behind a TLS-intercepting proxy, and is tagged ``python:3.13-slim`` so the learner's
Dockerfile stays unchanged. Its labels say it is a stand-in.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from workshop import system

SUITE = "trixie"
PACKAGES = ["python3", "python3-pip", "python-is-python3", "ca-certificates"]
#: Label on the stand-in image; ``doctor`` looks for it.
STANDIN_LABEL_KEY = "workshop.standin"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")

# What the official Debian images put in /etc/apt/apt.conf.d and /etc/dpkg/dpkg.cfg.d:
# keep no package cache, no translations, no documentation.
_RM_CACHE = (
    '"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb'
    ' /var/cache/apt/*.bin || true"'
)
APT_DOCKER_CLEAN = (
    f"DPkg::Post-Invoke {{ {_RM_CACHE}; }};\n"
    f"APT::Update::Post-Invoke {{ {_RM_CACHE}; }};\n"
    'Dir::Cache::pkgcache "";\n'
    'Dir::Cache::srcpkgcache "";\n'
)
APT_NO_LANGUAGES = 'Acquire::Languages "none";\n'
APT_AUTOREMOVE_SUGGESTS = 'Apt::AutoRemove::SuggestsImportant "false";\n'
APT_NO_RECOMMENDS = 'APT::Install-Recommends "false";\n'
DPKG_EXCLUDES = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
"""


class StandinError(RuntimeError):
    """The stand-in could not be built; the message says why and what to do."""


def apt_mirror(sources_dir: Path = Path("/etc/apt")) -> str:
    """Return the Debian mirror this machine's apt uses (its first ``debian`` URI).

    Reads ``sources.list.d/*.sources`` (deb822) and ``sources.list`` (one-line form), so
    the stand-in comes from the same mirror or proxy as the machine's own packages.

    Args:
        sources_dir: apt's configuration folder.

    Returns:
        A URI such as ``http://<mirror>/debian`` (str).

    Raises:
        StandinError: when no Debian mirror is configured.
    """
    texts = []
    for path in sorted(sources_dir.glob("sources.list.d/*.sources")):
        texts.append(path.read_text(errors="replace"))
    for path in [sources_dir / "sources.list", *sorted(sources_dir.glob("sources.list.d/*.list"))]:
        if path.exists():
            texts.append(path.read_text(errors="replace"))
    pattern = re.compile(r"^(?:URIs:|deb(?:\s+\[[^\]]*\])?)\s+(\S+/debian)/?\s*", re.M)
    for text in texts:
        for match in pattern.finditer(text):
            return match.group(1)
    raise StandinError(
        "No Debian mirror found in /etc/apt: the stand-in base image is built from Debian "
        "packages. Run the workshop on Debian or Ubuntu, or load an offline bundle."
    )


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def arrange_rootfs(rootfs: Path) -> None:
    """Make a debootstrapped tree look like an official slim image.

    Removes the EXTERNALLY-MANAGED marker (as the official images do: their Python is
    not Debian's), installs the slim apt and dpkg settings, this machine's CA bundle,
    and deletes package lists, caches, documentation and logs.

    Args:
        rootfs: the tree debootstrap wrote.
    """
    for marker in rootfs.glob("usr/lib/python3*/EXTERNALLY-MANAGED"):
        marker.unlink()
    conf = rootfs / "etc/apt/apt.conf.d"
    _write(conf / "docker-clean", APT_DOCKER_CLEAN)
    _write(conf / "docker-no-languages", APT_NO_LANGUAGES)
    _write(conf / "docker-autoremove-suggests", APT_AUTOREMOVE_SUGGESTS)
    _write(conf / "docker-no-recommends", APT_NO_RECOMMENDS)
    _write(rootfs / "etc/dpkg/dpkg.cfg.d/docker", DPKG_EXCLUDES)
    if HOST_CA_BUNDLE.exists():
        shutil.copyfile(HOST_CA_BUNDLE, rootfs / "etc/ssl/certs/ca-certificates.crt")
    for pattern in [
        "var/lib/apt/lists/*",
        "var/cache/apt/*",
        "var/cache/debconf/*-old",
        "var/log/*",
        "usr/share/man/*",
        "usr/share/info/*",
        "usr/share/locale/*",
    ]:
        for path in rootfs.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    for doc in rootfs.glob("usr/share/doc/*/*"):
        if doc.name != "copyright":
            shutil.rmtree(doc) if doc.is_dir() and not doc.is_symlink() else doc.unlink()


def build_standin(tag: str = "python:3.13-slim", label: str = "") -> None:
    """Build the stand-in base image with debootstrap and ``docker import``.

    Args:
        tag: the image reference to create.
        label: extra ``key=value`` label to put on the image ("" for none).

    Raises:
        StandinError: when debootstrap is missing and cannot be installed, or no mirror is set.
        subprocess.CalledProcessError: when debootstrap or docker import fails.
    """
    if system.ensure_commands({"debootstrap": "debootstrap"}):
        raise StandinError(
            "debootstrap is missing; install it (apt-get install debootstrap) as root"
        )
    if not system.is_root():
        raise StandinError("building the stand-in base image with debootstrap needs root")
    mirror = apt_mirror()
    with tempfile.TemporaryDirectory(prefix="workshop-standin-", dir="/var/tmp") as tmp:
        rootfs = Path(tmp) / "rootfs"
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=" + ",".join(PACKAGES),
                SUITE,
                str(rootfs),
                mirror,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        arrange_rootfs(rootfs)
        changes = [
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV LANG=C.UTF-8",
            f"LABEL {STANDIN_LABEL_KEY}={tag}",
            'LABEL org.opencontainers.image.description="Local stand-in for '
            f'{tag}, built from Debian {SUITE} packages by the workshop"',
            'CMD ["python3"]',
        ]
        if label:
            changes.append(f"LABEL {label}")
        command = ["docker", "import"]
        for change in changes:
            command += ["--change", change]
        tar = subprocess.Popen(
            ["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE
        )
        try:
            subprocess.run(
                [*command, "-", tag], stdin=tar.stdout, check=True, stdout=subprocess.DEVNULL
            )
        finally:
            tar.stdout.close()
            tar.wait()
