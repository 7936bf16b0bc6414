"""Redeploy measurements against the real engine: who answers, and how the old one ended."""

from __future__ import annotations

import subprocess

import pytest

from workshop import downtime, ports
from workshop.paths import ROOT

pytestmark = pytest.mark.docker


def build(tag: str, label: str, dockerfile: str, context: str) -> str:
    subprocess.run(
        ["docker", "build", "-q", "--label", label, "-t", tag, "-f", dockerfile, context],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    return tag


@pytest.fixture(scope="module")
def images(docker_client, test_settings):
    label, image = test_settings["WORKSHOP_LABEL"], test_settings["WORKSHOP_IMAGE_NAME"]
    ours = build(f"{image}-downtime", label, "Dockerfile", ".")
    seed = build(f"{image}-downtime-seed", label, "notebooks/seed/Dockerfile", "app")
    return {"ours": ours, "seed": seed}


def test_ours_stops_by_itself_and_the_new_one_answers(images, test_settings, docker_client):
    name = f"{test_settings['WORKSHOP_CONTAINER_NAME']}-downtime"
    result = downtime.redeploy(
        images["ours"], name, ports.free_port(), test_settings["WORKSHOP_LABEL"]
    )
    assert result.old_exit_code == 0
    assert 0 < result.longest_gap <= result.new_answer_seconds
    assert result.stop_seconds <= result.new_answer_seconds
    assert docker_client.containers.list(all=True, filters={"name": f"^{name}$"}) == []


def test_the_seed_is_killed_after_the_grace_period(images, test_settings):
    name = f"{test_settings['WORKSHOP_CONTAINER_NAME']}-downtime-seed"
    result = downtime.redeploy(
        images["seed"], name, ports.free_port(), test_settings["WORKSHOP_LABEL"], stop_timeout=1
    )
    assert result.old_exit_code == 137
    # It kept answering while docker stop waited, so the silence is shorter than the redeploy.
    assert result.longest_gap < result.new_answer_seconds


def test_a_taken_name_is_reported(images, test_settings, docker_client):
    name = f"{test_settings['WORKSHOP_CONTAINER_NAME']}-downtime-taken"
    label = test_settings["WORKSHOP_LABEL"]
    key, _, value = label.partition("=")
    existing = docker_client.containers.create(images["ours"], name=name, labels={key: value})
    try:
        with pytest.raises(RuntimeError, match="already in use"):
            downtime.redeploy(images["ours"], name, ports.free_port(), label)
        # The container that held the name is not the measurement's to remove.
        assert docker_client.containers.get(name).id == existing.id
    finally:
        existing.remove(force=True)


def test_with_a_network_holder_the_port_stays_published(images, test_settings, docker_client):
    name = f"{test_settings['WORKSHOP_CONTAINER_NAME']}-downtime-held"
    holder = f"{name}-net"
    result = downtime.redeploy(
        images["ours"], name, ports.free_port(), test_settings["WORKSHOP_LABEL"], holder=holder
    )
    assert result.old_exit_code == 0
    assert result.stop_seconds < result.run_returned_seconds < result.new_answer_seconds
    # Both the app container and its holder are gone afterwards.
    for gone in (name, holder):
        assert docker_client.containers.list(all=True, filters={"name": f"^{gone}$"}) == []


def test_a_taken_holder_name_is_reported_and_spared(images, test_settings, docker_client):
    name = f"{test_settings['WORKSHOP_CONTAINER_NAME']}-downtime-held2"
    label = test_settings["WORKSHOP_LABEL"]
    existing = docker_client.containers.create(images["ours"], name=f"{name}-net")
    try:
        with pytest.raises(RuntimeError, match="already in use"):
            downtime.redeploy(images["ours"], name, ports.free_port(), label, holder=f"{name}-net")
        assert docker_client.containers.get(f"{name}-net").id == existing.id
        assert docker_client.containers.list(all=True, filters={"name": f"^{name}$"}) == []
    finally:
        existing.remove(force=True)
