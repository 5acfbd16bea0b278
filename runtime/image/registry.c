/* Pulling from a registry through the OCI distribution API (libcurl, loaded on first use).
 *
 * A session pings /v2/ (https; plain http only for a loopback registry or with
 * tls_verify off, when https fails), answers the WWW-Authenticate challenge (Bearer: a
 * token from the realm, with the credentials when there are some; Basic: the
 * credentials on every request) and then fetches by digest, into a layout directory the
 * image code reads as if it were local (image.c). Every blob is hashed while it streams
 * and kept only when its digest and size match.
 *
 * Blobs download into the cache's downloads/<algo>-<hex>, flock'ed by the downloader;
 * an interrupted download stays there and the next pull asks for the rest with a Range
 * request. A complete blob is renamed into the layout; a blob whose digest does not
 * match is removed.
 *
 * libcurl runs from a static program here: its threaded resolver would start a thread
 * in the libc that dlopen loaded, which crashes. So names are resolved by us
 * (getaddrinfo) and handed over with CURLOPT_RESOLVE, redirects are followed by us (the
 * new host resolved the same way), and proxies are not used. */
#include "runtime/image/image.h"
#include "runtime/image/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/base/cleanup.h"
#include "runtime/base/fsutil.h"
#include "runtime/base/stopsig.h"
#include "specs/json.h"

#define MAX_REDIRECTS 5
#define ERRBODY_MAX 512
#define TOKEN_MAX (64u * 1024u)
#define COPY_CHUNK (128 * 1024)
#define LOW_SPEED_SECONDS 60L
#define CONNECT_SECONDS 30L

static const char manifest_accept[] = "Accept: " RC_MEDIA_OCI_MANIFEST ", " RC_MEDIA_OCI_INDEX
                                      ", " RC_MEDIA_DOCKER_MANIFEST ", " RC_MEDIA_DOCKER_LIST;

struct rc_registry {
        struct rc_registry_ref ref;
        const struct rc_pull_opts *opts;
        const struct rc_logger *log;
        CURL *curl;
        struct curl_slist *resolved; /* "host:port:addr,..." entries handed to curl */
        char *scheme; /* "https" or "http" */
        char *user, *pass; /* NULL: anonymous */
        char *bearer; /* "Authorization: Bearer ..." once we have a token */
        bool basic; /* the registry asked for Basic credentials */
        int downloads_fd;
        char errbuf[CURL_ERROR_SIZE];
};

/* One response: what the header callback saw, and where the body goes. */
struct xfer {
        struct rc_registry *g;
        long status;
        char *content_type, *docker_digest, *challenge, *content_range;
        char errbody[ERRBODY_MAX + 1];
        size_t errlen;
        /* body to memory (buf) or to a file (fd >= 0) hashed into hash */
        char *buf;
        size_t len, max;
        int fd;
        struct rc_hash *hash;
        uint64_t offset, limit; /* file: bytes already there, the blob's size */
        const char *digest; /* for progress and messages */
        bool ranged; /* file: a Range request whose answer has not started yet */
        int fail; /* an errno set by a callback */
};

static void xfer_reset(struct xfer *x)
{
        free(x->content_type);
        free(x->docker_digest);
        free(x->challenge);
        free(x->content_range);
        x->content_type = x->docker_digest = x->challenge = x->content_range = NULL;
        x->status = 0;
        x->errlen = 0;
        x->errbody[0] = '\0';
}

static bool ok_status(long s)
{
        return s >= 200 && s < 300;
}

/* ---- callbacks --------------------------------------------------------------------------- */

static void header_value(char **slot, const char *v, size_t n)
{
        while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
                n--;
        free(*slot);
        *slot = strndup(v, n);
}

static size_t on_header(char *line, size_t size, size_t n, void *data)
{
        static const struct {
                const char *name;
                size_t off;
        } wanted[] = {
                {"content-type:", offsetof(struct xfer, content_type)},
                {"docker-content-digest:", offsetof(struct xfer, docker_digest)},
                {"www-authenticate:", offsetof(struct xfer, challenge)},
                {"content-range:", offsetof(struct xfer, content_range)},
        };
        struct xfer *x = data;
        size_t len = size * n;

        if (len > 5 && strncmp(line, "HTTP/", 5) == 0) { /* a new response (after a 100, say) */
                const char *sp = memchr(line, ' ', len);

                xfer_reset(x);
                x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
                return len;
        }
        for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
                size_t k = strlen(wanted[i].name);

                if (len > k && strncasecmp(line, wanted[i].name, k) == 0) {
                        const char *v = line + k;

                        while (v < line + len && *v == ' ')
                                v++;
                        header_value((char **)((char *)x + wanted[i].off), v, (size_t)(line + len - v));
                }
        }
        return len;
}

