"""The stand-in base image: where its packages come from, how it is arranged, what it holds."""

from __future__ import annotations

import pytest

from workshop import images, standin


def test_mirror_from_deb822_sources(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.test/debian\nSuites: bookworm\nComponents: main\n"
    )
    assert standin.apt_mirror(tmp_path) == "http://mirror.test/debian"


def test_mirror_from_one_line_sources(tmp_path):
    (tmp_path / "sources.list").write_text(
        "# comment\ndeb [arch=amd64] http://proxy.test:3142/debian/ bookworm main\n"
    )
    assert standin.apt_mirror(tmp_path) == "http://proxy.test:3142/debian"


def test_no_mirror_is_a_clear_error(tmp_path):
    with pytest.raises(standin.StandinError, match="No Debian mirror"):
        standin.apt_mirror(tmp_path)


def test_rootfs_is_arranged_like_a_slim_image(tmp_path):
    (tmp_path / "usr/lib/python3.13").mkdir(parents=True)
    (tmp_path / "usr/lib/python3.13/EXTERNALLY-MANAGED").write_text("[externally-managed]\n")
    (tmp_path / "var/lib/apt/lists").mkdir(parents=True)
    (tmp_path / "var/lib/apt/lists/some_Packages").write_text("x")
    (tmp_path / "usr/share/doc/pkg").mkdir(parents=True)
    (tmp_path / "usr/share/doc/pkg/copyright").write_text("license")
    (tmp_path / "usr/share/doc/pkg/changelog.gz").write_text("log")
    (tmp_path / "etc/ssl/certs").mkdir(parents=True)
    standin.arrange_rootfs(tmp_path)
    assert not (tmp_path / "usr/lib/python3.13/EXTERNALLY-MANAGED").exists()
    assert list((tmp_path / "var/lib/apt/lists").iterdir()) == []
    assert (tmp_path / "usr/share/doc/pkg/copyright").exists()
    assert not (tmp_path / "usr/share/doc/pkg/changelog.gz").exists()
    assert "Dir::Cache::pkgcache" in (tmp_path / "etc/apt/apt.conf.d/docker-clean").read_text()


@pytest.mark.docker
def test_base_image_has_python_313_and_pip(docker_client):
    out = docker_client.containers.run(
        "python:3.13-slim",
        [
            "sh",
            "-c",
            "python --version && pip --version && ls /usr/lib/python3*/EXTERNALLY-MANAGED"
            " 2>/dev/null | wc -l && ls /var/lib/apt/lists | wc -l",
        ],
        remove=True,
    ).decode()
    lines = out.split()
    assert "Python" in out and "3.13" in out and "pip" in out
    assert lines[-2:] == ["0", "0"], f"EXTERNALLY-MANAGED or apt lists left in the image: {out}"


@pytest.mark.docker
def test_prepare_is_idempotent(docker_client):
    first = images.prepare()
    again = images.prepare()
    assert [p.how for p in again] == ["present"]
    assert [p.standin for p in again] == [p.standin for p in first]
