"""The runtime image's Dockerfile, checked without a container engine: its build stage copies enough of the
repository for SwiftPM to load the package (the manifest names every target's directory, tests included), the
binary it builds is the one the image runs, and the runtime image has the C libraries the binary was built
against."""
import pathlib
import re
import shutil
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Templates" / "Dockerfile"


def build_stage():
    text = DOCKERFILE.read_text()
    return text.split("\nFROM ", 2)[1]  # from the first FROM to the second


def test_the_build_stage_copies_a_loadable_package(tmp_path):
    copies = re.findall(r"^COPY (?!--)(\S+) (\S+)$", build_stage(), re.MULTILINE)
    assert copies, "no COPY in the build stage"
    for source, _ in copies:
        origin = ROOT / source
        if origin.is_dir():
            shutil.copytree(origin, tmp_path / source)
        else:
            shutil.copy(origin, tmp_path / source)
    result = subprocess.run(["swift", "package", "describe", "--type", "json"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr


def test_the_image_runs_the_product_it_builds():
    product = re.search(r"--product (\S+)", build_stage()).group(1)
    assert product == "realtime-server"
    assert f'ENTRYPOINT ["/usr/local/bin/{product}"]' in DOCKERFILE.read_text()
    assert f'"realtime-server", targets:' in (ROOT / "Package.swift").read_text()


def test_the_runtime_image_has_the_build_images_c_libraries():
    """The binary links glibc and libstdc++ dynamically: the runtime image must be the build image's Debian
    release, or the binary may ask for symbol versions the runtime does not have."""
    releases = {"bookworm": "debian12", "trixie": "debian13"}
    stages = re.findall(r"^FROM (\S+)", DOCKERFILE.read_text(), re.MULTILINE)
    assert len(stages) == 2, stages
    build_release = re.search(r"-(bookworm|trixie)\b", stages[0])
    assert build_release, f"the build image names no Debian release: {stages[0]}"
    assert f"-{releases[build_release.group(1)]}" in stages[1], stages
