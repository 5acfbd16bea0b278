"""Man pages and bash completion (cli/help/*.txt through cli/gen_help.py at build time).

Every command's --help, man page and completion come from one file; these tests check
what the build produced: a man page per command (and per `network create`) whose options
are those of --help, pages man renders without a warning, a completion that offers
commands, flags, option values and container ids, the getopt tables of cli/ agreeing with
the help files, and `meson install --destdir` putting the pages and the completion where
man and bash-completion look."""

import glob
import os
import re
import shutil
import subprocess

import pytest

from conftest import BUILD_DIR, REPO

pytestmark = pytest.mark.run_container_only("run-container's own man pages and completion")

# the program of this build, also when the suite runs against crun (then these skip)
PROGRAM = os.path.join(BUILD_DIR, "run-container")
GEN = os.path.join(BUILD_DIR, "cli")
COMPLETION = os.path.join(GEN, "run-container")


def help_text(*cmd):
    r = subprocess.run([PROGRAM, *cmd, "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


def commands():
    """The commands `run-container --help` lists, and `network create`."""
    if not os.access(PROGRAM, os.X_OK):
        return []  # not built: the tests that need it skip (conftest's runtime_binary)
    text = help_text().split("\nCommands:\n")[1].split("\n\n")[0]
    names = [l.split()[0] for l in text.splitlines() if l.strip()]
    assert "create" in names and "sandbox" in names
    return [[n] for n in names if n != "help"] + [["network", "create"]]


def parse_flags(flags, found):
    """Adds "-x, --name VALUE" (or "--name[=VALUE]", or several joined by ", ")."""
    for part in re.split(r", (?=-)", flags):
        m = re.fullmatch(r"-\w|--([a-z][a-z0-9-]*)(\[=[A-Z]+\]|=\S+| (\S+))?", part)
        assert m, f"not an option: {part!r} in {flags!r}"
        if m.group(1):
            found[m.group(1)] = m.group(3) or m.group(2)


def help_options(text):
    """{long name: value or None} of the option lines of a --help text: the flags, each
    with at most one value, before two spaces start the description."""
    found = {}
    for line in text.splitlines():
        if not re.match(r" {2,6}-", line):
            continue
        tokens = [t.rstrip(",") for t in re.split(r"\s{2,}", line.strip())[0].split()]
        name = None
        for t in tokens:
            m = re.fullmatch(r"-\w|--([a-z][a-z0-9-]*)(\[=[A-Z]+\]|=\S+)?", t)
            if m is not None:
                name = m.group(1)
                if name:
                    found[name] = m.group(2)
            elif name is not None and found[name] is None:
                found[name] = t
                name = None
            else:
                break  # the description, after a single space
    return found


def man_options(page):
    """{long name: value or None} from the .TP heads of a man page's OPTIONS sections."""
    src = open(page).read()
    found = {}
    sections = re.split(r"^\.SH ", src, flags=re.M)
    for sec in sections:
        if not sec.startswith(("OPTIONS", "GLOBAL OPTIONS")):
            continue
        for head in re.findall(r"^\.TP\n(.*)$", sec, flags=re.M):
            parse_flags(re.sub(r"\\f[BIRP]", "", head).replace("\\-", "-"), found)
    return found


def page_of(cmd):
    return os.path.join(GEN, "run-container" + "".join("-" + c for c in cmd) + ".8")


@pytest.mark.parametrize("cmd", [[]] + [c for c in commands()], ids=lambda c: " ".join(c) or "run-container")
def test_man_page_options_are_those_of_help(cmd):
    page = page_of(cmd)
    assert os.path.isfile(page), f"no man page for {' '.join(cmd) or 'run-container'}"
    want = help_options(help_text(*cmd))
    assert want or cmd == ["network"], f"no options parsed from {cmd} --help"  # network: subcommands
    assert man_options(page) == want


def test_every_man_page_renders_without_warnings():
    pages = sorted(glob.glob(os.path.join(GEN, "*.8")))
    assert len(pages) == len(commands()) + 1
    for page in pages:
        r = subprocess.run(["man", "--warnings", "-l", page], capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8"))
        assert r.returncode == 0 and r.stderr == "", f"{page}: {r.stderr}"
        name = os.path.basename(page)[:-2]
        assert re.search(rf"^NAME\n +{name} +- +\S", r.stdout, re.M), r.stdout[:300]
        assert "\nSYNOPSIS\n" in r.stdout and "\nSEE ALSO\n" in r.stdout


def test_man_page_sections(tmp_path):
    text = open(page_of(["update"])).read()
    assert re.search(r'^\.TH RUN\\-CONTAINER\\-UPDATE 8 ', text, re.M)
    assert "change the resource limits of a running container" in text
    main = open(page_of([])).read()
    for cmd in commands():
        if len(cmd) == 1:
            assert f"\\fBrun\\-container\\-{cmd[0].replace('-', chr(92) + '-')}\\fR(8)" in main, cmd


def complete(*words, root=None, cwd=None):
    """COMPREPLY for COMP_WORDS = run-container [--root ROOT] WORDS (the last one is the
    word being completed)."""
    comp = [PROGRAM] + (["--root", root] if root else []) + list(words)
    script = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _run_container; '
              'printf "%s\\n" "${COMPREPLY[@]}"')
    r = subprocess.run(["bash", "-c", script, "bash", COMPLETION, *comp], capture_output=True, text=True,
                       timeout=60, cwd=cwd)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    return [l for l in r.stdout.splitlines() if l]


def test_completion_commands_and_flags():
    names = [c[0] for c in commands() if len(c) == 1]
    assert complete("") == names + ["help"]
    assert complete("up") == ["update"]
    assert complete("--log-f") == ["--log-format"]
    assert complete("--log-format", "") == ["text", "json"]
    assert complete("--cgroup-manager", "s") == ["systemd"]
    assert complete("update", "--memory-") == ["--memory-swap", "--memory-reservation"]
    assert complete("run", "--de") == ["--detach"]  # create's options are run's too
    assert complete("list", "--format", "") == ["table", "json"]
    assert complete("kill", "x", "KI") == ["KILL"]
    assert complete("network", "") == ["create", "ls", "inspect", "rm", "prune", "gc"]
    assert complete("network", "create", "--sub") == ["--subnet"]
    assert complete("help", "ev") == ["events"]
    # a value of an option is not completed as an id or a flag
    assert complete("update", "--memory", "") == []
    # hidden spellings are accepted, not offered
    assert "--cpu-share" not in complete("update", "--cpu-share")


def test_completion_paths(tmp_path):
    (tmp_path / "bundle-dir").mkdir()
    (tmp_path / "bundle-file").write_text("")
    assert complete("create", "--bundle", "bundle-", cwd=tmp_path) == ["bundle-dir"]
    assert sorted(complete("create", "--config", "bundle-", cwd=tmp_path)) == ["bundle-dir", "bundle-file"]
    assert complete("--root", "bun", cwd=tmp_path) == ["bundle-dir"]


def test_completion_container_ids(rt, bundle):
    cid = rt.create(bundle(["/probe", "sleep", "60"])).cid
    other = rt.create(bundle(["/probe", "sleep", "60"])).cid
    for cmd in ("start", "kill", "delete", "state", "exec", "update", "pause", "ps", "events"):
        assert sorted(complete(cmd, "", root=rt.root)) == sorted([cid, other]), cmd
    assert complete("kill", cid[:-1], root=rt.root) == [cid]
    assert complete("delete", "--force", cid[:-1], root=rt.root) == [cid]
    assert complete("update", "--memory", "1g", cid[:-1], root=rt.root) == [cid]
    assert complete("create", "", root=rt.root) == []  # create names a new container
    assert complete("kill", cid, "TE", root=rt.root) == ["TERM"]


# ---------------------------------------------------------------- the sources


def getopt_tables():
    """{(file, function): {long name: no, required or optional}} from the option tables in
    cli/*.c."""
    cli = os.path.join(REPO, "cli")
    # the option lists cli.h shares between commands (CLI_CREATE_LONGOPTS, ...)
    macros = {m.group(1): re.findall(r'\{"([a-z-]+)", (\w+)_argument', m.group(2))
              for m in re.finditer(r"#define (CLI_\w+_LONGOPTS)(.*?)/\* clang-format on \*/",
                                   open(os.path.join(cli, "cli.h")).read(), re.S)}
    assert "CLI_CREATE_LONGOPTS" in macros
    tables = {}
    for path in sorted(glob.glob(os.path.join(cli, "cmd_*.c"))) + [os.path.join(cli, "main.c")]:
        src = open(path).read()
        for m in re.finditer(r"^(?:static )?int (\w+)\([^;{]*?\)\n\{(.*?)\n\}", src, re.S | re.M):
            for t in re.finditer(r"struct option (\w+)\[\] = \{(.*?)\n\s*\};", m.group(2), re.S):
                opts = re.findall(r'\{"([a-z-]+)", (\w+)_argument', t.group(2))
                for macro, macro_opts in macros.items():
                    if macro in t.group(2):
                        opts += macro_opts
                name = m.group(1).removeprefix("cli_cmd_")
                tables[(os.path.basename(path), name)] = dict(opts)
    # the global options: one X-macro list that main.c and the entry share
    entry = open(os.path.join(cli, "entry.h")).read()
    g = re.search(r"#define CLI_GLOBAL_OPTIONS\(X\)(.*?)\n\n", entry, re.S)
    tables[("main.c", "global")] = dict(re.findall(r'X\("([a-z-]+)", (\w+)_argument', g.group(1)))
    return tables


def help_source_options(name, heading=None):
    """{long name: no, required or optional (its value)} of cli/help/NAME.txt (of its section
    HEADING), hidden ones included."""
    found = {}
    section = None
    for line in open(os.path.join(REPO, "cli", "help", name + ".txt")):
        line = line.rstrip("\n")
        if re.fullmatch(r"\S.*:", line) and not line.startswith(("summary:", "usage:", "args:")):
            section = line[:-1]
        elif line == "":
            section = None
        if heading is not None and section != heading:
            continue
        m = re.match(r"  (?:-\w, )?--([a-z][a-z0-9-]*)(\[=[A-Z]+\]|=\S+| (?!\{)\S+)?", line)
        if m:
            found[m.group(1)] = "no" if not m.group(2) else "required" if m.group(2)[0] == " " else "optional"
        if line.startswith("  @options "):
            words = line.split()
            span = re.fullmatch(r"--([a-z0-9-]+)\.\.--([a-z0-9-]+)", " ".join(words[2:]))
            included = help_source_options(words[1], None if span else " ".join(words[2:]) or None)
            if span:  # dicts keep the file's order
                names = list(included)
                included = {k: included[k] for k in names[names.index(span[1]):names.index(span[2]) + 1]}
            found.update({k: v for k, v in included.items() if k != "help"})
    return found


def test_help_files_document_every_getopt_option():
    tables = getopt_tables()
    want = {
        "run-container": tables[("main.c", "global")],
        "network-create": tables[("cmd_network.c", "cmd_create")],
        "image": tables[("cmd_image.c", "run_sub")],  # ls and prune
    }
    for (f, fn), opts in tables.items():
        if f == f"cmd_{fn}.c":
            want[fn.replace("_", "-")] = opts  # cmd_migrate_receive.c: migrate-receive
    # network's other subcommands show their options in its Commands section
    network = open(os.path.join(REPO, "cli", "help", "network.txt")).read()
    for o in tables[("cmd_network.c", "cmd_ls")]:
        assert o == "help" or re.search(rf"^  ls .*--{o}\b", network, re.M), f"network ls --{o}"
    want["network"] = {}
    for name, opts in want.items():
        got = help_source_options(name)
        for o, arg in opts.items():
            assert o in got, f"cli/help/{name}.txt does not document --{o}"
            assert got[o] == arg, f"cli/help/{name}.txt: --{o}'s value is {got[o]}, getopt's {arg}"
        assert set(got) <= set(opts), f"cli/help/{name}.txt documents {set(got) - set(opts)} that getopt lacks"
    assert set(want) >= {os.path.basename(p)[4:-2].replace("_", "-")
                         for p in glob.glob(os.path.join(REPO, "cli", "cmd_*.c"))}


# ---------------------------------------------------------------- install


def test_meson_install_destdir(tmp_path):
    if shutil.which("meson") is None:
        pytest.skip("meson is not installed")
    r = subprocess.run(["meson", "install", "-C", BUILD_DIR, "--no-rebuild", "--destdir", str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(["meson", "introspect", "--buildoptions", BUILD_DIR], capture_output=True, text=True,
                       timeout=60)
    opts = {o["name"]: o["value"] for o in __import__("json").loads(r.stdout)}
    root = str(tmp_path) + opts["prefix"]
    man8 = os.path.join(root, opts["mandir"], "man8")
    assert sorted(os.listdir(man8)) == sorted(os.path.basename(p) for p in glob.glob(os.path.join(GEN, "*.8")))
    comp = os.path.join(root, opts["datadir"], "bash-completion", "completions", "run-container")
    assert open(comp).read() == open(COMPLETION).read()
    assert os.access(os.path.join(root, opts["bindir"], "run-container"), os.X_OK)
