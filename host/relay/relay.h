/* SPDX-License-Identifier: MIT */
/* relay.h - `vmkd relay`: KD packets between VMs' virtio-serial ports and KD debuggers. */
#ifndef VMKD_HOST_RELAY_H
#define VMKD_HOST_RELAY_H

/* argv[0] is "relay". Returns the process exit status. */
int relay_main(int argc, char **argv);

#endif
