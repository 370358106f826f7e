"""`python -m framework plugins`: what is installed, from which package, and what failed."""

import json

from framework import registry

from . import fake_site


def test_lists_every_kind_with_package_and_version(tmp_path):
    result = fake_site.run_python(None, site=fake_site.make(tmp_path, broken=False), args=["-m", "framework", "plugins"])
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for kind in registry.KINDS:
        assert f"{kind}:" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert "dlfs-framework 0.1.0" in lines["numpy"] and "(plugin 'numpy')" in lines["numpy"]
    assert "dlfs-framework" in lines["Affine"] and "dlfs-framework" in lines["SGD"] and "dlfs-framework" in lines["digits"]
    assert f"{fake_site.PACKAGE} {fake_site.VERSION}" in lines["FakeDouble"] and "(plugin 'fake-good')" in lines["FakeDouble"]
    assert "failed plugins:" not in out


def test_a_broken_plugin_is_listed_with_its_error_and_the_exit_status_is_1(tmp_path):
    result = fake_site.run_python(None, site=fake_site.make(tmp_path), args=["-m", "framework", "plugins"])
    assert result.returncode == 1, result.stderr
    failed = result.stdout.split("failed plugins:\n", 1)[1]
    assert failed.startswith("  fake-broken: ImportError: fake_plugin_broken needs the package 'nonexistent-dependency'")
    assert f"(package {fake_site.PACKAGE})" in failed
    assert "FakeDouble" in result.stdout  # the good plugin of the same package still loaded
    assert "RuntimeWarning" not in result.stderr  # listed once, not warned about as well


def test_json_output(tmp_path):
    site = fake_site.make(tmp_path)
    result = fake_site.run_python(None, site=site, plugins="fake-good", args=["-m", "framework", "plugins", "--json"])
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["layers"]["FakeDouble"] == {"plugin": "fake-good", "package": fake_site.PACKAGE, "version": fake_site.VERSION}
    assert data["optimizers"]["Adam"]["package"] == "dlfs-framework"
    assert data["plugins"]["fake-good"] == {"package": fake_site.PACKAGE, "version": fake_site.VERSION}
    assert data["failed"] == {}


def test_no_command_is_a_usage_error():
    result = fake_site.run_python(None, args=["-m", "framework"])
    assert result.returncode == 2
    assert "usage: python -m framework" in result.stderr
