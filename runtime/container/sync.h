/* The create handshake between the runtime (parent) and the container init (child):
 * one SOCK_SEQPACKET socketpair, one message per packet, a fixed header plus an optional
 * payload. The receiver always states what it expects; anything else is an error.
 *
 *   parent (create)                                   init (child)
 *   clone3(new namespaces) ------------------------->  [join: setns paths, unshare new ones]
 *   (a cgroup made around the init, systemd's scope:   (its new cgroup namespace waits: the
 *   rc_cgroup_enter_after_clone: move it in)           clone leaves it out)
 *   CGROUPNS                ------------------------>  unshare(CLONE_NEWCGROUP), rooted
 *                                                      in its cgroup (before the unshare
 *                                                      of the join path)
 *   rc_netns_make: unshare a network namespace in the  (mounts that cannot see the
 *   runtime itself, setns back (deferred netns only:   network namespace)
 *   rc_netns_deferred, runtime/isolation/namespaces.h)
 *   NETNS(its fd, or errno: unshare it yourself) --->  joins it (setns) before its first
 *   lo up over the socket opened in it                 mount that can see it
 *                           <------------------------  IDMAP_REQ       (new user ns only)
 *   write uid_map, gid_map  ------------------------>  IDMAP_DONE
 *                                                      [pid/time ns joined or with offsets:
 *                                                       fork; the grandchild is the init]
 *                           <------------------------  INIT_PID(pid)   (forked init only)
 *   record pid + start time (init record, state.json)  rc_rootfs_prepare (all mounts, /dev)
 *   RECORDED                ------------------------>  (until here the init dies with its
 *                                                       creator: PR_SET_PDEATHSIG, and EOF
 *                                                       on the socket if it missed that)
 *                                                      (without the HOOKS stop the init
 *                                                       takes it at the end of its setup,
 *                                                       before READY: rc_spawn_paths.
 *                                                       recorded_late)
 *                           <------------------------  HOOKS           (hooks, network or
 *                                                                       seccomp agent only)
 *   prestart + createRuntime hooks
 *                           ------------------------>  HOOKS_DONE(payload: state JSON)
 *                                                      (both skipped without: see
 *                                                       rc_spawn_paths.hooks_sync)
 *                                                      createContainer hooks, pivot_root,
 *                                                      terminal, sysctl, rlimits, ...
 *                           <------------------------  READY
 *   state "created", --pid-file, exit                  open exec.fifo for writing: blocks
 *                                                      until `start` opens it for reading
 *   (with an init of ours, the socket stays open:      [the process runs as the init's
 *    `run` and `sandbox` keep their end)                child, runtime/isolation/reaper.h]
 *                           <------------------------  EXIT(the process' raw wait status),
 *                                                      then the init exits
 *
 * Any step of the child may instead send ERROR(errno, message) and exit; the parent
 * reports that message. EOF on the socket means the peer died: the child exits, the
 * parent reports "container init exited". */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "runtime/base/error.h"

enum rc_sync_type {
        RC_SYNC_IDMAP_REQ = 1,
        RC_SYNC_IDMAP_DONE,
        RC_SYNC_INIT_PID,
        RC_SYNC_HOOKS,
        RC_SYNC_HOOKS_DONE,
        RC_SYNC_READY,
        RC_SYNC_ERROR,
        RC_SYNC_NETNS,
        RC_SYNC_RECORDED,
        RC_SYNC_EXIT,
        RC_SYNC_CGROUPNS,
};

#define RC_SYNC_MAX_PAYLOAD (1024 * 1024)

struct rc_sync_msg {
        enum rc_sync_type type;
        int32_t value;
        char *data; /* NUL-terminated payload (malloc'ed) or NULL */
        size_t len;
};

const char *rc_sync_name(enum rc_sync_type t);

int rc_sync_send(int fd, enum rc_sync_type type, int32_t value, const void *data, size_t len,
                 rc_error_t *err);
/* A message with no payload and one fd (SCM_RIGHTS). */
int rc_sync_send_fd(int fd, enum rc_sync_type type, int32_t value, int passfd, rc_error_t *err);
/* Send err as an ERROR message (best effort). */
void rc_sync_send_error(int fd, const struct rc_error *e);

/* Receive one message and check its type. An ERROR message from the peer becomes *err
 * (its text unchanged); EOF becomes "<peer> exited before <want>". */
int rc_sync_expect(int fd, enum rc_sync_type want, const char *peer, struct rc_sync_msg *ret,
                   rc_error_t *err);
/* The same, taking the fd that came with the message: *ret_fd is -1 if none came (and on
 * error). Fds that come with any other message are closed. */
int rc_sync_expect_fd(int fd, enum rc_sync_type want, const char *peer, struct rc_sync_msg *ret, int *ret_fd,
                      rc_error_t *err);
void rc_sync_msg_clear(struct rc_sync_msg *m);
