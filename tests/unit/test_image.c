/* Images: OCI layouts built here with libarchive (layers as tar, tar+gzip, tar+zstd),
 * then opened, tampered with, committed to and pruned. Each test gets a fresh temp dir
 * holding its layouts and its layer cache. Whiteout device nodes and trusted.overlay.*
 * xattrs need root: those tests are skipped otherwise. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "runtime/base/fsutil.h"
#include "runtime/image/image.h"
#include "runtime/image/internal.h"

static char tmpdir[] = "/tmp/rc-test-image-XXXXXX";
static char cache[256];

static void setup(void)
{
        rc_error_t err = NULL;

        /* the fixtures call libarchive through the same lazily loaded pointers */
        cr_assert_eq(rc_image_libs_load(&err), 0, "%s", err ? err->msg : "");
        strcpy(tmpdir, "/tmp/rc-test-image-XXXXXX");
        cr_assert_not_null(mkdtemp(tmpdir));
        snprintf(cache, sizeof(cache), "%s/cache", tmpdir);
}

static void teardown(void)
{
        int fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        rc_remove_tree_at(fd, tmpdir + 5, NULL);
        close(fd);
}

TestSuite(image, .init = setup, .fini = teardown);

/* cr_skip_test ends the test without running .fini: clean up first. */
#define skip_unless_root(why)                                                                               \
        do {                                                                                                \
                if (geteuid() != 0) {                                                                       \
                        teardown();                                                                         \
                        cr_skip_test("needs root: %s", why);                                                \
                }                                                                                           \
        } while (0)

static char *path_of(const char *rel)
{
        static char buf[4][512];
        static int i;

        i = (i + 1) % 4;
        snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, rel);
        return buf[i];
}

/* ---- building layouts ------------------------------------------------------------------ */

struct fx {
        const char *path;
        char type; /* f file, d dir, l symlink, h hardlink, c char device */
        const char *data; /* contents, symlink or hardlink target */
        unsigned rdev_major;
};

struct mem {
        char *buf;
        size_t len;
};

static la_ssize_t mem_write(struct archive *a, void *data, const void *buf, size_t len)
{
        struct mem *m = data;

        m->buf = realloc(m->buf, m->len + len);
        memcpy(m->buf + m->len, buf, len);
        m->len += len;
        return (la_ssize_t)len;
}

static struct mem make_tar(const struct fx *e, size_t n)
{
        struct archive *a = archive_write_new();
        struct mem m = {0};

        archive_write_set_format_pax_restricted(a);
        archive_write_open(a, &m, NULL, mem_write, NULL);
        for (size_t i = 0; i < n; i++) {
                struct archive_entry *ent = archive_entry_new();
                size_t len = e[i].type == 'f' && e[i].data ? strlen(e[i].data) : 0;

                archive_entry_set_pathname(ent, e[i].path);
                archive_entry_set_mtime(ent, 1700000000, 0);
                switch (e[i].type) {
                case 'd':
                        archive_entry_set_filetype(ent, AE_IFDIR);
                        archive_entry_set_perm(ent, 0755);
                        break;
                case 'l':
                        archive_entry_set_filetype(ent, AE_IFLNK);
                        archive_entry_set_symlink(ent, e[i].data);
                        break;
                case 'h':
                        archive_entry_set_filetype(ent, AE_IFREG);
                        archive_entry_set_hardlink(ent, e[i].data);
                        break;
                case 'c':
                        archive_entry_set_filetype(ent, AE_IFCHR);
                        archive_entry_set_rdevmajor(ent, e[i].rdev_major);
                        archive_entry_set_rdevminor(ent, e[i].rdev_major ? 3 : 0);
                        break;
                default:
                        archive_entry_set_filetype(ent, AE_IFREG);
                        archive_entry_set_perm(ent, 0644);
                        archive_entry_set_size(ent, (la_int64_t)len);
                }
                cr_assert_eq(archive_write_header(a, ent), ARCHIVE_OK, "%s", archive_error_string(a));
                if (len > 0)
                        archive_write_data(a, e[i].data, len);
                archive_entry_free(ent);
        }
        archive_write_close(a);
        archive_write_free(a);
        return m;
}

static struct mem compress(const struct mem *in, char how)
{
        struct archive *a;
        struct archive_entry *e;
        struct mem m = {0};

        if (how == 'n') {
                m.buf = malloc(in->len);
                memcpy(m.buf, in->buf, in->len);
                m.len = in->len;
                return m;
        }
        a = archive_write_new();
        cr_assert_eq(how == 'z' ? archive_write_add_filter_zstd(a) : archive_write_add_filter_gzip(a),
                     ARCHIVE_OK);
        archive_write_set_format_raw(a);
        archive_write_set_bytes_in_last_block(a, 1);
        archive_write_open(a, &m, NULL, mem_write, NULL);
        e = archive_entry_new();
        archive_entry_set_filetype(e, AE_IFREG);
        archive_write_header(a, e);
        archive_entry_free(e);
        archive_write_data(a, in->buf, in->len);
        archive_write_close(a);
        archive_write_free(a);
        return m;
}

