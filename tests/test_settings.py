"""Settings: the seed's defaults, WORKSHOP_* overrides, clear errors for bad ports."""

import pytest

from workshop import settings


def test_defaults_are_the_seeds():
    conf = settings.load({})
    assert (conf.image_name, conf.container_name, conf.host_port, conf.app_port) == (
        "pyapp",
        "pyappcontainer",
        80,
        8080,
    )


def test_prefixed_variables_override_and_plain_ones_do_not():
    conf = settings.load({"WORKSHOP_HOST_PORT": "8081", "CONTAINER_NAME": "someone-elses"})
    assert conf.host_port == 8081
    assert conf.container_name == "pyappcontainer"
    assert conf.as_env()["HOST_PORT"] == "8081"


@pytest.mark.parametrize("value", ["http", "0", "70000"])
def test_bad_port_is_a_clear_error(value):
    with pytest.raises(ValueError, match="WORKSHOP_HOST_PORT"):
        settings.load({"WORKSHOP_HOST_PORT": value})
