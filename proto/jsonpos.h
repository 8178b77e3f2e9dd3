/*
 * jsonpos.h — find where a JSON path points in a JSON text, for error messages.
 *
 * jansson reports line and column only for syntax errors; once a document is
 * parsed, values carry no position.  So a validator that finds "a wrong type
 * at $.fixed.duration_s" asks jsonpos_locate() to walk the original text along
 * that path and give the line and column of the value.
 */
#ifndef CNTB_JSONPOS_H
#define CNTB_JSONPOS_H

#include <stddef.h>

/*
 * Locates the value named by `path` in the JSON `text` of `len` bytes.
 * `path` uses the form "$", "$.key", "$.key[3].other"; keys are matched
 * exactly (no escapes in keys are supported beyond what appears literally).
 * When the last component is a key that is absent, the position of the
 * enclosing object is returned.
 * On success sets *line and *column (both 1-based, column counted in bytes)
 * and returns 0; returns -1 when the text is not well-formed JSON or the
 * path cannot be followed at all (then *line = *column = 0).
 */
int jsonpos_locate(const char *text, size_t len, const char *path, int *line, int *column);

#endif
