"""Hostile batch entries that cannot be plain ``.py`` files in ``attacks/``: archives, links,
FIFOs, binary and badly encoded files, entries whose names collide.

Each builder writes its entries into the batch folder and returns their names; its
docstring names the attack, states the honest part's score and proves, entry by entry,
that the entry reached the check it attacks (``proof (ENTRY): TEXT``), like the files in
``attacks/``. ``ctx`` holds the paths of the run (course, batch, canary folder) and the
skeleton's text.
"""

from __future__ import annotations

import os
import stat
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Callable

BUILDERS: list[Callable] = []


def builder(fn: Callable) -> Callable:
    BUILDERS.append(fn)
    return fn


def _zip(path: Path, members: list[tuple[str, bytes]], *, link: set[str] = frozenset()) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if name in link:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            else:
                info.external_attr = (stat.S_IFREG | 0o644) << 16
            zf.writestr(info, data)


@builder
def empty_and_blank(batch: Path, ctx) -> list[str]:
    """ATTACK: an empty file and a file of only whitespace.

    honest part: 0 points

    proof (empty_file.py): empty_file.py is empty
    proof (blank_file.py): blank_file.py is empty
    """
    (batch / "empty_file.py").write_bytes(b"")
    (batch / "blank_file.py").write_bytes(b"\n \t\n" * 100)
    return ["empty_file.py", "blank_file.py"]


@builder
def binary_and_encodings(batch: Path, ctx) -> list[str]:
    """ATTACK: binary and non-UTF-8 files — random bytes with NULs, Latin-1 text, UTF-16 with a
    BOM, a lone surrogate, and an ELF header named ``.py`` — each containing the skeleton.

    honest part: 0 points

    proof (binary_file.py): binary_file.py is not a text file
    proof (latin1_file.py): latin1_file.py is not valid UTF-8 text
    proof (utf16_file.py): utf16_file.py is not a text file
    proof (surrogate_file.py): surrogate_file.py is not valid UTF-8 text
    """
    skel = ctx.skeleton
    (batch / "binary_file.py").write_bytes(b"\x7fELF\x02\x01\x01\x00" + os.urandom(4096))
    (batch / "latin1_file.py").write_bytes(("# caf\u00e9 \u00e0 la cr\u00e8me\n" + skel).encode("latin-1", "replace"))
    (batch / "utf16_file.py").write_bytes(skel.encode("utf-16"))
    (batch / "surrogate_file.py").write_bytes(b"# \xed\xa0\x80\n" + skel.encode())
    return ["binary_file.py", "latin1_file.py", "utf16_file.py", "surrogate_file.py"]


@builder
def oversized(batch: Path, ctx) -> list[str]:
    """ATTACK: a 6 MB submission (the limit is 5 MB) and a notebook bloated by a 6 MB output.

    honest part: 0 points

    proof (oversized.py): oversized.py is larger than
    proof (oversized_nb.ipynb): oversized_nb.ipynb is larger than
    """
    (batch / "oversized.py").write_text(ctx.skeleton + "\n#" + "x" * (6 * 2 ** 20) + "\n")
    nb = ('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", '
          '"metadata": {}, "execution_count": 1, "source": "x = 1", "outputs": [{"output_type": '
          '"stream", "name": "stdout", "text": "' + "y" * (6 * 2 ** 20) + '"}]}]}')
    (batch / "oversized_nb.ipynb").write_text(nb)
    return ["oversized.py", "oversized_nb.ipynb"]


@builder
def zip_bombs(batch: Path, ctx) -> list[str]:
    """ATTACK: zip bombs — an archive whose members declare 40 GB in total, a member that
    declares 1 kB but inflates to 256 MB (a lying header), 5000 empty members, an encrypted
    member, and a member compressed with an unsupported method.

    honest part: 0 points

    proof (zip_declared.zip): zip_declared.zip unpacks to more than
    proof (zip_lying.zip): mle.py in zip_lying.zip cannot be read
    proof (zip_many.zip): zip_many.zip has 5001 files
    proof (zip_encrypted.zip): is encrypted, password required
    proof (zip_method.zip): That compression method is not supported
    """
    names = []
    # 1. declared sizes: 40 members of 1 GB each (written honestly small, sizes patched)
    p = batch / "zip_declared.zip"
    _zip(p, [(f"hw/part{i}.py", b"x") for i in range(40)] + [("hw/mle.py", ctx.skeleton.encode())])
    data = bytearray(p.read_bytes())
    i = 0
    while True:  # patch every central-directory record's uncompressed size to 1 GB
        i = data.find(b"PK\x01\x02", i)
        if i < 0:
            break
        data[i + 24:i + 28] = struct.pack("<I", 2 ** 30)
        i += 4
    p.write_bytes(bytes(data))
    names.append(p.name)
    # 2. a lying member: mle.py declares 1000 bytes, inflates to 256 MB of spaces then code
    body = b" " * (256 * 2 ** 20)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = comp.compress(body) + comp.flush()
    p = batch / "zip_lying.zip"
    _zip(p, [("mle.py", b"#" * 1000)])
    data = bytearray(p.read_bytes())
    # replace the deflated stream of the only member by ``raw``; fix both headers' compressed size
    lh = data.find(b"PK\x03\x04")
    nlen, xlen = struct.unpack("<HH", data[lh + 26:lh + 30])
    start = lh + 30 + nlen + xlen
    (csize,) = struct.unpack("<I", data[lh + 18:lh + 22])
    data[start:start + csize] = raw
    data[lh + 18:lh + 22] = struct.pack("<I", len(raw))
    cd = data.find(b"PK\x01\x02")
    data[cd + 20:cd + 24] = struct.pack("<I", len(raw))
    eocd = data.find(b"PK\x05\x06")
    data[eocd + 16:eocd + 20] = struct.pack("<I", cd)
    p.write_bytes(bytes(data))
    names.append(p.name)
    # 3. many members
    p = batch / "zip_many.zip"
    _zip(p, [(f"f{i}.txt", b"") for i in range(5000)] + [("mle.py", ctx.skeleton.encode())])
    names.append(p.name)
    # 4. an "encrypted" member (flag bit 0 set) and 5. an unsupported compression method
    for name, patch in (("zip_encrypted.zip", ("flag", 0x1)), ("zip_method.zip", ("method", 99))):
        p = batch / name
        _zip(p, [("mle.py", ctx.skeleton.encode())])
        data = bytearray(p.read_bytes())
        for sig, off_flag, off_method in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
            j = data.find(sig)
            if patch[0] == "flag":
                (flag,) = struct.unpack("<H", data[j + off_flag:j + off_flag + 2])
                data[j + off_flag:j + off_flag + 2] = struct.pack("<H", flag | patch[1])
            else:
                data[j + off_method:j + off_method + 2] = struct.pack("<H", patch[1])
        p.write_bytes(bytes(data))
        names.append(name)
    return names


