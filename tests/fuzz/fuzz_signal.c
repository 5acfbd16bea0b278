/* libFuzzer target: signal names and numbers as `kill` takes them. What is accepted is a
 * valid signal, and a signal's own name reads back as that signal. */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "specs/names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = malloc(size + 1);
        const char *name;
        int sig = 0, back = 0;

        if (s == NULL)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        if (oci_signal_from_string(s, &sig) == 0) {
                if (sig < 1 || sig >= _NSIG)
                        abort();
                name = oci_signal_name(sig);
                if (name != NULL && (oci_signal_from_string(name, &back) != 0 || back != sig))
                        abort();
        }
        free(s);
        return 0;
}