static char *sha(const void *buf, size_t len)
{
        char *d = NULL;
        rc_error_t err = NULL;

        cr_assert_eq(rc_sha256_digest(buf, len, &d, &err), 0);
        return d;
}

/* Write buf as a blob of layout (a dir under tmpdir); returns its digest. */
static char *put_blob(const char *layout, const void *buf, size_t len)
{
        char *d = sha(buf, len), p[1024];
        FILE *f;

        snprintf(p, sizeof(p), "mkdir -p %s/blobs/sha256", path_of(layout));
        cr_assert_eq(system(p), 0);
        snprintf(p, sizeof(p), "%s/blobs/sha256/%s", path_of(layout), d + 7);
        f = fopen(p, "w");
        cr_assert_not_null(f);
        fwrite(buf, 1, len, f);
        fclose(f);
        return d;
}

struct layer {
        char *digest, *diff_id, *media;
        size_t size;
};

static struct layer add_layer(const char *layout, const struct fx *e, size_t n, char how)
{
        struct mem tar = make_tar(e, n), blob = compress(&tar, how);
        struct layer l = {.diff_id = sha(tar.buf, tar.len), .size = blob.len};

        l.digest = put_blob(layout, blob.buf, blob.len);
        l.media = how == 'g'   ? "application/vnd.oci.image.layer.v1.tar+gzip"
                  : how == 'z' ? "application/vnd.oci.image.layer.v1.tar+zstd"
                               : "application/vnd.oci.image.layer.v1.tar";
        free(tar.buf);
        free(blob.buf);
        return l;
}

/* Config + manifest for the layers; returns the manifest descriptor as JSON. */
static char *add_image(const char *layout, const struct layer *l, size_t n, const char *config_extra)
{
        char config[4096], manifest[4096], *desc = NULL;
        size_t c = 0, m = 0;
        char *cd, *md;

        c += (size_t)snprintf(
                config + c, sizeof(config) - c,
                "{\"architecture\":\"amd64\",\"os\":\"linux\",%s\"rootfs\":{\"type\":\"layers\","
                "\"diff_ids\":[",
                config_extra ? config_extra : "");
        for (size_t i = 0; i < n; i++)
                c += (size_t)snprintf(config + c, sizeof(config) - c, "%s\"%s\"", i ? "," : "",
                                      l[i].diff_id);
        c += (size_t)snprintf(config + c, sizeof(config) - c, "]}}");
        cd = put_blob(layout, config, c);
        m += (size_t)snprintf(manifest + m, sizeof(manifest) - m,
                              "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\","
                              "\"digest\":\"%s\",\"size\":%zu},\"layers\":[",
                              RC_MEDIA_OCI_MANIFEST, RC_MEDIA_OCI_CONFIG, cd, c);
        for (size_t i = 0; i < n; i++)
                m += (size_t)snprintf(manifest + m, sizeof(manifest) - m,
                                      "%s{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}",
                                      i ? "," : "", l[i].media, l[i].digest, l[i].size);
        m += (size_t)snprintf(manifest + m, sizeof(manifest) - m, "]}");
        md = put_blob(layout, manifest, m);
        cr_assert_geq(asprintf(&desc, "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu",
                               RC_MEDIA_OCI_MANIFEST, md, m),
                      0);
        free(cd);
        free(md);
        return desc;
}

static void write_file(const char *path, const char *s)
{
        FILE *f = fopen(path, "w");

        cr_assert_not_null(f, "%s: %s", path, strerror(errno));
        fputs(s, f);
        fclose(f);
}

/* index.json naming each descriptor with its tag (NULL: no annotation). */
static void write_index(const char *layout, char **descs, const char **tags, size_t n)
{
        char idx[8192], p[600];
        size_t k = 0;

        k += (size_t)snprintf(idx, sizeof(idx), "{\"schemaVersion\":2,\"manifests\":[");
        for (size_t i = 0; i < n; i++) {
                k += (size_t)snprintf(idx + k, sizeof(idx) - k, "%s%s", i ? "," : "", descs[i]);
                if (tags[i])
                        k += (size_t)snprintf(idx + k, sizeof(idx) - k,
                                              ",\"annotations\":{\"" RC_ANNOTATION_REF_NAME "\":\"%s\"}",
                                              tags[i]);
                k += (size_t)snprintf(idx + k, sizeof(idx) - k, "}");
        }
        snprintf(idx + k, sizeof(idx) - k, "]}");
        snprintf(p, sizeof(p), "%s/index.json", path_of(layout));
        write_file(p, idx);
        snprintf(p, sizeof(p), "%s/oci-layout", path_of(layout));
        write_file(p, "{\"imageLayoutVersion\":\"1.0.0\"}");
}

/* A one-image layout tagged "latest" from entries; returns the layer. */
static struct layer simple_layout(const char *layout, const struct fx *e, size_t n, char how,
                                  const char *extra)
{
        struct layer l = add_layer(layout, e, n, how);
        char *desc = add_image(layout, &l, 1, extra);
        const char *tag = "latest";

        write_index(layout, &desc, &tag, 1);
        free(desc);
        return l;
}

