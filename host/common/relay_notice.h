/* SPDX-License-Identifier: MIT */
/*
 * relay_notice.h - what the relay says to an attached debugger in band.
 *
 * KD has no message for "the VM behind this connection is gone". The relay tells the debugger
 * through the one channel every KD debugger shows: a DbgPrint (DEBUG_IO PrintString) that it
 * sends itself, as target, through its link. WinDbg and kd print the line; `vmkd attach` and
 * `vmkd gdb` also recognise the prefix and stop waiting for a stop that cannot come.
 * Each notice is one line: PREFIX + event word + ": " + free text + "\n".
 */
#ifndef VMKD_RELAY_NOTICE_H
#define VMKD_RELAY_NOTICE_H

#define RELAY_NOTICE_PREFIX       "[vmkd relay] "
#define RELAY_NOTICE_GUEST_GONE   "guest-disconnected"  /* QEMU's chardev closed */
#define RELAY_NOTICE_GUEST_BACK   "guest-connected"     /* it is back (QEMU reconnected) */
#define RELAY_NOTICE_REFUSED      "debugger-refused"    /* another debugger has the VM; the
							   connection is closed after this */

#endif
