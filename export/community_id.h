/*
 * Community ID v1 of a TCP/UDP flow (the ID Zeek, Suricata and Elastic use
 * to join records of one flow). A community_id handle holds a reusable
 * SHA-1 context; one per thread.
 */
#ifndef APISENSOR_EXPORT_COMMUNITY_ID_H
#define APISENSOR_EXPORT_COMMUNITY_ID_H

#include <stdint.h>

#include "capture/packet.h"
#include "common/status.h"

typedef struct community_id community_id;

as_status community_id_create(community_id **out);

/* "1:<base64 SHA-1>" of the flow (either orientation gives the same ID) into
 * buf (at least 34 bytes; "" on failure). Returns buf. */
const char *community_id_format(community_id *cid, const ip_address *a, uint16_t a_port,
                                const ip_address *b, uint16_t b_port, uint8_t proto, char *buf,
                                unsigned buflen);

void community_id_destroy(community_id *cid);

#endif
