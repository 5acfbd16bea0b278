/* libarchive, libcrypto and libcurl for the image code, loaded on first use: linking them
 * costs every run-container command ~2 ms of dynamic loading (libarchive pulls in libxml2
 * and ICU, libcurl a TLS stack), while only image unpacking, commit and pulls need them.
 * Include this header instead of <archive.h>, <archive_entry.h>, <openssl/evp.h> and
 * <curl/curl.h>; the calls stay as written and go through pointers that
 * rc_image_libs_load() (and rc_image_curl_load() for pulls) fill. The symbol lists are
 * what runtime/ and tests/unit/test_image.c call: regenerate with
 * `python3 runtime/image/gen_libs.py`. */
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
/* no type-checking macros: the calls go through the pointers below */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#include "runtime/base/error.h"

#define RC_ARCHIVE_SYMBOLS(X)                                                                               \
        X(archive_entry_atime)                                                                              \
        X(archive_entry_atime_is_set)                                                                       \
        X(archive_entry_atime_nsec)                                                                         \
        X(archive_entry_copy_stat)                                                                          \
        X(archive_entry_filetype)                                                                           \
        X(archive_entry_free)                                                                               \
        X(archive_entry_gid)                                                                                \
        X(archive_entry_hardlink)                                                                           \
        X(archive_entry_mtime)                                                                              \
        X(archive_entry_mtime_is_set)                                                                       \
        X(archive_entry_mtime_nsec)                                                                         \
        X(archive_entry_new)                                                                                \
        X(archive_entry_pathname)                                                                           \
        X(archive_entry_pathname_utf8)                                                                      \
        X(archive_entry_perm)                                                                               \
        X(archive_entry_rdevmajor)                                                                          \
        X(archive_entry_rdevminor)                                                                          \
        X(archive_entry_set_filetype)                                                                       \
        X(archive_entry_set_gid)                                                                            \
        X(archive_entry_set_hardlink)                                                                       \
        X(archive_entry_set_mtime)                                                                          \
        X(archive_entry_set_pathname)                                                                       \
        X(archive_entry_set_perm)                                                                           \
        X(archive_entry_set_rdevmajor)                                                                      \
        X(archive_entry_set_rdevminor)                                                                      \
        X(archive_entry_set_size)                                                                           \
        X(archive_entry_set_symlink)                                                                        \
        X(archive_entry_set_uid)                                                                            \
        X(archive_entry_size)                                                                               \
        X(archive_entry_size_is_set)                                                                        \
        X(archive_entry_symlink)                                                                            \
        X(archive_entry_uid)                                                                                \
        X(archive_entry_xattr_add_entry)                                                                    \
        X(archive_entry_xattr_next)                                                                         \
        X(archive_entry_xattr_reset)                                                                        \
        X(archive_errno)                                                                                    \
        X(archive_error_string)                                                                             \
        X(archive_read_data)                                                                                \
        X(archive_read_data_block)                                                                          \
        X(archive_read_free)                                                                                \
        X(archive_read_new)                                                                                 \
        X(archive_read_next_header)                                                                         \
        X(archive_read_open)                                                                                \
        X(archive_read_open_filename)                                                                       \
        X(archive_read_support_filter_gzip)                                                                 \
        X(archive_read_support_filter_zstd)                                                                 \
        X(archive_read_support_format_raw)                                                                  \
        X(archive_read_support_format_tar)                                                                  \
        X(archive_set_error)                                                                                \
        X(archive_write_add_filter_gzip)                                                                    \
        X(archive_write_add_filter_none)                                                                    \
        X(archive_write_add_filter_zstd)                                                                    \
        X(archive_write_close)                                                                              \
        X(archive_write_data)                                                                               \
        X(archive_write_free)                                                                               \
        X(archive_write_header)                                                                             \
        X(archive_write_new)                                                                                \
        X(archive_write_open)                                                                               \
        X(archive_write_set_bytes_in_last_block)                                                            \
        X(archive_write_set_filter_option)                                                                  \
        X(archive_write_set_format_pax_restricted)                                                          \
        X(archive_write_set_format_raw)

