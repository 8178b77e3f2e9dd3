/*
 * fuzz_jsonpos.c — libFuzzer target of jsonpos_locate(), which walks raw JSON
 * text (any file a user gives) along a path to report line and column.
 *
 * Input: the path on the first line (up to the first '\n'), the JSON text
 * after it, copied into a buffer of exactly its length (no terminating NUL).
 * Without a newline the whole input is the text and the path is "$".
 */
#include "jsonpos.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    char *path;
    size_t off;
    if (nl) {
        size_t plen = (size_t) (nl - data);
        path = malloc(plen + 1);
        if (!path)
            return 0;
        memcpy(path, data, plen);
        path[plen] = '\0';
        off = plen + 1;
    } else {
        path = strdup("$");
        off = 0;
    }
    size_t len = size - off;
    char *text = malloc(len ? len : 1);
    if (!text || !path) {
        free(path);
        free(text);
        return 0;
    }
    memcpy(text, data + off, len);
    int line = -1, column = -1;
    int rc = jsonpos_locate(text, len, path, &line, &column);
    if (rc == 0 && (line < 1 || column < 1))
        abort();
    if (rc != 0 && (rc != -1 || line != 0 || column != 0))
        abort();
    free(text);
    free(path);
    return 0;
}
