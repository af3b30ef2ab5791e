/* SPDX-License-Identifier: MIT */
/* pdb_cmd.h - `vmkd pdb` (what a PDB holds) and `vmkd symfetch` (find an image's PDB). */
#ifndef VMKD_HOST_PDB_CMD_H
#define VMKD_HOST_PDB_CMD_H

int pdb_main(int argc, char **argv);
int symfetch_main(int argc, char **argv);

#endif
