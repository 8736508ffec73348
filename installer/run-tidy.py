#!/usr/bin/env python3
"""clang-tidy over the project's sources in a build's compile_commands.json, in grouped units.

Run by the `tidy` target (`cmake --build --preset tidy`; installer/setup.sh test runs it after
the dev build). Every file whose path matches the pattern is checked with the checks in
.clang-tidy, findings as errors.

Most of clang-tidy's time on one file goes to parsing Qt's headers and walking their
declarations, the same for every file of a target. So the files that share a compile command
(one target's; the test executables' differ only in their autogen include directory, and
those are merged) are checked about --group-size at a time: a generated file in
<build>/tidy-groups #includes them (`main` renamed in each, since the tests define one each),
and clang-tidy runs once on it with a header filter that adds the group's own files to
.clang-tidy's, so what it finds in them is reported and what it finds in Qt's or the system's
headers is not, as for one file. A compile command with only a few files joins one that
differs from it only in include directories and defines. Two files that declare the same name
at file scope (helpers in anonymous namespaces, say), or one of which declares a name a
project header of the other declares, go to different groups.

The group's answer stands only when it is clean: a group with findings has the files they are
in checked again one by one, so what is reported is exactly what checking that file alone
reports; a group that still does not compile as one unit is split (the files the errors are
in become a group of their own, the rest are checked again together), and a file alone is
checked with its own compile command. --group-size 1 checks every file alone. Every file is
checked without the build's precompiled header (LEDGER_PCH): with only what it includes.

A file found clean is remembered in <build>/tidy-cache under a key made of everything its
result depends on: clang-tidy's version, .clang-tidy, this script, the file's compile command
and the contents of every file it includes (the build's own dependency record, `ninja -t
deps`). The next run checks again only the files for which one of those changed, as a
compiler cache would; a file without a dependency record is always checked. Exit status 1
when anything is found.
"""

import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import time


def sha256_of_file(path, memo):
    if path not in memo:
        h = hashlib.sha256()
        try:
            with open(path, 'rb') as f:
                for block in iter(lambda: f.read(1 << 20), b''):
                    h.update(block)
            memo[path] = h.hexdigest()
        except OSError:
            memo[path] = 'missing'
    return memo[path]


def ninja_deps(build_dir):
    """The build's record of what each object was compiled from: {output: [paths]}."""
    out = subprocess.run(['ninja', '-C', build_dir, '-t', 'deps'], capture_output=True,
                         text=True, check=True).stdout
    deps, current = {}, None
    for line in out.splitlines():
        if not line.strip():
            current = None
        elif not line.startswith(' '):
            target, _, status = line.partition(': ')
            current = [] if '(VALID)' in status else None
            if current is not None:
                deps[os.path.normpath(os.path.join(build_dir, target))] = current
        elif current is not None:
            current.append(os.path.normpath(os.path.join(build_dir, line.strip())))
    return deps


def arguments_of(entry):
    return entry.get('arguments') or shlex.split(entry['command'])


def output_of(entry):
    args = arguments_of(entry)
    for i, a in enumerate(args):
        if a == '-o' and i + 1 < len(args):
            return os.path.normpath(os.path.join(entry['directory'], args[i + 1]))
    return None


AUTOGEN_INCLUDE = re.compile(r'_autogen/include/?$')
PRECOMPILED = re.compile(r'cmake_pch\.hxx$')


def without_precompiled(args):
    """The arguments without the build's precompiled header (LEDGER_PCH): a GCC one clang
    cannot read, and a file must compile with what it includes itself."""
    out, i = [], 0
    while i < len(args):
        if args[i] == '-include' and i + 1 < len(args) and PRECOMPILED.search(args[i + 1]):
            i += 2
            continue
        if args[i] != '-Winvalid-pch':
            out.append(args[i])
        i += 1
    return out
TAKES_AN_ARGUMENT = {'-isystem', '-iquote', '-idirafter', '-include', '-imacros', '-x', '-D',
                     '-U', '-I', '-Xclang', '-target', '--target'}