static struct rc_image *open_ok(const char *ref)
{
        struct rc_image *img = NULL;
        rc_error_t err = NULL;
        int r = rc_image_open(cache, ref, NULL, NULL, &img, &err);

        cr_assert_eq(r, 0, "open %s: %s", ref, err ? err->msg : "?");
        return img;
}

static char *open_fails(const char *ref)
{
        struct rc_image *img = NULL;
        rc_error_t err = NULL;
        char *msg;

        cr_assert_lt(rc_image_open(cache, ref, NULL, NULL, &img, &err), 0, "open %s succeeded", ref);
        cr_assert_not_null(err);
        msg = strdup(err->msg);
        rc_error_free(&err);
        return msg;
}

static char *read_text(const char *path)
{
        static char buf[4096];
        FILE *f = fopen(path, "r");
        size_t n;

        cr_assert_not_null(f, "%s: %s", path, strerror(errno));
        n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
        return buf;
}

static size_t count_entries(const char *dir)
{
        char cmd[600];
        FILE *p;
        size_t n = 0;

        snprintf(cmd, sizeof(cmd), "ls -A %s 2>/dev/null | wc -l", dir);
        p = popen(cmd, "r");
        cr_assert_eq(fscanf(p, "%zu", &n), 1);
        pclose(p);
        return n;
}

static const struct fx base_entries[] = {
        {"./", 'd', NULL, 0},
        {"etc/", 'd', NULL, 0},
        {"etc/passwd", 'f', "root:x:0:0\n", 0},
        {"etc/hostname", 'f', "base\n", 0},
        {"dir/", 'd', NULL, 0},
        {"dir/a", 'f', "a\n", 0},
        {"bin/", 'd', NULL, 0},
        {"bin/sh", 'f', "#!\n", 0},
        {"bin/link", 'h', "bin/sh", 0},
        {"usr/sym", 'l', "/bin/sh", 0},
};
#define N_BASE (sizeof(base_entries) / sizeof(base_entries[0]))

/* ---- references and resolution ----------------------------------------------------------- */

Test(image, ref_parse)
{
        struct rc_image_ref r;
        rc_error_t err = NULL;

        cr_assert_eq(rc_image_ref_parse("/x/layout:v1", &r, &err), 0);
        cr_assert_str_eq(r.path, "/x/layout");
        cr_assert_str_eq(r.tag, "v1");
        cr_assert_not(r.archive);
        rc_image_ref_clear(&r);
        cr_assert_eq(rc_image_ref_parse("oci-archive:/x/a.tar:t_2", &r, &err), 0);
        cr_assert(r.archive);
        cr_assert_str_eq(r.path, "/x/a.tar");
        cr_assert_str_eq(r.tag, "t_2");
        rc_image_ref_clear(&r);
        cr_assert_eq(rc_image_ref_parse("rel/dir", &r, &err), 0);
        cr_assert_null(r.tag);
        rc_image_ref_clear(&r);
        /* an existing path with a colon is taken whole */
        cr_assert_eq(mkdir(path_of("a:b"), 0755), 0);
        cr_assert_eq(rc_image_ref_parse(path_of("a:b"), &r, &err), 0);
        cr_assert_null(r.tag);
        rc_image_ref_clear(&r);
        cr_assert_lt(rc_image_ref_parse("/x:bad/tag:", &r, &err), 0);
        rc_error_free(&err);
        cr_assert_lt(rc_image_ref_parse("/x:-bad", &r, &err), 0);
        cr_assert(strstr(err->msg, "invalid tag"));
        rc_error_free(&err);
}

