"""Lambda zips are reproducible: an unchanged source gives the same bytes (and hash), so a
rebuild of build/lambda/ (fresh mtimes, another checkout) deploys nothing; a change does deploy."""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile

import pytest

from cdktf_transactions.packaging import FIXED_TIME, reproducible_zip
from lambda_src.build import LAYER_DIR, function_dir


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_differently(source, target, *, mtime, mode, under=(".",), reverse=True):
    """Another build of the same files: other timestamps, permissions and creation order (of the
    files in the folders ``under`` of ``source`` only, kept at their place in the tree)."""
    files = sorted(
        (p for folder in under for p in (source / folder).rglob("*") if p.is_file()), reverse=reverse
    )
    for path in files:
        copy = target / path.relative_to(source)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
        os.chmod(copy, mode | (path.stat().st_mode & 0o111))
        os.utime(copy, (mtime, mtime))
    return target


@pytest.mark.catalogue("transactions-02")
@pytest.mark.parametrize(
    ("source", "under"),
    # The layer's common/ at its place (python/common/, bytecode in __pycache__/) and wrapt, which
    # holds an executable file (its .so): the whole layer, 1,500 files, zipped three times cost
    # about 4 s for nothing more.
    [
        (function_dir("cdktf_transactions", "settlement"), (".",)),
        (LAYER_DIR, ("python/common", "python/wrapt")),
    ],
    ids=["function", "layer"],
)
def test_building_twice_gives_the_same_zip_and_a_change_a_new_one(source, under, tmp_path):
    """Fix: sorted entries, fixed timestamps and modes: other mtimes/modes/order give the same bytes."""
    first = copy_differently(source, tmp_path / "first", mtime=1_700_000_000, mode=0o644, under=under)
    second = copy_differently(
        source, tmp_path / "second", mtime=1_800_000_000, mode=0o664, under=under, reverse=False
    )
    if source == LAYER_DIR:  # the 0o755 case of the modes: a wheel's .so
        assert any(p.stat().st_mode & 0o111 for p in first.rglob("*") if p.is_file()), under
    a = reproducible_zip(first, tmp_path / "a.zip")
    b = reproducible_zip(second, tmp_path / "b.zip")
    assert digest(a) == digest(b)
    # ext4 lists a folder by the names' hash, whatever the creation order: the order is checked too.
    with zipfile.ZipFile(a) as archive:
        assert archive.namelist() == sorted(archive.namelist())
    changed = next(p for p in sorted(second.rglob("*.py")))
    changed.write_bytes(changed.read_bytes() + b"\n# changed\n")
    assert digest(reproducible_zip(second, tmp_path / "c.zip")) != digest(a)


@pytest.mark.catalogue("transactions-02")
def test_synthesized_packages_are_the_reproducible_zips(dev, prod):
    """Fix: what Terraform uploads has fixed timestamps and sorted entries; the same bytes in every synth."""
    packaged = [
        *dev.resources("aws_lambda_function").values(),
        *dev.resources("aws_lambda_layer_version").values(),
    ]
    assert len(packaged) == 5
    for resource in packaged:
        with zipfile.ZipFile(dev.directory / resource["filename"]) as archive:
            entries = archive.infolist()
        assert [e.filename for e in entries] == sorted(e.filename for e in entries)
        assert {e.date_time for e in entries} == {FIXED_TIME}, resource["filename"]
    for tf_type in ("aws_lambda_function", "aws_lambda_layer_version"):
        for name, resource in dev.resources(tf_type).items():
            again = prod.resources(tf_type)[name]
            assert again["filename"] == resource["filename"]  # the asset path holds the content hash
            assert digest(prod.directory / again["filename"]) == digest(dev.directory / resource["filename"])


def test_an_unchanged_source_is_not_zipped_again_and_any_change_is(tmp_path, monkeypatch):
    """Fix (issue 17, `make synth-all` CPU): a zip whose entries (names, modes, bytes) did not change
    is kept, not compressed again (about 0.5 s of every transactions synth); a change in any of
    them, or a zip edited or removed since, writes it again, the same bytes as a fresh build."""
    from cdktf_transactions import packaging

    source = copy_differently(
        function_dir("cdktf_transactions", "settlement"), tmp_path / "src", mtime=1, mode=0o644
    )
    target = tmp_path / "out" / "archive.zip"
    fresh = digest(reproducible_zip(source, tmp_path / "fresh.zip"))
    written = []
    real = zipfile.ZipFile

    def counting(path, *args, **kwargs):
        written.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(packaging.zipfile, "ZipFile", counting)

    def build():
        before = len(written)
        result = reproducible_zip(source, target)
        return len(written) - before, digest(result)

    assert build() == (1, fresh)
    os.utime(next(source.rglob("*.py")), (2, 2))  # a rebuild of build/lambda/: new mtimes only
    assert build() == (0, fresh)
    first = sorted(source.rglob("*.py"))[0]
    first.write_bytes(first.read_bytes() + b"\n")
    assert build()[0] == 1
    os.chmod(first, 0o700)  # executable: the zip records 0755
    assert build()[0] == 1
    first.rename(first.with_name("renamed.py"))
    assert build()[0] == 1
    assert build()[0] == 0
    target.write_bytes(target.read_bytes() + b"x")
    assert build()[0] == 1
    target.unlink()
    assert build()[0] == 1


def test_a_zip_ships_the_builds_bytecode_and_no_other(tmp_path):
    """Fix (issue 17, cold starts, as the CDK and Pulumi stacks ship it): the python3.12 bytecode the
    build compiles beside each module is in the zip (without it each cold start compiles the layer
    and the handler: /var/task and /opt are read-only); bytecode another Python left in the folder
    (a test that imported the bundle) is not, nor is an optimized one."""
    from lambda_src.build import python312

    source = copy_differently(
        function_dir("cdktf_transactions", "settlement"), tmp_path / "src", mtime=1, mode=0o644
    )
    built = {f"__pycache__/{p.stem}.cpython-312.pyc" for p in source.glob("*.py")} if python312() else set()
    assert {p.relative_to(source).as_posix() for p in source.rglob("*.pyc")} == built
    for stray in ("index.cpython-311.pyc", "index.cpython-312.opt-1.pyc"):
        (source / "__pycache__" / stray).parent.mkdir(exist_ok=True)
        (source / "__pycache__" / stray).write_bytes(b"not shipped")
    with zipfile.ZipFile(reproducible_zip(source, tmp_path / "archive.zip")) as archive:
        names = set(archive.namelist())
    assert {n for n in names if n.endswith(".pyc")} == built
    assert {n for n in names if n.endswith(".py")} == {p.name for p in source.glob("*.py")}
