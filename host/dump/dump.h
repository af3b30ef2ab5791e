/* SPDX-License-Identifier: MIT */
/* `vmkd dump`: guest physical memory to a file (dump_main.c). */
#ifndef VMKD_HOST_DUMP_H
#define VMKD_HOST_DUMP_H

int dump_main(int argc, char **argv);

#endif
