#!/usr/bin/python3
"""Generate the --help texts, the man pages and the bash completion from cli/help/*.txt.

    gen_help.py SRCROOT OUTDIR DEPFILE MAIN.txt CMD.txt...

One file per command is the only place its help lives (cli/help/README.md describes the
format). From them this writes into OUTDIR:
  cli_help.h, cli_help.c   the --help texts as C strings: cli_help_main, cli_help_<cmd>
  run-container.8, run-container-<cmd>.8   man pages (roff, man(7) macros)
  run-container            the bash completion (commands, flags, values, container ids)
@NAME@ in a text is the string a `#define NAME "..."` gives in a header under runtime/
or specs/; DEPFILE lists the headers read, so a changed default rebuilds the outputs.
"""

import datetime
import os
import re
import sys

PROGRAM = "run-container"
DESC_COL = 28  # where an entry's description starts in --help
# What a value is completed with when its option says nothing ({...}): by its metavar.
METAVAR_COMPLETION = {"FILE": "file", "DIR": "dir", "SOCK": "file", "FILE|-": "file"}


class HelpError(Exception):
    pass


class Entry:
    """An option or a subcommand: its name(s), its value, its description lines."""

    def __init__(self, kind, text, desc, where):
        self.kind = kind
        self.desc = desc
        self.hidden = False
        self.complete = None
        for note in re.findall(r"\{([^}]*)\}", text):
            if note == "hidden":
                self.hidden = True
            elif note in ("file", "dir", "none") or note.startswith("words "):
                self.complete = note
            else:
                raise HelpError(f"{where}: unknown annotation {{{note}}}")
        self.text = re.sub(r"\s*\{[^}]*\}", "", text).strip()
        if kind == "option":
            self._parse_option(where)
        else:
            self.name = self.text.split()[0]
            self.aliases = re.findall(r"\(or (\S+)\)", self.text)
            self.flags = re.findall(r"--[a-z][a-z0-9-]*", self.text)

    def _parse_option(self, where):
        # "-b, --bundle DIR", "--rootless[=VALUE]", "--tls-verify=false" (an optional value
        # shown as it is typed), "-h, --help"
        m = re.fullmatch(r"(?:-([A-Za-z]), )?--([a-z][a-z0-9-]*)(?:(\[=[A-Z|]+\]|=\S+)| (\S+))?", self.text)
        if m is None:
            raise HelpError(f"{where}: not an option: {self.text!r} (want [-x, ]--name [VALUE])")
        self.short, self.long = m.group(1), m.group(2)
        self.optional = m.group(3) is not None
        self.value = m.group(3).strip("[=]") if self.optional else m.group(4)
        self.value_text = m.group(3) or (" " + m.group(4) if m.group(4) else "")
        if self.complete is None and self.value is not None:
            self.complete = METAVAR_COMPLETION.get(self.value, "none")

    def help_lines(self):
        head = "  " + self.text if self.kind != "option" or self.short else "      " + self.text
        lines = [head]
        if self.desc:
            lines = [head + " " * max(2, DESC_COL - len(head)) + self.desc[0]]
            lines += [" " * DESC_COL + d for d in self.desc[1:]]
        return lines


class Include:
    """`@options NAME [HEADING]`: NAME's options (of its section HEADING), but --help;
    `@options NAME --first..--last`: those of NAME's options from --first to --last."""

    def __init__(self, words, where):
        self.name = words[1]
        rest = " ".join(words[2:])
        m = re.fullmatch(r"--([a-z0-9-]+)\.\.--([a-z0-9-]+)", rest)
        self.span = (m.group(1), m.group(2)) if m else None
        self.heading = None if m else rest or None
        self.where = where