static int write_file(struct xfer *x, const char *p, size_t len)
{
        if (x->ranged && x->status == 200) { /* the server ignored our Range: start over */
                char algo[8];

                snprintf(algo, sizeof(algo), "%s", x->hash->algo);
                if (ftruncate(x->fd, 0) < 0)
                        return -errno;
                rc_hash_clear(x->hash);
                if (rc_hash_init(x->hash, algo, NULL) < 0)
                        return -ENOMEM;
                x->offset = 0;
        } else if (x->ranged) { /* 206: it must go on where we are */
                const char *cr = x->content_range;
                char *end;

                if (cr == NULL || strncmp(cr, "bytes ", 6) != 0 || strtoull(cr + 6, &end, 10) != x->offset ||
                    *end != '-')
                        return -EPROTO;
        }
        x->ranged = false;
        if (x->offset + len > x->limit)
                return -EFBIG;
        for (size_t done = 0; done < len;) {
                ssize_t w = pwrite(x->fd, p + done, len - done, (off_t)(x->offset + done));

                if (w < 0 && errno != EINTR)
                        return -errno;
                if (w == 0)
                        return -EIO; /* no progress: never spin */
                done += w > 0 ? (size_t)w : 0;
        }
        rc_hash_update(x->hash, p, len);
        x->offset += len;
        if (x->g->opts && x->g->opts->progress)
                x->g->opts->progress(x->g->opts->progress_data, x->digest, x->offset, x->limit);
        return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *data)
{
        struct xfer *x = data;
        size_t len = size * n;
        int r = 0;

        if (!ok_status(x->status)) { /* keep the start of an error body for the message */
                size_t k = len < ERRBODY_MAX - x->errlen ? len : ERRBODY_MAX - x->errlen;

                memcpy(x->errbody + x->errlen, p, k);
                x->errlen += k;
                x->errbody[x->errlen] = '\0';
                return len;
        }
        if (x->fd >= 0) {
                r = write_file(x, p, len);
        } else if (x->len + len > x->max) {
                r = -EFBIG;
        } else {
                char *nb = realloc(x->buf, x->len + len + 1);

                if (nb == NULL)
                        r = -ENOMEM;
                else {
                        memcpy(nb + x->len, p, len);
                        x->buf = nb;
                        x->len += len;
                        x->buf[x->len] = '\0';
                }
        }
        if (r < 0) {
                x->fail = -r;
                return 0; /* curl stops with CURLE_WRITE_ERROR */
        }
        return len;
}

/* Called about once a second even while nothing arrives: a stop signal the caller holds
 * pending (runtime/base/stopsig.h) ends the transfer; the partial blob stays for the
 * next pull to go on from. */