Test(image, resolves_tags_and_reads_config)
{
        static const struct fx a[] = {{"a.txt", 'f', "image a\n", 0}};
        static const struct fx b[] = {{"b.txt", 'f', "image b\n", 0}};
        struct layer la = add_layer("L", a, 1, 'g'), lb = add_layer("L", b, 1, 'g');
        char *descs[2] = {
                add_image("L", &la, 1, NULL),
                add_image("L", &lb, 1,
                          "\"config\":{\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":[\"echo hi\"],"
                          "\"Env\":[\"A=1\",\"PATH=/bin\"],\"WorkingDir\":\"/w\",\"User\":\"1000:1000\"},")};
        const char *tags[2] = {"one", "two"};
        struct rc_image *img;
        char ref[600], *msg;

        write_index("L", descs, tags, 2);
        snprintf(ref, sizeof(ref), "%s:one", path_of("L"));
        img = open_ok(ref);
        cr_assert_eq(img->n_layers, 1);
        cr_assert_str_eq(img->layer_digests[0], la.digest);
        cr_assert_str_eq(img->diff_ids[0], la.diff_id);
        snprintf(ref, sizeof(ref), "%s/a.txt", img->layer_dirs[0]);
        cr_assert_str_eq(read_text(ref), "image a\n");
        rc_image_free(img);

        snprintf(ref, sizeof(ref), "%s:two", path_of("L"));
        img = open_ok(ref);
        cr_assert_str_eq(img->layer_digests[0], lb.digest);
        cr_assert_str_eq(img->entrypoint[0], "/bin/sh");
        cr_assert_str_eq(img->entrypoint[1], "-c");
        cr_assert_null(img->entrypoint[2]);
        cr_assert_str_eq(img->cmd[0], "echo hi");
        cr_assert_str_eq(img->env[1], "PATH=/bin");
        cr_assert_str_eq(img->workdir, "/w");
        cr_assert_str_eq(img->user, "1000:1000");
        rc_image_free(img);

        snprintf(ref, sizeof(ref), "%s:three", path_of("L"));
        msg = open_fails(ref);
        cr_assert(strstr(msg, "no image tagged \"three\"") && strstr(msg, "one, two"), "%s", msg);
        free(msg);
        msg = open_fails(path_of("L")); /* two images, no "latest" */
        cr_assert(strstr(msg, "name a tag"), "%s", msg);
        free(msg);
        free(descs[0]);
        free(descs[1]);
}

Test(image, nested_index_picks_this_machines_platform)
{
        static const struct fx other[] = {{"which", 'f', "other\n", 0}};
        static const struct fx mine[] = {{"which", 'f', "mine\n", 0}};
        struct layer lo = add_layer("L", other, 1, 'g'), lm = add_layer("L", mine, 1, 'g');
        char *dother = add_image("L", &lo, 1, NULL), *dmine = add_image("L", &lm, 1, NULL),
             *index_desc = NULL;
        char nested[2048], p[600];
        const char *tag = "multi";
        struct rc_image *img;
        char *digest;
        int n;

        n = snprintf(nested, sizeof(nested),
                     "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":["
                     "%s,\"platform\":{\"os\":\"linux\",\"architecture\":\"not-%s\"}},"
                     "%s,\"platform\":{\"os\":\"linux\",\"architecture\":\"%s\"}}]}",
                     RC_MEDIA_OCI_INDEX, dother, rc_image_host_arch(), dmine, rc_image_host_arch());
        digest = put_blob("L", nested, (size_t)n);
        cr_assert_geq(asprintf(&index_desc, "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%d",
                               RC_MEDIA_OCI_INDEX, digest, n),
                      0);
        write_index("L", &index_desc, &tag, 1);
        img = open_ok(path_of("L:multi"));
        snprintf(p, sizeof(p), "%s/which", img->layer_dirs[0]);
        cr_assert_str_eq(read_text(p), "mine\n");
        cr_assert_str_eq(img->layer_digests[0], lm.digest);
        rc_image_free(img);
        free(dother);
        free(dmine);
        free(index_desc);
        free(digest);
}

Test(image, unpacks_gzip_zstd_and_plain_tar)
{
        const char how[] = {'g', 'z', 'n'};

        for (size_t i = 0; i < 3; i++) {
                char layout[8], p[600];
                struct rc_image *img;
                struct stat st, st2;

                snprintf(layout, sizeof(layout), "L%c", how[i]);
                simple_layout(layout, base_entries, N_BASE, how[i], NULL);
                img = open_ok(path_of(layout));
                snprintf(p, sizeof(p), "%s/etc/passwd", img->layer_dirs[0]);
                cr_assert_str_eq(read_text(p), "root:x:0:0\n");
                snprintf(p, sizeof(p), "%s/bin/sh", img->layer_dirs[0]);
                cr_assert_eq(stat(p, &st), 0);
                cr_assert_eq(st.st_nlink, 2, "hardlink kept");
                cr_assert_eq(st.st_mtime, 1700000000);
                snprintf(p, sizeof(p), "%s/bin/link", img->layer_dirs[0]);
                cr_assert_eq(stat(p, &st2), 0);
                cr_assert_eq(st.st_ino, st2.st_ino);
                snprintf(p, sizeof(p), "%s/usr/sym", img->layer_dirs[0]);
                cr_assert_eq(lstat(p, &st), 0);
                cr_assert(S_ISLNK(st.st_mode));
                rc_image_free(img);
        }
}

/* ---- verification --------------------------------------------------------------------------- */

Test(image, tampered_layer_is_rejected_with_both_digests)
{
        struct layer l = simple_layout("L", base_entries, N_BASE, 'g', NULL);
        char p[600], *msg;
        int fd;
        struct stat st;

        snprintf(p, sizeof(p), "%s/blobs/sha256/%s", path_of("L"), l.digest + 7);
        fd = open(p, O_RDWR | O_CLOEXEC);
        cr_assert_geq(fd, 0);
        cr_assert_eq(fstat(fd, &st), 0);
        cr_assert_eq(pwrite(fd, "\xff", 1, st.st_size / 2), 1); /* inside the deflate stream */
        close(fd);
        msg = open_fails(path_of("L"));
        cr_assert(strstr(msg, "digest mismatch"), "%s", msg);
        cr_assert(strstr(msg, l.digest), "expected digest named: %s", msg);
        cr_assert(strstr(msg, "got sha256:"), "%s", msg);
        free(msg);
        /* nothing entered the cache, nothing was left behind */
        snprintf(p, sizeof(p), "%s/sha256", cache);
        cr_assert_eq(count_entries(p), 0);
        snprintf(p, sizeof(p), "%s/tmp", cache);
        cr_assert_eq(count_entries(p), 0);
}

Test(image, tampered_manifest_is_rejected)
{
        simple_layout("L", base_entries, N_BASE, 'g', NULL);
        char cmd[1024], *msg;

        /* rewrite the manifest blob (the one naming the layer) */
        snprintf(cmd, sizeof(cmd),
                 "cd %s/blobs/sha256 && f=$(grep -l '\"layers\"' *) && sed -i "
                 "'s/schemaVersion\":2/schemaVersion\": 2/' $f",
                 path_of("L"));
        cr_assert_eq(system(cmd), 0);
        msg = open_fails(path_of("L"));
        cr_assert(strstr(msg, "digest mismatch"), "%s", msg);
        free(msg);
}

Test(image, diff_id_mismatch_is_rejected)
{
        struct layer l = add_layer("L", base_entries, N_BASE, 'g');
        char *desc, *msg;
        const char *tag = "latest";
        char *real = l.diff_id;

        l.diff_id = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
        desc = add_image("L", &l, 1, NULL);
        write_index("L", &desc, &tag, 1);
        msg = open_fails(path_of("L"));
        cr_assert(strstr(msg, "diff_id mismatch") && strstr(msg, real) && strstr(msg, l.diff_id), "%s", msg);
        free(msg);
        free(desc);
}

static void refused(const struct fx *e, size_t n, const char *what)
{
        char *msg;

        simple_layout("L", e, n, 'g', NULL);
        msg = open_fails(path_of("L"));
        cr_assert(strstr(msg, "refused"), "%s: %s", what, msg);
        free(msg);
}

Test(image, path_traversal_is_refused)
{
        static const struct fx dotdot[] = {{"ok", 'f', "x", 0}, {"../evil", 'f', "pwned", 0}};
        static const struct fx inner[] = {{"a/../../evil", 'f', "pwned", 0}};
        static const struct fx abs[] = {{"/evil", 'f', "pwned", 0}};
        static const struct fx hard[] = {{"h", 'h', "../evil", 0}};
        static const struct fx dev[] = {{"dev/mem", 'c', NULL, 1}};

        refused(dotdot, 2, "../");
        refused(inner, 1, "a/../../");
        refused(abs, 1, "absolute");
        refused(hard, 1, "hardlink ../");
        refused(dev, 1, "device node");
        cr_assert_eq(access(path_of("evil"), F_OK), -1);
        cr_assert_eq(access(path_of("cache/evil"), F_OK), -1);
        cr_assert_eq(access(path_of("cache/tmp/evil"), F_OK), -1);
        cr_assert_eq(count_entries(path_of("cache/tmp")), 0);
}

Test(image, symlinks_in_the_layer_stay_inside_it)
{
        char target[600], *msg;
        struct fx esc[] = {{"esc", 'l', target, 0}, {"esc/pwned", 'f', "x", 0}};
        static const struct fx inside[] = {{"rel", 'l', "../../../../..", 0},
                                           {"rel/pwned", 'f', "y", 0},
                                           {"abs", 'l', "/", 0},
                                           {"abs/etc/pwned", 'f', "z", 0}};
        struct rc_image *img;
        char p[700];

        /* a symlink to a host directory: resolved in the layer, where it does not exist */
        cr_assert_eq(mkdir(path_of("outside"), 0755), 0);
        snprintf(target, sizeof(target), "%s", path_of("outside"));
        simple_layout("L", esc, 2, 'g', NULL);
        msg = open_fails(path_of("L"));
        free(msg);
        cr_assert_eq(count_entries(path_of("outside")), 0, "a file was written through the symlink");

        /* symlinks climbing out or pointing at / land in the layer's own root */
        simple_layout("L2", inside, 4, 'g', NULL);
        img = open_ok(path_of("L2"));
        snprintf(p, sizeof(p), "%s/pwned", img->layer_dirs[0]);
        cr_assert_str_eq(read_text(p), "y");
        snprintf(p, sizeof(p), "%s/etc/pwned", img->layer_dirs[0]);
        cr_assert_str_eq(read_text(p), "z");
        cr_assert_eq(access("/etc/pwned", F_OK), -1);
        rc_image_free(img);
}

/* ---- whiteouts ----------------------------------------------------------------------------- */

Test(image, oci_whiteouts_become_overlayfs_whiteouts)
{
        static const struct fx e[] = {{"etc/", 'd', NULL, 0},        {"etc/.wh.passwd", 'f', NULL, 0},
                                      {"dir/", 'd', NULL, 0},        {"dir/.wh..wh..opq", 'f', NULL, 0},
                                      {"dir/new", 'f', "n", 0},      {"gone/.wh.x", 'f', NULL, 0},
                                      {".wh..wh.plnk", 'f', NULL, 0}};
        struct rc_image *img;
        struct stat st;
        char p[600], v[8];

        skip_unless_root("trusted.overlay.opaque xattrs (and 0/0 device nodes on older kernels)");
        simple_layout("L", e, sizeof(e) / sizeof(e[0]), 'g', NULL);
        img = open_ok(path_of("L"));
        snprintf(p, sizeof(p), "%s/etc/passwd", img->layer_dirs[0]);
        cr_assert_eq(lstat(p, &st), 0);
        cr_assert(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0), "whiteout is a 0/0 char device");
        snprintf(p, sizeof(p), "%s/etc/.wh.passwd", img->layer_dirs[0]);
        cr_assert_eq(access(p, F_OK), -1);
        snprintf(p, sizeof(p), "%s/dir", img->layer_dirs[0]);
        cr_assert_eq(getxattr(p, RC_OPAQUE_XATTR, v, sizeof(v)), 1);
        cr_assert_eq(v[0], 'y');
        snprintf(p, sizeof(p), "%s/dir/.wh..wh..opq", img->layer_dirs[0]);
        cr_assert_eq(access(p, F_OK), -1);
        snprintf(p, sizeof(p), "%s/gone/x", img->layer_dirs[0]);
        cr_assert_eq(lstat(p, &st), 0, "whiteout under a directory the tar does not list");
        snprintf(p, sizeof(p), "%s/.wh..wh.plnk", img->layer_dirs[0]);
        cr_assert_eq(access(p, F_OK), -1, "aufs metadata skipped");
        rc_image_free(img);
}

/* Read a layer blob of a layout into "path type" lines. */
static char *list_layer(const char *layout, const char *digest)
{
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        char p[600];
        static char out[8192];
        size_t k = 0;

        snprintf(p, sizeof(p), "%s/blobs/sha256/%s", path_of(layout), digest + 7);
        archive_read_support_filter_gzip(a);
        archive_read_support_format_tar(a);
        cr_assert_eq(archive_read_open_filename(a, p, 65536), ARCHIVE_OK);
        out[0] = '\0';
        while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
                char t = archive_entry_hardlink(e)               ? 'h'
                         : archive_entry_filetype(e) == AE_IFDIR ? 'd'
                         : archive_entry_filetype(e) == AE_IFLNK ? 'l'
                         : archive_entry_filetype(e) == AE_IFREG ? 'f'
                                                                 : '?';
                k += (size_t)snprintf(out + k, sizeof(out) - k, "%s %c\n", archive_entry_pathname(e), t);
        }
        archive_read_free(a);
        return out;
}

