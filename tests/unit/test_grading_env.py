"""Static checks of the grading containers (no Docker engine exists on our machines)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "grading_env" / "Dockerfile", ROOT / "grading_env" / "Dockerfile.cpu"]


def instructions(path):
    text = re.sub(r"\\\n", " ", path.read_text())
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def ci_torch_version():
    m = re.search(r"torch==([\d.]+)", (ROOT / ".ci" / "run").read_text())
    return m.group(1)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_base_image_is_pinned(path):
    froms = [i.split()[1] for i in instructions(path) if i.startswith("FROM ")]
    assert froms
    for image in froms:
        name, _, tag = image.partition(":")
        assert tag and tag != "latest" and re.search(r"\d+\.\d+", tag), image


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_copied_files_exist(path):
    for i in instructions(path):
        if i.startswith("COPY "):
            srcs = [s for s in i.split()[1:-1] if not s.startswith("--")]
            for s in srcs:
                assert (ROOT / s).exists(), f"{path.name}: COPY {s} does not exist"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_versions_pinned_and_match_ci(path):
    text = path.read_text()
    m = re.search(r"ARG TORCH_VERSION=([\d.]+)", text)
    assert m and m.group(1) == ci_torch_version()
    for i in instructions(path):
        if "pip install" in i and "torch" in i:
            assert "torch==${TORCH_VERSION}" in i
    assert "bubblewrap" in text and "USER grader" in text


def test_gpu_image_pins_determinism():
    text = FILES[0].read_text()
    assert "CUBLAS_WORKSPACE_CONFIG" in text and "NVIDIA_TF32_OVERRIDE=0" in text
