/*
 * fuzz_testbed.c — libFuzzer target of testbed_load_text(), the parser and
 * validator of testbed files (controller/testbed.h): hosts, addresses, SSH.
 *
 * The input is copied into a buffer of exactly its length (no terminating
 * NUL).  A testbed that loads must have terminated names and every host must
 * be found again by its name.
 */
#include "ferr.h"
#include "testbed.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    char err[FERR_MAX];
    testbed_t *tb = testbed_load_text("fuzz.testbed.json", text, size, err);
    if (tb) {
        if (tb->host_count < 1 || !memchr(tb->name, '\0', sizeof tb->name))
            abort();
        for (int i = 0; i < tb->host_count; i++)
            if (testbed_host(tb, tb->hosts[i].name) != &tb->hosts[i])
                abort();
        testbed_destroy(&tb);
        if (tb)
            abort();
    } else if (memchr(err, '\0', sizeof err) == NULL) {
        abort();
    }
    free(text);
    return 0;
}