@builder
def zip_traversal_and_links(batch: Path, ctx) -> list[str]:
    """ATTACK: path traversal and links in a .zip — members named ``../../<canary>/pwned.py``,
    ``/tmp/...``, ``..\\..\\mle.py``, ``C:/mle.py``, and a symbolic-link member ``mle.py``
    pointing at the course's solutions/mle.py (the only ``mle.py`` in the archive); a second
    archive whose ``mle.py`` is a link to /proc/self/environ.

    honest part: 0 points

    proof (zip_traversal.zip): no mle.py or mle.ipynb found in zip_traversal.zip
    proof (zip_link_proc.zip): no mle.py or mle.ipynb found in zip_link_proc.zip
    """
    sol = str(ctx.course / "solutions" / "mle.py")
    canary = str(ctx.canary)
    members = [("../../../../../.." + canary + "/pwned.py", b"print('pwned')"),
               (canary + "/abs.py", b"print('pwned')"),
               ("..\\..\\mle.py", ctx.skeleton.encode()),
               ("C:/mle.py", ctx.skeleton.encode()),
               ("mle.py", sol.encode())]
    _zip(batch / "zip_traversal.zip", members, link={"mle.py"})
    _zip(batch / "zip_link_proc.zip", [("hw/mle.py", b"/proc/self/environ")], link={"hw/mle.py"})
    return ["zip_traversal.zip", "zip_link_proc.zip"]


@builder
def links_and_special_files(batch: Path, ctx) -> list[str]:
    """ATTACK: links and special files in the batch — ``link_file.py`` a symbolic link to the
    reference solution, a folder whose ``mle.py`` links to it and which links to the hidden
    tests' folder; ``fifo_file.py`` a named pipe
    that blocks whoever reads it; ``devzero.py`` a link to /dev/zero.

    honest part: 0 points

    proof (link_file.py): link_file.py is a symbolic link
    proof (link_folder): no mle.py or mle.ipynb found in folder link_folder/
    proof (devzero.py): devzero.py is a symbolic link
    proof (fifo_file.py): fifo_file.py is not a regular file
    """
    sol = ctx.course / "solutions" / "mle.py"
    (batch / "link_file.py").symlink_to(sol)
    d = batch / "link_folder"
    d.mkdir()
    (d / "mle.py").symlink_to(sol)
    (d / "tests").symlink_to(ctx.course / "solutions" / "tests" / "mle")
    (batch / "devzero.py").symlink_to("/dev/zero")
    os.mkfifo(batch / "fifo_file.py")
    return ["link_file.py", "link_folder", "devzero.py", "fifo_file.py"]


@builder
def colliding_names(batch: Path, ctx) -> list[str]:
    """ATTACK: entries whose student ids collide, to overwrite another student's results —
    ``victim.zip`` and ``victim~2.py`` next to the innocent ``victim.py`` (a correct
    submission), and entries named after the batch's own output files (``grades.csv.py``,
    ``summary.json.py``, ``staff.py`` for the staff folder). ``victim.py`` itself is not an
    attack (see the harness).

    honest part: 0 points

    proof (victim.zip): is not implemented yet
    proof (victim~2.py): is not implemented yet
    proof (grades.csv.py): is not implemented yet
    proof (summary.json.py): is not implemented yet
    proof (staff.py): is not implemented yet
    """
    (batch / "victim.py").write_text(ctx.victim)
    _zip(batch / "victim.zip", [("mle.py", ctx.skeleton.encode())])
    (batch / "victim~2.py").write_text(ctx.skeleton)
    (batch / "grades.csv.py").write_text(ctx.skeleton)
    (batch / "summary.json.py").write_text(ctx.skeleton)
    (batch / "staff.py").write_text(ctx.skeleton)
    return ["victim.py", "victim.zip", "victim~2.py", "grades.csv.py", "summary.json.py", "staff.py"]
