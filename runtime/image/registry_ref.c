/* Registry references and credentials, without any network: `docker://` references as
 * skopeo and podman read them (docker.io and library/ filled in for short names), and the
 * credentials containers-auth.json(5) files hold for a registry. */
#include "runtime/image/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "specs/json.h"

#define DOCKER_HUB "docker.io"
#define DOCKER_HUB_API "registry-1.docker.io"
#define REPO_MAX 255
#define AUTHFILE_MAX (1024u * 1024u)

/* ---- references ---------------------------------------------------------------------- */

void rc_registry_ref_clear(struct rc_registry_ref *r)
{
        free(r->host);
        free(r->endpoint);
        free(r->repo);
        free(r->tag);
        free(r->digest);
        *r = (struct rc_registry_ref){0};
}

/* The first path component names a registry when it looks like a host: a dot, a port
 * or "localhost" (the rule docker and the containers libraries share). */
static bool looks_like_host(const char *s, size_t n)
{
        return memchr(s, '.', n) != NULL || memchr(s, ':', n) != NULL ||
               (n == 9 && !strncmp(s, "localhost", 9));
}

/* NAME, [IPV6] or either with ":PORT" (1 to 65535), as a URL's authority takes it. */
static bool host_valid(const char *h)
{
        size_t n = strlen(h);
        const char *close = h[0] == '[' ? strchr(h, ']') : NULL;
        const char *port = strchr(close ? close : h, ':');
        unsigned long v = 0;

        if (n == 0 || n > 255 ||
            strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") != n ||
            h[0] == '-' || h[0] == ':' || (h[0] == '[' && (close == NULL || close == h + 1)) ||
            (h[0] != '[' && strpbrk(h, "[]") != NULL) || (close && close[1] != '\0' && close[1] != ':'))
                return false;
        if (port == NULL)
                return true;
        port++;
        if (port[0] == '\0' || strspn(port, "0123456789") != strlen(port) || strlen(port) > 5)
                return false;
        v = strtoul(port, NULL, 10);
        return v >= 1 && v <= 65535;
}

