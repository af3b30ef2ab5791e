/* SPDX-License-Identifier: MIT */
/* attach.h - `vmkd attach`: a terminal KD debugger on a KDCOM byte stream. */
#ifndef VMKD_HOST_ATTACH_H
#define VMKD_HOST_ATTACH_H

/* argv[0] is "attach". Returns the process exit status. */
int attach_main(int argc, char **argv);

#endif
