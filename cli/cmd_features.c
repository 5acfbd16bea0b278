/* run-container features: the runtime-spec features document, which advertises what
 * config.json may use with this runtime. */
#include "cli/cli.h"
#include "cli_help.h"

#include <errno.h>
#include <stdlib.h>

#include "runtime/base/cleanup.h"
#include "specs/config.h"

int cli_cmd_features(struct cli_context *ctx, int argc, char **argv, rc_error_t *err)
{
        static const struct option longopts[] = {
                {"help", no_argument, NULL, 'h'},
                {},
        };
        _cleanup_free_ char *doc = NULL;
        size_t len = 0;
        int opt;

        while ((opt = cli_getopt(argc, argv, ":h", longopts, "features", err)) != -1) {
                if (opt == 'h')
                        return cli_print_usage(cli_help_features);
                return -1;
        }
        if (cli_check_args("features", argc - optind, 0, 0, err) < 0)
                return -1;
        if (oci_features(&doc, &len, err) < 0)
                return rc_error_wrap(err, "generate the features document");
        if (fwrite(doc, 1, len, stdout) != len)
                return rc_error_set(err, errno, "write to stdout");
        if (len == 0 || doc[len - 1] != '\n')
                putchar('\n');
        return 0;
}
