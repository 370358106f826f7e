"""Fixtures for running the docs' code blocks as tests (pytest-markdown-docs).

Every block runs in a temporary working directory, so that files a page saves
(``run.h5``) land there, and whatever backend or float type a block sets is
put back afterwards, so that one page cannot change the next one's results.
"""

import pytest

import framework as fw


@pytest.fixture(autouse=True)
def _docs_block_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    backend, floatx = fw.get_backend(), fw.floatx()
    yield
    fw.set_backend(backend)
    fw.set_floatx(floatx)
