/* Unit tests for the pure parts of runtime/isolation/preexec.c: HOME from a passwd file's text and
 * the environment it is added to. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/isolation/preexec.h"

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "broken line without fields\n"
                             "u12:x:12x:1:bad uid:/nothere:/bin/sh\n"
                             "user:x:1000:1000:user:/home/user:/bin/sh\n"
                             "short:x:7:7::/home/short\n"
                             "dup:x:1000:1000::/second:/bin/sh";

static void expect_home(uid_t uid, const char *home)
{
        char *h = rc_passwd_home(passwd, strlen(passwd), uid);

        if (home == NULL)
                cr_assert_null(h, "uid %u: %s", (unsigned)uid, h);
        else
                cr_assert_str_eq(h, home, "uid %u", (unsigned)uid);
        free(h);
}

Test(passwd_home, first_entry_of_the_uid)
{
        expect_home(0, "/root");
        expect_home(1000, "/home/user");
        expect_home(7, "/home/short"); /* no shell field */
}

Test(passwd_home, no_entry_or_no_numeric_uid)
{
        expect_home(12, NULL);
        expect_home(4242, NULL);
        cr_assert_null(rc_passwd_home("", 0, 0));
}

Test(env_with_home, added_when_missing)
{
        char *env[] = {"PATH=/bin", "TERM=xterm", NULL};
        char **out = NULL, *home = NULL;

        cr_assert_eq(rc_env_with_home(env, "/root", &out, &home), 0);
        cr_assert_not_null(home);
        cr_assert_str_eq(out[0], "PATH=/bin");
        cr_assert_str_eq(out[2], "HOME=/root");
        cr_assert_null(out[3]);
        free(out);
        free(home);
}

Test(env_with_home, kept_when_present_and_added_to_an_empty_env)
{
        char *env[] = {"HOME=/mine", NULL};
        char **out = NULL, *home = NULL;

        cr_assert_eq(rc_env_with_home(env, "/root", &out, &home), 0);
        cr_assert_eq(out, env);
        cr_assert_null(home);
        cr_assert_eq(rc_env_with_home(NULL, "/", &out, &home), 0);
        cr_assert_str_eq(out[0], "HOME=/");
        cr_assert_null(out[1]);
        free(out);
        free(home);
}
