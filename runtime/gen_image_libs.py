import re, glob, sys
src = ''.join(open(f).read() for f in sorted(glob.glob('runtime/*.c')) + ['tests/unit/test_image.c'] if f != 'runtime/image_libs.c')
hdr = open('/usr/include/archive.h').read() + open('/usr/include/archive_entry.h').read()
arch = sorted(f for f in set(re.findall(r'\b(archive_[a-z_0-9]+)\s*\(', src)) if re.search(r'\b%s\s*\(' % f, hdr))
evp = open('/usr/include/openssl/evp.h').read()
cry = sorted(f for f in set(re.findall(r'\b(EVP_[A-Za-z_0-9]+)\s*\(', src)) if re.search(r'\b%s\s*\(' % f, evp))
def lst(name, v):
    return '#define %s(X) \\\n' % name + ' \\\n'.join('        X(%s)' % f for f in v) + '\n'
h = '''/* libarchive and libcrypto for the image code, loaded on first use: linking them costs
 * every run-container command ~2 ms of dynamic loading (libarchive pulls in libxml2 and
 * ICU), while only image unpacking and commit need them. Include this header instead of
 * <archive.h>, <archive_entry.h> and <openssl/evp.h>; the calls stay as written and go
 * through pointers that rc_image_libs_load() fills. The symbol lists are what runtime/ and
 * tests/unit/test_image.c call: regenerate with `python3 runtime/gen_image_libs.py`. */
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "runtime/error.h"

''' + lst('RC_ARCHIVE_SYMBOLS', arch) + '\n' + lst('RC_CRYPTO_SYMBOLS', cry) + '''
#define RC_DL_DECLARE(name) extern __typeof__(name) *rc_dl_##name;
RC_ARCHIVE_SYMBOLS(RC_DL_DECLARE)
RC_CRYPTO_SYMBOLS(RC_DL_DECLARE)
#undef RC_DL_DECLARE

/* Load both libraries once; every image entry point calls it first. */
int rc_image_libs_load(rc_error_t *err);

#ifndef RC_IMAGE_LIBS_IMPL
''' + ''.join('#define %s (*rc_dl_%s)\n' % (f, f) for f in arch + cry) + '#endif\n'
open('runtime/image_libs.h', 'w').write(h)