#define RC_CRYPTO_SYMBOLS(X)                                                                                \
        X(EVP_DecodeBlock)                                                                                  \
        X(EVP_DigestFinal_ex)                                                                               \
        X(EVP_DigestInit_ex)                                                                                \
        X(EVP_DigestUpdate)                                                                                 \
        X(EVP_MD_CTX_free)                                                                                  \
        X(EVP_MD_CTX_new)                                                                                   \
        X(EVP_sha256)                                                                                       \
        X(EVP_sha512)

#define RC_CURL_SYMBOLS(X)                                                                                  \
        X(curl_easy_cleanup)                                                                                \
        X(curl_easy_escape)                                                                                 \
        X(curl_easy_getinfo)                                                                                \
        X(curl_easy_init)                                                                                   \
        X(curl_easy_perform)                                                                                \
        X(curl_easy_setopt)                                                                                 \
        X(curl_easy_strerror)                                                                               \
        X(curl_free)                                                                                        \
        X(curl_slist_append)                                                                                \
        X(curl_slist_free_all)

#define RC_DL_DECLARE(name) extern __typeof__(name) *rc_dl_##name;
RC_ARCHIVE_SYMBOLS(RC_DL_DECLARE)
RC_CRYPTO_SYMBOLS(RC_DL_DECLARE)
RC_CURL_SYMBOLS(RC_DL_DECLARE)
#undef RC_DL_DECLARE

/* Load libarchive and libcrypto once; every image entry point calls it first. */
int rc_image_libs_load(rc_error_t *err);
/* Load libcurl once (and the above); only pulls from a registry call it. */
int rc_image_curl_load(rc_error_t *err);