static int on_xferinfo(void *data, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
        (void)data, (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
        return rc_stop_signal_pending() ? 1 : 0;
}

/* ---- URLs and name resolution ------------------------------------------------------------- */

/* Host (brackets kept for IPv6), port and whether the scheme is https, of an absolute URL. */
static int url_authority(const char *url, char *host, size_t hsize, unsigned *port, bool *https)
{
        const char *a, *end, *colon;

        if (strncmp(url, "https://", 8) == 0)
                a = url + 8, *https = true;
        else if (strncmp(url, "http://", 7) == 0)
                a = url + 7, *https = false;
        else
                return -EPROTONOSUPPORT;
        end = a + strcspn(a, "/?#");
        if (memchr(a, '@', (size_t)(end - a)) != NULL) /* no credentials in URLs */
                return -EINVAL;
        colon = a[0] == '[' ? memchr(a, ']', (size_t)(end - a)) : a;
        if (colon == NULL)
                return -EINVAL;
        colon = memchr(colon, ':', (size_t)(end - colon));
        *port = colon ? (unsigned)strtoul(colon + 1, NULL, 10) : (*https ? 443 : 80);
        if ((size_t)((colon ? colon : end) - a) >= hsize || (colon ? colon : end) == a || *port == 0 ||
            *port > 65535)
                return -EINVAL;
        snprintf(host, hsize, "%.*s", (int)((colon ? colon : end) - a), a);
        return 0;
}

/* Resolve the URL's host ourselves and tell curl (see the top of the file). */
static int resolve_for(struct rc_registry *g, const char *url, rc_error_t *err)
{
        char host[256], plain[256], entry[1024], addr[INET6_ADDRSTRLEN + 2];
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
        unsigned port;
        bool https;
        size_t n;
        int r = url_authority(url, host, sizeof(host), &port, &https);

        if (r < 0)
                return rc_error_set_status(err, -r, "unsupported URL `%s`", url);
        snprintf(plain, sizeof(plain), "%.*s", host[0] == '[' ? (int)strlen(host) - 2 : (int)strlen(host),
                 host + (host[0] == '['));
        n = (size_t)snprintf(entry, sizeof(entry), "%s:%u:", host, port);
        if (inet_pton(AF_INET, plain, addr) == 1 || inet_pton(AF_INET6, plain, addr) == 1)
                return 0; /* an address: nothing to resolve */
        for (const struct curl_slist *l = g->resolved; l != NULL; l = l->next)
                if (strncmp(l->data, entry, n) == 0)
                        return 0; /* resolved before */
        r = getaddrinfo(plain, NULL, &hints, &res);
        if (r != 0)
                return rc_error_set_status(err, EHOSTUNREACH, "resolve `%s`: %s", plain, gai_strerror(r));
        for (struct addrinfo *a = res; a != NULL && n < sizeof(entry) - sizeof(addr) - 2; a = a->ai_next) {
                const void *sa = a->ai_family == AF_INET6
                                         ? (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr
                                         : (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr;

                if (inet_ntop(a->ai_family, sa, addr + 1, sizeof(addr) - 2) == NULL)
                        continue;
                if (a->ai_family == AF_INET6)
                        addr[0] = '[', strcat(addr, "]");
                n += (size_t)snprintf(entry + n, sizeof(entry) - n, "%s%s", entry[n - 1] == ':' ? "" : ",",
                                      addr + (a->ai_family != AF_INET6));
        }
        freeaddrinfo(res);
        struct curl_slist *l = curl_slist_append(g->resolved, entry);
        if (l == NULL)
                return rc_error_set(err, ENOMEM, "resolve `%s`", plain);
        g->resolved = l;
        return 0;
}

/* Whether url points at the registry itself (same host and port). */
static bool same_host(const struct rc_registry *g, const char *url)
{
        char host[256], own[256], base[512];
        unsigned port, own_port;
        bool https, own_https;

        snprintf(base, sizeof(base), "%s://%s/", g->scheme, g->ref.endpoint);
        return url_authority(url, host, sizeof(host), &port, &https) == 0 &&
               url_authority(base, own, sizeof(own), &own_port, &own_https) == 0 &&
               strcasecmp(host, own) == 0 && port == own_port;
}

/* A URL we are sent to (a token realm, a redirect): https, or plain http where the
 * registry itself may be (loopback, --tls-verify=false). `what` names it in messages. */
static int url_allowed(struct rc_registry *g, const char *url, const char *what, rc_error_t *err)
{
        char host[256];
        unsigned port;
        bool https;

        if (url_authority(url, host, sizeof(host), &port, &https) < 0)
                return rc_error_set_status(err, EPROTO, "registry `%s`: unusable %s `%s`", g->ref.host, what,
                                           url);
        if (!https && !rc_registry_host_is_loopback(host) && !(g->opts && g->opts->tls_verify_off))
                return rc_error_set_status(err, EPROTO,
                                           "registry `%s`: %s `%s` is plain http (allowed only on loopback "
                                           "or with --tls-verify=false)",
                                           g->ref.host, what, url);
        return 0;
}

/* ---- one request ---------------------------------------------------------------------------- */

/* Which credentials a request carries. */
enum auth_mode {
        AUTH_NONE, /* another host (a redirect to a CDN, say) */
        AUTH_REGISTRY, /* the token, or Basic credentials when the registry asked for them */
        AUTH_TOKEN_SERVER, /* Basic credentials when there are some */
};

/* GET url once (no redirect, no retry). Returns 0 with x->status set, or -1 on a
 * transport error (connection, TLS, a callback's failure). */
static int perform(struct rc_registry *g, const char *url, const char *accept, uint64_t range_from,
                   enum auth_mode auth, struct xfer *x, rc_error_t *err)
{
        struct curl_slist *h = NULL, *h2;
        char range[64];
        CURLcode rc;

        if (resolve_for(g, url, err) < 0)
                return -1;
        if (accept && (h2 = curl_slist_append(h, accept)) != NULL)
                h = h2;
        bool basic = (auth == AUTH_REGISTRY && g->basic) || auth == AUTH_TOKEN_SERVER;

        if (auth == AUTH_REGISTRY && g->bearer && (h2 = curl_slist_append(h, g->bearer)) != NULL)
                h = h2;
        snprintf(range, sizeof(range), "%" PRIu64 "-", range_from);
        curl_easy_setopt(g->curl, CURLOPT_URL, url);
        curl_easy_setopt(g->curl, CURLOPT_RESOLVE, g->resolved);
        curl_easy_setopt(g->curl, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(g->curl, CURLOPT_RANGE, range_from > 0 ? range : NULL);
        curl_easy_setopt(g->curl, CURLOPT_USERNAME, basic ? g->user : NULL);
        curl_easy_setopt(g->curl, CURLOPT_PASSWORD, basic ? g->pass : NULL);
        curl_easy_setopt(g->curl, CURLOPT_HEADERDATA, x);
        curl_easy_setopt(g->curl, CURLOPT_WRITEDATA, x);
        xfer_reset(x);
        x->fail = 0;
        g->errbuf[0] = '\0';
        rc = curl_easy_perform(g->curl);
        curl_easy_setopt(g->curl, CURLOPT_HTTPHEADER, NULL);
        curl_slist_free_all(h);
        if (rc == CURLE_OK)
                return 0;
        if (rc == CURLE_ABORTED_BY_CALLBACK)
                return rc_error_set_status(err, ECANCELED, "GET `%s`: interrupted by a stop signal", url);
        if (x->fail == EFBIG)
                return rc_error_set_status(err, EFBIG,
                                           "GET `%s`: more data than the %" PRIu64 " bytes expected", url,
                                           x->fd >= 0 ? x->limit : (uint64_t)x->max);
        if (x->fail == EPROTO)
                return rc_error_set_status(err, EPROTO,
                                           "GET `%s`: the answer to a Range request starts elsewhere", url);
        if (x->fail != 0)
                return rc_error_set(err, x->fail, "GET `%s`: store the data", url);
        return rc_error_set_status(err, EIO, "GET `%s`: %s", url,
                                   g->errbuf[0] ? g->errbuf : curl_easy_strerror(rc));
}

/* The registry's own words for an error ({"errors":[{"code","message"}]}), if any. */
static void error_detail(const struct xfer *x, char *out, size_t size)
{
        json_node *doc = NULL;
        rc_error_t e = NULL;
        const json_node *first;

        out[0] = '\0';
        if (x->errlen == 0 || json_parse(x->errbody, x->errlen, "registry error", &doc, &e) < 0) {
                rc_error_free(&e);
                return;
        }
        first = json_array_get(json_object_get(doc, "errors"), 0);
        if (json_get_string(json_object_get(first, "message")) != NULL)
                snprintf(out, size, ": %s%s%s", json_get_string(json_object_get(first, "code")) ?: "",
                         json_get_string(json_object_get(first, "code")) ? " " : "",
                         json_get_string(json_object_get(first, "message")));
        json_free(doc);
}

static int authenticate(struct rc_registry *g, const char *challenge, rc_error_t *err);

/* GET path of the registry (or an absolute URL): follows redirects (credentials only to
 * the registry's host) and answers one authentication challenge. 0 with a 2xx status,
 * -1 with an error naming the status otherwise. */
static int request(struct rc_registry *g, const char *path, const char *accept, uint64_t range_from,
                   struct xfer *x, rc_error_t *err)
{
        _cleanup_free_ char *url = NULL;
        bool authed = false;
        char detail[ERRBODY_MAX];

        if (asprintf(&url, "%s://%s%s", g->scheme, g->ref.endpoint, path) < 0)
                return rc_error_set(err, ENOMEM, "request `%s`", path);
        for (int hops = 0; hops <= MAX_REDIRECTS;) {
                bool own = same_host(g, url);
                char *next = NULL;

                if (perform(g, url, accept, range_from, own ? AUTH_REGISTRY : AUTH_NONE, x, err) < 0)
                        return -1;
                if (x->status == 401 && own && !authed && x->challenge) {
                        _cleanup_free_ char *ch = strdup(x->challenge);

                        if (ch == NULL || authenticate(g, ch, err) < 0)
                                return ch ? -1 : rc_error_set(err, ENOMEM, "authenticate");
                        authed = true;
                        continue;
                }
                if (x->status < 300 || x->status >= 400 || x->status == 304)
                        break;
                if (curl_easy_getinfo(g->curl, CURLINFO_REDIRECT_URL, &next) != CURLE_OK || next == NULL)
                        return rc_error_set_status(err, EPROTO, "GET `%s`: HTTP %ld without a Location", url,
                                                   x->status);
                if (url_allowed(g, next, "redirect", err) < 0)
                        return -1;
                free(url);
                if ((url = strdup(next)) == NULL)
                        return rc_error_set(err, ENOMEM, "follow a redirect");
                hops++;
        }
        if (ok_status(x->status))
                return 0;
        error_detail(x, detail, sizeof(detail));
        if ((x->status == 401 || x->status == 403) && g->user != NULL)
                return rc_error_set_status(err, EACCES,
                                           "GET `%s`: HTTP %ld, access denied%s (the credentials of `%s` "
                                           "rejected, or no access to the repository)",
                                           url, x->status, detail, g->user);
        if (x->status == 401 || x->status == 403)
                return rc_error_set_status(
                        err, EACCES,
                        "GET `%s`: HTTP %ld, access denied%s (no credentials: give --creds "
                        "or an auth file)",
                        url, x->status, detail);
        return rc_error_set_status(err, x->status == 404 ? ENOENT : EPROTO, "GET `%s`: HTTP %ld%s", url,
                                   x->status, detail);
}

/* ---- authentication -------------------------------------------------------------------------- */

/* Value of key="value" (or key=value) in a challenge's parameters, into out. */
static bool challenge_param(const char *params, const char *key, char *out, size_t size)
{
        size_t k = strlen(key);

        for (const char *p = params; *p;) {
                while (*p == ' ' || *p == ',')
                        p++;
                const char *eq = strchr(p, '=');
                if (eq == NULL)
                        return false;
                const char *v = eq + 1, *end;
                bool quoted = *v == '"';

                v += quoted;
                end = quoted ? strchr(v, '"') : v + strcspn(v, ", ");
                if (end == NULL)
                        return false;
                if ((size_t)(eq - p) == k && strncasecmp(p, key, k) == 0) {
                        snprintf(out, size, "%.*s", (int)(end - v), v);
                        return true;
                }
                p = end + quoted;
        }
        return false;
}

/* Ask the realm for a token for `scope`, with the credentials when we have some. */
static int fetch_token(struct rc_registry *g, const char *realm, const char *service, const char *scope,
                       rc_error_t *err)
{
        _cleanup_free_ char *url = NULL;
        char *es = curl_easy_escape(g->curl, service, 0), *esc = curl_easy_escape(g->curl, scope, 0);
        struct xfer x = {.g = g, .fd = -1, .max = TOKEN_MAX};
        json_node *doc = NULL;
        const char *tok;
        int r;

        r = es && esc &&
                            asprintf(&url, "%s%sservice=%s&scope=%s", realm, strchr(realm, '?') ? "&" : "?",
                                     es, esc) >= 0
                    ? 0
                    : rc_error_set(err, ENOMEM, "token request");
        curl_free(es);
        curl_free(esc);
        if (r < 0 || url_allowed(g, realm, "token realm", err) < 0)
                return -1;
        r = perform(g, url, NULL, 0, AUTH_TOKEN_SERVER, &x, err);
        if (r == 0 && !ok_status(x.status))
                r = rc_error_set_status(
                        err, EACCES, "token server `%s` answered HTTP %ld%s", realm, x.status,
                        x.status == 401 || x.status == 403
                                ? (g->user ? ": credentials rejected"
                                           : ": credentials needed (give --creds or an auth file)")
                                : "");
        if (r == 0)
                r = json_parse(x.buf ? x.buf : "", x.len, "token response", &doc, err);
        tok = json_get_string(json_object_get(doc, "token"))
                      ?: json_get_string(json_object_get(doc, "access_token"));
        if (r == 0 && (tok == NULL || tok[0] == '\0' || strpbrk(tok, "\r\n") != NULL))
                r = rc_error_set_status(err, EPROTO, "token server `%s`: no token in its answer", realm);
        free(g->bearer);
        g->bearer = NULL;
        if (r == 0 && asprintf(&g->bearer, "Authorization: Bearer %s", tok) < 0)
                r = rc_error_set(err, ENOMEM, "token");
        json_free(doc);
        free(x.buf);
        xfer_reset(&x);
        return r;
}

static int authenticate(struct rc_registry *g, const char *challenge, rc_error_t *err)
{
        char realm[1024], service[256] = "", scope[512], def_scope[512];

        snprintf(def_scope, sizeof(def_scope), "repository:%s:pull", g->ref.repo);
        if (strncasecmp(challenge, "Basic", 5) == 0) {
                if (g->user == NULL)
                        return rc_error_set_status(
                                err, EACCES,
                                "needs credentials: give --creds USER:PASSWORD or an auth file "
                                "(--authfile, $REGISTRY_AUTH_FILE)");
                g->basic = true;
                return 0;
        }
        if (strncasecmp(challenge, "Bearer ", 7) != 0 ||
            !challenge_param(challenge + 7, "realm", realm, sizeof(realm)))
                return rc_error_set_status(err, EPROTO, "unsupported authentication challenge \"%s\"",
                                           challenge);
        challenge_param(challenge + 7, "service", service, sizeof(service));
        if (!challenge_param(challenge + 7, "scope", scope, sizeof(scope)))
                snprintf(scope, sizeof(scope), "%s", def_scope);
        if (fetch_token(g, realm, service, scope, err) < 0)
                return rc_error_wrap(err, "authenticate%s%s", g->user ? " as " : "", g->user ? g->user : "");
        return 0;
}

/* ---- the session ----------------------------------------------------------------------------- */

static bool transport_failure(const rc_error_t *err)
{
        return *err != NULL && (*err)->status == EIO;
}

/* GET /v2/: which scheme works, and the credentials it asks for. */
static int ping(struct rc_registry *g, rc_error_t *err)
{
        struct xfer x = {.g = g, .fd = -1, .max = ERRBODY_MAX};
        bool plain_ok =
                rc_registry_host_is_loopback(g->ref.endpoint) || (g->opts && g->opts->tls_verify_off);
        int r;

        r = request(g, "/v2/", NULL, 0, &x, err);
        if (r < 0 && plain_ok && transport_failure(err)) {
                rc_log(g->log, RC_LOG_DEBUG, "registry %s: https failed (%s), trying http", g->ref.host,
                       (*err)->msg);
                rc_error_free(err);
                free(g->scheme);
                g->scheme = strdup("http");
                r = g->scheme ? request(g, "/v2/", NULL, 0, &x, err) : rc_error_set(err, ENOMEM, "ping");
        }
        free(x.buf);
        xfer_reset(&x);
        if (r < 0)
                return rc_error_wrap(err, "registry `%s`", g->ref.host);
        return 0;
}

static int setup_curl(struct rc_registry *g, rc_error_t *err)
{
        g->curl = curl_easy_init();
        if (g->curl == NULL)
                return rc_error_set_status(err, ENOMEM, "initialise libcurl");
        curl_easy_setopt(g->curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(g->curl, CURLOPT_PROXY, ""); /* see the top of the file */
        curl_easy_setopt(g->curl, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(g->curl, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(g->curl, CURLOPT_USERAGENT, "run-container/" RC_VERSION);
        curl_easy_setopt(g->curl, CURLOPT_ERRORBUFFER, g->errbuf);
        curl_easy_setopt(g->curl, CURLOPT_CONNECTTIMEOUT, CONNECT_SECONDS);
        curl_easy_setopt(g->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(g->curl, CURLOPT_LOW_SPEED_TIME, LOW_SPEED_SECONDS);
        curl_easy_setopt(g->curl, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(g->curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(g->curl, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
        curl_easy_setopt(g->curl, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(g->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        if (g->opts && g->opts->tls_verify_off) {
                curl_easy_setopt(g->curl, CURLOPT_SSL_VERIFYPEER, 0L);
                curl_easy_setopt(g->curl, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        return 0;
}

static int credentials(struct rc_registry *g, rc_error_t *err)
{
        const char *creds = g->opts ? g->opts->creds : NULL;
        const char *colon = creds ? strchr(creds, ':') : NULL;

        if (creds == NULL)
                return rc_registry_auth_lookup(g->opts ? g->opts->authfile : NULL, &g->ref, &g->user,
                                               &g->pass, err) < 0
                               ? -1
                               : 0;
        if (colon == NULL || colon == creds)
                return rc_error_set_status(err, EINVAL, "--creds: expected USER:PASSWORD");
        g->user = strndup(creds, (size_t)(colon - creds));
        g->pass = strdup(colon + 1);
        return g->user && g->pass ? 0 : rc_error_set(err, ENOMEM, "credentials");
}

int rc_registry_open(const struct rc_registry_ref *ref, int cache_fd, const struct rc_pull_opts *opts,
                     const struct rc_logger *log, struct rc_registry **ret, rc_error_t *err)
{
        struct rc_registry *g = calloc(1, sizeof(*g));
        int r;

        if (rc_image_curl_load(err) < 0) {
                free(g);
                return -1;
        }
        if (g == NULL)
                return rc_error_set(err, ENOMEM, "registry");
        g->opts = opts;
        g->log = log;
        g->downloads_fd = -1;
        g->ref.host = strdup(ref->host);
        g->ref.endpoint = strdup(ref->endpoint);
        g->ref.repo = strdup(ref->repo);
        g->scheme = strdup("https");
        r = g->ref.host && g->ref.endpoint && g->ref.repo && g->scheme
                    ? 0
                    : rc_error_set(err, ENOMEM, "registry");
        if (r == 0 && mkdirat(cache_fd, "downloads", 0700) < 0 && errno != EEXIST)
                r = rc_error_set(err, errno, "create the downloads directory of the layer cache");
        if (r == 0 && (g->downloads_fd = openat(cache_fd, "downloads",
                                                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
                r = rc_error_set(err, errno, "open the downloads directory of the layer cache");
        if (r == 0)
                r = credentials(g, err);
        if (r == 0)
                r = setup_curl(g, err);
        if (r == 0)
                r = ping(g, err);
        if (r < 0) {
                rc_registry_free(g);
                return -1;
        }
        *ret = g;
        return 0;
}

void rc_registry_free(struct rc_registry *g)
{
        if (g == NULL)
                return;
        if (g->curl)
                curl_easy_cleanup(g->curl);
        if (g->resolved)
                curl_slist_free_all(g->resolved);
        rc_registry_ref_clear(&g->ref);
        rc_closep(&g->downloads_fd);
        free(g->scheme);
        free(g->user);
        free(g->pass);
        free(g->bearer);
        free(g);
}

/* ---- manifests -------------------------------------------------------------------------------- */

static bool known_manifest_type(const char *mt)
{
        return mt && (!strcmp(mt, RC_MEDIA_OCI_MANIFEST) || !strcmp(mt, RC_MEDIA_OCI_INDEX) ||
                      !strcmp(mt, RC_MEDIA_DOCKER_MANIFEST) || !strcmp(mt, RC_MEDIA_DOCKER_LIST));
}

/* GET manifests/<reference> into memory, checked against `expect` (a digest) when given,
 * and against the registry's Docker-Content-Digest; stored as a blob of the layout. */
static int get_manifest(struct rc_registry *g, int layoutfd, const char *reference, const char *expect,
                        struct rc_descriptor *ret, rc_error_t *err)
{
        _cleanup_free_ char *path = NULL, *digest = NULL, *stored = NULL;
        struct xfer x = {.g = g, .fd = -1, .max = RC_IMAGE_JSON_MAX};
        char ct[128] = "";
        int r;

        if (asprintf(&path, "/v2/%s/manifests/%s", g->ref.repo, reference) < 0)
                return rc_error_set(err, ENOMEM, "manifest");
        r = request(g, path, manifest_accept, 0, &x, err);
        if (r == 0)
                r = rc_sha256_digest(x.buf ? x.buf : "", x.len, &digest, err);
        if (r == 0 && x.docker_digest && strncmp(x.docker_digest, "sha256:", 7) == 0 &&
            strcmp(x.docker_digest, digest) != 0)
                r = rc_error_set_status(err, EBADMSG,
                                        "manifest `%s`: digest mismatch: the registry says %s, got %s",
                                        reference, x.docker_digest, digest);
        if (r == 0 && expect && strcmp(expect, digest) != 0)
                r = rc_error_set_status(err, EBADMSG, "manifest `%s`: digest mismatch: expected %s, got %s",
                                        reference, expect, digest);
        if (r == 0)
                r = rc_blob_write_mem(layoutfd, x.buf ? x.buf : "", x.len, &stored, err);
        if (x.content_type)
                snprintf(ct, sizeof(ct), "%.*s", (int)strcspn(x.content_type, "; "), x.content_type);
        if (r == 0) {
                *ret = (struct rc_descriptor){.digest = TAKE_PTR(digest),
                                              .size = x.len,
                                              .media_type = known_manifest_type(ct) ? strdup(ct) : NULL};
                rc_log(g->log, RC_LOG_DEBUG, "registry %s: manifest %s is %s (%s)", g->ref.host, reference,
                       ret->digest, ct);
        }
        free(x.buf);
        xfer_reset(&x);
        return r;
}

int rc_registry_fetch_top(struct rc_registry *g, const struct rc_registry_ref *ref, int layoutfd,
                          struct rc_descriptor *ret, rc_error_t *err)
{
        char algo[8];
        const char *hex;

        if (ref->digest && (rc_digest_split(ref->digest, algo, &hex) < 0 || strcmp(algo, "sha256") != 0))
                return rc_error_set_status(err, ENOTSUP, "digest `%s`: only sha256 manifests are supported",
                                           ref->digest);
        return get_manifest(g, layoutfd, ref->digest ? ref->digest : ref->tag, ref->digest, ret, err);
}

/* ---- blobs ------------------------------------------------------------------------------------ */

/* The partial download of `name`, locked: the file now at that name (a finished
 * downloader renames it away). */
static int open_partial(struct rc_registry *g, const char *name, rc_error_t *err)
{
        for (int i = 0; i < 16; i++) {
                _cleanup_close_ int fd =
                        openat(g->downloads_fd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
                struct stat a, b;
                int r;

                if (fd < 0)
                        return rc_error_set(err, errno, "open download `%s`", name);
                /* another pull downloads it: wait, unless a stop signal comes */
                r = rc_flock_or_stop(fd, LOCK_EX);
                if (r < 0)
                        return rc_error_set_status(err, -r,
                                                   r == -ECANCELED
                                                           ? "wait for download `%s`: interrupted by "
                                                             "a stop signal"
                                                           : "lock download `%s`",
                                                   name);
                if (fstat(fd, &a) == 0 && fstatat(g->downloads_fd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
                    a.st_ino == b.st_ino && a.st_dev == b.st_dev)
                        return TAKE_FD(fd);
        }
        return rc_error_set_status(err, EAGAIN, "open download `%s`: lost every race", name);
}

/* Hash the bytes a previous download left (all of them valid so far, or the final check
 * fails and the file goes). Returns how many. */
static int hash_existing(int fd, struct rc_hash *h, uint64_t limit, uint64_t *ret, rc_error_t *err)
{
        _cleanup_free_ char *buf = malloc(COPY_CHUNK);
        struct stat st;
        uint64_t off = 0;

        if (buf == NULL || fstat(fd, &st) < 0)
                return rc_error_set(err, buf ? errno : ENOMEM, "read a partial download");
        if ((uint64_t)st.st_size > limit && ftruncate(fd, 0) < 0)
                return rc_error_set(err, errno, "truncate a partial download");
        while (off < (uint64_t)st.st_size && off < limit) {
                ssize_t n = pread(fd, buf, COPY_CHUNK, (off_t)off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return rc_error_set(err, errno, "read a partial download");
                if (n == 0)
                        break;
                rc_hash_update(h, buf, (size_t)n);
                off += (uint64_t)n;
        }
        *ret = off;
        return 0;
}

/* Move the verified download into the layout's blobs/<algo>/<hex>. */
static int publish(struct rc_registry *g, const char *name, int layoutfd, const char *algo, const char *hex,
                   rc_error_t *err)
{
        char dir[16];
        _cleanup_close_ int dirfd = -1;

        snprintf(dir, sizeof(dir), "blobs/%s", algo);
        dirfd = rc_root_mkdir_p(layoutfd, dir, 0755, RC_ROOT_NO_SYMLINKS);
        if (dirfd < 0)
                return rc_error_set(err, -dirfd, "mkdir `%s`", dir);
        if (renameat(g->downloads_fd, name, dirfd, hex) < 0)
                return rc_error_set(err, errno, "store blob `%s:%s`", algo, hex);
        return 0;
}

static int check_blob(struct rc_registry *g, const struct rc_descriptor *d, const char *name, struct xfer *x,
                      rc_error_t *err)
{
        _cleanup_free_ char *got = NULL;

        if (x->offset < d->size)
                return rc_error_set_status(err, EIO,
                                           "blob `%s`: the registry sent %" PRIu64 " of %" PRIu64
                                           " bytes (kept: the next pull goes on from there)",
                                           d->digest, x->offset, d->size);
        if (rc_hash_final(x->hash, &got, err) < 0)
                return -1;
        if (strcmp(got, d->digest) != 0) {
                unlinkat(g->downloads_fd, name, 0);
                return rc_error_set_status(
                        err, EBADMSG,
                        "verify blob `%s`: digest mismatch: expected %s, got %s (download removed)",
                        d->digest, d->digest, got);
        }
        return 0;
}

static int get_blob(struct rc_registry *g, int layoutfd, const struct rc_descriptor *d, rc_error_t *err)
{
        char algo[8], name[8 + 1 + 128 + 1];
        const char *hex;
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -1;
        struct rc_hash h;
        struct xfer x = {.g = g, .fd = -1, .limit = d->size, .digest = d->digest, .hash = &h};
        int r;

        if (rc_digest_split(d->digest, algo, &hex) < 0)
                return rc_error_set_status(err, EINVAL, "invalid digest \"%s\"", d->digest ? d->digest : "");
        snprintf(name, sizeof(name), "%s-%s", algo, hex);
        if (asprintf(&path, "/v2/%s/blobs/%s", g->ref.repo, d->digest) < 0)
                return rc_error_set(err, ENOMEM, "blob `%s`", d->digest);
        fd = open_partial(g, name, err);
        if (fd < 0 || rc_hash_init(&h, algo, err) < 0)
                return -1;
        x.fd = fd;
        r = hash_existing(fd, &h, d->size, &x.offset, err);
        if (r == 0 && x.offset > 0)
                rc_log(g->log, RC_LOG_INFO, "blob %s: resuming after %" PRIu64 " of %" PRIu64 " bytes",
                       d->digest, x.offset, d->size);
        if (r == 0 && x.offset < d->size) {
                uint64_t from = x.offset;

                x.ranged = from > 0;
                r = request(g, path, NULL, from, &x, err);
                if (r == 0 && from > 0 && x.status == 200)
                        rc_log(g->log, RC_LOG_DEBUG, "blob %s: the registry ignored the Range request",
                               d->digest);
                if (r < 0 && (*err)->status == EIO)
                        rc_error_wrap(err,
                                      "download blob `%s` (%" PRIu64 " of %" PRIu64
                                      " bytes kept: the next pull goes on from there)",
                                      d->digest, x.offset, d->size);
        }
        if (r == 0)
                r = check_blob(g, d, name, &x, err);
        rc_hash_clear(&h);
        if (r == 0)
                r = publish(g, name, layoutfd, algo, hex, err);
        xfer_reset(&x);
        return r;
}

int rc_registry_fetch(void *data, int layoutfd, enum rc_blob_kind kind, const struct rc_descriptor *d,
                      rc_error_t *err)
{
        struct rc_registry *g = data;
        struct rc_descriptor got = {0};
        int r;

        if (rc_blob_exists(layoutfd, d->digest))
                return 0;
        if (kind != RC_BLOB_MANIFEST)
                return get_blob(g, layoutfd, d, err);
        r = get_manifest(g, layoutfd, d->digest, d->digest, &got, err);
        rc_descriptor_clear(&got);
        return r;
}
