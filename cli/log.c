/* The log sink: library messages and the final error, one line each, in logrus' text
 * format (runc's default) or as JSON objects (--log-format json, which containerd's shim
 * parses for the last error). Every line is a single write() on an O_APPEND fd so lines
 * from several processes sharing the file never interleave. */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "specs/json.h"

int cli_log_open(struct cli_log *l, const char *path, enum cli_log_format format, rc_error_t *err)
{
        l->fd = -1;
        l->format = format;
        if (path == NULL)
                return 0;
        l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (l->fd < 0)
                return rc_error_set(err, errno, "open log file `%s`", path);
        return 0;
}

void cli_log_close(struct cli_log *l)
{
        if (l->fd >= 0)
                close(l->fd);
        l->fd = -1;
}

/* A double-quoted value as Go's %q writes it, which is what logrus' text format uses. */
static void put_quoted(FILE *f, const char *s)
{
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                switch (*p) {
                case '"':
                        fputs("\\\"", f);
                        break;
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '\r':
                        fputs("\\r", f);
                        break;
                case '\t':
                        fputs("\\t", f);
                        break;
                default:
                        if (*p < 0x20 || *p == 0x7f)
                                fprintf(f, "\\x%02x", *p);
                        else
                                fputc(*p, f);
                }
        }
        fputc('"', f);
}

static int format_text(const char *level, const char *msg, const char *time, char **ret, size_t *ret_len)
{
        FILE *f = open_memstream(ret, ret_len);
        int failed;

        if (f == NULL)
                return -1;
        fputs("time=", f);
        put_quoted(f, time);
        fprintf(f, " level=%s msg=", level);
        put_quoted(f, msg);
        fputc('\n', f);
        failed = ferror(f);
        if (fclose(f) != 0 || failed) {
                free(*ret);
                *ret = NULL;
                return -1;
        }
        return 0;
}

static int format_json(const char *level, const char *msg, const char *time, char **ret, rc_error_t *err)
{
        _cleanup_free_ char *doc = NULL;
        json_gen *g = json_gen_new(false);
        size_t len = 0;
        char *line;

        if (g == NULL)
                return rc_error_set(err, ENOMEM, "format log line");
        /* the key order of logrus' JSON formatter */
        json_gen_object_open(g);
        json_gen_kv_string(g, "level", level);
        json_gen_kv_string(g, "msg", msg);
        json_gen_kv_string(g, "time", time);
        json_gen_object_close(g);
        if (json_gen_finish(g, &doc, &len, err) < 0) {
                json_gen_free(g);
                return -1;
        }
        json_gen_free(g);
        while (len > 0 && doc[len - 1] == '\n')
                len--;
        if (asprintf(&line, "%.*s\n", (int)len, doc) < 0)
                return rc_error_set(err, ENOMEM, "format log line");
        *ret = line;
        return 0;
}

int cli_log_format_line(enum cli_log_format format, enum rc_log_level level, const char *msg,
                        const struct timespec *ts, char **ret, rc_error_t *err)
{
        const char *name = rc_log_level_name(level);
        char time[64];
        size_t len;

        if (rc_format_utc(ts, time, sizeof(time)) < 0)
                return rc_error_set(err, EOVERFLOW, "format log time");
        if (msg == NULL)
                msg = "";
        if (format == CLI_LOG_JSON)
                return format_json(name, msg, time, ret, err);
        if (format_text(name, msg, time, ret, &len) < 0)
                return rc_error_set(err, ENOMEM, "format log line");
        return 0;
}

void cli_log_write(const struct cli_log *l, enum rc_log_level level, const char *msg)
{
        _cleanup_error_ rc_error_t err = NULL;
        _cleanup_free_ char *line = NULL;
        int fd = l->fd >= 0 ? l->fd : STDERR_FILENO;
        struct timespec ts;

        if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
                ts = (struct timespec){0};
        if (cli_log_format_line(l->format, level, msg, &ts, &line, &err) < 0) {
                /* last resort: keep the message rather than lose it */
                if (asprintf(&line, "level=%s msg=%s\n", rc_log_level_name(level), msg) < 0) {
                        line = NULL;
                        return;
                }
        }
        /* nowhere left to report a failed log write */
        (void)rc_write_all(fd, line, strlen(line));
}

void cli_log_sink(void *data, enum rc_log_level level, const char *msg)
{
        cli_log_write(data, level, msg);
}