/* Lowercase components of [a-z0-9] joined by '.', '_', '-', separated by single '/'. */
static bool repo_valid(const char *r)
{
        size_t n = strlen(r);

        if (n == 0 || n > REPO_MAX || strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789._-/") != n)
                return false;
        for (size_t i = 0; i < n; i++) {
                bool sep = strchr("._-/", r[i]) != NULL;

                if (sep && (i == 0 || i + 1 == n || (r[i] == '/' && r[i - 1] == '/')))
                        return false;
                if (r[i] == '/' && strchr("._-", r[i + 1]) != NULL)
                        return false;
        }
        return true;
}

static int ref_fill(struct rc_registry_ref *r, const char *host, size_t hostlen, const char *name,
                    size_t namelen, bool hub)
{
        r->host = strndup(host, hostlen);
        r->endpoint = strdup(hub ? DOCKER_HUB_API : r->host ? r->host : "");
        if (hub && memchr(name, '/', namelen) == NULL) {
                if (asprintf(&r->repo, "library/%.*s", (int)namelen, name) < 0)
                        r->repo = NULL;
        } else {
                r->repo = strndup(name, namelen);
        }
        return r->host && r->endpoint && r->repo ? 0 : -ENOMEM;
}

int rc_registry_ref_parse(const char *ref, struct rc_registry_ref *ret, rc_error_t *err)
{
        struct rc_registry_ref r = {0};
        const char *at = strchr(ref, '@'), *slash = strchr(ref, '/'), *name = ref, *host = DOCKER_HUB;
        size_t end = at ? (size_t)(at - ref) : strlen(ref), hostlen = strlen(DOCKER_HUB);
        const char *colon;
        char algo[8];
        const char *hex;

        if (slash != NULL && (size_t)(slash - ref) < end && looks_like_host(ref, (size_t)(slash - ref))) {
                host = ref, hostlen = (size_t)(slash - ref);
                name = slash + 1;
        }
        /* a tag is after the last ':' of the name part */
        colon = memrchr(name, ':', (size_t)(ref + end - name));
        if (ref_fill(&r, host, hostlen, name, (size_t)((colon ? colon : ref + end) - name),
                     hostlen == strlen(DOCKER_HUB) && !strncmp(host, DOCKER_HUB, hostlen)) < 0 ||
            (colon && (r.tag = strndup(colon + 1, (size_t)(ref + end - colon - 1))) == NULL) ||
            (at && (r.digest = strdup(at + 1)) == NULL)) {
                rc_registry_ref_clear(&r);
                return rc_error_set(err, ENOMEM, "parse image reference \"docker://%s\"", ref);
        }
        const char *bad = !host_valid(r.host)                                     ? "invalid registry host"
                          : !repo_valid(r.repo)                                   ? "invalid repository name"
                          : r.tag && !rc_image_tag_valid(r.tag)                   ? "invalid tag"
                          : r.digest && rc_digest_split(r.digest, algo, &hex) < 0 ? "invalid digest"
                                                                                  : NULL;
        if (bad != NULL) {
                rc_registry_ref_clear(&r);
                return rc_error_set_status(err, EINVAL,
                                           "image reference \"docker://%s\": %s (expected "
                                           "docker://[HOST[:PORT]/]NAME[:TAG][@sha256:DIGEST])",
                                           ref, bad);
        }
        if (r.tag == NULL && r.digest == NULL && (r.tag = strdup("latest")) == NULL) {
                rc_registry_ref_clear(&r);
                return rc_error_set(err, ENOMEM, "parse image reference");
        }
        *ret = r;
        return 0;
}

bool rc_registry_host_is_loopback(const char *host)
{
        size_t n = strcspn(host, ":");

        if (host[0] == '[')
                return strncmp(host, "[::1]", 5) == 0;
        return (n == 9 && strncmp(host, "localhost", 9) == 0) || strncmp(host, "127.", 4) == 0;
}

/* ---- credentials (containers-auth.json(5)) -------------------------------------------------- */

/* "https://host/v1/" -> "host"; "host/ns/repo" stays. */
static void auth_key_normalize(const char *key, char *out, size_t size)
{
        bool scheme = false;

        if (strncmp(key, "https://", 8) == 0)
                key += 8, scheme = true;
        else if (strncmp(key, "http://", 7) == 0)
                key += 7, scheme = true;
        snprintf(out, size, "%.*s", scheme ? (int)strcspn(key, "/") : (int)strlen(key), key);
}

static int decode_auth(const char *b64, char **ret_user, char **ret_pass)
{
        size_t n = strlen(b64), pad = 0;
        _cleanup_free_ unsigned char *out = malloc(n / 4 * 3 + 4);
        int len;
        char *colon;

        if (out == NULL || n % 4 != 0)
                return -EINVAL;
        len = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
        while (pad < 2 && n > pad && b64[n - 1 - pad] == '=')
                pad++;
        if (len < 0 || (size_t)len < pad)
                return -EINVAL;
        out[(size_t)len - pad] = '\0';
        colon = strchr((char *)out, ':');
        if (colon == NULL || strlen((char *)out) != (size_t)len - pad)
                return -EINVAL;
        *ret_user = strndup((char *)out, (size_t)(colon - (char *)out));
        *ret_pass = strdup(colon + 1);
        return *ret_user && *ret_pass ? 0 : -ENOMEM;
}

/* The entry of `auths` for host/repo: the most specific key ("host/ns/repo", then its
 * parents, then "host") wins. NULL when none. */
static const json_node *find_entry(const json_node *auths, const struct rc_registry_ref *r)
{
        char want[512], key[512];

        snprintf(want, sizeof(want), "%s/%s", r->host, r->repo);
        for (;;) {
                for (size_t i = 0; i < json_object_size(auths); i++) {
                        auth_key_normalize(json_object_key(auths, i), key, sizeof(key));
                        if (strcmp(key, want) == 0 ||
                            (strcmp(r->host, DOCKER_HUB) == 0 && strchr(want, '/') == NULL &&
                             (strcmp(key, "index.docker.io") == 0 || strcmp(key, DOCKER_HUB_API) == 0)))
                                return json_object_value(auths, i);
                }
                char *slash = strrchr(want, '/');
                if (slash == NULL)
                        return NULL;
                *slash = '\0';
        }
}

/* 1 and the credentials when `path` has some for the registry, 0 when not. */
static int lookup_file(const char *path, const struct rc_registry_ref *r, char **ret_user, char **ret_pass,
                       rc_error_t *err)
{
        _cleanup_free_ char *buf = NULL;
        json_node *doc = NULL;
        const json_node *e;
        const char *auth;
        size_t len;
        int ret = 0;

        if (rc_read_file_at(AT_FDCWD, path, AUTHFILE_MAX, &buf, &len, err) < 0 ||
            json_parse(buf, len, path, &doc, err) < 0)
                return -1;
        e = find_entry(json_object_get(doc, "auths"), r);
        auth = json_get_string(json_object_get(e, "auth"));
        if (e != NULL && auth != NULL && auth[0] != '\0') {
                ret = decode_auth(auth, ret_user, ret_pass);
                if (ret < 0)
                        rc_error_set_status(
                                err, -ret,
                                "auth file `%s`: entry for `%s`: \"auth\" is not base64 of USER:PASSWORD",
                                path, r->host);
                else
                        ret = 1;
        }
        json_free(doc);
        return ret;
}

int rc_registry_auth_lookup(const char *authfile, const struct rc_registry_ref *r, char **ret_user,
                            char **ret_pass, rc_error_t *err)
{
        const char *env = getenv("REGISTRY_AUTH_FILE"), *xdg = getenv("XDG_RUNTIME_DIR"),
                   *home = getenv("HOME");
        char defaults[3][4096];
        size_t n = 0;

        *ret_user = *ret_pass = NULL;
        if (authfile == NULL && env != NULL && env[0] != '\0')
                authfile = env;
        if (authfile != NULL)
                return lookup_file(authfile, r, ret_user, ret_pass, err);
        /* the defaults are looked at in containers-auth.json(5)'s order; missing ones skipped */
        if (xdg != NULL && xdg[0] == '/')
                snprintf(defaults[n++], sizeof(defaults[0]), "%s/containers/auth.json", xdg);
        if (home != NULL && home[0] == '/') {
                snprintf(defaults[n++], sizeof(defaults[0]), "%s/.config/containers/auth.json", home);
                snprintf(defaults[n++], sizeof(defaults[0]), "%s/.docker/config.json", home);
        }
        for (size_t i = 0; i < n; i++) {
                int ret;

                if (access(defaults[i], F_OK) < 0)
                        continue;
                ret = lookup_file(defaults[i], r, ret_user, ret_pass, err);
                if (ret != 0)
                        return ret;
        }
        return 0;
}
