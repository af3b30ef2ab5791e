/* SPDX-License-Identifier: MIT */
/* bench.h - `vmkd bench`: KD round trips, throughput and DbgPrint rate through the session
 * engine `vmkd attach` uses, plus a raw channel echo; one CSV row per metric. */
#ifndef VMKD_HOST_BENCH_H
#define VMKD_HOST_BENCH_H

/* argv[0] is "bench". Returns the process exit status. */
int bench_main(int argc, char **argv);

#endif
