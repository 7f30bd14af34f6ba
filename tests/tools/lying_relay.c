/*
 * lying_relay: the real relay with one lie (a test tool, never installed). It shows member C to
 * everyone else as member A -- in the room list, on every PeerSignal C sends -- and routes what
 * they send to "A" on C's session to C: a relay that puts one person in another's place, in both
 * directions. The clients must notice (tests/integration/lying_relay.sh).
 *
 *   lying_relay --shown-as C_FP=A_FP --listen ADDR --identity FILE [--metrics-listen ADDR]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wzp/relay.h"
#include "wzp/signal.h"

typedef struct liar {
    char real[WZP_FINGERPRINT_TEXT];  /* C */
    char shown[WZP_FINGERPRINT_TEXT]; /* A */
    uint32_t real_sid;                /* C's session, once a room list named it */
} liar;

/* A lie that does not fit is not told (the message goes as it was). */
static void set(char **field, const char *text) {
    if (wzp_signal_set_str(field, text) != WZP_OK) {
        fprintf(stderr, "lying_relay: out of memory\n");
    }
}

static bool is(const char *field, const char *fp) {
    return field != NULL && strcmp(field, fp) == 0;
}

static void lie_in(void *user, uint32_t from_sid, wzp_signal *m) {
    liar *l = user;
    (void)from_sid;
    if (m->type == WZP_SIG_PEER_SIGNAL && l->real_sid != 0 &&
        m->u.peer_signal.to_session == l->real_sid &&
        is(m->u.peer_signal.to_fingerprint, l->shown)) {
        set(&m->u.peer_signal.to_fingerprint, l->real); /* "A" is C */
    }
}

static void lie_out(void *user, uint32_t to_sid, wzp_signal *m) {
    liar *l = user;
    if (m->type == WZP_SIG_ROOM_UPDATE) {
        wzp_sig_participants *list = &m->u.room_update.participants;
        for (size_t i = 0; i < list->count; i++) {
            if (is(list->items[i].fingerprint, l->real)) {
                l->real_sid = list->items[i].session;
                if (to_sid != l->real_sid) {
                    set(&list->items[i].fingerprint, l->shown);
                }
            }
        }
    } else if (m->type == WZP_SIG_PEER_SIGNAL && l->real_sid != 0 &&
               m->u.peer_signal.from_session == l->real_sid && to_sid != l->real_sid) {
        set(&m->u.peer_signal.from_fingerprint, l->shown);
    }
}

int main(int argc, char **argv) {
    static liar l;
    wzp_relay_options o;
    wzp_relay_options_default(&o);
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        const char *eq = strchr(v, '=');
        if (strcmp(k, "--shown-as") == 0 && eq != NULL && (size_t)(eq - v) < sizeof(l.real) &&
            strlen(eq + 1) < sizeof(l.shown)) {
            memcpy(l.real, v, (size_t)(eq - v));
            strcpy(l.shown, eq + 1);
        } else if (strcmp(k, "--listen") == 0 && strlen(v) < sizeof(o.listen)) {
            strcpy(o.listen, v);
        } else if (strcmp(k, "--identity") == 0 && strlen(v) < sizeof(o.identity_path)) {
            strcpy(o.identity_path, v);
        } else if (strcmp(k, "--metrics-listen") == 0 && strlen(v) < sizeof(o.metrics_listen)) {
            strcpy(o.metrics_listen, v);
        } else {
            fprintf(stderr, "lying_relay: bad argument %s\n", k);
            return 2;
        }
    }
    if (l.real[0] == '\0') {
        fprintf(stderr, "usage: lying_relay --shown-as C_FP=A_FP --listen ADDR --identity FILE\n");
        return 2;
    }
    static const wzp_relay_lie lie = {lie_in, lie_out, &l};
    o.lie = &lie;
    return wzp_relay_run(&o, stdout, stderr);
}
