/* The journal of a sandbox's side effects, so that whatever kills the `sandbox` process
 * (SIGKILL included) its leftovers can be found and undone.
 *
 * One append-only file per sandbox, <root>/@sandbox/<id>.journal (no container id has an
 * '@': `list` never shows it, no id names it), one line per record, each written with a single write(2)
 * before the effect it names is made; a torn last line is ignored (its effect never happened):
 *
 *   owner PID START     the sandbox process (pid + start time): always the first record
 *   dir PATH            a directory we created: removed with its contents (never across
 *                       a mount point)
 *   container ID        the runtime container: delete --force
 *   cgroup PATH         its cgroup (also recorded in its state before the mkdir)
 *   network ID          attached to a network (undone through its state directory)
 *
 * The file is created unnamed (O_TMPFILE), locked, given the owner record and only then
 * linked under its name, so a journal never exists without its owner nor unlocked while
 * the owner lives: the owner holds a POSIX write lock (fcntl F_SETLK) on it for its whole
 * life, a lock of the process, not of the open file, so that no child holding a copy of
 * the fd (the container init before it executes the job) keeps it after the owner died.
 * Teardown first stops the container (nothing may run while its directories go), then undoes
 * the records newest first, tolerating pieces already gone, and removes the journal
 * last. `gc` tears down every journal whose lock it can take and whose owner is gone. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/base/error.h"
#include "runtime/container/container.h"

#define RC_JOURNAL_DIR "@sandbox" /* under the state root; no container id can name it */
#define RC_JOURNAL_SUFFIX ".journal"
#define RC_JOURNAL_RECORD_MAX 4096

enum rc_journal_kind {
        RC_JOURNAL_OWNER,
        RC_JOURNAL_DIR_CREATED,
        RC_JOURNAL_CONTAINER,
        RC_JOURNAL_CGROUP,
        RC_JOURNAL_NETWORK,
};

struct rc_journal_entry {
        enum rc_journal_kind kind;
        char *arg;
};

struct rc_journal {
        int fd; /* O_APPEND, write-locked (fcntl F_SETLK) by the owner */
        int dirfd; /* <root>/@sandbox */
        char *id;
        char *dir_path; /* "<root>/@sandbox" */
};

/* Create <root>/@sandbox/<id>.journal with its owner record (getpid() and its start
 * time); "sandbox \"ID\" already exists" if the name is taken. */
int rc_journal_create(const char *root, const char *id, struct rc_journal **ret, rc_error_t *err);

/* Append one record (one write). */
int rc_journal_record(struct rc_journal *j, enum rc_journal_kind kind, const char *arg, rc_error_t *err);

/* Undo everything recorded, newest first, and remove the journal; *j is freed. The
 * first error is returned; teardown goes on past it as far as it can. */
int rc_journal_teardown(const struct rc_runtime *rt, struct rc_journal *j, rc_error_t *err);

/* Close without tearing down (the next gc does it); accepts NULL. */
void rc_journal_free(struct rc_journal *j);

/* Tear down every sandbox whose owner is gone. Stops starting new ones after
 * timeout_ms (0: no limit). *ret_removed (may be NULL) counts them; the first error
 * is returned after the others were tried. */
int rc_gc(const struct rc_runtime *rt, unsigned timeout_ms, size_t *ret_removed, rc_error_t *err);

/* ---- pure (unit-tested) ------------------------------------------------------------ */

const char *rc_journal_kind_name(enum rc_journal_kind kind); /* "owner", "dir", ... */

/* One record line ("dir /a\\nb\n": '\\' and '\n' escaped). Returns its length, or -1
 * if it does not fit in size (RC_JOURNAL_RECORD_MAX is always enough for a path). */
int rc_journal_format(enum rc_journal_kind kind, const char *arg, char *buf, size_t size);

/* Parse a journal: complete lines only; unknown kinds are an error. */
int rc_journal_parse(const char *data, size_t len, struct rc_journal_entry **ret, size_t *ret_n,
                     rc_error_t *err);
void rc_journal_entries_free(struct rc_journal_entry *v, size_t n);

/* The owner record's fields. */
int rc_journal_owner_parse(const char *arg, pid_t *ret_pid, uint64_t *ret_start);
