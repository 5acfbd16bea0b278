#!/usr/bin/python3
"""Extract the members of libc.a listed in cli/hot_libc.txt and combine them into one
relocatable object (ld -r), which meson.build links before the program's own objects:
the C library code `run` executes then lies together in the text (see the list's
header). A member the installed libc.a lacks is skipped, and so is each --skip MEMBER
(meson.build: a non-PIE link's crt1.o defines what dl-reloc-static-pie.o does).

Usage: hot_libc.py [--skip MEMBER]... LIBC_A LIST OUTPUT CC [CC ARGS...]
"""
import os
import subprocess
import sys
import tempfile


def main():
    args, skip = sys.argv[1:], set()
    while args[:1] == ["--skip"]:
        skip.add(args[1])
        args = args[2:]
    libc_a, listfile, output, cc = args[0], args[1], args[2], args[3:]
    with open(listfile) as f:
        wanted = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    wanted = [m for m in wanted if m not in skip]
    present = set(subprocess.run(["ar", "t", libc_a], check=True, capture_output=True,
                                 text=True).stdout.split())
    members = [m for m in wanted if m in present]
    with tempfile.TemporaryDirectory(prefix="hot-libc-") as tmp:
        if members:
            subprocess.run(["ar", "x", os.path.abspath(libc_a), *members], check=True, cwd=tmp)
        objs = [os.path.join(tmp, m) for m in members]
        if not objs:  # nothing to reorder: an empty object keeps the link the same
            src = os.path.join(tmp, "empty.c")
            open(src, "w").close()
            subprocess.run([*cc, "-c", "-o", output, src], check=True)
            return 0
        subprocess.run([*cc, "-r", "-nostdlib", "-o", output, *objs], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
