/* Internal: the migration stream between `migrate --to unix:PATH` (the source) and
 * `migrate-receive --listen unix:PATH` (the destination), one connection per migration.
 *
 * A byte stream (AF_UNIX SOCK_STREAM, so that ssh -L or socat can carry it to another
 * host) of frames: a header of two big-endian u32, the type and the payload's length
 * (at most MW_MAX_PAYLOAD), then the payload. Only MW_FILE is followed by raw bytes.
 *
 *   source                                          destination
 *   HELLO {"protocol":1,"id","bundle","config"}  ->
 *                                                <- OK "ready" | ERROR "why"  (it
 *                       checks: the id is free, the bundle and its rootfs exist, the
 *                       config parses; on ERROR the source has dumped nothing)
 *   per round (pre-1, pre-2, ..., final), once CRIU wrote it at the source:
 *   FILE u64 size + "DIR/NAME", then size bytes ->   (DIR: pre-N or final)
 *   LINK "DIR/NAME" NUL "../DIR2"                ->   (CRIU's `parent` link)
 *   RESTORE {"tcpEstablished","extUnixSk","fileLocks","lazyPages"} ->
 *                                                <- OK "restoring" (the request is taken)
 *                                                <- OK "pid N" | ERROR "why"
 *
 * Post-copy (HELLO has "postCopy": true; one round, final, without the memory): the
 * receiver keeps listening after the HELLO, and before its RESTORE (with "lazyPages":
 * true) the source opens a second connection to the same socket, the page channel:
 *   PAGES "ID"                                   ->   (then raw bytes both ways)
 * It carries CRIU's page-server protocol between the receiver's `criu lazy-pages` (it
 * connects to a loopback port of the receiver, relayed onto the channel) and the
 * source's lazy dump (its loopback page server, connected to once the channel's first
 * byte comes); each side passes an end of stream on as a shutdown(SHUT_WR). The memory
 * has moved when both directions have ended.
 *
 * The receiver gives up on a source that sends nothing for its timeout (SO_RCVTIMEO:
 * status ETIMEDOUT) while it waits for a frame or a file's bytes, and on a page channel
 * that moves nothing for that long.
 *
 * An ERROR may come at any time; the receiver closes after it. The source keeps its own
 * copy of every image, so a failed or refused restore, or a connection lost before the
 * "restoring", lets it restore the container at the source again; a connection lost
 * after it leaves the source unable to know, and it restores nothing. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "runtime/base/error.h"

#define MW_PROTOCOL 1
#define MW_MAX_PAYLOAD (1u << 20)

enum mw_type {
        MW_HELLO = 1,
        MW_FILE = 2,
        MW_LINK = 3,
        MW_RESTORE = 4,
        MW_OK = 5,
        MW_ERROR = 6,
        MW_PAGES = 7,
};

int rc_mw_connect(const char *path, int *ret_sock, rc_error_t *err);
/* A listening socket at path, mode 0600. The path must not exist, or be a socket that
 * refuses connections (left by a receiver that was killed): that one is replaced. */
int rc_mw_listen(const char *path, int *ret_sock, rc_error_t *err);

int rc_mw_send(int sock, enum mw_type type, const void *payload, size_t len, rc_error_t *err);
/* The next frame; *ret_payload is malloc'ed and NUL-terminated. End of stream: status
 * ECONNRESET. */
int rc_mw_recv(int sock, uint32_t *ret_type, char **ret_payload, size_t *ret_len, rc_error_t *err);
/* The reply to a request: 0 on OK (*ret_msg its text, may be NULL), -1 with the
 * destination's words on ERROR (status EREMOTEIO), or the connection's error. */
int rc_mw_await(int sock, char **ret_msg, rc_error_t *err);

/* The regular files and symbolic links of the image directory `dir` (one level) of the
 * work directory workfd, as FILE and LINK frames; *sent grows by the bytes sent. */
int rc_mw_send_dir(int sock, int workfd, const char *dir, uint64_t *sent, rc_error_t *err);
/* A FILE frame's bytes into workfd (DIR made if needed); a LINK frame's link. */
int rc_mw_recv_file(int sock, int workfd, const char *payload, size_t len, uint64_t *received,
                    rc_error_t *err);
int rc_mw_make_link(int workfd, const char *payload, size_t len, rc_error_t *err);

/* Sends and receives on sock block for at most `seconds` (0: no limit); one that runs
 * out fails with status ETIMEDOUT. */
int rc_mw_set_timeout(int sock, unsigned seconds, rc_error_t *err);
/* Bytes both ways between the stream sockets a and b until both directions ended (an
 * end of stream read from one is passed on as shutdown(SHUT_WR) of the other), or an
 * error, or (idle_s > 0) idle_s seconds in which nothing moved (status ETIMEDOUT).
 * *ret_bytes: what went over, both ways. */
int rc_mw_relay(int a, int b, unsigned idle_s, uint64_t *ret_bytes, rc_error_t *err);