def resolve_includes(docs):
    by_name = {d.name: d for d in docs}
    for d in docs:
        for b in d.blocks:
            if not isinstance(b, Section):
                continue
            entries = []
            for e in b.entries:
                if not isinstance(e, Include):
                    entries.append(e)
                    continue
                if e.name not in by_name or e.name == d.name:
                    raise HelpError(f"{e.where}: @options {e.name}: no such command")
                src = [x for b2 in by_name[e.name].blocks if isinstance(b2, Section) and b2.kind == "option"
                       and e.heading in (None, b2.heading) for x in b2.entries]
                if not src:
                    raise HelpError(f"{e.where}: @options {e.name}: no section {e.heading!r}")
                if e.span:
                    names = [o.long for o in src]
                    if e.span[0] not in names or e.span[1] not in names:
                        raise HelpError(f"{e.where}: @options {e.name}: no --{e.span[0]} or --{e.span[1]}")
                    src = src[names.index(e.span[0]):names.index(e.span[1]) + 1]
                entries += [o for o in src if o.long != "help"]
            b.entries = entries


class Para:
    def __init__(self, blank_before):
        self.blank_before = blank_before
        self.lines = []


class Section:
    def __init__(self, heading, kind, blank_before):
        self.heading = heading
        self.kind = kind  # "option" or "command"
        self.blank_before = blank_before
        self.entries = []


class Doc:
    def __init__(self, path, defines, used):
        self.path = path
        self.name = os.path.basename(path)[:-4]
        self.header = {}
        self.blocks = []  # str paragraphs (list of lines) or Section
        lines = open(path, encoding="utf-8").read().split("\n")
        self._parse(lines, defines, used)

    def where(self, n):
        return f"{self.path}:{n}"

    def _parse(self, lines, defines, used):
        def expand(s, n):
            def value(m):
                if m.group(1) not in defines:
                    raise HelpError(f"{self.where(n)}: @{m.group(1)}@ is not a string #define in runtime/ or specs/")
                used.add(defines[m.group(1)][1])
                return defines[m.group(1)][0]
            return re.sub(r"@([A-Z0-9_]+)@", value, s)

        i = 0
        while i < len(lines) and lines[i].startswith("#"):
            i += 1
        while i < len(lines) and lines[i] != "":
            key, sep, value = lines[i].partition(":")
            if not sep or key not in ("summary", "usage", "args"):
                raise HelpError(f"{self.where(i + 1)}: want summary:, usage: or args: before the first blank line")
            self.header[key] = expand(value.strip(), i + 1)
            i += 1
        for key in ("summary", "usage"):
            if key not in self.header:
                raise HelpError(f"{self.path}: no {key}: line")
        para, section, entry, blank = None, None, None, True
        for n, raw in enumerate(lines[i + 1:], start=i + 2):
            line = expand(raw.rstrip(), n)
            nxt = lines[n] if n < len(lines) else ""
            if re.fullmatch(r"\S.*:", line) and (line == "Commands:" or nxt.startswith(("  -", "  @options "))):
                section = Section(line[:-1], "command" if line == "Commands:" else "option", blank)
                self.blocks.append(section)
                para, entry, blank = None, None, False
            elif line == "":
                para, section, entry, blank = None, None, None, True
            elif section is not None and re.match(r"  \S", line):
                m = re.fullmatch(r"(\S.*?)(?:\s{2,}(.*))?", line.strip())
                if m.group(1).startswith("@options "):
                    # another command's options, but its --help (create's, for run)
                    section.entries.append(Include(m.group(1).split(), self.where(n)))
                    entry = None
                    continue
                entry = Entry(section.kind, m.group(1), [m.group(2)] if m.group(2) else [], self.where(n))
                section.entries.append(entry)
            elif section is not None and line.startswith("    ") and entry is not None:
                entry.desc.append(line.strip())
            elif section is not None:
                raise HelpError(f"{self.where(n)}: in section {section.heading!r}, an entry is indented by two"
                                " spaces and its further lines by four or more")
            else:
                if para is None:
                    para = Para(blank)
                    self.blocks.append(para)
                para.lines.append(line)
                blank = False

    def options(self):
        return [e for b in self.blocks if isinstance(b, Section) and b.kind == "option" for e in b.entries]

    def subcommands(self):
        return [e for b in self.blocks if isinstance(b, Section) and b.kind == "command" for e in b.entries]