def group_flags(entry):
    """The file's compile flags for a grouped unit: without the compiler, the output, the
    source and -Werror (compiler warnings are the build's business; a group may only add
    some), and without the target's autogen include directory, returned apart so that
    targets which differ only there can share a group."""
    args = without_precompiled(arguments_of(entry))[1:]
    flags, autogen, i = [], [], 0
    while i < len(args):
        a = args[i]
        if a == '-o' or (a == '-I' and i + 1 < len(args) and AUTOGEN_INCLUDE.search(args[i + 1])):
            if a == '-I':
                autogen.append(args[i + 1])
            i += 2
            continue
        if a.startswith('-I') and AUTOGEN_INCLUDE.search(a[2:]):
            autogen.append(a[2:])
        elif a in TAKES_AN_ARGUMENT and i + 1 < len(args):
            flags.append(a + '\0' + args[i + 1])  # one unit: the flag and its argument
            i += 1
        elif a == '-c' or a == '-Werror' or a.startswith('-Werror=') or \
                os.path.normpath(os.path.join(entry['directory'], a)) == entry['file']:
            pass
        else:
            flags.append(a)
        i += 1
    return tuple(flags), autogen


# One diagnostic of clang-tidy's: path:line:col: level: message [check,...]
DIAGNOSTIC = re.compile(r'^(.+?):\d+:\d+: (warning|error): .*?(?: \[([^\]]+)\])?$')
INCLUDED_FROM = re.compile(r'^In file included from (.+?):\d+:')


def diagnostics(text):
    """[(path, level, checks, [including files])] of clang-tidy's output, notes left out."""
    found, stack = [], []
    for line in text.splitlines():
        m = INCLUDED_FROM.match(line)
        if m:
            stack.append(os.path.normpath(m.group(1)))
            continue
        m = DIAGNOSTIC.match(line)
        if m:
            found.append((os.path.normpath(m.group(1)), m.group(2), m.group(3) or '', stack))
        stack = []
    return found


# A declaration at the start of a line (clang-format leaves namespace contents unindented):
# what it declares is in the way of the same name in another file of the same unit.
FILE_SCOPE_TYPE = re.compile(r'^(?:template\s*<.*>\s*)?(?:struct|class|union|enum(?:\s+class)?)'
                             r'\s+(?:\[\[\w+\]\]\s*)?(\w+)\s*(?:final\s*)?[:{]?\s*$|'
                             r'^(?:template\s*<.*>\s*)?(?:struct|class|union|enum(?:\s+class)?)'
                             r'\s+(\w+)\s*[:{]')
FILE_SCOPE_ALIAS = re.compile(r'^using\s+(\w+)\s*=')
FILE_SCOPE_MACRO = re.compile(r'^#\s*define\s+(\w+)')
FILE_SCOPE_NAME = re.compile(r'^[A-Za-z_][\w:<>,*&\s]*?(?<![:\w])(\w+)\s*(?:=|\(|\{|\[|;)')
NOT_A_DECLARATION = re.compile(r'^(?:namespace|using\s+namespace|return|if|for|while|switch|'
                               r'Q_[A-Z_]+|QTEST_\w+|extern\s+"C"|public|private|protected)\b')


