/* Fuzz the invite parser: any text is either refused, filling in nothing, or yields an invite
 * that formats back to a line the parser reads the same way. */
#include <stdlib.h>
#include <string.h>

#include "wzp/invite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wzp_invite inv, again;
    memset(&inv, 0x5a, sizeof(inv));
    if (wzp_invite_parse((const char *)data, size, &inv) != WZP_OK) {
        if (inv.relay[0] != 0x5a) {
            abort(); /* refused, but something was written */
        }
        return 0;
    }
    char text[WZP_INVITE_TEXT];
    if (wzp_invite_format(&inv, text, sizeof(text)) != WZP_OK ||
        wzp_invite_parse(text, strlen(text), &again) != WZP_OK ||
        memcmp(&inv, &again, sizeof(inv)) != 0) {
        abort();
    }
    return 0;
}
