/* Options and the progress line of pulls from a registry, shared by `image pull` and
 * `sandbox --image docker://...`: --creds, --authfile and --tls-verify as podman and
 * skopeo spell them; --registries-conf for short names and [[registry]] tables (podman's
 * CONTAINERS_REGISTRIES_CONF as an option). */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int cli_pull_option(struct cli_pull *p, int opt, const char *arg, rc_error_t *err)
{
        switch (opt) {
        case CLI_OPT_CREDS:
                /* the value is never echoed: it may hold the password */
                if (strchr(arg, ':') == NULL)
                        return rc_error_set_status(err, EINVAL,
                                                   "--creds: expected USER:PASSWORD (the value has no ':')");
                if (arg[0] == ':')
                        return rc_error_set_status(
                                err, EINVAL, "--creds: expected USER:PASSWORD (the user name is empty)");
                p->opts.creds = arg;
                return 1;
        case CLI_OPT_AUTHFILE:
                if (access(arg, R_OK) < 0)
                        return rc_error_set(err, errno, "--authfile `%s`", arg);
                p->opts.authfile = arg;
                return 1;
        case CLI_OPT_TLS_VERIFY:
                if (arg == NULL || strcmp(arg, "true") == 0)
                        p->opts.tls_verify_off = false;
                else if (strcmp(arg, "false") == 0)
                        p->opts.tls_verify_off = true;
                else
                        return rc_error_set_status(err, EINVAL,
                                                   "--tls-verify=\"%s\": expected true or false", arg);
                return 1;
        case CLI_OPT_REGISTRIES_CONF:
                if (access(arg, R_OK) < 0)
                        return rc_error_set(err, errno, "--registries-conf `%s`", arg);
                p->opts.registries_conf = arg;
                return 1;
        }
        return 0;
}

static void human(uint64_t bytes, char *buf, size_t size)
{
        if (bytes >= 1000 * 1000)
                snprintf(buf, size, "%.1f MB", (double)bytes / 1e6);
        else
                snprintf(buf, size, "%.1f kB", (double)bytes / 1e3);
}

/* One line per blob, rewritten in place ("\r") when its percentage moves. */
static void progress(void *data, const char *digest, uint64_t done, uint64_t total)
{
        struct cli_pull *p = data;
        unsigned pct = total ? (unsigned)(done * 100 / total) : 100;
        char a[32], b[32];

        if (strncmp(p->digest, digest, sizeof(p->digest) - 1) != 0) {
                snprintf(p->digest, sizeof(p->digest), "%s", digest);
                p->pct = -1;
        }
        if ((int)pct == p->pct)
                return;
        p->pct = (int)pct;
        human(done, a, sizeof(a));
        human(total, b, sizeof(b));
        fprintf(stderr, "\rcopying blob %.19s  %s / %s  %3u%%%s", digest, a, b, pct,
                done >= total ? "\n" : "");
        fflush(stderr);
}

void cli_pull_init(struct cli_pull *p)
{
        *p = (struct cli_pull){.pct = -1};
        if (isatty(STDERR_FILENO)) {
                p->opts.progress = progress;
                p->opts.progress_data = p;
        }
}
