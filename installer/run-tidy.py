#!/usr/bin/env python3
"""clang-tidy over the project's sources in a build's compile_commands.json, one file per core.

Run by the `tidy` target (`cmake --build --preset tidy`; installer/setup.sh test runs it after
the dev build). Every file whose path matches the pattern is checked with the checks in
.clang-tidy, findings as errors. A file found clean is remembered in <build>/tidy-cache under
a key made of everything its result depends on: clang-tidy's version, .clang-tidy, this
script, the file's compile command and the contents of every file it includes (the build's
own dependency record, `ninja -t deps`). The next run checks again only the files for which
one of those changed, as a compiler cache would; a file without a dependency record is
always checked. Exit status 1 when anything is found.
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


def output_of(entry):
    args = entry.get('arguments') or shlex.split(entry['command'])
    for i, a in enumerate(args):
        if a == '-o' and i + 1 < len(args):
            return os.path.normpath(os.path.join(entry['directory'], args[i + 1]))
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--build-dir', required=True)
    parser.add_argument('--source-dir', required=True)
    parser.add_argument('--clang-tidy', default='clang-tidy')
    parser.add_argument('--jobs', type=int, default=os.cpu_count() or 2)
    parser.add_argument('--skip', action='append', default=[],
                        help='a source file (relative to the source directory) not to check')
    parser.add_argument('pattern', help='regular expression over absolute source paths')
    opts = parser.parse_args()

    build_dir = os.path.abspath(opts.build_dir)
    with open(os.path.join(build_dir, 'compile_commands.json')) as f:
        skipped = {os.path.join(os.path.abspath(opts.source_dir), p) for p in opts.skip}
        entries = [e for e in json.load(f)
                   if re.search(opts.pattern, e['file']) and e['file'] not in skipped]
    files = sorted({e['file'] for e in entries})
    command_of = {e['file']: e.get('command') or ' '.join(e['arguments']) for e in entries}
    output = {e['file']: output_of(e) for e in entries}

    version = subprocess.run([opts.clang_tidy, '--version'], capture_output=True, text=True,
                             check=True).stdout
    memo = {}
    config = hashlib.sha256()
    config.update(version.encode())
    config.update(sha256_of_file(os.path.join(opts.source_dir, '.clang-tidy'), memo).encode())
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

    def check(path):
        r = subprocess.run([opts.clang_tidy, '-p', build_dir, '--quiet', '--warnings-as-errors=*',
                            # GCC's warning flags that clang does not know are not findings.
                            '--extra-arg=-Wno-unknown-warning-option', path],
                           capture_output=True, text=True)
        found = r.returncode != 0 or re.search(r'(warning|error): ', r.stdout) is not None
        if not found and keys[path]:
            open(os.path.join(cache, keys[path]), 'w').close()
        return path, found, r.stdout + r.stderr

    start = time.monotonic()
    failed = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
        for path, found, text in pool.map(check, todo):
            if found:
                failed.append(path)
                sys.stdout.write(text)
            sys.stdout.flush()

    # Only what this run used stays in the cache.
    used = {k for k in keys.values() if k}
    for name in os.listdir(cache):
        if name not in used:
            os.remove(os.path.join(cache, name))

    print('clang-tidy: %d files, %d checked (%d unchanged since found clean), %d with findings, '
          '%.0f s' % (len(files), len(todo), len(files) - len(todo), len(failed),
                      time.monotonic() - start))
    for path in failed:
        print('  findings in ' + os.path.relpath(path, opts.source_dir))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
