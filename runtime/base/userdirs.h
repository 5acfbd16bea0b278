/* Where a runtime that is not root keeps its things by default: under the caller's own
 * directories (the XDG base directories), as runc and crun do. Root keeps the system
 * paths. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Whether the runtime runs rootless: as a user other than root, or as the root of a user
 * namespace other than the host's (as podman and other rootless engines call it: its
 * /proc/self/uid_map is not the whole identity map). Decided once per process. */
bool rc_running_rootless(void);

/* Pure: the default state root for a caller (rootless: rc_running_rootless) whose
 * XDG_RUNTIME_DIR is xdg_runtime_dir (NULL if unset): system_root for root, or when
 * xdg_runtime_dir is unset or not absolute (the error opening system_root then says
 * what to set); otherwise "<xdg_runtime_dir>/run-container", written into buf. */
const char *rc_user_state_root(bool rootless, const char *xdg_runtime_dir, const char *system_root,
                               char *buf, size_t size);

#define RC_DEFAULT_ROOT "/run/run-container"

/* The default state root: RC_DEFAULT_ROOT for root; for any other caller
 * $XDG_RUNTIME_DIR/run-container (runc's and crun's rule), RC_DEFAULT_ROOT where
 * XDG_RUNTIME_DIR is unset. Decided once per process. */
const char *rc_default_state_root(void);

/* Pure: the default image layer cache for a caller (rootless: rc_running_rootless):
 * system_cache for root; otherwise "<data>/run-container/layers" in its XDG data
 * directory (xdg_data_home if absolute, else "<home>/.local/share"), written into buf;
 * system_cache when neither is known. */
const char *rc_user_image_cache(bool rootless, const char *xdg_data_home, const char *home,
                                const char *system_cache, char *buf, size_t size);
