/* SPDX-License-Identifier: MIT */
/* setup_cmd.h - `vmkd qemu-args` and `vmkd libvirt` (argv[0] is the command's name). */
#ifndef VMKD_HOST_SETUP_CMD_H
#define VMKD_HOST_SETUP_CMD_H

int qemu_args_main(int argc, char **argv);
int libvirt_main(int argc, char **argv);

#endif