def file_scope_names(path):
    """Names a file declares at the start of a line, outside any class or function as far as
    clang-format's layout tells (helpers in anonymous namespaces, static functions, types,
    constants, macros). Two files declaring the same one do not compile as one unit; a name
    missed here costs a split group, nothing more."""
    names = set()
    try:
        with open(path, errors='replace') as f:
            lines = f.read().splitlines()
    except OSError:
        return names
    for line in lines:
        if not line or line[0] in ' \t}/*)' or NOT_A_DECLARATION.match(line):
            m = FILE_SCOPE_MACRO.match(line) if line.startswith('#') else None
            if m:
                names.add(m.group(1))
            continue
        for pattern in (FILE_SCOPE_MACRO, FILE_SCOPE_TYPE, FILE_SCOPE_ALIAS, FILE_SCOPE_NAME):
            m = pattern.match(line)
            if m:
                names.add(next(g for g in m.groups() if g))
                break
    names.discard('main')
    return names


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--build-dir', required=True)
    parser.add_argument('--source-dir', required=True)
    parser.add_argument('--clang-tidy', default='clang-tidy')
    parser.add_argument('--jobs', type=int, default=os.cpu_count() or 2)
    parser.add_argument('--group-size', type=int, default=16,
                        help='files of one compile command checked as one unit (1: each alone)')
    parser.add_argument('--list', action='store_true',
                        help='print the runs that would be made (the files left to check), and stop')
    parser.add_argument('--verbose', action='store_true',
                        help='say how long each run took and what came of it')
    parser.add_argument('--skip', action='append', default=[],
                        help='a source file (relative to the source directory) not to check')
    parser.add_argument('pattern', help='regular expression over absolute source paths')
    opts = parser.parse_args()

    build_dir = os.path.abspath(opts.build_dir)
    source_dir = os.path.abspath(opts.source_dir)
    with open(os.path.join(build_dir, 'compile_commands.json')) as f:
        skipped = {os.path.join(source_dir, p) for p in opts.skip}
        entries = [e for e in json.load(f)
                   if re.search(opts.pattern, e['file']) and e['file'] not in skipped]
    files = sorted({e['file'] for e in entries})
    entry_of = {e['file']: e for e in entries}
    command_of = {e['file']: e.get('command') or ' '.join(e['arguments']) for e in entries}
    output = {e['file']: output_of(e) for e in entries}

    version = subprocess.run([opts.clang_tidy, '--version'], capture_output=True, text=True,
                             check=True).stdout
    memo = {}
    config = hashlib.sha256()
    config.update(version.encode())
    config.update(sha256_of_file(os.path.join(source_dir, '.clang-tidy'), memo).encode())
    config.update(sha256_of_file(os.path.abspath(__file__), memo).encode())
    deps = ninja_deps(build_dir)

    def key_of(path):
        inputs = deps.get(output[path]) if output[path] else None
        if not inputs:
            return None
        h = hashlib.sha256(config.digest())
        h.update(command_of[path].encode())
        for dep in sorted(set(inputs)):
            h.update(dep.encode() + b'\0' + sha256_of_file(dep, memo).encode() + b'\n')
        return h.hexdigest()

    cache = os.path.join(build_dir, 'tidy-cache')
    os.makedirs(cache, exist_ok=True)
    keys = {path: key_of(path) for path in files}
    todo = [p for p in files if not (keys[p] and os.path.exists(os.path.join(cache, keys[p])))]

    # What .clang-tidy reports outside the file checked (the project's own headers).
    dumped = subprocess.run([opts.clang_tidy, '--dump-config', files[0] if files else '.'],
                            capture_output=True, text=True, cwd=source_dir).stdout
    m = re.search(r"^HeaderFilterRegex:\s*'?(.*?)'?\s*$", dumped, re.M)
    header_filter = m.group(1) if m and m.group(1) else None

    groups_dir = os.path.join(build_dir, 'tidy-groups')
    os.makedirs(groups_dir, exist_ok=True)
    for name in os.listdir(groups_dir):
        os.remove(os.path.join(groups_dir, name))

    def remember_clean(path):
        if keys[path]:
            open(os.path.join(cache, keys[path]), 'w').close()

    def tidy(args, cwd=None, label=None):
        began = time.monotonic()
        r = subprocess.run([opts.clang_tidy, '--quiet', '--warnings-as-errors=*'] + args,
                           capture_output=True, text=True, cwd=cwd)
        if opts.verbose:
            sys.stderr.write('%5.0f s  %s\n' % (time.monotonic() - began, label or ' '.join(
                os.path.relpath(a, source_dir) for a in args if a.endswith('.cpp'))))
            if r.returncode != 0:
                sys.stderr.write(''.join('        ' + l + '\n' for l in
                                         (r.stdout + r.stderr).splitlines()
                                         if ': error: ' in l and groups_dir not in l)[:3000])
        return r.returncode, r.stdout + r.stderr

    # The compile commands clang-tidy reads for a file alone, without the precompiled header.
    tidy_db = os.path.join(build_dir, 'tidy-db')
    os.makedirs(tidy_db, exist_ok=True)
    with open(os.path.join(tidy_db, 'compile_commands.json'), 'w') as f:
        json.dump([{'directory': e['directory'], 'file': e['file'],
                    'arguments': without_precompiled(arguments_of(e))} for e in entries], f)

    def check_alone(path):
        rc, text = tidy(['-p', tidy_db,
                         # GCC's warning flags that clang does not know are not findings.
                         '--extra-arg=-Wno-unknown-warning-option', path])
        found = rc != 0 or re.search(r'(warning|error): ', text) is not None
        if not found:
            remember_clean(path)
        return [(path, found, text)], []

    def check_group(group):
        """([(path, found, text)] decided, [(flags, [path])] to check next)."""
        flags, members = group
        if len(members) == 1:
            return check_alone(members[0])
        autogen = []
        for path in members:
            for d in group_flags(entry_of[path])[1]:
                if d not in autogen:
                    autogen.append(d)
        name = hashlib.sha256('\n'.join(members).encode()).hexdigest()[:16]
        unit = os.path.join(groups_dir, 'group-%s.cpp' % name)
        with open(unit, 'w') as f:
            f.write('// Generated by installer/run-tidy.py: %d files of one compile command '
                    'checked as one unit.\n' % len(members))
            for n, path in enumerate(members):
                f.write('#define main ledger_tidy_main_%d\n#include "%s"\n#undef main\n'
                        % (n, path))
        members_filter = '^(%s)$' % '|'.join(re.escape(p) for p in members)
        filt = '(%s)|%s' % (header_filter, members_filter) if header_filter else members_filter
        rc, text = tidy(['--header-filter=' + filt, unit, '--',
                         '-Wno-unknown-warning-option'] +
                        ['-I' + d for d in autogen] +
                        [a for u in flags for a in u.split('\0')],
                        cwd=entry_of[members[0]]['directory'],
                        label='%d: %s' % (len(members), ' '.join(
                            os.path.relpath(p, source_dir) for p in members)))
        unit = os.path.normpath(unit)
        found = [d for d in diagnostics(text) if d[0] != unit]  # (#include of a .cpp there)

        def member_of(d):
            for path in [d[0]] + d[3]:
                if path in members:
                    return path
            return None

        broken = 'clang-diagnostic-error' in text or 'compiler error' in text
        if broken:
            culprits = [p for p in members if p in {member_of(d) for d in found
                                                    if 'clang-diagnostic-error' in d[2]}]
            rest = [p for p in members if p not in culprits]
            if culprits and rest:
                return [], [(flags, rest), (flags, culprits)]
            return [], [(flags, [p]) for p in members]
        if found:
            # Each file a finding is in, checked alone, says what stands; the others are clean.
            implicated = {member_of(d) for d in found}
            if None in implicated:
                implicated = set(members)
            for p in members:
                if p not in implicated:
                    remember_clean(p)
            return [(p, False, '') for p in members if p not in implicated], \
                [(flags, [p]) for p in members if p in implicated]
        if rc != 0 and not re.search(r'(warning|error): ', text):
            return [], [(flags, [p]) for p in members]  # something else went wrong: each alone
        for p in members:
            remember_clean(p)
        return [(p, False, '') for p in members], []

    # Runs: the files left to check, by compile command.
    by_flags = {}
    for path in todo:
        e = entry_of[path]
        by_flags.setdefault((e['directory'], group_flags(e)[0]), []).append(path)
    # A compile command with too few files for a run of their own joins the nearest one that
    # differs from it only in include directories and defines (none defined differently):
    # the files of both are checked with all of them. An include directory or a Qt module's
    # define more changes nothing in a file that does not use them (and a unit that does not
    # compile is split).
    def kind(unit):
        return 'path' if unit.startswith(('-I', '-isystem')) else \
            'define' if unit.startswith('-D') else 'other'

    def macros(units):
        return {u.split('\0')[-1].lstrip('-D').split('=')[0]: u for u in units
                if kind(u) == 'define'}

    def joinable(a, b):
        if {u for u in a if kind(u) == 'other'} != {u for u in b if kind(u) == 'other'}:
            return False
        ma, mb = macros(a), macros(b)
        return all(ma[m] == mb[m] for m in ma.keys() & mb.keys())

    size = max(1, opts.group_size)
    merged = True
    while merged:
        merged = False
        for key in sorted(by_flags, key=lambda k: len(by_flags[k])):
            if len(by_flags[key]) * 2 > size:
                continue
            near = [k for k in by_flags if k != key and k[0] == key[0] and
                    joinable(key[1], k[1])]
            if not near:
                continue
            other = min(near, key=lambda k: len(set(key[1]) ^ set(k[1])))
            units = other[1] + tuple(u for u in key[1] if u not in set(other[1]))
            paths = by_flags.pop(key) + by_flags.pop(other)
            by_flags[(key[0], units)] = sorted(paths)
            merged = True
            break

    # Within a run, no file declares at file scope a name (a helper, a type) that another
    # declares too, or that a project header another includes declares (the build's record
    # says which). A compile command's files go to as many runs as --group-size asks for,
    # each file to the smallest run it does not clash with; one that clashes with all of
    # them starts another.
    names_memo = {}

    def names_in(path):
        if path not in names_memo:
            names_memo[path] = file_scope_names(path)
        return names_memo[path]

    def header_names(path):
        found = set()
        for dep in deps.get(output[path], []) if output[path] else []:
            if dep != path and dep.startswith(source_dir + os.sep) and \
                    not dep.startswith(build_dir + os.sep):
                found |= names_in(dep)
        return found

    groups = []
    for (_, flags), paths in by_flags.items():
        count = -(-len(paths) // size)
        runs = [[[], set(), set()] for _ in range(count)]  # members, declared, headers' names
        for path in paths:
            # (A name its own headers declare too is their function or type, defined here.)
            seen = header_names(path)
            declared = names_in(path) - seen
            fits = [run for run in runs if not (declared & (run[1] | run[2])) and
                    not (seen & run[1])]
            if fits:
                run = min(fits, key=lambda r: len(r[0]))
            else:
                run = [[], set(), set()]
                runs.append(run)
            run[0].append(path)
            run[1].update(declared)
            run[2].update(seen)
        groups += [(flags, run[0]) for run in runs if run[0]]
    # The largest first, so that the last to finish are small.
    groups.sort(key=lambda g: -sum(os.path.getsize(p) for p in g[1]))

    if opts.list:
        for _, g in groups:
            print('%d: %s' % (len(g), ' '.join(os.path.relpath(p, source_dir) for p in g)))
        return 0

    start = time.monotonic()
    failed, units = [], 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
        pending = {pool.submit(check_group, g) for g in groups}
        while pending:
            done, pending = concurrent.futures.wait(
                pending, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                units += 1
                decided, again = future.result()
                for path, found, text in decided:
                    if found:
                        failed.append(path)
                        sys.stdout.write(text)
                sys.stdout.flush()
                pending |= {pool.submit(check_group, g) for g in again}

    # Only what this run used stays in the cache.
    used = {k for k in keys.values() if k}
    for name in os.listdir(cache):
        if name not in used:
            os.remove(os.path.join(cache, name))

    print('clang-tidy: %d files, %d checked (%d unchanged since found clean) in %d runs, '
          '%d with findings, %.0f s' % (len(files), len(todo), len(files) - len(todo), units,
                                        len(failed), time.monotonic() - start))
    for path in sorted(failed):
        print('  findings in ' + os.path.relpath(path, source_dir))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
