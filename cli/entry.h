/* The program's entry point (cli/entry.c) and the two facts of the command line it shares
 * with main.c: the global options and the commands that enter containers.
 *
 * In a static build on x86-64 (meson.build; a PIE or not) the program starts at rc_entry,
 * before the C library: when the command enters containers (create, run, exec, sandbox)
 * and the binary is not protected yet, it re-executes from a read-only bind there and then
 * (runtime/isolation/selfprotect.h), so the first process never starts the C library
 * (on this 2-core KVM host that start costs ~0.3 ms CPU: relocation, its page faults,
 * and glibc's CPU and cache detection, one cpuid and VM exit per leaf). Everything else
 * goes on to the C library's _start unchanged. main.c's rc_selfprotect still decides:
 * whatever the entry did not do (a command line it cannot read for sure, open_tree
 * refused), main does as before. */
#pragma once

#include <stdbool.h>

/* getopt's values of the global options without a short form */
enum {
        OPT_ROOT = 256,
        OPT_LOG,
        OPT_LOG_FORMAT,
        OPT_LOG_LEVEL,
        OPT_DEBUG,
        OPT_SYSTEMD_CGROUP,
        OPT_CGROUP_MANAGER,
        OPT_ROOTLESS,
        OPT_NETWORK_ROOT,
};

/* name, has_arg (getopt's no_argument, required_argument, optional_argument), the value
 * main.c's getopt returns. --rootless also takes its value as the next word when that is
 * a rootless value (cli_rootless_value). */
#define CLI_GLOBAL_OPTIONS(X)                                                                               \
        X("root", required_argument, OPT_ROOT)                                                              \
        X("log", required_argument, OPT_LOG)                                                                \
        X("log-format", required_argument, OPT_LOG_FORMAT)                                                  \
        X("log-level", required_argument, OPT_LOG_LEVEL)                                                    \
        X("debug", no_argument, OPT_DEBUG)                                                                  \
        X("systemd-cgroup", no_argument, OPT_SYSTEMD_CGROUP)                                                \
        X("cgroup-manager", required_argument, OPT_CGROUP_MANAGER)                                          \
        X("rootless", optional_argument, OPT_ROOTLESS)                                                      \
        X("network-root", required_argument, OPT_NETWORK_ROOT)                                              \
        X("version", no_argument, 'v')                                                                      \
        X("help", no_argument, 'h')

/* The index in argv of the command word as main.c's getopt_long finds it, or -1 when this
 * reading is not sure of it (a short option, an unknown or ambiguous one, a missing value):
 * main.c then does what is right, only later. */
int cli_command_index(int argc, char *const argv[]);

/* The commands that start processes in a container: they run from a protected binary. */
bool cli_command_enters(const char *name);

/* "true", "false" or "auto". */
bool cli_rootless_value(const char *s);
