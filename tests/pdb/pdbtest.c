/* SPDX-License-Identifier: MIT */
/*
 * pdbtest.c - a tiny Windows DLL whose PDB the host/pdb tests read. Built at test time with
 * clang --target=x86_64-pc-windows-msvc and lld-link (host/host.mk); the tests compare the
 * PDB's symbols with the DLL's export table and with the linker map.
 */

/* Exported data and code: in the export table, the map and the PDB publics. */
__declspec(dllexport) int vmkd_pdbtest_counter = 42;

/* A global that is not exported: the map and the PDB publics/globals only. */
int vmkd_pdbtest_buffer[64];

/* File statics: only the module stream has them (S_LDATA32, S_LPROC32). */
static int pdbtest_static_hits = 7;

__attribute__((noinline)) static int pdbtest_helper(int x)
{
	pdbtest_static_hits += x;
	return x * 3 + vmkd_pdbtest_counter + pdbtest_static_hits;
}

__declspec(dllexport) int vmkd_pdbtest_add(int a, int b)
{
	return pdbtest_helper(a) + b;
}

__declspec(dllexport) int vmkd_pdbtest_entry(void)
{
	return vmkd_pdbtest_add(1, 2) + vmkd_pdbtest_buffer[3];
}
