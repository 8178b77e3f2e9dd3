/*
 * agent_auth.c — the agent's side of CURVE (see agent_auth.h).
 *
 * zcert_load reads both halves of the agent's certificate; a certificate
 * whose secret file is missing loads with an all-zero secret key, which is
 * refused here rather than sent into a handshake that cannot succeed.
 */
#include "agent_auth.h"

#include <stdio.h>
#include <string.h>

#define Z85_ZERO_KEY "0000000000000000000000000000000000000000"

int
agent_auth_apply(zsock_t *dealer, const char *cert_path, const char *controller_cert_path,
                 char *err, size_t len)
{
    int rc = -1;
    zcert_t *mine = zcert_load(cert_path);
    zcert_t *server = zcert_load(controller_cert_path);
    if (!mine || strcmp(zcert_secret_txt(mine), Z85_ZERO_KEY) == 0) {
        snprintf(err, len, "%s: cannot read this agent's certificate and its secret", cert_path);
        goto out;
    }
    if (!server || strcmp(zcert_public_txt(server), Z85_ZERO_KEY) == 0) {
        snprintf(err, len, "%s: cannot read the controller's public certificate",
                 controller_cert_path);
        goto out;
    }
    zcert_apply(mine, dealer);
    zsock_set_curve_serverkey(dealer, zcert_public_txt(server));
    rc = 0;
out:
    zcert_destroy(&mine);
    zcert_destroy(&server);
    return rc;
}
