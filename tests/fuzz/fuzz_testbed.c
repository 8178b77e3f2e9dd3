/*
 * fuzz_testbed.c — libFuzzer target for the testbed file parser.
 *
 * The input is the text of a testbed file; testbed_load_text must either
 * return a testbed or a one-line error, never crash, leak or read out of
 * bounds.  A testbed that loads is written back and loaded again: the round
 * trip must succeed (what the parser accepts, the writer must produce).
 */
#include "testbed.h"
#include "ferr.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[FERR_MAX];
    testbed_t *tb = testbed_load_text("fuzz.json", (const char *)data, size, err);
    if (tb) {
        char path[] = "/tmp/cntb-fuzz-tb-XXXXXX";
        int fd = mkstemp(path);
        if (fd >= 0) {
            close(fd);
            if (testbed_write_file(tb, path, err) == 0) {
                testbed_t *again = testbed_load_file(path, err);
                if (!again)
                    abort();
                testbed_destroy(&again);
            }
            unlink(path);
        }
        testbed_destroy(&tb);
    }
    return 0;
}
