/* SPDX-License-Identifier: MIT */
/* gdb_main.h - `vmkd gdb`: a GDB remote protocol server in front of a KD session. */
#ifndef VMKD_HOST_GDB_MAIN_H
#define VMKD_HOST_GDB_MAIN_H

/* argv[0] is "gdb". Returns the process exit status. */
int gdb_main(int argc, char **argv);

#endif
