#define RC_IMAGE_LIBS_IMPL
#include "runtime/image/libs.h"

#include <stdbool.h>

#include "runtime/base/dl.h"

#define RC_DL_DEFINE(name) __typeof__(name) *rc_dl_##name;
RC_ARCHIVE_SYMBOLS(RC_DL_DEFINE)
RC_CRYPTO_SYMBOLS(RC_DL_DEFINE)
RC_CURL_SYMBOLS(RC_DL_DEFINE)

#define RC_DL_NAME(name) #name,
#define RC_DL_SLOT(name) (void **)&rc_dl_##name,

static const char *const archive_names[] = {RC_ARCHIVE_SYMBOLS(RC_DL_NAME)};
static void **const archive_slots[] = {RC_ARCHIVE_SYMBOLS(RC_DL_SLOT)};
static const char *const crypto_names[] = {RC_CRYPTO_SYMBOLS(RC_DL_NAME)};
static void **const crypto_slots[] = {RC_CRYPTO_SYMBOLS(RC_DL_SLOT)};
static const char *const curl_names[] = {RC_CURL_SYMBOLS(RC_DL_NAME)};
static void **const curl_slots[] = {RC_CURL_SYMBOLS(RC_DL_SLOT)};

int rc_image_libs_load(rc_error_t *err)
{
        static bool loaded;

        if (loaded)
                return 0;
        if (rc_dl_load("libarchive.so.13", archive_names, archive_slots,
                       sizeof(archive_names) / sizeof(archive_names[0]), err) < 0 ||
            rc_dl_load("libcrypto.so.3", crypto_names, crypto_slots,
                       sizeof(crypto_names) / sizeof(crypto_names[0]), err) < 0)
                return rc_error_wrap(err, "image support");
        loaded = true;
        return 0;
}

int rc_image_curl_load(rc_error_t *err)
{
        static bool loaded;

        if (loaded)
                return 0;
        if (rc_image_libs_load(err) < 0)
                return -1;
        if (rc_dl_load("libcurl.so.4", curl_names, curl_slots, sizeof(curl_names) / sizeof(curl_names[0]),
                       err) < 0)
                return rc_error_wrap(err, "registry support (libcurl)");
        loaded = true;
        return 0;
}
