/* SPDX-License-Identifier: MIT */
/*
 * pcapng.h - a recording as a pcapng file for Wireshark (tools/wireshark/vmkd.lua).
 *
 * One section (SHB), one interface (IDB, link type PCAPNG_LINKTYPE_VMKD = LINKTYPE_USER0,
 * 147, if_name "vmkd:NAME", if_tsresol 6: microseconds), one Enhanced Packet Block per
 * KD_WIRE, GUEST_KD and EVENT record, stamped with the recording's wall clock. Each packet
 * starts with a 4-byte vmkd pseudo-header:
 *
 *     0  u8  version (1)
 *     1  u8  direction: 0 guest->relay, 1 relay->guest, 2 debugger->relay, 3 relay->debugger
 *     2  u8  kind: 1 KDCOM bytes (debugger side), 2 guest KD packet (u16 type, u16 0,
 *            payload), 3 event (u32 code, text)
 *     3  u8  flags: bit 0 not a whole KDCOM packet (RECORD_FLAG_FRAGMENT)
 *
 * followed by the record's body. The EPB flags option (epb_flags, code 2) gives the
 * direction as pcapng defines it: inbound (1) for what reaches the relay, outbound (2) for
 * what it sends; events have none (0).
 */
#ifndef VMKD_PCAPNG_H
#define VMKD_PCAPNG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "record.h"

#define PCAPNG_LINKTYPE_VMKD 147u  /* LINKTYPE_USER0 */
#define PCAPNG_PSEUDO_HEADER 4u
#define PCAPNG_KIND_KDCOM    1u
#define PCAPNG_KIND_GUEST_KD 2u
#define PCAPNG_KIND_EVENT    3u

#define PCAPNG_SHB_TYPE 0x0A0D0D0Au
#define PCAPNG_IDB_TYPE 0x00000001u
#define PCAPNG_EPB_TYPE 0x00000006u
#define PCAPNG_BYTE_ORDER_MAGIC 0x1A2B3C4Du

/* Converts every record of r (positioned after its header) to out. Returns the number of
 * packets written, or -1 with err (a bad record: the file so far is still valid pcapng). */
long pcapng_export(struct record_reader *r, FILE *out, char *err, size_t errlen);

#endif
