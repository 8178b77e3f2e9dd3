/*
 * fuzz_matrix.c — libFuzzer target of matrix_load_text(), the parser and
 * validator of matrix files (controller/matrix.h) that users hand to
 * `cntb run` and the CLI sends to the controller.
 *
 * The input is copied into a buffer of exactly its length (no terminating
 * NUL) so that AddressSanitizer catches any read past `len`.  A matrix that
 * loads is expanded and every run's parameters are read back.
 */
#include "ferr.h"
#include "matrix.h"

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
    matrix_t *m = matrix_load_text("fuzz.json", text, size, err);
    if (m) {
        int n = matrix_run_count(m);
        if (n < 1 || !matrix_name(m) || !matrix_document(m))
            abort();
        for (int i = 0; i < n; i++) {
            const json_t *p = matrix_run_params(m, i);
            if (!json_is_object(p) || matrix_run_repetition(m, i) < 1 ||
                matrix_run_point(m, i) < 0)
                abort();
        }
        matrix_destroy(&m);
        if (m)
            abort();
    } else if (memchr(err, '\0', sizeof err) == NULL) {
        abort();
    }
    free(text);
    return 0;
}
