/* Compiled seccomp filters, kept for the next container with the same profile.
 *
 * libseccomp takes ~15 ms of CPU to turn a default engine profile (~350 syscalls) into
 * BPF, more than the whole rest of a container start; every engine sends the same
 * profile again and again. The first compile writes the program to
 * <state root>/@seccomp-cache/<hash>; a later one with the same key reads it instead.
 *
 * The key is everything the BPF depends on, written out in full: the profile as parsed
 * (default action, architectures, every rule with its conditions; not the listener,
 * which only decides the load flags), the native architecture, libseccomp's version, the
 * kernel release, and this runtime's version and the builds of seccomp.c and this file. The
 * built-in default profile (oci_seccomp.builtin) is named instead of its rules by the build
 * id of the program holding its tables (--build-id hashes every byte of the program, so any
 * change to the tables changes it); a program without
 * a build id writes it out in full. The file holds the
 * whole key and is used only when its key equals ours byte for byte: the hash only names
 * the file, so no collision can substitute another profile's filter. Files are written
 * atomically (rename), 0600, in a 0700 directory of the state root; one found with
 * another owner or mode, or malformed, is ignored and replaced. The directory holds at
 * most RC_SECCOMP_CACHE_MAX files (it is emptied when full). A cache that cannot be read
 * or written only costs the compile. */
#pragma once

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/base/error.h"
#include "runtime/base/log.h"
#include "specs/config.h"

#define RC_SECCOMP_CACHE_DIR "@seccomp-cache" /* no container id can name it */
#define RC_SECCOMP_CACHE_MAX 64

/* The key of `s` as a NUL-terminated string (malloc'ed); `compiler` names the build of
 * the code that turns a profile into BPF (runtime/isolation/seccomp.c passes its __DATE__ and
 * __TIME__, so a rebuilt compiler never reads what an older one wrote). */
int rc_seccomp_cache_key(const struct oci_seccomp *s, const char *compiler, char **ret, size_t *ret_len,
                         rc_error_t *err);

/* Look the key up under `root` (the runtime's state root). Returns 1 and the program
 * (malloc'ed) on a hit, 0 on a miss (or any unusable entry, logged at debug level). */
int rc_seccomp_cache_get(const char *root, const char *key, size_t key_len, const struct rc_logger *log,
                         struct sock_filter **ret, size_t *ret_n);

/* Store the program; failures are logged at debug level and otherwise ignored. */
void rc_seccomp_cache_put(const char *root, const char *key, size_t key_len, const struct sock_filter *insns,
                          size_t n, const struct rc_logger *log);
