/* The program's entry point (entry.h). Until the C library is initialised this file may
 * call nothing of it, use no errno and read no data that holds a pointer (a static PIE, the
 * default build, relocates itself in _start): tables are arrays of characters, strings are
 * compared here.
 * meson.build compiles it with -fno-stack-protector (no TLS yet) and -fno-builtin. */
#include "cli/entry.h"

#include <getopt.h>
#include <stddef.h>

#include "runtime/isolation/selfprotect.h"

/* the longest global option name, with its NUL */
#define NAME_MAX_LEN 24
#define X(name, has_arg, value) _Static_assert(sizeof(name) <= NAME_MAX_LEN, "global option name too long");
CLI_GLOBAL_OPTIONS(X)
#undef X

static const struct {
        char name[NAME_MAX_LEN];
        int has_arg;
} global_options[] = {
#define X(name, has_arg, value) {name, has_arg},
        CLI_GLOBAL_OPTIONS(X)
#undef X
};

static const char entering[][NAME_MAX_LEN] = {"create", "run", "exec", "sandbox"};

static bool streq(const char *a, const char *b)
{
        while (*a != '\0' && *a == *b) {
                a++;
                b++;
        }
        return *a == *b;
}

bool cli_command_enters(const char *name)
{
        for (size_t i = 0; i < sizeof(entering) / sizeof(entering[0]); i++)
                if (streq(entering[i], name))
                        return true;
        return false;
}

bool cli_rootless_value(const char *s)
{
        return s != NULL && (streq(s, "true") || streq(s, "false") || streq(s, "auto"));
}

/* The global option "--NAME[=VALUE]" is (the name alone): as getopt_long, an exact name
 * or the only one it abbreviates. -1 for none or several. */
static int find_option(const char *name, size_t len)
{
        int found = -1;

        for (size_t i = 0; i < sizeof(global_options) / sizeof(global_options[0]); i++) {
                size_t j = 0;

                while (j < len && global_options[i].name[j] == name[j])
                        j++;
                if (j < len)
                        continue;
                if (global_options[i].name[len] == '\0')
                        return (int)i; /* exact */
                if (found >= 0)
                        return -1; /* ambiguous */
                found = (int)i;
        }
        return found;
}

int cli_command_index(int argc, char *const argv[])
{
        int i = 1;

        while (i < argc) {
                const char *a = argv[i], *name, *eq;
                int o;

                if (a[0] != '-' || a[1] == '\0')
                        return i; /* the first word that is not an option */
                if (a[1] != '-')
                        return -1; /* -h, -v: main prints and exits */
                if (a[2] == '\0')
                        return i + 1 < argc ? i + 1 : -1; /* "--": the command follows */
                name = a + 2;
                for (eq = name; *eq != '\0' && *eq != '='; eq++)
                        ;
                o = find_option(name, (size_t)(eq - name));
                if (o < 0)
                        return -1;
                i++;
                if (*eq == '=')
                        continue; /* --name=VALUE, --flag=BOOL: one word */
                if (global_options[o].has_arg == required_argument) {
                        if (i >= argc)
                                return -1;
                        i++;
                } else if (global_options[o].has_arg == optional_argument && i < argc &&
                           cli_rootless_value(argv[i])) {
                        i++;
                }
        }
        return -1;
}

#if defined(RC_EARLY_ENTRY)
static const char marker[] = RC_SELFPROTECT_ENV "=";

static bool starts(const char *s, const char *prefix)
{
        while (*prefix != '\0') {
                if (*s++ != *prefix++)
                        return false;
        }
        return true;
}

/* the entry's C part; returns unless it re-executes */
__attribute__((used, visibility("hidden"))) void rc_entry_main(long *sp);

void rc_entry_main(long *sp)
{
        int argc = (int)sp[0];
        char **argv = (char **)(sp + 1);
        char **envp = argv + argc + 1;
        char *env[1024], mark[RC_SELFPROTECT_MARKER_SIZE];
        size_t n = 0;
        int cmd = cli_command_index(argc, argv);

        if (cmd < 0 || !cli_command_enters(argv[cmd]))
                return;
        for (; envp[n] != NULL; n++) {
                if (starts(envp[n], marker) || n + 2 >= sizeof(env) / sizeof(env[0]))
                        return; /* already re-executed, or too many variables: main decides */
                env[n] = envp[n];
        }
        if (rc_selfprotect_check() != 0)
                return; /* protected already, or an error main reports */
        env[n++] = mark; /* written by rc_selfprotect_rebind_exec */
        env[n] = NULL;
        rc_selfprotect_rebind_exec(argv, env, mark);
}

/* The ELF entry: the C part with the initial stack (argc, argv, envp, auxv), then the C
 * library's _start with the stack and %rdx (the loader's exit function, 0 here) as the
 * kernel set them. */
__asm__(".text\n"
        ".globl rc_entry\n"
        ".type rc_entry, @function\n"
        "rc_entry:\n"
        "        mov %rsp, %rbx\n"
        "        mov %rdx, %r12\n"
        "        mov %rsp, %rdi\n"
        "        and $-16, %rsp\n"
        "        call rc_entry_main\n"
        "        mov %rbx, %rsp\n"
        "        mov %r12, %rdx\n"
        "        jmp _start\n"
        ".size rc_entry, .-rc_entry\n");
#endif
