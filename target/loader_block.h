/* SPDX-License-Identifier: MIT */
/*
 * loader_block.h - a LOADER_PARAMETER_BLOCK for kdvm.dll, laid out like one Windows
 * release's (guest/kdvm_options.h has the table), so that the test kernel passes the DLL
 * what winload would:
 *
 *   loaderblock=win7|win8|win81|win10|win10-1803   that release's layout
 *   loaderblock=unknown                            10.0 with a Size no release had
 *   (absent)                                       NULL, as before
 *   loadoptions=WORD[,WORD...]                     the LoadOptions string; commas become
 *                                                  spaces and letters upper case, as the
 *                                                  loader writes it
 *
 * Every other byte of the block is 0xA5, so a reader that looks anywhere but the layout's
 * own offsets gets garbage.
 */
#ifndef VMKD_TARGET_LOADER_BLOCK_H
#define VMKD_TARGET_LOADER_BLOCK_H

/* The block (static, in the kernel half) or NULL when loaderblock= is absent or unknown;
 * prints one console line saying which. */
void *loader_block_build(void);

#endif
