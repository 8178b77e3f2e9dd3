/*
 * fuzz_matrix.c — libFuzzer target for the matrix file parser.
 *
 * The input is the text of a matrix file; matrix_load_text must return a
 * matrix or a one-line error.  A loaded matrix is walked completely (every
 * run's parameters, repetition and point) so that expansion is covered too.
 */
#include "matrix.h"
#include "ferr.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[FERR_MAX];
    matrix_t *m = matrix_load_text("fuzz.json", (const char *)data, size, err);
    if (m) {
        int n = matrix_run_count(m);
        for (int i = 0; i < n; i++) {
            if (!matrix_run_params(m, i) || matrix_run_repetition(m, i) < 1 || matrix_run_point(m, i) < 0)
                abort();
        }
        matrix_destroy(&m);
    }
    return 0;
}
