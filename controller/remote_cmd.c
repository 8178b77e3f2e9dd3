/*
 * remote_cmd.c — safe remote command lines (see remote_cmd.h).
 *
 * A whitelist, not an escaper: quoting rules differ between shells and
 * locales, while a token of letters, digits and "_./:-" means the same to
 * all of them.  Every value that goes into a remote command (paths, host
 * names, addresses, endpoints) already has to fit this set; one that does
 * not is refused before any connection is made.
 */
#include "remote_cmd.h"

#include <stdio.h>
#include <string.h>

bool
remote_cmd_token_ok(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '.' || *s == '/' || *s == ':' || *s == '-'))
            return false;
    return true;
}

int
remote_cmd_join(const char *const argv[], char *cmd, size_t len)
{
    size_t off = 0;
    if (!cmd || len == 0)
        return -1;
    cmd[0] = '\0';
    if (!argv || !argv[0])
        return -1;
    for (int i = 0; argv[i]; i++) {
        if (!remote_cmd_token_ok(argv[i]))
            goto bad;
        int n = snprintf(cmd + off, len - off, "%s%s", i ? " " : "", argv[i]);
        if (n < 0 || (size_t) n >= len - off)
            goto bad;
        off += (size_t) n;
    }
    return 0;
bad:
    cmd[0] = '\0';
    return -1;
}