def read_defines(srcroot):
    """NAME -> (value, header) for every `#define NAME "literal"` under runtime/ and specs/."""
    defines = {}
    for top in ("runtime", "specs"):
        for dirpath, dirnames, filenames in os.walk(os.path.join(srcroot, top)):
            dirnames.sort()
            for f in sorted(filenames):
                if not f.endswith(".h"):
                    continue
                path = os.path.join(dirpath, f)
                for m in re.finditer(r'^#define\s+([A-Z0-9_]+)\s+"((?:[^"\\]|\\.)*)"\s*$',
                                     open(path, encoding="utf-8").read(), re.M):
                    defines.setdefault(m.group(1), (m.group(2), path))
    return defines


# ---------------------------------------------------------------- --help


def help_text(doc, commands):
    """The --help text; for the main page, `commands` lists the command docs."""
    who = PROGRAM if commands is not None else f"{PROGRAM} {doc.words}"
    out = [f"Usage: {who} {doc.header['usage']}".rstrip()]
    for block in doc.blocks:
        if block.blank_before:
            out.append("")
        if isinstance(block, Para):
            out += block.lines
            continue
        out.append(block.heading + ":")
        if commands is not None and block.kind == "command":
            width = max([10] + [len(c.name) for c in commands])
            out += [f"  {c.name:<{width}} {c.header['summary']}" for c in commands]
            out += [f"  {e.name:<10} {' '.join(e.desc)}" for e in block.entries]
            continue
        for e in block.entries:
            if not e.hidden:
                out += e.help_lines()
    return "\n".join(out) + "\n"