#ifndef RC_IMAGE_LIBS_IMPL
#define archive_entry_atime (*rc_dl_archive_entry_atime)
#define archive_entry_atime_is_set (*rc_dl_archive_entry_atime_is_set)
#define archive_entry_atime_nsec (*rc_dl_archive_entry_atime_nsec)
#define archive_entry_copy_stat (*rc_dl_archive_entry_copy_stat)
#define archive_entry_filetype (*rc_dl_archive_entry_filetype)
#define archive_entry_free (*rc_dl_archive_entry_free)
#define archive_entry_gid (*rc_dl_archive_entry_gid)
#define archive_entry_hardlink (*rc_dl_archive_entry_hardlink)
#define archive_entry_mtime (*rc_dl_archive_entry_mtime)
#define archive_entry_mtime_is_set (*rc_dl_archive_entry_mtime_is_set)
#define archive_entry_mtime_nsec (*rc_dl_archive_entry_mtime_nsec)
#define archive_entry_new (*rc_dl_archive_entry_new)
#define archive_entry_pathname (*rc_dl_archive_entry_pathname)
#define archive_entry_pathname_utf8 (*rc_dl_archive_entry_pathname_utf8)
#define archive_entry_perm (*rc_dl_archive_entry_perm)
#define archive_entry_rdevmajor (*rc_dl_archive_entry_rdevmajor)
#define archive_entry_rdevminor (*rc_dl_archive_entry_rdevminor)
#define archive_entry_set_filetype (*rc_dl_archive_entry_set_filetype)
#define archive_entry_set_gid (*rc_dl_archive_entry_set_gid)
#define archive_entry_set_hardlink (*rc_dl_archive_entry_set_hardlink)
#define archive_entry_set_mtime (*rc_dl_archive_entry_set_mtime)
#define archive_entry_set_pathname (*rc_dl_archive_entry_set_pathname)
#define archive_entry_set_perm (*rc_dl_archive_entry_set_perm)
#define archive_entry_set_rdevmajor (*rc_dl_archive_entry_set_rdevmajor)
#define archive_entry_set_rdevminor (*rc_dl_archive_entry_set_rdevminor)
#define archive_entry_set_size (*rc_dl_archive_entry_set_size)
#define archive_entry_set_symlink (*rc_dl_archive_entry_set_symlink)
#define archive_entry_set_uid (*rc_dl_archive_entry_set_uid)
#define archive_entry_size (*rc_dl_archive_entry_size)
#define archive_entry_size_is_set (*rc_dl_archive_entry_size_is_set)
#define archive_entry_symlink (*rc_dl_archive_entry_symlink)
#define archive_entry_uid (*rc_dl_archive_entry_uid)
#define archive_entry_xattr_add_entry (*rc_dl_archive_entry_xattr_add_entry)
#define archive_entry_xattr_next (*rc_dl_archive_entry_xattr_next)
#define archive_entry_xattr_reset (*rc_dl_archive_entry_xattr_reset)
#define archive_errno (*rc_dl_archive_errno)
#define archive_error_string (*rc_dl_archive_error_string)
#define archive_read_data (*rc_dl_archive_read_data)
#define archive_read_data_block (*rc_dl_archive_read_data_block)
#define archive_read_free (*rc_dl_archive_read_free)
#define archive_read_new (*rc_dl_archive_read_new)
#define archive_read_next_header (*rc_dl_archive_read_next_header)
#define archive_read_open (*rc_dl_archive_read_open)
#define archive_read_open_filename (*rc_dl_archive_read_open_filename)
#define archive_read_support_filter_gzip (*rc_dl_archive_read_support_filter_gzip)
#define archive_read_support_filter_zstd (*rc_dl_archive_read_support_filter_zstd)
#define archive_read_support_format_raw (*rc_dl_archive_read_support_format_raw)
#define archive_read_support_format_tar (*rc_dl_archive_read_support_format_tar)
#define archive_set_error (*rc_dl_archive_set_error)
#define archive_write_add_filter_gzip (*rc_dl_archive_write_add_filter_gzip)
#define archive_write_add_filter_none (*rc_dl_archive_write_add_filter_none)
#define archive_write_add_filter_zstd (*rc_dl_archive_write_add_filter_zstd)
#define archive_write_close (*rc_dl_archive_write_close)
#define archive_write_data (*rc_dl_archive_write_data)
#define archive_write_free (*rc_dl_archive_write_free)
#define archive_write_header (*rc_dl_archive_write_header)
#define archive_write_new (*rc_dl_archive_write_new)
#define archive_write_open (*rc_dl_archive_write_open)
#define archive_write_set_bytes_in_last_block (*rc_dl_archive_write_set_bytes_in_last_block)
#define archive_write_set_filter_option (*rc_dl_archive_write_set_filter_option)
#define archive_write_set_format_pax_restricted (*rc_dl_archive_write_set_format_pax_restricted)
#define archive_write_set_format_raw (*rc_dl_archive_write_set_format_raw)
#define EVP_DecodeBlock (*rc_dl_EVP_DecodeBlock)
#define EVP_DigestFinal_ex (*rc_dl_EVP_DigestFinal_ex)
#define EVP_DigestInit_ex (*rc_dl_EVP_DigestInit_ex)
#define EVP_DigestUpdate (*rc_dl_EVP_DigestUpdate)
#define EVP_MD_CTX_free (*rc_dl_EVP_MD_CTX_free)
#define EVP_MD_CTX_new (*rc_dl_EVP_MD_CTX_new)
#define EVP_sha256 (*rc_dl_EVP_sha256)
#define EVP_sha512 (*rc_dl_EVP_sha512)
/* curl.h defines these two as macros of themselves */
#define curl_easy_cleanup (*rc_dl_curl_easy_cleanup)
#define curl_easy_escape (*rc_dl_curl_easy_escape)
#undef curl_easy_getinfo
#define curl_easy_getinfo (*rc_dl_curl_easy_getinfo)
#define curl_easy_init (*rc_dl_curl_easy_init)
#define curl_easy_perform (*rc_dl_curl_easy_perform)
#undef curl_easy_setopt
#define curl_easy_setopt (*rc_dl_curl_easy_setopt)
#define curl_easy_strerror (*rc_dl_curl_easy_strerror)
#define curl_free (*rc_dl_curl_free)
#define curl_slist_append (*rc_dl_curl_slist_append)
#define curl_slist_free_all (*rc_dl_curl_slist_free_all)
#endif
