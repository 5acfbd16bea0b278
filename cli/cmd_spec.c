/* run-container spec [OPTIONS]: write a default config.json into a bundle directory,
 * never over an existing one. */
#include "cli/cli.h"
#include "cli_help.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "specs/config.h"

static int write_config(const char *bundle, const char *doc, size_t len, rc_error_t *err)
{
        _cleanup_close_ int dirfd = -1, fd = -1;

        dirfd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return rc_error_set(err, errno, "open bundle `%s`", bundle);
        /* O_EXCL: refuse an existing file (or a symlink planted in its place) atomically */
        fd = openat(dirfd, "config.json", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0 && errno == EEXIST)
                return rc_error_set(err, 0, "file `%s/config.json` exists, remove it first", bundle);
        if (fd < 0)
                return rc_error_set(err, errno, "create `%s/config.json`", bundle);
        if (rc_write_all(fd, doc, len) < 0) {
                int saved = errno;

                (void)unlinkat(dirfd, "config.json", 0);
                return rc_error_set(err, saved, "write `%s/config.json`", bundle);
        }
        return 0;
}

int cli_cmd_spec(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        static const struct option longopts[] = {
                {"bundle", required_argument, NULL, 'b'},
                {"rootless", no_argument, NULL, CLI_OPT_ROOTLESS},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        _cleanup_free_ char *doc = NULL;
        const char *bundle = ".";
        bool rootless = false;
        size_t len = 0;
        int opt;

        while ((opt = cli_getopt(argc, argv, ":b:h", longopts, "spec", err)) != -1) {
                switch (opt) {
                case 'b':
                        bundle = optarg;
                        break;
                case CLI_OPT_ROOTLESS:
                        rootless = true;
                        break;
                case 'h':
                        return cli_print_usage(cli_help_spec);
                default:
                        return -1;
                }
        }
        if (cli_check_args("spec", argc - optind, 0, 0, err) < 0)
                return -1;
        if (oci_default_spec(rootless, &doc, &len, err) < 0)
                return rc_error_wrap(err, "generate the default configuration");
        return write_config(bundle, doc, len, err);
}