Test(image, commit_converts_whiteouts_back_and_the_new_tag_sees_the_change)
{
        struct rc_image *base, *img;
        rc_error_t err = NULL;
        char p[600], ref[600], *list;
        struct stat st;

        skip_unless_root("0/0 device nodes and trusted.overlay.opaque in the upper dir");
        simple_layout("L", base_entries, N_BASE, 'g', "\"config\":{\"Cmd\":[\"/bin/sh\"]},");
        base = open_ok(path_of("L"));
        /* what a job leaves in an overlay upper dir */
        snprintf(p, sizeof(p), "mkdir -p %s/up/etc %s/up/dir %s/up/new && echo hello > %s/up/new/file",
                 path_of(""), path_of(""), path_of(""), path_of(""));
        cr_assert_eq(system(p), 0);
        cr_assert_eq(mknod(path_of("up/etc/passwd"), S_IFCHR | 0, makedev(0, 0)), 0, "%s", strerror(errno));
        cr_assert_eq(setxattr(path_of("up/dir"), RC_OPAQUE_XATTR, "y", 1, 0), 0);
        cr_assert_eq(setxattr(path_of("up/new/file"), "trusted.overlay.origin", "zz", 2, 0), 0);
        write_file(path_of("up/dir/b"), "b\n");

        snprintf(ref, sizeof(ref), "%s:v2", path_of("L"));
        cr_assert_eq(rc_image_commit(cache, base, path_of("up"), ref, NULL, NULL, &err), 0, "%s",
                     err ? err->msg : "");
        img = open_ok(ref);
        cr_assert_eq(img->n_layers, 2);
        cr_assert_str_eq(img->layer_digests[0], base->layer_digests[0]);
        cr_assert_str_eq(img->layer_dirs[0], base->layer_dirs[0], "the base layer is shared");
        cr_assert_str_eq(img->cmd[0], "/bin/sh", "config carried over");

        list = list_layer("L", img->layer_digests[1]);
        cr_assert(strstr(list, "etc/.wh.passwd f\n"), "%s", list);
        cr_assert(strstr(list, "dir/.wh..wh..opq f\n"), "%s", list);
        cr_assert(strstr(list, "dir/b f\n") && strstr(list, "new/file f\n"), "%s", list);
        cr_assert_null(strstr(list, "etc/passwd f"), "%s", list);

        /* and back: the unpacked new layer has overlayfs' whiteout and opaque dir */
        snprintf(p, sizeof(p), "%s/etc/passwd", img->layer_dirs[1]);
        cr_assert_eq(lstat(p, &st), 0);
        cr_assert(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
        snprintf(p, sizeof(p), "%s/dir", img->layer_dirs[1]);
        cr_assert_eq(getxattr(p, RC_OPAQUE_XATTR, NULL, 0), 1);
        snprintf(p, sizeof(p), "%s/new/file", img->layer_dirs[1]);
        cr_assert_str_eq(read_text(p), "hello\n");
        cr_assert_eq(getxattr(p, "trusted.overlay.origin", NULL, 0), -1,
                     "overlayfs xattrs are not committed");

        /* the old tag still resolves to the base */
        rc_image_free(img);
        img = open_ok(path_of("L:latest"));
        cr_assert_eq(img->n_layers, 1);
        rc_image_free(img);
        rc_image_free(base);
}

Test(image, commit_into_a_new_layout_copies_the_base_blobs)
{
        struct rc_image *base, *img;
        rc_error_t err = NULL;
        char p[600], ref[600];
        struct layer l = simple_layout("L", base_entries, N_BASE, 'g', NULL);

        base = open_ok(path_of("L"));
        cr_assert_eq(mkdir(path_of("up"), 0755), 0);
        write_file(path_of("up/added"), "added\n");
        snprintf(ref, sizeof(ref), "%s/new/layout:snap", tmpdir);
        cr_assert_eq(rc_image_commit(cache, base, path_of("up"), ref, NULL, NULL, &err), 0, "%s",
                     err ? err->msg : "");
        snprintf(p, sizeof(p), "%s/blobs/sha256/%s", path_of("new/layout"), l.digest + 7);
        cr_assert_eq(access(p, F_OK), 0, "base layer blob copied");
        cr_assert_eq(access(path_of("new/layout/oci-layout"), F_OK), 0);
        rc_image_free(base);
        /* the new layout stands on its own */
        snprintf(p, sizeof(p), "rm -rf %s", path_of("L"));
        cr_assert_eq(system(p), 0);
        img = open_ok(ref);
        snprintf(p, sizeof(p), "%s/added", img->layer_dirs[1]);
        cr_assert_str_eq(read_text(p), "added\n");
        rc_image_free(img);
        /* a second commit with the same tag moves it; the index keeps one entry per tag */
        cr_assert_eq(rc_image_commit(cache, NULL, path_of("up"), ref, NULL, NULL, &err), 0, "%s",
                     err ? err->msg : "");
        img = open_ok(ref);
        cr_assert_eq(img->n_layers, 1, "single-layer image without a base");
        rc_image_free(img);
        cr_assert_null(strstr(strstr(read_text(path_of("new/layout/index.json")), "snap") + 1, "\"snap\""));
}

Test(image, commit_keeps_fractions_in_the_base_config)
{
        struct rc_image *base, *img;
        rc_error_t err = NULL;
        char ref[600];

        simple_layout("L", base_entries, N_BASE, 'g',
                      "\"config\":{\"Cmd\":[\"x\"],\"Labels\":{\"a\":\"b\"}},\"x-ratio\":0.25,");
        base = open_ok(path_of("L"));
        cr_assert_eq(mkdir(path_of("up"), 0755), 0);
        write_file(path_of("up/f"), "f\n");
        snprintf(ref, sizeof(ref), "%s:frac", path_of("L"));
        cr_assert_eq(rc_image_commit(cache, base, path_of("up"), ref, NULL, NULL, &err), 0, "%s",
                     err ? err->msg : "");
        img = open_ok(ref);
        cr_assert_not_null(strstr(img->config_json, "\"x-ratio\":0.25"), "%s", img->config_json);
        cr_assert_str_eq(img->cmd[0], "x");
        rc_image_free(img);
        rc_image_free(base);
}

/* ---- the cache ------------------------------------------------------------------------------ */

Test(image, two_opens_share_one_cached_copy)
{
        struct rc_image *a, *b;
        char **digests = NULL;
        size_t n = 0;
        rc_error_t err = NULL;
        struct stat sa, sb;
        char p[600];

        simple_layout("L", base_entries, N_BASE, 'g', NULL);
        a = open_ok(path_of("L"));
        b = open_ok(path_of("L"));
        cr_assert_str_eq(a->layer_dirs[0], b->layer_dirs[0]);
        snprintf(p, sizeof(p), "%s/etc/passwd", a->layer_dirs[0]);
        cr_assert_eq(stat(p, &sa), 0);
        snprintf(p, sizeof(p), "%s/etc/passwd", b->layer_dirs[0]);
        cr_assert_eq(stat(p, &sb), 0);
        cr_assert_eq(sa.st_ino, sb.st_ino);
        cr_assert_eq(rc_image_cache_list(cache, &digests, &n, &err), 0);
        cr_assert_eq(n, 1);
        cr_assert_str_eq(digests[0], a->layer_digests[0]);
        for (size_t i = 0; i < n; i++)
                free(digests[i]);
        free(digests);
        rc_image_free(a);
        rc_image_free(b);
}

Test(image, concurrent_opens_unpack_once)
{
        enum { N = 6 };
        pid_t pids[N];
        char p[600];

        simple_layout("L", base_entries, N_BASE, 'z', NULL);
        for (int i = 0; i < N; i++) {
                pids[i] = fork();
                cr_assert_geq(pids[i], 0);
                if (pids[i] == 0) {
                        struct rc_image *img = NULL;
                        rc_error_t err = NULL;
                        _exit(rc_image_open(cache, path_of("L"), NULL, NULL, &img, &err) == 0 ? 0 : 1);
                }
        }
        for (int i = 0; i < N; i++) {
                int status;
                cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
                cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d failed", i);
        }
        snprintf(p, sizeof(p), "%s/sha256", cache);
        cr_assert_eq(count_entries(p), 1);
        snprintf(p, sizeof(p), "%s/tmp", cache);
        cr_assert_eq(count_entries(p), 0, "no temp dir left behind");
}

Test(image, prune_keeps_layers_in_use)
{
        struct rc_image *img;
        rc_error_t err = NULL;
        size_t removed = 99;
        uint64_t bytes = 0;
        bool in_use = false;
        char p[600];

        simple_layout("L", base_entries, N_BASE, 'g', NULL);
        img = open_ok(path_of("L"));
        cr_assert_eq(rc_image_cache_layer_info(cache, img->layer_digests[0], &bytes, &in_use, &err), 0);
        cr_assert(in_use);
        cr_assert_gt(bytes, 0);
        cr_assert_eq(rc_image_cache_prune(cache, NULL, &removed, &err), 0, "%s", err ? err->msg : "");
        cr_assert_eq(removed, 0);
        cr_assert_eq(access(img->layer_dirs[0], F_OK), 0);
        cr_assert_eq(rc_image_cache_layer_info(cache, img->layer_digests[0], &bytes, &in_use, &err), 0);
        cr_assert(in_use, "layer_info must not release the user's lock");
        rc_image_free(img);
        cr_assert_eq(rc_image_cache_prune(cache, NULL, &removed, &err), 0);
        cr_assert_eq(removed, 1);
        snprintf(p, sizeof(p), "%s/sha256", cache);
        cr_assert_eq(count_entries(p), 0);
        snprintf(p, sizeof(p), "%s/locks", cache);
        cr_assert_eq(count_entries(p), 0);
        snprintf(p, sizeof(p), "%s/tmp", cache);
        cr_assert_eq(count_entries(p), 0);
        /* and it comes back on the next open */
        img = open_ok(path_of("L"));
        rc_image_free(img);
}

Test(image, clean_tmp_removes_only_abandoned_dirs)
{
        struct rc_layer_cache c;
        rc_error_t err = NULL;
        char *name = NULL, p[600];
        size_t removed = 0;
        int live;

        cr_assert_eq(rc_layer_cache_open(cache, &c, &err), 0);
        live = rc_layer_cache_mktemp(&c, "live", &name, &err);
        cr_assert_geq(live, 0);
        snprintf(p, sizeof(p), "mkdir -p %s/tmp/unpack-dead.123/a/b && touch %s/tmp/unpack-dead.123/a/b/c",
                 cache, cache);
        cr_assert_eq(system(p), 0);
        cr_assert_eq(rc_image_cache_clean_tmp(cache, NULL, &removed, &err), 0);
        cr_assert_eq(removed, 1);
        snprintf(p, sizeof(p), "%s/tmp/%s", cache, name);
        cr_assert_eq(access(p, F_OK), 0, "a locked temp dir is left alone");
        close(live);
        cr_assert_eq(rc_image_cache_clean_tmp(cache, NULL, &removed, &err), 0);
        cr_assert_eq(access(p, F_OK), -1);
        free(name);
        rc_layer_cache_close(&c);
}

/* ---- OCI archives -------------------------------------------------------------------------- */

Test(image, opens_an_oci_archive)
{
        struct rc_image *img;
        char cmd[1024], ref[600], p[600];

        simple_layout("L", base_entries, N_BASE, 'g', "\"config\":{\"Cmd\":[\"x\"]},");
        snprintf(cmd, sizeof(cmd), "tar -C %s -cf %s .", path_of("L"), path_of("img.tar"));
        cr_assert_eq(system(cmd), 0);
        snprintf(ref, sizeof(ref), "oci-archive:%s:latest", path_of("img.tar"));
        img = open_ok(ref);
        cr_assert(img->source_is_archive);
        cr_assert_str_eq(img->cmd[0], "x");
        snprintf(p, sizeof(p), "%s/etc/hostname", img->layer_dirs[0]);
        cr_assert_str_eq(read_text(p), "base\n");
        snprintf(p, sizeof(p), "%s/tmp", cache);
        cr_assert_eq(count_entries(p), 0, "the extracted layout is removed");
        /* commit from an archive base into a fresh layout takes the base blobs from it */
        cr_assert_eq(mkdir(path_of("up"), 0755), 0);
        write_file(path_of("up/f"), "f\n");
        rc_error_t err = NULL;
        snprintf(ref, sizeof(ref), "%s:c", path_of("dest"));
        cr_assert_eq(rc_image_commit(cache, img, path_of("up"), ref, NULL, NULL, &err), 0, "%s",
                     err ? err->msg : "");
        rc_image_free(img);
        img = open_ok(ref);
        cr_assert_eq(img->n_layers, 2);
        rc_image_free(img);
}