def c_string(text):
    lines = text.split("\n")
    parts = [l + "\n" for l in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    esc = lambda s: s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return "\n".join(f'        "{esc(p)}"' for p in parts)


def c_name(doc):
    return "cli_help_main" if doc.name == PROGRAM else "cli_help_" + doc.name.replace("-", "_")


def write_c(outdir, main, docs):
    h = ["/* Generated by cli/gen_help.py from cli/help/NAME.txt: edit those. */", "#pragma once", ""]
    c = ["/* Generated by cli/gen_help.py from cli/help/NAME.txt: edit those. */", '#include "cli_help.h"', ""]
    for doc in [main] + docs:
        h.append(f"extern const char {c_name(doc)}[];")
        text = help_text(doc, [d for d in docs if d.parent is None] if doc is main else None)
        c.append(f"const char {c_name(doc)}[] =\n{c_string(text)};\n")
    write(os.path.join(outdir, "cli_help.h"), "\n".join(h) + "\n")
    write(os.path.join(outdir, "cli_help.c"), "\n".join(c))


# ---------------------------------------------------------------- man pages


def roff(s):
    s = s.replace("\\", "\\e").replace("-", "\\-")
    if s[:1] in (".", "'"):
        s = "\\&" + s
    return s


def man_entry(e):
    out = [".TP"]
    if e.kind == "option":
        names = ([f"\\fB\\-{e.short}\\fR, "] if e.short else []) + [f"\\fB\\-\\-{roff(e.long)}\\fR"]
        value = ""
        if e.value:
            v = f"\\fI{roff(e.value)}\\fR"
            value = {"[": f"[={v}]", "=": f"={v}"}.get(e.value_text[:1], f" {v}")
        out.append("".join(names) + value)
    else:
        words = e.text.split()
        out.append(f"\\fB{roff(words[0])}\\fR" + (" " + roff(" ".join(words[1:])) if len(words) > 1 else ""))
    out.append(roff(" ".join(e.desc)) if e.desc else "")
    return out


def man_page(doc, main, docs, date):
    is_main = doc is main
    page = PROGRAM if is_main else f"{PROGRAM}-{doc.name}"
    cmd = PROGRAM if is_main else f"{PROGRAM} {doc.words}"
    out = [f'.\\" Generated by cli/gen_help.py from cli/help/{doc.name}.txt: edit that file.',
           f'.TH {roff(page.upper())} 8 "{date}" "{PROGRAM}" "System Administration"',
           ".nh", ".ad l",  # names such as run-container-create stay whole
           ".SH NAME", f"{roff(page)} \\- {roff(doc.header['summary'])}",
           ".SH SYNOPSIS", f"\\fB{roff(cmd)}\\fR {roff(doc.header['usage'])}"]
    described = False
    for block in doc.blocks:
        if isinstance(block, Para):
            if not described:
                out.append(".SH DESCRIPTION")
                described = True
            out += man_paragraph(block.lines)
    opt_sections = [b for b in doc.blocks if isinstance(b, Section) and b.kind == "option"]
    cmd_sections = [b for b in doc.blocks if isinstance(b, Section) and b.kind == "command"]
    if is_main or cmd_sections:
        out.append(".SH COMMANDS")
        for sec in cmd_sections:
            entries = sec.entries
            if is_main:
                entries = [Entry("command", d.name, [d.header["summary"]], d.path)
                           for d in docs if d.parent is None] + entries
            for e in entries:
                out += man_entry(e)
                sub = f"{doc.name}-{e.name}" if not is_main else e.name
                if any(d.name == sub for d in docs):
                    out += [".br", f"See \\fB{roff(PROGRAM)}\\-{roff(sub)}\\fR(8)."]
    if opt_sections:
        out.append(".SH OPTIONS" if not is_main else ".SH GLOBAL OPTIONS")
        for sec in opt_sections:
            if sec.heading not in ("Options", "Global options"):
                out += [f".SS {roff(sec.heading)}"]
            for e in sec.entries:
                if not e.hidden:
                    out += man_entry(e)
    see = [f"{PROGRAM}(8)"] if not is_main else []
    if is_main:
        see += [f"{PROGRAM}-{d.name}(8)" for d in docs]
    else:
        see += [f"{PROGRAM}-{d.name}(8)" for d in docs if d.parent is doc]
    out += [".SH SEE ALSO", ",\n".join(f"\\fB{roff(s[:-3])}\\fR(8)" for s in see)]
    return "\n".join(out) + "\n"


def man_paragraph(lines):
    """Flowing text as .PP; lines indented in the source stay as they are (.nf)."""
    out, literal = [".PP"], False
    for line in lines:
        want = line.startswith("  ")
        if want != literal:
            out.append(".nf\n.RS 4" if want else ".RE\n.fi")
            literal = want
        out.append(roff(line.strip()))
    if literal:
        out.append(".RE\n.fi")
    return out


# ---------------------------------------------------------------- bash completion


def bash_words(words):
    return " ".join(words)


def option_words(entries):
    """The options that take a separate value (hidden ones too), and the flags offered."""
    takes, flags = [], []
    for e in entries:
        names = ([f"-{e.short}"] if e.short else []) + [f"--{e.long}"]
        if e.value and not e.optional:
            takes += names
        if not e.hidden:
            flags += names
    return takes, flags


def value_cases(entries, indent):
    """A `case $prev` arm per option whose value has a completion."""
    arms = {}
    for e in entries:
        if e.hidden or not e.value or e.optional or e.complete == "none":
            continue
        names = "|".join(([f"-{e.short}"] if e.short else []) + [f"--{e.long}"])
        if e.complete == "file":
            arms[names] = "_run_container_files"
        elif e.complete == "dir":
            arms[names] = "_run_container_dirs"
        else:
            arms[names] = f'_run_container_words "{e.complete[len("words "):]}"'
    pad = " " * indent
    return "".join(f"{pad}{k}) {v}; return ;;\n" for k, v in arms.items())


def write_bash(outdir, main, docs):
    top = [d for d in docs if d.parent is None]
    g_takes, g_flags = option_words(main.options())
    out = [f"# bash completion for {PROGRAM}: generated by cli/gen_help.py from cli/help/*.txt.",
           "# Installed as share/bash-completion/completions/run-container.",
           "",
           "_run_container_words() { mapfile -t COMPREPLY < <(compgen -W \"$1\" -- \"$cur\"); }",
           "_run_container_files() { compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- \"$cur\"); }",
           "_run_container_dirs() { compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- \"$cur\"); }",
           "# The containers under the --root given on the command line, from `list -q`.",
           "_run_container_ids() {",
           "    local ids",
           "    ids=$(\"${COMP_WORDS[0]}\" \"${globals[@]}\" list -q 2>/dev/null)",
           "    _run_container_words \"$ids\"",
           "}",
           "",
           "_run_container() {",
           "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}",
           "    local i=1 cmd='' sub='' w globals=() nargs=0 dashdash=0",
           f"    local gtakes=' {bash_words(g_takes)} '",
           "    COMPREPLY=()",
           "    # the global options (kept for `list -q`), then the command",
           "    while [ $i -lt $COMP_CWORD ]; do",
           "        w=${COMP_WORDS[i]}",
           "        case $w in",
           "            -*) globals+=(\"$w\")",
           "                if [[ $gtakes == *\" $w \"* ]] && [ $((i + 1)) -lt $COMP_CWORD ]; then",
           "                    i=$((i + 1)); globals+=(\"${COMP_WORDS[i]}\")",
           "                fi ;;",
           "            *) cmd=$w; break ;;",
           "        esac",
           "        i=$((i + 1))",
           "    done",
           "    if [ -z \"$cmd\" ]; then",
           "        case $prev in",
           value_cases(main.options(), 12).rstrip("\n"),
           "        esac",
           "        case $cur in",
           f"            -*) _run_container_words \"{bash_words(g_flags)}\" ;;",
           f"            *) _run_container_words \"{bash_words([d.name for d in top] + ['help'])}\" ;;",
           "        esac",
           "        return",
           "    fi",
           "    # the command's words after it: options (and their values) or operands",
           "    local takes=''",
           "    case $cmd in"]
    for d in docs:
        if d.parent is not None:
            continue
        takes = option_words(d.options())[0]
        for c in docs:  # and those of its subcommands (network create --subnet CIDR)
            if c.parent is d:
                takes += [t for t in option_words(c.options())[0] if t not in takes]
        takes += [f for s in d.subcommands() for f in re.findall(r"(--[a-z-]+) [A-Za-z]", s.text)
                  if f not in takes]
        out.append(f"        {d.name}) takes=' {bash_words(takes)} ' ;;")
    out += ["    esac",
            "    for ((i = i + 1; i < COMP_CWORD; i++)); do",
            "        w=${COMP_WORDS[i]}",
            "        if [ \"$w\" = -- ] && [ $dashdash = 0 ]; then dashdash=1; continue; fi",
            "        case $dashdash$w in",
            "            0-*=*) ;;",
            "            0-*) [[ $takes == *\" $w \"* ]] && i=$((i + 1)) ;;",
            "            *) [ $nargs -eq 0 ] && sub=$w; nargs=$((nargs + 1)) ;;",
            "        esac",
            "    done",
            "    # after \"--\" every word is an operand",
            "    [ $dashdash = 1 ] && prev=--",
            "    case $cmd in"]
    for d in top:
        out.append(f"    {d.name})")
        out += bash_command(d, docs)
        out.append("        ;;")
    out += ["    help) [ $nargs -eq 0 ] && _run_container_words "
            f"\"{bash_words([d.name for d in top])}\" ;;",
            "    esac",
            "}",
            f"complete -F _run_container {PROGRAM}",
            ""]
    write(os.path.join(outdir, PROGRAM), "\n".join(out))


# What an operand is completed with, by its kind in the args: line.
OPERANDS = {
    "container": "_run_container_ids",
    "signal": '_run_container_words "' + " ".join(
        ["HUP", "INT", "QUIT", "KILL", "USR1", "USR2", "TERM", "CONT", "STOP", "WINCH"]) + '"',
    "command": "compopt -o default 2>/dev/null; mapfile -t COMPREPLY < <(compgen -c -- \"$cur\" | sort -u)",
    "file": "_run_container_files",
    "none": ":",
}


def bash_command(d, docs):
    """The arm of one command: its option values, its flags, its operands."""
    out = ["        case $prev in", value_cases(d.options(), 12).rstrip("\n"), "        esac",
           '        [[ $takes == *" $prev "* ]] && return']
    _, flags = option_words(d.options())
    subs = d.subcommands()
    if subs:
        # network, image: COMMAND first, then that subcommand's own flags
        arms = []
        for s in subs:
            child = next((c for c in docs if c.name == f"{d.name}-{s.name}"), None)
            sflags = option_words(child.options())[1] if child else s.flags
            names = "|".join([s.name] + s.aliases)
            arms.append(f"            {names}) [[ $cur == -* ]] && _run_container_words "
                        f"\"{bash_words(sflags + flags)}\" ;;")
        names = [n for s in subs for n in [s.name] + s.aliases]
        out += ["        case $sub in",
                f"            '') _run_container_words \"{bash_words(names + flags)}\" ;;",
                *arms,
                "        esac"]
        return [l for l in out if l.strip()]
    kinds = d.header.get("args", "none").split()
    for k in kinds:
        if k not in OPERANDS:
            raise HelpError(f"{d.path}: args: {k!r} is not one of {', '.join(OPERANDS)}")
    out += ["        if [[ $cur == -* && $dashdash = 0 ]]; then",
            f"            _run_container_words \"{bash_words(flags)}\"",
            "            return",
            "        fi",
            "        case $nargs in"]
    out += [f"            {n}) {OPERANDS[k]} ;;" for n, k in enumerate(kinds) if k != "none"]
    if kinds[-1] == "command":  # the command's own arguments
        out.append("            *) compopt -o default 2>/dev/null ;;")
    out.append("        esac")
    return [l for l in out if l.strip()]


# ---------------------------------------------------------------- main


def write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def find_parents(docs):
    """NAME-SUB.txt is the help of `NAME SUB` when NAME's Commands section lists SUB
    (network-create); otherwise a command's name has a dash (migrate-receive)."""
    by_name = {d.name: d for d in docs}
    for d in docs:
        d.parent, d.words = None, d.name
        head, _, sub = d.name.partition("-")
        if sub and head in by_name and any(e.name == sub for e in by_name[head].subcommands()):
            d.parent, d.words = by_name[head], f"{head} {sub}"


def main(argv):
    if len(argv) < 5:
        sys.exit(__doc__)
    srcroot, outdir, depfile, main_path, paths = argv[1], argv[2], argv[3], argv[4], argv[5:]
    defines = read_defines(srcroot)
    used = set()
    try:
        main_doc = Doc(main_path, defines, used)
        main_doc.name = PROGRAM
        docs = [Doc(p, defines, used) for p in paths]
        resolve_includes(docs)
        find_parents(docs)
    except HelpError as e:
        sys.exit(f"gen_help.py: {e}")
    # man pages carry the date of the newest source, so a build is reproducible
    stamp = max(os.stat(p).st_mtime for p in [main_path] + paths)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    date = datetime.datetime.fromtimestamp(int(epoch) if epoch else stamp, datetime.timezone.utc)
    try:
        write_c(outdir, main_doc, docs)
        write_bash(outdir, main_doc, docs)
    except HelpError as e:
        sys.exit(f"gen_help.py: {e}")
    for doc in [main_doc] + docs:
        name = PROGRAM if doc is main_doc else f"{PROGRAM}-{doc.name}"
        write(os.path.join(outdir, name + ".8"), man_page(doc, main_doc, docs, date.strftime("%Y-%m-%d")))
    deps = sorted(used) + [main_path] + paths + [os.path.abspath(__file__)]
    write(depfile, f"{os.path.join(outdir, 'cli_help.c')}: " + " ".join(d.replace(" ", "\\ ") for d in deps) + "\n")


if __name__ == "__main__":
    main(sys.argv)
