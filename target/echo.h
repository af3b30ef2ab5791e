/* SPDX-License-Identifier: MIT */
/* echo.h - workload=echo: the guest channel core without KD, for the benchmark's floor. */
#ifndef VMKD_TARGET_ECHO_H
#define VMKD_TARGET_ECHO_H

void workload_echo(void);

#endif
