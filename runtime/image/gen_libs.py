#!/usr/bin/env python3
"""Generate runtime/image/libs.h: the libarchive, libcrypto and libcurl symbols the image code and
its unit test call, each through a pointer rc_image_libs_load() fills (runtime/image/libs.c).
Run from the source root: `python3 runtime/image/gen_libs.py` rewrites the header;
`--check` (a unit-suite test in meson) fails when the header is not what it would write."""
import glob
import os
import re
import subprocess
import sys

os.chdir(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
OUT = 'runtime/image/libs.h'
src = ''.join(open(f).read() for f in sorted(glob.glob('runtime/*/*.c')) + ['tests/unit/test_image.c']
              if f != 'runtime/image/libs.c')
hdr = open('/usr/include/archive.h').read() + open('/usr/include/archive_entry.h').read()
arch = sorted(f for f in set(re.findall(r'\b(archive_[a-z_0-9]+)\s*\(', src)) if re.search(r'\b%s\s*\(' % f, hdr))
evp = open('/usr/include/openssl/evp.h').read()
cry = sorted(f for f in set(re.findall(r'\b(EVP_[A-Za-z_0-9]+)\s*\(', src)) if re.search(r'\b%s\s*\(' % f, evp))
chdr = ''.join(open(os.path.join(d, f)).read() for f in ('curl.h', 'easy.h')
               for d in ('/usr/include/curl', '/usr/include/x86_64-linux-gnu/curl') if os.path.exists(os.path.join(d, f)))
curl = sorted(f for f in set(re.findall(r'\b(curl_[a-z_0-9]+)\s*\(', src)) if re.search(r'\b%s\s*\(' % f, chdr))
def lst(name, v):
    return '#define %s(X) \\\n' % name + ' \\\n'.join('        X(%s)' % f for f in v) + '\n'
h = '''/* libarchive, libcrypto and libcurl for the image code, loaded on first use: linking them
 * costs every run-container command ~2 ms of dynamic loading (libarchive pulls in libxml2
 * and ICU, libcurl a TLS stack), while only image unpacking, commit and pulls need them.
 * Include this header instead of <archive.h>, <archive_entry.h>, <openssl/evp.h> and
 * <curl/curl.h>; the calls stay as written and go through pointers that
 * rc_image_libs_load() (and rc_image_curl_load() for pulls) fill. The symbol lists are
 * what runtime/ and tests/unit/test_image.c call: regenerate with
 * `python3 runtime/image/gen_libs.py`. */
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
/* no type-checking macros: the calls go through the pointers below */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#include "runtime/base/error.h"

''' + lst('RC_ARCHIVE_SYMBOLS', arch) + '\n' + lst('RC_CRYPTO_SYMBOLS', cry) + '\n' + lst('RC_CURL_SYMBOLS', curl) + '''
#define RC_DL_DECLARE(name) extern __typeof__(name) *rc_dl_##name;
RC_ARCHIVE_SYMBOLS(RC_DL_DECLARE)
RC_CRYPTO_SYMBOLS(RC_DL_DECLARE)
RC_CURL_SYMBOLS(RC_DL_DECLARE)
#undef RC_DL_DECLARE

/* Load libarchive and libcrypto once; every image entry point calls it first. */
int rc_image_libs_load(rc_error_t *err);
/* Load libcurl once (and the above); only pulls from a registry call it. */
int rc_image_curl_load(rc_error_t *err);

#ifndef RC_IMAGE_LIBS_IMPL
''' + ''.join('#define %s (*rc_dl_%s)\n' % (f, f) for f in arch + cry) + \
    '/* curl.h defines these two as macros of themselves */\n' + \
    ''.join(('#undef %s\n' % f if f in ('curl_easy_setopt', 'curl_easy_getinfo') else '') +
            '#define %s (*rc_dl_%s)\n' % (f, f) for f in curl) + '#endif\n'
# the header as clang-format (.clang-format of the tree) leaves it
h = subprocess.run(['clang-format', '--assume-filename=' + OUT], input=h, capture_output=True, text=True,
                   check=True).stdout
if '--check' in sys.argv[1:]:
    if open(OUT).read() != h:
        print(f'{OUT} is not what runtime/image/gen_libs.py generates: run it', file=sys.stderr)
        sys.exit(1)
    print(f'{OUT}: up to date')
else:
    open(OUT, 'w').write(h)
