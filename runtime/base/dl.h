/* Loading a shared library on first use (dlopen), so that what only some commands need
 * (image unpacking, firewall) costs nothing at the start of every other command. */
#pragma once

#include <stddef.h>

#include "runtime/base/error.h"

/* dlopen `soname` and set *slots[i] to dlsym(names[i]); a missing symbol is an error
 * naming it. */
int rc_dl_load(const char *soname, const char *const *names, void **const *slots, size_t n, rc_error_t *err);
