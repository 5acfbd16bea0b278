/* A smaller BPF program with the same output as libseccomp's, for the kernel to load.
 *
 * Loading a filter costs CPU in proportion to its length (the kernel converts the classic
 * program to eBPF, JITs it and fills its action cache by running it per syscall number):
 * ~210 us for the 1243 instructions of the sandbox's default profile on the 2-CPU test
 * host, the largest piece of `sandbox` start-up that bwrap does not do. libseccomp's
 * binary tree spends a comparison per syscall name; the allowed numbers of a profile form
 * far fewer runs (58 on x86_64, 115 on i386 for that profile).
 *
 * rc_seccomp_compact evaluates libseccomp's program per architecture value it compares
 * with and per syscall number at every point where one of its comparisons can change the
 * outcome (each constant K and K+1), with the arguments unknown. Between two such points
 * the outcome is the same, so each architecture gets a binary tree over intervals of
 * numbers; a leaf returns the action (a jump to the one `ret` per action after the
 * section's tree), or, where the outcome depends on the arguments, jumps into a verbatim
 * copy of the instructions of the original reachable from that argument load. The copy
 * and the tree are then run against the original, in an emulator, on every architecture
 * value, every interval bound and its neighbours, and argument vectors built from the
 * constants the copied code compares with; any difference, any instruction outside what
 * is modelled (anything but absolute loads of seccomp_data, jumps on constants, AND of a
 * constant, returns of constants), any operation on the number or architecture but a
 * comparison, and the original is kept.
 */
#pragma once

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Returns 1 with *ret (malloc'ed, *ret_n instructions, fewer than n) when a smaller
 * equivalent program was built and checked; 0 when the original is to be kept (or on
 * ENOMEM). */
int rc_seccomp_compact(const struct sock_filter *prog, size_t n, struct sock_filter **ret, size_t *ret_n);

/* The emulator the check uses: the program's return value for one seccomp_data (arch,
 * nr, the six arguments; instruction_pointer 0). Returns false for an instruction it does
 * not model or a jump out of the program. Exposed for the unit tests. */
bool rc_seccomp_emulate(const struct sock_filter *prog, size_t n, uint32_t arch, uint32_t nr,
                        const uint64_t args[6], uint32_t *ret);

/* This file's build (__DATE__ __TIME__), for the filter cache's key. */
const char *rc_seccomp_compact_build(void);
